"""Code intelligence tools with Kilo Code's names: list_code_definition_names.

The definitions come from tree-sitter (:mod:`kilo_tui.core.code.syntax`); the files
come through ``ctx.paths`` like every read: ``.kilocodeignore`` is checked before the
approval, a folder is walked with the ignore rules and never through a link that leads
out of the workspace or into an ignored file, and only regular files of a bounded size
are opened. The output is Kilo's: a ``# path`` header per file, then one
``start--end | first line`` per definition.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from kilo_tui.core.code.syntax import Definition, definitions, language_for
from kilo_tui.core.edits import decode_text
from kilo_tui.core.tools.base import FunctionTool, ToolContext, ToolError, ToolResult, schema
from kilo_tui.core.tools.files import approve_read, looks_binary
from kilo_tui.core.trust.paths import Target

MAX_PARSE_BYTES = 1_000_000
"""Larger files are not parsed (generated or minified code, data)."""
MAX_FOLDER_FILES = 50
"""Source files of a folder that are parsed, in name order (Kilo parses 50)."""
MAX_FILE_DEFINITIONS = 300
MAX_OUTPUT_CHARS = 30_000
MAX_LINE_CHARS = 200

_SUPPORTED = "Python, JavaScript, TypeScript/TSX, Go, Rust, Java, C, C++, C#, Ruby and PHP"
_SUFFIXES = ".py .js .jsx .ts .tsx .go .rs .java .c .h .cpp .hpp .cs .rb .php"


async def _list_code_definition_names(args: dict[str, Any], ctx: ToolContext) -> ToolResult:
    target = ctx.paths.resolve(args["path"])
    shown = target.shown
    await approve_read(ctx, "list_code_definition_names", target, f"List definitions in {shown}")
    if os.path.isdir(target.real):
        text, files = await asyncio.to_thread(_folder, ctx, target)
        summary = f"definitions in {shown} ({files} files)"
    else:
        text = await asyncio.to_thread(_file, ctx, target)
        summary = f"definitions in {shown}"
    return ToolResult(text or f"No source code definitions found in {shown}.", summary=summary)


def _file(ctx: ToolContext, target: Target) -> str:
    lang = language_for(target.real.name)
    if lang is None:
        raise ToolError(
            f"{target.shown}: no grammar for this kind of file. Definitions can be listed "
            f"for {_SUPPORTED} ({_SUFFIXES}…)."
        )
    content = ctx.paths.read(target, MAX_PARSE_BYTES)
    if content.truncated:
        raise ToolError(
            f"{target.shown} is {content.size:,} bytes, too large to parse "
            f"(at most {MAX_PARSE_BYTES:,}). Use search_files or read_file with a range."
        )
    if looks_binary(content.data):
        raise ToolError(f"{target.shown} is a binary file; it has no definitions to list")
    return _format(target.shown, decode_text(content.data), lang)


def _folder(ctx: ToolContext, root: Target) -> tuple[str, int]:
    """The definitions of the source files directly in ``root`` and how many were parsed."""
    parts: list[str] = []
    parsed = 0
    size = 0
    sources = ctx.paths.readable_files(
        root, limit=MAX_PARSE_BYTES, recursive=False, wanted=lambda n: language_for(n) is not None
    )
    for shown, content in sources:
        if ctx.cancel.is_set():
            break
        if parsed == MAX_FOLDER_FILES:
            parts.append(
                f"[{root.shown} has more source files; only the first {MAX_FOLDER_FILES} "
                "(by name) were parsed. Ask for a file by its path to see the others.]"
            )
            break
        parsed += 1
        lang = language_for(shown)
        if lang is None or looks_binary(content.data):
            continue
        block = _format(shown, decode_text(content.data), lang)
        if not block:
            continue
        if size + len(block) > MAX_OUTPUT_CHARS:
            parts.append(f"[Output cut at {MAX_OUTPUT_CHARS:,} characters: ask for one file.]")
            break
        parts.append(block)
        size += len(block)
    return "\n\n".join(parts), parsed


def _format(shown: str, text: str, lang: str) -> str:
    """Kilo's block for one file: ``# path`` then ``start--end | first line`` lines
    (``""`` when the file defines nothing)."""
    found = definitions(text, lang)
    if not found:
        return ""
    lines = text.split("\n")
    rows = [_row(d, lines) for d in found[:MAX_FILE_DEFINITIONS]]
    if len(found) > MAX_FILE_DEFINITIONS:
        rows.append(f"[{len(found) - MAX_FILE_DEFINITIONS} more definitions not shown.]")
    return "\n".join([f"# {shown}", *rows])


def _row(definition: Definition, lines: list[str]) -> str:
    first = lines[definition.start_line - 1].rstrip() if definition.start_line <= len(lines) else ""
    if len(first) > MAX_LINE_CHARS:
        first = first[:MAX_LINE_CHARS] + "…"
    return f"{definition.start_line}--{definition.end_line} | {first}"


LIST_CODE_DEFINITION_NAMES = FunctionTool(
    name="list_code_definition_names",
    group="read",
    description=(
        "List the definitions (classes, functions, methods, types, interfaces, enums, "
        "structs, traits, modules…) in a source file, or in every source file directly "
        "inside a folder (not its subfolders), as `start--end | first line` under a "
        "`# path` header per file. Use it to see how code is organised before reading "
        f"it. Languages: {_SUPPORTED}. Files ignored by .gitignore/.kilocodeignore are "
        "skipped."
    ),
    parameters=schema(
        {
            "path": {
                "type": "string",
                "description": "File or folder, relative to the workspace.",
            }
        },
        ["path"],
    ),
    fn=_list_code_definition_names,
)

CODE_TOOLS = [LIST_CODE_DEFINITION_NAMES]
