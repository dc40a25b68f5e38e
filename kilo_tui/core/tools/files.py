"""File tools with Kilo Code's names: read_file, write_to_file, apply_diff, list_files,
search_files.

Paths are relative to the workspace. Every path goes through ``ctx.paths``
(:mod:`kilo_tui.core.trust.paths`): ``.kilocodeignore`` and, outside the workspace, the
read approval are checked before any file is opened, even by the edit tools, whose
answers (a failed SEARCH, "no changes") would otherwise reveal the content. Reads and
writes pass the approval gate (the policy auto-approves what the user allowed); writes
become proposals that the user reviews before anything touches the disk
(:meth:`ToolContext.propose_edit`).
"""

from __future__ import annotations

import asyncio
import os
import posixpath
import re
from pathlib import Path
from typing import Any

from kilo_tui.core.edits import decode_text
from kilo_tui.core.hunks import is_binary
from kilo_tui.core.tools.base import (
    FunctionTool,
    ToolContext,
    ToolError,
    ToolResult,
    denial_text,
    schema,
)
from kilo_tui.core.trust.paths import Target

MAX_LIST_ENTRIES = 500
MAX_SEARCH_RESULTS = 300
MAX_SEARCH_FILE_SIZE = 2_000_000


def looks_binary(data: bytes) -> bool:
    """NUL bytes in the first 8 KiB, as git and grep decide (UTF-16/32 text with its
    byte-order mark excepted: :func:`kilo_tui.core.hunks.is_binary`)."""
    return is_binary(data)


def read_text(ctx: ToolContext, target: Target) -> tuple[str, str]:
    """A text file's content and a note when it was cut at the read limit; binaries,
    special files and everything else unreadable are a clear ToolError."""
    content = ctx.paths.read(target)
    if looks_binary(content.data):
        raise ToolError(
            f"{target.shown} is a binary file ({content.size:,} bytes); it cannot be read as text"
        )
    note = ""
    if content.truncated:
        note = (
            f"[{target.shown} is {content.size:,} bytes; only its first "
            f"{len(content.data):,} bytes were read.]"
        )
    return decode_text(content.data), note


def _edit_base(ctx: ToolContext, target: Target) -> str | None:
    """The current text of a file an edit tool is about to change (``None``: missing).

    The whole file is needed to propose an exact change, so a file over the read limit
    is refused rather than cut."""
    content = ctx.paths.read_if_exists(target)
    if content is None:
        return None
    if content.truncated:
        raise ToolError(
            f"{target.shown} is {content.size:,} bytes, too large to edit "
            f"(the limit is {len(content.data):,} bytes)."
        )
    if looks_binary(content.data):
        raise ToolError(f"{target.shown} is a binary file; it cannot be edited as text")
    return decode_text(content.data)


def number_lines(lines: list[str], start: int = 1) -> str:
    width = len(str(start + len(lines) - 1))
    return "\n".join(f"{n:>{width}} | {line}" for n, line in enumerate(lines, start))


async def approve_read(ctx: ToolContext, tool: str, target: Target, title: str) -> None:
    """Raise unless reading ``target`` is allowed: not ignored, and approved (as a read,
    outside the workspace too). Every tool that only reads goes through it."""
    ctx.paths.check_access(target)
    decision = await ctx.approve(
        kind="read",
        tool=tool,
        title=title,
        path=target.shown,
        outside_workspace=target.outside,
    )
    if not decision.approved:
        raise ToolError(denial_text(f"this operation: {title}", decision.feedback))


async def _edit_target(ctx: ToolContext, tool: str, raw: str, action: str) -> Target:
    """Resolve a path an edit tool will read and then change.

    The tool reads the file before the user sees anything, and its answers reveal
    what it read, so outside the workspace that read is approved first, as a read
    (creating a new file there reads nothing: the write approval is enough).
    """
    target = ctx.paths.resolve(raw)
    ctx.paths.check_access(target, action)
    if target.outside and os.path.lexists(target.real):
        await approve_read(ctx, tool, target, f"Read {target.shown}")
    return target


# ---------------------------------------------------------------- read_file


