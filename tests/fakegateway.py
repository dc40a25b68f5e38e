"""A fake Kilo gateway on 127.0.0.1, shaped like the real one (see core/llm/gateway.py).

Routes, under the root ``server.root`` (what ``KILO_API_URL`` or ``[providers.kilo]
api_base`` point at):

* ``GET /api/gateway/models``: free and paid chat models with ``preferredIndex``, the
  ``kilo/auto`` virtual model, plus an image model and an embedding model (not chat);
  answers 404 when ``legacy_only`` is set, so clients fall back to
* ``GET /api/openrouter/models``: the legacy OpenRouter-shaped list (same models);
* ``GET /api/defaults`` and ``/api/organizations/<id>/defaults``: ``defaultModel`` and
  ``defaultFreeModel``;
* ``POST /api/gateway/chat/completions``: scripted replies as in
  :mod:`tests.fakeserver`; every request's headers and credential are recorded.

Tokens in ``server.tokens`` are accepted; any other token (not ``anonymous``) gets 401.
After ``per_ip_limit`` anonymous chat requests, the gateway answers 429 with
``Retry-After``, as its per-IP limit for free use does.
"""

from __future__ import annotations

import re
from typing import Any

from tests.fakeserver import FakeLLMServer, _Handler

FREE_DEFAULT = "minimax/minimax-m2.1:free"
PAID_DEFAULT = "openai/gpt-5"


def _model(
    model_id: str,
    prompt: str,
    completion: str,
    *,
    index: int | None = None,
    is_free: bool | None = None,
    outputs: tuple[str, ...] = ("text",),
    params: tuple[str, ...] = ("tools", "temperature"),
) -> dict[str, Any]:
    model: dict[str, Any] = {
        "id": model_id,
        "name": model_id.split("/")[-1],
        "context_length": 128000,
        "max_completion_tokens": 8192,
        "pricing": {"prompt": prompt, "completion": completion},
        "architecture": {"input_modalities": ["text"], "output_modalities": list(outputs)},
        "top_provider": {"max_completion_tokens": 8192},
        "supported_parameters": list(params),
    }
    if index is not None:
        model["preferredIndex"] = index
    if is_free is not None:
        model["isFree"] = is_free
    return model


MODELS = [
    _model("anthropic/claude-sonnet-4.5", "0.000003", "0.000015", index=1),
    _model("kilo/auto", "0.000001", "0.000001", index=0),
    _model(FREE_DEFAULT, "0", "0", index=2),
    _model("x-ai/grok-code-fast-1", "0", "0", index=3, is_free=True),
    _model("openai/gpt-5", "0.00000125", "0.00001"),
    _model("z-ai/glm-4.6:free", "0", "0"),
    _model("google/gemini-2.5-flash-image", "0", "0", outputs=("image", "text")),
    _model("openai/text-embedding-3-small", "0", "0", params=()),
    _model("some/no-tools-model:free", "0", "0", params=("temperature",)),
]
FREE_CHAT_IDS = [
    "kilo/minimax/minimax-m2.1:free",
    "kilo/x-ai/grok-code-fast-1",
    "kilo/z-ai/glm-4.6:free",
]


class FakeGateway(FakeLLMServer):
    """``root`` is the gateway's root URL; ``credentials`` / ``requests`` record calls."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.tokens: set[str] = {"kilo-token-good"}
        self.legacy_only = False
        self.per_ip_limit: int | None = None
        self.retry_after = 1800
        self.anonymous_chats = 0

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def chat_credentials(self) -> list[str]:
        """The Authorization header of each chat request, in order."""
        return [
            c.get("authorization", "")
            for c in self.credentials
            if c["path"].endswith("/chat/completions")
        ]


class _GatewayHandler(_Handler):
    server_version = "FakeKiloGateway/1.0"

    @property
    def gateway(self) -> FakeGateway:
        return self.server.fake  # type: ignore[attr-defined, no-any-return]

    def _token(self) -> str:
        return (self.headers.get("Authorization") or "").removeprefix("Bearer ").strip()

    def _refused(self) -> bool:
        token = self._token()
        if token in ("", "anonymous") or token in self.gateway.tokens:
            return False
        self.close_connection = True  # the body stays unread
        self._send_json(401, {"error": {"message": "Invalid token", "code": 401}})
        return True

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        if path == "/_requests":
            super().do_GET()
            return
        self.gateway._record("GET", path, dict(self.headers), None)
        if self._refused():
            return
        listing = "/api/openrouter/models" if self.gateway.legacy_only else "/api/gateway/models"
        if path in (listing, "/api/openrouter/models"):
            self._send_json(200, {"data": MODELS})
        elif path == "/api/defaults" or re.fullmatch(r"/api/organizations/[^/]+/defaults", path):
            self._send_json(200, {"defaultModel": PAID_DEFAULT, "defaultFreeModel": FREE_DEFAULT})
        else:
            self._send_json(404, {"error": {"message": f"no route {path}"}})

    def do_POST(self) -> None:
        if not self.path.startswith("/api/gateway/"):
            self._send_json(404, {"error": {"message": f"no route {self.path}"}})
            return
        if self._refused():
            self.gateway._record("POST", self.path, dict(self.headers), None)
            return
        gateway = self.gateway
        if self._token() == "anonymous" and gateway.per_ip_limit is not None:
            gateway.anonymous_chats += 1
            if gateway.anonymous_chats > gateway.per_ip_limit:
                gateway._record("POST", self.path, dict(self.headers), None)
                message = "Rate limit exceeded for free usage from this IP address"
                headers = {"Retry-After": str(gateway.retry_after)}
                self.close_connection = True  # the body stays unread
                self._send_json(429, {"error": {"message": message, "code": 429}}, headers)
                return
        super().do_POST()


FakeGateway.handler = _GatewayHandler
