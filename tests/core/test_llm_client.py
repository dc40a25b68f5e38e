"""stream_completion against the fake OpenAI-compatible server, through real litellm."""

from __future__ import annotations

import asyncio
import email.utils
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from kilo_tui.core.llm.client import (
    LLMCancelled,
    LLMError,
    LLMResponse,
    stream_completion,
)
from tests.conftest import FAKE_MODEL
from tests.fakeserver import FakeLLMServer, Turn, tool_call

REPO = Path(__file__).resolve().parents[2]
READ_FILE = {
    "type": "function",
    "function": {
        "name": "read_file",
        "description": "Read a file.",
        "parameters": {
            "type": "object",
            "properties": {"path": {"type": "string"}},
            "required": ["path"],
        },
    },
}
MESSAGES = [{"role": "user", "content": "hi"}]


async def complete(server: FakeLLMServer, **options: Any) -> LLMResponse:
    options.setdefault("base_delay", 0.001)
    return await stream_completion(
        model=FAKE_MODEL,
        messages=MESSAGES,
        api_base=server.base_url,
        api_key="x",
        **options,
    )


class Retries:
    """Records on_retry calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, int, float, str]] = []

    def __call__(self, attempt: int, max_attempts: int, delay: float, error: str) -> None:
        self.calls.append((attempt, max_attempts, delay, error))


# ----------------------------------------------------------------- replies


async def test_streams_text_in_deltas(fake_llm: FakeLLMServer) -> None:
    fake_llm.script(Turn.text("Hello there, world!", reasoning="Thinking it over."))
    deltas: list[str] = []
    thoughts: list[str] = []

    reply = await complete(fake_llm, on_text=deltas.append, on_reasoning=thoughts.append)

    assert reply.text == "Hello there, world!"
    assert len(deltas) > 1 and "".join(deltas) == reply.text
    assert reply.reasoning == "Thinking it over." == "".join(thoughts)
    assert reply.finish_reason == "stop"
    assert reply.tool_calls == ()
    assert reply.model == "fake-model"


async def test_asks_for_usage_and_reports_it(fake_llm: FakeLLMServer) -> None:
    fake_llm.script(
        Turn.text(
            "ok",
            usage={
                "prompt_tokens": 120,
                "completion_tokens": 7,
                "prompt_tokens_details": {"cached_tokens": 100},
                "cost": 0.0042,
            },
        )
    )

    reply = await complete(fake_llm)

    sent = fake_llm.chat_requests[0]
    assert sent["stream"] is True
    assert sent["stream_options"] == {"include_usage": True}
    assert sent["messages"] == MESSAGES
    assert reply.usage.prompt_tokens == 120
    assert reply.usage.completion_tokens == 7
    assert reply.usage.cache_read_tokens == 100
    assert reply.usage.reported_cost == pytest.approx(0.0042)


async def test_default_usage_is_not_zero(fake_llm: FakeLLMServer) -> None:
    fake_llm.script(Turn.text("some words"))
    reply = await complete(fake_llm)
    assert reply.usage.prompt_tokens > 0
    assert reply.usage.completion_tokens > 0
    assert reply.usage.reported_cost is None


async def test_tool_call_arguments_split_across_chunks(fake_llm: FakeLLMServer) -> None:
    fake_llm.script(Turn.tool("read_file", path="src/app.py"))

    reply = await complete(fake_llm, tools=[READ_FILE])

    assert fake_llm.chat_requests[0]["tools"] == [READ_FILE]
    (call,) = reply.tool_calls
    assert call.name == "read_file"
    assert call.id.startswith("call_")
    assert json.loads(call.arguments) == {"path": "src/app.py"}
    assert reply.finish_reason == "tool_calls"


async def test_two_tool_calls_in_one_reply(fake_llm: FakeLLMServer) -> None:
    fake_llm.script(
        Turn.tools(
            tool_call("read_file", path="a.py"),
            tool_call("read_file", "{not json"),
            text="Reading both.",
        )
    )

    reply = await complete(fake_llm, tools=[READ_FILE])

    assert reply.text == "Reading both."
    first, second = reply.tool_calls
    assert json.loads(first.arguments) == {"path": "a.py"}
    assert second.arguments == "{not json"  # raw text, for the agent to report back
    assert first.id != second.id


async def test_environment_configures_the_openai_provider(llm_env: FakeLLMServer) -> None:
    llm_env.script(Turn.text("from env"))
    reply = await stream_completion(model=FAKE_MODEL, messages=MESSAGES)
    assert reply.text == "from env"
    assert len(llm_env.chat_requests) == 1


async def test_lm_studio_defaults_to_localhost(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LM_STUDIO_API_BASE", raising=False)
    try:
        server = FakeLLMServer(port=1234)
    except OSError:
        pytest.skip("port 1234 is in use")
    with server:
        server.script(Turn.text("local"))
        reply = await stream_completion(model="lm_studio/qwen", messages=MESSAGES)
    assert reply.text == "local"
    assert server.chat_requests[0]["model"] == "qwen"


# ----------------------------------------------------------------- retries


async def test_429_is_retried_after_retry_after(fake_llm: FakeLLMServer) -> None:
    fake_llm.script(Turn.error(429, "Slow down", retry_after=0.3), Turn.text("after the wait"))
    retries = Retries()

    started = time.monotonic()
    reply = await complete(fake_llm, on_retry=retries, max_retries=3)

    assert reply.text == "after the wait"
    assert time.monotonic() - started >= 0.3
    ((attempt, max_attempts, delay, error),) = retries.calls
    assert (attempt, max_attempts, delay) == (1, 3, 0.3)
    assert "Rate limited" in error and "Slow down" in error
    assert len(fake_llm.chat_requests) == 2  # no hidden SDK retries


async def test_500_is_retried_with_backoff(fake_llm: FakeLLMServer) -> None:
    fake_llm.script(Turn.error(500), Turn.error(503), Turn.text("recovered"))
    retries = Retries()

    reply = await complete(fake_llm, on_retry=retries, base_delay=0.01)

    assert reply.text == "recovered"
    assert [a for a, *_ in retries.calls] == [1, 2]
    assert len(fake_llm.chat_requests) == 3


async def test_dropped_stream_is_retried_from_scratch(fake_llm: FakeLLMServer) -> None:
    fake_llm.script(
        Turn.text("The first attempt breaks off", drop_after=4),
        Turn.text("The second attempt completes"),
    )
    shown: list[str] = []
    retries = Retries()

    def on_retry(*args: Any) -> None:
        retries(*args)
        shown.clear()  # what a client does: drop the partial reply

    reply = await complete(fake_llm, on_text=shown.append, on_retry=on_retry)

    assert reply.text == "The second attempt completes"
    assert "".join(shown) == reply.text
    ((_, _, _, error),) = retries.calls
    assert error == "The connection closed mid-reply"


async def test_read_timeout_is_retried(fake_llm: FakeLLMServer) -> None:
    fake_llm.script(Turn.text("stalls", delay=3), Turn.text("fast"))
    retries = Retries()

    reply = await complete(fake_llm, on_retry=retries, request_timeout=0.5)

    assert reply.text == "fast"
    ((_, _, _, error),) = retries.calls
    assert error.startswith("Request timed out")


async def test_gives_up_after_max_retries(fake_llm: FakeLLMServer) -> None:
    fake_llm.script(*[Turn.error(502, "upstream down")] * 3)
    retries = Retries()

    with pytest.raises(LLMError) as caught:
        await complete(fake_llm, on_retry=retries, max_retries=2)

    assert caught.value.status == 502
    assert caught.value.retryable
    assert "upstream down" in caught.value.message
    assert len(retries.calls) == 2
    assert len(fake_llm.chat_requests) == 3


async def test_401_is_not_retried_and_says_why(fake_llm: FakeLLMServer) -> None:
    secret = "sk-live-abcdefghijklmnop"
    fake_llm.script(Turn.error(401, f"Incorrect API key provided: {secret}"), Turn.text("never"))
    retries = Retries()

    with pytest.raises(LLMError) as caught:
        await stream_completion(
            model=FAKE_MODEL,
            messages=MESSAGES,
            api_base=fake_llm.base_url,
            api_key=secret,
            on_retry=retries,
        )

    error = caught.value
    assert error.status == 401 and not error.retryable
    assert error.message.startswith("Authentication failed (HTTP 401): Incorrect API key provided")
    assert secret not in str(error)
    assert retries.calls == []
    assert len(fake_llm.chat_requests) == 1


async def test_a_long_retry_after_is_not_waited_for(fake_llm: FakeLLMServer) -> None:
    fake_llm.script(Turn.error(429, "Daily quota exceeded", retry_after=3600))
    with pytest.raises(LLMError) as caught:
        await complete(fake_llm)
    assert caught.value.message == (
        "Rate limited (HTTP 429): Daily quota exceeded (the provider asks to wait 60 min)"
    )
    assert not caught.value.retryable


async def test_400_reports_the_providers_message(fake_llm: FakeLLMServer) -> None:
    fake_llm.script(Turn.error(400, "model 'nope' does not support tools"))
    with pytest.raises(LLMError) as caught:
        await complete(fake_llm)
    assert caught.value.message == "Bad request (HTTP 400): model 'nope' does not support tools"


# ------------------------------------------------------------ cancellation


async def test_cancel_mid_stream_returns_promptly(fake_llm: FakeLLMServer) -> None:
    # Uncancelled, this reply would stream for ~13 s.
    fake_llm.script(Turn.text("a slow reply " * 20, delay=0.2), Turn.text("next"))
    cancel = asyncio.Event()
    shown: list[str] = []
    cancelled_at = 0.0

    def on_text(text: str) -> None:
        nonlocal cancelled_at
        shown.append(text)
        if len(shown) == 2:
            cancel.set()
            cancelled_at = time.monotonic()

    with pytest.raises(LLMCancelled):
        await complete(fake_llm, on_text=on_text, cancel=cancel)

    assert time.monotonic() - cancelled_at < 1.0
    assert len(shown) == 2
    assert asyncio.all_tasks() == {asyncio.current_task()}  # nothing left running
    # The stream was closed properly: the next request is served at once.
    assert (await complete(fake_llm)).text == "next"


async def test_cancel_during_backoff(fake_llm: FakeLLMServer) -> None:
    fake_llm.script(Turn.error(429, retry_after=30))
    cancel = asyncio.Event()
    retried = asyncio.Event()

    async def cancel_once_waiting() -> float:
        await retried.wait()
        cancel.set()
        return time.monotonic()

    canceller = asyncio.create_task(cancel_once_waiting())
    with pytest.raises(LLMCancelled):
        await complete(fake_llm, cancel=cancel, on_retry=lambda *_: retried.set())

    assert time.monotonic() - await canceller < 1.0
    assert len(fake_llm.chat_requests) == 1


async def test_already_cancelled_sends_nothing(fake_llm: FakeLLMServer) -> None:
    cancel = asyncio.Event()
    cancel.set()
    with pytest.raises(LLMCancelled):
        await complete(fake_llm, cancel=cancel)
    assert fake_llm.requests == []


# ------------------------------------------------ import hygiene (subprocess)


def _python(code: str, cwd: Path, **extra_env: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LITELLM_")}
    env.update(PYTHONPATH=str(REPO), KILO_TUI_HOME=str(cwd / "home"), **extra_env)
    return subprocess.run(
        [sys.executable, "-W", "always", "-c", code],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
    )


def test_importing_the_client_does_not_import_litellm(tmp_path: Path) -> None:
    result = _python(
        "import sys, kilo_tui.core.llm.client\nprint('litellm' in sys.modules)", tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "False\n"


QUIET_SCRIPT = """
import asyncio, os
from kilo_tui.core.llm.client import LLMError, close_clients, stream_completion
from kilo_tui.core.llm.litellm_loader import is_loaded, load_litellm, warm_up_in_background
from tests.fakeserver import FakeLLMServer, Turn

