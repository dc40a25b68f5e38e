"""Streaming chat completions over litellm: text, reasoning, tool calls, usage.

:func:`stream_completion` is the only way the agent talks to a model. It streams one
reply, assembles it into an :class:`LLMResponse`, retries what is worth retrying and
stops promptly when asked to. litellm itself is imported lazily (see
:mod:`kilo_tui.core.llm.litellm_loader`), so importing this module is cheap.

Retries restart the request from scratch: a provider cannot resume a stream. Text
already passed to ``on_text`` during a failed attempt is not taken back by this
module; instead ``on_retry`` is called before the next attempt, and clients treat it
as "discard the partial reply you are showing". The returned :class:`LLMResponse`
only ever holds the attempt that succeeded.
"""

from __future__ import annotations

import asyncio
import dataclasses
import email.utils
import json
import os
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from kilo_tui.core.cancellation import unless_cancelled
from kilo_tui.core.llm.litellm_loader import is_loaded, load_litellm, request_switches
from kilo_tui.core.llm.xml_tools import ToolSchemas, XmlCallParser, new_call_id

LM_STUDIO_DEFAULT_BASE = "http://localhost:1234/v1"
# A Retry-After longer than this is a spent quota, not a hiccup: fail instead of waiting.
MAX_RETRY_AFTER = 300.0
EMPTY_REPLY_RETRIES = 2
"""An empty reply is retried this often: more rarely helps (it is often an overflow)."""
REPEAT_WINDOW = 1600
"""A streamed reply whose last this-many characters repeat one unit is stopped."""
REPEAT_MAX_UNIT = 400

# What servers say when the prompt does not fit (OpenAI, Anthropic, Gemini, Ollama,
# llama.cpp, LM Studio, vLLM, OpenRouter, ...).
_OVERFLOW = re.compile(
    r"context[_ ]length|context[_ ]window|maximum context|context size|exceed_context"
    r"|prompt is too long|input is too long|too many (input )?tokens|reduce the length"
    r"|maximum (input|prompt) length|n_ctx|tokens? exceed|exceeds? the (model'?s? )?"
    r"(max|limit|context)|request too large|prompt too long",
    re.IGNORECASE,
)
_EXPLICIT_CACHE_MODELS = re.compile(r"claude|anthropic", re.IGNORECASE)
_STREAM_TOOLS_REFUSED = re.compile(r"stream.{0,60}\btools?\b|\btools?\b.{0,60}stream", re.I)
# "does not support tools", "tools are not supported", "tool_choice ... not supported",
# "function calling is not enabled": a refusal of tools as such, not of one malformed
# tool message in the history.
_TOOLS_REFUSED = re.compile(
    r"(not|n't|no) support\w*.{0,40}\b(tools?|function)"
    r"|\b(tools?|tool_choice|function[ _]call\w*)\b.{0,40}\b(not|n't) (be )?"
    r"(supported|available|enabled|allowed|used)"
    r"|unsupported.{0,20}\b(tools?|function)|\b(tools?|function)\b.{0,20}unsupported",
    re.IGNORECASE,
)

_RETRYABLE_STATUS = frozenset({408, 409, 425, 429})
_STATUS_LABELS = {
    400: "Bad request",
    401: "Authentication failed",
    403: "Permission denied",
    404: "Not found (check the model name and API base)",
    408: "Request timed out",
    413: "Request too large",
    422: "Request rejected",
    429: "Rate limited",
}
# litellm wraps provider messages in class-name prefixes, sometimes several deep:
# "litellm.RateLimitError: RateLimitError: OpenAIException - slow down".
_NOISE_PREFIX = re.compile(r"^\s*(?:litellm\.)?\w+(?:Error|Exception)\s*(?::|\s-)\s*")
_KEY_LIKE = re.compile(r"\b(sk|pk|rk|key)-[A-Za-z0-9_\-]{8,}")
# How litellm and the provider SDKs say no key was given (they raise it as a 500 or 401).
_MISSING_KEY = re.compile(
    r"missing credentials|missing \w+ api key|no (api )?key (is )?(set|provided|found)"
    r"|api_key client option must be set|api key (is )?(required|missing|not set)",
    re.IGNORECASE,
)
AUTH_KIND = "AuthenticationError"
DROPPED_STREAM = "The connection closed mid-reply"


