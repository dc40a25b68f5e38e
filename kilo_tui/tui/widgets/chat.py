"""The conversation: one widget per message, streamed in place, pruned when long.

Earlier messages are never re-rendered while a reply streams: a reply is one
:class:`~kilo_tui.tui.widgets.reply.AssistantBlock` (a ``Markdown`` fed through
``Markdown.get_stream``), and only
the newest :attr:`Chat.max_mounted` blocks are mounted. Older ones collapse into an
:class:`EarlierMessages` stub that brings them back a page at a time.

The chat stays pinned to its bottom (Textual's anchor) until the user scrolls up;
then new blocks leave the view where it is and a :class:`NewMessages` marker says
that more came. Scrolling back to the bottom pins it again.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar, Protocol

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Static


class ChatBlock(Protocol):
    """What the chat needs from a block: a fresh copy to remount after pruning."""

    def copy(self) -> Widget: ...


def attachment_label(mention: str) -> str:
    """How an attached mention is listed: ``src/app.py``, ``src/ (folder)``, a URL."""
    if "://" in mention:
        return mention
    path = mention.removeprefix("/") or "."
    return f"{path} (folder)" if path.endswith("/") or path == "." else path


class UserBlock(Static):
    """A message the user sent, with what its mentions attached (or failed to)."""

    DEFAULT_CSS = """
    UserBlock {
        margin: 0 0 1 0;
        padding: 0 1;
        background: $boost;
        border-left: outer $primary;
    }
    """

    def __init__(
        self, text: str, attached: tuple[str, ...] = (), not_attached: tuple[str, ...] = ()
    ) -> None:
        super().__init__(self._content(text, attached, not_attached), markup=False)
        self.text = text
        self.attached = attached
        self.not_attached = not_attached

    @staticmethod
    def _content(text: str, attached: tuple[str, ...], not_attached: tuple[str, ...]) -> Text:
        content = Text(text)
        if attached:
            listing = " · ".join(attachment_label(m) for m in attached)
            content.append(f"\n📎 attached: {listing}", style="dim")
        for problem in not_attached:
            content.append(f"\n⚠ not attached: {problem}", style="bold")
        return content

    def copy(self) -> UserBlock:
        return UserBlock(self.text, self.attached, self.not_attached)


class ReasoningBlock(Static):
    """The model's reasoning, dimmed; kept short so it never dominates the chat."""

    DEFAULT_CSS = """
    ReasoningBlock {
        margin: 0 0 1 0;
        padding: 0 1;
        color: $text-muted;
        text-style: italic;
        max-height: 6;
    }
    """

    def __init__(self, text: str = "") -> None:
        super().__init__(Text(text), markup=False)
        self.text = text

    def add(self, fragment: str) -> None:
        self.text += fragment
        # Show the tail: the most recent thought is the interesting one.
        self.update(Text("\n".join(self.text.splitlines()[-5:])))

    def copy(self) -> ReasoningBlock:
        return ReasoningBlock(self.text)


class NoticeBlock(Static):
    """A plain line: a retry, an error, a completion, a mode change …"""

    DEFAULT_CSS = """
    NoticeBlock {
        margin: 0 0 1 0;
        padding: 0 1;
        color: $text-muted;
        &.-error { color: $text-error; background: $error-muted; }
        &.-warning { color: $text-warning; }
        &.-success { color: $text-success; }
        &.-usage { color: $text-disabled; text-align: right; margin: 0; }
    }
    """

    def __init__(self, text: str, level: str = "info") -> None:
        super().__init__(Text(text), markup=False, classes=f"-{level}")
        self.text = text
        self.level = level

    def copy(self) -> NoticeBlock:
        return NoticeBlock(self.text, self.level)


class EarlierMessages(Static, can_focus=True):
    """Stands for the pruned messages; enter or click mounts the previous page."""

    DEFAULT_CSS = """
    EarlierMessages {
        display: none;
        width: 1fr;
        content-align: center middle;
        color: $text-muted;
        margin: 0 0 1 0;
        &.-visible { display: block; }
        &:focus { background: $boost; color: $text; }
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "show", "Show earlier", id="show-earlier-messages"),
    ]

    class Requested(Message):
        """The user wants to see earlier messages."""

    def set_count(self, count: int) -> None:
        self.set_class(count > 0, "-visible")
        self.update(f"▲ {count} earlier messages (enter or click to show)")

    def on_click(self) -> None:
        self.action_show()

    def action_show(self) -> None:
        self.post_message(self.Requested())


class NewMessages(Static):
    """Docked at the chat's bottom edge while the user reads above newer messages."""

    DEFAULT_CSS = """
    NewMessages {
        dock: bottom;
        display: none;
        width: auto;
        offset-x: 1;
        padding: 0 1;
        background: $accent;
        color: $text;
        text-style: bold;
        &.-visible { display: block; }
    }
    """

    class Clicked(Message):
        """The user wants to jump to the newest message."""

    def __init__(self) -> None:
        super().__init__("new messages ↓ (end)", markup=False)

    def on_click(self) -> None:
        self.post_message(self.Clicked())


