"""Search what was said in past tasks (``/history``): an SQLite FTS5 index in the store.

What is indexed is the conversation as the user reads it: their messages as typed, the
model's replies, its questions and the answers, and the completion result — taken from
the chat events. Not the environment details or file contents sent along with a
message, nor tool results or command output: that noise would match almost anything.
Events are stored redacted, so the index holds no secret either.

Triggers in plain SQL keep the index in step with the ``events`` table, so every way
rows get there (the live store, a task saved back after damage, a recovered copy, an
older kilo-tui sharing the file) updates it; events set aside by a rewind leave it and
come back with them. Each index row's id is ``task number << 32 | event id``: a search
reads only row ids to learn which tasks match, which keeps even a word said in every
one of 100,000 messages to a few tens of milliseconds. ``task_numbers`` gives each task
its number (an explicit INTEGER PRIMARY KEY, which VACUUM keeps).
"""

from __future__ import annotations

import re
import sqlite3
import unicodedata

VERSION = 1
"""``PRAGMA user_version`` of a database whose index is complete."""

SNIPPET_WIDTH = 72
"""Characters of a match's surroundings shown (ellipses included)."""

_SAID = {
    "user_message": "text",
    "assistant_message": "text",
    "followup_asked": "question",
    "followup_answered": "answer",
    "task_completed": "result",
}
"""Event type → the field holding what was said."""

_TYPES = ", ".join(f"'{kind}'" for kind in _SAID)


def _said(row: str) -> str:
    """SQL for what was said in the event ``row``."""
    cases = " ".join(
        f"WHEN '{kind}' THEN json_extract({row}.data, '$.{name}')" for kind, name in _SAID.items()
    )
    return f"COALESCE(CASE {row}.type {cases} END, '')"


_INDEX_EVENT = f"""
    INSERT INTO chat_text (rowid, text)
    SELECT number << 32 | new.id, {_said("new")} FROM task_numbers WHERE task_id = new.task_id;
"""
_INDEX_ALL = f"""
    INSERT INTO chat_text (rowid, text)
    SELECT n.number << 32 | e.id, {_said("e")}
    FROM events AS e JOIN task_numbers AS n ON n.task_id = e.task_id
    WHERE e.active AND e.type IN ({_TYPES});
"""

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS task_numbers (
    number INTEGER PRIMARY KEY,
    task_id TEXT NOT NULL UNIQUE
);
CREATE VIRTUAL TABLE IF NOT EXISTS chat_text USING fts5(
    text, tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3'
);
CREATE TRIGGER IF NOT EXISTS chat_task_added AFTER INSERT ON tasks BEGIN
    INSERT OR IGNORE INTO task_numbers (task_id) VALUES (new.id);
END;
CREATE TRIGGER IF NOT EXISTS chat_task_deleted BEFORE DELETE ON tasks BEGIN
    DELETE FROM chat_text WHERE rowid BETWEEN
        (SELECT number << 32 FROM task_numbers WHERE task_id = old.id) AND
        (SELECT number << 32 | 0xFFFFFFFF FROM task_numbers WHERE task_id = old.id);
    DELETE FROM task_numbers WHERE task_id = old.id;
END;
CREATE TRIGGER IF NOT EXISTS chat_said AFTER INSERT ON events
WHEN new.active AND new.type IN ({_TYPES}) BEGIN {_INDEX_EVENT} END;
CREATE TRIGGER IF NOT EXISTS chat_shown AFTER UPDATE OF active ON events
WHEN new.active AND NOT old.active AND new.type IN ({_TYPES}) BEGIN {_INDEX_EVENT} END;
CREATE TRIGGER IF NOT EXISTS chat_hidden AFTER UPDATE OF active ON events
WHEN old.active AND NOT new.active AND new.type IN ({_TYPES}) BEGIN
    DELETE FROM chat_text WHERE rowid =
        (SELECT number << 32 | new.id FROM task_numbers WHERE task_id = new.task_id);
END;
"""
"""The index and its triggers; events are deleted only with their task."""


def migrate(db: sqlite3.Connection) -> None:
    """(Re)build the index of a database written before it existed, in one transaction
    (another process's writes wait, and a crash midway leaves the old state)."""
    if db.execute("PRAGMA user_version").fetchone()[0] >= VERSION:
        return
    db.executescript(
        f"""
        BEGIN IMMEDIATE;
        DELETE FROM chat_text;
        DELETE FROM task_numbers;
        INSERT INTO task_numbers (task_id) SELECT id FROM tasks ORDER BY rowid;
        {_INDEX_ALL}
        PRAGMA user_version = {VERSION};
        COMMIT;
        """
    )


def search(db: sqlite3.Connection, query: str, workspace: str) -> dict[str, str]:
    """The top-level tasks of ``workspace`` in which every word of ``query`` was said (as
    a word or the start of one; case and accents aside; in any of the task's messages),
    each with a snippet around the first message that matches."""
    words = query_words(query)
    if not words:
        return {}
    first = _first_matches(db, words[0])
    for word in words[1:]:
        also = _first_matches(db, word)
        first = {number: rowid for number, rowid in first.items() if number in also}
    if not first:
        return {}
    tasks = db.execute(
        "SELECT number, id FROM task_numbers JOIN tasks ON id = task_id"
        " WHERE workspace = ? AND parent_id IS NULL",
        (workspace,),
    )
    found: dict[str, str] = {}
    for number, task_id in tasks.fetchall():
        if number in first:
            row = db.execute("SELECT text FROM chat_text WHERE rowid = ?", (first[number],))
            found[task_id] = snippet(row.fetchone()[0], words)
    return found


def query_words(query: str) -> list[str]:
    """The words of ``query`` that are searched for: runs of letters and digits (as
    the index splits text), one letter alone being too common to mean anything."""
    return [word for word in re.findall(r"[^\W_]+", query) if len(word) > 1]


def _first_matches(db: sqlite3.Connection, word: str) -> dict[int, int]:
    """Task number → id of the task's first index row with a word starting with
    ``word``."""
    rows = db.execute(
        "SELECT rowid >> 32, MIN(rowid) FROM chat_text WHERE chat_text MATCH ? GROUP BY 1",
        (f'"{word}"*',),
    )
    return dict(rows.fetchall())


def snippet(text: str, words: list[str], width: int = SNIPPET_WIDTH) -> str:
    """One line of ``text`` from a few words before the first word that starts with one
    of ``words`` (near the start: a narrow column still shows it)."""
    flat = " ".join(text.split())
    folded = _fold(flat)
    starts = [
        found.start()
        for word in words
        if (found := re.search(rf"(?<![^\W_]){re.escape(_fold(word))}", folded))
    ]
    begin = max(0, min(starts, default=0) - width // 6)
    if begin:
        begin = flat.find(" ", begin - 1, begin + width // 6) + 1 or begin
    piece = flat[begin : begin + width - 2]
    cut = begin + len(piece) < len(flat)
    if cut and " " in piece[width // 2 :]:
        piece = piece[: piece.rindex(" ")]
    return ("…" if begin else "") + piece + ("…" if cut else "")


def _fold(text: str) -> str:
    """``text`` lower-cased and without accents, one character for each of ``text``'s
    (so positions carry over)."""
    if text.isascii():
        return text.lower()
    return "".join(unicodedata.normalize("NFD", char)[0].lower()[0] for char in text)