@dataclass(frozen=True)
class ToolCall:
    """A tool call as the model sent it; ``arguments`` is the raw JSON text."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True)
class Usage:
    """Token counts of one request (and the cost, when the provider reports one)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reported_cost: float | None = None  # e.g. OpenRouter's usage.cost
    estimated: bool = False
    """The server sent no counts; these were counted here with a stock tokenizer."""


@dataclass(frozen=True)
class LLMResponse:
    """One complete assistant reply."""

    text: str
    reasoning: str
    tool_calls: tuple[ToolCall, ...]
    usage: Usage
    finish_reason: str | None
    model: str


class LLMError(Exception):
    """A provider error, with a message fit to show the user (never an API key).

    ``kind`` is litellm's exception class name (``"ContextWindowExceededError"``,
    ``"RateLimitError"``, …) or the transport error's, for callers that branch on it;
    ours are ``"EmptyReply"`` and ``"Repetition"``.
    """

    def __init__(
        self, message: str, status: int | None = None, retryable: bool = False, kind: str = ""
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.retryable = retryable
        self.kind = kind

    @property
    def auth_failed(self) -> bool:
        """The provider refused the credentials (401/403), or none were given: retrying
        cannot help, the user has to fix a key or a setting."""
        return self.kind == AUTH_KIND or self.status in (401, 403)

    @property
    def context_overflow(self) -> bool:
        """The prompt did not fit the model's context window (by the server's words)."""
        if self.kind == "ContextWindowExceededError" or self.status == 413:
            return True
        return self.status in (None, 400, 422, 500) and bool(_OVERFLOW.search(self.message))

    @property
    def streaming_with_tools_refused(self) -> bool:
        """A 400 saying the server cannot stream a request that offers tools."""
        return self.status == 400 and bool(_STREAM_TOOLS_REFUSED.search(self.message))

    @property
    def tools_refused(self) -> bool:
        """A 400 saying the model or server does not do tool calling."""
        return self.status == 400 and bool(_TOOLS_REFUSED.search(self.message))


class LLMCancelled(Exception):
    """The request was cancelled through the ``cancel`` event."""


async def stream_completion(
    *,
    model: str,
    messages: list[dict[str, Any]],
    tools: list[dict[str, Any]] | None = None,
    api_base: str | None = None,
    api_key: str | None = None,
    extra_params: dict[str, Any] | None = None,
    max_tokens: int | None = None,
    stream: bool = True,
    xml_tools: ToolSchemas | None = None,
    on_text: Callable[[str], None] | None = None,
    on_reasoning: Callable[[str], None] | None = None,
    on_retry: Callable[[int, int, float, str], None] | None = None,
    cancel: asyncio.Event | None = None,
    max_retries: int = 5,
    base_delay: float = 1.0,
    max_delay: float = 30.0,
    request_timeout: float = 600.0,
) -> LLMResponse:
    """Stream one reply from ``model`` and return it assembled.

    ``on_text`` / ``on_reasoning`` receive deltas as they arrive. On a 429, a 5xx, a
    timeout, a connection error or a stream dropped mid-reply, the request is retried
    up to ``max_retries`` times after ``min(base_delay * 2**n, max_delay)`` seconds (or
    the provider's ``Retry-After``, if longer); ``on_retry(attempt, max_retries, delay,
    error)`` is called first, with ``attempt`` counting retries from 1. Other errors
    raise :class:`LLMError` at once. Setting ``cancel`` closes the stream and raises
    :class:`LLMCancelled`.

    ``api_base`` / ``api_key`` default to the provider's environment variables
    (``lm_studio/`` models default to ``http://localhost:1234/v1``). ``extra_params``
    go to ``litellm.acompletion`` as they are (``temperature``, ``reasoning_effort``,
    ``extra_headers``, …) but cannot change the streaming, timeout or retry settings.

    ``stream=False`` asks for the whole reply at once (for servers that cannot stream
    tool calls); ``on_text`` then gets it in one piece. With ``xml_tools`` the reply is
    read for one call in Kilo's XML tool protocol (:mod:`~kilo_tui.core.llm.xml_tools`):
    ``on_text`` sees only the prose around it, and the stream is closed as soon as the
    call is complete.

    An empty reply (no text, no tool call) is an error, retried at most
    ``EMPTY_REPLY_RETRIES`` times; a reply that keeps repeating the same text is cut
    off and raised as an error; a context overflow is never retried (the caller has to
    shrink the prompt). Usage the server does not report is counted here and marked
    ``estimated``.
    """
    if cancel is not None and cancel.is_set():
        raise LLMCancelled
    litellm = load_litellm() if is_loaded() else await asyncio.to_thread(load_litellm)
    params = _request_params(
        model, messages, tools, api_base, api_key, extra_params, request_timeout
    )
    params.update(request_switches())
    params["stream"] = stream
    if not stream:
        params.pop("stream_options")
    if max_tokens:
        params["max_tokens"] = max_tokens
    retries = 0
    while True:
        try:
            attempt = _attempt(litellm, params, on_text, on_reasoning, xml_tools)
            return _with_usage(await unless_cancelled(attempt, cancel, LLMCancelled()), messages)
        except LLMCancelled:
            raise
        except Exception as exc:
            error = exc if isinstance(exc, LLMError) else _to_llm_error(exc, params.get("api_key"))
            if error is None:
                raise
            delay = _retry_delay(exc, retries, base_delay, max_delay)
            if delay > MAX_RETRY_AFTER:
                message = f"{error.message} (the provider asks to wait {_duration(delay)})"
                error = LLMError(message, error.status, retryable=False, kind=error.kind)
            spent = error.kind == "EmptyReply" and retries >= EMPTY_REPLY_RETRIES
            if not error.retryable or error.context_overflow or spent or retries >= max_retries:
                raise error from exc
            retries += 1
            if on_retry is not None:
                on_retry(retries, max_retries, delay, error.message)
            await _sleep(delay, cancel)


async def close_clients() -> None:
    """Close litellm's pooled HTTP connections; await it before the event loop ends.

    litellm caches its HTTP sessions per process and only tries to close them at exit,
    from a new event loop, which leaks the old loop's sockets (ResourceWarnings).
    """
    if is_loaded():
        await load_litellm().close_litellm_async_clients()


def _request_params(
    model: str,
    messages: list[dict[str, Any]],
    tools: list[dict[str, Any]] | None,
    api_base: str | None,
    api_key: str | None,
    extra_params: dict[str, Any] | None,
    request_timeout: float,
) -> dict[str, Any]:
    if model.startswith("lm_studio/") and not api_base and not os.environ.get("LM_STUDIO_API_BASE"):
        # Without a base litellm would send the request to OpenAI's servers.
        api_base = LM_STUDIO_DEFAULT_BASE
    params: dict[str, Any] = dict(extra_params or {})
    params.update(
        model=model,
        messages=with_cache_breakpoints(model, messages),
        stream=True,
        # Without this, streamed replies report zero tokens.
        stream_options={"include_usage": True},
        timeout=request_timeout,
        # Retries are ours (visible to the user, cancellable); turn off the SDK's.
        max_retries=0,
        num_retries=0,
    )
    if tools:
        params["tools"] = tools
    if api_base:
        params["api_base"] = api_base
    if api_key:
        params["api_key"] = api_key
    return params


def with_cache_breakpoints(model: str, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mark where a Claude model's prompt cache may end, as Kilo Code does: after the
    system prompt (and so the tools) and after each of the last two user turns.

    Claude caches only up to explicit breakpoints (Anthropic, Bedrock, Vertex, and
    OpenRouter or the Kilo gateway in front of them); other providers cache prefixes
    on their own and get the messages unchanged.
    """
    if not _EXPLICIT_CACHE_MODELS.search(model):
        return messages
    marked = list(messages)
    turn_ends = [
        i
        for i, m in enumerate(marked)
        if m.get("role") in ("user", "tool")
        and (i + 1 == len(marked) or marked[i + 1].get("role") not in ("user", "tool"))
    ]
    system = [i for i, m in enumerate(marked) if m.get("role") == "system"][:1]
    for index in system + turn_ends[-2:]:
        marked[index] = _with_cache_control(marked[index])
    return marked


def _with_cache_control(message: dict[str, Any]) -> dict[str, Any]:
    content = message.get("content")
    blocks: list[dict[str, Any]]
    if isinstance(content, str) and content:
        blocks = [{"type": "text", "text": content}]
    elif isinstance(content, list) and content:
        blocks = [dict(block) for block in content]
    else:
        return message
    blocks[-1]["cache_control"] = {"type": "ephemeral"}
    return {**message, "content": blocks}


async def _attempt(
    litellm: ModuleType,
    params: dict[str, Any],
    on_text: Callable[[str], None] | None,
    on_reasoning: Callable[[str], None] | None,
    xml_tools: ToolSchemas | None,
) -> LLMResponse:
    reply = _ReplyBuilder(model=params["model"], xml_tools=xml_tools)

    def take(chunk: Any) -> None:
        text, reasoning = reply.add(chunk)
        if reasoning and on_reasoning is not None:
            on_reasoning(reasoning)
        if text and on_text is not None:
            on_text(text)

    if not params["stream"]:
        take(await litellm.acompletion(**params))
    else:
        stream = await litellm.acompletion(**params)
        try:
            async for chunk in stream:
                take(chunk)
                if reply.call_complete:
                    break  # one XML call per reply; what follows is made up
                reply.check_repetition()
        finally:
            await stream.aclose()  # also on cancellation: release the connection now
    if (rest := reply.finish()) and on_text is not None:
        on_text(rest)
    response = reply.build()
    if not response.text.strip() and not response.tool_calls:
        reason = f" (finish reason: {response.finish_reason})" if response.finish_reason else ""
        raise LLMError(
            f"The provider sent an empty reply{reason}: no text and no tool call.",
            retryable=True,
            kind="EmptyReply",
        )
    return response


def _with_usage(response: LLMResponse, messages: list[dict[str, Any]]) -> LLMResponse:
    """Fill in the token counts when the server sent none (many local servers)."""
    if response.usage.prompt_tokens or response.usage.completion_tokens:
        return response
    from kilo_tui.core.llm.tokens import count_message_tokens, count_tokens

    output = response.text + response.reasoning
    output += "".join(c.name + c.arguments for c in response.tool_calls)
    usage = Usage(
        prompt_tokens=count_message_tokens(messages),
        completion_tokens=count_tokens(output),
        estimated=True,
    )
    return dataclasses.replace(response, usage=usage)


async def _sleep(delay: float, cancel: asyncio.Event | None) -> None:
    if cancel is None:
        await asyncio.sleep(delay)
        return
    try:
        await asyncio.wait_for(cancel.wait(), delay)
    except TimeoutError:
        return
    raise LLMCancelled


@dataclass
class _PendingCall:
    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)


class _ReplyBuilder:
    """Folds streamed chunks (or one whole non-streamed reply) into one
    :class:`LLMResponse`, reading XML tool calls out of the text when asked to."""

    def __init__(self, model: str, xml_tools: ToolSchemas | None = None) -> None:
        self.model = model
        self.text: list[str] = []
        self.reasoning: list[str] = []
        self.calls: dict[int, _PendingCall] = {}
        self.usage = Usage()
        self.finish_reason: str | None = None
        self.xml = XmlCallParser(xml_tools) if xml_tools else None
        self._raw: list[str] = []
        self._raw_length = 0
        self._checked_at = 0

    @property
    def call_complete(self) -> bool:
        return self.xml is not None and self.xml.done

    def add(self, chunk: Any) -> tuple[str, str]:
        """Take one chunk; return its new (text to show, reasoning)."""
        self.model = getattr(chunk, "model", None) or self.model
        if (usage := getattr(chunk, "usage", None)) is not None:
            self.usage = _usage(usage)
        text = reasoning = ""
        for choice in getattr(chunk, "choices", None) or []:
            self.finish_reason = getattr(choice, "finish_reason", None) or self.finish_reason
            # A streamed chunk has a delta; a whole (non-streamed) reply a message.
            delta = getattr(choice, "delta", None)
            if delta is None:
                delta = getattr(choice, "message", None)
            if delta is None:
                continue
            text += getattr(delta, "content", None) or ""
            reasoning += getattr(delta, "reasoning_content", None) or ""
            for call in getattr(delta, "tool_calls", None) or []:
                self._add_call(call)
        if reasoning:
            self.reasoning.append(reasoning)
        if text:
            self._raw.append(text)
            self._raw_length += len(text)
            if self.xml is not None:
                text = self.xml.feed(text)
            self.text.append(text)
        return text, reasoning

    def finish(self) -> str:
        """The end of the reply: text an XML parser was still holding back."""
        if self.xml is None:
            return ""
        rest = self.xml.finish()
        self.text.append(rest)
        return rest

    def check_repetition(self) -> None:
        """Raise if the reply has degenerated into repeating the same text. The
        parameters of an XML tool call are exempt: a file may well repeat itself."""
        if self._raw_length - self._checked_at < 200 or self._raw_length < 2 * REPEAT_WINDOW:
            return
        if self.xml is not None and self.xml.in_call:
            return
        self._checked_at = self._raw_length
        # Only the end can repeat: keep what repeating_unit reads, not the whole reply.
        text = "".join(self._raw)[-(REPEAT_WINDOW + REPEAT_MAX_UNIT) :]
        self._raw = [text]
        if (unit := repeating_unit(text)) is not None:
            raise LLMError(
                f"The model started repeating itself ({unit!r} over and over), so the reply "
                f"was stopped after {self._raw_length} characters.",
                kind="Repetition",
            )

    def _add_call(self, delta: Any) -> None:
        # The id and name come in a call's first delta, the arguments in fragments.
        # Providers that omit the index send one call at a time: a new id starts a
        # new call, a delta without one continues the last.
        index = getattr(delta, "index", None)
        call_id = getattr(delta, "id", None)
        if index is None:
            last = max(self.calls, default=-1)
            is_new = last < 0 or bool(call_id and call_id != self.calls[last].id)
            index = last + 1 if is_new else last
        call = self.calls.setdefault(index, _PendingCall())
        call.id = call.id or call_id or ""
        function = getattr(delta, "function", None)
        if function is not None:
            call.name = call.name or getattr(function, "name", None) or ""
            call.arguments.append(getattr(function, "arguments", None) or "")

    def build(self) -> LLMResponse:
        calls = tuple(
            ToolCall(id=c.id or f"call_{i}", name=c.name, arguments="".join(c.arguments))
            for i, c in sorted(self.calls.items())
        )
        text = "".join(self.text)
        if self.xml is not None and self.xml.call is not None:
            name, args = self.xml.call
            calls += (ToolCall(id=new_call_id(), name=name, arguments=json.dumps(args)),)
            text = self.xml.prose
        return LLMResponse(
            text=text,
            reasoning="".join(self.reasoning),
            tool_calls=calls,
            usage=self.usage,
            finish_reason=self.finish_reason,
            model=self.model,
        )


def repeating_unit(text: str) -> str | None:
    """The unit the end of ``text`` repeats, if its last ``REPEAT_WINDOW`` characters
    are one unit (of up to ``REPEAT_MAX_UNIT`` characters) over and over."""
    if len(text) < REPEAT_WINDOW + 1:
        return None
    tail = text[-REPEAT_WINDOW:]
    for period in range(1, min(REPEAT_MAX_UNIT, len(text) - REPEAT_WINDOW) + 1):
        if text[-REPEAT_WINDOW - period : -period] == tail:
            unit = tail[-period:]
            return unit if len(unit) <= 60 else unit[:57] + "..."
    return None


def _usage(raw: Any) -> Usage:
    def number(obj: Any, name: str) -> int:
        value = getattr(obj, name, None) if obj is not None else None
        return int(value) if isinstance(value, int | float) else 0

    details = getattr(raw, "prompt_tokens_details", None)
    cost = getattr(raw, "cost", None)
    return Usage(
        prompt_tokens=number(raw, "prompt_tokens"),
        completion_tokens=number(raw, "completion_tokens"),
        cache_read_tokens=number(details, "cached_tokens")
        or number(raw, "cache_read_input_tokens"),
        cache_write_tokens=number(raw, "cache_creation_input_tokens"),
        reported_cost=float(cost) if isinstance(cost, int | float) else None,
    )


# ------------------------------------------------------------------ errors


def _to_llm_error(exc: Exception, api_key: str | None) -> LLMError | None:
    """Translate a provider or transport error; None for anything else (a bug)."""
    import aiohttp
    import httpx
    import openai

    # litellm wraps whatever broke a stream that had started; judge by the cause.
    mid_stream = type(exc).__name__ == "MidStreamFallbackError"
    cause = getattr(exc, "original_exception", None) if mid_stream else None
    if isinstance(cause, Exception):
        exc = cause
    status: int | None
    raw = getattr(exc, "message", None) or str(exc)
    if isinstance(exc, openai.APIError | httpx.HTTPError | aiohttp.ClientError | OSError) and (
        _MISSING_KEY.search(raw)
    ):
        # Not a server error, whatever status litellm gives it: no request was sent.
        detail = _redact(_provider_detail(raw), api_key)
        return LLMError(f"No API key: {detail}", retryable=False, kind=AUTH_KIND)
    if isinstance(
        exc, openai.APIConnectionError | httpx.TransportError | aiohttp.ClientError | OSError
    ):
        # No HTTP status here: litellm's 500/408 on these are made up.
        status, retryable = None, True
        if _caused_by(exc, openai.APITimeoutError, httpx.TimeoutException, TimeoutError):
            label = "Request timed out"
        elif _caused_by(
            exc, aiohttp.ClientPayloadError, httpx.RemoteProtocolError, httpx.ReadError
        ):
            # The library's own words ("TransferEncodingError: 400, Not enough data to
            # satisfy transfer length header") say nothing a user can act on.
            return LLMError(DROPPED_STREAM, retryable=True, kind=type(exc).__name__)
        elif mid_stream:
            # An error event inside the stream (a local server running out of memory):
            # the server's own words are what the user needs.
            label = "The provider reported an error mid-reply"
        else:
            label = "Connection to the provider failed"
    elif isinstance(exc, openai.APIError):
        status = getattr(exc, "status_code", None)
        retryable = status is None or status in _RETRYABLE_STATUS or status >= 500
        label = _STATUS_LABELS.get(status or 0, "Provider error")
    else:
        return None
    detail = _provider_detail(raw)
    head = f"{label} (HTTP {status})" if status else label
    message = f"{head}: {detail}" if detail else head
    return LLMError(
        _redact(message, api_key), status=status, retryable=retryable, kind=type(exc).__name__
    )


def _caused_by(exc: BaseException, *types: type[BaseException]) -> bool:
    """True if ``exc`` or an exception it was raised from / while handling is a ``types``."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, types):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def _provider_detail(message: str) -> str:
    message = message.split(" Original exception:")[0]
    while (match := _NOISE_PREFIX.match(message)) is not None:
        message = message[match.end() :]
    message = message.strip()
    try:  # some providers' messages are their raw JSON error body
        body = json.loads(message)
    except ValueError:
        return message
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return str(body["error"].get("message") or message)
    return message


def _redact(text: str, api_key: str | None) -> str:
    """Hide the key in use, any key from the environment, and anything key-shaped."""
    from kilo_tui.core.trust.secrets import Redactor, known_secrets

    text = Redactor(known_secrets() | {api_key or ""}).text(text)
    return _KEY_LIKE.sub(lambda m: f"{m.group(1)}-***", text)


def _retry_delay(exc: Exception, retries: int, base: float, cap: float) -> float:
    """The provider's ``Retry-After`` exactly, when it sent one; otherwise exponential
    backoff with jitter (between half and all of ``base * 2**retries``, at most ``cap``),
    so clients that failed together do not all come back at the same instant."""
    retry_after = _retry_after(exc)
    if retry_after is not None:
        return retry_after
    return min(base * 2**retries, cap) * random.uniform(0.5, 1.0)


def _retry_after(exc: Exception) -> float | None:
    """Seconds from a ``Retry-After`` / ``retry-after-ms`` header, if the error has one."""
    for headers in (
        getattr(exc, "litellm_response_headers", None),
        getattr(getattr(exc, "response", None), "headers", None),
    ):
        if not headers:
            continue
        if (millis := headers.get("retry-after-ms")) is not None:
            try:
                return max(float(millis) / 1000, 0.0)
            except ValueError:
                pass
        if (value := headers.get("retry-after")) is not None:
            return _parse_retry_after(value)
    return None


def _duration(seconds: float) -> str:
    """``45 s``, ``30 min``, ``2 h``: how long a provider asks to wait, readably."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.0f} h"


def _parse_retry_after(value: str) -> float | None:
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)
