"""``kilo-tui index status|rebuild``: the codebase index behind ``codebase_search``.

``status`` says what the index of a workspace (``--path``, default: the current
directory) holds and what the background indexer last did; ``rebuild`` forgets the
index and builds it again in the foreground (the embedding cache stays, so unchanged
code is not embedded again).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kilo_tui.core.config import Settings


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("index", help="status or rebuild of the codebase index")
    actions = parser.add_subparsers(dest="action", required=True)
    status = actions.add_parser("status", help="what the index holds and what it is doing")
    status.add_argument("--json", action="store_true", help="print a JSON object")
    status.set_defaults(func=_status)
    rebuild = actions.add_parser("rebuild", help="index the workspace again from scratch")
    rebuild.set_defaults(func=_rebuild)
    for sub in (status, rebuild):
        sub.add_argument("--path", default=".", help="workspace directory (default: .)")


def _load(args: argparse.Namespace) -> tuple[Path, Settings] | None:
    from kilo_tui.core.config import load_settings

    workspace = Path(args.path).expanduser()
    if not workspace.is_dir():
        print(f"kilo-tui: not a directory: {args.path}", file=sys.stderr)
        return None
    workspace = workspace.resolve()
    return workspace, load_settings(workspace)


def _status(args: argparse.Namespace) -> int:
    from kilo_tui.core.code.store import IndexDB, database_path
    from kilo_tui.core.code.vectors import collection_name

    loaded = _load(args)
    if loaded is None:
        return 2
    workspace, settings = loaded
    conf = settings.codebase_index
    path = database_path(workspace)
    info: dict[str, Any] = {
        "workspace": str(workspace),
        "enabled": conf.enabled,
        "search": "semantic" if conf.embedding_model else "lexical",
        "embedding_model": conf.embedding_model,
        "store": (
            f"Qdrant at {conf.qdrant_url}, collection {collection_name(workspace)}"
            if conf.qdrant_url and conf.embedding_model
            else f"embedded ({path})"
        ),
        "state": "not indexed yet",
        "files": 0,
        "chunks": 0,
    }
    if path.exists():
        db = IndexDB(path)
        try:
            state = db.state()
            info["files"], info["chunks"] = db.counts()
        finally:
            db.close()
        info["state"] = state.get("state", info["state"])
        info["done"], info["total"] = state.get("done", 0), state.get("total", 0)
        info["message"] = state.get("message", "")
        info["updated"] = state.get("updated")
    if args.json:
        print(json.dumps(info, indent=2))
    else:
        print(_describe(info))
    return 0


def _describe(info: dict[str, Any]) -> str:
    on = "on" if info["enabled"] else "off ([codebase_index] enabled = false)"
    search = (
        f"semantic ({info['embedding_model']})"
        if info["search"] == "semantic"
        else "lexical (no [codebase_index] embedding_model)"
    )
    state = info["state"]
    if state == "indexing":
        state = f"indexing ({info['done']:,} of {info['total']:,} changed files done)"
    elif state == "error":
        state = f"error: {info['message']}"
    elif info.get("message"):
        state += f" ({info['message']})"
    if info.get("updated"):
        state += f", updated {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(info['updated']))}"
    return "\n".join(
        [
            f"Workspace: {info['workspace']}",
            f"Indexing:  {on}",
            f"Search:    {search}",
            f"Store:     {info['store']}",
            f"Contents:  {info['files']:,} files, {info['chunks']:,} chunks",
            f"State:     {state}",
        ]
    )


def _rebuild(args: argparse.Namespace) -> int:
    loaded = _load(args)
    if loaded is None:
        return 2
    workspace, settings = loaded
    if not settings.codebase_index.enabled:
        print(
            "kilo-tui: codebase indexing is off; set it on first:\n"
            "  kilo-tui config set codebase_index.enabled true",
            file=sys.stderr,
        )
        return 2
    return asyncio.run(_rebuild_async(workspace, settings))


async def _rebuild_async(workspace: Path, settings: Settings) -> int:
    from kilo_tui.core import events as ev
    from kilo_tui.core.bus import EventBus
    from kilo_tui.core.code.index import CodebaseIndex

    bus = EventBus()
    last: list[ev.IndexProgress] = []

    def show(event: ev.IndexProgress) -> None:
        last[:] = [event]
        if event.state == "indexing" and event.total:
            print(f"indexing: {event.done:,} of {event.total:,} files", file=sys.stderr)

    bus.subscribe(show, ev.IndexProgress)
    index = CodebaseIndex(workspace, settings, bus)
    try:
        await index.rebuild()
    finally:
        index.close()
    files, chunks = last[0].done if last else 0, last[0].chunks if last else 0
    if last and last[0].state == "error":
        print(f"kilo-tui: indexing failed: {last[0].message}", file=sys.stderr)
        return 1
    print(f"Indexed {files:,} files into {chunks:,} chunks ({index.store_label}).")
    return 0
