"""A question from the model: numbered suggestions plus a free-text answer."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, Static

from kilo_tui.core.events import FollowupAsked


class AnswerInput(Input):
    """An input where a digit typed first picks the matching suggestion."""

    @dataclass
    class Picked(Message):
        index: int

    def __init__(self) -> None:
        super().__init__(placeholder="Type an answer, or press a suggestion's number")
        self.choices = 0

    async def _on_key(self, event: events.Key) -> None:
        if not self.value and event.character and event.character.isdigit():
            index = int(event.character) - 1
            if 0 <= index < self.choices:
                event.stop()
                event.prevent_default()
                self.post_message(self.Picked(index))
                return
        await super()._on_key(event)


class FollowupBar(Vertical):
    """Shows one :class:`FollowupAsked`; posts :class:`FollowupBar.Answered`."""

    DEFAULT_CSS = """
    FollowupBar {
        height: auto;
        padding: 0 1;
        border-top: thick $accent;
        background: $surface;
        & > #question { text-style: bold; }
        & > #choices { color: $text; }
    }
    """

    @dataclass
    class Answered(Message):
        request_id: str
        answer: str

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.question: FollowupAsked | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="question", markup=False)
        yield Static(id="choices", markup=False)
        yield AnswerInput()

    def ask(self, question: FollowupAsked, *, focus: bool = True) -> None:
        """Show ``question``; focus the answer input unless the user is writing in the
        prompt (``tab`` gets here then)."""
        self.question = question
        self.query_one("#question", Static).update(Text(question.question))
        choices = Text()
        for number, suggestion in enumerate(question.suggestions[:9], start=1):
            choices.append(f"{number}. ", style="bold")
            choices.append(f"{suggestion}\n")
        choices.rstrip()
        self.query_one("#choices", Static).update(choices)
        answer = self.query_one(AnswerInput)
        answer.choices = min(9, len(question.suggestions))
        answer.value = ""
        if focus:
            answer.focus()

    @on(AnswerInput.Picked)
    def _picked(self, event: AnswerInput.Picked) -> None:
        if self.question is not None:
            self._answer(self.question.suggestions[event.index])

    @on(Input.Submitted)
    def _typed(self, event: Input.Submitted) -> None:
        event.stop()
        if event.value.strip():
            self._answer(event.value.strip())

    def _answer(self, answer: str) -> None:
        if self.question is None:
            return
        request_id = self.question.request_id
        self.question = None
        self.post_message(self.Answered(request_id, answer))