assert not is_loaded()
warm_up_in_background().join()
assert is_loaded() and load_litellm() is load_litellm()
import logging
logging.getLogger("LiteLLM").error("an error litellm logs goes to our log, not the terminal")

async def main():
    with FakeLLMServer() as server:
        server.script(
            Turn.error(401, "bad key"),
            Turn.text("partial reply", drop_after=3),
            Turn.error(500),
            Turn.tool("read_file", path="a.py"),
        )
        try:
            await stream_completion(model="openai/m", messages=[{"role": "user", "content": "x"}],
                                    api_base=server.base_url, api_key="x")
        except LLMError:
            pass
        tools = [{"type": "function", "function": {"name": "read_file", "parameters": {}}}]
        await stream_completion(model="openai/m", messages=[{"role": "user", "content": "x"}],
                                api_base=server.base_url, api_key="x", base_delay=0.001,
                                tools=tools)
        await close_clients()
        # litellm's own MCP gateway (seconds to import) is not on the request path, and
        # the switch that keeps it off never reaches the provider.
        import sys
        assert "litellm.responses.mcp.chat_completions_handler" not in sys.modules
        assert all("_skip_mcp_handler" not in body for body in server.chat_requests)

asyncio.run(main())
print("leak:", os.environ.get("KILO_LEAK"))
"""


def test_litellm_is_silent_and_ignores_dotenv(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("KILO_LEAK=1\n")

    # Even a user's LITELLM_LOG=DEBUG must not put litellm's logs on the terminal.
    result = _python(QUIET_SCRIPT, tmp_path, LITELLM_LOG="DEBUG")

    assert result.returncode == 0, result.stderr
    assert result.stdout == "leak: None\n"
    assert result.stderr == ""


# --------------------------------------------- what the provider says, exactly


async def test_retry_after_is_waited_exactly_not_the_longer_backoff(
    fake_llm: FakeLLMServer,
) -> None:
    fake_llm.script(Turn.error(429, "Slow down", retry_after=0.2), Turn.text("after the wait"))
    retries = Retries()

    started = time.monotonic()
    reply = await complete(fake_llm, on_retry=retries, base_delay=20)

    assert reply.text == "after the wait"
    assert [delay for _, _, delay, _ in retries.calls] == [0.2]
    assert 0.2 <= time.monotonic() - started < 10


async def test_retry_after_as_an_http_date_is_honoured(fake_llm: FakeLLMServer) -> None:
    when = email.utils.formatdate(time.time() + 3, usegmt=True)
    fake_llm.script(Turn.error(503, "busy", retry_after=when), Turn.text("back"))
    retries = Retries()

    reply = await complete(fake_llm, on_retry=retries, base_delay=60)

    assert reply.text == "back"
    ((_, _, delay, _),) = retries.calls
    assert 1.0 < delay <= 3.0  # the date has whole seconds; the backoff would be 60 s


async def test_backoff_without_retry_after_is_exponential_with_jitter(
    fake_llm: FakeLLMServer,
) -> None:
    fake_llm.script(*[Turn.error(500)] * 4, Turn.text("recovered"))
    retries = Retries()

    await complete(fake_llm, on_retry=retries, base_delay=0.01, max_retries=4)

    delays = [delay for _, _, delay, _ in retries.calls]
    for n, delay in enumerate(delays):
        assert 0.01 * 2**n / 2 <= delay <= 0.01 * 2**n
    assert len({round(d / 2**n, 9) for n, d in enumerate(delays)}) > 1  # not a fixed ladder


async def test_a_dropped_stream_is_reported_in_plain_words(fake_llm: FakeLLMServer) -> None:
    fake_llm.script(
        Turn.text("The first attempt breaks off", drop_after=3),
        Turn.text("whole", drop_after=0),
        Turn.text("complete"),
    )
    retries = Retries()

    reply = await complete(fake_llm, on_retry=retries)

    assert reply.text == "complete"
    assert [error for *_, error in retries.calls] == ["The connection closed mid-reply"] * 2


# ------------------------------------------------------------ authentication


async def test_403_fails_at_once_as_an_authentication_error(fake_llm: FakeLLMServer) -> None:
    fake_llm.script(Turn.error(403, "This key may not use this model"), Turn.text("never"))
    retries = Retries()

    with pytest.raises(LLMError) as caught:
        await complete(fake_llm, on_retry=retries)

    assert caught.value.auth_failed and not caught.value.retryable
    assert caught.value.message == "Permission denied (HTTP 403): This key may not use this model"
    assert retries.calls == [] and len(fake_llm.chat_requests) == 1


async def test_missing_credentials_fail_at_once_and_never_as_http_500(
    fake_llm: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    retries = Retries()

    with pytest.raises(LLMError) as caught:
        await stream_completion(
            model=FAKE_MODEL, messages=MESSAGES, api_base=fake_llm.base_url, on_retry=retries
        )

    error = caught.value
    assert error.auth_failed and not error.retryable
    assert "500" not in error.message
    assert error.message.startswith("No API key: ")
    assert "OPENAI_API_KEY" in error.message
    assert retries.calls == [] and fake_llm.chat_requests == []
