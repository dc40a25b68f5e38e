"""The session database damaged while kilo-tui runs: the task goes on, nothing is lost.

The test overwrites the database (and its WAL and shared-memory files) with garbage in
the middle of a turn, as a disk fault or another program would; every later statement
then fails with "file is not a database". The store must set the damaged file aside,
start a new one, write the conversation held in memory into it, and say so.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

from kilo_tui.core import events as ev
from kilo_tui.core import paths
from kilo_tui.core.agent.runtime import AgentRuntime
from kilo_tui.core.sessions import SessionStore
from tests.fakeserver import FakeLLMServer, Turn


def damage(db: Path) -> bytes:
    """Overwrite the database and its companion files with garbage; returns the new
    bytes of the database file."""
    for suffix in ("", "-wal", "-shm"):
        part = db.with_name(db.name + suffix)
        if part.exists():
            part.write_bytes(os.urandom(max(part.stat().st_size, 4096)))
    return db.read_bytes()


def stored_messages(db: Path, task_id: str) -> list[dict[str, object]]:
    store = SessionStore(db)
    try:
        return store.load_messages(task_id)
    finally:
        store.close()


async def test_a_database_damaged_mid_turn_is_set_aside_and_the_task_saved_anew(
    make_runtime: Callable[..., AgentRuntime], llm_env: FakeLLMServer
) -> None:
    runtime = make_runtime(yolo=True)
    db = paths.sessions_db()
    seen: list[ev.Event] = []
    runtime.bus.subscribe(seen.append)
    damaged: list[bytes] = []

    def damage_once(event: ev.CommandOutput) -> None:
        if not damaged:
            damaged.append(damage(db))

    runtime.bus.subscribe(damage_once, ev.CommandOutput)
    llm_env.script(
        Turn.tool("execute_command", command="echo checking"),
        Turn.tool("attempt_completion", result="All checked."),
    )

    outcome = await runtime.submit("check the build")

    assert outcome.status == "completed", outcome
    assert damaged, "the command ran"
    notices = [e.message for e in seen if isinstance(e, ev.Notice)]
    (notice,) = [n for n in notices if "damaged" in n]
    assert str(db) in notice
    (aside,) = db.parent.glob(db.name + ".damaged-*[0-9]")
    assert str(aside) in notice
    assert aside.read_bytes() == damaged[0]  # kept as it was, never deleted
    task = runtime.task
    assert task is not None
    assert stored_messages(db, task.id) == task.messages  # every message, in order
    assert [m["role"] for m in task.messages] == ["user", "assistant", "tool", "assistant", "tool"]

    llm_env.script(Turn.tool("attempt_completion", result="Still fine."))
    assert (await runtime.submit("go on")).status == "completed"
    assert stored_messages(db, task.id) == task.messages
    await runtime.aclose()


def test_a_read_of_a_damaged_database_sets_it_aside_instead_of_raising(tmp_path: Path) -> None:
    db = tmp_path / "sessions.sqlite3"
    store = SessionStore(db)
    store.create_task("t1", workspace="/w", model="openai/m", mode="code")
    store.append_message("t1", {"role": "user", "content": "hello"})
    damage(db)
    replaced: list[str] = []
    store.when_replaced(replaced.append)

    assert store.list_tasks() == []  # the new database is empty, and usable

    (notice,) = replaced
    assert "not a SQLite database" in notice and str(db) in notice
    store.create_task("t2", workspace="/w", model="openai/m", mode="code")
    store.close()
    with sqlite3.connect(db) as check:
        assert check.execute("SELECT id FROM tasks").fetchall() == [("t2",)]
    check.close()
