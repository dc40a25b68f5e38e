"""The bar that replaces the prompt while the agent waits for a yes or no.

Commands, MCP calls, mode switches, subtasks (and edits, until the diff viewer takes
them) are shown here with the exact action. ``y`` approves, ``n`` rejects and asks for
optional feedback for the model, ``!`` approves and adds the shown rule to the policy.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import ClassVar

from rich.console import RenderableType
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Input, Static

from kilo_tui.core.events import ApprovalReply, ApprovalRequested, DiffProposed

Request = ApprovalRequested | DiffProposed


def describe(request: Request) -> tuple[str, str, str]:
    """``(title, detail, lexer)`` for a request; ``lexer`` is ``"diff"`` or ``""``."""
    if isinstance(request, DiffProposed):
        verb = {"create": "Create", "delete": "Delete"}.get(request.change, "Edit")
        title = f"{verb} {request.path}  +{request.additions} −{request.deletions}"
        return title, request.diff, "diff"
    lexer = "diff" if request.detail.startswith(("--- ", "diff ")) else ""
    return request.title, request.detail, lexer


def highlighted(text: str, lexer: str) -> RenderableType:
    """``text``, syntax-highlighted when ``lexer`` is set."""
    if not lexer:
        return Text(text)
    from rich.syntax import Syntax  # pygments: not needed for the first frame

    return Syntax(text, lexer, theme="ansi_dark", word_wrap=True)


class ApprovalBar(Vertical, can_focus=True):
    """Asks about one request at a time; posts :class:`ApprovalBar.Answered`."""

    DEFAULT_CSS = """
    ApprovalBar {
        height: auto;
        max-height: 60%;
        padding: 0 1;
        border-top: thick $warning;
        background: $surface;
        & > #title { text-style: bold; }
        & > #detail { height: auto; max-height: 16; background: $boost; padding: 0 1; }
        & > #hint { color: $text-muted; }
        & > Input { display: none; }
        &.-feedback > Input { display: block; }
        &.-feedback > #hint { display: none; }
        &:focus-within { border-top: thick $accent; }
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "approve", "Approve", id="approve"),
        Binding("n", "reject", "Reject", id="reject"),
        Binding("exclamation_mark", "always", "Always allow", id="always-allow"),
    ]

    grace_period: ClassVar[float] = 0.5
    """Keys typed this soon after the bar appears are ignored (no accidental yes)."""

    @dataclass
    class Answered(Message):
        """The user decided."""

        request_id: str
        reply: ApprovalReply

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.request: Request | None = None
        self._shown_at = 0.0

    def compose(self) -> ComposeResult:
        yield Static(id="title", markup=False)
        with VerticalScroll(id="detail"):
            yield Static(id="detail-text", markup=False)
        yield Static(id="hint", markup=False)
        yield Input(placeholder="Why? Feedback for the model (enter sends, empty just rejects)")

    def ask(self, request: Request) -> None:
        """Show ``request`` and take the focus."""
        self.request = request
        self._shown_at = time.monotonic()
        title, detail, lexer = describe(request)
        self.query_one("#title", Static).update(Text(title))
        self.query_one("#detail", VerticalScroll).display = bool(detail)
        self.query_one("#detail-text", Static).update(highlighted(detail, lexer))
        self.query_one("#hint", Static).update(self._hint(request))
        self.remove_class("-feedback")
        self.query_one(Input).value = ""
        self.focus()
        self.refresh_bindings()

    @staticmethod
    def _hint(request: Request) -> Text:
        hint = Text("y approve · n reject")
        rule = request.always_allow_rule if isinstance(request, ApprovalRequested) else None
        if rule:
            hint.append(" · ! always allow → ")
            hint.append(rule, style="bold")
        return hint

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        waiting = self.request is not None and not self.has_class("-feedback")
        if action in ("approve", "reject"):
            return waiting
        if action == "always":
            request = self.request
            return (
                waiting
                and isinstance(request, ApprovalRequested)
                and bool(request.always_allow_rule)
            )
        return True

    def _settled(self) -> bool:
        return time.monotonic() - self._shown_at >= self.grace_period

    def action_approve(self) -> None:
        if self._settled():
            self._answer(ApprovalReply(approved=True))

    def action_always(self) -> None:
        if self._settled():
            self._answer(ApprovalReply(approved=True, always=True))

    def action_reject(self) -> None:
        if self._settled():
            self.add_class("-feedback")
            self.query_one(Input).focus()
            self.refresh_bindings()

    @on(Input.Submitted)
    def _send_feedback(self, event: Input.Submitted) -> None:
        event.stop()
        self._answer(ApprovalReply(approved=False, feedback=event.value.strip()))

    def _answer(self, reply: ApprovalReply) -> None:
        if self.request is None:
            return
        request_id = self.request.request_id
        self.request = None
        self.post_message(self.Answered(request_id, reply))
