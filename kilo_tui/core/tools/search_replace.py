"""The engine behind ``apply_diff``: Kilo Code's multi-block SEARCH/REPLACE format.

A diff is one or more blocks::

    <<<<<<< SEARCH
    :start_line:12
    -------
    [exact content to find]
    =======
    [new content]
    >>>>>>> REPLACE

This module reproduces the behaviour of Kilo Code's ``MultiSearchReplaceDiffStrategy``
(``src/core/diff/strategies/multi-search-replace.ts``) so a model prompted with Kilo's
tool description gets the same results here:

* the marker sequence is validated first, with Kilo's explanatory error messages;
* blocks are applied in ``:start_line:`` order, each hint shifted by the lines that
  earlier blocks added or removed;
* a block matches at its hint when similar enough, otherwise the best "middle-out"
  match within ``buffer_lines`` of the hint (or the whole file without a hint) wins;
  similarity is Levenshtein on whitespace-collapsed text, so the default threshold of
  1.0 means "equal up to whitespace";
* ``12 | code`` prefixes copied from ``read_file`` output are stripped, and an
  aggressive strip is tried as a last resort;
* replacement lines are re-indented relative to the matched block;
* blocks that fail are reported with the closest match so the model can retry, while
  the blocks that matched still apply.

Text rules follow JavaScript's (whitespace set, ``.`` excluding line terminators) so
edge cases behave as in Kilo.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import chain, zip_longest

from rapidfuzz.distance import Levenshtein

BUFFER_LINES = 40
"""Lines searched on each side of a ``:start_line:`` hint (Kilo's default)."""


@dataclass(frozen=True)
class BlockFailure:
    """A SEARCH/REPLACE block that could not be applied."""

    index: int
    """1-based position of the block in the diff."""
    message: str
    """What to tell the model (for a missed match: the closest match and the file
    content around the hint)."""


@dataclass(frozen=True)
class SearchReplaceResult:
    """The outcome of :func:`apply_search_replace`.

    ``success`` means every block applied. ``content`` is the new file text whenever at
    least one block applied, so a partial success can still be written (as Kilo does)
    while ``failures`` says which blocks were left out.
    """

    success: bool
    content: str | None
    applied: int
    failures: tuple[BlockFailure, ...]
    error: str | None = None
    """A problem with the diff as a whole (malformed markers); no block was tried."""


# --- JavaScript text semantics ---------------------------------------------------

# The characters JavaScript's `\s` and `String.prototype.trim` treat as whitespace.
_JS_WHITESPACE = (
    "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007"
    "\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
)
_S = f"[{re.escape(_JS_WHITESPACE)}]"
# JavaScript's `.`: anything but a line terminator.
_DOT = "[^\n\r\u2028\u2029]"
_LINE_START = "(?:^|(?<=[\n\r\u2028\u2029]))"

_NEWLINE = re.compile(r"\r?\n")
_WHITESPACE_RUN = re.compile(f"{_S}+")
_TYPOGRAPHIC = str.maketrans(
    {
        "\u201c": '"',
        "\u201d": '"',
        "\u2018": "'",
        "\u2019": "'",
        "\u2026": "...",
        "\u2014": "-",
        "\u2013": "-",
        "\u00a0": " ",
    }
)


def _js_trim(text: str) -> str:
    return text.strip(_JS_WHITESPACE)


def _split_lines(text: str) -> list[str]:
    return _NEWLINE.split(text)


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip("\t "))]


# --- parsing -------------------------------------------------------------------

_SEARCH = "<<<<<<< SEARCH"
_SEPARATOR = "======="
_REPLACE = ">>>>>>> REPLACE"
_SEARCH_LINE = re.compile(r"<<<<<<< SEARCH>?")  # models sometimes add a stray '>'

