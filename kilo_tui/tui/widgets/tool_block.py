"""A compact, expandable block for one tool call in the chat."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.console import RenderableType
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.timer import Timer
from textual.widgets import Static

MAX_BODY_LINES = 400
"""Only the tail of a long output is rendered; a huge log must not slow the chat."""
LIVE_BODY_LINES = 20
"""While a command runs, only what the body's height shows is drawn: the spinner redraws
it five times a second, and re-wrapping hundreds of lines each time blocks the prompt."""
MAX_LINE_CHARS = 1000
"""A longer line (minified code, a base64 blob) is cut: wrapping 1 MB takes a second."""
OUTPUT_REFRESH = 0.1
"""Streamed command output is redrawn at most this often (seconds), not per chunk."""

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
"""Frames of the running command's spinner (one every :attr:`ToolBlock.spin_interval`)."""

EDIT_TOOLS = frozenset({"write_to_file", "apply_diff", "insert_content", "search_and_replace"})


def describe_call(name: str, arguments: dict[str, Any]) -> str:
    """A one-line description of a tool call, the way a user would say it."""
    path = str(arguments.get("path", ""))
    match name:
        case "read_file":
            start, end = arguments.get("start_line"), arguments.get("end_line")
            lines = f" (lines {start or 1}–{end or 'end'})" if start or end else ""
            return f"read {path}{lines}"
        case "execute_command":
            return f"$ {arguments.get('command', '')}"
        case "list_files":
            return f"list {path or '.'}" + (" (recursive)" if arguments.get("recursive") else "")
        case "search_files":
            return f"search /{arguments.get('regex', '')}/ in {path or '.'}"
        case "list_code_definition_names":
            return f"definitions in {path or '.'}"
        case "use_mcp_tool":
            return f"mcp {arguments.get('server_name', '')}.{arguments.get('tool_name', '')}"
        case "access_mcp_resource":
            return f"mcp {arguments.get('server_name', '')} {arguments.get('uri', '')}"
        case "fetch_url":
            return f"fetch {arguments.get('url', '')}"
        case _ if name in EDIT_TOOLS:
            return f"edit {path}"
    compact = ", ".join(f"{k}={v!r}" for k, v in arguments.items())
    return f"{name}({compact[:80]})"


def tail(text: str, max_lines: int = MAX_BODY_LINES) -> str:
    """The last ``max_lines`` lines of ``text``, each cut at ``MAX_LINE_CHARS``, with a
    note when lines were left out. Only the tail is split: the cost does not grow with
    the output, which is redrawn as it streams."""
    lines = text.removesuffix("\n").rsplit("\n", max_lines)
    note = ""
    if len(lines) > max_lines:
        hidden = text.count("\n", 0, len(lines[0]) + 1)
        note = f"… {hidden} earlier lines not shown\n"
        lines = lines[1:]
    return note + "\n".join(_cut(line) for line in lines)


def _cut(line: str) -> str:
    if len(line) <= MAX_LINE_CHARS:
        return line
    return f"{line[:MAX_LINE_CHARS]} … ({len(line) - MAX_LINE_CHARS:,} more characters)"


