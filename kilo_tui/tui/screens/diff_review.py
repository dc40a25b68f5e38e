"""The diff review screen: approve or reject a proposed edit hunk by hunk.

Pushed by the app for every :class:`~kilo_tui.core.events.DiffProposed` that awaits a
decision; several files proposed in one turn share one screen, with a file list. The
screen reads each file as it is on disk now and places the proposal's hunks in it, so
what the user reviews is what would really be written. It dismisses with one
:class:`~kilo_tui.core.events.ApprovalReply` per proposal, keyed by ``request_id``;
the app sends them on the bus.

Keys (all remappable by binding id): ``j``/``k`` move between hunks, ``a``/``r``
accept or reject the focused hunk, ``y``/``n`` the whole file, ``e`` edits the
proposal in ``$EDITOR``, ``enter`` submits, ``t`` toggles side by side.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from textual import on
from textual.app import ComposeResult, SuspendNotSupported
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.reactive import var
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Footer, Input, Label, OptionList, Static
from textual.widgets.button import ButtonVariant
from textual.widgets.option_list import Option

from kilo_tui.core.edits import NotTextError, read_text
from kilo_tui.core.events import ApprovalReply, DiffProposed
from kilo_tui.core.hunks import classify_change, compute_hunks, parse_hunk
from kilo_tui.core.trust.paths import PathRefused
from kilo_tui.tui.widgets.diff_view import DiffView, FileDiff

SIDE_BY_SIDE_MIN_WIDTH = 121
"""Side by side is the default when the terminal is wider than 120 columns."""

CHANGED_ON_DISK = (
    "⚠ This file changed on disk during review. The diff shows the file as it is now; "
    "hunks that no longer fit are rejected."
)

BUTTONS: list[tuple[str, ButtonVariant]] = [
    ("accept_hunk", "success"),
    ("reject_hunk", "error"),
    ("accept_all", "success"),
    ("reject_all", "error"),
    ("edit", "default"),
    ("submit", "primary"),
]
"""The actions on the button row (labelled with their key and binding description)."""

FILES = Binding.Group("Prev/next file")

CHANGE_LABELS = {
    "create": "NEW FILE",
    "delete": "DELETED FILE",
    "rewrite": "WHOLE REWRITE",
    "modify": "MODIFIED",
}


@dataclass
class Review:
    """One proposal under review and what the user decided so far."""

    event: DiffProposed
    diff: FileDiff
    decisions: list[bool | None]
    notes: list[str]
    reply: ApprovalReply | None = None
    changed_on_disk: bool = False
    conflicts_notified: set[int] = field(default_factory=set)
    edited: bool = False
    """The proposal is the user's version from ``$EDITOR``, not the model's."""

    @classmethod
    def load(cls, event: DiffProposed, workspace: Path) -> Review:
        hunks = [parse_hunk(text) for text in event.hunks]
        try:
            base = read_text(workspace / event.path) or ""
            diff = FileDiff(event.path, base, hunks, change=event.change)
        except NotTextError:
            message = f"{event.path} is a binary file: it cannot be reviewed here. Press n."
            diff = FileDiff(event.path, "", [], [], event.change, message)
        except PathRefused as exc:
            message = f"{exc}: it cannot be reviewed here. Press n."
            diff = FileDiff(event.path, "", [], [], event.change, message)
        return cls(event, diff, [None] * len(diff.hunks), [""] * len(diff.hunks))

    def edit(self, text: str) -> None:
        """Review ``text`` (the user's version) instead: its hunks against the file."""
        base = self.diff.base
        old = None if self.event.change == "create" else base
        hunks = compute_hunks(base, text)
        self.diff = FileDiff(self.event.path, base, hunks, change=classify_change(old, text))
        self.decisions = [None] * len(hunks)
        self.notes = [""] * len(hunks)
        self.edited = True

    @property
    def counts(self) -> tuple[int, int]:
        """Lines added and removed by what is under review."""
        if not self.edited:
            return self.event.additions, self.event.deletions
        hunks = self.diff.hunks
        return sum(h.additions for h in hunks), sum(h.deletions for h in hunks)

    def edited_reply(self, accepted: Sequence[bool]) -> ApprovalReply:
        """The answer for the user's version: the accepted hunks of it become the file;
        feedback on the rejected ones goes to the model with the lines it is about."""
        feedback = "; ".join(
            f"the user's edit at lines {hunk.old_range}, rejected: {note}"
            for hunk, keep, note in zip(self.diff.hunks, accepted, self.notes, strict=True)
            if note and not keep
        )
        if not any(accepted):
            return ApprovalReply(approved=False, feedback=feedback)
        content = self.diff.text_with(accepted)
        return ApprovalReply(approved=True, content=content, feedback=feedback)

    def reload(self, workspace: Path) -> None:
        """Place the hunks in the file's new content; hunks that no longer fit are rejected."""
        try:
            base = read_text(workspace / self.event.path) or ""
        except (NotTextError, PathRefused):
            base = ""
        self.diff = self.diff.rebased(base)
        self.changed_on_disk = True
        for index in self.diff.conflicts:
            self.decisions[index] = False
            self.notes[index] = self.notes[index] or "no longer applies after an external edit"


class FeedbackModal(ModalScreen[str | None]):
    """Ask why something is rejected. Enter sends (empty is fine), escape cancels."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="feedback-cancel"),
    ]

    def __init__(self, title: str) -> None:
        super().__init__()
        self._title = title

    def compose(self) -> ComposeResult:
        with Vertical(id="feedback"):
            yield Label(self._title, id="feedback-title", markup=False)
            yield Input(placeholder="Tell the model why (optional) — enter to reject")

    @on(Input.Submitted)
    def _send(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip())

    def action_cancel(self) -> None:
        self.dismiss(None)


class DiffReviewScreen(Screen[dict[str, ApprovalReply]]):
    """Review proposed file changes; dismisses with ``{request_id: ApprovalReply}``."""

    CSS_PATH = "diff_review.tcss"
    AUTO_FOCUS = "DiffView"

    BINDINGS: ClassVar[list[BindingType]] = [
        # These six are on the buttons, with their keys: the footer does not repeat them.
        Binding("a", "accept_hunk", "Accept hunk", show=False, id="diff-accept-hunk"),
        Binding("r", "reject_hunk", "Reject hunk", show=False, id="diff-reject-hunk"),
        Binding("y", "accept_all", "Accept all", show=False, id="diff-accept-all"),
        Binding("n", "reject_all", "Reject all", show=False, id="diff-reject-all"),
        Binding("e", "edit", "Edit", show=False, id="diff-edit"),
        Binding("enter", "submit", "Submit", show=False, id="diff-submit"),
        Binding("t", "toggle_view", "Split/unified", id="diff-toggle-view"),
        Binding("[", "previous_file", "Previous file", id="diff-previous-file", group=FILES),
        Binding("]", "next_file", "Next file", id="diff-next-file", group=FILES),
    ]

    current: var[int] = var(0, init=False)
    """Index of the file being reviewed."""

    def __init__(self, proposals: list[DiffProposed], *, workspace: Path) -> None:
        super().__init__()
        self.workspace = workspace
        self.reviews = [Review.load(event, workspace) for event in proposals]
        self._split_chosen: bool | None = None

    # ------------------------------------------------------------ public API

    def add_proposal(self, event: DiffProposed) -> None:
        """Add a file proposed while the screen is open."""
        self.reviews.append(Review.load(event, self.workspace))
        self._refresh_files()

    def file_changed(self, path: str) -> None:
        """The file at ``path`` changed on disk: show the proposal against its new content."""
        for index, review in enumerate(self.reviews):
            if review.event.path != path or review.reply is not None:
                continue
            review.reload(self.workspace)
            lost = len(review.diff.conflicts)
            detail = f"; {lost} hunk(s) no longer apply and are rejected" if lost else ""
            self.notify(
                f"{path} changed on disk — the diff now shows it as it is{detail}.", markup=False
            )
            if index == self.current:
                self._show_current()
        self._refresh_files()

    # ------------------------------------------------------------ layout

    @property
    def view(self) -> DiffView:
        return self.query_one(DiffView)

    @property
    def review(self) -> Review:
        return self.reviews[self.current]

    def compose(self) -> ComposeResult:
        yield Static(id="title")
        yield Static(id="notice")
        with Horizontal(id="body"):
            yield OptionList(id="files")
            yield DiffView(id="diff")
        yield Static(id="status")
        with Horizontal(id="buttons"):
            for action, variant in BUTTONS:
                button = Button(variant=variant, id=action, compact=True)
                button.can_focus = False
                yield button
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#files", OptionList).can_focus = False
        self._label_buttons()
        self.bindings_updated_signal.subscribe(self, lambda _: self._label_buttons())
        self._apply_auto_split()
        self._refresh_files()
        self._show_current()

    def on_resize(self) -> None:
        self._apply_auto_split()

    def _label_buttons(self) -> None:
        """Each button names its key as bound now (the keymap can change it)."""
        bindings = {
            active.binding.action: active.binding
            for active in self.active_bindings.values()
            if active.node is self
        }
        for action, _ in BUTTONS:
            binding = bindings.get(action)
            if binding is None:  # the keymap gave its key to another action
                continue
            key = self.app.get_key_display(binding)
            self.query_one(f"#{action}", Button).label = Content.from_markup(
                "[b]$key[/b] $text", key=key, text=binding.description
            )

    def _apply_auto_split(self) -> None:
        wide = self.size.width >= SIDE_BY_SIDE_MIN_WIDTH
        self.view.side_by_side = wide if self._split_chosen is None else self._split_chosen

    def watch_current(self) -> None:
        self._show_current()
        self._refresh_files()

    def _show_current(self) -> None:
        review = self.review
        self.view.show(review.diff, review.decisions, review.notes)
        event = review.event
        change = review.diff.change
        label = CHANGE_LABELS.get(change, change.upper())
        hunks = len(review.diff.hunks)
        additions, deletions = review.counts
        author = "[b $text-accent]edited by you[/]" if review.edited else "proposed by $tool"
        title = Content.from_markup(  # $variables are not markup: a path may hold brackets
            f"$path  [b]$label[/]  [$text-success]+{additions}[/] [$text-error]−{deletions}[/]"
            f"  · {hunks} hunk{'s' if hunks != 1 else ''}  · {author}",
            path=event.path,
            label=label,
            tool=event.tool,
        )
        self.query_one("#title", Static).update(title)
        notice = self.query_one("#notice", Static)
        text = review.diff.message or (CHANGED_ON_DISK if review.changed_on_disk else "")
        notice.display = bool(text)
        notice.update(Content(text))
        self._refresh_status()

    def _refresh_files(self) -> None:
        files = self.query_one("#files", OptionList)
        files.display = len(self.reviews) > 1
        if not files.display:
            return
        files.set_options(
            Option(self._file_label(review), id=str(index))
            for index, review in enumerate(self.reviews)
        )
        files.highlighted = self.current

    @staticmethod
    def _file_label(review: Review) -> Content:
        mark = "·"
        if review.reply is not None:
            mark = "✓" if review.reply.approved or any(review.reply.hunks or ()) else "✗"
        additions, deletions = review.counts
        return Content(f"{mark} {review.event.path}  +{additions} −{deletions}")

    def _refresh_status(self) -> None:
        decisions = self.review.decisions
        if not decisions:
            self.query_one("#status", Static).update(
                " Nothing to review hunk by hunk.", layout=False
            )
            return
        accepted = decisions.count(True)
        rejected = decisions.count(False)
        unmarked = decisions.count(None)
        # Short enough for 80 columns with three-digit counts.
        text = (
            f" hunk {self.view.cursor + 1}/{len(decisions)} · ✓ {accepted} · ✗ {rejected}"
            f" · {unmarked} undecided"
        )
        if unmarked:
            text += " (count as accepted)"
        if len(self.reviews) > 1:
            text += f" · file {self.current + 1}/{len(self.reviews)}"
        self.query_one("#status", Static).update(text, layout=False)

    @on(DiffView.HunkFocused)
    def _hunk_focused(self) -> None:
        self._refresh_status()

    @on(OptionList.OptionSelected, "#files")
    def _file_chosen(self, event: OptionList.OptionSelected) -> None:
        self.current = event.option_index

    @on(Button.Pressed)
    async def _button(self, event: Button.Pressed) -> None:
        if event.button.id:
            await self.run_action(event.button.id)

    # ------------------------------------------------------------ actions

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("next_file", "previous_file"):
            return len(self.reviews) > 1
        if action in ("accept_hunk", "reject_hunk", "accept_all", "submit", "edit"):
            return None if self.review.diff.message else True
        return True

    def action_accept_hunk(self) -> None:
        index = self.view.cursor
        if index in self.review.diff.conflicts:
            self.notify(
                f"Hunk {index + 1} no longer applies to the file on disk.", severity="warning"
            )
            return
        self._decide(index, True, "")

    def action_reject_hunk(self) -> None:
        index = self.view.cursor

        def rejected(feedback: str | None) -> None:
            if feedback is not None:
                self._decide(index, False, feedback)

        self.app.push_screen(FeedbackModal(f"Reject hunk {index + 1} — why?"), rejected)

    def _decide(self, index: int, accept: bool, note: str) -> None:
        review = self.review
        review.decisions[index] = accept
        review.notes[index] = note
        self.view.set_decisions(review.decisions, review.notes)
        undecided = [i for i, d in enumerate(review.decisions) if d is None and i > index]
        if undecided:
            self.view.cursor = undecided[0]
        self._refresh_status()

    def action_accept_all(self) -> None:
        conflicts = self.review.diff.conflicts
        if conflicts:
            numbers = ", ".join(str(i + 1) for i in conflicts)
            self.notify(
                f"Hunk(s) {numbers} no longer apply; accept the others one by one.",
                severity="warning",
            )
            return
        review = self.review
        if review.edited:
            self._finish(review.edited_reply([True] * len(review.decisions)))
            return
        self._finish(ApprovalReply(approved=True))

    def action_reject_all(self) -> None:
        def rejected(feedback: str | None) -> None:
            if feedback is not None:
                self._finish(ApprovalReply(approved=False, feedback=feedback))

        path = self.review.event.path
        self.app.push_screen(FeedbackModal(f"Reject the whole change to {path} — why?"), rejected)

    def action_submit(self) -> None:
        review = self.review
        hunks = tuple(decision is not False for decision in review.decisions)
        if review.edited:
            self._finish(review.edited_reply(hunks))
            return
        notes = tuple(review.notes) if any(review.notes) else None
        self._finish(ApprovalReply(approved=any(hunks), hunks=hunks, hunk_feedback=notes))

    def action_edit(self) -> None:
        """Open the proposal in ``$EDITOR``; the result is reviewed again before it is
        submitted, as the agent's proposal was."""
        proposed = self.review.diff.proposed_text()
        edited = self._run_editor(proposed)
        if edited is None:
            return
        if edited == proposed:
            self.notify("No changes made in the editor; the proposal is unchanged.")
            return
        if not edited.strip():
            self.notify(
                "The editor left the file empty, so the edit was dropped; "
                "the proposal is unchanged and nothing was written.",
                severity="warning",
            )
            return
        self.review.edit(edited)
        self._show_current()
        self.view.cursor = 0
        self.notify("Your edit is under review: accept or reject its hunks, then submit.")

    def action_toggle_view(self) -> None:
        self._split_chosen = not self.view.side_by_side
        self.view.side_by_side = self._split_chosen

    def action_next_file(self) -> None:
        self.current = (self.current + 1) % len(self.reviews)

    def action_previous_file(self) -> None:
        self.current = (self.current - 1) % len(self.reviews)

    # ------------------------------------------------------------ ending

    def _finish(self, reply: ApprovalReply) -> None:
        self.review.reply = reply
        pending = [i for i, review in enumerate(self.reviews) if review.reply is None]
        if not pending:
            self.dismiss({r.event.request_id: r.reply for r in self.reviews if r.reply is not None})
            return
        self.current = pending[0]

    def _run_editor(self, text: str) -> str | None:
        """Open ``text`` in ``$VISUAL``/``$EDITOR``; the edited text, or None on failure."""
        command = shlex.split(os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi")
        suffix = Path(self.review.event.path).suffix
        with tempfile.TemporaryDirectory(prefix="kilo-edit-") as tmp:
            path = Path(tmp) / f"proposal{suffix}"
            path.write_bytes(text.encode("utf-8", "surrogateescape"))
            try:
                with self.app.suspend():
                    code = subprocess.call([*command, str(path)])
            except SuspendNotSupported:
                # No terminal to hand over (headless, web): a GUI editor still works.
                code = subprocess.call([*command, str(path)], stdin=subprocess.DEVNULL)
            except OSError as error:
                self.notify(f"Could not start the editor: {error}", severity="error", markup=False)
                return None
            if code != 0:
                self.notify(
                    f"The editor exited with status {code}; "
                    "the proposal is unchanged and nothing was written.",
                    severity="warning",
                )
                return None
            return path.read_bytes().decode("utf-8", "surrogateescape")
