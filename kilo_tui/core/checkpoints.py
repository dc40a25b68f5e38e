"""Checkpoints: shadow-git snapshots of the workspace that a restore can never lose.

One shadow repository per workspace lives at :func:`paths.checkpoints_dir`: its own git
directory, with the workspace as work tree. The user's ``.git`` is never read or
written, so checkpoints work the same in a git repository, in a plain directory and
next to nested repositories.

Each checkpoint is a root commit kept alive by ``refs/kilo/checkpoints/<sha>``; its
message ends with a ``Kilo-Checkpoint:`` JSON line (trigger, task, message index,
stats), so the shadow repository describes itself and :meth:`CheckpointManager.list`
only parses commits. Root commits (rather than one chain) let :meth:`prune` drop old
checkpoints without rewriting the ids of the ones it keeps.

Snapshotting goes through a persistent index in the shadow directory, so the stat
cache makes an incremental checkpoint cost about what ``git add -A && git write-tree``
costs. A restore first checkpoints the current state, then runs a two-tree
``read-tree -m -u`` which rewrites only the files that differ and refuses to clobber
anything the snapshot does not hold: files never snapshotted (ignored, excluded, over
the size cap) and kilo-tui's own state in the workspace (:data:`STATE_FILES`) are left
as they are. Git keeps only 644/755, so each checkpoint also records the files' exact
permission bits (``modes`` in its metadata) and a restore re-applies them.

``/undo`` and ``/redo`` walk one history of steps: the agent's changes and the restores
(a restore may carry the conversation messages it set aside, so undoing it brings them
back; :mod:`kilo_tui.core.timeline` does the conversation half).

Every method is synchronous (git subprocesses); the agent calls them through
``asyncio.to_thread``. Each public operation holds an ``flock`` on a lock file next to
the shadow repository (handed down to its git processes too), so two kilo-tui processes
on one workspace take turns instead of failing on each other's ``index.lock``; and a git
lock file found while holding it is a leftover of a killed process, safe to remove.
"""

from __future__ import annotations

import builtins
import contextlib
import dataclasses
import errno
import fcntl
import json
import logging
import os
import shutil
import stat
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kilo_tui.core import paths
from kilo_tui.core.testhooks import fault_point

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from kilo_tui.core.config import CheckpointSettings

DEFAULT_EXCLUDES: tuple[str, ...] = (
    "node_modules/",
    "bower_components/",
    "jspm_packages/",
    ".pnpm-store/",
    ".yarn/cache/",
    ".venv/",
    "venv/",
    "__pycache__/",
    "*.py[cod]",
    "*.egg-info/",
    ".mypy_cache/",
    ".pytest_cache/",
    ".ruff_cache/",
    ".tox/",
    ".nox/",
    "htmlcov/",
    ".coverage",
    "dist/",
    "build/",
    "target/",
    "vendor/",
    ".next/",
    ".nuxt/",
    ".svelte-kit/",
    ".turbo/",
    ".parcel-cache/",
    ".cache/",
    ".gradle/",
    ".dart_tool/",
    ".terraform/",
    "Pods/",
    "DerivedData/",
    ".DS_Store",
)
"""Dependency, build and cache folders that are never snapshotted (gitignore syntax)."""

USER_MESSAGE = "user_message"
"""The trigger of the checkpoint taken when the user sends a message."""
END_OF_TURN = "end_of_turn"
"""The trigger of the checkpoint taken when the agent's turn ends."""

_REF_PREFIX = "refs/kilo/checkpoints/"
_LATEST_REF = "refs/kilo/latest"
_TRAILER = "Kilo-Checkpoint: "
_EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
_Side = tuple[str, dict[str, Any] | None]
"""A state to compare: its tree and the permission bits recorded with it."""
_EMPTY_BLOB = "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"
_PLACEHOLDER = ".kilo-tui-nested-repo-placeholder"
_UNDO_FILE = "kilo-tui-undo.json"
STATE_FILES: tuple[str, ...] = (".kilocode/kilo-tui.toml",)
"""kilo-tui's own state in the workspace (the rules the user granted): a restore never
reverts it."""
_MAX_ACTIONS = 500
_LARGE_FILES = "kilo-tui-large-files.json"
_FEW_NEW_FILES = 200
_GIT_LOCKS = ("index.lock", "index.restore.lock", "HEAD.lock", "packed-refs.lock", "config.lock")
"""Lock files git leaves behind when it is killed (ref locks are found under refs/)."""
WAITING_MESSAGE = "waiting for another kilo-tui's checkpoint…"
"""Up to this many new files are added by name; more, and ``git add -A`` is faster."""

# Applied to every git call: the user's config, hooks, signing and filters never apply.
_CONFIG = {
    "core.hooksPath": os.devnull,
    "core.fsmonitor": "false",
    "core.autocrlf": "false",
    "core.safecrlf": "false",
    "core.untrackedCache": "false",
    "core.splitIndex": "false",
    "core.sparseCheckout": "false",
    "core.logAllRefUpdates": "false",
    "core.quotePath": "false",
    "commit.gpgSign": "false",
    "gc.auto": "0",
    "maintenance.auto": "false",
    "submodule.recurse": "false",
    "advice.addEmbeddedRepo": "false",
}
# Content goes in and comes out byte for byte: no line-ending or filter conversion.
_ATTRIBUTES = "* -text -filter -ident -working-tree-encoding\n"


def trigger_kind(trigger: str) -> str:
    """``user`` (a user message), ``turn`` (the end of the agent's turn), ``safety``
    (taken before a restore), ``restore``, or ``tool`` (taken before a tool that may
    change files: only these count as the agent's changes for ``/undo``)."""
    if trigger == USER_MESSAGE:
        return "user"
    if trigger == END_OF_TURN:
        return "turn"
    if trigger.startswith("before restore"):
        return "safety"
    if trigger.startswith("restore"):
        return "restore"
    return "tool"


class CheckpointError(Exception):
    """A checkpoint operation failed; the message is meant for the user."""


