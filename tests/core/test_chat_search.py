"""Searching what was said in past tasks (``/history``), over a real SQLite store.

What the user and the model said is found; what tools returned or the environment
details the agent attaches are not. Rewound, deleted and recovered conversations, and a
database written before the search index existed, are all kept in step.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import pytest

from kilo_tui.core import events as ev
from kilo_tui.core.sessions import SessionStore

OLD_SCHEMA = """
CREATE TABLE tasks (
    id TEXT PRIMARY KEY, workspace TEXT NOT NULL, title TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL, updated_at REAL NOT NULL, model TEXT NOT NULL DEFAULT '',
    mode TEXT NOT NULL DEFAULT 'code', status TEXT NOT NULL DEFAULT 'active',
    tokens_in INTEGER NOT NULL DEFAULT 0, tokens_out INTEGER NOT NULL DEFAULT 0,
    cost REAL, cost_known INTEGER NOT NULL DEFAULT 1, parent_id TEXT
);
CREATE TABLE messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    seq REAL NOT NULL, role TEXT NOT NULL, data TEXT NOT NULL,
    active INTEGER NOT NULL DEFAULT 1, created_at REAL NOT NULL
);
CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    type TEXT NOT NULL, data TEXT NOT NULL, ts REAL NOT NULL,
    active INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE recovered (source TEXT PRIMARY KEY, at REAL NOT NULL);
"""
"""The schema of a database written before the search index existed."""


def said(store: SessionStore, task_id: str, user: str, assistant: str = "") -> None:
    store.record_event(ev.UserMessage(task_id=task_id, text=user, expanded=user))
    if assistant:
        store.record_event(ev.AssistantMessage(task_id=task_id, text=assistant))


@pytest.fixture
def store(tmp_path: Path) -> SessionStore:
    store = SessionStore(tmp_path / "sessions.sqlite3")
    for task_id, workspace in (("parser", "/w"), ("noise", "/w"), ("elsewhere", "/other")):
        store.create_task(task_id, workspace=workspace, model="openai/m", mode="code")
    store.create_task("sub", workspace="/w", model="openai/m", mode="code", parent_id="parser")
    said(
        store,
        "parser",
        "Why does the parser choke on naïve input?",
        "The tokenizer drops combining marks before it splits words.",
    )
    store.record_event(ev.TaskCompleted(task_id="parser", result="Fixed in lexer.py."))
    # Tool noise: the environment details sent with a message, a command's output, a
    # tool's result. None of it is something the user or the model said.
    noise = "kangaroo tokenizer"
    store.record_event(
        ev.UserMessage(
            task_id="noise",
            text="hello there",
            expanded=f"hello there\n<environment_details>{noise}</environment_details>",
        )
    )
    store.record_event(ev.CommandOutput(task_id="noise", call_id="c1", text=noise))
    store.record_event(
        ev.ToolCallFinished(task_id="noise", call_id="c2", name="read_file", result=noise)
    )
    said(store, "elsewhere", "The tokenizer of the other project")
    said(store, "sub", "A subtask about the tokenizer")
    return store


def test_finds_tasks_by_what_the_user_and_the_model_said(store: SessionStore) -> None:
    found = store.search_text("tokeniz", workspace="/w")
    assert list(found) == ["parser"]  # not the tool noise, the subtask or the other project
    assert "tokenizer" in found["parser"]
    assert len(found["parser"]) <= 80

    assert list(store.search_text("NAIVE", workspace="/w")) == ["parser"]  # case, accents
    assert list(store.search_text("parser lexer", workspace="/w")) == ["parser"]  # all words
    assert "lexer" in store.search_text("lexer", workspace="/w")["parser"]  # the result too
    assert store.search_text("parser kangaroo", workspace="/w") == {}
    assert store.search_text("kangaroo", workspace="/w") == {}
    assert list(store.search_text("tokenizer", workspace="/other")) == ["elsewhere"]


@pytest.mark.parametrize("query", ['"', 'parser" OR (', "NEAR(", "*", "a", "", "  ", "-x"])
def test_any_typed_text_is_a_search_never_an_error(store: SessionStore, query: str) -> None:
    assert isinstance(store.search_text(query, workspace="/w"), dict)


def test_rewound_and_deleted_conversations_are_no_longer_found(store: SessionStore) -> None:
    store.append_message("parser", {"role": "user", "content": "Why does the parser choke?"})
    time.sleep(0.01)
    store.append_message("parser", {"role": "user", "content": "And the quokka?"})
    said(store, "parser", "And the quokka?")
    aside = store.set_aside("parser", 1)
    assert store.search_text("quokka", workspace="/w") == {}
    assert list(store.search_text("tokenizer", workspace="/w")) == ["parser"]
    store.set_active(aside, True)
    assert list(store.search_text("quokka", workspace="/w")) == ["parser"]

    assert store.delete_task("parser")
    assert store.search_text("tokenizer", workspace="/w") == {}
    store.close()
    db = sqlite3.connect(store.path)
    left = db.execute("SELECT count(*) FROM chat_text WHERE chat_text MATCH 'quokka OR naive'")
    assert left.fetchone()[0] == 0  # the index holds nothing of a deleted task


def test_a_database_from_before_the_index_is_indexed_when_opened(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path)
    db.executescript(OLD_SCHEMA)
    db.execute(
        "INSERT INTO tasks (id, workspace, title, created_at, updated_at)"
        " VALUES ('old', '/w', 'Old task', 1, 1)"
    )
    for kind, text in (("user_message", "Where is the wombat?"), ("command_output", "emu")):
        data = json.dumps({"type": kind, "task_id": "old", "text": text})
        db.execute(
            "INSERT INTO events (task_id, type, data, ts) VALUES ('old', ?, ?, 1)", (kind, data)
        )
    db.commit()
    db.close()

    for _ in range(2):  # a second open neither indexes twice nor loses anything
        store = SessionStore(path)
        assert store.notice == ""
        assert list(store.search_text("wombat", workspace="/w")) == ["old"]
        assert store.search_text("emu", workspace="/w") == {}
        assert [t.id for t in store.list_tasks(workspace="/w")] == ["old"]
        store.close()


def test_recovered_tasks_are_found(tmp_path: Path) -> None:
    source = SessionStore(tmp_path / "copy.sqlite3")
    source.create_task("kept", workspace="/w", model="openai/m", mode="code")
    said(source, "kept", "Count the platypus eggs")
    source.close()

    store = SessionStore(tmp_path / "sessions.sqlite3")
    store.recover(tmp_path / "copy.sqlite3")
    assert list(store.search_text("platypus", workspace="/w")) == ["kept"]
