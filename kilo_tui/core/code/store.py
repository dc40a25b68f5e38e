"""The codebase index's own database: one SQLite file per workspace, under kilo-tui's
data directory (never in the workspace).

It holds what the index knows about each file (size and modification time, to skip
unchanged files without reading them), the file's chunks with an FTS5 table over
their text (the lexical search, BM25-ranked), the embedding cache keyed by model and
content hash (a chunk whose text was embedded once is never sent again, whichever file
it is in, even after ``kilo-tui index rebuild``), and the index's state for
``kilo-tui index status``.

Every method takes the connection lock: the indexer writes from a worker thread while
searches read from another, and the CLI may read the same file from its own process
(WAL mode, with a busy timeout).
"""

from __future__ import annotations

import contextlib
import json
import re
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kilo_tui.core import paths

if TYPE_CHECKING:
    import numpy as np

_SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL,
    start_line INTEGER NOT NULL,
    end_line INTEGER NOT NULL,
    text TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_path ON chunks(path);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(
    text, content='chunks', content_rowid='id'
);
CREATE TRIGGER IF NOT EXISTS chunks_added AFTER INSERT ON chunks BEGIN
    INSERT INTO chunks_fts(rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER IF NOT EXISTS chunks_removed AFTER DELETE ON chunks BEGIN
    INSERT INTO chunks_fts(chunks_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;
CREATE TABLE IF NOT EXISTS embeddings (
    model TEXT NOT NULL,
    hash TEXT NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (model, hash)
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def database_path(workspace: Path) -> Path:
    """Where the index of ``workspace`` lives."""
    return paths.data_dir() / "index" / paths.workspace_id(workspace) / "index.sqlite3"


@dataclass(frozen=True)
class ChunkRow:
    """A stored chunk: where it is and what it says."""

    id: int
    path: str
    start_line: int
    end_line: int
    text: str
    hash: str


@dataclass(frozen=True)
class NewChunk:
    """A chunk about to be stored (its id is given by the database)."""

    start_line: int
    end_line: int
    text: str
    hash: str


@dataclass(frozen=True)
class Hit:
    """One search result; ``score``: cosine similarity, or BM25 relevance (higher is
    better in both)."""

    path: str
    start_line: int
    end_line: int
    text: str
    score: float


class IndexDB:
    """The SQLite file of one workspace's index (see the module docstring)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        paths.ensure_dir(path.parent)
        self._db = sqlite3.connect(path, check_same_thread=False, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        # What a file that becomes ignored leaves behind is overwritten, not just freed.
        self._db.execute("PRAGMA secure_delete=ON")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()
        self._writes = 0

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        """One write transaction; it makes :meth:`version` change."""
        with self._lock, self._db:
            self._writes += 1
            yield

    def version(self) -> tuple[int, int]:
        """Changes whenever the content may have: a write here, or a commit by another
        connection (``kilo-tui index rebuild`` in another process)."""
        with self._lock:
            return self._db.execute("PRAGMA data_version").fetchone()[0], self._writes

    # ---------------------------------------------------------------- files

    def file_signatures(self) -> dict[str, tuple[int, int]]:
        """``{path: (size, mtime_ns)}`` of every indexed file."""
        with self._lock:
            rows = self._db.execute("SELECT path, size, mtime_ns FROM files").fetchall()
        return {path: (size, mtime) for path, size, mtime in rows}

    def chunk_hashes(self, path: str) -> list[str]:
        with self._lock:
            rows = self._db.execute(
                "SELECT hash FROM chunks WHERE path = ? ORDER BY id", (path,)
            ).fetchall()
        return [row[0] for row in rows]

    def replace_file(
        self, path: str, signature: tuple[int, int], chunks: Sequence[NewChunk]
    ) -> list[ChunkRow]:
        """Store ``path``'s chunks in place of its old ones; returns them with their ids."""
        with self._writing():
            self._db.execute("DELETE FROM chunks WHERE path = ?", (path,))
            self._db.execute(
                "INSERT OR REPLACE INTO files (path, size, mtime_ns) VALUES (?, ?, ?)",
                (path, *signature),
            )
            stored = []
            for chunk in chunks:
                cursor = self._db.execute(
                    "INSERT INTO chunks (path, start_line, end_line, text, hash) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (path, chunk.start_line, chunk.end_line, chunk.text, chunk.hash),
                )
                assert cursor.lastrowid is not None
                stored.append(
                    ChunkRow(
                        cursor.lastrowid,
                        path,
                        chunk.start_line,
                        chunk.end_line,
                        chunk.text,
                        chunk.hash,
                    )
                )
        return stored

    def touch_file(self, path: str, signature: tuple[int, int]) -> None:
        """Record a new signature for a file whose content did not change."""
        with self._writing():
            self._db.execute(
                "UPDATE files SET size = ?, mtime_ns = ? WHERE path = ?", (*signature, path)
            )

    def remove_files(self, paths_: Iterable[str]) -> None:
        with self._writing():
            for path in paths_:
                self._db.execute("DELETE FROM chunks WHERE path = ?", (path,))
                self._db.execute("DELETE FROM files WHERE path = ?", (path,))

    def scrub(self) -> None:
        """Leave no trace of removed chunks on disk: merge the FTS index (its old
        segments still hold their words) and empty the WAL (it holds old pages);
        ``secure_delete`` zeroes the pages this frees."""
        with self._writing():
            self._db.execute("INSERT INTO chunks_fts(chunks_fts) VALUES ('optimize')")
        with self._lock:
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def clear(self) -> None:
        """Forget every file and chunk; the embedding cache stays."""
        with self._writing():
            self._db.execute("DELETE FROM chunks")
            self._db.execute("DELETE FROM files")

    def counts(self) -> tuple[int, int]:
        """``(files, chunks)`` in the index."""
        with self._lock:
            files = self._db.execute("SELECT count(*) FROM files").fetchone()[0]
            chunks = self._db.execute("SELECT count(*) FROM chunks").fetchone()[0]
        return int(files), int(chunks)

    def all_paths(self, prefix: str = "") -> set[str]:
        """The indexed files, all or those in the file or folder ``prefix``."""
        where, args = _prefix_clause(prefix, "WHERE")
        with self._lock:
            rows = self._db.execute(f"SELECT path FROM files c {where}", args)
            return {row[0] for row in rows}

    # ----------------------------------------------------------- embeddings

    def cached_vectors(self, model: str, hashes: Iterable[str]) -> dict[str, bytes]:
        """The cached embeddings among ``hashes`` (float32 bytes)."""
        wanted = list(dict.fromkeys(hashes))
        found: dict[str, bytes] = {}
        with self._lock:
            for start in range(0, len(wanted), 500):
                batch = wanted[start : start + 500]
                marks = ",".join("?" * len(batch))
                rows = self._db.execute(
                    f"SELECT hash, vector FROM embeddings WHERE model = ? AND hash IN ({marks})",
                    (model, *batch),
                )
                found.update(rows)
        return found

    def cache_vectors(self, model: str, vectors: dict[str, bytes]) -> None:
        with self._writing():
            self._db.executemany(
                "INSERT OR REPLACE INTO embeddings (model, hash, vector) VALUES (?, ?, ?)",
                [(model, h, v) for h, v in vectors.items()],
            )

    def prune_cache(self, model: str) -> None:
        """Drop cached embeddings no chunk uses any more (after a full scan)."""
        with self._writing():
            self._db.execute(
                "DELETE FROM embeddings WHERE model = ? AND hash NOT IN "
                "(SELECT DISTINCT hash FROM chunks)",
                (model,),
            )

    def vector_matrix(self, model: str) -> tuple[list[int], list[str], np.ndarray[Any, Any]]:
        """Every embedded chunk: ids, paths and vectors, one row each (normalised, so a
        dot product is the cosine)."""
        import numpy as np

        with self._lock:
            rows = self._db.execute(
                "SELECT c.id, c.path, e.vector FROM chunks c JOIN embeddings e "
                "ON e.hash = c.hash AND e.model = ?",
                (model,),
            ).fetchall()
        if not rows:
            return [], [], np.zeros((0, 0), dtype=np.float32)
        matrix = np.frombuffer(b"".join(row[2] for row in rows), dtype=np.float32)
        matrix = matrix.reshape(len(rows), -1)
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        ids = [row[0] for row in rows]
        return ids, [row[1] for row in rows], matrix / np.where(norms == 0, 1, norms)

    def chunks_by_id(self, ids: Sequence[int]) -> dict[int, ChunkRow]:
        marks = ",".join("?" * len(ids))
        with self._lock:
            rows = self._db.execute(
                "SELECT id, path, start_line, end_line, text, hash FROM chunks "
                f"WHERE id IN ({marks})",
                tuple(ids),
            ).fetchall()
        return {row[0]: ChunkRow(*row) for row in rows}

    # --------------------------------------------------------------- search

    def lexical_search(self, query: str, prefix: str, limit: int) -> list[Hit]:
        """Chunks matching any word of ``query``, best BM25 first (FTS5 syntax in the
        query is never interpreted: every word is quoted)."""
        words = re.findall(r"\w+", query)
        if not words:
            return []
        match = " OR ".join(f'"{w}"' for w in dict.fromkeys(words))
        where, args = _prefix_clause(prefix)
        with self._lock:
            rows = self._db.execute(
                "SELECT c.path, c.start_line, c.end_line, c.text, bm25(chunks_fts) AS rank "
                "FROM chunks_fts JOIN chunks c ON c.id = chunks_fts.rowid "
                f"WHERE chunks_fts MATCH ? {where} ORDER BY rank LIMIT ?",
                (match, *args, limit),
            ).fetchall()
        return [Hit(p, s, e, t, round(-rank, 4)) for p, s, e, t, rank in rows]

    # ----------------------------------------------------------------- state

    def set_state(self, **values: Any) -> None:
        """Record the indexer's state (``kilo-tui index status`` reads it)."""
        values["updated"] = time.time()
        with self._writing():
            self._db.executemany(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                [(k, json.dumps(v)) for k, v in values.items()],
            )

    def state(self) -> dict[str, Any]:
        with self._lock:
            rows = self._db.execute("SELECT key, value FROM meta").fetchall()
        return {key: json.loads(value) for key, value in rows}


def under(path: str, prefix: str) -> bool:
    """True if ``path`` is the file or inside the folder ``prefix`` ("" = everything)."""
    return not prefix or path == prefix or path.startswith(prefix + "/")


def _prefix_clause(prefix: str, keyword: str = "AND") -> tuple[str, tuple[str, ...]]:
    """SQL restricting ``c.path`` to the file or folder ``prefix`` ("" = everything)."""
    if not prefix:
        return "", ()
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"{keyword} (c.path = ? OR c.path LIKE ? ESCAPE '\\')", (prefix, escaped + "/%")
