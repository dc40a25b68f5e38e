"""Embeddings for the codebase index, through litellm's embedding call.

The model is ``[codebase_index] embedding_model``, a litellm model string; its key and
base come from the provider's settings through the one routing table
(:func:`kilo_tui.core.llm.providers.route`), so a key only ever goes to its own host.
Texts are sent in batches; vectors come back as float32 bytes, the form the index
stores and searches.
"""

from __future__ import annotations

import base64
import struct
from collections.abc import Sequence
from typing import Any

from kilo_tui.core.config import Settings
from kilo_tui.core.llm import providers

BATCH_SIZE = 64
"""Texts per request (providers cap both the count and the tokens of one request)."""
BATCH_CHARS = 100_000
"""Characters per request, so one request stays well under the providers' token caps."""


class EmbeddingError(Exception):
    """The embedding provider failed; the message is safe to show (keys redacted)."""


class Embedder:
    """Turns texts into vectors with one configured model."""

    def __init__(self, settings: Settings) -> None:
        conf = settings.codebase_index
        self.model = conf.embedding_model
        self.dimensions = conf.dimensions
        self.route = providers.route(settings.providers, self.model)
        self._settings = settings
        self._base64 = self.route.model.startswith("openai/")

    @property
    def cache_key(self) -> str:
        """Names the vector space: the same text under another model or size differs."""
        return f"{self.model}@{self.dimensions}" if self.dimensions else self.model

    async def embed(self, texts: Sequence[str]) -> list[bytes]:
        """One float32 vector per text, in order."""
        vectors: list[bytes] = []
        for batch in _batches(texts):
            vectors.extend(await self._request(batch))
        return vectors

    async def _request(self, batch: list[str]) -> list[bytes]:
        from kilo_tui.core.llm.litellm_loader import load_litellm

        litellm = load_litellm()
        params: dict[str, Any] = dict(self.route.extra)
        if self.route.api_base:
            params["api_base"] = self.route.api_base
        if self.route.api_key:
            params["api_key"] = self.route.api_key
        if self.route.headers:
            params["extra_headers"] = dict(self.route.headers)
        if self.dimensions:
            params["dimensions"] = self.dimensions
        try:
            response = await self._call(litellm, batch, params)
        except Exception as exc:
            raise EmbeddingError(self._describe(exc)) from exc
        data = sorted(response.data, key=lambda item: _field(item, "index"))
        if len(data) != len(batch):
            raise EmbeddingError(
                f"{self.model} returned {len(data)} embeddings for {len(batch)} texts"
            )
        return [_pack(_field(item, "embedding")) for item in data]

    async def _call(self, litellm: Any, batch: list[str], params: dict[str, Any]) -> Any:
        """One request. OpenAI-style servers are asked for base64 vectors (the float
        lists take far longer to parse); one that refuses the option is asked again
        without it, and from then on."""
        if self._base64:
            try:
                return await litellm.aembedding(
                    model=self.route.model, input=batch, encoding_format="base64", **params
                )
            except litellm.BadRequestError as exc:
                if "encoding_format" not in str(exc):
                    raise
                self._base64 = False
        return await litellm.aembedding(model=self.route.model, input=batch, **params)

    def _describe(self, exc: Exception) -> str:
        from kilo_tui.core.trust.secrets import redactor_for

        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        text = redactor_for(self._settings).text(message)
        if self.route.api_key:
            text = text.replace(self.route.api_key, "***")
        return f"embedding with {self.model} failed: {text}"


def _batches(texts: Sequence[str]) -> list[list[str]]:
    batches: list[list[str]] = []
    current: list[str] = []
    size = 0
    for text in texts:
        if current and (len(current) >= BATCH_SIZE or size + len(text) > BATCH_CHARS):
            batches.append(current)
            current, size = [], 0
        current.append(text)
        size += len(text)
    if current:
        batches.append(current)
    return batches


def _field(item: Any, name: str) -> Any:
    return item[name] if isinstance(item, dict) else getattr(item, name)


def _pack(vector: Sequence[float] | str) -> bytes:
    """float32 little-endian bytes, from a list of floats or OpenAI's base64 (which
    is those bytes already)."""
    if isinstance(vector, str):
        return base64.b64decode(vector)
    return struct.pack(f"<{len(vector)}f", *vector)