class CheckpointsDisabled(CheckpointError):
    """Checkpoints are turned off in the settings."""


@dataclass(frozen=True)
class Checkpoint:
    """One snapshot of the workspace, with what triggered it and what changed since
    the previous checkpoint."""

    id: str
    created_at: datetime
    trigger: str
    task_id: str = ""
    message_index: int | None = None
    files_changed: int = 0
    insertions: int = 0
    deletions: int = 0
    seq: int = 0
    tree: str = ""
    restore_target: str | None = None
    """For a ``restore`` checkpoint: the checkpoint that was restored."""
    safety: str | None = None
    """For a ``restore`` checkpoint: the checkpoint of the state before it."""
    modes: dict[str, Any] | None = field(default=None, compare=False)
    """Permission bits: ``file`` and ``exec`` (the usual ones of each kind) and
    ``other`` (path -> bits of the files that differ). None for older checkpoints."""

    @property
    def short(self) -> str:
        return self.id[:8]

    @property
    def kind(self) -> str:
        """``user``, ``turn``, ``tool``, ``safety`` or ``restore``: see :func:`trigger_kind`."""
        return trigger_kind(self.trigger)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (``created_at`` as ISO 8601)."""
        data = asdict(self)
        data.pop("modes")
        data["created_at"] = self.created_at.isoformat()
        return data


@dataclass(frozen=True)
class FileChange:
    """One file that differs between two states."""

    path: str
    status: str
    """``added``, ``modified``, ``deleted`` or ``mode`` (only the permission bits)."""
    insertions: int = 0
    deletions: int = 0
    binary: bool = False


@dataclass(frozen=True)
class RestorePlan:
    """What a restore will do to the work tree."""

    modified: tuple[str, ...] = ()
    added_back: tuple[str, ...] = ()
    """Files missing now that the restore writes back."""
    removed: tuple[str, ...] = ()
    """Files that exist now but not at the target: the restore deletes them."""
    kept: tuple[str, ...] = ()
    """Files at the target that exist now but are not snapshotted (ignored or too
    large): the restore leaves them alone rather than overwrite unsaved content."""
    untracked: tuple[str, ...] = ()
    """Everything in the workspace that is not snapshotted (ignored, excluded, over the
    size cap; a folder ends with ``/``): not tracked, left as is."""
    modes: tuple[str, ...] = ()
    """Files whose content matches but whose permission bits (0600, executable…) the
    restore sets back."""

    @property
    def is_empty(self) -> bool:
        return not (self.modified or self.added_back or self.removed or self.modes)


@dataclass(frozen=True)
class RestoreResult:
    """The outcome of a restore: undo it by restoring ``safety``."""

    target: Checkpoint
    safety: Checkpoint
    """The checkpoint of the state just before the restore."""
    checkpoint: Checkpoint | None
    """The ``restore`` checkpoint recording the new state (None when nothing changed)."""
    plan: RestorePlan = field(default_factory=RestorePlan)
    conversation: dict[str, Any] | None = None
    """The conversation messages the restore set aside (``SessionStore.set_aside``):
    an undo brings them back, a redo sets them aside again."""


class CheckpointManager:
    """Snapshots, diffs and restores one workspace through its shadow repository.

    ``enabled=False`` turns every operation off: :meth:`save` returns None,
    :meth:`list` returns [] and the others raise :class:`CheckpointsDisabled`.
    ``timeout`` bounds a snapshot; ``max_file_size`` (bytes, 0 = no cap) skips files
    above it; ``extra_excludes`` adds gitignore patterns to the defaults;
    ``retention_days`` is what :meth:`prune` removes when given no limits.
    ``lock_wait`` bounds the wait for another process's operation on the same
    workspace; ``on_wait(message)`` is called (from the calling thread) when it starts.
    """

    def __init__(
        self,
        workspace: Path,
        *,
        enabled: bool = True,
        max_file_size: int = 10_000_000,
        extra_excludes: Sequence[str] = (),
        timeout: float = 15.0,
        retention_days: float | None = 30.0,
        lock_wait: float = 60.0,
        on_wait: Callable[[str], None] | None = None,
    ) -> None:
        self.workspace = Path(workspace).resolve()
        self.git_dir = paths.checkpoints_dir(self.workspace)
        self.enabled = enabled
        self.max_file_size = max_file_size
        self.extra_excludes = tuple(extra_excludes)
        self.timeout = timeout
        self.retention_days = retention_days
        self.lock_wait = lock_wait
        self.on_wait = on_wait
        self._lock = threading.RLock()
        self._lock_depth = 0
        self._lock_fd = -1
        self._ready = False

    @classmethod
    def from_settings(cls, workspace: Path, settings: CheckpointSettings) -> CheckpointManager:
        """A manager configured by the ``[checkpoints]`` section of the settings."""
        return cls(
            workspace,
            enabled=settings.enabled,
            max_file_size=settings.max_file_size,
            extra_excludes=settings.exclude,
            timeout=settings.timeout,
            retention_days=settings.retention_days,
        )

    # ------------------------------------------------------------------ public

    def save(
        self, trigger: str, *, task_id: str = "", message_index: int | None = None
    ) -> Checkpoint | None:
        """Checkpoint the workspace if it differs from the last checkpoint.

        ``message_index`` is how many conversation messages existed when it was taken,
        so restoring "files and task" keeps exactly those
        (``SessionStore.rewind_to_message(task_id, message_index)``).

        Returns the new checkpoint, or None when nothing changed (or checkpoints are
        off). Raises :class:`CheckpointError` when git is missing or the snapshot does
        not finish within ``timeout`` seconds.
        """
        if not self.enabled:
            return None
        with self.locked():
            self._setup()
            latest = self._latest()
            tree, changes = self._snapshot(latest.tree if latest else _EMPTY_TREE)
            modes = self._modes()
            fault_point("checkpoint")
            checkpoint = None
            # Another task's checkpoint of the same files (a second kilo-tui on this
            # workspace) does not stand for this task's: each task's timeline is whole.
            theirs = latest is not None and bool(task_id) and latest.task_id != task_id
            if latest is None or tree != latest.tree or modes != latest.modes or theirs:
                checkpoint = self._commit(
                    trigger,
                    tree,
                    changes,
                    latest,
                    modes=modes,
                    task_id=task_id,
                    message_index=message_index,
                )
            before = checkpoint or latest
            if before is not None and trigger_kind(trigger) == "tool":
                self._record_action(before.id, trigger, task_id)
            return checkpoint

    def list(self, task_id: str | None = None) -> builtins.list[Checkpoint]:
        """All checkpoints (or one task's), oldest first."""
        if not self.enabled:
            return []
        with self.locked():
            self._setup()
            fmt = "%(objectname)%00%(tree)%00%(contents)%00"
            out = self._git("for-each-ref", f"--format={fmt}", _REF_PREFIX).decode(errors="replace")
            checkpoints = [
                cp
                for record in out.split("\0\n")
                if record.strip() and (cp := _parse_record(record)) is not None
            ]
            if task_id is not None:
                checkpoints = [cp for cp in checkpoints if cp.task_id == task_id]
            return sorted(checkpoints, key=lambda cp: (cp.seq, cp.created_at))

    def get(self, checkpoint_id: str) -> Checkpoint:
        """The checkpoint with this id or unambiguous id prefix."""
        self._check_enabled()
        wanted = checkpoint_id.strip().lower()
        if len(wanted) < 4 or any(c not in "0123456789abcdef" for c in wanted):
            raise CheckpointError(f"{checkpoint_id!r} is not a checkpoint id")
        matches = [cp for cp in self.list() if cp.id.startswith(wanted)]
        if not matches:
            raise CheckpointError(f"no checkpoint {checkpoint_id} in {self.workspace}")
        if len(matches) > 1:
            raise CheckpointError(f"checkpoint id {checkpoint_id} is ambiguous")
        return matches[0]

    def diff(self, a: str, b: str | None = None) -> str:
        """Unified diff from checkpoint ``a`` to ``b`` (None: the working tree now),
        with git's ``old mode``/``new mode`` headers also for the permission bits git
        does not track (0600)."""
        with self.locked():
            (old, old_modes), (new, new_modes) = self._sides(a, b)
            args = ("diff-tree", "-p", "-r", "--no-renames", "--no-ext-diff", "--no-color")
            text = self._git(*args, old, new).decode(errors="replace")
            return text + "".join(
                f"diff --git a/{path} b/{path}\n"
                f"old mode {0o100000 | before:o}\nnew mode {0o100000 | after:o}\n"
                for path, (before, after) in self._mode_changes(
                    old, old_modes, new, new_modes
                ).items()
            )

    def changed_files(self, a: str, b: str | None = None) -> builtins.list[FileChange]:
        """The files that differ from checkpoint ``a`` to ``b`` (None: now), with stats."""
        with self.locked():
            (old, old_modes), (new, new_modes) = self._sides(a, b)
            changes = self._mode_changes(old, old_modes, new, new_modes)
            return self._changes(old, new) + [FileChange(path, "mode") for path in changes]

    def file_at(self, checkpoint: str, path: str) -> bytes | None:
        """A file's content at a checkpoint, or None if it did not exist there."""
        with self.locked():
            tree = self.get(checkpoint).tree
            out = self._git("ls-tree", "-z", tree, "--", path).decode(errors="surrogateescape")
            entry = out.split("\0")[0]
            if not entry or entry.split()[1] != "blob":
                return None
            return self._git("cat-file", "blob", entry.split()[2])

    def plan_restore(self, checkpoint_id: str) -> RestorePlan:
        """What restoring this checkpoint would change, without changing anything."""
        with self.locked():
            target = self.get(checkpoint_id)
            latest = self._latest()
            current, _ = self._snapshot(latest.tree if latest else _EMPTY_TREE)
            return self._resolve(current, self._modes(), target)[1]

    def restore(
        self,
        checkpoint_id: str,
        *,
        task_id: str | None = None,
        conversation: dict[str, Any] | None = None,
    ) -> RestoreResult:
        """Make the work tree match a checkpoint, after checkpointing the current state.

        Only files that differ are rewritten; files the target lacks are deleted if the
        snapshot holds them (files never snapshotted and :data:`STATE_FILES` are never
        touched). The restore is a step of the undo history: :meth:`undo` takes it
        back, with ``conversation`` (what the caller set aside of the conversation).
        """
        with self.locked():
            result = self._restore(checkpoint_id, task_id)
            if result.checkpoint is not None or conversation:
                step = {
                    "kind": "restore",
                    "checkpoint": result.safety.id,
                    "task_id": result.target.task_id if task_id is None else task_id,
                    "conversation": conversation,
                }
                self._push_step(step)
            return dataclasses.replace(result, conversation=conversation)

    def undo(self, task_id: str | None = None) -> RestoreResult:
        """Take back the latest step not undone yet (``/undo``): a restore, or the
        agent's change (only ``task_id``'s steps, when given).

        Walks back through the steps (newest first, skipping ones already undone) to
        the first whose state differs from the work tree now, so a step that changed
        nothing (a read-only command) is not counted. The whole tree is restored:
        edits the user made since then are undone too (and come back with :meth:`redo`).
        """
        with self.locked():
            self._check_enabled()
            self._setup()
            state = self._load_undo_state()
            steps = state["steps"]
            end = len(steps) if state["undone"] is None else state["undone"]
            latest = self._latest()
            current, _ = self._snapshot(latest.tree if latest else _EMPTY_TREE)
            trees = {cp.id: cp.tree for cp in self.list()}
            for index in range(end - 1, -1, -1):
                step = steps[index]
                if task_id is not None and step["task_id"] != task_id:
                    continue
                tree = trees.get(step["checkpoint"])
                if tree is None or (tree == current and not step.get("conversation")):
                    continue
                result = self._restore(step["checkpoint"], None)
                state = self._load_undo_state()
                redo = {"checkpoint": result.safety.id, "undone": state["undone"]}
                state["redo"].append({**redo, "conversation": step.get("conversation")})
                state["undone"] = index
                self._save_undo_state(state)
                return dataclasses.replace(result, conversation=step.get("conversation"))
            raise CheckpointError("nothing to undo: no change or restore since the last undo")

    def redo(self) -> RestoreResult:
        """Re-apply the step the latest :meth:`undo` took back (``/redo``)."""
        with self.locked():
            self._check_enabled()
            state = self._load_undo_state()
            if not state["redo"]:
                raise CheckpointError("nothing to redo: no undo to take back")
            entry = state["redo"][-1]
            result = self._restore(entry["checkpoint"], None)
            state = self._load_undo_state()
            state["redo"].pop()
            state["undone"] = entry["undone"]
            self._save_undo_state(state)
            return dataclasses.replace(result, conversation=entry.get("conversation"))

    def prune(self, *, keep: int | None = None, older_than: float | None = None) -> int:
        """Delete checkpoints beyond the newest ``keep`` or older than ``older_than``
        days (neither: the ``retention_days`` setting). The newest is always kept.
        Returns how many were deleted."""
        self._check_enabled()
        with self.locked():
            if keep is None and older_than is None:
                older_than = self.retention_days
            checkpoints = self.list()
            victims: set[str] = set()
            if keep is not None:
                victims.update(cp.id for cp in checkpoints[: max(len(checkpoints) - keep, 0)])
            if older_than is not None:
                cutoff = datetime.now(UTC) - timedelta(days=older_than)
                victims.update(cp.id for cp in checkpoints if cp.created_at < cutoff)
            if checkpoints:
                victims.discard(checkpoints[-1].id)
            if not victims:
                return 0
            commands = "".join(f"delete {_REF_PREFIX}{cid}\n" for cid in sorted(victims))
            self._git("update-ref", "--stdin", input=commands.encode())
            self._git("gc", "--prune=now", "--quiet")
            state = self._load_undo_state()
            self._save_undo_state(
                {
                    "steps": [a for a in state["steps"] if a["checkpoint"] not in victims],
                    "undone": None,
                    "redo": [r for r in state["redo"] if r["checkpoint"] not in victims],
                }
            )
            return len(victims)

    # ------------------------------------------------------------------- locks

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the workspace's checkpoint lock, against other threads and processes.

        Re-entrant. The first entry takes an ``flock`` on ``<shadow dir>.lock``, waiting
        at most ``lock_wait`` seconds for another kilo-tui, then clears git lock files a
        killed process left: nobody else can be using them while we hold the lock.
        An OS error on the shadow directory becomes a :class:`CheckpointError`.
        """
        with self._lock:
            if self._lock_depth == 0:
                self._lock_fd = self._acquire_flock()
                self._clear_stale_git_locks()
            self._lock_depth += 1
            try:
                yield
            except OSError as error:  # the shadow directory itself: full disk, perms…
                raise CheckpointError(f"checkpoint storage {self.git_dir}: {error}") from error
            finally:
                self._lock_depth -= 1
                if self._lock_depth == 0:
                    os.close(self._lock_fd)
                    self._lock_fd = -1

    def _acquire_flock(self) -> int:
        path = self.git_dir.with_name(self.git_dir.name + ".lock")
        try:
            paths.ensure_dir(path.parent)
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as error:
            message = f"cannot open the checkpoint lock {path}: {error.strerror}"
            raise CheckpointError(message) from error
        deadline = time.monotonic() + self.lock_wait
        announced = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as error:
                if error.errno not in (errno.EAGAIN, errno.EACCES):
                    os.close(fd)
                    raise CheckpointError(f"cannot lock {path}: {error.strerror}") from error
            if time.monotonic() >= deadline:
                owner = _read_owner(fd)
                os.close(fd)
                raise CheckpointError(
                    f"another kilo-tui{owner} has been taking a checkpoint of "
                    f"{self.workspace} for over {self.lock_wait:g} s; try again when it is done"
                )
            if not announced and self.on_wait is not None:
                self.on_wait(WAITING_MESSAGE)
            announced = True
            time.sleep(0.05)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        return fd

    def _clear_stale_git_locks(self) -> None:
        """Remove lock files left by a git that was killed with its kilo-tui."""
        if not self.git_dir.is_dir():
            return
        stale = [self.git_dir / name for name in _GIT_LOCKS]
        stale += (self.git_dir / "refs").rglob("*.lock")
        for lock in stale:
            with contextlib.suppress(FileNotFoundError):
                lock.unlink()
                log.warning("removed a stale checkpoint lock left by a killed process: %s", lock)

    # ------------------------------------------------------------------- setup

    def _check_enabled(self) -> None:
        if not self.enabled:
            raise CheckpointsDisabled(
                "checkpoints are turned off (setting checkpoints.enabled = false)"
            )

    def _setup(self) -> None:
        """Create the shadow repository on first use and refresh its exclude rules."""
        if self._ready:
            return
        if shutil.which("git") is None:
            raise CheckpointError("checkpoints need git, and git is not installed (not on PATH)")
        if self.workspace in (Path.home().resolve(), Path(self.workspace.anchor)):
            raise CheckpointError(
                f"checkpoints are off in {self.workspace}: snapshotting a home or root "
                "directory would copy far too much; open a project directory instead"
            )
        if not self.workspace.is_dir():
            raise CheckpointError(f"workspace {self.workspace} is not a directory")
        if not (self.git_dir / "HEAD").exists():
            paths.ensure_dir(self.git_dir.parent)
            self._git("init", "--template=", "--quiet", bare=True)
            self._git("hash-object", "-w", "--stdin", input=b"")  # for placeholders
        paths.ensure_dir(self.git_dir / "info")
        (self.git_dir / "info" / "attributes").write_text(_ATTRIBUTES)
        self._write_excludes(self._load_large())
        self._ready = True

    def _write_excludes(self, large: Iterable[str] = ()) -> None:
        """Write defaults + extra excludes + ``.kilocodeignore`` + files over the size
        cap to ``info/exclude`` (only when that changes it)."""
        lines = ["# written by kilo-tui: default and configured checkpoint excludes"]
        lines += [*DEFAULT_EXCLUDES, *self.extra_excludes]
        if self.git_dir.is_relative_to(self.workspace):
            lines.append("/" + self.git_dir.relative_to(self.workspace).as_posix() + "/")
        ignore = self.workspace / ".kilocodeignore"
        if ignore.is_file():
            lines += ["# from .kilocodeignore", ignore.read_text(errors="replace")]
        lines.append(f"# over the size cap ({self.max_file_size} bytes)")
        lines += sorted("/" + _escape_pattern(p) for p in large if "\n" not in p)
        text = "\n".join(lines) + "\n"
        exclude = self.git_dir / "info" / "exclude"
        if not exclude.exists() or exclude.read_text(errors="surrogateescape") != text:
            _write_atomically(exclude, text)

    # -------------------------------------------------------------------- git

    def _env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
        env.update(
            GIT_CONFIG_NOSYSTEM="1",
            GIT_CONFIG_GLOBAL=os.devnull,
            # Also hides the user's default excludes and attributes files.
            HOME=os.devnull,
            XDG_CONFIG_HOME=os.devnull,
            GIT_TERMINAL_PROMPT="0",
            LC_ALL="C",
            GIT_AUTHOR_NAME="kilo-tui",
            GIT_AUTHOR_EMAIL="checkpoints@kilo-tui.invalid",
            GIT_COMMITTER_NAME="kilo-tui",
            GIT_COMMITTER_EMAIL="checkpoints@kilo-tui.invalid",
        )
        env.update(extra or {})
        return env

    def _git(
        self,
        *args: str,
        input: bytes | None = None,
        deadline: float | None = None,
        env: dict[str, str] | None = None,
        ok_codes: Iterable[int] = (0,),
        bare: bool = False,
    ) -> bytes:
        """Run git on the shadow repository; raise :class:`CheckpointError` on failure."""
        command = ["git", "--literal-pathspecs", "--git-dir", str(self.git_dir)]
        if not bare:
            command += ["--work-tree", str(self.workspace)]
        for key, value in _CONFIG.items():
            command += ["-c", f"{key}={value}"]
        timeout = None if deadline is None else max(deadline - time.monotonic(), 0.01)
        try:
            proc = subprocess.run(
                [*command, *args],
                cwd=self.workspace,
                env=self._env(env),
                input=input,
                capture_output=True,
                timeout=timeout,
                # An orphaned git (its kilo-tui killed) keeps the workspace locked.
                pass_fds=(self._lock_fd,) if self._lock_fd >= 0 else (),
            )
        except FileNotFoundError as error:
            raise CheckpointError("checkpoints need git, and git is not installed") from error
        except subprocess.TimeoutExpired as error:
            # The killed git may leave its lock behind; nobody else holds it (we do).
            for lock in ("index.lock", "index.restore.lock"):
                (self.git_dir / lock).unlink(missing_ok=True)
            raise CheckpointError(
                f"workspace too large to snapshot within {self.timeout:g} s "
                f"({self.workspace}): exclude big folders (checkpoints.exclude), "
                "raise checkpoints.timeout, or turn checkpoints off"
            ) from error
        if proc.returncode not in ok_codes:
            message = proc.stderr.decode(errors="replace").strip()
            raise CheckpointError(f"git {args[0]} failed: {message}")
        return proc.stdout

    # --------------------------------------------------------------- snapshot

    def _snapshot(self, previous_tree: str) -> tuple[str, builtins.list[FileChange]]:
        """Stage the work tree into the shadow index; return its tree id and what
        changed since ``previous_tree``.

        A listing of the new files comes first: the ones over the size cap join the
        excludes, nested repositories get a placeholder. A few new files are then
        added by name and ``git add -u`` refreshes the tracked ones (the index's stat
        cache makes that proportional to what changed); many new files, or a nested
        repository, go through ``git add -A``, which hashes new files several times
        faster than ``update-index``.
        """
        deadline = time.monotonic() + self.timeout
        large = {p for p in self._load_large() if self._too_large(p)}
        self._write_excludes(large)
        new_files, nested = self._untracked(deadline)
        if too_large := {p for p in new_files if self._too_large(p)}:
            large |= too_large
            self._write_excludes(large)
        new_files = [p for p in new_files if p not in large]
        if nested or len(new_files) > _FEW_NEW_FILES:
            self._expose_nested_repos(nested, deadline)
            staging = ("add", "-A")
        else:
            # The listing already found the new files: no need for add -A to look again.
            if readable := [p for p in new_files if self._readable(p)]:
                stdin = "\0".join(readable).encode(errors="surrogateescape") + b"\0"
                self._git("update-index", "--add", "-z", "--stdin", input=stdin, deadline=deadline)
            staging = ("add", "-u")
        # Exit code 1 = some file could not be read: snapshot the rest.
        self._git(*staging, "--ignore-errors", deadline=deadline, ok_codes=(0, 1))
        tree = self._git("write-tree", deadline=deadline).decode().strip()
        changes = [] if tree == previous_tree else self._changes(previous_tree, tree)
        # A tracked file that grew past the cap: out of the snapshot, into the excludes.
        if grown := {c.path for c in changes if c.status != "deleted" and self._too_large(c.path)}:
            stdin = "\0".join(grown).encode(errors="surrogateescape") + b"\0"
            self._git("update-index", "--force-remove", "-z", "--stdin", input=stdin)
            large |= grown
            self._write_excludes(large)
            tree = self._git("write-tree", deadline=deadline).decode().strip()
            changes = [c for c in changes if c.path not in grown]
        self._save_large(large)
        return tree, changes

    def _untracked(self, deadline: float) -> tuple[builtins.list[str], builtins.list[str]]:
        """New files (not ignored), and nested repositories (``dir/``) to walk into."""
        listing = ("ls-files", "-z", "--others", "--exclude-standard")
        found = self._git(*listing, deadline=deadline).decode(errors="surrogateescape")
        entries = [p for p in found.split("\0") if p]
        return [p for p in entries if not p.endswith("/")], [p for p in entries if p.endswith("/")]

    def _expose_nested_repos(self, nested: builtins.list[str], deadline: float) -> None:
        """Make ``git add -A`` snapshot the files of nested repositories.

        Git treats a directory holding a repository as one gitlink entry, so its files
        would be missing from the snapshot, unless the index already holds a path
        under it: then git walks into it like any tracked folder. A placeholder entry
        in each one does that; ``git add -A`` then drops the placeholders (no such
        files) and adds the real files. Listing again through the placeholders finds
        repositories nested deeper. Their own ``.git`` is never snapshotted.
        """
        listing = ("ls-files", "-z", "--others", "--exclude-standard", "--")
        seen: set[str] = set()
        while nested and len(seen) < 1000:
            seen.update(nested)
            info = "".join(f"100644 {_EMPTY_BLOB}\t{repo}{_PLACEHOLDER}\n" for repo in nested)
            self._git(
                "update-index",
                "--add",
                "--index-info",
                input=info.encode(errors="surrogateescape"),
            )
            found = self._git(*listing, *nested, deadline=deadline).decode(errors="surrogateescape")
            nested = [p for p in found.split("\0") if p.endswith("/") and p not in seen]

    def _readable(self, path: str) -> bool:
        """Whether update-index can add it (an unreadable file would abort the batch)."""
        full = self.workspace / path
        return full.is_symlink() or os.access(full, os.R_OK)

    def _too_large(self, path: str) -> bool:
        if not self.max_file_size:
            return False
        try:
            info = (self.workspace / path).lstat()
        except OSError:
            return False
        return stat.S_ISREG(info.st_mode) and info.st_size > self.max_file_size

    def _load_large(self) -> set[str]:
        try:
            return set(json.loads((self.git_dir / _LARGE_FILES).read_text()))
        except (OSError, ValueError, TypeError):
            return set()

    def _save_large(self, large: set[str]) -> None:
        if large != self._load_large():
            _write_atomically(self.git_dir / _LARGE_FILES, json.dumps(sorted(large)))

    # ---------------------------------------------------------------- commits

    def _latest(self) -> Checkpoint | None:
        fmt = "%(objectname)%00%(tree)%00%(contents)%00"
        out = self._git("for-each-ref", f"--format={fmt}", _LATEST_REF).decode(errors="replace")
        return _parse_record(out.split("\0\n")[0]) if out.strip() else None

    def _commit(
        self,
        trigger: str,
        tree: str,
        changes: Sequence[FileChange],
        previous: Checkpoint | None,
        *,
        modes: dict[str, Any],
        task_id: str,
        message_index: int | None,
        restore_target: str | None = None,
    ) -> Checkpoint:
        meta: dict[str, Any] = {
            "v": 1,
            "trigger": trigger,
            "task_id": task_id,
            "message_index": message_index,
            "created_at": datetime.now(UTC).isoformat(timespec="microseconds"),
            "seq": previous.seq + 1 if previous else 1,
            "files_changed": len(changes),
            "insertions": sum(c.insertions for c in changes),
            "deletions": sum(c.deletions for c in changes),
            "modes": modes,
        }
        if restore_target is not None:
            meta["restore_target"] = restore_target
            meta["safety"] = previous.id if previous else None
        message = f"{trigger}\n\n{_TRAILER}{json.dumps(meta, sort_keys=True)}\n"
        sha = (
            self._git("commit-tree", tree, input=message.encode(errors="replace")).decode().strip()
        )
        old = previous.id if previous else "0" * 40
        refs = f"create {_REF_PREFIX}{sha} {sha}\nupdate {_LATEST_REF} {sha} {old}\n"
        self._git("update-ref", "--stdin", input=refs.encode())
        checkpoint = _checkpoint_from_meta(sha, tree, meta)
        assert checkpoint is not None
        return checkpoint

    def _changes(
        self, old: str, new: str, *, deadline: float | None = None
    ) -> builtins.list[FileChange]:
        """Per-file status and line stats between two trees."""
        args = ("diff-tree", "-r", "-z", "--no-renames", "--raw", "--numstat", old, new)
        out = self._git(*args, deadline=deadline).decode(errors="surrogateescape")
        tokens = out.split("\0")
        statuses: dict[str, str] = {}
        stats: dict[str, tuple[str, str]] = {}
        i = 0
        while i < len(tokens) - 1:
            token = tokens[i]
            if token.startswith(":"):
                _, _, old_blob, new_blob, code = token.split()
                statuses[tokens[i + 1]] = "T" if code == "M" and old_blob == new_blob else code
                i += 2
            else:
                added, deleted, path = token.split("\t", 2)
                stats[path] = (added, deleted)
                i += 1
        names = {"A": "added", "D": "deleted", "T": "mode"}
        changes = []
        for path, code in statuses.items():
            added, deleted = stats.get(path, ("0", "0"))
            binary = added == "-"
            changes.append(
                FileChange(
                    path=path,
                    status=names.get(code, "modified"),
                    insertions=0 if binary else int(added),
                    deletions=0 if binary else int(deleted),
                    binary=binary,
                )
            )
        return changes

    # ---------------------------------------------------------------- restore

    def _restore(self, checkpoint_id: str, task_id: str | None) -> RestoreResult:
        target = self.get(checkpoint_id)
        task = target.task_id if task_id is None else task_id
        safety = self.save(f"before restore to {target.short}", task_id=task)
        if safety is None:
            safety = self._latest()
            assert safety is not None  # the target exists, so there is a latest
        tree, plan = self._resolve(safety.tree, safety.modes, target)
        if tree != safety.tree:
            self._git("read-tree", "-m", "-u", safety.tree, tree)
        if target.modes is None:  # an older checkpoint: modes as they are
            modes = self._modes()
        else:
            written = {*plan.modified, *plan.added_back, *plan.modes}
            self._apply_modes(tree, target.modes, safety.modes, written)
            # What the files now have, without another lstat of each: the target's
            # bits, but for the paths the restore kept as they were.
            kept = {*plan.kept, *STATE_FILES}
            other = {p: b for p, b in target.modes.get("other", {}).items() if p not in kept}
            other |= {p: b for p, b in (safety.modes or {}).get("other", {}).items() if p in kept}
            modes = {**target.modes, "other": other}
        if tree == safety.tree and modes == safety.modes:
            return RestoreResult(target, safety, None, plan)
        checkpoint = self._commit(
            f"restore {target.short}",
            tree,
            self._changes(safety.tree, tree),
            safety,
            modes=modes,
            task_id=task,
            message_index=target.message_index,
            restore_target=target.id,
        )
        return RestoreResult(target, safety, checkpoint, plan)

    def _sides(self, a: str, b: str | None) -> tuple[_Side, _Side]:
        """The tree and recorded modes of checkpoints ``a`` and ``b`` (None: now)."""
        old = self.get(a)
        if b is not None:
            new = self.get(b)
            return (old.tree, old.modes), (new.tree, new.modes)
        latest = self._latest()
        now = self._snapshot(latest.tree if latest else _EMPTY_TREE)[0]
        return (old.tree, old.modes), (now, self._modes())

    def _resolve(
        self, current: str, current_modes: dict[str, Any] | None, target: Checkpoint
    ) -> tuple[str, RestorePlan]:
        """The tree a restore from ``current`` to ``target`` writes, and its plan.

        It is ``target``'s, except that files not snapshotted now (``kept``) and
        :data:`STATE_FILES` stay as they are.
        """
        modes = list(self._mode_changes(current, current_modes, target.tree, target.modes))
        modified: builtins.list[str] = []
        added_back: builtins.list[str] = []
        removed: builtins.list[str] = []
        kept: builtins.list[str] = []
        state: builtins.list[str] = []
        for change in self._changes(current, target.tree):
            if change.path in STATE_FILES:
                state.append(change.path)
            elif change.status == "deleted":
                removed.append(change.path)
            elif change.status == "modified":
                modified.append(change.path)
            elif change.status == "mode":
                modes.append(change.path)
            elif os.path.lexists(self.workspace / change.path):
                kept.append(change.path)
            else:
                added_back.append(change.path)
        plan = RestorePlan(
            tuple(modified),
            tuple(added_back),
            tuple(removed),
            tuple(kept),
            self._ignored(),
            modes=tuple(sorted(modes)),
        )
        tree = target.tree
        if kept or state:
            tree = self._tree_keeping(tree, current, [*kept, *state])
        return tree, plan

    def _ignored(self) -> tuple[str, ...]:
        """What is in the workspace but not snapshotted (ignored folders as ``dir/``)."""
        listing = ("ls-files", "-z", "--others", "--ignored", "--exclude-standard", "--directory")
        found = self._git(*listing).decode(errors="surrogateescape")
        own = (
            self.git_dir.relative_to(self.workspace).as_posix() + "/"
            if (self.git_dir.is_relative_to(self.workspace))
            else None
        )
        return tuple(sorted(p for p in found.split("\0") if p and p != own))

    def _tree_keeping(self, tree: str, current: str, paths_: Sequence[str]) -> str:
        """``tree`` with ``paths_`` as they are in ``current`` (absent if absent there),
        built in a scratch index."""
        env = {"GIT_INDEX_FILE": str(self.git_dir / "index.restore")}
        self._git("read-tree", tree, env=env)
        stdin = "\0".join(paths_).encode(errors="surrogateescape") + b"\0"
        self._git("update-index", "--force-remove", "-z", "--stdin", input=stdin, env=env)
        entries = self._git("ls-tree", "-r", "-z", current, "--", *paths_)
        if entries:
            self._git("update-index", "-z", "--index-info", input=entries, env=env)
        return self._git("write-tree", env=env).decode().strip()

    # ------------------------------------------------------------------ modes

    def _modes(self) -> dict[str, Any]:
        """The permission bits of the files in the shadow index (just snapshotted).

        One ``lstat`` per file (git's index keeps only 644/755); written for speed.
        """
        listing = self._git("ls-files", "-z", "--stage").decode(errors="surrogateescape")
        root = str(self.workspace) + os.sep
        lstat, imode = os.lstat, stat.S_IMODE
        kinds: dict[str, dict[str, int]] = {"100644": {}, "100755": {}}
        for entry in listing.split("\0"):
            found = kinds.get(entry[:6])
            if found is None:
                continue  # symlinks, nested-repository links, the trailing empty entry
            path = entry.partition("\t")[2]
            try:
                found[path] = imode(lstat(root + path).st_mode)
            except OSError:
                continue
        modes: dict[str, Any] = {"file": 0o644, "exec": 0o755, "other": {}}
        for kind, found in (("file", kinds["100644"]), ("exec", kinds["100755"])):
            if found:
                modes[kind] = Counter(found.values()).most_common(1)[0][0]
                modes["other"].update({p: b for p, b in found.items() if b != modes[kind]})
        return modes

    def _mode_changes(
        self,
        old: str,
        old_modes: dict[str, Any] | None,
        new: str,
        new_modes: dict[str, Any] | None,
    ) -> dict[str, tuple[int, int]]:
        """Files in both trees, under the same git mode, whose recorded permission bits
        differ (0644 → 0600): ``{path: (old bits, new bits)}``. Git cannot see these."""
        if not old_modes or not new_modes:
            return {}
        old_other, new_other = old_modes.get("other") or {}, new_modes.get("other") or {}
        only: tuple[str, ...] = ()
        if all(old_modes.get(k) == new_modes.get(k) for k in ("file", "exec")):
            only = tuple({*old_other, *new_other})  # the others all share the usual bits
            if not only:
                return {}
        before = self._regular_files(old, only)
        changed: dict[str, tuple[int, int]] = {}
        for path, git_mode in self._regular_files(new, only).items():
            if before.get(path) != git_mode or path in STATE_FILES:
                continue
            kind = "exec" if git_mode == "100755" else "file"
            bits = (
                int(old_other.get(path, old_modes[kind])),
                int(new_other.get(path, new_modes[kind])),
            )
            if bits[0] != bits[1]:
                changed[path] = bits
        return dict(sorted(changed.items()))

    def _regular_files(self, tree: str, only: Sequence[str] = ()) -> dict[str, str]:
        """The regular files of ``tree`` (of ``only``, when given) and their git modes."""
        listing = self._git("ls-tree", "-r", "-z", tree, "--", *only)
        files: dict[str, str] = {}
        for entry in listing.decode(errors="surrogateescape").split("\0"):
            info, _, path = entry.partition("\t")
            if info[:6] in ("100644", "100755"):
                files[path] = info[:6]
        return files

    def _apply_modes(
        self, tree: str, modes: dict[str, Any], before: dict[str, Any] | None, written: set[str]
    ) -> None:
        """Give the files of ``tree`` the permission bits recorded in ``modes``.

        ``before`` (the modes just snapshotted) and ``written`` (the files the restore
        rewrote) narrow it to the files that can differ; without ``before``, or when the
        usual bits changed, every file is checked.
        """
        other: dict[str, int] = modes.get("other") or {}
        candidates: set[str] | None = None
        if before is not None and all(before.get(k) == modes.get(k) for k in ("file", "exec")):
            candidates = written | set(other) | set(before.get("other") or {})
        for path, git_mode in self._regular_files(tree).items():
            if path in STATE_FILES:
                continue
            if candidates is not None and path not in candidates:
                continue
            wanted = int(other.get(path, modes["exec" if git_mode == "100755" else "file"]))
            full = self.workspace / path
            try:
                now = full.lstat()
                inside = full.resolve().is_relative_to(self.workspace)
            except OSError:
                continue
            if inside and stat.S_ISREG(now.st_mode) and stat.S_IMODE(now.st_mode) != wanted:
                os.chmod(full, wanted)

    # ------------------------------------------------------------ action log

    def _record_action(self, checkpoint_id: str, trigger: str, task_id: str) -> None:
        """Remember the state before a tool action, for :meth:`undo`."""
        self._push_step(
            {"kind": "action", "checkpoint": checkpoint_id, "trigger": trigger, "task_id": task_id}
        )

    def _push_step(self, step: dict[str, Any]) -> None:
        """A new step of the undo history; it ends any run of undos and empties redo."""
        state = self._load_undo_state()
        state["steps"] = [*state["steps"], step][-_MAX_ACTIONS:]
        self._save_undo_state({**state, "undone": None, "redo": []})

    def _load_undo_state(self) -> dict[str, Any]:
        """``steps`` (agent changes and restores, oldest first: the checkpoint to go
        back to and, for a restore, the conversation it set aside), ``undone`` (index of
        the oldest step undone by the current run of ``/undo``), ``redo`` (per undo not
        taken back: the checkpoint before it, ``undone`` before it, its conversation)."""
        state: dict[str, Any] = {"steps": [], "undone": None, "redo": []}
        try:
            stored = json.loads((self.git_dir / _UNDO_FILE).read_text())
        except (OSError, ValueError):
            return state
        if isinstance(stored, dict) and "steps" in stored:
            state.update({k: v for k, v in stored.items() if k in state})
        elif isinstance(stored, dict):  # before restores were steps: keep the changes
            state["steps"] = [{"kind": "action", **a} for a in stored.get("actions", [])]
        return state

    def _save_undo_state(self, state: dict[str, Any]) -> None:
        _write_atomically(self.git_dir / _UNDO_FILE, json.dumps(state))


def _read_owner(fd: int) -> str:
    """`` (pid N)`` from the lock file, for the message; empty if unreadable."""
    try:
        pid = os.pread(fd, 32, 0).decode().strip()
    except (OSError, UnicodeDecodeError):
        return ""
    return f" (pid {pid})" if pid.isdigit() else ""


def _write_atomically(path: Path, text: str) -> None:
    scratch = path.with_name(path.name + ".tmp")
    scratch.write_text(text, errors="surrogateescape")
    scratch.replace(path)


def _escape_pattern(path: str) -> str:
    """A path as a literal gitignore pattern."""
    escaped = "".join("\\" + c if c in "\\*?[!#" else c for c in path)
    return escaped[:-1] + "\\ " if escaped.endswith(" ") else escaped


def _parse_record(record: str) -> Checkpoint | None:
    """Parse one ``objectname NUL tree NUL message`` record."""
    sha, tree, message = record.lstrip("\n").split("\0", 2)
    for line in reversed(message.splitlines()):
        if line.startswith(_TRAILER):
            try:
                meta = json.loads(line[len(_TRAILER) :])
            except ValueError:
                return None
            return _checkpoint_from_meta(sha, tree, meta)
    return None


def _checkpoint_from_meta(sha: str, tree: str, meta: dict[str, Any]) -> Checkpoint | None:
    try:
        return Checkpoint(
            id=sha,
            tree=tree,
            created_at=datetime.fromisoformat(meta["created_at"]),
            trigger=str(meta["trigger"]),
            task_id=str(meta.get("task_id") or ""),
            message_index=meta.get("message_index"),
            files_changed=int(meta.get("files_changed", 0)),
            insertions=int(meta.get("insertions", 0)),
            deletions=int(meta.get("deletions", 0)),
            seq=int(meta.get("seq", 0)),
            restore_target=meta.get("restore_target"),
            safety=meta.get("safety"),
            modes=meta.get("modes"),
        )
    except (KeyError, TypeError, ValueError):
        return None