async def _read_file(args: dict[str, Any], ctx: ToolContext) -> ToolResult:
    target = ctx.paths.resolve(args["path"])
    rel = target.shown
    await approve_read(ctx, "read_file", target, f"Read {rel}")
    text, cut = await asyncio.to_thread(read_text, ctx, target)
    lines = text.splitlines()
    start = int(args.get("start_line") or 1)
    end = int(args.get("end_line") or len(lines))
    if start < 1 or (lines and start > len(lines)):
        raise ToolError(f"start_line {start} is outside {rel} (1–{len(lines)} lines)")
    end = min(max(end, start), len(lines))
    limit = ctx.settings.agent.max_read_lines if ctx.settings else 2000
    note = ""
    if end - start + 1 > limit:
        note = (
            f"\n\n[Showing lines {start}–{start + limit - 1} of {len(lines)}. The file is "
            f"longer than {limit} lines: use start_line/end_line to read the rest.]"
        )
        end = start + limit - 1
    body = number_lines(lines[start - 1 : end], start) if lines else "(empty file)"
    header = f"File: {rel}" + (f" (lines {start}–{end} of {len(lines)})" if lines else "")
    if cut:
        note += f"\n\n{cut}"
    return ToolResult(f"{header}\n{body}{note}", summary=f"read {rel} ({end - start + 1} lines)")


READ_FILE = FunctionTool(
    name="read_file",
    group="read",
    description=(
        "Read a file of the workspace. Returns its lines numbered as `N | text`. Use "
        "start_line/end_line to read a range of a large file. Binary files are refused."
    ),
    parameters=schema(
        {
            "path": {"type": "string", "description": "Path relative to the workspace."},
            "start_line": {"type": "integer", "description": "First line (1-based)."},
            "end_line": {"type": "integer", "description": "Last line, inclusive."},
        },
        ["path"],
    ),
    fn=_read_file,
)


# ------------------------------------------------------------- write_to_file


def _strip_line_numbers(content: str) -> str:
    """Models sometimes echo read_file's `N | ` prefixes; drop them when every line has one."""
    lines = content.splitlines(keepends=True)  # each keeps its own line ending (CRLF…)
    pattern = re.compile(r"^\s*\d+ \| ?")
    if lines and all(pattern.match(line) for line in lines):
        return "".join(pattern.sub("", line, count=1) for line in lines)
    return content


async def _write_to_file(args: dict[str, Any], ctx: ToolContext) -> ToolResult:
    target = await _edit_target(ctx, "write_to_file", args["path"], "Writing")
    rel = target.shown
    old = await asyncio.to_thread(_edit_base, ctx, target)
    new = _strip_line_numbers(str(args.get("content", "")))
    if old is not None and not new.endswith("\n") and old.endswith("\n"):
        new += "\n"
    if old == new:
        return ToolResult(
            f"No changes: {rel} already has exactly this content.", summary=f"{rel} unchanged"
        )
    return await _propose(ctx, "write_to_file", rel, old, new)


async def _propose(
    ctx: ToolContext, tool: str, rel: str, old: str | None, new: str, note: str = ""
) -> ToolResult:
    """Hand the change to the user's review; the result says what was written."""
    outcome = await ctx.propose_edit(tool=tool, path=rel, old=old, new=new)
    return ToolResult(
        outcome.report + note,
        is_error=not outcome.applied,
        summary=_edit_summary(outcome.applied, old, outcome.content),
    )


def _edit_summary(applied: bool, old: str | None, new: str | None) -> str:
    """What was written, as +added −removed lines (not what was proposed)."""
    if not applied:
        return "not applied"
    import difflib

    added = removed = 0
    for line in difflib.unified_diff((old or "").splitlines(), (new or "").splitlines(), n=0):
        if line.startswith("+") and not line.startswith("+++"):
            added += 1
        elif line.startswith("-") and not line.startswith("---"):
            removed += 1
    return f"+{added} −{removed}"


WRITE_TO_FILE = FunctionTool(
    name="write_to_file",
    group="edit",
    description=(
        "Create a new file, or replace a file's whole content. Give the COMPLETE content, "
        "without line numbers. Parent directories are created. Prefer apply_diff for "
        "changes to existing files. The user reviews the change before it is written."
    ),
    parameters=schema(
        {
            "path": {"type": "string", "description": "Path relative to the workspace."},
            "content": {"type": "string", "description": "The complete file content."},
        },
        ["path", "content"],
    ),
    fn=_write_to_file,
    mutating=True,
)


# ---------------------------------------------------------------- apply_diff


