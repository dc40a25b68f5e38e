"""A damaged session database: set it aside, never delete it, salvage what it holds.

When the session database cannot be opened or fails SQLite's quick check, the store
renames it (with its ``-wal`` and ``-shm`` files, so SQLite still reads them together)
to ``<name>.damaged-<timestamp>`` and starts a new one. :func:`recover` copies the
tasks, messages and events that SQLite can still read from such a file into the live
store: through the ``sqlite3`` command's ``.recover`` when it is installed (it reads
around corrupt pages), else row by row in Python, skipping what cannot be read.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

DAMAGED_MARK = ".damaged-"
_COMPANIONS = ("-wal", "-shm", "-journal")
_TASK_COLUMNS = (
    "id, workspace, title, created_at, updated_at, model, mode, status, tokens_in,"
    " tokens_out, cost, cost_known, parent_id"
)
_MESSAGE_COLUMNS = "task_id, seq, role, data, active, created_at"
_EVENT_COLUMNS = "task_id, type, data, ts, active"
RECOVER_TIMEOUT = 300.0


class SalvageError(Exception):
    """Nothing could be read from the file (the message says why)."""


@dataclass(frozen=True)
class Recovered:
    """What :func:`recover` copied into the live store."""

    source: Path
    method: str
    tasks: int
    messages: int
    events: int


def set_aside(path: Path) -> Path:
    """Rename ``path`` and its companion files to ``<name>.damaged-<time>``; returns the
    new path of the database. Raises OSError if the rename is impossible."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    target = path.with_name(f"{path.name}{DAMAGED_MARK}{stamp}")
    path.rename(target)
    for suffix in _COMPANIONS:
        companion = path.with_name(path.name + suffix)
        if companion.exists():
            companion.rename(target.with_name(target.name + suffix))
    return target


def damaged_copies(path: Path) -> list[Path]:
    """The databases set aside next to ``path``, oldest first."""
    pattern = f"{path.name}{DAMAGED_MARK}*"
    return sorted(p for p in path.parent.glob(pattern) if not p.name.endswith(_COMPANIONS))


def recover(source: Path, live: sqlite3.Connection) -> Recovered:
    """Copy what can be read from ``source`` into the ``live`` store's connection.

    Tasks already in the live store are left as they are. Raises SalvageError when
    nothing at all can be read (e.g. the file is unreadable or not SQLite).
    """
    if shutil.which("sqlite3"):
        try:
            scratch = _recovered_by_cli(source)
            method = "sqlite3 .recover"
        except SalvageError:
            scratch, method = _readonly(source), "row by row"
    else:
        scratch, method = _readonly(source), "row by row"
    try:
        tasks, messages, events = _merge(scratch, live)
    finally:
        scratch.close()
    return Recovered(source, method, tasks, messages, events)


def task_events(source: Path, task_id: str) -> list[tuple[object, ...]]:
    """The events of one task still readable in ``source``, in order, as ``(type, data,
    ts, active)`` rows; empty when none can be read. Through the task's index first,
    else row by row around the damage."""
    try:
        conn = _readonly(source)
    except SalvageError:
        return []
    try:
        try:
            return conn.execute(
                "SELECT type, data, ts, active FROM events WHERE task_id = ? ORDER BY id",
                (task_id,),
            ).fetchall()
        except sqlite3.Error:
            rows = _rows(conn, "events", _EVENT_COLUMNS)
            return [row[1:] for row in rows if row[0] == task_id]
    finally:
        conn.close()


def _recovered_by_cli(source: Path) -> sqlite3.Connection:
    """The SQL the ``sqlite3`` command's ``.recover`` prints, loaded in memory."""
    try:
        proc = subprocess.run(
            ["sqlite3", "-readonly", str(source), ".recover"],
            capture_output=True,
            timeout=RECOVER_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SalvageError(f"sqlite3 .recover failed: {exc}") from exc
    if proc.returncode != 0 or not proc.stdout.strip():
        raise SalvageError(proc.stderr.decode(errors="replace").strip() or "no output")
    scratch = sqlite3.connect(":memory:")
    try:
        scratch.executescript(proc.stdout.decode("utf-8", errors="replace"))
    except sqlite3.Error as exc:
        scratch.close()
        raise SalvageError(f"sqlite3 .recover output did not load: {exc}") from exc
    return scratch


def _readonly(source: Path) -> sqlite3.Connection:
    try:
        return sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise SalvageError(f"cannot open {source}: {exc}") from exc


def _merge(scratch: sqlite3.Connection, live: sqlite3.Connection) -> tuple[int, int, int]:
    """Insert the readable tasks of ``scratch`` that ``live`` lacks, with their messages
    and events (in their original order); returns how many of each were copied."""
    tasks = list(_rows(scratch, "tasks", _TASK_COLUMNS))
    if not tasks and not _has_table(scratch, "tasks"):
        raise SalvageError("no session data could be read from it")
    known = {row[0] for row in live.execute("SELECT id FROM tasks")}
    new = [t for t in tasks if t[0] not in known]
    new_ids = {t[0] for t in new}
    messages = [m for m in _rows(scratch, "messages", _MESSAGE_COLUMNS) if m[0] in new_ids]
    events = [e for e in _rows(scratch, "events", _EVENT_COLUMNS) if e[0] in new_ids]
    live.execute("BEGIN")
    try:
        live.executemany(f"INSERT INTO tasks ({_TASK_COLUMNS}) VALUES ({_marks(13)})", new)
        live.executemany(
            f"INSERT INTO messages ({_MESSAGE_COLUMNS}) VALUES ({_marks(6)})", messages
        )
        live.executemany(f"INSERT INTO events ({_EVENT_COLUMNS}) VALUES ({_marks(5)})", events)
        live.execute("COMMIT")
    except BaseException:
        live.execute("ROLLBACK")
        raise
    return len(new), len(messages), len(events)


def _marks(count: int) -> str:
    return ", ".join("?" * count)


def _has_table(conn: sqlite3.Connection, table: str) -> bool:
    try:
        found = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
        ).fetchone()
    except sqlite3.Error:
        return False
    return found is not None


def _rows(conn: sqlite3.Connection, table: str, columns: str) -> Iterator[tuple[object, ...]]:
    """Every readable row of ``table`` in rowid order, stepping over unreadable ones.

    Each row is fetched by a rowid seek, which only touches the pages on its path; when
    a seek hits a corrupt page, the next one starts further on (1, 2, 4, … rowids).
    """
    last, step = 0, 1  # the store's rowids start at 1
    while step < 2**40:
        try:
            row = conn.execute(
                f"SELECT rowid, {columns} FROM {table} WHERE rowid > ? ORDER BY rowid LIMIT 1",
                (last,),
            ).fetchone()
        except sqlite3.Error:
            last, step = last + step, step * 2
            continue
        if row is None:
            return
        last, step = row[0], 1
        yield tuple(row[1:])
