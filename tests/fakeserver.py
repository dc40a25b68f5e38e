"""A fake OpenAI-compatible LLM server for tests: real HTTP on 127.0.0.1, real SSE.

litellm talks to it exactly as it talks to OpenAI, so tests exercise the real client
stack (litellm, its HTTP transport, a real socket) without any provider or network.

Replies come from a scripted queue of :class:`Turn` s, one turn per request::

    server.script(
        Turn.text("Let me look."),
        Turn.tool("read_file", path="a.py"),
        Turn.error(429, retry_after=0.01),
    )

When the queue is empty the server answers with a default turn: an
``attempt_completion`` tool call with ``result="done"`` if the request offered that
tool (so an agent loop always terminates), otherwise the text ``"done"``.

Every request is logged (parsed JSON body plus headers, minus credentials) in
``server.requests`` so tests can assert on exactly what the model received.

Like OpenAI and Anthropic, the server checks the message order of every chat request
(:func:`message_order_error`) and answers HTTP 400 with OpenAI's error body when it is
broken, e.g. an assistant tool call that no ``tool`` message answers. So every test
that drives the agent also checks that the history it sends is one a strict provider
accepts. A rejected request does not consume a scripted turn.

Streaming uses HTTP/1.1 chunked transfer encoding, flushed per SSE event, so a
``drop_after`` turn closes the socket mid-body and the client sees a truly broken
stream (not a short but well-formed one).

Local-server behaviours (:class:`LocalBehaviour`, ``server.local``) make it act like
llama.cpp, Ollama or LM Studio as users run them: refuse tools when streaming, refuse
or ignore tools, answer an overflowing prompt with an empty 200 stream, send no usage.
:meth:`Turn.xml` scripts a reply that writes its tool call as Kilo's XML in the text.

Standalone (for end-to-end tests that run the real ``kilo-tui`` process)::

    python -m tests.fakeserver --script turns.json [--log requests.jsonl] [--models a,b]
        [--local refuse_stream_tools,no_usage,...]

prints ``PORT=<n>`` as its first stdout line and serves until killed. ``turns.json``
is a JSON list of turn objects with the same keys as :class:`Turn` (see
:func:`write_script`). ``GET /_requests`` returns the request log and ``POST /_script``
appends turns (a turn object or a list of them) to a running server.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import socket
import sys
import threading
import time
import uuid
from collections import deque
from dataclasses import asdict, dataclass, field, fields
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

_SECRET_HEADERS = {
    "authorization",
    "api-key",
    "x-api-key",
    "x-goog-api-key",
    "proxy-authorization",
}
_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "invalid_api_key",
    403: "permission_denied",
    404: "not_found_error",
    429: "rate_limit_exceeded",
}


SMALL_MODEL = "fake-small"
"""A model name with its own reply queue; configure ``small_model = "openai/fake-small"``."""


@dataclass
class Turn:
    """One scripted reply. Only the fields a test sets matter; the rest default.

    - ``content``: assistant text, streamed ``chunk_size`` characters per chunk.
    - ``reasoning``: streamed as ``reasoning_content`` deltas before the text.
    - ``tool_calls``: ``{"name", "arguments"}`` dicts; arguments are a dict (sent as
      JSON) or a raw string (sent as is, e.g. invalid JSON), split across chunks.
    - ``usage``: merged over the default usage (rough token estimates), so
      ``{"cost": 0.1}`` or ``{"prompt_tokens_details": {"cached_tokens": 5}}`` work.
    - ``status`` / ``error_message`` / ``retry_after``: reply with that HTTP error
      (``retry_after``: seconds, or a string sent as is, e.g. an HTTP date).
    - ``delay``: seconds between streamed chunks; ``drop_after``: close the
      connection after that many chunks, mid-body.
    - ``wait``: seconds before answering at all, not even headers (a provider that
      hangs).
    """

    content: str = ""
    reasoning: str = ""
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    usage: dict[str, Any] | None = None
    status: int | None = None
    error_message: str = ""
    retry_after: float | str | None = None
    delay: float = 0.0
    wait: float = 0.0
    drop_after: int | None = None
    chunk_size: int = 4
    finish_reason: str | None = None
    stream_error: str = ""
    """Send this as an ``error`` event inside a 200 stream (as llama.cpp does)."""

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Turn:
        """Build a turn from a JSON object (unknown keys are an error, not ignored)."""
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown turn keys: {sorted(unknown)}")
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    # ---------------------------------------------------------- builders

    @classmethod
    def text(cls, content: str, **options: Any) -> Turn:
        """A plain text reply; ``options`` are other fields (``delay``, ``drop_after``…)."""
        return cls(content=content, **options)

    @classmethod
    def tool(cls, name: str, arguments: str | None = None, /, **kwargs: Any) -> Turn:
        """One tool call. Pass a raw string as ``arguments`` to send invalid JSON."""
        return cls(tool_calls=[tool_call(name, arguments, **kwargs)])

    @classmethod
    def tools(cls, *calls: dict[str, Any], text: str = "") -> Turn:
        """Several tool calls in one reply; build each with :func:`tool_call`."""
        return cls(content=text, tool_calls=list(calls))

    @classmethod
    def xml(cls, name: str, text: str = "", /, **params: Any) -> Turn:
        """A reply that writes one tool call in Kilo's XML protocol, after ``text``."""
        return cls(content=text + xml_call(name, **params))

    @classmethod
    def empty(cls) -> Turn:
        """A 200 reply with nothing in it: no text, no tool call, no finish reason."""
        return cls(finish_reason="")

    @classmethod
    def error(
        cls, status: int, message: str = "", *, retry_after: float | str | None = None
    ) -> Turn:
        """An HTTP error reply (429, 500, 401, …) with an OpenAI-style error body."""
        return cls(status=status, error_message=message, retry_after=retry_after)


