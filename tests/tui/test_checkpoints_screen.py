"""The checkpoint timeline screen, driven by Pilot over a real shadow repository."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.app import App
from textual.pilot import Pilot
from textual.widgets import Label, OptionList, Static

from kilo_tui.core.checkpoints import CheckpointManager
from kilo_tui.tui.screens.checkpoints import (
    CheckpointsScreen,
    ConfirmRestoreScreen,
    RestoreRequest,
)


class TimelineApp(App[None]):
    """Pushes the timeline and keeps what it dismissed with."""

    def __init__(self, manager: CheckpointManager, task_id: str | None = None) -> None:
        super().__init__()
        self.manager = manager
        self.task_id = task_id
        self.results: list[RestoreRequest | None] = []

    def on_mount(self) -> None:
        self.push_screen(CheckpointsScreen(self.manager, self.task_id), self.results.append)


@pytest.fixture
def manager(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CheckpointManager:
    """A task's timeline: a message, an edit of a.txt, a command creating c.txt."""
    monkeypatch.setenv("KILO_TUI_HOME", str(tmp_path / "kilo-home"))
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "a.txt").write_text("alpha\n")
    (ws / "b.txt").write_text("beta\n")
    manager = CheckpointManager(ws)
    manager.save("user_message", task_id="t1", message_index=0)
    (ws / "a.txt").write_text("alpha, edited by the agent\n")
    manager.save("execute_command make", task_id="t1", message_index=2)
    (ws / "c.txt").write_text("made by make\n")
    (ws / "b.txt").unlink()
    manager.save("user_message", task_id="t1", message_index=4)
    return manager


def rows(app: App[None]) -> list[str]:
    options = app.screen.query_one("#checkpoints-list", OptionList)
    return [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]


def diff_text(app: App[None]) -> str:
    body = app.screen.query_one("#checkpoints-diff-body", Static)
    return "".join(segment.text for segment in app.console.render(body.content))


async def test_browse_diff_and_restore_files(manager: CheckpointManager) -> None:
    ws = manager.workspace
    app = TimelineApp(manager, task_id="t1")
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        listed = rows(app)
        assert len(listed) == 3
        assert listed[0].endswith("user_message") and "2 files" in listed[0]
        assert "+1" in listed[0] and "-1" in listed[0]
        assert listed[1].endswith("execute_command make")

        await pilot.press("j", "d")  # the command step: a.txt was edited before it
        await app.workers.wait_for_complete()
        await pilot.pause()
        title = app.screen.query_one("#checkpoints-diff-title", Label)
        assert "→" in str(title.content)
        assert "+alpha, edited by the agent" in diff_text(app)
        assert "c.txt" not in diff_text(app)

        await pilot.press("v")  # against the files now: c.txt created, b.txt deleted
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "+++ b/c.txt" in diff_text(app) and "--- a/b.txt" in diff_text(app)

        (ws / "node_modules").mkdir()
        (ws / "node_modules/dep.js").write_text("never snapshotted\n")
        await pilot.press("j", "r")  # the first checkpoint
        await _until_confirm(pilot, app)
        confirm = app.screen
        assert isinstance(confirm, ConfirmRestoreScreen)
        plan = str(confirm.query_one("#confirm-plan", Static).content)
        assert "REMOVED" in plan and "c.txt" in plan and "b.txt" in plan
        untracked = plan.split("Not tracked, left as is")[1]
        assert "node_modules/" in untracked and "c.txt" not in untracked
        assert (ws / "c.txt").exists()  # nothing happens before the confirmation

        await pilot.press("y")
        await app.workers.wait_for_complete()
        await pilot.pause()

    # The screen asks; the app restores (through the runtime, tests/tui/test_restore_flow).
    first = manager.list()[0]
    assert app.results == [RestoreRequest(checkpoint_id=first.id, with_task=False, task_id="t1")]
    assert (ws / "c.txt").exists()


async def test_restore_with_task_can_be_cancelled_then_confirmed(
    manager: CheckpointManager,
) -> None:
    ws = manager.workspace
    app = TimelineApp(manager)
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.press("k", "j", "R")  # k on the newest stays there
        await _until_confirm(pilot, app)
        await pilot.press("n")
        await pilot.pause()
        assert isinstance(app.screen, CheckpointsScreen)
        assert (ws / "c.txt").exists()

        await pilot.press("R")
        await _until_confirm(pilot, app)
        await pilot.press("y")
        await app.workers.wait_for_complete()
        await pilot.pause()

    (request,) = app.results
    assert request is not None and request.with_task
    assert (request.checkpoint_id, request.task_id) == (manager.list()[1].id, "t1")


async def test_escape_changes_nothing(manager: CheckpointManager) -> None:
    app = TimelineApp(manager)
    async with app.run_test() as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.press("escape")
        await pilot.pause()
    assert app.results == [None]
    assert (manager.workspace / "c.txt").exists()


async def _until_confirm(pilot: Pilot[None], app: App[None]) -> None:
    for _ in range(100):
        if isinstance(app.screen, ConfirmRestoreScreen):
            return
        await pilot.pause(0.05)
    raise AssertionError("the confirmation never appeared")
