"""Snapshot tests of the main states (review the SVGs before ``--snapshot-update``).

The app runs with a stand-in runtime and events published on its bus, so each
picture is deterministic: same text, same paths, no timing.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from textual.pilot import Pilot

from kilo_tui.core import events as ev
from kilo_tui.tui.app import KiloApp
from kilo_tui.tui.widgets.prompt import PromptInput
from tests.tui.helpers import StandInRuntime

SIZE = (100, 32)


def snapshot_app() -> tuple[KiloApp, StandInRuntime]:
    runtime = StandInRuntime(Path("/home/dev/demo"))
    runtime.settings = dataclasses.replace(runtime.settings, theme="textual-dark")
    app = KiloApp(runtime.workspace, runtime.settings, runtime=runtime)  # type: ignore[arg-type]
    return app, runtime


async def steady(pilot: Pilot[None]) -> None:
    """No blinking cursor, all messages handled."""
    for prompt in pilot.app.screen.query(PromptInput):
        prompt.cursor_blink = False
    await pilot.pause()
    await pilot.wait_for_scheduled_animations()


def publish_conversation(runtime: StandInRuntime) -> None:
    bus = runtime.bus
    bus.publish(ev.UserMessage(text="Why does the test fail? @tests/test_api.py"))
    bus.publish(ev.TitleGenerated(title="Fix the failing API test"))
    for piece in ("Let me look at ", "the test and ", "the **handler**."):
        bus.publish(ev.AssistantDelta(text=piece))
    bus.publish(ev.AssistantMessage(text="Let me look at the test and the **handler**."))
    bus.publish(
        ev.ToolCallStarted(call_id="c1", name="read_file", arguments={"path": "tests/test_api.py"})
    )
    bus.publish(ev.ToolCallFinished(call_id="c1", name="read_file", result="…", summary="42 lines"))
    bus.publish(
        ev.ToolCallStarted(
            call_id="c2",
            name="execute_command",
            arguments={"command": "pytest -q tests/test_api.py"},
        )
    )
    bus.publish(
        ev.CommandOutput(
            call_id="c2", text="F.\nFAILED tests/test_api.py::test_get - KeyError: 'id'\n"
        )
    )
    bus.publish(ev.CommandFinished(call_id="c2", command="pytest -q", exit_code=1))
    bus.publish(
        ev.ToolCallFinished(call_id="c2", name="execute_command", result="", is_error=False)
    )
    bus.publish(
        ev.TodoListUpdated(
            todos=(
                {"text": "Reproduce the failure", "status": "completed"},
                {"text": "Fix the handler", "status": "in_progress"},
            )
        )
    )
    bus.publish(
        ev.UsageUpdated(
            model="openai/fake-model",
            tokens_in=5400,
            tokens_out=320,
            cost=0.0042,
            task_tokens_in=5400,
            task_tokens_out=320,
            task_cost=0.0042,
            context_tokens=5400,
            context_window=128000,
            reserved_output=16000,
        )
    )


def test_empty_chat(snap_compare) -> None:  # type: ignore[no-untyped-def]
    """A fresh session: header, empty chat, the prompt with its placeholder, status, footer."""
    app, _ = snapshot_app()
    assert snap_compare(app, terminal_size=SIZE, run_before=steady)


def test_streamed_reply_with_tool_calls(snap_compare) -> None:  # type: ignore[no-untyped-def]
    """A reply, a collapsed file read, a failed command with its output, the todo list,
    and the status bar with tokens, a context bar and the cost."""
    app, runtime = snapshot_app()

    async def run_before(pilot: Pilot[None]) -> None:
        publish_conversation(runtime)
        await steady(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_approval_bar(snap_compare) -> None:  # type: ignore[no-untyped-def]
    """The prompt is replaced by the approval bar: the exact command, y / n / ! and the rule."""
    app, runtime = snapshot_app()

    async def run_before(pilot: Pilot[None]) -> None:
        publish_conversation(runtime)
        request = ev.ApprovalRequested(
            request_id="r1",
            kind="command",
            tool="execute_command",
            title="Run command: git push --force origin main",
            detail="git push --force origin main",
            always_allow_rule="allowed_commands: git push",
        )
        pilot.app.run_worker(runtime.bus.request(request))
        await steady(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_approval_waiting_above_a_draft_at_80_columns(snap_compare) -> None:  # type: ignore[no-untyped-def]
    """At 80×24, a request that arrives while the user types waits above the prompt: the
    draft and its focus stay, the bar says tab reaches it; the chat, scrolled up, shows
    the new-messages marker."""
    app, runtime = snapshot_app()

    async def run_before(pilot: Pilot[None]) -> None:
        publish_conversation(runtime)
        await steady(pilot)
        await pilot.press("pageup", "pageup")
        runtime.bus.publish(ev.Notice(message="a line the user has not seen yet"))
        await pilot.press(*"also check the")
        request = ev.ApprovalRequested(
            request_id="r1",
            kind="command",
            tool="execute_command",
            title="Run command: pytest -q",
            detail="pytest -q",
        )
        pilot.app.run_worker(runtime.bus.request(request))
        await steady(pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