class ToolBlock(Vertical):
    """One tool call: a one-line header and a body that expands (click or ``ctrl+o``).

    All state lives in plain attributes, so a block can be updated before it is
    mounted (replaying a long session) and copied after it was pruned from the chat.
    """

    DEFAULT_CSS = """
    ToolBlock {
        height: auto;
        margin: 0 0 1 0;
        padding: 0 1;
        border-left: outer $secondary;
        & > #header { color: $text-muted; }
        & > #body { display: none; color: $text; max-height: 20; overflow-y: auto; }
        &.-expanded > #body { display: block; }
        &.-running { border-left: outer $warning; }
        &.-error { border-left: outer $error; & > #header { color: $error; } }
    }
    """

    ICONS: ClassVar[dict[str, str]] = {"running": "…", "done": "✓", "error": "✗"}

    spin_interval: ClassVar[float] = 0.2

    def __init__(self, call_id: str, name: str, arguments: dict[str, Any]) -> None:
        super().__init__(classes="-running")
        self.call_id = call_id
        self.tool_name = name
        self.arguments = arguments
        self.title = describe_call(name, arguments)
        self.status = "running"
        self.summary = ""
        self.output = ""
        self.diff = ""
        self.exit_code: int | None = None
        self.elapsed = 0.0
        self.expanded = name == "execute_command"
        self.set_class(self.expanded, "-expanded")
        self._frame = 0
        self._spinner: Timer | None = None
        self._redraw_due = False

    def compose(self) -> ComposeResult:
        yield Static(self._header(), id="header", markup=False)
        yield Static(self._body(), id="body", markup=False)

    def on_mount(self) -> None:
        if self._spinning:
            self._spinner = self.set_interval(self.spin_interval, self._spin)

    @property
    def _spinning(self) -> bool:
        """A command still running: its body shows a spinner and the elapsed time."""
        return (
            self.tool_name == "execute_command"
            and self.status == "running"
            and self.exit_code is None
            and not self.summary.startswith(("timed out", "cancelled"))
        )

    def _spin(self) -> None:
        if not self._spinning:
            if self._spinner is not None:
                self._spinner.stop()
            return
        self._frame += 1
        self._refresh_body()

    # ------------------------------------------------------------------ updates

    def add_output(self, text: str) -> None:
        """Append streamed command output; the body is redrawn on a short timer."""
        self.output += text
        if self.is_mounted and not self._redraw_due:
            self._redraw_due = True
            self.set_timer(OUTPUT_REFRESH, self._redraw_output)

    def _redraw_output(self) -> None:
        self._redraw_due = False
        self._refresh_body()

    def set_elapsed(self, seconds: float) -> None:
        """Show how long a running command has been running."""
        if self.status == "running":
            self.elapsed = seconds
            self.summary = f"running {seconds:.0f}s"
            self._refresh()

    def set_diff(self, diff: str, additions: int, deletions: int) -> None:
        """Attach a proposed (or auto-approved) change to an edit block."""
        self.diff = diff
        self.summary = f"+{additions} −{deletions}"
        self._refresh()

    def finish_command(self, exit_code: int | None, *, timed_out: bool, cancelled: bool) -> None:
        """Record how a command ended."""
        self.exit_code = exit_code
        if timed_out:
            self.summary = "timed out"
        elif cancelled:
            self.summary = "cancelled"
        else:
            self.summary = f"exit {exit_code}"
        if exit_code not in (0, None) or timed_out:
            self.status = "error"
        self._refresh()

    def finish(self, result: str, *, is_error: bool, summary: str) -> None:
        """Record the tool's result."""
        if is_error:
            self.status = "error"
        elif self.status == "running":
            self.status = "done"
        if summary and self.exit_code is None:
            # The core's summary often restates the call ("read a.py (3 lines)"). For an
            # edit it says what was written, which may be less than what was proposed.
            self.summary = summary.removeprefix(self.title).strip() or summary
        if not self.output and not self.diff:
            self.output = result
        self.set_class(False, "-running")
        self.set_class(self.status == "error", "-error")
        self._refresh()

    def toggle(self) -> None:
        """Expand or collapse the body."""
        self.set_expanded(not self.expanded)

    def set_expanded(self, expanded: bool) -> None:
        self.expanded = expanded
        self.set_class(expanded, "-expanded")

    def copy(self) -> ToolBlock:
        """A fresh, unmounted block with the same state (to remount a pruned one)."""
        clone = ToolBlock(self.call_id, self.tool_name, self.arguments)
        for attr in ("status", "summary", "output", "diff", "exit_code"):
            setattr(clone, attr, getattr(self, attr))
        clone.set_class(False, "-running")
        clone.set_class(self.status == "error", "-error")
        clone.set_expanded(self.expanded)
        return clone

    # ----------------------------------------------------------------- rendering

    def on_click(self) -> None:
        self.toggle()

    def _header(self) -> Text:
        header = Text(f"{self.ICONS[self.status]} ", style="bold")
        header.append(self.title)
        if self.summary:
            header.append(f"  {self.summary}", style="dim" if self.status != "error" else "")
        return header

    def _body(self) -> RenderableType:
        if self.diff and not self.output:
            from rich.syntax import Syntax  # pygments: not needed for the first frame

            return Syntax(tail(self.diff), "diff", theme="ansi_dark", word_wrap=True)
        live = self._spinning
        output = tail(self.output.rstrip("\n"), LIVE_BODY_LINES if live else MAX_BODY_LINES)
        if live:
            spinner = f"{SPINNER[self._frame % len(SPINNER)]} running {self.elapsed:.0f}s"
            return Text(f"{output}\n{spinner}" if output else spinner)
        return Text(output or "(no output)")

    def _refresh(self) -> None:
        self._refresh_header()
        self._refresh_body()

    def _refresh_header(self) -> None:
        if self.is_mounted:
            self.query_one("#header", Static).update(self._header())

    def _refresh_body(self) -> None:
        if self.is_mounted:
            self.query_one("#body", Static).update(self._body())
