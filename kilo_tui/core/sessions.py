"""The session store: one SQLite database (WAL) holding tasks, messages, events and usage.

Everything is written as it happens, one autocommitted statement at a time, so killing
the process loses nothing that was already shown and a task can always be resumed.

- ``tasks``: one row per task (title, workspace, model, mode, status, token and cost
  totals, parent task for subtasks).
- ``messages``: the exact message history sent to the model. Rows are never deleted by
  condensing or rewinding; they are marked inactive, so the full record stays. ``seq`` is
  a REAL so a summary can be slotted between the first message and the kept tail.
- ``events``: every bus event except the per-token deltas, for replaying a task's chat.

A process killed between storing an assistant's tool call and its result leaves a call
without an answer, which providers reject (HTTP 400); the runtime mends such histories
when it loads them (:mod:`kilo_tui.core.agent.history`, :meth:`SessionStore.repair_messages`).

A database that turns out damaged while kilo-tui runs (overwritten, truncated, a disk
I/O error) is set aside like one found damaged at start, and a new one takes its place
mid-session: whoever holds tasks in memory is told (:meth:`SessionStore.when_replaced`)
and writes them back (:meth:`SessionStore.save_task`), so the current conversation is
kept. The statement that failed is then run again on the new database.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from kilo_tui.core import chat_search, paths
from kilo_tui.core.events import (
    AssistantDelta,
    BackgroundUsage,
    CommandOutput,
    CommandRunning,
    Event,
    ReasoningDelta,
    TitleGenerated,
    UsageUpdated,
)
from kilo_tui.core.trust.secrets import EventRedactor, Redactor

SCHEMA = (
    """
CREATE TABLE IF NOT EXISTS tasks (
    id TEXT PRIMARY KEY,
    workspace TEXT NOT NULL,
    title TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    model TEXT NOT NULL DEFAULT '',
    mode TEXT NOT NULL DEFAULT 'code',
    status TEXT NOT NULL DEFAULT 'active',
    tokens_in INTEGER NOT NULL DEFAULT 0,
    tokens_out INTEGER NOT NULL DEFAULT 0,
    cost REAL,
    cost_known INTEGER NOT NULL DEFAULT 1,
    parent_id TEXT
);
CREATE INDEX IF NOT EXISTS tasks_workspace ON tasks(workspace, updated_at);
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    seq REAL NOT NULL,
    role TEXT NOT NULL,
    data TEXT NOT NULL,
    active INTEGER NOT NULL DEFAULT 1,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_task ON messages(task_id, seq);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    type TEXT NOT NULL,
    data TEXT NOT NULL,
    ts REAL NOT NULL,
    active INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS events_task ON events(task_id, id);
