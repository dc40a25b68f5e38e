"""The prompt: a multi-line input with history and ``@`` path / ``/`` command completion.

``enter`` sends, ``shift+enter`` or ``ctrl+j`` inserts a newline, ``up``/``down`` on the
first/last line walk the history. Typing ``@`` completes workspace paths (fuzzy,
respecting ``.gitignore`` and ``.kilocodeignore``) into mentions the agent expands
(``@/src/app.py``, ``@/src/``); a leading ``/`` completes commands.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import OptionList, TextArea
from textual.widgets.option_list import Option

MAX_INDEXED_FILES = 20_000
TOKEN = re.compile(r"(?:^|\s)(@[^\s]*)$")
"""The ``@path`` token that ends at the cursor."""


class PathIndex:
    """The workspace's files and directories, listed once, lazily, in a thread."""

    def __init__(self, workspace: Path) -> None:
        self.workspace = workspace
        self._paths: list[str] | None = None
        self._lock = asyncio.Lock()

    async def paths(self) -> list[str]:
        """Relative paths (directories end with ``/``), ignored ones left out."""
        async with self._lock:
            if self._paths is None:
                self._paths = await asyncio.to_thread(self._scan)
        return self._paths

    def invalidate(self) -> None:
        """Forget the listing (files were created or deleted)."""
        self._paths = None

    def _scan(self) -> list[str]:
        from kilo_tui.core.trust.ignore import IgnoreMatcher

        matcher = IgnoreMatcher(self.workspace)
        root = matcher.workspace
        return [
            path.relative_to(root).as_posix() + ("/" if path.is_dir() else "")
            for path in matcher.walk(include_dirs=True, limit=MAX_INDEXED_FILES)
        ]


def fuzzy_paths(query: str, paths: list[str], limit: int = 8) -> list[str]:
    """The best ``limit`` matches for ``query``: inside the folder it names (``calc/o``
    looks in ``calc/``), paths that start with it first, shallow ones first."""

    def shallow_first(path: str) -> tuple[int, str]:
        return path.count("/") - path.endswith("/"), path

    folder, _, name = query.rpartition("/")
    if folder:
        inside = [p for p in paths if p.startswith(f"{folder}/") and p != f"{folder}/"]
        paths = inside or paths
    if not name:
        return sorted(paths, key=shallow_first)[:limit]
    from rapidfuzz import fuzz, process

    prefixed = sorted((p for p in paths if p.startswith(query)), key=shallow_first)
    matches = process.extract(query, paths, scorer=fuzz.WRatio, limit=limit, score_cutoff=50)
    ranked = dict.fromkeys([*prefixed, *(match[0] for match in matches)])
    return list(ranked)[:limit]


class PromptInput(TextArea):
    """The text area; posts :class:`PromptInput.Submitted` and completion keys upward."""

    DEFAULT_CSS = """
    PromptInput {
        height: auto;
        min-height: 3;
        max-height: 12;
    }
    """

    @dataclass
    class Submitted(Message):
        """The user pressed enter on a non-empty prompt."""

        text: str

    @dataclass
    class CompletionKey(Message):
        """A key meant for the completion list (``up``, ``down``, ``tab``, ``enter``, ``escape``)."""

        key: str

    PLACEHOLDER = "Ask Kilo… (enter sends, ctrl+j newline, @ files, / commands)"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(
            id=id,
            soft_wrap=True,
            compact=True,
            highlight_cursor_line=False,
            placeholder=self.PLACEHOLDER,
        )
        self.sent: list[str] = []
        self._history_index: int | None = None
        self.completing = False
        """Set by the prompt area while the completion list is shown."""

    async def _on_key(self, event: events.Key) -> None:
        if self.completing and event.key in ("up", "down", "tab", "enter", "escape"):
            self._consume(event)
            self.post_message(self.CompletionKey(event.key))
        elif event.key == "enter":
            self._consume(event)
            self.submit()
        elif event.key in ("shift+enter", "ctrl+j"):
            self._consume(event)
            self.insert("\n")
        elif (event.key == "up" and self.cursor_at_first_line and self._recall(-1)) or (
            event.key == "down" and self.cursor_at_last_line and self._recall(+1)
        ):
            self._consume(event)
        else:
            await super()._on_key(event)

    @staticmethod
    def _consume(event: events.Key) -> None:
        event.stop()
        event.prevent_default()

    def submit(self) -> None:
        """Send the text (if any) and clear the prompt."""
        text = self.text.strip()
        if not text:
            return
        if not self.sent or self.sent[-1] != text:
            self.sent.append(text)
        self._history_index = None
        self.clear()
        self.post_message(self.Submitted(text))

    def _recall(self, step: int) -> bool:
        """Move through the history; False when there is nowhere to go."""
        if not self.sent:
            return False
        if self._history_index is None:
            if step > 0:
                return False
            index = len(self.sent) - 1
        else:
            index = self._history_index + step
        if index >= len(self.sent):
            self._history_index = None
            self.load_text("")
            return True
        if index < 0:
            return False
        self._history_index = index
        self.load_text(self.sent[index])
        self.move_cursor(self.document.end)
        return True


