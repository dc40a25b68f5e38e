"""Local models end to end: honest replies, cache-stable prompts, the XML tool protocol.

The fake server plays the local servers users run (``server.local``): it refuses tools
when streaming, refuses or ignores tools, answers an overflowing prompt with an empty
200 stream, sends no usage, and its scripted model writes XML tool calls in its text.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kilo_tui.core import events as ev
from kilo_tui.core.agent.runtime import AgentRuntime
from kilo_tui.core.config import ConfigError, load_settings
from tests.fakeserver import FakeLLMServer, Turn, xml_call

MODEL = "openai/fake-model"
XML_CONFIG = f'[models."{MODEL}"]\ntool_protocol = "xml"\n'


def collect(runtime: AgentRuntime) -> list[ev.Event]:
    seen: list[ev.Event] = []
    runtime.bus.subscribe(seen.append)
    return seen


def main_requests(server: FakeLLMServer) -> list[dict[str, Any]]:
    return [b for b in server.chat_requests if b.get("model") == "fake-model"]


def assistant_messages(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for m in body["messages"] if m["role"] == "assistant"]


def notices(seen: list[ev.Event]) -> list[str]:
    return [e.message for e in seen if isinstance(e, ev.Notice)]


# ------------------------------------------------------------- honest replies


async def test_an_empty_reply_is_retried_then_reported_and_never_stored(
    make_runtime: Callable[..., AgentRuntime], llm_env: FakeLLMServer
) -> None:
    runtime = make_runtime(interactive=False)
    seen = collect(runtime)
    llm_env.script(Turn.empty(), Turn.empty(), Turn.empty())
    outcome = await runtime.submit("hello")
    assert outcome.status == "failed"
    assert "empty reply" in outcome.detail
    assert len([e for e in seen if isinstance(e, ev.RetryScheduled)]) == 2
    assert runtime.task is not None
    assert not assistant_messages({"messages": runtime.task.messages})

    llm_env.script(Turn.tool("attempt_completion", result="ok"))
    assert (await runtime.submit("again")).status == "completed"
    sent = main_requests(llm_env)[-1]
    assert all(m.get("content") is not None for m in sent["messages"])
    assert [m["role"] for m in sent["messages"]] == ["system", "user", "user"]


async def test_an_error_inside_the_stream_is_reported_in_the_servers_words(
    make_runtime: Callable[..., AgentRuntime], llm_env: FakeLLMServer
) -> None:
    runtime = make_runtime("max_retries = 1\n", interactive=False)
    broken = Turn(stream_error="slot 0: model crashed (out of memory)")
    llm_env.script(broken, broken)
    outcome = await runtime.submit("hello")
    assert outcome.status == "failed"
    assert "model crashed (out of memory)" in outcome.detail


async def test_a_session_holding_an_empty_assistant_turn_is_repaired_on_resume(
    make_runtime: Callable[..., AgentRuntime], llm_env: FakeLLMServer
) -> None:
    runtime = make_runtime()
    runtime.store.create_task("old", workspace=str(runtime.workspace), model=MODEL, mode="code")
    for message in (
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": None},
        {"role": "user", "content": "second"},
        {"role": "assistant", "content": "  "},
    ):
        runtime.store.append_message("old", message)
    runtime.resume("old")
    llm_env.script(Turn.tool("attempt_completion", result="ok"))
    await runtime.submit("third")
    sent = main_requests(llm_env)[-1]["messages"]
    assert [m["role"] for m in sent] == ["system", "user", "user", "user"]
    # The store agrees, so message counts (checkpoint rewinds) stay in step.
    assert runtime.task is not None
    assert runtime.store.load_messages("old") == runtime.task.messages


async def test_every_request_sends_max_tokens(
    make_runtime: Callable[..., AgentRuntime], llm_env: FakeLLMServer
) -> None:
    runtime = make_runtime()
    await runtime.submit("go")
    assert main_requests(llm_env)[-1]["max_tokens"] == 4096  # unknown model: the default

    configured = make_runtime(f'[models."{MODEL}"]\nmax_output = 1234\ncontext_window = 9000\n')
    seen = collect(configured)
    await configured.submit("go")
    assert main_requests(llm_env)[-1]["max_tokens"] == 1234
    usage = [e for e in seen if isinstance(e, ev.UsageUpdated)][-1]
    assert (usage.context_window, usage.reserved_output) == (9000, 1234)


def test_models_settings_are_validated(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[models."ollama_chat/qwen3"]\ncontext_window = "big"\n')
    with pytest.raises(ConfigError, match=r"context_window.*positive whole number"):
        load_settings(config_path=config)
    config.write_text('[models."ollama_chat/qwen3"]\ntool_protocol = "json"\n')
    with pytest.raises(ConfigError, match='"native" or "xml"'):
        load_settings(config_path=config)


async def test_a_reply_that_repeats_itself_is_stopped_and_reported(
    make_runtime: Callable[..., AgentRuntime], llm_env: FakeLLMServer
) -> None:
    runtime = make_runtime(interactive=False)
    llm_env.script(Turn.text("Let me check the file again. " * 2000, chunk_size=40))
    outcome = await runtime.submit("go")
    assert outcome.status == "failed"
    assert "repeating itself" in outcome.detail
    assert runtime.task is not None and not assistant_messages({"messages": runtime.task.messages})
    assert len(main_requests(llm_env)) == 1


async def test_a_repetitive_file_written_through_xml_is_not_a_loop(
    make_runtime: Callable[..., AgentRuntime], llm_env: FakeLLMServer, workspace: Path
) -> None:
    runtime = make_runtime(XML_CONFIG, yolo=True)
    table = "0,0,0,0\n" * 1000
    llm_env.script(
        Turn(content=xml_call("write_to_file", path="zeros.csv", content=table), chunk_size=50)
    )
    assert (await runtime.submit("write zeros.csv")).status == "completed"
    assert (workspace / "zeros.csv").read_text() == table


async def test_a_context_overflow_is_condensed_and_retried_once(
    make_runtime: Callable[..., AgentRuntime], llm_env: FakeLLMServer
) -> None:
    runtime = make_runtime(interactive=False, yolo=True)
    seen = collect(runtime)
    llm_env.script(
        *(Turn.tool("read_file", path="app.py", start_line=1, end_line=n) for n in range(1, 5)),
        Turn.error(400, "This model's maximum context length is 8192 tokens. Please reduce it."),
        Turn.tool("attempt_completion", result="ok"),
    )
    llm_env.script_for(
        "fake-small", Turn.text("Reading app"), Turn.text("Summary: app.py prints hello.")
    )
    outcome = await runtime.submit("look at app.py")
    assert outcome.status == "completed"
    assert any(isinstance(e, ev.ContextCondensed) for e in seen)
    assert not any(isinstance(e, ev.RetryScheduled) for e in seen)  # never retried as is
    retried = main_requests(llm_env)[-1]["messages"]
    assert "Summary: app.py prints hello." in json.dumps(retried)


async def test_an_empty_reply_to_a_large_prompt_is_an_overflow_told_plainly(
    make_runtime: Callable[..., AgentRuntime], llm_env: FakeLLMServer
) -> None:
    llm_env.local.n_ctx = 300  # less than the system prompt
    runtime = make_runtime(f'[models."{MODEL}"]\ncontext_window = 1000\n', interactive=False)
    outcome = await runtime.submit("hello")
    assert outcome.status == "failed"
    assert "does not fit the model's context window (1000 tokens)" in outcome.detail
    assert "context_window" in outcome.detail


# ------------------------------------------------------- cache-stable prompts


async def test_system_prompt_and_tools_are_identical_across_a_tasks_requests(
    make_runtime: Callable[..., AgentRuntime], llm_env: FakeLLMServer
) -> None:
    runtime = make_runtime(yolo=True)
    llm_env.script(
        Turn.tool("update_todo_list", todos="[ ] read\n[ ] finish"),
        Turn.tool("read_file", path="app.py"),
        Turn.tool("list_files", path="."),
        Turn.tool("attempt_completion", result="ok"),
    )
    await runtime.submit("look around")
    requests = main_requests(llm_env)
    assert len(requests) == 4
    assert len({r["messages"][0]["content"] for r in requests}) == 1
    assert len({json.dumps(r["tools"]) for r in requests}) == 1
    for previous, current in itertools.pairwise(requests):
        # Every request starts with the whole previous one: nothing earlier moved.
        assert current["messages"][: len(previous["messages"])] == previous["messages"]
        assert "<environment_details>" in json.dumps(current["messages"][-1])


async def test_claude_models_get_cache_breakpoints_and_cache_reads_are_counted(
    make_runtime: Callable[..., AgentRuntime], llm_env: FakeLLMServer, monkeypatch: Any
) -> None:
    monkeypatch.setenv("OPENROUTER_API_KEY", "sk-or-test")
    model = "openrouter/anthropic/claude-sonnet-4.5"
    runtime = make_runtime(
        f'[providers.openrouter]\napi_base = "{llm_env.base_url}"\n', model=model, yolo=True
    )
    seen = collect(runtime)
    llm_env.script(
        Turn.tool("read_file", path="app.py"),
        Turn(
            tool_calls=[{"name": "attempt_completion", "arguments": {"result": "ok"}}],
            usage={"prompt_tokens_details": {"cached_tokens": 1500}},
        ),
    )
    await runtime.submit("read app.py")
    body = [r for r in llm_env.chat_requests if "claude" in r["model"]][-1]
    marked = [
        i
        for i, m in enumerate(body["messages"])
        if isinstance(m.get("content"), list) and "cache_control" in m["content"][-1]
    ]
    last_user_turns = [i for i, m in enumerate(body["messages"]) if m["role"] in ("user", "tool")]
    assert marked == [0, *last_user_turns[-2:]]
    usage = [e for e in seen if isinstance(e, ev.UsageUpdated)][-1]
    assert usage.cache_read == 1500


# ------------------------------------------------------------ tool protocols


async def test_xml_protocol_runs_the_same_tools_through_the_same_gate(
    make_runtime: Callable[..., AgentRuntime], llm_env: FakeLLMServer, workspace: Path
) -> None:
    runtime = make_runtime(XML_CONFIG, interactive=False)
    seen = collect(runtime)
    llm_env.script(
        Turn.xml("read_file", "Let me read it first.\n\n", path="app.py"),
        Turn.xml("execute_command", command="rm -rf build"),
        Turn.xml("attempt_completion", result="It prints hello."),
    )
    outcome = await runtime.submit("what does app.py print?")
    assert outcome == outcome.__class__("completed", "It prints hello.")
    requests = main_requests(llm_env)
    assert all("tools" not in r for r in requests)
    system = requests[0]["messages"][0]["content"]
    assert "<read_file>" in system and "# Tools" in system
    assert len({r["messages"][0]["content"] for r in requests}) == 1
    # Results come back as user text; user and assistant alternate.
    second = requests[1]["messages"]
    assert [m["role"] for m in second] == ["system", "user", "assistant", "user"]
    assert second[3]["content"].startswith("[read_file] Result:\n")
    assert "1 | print('hello')" in second[3]["content"]
    # The user sees the prose, not the tags; the tools run as native calls do.
    shown = [e.text for e in seen if isinstance(e, ev.AssistantMessage)]
    assert shown == ["Let me read it first."]
    started = [e.name for e in seen if isinstance(e, ev.ToolCallStarted)]
    assert started == ["read_file", "execute_command", "attempt_completion"]
    # Headless without --yolo: the command was denied by the policy, as in native mode.
    denied = [e for e in seen if isinstance(e, ev.ApprovalResolved) and not e.approved]
    assert denied and not (workspace / "build").exists()


async def test_a_server_that_refuses_tools_gets_the_xml_protocol_said_once(
    make_runtime: Callable[..., AgentRuntime], llm_env: FakeLLMServer
) -> None:
    llm_env.local.refuse_tools = True
    runtime = make_runtime(yolo=True)
    seen = collect(runtime)
    llm_env.script(
        Turn.xml("read_file", path="app.py"),
        Turn.xml("attempt_completion", result="done"),
    )
    outcome = await runtime.submit("read app.py")
    assert outcome.status == "completed"
    said = [n for n in notices(seen) if "XML" in n]
    assert len(said) == 1 and "tool_protocol" in said[0]


async def test_a_server_that_ignores_tools_gets_the_xml_protocol(
    make_runtime: Callable[..., AgentRuntime], llm_env: FakeLLMServer
) -> None:
    llm_env.local.ignore_tools = True
    runtime = make_runtime(interactive=False, yolo=True)
    llm_env.script(
        Turn.text("I would read app.py now."),
        Turn.text("Reading app.py."),
        Turn.xml("read_file", path="app.py"),
        Turn.xml("attempt_completion", result="done"),
    )
    outcome = await runtime.submit("read app.py")
    assert outcome.status == "completed"
    last = main_requests(llm_env)[-1]["messages"]
    assert "[read_file] Result:" in json.dumps(last)


async def test_a_server_that_cannot_stream_tools_is_asked_without_streaming(
    make_runtime: Callable[..., AgentRuntime], llm_env: FakeLLMServer
) -> None:
    llm_env.local.refuse_stream_tools = True
    llm_env.local.no_usage = True
    runtime = make_runtime(yolo=True)
    seen = collect(runtime)
    llm_env.script(
        Turn.tool("read_file", path="app.py"), Turn.tool("attempt_completion", result="ok")
    )
    outcome = await runtime.submit("read app.py")
    assert outcome.status == "completed"
    streamed = [bool(r.get("stream")) for r in main_requests(llm_env)]
    assert streamed == [True, False, False]
    assert len([n for n in notices(seen) if "stream" in n]) == 1
    usage = [e for e in seen if isinstance(e, ev.UsageUpdated)]
    assert usage and all(u.estimated and u.tokens_in > 500 for u in usage)


async def test_a_subtask_keeps_what_its_parent_learned_about_the_server(
    make_runtime: Callable[..., AgentRuntime], llm_env: FakeLLMServer
) -> None:
    llm_env.local.refuse_tools = True
    runtime = make_runtime(mode="orchestrator", yolo=True)
    seen = collect(runtime)
    llm_env.script(
        Turn.xml("new_task", mode="ask", message="What does app.py print?"),
        Turn.xml("attempt_completion", result="It prints hello."),  # the subtask
        Turn.xml("attempt_completion", result="Done."),  # the parent
    )
    outcome = await runtime.submit("find out what app.py prints")
    assert outcome.status == "completed"
    refused = [r for r in main_requests(llm_env) if r.get("tools")]
    assert len(refused) == 1  # only the parent's first request offered tools
    assert len([n for n in notices(seen) if "XML" in n]) == 1