# One block. Markers must start a line, so an escaped marker (`\=======`) never
# matches. Content is lazy so each block stops at its own separator and REPLACE.
_BLOCK = re.compile(
    rf"(?:^|\n)<<<<<<< SEARCH>?{_S}*\n"
    rf"(?::start_line:{_S}*([0-9]+){_S}*\n)?"
    rf"(?::end_line:{_S}*[0-9]+{_S}*\n)?"
    rf"(?:-------{_S}*\n)?"
    r"(.*?)\n?"
    rf"(?<=\n)======={_S}*\n"
    r"(.*?)\n?"
    r"(?<=\n)>>>>>>> REPLACE(?=\n|\Z)",
    re.DOTALL,
)
_ESCAPED_MARKER = re.compile(
    _LINE_START + r"\\(<<<<<<<|=======|>>>>>>>|-------|:end_line:|:start_line:)"
)
_NUMBERED_LINE = re.compile(rf"{_S}*[0-9]+{_S}+\|(?!\|)")
_NUMBER_PREFIX = re.compile(rf"{_S}*[0-9]+{_S}+\|(?!\|){_S}?({_DOT}*)\Z")
_LOOSE_NUMBER_PREFIX = re.compile(rf"{_S}*(?:[0-9]+{_S})?\|{_S}({_DOT}*)\Z")


@dataclass(frozen=True)
class _Block:
    index: int
    start_line: int
    search: str
    replace: str


def _parse_blocks(diff: str) -> list[_Block]:
    return [
        _Block(i, int(m.group(1) or 0), m.group(2), m.group(3))
        for i, m in enumerate(_BLOCK.finditer(diff), start=1)
    ]


def _unescape_markers(text: str) -> str:
    return _ESCAPED_MARKER.sub(r"\1", text)


def _every_line_numbered(text: str) -> bool:
    return all(_NUMBERED_LINE.match(line) for line in _split_lines(text))


def _strip_line_numbers(text: str, *, aggressive: bool = False) -> str:
    """Remove ``12 | `` prefixes; ``aggressive`` also takes a bare ``| `` prefix."""
    pattern = _LOOSE_NUMBER_PREFIX if aggressive else _NUMBER_PREFIX
    ending = "\r\n" if "\r\n" in text else "\n"
    stripped = []
    for line in _split_lines(text):
        match = pattern.match(line)
        stripped.append(match.group(1) if match else line)
    return ending.join(stripped)


def _number_lines(text: str, start: int = 1) -> str:
    """Render lines the way ``read_file`` does (``12 | code``), right-aligned."""
    if not text:
        return "" if start == 1 else f"{start} | \n"
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    width = len(str(start + len(lines) - 1))
    return "".join(f"{start + i:>{width}} | {line}\n" for i, line in enumerate(lines))


# --- marker validation ---------------------------------------------------------

_FORMAT_HELP = (
    "CORRECT FORMAT:\n\n"
    "<<<<<<< SEARCH\n"
    ":start_line: (required) The line number of original content where the search block starts.\n"
    "-------\n"
    "[exact content to find including whitespace]\n"
    "=======\n"
    "[new content to replace with]\n"
    ">>>>>>> REPLACE\n"
)


def _merge_conflict_error(found: str, line: int) -> str:
    return (
        f"ERROR: Special marker '{found}' found in your diff content at line {line}:\n\n"
        f"When removing merge conflict markers like '{found}' from files, you MUST escape them\n"
        "in your SEARCH section by prepending a backslash (\\) at the beginning of the line:\n\n"
        "CORRECT FORMAT:\n\n"
        "<<<<<<< SEARCH\n"
        "content before\n"
        f"\\{found}    <-- Note the backslash here in this example\n"
        "content after\n"
        "=======\n"
        "replacement content\n"
        ">>>>>>> REPLACE\n\n"
        "Without escaping, the system confuses your content with diff syntax markers.\n"
        "You may use multiple diff blocks in a single diff request, but ANY of ONLY the "
        "following separators that occur within SEARCH or REPLACE content must be escaped, "
        "as follows:\n"
        f"\\{_SEARCH}\n\\{_SEPARATOR}\n\\{_REPLACE}\n"
    )


def _malformed_error(found: str, expected: str, line: int) -> str:
    return (
        f"ERROR: Diff block is malformed: marker '{found}' found in your diff content at "
        f"line {line}. Expected: {expected}\n\n{_FORMAT_HELP}"
    )


def _line_marker_error(marker: str, line: int) -> str:
    return (
        f"ERROR: Invalid line marker '{marker}' found in REPLACE section at line {line}\n\n"
        "Line markers (:start_line: and :end_line:) are only allowed in SEARCH sections.\n\n"
        "CORRECT FORMAT:\n"
        "<<<<<<< SEARCH\n"
        ":start_line:5\n"
        "content to find\n"
        "=======\n"
        "replacement content\n"
        ">>>>>>> REPLACE\n\n"
        "INCORRECT FORMAT:\n"
        "<<<<<<< SEARCH\n"
        "content to find\n"
        "=======\n"
        ":start_line:5    <-- Invalid location\n"
        "replacement content\n"
        ">>>>>>> REPLACE\n"
    )