def tool_call(name: str, arguments: str | None = None, /, **kwargs: Any) -> dict[str, Any]:
    """A tool call for :meth:`Turn.tools`: keyword arguments, or one raw argument string."""
    return {"name": name, "arguments": arguments if arguments is not None else kwargs}


def xml_call(name: str, **params: Any) -> str:
    """A tool call as Kilo's XML protocol writes it."""
    body = "".join(
        f"<{key}>{value if isinstance(value, str) else json.dumps(value)}</{key}>\n"
        for key, value in params.items()
    )
    return f"<{name}>\n{body}</{name}>"


def without_environment(content: Any) -> str:
    """A message's text without the ``<environment_details>`` kilo-tui appends to the
    newest user message (or last tool result) of each request."""
    return str(content or "").split("\n\n<environment_details>")[0]


def write_script(path: Path, *turns: Turn) -> Path:
    """Write turns as a ``--script`` file for a standalone server; returns ``path``."""
    path.write_text(json.dumps([turn.to_dict() for turn in turns]), encoding="utf-8")
    return path


def _default_turn(body: dict[str, Any]) -> Turn:
    offered = {
        (t.get("function") or {}).get("name")
        for t in body.get("tools") or []
        if isinstance(t, dict)
    }
    if "attempt_completion" in offered:
        return Turn.tool("attempt_completion", result="done")
    system = next((m for m in body.get("messages", []) if m.get("role") == "system"), {})
    if "<attempt_completion>" in json.dumps(system.get("content", "")):
        return Turn.xml("attempt_completion", result="done")  # the XML tool protocol
    return Turn(content="done")


def _pieces(text: str, size: int) -> list[str]:
    size = max(size, 1)
    return [text[i : i + size] for i in range(0, len(text), size)]