class Chat(VerticalScroll, can_focus=False):
    """The anchored conversation pane. It never takes the focus (typing there would
    be lost); the screen's keys scroll it from the prompt."""

    DEFAULT_CSS = """
    Chat {
        height: 1fr;
        padding: 0 1;
    }
    """

    max_mounted: int = 120
    """Blocks kept mounted; older ones are pruned into the stub."""
    page: int = 50
    """Blocks brought back per ``EarlierMessages`` request."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._pruned: list[Widget] = []
        self._limit = self.max_mounted
        self._marker = NewMessages()

    def compose(self) -> Iterable[Widget]:
        yield EarlierMessages()
        yield self._marker

    def on_mount(self) -> None:
        self.anchor()

    @property
    def blocks(self) -> list[Widget]:
        """The mounted blocks, oldest first."""
        return [w for w in self.children if not isinstance(w, EarlierMessages | NewMessages)]

    @property
    def pruned_count(self) -> int:
        return len(self._pruned)

    @property
    def scrolled_up(self) -> bool:
        """The user moved away from the bottom (the anchor is released)."""
        return self._anchor_released

    async def add(self, block: Widget) -> None:
        """Mount a new block at the bottom and prune the oldest if needed."""
        if self.scrolled_up:
            self._marker.add_class("-visible")
        await self.mount(block)
        await self._prune()

    def pin(self) -> None:
        """Scroll to the newest message and stay there as more come."""
        self.scroll_end(animate=False)
        self._marker.remove_class("-visible")

    def release_anchor(self) -> None:
        """Every scroll releases the pin; one that ends at the bottom takes it again
        (Textual re-pins only when the position changes, so a page down pressed at
        the bottom would leave the chat unpinned, flagging each new message)."""
        super().release_anchor()
        # The scroll itself runs after the next refresh: look once it has.
        self.call_after_refresh(self.call_after_refresh, self._pin_if_at_bottom)

    def _pin_if_at_bottom(self) -> None:
        if self.scrolled_up and self.scroll_y >= self.max_scroll_y:
            self.pin()

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if new_value >= self.max_scroll_y:
            self._marker.remove_class("-visible")

    def on_new_messages_clicked(self, event: NewMessages.Clicked) -> None:
        event.stop()
        self.pin()

    async def load(self, blocks: list[Widget]) -> None:
        """Show a replayed conversation: only the newest blocks are mounted."""
        keep = blocks[-self._limit :]
        self._pruned.extend(blocks[: -self._limit] if len(blocks) > self._limit else [])
        if keep:
            await self.mount_all(keep)
        self._stub.set_count(len(self._pruned))

    async def clear(self) -> None:
        """Remove every block (a new task)."""
        self._pruned.clear()
        self._limit = self.max_mounted
        await self.remove_children(self.blocks)
        self._stub.set_count(0)

    async def on_earlier_messages_requested(self, event: EarlierMessages.Requested) -> None:
        event.stop()
        page, self._pruned = self._pruned[-self.page :], self._pruned[: -self.page]
        self._limit += len(page)
        if page:
            await self.mount_all(page, after=self._stub)
        self._stub.set_count(len(self._pruned))

    @property
    def _stub(self) -> EarlierMessages:
        return self.query_one(EarlierMessages)

    async def _prune(self) -> None:
        blocks = self.blocks
        excess = len(blocks) - self._limit
        if excess <= 0:
            return
        old = blocks[:excess]
        self._pruned.extend(block.copy() for block in old)  # type: ignore[attr-defined]
        await self.remove_children(old)
        self._stub.set_count(len(self._pruned))


__all__ = [
    "Chat",
    "ChatBlock",
    "EarlierMessages",
    "NewMessages",
    "NoticeBlock",
    "ReasoningBlock",
    "UserBlock",
]