def _stray_separator_error(expected: str, line: int, bad_structure: bool) -> str:
    # With balanced markers, an extra ======= is most likely file content (a merge
    # conflict being resolved) that should have been escaped.
    if bad_structure:
        return _malformed_error(_SEPARATOR, expected, line)
    return _merge_conflict_error(_SEPARATOR, line)


def validate_markers(diff: str) -> str | None:
    """Check the SEARCH / ======= / REPLACE sequence; return Kilo's error text, or None.

    A separator where a SEARCH was expected is reported as a malformed block when the
    marker counts are off, and otherwise as a merge-conflict marker that needed
    escaping. Line markers are rejected inside REPLACE sections.
    """
    lines = diff.split("\n")
    markers = [_js_trim(line) for line in lines]
    searches = sum(1 for m in markers if _SEARCH_LINE.fullmatch(m))
    separators = markers.count(_SEPARATOR)
    replaces = markers.count(_REPLACE)
    bad_structure = searches != replaces or separators < searches

    state = "start"
    for number, marker in enumerate(markers, start=1):
        is_search = _SEARCH_LINE.fullmatch(marker) is not None
        if state == "replace":
            for line_marker in (":start_line:", ":end_line:"):
                if marker.startswith(line_marker):
                    return _line_marker_error(line_marker, number)
        if state == "start":
            if marker == _SEPARATOR:
                return _stray_separator_error(_SEARCH, number, bad_structure)
            if marker == _REPLACE:
                return _malformed_error(marker, _SEARCH, number)
            if marker.startswith(">>>>>>>"):
                return _merge_conflict_error(marker, number)
            if is_search:
                state = "search"
            elif marker.startswith("<<<<<<<"):
                return _merge_conflict_error(marker, number)
        elif state == "search":
            if is_search:
                return _malformed_error(marker, _SEPARATOR, number)
            if marker.startswith("<<<<<<<"):
                return _merge_conflict_error(marker, number)
            if marker == _REPLACE:
                return _malformed_error(marker, _SEPARATOR, number)
            if marker.startswith(">>>>>>>"):
                return _merge_conflict_error(marker, number)
            if marker == _SEPARATOR:
                state = "replace"
        else:
            if is_search:
                return _malformed_error(marker, _REPLACE, number)
            if marker.startswith("<<<<<<<"):
                return _merge_conflict_error(marker, number)
            if marker == _SEPARATOR:
                return _stray_separator_error(_REPLACE, number, bad_structure)
            if marker == _REPLACE:
                state = "start"
            elif marker.startswith(">>>>>>>"):
                return _merge_conflict_error(marker, number)
    if state == "start":
        return None
    expected = _SEPARATOR if state == "search" else _REPLACE
    return f"ERROR: Unexpected end of sequence: Expected '{expected}' was not found."


# --- matching -------------------------------------------------------------------


def _normalize(text: str) -> str:
    """Kilo's normalizeString: plain quotes and dashes, whitespace runs collapsed."""
    return _js_trim(_WHITESPACE_RUN.sub(" ", text.translate(_TYPOGRAPHIC)))


def _similarity(chunk: str, search: str) -> float:
    """1.0 for text equal up to whitespace and typography, else 1 - distance/length."""
    if not search:
        return 0.0
    a, b = _normalize(chunk), _normalize(search)
    if a == b:
        return 1.0
    return 1 - Levenshtein.distance(a, b) / max(len(a), len(b))


@dataclass(frozen=True)
class _Match:
    score: float
    index: int  # -1 when nothing scored above 0
    text: str


def _middle_out(start: int, end: int, length: int) -> Iterator[int]:
    """Candidate start lines: from the middle of [start, end) outwards, left first."""
    middle = (start + end) // 2
    left = range(middle, start - 1, -1)
    right = range(middle + 1, end - length + 1)
    return (i for i in chain.from_iterable(zip_longest(left, right)) if i is not None)