def _estimate_tokens(value: Any) -> int:
    return max(1, len(json.dumps(value)) // 4)


# ------------------------------------------------- local-server behaviours


@dataclass
class LocalBehaviour:
    """How real local servers differ from OpenAI; all off by default.

    - ``refuse_stream_tools``: a streamed request that offers tools gets a 400
      (llama-cpp-python's server cannot stream tool calls).
    - ``refuse_tools``: any request that offers tools gets a 400 (a model without tool
      support on Ollama).
    - ``ignore_tools``: tools are dropped from the request before a reply is chosen
      (a built-in chat template without tools); the log keeps what was sent.
    - ``no_usage``: replies carry no ``usage``.
    - ``n_ctx``: a prompt estimated above this many tokens gets a 200 with an empty
      stream (llama.cpp's answer to an overflowing request).
    """

    refuse_stream_tools: bool = False
    refuse_tools: bool = False
    ignore_tools: bool = False
    no_usage: bool = False
    n_ctx: int | None = None

    def refusal(self, body: dict[str, Any]) -> str:
        """The 400 message for a request this server refuses, or ""."""
        if body.get("tools") and self.refuse_tools:
            return f"{body.get('model')} does not support tools"
        if body.get("tools") and body.get("stream") and self.refuse_stream_tools:
            return "Cannot use tools with stream=True"
        return ""

    def overflows(self, body: dict[str, Any]) -> bool:
        return self.n_ctx is not None and _estimate_tokens(body.get("messages", [])) > self.n_ctx

    @classmethod
    def parse(cls, flags: str) -> LocalBehaviour:
        """``refuse_stream_tools,no_usage,n_ctx=4000`` (the ``--local`` option)."""
        behaviour = cls()
        for flag in filter(None, (f.strip() for f in flags.split(","))):
            name, _, value = flag.partition("=")
            setattr(behaviour, name, int(value) if value else True)
        return behaviour


class FakeLLMServer:
    """The server object tests use: ``base_url``, ``script()``, ``requests``."""

    handler: type[BaseHTTPRequestHandler]  # set below, once _Handler is defined

    def __init__(self, *, models: list[str] | None = None, port: int = 0) -> None:
        self.models: list[str] = list(models or ["fake-model", "fake-model-large"])
        self.local = LocalBehaviour()
        self.requests: list[dict[str, Any]] = []
        self.log_path: Path | None = None
        self._turns: deque[Turn] = deque()
        # Requests for a model with its own queue never consume the shared queue: the
        # agent's background helpers (titles, condensing) use SMALL_MODEL in tests, so
        # they cannot steal the turns scripted for the main loop.
        self._model_turns: dict[str, deque[Turn]] = {SMALL_MODEL: deque()}
        self._lock = threading.Lock()
        self.base64_embeddings = True
        """False: refuse ``encoding_format = "base64"`` as some OpenAI-style servers do."""
        self.credentials: list[dict[str, str]] = []
        """Per request, its credential headers (kept in memory only, never in the log)."""
        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), self.handler)
        self._httpd.daemon_threads = True
        self._httpd.block_on_close = False
        self._httpd.fake = self  # type: ignore[attr-defined]
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------ public

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        """The OpenAI-style base URL, ending in ``/v1``."""
        return f"http://127.0.0.1:{self.port}/v1"

    def script(self, *turns: Turn | dict[str, Any]) -> FakeLLMServer:
        """Append turns to the reply queue (dicts are read with :meth:`Turn.from_dict`)."""
        with self._lock:
            for turn in turns:
                self._turns.append(turn if isinstance(turn, Turn) else Turn.from_dict(turn))
        return self

    def script_for(self, model: str, *turns: Turn | dict[str, Any]) -> FakeLLMServer:
        """Queue turns for requests naming ``model`` only (e.g. the small model)."""
        with self._lock:
            queue = self._model_turns.setdefault(model, deque())
            for turn in turns:
                queue.append(turn if isinstance(turn, Turn) else Turn.from_dict(turn))
        return self

    @property
    def pending_turns(self) -> int:
        with self._lock:
            return len(self._turns)

    @property
    def chat_requests(self) -> list[dict[str, Any]]:
        """Bodies of the chat completion requests received, in order."""
        return [r["body"] for r in self.requests if r["path"].endswith("/chat/completions")]

    def start(self) -> FakeLLMServer:
        """Serve in a daemon thread."""
        self._thread = threading.Thread(target=self.serve_forever, name="fake-llm", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        # A short poll interval keeps shutdown (one per test) from costing half a second.
        self._httpd.serve_forever(poll_interval=0.05)

    def stop(self) -> None:
        """Stop accepting requests and close the socket (streams in flight just end)."""
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> FakeLLMServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---------------------------------------------------------- internal

    def _next_turn(self, body: dict[str, Any]) -> Turn:
        model = str(body.get("model", "")).rsplit("/", 1)[-1]
        with self._lock:
            queue = self._model_turns.get(model, self._turns)
            return queue.popleft() if queue else _default_turn(body)

    def _record(self, method: str, path: str, headers: dict[str, str], body: Any) -> None:
        secrets = {k.lower(): v for k, v in headers.items() if k.lower() in _SECRET_HEADERS}
        entry = {
            "method": method,
            "path": path,
            "headers": {k: v for k, v in headers.items() if k.lower() not in _SECRET_HEADERS},
            "body": body,
            "time": time.time(),
        }
        with self._lock:
            self.credentials.append({"path": path, **secrets})
            self.requests.append(entry)
            if self.log_path is not None:
                with self.log_path.open("a", encoding="utf-8") as log:
                    log.write(json.dumps(entry) + "\n")


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.1 so streamed replies can use chunked encoding (a dropped stream then
    # looks broken to the client, as it does with a real provider).
    protocol_version = "HTTP/1.1"
    server_version = "FakeLLM/1.0"

    @property
    def fake(self) -> FakeLLMServer:
        return self.server.fake  # type: ignore[attr-defined, no-any-return]

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output clean."""

    # ----------------------------------------------------------- routes

    def do_GET(self) -> None:
        if self.path == "/_requests":  # control route: not part of the log it returns
            self._send_json(200, self.fake.requests)
            return
        self.fake._record("GET", self.path, dict(self.headers), None)
        if self.path.rstrip("/").endswith("/models"):
            data = [
                {"id": m, "object": "model", "created": 0, "owned_by": "fake"}
                for m in self.fake.models
            ]
            self._send_json(200, {"object": "list", "data": data})
        else:
            self._send_json(404, _error_body(404, f"no route {self.path}"))

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            self._send_json(400, _error_body(400, "request body is not JSON"))
            return
        if self.path == "/_script":
            self.fake.script(*(body if isinstance(body, list) else [body]))
            self._send_json(200, {"pending": self.fake.pending_turns})
            return
        self.fake._record("POST", self.path, dict(self.headers), body)
        if self.path.rstrip("/").endswith("/embeddings"):
            if body.get("encoding_format") == "base64" and not self.fake.base64_embeddings:
                self._send_json(400, _error_body(400, "encoding_format: only 'float' works"))
            else:
                self._send_json(200, embeddings_reply(body))
            return
        if not self.path.rstrip("/").endswith("/chat/completions"):
            self._send_json(404, _error_body(404, f"no route {self.path}"))
            return
        invalid = message_order_error(body.get("messages"))
        if invalid is not None:
            message, param = invalid
            self._send_json(400, _error_body(400, message, param=param))
            return
        local = self.fake.local
        if refusal := local.refusal(body):
            self._send_json(400, _error_body(400, refusal))
            return
        if local.ignore_tools:
            body = {k: v for k, v in body.items() if k not in ("tools", "tool_choice")}
        if local.overflows(body):
            turn = Turn.empty()
        else:
            turn = self.fake._next_turn(body)
        if local.no_usage:
            body = {**body, "stream_options": None, "_no_usage": True}
        time.sleep(turn.wait)
        if turn.status is not None:
            self._send_error_turn(turn)
        elif body.get("stream"):
            self._stream(turn, body)
        else:
            self._send_json(200, _completion(turn, body))

    # ---------------------------------------------------------- replies

    def _send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _send_error_turn(self, turn: Turn) -> None:
        assert turn.status is not None
        headers = {}
        if isinstance(turn.retry_after, str):
            headers["Retry-After"] = turn.retry_after
        elif turn.retry_after is not None:
            headers["Retry-After"] = f"{turn.retry_after:g}"
        message = turn.error_message or f"fake server error {turn.status}"
        self._send_json(turn.status, _error_body(turn.status, message), headers)

    def _stream(self, turn: Turn, body: dict[str, Any]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        events = _stream_events(turn, body)
        try:
            for index, event in enumerate(events):
                if turn.drop_after is not None and index >= turn.drop_after:
                    self._drop_connection()
                    return
                if index and turn.delay:
                    time.sleep(turn.delay)
                self._write_chunk(f"data: {json.dumps(event)}\n\n".encode())
            self._write_chunk(b"data: [DONE]\n\n")
            self._write_chunk(b"")
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client went away (e.g. a cancelled request)

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _drop_connection(self) -> None:
        self.wfile.flush()
        self.close_connection = True
        with contextlib.suppress(OSError):  # already gone
            self.connection.shutdown(socket.SHUT_RDWR)


FakeLLMServer.handler = _Handler


EMBEDDING_DIMENSIONS = 64
"""Vector size of the fake embeddings when the request names none."""


def fake_embedding(text: str, dimensions: int = EMBEDDING_DIMENSIONS) -> list[float]:
    """A deterministic unit vector: a hashed bag of the text's words (``parse_config``
    counts as ``parse`` and ``config``), so texts sharing words are close and a query
    for a word finds the chunks that contain it."""
    import hashlib
    import math
    import re

    vector = [0.0] * dimensions
    for word in re.findall(r"[a-z0-9]+", text.lower().replace("_", " ")):
        digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
        slot = int.from_bytes(digest[:4], "little") % dimensions
        vector[slot] += 1.0 if digest[4] & 1 else -1.0
    norm = math.sqrt(sum(v * v for v in vector)) or 1.0
    return [v / norm for v in vector]


def embeddings_reply(body: dict[str, Any]) -> dict[str, Any]:
    """OpenAI's ``/v1/embeddings`` answer for ``body`` (``encoding_format`` base64 or
    float, as the OpenAI SDK asks), with :func:`fake_embedding` vectors."""
    import base64
    import struct

    texts = body.get("input") or []
    texts = [texts] if isinstance(texts, str) else texts
    size = int(body.get("dimensions") or EMBEDDING_DIMENSIONS)
    data = []
    for index, text in enumerate(texts):
        vector: Any = fake_embedding(str(text), size)
        if body.get("encoding_format") == "base64":
            vector = base64.b64encode(struct.pack(f"<{size}f", *vector)).decode()
        data.append({"object": "embedding", "index": index, "embedding": vector})
    tokens = sum(len(str(t).split()) for t in texts)
    return {
        "object": "list",
        "data": data,
        "model": body.get("model", ""),
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }


def _error_body(status: int, message: str, *, param: str | None = None) -> dict[str, Any]:
    kind = _ERROR_TYPES.get(status, "server_error")
    return {"error": {"message": message, "type": kind, "param": param, "code": kind}}


# ------------------------------------------------------------ message order

_ROLES = ("system", "assistant", "user", "function", "tool", "developer")
_UNANSWERED = (
    "An assistant message with 'tool_calls' must be followed by tool messages responding "
    "to each 'tool_call_id'. The following tool_call_ids did not have response messages: "
)
_ORPHAN_TOOL = (
    "Invalid parameter: messages with role 'tool' must be a response to a preceeding "
    "message with 'tool_calls'."
)


def message_order_error(messages: Any) -> tuple[str, str] | None:
    """Why a strict provider would reject this ``messages`` array, or None if it is valid.

    Returns ``(message, param)`` in OpenAI's wording. The rules are those OpenAI and
    Anthropic enforce: valid roles; an assistant message has text or tool calls; every
    assistant ``tool_calls`` entry is answered by exactly one ``tool`` message (matching
    ``tool_call_id``) before any other message; a ``tool`` message answers a call of the
    assistant message just before it; tool call ids are unique; a user message is not
    empty (Anthropic).
    """
    if not isinstance(messages, list) or not messages:
        return "[] is too short - 'messages'", "messages"
    pending: dict[str, int] = {}  # unanswered call id -> index of its assistant message
    for index, message in enumerate(messages):
        where = f"messages.[{index}]"
        if not isinstance(message, dict):
            return f"Invalid type for '{where}': expected an object.", where
        role = message.get("role")
        if role not in _ROLES:
            supported = ", ".join(f"'{r}'" for r in _ROLES[:-1]) + f", and '{_ROLES[-1]}'"
            return f"Invalid value: '{role}'. Supported values are: {supported}.", f"{where}.role"
        if role == "tool":
            error = _tool_message_error(message, pending, where)
            if error is not None:
                return error
            continue
        if pending:
            return _unanswered(pending)
        if role == "assistant":
            error = _assistant_error(message, pending, index, where)
        elif role == "user":
            error = _user_error(message, where)
        else:
            error = None
        if error is not None:
            return error
    return _unanswered(pending) if pending else None


def _unanswered(pending: dict[str, int]) -> tuple[str, str]:
    first = min(pending.values())
    return _UNANSWERED + ", ".join(pending), f"messages.[{first}].role"


def _tool_message_error(
    message: dict[str, Any], pending: dict[str, int], where: str
) -> tuple[str, str] | None:
    call_id = message.get("tool_call_id")
    if not isinstance(call_id, str) or not call_id:
        return "Missing required parameter: 'tool_call_id'.", f"{where}.tool_call_id"
    if call_id not in pending:
        return _ORPHAN_TOOL, f"{where}.role"
    if not isinstance(message.get("content"), str | list):
        return _content_type_error(message, where)
    del pending[call_id]
    return None


def _assistant_error(
    message: dict[str, Any], pending: dict[str, int], index: int, where: str
) -> tuple[str, str] | None:
    calls = message.get("tool_calls")
    if calls is None:
        if message.get("content") is None and message.get("function_call") is None:
            return _content_type_error(message, where)
        return None
    if not isinstance(calls, list) or not calls:
        return f"[] is too short - '{where}.tool_calls'", f"{where}.tool_calls"
    for number, call in enumerate(calls):
        call_where = f"{where}.tool_calls.[{number}]"
        function = call.get("function") if isinstance(call, dict) else None
        call_id = call.get("id") if isinstance(call, dict) else None
        if not isinstance(call_id, str) or not call_id:
            return "Missing required parameter: 'id'.", f"{call_where}.id"
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            return "Missing required parameter: 'function.name'.", f"{call_where}.function"
        if not isinstance(function.get("arguments"), str):
            return "Invalid type for 'function.arguments': expected a string.", call_where
        if call_id in pending:
            return f"Duplicate tool call id '{call_id}'.", f"{call_where}.id"
        pending[call_id] = index
    return None


def _user_error(message: dict[str, Any], where: str) -> tuple[str, str] | None:
    content = message.get("content")
    if not isinstance(content, str | list):
        return _content_type_error(message, where)
    if not content:  # Anthropic: "all messages must have non-empty content"
        return f"{where}: all messages must have non-empty content", f"{where}.content"
    return None


def _content_type_error(message: dict[str, Any], where: str) -> tuple[str, str]:
    got = "null" if message.get("content") is None else type(message["content"]).__name__
    return f"Invalid value for 'content': expected a string, got {got}.", f"{where}.content"


def _arguments_text(arguments: Any) -> str:
    return arguments if isinstance(arguments, str) else json.dumps(arguments)


def _usage(turn: Turn, body: dict[str, Any]) -> dict[str, Any]:
    prompt = _estimate_tokens(body.get("messages", []))
    completion = _estimate_tokens([turn.content, turn.reasoning, turn.tool_calls])
    usage: dict[str, Any] = {"prompt_tokens": prompt, "completion_tokens": completion}
    usage.update(turn.usage or {})
    usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
    return usage


def _finish_reason(turn: Turn) -> str | None:
    if turn.finish_reason == "":  # Turn.empty(): none at all
        return None
    return turn.finish_reason or ("tool_calls" if turn.tool_calls else "stop")


def _completion(turn: Turn, body: dict[str, Any]) -> dict[str, Any]:
    """A non-streaming ``chat.completion`` object."""
    message: dict[str, Any] = {"role": "assistant", "content": turn.content or None}
    if turn.reasoning:
        message["reasoning_content"] = turn.reasoning
    if turn.tool_calls:
        message["tool_calls"] = [
            {
                "id": f"call_{i}_{uuid.uuid4().hex[:8]}",
                "type": "function",
                "function": {
                    "name": c["name"],
                    "arguments": _arguments_text(c.get("arguments", {})),
                },
            }
            for i, c in enumerate(turn.tool_calls)
        ]
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "fake-model"),
        "choices": [{"index": 0, "message": message, "finish_reason": _finish_reason(turn)}],
        **({} if body.get("_no_usage") else {"usage": _usage(turn, body)}),
    }


def _stream_events(turn: Turn, body: dict[str, Any]) -> list[dict[str, Any]]:
    """The ``chat.completion.chunk`` objects of a streamed reply, in order."""
    base = {
        "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": body.get("model", "fake-model"),
    }

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    if turn.finish_reason == "":  # Turn.empty(): the stream ends at once
        return []
    if turn.stream_error:
        return [{"error": {"message": turn.stream_error, "type": "server_error", "code": 500}}]
    events = [chunk({"role": "assistant", "content": ""})]
    events += [chunk({"reasoning_content": p}) for p in _pieces(turn.reasoning, turn.chunk_size)]
    events += [chunk({"content": p}) for p in _pieces(turn.content, turn.chunk_size)]
    for index, call in enumerate(turn.tool_calls):
        head = {
            "index": index,
            "id": f"call_{index}_{uuid.uuid4().hex[:8]}",
            "type": "function",
            "function": {"name": call["name"], "arguments": ""},
        }
        events.append(chunk({"tool_calls": [head]}))
        for piece in _pieces(_arguments_text(call.get("arguments", {})), turn.chunk_size):
            events.append(
                chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
            )
    events.append(chunk({}, _finish_reason(turn)))
    if (body.get("stream_options") or {}).get("include_usage"):
        events.append({**base, "choices": [], "usage": _usage(turn, body)})
    return events


def main(argv: list[str] | None = None) -> int:
    """Run standalone: print ``PORT=<n>`` first, then serve until killed."""
    parser = argparse.ArgumentParser(prog="python -m tests.fakeserver", description=__doc__)
    parser.add_argument("--script", type=Path, help="JSON file: a list of turn objects")
    parser.add_argument("--log", type=Path, help="append each request as a JSON line")
    parser.add_argument("--models", default="", help="comma-separated ids for GET /v1/models")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--local", default="", help="local-server behaviours, see LocalBehaviour")
    args = parser.parse_args(argv)
    models = [m for m in args.models.split(",") if m] or None
    server = FakeLLMServer(models=models, port=args.port)
    server.local = LocalBehaviour.parse(args.local)
    server.log_path = args.log
    if args.script:
        server.script(*json.loads(args.script.read_text(encoding="utf-8")))
    print(f"PORT={server.port}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
