"""What the user sees when the MCP settings are edited on disk while the TUI runs: a
broken edit is explained in the chat, and /mcp follows the servers added and removed.
(The TUI's trust question after an edit: tests/security/test_project_tui.py.)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from textual.widgets import Static

from kilo_tui.core.agent.runtime import AgentRuntime
from kilo_tui.core.config import Settings
from kilo_tui.core.mcp.config import global_config_path
from kilo_tui.tui.app import KiloApp
from kilo_tui.tui.screens.mcp import McpScreen
from tests.mcp_servers.helpers import TIME_ENTRY, TOY_ENTRY, write_settings
from tests.tui.pilot import chat_text, until
from tests.tui.test_mcp_screen import rows

pytestmark = pytest.mark.timeout(120)


async def test_an_edit_is_explained_in_the_chat_and_shown_on_the_mcp_screen(
    tmp_path: Path, settings: Settings
) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    path = write_settings(global_config_path(), {"toy": TOY_ENTRY})
    app = KiloApp(workspace, settings, runtime=AgentRuntime(workspace=workspace, settings=settings))
    async with app.run_test(size=(120, 40)) as pilot:
        mcp = app.runtime.mcp  # type: ignore[union-attr]
        assert mcp is not None
        await until(pilot, lambda: (s := mcp.server("toy")) and s.status == "connected", 60)

        path.write_text('{"mcpServers": {"toy": ')  # saved half-way through typing

        await until(pilot, lambda: "MCP settings ignored" in chat_text(app), 60)
        text = chat_text(app)
        assert f"{path}, line 1: invalid JSON" in text
        assert "Its servers keep running with their last good settings: toy." in text
        assert mcp.server("toy").status == "connected"  # type: ignore[union-attr]

        await app.push_screen(McpScreen(mcp))
        await pilot.pause()
        errors = str(app.screen.query_one("#mcp-file-errors", Static).content)
        assert "invalid JSON" in errors

        path.write_text(json.dumps({"mcpServers": {"time": TIME_ENTRY}}))

        await until(pilot, lambda: rows(app) == ["● time  connected"], 60)
        assert not app.screen.query_one("#mcp-file-errors", Static).display
        await app.runtime.aclose()  # type: ignore[union-attr]