async def _apply_diff(args: dict[str, Any], ctx: ToolContext) -> ToolResult:
    from kilo_tui.core.tools.search_replace import apply_search_replace, describe_failures

    target = await _edit_target(ctx, "apply_diff", args["path"], "Editing")
    rel = target.shown
    old = await asyncio.to_thread(_edit_base, ctx, target)
    if old is None:
        raise ToolError(
            f"File not found: {rel}. apply_diff edits existing files; use write_to_file to "
            "create a new one."
        )
    threshold = ctx.settings.agent.fuzzy_match_threshold if ctx.settings else 1.0
    result = apply_search_replace(old, str(args.get("diff", "")), fuzzy_threshold=threshold)
    if result.content is None or result.applied == 0:
        raise ToolError(describe_failures(result))
    note = ""
    if result.failures:
        note = "\n\nSome SEARCH/REPLACE blocks were not applied:\n" + describe_failures(result)
    return await _propose(ctx, "apply_diff", rel, old, result.content, note)


APPLY_DIFF = FunctionTool(
    name="apply_diff",
    group="edit",
    description="""Apply precise edits to an existing file with SEARCH/REPLACE blocks.
Several blocks may be given in one call. Each block:

<<<<<<< SEARCH
:start_line:<line number where the search text starts>
-------
[exact content to find, including whitespace and indentation]
=======
[new content to replace it with]
>>>>>>> REPLACE

The SEARCH text must match the file exactly (read the file first). Escape a literal
marker line inside content with a leading backslash (\\=======). Do not include line
numbers in the content. The user reviews the change before it is written.""",
    parameters=schema(
        {
            "path": {"type": "string", "description": "Path relative to the workspace."},
            "diff": {"type": "string", "description": "One or more SEARCH/REPLACE blocks."},
        },
        ["path", "diff"],
    ),
    fn=_apply_diff,
    mutating=True,
)


# ---------------------------------------------------------------- list_files


async def _list_files(args: dict[str, Any], ctx: ToolContext) -> ToolResult:
    root = ctx.paths.resolve(args.get("path") or ".")
    rel = root.shown
    if not os.path.isdir(root.real):
        raise ToolError(f"Not a directory: {rel}")
    await approve_read(ctx, "list_files", root, f"List {rel}")
    recursive = bool(args.get("recursive", False))
    entries, truncated = await asyncio.to_thread(_list_entries, ctx, root.real, recursive)
    lines = entries or ["(no files)"]
    if truncated:
        lines.append(
            f"[Listing truncated at {MAX_LIST_ENTRIES} entries. List a subdirectory, or use "
            "search_files, to see more.]"
        )
    return ToolResult("\n".join(lines), summary=f"listed {rel} ({len(entries)} entries)")


def _list_entries(ctx: ToolContext, root: Path, recursive: bool) -> tuple[list[str], bool]:
    """Entries under ``root``, relative to the workspace (absolute outside it). A symlink
    is listed by its own name: never followed, never shown by where it points."""
    matcher = ctx.paths.ignore
    workspace = ctx.paths.workspace
    inside = root.is_relative_to(workspace)

    def _display(path: str | Path) -> str:
        return Path(path).relative_to(workspace).as_posix() if inside else str(path)

    entries: list[str] = []
    if recursive:
        for file in matcher.walk(root, recursive=True, limit=MAX_LIST_ENTRIES + 1):
            entries.append(_display(file))
    else:
        try:
            with os.scandir(root) as scan:
                children = sorted(scan, key=lambda e: (not _is_real_dir(e), e.name))
        except OSError as exc:
            raise ToolError(f"Cannot list {_display(root) or '.'}: {exc.strerror}") from exc
        for child in children:
            if child.name == ".git" or matcher.is_ignored(child.path):
                continue
            entries.append(_display(child.path) + ("/" if _is_real_dir(child) else ""))
            if len(entries) > MAX_LIST_ENTRIES:
                break
    truncated = len(entries) > MAX_LIST_ENTRIES
    return entries[:MAX_LIST_ENTRIES], truncated


def _is_real_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir(follow_symlinks=False)
    except OSError:
        return False


LIST_FILES = FunctionTool(
    name="list_files",
    group="read",
    description=(
        "List files and directories in a directory of the workspace (recursive=true for "
        "the whole subtree). Files ignored by .gitignore/.kilocodeignore are left out."
    ),
    parameters=schema(
        {
            "path": {"type": "string", "description": "Directory relative to the workspace."},
            "recursive": {"type": "boolean", "description": "List the whole subtree."},
        },
        ["path"],
    ),
    fn=_list_files,
)


