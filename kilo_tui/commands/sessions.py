"""``kilo-tui sessions list|show|export|delete|recover``: the session store, for scripts."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("sessions", help="list, show, export or delete past tasks")
    actions = parser.add_subparsers(dest="action", required=True)
    list_ = actions.add_parser("list", help="past tasks, newest first")
    list_.add_argument("--path", help="only tasks of this workspace")
    list_.add_argument("--json", action="store_true", help="print a JSON array")
    list_.set_defaults(func=_list)
    show = actions.add_parser("show", help="a task's conversation")
    show.add_argument("id")
    show.set_defaults(func=_show)
    export = actions.add_parser("export", help="a task as Markdown")
    export.add_argument("id")
    export.add_argument("-o", "--output", help="write to this file instead of stdout")
    export.set_defaults(func=_export)
    delete = actions.add_parser("delete", help="delete a task and its subtasks")
    delete.add_argument("id")
    delete.set_defaults(func=_delete)
    recover = actions.add_parser(
        "recover",
        help="copy what can still be read from a damaged session database into the current one",
    )
    recover.add_argument(
        "file", nargs="?", help="the damaged database (default: the newest one set aside)"
    )
    recover.set_defaults(func=_recover)


def _store() -> Any:
    from kilo_tui.core.config import ConfigError, load_settings
    from kilo_tui.core.sessions import SessionStore
    from kilo_tui.core.trust.secrets import redactor_for

    try:
        settings = load_settings()
    except ConfigError:
        settings = None  # the environment's keys are still masked
    store = SessionStore(redactor=redactor_for(settings))
    if store.notice:
        print(f"kilo-tui sessions: {store.notice}", file=sys.stderr)
    return store


def _list(args: argparse.Namespace) -> int:
    workspace = str(Path(args.path).expanduser().resolve()) if args.path else None
    store = _store()
    _hint_recovery(store)
    tasks = store.list_tasks(workspace=workspace)
    if args.json:
        print(json.dumps([t.to_dict() for t in tasks], indent=2))
        return 0
    if not tasks:
        print("No sessions yet.")
        return 0
    from kilo_tui.core.llm.pricing import format_cost

    for t in tasks:
        when = datetime.fromtimestamp(t.updated_at).strftime("%Y-%m-%d %H:%M")
        print(
            f"{t.id}  {when}  {t.model:<28} {t.tokens_in + t.tokens_out:>8,} tok  "
            f"{format_cost(t.cost, free=False):>13}  {t.title or '(untitled)'}"
        )
    return 0


def _hint_recovery(store: Any) -> None:
    """Point at damaged databases set aside earlier (unless this run just said so)."""
    copies = store.unrecovered()
    if copies and not store.notice:
        print(
            f"kilo-tui sessions: {len(copies)} damaged session database(s) were set aside, "
            f"the newest is {copies[-1]}. `kilo-tui sessions recover` copies what can still "
            "be read from it into the current one.",
            file=sys.stderr,
        )


def _recover(args: argparse.Namespace) -> int:
    from kilo_tui.core.salvage import SalvageError

    store = _store()
    try:
        done = store.recover(Path(args.file).expanduser() if args.file else None)
    except SalvageError as exc:
        print(f"kilo-tui sessions recover: {exc}", file=sys.stderr)
        return 1
    print(
        f"Recovered {done.tasks} task(s), {done.messages} message(s) and {done.events} "
        f"event(s) from {done.source} ({done.method}) into {store.path}. "
        "The damaged file was left where it is."
    )
    return 0


def _resolve(store: Any, task_id: str) -> Any:
    record = store.get_task(task_id)
    if record is None:
        print(f"kilo-tui sessions: no task {task_id!r}", file=sys.stderr)
    return record


def _show(args: argparse.Namespace) -> int:
    return _export(argparse.Namespace(id=args.id, output=None))


def _export(args: argparse.Namespace) -> int:
    store = _store()
    record = _resolve(store, args.id)
    if record is None:
        return 1
    text = store.export_markdown(record.id)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"Exported {record.id} to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def _delete(args: argparse.Namespace) -> int:
    store = _store()
    record = _resolve(store, args.id)
    if record is None:
        return 1
    store.delete_task(record.id)
    print(f"Deleted {record.id}")
    return 0
