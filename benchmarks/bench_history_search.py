"""/history's search of what was said, on a store of 500 tasks × 200 messages.

Run: python benchmarks/bench_history_search.py [--tasks N] [--messages M]
Fills a real session database (half the events are user and assistant messages of ~120
words, Zipf-distributed like prose; the other half tool output, which is not indexed),
then prints the median time of ``SessionStore.search_text`` for a word said in almost
every message, its first letters, a rarer word, two common words, a common word's first
three letters, and no match; and how
long opening a database written before the index existed takes (it is indexed then).
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from kilo_tui.core.sessions import SessionStore

COMMON = [
    "the",
    "of",
    "and",
    "to",
    "in",
    "is",
    "that",
    "for",
    "it",
    "with",
    "as",
    "was",
    "on",
    "be",
    "by",
    "this",
    "are",
    "or",
    "at",
    "from",
]
LETTERS = "abcdefghijklmnopqrstuvwxyz"


def vocabulary(size: int = 20_000) -> list[str]:
    """Made-up words of 3 to 10 letters: their prefixes are shared about as in prose."""
    rng = random.Random(0)
    return ["".join(rng.choices(LETTERS, k=rng.randint(3, 10))) for _ in range(size)]


VOCAB = vocabulary()
QUERIES = ("the", "th", VOCAB[1234], f"{VOCAB[5]} {VOCAB[7]}", f"{VOCAB[5][:3]}", "zzzzqq")


def fill(path: Path, tasks: int, messages: int) -> None:
    """Tasks and events written straight into the database, in one transaction (the
    store's triggers index them as they would one by one)."""
    SessionStore(path).close()
    weights = [1 / (i + 1) for i in range(len(VOCAB))]
    kinds = ("user_message", "assistant_message", "tool_call_finished", "command_output")
    rng = random.Random(1)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("BEGIN")
    for t in range(tasks):
        db.execute(
            "INSERT INTO tasks (id, workspace, title, created_at, updated_at)"
            " VALUES (?, '/w', ?, ?, ?)",
            (f"t{t}", f"Task {t}", t, t),
        )
        for m in range(messages):
            words = rng.choices(VOCAB, weights, k=80) + rng.choices(COMMON, k=40)
            rng.shuffle(words)
            kind = kinds[m % len(kinds)]
            data = json.dumps({"type": kind, "task_id": f"t{t}", "text": " ".join(words)})
            db.execute(
                "INSERT INTO events (task_id, type, data, ts) VALUES (?, ?, ?, ?)",
                (f"t{t}", kind, data, m),
            )
    db.execute("COMMIT")
    db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=500)
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--db", type=Path, help="keep the database here (reused if it exists)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.db or Path(tmp) / "sessions.sqlite3"
        if not path.exists():
            started = time.perf_counter()
            fill(path, args.tasks, args.messages)
            elapsed = time.perf_counter() - started
            print(f"{args.tasks} tasks × {args.messages} events written in {elapsed:.1f} s")
        store = SessionStore(path)
        for query in QUERIES:
            times = []
            for _ in range(7):
                started = time.perf_counter()
                found = store.search_text(query, workspace="/w")
                times.append(time.perf_counter() - started)
            median = statistics.median(times) * 1000
            print(f"{query!r:>14}: {len(found):4} tasks, median {median:6.1f} ms")
        store.close()
        db = sqlite3.connect(path)
        db.execute("PRAGMA user_version = 0")
        db.close()
        started = time.perf_counter()
        SessionStore(path).close()
        print(f"indexing on first open: {time.perf_counter() - started:.2f} s")


if __name__ == "__main__":
    main()
