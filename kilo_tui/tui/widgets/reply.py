"""An assistant reply, streamed as Markdown.

In its own module because importing Textual's Markdown takes a noticeable part of a
second: the first frame does not need it, so the app imports it after that frame.
"""

from __future__ import annotations

from textual.widgets import Markdown
from textual.widgets.markdown import MarkdownStream


class AssistantBlock(Markdown):
    """One assistant reply, streamed as Markdown."""

    DEFAULT_CSS = """
    AssistantBlock {
        margin: 0 0 1 0;
        padding: 0 1;
        background: transparent;
    }
    """

    def __init__(self, text: str = "") -> None:
        super().__init__(text)
        self.reply = text
        """The reply's Markdown so far."""
        self._constructed_with = text
        self._stream: MarkdownStream | None = None

    async def write(self, fragment: str) -> None:
        """Append streamed text; fast bursts are batched by the Markdown stream."""
        self.reply += fragment
        if not self.is_mounted:
            return
        if self._stream is None:
            self._stream = Markdown.get_stream(self)
        await self._stream.write(fragment)

    async def finish(self, text: str | None = None) -> None:
        """End the stream; ``text`` (the final reply) wins over what was streamed."""
        if self._stream is not None:
            await self._stream.stop()
            self._stream = None
        if text is not None and text != self.reply:
            self.reply = text
            if self.is_mounted:
                await self.update(text)

    def on_mount(self) -> None:
        # Text written before mounting (while replaying) is not in the constructor's.
        if self.reply != self._constructed_with:
            self.update(self.reply)

    def copy(self) -> AssistantBlock:
        return AssistantBlock(self.reply)
