"""``codebase_search`` with Kilo Code's name, parameters and output: the chunks of the
workspace most relevant to a query, from the codebase index (:mod:`kilo_tui.core.code`).

The optional ``path`` goes through ``ctx.paths`` like every read (``.kilocodeignore``,
containment, approval); results whose file is now blocked or ignored are dropped, so a
shared Qdrant collection or a stale index never shows what the agent may not read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kilo_tui.core.tools.base import FunctionTool, ToolContext, ToolError, ToolResult, schema
from kilo_tui.core.tools.files import approve_read
from kilo_tui.core.trust.paths import PathRefused

if TYPE_CHECKING:
    from kilo_tui.core.code.index import CodebaseIndex
    from kilo_tui.core.code.store import Hit

MAX_RESULTS = 10


async def _codebase_search(args: dict[str, Any], ctx: ToolContext) -> ToolResult:
    index: CodebaseIndex | None = ctx.extra.get("codebase_index")
    if index is None:
        raise ToolError(
            "Codebase indexing is off: set [codebase_index] enabled = true in the config. "
            "Use search_files meanwhile."
        )
    query = str(args.get("query") or "").strip()
    if not query:
        raise ToolError("query must not be empty")
    target = ctx.paths.resolve(args.get("path") or ".")
    if target.outside:
        raise ToolError(f"{target.shown} is outside the workspace; only the workspace is indexed")
    await approve_read(ctx, "codebase_search", target, f"Search the codebase for: {query}")
    # Over-fetch: hits the trust boundary drops must not shrink the answer.
    outcome = await index.search(query, target.rel or "", MAX_RESULTS * 2)
    hits = [hit for hit in outcome.hits if _readable(ctx, hit)][:MAX_RESULTS]
    text = format_results(query, hits)
    if outcome.note:
        text = f"{outcome.note}\n\n{text}"
    kind = "lexical" if outcome.lexical else "semantic"
    return ToolResult(text, summary=f"{len(hits)} {kind} results")


def _readable(ctx: ToolContext, hit: Hit) -> bool:
    try:
        target = ctx.paths.resolve(hit.path)
    except PathRefused:
        return False
    return not (
        target.outside or ctx.paths.is_blocked(target) or ctx.paths.ignore.is_ignored(target.real)
    )


def format_results(query: str, hits: list[Hit]) -> str:
    """Kilo Code's text for the model."""
    if not hits:
        return f'No relevant code snippets found for the query: "{query}"'
    blocks = [
        f"File path: {hit.path}\nScore: {hit.score}\nLines: {hit.start_line}-{hit.end_line}\n"
        f"Code Chunk: {hit.text.strip()}\n"
        for hit in hits
    ]
    return f"Query: {query}\nResults:\n\n" + "\n".join(blocks)


CODEBASE_SEARCH = FunctionTool(
    name="codebase_search",
    group="read",
    description=(
        "Find the code most relevant to a natural-language query anywhere in the "
        "workspace, by meaning rather than exact words (e.g. 'where user sessions "
        "expire'). Use it before search_files or read_file when you do not know where "
        "something lives. Returns file paths, line ranges, scores and the code. Queries "
        "work best in English, reusing the user's wording."
    ),
    parameters=schema(
        {
            "query": {"type": "string", "description": "What to look for, in plain words."},
            "path": {
                "type": "string",
                "description": "Limit the search to this folder (relative to the workspace).",
            },
        },
        ["query"],
    ),
    fn=_codebase_search,
)
