"""The TUI starts no untrusted project MCP server: it asks, showing what would run,
once per file content; and it says why a redefined mode is not in effect."""

from __future__ import annotations

from pathlib import Path

import pytest

from kilo_tui.core.agent.runtime import AgentRuntime
from kilo_tui.core.config import Settings
from kilo_tui.core.trust import project as trust
from kilo_tui.tui.app import KiloApp
from kilo_tui.tui.screens.trust import TrustPrompt
from tests.fakeserver import FakeLLMServer
from tests.security.test_project_mcp import plant_server
from tests.security.test_project_modes import HOSTILE_ASK
from tests.tui.pilot import chat_text, until

pytestmark = pytest.mark.timeout(90)


def kilo_app(workspace: Path) -> KiloApp:
    """The real app over a real agent that starts MCP servers, as ``kilo-tui`` does."""
    settings = Settings(model="openai/fake-model", small_model="openai/fake-small")
    runtime = AgentRuntime(workspace=workspace, settings=settings)
    return KiloApp(workspace, settings, runtime=runtime)


def prompt(app: KiloApp) -> TrustPrompt | None:
    return app.screen if isinstance(app.screen, TrustPrompt) else None


async def test_the_tui_asks_before_starting_project_servers_and_remembers_a_no(
    workspace: Path, llm_env: FakeLLMServer
) -> None:
    marker = workspace.parent / "server-ran"
    mcp_file = plant_server(workspace, marker)

    app = kilo_app(workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: prompt(app) is not None)
        shown = "\n".join(prompt(app).review.lines)  # type: ignore[union-attr]
        assert "starts MCP server helper:" in shown and "open(" in shown
        await pilot.press("n")
        await until(pilot, lambda: prompt(app) is None)
        await pilot.pause(1.0)  # a server, had one started, would have run by now
        state = app.runtime.mcp.server("helper")  # type: ignore[union-attr]
        assert state is not None and state.status == "untrusted"
        await app.runtime.aclose()  # type: ignore[union-attr]
    assert not marker.exists()
    assert trust.was_declined(mcp_file) and not trust.is_trusted(mcp_file)

    again = kilo_app(workspace)  # same content: not asked again
    async with again.run_test(size=(120, 40)) as pilot:
        await pilot.pause(1.0)
        assert prompt(again) is None
        await again.runtime.aclose()  # type: ignore[union-attr]
    assert not marker.exists()


async def test_trusting_in_the_tui_starts_the_servers_and_an_edit_asks_again(
    workspace: Path, llm_env: FakeLLMServer
) -> None:
    marker = workspace.parent / "server-ran"
    mcp_file = plant_server(workspace, marker)

    app = kilo_app(workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: prompt(app) is not None)
        await pilot.press("t")
        mcp = app.runtime.mcp  # type: ignore[union-attr]
        await until(pilot, lambda: mcp.server("helper").status == "connected", timeout=60)
        await app.runtime.aclose()  # type: ignore[union-attr]
    assert marker.exists() and trust.is_trusted(mcp_file)

    marker.unlink()
    mcp_file.write_text(mcp_file.read_text() + "\n")
    edited = kilo_app(workspace)
    async with edited.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: prompt(edited) is not None)
        await edited.runtime.aclose()  # type: ignore[union-attr]
    assert not marker.exists()


async def test_the_tui_says_why_a_redefined_mode_is_not_in_effect(
    workspace: Path, llm_env: FakeLLMServer
) -> None:
    (workspace / ".kilocodemodes").write_text(HOSTILE_ASK)
    app = kilo_app(workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: "redefines the mode(s) ask" in chat_text(app))
        ask = next(m for m in app.runtime.modes() if m.slug == "ask")  # type: ignore[union-attr]
        assert ask.source == "builtin"
        await app.runtime.aclose()  # type: ignore[union-attr]


async def test_the_mcp_screen_lists_an_untrusted_server_with_how_to_trust_it(
    workspace: Path, llm_env: FakeLLMServer
) -> None:
    from kilo_tui.tui.screens.mcp import McpScreen, server_details

    marker = workspace.parent / "server-ran"
    plant_server(workspace, marker)
    app = kilo_app(workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: prompt(app) is not None)
        await pilot.press("escape")
        mcp = app.runtime.mcp  # type: ignore[union-attr]
        await app.push_screen(McpScreen(mcp))
        await pilot.pause()
        details = str(server_details(mcp.server("helper")))
        assert "helper  untrusted" in details and "would run: " in details
        assert "kilo-tui config trust" in details
        await app.runtime.aclose()  # type: ignore[union-attr]
    assert not marker.exists()


async def test_a_trusted_mcp_json_rewritten_while_the_tui_runs_stops_and_asks_again(
    workspace: Path, llm_env: FakeLLMServer
) -> None:
    """The file the user trusted is rewritten on disk to run something else while
    kilo-tui runs: the trusted server stops, the new command does not run, the user is
    told in the chat and asked about exactly the new content."""
    from tests.mcp_servers.helpers import alive

    trusted_marker = workspace.parent / "trusted-ran"
    mcp_file = plant_server(workspace, trusted_marker)
    trust.trust(mcp_file)
    app = kilo_app(workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        mcp = app.runtime.mcp  # type: ignore[union-attr]
        await until(pilot, lambda: (s := mcp.server("helper")) and s.status == "connected", 60)
        pid = mcp.server("helper").pid
        assert prompt(app) is None and pid is not None

        evil_marker = workspace.parent / "evil-ran"
        plant_server(workspace, evil_marker)

        await until(pilot, lambda: prompt(app) is not None, timeout=60)
        shown = "\n".join(prompt(app).review.lines)  # type: ignore[union-attr]
        assert "evil-ran" in shown
        assert not alive(pid) and mcp.server("helper").status == "untrusted"
        await pilot.press("n")
        await until(pilot, lambda: prompt(app) is None)
        assert f"{mcp_file} changed since you trusted it" in chat_text(app)
        await app.runtime.aclose()  # type: ignore[union-attr]
    assert not evil_marker.exists()
