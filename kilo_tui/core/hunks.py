"""Line diffs cut into hunks that can be accepted or rejected one by one.

Everything here is pure and fast: a 10,000-line file with 200 changed places diffs in a
few tens of milliseconds. The matcher anchors on lines that occur exactly once in both
texts (the "patience" idea), so :class:`difflib.SequenceMatcher` only ever sees the
small gaps between anchors instead of the whole file.

Lines keep their line endings (``"\\r\\n"`` stays ``"\\r\\n"``), so applying hunks
reproduces the bytes of either side exactly. Lines are split on ``"\\n"`` only:
:meth:`str.splitlines` would also split on form feeds and Unicode separators that can
legitimately appear inside a line of code.
"""

from __future__ import annotations

import bisect
import codecs
import difflib
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

Change = Literal["create", "delete", "rewrite", "modify"]
Opcode = tuple[str, int, int, int, int]

NO_NEWLINE = "\\ No newline at end of file"
_HEADER_RE = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


@dataclass(frozen=True)
class Hunk:
    """One contiguous change with its surrounding context lines.

    ``old_start``/``new_start`` follow unified-diff headers: 1-based, and for an empty
    side the number of the line *before* the hunk. ``lines`` holds ``(tag, line)``
    pairs where tag is ``" "`` (context), ``"-"`` (removed) or ``"+"`` (added) and
    ``line`` keeps its line ending.
    """

    old_start: int
    old_len: int
    new_start: int
    new_len: int
    lines: tuple[tuple[str, str], ...]

    @property
    def old_offset(self) -> int:
        """0-based index of the hunk's first old line."""
        return self.old_start - 1 if self.old_len else self.old_start

    @property
    def new_offset(self) -> int:
        """0-based index of the hunk's first new line."""
        return self.new_start - 1 if self.new_len else self.new_start

    @property
    def old_lines(self) -> list[str]:
        """The old side: context and removed lines."""
        return [line for tag, line in self.lines if tag != "+"]

    @property
    def new_lines(self) -> list[str]:
        """The new side: context and added lines."""
        return [line for tag, line in self.lines if tag != "-"]

    @property
    def additions(self) -> int:
        return sum(tag == "+" for tag, _ in self.lines)

    @property
    def deletions(self) -> int:
        return sum(tag == "-" for tag, _ in self.lines)

    @property
    def header(self) -> str:
        return (
            f"@@ -{_range(self.old_start, self.old_len)} +{_range(self.new_start, self.new_len)} @@"
        )

    @property
    def old_range(self) -> str:
        """The old lines this hunk covers, for people: ``"40–52"`` or ``"40"``."""
        first = self.old_offset + 1
        last = self.old_offset + max(self.old_len, 1)
        return str(first) if first == last else f"{first}–{last}"

    @property
    def text(self) -> str:
        """The hunk as unified-diff text: header, then lines with their own endings."""
        out = [self.header + "\n"]
        for tag, line in self.lines:
            if line.endswith("\n"):
                out.append(tag + line)
            else:
                out.append(f"{tag}{line}\n{NO_NEWLINE}\n")
        return "".join(out)


def _range(start: int, length: int) -> str:
    return str(start) if length == 1 else f"{start},{length}"


def strip_newline(line: str) -> str:
    """A line without its line ending (a ``\\r`` before ``\\n`` is part of the ending)."""
    if line.endswith("\r\n"):
        return line[:-2]
    return line[:-1] if line.endswith("\n") else line


