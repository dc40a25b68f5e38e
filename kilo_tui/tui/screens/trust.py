"""The question a workspace's untrusted ``.kilocode/mcp.json`` brings up: start its
servers? It shows exactly what they would run; the answer covers that content only
(an edit to the file asks again) and a "not now" is not asked again for it."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

if TYPE_CHECKING:
    from kilo_tui.core.trust.project import Review


class TrustPrompt(ModalScreen[bool]):
    """``t`` trusts the file as shown; ``n`` / ``escape`` leaves its servers stopped."""

    DEFAULT_CSS = """
    TrustPrompt { align: center middle; background: $background 60%; }
    #trust-dialog {
        width: 100; max-width: 95%; height: auto; max-height: 90%;
        border: round $warning; background: $surface; padding: 0 1;
    }
    #trust-question { text-style: bold; margin-bottom: 1; }
    #trust-lines { margin-bottom: 1; }
    #trust-note { color: $text-muted; margin-bottom: 1; }
    #trust-buttons { height: auto; align-horizontal: right; }
    #trust-buttons Button { margin-left: 1; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("t", "answer(True)", "Trust", id="trust-yes"),
        Binding("n,escape", "answer(False)", "Not now", id="trust-no"),
    ]

    def __init__(self, review: Review) -> None:
        super().__init__()
        self.review = review

    def compose(self) -> ComposeResult:
        with Vertical(id="trust-dialog"):
            yield Label(
                f"{self.review.path} is not trusted. Start its MCP servers?",
                id="trust-question",
            )
            yield Static("\n".join(self.review.lines), id="trust-lines", markup=False)
            yield Label(
                "Only trust a file you have read: these commands run with your rights. "
                "Any change to the file asks again; `kilo-tui config trust` does the same.",
                id="trust-note",
            )
            with Horizontal(id="trust-buttons"):
                yield Button("Trust and start (t)", variant="warning", id="trust-accept")
                yield Button("Not now (n)", id="trust-decline")

    def on_mount(self) -> None:
        self.query_one("#trust-decline", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "trust-accept")

    def action_answer(self, trusted: bool) -> None:
        """Close with the user's answer."""
        self.dismiss(trusted)
