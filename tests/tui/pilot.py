"""Driving the real app with Pilot: build it around a real AgentRuntime, type, wait,
and read what the chat shows. Shared by the TUI tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

from textual.app import App
from textual.pilot import Pilot
from textual.widgets import Markdown

from kilo_tui.core.agent.runtime import AgentRuntime
from kilo_tui.core.config import Settings
from kilo_tui.tui.app import KiloApp
from kilo_tui.tui.widgets.approval_bar import ApprovalBar
from kilo_tui.tui.widgets.chat import Chat
from kilo_tui.tui.widgets.followup import FollowupBar
from kilo_tui.tui.widgets.tool_block import ToolBlock

Bar = TypeVar("Bar", ApprovalBar, FollowupBar)


def make_app(workspace: Path, settings: Settings, **kwargs: object) -> KiloApp:
    runtime = AgentRuntime(workspace=workspace, settings=settings, start_mcp=False)
    return KiloApp(workspace, settings, runtime=runtime, **kwargs)  # type: ignore[arg-type]


def chat_text(app: KiloApp) -> str:
    parts = []
    for block in app.screen.query_one(Chat).blocks:
        if isinstance(block, Markdown):
            parts.append(block.source)
        elif isinstance(block, ToolBlock):
            parts.append(f"{block.title} {block.summary}\n{block.output}")
        else:
            parts.append(str(block.render()))
    return "\n".join(parts)


def screen_lines(app: App[Any]) -> list[str]:
    """The text on the terminal, one string per row, as the user sees it."""
    return ["".join(seg.text for seg in strip) for strip in app.screen._compositor.render_strips()]


def asking(app: KiloApp, bar_type: type[Bar]) -> Bar | None:
    """The approval or question bar, if it is on screen (it is mounted on first use)."""
    bars = app.screen.query(bar_type)
    return bars.first() if bars and bars.first().display else None


async def type_and_send(pilot: Pilot[None], text: str) -> None:
    await pilot.press(*text)
    await pilot.press("enter")


async def until(pilot: Pilot[None], condition, timeout: float = 15.0) -> None:  # type: ignore[no-untyped-def]
    """Pause until ``condition()`` holds (the agent runs in real time)."""
    for _ in range(int(timeout / 0.05)):
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError("condition not met in time")


async def idle(pilot: Pilot[None]) -> None:
    app = pilot.app
    await until(pilot, lambda: not app.main_screen.busy)