def split_lines(text: str) -> list[str]:
    """Split on ``"\\n"`` only, keeping line endings."""
    if not text:
        return []
    parts = text.split("\n")
    lines = [part + "\n" for part in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def newline_of(text: str) -> str:
    """The dominant line ending of ``text`` (``"\\n"`` when there is none)."""
    crlf = text.count("\r\n")
    return "\r\n" if crlf and crlf >= text.count("\n") - crlf else "\n"


def match_newlines(reference: str | None, text: str) -> str:
    """Give ``text`` the line endings of ``reference`` when ``text`` uses plain ``\\n``.

    Models write ``\\n``; a CRLF file must not be turned into a diff of every line.
    """
    if reference is None or "\r" in text or newline_of(reference) != "\r\n":
        return text
    return text.replace("\n", "\r\n")


# ------------------------------------------------------------------ matching


def _opcodes(a: Sequence[str], b: Sequence[str]) -> list[Opcode]:
    """difflib-style opcodes for ``a`` → ``b``, anchored on unique common lines."""
    lo = 0
    while lo < len(a) and lo < len(b) and a[lo] == b[lo]:
        lo += 1
    a_hi, b_hi = len(a), len(b)
    while a_hi > lo and b_hi > lo and a[a_hi - 1] == b[b_hi - 1]:
        a_hi -= 1
        b_hi -= 1
    matches = [(0, 0, lo)] if lo else []
    ai, bj = lo, lo
    for i, j in _anchors(a, b, lo, a_hi, b_hi):
        matches.extend(_gap_matches(a, b, ai, i, bj, j))
        matches.append((i, j, 1))
        ai, bj = i + 1, j + 1
    matches.extend(_gap_matches(a, b, ai, a_hi, bj, b_hi))
    matches.append((a_hi, b_hi, len(a) - a_hi))
    return _matches_to_opcodes(matches, len(a), len(b))


def _anchors(
    a: Sequence[str], b: Sequence[str], lo: int, a_hi: int, b_hi: int
) -> list[tuple[int, int]]:
    """Lines unique in both ranges, as the longest chain increasing on both sides."""
    count_a = Counter(a[lo:a_hi])
    count_b = Counter(b[lo:b_hi])
    where_b = {b[j]: j for j in range(lo, b_hi) if count_b[b[j]] == 1}
    pairs = [(i, where_b[a[i]]) for i in range(lo, a_hi) if count_a[a[i]] == 1 and a[i] in where_b]
    return _longest_increasing(pairs)


def _longest_increasing(pairs: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Longest subsequence of ``pairs`` (sorted by first item) increasing in the second."""
    tails: list[int] = []
    tail_index: list[int] = []
    previous = [-1] * len(pairs)
    for k, (_, j) in enumerate(pairs):
        pos = bisect.bisect_left(tails, j)
        if pos == len(tails):
            tails.append(j)
            tail_index.append(k)
        else:
            tails[pos] = j
            tail_index[pos] = k
        previous[k] = tail_index[pos - 1] if pos else -1
    chain: list[tuple[int, int]] = []
    k = tail_index[-1] if tail_index else -1
    while k >= 0:
        chain.append(pairs[k])
        k = previous[k]
    return chain[::-1]


def _gap_matches(
    a: Sequence[str], b: Sequence[str], a0: int, a1: int, b0: int, b1: int
) -> list[tuple[int, int, int]]:
    if a0 >= a1 or b0 >= b1:
        return []
    matcher = difflib.SequenceMatcher(None, a[a0:a1], b[b0:b1], autojunk=False)
    return [(i + a0, j + b0, n) for i, j, n in matcher.get_matching_blocks() if n]


def _matches_to_opcodes(
    matches: list[tuple[int, int, int]], len_a: int, len_b: int
) -> list[Opcode]:
    codes: list[Opcode] = []
    i = j = 0
    for ai, bj, size in matches:
        tag = ""
        if i < ai and j < bj:
            tag = "replace"
        elif i < ai:
            tag = "delete"
        elif j < bj:
            tag = "insert"
        if tag:
            codes.append((tag, i, ai, j, bj))
        if size:
            if codes and codes[-1][0] == "equal":
                _, i1, _, j1, _ = codes.pop()
                codes.append(("equal", i1, ai + size, j1, bj + size))
            else:
                codes.append(("equal", ai, ai + size, bj, bj + size))
        i, j = ai + size, bj + size
    if i < len_a or j < len_b:  # pragma: no cover - the last match always ends both
        codes.append(("replace", i, len_a, j, len_b))
    return codes


def _grouped(codes: list[Opcode], context: int) -> list[list[Opcode]]:
    """Cut opcodes into groups with ``context`` lines around each change (as difflib)."""
    if not codes or (len(codes) == 1 and codes[0][0] == "equal"):
        return []
    codes = list(codes)
    if codes[0][0] == "equal":
        _, i1, i2, j1, j2 = codes[0]
        codes[0] = ("equal", max(i1, i2 - context), i2, max(j1, j2 - context), j2)
    if codes[-1][0] == "equal":
        _, i1, i2, j1, j2 = codes[-1]
        codes[-1] = ("equal", i1, min(i2, i1 + context), j1, min(j2, j1 + context))
    groups: list[list[Opcode]] = []
    group: list[Opcode] = []
    for tag, i1, i2, j1, j2 in codes:
        if tag == "equal" and i2 - i1 > 2 * context:
            group.append((tag, i1, i1 + context, j1, j1 + context))
            groups.append(group)
            group = []
            i1, j1 = max(i1, i2 - context), max(j1, j2 - context)
        group.append((tag, i1, i2, j1, j2))
    if group and not (len(group) == 1 and group[0][0] == "equal"):
        groups.append(group)
    return groups


# ------------------------------------------------------------------ public API


def compute_hunks(old: str, new: str, context: int = 3) -> list[Hunk]:
    """The hunks that turn ``old`` into ``new``, with ``context`` lines around each."""
    a, b = split_lines(old), split_lines(new)
    hunks = []
    for group in _grouped(_opcodes(a, b), context):
        i1, i2 = group[0][1], group[-1][2]
        j1, j2 = group[0][3], group[-1][4]
        lines: list[tuple[str, str]] = []
        for tag, gi1, gi2, gj1, gj2 in group:
            if tag == "equal":
                lines.extend((" ", line) for line in a[gi1:gi2])
                continue
            lines.extend(("-", line) for line in a[gi1:gi2])
            lines.extend(("+", line) for line in b[gj1:gj2])
        old_len, new_len = i2 - i1, j2 - j1
        hunks.append(
            Hunk(
                old_start=i1 + 1 if old_len else i1,
                old_len=old_len,
                new_start=j1 + 1 if new_len else j1,
                new_len=new_len,
                lines=tuple(lines),
            )
        )
    return hunks


def apply_hunks(old: str, hunks: Sequence[Hunk], accepted: Sequence[bool]) -> str:
    """``old`` with exactly the accepted hunks applied; rejected ones keep the old lines.

    ``hunks`` must have been computed from ``old`` (they are applied by position).
    """
    if len(accepted) != len(hunks):
        raise ValueError(f"{len(hunks)} hunks but {len(accepted)} decisions")
    a = split_lines(old)
    out: list[str] = []
    cursor = 0
    for hunk, keep in zip(hunks, accepted, strict=True):
        out.extend(a[cursor : hunk.old_offset])
        out.extend(hunk.new_lines if keep else hunk.old_lines)
        cursor = hunk.old_offset + hunk.old_len
    out.extend(a[cursor:])
    return "".join(out)


def locate_hunks(current: str, hunks: Sequence[Hunk]) -> list[int | None]:
    """Where each hunk's old lines (context included) are in ``current``, or ``None``.

    Used when the file changed after the hunks were computed: each hunk is looked for
    at its original position shifted by how far the previous hunk moved, then ever
    further away, never overlapping the hunk before it. A hunk whose context or
    removed lines were edited does not match anywhere and gets ``None``.
    """
    lines = split_lines(current)
    positions: list[int | None] = []
    floor, shift = 0, 0
    for hunk in hunks:
        found = _find_block(lines, hunk.old_lines, hunk.old_offset + shift, floor)
        positions.append(found)
        if found is not None:
            shift = found - hunk.old_offset
            floor = found + hunk.old_len
    return positions


def _find_block(lines: list[str], block: list[str], near: int, floor: int) -> int | None:
    if not block:  # an insertion into an empty file fits only an empty file
        return None if lines else 0
    last = len(lines) - len(block)
    first = block[0]
    distance = 0
    while near - distance >= floor or near + distance <= last:
        for pos in (near - distance, near + distance):
            if (
                floor <= pos <= last
                and lines[pos] == first
                and lines[pos : pos + len(block)] == block
            ):
                return pos
        distance += 1
    return None


def rebase_hunks(current: str, hunks: Sequence[Hunk], accepted: Sequence[bool]) -> str | None:
    """Apply the accepted hunks to ``current`` (a changed version of their base).

    Returns ``None`` when any accepted hunk no longer matches: nothing is forced over
    the newer content.
    """
    chosen = [h for h, keep in zip(hunks, accepted, strict=True) if keep]
    positions = locate_hunks(current, chosen)
    if any(pos is None for pos in positions):
        return None
    lines = split_lines(current)
    out: list[str] = []
    cursor = 0
    for hunk, pos in zip(chosen, positions, strict=True):
        assert pos is not None
        out.extend(lines[cursor:pos])
        out.extend(hunk.new_lines)
        cursor = pos + hunk.old_len
    out.extend(lines[cursor:])
    return "".join(out)


def parse_hunk(text: str) -> Hunk:
    """Rebuild a :class:`Hunk` from its :attr:`Hunk.text` (as carried by events)."""
    rows = text.split("\n")
    match = _HEADER_RE.match(rows[0])
    if match is None:
        raise ValueError(f"not a hunk header: {rows[0]!r}")
    old_start, old_len, new_start, new_len = (
        int(g) if g is not None else 1 for g in match.groups()
    )
    lines: list[tuple[str, str]] = []
    for row in rows[1:]:
        if row == NO_NEWLINE and lines:
            tag, line = lines[-1]
            lines[-1] = (tag, line.removesuffix("\n"))
        elif row:
            lines.append((row[0], row[1:] + "\n"))
    return Hunk(old_start, old_len, new_start, new_len, tuple(lines))


def unified_diff(path: str, old: str | None, new: str | None, context: int = 3) -> str:
    """A ``git diff``-style unified diff of one file (``None`` side = absent file)."""
    hunks = compute_hunks(old or "", new or "", context)
    if not hunks:
        return ""
    head = f"--- {'a/' + path if old is not None else '/dev/null'}\n"
    head += f"+++ {'b/' + path if new is not None else '/dev/null'}\n"
    return head + "".join(h.text for h in hunks)


def classify_change(old: str | None, new: str | None) -> Change:
    """``create``, ``delete``, ``rewrite`` (most lines changed) or ``modify``."""
    if old is None:
        return "create"
    if new is None:
        return "delete"
    a, b = split_lines(old), split_lines(new)
    if not a or not b:
        return "rewrite" if a != b else "modify"
    kept = sum(i2 - i1 for tag, i1, i2, _, _ in _opcodes(a, b) if tag == "equal")
    return "rewrite" if kept * 2 < max(len(a), len(b)) else "modify"


def is_binary(data: bytes) -> bool:
    """Git's test: a NUL byte in the first 8 KiB means binary, unless the bytes are
    UTF-16 or UTF-32 text that says so with its byte-order mark."""
    return b"\x00" in data[:8192] and bom_encoding(data) is None


_BOMS = (  # UTF-32's marks first: UTF-32-LE's begins with UTF-16-LE's
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def bom_encoding(data: bytes) -> str | None:
    """The UTF-16/32 encoding a leading byte-order mark announces, if the first bytes
    decode in it. Decoding in it keeps the mark as a leading U+FEFF, so encoding the
    text again writes the mark back."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                codecs.getincrementaldecoder(encoding)().decode(data[:8192])
            except UnicodeDecodeError:
                return None
            return encoding
    return None