# -------------------------------------------------------------- search_files


async def _search_files(args: dict[str, Any], ctx: ToolContext) -> ToolResult:
    root = ctx.paths.resolve(args.get("path") or ".")
    rel = root.shown
    try:
        pattern = re.compile(str(args["regex"]))
    except re.error as exc:
        raise ToolError(f"Invalid regex {args['regex']!r}: {exc}") from exc
    await approve_read(ctx, "search_files", root, f"Search {rel} for /{pattern.pattern}/")
    file_pattern = args.get("file_pattern") or None
    results, matches = await asyncio.to_thread(
        _search, ctx, root, pattern, file_pattern, ctx.cancel
    )
    if not results:
        return ToolResult(f"No matches for /{pattern.pattern}/ in {rel}.", summary="no matches")
    text = "\n".join(results)
    if matches >= MAX_SEARCH_RESULTS:
        text += f"\n[Showing the first {MAX_SEARCH_RESULTS} matches. Narrow the search.]"
    return ToolResult(text, summary=f"{matches} matches in {rel}")


def _search(
    ctx: ToolContext,
    root: Target,
    pattern: re.Pattern[str],
    file_pattern: str | None,
    cancel: asyncio.Event,
) -> tuple[list[str], int]:
    import fnmatch

    out: list[str] = []
    matches = 0
    prefilter = _bytes_pattern(pattern)
    for shown, content in ctx.paths.readable_files(root, limit=MAX_SEARCH_FILE_SIZE):
        if cancel.is_set() or matches >= MAX_SEARCH_RESULTS:
            break
        if file_pattern and not fnmatch.fnmatch(posixpath.basename(shown), file_pattern):
            continue
        data = content.data
        # Most files do not match: reject them on the raw bytes before decoding.
        if (prefilter is not None and not prefilter.search(data)) or looks_binary(data):
            continue
        lines = data.decode("utf-8", errors="replace").splitlines()
        hits = [i for i, line in enumerate(lines) if pattern.search(line)]
        if not hits:
            continue
        out.append(f"# {shown}")
        shown_lines: set[int] = set()
        for i in hits:
            if matches >= MAX_SEARCH_RESULTS:
                break
            matches += 1
            for j in range(max(0, i - 1), min(len(lines), i + 2)):
                if j in shown_lines:
                    continue
                shown_lines.add(j)
                marker = ">" if j == i else " "
                out.append(f"{marker}{j + 1:>5} │ {lines[j][:300]}")
            out.append("  ----")
    return out, matches


# Constructs that match one *character* in text but would match one *byte* (or only
# ASCII) over raw bytes: a prefilter using them could reject a file that matches.
_CHARACTER_SENSITIVE = (
    "\\w",
    "\\W",
    "\\d",
    "\\D",
    "\\s",
    "\\S",
    "\\b",
    "\\B",
    ".",
    "[^",
    "(?i",
    "(?u",
)


def _bytes_pattern(pattern: re.Pattern[str]) -> re.Pattern[bytes] | None:
    """The same regex over UTF-8 bytes, when it provably means the same there: an ASCII
    pattern without character classes, dots or case folding. Otherwise None."""
    source = pattern.pattern
    if not source.isascii() or pattern.flags & re.IGNORECASE:
        return None
    if any(token in source for token in _CHARACTER_SENSITIVE):
        return None
    try:
        return re.compile(pattern.pattern.encode(), pattern.flags & ~re.UNICODE)
    except (re.error, ValueError):
        return None


SEARCH_FILES = FunctionTool(
    name="search_files",
    group="read",
    description=(
        "Search files under a directory for a regular expression (Python syntax). Shows "
        "each match with a line of context. file_pattern filters file names (e.g. '*.py'). "
        "Files ignored by .gitignore/.kilocodeignore are skipped."
    ),
    parameters=schema(
        {
            "path": {"type": "string", "description": "Directory relative to the workspace."},
            "regex": {"type": "string", "description": "Regular expression to search for."},
            "file_pattern": {"type": "string", "description": "Glob for file names."},
        },
        ["path", "regex"],
    ),
    fn=_search_files,
)

FILE_TOOLS = [READ_FILE, WRITE_TO_FILE, APPLY_DIFF, LIST_FILES, SEARCH_FILES]
