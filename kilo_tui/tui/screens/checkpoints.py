"""The checkpoint timeline: browse, diff and restore every step of the workspace.

Pushed by the app on ``ctrl+t`` / ``/checkpoints`` as
``CheckpointsScreen(manager, task_id)``. Checkpoints are listed newest first with their
time, trigger, changed-file count and +/- stats.

Keys (remappable by binding id): ``j``/``k`` browse, ``d`` shows or hides the diff of
the highlighted step (previous checkpoint → this one), ``v`` switches the diff to
"this checkpoint → the files now", ``r`` restores the files, ``R`` the files and the
conversation. Both restores first show what will change, files to be removed
included, and wait for a confirmation.

The screen performs the file restore itself (``manager.restore`` in a worker thread,
which checkpoints the current state first) and then dismisses with a
:class:`RestoreRequest`. When ``with_task`` is set the app rewinds the conversation to
``message_index`` messages; the files are already restored. ``escape`` dismisses with
``None``: nothing changed.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from rich.syntax import Syntax
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.reactive import var
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Label, OptionList, Static
from textual.widgets.option_list import Option

from kilo_tui.core.checkpoints import (
    Checkpoint,
    CheckpointError,
    CheckpointManager,
    RestorePlan,
)

MAX_DIFF_LINES = 4000
"""Longer diffs are cut: highlighting is for reading, not for auditing a rewrite."""

KIND_MARKS = {"user": "›", "turn": "✓", "tool": "⚙", "safety": "⛨", "restore": "↺"}


@dataclass(frozen=True)
class RestoreRequest:
    """The restore the user confirmed; the app performs it (``runtime.restore``).

    ``with_task``: the conversation too, so the app shows ``task_id`` afterwards.
    """

    checkpoint_id: str
    with_task: bool
    task_id: str = ""


def checkpoint_row(checkpoint: Checkpoint, *, now: datetime | None = None) -> Content:
    """One timeline row: mark, time, changed files, +/- stats, trigger."""
    local = checkpoint.created_at.astimezone()
    today = (now or datetime.now().astimezone()).date()
    when = local.strftime("%H:%M:%S" if local.date() == today else "%m-%d %H:%M")
    files = checkpoint.files_changed
    return Content.assemble(
        (KIND_MARKS.get(checkpoint.kind, " "), "$text-accent"),
        " ",
        (when.rjust(11), "$text-muted"),
        " ",
        (f"{files} file{'s' if files != 1 else ' '}".rjust(8), ""),
        " ",
        (f"+{checkpoint.insertions}".rjust(5), "$text-success"),
        " ",
        (f"-{checkpoint.deletions}".ljust(5), "$text-error"),
        " ",
        (checkpoint.trigger, "bold" if checkpoint.kind == "user" else ""),
    )


class ConfirmRestoreScreen(ModalScreen[bool]):
    """Asks before a restore, listing every file it will change or remove."""

    CSS_PATH = "checkpoints.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y,enter", "answer(True)", "Restore", id="confirm-restore-yes"),
        Binding("n,escape", "answer(False)", "Cancel", id="confirm-restore-no"),
    ]

    def __init__(self, checkpoint: Checkpoint, plan: RestorePlan, *, with_task: bool) -> None:
        super().__init__()
        self.checkpoint = checkpoint
        self.plan = plan
        self.with_task = with_task

    def compose(self) -> ComposeResult:
        what = "files and conversation" if self.with_task else "files"
        with Vertical(id="confirm-dialog"):
            yield Label(
                f"Restore {what} to {self.checkpoint.short} ({self.checkpoint.trigger})?",
                id="confirm-title",
            )
            with VerticalScroll(id="confirm-files"):
                yield Static(self._plan_text(), id="confirm-plan")
            yield Label(
                "The current state is checkpointed first: this restore can be undone.",
                id="confirm-note",
            )
            with Horizontal(id="confirm-buttons"):
                yield Button("Restore", variant="warning", id="confirm-yes")
                yield Button("Cancel", id="confirm-no")

    def _plan_text(self) -> Content:
        plan = self.plan
        sections = (
            ("Modified", plan.modified, "$text-warning"),
            ("Brought back", plan.added_back, "$text-success"),
            ("Permissions set back (0600, executable…)", plan.modes, "$text-warning"),
            ("REMOVED — they did not exist at this checkpoint", plan.removed, "$text-error"),
            ("Not tracked, left as is (ignored, excluded or too large)", plan.untracked, ""),
        )
        parts: list[Content] = []
        for title, files, style in sections:
            if files:
                parts.append(Content.styled(f"{title} ({len(files)}):", f"bold {style}"))
                parts.extend(Content(f"  {path}") for path in files)
        if plan.is_empty:
            parts.insert(0, Content("The files already match this checkpoint."))
        return Content("\n").join(parts)

    def on_mount(self) -> None:
        self.query_one("#confirm-yes", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "confirm-yes")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)


class CheckpointsScreen(ModalScreen[RestoreRequest | None]):
    """The checkpoint timeline of one workspace (``task_id``: only that task's).

    Args:
        manager: the workspace's checkpoint manager.
        task_id: list only this task's checkpoints; ``None`` lists all of them.
    """

    CSS_PATH = "checkpoints.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "close", "Close", id="checkpoints-close"),
        Binding("j", "move(1)", "Older", id="checkpoints-older"),
        Binding("k", "move(-1)", "Newer", id="checkpoints-newer"),
        Binding("d", "toggle_diff", "Diff", id="checkpoints-diff"),
        Binding("v", "toggle_base", "vs now/previous", id="checkpoints-diff-base"),
        Binding("r", "restore(False)", "Restore files", id="checkpoints-restore-files"),
        Binding("R", "restore(True)", "Restore files+task", id="checkpoints-restore-task"),
    ]

    show_diff: var[bool] = var(False)
    against_now: var[bool] = var(False)
    """Diff this checkpoint against the files now instead of against the previous one."""

    def __init__(self, manager: CheckpointManager, task_id: str | None = None) -> None:
        super().__init__()
        self.manager = manager
        self.task_id = task_id
        self._timeline: list[Checkpoint] = []
        """Every checkpoint, oldest first: "previous" is looked up here."""
        self._shown: list[Checkpoint] = []
        """The listed checkpoints, newest first (option index = list index)."""

    def compose(self) -> ComposeResult:
        with Vertical(id="checkpoints-dialog"):
            yield Label("Checkpoints", id="checkpoints-title")
            with Horizontal(id="checkpoints-body"):
                yield OptionList(id="checkpoints-list")
                with Vertical(id="checkpoints-diff-pane"):
                    yield Label("", id="checkpoints-diff-title")
                    with VerticalScroll(id="checkpoints-diff-scroll"):
                        yield Static("", id="checkpoints-diff-body")
            yield Label("Loading…", id="checkpoints-status")
        yield Footer()

    def on_mount(self) -> None:
        self.title = f"Checkpoints — {self.manager.workspace}"
        self._load()

    @property
    def highlighted(self) -> Checkpoint | None:
        """The checkpoint under the cursor."""
        index = self.query_one("#checkpoints-list", OptionList).highlighted
        return self._shown[index] if index is not None and index < len(self._shown) else None

    # ------------------------------------------------------------ loading

    @work(exclusive=True, group="checkpoints-load", exit_on_error=False)
    async def _load(self) -> None:
        status = self.query_one("#checkpoints-status", Label)
        try:
            self._timeline = await asyncio.to_thread(self.manager.list)
        except CheckpointError as error:
            status.update(Content.styled(str(error), "$text-error"))
            return
        shown = [cp for cp in self._timeline if self.task_id in (None, cp.task_id)]
        self._shown = shown[::-1]
        options = self.query_one("#checkpoints-list", OptionList)
        options.set_options(Option(checkpoint_row(cp), id=cp.id) for cp in self._shown)
        if self._shown:
            options.highlighted = 0
            status.update(f"{len(self._shown)} checkpoints · newest first")
        elif not self.manager.enabled:
            status.update("Checkpoints are turned off in the settings.")
        else:
            status.update("No checkpoints yet: one is taken before every change.")
        options.focus()

    # ---------------------------------------------------------------- diff

    def action_move(self, step: int) -> None:
        # Clamped, not wrapping: `j` on the oldest checkpoint should not jump to the newest.
        options = self.query_one("#checkpoints-list", OptionList)
        if options.option_count:
            current = options.highlighted or 0
            options.highlighted = max(0, min(current + step, options.option_count - 1))

    def action_toggle_diff(self) -> None:
        self.show_diff = not self.show_diff

    def action_toggle_base(self) -> None:
        self.against_now = not self.against_now
        self.show_diff = True

    def watch_show_diff(self, show: bool) -> None:
        self.set_class(show, "-show-diff")
        self._refresh_diff()

    def watch_against_now(self) -> None:
        self._refresh_diff()

    @on(OptionList.OptionHighlighted, "#checkpoints-list")
    def _highlighted(self) -> None:
        self._refresh_diff()

    def _refresh_diff(self) -> None:
        checkpoint = self.highlighted
        if self.show_diff and checkpoint is not None:
            self._show_diff(checkpoint, self.against_now)

    def _previous(self, checkpoint: Checkpoint) -> Checkpoint | None:
        index = self._timeline.index(checkpoint)
        return self._timeline[index - 1] if index > 0 else None

    @work(exclusive=True, group="checkpoints-diff", exit_on_error=False)
    async def _show_diff(self, checkpoint: Checkpoint, against_now: bool) -> None:
        title = self.query_one("#checkpoints-diff-title", Label)
        body = self.query_one("#checkpoints-diff-body", Static)
        previous = self._previous(checkpoint)
        if against_now:
            heading = f"{checkpoint.short} → files now  (v: step diff)"
            job = asyncio.to_thread(self.manager.diff, checkpoint.id)
        elif previous is not None:
            heading = f"{previous.short} → {checkpoint.short}  (v: vs now)"
            job = asyncio.to_thread(self.manager.diff, previous.id, checkpoint.id)
        else:
            title.update(f"{checkpoint.short} is the first checkpoint  (v: vs now)")
            body.update("Nothing before it to compare with.")
            return
        title.update(heading)
        try:
            diff = await job
        except CheckpointError as error:
            body.update(Content.styled(str(error), "$text-error"))
            return
        body.update(self._highlight(diff) if diff else "No differences.")
        self.query_one("#checkpoints-diff-scroll", VerticalScroll).scroll_home(animate=False)

    @staticmethod
    def _highlight(diff: str) -> Syntax:
        lines = diff.splitlines()
        if len(lines) > MAX_DIFF_LINES:
            cut = len(lines) - MAX_DIFF_LINES
            diff = "\n".join([*lines[:MAX_DIFF_LINES], f"… {cut} more lines"])
        return Syntax(diff, "diff", theme="ansi_dark", background_color="default")

    # ------------------------------------------------------------- restore

    def action_restore(self, with_task: bool) -> None:
        checkpoint = self.highlighted
        if checkpoint is None:
            return
        if with_task and (not checkpoint.task_id or checkpoint.message_index is None):
            self.notify(
                "This checkpoint is not tied to a conversation point: use r to restore files.",
                severity="warning",
            )
            return
        self._restore(checkpoint, with_task)

    @work(exclusive=True, group="checkpoints-restore", exit_on_error=False)
    async def _restore(self, checkpoint: Checkpoint, with_task: bool) -> None:
        try:
            plan = await asyncio.to_thread(self.manager.plan_restore, checkpoint.id)
            confirm = ConfirmRestoreScreen(checkpoint, plan, with_task=with_task)
            if not await self.app.push_screen_wait(confirm):
                return
        except CheckpointError as error:
            self.notify(str(error), title="Restore failed", severity="error")
            return
        self.dismiss(RestoreRequest(checkpoint.id, with_task, checkpoint.task_id))

    def action_close(self) -> None:
        self.dismiss(None)