class PromptArea(Vertical):
    """The prompt plus its completion popup."""

    DEFAULT_CSS = """
    PromptArea {
        height: auto;
        border-top: hkey $panel-lighten-2;
        &:focus-within { border-top: hkey $primary; }
        & > OptionList {
            display: none;
            max-height: 10;
            border: none;
            background: $surface;
        }
        &.-completing > OptionList { display: block; }
    }
    """

    def __init__(
        self,
        workspace: Path,
        commands: Callable[[], list[tuple[str, str]]],
        *,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.paths = PathIndex(workspace)
        self._commands = commands
        self._token = ""

    def compose(self) -> ComposeResult:
        yield OptionList()
        yield PromptInput(id="prompt-input")

    @property
    def input(self) -> PromptInput:
        return self.query_one(PromptInput)

    def restore(self, text: str) -> None:
        """Put ``text`` back in the prompt (a message held back), cursor at its end,
        without opening the completion list."""
        prompt = self.input
        with prompt.prevent(TextArea.Changed):
            prompt.load_text(text)
        prompt.move_cursor(prompt.document.end)
        self._hide()

    @on(TextArea.Changed)
    async def _update_completion(self, event: TextArea.Changed) -> None:
        prompt = self.input
        before_cursor = prompt.get_text_range((0, 0), prompt.cursor_location)
        if before_cursor.startswith("/") and " " not in before_cursor:
            self._show_commands(before_cursor)
        elif match := TOKEN.search(before_cursor):
            await self._show_paths(match.group(1))
        else:
            self._hide()

    def _show_commands(self, token: str) -> None:
        name = token[1:].lower()
        options = [
            Option(Text.assemble((f"/{cmd}", "bold"), "  ", (help_text, "dim")), id=f"/{cmd}")
            for cmd, help_text in self._commands()
            if cmd.startswith(name)
        ]
        self._show(token, options)

    async def _show_paths(self, token: str) -> None:
        # Completions are written as the agent expands them: ``@/src/app.py``, also
        # for a full path typed into the workspace.
        from kilo_tui.core.agent.mentions import workspace_relative

        query = workspace_relative(token[1:], self.paths.workspace).lstrip("/")
        matches = fuzzy_paths(query, await self.paths.paths())
        self._show(token, [Option(Text(f"@/{path}"), id=f"@/{path}") for path in matches])

    def _show(self, token: str, options: list[Option]) -> None:
        if not options:
            self._hide()
            return
        self._token = token
        option_list = self.query_one(OptionList)
        option_list.set_options(options)
        option_list.highlighted = 0
        self.add_class("-completing")
        self.input.completing = True

    def _hide(self) -> None:
        self.remove_class("-completing")
        self.input.completing = False

    @on(PromptInput.CompletionKey)
    def _completion_key(self, event: PromptInput.CompletionKey) -> None:
        option_list = self.query_one(OptionList)
        match event.key:
            case "up":
                option_list.action_cursor_up()
            case "down":
                option_list.action_cursor_down()
            case "escape":
                self._hide()
            case key:
                if (option := option_list.highlighted_option) is not None and option.id:
                    self._accept(option.id)
                    if key == "enter" and option.id.startswith("/"):
                        # Enter on a command runs it. Submitted from the input's own
                        # context: a message sent while this handler runs would be
                        # stopped at this widget (Textual's parent-is-sender rule).
                        self.input.call_later(self.input.submit)

    @on(OptionList.OptionSelected)
    def _clicked(self, event: OptionList.OptionSelected) -> None:
        if event.option.id:
            self._accept(event.option.id)

    def _accept(self, completion: str) -> None:
        """Replace the token before the cursor with ``completion``."""
        prompt = self.input
        row, column = prompt.cursor_location
        start = (row, column - len(self._token))
        suffix = "" if completion.endswith("/") else " "
        prompt.replace(completion + suffix, start, (row, column))
        if completion.endswith("/"):
            self._token = completion  # keep completing inside the directory
        else:
            self._hide()
        prompt.focus()
