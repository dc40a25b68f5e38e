"""The interaction model (issue #14): no keypress lost or misrouted, ctrl+c, focus.

Driven with Pilot against the stand-in runtime: requests are made on its real bus
exactly as the agent makes them, and the keys go through Textual's real key routing.
Each behaviour is checked at 80×24 and 120×40.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot

from kilo_tui.core import events as ev
from kilo_tui.tui.app import KiloApp
from kilo_tui.tui.widgets.approval_bar import ApprovalBar
from kilo_tui.tui.widgets.chat import Chat, NewMessages
from kilo_tui.tui.widgets.followup import AnswerInput, FollowupBar
from kilo_tui.tui.widgets.prompt import PromptInput
from kilo_tui.tui.widgets.tool_block import ToolBlock
from tests.tui.helpers import StandInRuntime

SIZES = [(80, 24), (120, 40)]


@pytest.fixture
def runtime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> StandInRuntime:
    monkeypatch.setenv("KILO_TUI_HOME", str(tmp_path / "home"))
    return StandInRuntime(tmp_path)


def make_app(runtime: StandInRuntime) -> KiloApp:
    return KiloApp(runtime.workspace, runtime.settings, runtime=runtime)  # type: ignore[arg-type]


def command_request(request_id: str = "r1") -> ev.ApprovalRequested:
    return ev.ApprovalRequested(
        request_id=request_id,
        kind="command",
        tool="execute_command",
        title="Run `make test`",
        detail="make test",
    )


async def shown(pilot: Pilot[None], widget_type: type) -> None:  # type: ignore[type-arg]
    """Wait until a widget of ``widget_type`` is displayed (bars mount on first use)."""
    for _ in range(100):
        found = pilot.app.screen.query(widget_type)
        if found and found.first().display:
            return
        await pilot.pause(0.02)
    raise AssertionError(f"{widget_type.__name__} never shown")


@pytest.mark.parametrize("size", SIZES)
async def test_a_key_pressed_the_moment_the_approval_shows_answers_it(
    runtime: StandInRuntime, size: tuple[int, int]
) -> None:
    app = make_app(runtime)
    async with app.run_test(size=size) as pilot:
        answer = app.run_worker(runtime.bus.request(command_request()))
        await shown(pilot, ApprovalBar)
        await pilot.press("y")  # no pause: the instant the bar is on screen
        await answer.wait()
        assert answer.result == ev.ApprovalReply(approved=True)
        assert isinstance(app.focused, PromptInput)


@pytest.mark.parametrize("size", SIZES)
async def test_typing_in_the_prompt_when_an_approval_shows_never_answers_it(
    runtime: StandInRuntime, size: tuple[int, int]
) -> None:
    app = make_app(runtime)
    async with app.run_test(size=size) as pilot:
        await pilot.press(*"fix the")
        answer = app.run_worker(runtime.bus.request(command_request()))
        await shown(pilot, ApprovalBar)
        await pilot.press(*" types now")  # y and n among them
        await pilot.pause()
        prompt = app.screen.query_one(PromptInput)
        assert prompt.text == "fix the types now"
        assert not answer.is_finished
        assert prompt.display and isinstance(app.focused, PromptInput)
        bar = app.screen.query_one(ApprovalBar)
        assert "tab to answer" in str(bar.query_one("#hint").render())
        # A deliberate tab moves to the request; the draft stays.
        await pilot.press("tab", "y")
        await answer.wait()
        assert answer.result == ev.ApprovalReply(approved=True)
        assert prompt.text == "fix the types now" and isinstance(app.focused, PromptInput)


async def test_a_character_typed_on_the_bar_goes_to_the_prompt(runtime: StandInRuntime) -> None:
    app = make_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        answer = app.run_worker(runtime.bus.request(command_request()))
        await shown(pilot, ApprovalBar)
        await pilot.press(*"hello")
        await pilot.pause()
        prompt = app.screen.query_one(PromptInput)
        assert prompt.text == "hello" and prompt.display
        assert not answer.is_finished
        # Sending the draft hands the keys back to the request.
        await pilot.press("enter")
        await pilot.pause()
        assert runtime.submitted == ["hello"]
        assert isinstance(app.focused, ApprovalBar)
        await pilot.press("y")
        await answer.wait()
        assert answer.result.approved


async def test_a_question_waits_for_the_draft_too(runtime: StandInRuntime) -> None:
    app = make_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*"draft")
        question = ev.FollowupAsked(request_id="q1", question="Which?", suggestions=("a", "b"))
        answer = app.run_worker(runtime.bus.request(question))
        await pilot.pause(0.2)
        await pilot.press("2")
        await pilot.pause()
        assert app.screen.query_one(PromptInput).text == "draft2"
        assert not answer.is_finished
        await pilot.press("tab")
        assert isinstance(app.focused, AnswerInput)
        await pilot.press("1")
        await answer.wait()
        assert answer.result == "a"


@pytest.mark.parametrize("size", SIZES)
async def test_ctrl_c_interrupts_a_turn_and_twice_quits(
    runtime: StandInRuntime, size: tuple[int, int]
) -> None:
    app = make_app(runtime)
    async with app.run_test(size=size) as pilot:
        app.main_screen.busy = True
        await pilot.press("ctrl+c")
        assert runtime.cancelled == 1 and app.is_running
        app.main_screen.busy = False
        await pilot.press("ctrl+c")
        await pilot.pause()
        assert app.is_running  # once: only a hint
        await pilot.press("ctrl+c")
        await pilot.pause()
        assert not app.is_running


async def test_tab_never_takes_the_keys_away_from_the_prompt(runtime: StandInRuntime) -> None:
    app = make_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("tab", "x", "tab", "tab", "y")
        await pilot.pause()
        assert app.screen.query_one(PromptInput).text == "xy"
        assert isinstance(app.focused, PromptInput)


async def test_a_proposed_edit_waits_for_the_draft_and_opens_on_tab(
    runtime: StandInRuntime,
) -> None:
    from kilo_tui.tui.screens.diff_review import DiffReviewScreen

    (runtime.workspace / "a.py").write_text("x = 1\n")
    diff = "--- a/a.py\n+++ b/a.py\n@@ -1 +1 @@\n-x = 1\n+x = 2\n"
    proposal = ev.DiffProposed(
        request_id="d1",
        call_id="c1",
        tool="apply_diff",
        path="a.py",
        diff=diff,
        hunks=(diff.split("\n", 2)[2],),
        additions=1,
        deletions=1,
    )
    app = make_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*"wait")
        answer = app.run_worker(runtime.bus.request(proposal))
        await shown(pilot, ApprovalBar)
        await pilot.press(*" ay")  # a and y would accept in the diff viewer
        await pilot.pause()
        assert app.screen.query_one(PromptInput).text == "wait ay"
        assert not answer.is_finished and not isinstance(app.screen, DiffReviewScreen)
        await pilot.press("tab")
        await pilot.pause(0.3)
        assert isinstance(app.screen, DiffReviewScreen)
        await pilot.press("y")  # accepts the one file and closes the viewer
        await answer.wait()
        assert answer.result.approved
        assert app.main_screen.query_one(PromptInput).text == "wait ay"


# ------------------------------------------------------------------- scrolling


async def fill_chat(pilot: Pilot[None], runtime: StandInRuntime, count: int = 40) -> Chat:
    for i in range(count):
        runtime.bus.publish(ev.Notice(message=f"line {i}"))
    await pilot.pause(0.2)
    chat = pilot.app.screen.query_one(Chat)
    assert chat.max_scroll_y > 0
    return chat


def at_bottom(chat: Chat) -> bool:
    return chat.scroll_y >= chat.max_scroll_y


def newest_in_view(chat: Chat) -> bool:
    """The newest block is wholly inside the chat's viewport (not under a bar, not
    below the fold): what a user must see while and after answering a request."""
    last = chat.blocks[-1]
    top = chat.scroll_offset.y
    return top <= last.virtual_region.y and last.virtual_region.bottom <= (
        top + chat.scrollable_content_region.height
    )


def marker(app: KiloApp) -> NewMessages:
    return app.screen.query_one(NewMessages)


def edit_proposal(runtime: StandInRuntime) -> ev.DiffProposed:
    (runtime.workspace / "a.py").write_text("x = 1\n")
    diff = "--- a/a.py\n+++ b/a.py\n@@ -1 +1 @@\n-x = 1\n+x = 2\n"
    return ev.DiffProposed(
        request_id="d1",
        call_id="c1",
        tool="apply_diff",
        path="a.py",
        diff=diff,
        hunks=(diff.split("\n", 2)[2],),
        additions=1,
        deletions=1,
    )


async def said(pilot: Pilot[None], runtime: StandInRuntime, text: str) -> None:  # type: ignore[type-arg]
    """A new line in the chat (as the agent's notices, tool calls and replies come)."""
    runtime.bus.publish(ev.Notice(message=text))
    chat = pilot.app.main_screen.query_one(Chat)  # type: ignore[attr-defined]
    for _ in range(100):
        if text in str(chat.blocks[-1].render()):
            break
        await pilot.pause(0.02)
    await pilot.pause(0.1)  # layout and scroll settle


@pytest.mark.parametrize("size", SIZES)
async def test_the_chat_stays_pinned_through_approvals_diff_reviews_and_questions(
    runtime: StandInRuntime, size: tuple[int, int]
) -> None:
    """Pinned: the newest line is in view while each request is shown (the bar takes
    rows from the chat) and after it is answered, and no "new messages" marker shows."""
    from kilo_tui.tui.screens.diff_review import DiffReviewScreen

    app = make_app(runtime)
    async with app.run_test(size=size) as pilot:
        chat = await fill_chat(pilot, runtime)
        assert newest_in_view(chat)
        await said(pilot, runtime, "about to run make test")
        answer = app.run_worker(runtime.bus.request(command_request()))
        await shown(pilot, ApprovalBar)
        await pilot.pause(0.1)
        assert newest_in_view(chat), "the line above the approval bar is hidden"
        await pilot.press("y")
        await answer.wait()
        await said(pilot, runtime, "make test passed")
        assert newest_in_view(chat)

        answer = app.run_worker(runtime.bus.request(edit_proposal(runtime)))
        await until_screen(pilot, DiffReviewScreen)
        await said(pilot, runtime, "said while the diff is reviewed")
        await pilot.press("y")  # accepts the one file and closes the viewer
        await answer.wait()
        await pilot.pause(0.2)
        assert newest_in_view(chat), "the chat moved while the diff was reviewed"
        await said(pilot, runtime, "edit written")
        assert newest_in_view(chat)

        question = ev.FollowupAsked(request_id="q1", question="Which?", suggestions=("a",))
        answer = app.run_worker(runtime.bus.request(question))
        await shown(pilot, FollowupBar)
        await pilot.pause(0.1)
        assert newest_in_view(chat), "the line above the question is hidden"
        await pilot.press("1")
        await answer.wait()
        await said(pilot, runtime, "the newest line")
        assert at_bottom(chat) and newest_in_view(chat)
        assert not marker(app).display


async def until_screen(pilot: Pilot[None], screen_type: type) -> None:  # type: ignore[type-arg]
    for _ in range(100):
        if isinstance(pilot.app.screen, screen_type):
            await pilot.pause(0.1)
            return
        await pilot.pause(0.02)
    raise AssertionError(f"{screen_type.__name__} never shown")


@pytest.mark.parametrize("size", SIZES)
async def test_scroll_keys_work_from_the_prompt_and_new_messages_are_flagged(
    runtime: StandInRuntime, size: tuple[int, int]
) -> None:
    app = make_app(runtime)
    async with app.run_test(size=size) as pilot:
        chat = await fill_chat(pilot, runtime)
        await pilot.press(*"draft")
        bottom = chat.scroll_y
        await pilot.press("pageup")
        await pilot.pause()
        assert chat.scroll_y < bottom
        await pilot.press("shift+up")
        await pilot.pause()
        assert chat.scroll_y < bottom - 1
        # The user scrolled up: new messages and requests do not pull the view, a
        # marker says more came.
        up = chat.scroll_y
        assert not marker(app).display
        await said(pilot, runtime, "something new")
        assert chat.scroll_y == up
        assert marker(app).display and "new messages ↓" in str(marker(app).render())
        answer = app.run_worker(runtime.bus.request(command_request()))
        await shown(pilot, ApprovalBar)
        await pilot.pause(0.1)
        assert chat.scroll_y == up and marker(app).display
        await pilot.press("tab", "y")  # from the draft to the bar, and approve
        await answer.wait()
        await pilot.pause(0.1)
        assert chat.scroll_y == up and marker(app).display
        await pilot.press("pagedown", "pagedown", "pagedown", "shift+down")
        await pilot.pause(0.2)
        assert at_bottom(chat) and not marker(app).display
        assert app.screen.query_one(PromptInput).text == "draft"
        await said(pilot, runtime, "follows again")  # pinned again: the view follows
        assert newest_in_view(chat) and not marker(app).display
        # Home / End scroll the chat when the prompt is empty.
        app.screen.query_one(PromptInput).clear()
        await pilot.press("home")
        await pilot.pause()
        assert chat.scroll_y == 0
        await said(pilot, runtime, "while at the top")
        assert chat.scroll_y == 0 and marker(app).display
        await pilot.press("end")
        await pilot.pause(0.2)
        assert at_bottom(chat) and newest_in_view(chat) and not marker(app).display
        await said(pilot, runtime, "after end")
        assert newest_in_view(chat) and not marker(app).display


async def test_task_completed_is_always_in_view(runtime: StandInRuntime) -> None:
    app = make_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        chat = await fill_chat(pilot, runtime)
        await pilot.press("home")
        await pilot.pause()
        runtime.bus.publish(ev.TaskCompleted(result="All tests pass.\n" * 30))
        await pilot.pause(0.3)
        assert at_bottom(chat)
        last = chat.blocks[-1]
        assert "Task completed" in str(last.render())
        assert last.region.bottom <= chat.region.bottom  # on screen


async def test_a_running_command_shows_a_spinner_and_elapsed_time(
    runtime: StandInRuntime,
) -> None:
    app = make_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        runtime.bus.publish(
            ev.ToolCallStarted(call_id="c1", name="execute_command", arguments={"command": "make"})
        )
        runtime.bus.publish(ev.CommandRunning(call_id="c1", elapsed=3.2))
        await pilot.pause(0.2)
        block = app.screen.query_one(ToolBlock)
        body = str(block.query_one("#body").render())
        assert "(no output)" not in body
        assert "running 3s" in body
        first = body.split()[0]
        await pilot.pause(0.5)
        assert str(block.query_one("#body").render()).split()[0] != first  # it spins
        runtime.bus.publish(ev.CommandFinished(call_id="c1", command="make", exit_code=0))
        runtime.bus.publish(ev.ToolCallFinished(call_id="c1", name="execute_command", result=""))
        await pilot.pause(0.2)
        assert "(no output)" in str(block.query_one("#body").render())