CREATE TABLE IF NOT EXISTS recovered (
    source TEXT PRIMARY KEY,
    at REAL NOT NULL
);
"""
    + chat_search.SCHEMA
)

# Per-token and per-chunk events are not stored one by one; their aggregates are.
_SKIPPED_EVENTS = (AssistantDelta, ReasoningDelta, CommandRunning)


T = TypeVar("T")

# SQLite's primary result codes that mean the file itself is bad or unusable (as
# opposed to busy, locked, or a constraint): SQLITE_READONLY (e.g. the file was moved
# away), SQLITE_IOERR, SQLITE_CORRUPT, SQLITE_CANTOPEN, SQLITE_NOTADB.
_DAMAGE_CODES = frozenset({8, 10, 11, 14, 26})

RepairPlanner = Callable[[list[dict[str, Any]]], tuple[dict[int, list[str]], list[int]]]
"""Messages → (call ids to answer after each index, indexes to set aside)."""


@dataclass(frozen=True)
class TaskRecord:
    id: str
    workspace: str
    title: str
    created_at: float
    updated_at: float
    model: str
    mode: str
    status: str
    tokens_in: int
    tokens_out: int
    cost: float | None
    parent_id: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "workspace": self.workspace,
            "model": self.model,
            "mode": self.mode,
            "status": self.status,
            "tokens_in": self.tokens_in,
            "tokens_out": self.tokens_out,
            "cost": self.cost,
            "parent_id": self.parent_id,
        }


class SessionStore:
    """Thread-safe access to the session database.

    A database that cannot be opened or read is never fatal, at start or later: it is
    set aside (:func:`kilo_tui.core.salvage.set_aside`) and a new one started, and
    :attr:`notice` says what happened, for the client to show.
    """

    def __init__(self, path: Path | None = None, *, redactor: Redactor | None = None) -> None:
        self.redactor = redactor or Redactor(())
        self.path = path or paths.sessions_db()
        self.notice = ""
        """What was last wrong with the database, at start or since (empty: nothing)."""
        paths.ensure_dir(self.path.parent)
        self._lock = threading.RLock()
        self._on_replaced: list[Callable[[str], None]] = []
        self._aside: Path | None = None
        """Where the database replaced mid-session was set aside."""
        self._saved: set[str] = set()
        """Tasks written back from memory into the database that replaced a damaged one."""
        self._replacing = False
        self._db = self._open()

    def _open(self) -> sqlite3.Connection:
        from kilo_tui.core import salvage

        try:
            return _connect(self.path)
        except sqlite3.Error as exc:
            problem = _problem(exc)
        if "locked" in problem or "busy" in problem:
            self.notice = (
                f"The session database {self.path} is locked by another program "
                f"({problem}). This session is kept in memory only and will not be saved."
            )
            return _connect(":memory:")
        try:
            aside = salvage.set_aside(self.path)
            db = _connect(self.path)
        except (OSError, sqlite3.Error) as exc:
            self.notice = (
                f"The session database {self.path} cannot be used ({problem}), and no new "
                f"one could be started in its place ({exc}). This session is kept in "
                "memory only and will not be saved."
            )
            return _connect(":memory:")
        self.notice = (
            f"The session database {self.path} could not be read ({problem}). It was kept "
            f"as {aside} and a new, empty one was started. Run `kilo-tui sessions recover` "
            "to copy what can still be read from it."
        )
        return db

    def when_replaced(self, callback: Callable[[str], None]) -> None:
        """Call ``callback(notice)`` once a database found damaged mid-session has been set
        aside and a new, empty one started: the callback writes the tasks it holds in
        memory back (:meth:`save_task`) and shows ``notice`` to the user."""
        self._on_replaced.append(callback)

    def save_task(self, record: TaskRecord, messages: list[dict[str, Any]]) -> None:
        """Write a task held in memory into the database that replaced a damaged one: its
        row, its active history and the chat events still readable in the damaged copy
        (so the chat can be replayed). Meant to be called from a :meth:`when_replaced`
        callback."""
        from kilo_tui.core import salvage

        events = salvage.task_events(self._aside, record.id) if self._aside else []
        now = time.time()

        def write(db: sqlite3.Connection) -> None:
            with _transaction(db):
                db.execute(
                    "INSERT OR REPLACE INTO tasks (id, workspace, title, created_at, updated_at,"
                    " model, mode, status, tokens_in, tokens_out, cost, cost_known, parent_id)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        record.id,
                        record.workspace,
                        record.title,
                        record.created_at,
                        now,
                        record.model,
                        record.mode,
                        record.status,
                        record.tokens_in,
                        record.tokens_out,
                        record.cost,
                        int(record.cost is not None),
                        record.parent_id,
                    ),
                )
                db.executemany(
                    "INSERT INTO events (task_id, type, data, ts, active) VALUES (?, ?, ?, ?, ?)",
                    [(record.id, *event) for event in events],
                )
                db.executemany(
                    "INSERT INTO messages (task_id, seq, role, data, created_at)"
                    " VALUES (?, ?, ?, ?, ?)",
                    [
                        (record.id, float(seq), m.get("role", ""), self._json(m), now)
                        for seq, m in enumerate(messages, 1)
                    ],
                )

        self._guarded(write)
        self._saved.add(record.id)

    def _guarded(
        self,
        op: Callable[[sqlite3.Connection], T],
        again: Callable[[sqlite3.Connection], T] | None = None,
    ) -> T:
        """``op(connection)`` under the lock. If the database turns out damaged, it is
        replaced (:meth:`_replace`) and ``again`` (by default ``op`` itself) runs on the
        new one: the caller's statement is not lost."""
        with self._lock:
            try:
                return op(self._db)
            except sqlite3.DatabaseError as exc:
                if self._replacing or not _is_damage(exc):
                    raise
                self._replace(exc)
            return (again or op)(self._db)

    def _replace(self, exc: sqlite3.Error) -> None:
        """Set the damaged database aside, start a new one in its place (in memory if
        that fails too), and tell the :meth:`when_replaced` callbacks."""
        from kilo_tui.core import salvage

        problem = _problem(exc)
        with contextlib.suppress(sqlite3.Error):
            self._db.close()  # first: closing deletes the -wal file by its old name
        self._aside, self._saved = None, set()
        try:
            if self.path.exists():
                self._aside = salvage.set_aside(self.path)
            self._db = _connect(self.path)
        except (OSError, sqlite3.Error) as error:
            self._db = _connect(":memory:")
            self.notice = (
                f"The session database {self.path} failed while kilo-tui was running "
                f"({problem}), and no new one could be started in its place ({error}). "
                "From now on this session is kept in memory only and will not be saved."
            )
        else:
            kept = f"It was kept as {self._aside}" if self._aside else "The file was gone"
            self.notice = (
                f"The session database {self.path} was damaged while kilo-tui was running "
                f"({problem}). {kept} and a new one was started, with the current "
                "conversation saved in it. Run `kilo-tui sessions recover` to copy earlier "
                "sessions that can still be read from the damaged file."
            )
        self._replacing = True
        try:
            for callback in self._on_replaced:
                callback(self.notice)
        finally:
            self._replacing = False

    def recover(self, source: Path | None = None) -> Any:
        """Copy what can be read from a set-aside database (the newest by default) into
        this one; returns :class:`kilo_tui.core.salvage.Recovered`. Raises
        SalvageError when there is nothing to recover from or nothing readable."""
        from kilo_tui.core import salvage

        if source is None:
            copies = self.unrecovered()
            if not copies:
                raise salvage.SalvageError(
                    f"no damaged database set aside next to {self.path} is left to recover"
                )
            source = copies[-1]
        chosen = source

        def merge(db: sqlite3.Connection) -> Any:
            done = salvage.recover(chosen, db)
            db.execute(
                "INSERT OR REPLACE INTO recovered (source, at) VALUES (?, ?)",
                (chosen.name, time.time()),
            )
            return done

        return self._guarded(merge)

    def unrecovered(self) -> list[Path]:
        """Damaged databases set aside next to this one and not recovered yet."""
        from kilo_tui.core import salvage

        done = {row[0] for row in self._exec("SELECT source FROM recovered")}
        return [p for p in salvage.damaged_copies(self.path) if p.name not in done]

    @property
    def redactor(self) -> Redactor:
        """Known key values, masked in everything this store writes or exports."""
        return self._events.redactor

    @redactor.setter
    def redactor(self, redactor: Redactor) -> None:
        self._events = EventRedactor(redactor)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _exec(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        """Run one statement; returns its rows (all of them, read under the guard)."""
        return self._guarded(lambda db: db.execute(sql, params).fetchall())

    # ------------------------------------------------------------- tasks

    def create_task(
        self,
        task_id: str,
        *,
        workspace: str,
        model: str,
        mode: str,
        title: str = "",
        parent_id: str | None = None,
    ) -> None:
        now = time.time()
        self._exec(
            "INSERT INTO tasks (id, workspace, title, created_at, updated_at, model, mode,"
            " parent_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (task_id, workspace, title, now, now, model, mode, parent_id),
        )

    def update_task(self, task_id: str, **fields: Any) -> None:
        allowed = {
            "title",
            "model",
            "mode",
            "status",
            "tokens_in",
            "tokens_out",
            "cost",
            "cost_known",
        }
        unknown = set(fields) - allowed
        if unknown:
            raise ValueError(f"unknown task fields: {sorted(unknown)}")
        fields["updated_at"] = time.time()
        assignments = ", ".join(f"{name} = ?" for name in fields)
        self._exec(f"UPDATE tasks SET {assignments} WHERE id = ?", (*fields.values(), task_id))

    def get_task(self, task_id: str) -> TaskRecord | None:
        rows = self._exec("SELECT * FROM tasks WHERE id = ?", (task_id,))
        if not rows:
            # Allow unambiguous prefixes, as for git hashes.
            rows = self._exec("SELECT * FROM tasks WHERE id LIKE ? LIMIT 2", (task_id + "%",))
        return _task(rows[0]) if len(rows) == 1 else None

    def list_tasks(
        self, *, workspace: str | None = None, include_subtasks: bool = False
    ) -> list[TaskRecord]:
        """Tasks newest first (by last activity), optionally for one workspace."""
        sql = "SELECT * FROM tasks"
        clauses: list[str] = []
        params: list[Any] = []
        if workspace is not None:
            clauses.append("workspace = ?")
            params.append(workspace)
        if not include_subtasks:
            clauses.append("parent_id IS NULL")
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        sql += " ORDER BY updated_at DESC, created_at DESC"
        return [_task(row) for row in self._exec(sql, tuple(params))]

    def search_text(self, query: str, *, workspace: str) -> dict[str, str]:
        """The top-level tasks of ``workspace`` in whose conversation ``query`` was said,
        each with a snippet around it (see :mod:`kilo_tui.core.chat_search`)."""
        return self._guarded(lambda db: chat_search.search(db, query, workspace))

    def latest_task(self, workspace: str) -> TaskRecord | None:
        tasks = self.list_tasks(workspace=workspace)
        return tasks[0] if tasks else None

    def delete_task(self, task_id: str) -> bool:
        record = self.get_task(task_id)
        if record is None:
            return False
        self._exec("DELETE FROM tasks WHERE id = ? OR parent_id = ?", (record.id, record.id))
        return True

    # ---------------------------------------------------------- messages

    def append_message(self, task_id: str, message: dict[str, Any]) -> float:
        """Append one message to the task's active history. Returns its ``seq``.

        The caller holds the history in memory with ``message`` already in it: if the
        database is replaced meanwhile, the task saved back from memory holds it."""

        def last_seq(db: sqlite3.Connection) -> float:
            row = db.execute(
                "SELECT COALESCE(MAX(seq), 0) FROM messages WHERE task_id = ?", (task_id,)
            ).fetchone()
            return float(int(row[0]))

        def append(db: sqlite3.Connection) -> float:
            seq = last_seq(db) + 1
            db.execute(
                "INSERT INTO messages (task_id, seq, role, data, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (task_id, seq, message.get("role", ""), self._json(message), time.time()),
            )
            return seq

        return self._guarded(
            append, lambda db: last_seq(db) if task_id in self._saved else append(db)
        )

    def _json(self, message: dict[str, Any]) -> str:
        return json.dumps(self.redactor.data(message))

    def load_messages(self, task_id: str) -> list[dict[str, Any]]:
        """The active message history, in order: exactly what the model would be sent."""
        rows = self._exec(
            "SELECT data FROM messages WHERE task_id = ? AND active = 1 ORDER BY seq",
            (task_id,),
        )
        return [json.loads(row["data"]) for row in rows]

    def repair_messages(
        self, task_id: str, plan: RepairPlanner, answer: str
    ) -> list[dict[str, Any]]:
        """Apply ``plan`` to the active history, in one transaction, and return it.

        ``plan(messages)`` returns ``(answers, dropped)``: after message ``i``, a ``tool``
        message with content ``answer`` for each call id in ``answers[i]``; the messages
        at the ``dropped`` indexes are set aside (kept, inactive).
        """

        def repair(db: sqlite3.Connection) -> None:
            rows = db.execute(
                "SELECT id, seq, data FROM messages WHERE task_id = ? AND active = 1 ORDER BY seq",
                (task_id,),
            ).fetchall()
            answers, dropped = plan([json.loads(row["data"]) for row in rows])
            if not answers and not dropped:
                return
            with _transaction(db):
                _insert_answers(db, task_id, rows, answers, answer)
                db.executemany(
                    "UPDATE messages SET active = 0 WHERE id = ?",
                    [(rows[i]["id"],) for i in dropped],
                )

        self._guarded(repair)
        return self.load_messages(task_id)

    def count_all_messages(self, task_id: str) -> int:
        rows = self._exec("SELECT COUNT(*) FROM messages WHERE task_id = ?", (task_id,))
        return int(rows[0][0])

    def replace_active_messages(
        self, task_id: str, keep_head: int, summary: dict[str, Any] | None, keep_tail: int
    ) -> None:
        """Condensing: keep the first ``keep_head`` and last ``keep_tail`` active messages,
        deactivate the rest, and slot ``summary`` (if any) between them."""

        def condense(db: sqlite3.Connection) -> None:
            rows = db.execute(
                "SELECT id, seq FROM messages WHERE task_id = ? AND active = 1 ORDER BY seq",
                (task_id,),
            ).fetchall()
            if len(rows) <= keep_head + keep_tail:
                return
            middle = rows[keep_head : len(rows) - keep_tail]
            with _transaction(db):
                db.executemany(
                    "UPDATE messages SET active = 0 WHERE id = ?", [(r["id"],) for r in middle]
                )
                if summary is not None:
                    before = rows[keep_head - 1]["seq"] if keep_head else 0.0
                    after = rows[len(rows) - keep_tail]["seq"] if keep_tail else before + 1
                    db.execute(
                        "INSERT INTO messages (task_id, seq, role, data, created_at)"
                        " VALUES (?, ?, ?, ?, ?)",
                        (
                            task_id,
                            (before + after) / 2,
                            summary.get("role", "user"),
                            self._json(summary),
                            time.time(),
                        ),
                    )

        self._guarded(condense)

    def rewind_to_message(self, task_id: str, message_count: int) -> int:
        """Keep only the first ``message_count`` active messages; returns how many were
        set aside (see :meth:`set_aside`)."""
        return len(self.set_aside(task_id, message_count)["messages"])

    def set_aside(self, task_id: str, message_count: int) -> dict[str, Any]:
        """Keep only the first ``message_count`` active messages, and the chat events
        recorded before the first one set aside. Nothing is deleted: later messages and
        events stay in the store, inactive. Returns what was set aside (JSON-ready:
        ``task_id``, message and event ids), for :meth:`set_active` to undo."""

        def aside(db: sqlite3.Connection) -> dict[str, Any]:
            found: dict[str, Any] = {"task_id": task_id, "messages": [], "events": []}
            rows = db.execute(
                "SELECT id, created_at FROM messages WHERE task_id = ? AND active = 1 ORDER BY seq",
                (task_id,),
            ).fetchall()
            later = rows[message_count:]
            if not later:
                return found
            events = db.execute(
                "SELECT id FROM events WHERE task_id = ? AND active = 1 AND ts >= ?",
                (task_id, later[0]["created_at"]),
            ).fetchall()
            found["messages"] = [r["id"] for r in later]
            found["events"] = [r["id"] for r in events]
            _set_active(db, found, False)
            return found

        return self._guarded(aside)

    def set_active(self, aside: dict[str, Any], active: bool) -> None:
        """Bring back (or set aside again) what :meth:`set_aside` returned. Row ids of a
        database since replaced mean nothing in the new one: then nothing changes."""
        self._guarded(lambda db: _set_active(db, aside, active), lambda db: None)

    # ------------------------------------------------------------ events

    def record_event(self, event: Event) -> None:
        """Persist one bus event (deltas excluded) and keep task totals current."""
        if not event.task_id or isinstance(event, _SKIPPED_EVENTS):
            return
        task_id = event.task_id

        def record(db: sqlite3.Connection) -> None:
            if not db.execute("SELECT 1 FROM tasks WHERE id = ?", (task_id,)).fetchone():
                return
            for data in self._events(event.to_dict()):
                db.execute(
                    "INSERT INTO events (task_id, type, data, ts) VALUES (?, ?, ?, ?)",
                    (task_id, data["type"], json.dumps(data), event.ts),
                )

        self._guarded(record)
        if isinstance(event, UsageUpdated | BackgroundUsage):  # both carry the task's totals
            self.update_task(
                task_id,
                tokens_in=event.task_tokens_in,
                tokens_out=event.task_tokens_out,
                cost=event.task_cost,
                cost_known=int(event.task_cost is not None),
            )
        elif isinstance(event, TitleGenerated):
            self.update_task(task_id, title=event.title)

    def load_events(self, task_id: str, *, include_output: bool = True) -> list[Event]:
        rows = self._exec(
            "SELECT data FROM events WHERE task_id = ? AND active = 1 ORDER BY id", (task_id,)
        )
        events: list[Event] = []
        for row in rows:
            try:
                event = Event.from_dict(json.loads(row["data"]))
            except (KeyError, TypeError, ValueError):
                continue  # an event type from a newer/older version: skip, don't crash
            if include_output or not isinstance(event, CommandOutput):
                events.append(event)
        return events

    # ------------------------------------------------------------ export

    def export_markdown(self, task_id: str) -> str:
        """The task as Markdown: title, metadata, then the conversation."""
        record = self.get_task(task_id)
        if record is None:
            raise KeyError(task_id)
        from kilo_tui.core.export import task_to_markdown

        text = task_to_markdown(record, self.load_events(record.id, include_output=False))
        return self.redactor.text(text)  # also for tasks stored before redaction existed


def _connect(path: Path | str) -> sqlite3.Connection:
    """Open the database, create the schema, and check it is readable throughout."""
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10)
    try:
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA foreign_keys=ON")
        db.executescript(SCHEMA)
        chat_search.migrate(db)
        # A corrupt page would otherwise surface later, mid-task, as a crash.
        verdict = db.execute("PRAGMA quick_check(1)").fetchone()[0]
        if verdict != "ok":
            raise sqlite3.DatabaseError(f"integrity check failed: {verdict}")
    except BaseException:
        db.close()
        raise
    return db


