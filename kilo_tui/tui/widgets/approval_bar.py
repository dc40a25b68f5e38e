"""The bar that replaces the prompt while the agent waits for a yes or no.

Commands, MCP calls, mode switches, subtasks (and edits, until the diff viewer takes
them) are shown here with the exact action. ``y`` approves, ``n`` rejects and asks for
optional feedback for the model, ``!`` approves and adds the shown rule to the policy.
When the gate offers several rules (a command: its exact words or a shorter prefix),
``!`` first lists them: ``↑``/``↓`` pick one, shown in full before ``enter`` saves it,
``esc`` goes back to the question.

No key is dropped and none is taken by accident: the bar acts on a key the moment it
shows, but only when it has the focus. While the user has a draft in the prompt the bar
waits above it and the keys stay in the prompt (``tab`` moves to the bar); any other
character typed on the bar goes back to the prompt (:class:`ApprovalBar.Typed`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.console import RenderableType
from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Input, OptionList, Static

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
        & > OptionList { display: none; height: auto; max-height: 7; border: none; }
        &.-choosing > OptionList { display: block; }
        &.-feedback > #hint { display: none; }
        &:focus-within { border-top: thick $accent; }
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "approve", "Approve", id="approve"),
        Binding("n", "reject", "Reject", id="reject"),
        Binding("exclamation_mark", "always", "Always allow", id="always-allow"),
        Binding("up", "choose(-1)", "Previous rule", show=False, id="always-allow-previous"),
        Binding("down", "choose(1)", "Next rule", show=False, id="always-allow-next"),
        Binding("enter", "remember", "Save the rule", id="always-allow-save"),
        Binding("escape", "back", "Back", id="always-allow-back"),
    ]

    @dataclass
    class Answered(Message):
        """The user decided."""

        request_id: str
        reply: ApprovalReply

    @dataclass
    class Typed(Message):
        """A character that is no answer was typed on the bar: it belongs in the prompt."""

        character: str

    class ReviewRequested(Message):
        """The bar holds a proposed edit and got the focus: open the diff viewer."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.request: Request | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="title", markup=False)
        with VerticalScroll(id="detail"):
            yield Static(id="detail-text", markup=False)
        yield Static(id="hint", markup=False)
        yield Input(placeholder="Why? Feedback for the model (enter sends, empty just rejects)")
        # Driven by the bar's keys, never focused: the keys stay where the guard is.
        options = OptionList()
        options.can_focus = False
        yield options

    def ask(self, request: Request, *, focus: bool = True) -> None:
        """Show ``request``; take the focus unless the user is writing in the prompt."""
        self.request = request
        title, detail, lexer = describe(request)
        self.query_one("#title", Static).update(Text(title))
        self.query_one("#detail", VerticalScroll).display = bool(detail)
        self.query_one("#detail-text", Static).update(highlighted(detail, lexer))
        self._update_hint(waiting=not focus)
        self.remove_class("-feedback", "-choosing")
        self.query_one(Input).value = ""
        if focus:
            self.focus()
        self.refresh_bindings()

    @staticmethod
    def _hint(request: Request, *, waiting: bool) -> Text:
        if waiting:
            what = "review it" if isinstance(request, DiffProposed) else "answer"
            return Text(f"tab to {what} · your draft stays in the prompt below")
        hint = Text("y approve · n reject")
        rule = request.always_allow_rule if isinstance(request, ApprovalRequested) else None
        if rule:
            hint.append(" · ! always allow → ")
            hint.append(rule, style="bold")
            if len(_choices(request)) > 1:
                hint.append(" or a shorter prefix")
        return hint

    def choices(self) -> tuple[str, ...]:
        """The rules listed for the user to pick from (empty when not choosing)."""
        return _choices(self.request) if self.has_class("-choosing") else ()

    def _chosen(self) -> str | None:
        index = self.query_one(OptionList).highlighted
        choices = self.choices()
        return choices[index] if index is not None and index < len(choices) else None

    def _choosing_hint(self) -> Text:
        hint = Text("↑↓ pick · enter approves and saves ")
        hint.append(self._chosen() or "", style="bold")
        hint.append(" · esc back")
        return hint

    def on_focus(self) -> None:
        if self.request is None:
            return
        if isinstance(self.request, DiffProposed):
            self.post_message(self.ReviewRequested())
        else:
            self._update_hint(waiting=False)

    def wait(self) -> None:
        """The focus went back to the user's draft: say how to come back (a rule being
        picked is dropped; ``!`` lists them again)."""
        self._leave_choice()
        self._update_hint(waiting=True)

    def _update_hint(self, *, waiting: bool) -> None:
        if self.request is None:
            return
        hint = (
            self._choosing_hint() if self.choices() else self._hint(self.request, waiting=waiting)
        )
        self.query_one("#hint", Static).update(hint)

    async def _on_key(self, event: events.Key) -> None:
        # Bindings (y, n, !) are looked up after the key has bubbled; any other
        # printable key is no answer, so it goes to the prompt instead of being lost.
        answer = event.key in self.screen.active_bindings
        if self.has_focus and event.is_printable and event.character and not answer:
            event.stop()
            self.wait()
            self.post_message(self.Typed(event.character))
            return
        await super()._on_key(event)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        choosing = bool(self.choices())
        if action in ("choose", "remember", "back"):
            return choosing
        if choosing:
            # y, n and ! are still answer keys (never passed on to the prompt), but the
            # pick is under way: enter or esc ends it.
            return None if action in ("approve", "reject", "always") else True
        waiting = self.request is not None and not self.has_class("-feedback")
        if action in ("approve", "reject"):
            return waiting
        if action == "always":
            # Without a rule the key is shown disabled rather than hidden: still an
            # answer key, so it is not passed on to the prompt.
            request = self.request
            offered = isinstance(request, ApprovalRequested) and bool(request.always_allow_rule)
            return (waiting and offered) or (None if waiting else False)
        return True

    def action_approve(self) -> None:
        self._answer(ApprovalReply(approved=True))

    def action_always(self) -> None:
        choices = _choices(self.request)
        if len(choices) < 2:
            self._answer(ApprovalReply(approved=True, always=True))
            return
        options = self.query_one(OptionList)
        options.clear_options()
        options.add_options([Text(c) for c in choices])
        options.highlighted = 0
        self.add_class("-choosing")
        self._update_hint(waiting=False)
        self.refresh_bindings()

    def action_choose(self, step: int) -> None:
        options = self.query_one(OptionList)
        if step < 0:
            options.action_cursor_up()
        else:
            options.action_cursor_down()  # the hint follows (OptionHighlighted)

    def action_remember(self) -> None:
        chosen = self._chosen()
        if chosen is not None:
            self._answer(ApprovalReply(approved=True, always=True, always_rule=chosen))

    def action_back(self) -> None:
        self._leave_choice()
        self._update_hint(waiting=False)

    def _leave_choice(self) -> None:
        self.remove_class("-choosing")
        self.refresh_bindings()

    @on(OptionList.OptionHighlighted)
    def _show_chosen(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        self._update_hint(waiting=False)

    @on(OptionList.OptionSelected)
    def _remember_clicked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.action_remember()

    def action_reject(self) -> None:
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
        self._leave_choice()
        self.post_message(self.Answered(request_id, reply))


def _choices(request: Request | None) -> tuple[str, ...]:
    """The rules "always allow" may save for ``request``, the default first."""
    return request.always_allow_choices if isinstance(request, ApprovalRequested) else ()
