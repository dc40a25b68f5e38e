"""The codebase index behind ``codebase_search``: chunks of the workspace's files, their
embeddings, and the searches over them.

:class:`CodebaseIndex` keeps one workspace's index current:

- a full scan walks the workspace through the trust boundary (``core/trust``): files
  ignored by ``.gitignore``, ``.git/info/exclude`` or ``.kilocodeignore`` are never
  read, so their content is never chunked, embedded or stored; a file that becomes
  ignored leaves the index on the next scan, which every change to an ignore file
  starts. Unchanged files (same size and modification time) are not even read.
- a changed file is cut into syntax-aware chunks (:func:`kilo_tui.core.code.syntax.chunks`);
  only chunks whose text was never embedded before go to the embedding model (the
  cache is keyed by content hash), and the file's old chunks are replaced.
- :meth:`watch` re-indexes the files that change (watchfiles) until cancelled.

Work runs off the event loop (threads for files and SQLite), never before the first
frame: the runtime starts it in the background. Progress goes to the bus as
:class:`~kilo_tui.core.events.IndexProgress` and to the database for ``kilo-tui index
status``. Without an embedding model the index is lexical only (FTS5, BM25).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import stat
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from kilo_tui.core import events as ev
from kilo_tui.core import paths
from kilo_tui.core.bus import EventBus
from kilo_tui.core.code.embedder import Embedder, EmbeddingError
from kilo_tui.core.code.store import Hit, IndexDB, NewChunk, database_path
from kilo_tui.core.code.syntax import chunks, language_for
from kilo_tui.core.code.vectors import LocalVectors, QdrantVectors, Vectors
from kilo_tui.core.config import Settings
from kilo_tui.core.edits import decode_text
from kilo_tui.core.tools.files import looks_binary
from kilo_tui.core.trust.ignore import KILOCODEIGNORE, IgnoreMatcher
from kilo_tui.core.trust.paths import PathRefused, WorkspacePaths

log = logging.getLogger(__name__)

MAX_FILES = 50_000
"""Files indexed at most (Kilo Code's limit); the rest are left out and reported."""
MAX_FILE_BYTES = 1_000_000
"""Larger files are not indexed (Kilo Code's limit): generated or data files, mostly."""
CHUNK_CHARS = 1000
"""The size cap of one chunk (Kilo Code's), in characters."""
FILES_PER_BATCH = 100
FIRST_SCAN_WAIT = 20.0
"""Seconds a search waits for the first scan (a task's first request can come before
it is over); after that it answers from what is indexed, and says so."""
PROGRESS_INTERVAL = 0.25
"""Seconds between two progress events while indexing."""
_IGNORE_FILES = frozenset({".gitignore", KILOCODEIGNORE})


@dataclass(frozen=True)
class SearchOutcome:
    """What a search found, and a note for the model when the results are partial or
    lexical (empty when semantic over a complete index)."""

    hits: list[Hit]
    lexical: bool
    note: str = ""


class CodebaseIndex:
    """One workspace's index (see the module docstring)."""

    def __init__(
        self,
        workspace: Path,
        settings: Settings,
        bus: EventBus | None = None,
        *,
        vectors: Vectors | None = None,
    ) -> None:
        self.workspace = Path(workspace).resolve()
        self.settings = settings
        self.bus = bus
        self.db = IndexDB(database_path(self.workspace))
        conf = settings.codebase_index
        self.embedder = Embedder(settings) if conf.embedding_model else None
        self.vectors: Vectors | None = None
        if self.embedder is not None:
            self.vectors = vectors or self._default_vectors(self.embedder)
        self._paths = self._fresh_paths()
        # kilo-tui's own files when they are inside the workspace: never indexed, and
        # their writes (this index's among them) are not changes to re-index.
        self._own_dirs = tuple(
            d
            for d in (
                p.resolve() for p in (paths.config_dir(), paths.data_dir(), paths.cache_dir())
            )
            if d.is_relative_to(self.workspace) and d != self.workspace
        )
        self._run_lock = asyncio.Lock()
        self._scanned = asyncio.Event()
        """Set once a full scan has ended (well or not)."""
        self._state = ("idle", 0, 0)
        self._last_progress = 0.0

    def _default_vectors(self, embedder: Embedder) -> Vectors:
        conf = self.settings.codebase_index
        if conf.qdrant_url:
            return QdrantVectors.connect(conf.qdrant_url, conf.qdrant_api_key, self.workspace)
        return LocalVectors(self.db, embedder.cache_key)

    def _fresh_paths(self) -> WorkspacePaths:
        """A new view of the ignore files (a full scan re-reads every ``.gitignore``)."""
        return WorkspacePaths(self.workspace, IgnoreMatcher(self.workspace))

    def close(self) -> None:
        self.db.close()

    # ---------------------------------------------------------------- status

    @property
    def store_label(self) -> str:
        if self.vectors is None:
            return f"lexical only ({self.db.path})"
        return self.vectors.label

    def _publish(
        self, state: str, done: int, total: int, message: str = "", *, force: bool = False
    ) -> None:
        """Record the state; tell the bus and the database now and then (always when
        ``force``), not for every batch."""
        self._state = (state, done, total)
        now = time.monotonic()
        if not force and now - self._last_progress < PROGRESS_INTERVAL:
            return
        self._last_progress = now
        files, chunk_count = self.db.counts()
        self.db.set_state(
            state=state,
            done=done,
            total=total,
            files=files,
            chunks=chunk_count,
            message=message,
            model=self.embedder.model if self.embedder else "",
            store=self.store_label,
        )
        if self.bus is not None:
            self.bus.publish(
                ev.IndexProgress(
                    state=state, done=done, total=total, chunks=chunk_count, message=message
                )
            )

    # -------------------------------------------------------------- indexing

    async def rebuild(self) -> None:
        """Forget every file and chunk (the embedding cache stays) and index anew."""
        async with self._run_lock:
            await asyncio.to_thread(self.db.clear)
            if self.vectors is not None:
                await asyncio.to_thread(self.vectors.clear)
        await self.update()

    async def update(self, changed: Iterable[str] | None = None) -> None:
        """Bring the index up to date: everything (a full scan) or only the ``changed``
        workspace-relative paths (files or folders, present or gone)."""
        async with self._run_lock:
            try:
                await self._update(changed)
            finally:
                if changed is None:
                    self._scanned.set()

    async def _update(self, changed: Iterable[str] | None) -> None:
        """One update under the run lock (see :meth:`update`)."""
        if changed is None:
            self._paths = self._fresh_paths()
            scan = await asyncio.to_thread(self._full_scan)
        else:
            scan = await asyncio.to_thread(self._partial_scan, set(changed))
        to_index, to_remove, skipped = scan
        try:
            await self._apply(to_index, to_remove)
            if changed is None and (to_index or to_remove):
                await asyncio.to_thread(self._tidy, bool(to_remove))
        except (EmbeddingError, OSError, ValueError) as exc:
            self._publish("error", 0, len(to_index), str(exc), force=True)
            return
        except Exception as exc:  # a vector server's own errors
            log.exception("codebase index update failed")
            self._publish("error", 0, len(to_index), f"{type(exc).__name__}: {exc}", force=True)
            return
        note = f"{skipped:,} files over the {MAX_FILES:,}-file limit left out" if skipped else ""
        self._publish("ready", len(to_index), len(to_index), note, force=True)

    def _full_scan(self) -> tuple[list[tuple[str, tuple[int, int]]], set[str], int]:
        """Walk the workspace: the files whose signature changed, the indexed files
        that are gone or now ignored, and how many files were over the limit."""
        known = self.db.file_signatures()
        seen: set[str] = set()
        to_index: list[tuple[str, tuple[int, int]]] = []
        skipped = 0
        for path in self._paths.ignore.walk():
            if any(path.is_relative_to(d) for d in self._own_dirs):
                continue
            signature = _signature(path)
            if signature is None:
                continue
            if len(seen) >= MAX_FILES:
                skipped += 1
                continue
            rel = path.relative_to(self.workspace).as_posix()
            seen.add(rel)
            if known.get(rel) != signature:
                to_index.append((rel, signature))
        return to_index, set(known) - seen, skipped

    def _partial_scan(
        self, changed: set[str]
    ) -> tuple[list[tuple[str, tuple[int, int]]], set[str], int]:
        to_index: list[tuple[str, tuple[int, int]]] = []
        to_remove: set[str] = set()
        matcher = self._paths.ignore
        for rel in changed:
            under = self.db.all_paths(rel)
            full = self.workspace / rel
            present: set[str] = set()
            if not matcher.is_ignored(rel):
                files = matcher.walk(full) if full.is_dir() and not full.is_symlink() else [full]
                for path in files:
                    signature = _signature(path)
                    if signature is not None:
                        file_rel = path.relative_to(self.workspace).as_posix()
                        present.add(file_rel)
                        to_index.append((file_rel, signature))
            to_remove |= under - present
        return to_index, to_remove, 0

    async def _apply(
        self, to_index: list[tuple[str, tuple[int, int]]], to_remove: set[str]
    ) -> None:
        total = len(to_index)
        if to_remove:
            if self.vectors is not None:
                await asyncio.to_thread(self.vectors.delete_paths, to_remove)
            await asyncio.to_thread(self.db.remove_files, to_remove)
        self._publish("indexing", 0, total, force=True)
        for start in range(0, total, FILES_PER_BATCH):
            batch = to_index[start : start + FILES_PER_BATCH]
            await self._index_batch(batch)
            self._publish("indexing", min(start + len(batch), total), total)

    def _tidy(self, removed: bool) -> None:
        """After a full scan: drop cached vectors no chunk uses, and scrub what removed
        files left on disk (files that became ignored, say)."""
        if self.embedder is not None:
            self.db.prune_cache(self.embedder.cache_key)
        if removed:
            self.db.scrub()

    async def _index_batch(self, batch: list[tuple[str, tuple[int, int]]]) -> None:
        prepared = await asyncio.to_thread(self._prepare, batch)
        vectors = await self._vectors_for(prepared)
        await asyncio.to_thread(self._store, prepared, vectors)

    def _prepare(
        self, batch: list[tuple[str, tuple[int, int]]]
    ) -> list[tuple[str, tuple[int, int], list[NewChunk] | None]]:
        """Each file's new chunks; ``None`` when it cannot be indexed (gone, binary, too
        large, refused by the trust boundary) and must leave the index."""
        prepared: list[tuple[str, tuple[int, int], list[NewChunk] | None]] = []
        for rel, signature in batch:
            text = self._read(rel)
            if text is None:
                prepared.append((rel, signature, None))
                continue
            pieces = [
                NewChunk(c.start_line, c.end_line, c.text, _hash(c.text))
                for c in chunks(text, language_for(rel), CHUNK_CHARS)
                if c.text.strip()
            ]
            if [c.hash for c in pieces] == self.db.chunk_hashes(rel):
                self.db.touch_file(rel, signature)  # same content, new timestamp
                continue
            prepared.append((rel, signature, pieces))
        return prepared

    def _read(self, rel: str) -> str | None:
        """The text of a workspace file, read through the trust boundary, or None."""
        try:
            target = self._paths.target(self.workspace / rel)
            if target.outside or self._paths.is_blocked(target):
                return None
            if target.rel != rel and self._paths.ignore.is_ignored(target.real):
                return None  # a link into an ignored file
            content = self._paths.read(target, MAX_FILE_BYTES)
        except (PathRefused, OSError):
            return None
        if content.truncated or looks_binary(content.data):
            return None
        return decode_text(content.data)

    async def _vectors_for(
        self, prepared: list[tuple[str, tuple[int, int], list[NewChunk] | None]]
    ) -> dict[str, bytes]:
        """The vector of every chunk in ``prepared``: from the cache, else embedded now."""
        if self.embedder is None:
            return {}
        key = self.embedder.cache_key
        texts = {c.hash: c.text for _, _, pieces in prepared for c in pieces or ()}
        cached = await asyncio.to_thread(self.db.cached_vectors, key, texts)
        missing = [h for h in texts if h not in cached]
        if missing:
            fresh = dict(
                zip(missing, await self.embedder.embed([texts[h] for h in missing]), strict=True)
            )
            await asyncio.to_thread(self.db.cache_vectors, key, fresh)
            cached.update(fresh)
        return cached

    def _store(
        self,
        prepared: list[tuple[str, tuple[int, int], list[NewChunk] | None]],
        vectors: dict[str, bytes],
    ) -> None:
        gone = [rel for rel, _, pieces in prepared if pieces is None]
        if gone:
            if self.vectors is not None:
                self.vectors.delete_paths(gone)
            self.db.remove_files(gone)
        for rel, signature, pieces in prepared:
            if pieces is None:
                continue
            stored = self.db.replace_file(rel, signature, pieces)
            if self.vectors is None:
                continue
            try:
                self.vectors.delete_paths([rel])
                self.vectors.upsert(stored, [vectors[c.hash] for c in stored])
            except BaseException:
                self.db.remove_files([rel])  # not recorded: the next scan retries it
                raise

    # --------------------------------------------------------------- watching

    async def watch(self, *, debounce_ms: int = 300) -> None:
        """Re-index what changes in the workspace, until cancelled."""
        import watchfiles

        async for changes in watchfiles.awatch(
            self.workspace, watch_filter=self._watched, debounce=debounce_ms, step=50
        ):
            rels = {self._relative(Path(name)) for _, name in changes}
            rels.discard(None)
            if any(_is_ignore_file(rel) for rel in rels if rel is not None):
                await self.update()
            else:
                await self.update(r for r in rels if r is not None)

    def _watched(self, _change: object, name: str) -> bool:
        rel = self._relative(Path(name))
        if rel is None or rel == "":
            return False
        parts = rel.split("/")
        return ".git" not in parts or rel == ".git/info/exclude"

    def _relative(self, path: Path) -> str | None:
        try:
            rel = path.relative_to(self.workspace).as_posix()
        except ValueError:
            return None
        return None if any(path.is_relative_to(d) for d in self._own_dirs) else rel

    async def run(self) -> None:
        """Index the workspace, then keep it current; what the runtime runs in the
        background. Errors are reported as state ``error``, never raised."""
        # Watching starts first: what changes during the first scan is indexed after it.
        watcher = asyncio.create_task(self.watch())
        try:
            await self.update()
            await watcher
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("codebase index stopped")
            self._publish("error", 0, 0, f"{type(exc).__name__}: {exc}", force=True)
        finally:
            watcher.cancel()

    # -------------------------------------------------------------- searching

    async def search(self, query: str, prefix: str = "", limit: int = 10) -> SearchOutcome:
        """The chunks most relevant to ``query`` under the folder or file ``prefix``."""
        if not self._scanned.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._scanned.wait(), FIRST_SCAN_WAIT)
        notes: list[str] = []
        state, done, total = self._state
        if state == "indexing":
            notes.append(
                f"The index is still being built ({done:,} of {total:,} changed files "
                "done): results may be incomplete."
            )
        if self.embedder is not None and self.vectors is not None:
            try:
                vector = (await self.embedder.embed([query]))[0]
                hits = await asyncio.to_thread(self.vectors.search, vector, limit, prefix)
                return SearchOutcome(hits, False, " ".join(notes))
            except Exception as exc:  # the provider or the vector server is down
                notes.append(f"Semantic search failed ({exc}); these results are lexical.")
        else:
            notes.append(
                "No embedding model is configured ([codebase_index] embedding_model), so "
                "this search is lexical: chunks sharing words with the query, ranked by BM25."
            )
        hits = await asyncio.to_thread(self.db.lexical_search, query, prefix, limit)
        return SearchOutcome(hits, True, " ".join(notes))


def _signature(path: Path) -> tuple[int, int] | None:
    """``(size, mtime_ns)`` of a regular file (or link) small enough to index."""
    try:
        info = os.lstat(path)
    except OSError:
        return None
    if not (stat.S_ISREG(info.st_mode) or stat.S_ISLNK(info.st_mode)):
        return None
    if info.st_size > MAX_FILE_BYTES:
        return None
    return info.st_size, info.st_mtime_ns


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _is_ignore_file(rel: str) -> bool:
    return rel.rsplit("/", 1)[-1] in _IGNORE_FILES or rel == ".git/info/exclude"