@contextlib.contextmanager
def _transaction(db: sqlite3.Connection) -> Iterator[None]:
    """BEGIN … COMMIT, rolled back if anything in between fails."""
    db.execute("BEGIN")
    try:
        yield
    except BaseException:
        # After an I/O error SQLite may have rolled back already: the first error counts.
        with contextlib.suppress(sqlite3.Error):
            db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def _insert_answers(
    db: sqlite3.Connection,
    task_id: str,
    rows: list[sqlite3.Row],
    answers: dict[int, list[str]],
    content: str,
) -> None:
    """Insert a result ``content`` after row ``index`` for each ``answers[index]``."""
    for index, call_ids in answers.items():
        after = float(rows[index]["seq"])
        before = float(rows[index + 1]["seq"]) if index + 1 < len(rows) else after + 1
        step = (before - after) / (len(call_ids) + 1)
        db.executemany(
            "INSERT INTO messages (task_id, seq, role, data, created_at)"
            " VALUES (?, ?, 'tool', ?, ?)",
            [
                (
                    task_id,
                    after + step * (number + 1),
                    json.dumps({"role": "tool", "tool_call_id": call_id, "content": content}),
                    time.time(),
                )
                for number, call_id in enumerate(call_ids)
            ],
        )


def _set_active(db: sqlite3.Connection, aside: dict[str, Any], active: bool) -> None:
    with _transaction(db):
        for table in ("messages", "events"):
            db.executemany(
                f"UPDATE {table} SET active = ? WHERE id = ? AND task_id = ?",
                [(int(active), row_id, aside["task_id"]) for row_id in aside[table]],
            )


def _is_damage(exc: sqlite3.DatabaseError) -> bool:
    """Whether the error says the database file is bad or unusable, not busy or misused."""
    return (getattr(exc, "sqlite_errorcode", 0) & 0xFF) in _DAMAGE_CODES


def _problem(exc: sqlite3.Error) -> str:
    """The SQLite error in plain words."""
    text = str(exc) or type(exc).__name__
    if text == "file is not a database":
        return "it is not a SQLite database, or its header is damaged"
    if text == "unable to open database file":
        return "the file cannot be opened (check its permissions)"
    return text


def _task(row: sqlite3.Row) -> TaskRecord:
    return TaskRecord(
        id=row["id"],
        workspace=row["workspace"],
        title=row["title"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        model=row["model"],
        mode=row["mode"],
        status=row["status"],
        tokens_in=row["tokens_in"],
        tokens_out=row["tokens_out"],
        cost=row["cost"] if row["cost_known"] else None,
        parent_id=row["parent_id"],
    )
