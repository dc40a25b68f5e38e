"""``kilo-tui checkpoints list|diff|restore|prune``: the checkpoint timeline, for scripts.

Runs in a workspace (``--path``, default: the current directory). ``list`` shows the
latest session's checkpoints unless ``--session ID`` or ``--all`` says otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kilo_tui.core.checkpoints import Checkpoint, CheckpointManager, RestorePlan


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "checkpoints", help="list, diff, restore or prune the checkpoint timeline"
    )
    actions = parser.add_subparsers(dest="action", required=True)

    list_ = actions.add_parser("list", help="checkpoints, oldest first")
    list_.add_argument("--session", metavar="ID", help="only this session's checkpoints")
    list_.add_argument("--all", action="store_true", help="every session's checkpoints")
    list_.add_argument("--json", action="store_true", help="print a JSON array")
    list_.set_defaults(func=_list)

    diff = actions.add_parser("diff", help="unified diff from A to B (default: to now)")
    diff.add_argument("a", metavar="A")
    diff.add_argument("b", metavar="B", nargs="?")
    diff.set_defaults(func=_diff)

    restore = actions.add_parser("restore", help="make the files match a checkpoint")
    restore.add_argument("id", metavar="ID")
    restore.add_argument(
        "--with-task", action="store_true", help="also rewind the conversation to that point"
    )
    restore.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    restore.set_defaults(func=_restore)

    prune = actions.add_parser("prune", help="delete old checkpoints (the newest stays)")
    prune.add_argument("--keep", type=int, metavar="N", help="keep only the newest N")
    prune.add_argument(
        "--older-than", type=float, metavar="DAYS", help="delete those older than DAYS"
    )
    prune.set_defaults(func=_prune)

    for sub in (list_, diff, restore, prune):
        sub.add_argument("--path", default=".", help="workspace directory (default: .)")


def _manager(args: argparse.Namespace) -> CheckpointManager:
    from kilo_tui.core.checkpoints import CheckpointManager
    from kilo_tui.core.config import load_settings

    workspace = Path(args.path).expanduser().resolve()
    settings = load_settings(workspace)
    return CheckpointManager.from_settings(workspace, settings.checkpoints)


def _fail(message: str, code: int = 1) -> int:
    print(f"kilo-tui checkpoints: {message}", file=sys.stderr)
    return code


def _guarded(action: Any) -> Any:
    """Turn a :class:`CheckpointError` into a one-line message and exit code 1."""

    def run(args: argparse.Namespace) -> int:
        from kilo_tui.core.checkpoints import CheckpointError

        if not Path(args.path).expanduser().is_dir():
            return _fail(f"not a directory: {args.path}", 2)
        try:
            return int(action(args))
        except CheckpointError as error:
            return _fail(str(error))

    run.__doc__ = action.__doc__
    return run


@_guarded
def _list(args: argparse.Namespace) -> int:
    manager = _manager(args)
    checkpoints = manager.list()
    if args.session:
        checkpoints = [cp for cp in checkpoints if cp.task_id == args.session]
    elif not args.all and checkpoints:
        latest_task = checkpoints[-1].task_id
        checkpoints = [cp for cp in checkpoints if cp.task_id == latest_task]
    if args.json:
        print(json.dumps([cp.to_dict() for cp in checkpoints], indent=2))
        return 0
    if not manager.enabled:
        print("Checkpoints are turned off (setting checkpoints.enabled = false).")
    elif not checkpoints:
        print("No checkpoints yet.")
    for cp in checkpoints:
        print(_describe(cp))
    return 0


def _describe(cp: Checkpoint) -> str:
    when = cp.created_at.astimezone().strftime("%Y-%m-%d %H:%M:%S")
    files = f"{cp.files_changed} file{'s' if cp.files_changed != 1 else ''}"
    return f"{cp.short}  {when}  {files:>9}  +{cp.insertions:<5} -{cp.deletions:<5} {cp.trigger}"


@_guarded
def _diff(args: argparse.Namespace) -> int:
    sys.stdout.write(_manager(args).diff(args.a, args.b))
    return 0


@_guarded
def _restore(args: argparse.Namespace) -> int:
    from kilo_tui.core import timeline
    from kilo_tui.core.sessions import SessionStore

    manager = _manager(args)
    target = manager.get(args.id)
    if args.with_task and (not target.task_id or target.message_index is None):
        return _fail(f"checkpoint {target.short} belongs to no conversation: restore files only")
    plan = manager.plan_restore(target.id)
    print(f"Restore {_describe(target)}")
    _print_plan(plan)
    if plan.is_empty and not args.with_task:
        print("Nothing to restore: the files already match.")
        return 0
    if not args.yes:
        if not sys.stdin.isatty():
            return _fail("not restoring without confirmation: no terminal; pass --yes", 2)
        if input("Restore? [y/N] ").strip().lower() not in ("y", "yes"):
            print("Cancelled.")
            return 1
    store = SessionStore()
    try:
        result = timeline.restore(manager, store, target.id, with_task=args.with_task)
    finally:
        store.close()
    print(f"Restored {target.short}. Undo with: kilo-tui checkpoints restore {result.safety.short}")
    if result.conversation:
        hidden = len(result.conversation["messages"])
        print(f"Rewound session {target.task_id}: {hidden} later message(s) set aside.")
    return 0


def _print_plan(plan: RestorePlan) -> None:
    sections = (
        ("modified", plan.modified),
        ("brought back", plan.added_back),
        ("permissions set back (0600, executable…)", plan.modes),
        ("REMOVED (they did not exist at that checkpoint)", plan.removed),
        ("not tracked, left as is (ignored, excluded or too large)", plan.untracked),
    )
    for title, files in sections:
        if files:
            print(f"  {title}:")
            for path in files:
                print(f"    {path}")


@_guarded
def _prune(args: argparse.Namespace) -> int:
    removed = _manager(args).prune(keep=args.keep, older_than=args.older_than)
    print(f"Pruned {removed} checkpoint{'s' if removed != 1 else ''}.")
    return 0
