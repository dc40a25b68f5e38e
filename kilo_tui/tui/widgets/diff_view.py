"""A fast, lazily rendered diff of one file, unified or side by side.

:class:`DiffView` is a Line API widget: it keeps a flat list of small row tuples and
renders only the rows on screen, highlighting each code line with Pygments the first
time it is shown (cached until the theme changes). A 10,000-line file with 200 hunks
is a few thousand rows; opening it costs one pass to build them.

Unchanged stretches between hunks fold into one row that expands on a click (or
``space`` for the folds around the focused hunk). The model, :class:`FileDiff`, is
plain data: the file as it is now plus the proposal's hunks located in it, so the
same view serves a proposal whose file changed on disk after it was made.
"""

from __future__ import annotations

import functools
import itertools
import textwrap
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import ClassVar

from pygments.lexer import Lexer
from pygments.lexers import TextLexer, get_lexer_for_filename
from pygments.token import _TokenType
from pygments.util import ClassNotFound
from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style as RichStyle
from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Size
from textual.highlight import HighlightTheme
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.style import Style

from kilo_tui.core.hunks import Hunk, locate_hunks, rebase_hunks, split_lines, strip_newline

# Row tuples, kept small because there can be thousands:
#   ("fold", first_base_index, end_base_index)
#   ("header", hunk_index)
#   ("line", hunk_index | -1, tag, old_no | 0, new_no | 0, text)
#   ("pair", hunk_index | -1, left_cell | None, right_cell | None), cell = (tag, no, text)
#   ("note", hunk_index, text): one line of the feedback given on a rejected hunk
#   ("message", text)
Row = tuple
Cell = tuple[str, int, str]

TAB_SIZE = 4
HUNKS = Binding.Group("Prev/next hunk")
CONTINUES = "→"
"""In the last cell of a line that goes on past the view's right edge."""
NOTE_WIDTH = 70
"""Feedback on a hunk is wrapped to this width: whole at 80 columns."""
MIN_FOLD = 3
"""Unchanged stretches shorter than this are shown instead of folded."""


@dataclass
class FileDiff:
    """What a :class:`DiffView` shows: a proposal's hunks placed in the file as it is now."""

    path: str
    base: str
    """The file's current content (empty for a file that does not exist)."""
    hunks: list[Hunk]
    positions: list[int | None] = field(default_factory=list)
    """Where each hunk's old lines are in ``base``; ``None`` if they are no longer there."""
    change: str = "modify"
    message: str = ""
    """Shown instead of a diff (binary files)."""

    def __post_init__(self) -> None:
        if not self.positions:
            self.positions = locate_hunks(self.base, self.hunks)

    @property
    def conflicts(self) -> list[int]:
        """Indices of the hunks that no longer fit the current content."""
        return [i for i, pos in enumerate(self.positions) if pos is None]

    def proposed_text(self) -> str:
        """The file with every hunk that still fits applied."""
        return self.text_with([pos is not None for pos in self.positions])

    def text_with(self, accepted: Sequence[bool]) -> str:
        """The file with the accepted hunks applied (those that no longer fit never are)."""
        fits = [
            keep and pos is not None for keep, pos in zip(accepted, self.positions, strict=True)
        ]
        chosen = [h for h, keep in zip(self.hunks, fits, strict=True) if keep]
        text = rebase_hunks(self.base, chosen, [True] * len(chosen))
        assert text is not None  # every chosen hunk fits
        return text

    def rebased(self, base: str) -> FileDiff:
        """The same hunks placed in a new version of the file."""
        return FileDiff(self.path, base, self.hunks, [], self.change, self.message)


def build_rows(
    diff: FileDiff, expanded: set[int], side_by_side: bool, notes: Sequence[str] = ()
) -> tuple[list[Row], list[int]]:
    """The view's rows, and the row of each hunk's header (followed by its note)."""
    if diff.message:
        return [("message", diff.message)], []
    base = split_lines(diff.base)
    rows: list[Row] = []
    headers: list[int] = []
    cursor = shift = 0

    def context(start: int, end: int) -> None:
        if end - start >= MIN_FOLD and start not in expanded:
            rows.append(("fold", start, end))
            return
        for k in range(start, end):
            text = strip_newline(base[k])
            if side_by_side:
                rows.append(("pair", -1, (" ", k + 1, text), (" ", k + 1 + shift, text)))
            else:
                rows.append(("line", -1, " ", k + 1, k + 1 + shift, text))

    for index, (hunk, pos) in enumerate(zip(diff.hunks, diff.positions, strict=True)):
        if pos is not None:
            context(cursor, pos)
        headers.append(len(rows))
        rows.append(("header", index))
        note = notes[index] if index < len(notes) else ""
        if note:
            wrapped = textwrap.wrap(f'↳ feedback: "{note}"', NOTE_WIDTH, subsequent_indent="  ")
            rows.extend(("note", index, line) for line in wrapped)
        if pos is None:
            rows.extend(_hunk_rows(index, hunk, None, 0, side_by_side))
            continue
        rows.extend(_hunk_rows(index, hunk, pos, shift, side_by_side))
        cursor = pos + hunk.old_len
        shift += hunk.new_len - hunk.old_len
    context(cursor, len(base))
    return rows, headers


