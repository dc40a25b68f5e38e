"""Restore, undo and redo over both halves of a task: its files and its conversation.

The files are the checkpoint manager's; the conversation is the session store's. A
restore "files and task" sets the later messages aside (they stay in the store,
inactive) and records them with the restore's step, so ``/undo`` brings back the files
*and* those messages, and ``/redo`` sets them aside again. The TUI, ``kilo-tui
checkpoints restore`` and the runtime's ``/undo`` all go through here.

Synchronous (git and SQLite); callers in the event loop use ``asyncio.to_thread``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kilo_tui.core.checkpoints import CheckpointError

if TYPE_CHECKING:
    from kilo_tui.core.checkpoints import CheckpointManager, RestoreResult
    from kilo_tui.core.events import CheckpointRestored
    from kilo_tui.core.sessions import SessionStore


def restore(
    manager: CheckpointManager,
    store: SessionStore,
    checkpoint_id: str,
    *,
    with_task: bool,
    task_id: str | None = None,
) -> RestoreResult:
    """Restore the files to a checkpoint and, ``with_task``, its conversation point.

    ``task_id``: the task the restore belongs to in the undo history (default: the
    checkpoint's). If the files cannot be restored, the conversation is left as it was.
    """
    target = manager.get(checkpoint_id)
    aside = None
    if with_task:
        if not target.task_id or target.message_index is None:
            raise CheckpointError(
                f"checkpoint {target.short} belongs to no conversation: restore files only"
            )
        aside = store.set_aside(target.task_id, target.message_index)
    try:
        return manager.restore(
            target.id, task_id=task_id, conversation=aside if aside and aside["messages"] else None
        )
    except BaseException:
        if aside:
            store.set_active(aside, True)
        raise


def undo(manager: CheckpointManager, store: SessionStore, task_id: str | None) -> RestoreResult:
    """``/undo``: take back the latest step (with the messages a restore set aside)."""
    result = manager.undo(task_id)
    if result.conversation:
        store.set_active(result.conversation, True)
    return result


def redo(manager: CheckpointManager, store: SessionStore) -> RestoreResult:
    """``/redo``: re-apply what the latest ``/undo`` took back."""
    result = manager.redo()
    if result.conversation:
        store.set_active(result.conversation, False)
    return result


def summary(event: CheckpointRestored, *, shown: int = 8) -> str:
    """One line for the chat: what a restore, undo or redo changed."""
    verb = {"undo": "undo: back to", "redo": "redo: back to"}.get(event.action, "restored")
    head = f"{verb} checkpoint {event.checkpoint_id[:8]}"
    if event.messages:
        done = "brought back" if event.action == "undo" else "set aside"
        head += f" — {event.messages} conversation message(s) {done}"
    parts = [
        f"{title}: {_names(files, shown)}"
        for title, files in (
            ("modified", event.modified),
            ("brought back", event.added_back),
            ("permissions set back", event.modes),
            ("removed", event.removed),
            ("not tracked, left as is", event.untracked),
        )
        if files
    ]
    if not (event.modified or event.added_back or event.removed or event.modes):
        parts.insert(0, "no file changed")
    return f"{head}: {'; '.join(parts)}"


def _names(files: tuple[str, ...], shown: int) -> str:
    more = f" and {len(files) - shown} more" if len(files) > shown else ""
    return ", ".join(files[:shown]) + more