def _fuzzy_search(lines: list[str], search: str, start: int, end: int) -> _Match:
    """The most similar ``len(search)``-line slice; earlier candidates win ties."""
    length = len(_split_lines(search))
    best = _Match(0.0, -1, "")
    for i in _middle_out(start, end, length):
        chunk = "\n".join(lines[i : i + length])
        score = _similarity(chunk, search)
        if score > best.score:
            best = _Match(score, i, chunk)
            if score == 1.0:
                break  # nothing can beat it, and ties keep the first
    return best


# --- applying ---------------------------------------------------------------------


def _reindent(replace_lines: list[str], search_lines: list[str], matched: list[str]) -> list[str]:
    """Shift replacement lines so their indentation is relative to the matched block."""
    target = _indent(matched[0]) if matched else ""
    base = len(_indent(search_lines[0]))
    result = []
    for line in replace_lines:
        indent = _indent(line)
        extra = len(indent) - base
        if extra < 0:
            new_indent = target[: max(0, len(target) + extra)]
        else:
            new_indent = target + indent[base:]
        result.append(new_indent + _js_trim(line))
    return result


def _no_match_message(
    search: str, best: _Match, lines: list[str], hint: int, threshold: float, buffer: int
) -> str:
    """Kilo's report for a block that matched nowhere well enough, plus the best match's
    line range, so the model can see what the file really holds and retry."""
    score, needed = int(best.score * 100), int(threshold * 100)
    at_line = f" at line: {hint}" if hint else ""
    search_range = f"starting at line {hint}" if hint else "start to end"
    if best.text:
        last = best.index + len(_split_lines(best.text))
        best_range = f"- Best Match Range: lines {best.index + 1}-{last}\n"
        best_section = _number_lines(best.text, best.index + 1).removesuffix("\n")
    else:
        best_range, best_section = "", "(no match)"
    first = max(0, hint - 1 - buffer)
    last_line = min(len(lines), hint + len(_split_lines(search)) - 1 + buffer)
    nearby = _number_lines("\n".join(lines[first:last_line]), first + 1).removesuffix("\n")
    return (
        f"No sufficiently similar match found{at_line} ({score}% similar, needs {needed}%)\n\n"
        "Debug Info:\n"
        f"- Similarity Score: {score}%\n"
        f"- Required Threshold: {needed}%\n"
        f"- Search Range: {search_range}\n"
        f"{best_range}"
        "- Tried both standard and aggressive line number stripping\n"
        "- Tip: Use the read_file tool to get the latest content of the file before "
        "attempting to use the apply_diff tool again, as the file content may have changed\n\n"
        f"Search Content:\n{search}\n\n"
        f"Best Match Found:\n{best_section}\n\n"
        f"Original Content:\n{nearby}"
    )


_IDENTICAL = (
    "Search and replace content are identical - no changes would be made\n\n"
    "Debug Info:\n"
    "- Search and replace must be different to make changes\n"
    "- Use read_file to verify the content you want to change"
)
_EMPTY_SEARCH = (
    "Empty search content is not allowed\n\n"
    "Debug Info:\n"
    "- Search content cannot be empty\n"
    "- For insertions, provide a specific line using :start_line: and include content to "
    "search for\n"
    "- For example, match a single line to insert before/after it"
)
_INVALID_FORMAT = (
    "Invalid diff format - missing required sections\n\n"
    "Debug Info:\n"
    "- Expected Format: <<<<<<< SEARCH\\n:start_line: start line\\n-------\\n"
    "[search content]\\n=======\\n[replace content]\\n>>>>>>> REPLACE\n"
    "- Tip: Make sure to include start_line/SEARCH/=======/REPLACE sections with correct "
    "markers on new lines"
)


