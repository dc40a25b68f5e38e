"""Titles and context condensing on the small model, and each step of their fallback."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kilo_tui.core import events as ev
from kilo_tui.core.agent.background import condense_context, generate_title, should_condense
from kilo_tui.core.agent.runtime import AgentRuntime
from kilo_tui.core.config import load_settings
from tests.fakeserver import FakeLLMServer, Turn

MAIN = "openai/fake-main"  # its own reply queue, like the small model's


@pytest.fixture
def runtime_for(llm_env: FakeLLMServer, tmp_path: Path) -> Iterator[Callable[[str], AgentRuntime]]:
    ws = tmp_path / "ws"
    ws.mkdir()
    made: list[AgentRuntime] = []
    llm_env.script_for("fake-main")  # dedicate a queue to the main model

    def make(small_model: str) -> AgentRuntime:
        config = tmp_path / "kilo-home" / "config.toml"
        config.parent.mkdir(exist_ok=True)
        config.write_text(f'small_model = "{small_model}"\n[agent]\nretry_base_delay = 0.01\n')
        runtime = AgentRuntime(
            workspace=ws, settings=load_settings(ws, overrides={"model": MAIN}), start_mcp=False
        )
        runtime.task = runtime._new_task()
        made.append(runtime)
        return runtime

    yield make
    for runtime in made:
        runtime.store.close()


def requests_for(server: FakeLLMServer, model: str) -> list[dict[str, Any]]:
    return [b for b in server.chat_requests if b["model"] == model]


# ----------------------------------------------------------------- titles


async def test_title_uses_the_main_model_when_the_small_one_fails(
    runtime_for: Callable[[str], AgentRuntime], llm_env: FakeLLMServer
) -> None:
    runtime = runtime_for("openai/fake-small")
    llm_env.script_for("fake-small", Turn.error(500), Turn.error(500))
    llm_env.script_for("fake-main", Turn.text("Parser refactor"))
    assert runtime.task is not None
    title = await generate_title(runtime, runtime.task, "please refactor the parser module")
    assert title == ("Parser refactor", "main_model")
    prompt = requests_for(llm_env, "fake-main")[0]["messages"][0]["content"]
    assert "please refactor the parser module" in prompt


async def test_title_is_the_truncated_message_when_both_fail(
    runtime_for: Callable[[str], AgentRuntime], llm_env: FakeLLMServer
) -> None:
    runtime = runtime_for("openai/fake-small")
    llm_env.script_for("fake-small", Turn.error(500), Turn.error(500))
    llm_env.script_for("fake-main", Turn.error(503), Turn.error(503))
    message = "x" * 80 + " a very long first message that will not fit in a title"
    assert runtime.task is not None
    title, source = await generate_title(runtime, runtime.task, message)
    assert source == "truncated"
    assert len(title) == 50 and title.endswith("…")


async def test_title_is_cleaned_and_capped(
    runtime_for: Callable[[str], AgentRuntime], llm_env: FakeLLMServer
) -> None:
    runtime = runtime_for("openai/fake-small")
    llm_env.script_for(
        "fake-small",
        Turn.text(
            'Title: "Add a retry loop to the HTTP client with exponential backoff and jitter".\n'
        ),
    )
    assert runtime.task is not None
    title, source = await generate_title(runtime, runtime.task, "add retries")
    assert source == "small_model"
    assert not title.startswith(("Title", '"')) and len(title) <= 50


# -------------------------------------------------------------- condensing


def fill(runtime: AgentRuntime, turns: int) -> None:
    task = runtime.task
    assert task is not None
    task._append({"role": "user", "content": "FIRST: build a parser"})
    for i in range(turns):
        call = {
            "id": f"c{i}",
            "type": "function",
            "function": {"name": "read_file", "arguments": f'{{"path": "f{i}.py"}}'},
        }
        task._append({"role": "assistant", "content": f"step {i}", "tool_calls": [call]})
        task._append({"role": "tool", "tool_call_id": f"c{i}", "content": f"content of f{i}"})


def assert_valid_history(messages: list[dict[str, Any]]) -> None:
    """Every tool result follows the assistant message that called it."""
    open_calls: set[str] = set()
    for message in messages:
        if message.get("tool_calls"):
            open_calls = {c["id"] for c in message["tool_calls"]}
        elif message["role"] == "tool":
            assert message["tool_call_id"] in open_calls, messages


async def test_condense_summarises_on_the_small_model(
    runtime_for: Callable[[str], AgentRuntime], llm_env: FakeLLMServer
) -> None:
    runtime = runtime_for("openai/fake-small")
    seen: list[ev.Event] = []
    runtime.bus.subscribe(seen.append)
    fill(runtime, 6)
    llm_env.script_for("fake-small", Turn.text("SUMMARY: read f0..f5, parser half done"))
    assert runtime.task is not None
    await condense_context(runtime, runtime.task)
    messages = runtime.task.messages
    assert messages[0]["content"] == "FIRST: build a parser"
    assert "SUMMARY: read f0..f5" in messages[1]["content"]
    assert messages[-1]["content"] == "content of f5"  # the latest turns are kept
    assert len(messages) < 13
    assert_valid_history(messages)
    assert runtime.store.load_messages(runtime.task.id) == messages  # what resume sees
    assert runtime.store.count_all_messages(runtime.task.id) == 14  # nothing deleted
    condensed = next(e for e in seen if isinstance(e, ev.ContextCondensed))
    assert condensed.method == "summary" and condensed.messages_before == 13
    prompt = requests_for(llm_env, "fake-small")[0]["messages"][0]["content"]
    assert "content of f2" in prompt  # the middle of the conversation was summarised


async def test_condense_falls_back_to_the_main_model(
    runtime_for: Callable[[str], AgentRuntime], llm_env: FakeLLMServer
) -> None:
    runtime = runtime_for("openai/fake-small")
    fill(runtime, 6)
    llm_env.script_for("fake-small", Turn.error(500), Turn.error(500))
    llm_env.script_for("fake-main", Turn.text("MAIN-SUMMARY"))
    assert runtime.task is not None
    await condense_context(runtime, runtime.task)
    assert "MAIN-SUMMARY" in runtime.task.messages[1]["content"]


async def test_condense_degrades_to_a_sliding_window_with_a_notice(
    runtime_for: Callable[[str], AgentRuntime], llm_env: FakeLLMServer
) -> None:
    runtime = runtime_for("openai/fake-small")
    seen: list[ev.Event] = []
    runtime.bus.subscribe(seen.append)
    fill(runtime, 6)
    llm_env.script_for("fake-small", *[Turn.error(500)] * 2)
    llm_env.script_for("fake-main", *[Turn.error(500)] * 2)
    assert runtime.task is not None
    await condense_context(runtime, runtime.task)
    messages = runtime.task.messages
    assert messages[0]["content"] == "FIRST: build a parser"
    assert messages[1]["content"].startswith("[Sliding window truncation:")
    assert_valid_history(messages)
    assert len(messages) < 13
    condensed = next(e for e in seen if isinstance(e, ev.ContextCondensed))
    assert condensed.method == "sliding_window"
    assert any(isinstance(e, ev.Notice) and e.level == "warning" for e in seen)


async def test_should_condense_follows_the_context_window(
    runtime_for: Callable[[str], AgentRuntime],
) -> None:
    runtime = runtime_for("openai/fake-small")
    assert runtime.task is not None
    runtime.task.model = "openai/gpt-4o"  # 128k window in litellm's table
    runtime.task.totals.context_tokens = 50_000
    assert not should_condense(runtime, runtime.task)
    runtime.task.totals.context_tokens = 110_000  # past 80 %
    assert should_condense(runtime, runtime.task)
    runtime.task.model = MAIN  # unknown window: the cautious default (16k) still applies
    assert should_condense(runtime, runtime.task)
    runtime.task.totals.context_tokens = 5_000
    assert not should_condense(runtime, runtime.task)
