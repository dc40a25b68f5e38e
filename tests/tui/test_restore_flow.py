"""Issue 6 in the app: `R` restores the files and rewinds the conversation — the chat
no longer shows the later turn and the model is no longer sent it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from kilo_tui.core.config import Settings
from kilo_tui.tui.screens.checkpoints import CheckpointsScreen, ConfirmRestoreScreen
from tests.fakeserver import FakeLLMServer, Turn
from tests.tui.pilot import chat_text, idle, make_app, type_and_send, until

if TYPE_CHECKING:
    from textual.pilot import Pilot

    from kilo_tui.tui.app import KiloApp

pytestmark = pytest.mark.timeout(90)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (root / "notes.txt").write_text("original\n")
    return root


def writes_allowed(settings: Settings) -> Settings:
    return Settings(
        model=settings.model, small_model=settings.small_model, auto_approve={"write": True}
    )


async def two_turns(pilot: Pilot[None], app: KiloApp) -> None:
    """The first turn writes draft.txt, the second rewrites notes.txt."""
    await type_and_send(pilot, "first question")
    await idle(pilot)
    await type_and_send(pilot, "now rewrite the notes")
    await idle(pilot)


async def restore_first_turn_with_task(pilot: Pilot[None], app: KiloApp) -> None:
    """In the timeline: the end of the first turn, files and conversation."""
    await pilot.press("ctrl+t")
    await until(pilot, lambda: isinstance(app.screen, CheckpointsScreen))
    await app.workers.wait_for_complete()
    # Newest first: the end of the second turn, then the end of the first.
    screen = app.screen
    assert isinstance(screen, CheckpointsScreen)
    assert [cp.trigger for cp in screen._shown][:2] == ["end_of_turn", "end_of_turn"]
    await pilot.press("j", "R")
    await until(pilot, lambda: isinstance(app.screen, ConfirmRestoreScreen))
    await pilot.press("y")
    await until(pilot, lambda: "SECOND-ANSWER" not in chat_text(app))
    await idle(pilot)


async def test_restore_files_and_task_rewinds_the_chat(
    workspace: Path, settings: Settings, llm_env: FakeLLMServer
) -> None:
    llm_env.script(
        Turn.tool("write_to_file", path="draft.txt", content="draft\n"),
        Turn.tool("attempt_completion", result="FIRST-ANSWER"),
        Turn(
            content="Rewriting notes.",
            tool_calls=[
                {
                    "name": "write_to_file",
                    "arguments": {"path": "notes.txt", "content": "rewritten\n"},
                }
            ],
        ),
        Turn.tool("attempt_completion", result="SECOND-ANSWER"),
        Turn.tool("attempt_completion", result="AFTER-REWIND"),
    )
    app = make_app(workspace, writes_allowed(settings))
    async with app.run_test(size=(120, 40)) as pilot:
        await two_turns(pilot, app)
        assert (workspace / "notes.txt").read_text() == "rewritten\n"
        assert "SECOND-ANSWER" in chat_text(app)
        await restore_first_turn_with_task(pilot, app)

        text = chat_text(app)
        assert "first question" in text and "FIRST-ANSWER" in text
        assert "now rewrite the notes" not in text
        assert (workspace / "notes.txt").read_text() == "original\n"
        assert (workspace / "draft.txt").read_text() == "draft\n"

        await type_and_send(pilot, "carry on")
        await idle(pilot)
    last = [b for b in llm_env.chat_requests if b["model"] == "fake-model"][-1]
    sent = "\n".join(str(m.get("content") or "") for m in last["messages"][1:])
    assert "first question" in sent and "carry on" in sent
    assert "now rewrite the notes" not in sent
    assert "rewritten" not in sent


async def test_undo_takes_back_a_restore_of_files_and_task_and_redo_reapplies_it(
    workspace: Path, settings: Settings, llm_env: FakeLLMServer
) -> None:
    llm_env.script(
        Turn.tool("write_to_file", path="draft.txt", content="draft\n"),
        Turn.tool("attempt_completion", result="FIRST-ANSWER"),
        Turn.tool("write_to_file", path="notes.txt", content="rewritten\n"),
        Turn.tool("attempt_completion", result="SECOND-ANSWER"),
        Turn.tool("attempt_completion", result="AFTER-UNDO"),
    )
    app = make_app(workspace, writes_allowed(settings))
    async with app.run_test(size=(120, 40)) as pilot:
        await two_turns(pilot, app)
        await restore_first_turn_with_task(pilot, app)
        assert (workspace / "notes.txt").read_text() == "original\n"
        assert "modified: notes.txt" in chat_text(app)  # the chat says what changed

        await type_and_send(pilot, "/undo")
        await until(pilot, lambda: "SECOND-ANSWER" in chat_text(app))
        await idle(pilot)
        assert (workspace / "notes.txt").read_text() == "rewritten\n"
        text = chat_text(app)
        assert "now rewrite the notes" in text and "undo: back to checkpoint" in text

        await type_and_send(pilot, "/redo")
        await until(pilot, lambda: "SECOND-ANSWER" not in chat_text(app))
        await idle(pilot)
        assert (workspace / "notes.txt").read_text() == "original\n"
        assert (workspace / "draft.txt").read_text() == "draft\n"

        await type_and_send(pilot, "/undo")
        await until(pilot, lambda: "SECOND-ANSWER" in chat_text(app))
        await idle(pilot)
        await type_and_send(pilot, "carry on")
        await idle(pilot)
    last = [b for b in llm_env.chat_requests if b["model"] == "fake-model"][-1]
    sent = "\n".join(str(m.get("content") or "") for m in last["messages"][1:])
    assert "first question" in sent and "now rewrite the notes" in sent and "carry on" in sent
    assert (workspace / "notes.txt").read_text() == "rewritten\n"


async def test_a_failed_checkpoint_shows_in_the_status_bar_and_asks_before_the_write(
    workspace: Path, settings: Settings, llm_env: FakeLLMServer
) -> None:
    from kilo_tui.core import paths
    from kilo_tui.tui.widgets.approval_bar import ApprovalBar
    from kilo_tui.tui.widgets.status_bar import StatusBar
    from tests.tui.pilot import asking

    shadow = paths.checkpoints_dir(workspace)
    shadow.parent.mkdir(parents=True, exist_ok=True)
    shadow.write_text("in the way\n")  # every checkpoint fails
    llm_env.script(
        Turn.tool("write_to_file", path="notes.txt", content="first\n"),
        Turn.tool("write_to_file", path="notes.txt", content="second\n"),
        Turn.tool("attempt_completion", result="DONE"),
    )
    app = make_app(workspace, writes_allowed(settings))
    async with app.run_test(size=(120, 40)) as pilot:
        await type_and_send(pilot, "edit the notes")
        await until(pilot, lambda: asking(app, ApprovalBar) is not None)
        bar = asking(app, ApprovalBar)
        assert bar is not None
        title = str(bar.query_one("#title").render())
        assert "checkpoint failed:" in title and "continue without a checkpoint?" in title
        assert "checkpoint ✗" in str(app.screen.query_one(StatusBar).render())
        assert (workspace / "notes.txt").read_text() == "original\n"  # not yet
        await pilot.press("y")  # go on without one
        await until(pilot, lambda: asking(app, ApprovalBar) is not None)
        await pilot.press("n", "enter")  # not this time (no feedback)
        await idle(pilot)
        assert "DONE" in chat_text(app)
    assert (workspace / "notes.txt").read_text() == "first\n"
    told = [m["content"] for m in llm_env.chat_requests[-1]["messages"] if m["role"] == "tool"]
    assert "the user chose not to go on without one" in told[-1]
