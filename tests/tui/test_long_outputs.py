"""Huge tool outputs in the chat: what is rendered stays small, however big the output.

These check the work done, not the time it takes (which depends on the machine):
how much text the block renders, and how often a streaming command's body is redrawn.
``benchmarks/bench_long_outputs.py`` measures the resulting frame times.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Static

from kilo_tui.core import events as ev
from kilo_tui.tui.app import KiloApp
from kilo_tui.tui.widgets.chat import Chat
from kilo_tui.tui.widgets.tool_block import (
    LIVE_BODY_LINES,
    MAX_BODY_LINES,
    MAX_LINE_CHARS,
    ToolBlock,
)
from tests.tui.helpers import StandInRuntime


@pytest.fixture
def runtime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> StandInRuntime:
    monkeypatch.setenv("KILO_TUI_HOME", str(tmp_path / "home"))
    return StandInRuntime(tmp_path)


def body_text(block: ToolBlock) -> str:
    return str(block.query_one("#body", Static).render())


async def test_a_one_megabyte_line_is_cut_before_it_is_rendered(runtime: StandInRuntime) -> None:
    app = KiloApp(runtime.workspace, runtime.settings, runtime=runtime)  # type: ignore[arg-type]
    minified = "var a=1;" * 131_072  # 1 MB on one line
    async with app.run_test() as pilot:
        runtime.bus.publish(ev.ToolCallStarted(call_id="r", name="read_file", arguments={}))
        await pilot.pause()
        runtime.bus.publish(ev.ToolCallFinished(call_id="r", name="read_file", result=minified))
        (block,) = app.screen.query(ToolBlock)
        block.set_expanded(True)
        await pilot.pause()

        shown = body_text(block)
        assert shown.startswith("var a=1;")
        assert len(shown) < MAX_LINE_CHARS + 100
        assert f"({len(minified) - MAX_LINE_CHARS:,} more characters)" in shown
        assert block.output == minified  # cut for the screen only


async def test_a_streaming_command_is_redrawn_on_a_timer_not_per_chunk(
    runtime: StandInRuntime,
) -> None:
    app = KiloApp(runtime.workspace, runtime.settings, runtime=runtime)  # type: ignore[arg-type]
    async with app.run_test() as pilot:
        bus = runtime.bus
        bus.publish(ev.ToolCallStarted(call_id="c", name="execute_command", arguments={}))
        await pilot.pause()
        (block,) = app.screen.query(ToolBlock)
        body = block.query_one("#body", Static)
        updates = 0
        update = body.update

        def counting_update(*args: object, **kwargs: object) -> None:
            nonlocal updates
            updates += 1
            update(*args, **kwargs)  # type: ignore[arg-type]

        body.update = counting_update  # type: ignore[method-assign]
        for chunk in range(500):  # 5,000 lines, 10 per chunk, faster than any frame
            lines = "".join(f"line {chunk * 10 + n}\n" for n in range(10))
            bus.publish(ev.CommandOutput(call_id="c", text=lines))
        await pilot.pause(0.3)

        assert updates <= 5, f"{updates} redraws for 500 chunks"
        shown = body_text(block)
        assert shown.splitlines()[-2] == "line 4999"  # the newest line, above the spinner
        # While it runs, only what the body's height shows is drawn (and redrawn).
        assert shown.startswith(f"… {5000 - LIVE_BODY_LINES} earlier lines not shown")

        bus.publish(ev.CommandFinished(call_id="c", command="build", exit_code=0))
        bus.publish(ev.ToolCallFinished(call_id="c", name="execute_command", result="x"))
        await pilot.pause()
        shown = body_text(block)
        assert shown.splitlines()[-1] == "line 4999"
        assert shown.startswith(f"… {5000 - MAX_BODY_LINES} earlier lines not shown")


async def test_resuming_a_2000_message_task_mounts_only_the_newest_blocks(
    runtime: StandInRuntime,
) -> None:
    app = KiloApp(runtime.workspace, runtime.settings, runtime=runtime)  # type: ignore[arg-type]
    stored: list[ev.Event] = []
    for n in range(1000):
        stored += [ev.UserMessage(text=f"question {n}"), ev.AssistantMessage(text=f"answer {n}")]
    async with app.run_test() as pilot:
        screen = app.main_screen
        # What MainScreen.resume shows once the runtime has read the stored events.
        await screen.chat.load(await screen.events.replay(stored))
        await pilot.pause()

        chat = screen.chat
        assert len(chat.blocks) == Chat.max_mounted  # typing cost does not grow with history
        assert chat.pruned_count == 2000 - Chat.max_mounted
        assert getattr(chat.blocks[-1], "source", "") == "answer 999"