def _hunk_rows(
    index: int, hunk: Hunk, pos: int | None, shift: int, side_by_side: bool
) -> list[Row]:
    """Rows of one hunk, numbered from ``pos`` (no numbers when it does not fit)."""
    old_no = new_no = 0
    if pos is not None:
        old_no, new_no = pos + 1, pos + 1 + shift
    numbered = pos is not None
    rows: list[Row] = []
    removed: list[Cell] = []
    added: list[Cell] = []

    def flush() -> None:
        for left, right in itertools.zip_longest(removed, added):
            rows.append(("pair", index, left, right))
        removed.clear()
        added.clear()

    for tag, line in hunk.lines:
        text = strip_newline(line)
        old = old_no if numbered and tag != "+" else 0
        new = new_no if numbered and tag != "-" else 0
        if not side_by_side:
            rows.append(("line", index, tag, old, new, text))
        elif tag == "-":
            removed.append((tag, old, text))
        elif tag == "+":
            added.append((tag, new, text))
        else:
            flush()
            rows.append(("pair", index, (tag, old, text), (tag, new, text)))
        old_no += tag != "+"
        new_no += tag != "-"
    flush()
    return rows


class DiffView(ScrollView, can_focus=True):
    """A scrollable diff with a hunk cursor. Decisions are shown, not made, here."""

    BINDINGS: ClassVar[list[BindingType]] = [
        # One footer entry for both, so the review's footer fits in 80 columns.
        Binding(
            "j,down", "next_hunk", "Next hunk", key_display="j↓", id="diff-next-hunk", group=HUNKS
        ),
        Binding(
            "k,up",
            "previous_hunk",
            "Previous hunk",
            key_display="k↑",
            id="diff-previous-hunk",
            group=HUNKS,
        ),
        Binding("space", "expand_context", "More context", show=False, id="diff-expand-context"),
        Binding("right", "pan(1)", "Scroll right", show=False, id="diff-scroll-right"),
        Binding("left", "pan(-1)", "Scroll left", show=False, id="diff-scroll-left"),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "diff-view--added",
        "diff-view--removed",
        "diff-view--context",
        "diff-view--gutter",
        "diff-view--gutter-added",
        "diff-view--gutter-removed",
        "diff-view--header",
        "diff-view--header-cursor",
        "diff-view--fold",
        "diff-view--cursor-bar",
        "diff-view--rejected",
        "diff-view--conflict",
        "diff-view--note",
    }

    DEFAULT_CSS = """
    DiffView {
        background: $surface;
        color: $text;
        & > .diff-view--added { background: $success 18%; }
        & > .diff-view--removed { background: $error 18%; }
        & > .diff-view--context { }
        & > .diff-view--gutter { color: $text-muted; background: $surface-darken-1; }
        & > .diff-view--gutter-added { color: $text-success; background: $success 30%; }
        & > .diff-view--gutter-removed { color: $text-error; background: $error 30%; }
        & > .diff-view--header { color: $text-primary; background: $primary 12%; }
        & > .diff-view--header-cursor { color: $text; background: $primary 40%; text-style: bold; }
        & > .diff-view--fold { color: $text-muted; background: $panel; text-style: italic; }
        & > .diff-view--cursor-bar { color: $accent; }
        & > .diff-view--rejected { color: $text-muted; text-style: strike; }
        & > .diff-view--conflict { color: $text-warning; background: $warning 15%; }
        & > .diff-view--note { color: $text-error; background: $error 8%; text-style: italic; }
        &:focus > .diff-view--header-cursor { background: $primary 60%; }
    }
    """

    side_by_side: reactive[bool] = reactive(False)
    """Old and new next to each other instead of interleaved."""
    cursor: reactive[int] = reactive(0, init=False)
    """The focused hunk."""

    class HunkFocused(Message):
        """The hunk cursor moved."""

        def __init__(self, view: DiffView, index: int) -> None:
            self.view = view
            self.index = index
            super().__init__()

        @property
        def control(self) -> DiffView:
            return self.view

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._diff = FileDiff("", "", [])
        self._decisions: list[bool | None] = []
        self._notes: list[str] = []
        self._expanded: set[int] = set()
        self._rows: list[Row] = []
        self._headers: list[int] = []
        self._hunk_of_row: list[int] = []
        self._lexer: Lexer = _lexer_for("")
        self._strips: LRUCache[tuple[object, ...], Strip] = LRUCache(2000)
        self._code: LRUCache[tuple[str, str], list[Segment]] = LRUCache(8000)
        self._components: dict[str, RichStyle] = {}
        self._token_styles: dict[tuple[str, str], RichStyle] = {}
        self._number_width = 1
        self._code_width = 0
        """Cells of the longest line of code."""
        self._sized_for = 0
        """The content width the virtual size was computed for."""

    # ------------------------------------------------------------ public API

    @property
    def diff(self) -> FileDiff:
        return self._diff

    @property
    def hunk_count(self) -> int:
        return len(self._diff.hunks)

    def show(
        self, diff: FileDiff, decisions: Sequence[bool | None] = (), notes: Sequence[str] = ()
    ) -> None:
        """Display ``diff`` (a new proposal, or the same one after its file changed on disk)."""
        same_file = diff.path == self._diff.path and diff.hunks == self._diff.hunks
        self._diff = diff
        self._decisions = list(decisions) or [None] * len(diff.hunks)
        self._notes = list(notes)
        if not same_file:
            self._expanded.clear()
            self._lexer = _lexer_for(diff.path)
        self._rebuild()
        if not same_file:
            self.set_reactive(DiffView.cursor, 0)
            self.scroll_to(0, 0, animate=False)

    def set_decisions(self, decisions: Sequence[bool | None], notes: Sequence[str] = ()) -> None:
        """Show these per-hunk decisions (``None`` = not decided yet) and the feedback
        given on rejected hunks."""
        self._decisions = list(decisions)
        if list(notes) != self._notes:
            self._notes = list(notes)
            self._rebuild()  # a note is a row of its own
        self.refresh()  # the decision is part of each cached row's key

    def expand_all(self) -> None:
        """Show every unchanged line."""
        self._expanded.update(row[1] for row in self._rows if row[0] == "fold")
        self._rebuild()

    # ------------------------------------------------------------ actions

    def action_next_hunk(self) -> None:
        if self.cursor + 1 < self.hunk_count:
            self.cursor += 1
        else:
            self.scroll_down(animate=False)

    def action_previous_hunk(self) -> None:
        if self.cursor > 0:
            self.cursor -= 1
        else:
            self.scroll_up(animate=False)

    def action_pan(self, direction: int) -> None:
        """Scroll sideways by half the code's width, as ``less`` does: a long line's
        rest is a key press or two away, not one column per press."""
        code = self.scrollable_content_region.width - self._gutter_width()
        if self.side_by_side:
            code = code // 2
        self.scroll_relative(x=direction * max(code // 2, 1), animate=False)

    def action_expand_context(self) -> None:
        """Unfold the unchanged lines just above and below the focused hunk."""
        if not self._headers:
            return
        header = self._headers[self.cursor]
        end = self._headers[self.cursor + 1] if self.cursor + 1 < len(self._headers) else None
        before = [r for r in self._rows[:header][-1:] if r[0] == "fold"]
        after = [r for r in self._rows[header:end] if r[0] == "fold"]
        for row in before + after[:1]:
            self._expanded.add(row[1])
        self._rebuild()

    def watch_cursor(self, index: int) -> None:
        self.refresh()  # "has the cursor" is part of each cached row's key
        if self._headers:
            self._scroll_to_hunk(index)
        self.post_message(self.HunkFocused(self, index))

    def watch_side_by_side(self) -> None:
        self._rebuild()
        if self._headers and self.is_mounted:
            self.call_after_refresh(self._scroll_to_hunk, self.cursor)

    def on_click(self, event: events.Click) -> None:
        index = int(self.scroll_offset.y) + event.y
        if not 0 <= index < len(self._rows):
            return
        row = self._rows[index]
        if row[0] == "fold":
            self._expanded.add(row[1])
            self._rebuild()
        elif self._hunk_of_row[index] >= 0:
            self.cursor = self._hunk_of_row[index]

    # ------------------------------------------------------------ layout

    def _rebuild(self) -> None:
        self._rows, self._headers = build_rows(
            self._diff, self._expanded, self.side_by_side, self._notes
        )
        self._hunk_of_row = _hunk_per_row(self._rows)
        lines = len(split_lines(self._diff.base)) + sum(h.additions for h in self._diff.hunks)
        self._number_width = len(str(max(lines, 1)))
        self._code_width = max(map(_cell_width, _code_texts(self._rows)), default=0)
        self._strips.clear()
        self._size_virtually()
        self.refresh()

    def _size_virtually(self) -> None:
        """Make the view just wide enough to scroll the longest line fully into view.

        Side by side, both halves scroll together by what the longest line hides.
        """
        width = self._sized_for = self.scrollable_content_region.width
        if self.side_by_side:
            left_code = (width - 2) // 2 - self._number_width - 3
            total = width + max(0, self._code_width - left_code)
        else:
            total = self._gutter_width() + self._code_width
        self.virtual_size = Size(total, len(self._rows))

    def on_resize(self) -> None:
        if self.side_by_side:
            self._size_virtually()

    def _gutter_width(self) -> int:
        return 1 + 2 * (self._number_width + 1) + 2

    def _scroll_to_hunk(self, index: int) -> None:
        top = self._headers[index]
        end = self._headers[index + 1] if index + 1 < len(self._headers) else len(self._rows)
        height = self.scrollable_content_region.height
        if not (self.scroll_y <= top and end <= self.scroll_y + height):
            self.scroll_to(y=max(0, top - 2), animate=False)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()
        self._code.clear()
        self._components.clear()
        self._token_styles.clear()

    # ------------------------------------------------------------ rendering

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        index = scroll_y + y
        width = self.scrollable_content_region.width
        if self.side_by_side and width != self._sized_for:
            # A scrollbar came or went: the halves' widths, so the scroll range, changed.
            self._sized_for = width  # one re-size for the frame, not one per line
            self.call_after_refresh(self._size_virtually)
        if index >= len(self._rows):
            return Strip.blank(width, self._component(""))
        hunk = self._hunk_of_row[index]
        key = (index, width, scroll_x, hunk == self.cursor, self._decision(hunk))
        strip = self._strips.get(key)
        if strip is None:
            strip = self._render_row(self._rows[index], hunk, width, scroll_x)
            strip = self._strips[key] = strip.apply_offsets(scroll_x, index)
        return strip

    def _decision(self, hunk: int) -> bool | None:
        return self._decisions[hunk] if 0 <= hunk < len(self._decisions) else None

    def _render_row(self, row: Row, hunk: int, width: int, scroll_x: int) -> Strip:
        kind = row[0]
        if kind == "header":
            return self._render_header(row[1], width)
        if kind == "fold":
            count = row[2] - row[1]
            text = f"   ⋯ {count} unchanged lines (space or click shows them)"
            return self._text_strip(text, "diff-view--fold", width)
        if kind == "message":
            return self._text_strip(f" {row[1]}", "diff-view--conflict", width)
        if kind == "note":
            style = self._component("diff-view--note")
            return Strip([self._bar(hunk), Segment(f" {row[2]}", style)]).adjust_cell_length(
                width, style
            )
        bar = self._bar(hunk)
        if kind == "line":
            _, _, tag, old_no, new_no, text = row
            segments = [bar, *self._gutter(tag, old_no), *self._gutter(tag, new_no)]
            segments.append(self._marker(tag))
            code_width = width - self._gutter_width()
            code = self._code_strip(tag, text, hunk, scroll_x, code_width)
            return Strip([*segments, *code]).adjust_cell_length(width, self._component(""))
        half = (width - 2) // 2
        left = self._cell(row[2], hunk, scroll_x, half)
        right = self._cell(row[3], hunk, scroll_x, width - 2 - half)
        gutter_style = self._component("diff-view--gutter")
        return Strip([bar, *left, Segment("│", gutter_style), *right]).adjust_cell_length(
            width, self._component("")
        )

    def _cell(self, cell: Cell | None, hunk: int, scroll_x: int, width: int) -> list[Segment]:
        if cell is None:
            blank = self._component("diff-view--gutter")
            return [Segment(" " * width, blank)]
        tag, number, text = cell
        head = [*self._gutter(tag, number), self._marker(tag)]
        code_width = width - self._number_width - 3
        return [*head, *self._code_strip(tag, text, hunk, scroll_x, code_width)]

    def _render_header(self, index: int, width: int) -> Strip:
        hunk = self._diff.hunks[index]
        pos = self._diff.positions[index]
        decision = self._decision(index)
        verdict = {True: "✓ accepted", False: "✗ rejected", None: "undecided"}[decision]
        where = "no longer applies to the file" if pos is None else _lines_label(pos, hunk)
        text = (
            f"{'▶' if index == self.cursor else ' '} hunk {index + 1} of {self.hunk_count}"
            f" · {where} · +{hunk.additions} −{hunk.deletions} · {verdict}"
        )
        name = "diff-view--header-cursor" if index == self.cursor else "diff-view--header"
        if pos is None:
            name = "diff-view--conflict"
        return self._text_strip(text, name, width)

    def _text_strip(self, text: str, component: str, width: int) -> Strip:
        style = self._component(component)
        return Strip([Segment(text, style)]).adjust_cell_length(width, style)

    def _bar(self, hunk: int) -> Segment:
        if hunk >= 0 and hunk == self.cursor:
            return Segment("▌", self._component("diff-view--cursor-bar"))
        return Segment(" ", self._component("diff-view--gutter"))

    def _gutter(self, tag: str, number: int) -> list[Segment]:
        name = {"+": "diff-view--gutter-added", "-": "diff-view--gutter-removed"}.get(
            tag, "diff-view--gutter"
        )
        text = str(number).rjust(self._number_width) if number else " " * self._number_width
        return [Segment(f"{text} ", self._component(name))]

    def _marker(self, tag: str) -> Segment:
        name = {"+": "diff-view--gutter-added", "-": "diff-view--gutter-removed"}.get(
            tag, "diff-view--gutter"
        )
        return Segment(f"{tag} ", self._component(name))

    def _code_strip(
        self, tag: str, text: str, hunk: int, scroll_x: int, width: int
    ) -> list[Segment]:
        name = {"+": "diff-view--added", "-": "diff-view--removed"}.get(tag, "diff-view--context")
        if self._decision(hunk) is False and tag != " ":
            name = "diff-view--rejected"
        segments = self._highlighted(text, name)
        background = self._component(name)
        whole = Strip(segments)
        strip = whole.crop_extend(scroll_x, scroll_x + max(width, 0), background)
        if width > 0 and whole.cell_length > scroll_x + width:
            more = Segment(CONTINUES, background + RichStyle(dim=True))
            strip = Strip([*strip.crop(0, width - 1), more])
        return list(strip)

    def _highlighted(self, text: str, component: str) -> list[Segment]:
        key = (text, component)
        cached = self._code.get(key)
        if cached is not None:
            return cached
        text = text.expandtabs(TAB_SIZE)
        if component == "diff-view--rejected":
            segments = [Segment(text, self._token_style(component, ""))]
        else:
            segments = [
                Segment(token, self._token_style(component, _syntax_style(kind)))
                for kind, token in self._lexer.get_tokens(text)
            ]
        self._code[key] = segments
        return segments

    def _component(self, name: str) -> RichStyle:
        style = self._components.get(name)
        if style is None:
            # "" is the widget's own style.
            style = self.rich_style if not name else self.get_component_rich_style(name)
            self._components[name] = style
        return style

    def _token_style(self, component: str, syntax: str) -> RichStyle:
        """A syntax colour on a line's background (theme variables resolved, alpha blended)."""
        key = (component, syntax)
        style = self._token_styles.get(key)
        if style is None:
            base = Style.from_rich_style(self._component(component))
            if syntax:
                base += self.app.stylesheet.parse_style(syntax)
            style = self._token_styles[key] = base.rich_style
        return style


def _code_texts(rows: list[Row]) -> Iterator[str]:
    """The code of every line the rows show (either side of a pair)."""
    for row in rows:
        if row[0] == "line":
            yield row[5]
        elif row[0] == "pair":
            yield from (cell[2] for cell in row[2:] if cell is not None)


def _cell_width(text: str) -> int:
    return cell_len(text.expandtabs(TAB_SIZE))


def _lines_label(pos: int, hunk: Hunk) -> str:
    first, last = pos + 1, pos + max(hunk.old_len, 1)
    return f"line {first}" if first == last else f"lines {first}–{last}"


def _hunk_per_row(rows: list[Row]) -> list[int]:
    """For each row, the hunk it belongs to (-1 for context between hunks)."""
    return [row[1] if row[0] in ("header", "note", "line", "pair") else -1 for row in rows]


def _lexer_for(path: str) -> Lexer:
    options = {"stripnl": False, "ensurenl": False}
    try:
        return get_lexer_for_filename(path, **options)
    except ClassNotFound:
        return TextLexer(**options)


@functools.cache
def _syntax_style(token_type: _TokenType) -> str:
    """Textual's theme-aware style (``$text-accent`` …) for a Pygments token type.

    Lines are lexed one at a time: a construct spanning lines (a docstring) may be
    coloured as code, the price of highlighting only what is on screen.
    """
    kind: _TokenType | None = token_type
    while kind is not None:
        if style := HighlightTheme.STYLES.get(kind):
            return style
        kind = kind.parent
    return ""
