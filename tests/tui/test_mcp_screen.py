"""The MCP screen with real servers: live status, tools, enable/disable, restart, config."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from textual.app import App
from textual.widgets import OptionList, Static

from kilo_tui.core.mcp import McpManager
from kilo_tui.tui.screens.mcp import McpScreen
from tests.mcp_servers.helpers import TIME_ENTRY, TOY_ENTRY, project_settings, wait_for


class McpApp(App[None]):
    """Just the screen, over a started manager; records notifications."""

    def __init__(self, manager: McpManager) -> None:
        super().__init__()
        self.manager = manager
        self.notes: list[str] = []

    async def on_mount(self) -> None:
        await self.push_screen(McpScreen(self.manager))

    def notify(self, message: str, **kwargs: Any) -> None:  # type: ignore[override]
        self.notes.append(message)
        super().notify(message, **kwargs)


@pytest.fixture
async def manager(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[McpManager]:
    monkeypatch.setenv("KILO_TUI_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("EDITOR", raising=False)
    monkeypatch.delenv("VISUAL", raising=False)
    workspace = tmp_path / "ws"
    workspace.mkdir()
    project_settings(workspace, {"time": TIME_ENTRY, "broken": {"command": ""}})
    manager = McpManager(workspace)
    yield manager
    await manager.stop()


def rows(app: App[Any]) -> list[str]:
    options = app.screen.query_one("#mcp-servers", OptionList)
    return [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]


def details(app: App[Any]) -> str:
    return str(app.screen.query_one("#mcp-details", Static).content)


async def test_a_connected_server_shows_its_tools_and_updates_live(manager) -> None:
    app = McpApp(manager)
    async with app.run_test(size=(120, 40)) as pilot:
        await manager.start()  # after the screen is up: it must follow the status live
        await pilot.pause()
        assert rows(app)[0] == "● time  starting"

        await wait_for(manager, "time", "connected")
        await pilot.pause()

        assert rows(app) == ["● time  connected", "● broken  error"]
        text = details(app)
        assert "time  connected" in text
        assert "Tools (2)" in text
        assert "get_current_time" in text and "Get current time in a specific timezone" in text
        assert (
            "convert_time" in text and "parameters: source_timezone, time, target_timezone" in text
        )


async def test_a_broken_entry_shows_what_is_wrong(manager) -> None:
    app = McpApp(manager)
    async with app.run_test(size=(120, 40)) as pilot:
        await manager.start()
        await pilot.press("down")

        text = details(app)
        assert "broken  error" in text
        assert "mcpServers.broken.command" in text and "non-empty string" in text


async def test_disable_then_enable_from_the_keyboard(manager) -> None:
    await manager.start()
    await wait_for(manager, "time", "connected")
    app = McpApp(manager)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("e")
        await wait_for(manager, "time", "disabled")
        await pilot.pause()

        assert rows(app)[0] == "● time  disabled"
        settings = json.loads(manager.config_file_for("time").read_text())
        assert settings["mcpServers"]["time"]["disabled"] is True

        await pilot.press("e")
        await wait_for(manager, "time", "connected")
        await pilot.pause()
        assert rows(app)[0] == "● time  connected"
        assert "time enabled" in app.notes


async def test_restart_and_open_config_without_an_editor(manager) -> None:
    await manager.start()
    first = (await wait_for(manager, "time", "connected")).pid
    app = McpApp(manager)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("r")
        await wait_for(manager, "time", "starting", timeout=5)
        second = (await wait_for(manager, "time", "connected")).pid
        await pilot.press("o")
        await pilot.pause()

        assert second != first
        assert f"MCP settings: {manager.config_file_for('time')}" in app.notes

        await pilot.press("escape")
        assert not isinstance(app.screen, McpScreen)


async def test_no_servers_explains_where_to_add_them(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("KILO_TUI_HOME", str(tmp_path / "home"))
    manager = McpManager(tmp_path)
    app = McpApp(manager)
    async with app.run_test(size=(120, 40)) as pilot:
        await manager.start()
        await pilot.pause()

        assert rows(app) == []
        assert "No MCP servers configured" in details(app)
        assert str(tmp_path / ".kilocode" / "mcp.json") in details(app)


async def test_toy_resources_are_listed(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("KILO_TUI_HOME", str(tmp_path / "home"))
    project_settings(tmp_path, {"toy": {**TOY_ENTRY, "alwaysAllow": ["echo"]}})
    manager = McpManager(tmp_path)
    await manager.start()
    try:
        await wait_for(manager, "toy", "connected")
        app = McpApp(manager)
        async with app.run_test(size=(120, 40)):
            text = details(app)
    finally:
        await manager.stop()

    assert "Resources (1)" in text and "toy://readme  readme" in text
    assert "echo  always allowed" in text
