"""Where the index's vectors are searched: the embedded store, or a Qdrant server.

- :class:`LocalVectors` (the default, no server): the vectors are the embedding cache
  in the index's own SQLite file, searched exactly (one matrix product with numpy).
  Measured against the alternatives (README, "Codebase index"): qdrant-client's local
  mode took minutes to upsert 50,000 points and warns above 20,000; sqlite-vec needs
  SQLite extension loading, which Python builds may lack; LanceDB installs ~450 MB.
- :class:`QdrantVectors` (``[codebase_index] qdrant_url``): the same store Kilo Code
  uses, with Kilo's collection name (``ws-`` + 16 hex digits of the workspace path's
  SHA-256) and payload (``filePath``, ``codeChunk``, ``startLine``, ``endLine``,
  ``segmentHash``, ``pathSegments``), so a team can share one index.

Both answer :meth:`search` with :class:`~kilo_tui.core.code.store.Hit` s.
"""

from __future__ import annotations

import hashlib
import struct
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from kilo_tui.core.code.store import ChunkRow, Hit, IndexDB, under

if TYPE_CHECKING:
    from qdrant_client import QdrantClient

_POINT_NAMESPACE = uuid.UUID("6ba7b811-9dad-11d1-80b4-00c04fd430c8")  # RFC 4122 URL namespace


class Vectors(Protocol):
    """A vector store the index writes to and searches."""

    label: str
    """How ``kilo-tui index status`` names it."""

    def upsert(self, chunks: Sequence[ChunkRow], vectors: Sequence[bytes]) -> None: ...

    def delete_paths(self, paths: Iterable[str]) -> None: ...

    def clear(self) -> None: ...

    def search(self, vector: bytes, limit: int, prefix: str) -> list[Hit]: ...


class LocalVectors:
    """Exact cosine search over the vectors cached in the index database.

    Writes are no-ops: a chunk's vector is in the embedding cache as soon as it is
    embedded, and a chunk deleted from the database leaves the search with it.
    """

    def __init__(self, db: IndexDB, model: str) -> None:
        self.db = db
        self.model = model
        self.label = f"embedded ({db.path})"
        self._cache: tuple[Any, ...] | None = None

    def upsert(self, chunks: Sequence[ChunkRow], vectors: Sequence[bytes]) -> None:
        pass

    def delete_paths(self, paths: Iterable[str]) -> None:
        pass

    def clear(self) -> None:
        pass

    def search(self, vector: bytes, limit: int, prefix: str) -> list[Hit]:
        import numpy as np

        ids, paths, matrix = self._matrix()
        if not ids:
            return []
        query = np.frombuffer(vector, dtype=np.float32)
        if query.shape[0] != matrix.shape[1]:
            raise ValueError(
                f"the query vector has {query.shape[0]} dimensions, the index "
                f"{matrix.shape[1]}: rebuild the index (kilo-tui index rebuild)"
            )
        scores = matrix @ (query / (np.linalg.norm(query) or 1.0))
        if prefix:
            scores[[not under(path, prefix) for path in paths]] = -np.inf
        top = [i for i in np.argsort(-scores)[:limit] if np.isfinite(scores[i])]
        rows = self.db.chunks_by_id([ids[i] for i in top])
        return [
            Hit(row.path, row.start_line, row.end_line, row.text, round(float(scores[i]), 4))
            for i in top
            if (row := rows.get(ids[i])) is not None
        ]

    def _matrix(self) -> tuple[list[int], list[str], Any]:
        """The vectors, read from the database once per change of its content."""
        version = self.db.version()
        if self._cache is None or self._cache[0] != version:
            self._cache = (version, *self.db.vector_matrix(self.model))
        return self._cache[1:]


def collection_name(workspace: Path) -> str:
    """Kilo Code's collection name for a workspace."""
    return "ws-" + hashlib.sha256(str(workspace).encode()).hexdigest()[:16]


class QdrantVectors:
    """Vectors and chunk payloads in a Qdrant collection (server, or local mode in tests)."""

    def __init__(self, client: QdrantClient, workspace: Path, label: str) -> None:
        self.client = client
        self.collection = collection_name(workspace)
        self.label = label
        self._size: int | None = None

    @classmethod
    def connect(cls, url: str, api_key: str, workspace: Path) -> QdrantVectors:
        from qdrant_client import QdrantClient

        client = QdrantClient(url=url, api_key=api_key or None, timeout=30)
        return cls(client, workspace, f"Qdrant at {url}, collection {collection_name(workspace)}")

    def _ensure_collection(self, size: int) -> None:
        from qdrant_client import models

        if self._size == size:
            return
        if not self.client.collection_exists(self.collection):
            self.client.create_collection(
                self.collection,
                vectors_config=models.VectorParams(size=size, distance=models.Distance.COSINE),
            )
        self._size = size

    def upsert(self, chunks: Sequence[ChunkRow], vectors: Sequence[bytes]) -> None:
        from qdrant_client import models

        if not chunks:
            return
        points = []
        for chunk, vector in zip(chunks, vectors, strict=True):
            values = _floats(vector)
            self._ensure_collection(len(values))
            segment = f"{chunk.path}:{chunk.start_line}-{chunk.end_line}:{chunk.hash}"
            points.append(
                models.PointStruct(
                    id=str(uuid.uuid5(_POINT_NAMESPACE, segment)),
                    vector=values,
                    payload={
                        "filePath": chunk.path,
                        "codeChunk": chunk.text,
                        "startLine": chunk.start_line,
                        "endLine": chunk.end_line,
                        "segmentHash": chunk.hash,
                        "pathSegments": dict(enumerate(chunk.path.split("/"))),
                    },
                )
            )
        self.client.upsert(self.collection, points=points, wait=True)

    def delete_paths(self, paths: Iterable[str]) -> None:
        from qdrant_client import models

        wanted = list(paths)
        if not wanted or not self.client.collection_exists(self.collection):
            return
        selector = models.Filter(
            should=[
                models.FieldCondition(key="filePath", match=models.MatchValue(value=p))
                for p in wanted
            ]
        )
        self.client.delete(self.collection, points_selector=selector, wait=True)

    def clear(self) -> None:
        if self.client.collection_exists(self.collection):
            self.client.delete_collection(self.collection)
        self._size = None

    def search(self, vector: bytes, limit: int, prefix: str) -> list[Hit]:
        if not self.client.collection_exists(self.collection):
            return []
        result = self.client.query_points(
            self.collection,
            query=_floats(vector),
            query_filter=_prefix_filter(prefix),
            limit=limit,
            with_payload=True,
        )
        return [_hit(point.payload or {}, point.score) for point in result.points]


def _prefix_filter(prefix: str) -> Any:
    """Kilo's folder filter: every segment of ``prefix`` matches in ``pathSegments``."""
    from qdrant_client import models

    if not prefix:
        return None
    return models.Filter(
        must=[
            models.FieldCondition(key=f"pathSegments.{i}", match=models.MatchValue(value=part))
            for i, part in enumerate(prefix.split("/"))
        ]
    )


def _hit(payload: dict[str, Any], score: float) -> Hit:
    return Hit(
        str(payload.get("filePath", "")),
        int(payload.get("startLine", 0)),
        int(payload.get("endLine", 0)),
        str(payload.get("codeChunk", "")),
        round(float(score), 4),
    )


def _floats(vector: bytes) -> list[float]:
    return list(struct.unpack(f"<{len(vector) // 4}f", vector))