class _Applier:
    """Applies blocks one by one to a list of lines, tracking the line delta."""

    def __init__(self, original: str, threshold: float, buffer: int) -> None:
        self.lines = _split_lines(original)
        self.threshold = threshold
        self.buffer = buffer
        self.delta = 0

    def apply(self, block: _Block) -> str | None:
        """Apply one block; return the failure message, or None when it applied."""
        search = _unescape_markers(block.search)
        replace = _unescape_markers(block.replace)
        hint = block.start_line + self.delta if block.start_line else 0

        if _every_line_numbered(search) and (
            _every_line_numbered(replace) or not _js_trim(replace)
        ):
            if not hint:  # take the hint from the first line's number
                hint = int(_js_trim(search.split("|", 1)[0]))
            search, replace = _strip_line_numbers(search), _strip_line_numbers(replace)

        if search == replace:
            return _IDENTICAL
        if not search:
            return _EMPTY_SEARCH
        search_lines = _split_lines(search)
        replace_lines = _split_lines(replace) if replace else []
        chunk = "\n".join(search_lines)

        match, start, end = self._locate(chunk, len(search_lines), hint)
        if match.index == -1 or match.score < self.threshold:
            # Last resort: the model may have copied `| code` or a mix of numbered lines.
            loose_search = _strip_line_numbers(search, aggressive=True)
            loose_lines = _split_lines(loose_search) if loose_search else []
            loose = _fuzzy_search(self.lines, "\n".join(loose_lines), start, end)
            if loose.index == -1 or loose.score < self.threshold:
                return _no_match_message(
                    chunk, match, self.lines, hint, self.threshold, self.buffer
                )
            match, search_lines = loose, loose_lines
            loose_replace = _strip_line_numbers(replace, aggressive=True)
            replace_lines = _split_lines(loose_replace) if loose_replace else []

        matched = self.lines[match.index : match.index + len(search_lines)]
        self.lines[match.index : match.index + len(search_lines)] = _reindent(
            replace_lines, search_lines, matched
        )
        self.delta += len(replace_lines) - len(matched)
        return None

    def _locate(self, chunk: str, length: int, hint: int) -> tuple[_Match, int, int]:
        """Best match for ``chunk``, and the [start, end) window that was searched."""
        if not hint:
            return _fuzzy_search(self.lines, chunk, 0, len(self.lines)), 0, len(self.lines)
        at_hint = "\n".join(self.lines[hint - 1 : hint - 1 + length])
        score = _similarity(at_hint, chunk)
        if score >= self.threshold:
            return _Match(score, hint - 1, at_hint), 0, len(self.lines)
        start = max(0, hint - (self.buffer + 1))
        end = min(len(self.lines), hint + length + self.buffer)
        return _fuzzy_search(self.lines, chunk, start, end), start, end


def apply_search_replace(
    original: str,
    diff: str,
    *,
    fuzzy_threshold: float = 1.0,
    buffer_lines: int = BUFFER_LINES,
) -> SearchReplaceResult:
    """Apply Kilo-format SEARCH/REPLACE blocks in ``diff`` to ``original``.

    ``fuzzy_threshold`` is the similarity (0..1) a match needs; 1.0 requires the text
    to be equal up to whitespace. ``buffer_lines`` bounds the search around a
    ``:start_line:`` hint. The file's line ending is kept (CRLF if it has any).
    """
    error = validate_markers(diff)
    if error is None and not (blocks := _parse_blocks(diff)):
        error = _INVALID_FORMAT
    if error is not None:
        return SearchReplaceResult(False, None, 0, (), error=error)

    applier = _Applier(original, fuzzy_threshold, buffer_lines)
    failures = []
    # Kilo applies blocks top to bottom by hint (unhinted first) so the delta is valid.
    for block in sorted(blocks, key=lambda b: b.start_line):
        message = applier.apply(block)
        if message is not None:
            failures.append(BlockFailure(block.index, message))
    failures.sort(key=lambda f: f.index)
    applied = len(blocks) - len(failures)
    ending = "\r\n" if "\r\n" in original else "\n"
    content = ending.join(applier.lines) if applied else None
    return SearchReplaceResult(not failures, content, applied, tuple(failures))


def describe_failures(result: SearchReplaceResult) -> str:
    """The text for the model about what did not apply ("" when everything did)."""
    if result.error is not None:
        return f"Unable to apply diff.\n\n<error_details>\n{result.error}\n</error_details>"
    if not result.failures:
        return ""
    total = result.applied + len(result.failures)
    if result.applied:
        head = (
            f"Applied {result.applied} of {total} SEARCH/REPLACE blocks; the blocks below "
            "failed and were not applied. Use read_file to check the newest file content "
            "and re-apply only these blocks.\n\n"
        )
    else:
        head = f"No SEARCH/REPLACE block could be applied (0 of {total}).\n\n"
    parts = [
        f"Block {f.index} of {total}:\n<error_details>\n{f.message}\n</error_details>"
        for f in result.failures
    ]
    return head + "\n\n".join(parts)
