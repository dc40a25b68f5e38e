"""The agent loop through AgentRuntime, as the model and a client see it.

Real litellm against the fake server; a scripted client answers approvals on the bus,
exactly as the TUI would.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kilo_tui.core import events as ev
from kilo_tui.core.agent.runtime import AgentRuntime
from kilo_tui.core.events import ApprovalReply
from tests.fakeserver import FakeLLMServer, Turn, tool_call

MODEL = "openai/fake-model"


def collect(runtime: AgentRuntime) -> list[ev.Event]:
    seen: list[ev.Event] = []
    runtime.bus.subscribe(seen.append)
    return seen


def answer_approvals(runtime: AgentRuntime, reply: Callable[[Any], Any]) -> list[Any]:
    """Reply to every ApprovalRequested/FollowupAsked with ``reply(event)``."""
    asked: list[Any] = []

    def on_request(event: Any) -> None:
        asked.append(event)
        asyncio.get_running_loop().call_soon(runtime.bus.reply, event.request_id, reply(event))

    runtime.bus.subscribe(on_request, ev.ApprovalRequested, ev.FollowupAsked)
    return asked


def main_requests(server: FakeLLMServer) -> list[dict[str, Any]]:
    return [b for b in server.chat_requests if b.get("model") == "fake-model"]


def offered(request: dict[str, Any]) -> set[str]:
    return {t["function"]["name"] for t in request.get("tools") or []}


def last_tool_result(request: dict[str, Any]) -> str:
    return [m for m in request["messages"] if m["role"] == "tool"][-1]["content"]


# ------------------------------------------------------------------ modes


async def test_each_mode_offers_only_its_tool_groups(
    make_runtime: Callable[..., AgentRuntime], llm_env: FakeLLMServer
) -> None:
    expected = {
        "code": {"read_file", "write_to_file", "apply_diff", "execute_command"},
        "architect": {"read_file", "write_to_file", "apply_diff"},
        "ask": {"read_file", "list_files", "search_files"},
        "debug": {"read_file", "apply_diff", "execute_command"},
    }
    for slug, must_have in expected.items():
        runtime = make_runtime(mode=slug)
        llm_env.script(Turn.tool("attempt_completion", result="ok"))
        await runtime.submit("hi")
        tools = offered(main_requests(llm_env)[-1])
        assert must_have <= tools, slug
        assert {"attempt_completion", "ask_followup_question"} <= tools
        await runtime.aclose()
    ask_tools = offered(main_requests(llm_env)[2])
    assert not ask_tools & {"write_to_file", "apply_diff", "execute_command"}
    architect_tools = offered(main_requests(llm_env)[1])
    assert "execute_command" not in architect_tools
    orchestrator = make_runtime(mode="orchestrator")
    llm_env.script(Turn.tool("attempt_completion", result="ok"))
    await orchestrator.submit("plan")
    assert offered(main_requests(llm_env)[-1]) <= {
        "ask_followup_question",
        "attempt_completion",
        "update_todo_list",
        "switch_mode",
        "new_task",
    }


async def test_architect_may_write_markdown_but_not_code(
    make_runtime: Callable[..., AgentRuntime], llm_env: FakeLLMServer, workspace: Path
) -> None:
    runtime = make_runtime("[auto_approve]\nwrite = true\n", mode="architect")
    llm_env.script(
        Turn.tool("write_to_file", path="docs/plan.md", content="# Plan\n"),
        Turn.tool("write_to_file", path="src/app.py", content="x = 1\n"),
        Turn.tool("attempt_completion", result="planned"),
    )
    outcome = await runtime.submit("plan it")
    assert outcome.status == "completed"
    assert (workspace / "docs/plan.md").read_text() == "# Plan\n"
    assert not (workspace / "src/app.py").exists()
    refusal = last_tool_result(main_requests(llm_env)[2])
    assert "architect" in refusal.lower() and r"\.md$" in refusal


async def test_kilocodemodes_file_works_unchanged_and_selects_with_mode(
    make_runtime: Callable[..., AgentRuntime], llm_env: FakeLLMServer, workspace: Path
) -> None:
    (workspace / ".kilocodemodes").write_text(
        "customModes:\n"
        "  - slug: docs-writer\n"
        "    name: 📝 Documentation Writer\n"
        "    roleDefinition: You are a technical writer specializing in clear documentation.\n"
        "    whenToUse: Use this mode for writing and editing documentation.\n"
        "    customInstructions: Focus on clarity and completeness in documentation.\n"
        "    groups:\n"
        "      - read\n"
        "      - - edit\n"
        "        - fileRegex: \\.(md|mdx)$\n"
        "          description: Markdown files only\n"
        "      - browser\n"
    )
    runtime = make_runtime(mode="docs-writer")
    assert runtime.mode == "docs-writer"
    llm_env.script(Turn.tool("attempt_completion", result="ok"))
    await runtime.submit("document")
    request = main_requests(llm_env)[-1]
    system = request["messages"][0]["content"]
    assert system.startswith("You are a technical writer")
    assert "Focus on clarity and completeness" in system
    assert "execute_command" not in offered(request)


async def test_switch_mode_tool_is_approvable_and_changes_tools(
    make_runtime: Callable[..., AgentRuntime], llm_env: FakeLLMServer
) -> None:
    runtime = make_runtime(mode="ask")
    asked = answer_approvals(runtime, lambda e: ApprovalReply(approved=True))
    seen = collect(runtime)
    llm_env.script(
        Turn.tool("switch_mode", mode_slug="code", reason="need to edit"),
        Turn.tool("attempt_completion", result="ok"),
    )
    await runtime.submit("fix it")
    assert [a.kind for a in asked] == ["mode_switch"]
    assert runtime.mode == "code"
    assert any(isinstance(e, ev.ModeChanged) and e.mode == "code" for e in seen)
    assert "execute_command" in offered(main_requests(llm_env)[-1])


# ------------------------------------------------------------ instructions


async def test_rules_agents_md_and_custom_instructions_reach_the_prompt_in_order(
    make_runtime: Callable[..., AgentRuntime], llm_env: FakeLLMServer, workspace: Path
) -> None:
    rules = workspace / ".kilocode" / "rules"
    rules.mkdir(parents=True)
    (rules / "b.md").write_text("RULE-B: tabs are forbidden")
    (rules / "a.md").write_text("RULE-A: write tests first")
    (workspace / ".kilocode" / "rules-code").mkdir()
    (workspace / ".kilocode" / "rules-code" / "x.md").write_text("MODE-RULE: code mode rule")
    (workspace / "AGENTS.md").write_text("AGENTS-MD: run make check")
    # BASE_CONFIG ends inside [agent], so this key lands in that table.
    runtime = make_runtime('custom_instructions = "GLOBAL-INSTRUCTION: be terse"\n')
    llm_env.script(Turn.tool("attempt_completion", result="ok"))
    await runtime.submit("hi")
    system = main_requests(llm_env)[-1]["messages"][0]["content"]
    order = [
        system.index(marker)
        for marker in ("GLOBAL-INSTRUCTION", "MODE-RULE", "AGENTS-MD", "RULE-A", "RULE-B")
    ]
    assert order == sorted(order)
    # What changes per request is in the user's message, never in the system prompt.
    first_user = main_requests(llm_env)[0]["messages"][1]["content"]
    assert "<environment_details>" not in system
    assert "<environment_details>" in first_user and "app.py" in first_user  # listing


async def test_mentions_expand_into_the_message_the_model_receives(
    make_runtime: Callable[..., AgentRuntime], llm_env: FakeLLMServer
) -> None:
    runtime = make_runtime()
    llm_env.script(Turn.tool("attempt_completion", result="ok"))
    await runtime.submit("explain @/app.py and @/missing.py please")
    user = main_requests(llm_env)[-1]["messages"][1]["content"]
    assert '<file_content path="app.py">' in user
    assert "1 | print('hello')" in user
    assert "@/missing.py" in user  # unknown mentions stay as typed


# ------------------------------------------------------------- approvals


async def test_interactive_rejection_with_feedback_reaches_the_model(
    make_runtime: Callable[..., AgentRuntime], llm_env: FakeLLMServer, workspace: Path
) -> None:
    runtime = make_runtime()
    asked = answer_approvals(
        runtime, lambda e: ApprovalReply(approved=False, feedback="use pytest -q instead")
    )
    llm_env.script(
        Turn.tool("execute_command", command="touch should-not-exist"),
        Turn.tool("attempt_completion", result="ok"),
    )
    await runtime.submit("run tests")
    assert asked[0].kind == "command" and asked[0].title == "touch should-not-exist"
    assert not (workspace / "should-not-exist").exists()
    assert "use pytest -q instead" in last_tool_result(main_requests(llm_env)[1])


async def test_always_allow_becomes_a_visible_rule_of_the_users(
    make_runtime: Callable[..., AgentRuntime], llm_env: FakeLLMServer, workspace: Path
) -> None:
    from kilo_tui.core.trust import project as trust

    runtime = make_runtime()
    asked = answer_approvals(runtime, lambda e: ApprovalReply(approved=True, always=True))
    llm_env.script(
        Turn.tool("execute_command", command="echo again"),
        Turn.tool("execute_command", command="echo again"),
        Turn.tool("attempt_completion", result="ok"),
    )
    await runtime.submit("echo twice")
    assert len(asked) == 1  # the second run went through on the remembered rule
    assert asked[0].always_allow_rule == 'always_allow += "command:echo again"'
    remembered = trust.remembered_rules_file(workspace).read_text()
    assert '"command:echo again"' in remembered
    assert not (workspace / ".kilocode" / "kilo-tui.toml").exists()  # the repo is not ours
    assert "Exit code: 0" in last_tool_result(main_requests(llm_env)[2])


async def test_followup_question_answered_by_the_user(
    make_runtime: Callable[..., AgentRuntime], llm_env: FakeLLMServer
) -> None:
    runtime = make_runtime()
    answer_approvals(
        runtime,
        lambda e: "Use SQLite" if isinstance(e, ev.FollowupAsked) else ApprovalReply(approved=True),
    )
    llm_env.script(
        Turn.tool(
            "ask_followup_question",
            question="Which database?",
            follow_up=[{"text": "Use SQLite"}, {"text": "Use Postgres"}],
        ),
        Turn.tool("attempt_completion", result="ok"),
    )
    await runtime.submit("add storage")
    assert "<answer>\nUse SQLite\n</answer>" in last_tool_result(main_requests(llm_env)[1])


async def test_cancel_during_a_slow_stream_leaves_a_usable_task(
    make_runtime: Callable[..., AgentRuntime], llm_env: FakeLLMServer
) -> None:
    runtime = make_runtime()
    seen = collect(runtime)
    llm_env.script(Turn.text("slow words " * 100, delay=0.2))
    turn = asyncio.create_task(runtime.submit("talk slowly"))
    while not any(isinstance(e, ev.AssistantDelta) for e in seen):
        await asyncio.sleep(0.05)
    runtime.cancel()
    outcome = await asyncio.wait_for(turn, 5)
    assert outcome.status == "cancelled"
    assert any(isinstance(e, ev.TaskCancelled) for e in seen)
    llm_env.script(Turn.tool("attempt_completion", result="after cancel"))
    assert (await runtime.submit("go on")).status == "completed"
    history = main_requests(llm_env)[-1]["messages"]
    assert "[Response interrupted by the user]" in history[2]["content"]


async def test_cancel_while_an_approval_is_pending(
    make_runtime: Callable[..., AgentRuntime], llm_env: FakeLLMServer
) -> None:
    runtime = make_runtime()
    pending: list[ev.ApprovalRequested] = []
    runtime.bus.subscribe(pending.append, ev.ApprovalRequested)
    llm_env.script(Turn.tool("execute_command", command="sleep 100"))
    turn = asyncio.create_task(runtime.submit("wait"))
    while not pending:
        await asyncio.sleep(0.02)
    runtime.cancel()
    assert (await asyncio.wait_for(turn, 5)).status == "cancelled"
    # The history stays valid: the call has its tool result.
    messages = runtime.store.load_messages(runtime.task_id or "")
    assert messages[-1]["role"] == "tool"


# ---------------------------------------------------- titles, cost, subtasks


async def test_title_from_the_small_model(
    make_runtime: Callable[..., AgentRuntime], llm_env: FakeLLMServer
) -> None:
    runtime = make_runtime()
    seen = collect(runtime)
    llm_env.script_for("fake-small", Turn.text('"Fix the login bug"'))
    llm_env.script(Turn.tool("attempt_completion", result="ok"))
    await runtime.submit("the login form rejects valid passwords, please fix it")
    for _ in range(100):
        if any(isinstance(e, ev.TitleGenerated) for e in seen):
            break
        await asyncio.sleep(0.05)
    title = next(e for e in seen if isinstance(e, ev.TitleGenerated))
    # Asked only after the first reply: a one-slot local server never makes the task wait.
    models = [r["body"]["model"] for r in llm_env.requests if r["path"].endswith("completions")]
    assert models[:2] == ["fake-model", "fake-small"]
    assert (title.title, title.source) == ("Fix the login bug", "small_model")
    assert runtime.store.get_task(runtime.task_id or "").title == "Fix the login bug"


async def test_title_falls_back_when_the_small_model_is_dead(
    make_runtime: Callable[..., AgentRuntime], llm_env: FakeLLMServer, tmp_path: Path
) -> None:
    # Port 9 (discard) is closed: connection refused, as for a stopped local server.
    runtime = make_runtime(
        '[providers.hosted_vllm]\napi_base = "http://127.0.0.1:9/v1"\napi_key = "x"\n',
        small_model="hosted_vllm/dead",
    )
    seen = collect(runtime)
    # The main loop's request goes first; the title then falls back to the main model,
    # which fails too (500s), so the title is the truncated first message.
    llm_env.script(
        Turn.tool("attempt_completion", result="ok"),
        Turn.error(500, "down"),
        Turn.error(500, "down"),
    )
    outcome = await asyncio.wait_for(runtime.submit("rename the config loader module"), 30)
    assert outcome.status == "completed"  # never blocked by the title
    for _ in range(200):
        if any(isinstance(e, ev.TitleGenerated) for e in seen):
            break
        await asyncio.sleep(0.05)
    title = next(e for e in seen if isinstance(e, ev.TitleGenerated))
    assert title.source == "truncated"
    assert title.title == "rename the config loader module"


async def test_cost_equals_tokens_times_litellm_prices(
    make_runtime: Callable[..., AgentRuntime], llm_env: FakeLLMServer
) -> None:
    import litellm

    runtime = make_runtime(model="openai/gpt-4o", small_model="openai/gpt-4o-mini")
    seen = collect(runtime)
    title_usage = {"prompt_tokens": 2000, "completion_tokens": 10}
    llm_env.script_for("gpt-4o-mini", Turn.text("Reading app.py", usage=title_usage))
    llm_env.script(
        Turn(
            tool_calls=[tool_call("read_file", path="app.py")],
            usage={"prompt_tokens": 12000, "completion_tokens": 800},
        ),
        Turn(
            tool_calls=[tool_call("attempt_completion", result="ok")],
            usage={"prompt_tokens": 13000, "completion_tokens": 300},
        ),
    )
    await runtime.submit("read")
    for _ in range(200):  # the title is written in the background
        if any(isinstance(e, ev.BackgroundUsage) for e in seen):
            break
        await asyncio.sleep(0.05)
    usage = [e for e in seen if isinstance(e, ev.UsageUpdated)]
    main = sum(
        sum(litellm.cost_per_token(model="gpt-4o", prompt_tokens=p, completion_tokens=c))
        for p, c in ((12000, 800), (13000, 300))
    )
    title = sum(
        litellm.cost_per_token(model="gpt-4o-mini", prompt_tokens=2000, completion_tokens=10)
    )
    assert sum(e.cost or 0 for e in usage) == pytest.approx(main, abs=0.005)
    assert usage[-1].context_window and usage[-1].context_window >= 128000
    # The title's request counts in the task's cost and tokens, reported apart.
    background = next(e for e in seen if isinstance(e, ev.BackgroundUsage))
    assert (background.purpose, background.model) == ("title", "openai/gpt-4o-mini")
    assert background.cost == pytest.approx(title) and background.background_cost == pytest.approx(
        title
    )
    assert runtime.task is not None
    assert runtime.task.totals.cost == pytest.approx(main + title)
    assert runtime.task.totals.tokens_in == 12000 + 13000 + 2000
    record = runtime.store.get_task(runtime.task_id or "")
    assert record is not None and record.cost == pytest.approx(main + title)


async def test_unknown_price_is_unknown_not_zero(
    make_runtime: Callable[..., AgentRuntime], llm_env: FakeLLMServer
) -> None:
    runtime = make_runtime()
    seen = collect(runtime)
    llm_env.script(Turn.tool("attempt_completion", result="ok"))
    await runtime.submit("hi")
    usage = [e for e in seen if isinstance(e, ev.UsageUpdated)][-1]
    assert usage.cost is None and usage.task_cost is None and not usage.free


async def test_subtask_result_returns_to_the_parent(
    make_runtime: Callable[..., AgentRuntime], llm_env: FakeLLMServer
) -> None:
    runtime = make_runtime(yolo=True, mode="orchestrator")
    llm_env.script(
        Turn.tool("new_task", mode="ask", message="What does app.py print?"),
        Turn.tool("attempt_completion", result="It prints hello."),  # the subtask
        Turn.tool("attempt_completion", result="Done: it prints hello."),  # the parent
    )
    outcome = await runtime.submit("find out what app.py prints")
    assert outcome.status == "completed"
    requests = main_requests(llm_env)
    assert requests[1]["messages"][1]["content"].startswith("What does app.py print?\n\n<env")
    assert "It prints hello." in last_tool_result(requests[2])


async def test_max_cost_stops_the_loop(
    make_runtime: Callable[..., AgentRuntime], llm_env: FakeLLMServer
) -> None:
    runtime = make_runtime("[auto_approve]\nmax_cost = 0.01\n", model="openai/gpt-4o")
    llm_env.script(
        Turn(
            tool_calls=[tool_call("read_file", path="app.py")],
            usage={"prompt_tokens": 100000, "completion_tokens": 10},
        ),
        Turn.tool("attempt_completion", result="never"),
    )
    outcome = await runtime.submit("expensive")
    assert outcome.status == "limit"
    assert "max_cost" in outcome.detail
    assert len([b for b in llm_env.chat_requests if b["model"] == "gpt-4o"]) == 1


def test_events_are_json_serialisable() -> None:
    event = ev.DiffProposed(
        request_id="r",
        call_id="c",
        tool="apply_diff",
        path="a.py",
        diff="@@",
        hunks=("@@ -1 +1 @@",),
    )
    assert json.loads(json.dumps(event.to_dict()))["type"] == "diff_proposed"


async def test_untrusted_project_file_cannot_loosen_the_policy(
    make_runtime: Callable[..., AgentRuntime], llm_env: FakeLLMServer, workspace: Path
) -> None:
    from kilo_tui.core.trust import project as trust

    project_file = workspace / ".kilocode" / "kilo-tui.toml"
    project_file.parent.mkdir()
    project_file.write_text(
        '[auto_approve]\nexecute = true\nallowed_commands = ["touch"]\n'
        'denied_commands = ["git push"]\n'
    )
    runtime = make_runtime(interactive=False)
    assert any("not trusted" in w and "execute" in w for w in runtime.startup_warnings)
    assert runtime.gate.policy.settings.execute is False
    assert "git push" in runtime.gate.policy.settings.denied_commands  # tightening applies
    llm_env.script(
        Turn.tool("execute_command", command="touch cloned-repo-ran-this"),
        Turn.tool("attempt_completion", result="ok"),
    )
    await runtime.submit("go")
    assert not (workspace / "cloned-repo-ran-this").exists()

    trust.trust(project_file)
    trusted = make_runtime(interactive=False)
    assert trusted.startup_warnings == []
    llm_env.script(
        Turn.tool("execute_command", command="touch now-allowed"),
        Turn.tool("attempt_completion", result="ok"),
    )
    await trusted.submit("go")
    assert (workspace / "now-allowed").exists()
    project_file.write_text(project_file.read_text() + "\n# edited by someone\n")
    assert not trust.is_trusted(project_file)  # any edit needs trusting again


async def test_followups_ask_the_question_only_or_auto_answer_by_policy(
    make_runtime: Callable[..., AgentRuntime], llm_env: FakeLLMServer
) -> None:
    question = Turn.tool(
        "ask_followup_question",
        question="Which database?",
        follow_up=[{"text": "Use SQLite"}, {"text": "Use Postgres"}],
    )
    runtime = make_runtime()
    asked = answer_approvals(runtime, lambda e: "Use Postgres")
    llm_env.script(question, Turn.tool("attempt_completion", result="ok"))
    await runtime.submit("add storage")
    assert [type(e).__name__ for e in asked] == ["FollowupAsked"]  # no approval first
    assert "Use Postgres" in last_tool_result(main_requests(llm_env)[1])

    auto = make_runtime("[auto_approve]\nfollowup_questions = true\n")
    asked_auto = answer_approvals(auto, lambda e: "never used")
    llm_env.script(question, Turn.tool("attempt_completion", result="ok"))
    await auto.submit("add storage")
    assert asked_auto == []
    assert "<answer>\nUse SQLite\n</answer>" in last_tool_result(main_requests(llm_env)[-1])


async def test_max_cost_still_stops_when_some_price_is_unknown(
    make_runtime: Callable[..., AgentRuntime], llm_env: FakeLLMServer
) -> None:
    runtime = make_runtime("[auto_approve]\nmax_cost = 0.01\n")  # fake-model: no price
    llm_env.script(Turn.tool("attempt_completion", result="cheap, or so it seems"))
    assert (await runtime.submit("first")).status == "completed"
    runtime.set_model("openai/gpt-4o", persist=False)
    llm_env.script(
        Turn(
            tool_calls=[tool_call("read_file", path="app.py")],
            usage={"prompt_tokens": 100000, "completion_tokens": 10},
        ),
        Turn.tool("attempt_completion", result="never"),
    )
    outcome = await runtime.submit("expensive")
    assert outcome.status == "limit"
    assert "at least $0.25" in outcome.detail
    assert "1 request of unknown price not counted" in outcome.detail


# ------------------------------------------------------- authentication errors


async def test_a_refused_key_fails_at_once_and_says_what_to_fix(
    make_runtime: Callable[..., AgentRuntime], llm_env: FakeLLMServer
) -> None:
    runtime = make_runtime("max_retries = 5\n")
    seen = collect(runtime)
    llm_env.script(Turn.error(401, "Incorrect API key provided"), Turn.text("never"))

    outcome = await runtime.submit("hi")

    assert outcome.status == "failed"
    (failed,) = [e for e in seen if isinstance(e, ev.TaskFailed)]
    assert failed.kind == "auth"
    assert failed.error.startswith("Authentication failed (HTTP 401): Incorrect API key provided")
    assert "OPENAI_API_KEY" in failed.error and "kilo-tui doctor" in failed.error
    assert not [e for e in seen if isinstance(e, ev.RetryScheduled)]
    assert len(main_requests(llm_env)) == 1


async def test_a_missing_key_is_not_shown_as_a_server_error(
    make_runtime: Callable[..., AgentRuntime],
    llm_env: FakeLLMServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY")
    runtime = make_runtime()
    seen = collect(runtime)

    outcome = await runtime.submit("hi")

    assert outcome.status == "failed"
    (failed,) = [e for e in seen if isinstance(e, ev.TaskFailed)]
    assert failed.kind == "auth"
    assert failed.error.startswith("No API key: ") and "500" not in failed.error
    assert "[providers.openai]" in failed.error and "kilo-tui doctor" in failed.error
    assert not [e for e in seen if isinstance(e, ev.RetryScheduled)]
    assert main_requests(llm_env) == []


# ------------------------------------------------------- the first request


async def test_the_first_request_does_not_wait_for_the_first_checkpoint(
    make_runtime: Callable[..., AgentRuntime], llm_env: FakeLLMServer, workspace: Path
) -> None:
    (workspace / "a.txt").write_text("before\n")
    runtime = make_runtime(yolo=True)
    manager = runtime.checkpoints
    assert manager is not None
    save, release = manager.save, threading.Event()

    def slow_save(trigger: str, **kwargs: Any) -> Any:
        if trigger == "user_message":  # a large tree: the first snapshot takes a while
            assert release.wait(60)
        return save(trigger, **kwargs)

    manager.save = slow_save  # type: ignore[method-assign]
    seen = collect(runtime)
    llm_env.script(
        Turn.tool("write_to_file", path="a.txt", content="after\n"),
        Turn.tool("attempt_completion", result="ok"),
    )

    turn = asyncio.create_task(runtime.submit("change a.txt"))
    for _ in range(600):  # the reply arrives while the snapshot is still being taken
        if any(isinstance(e, ev.UsageUpdated) for e in seen):
            break
        await asyncio.sleep(0.05)
    assert len(main_requests(llm_env)) == 1, "the request waited for the checkpoint"
    await asyncio.sleep(0.3)  # time enough for a tool that did not wait to run
    assert (workspace / "a.txt").read_text() == "before\n"
    assert not any(isinstance(e, ev.ToolCallStarted) for e in seen)
    release.set()

    assert (await turn).status == "completed"
    assert (workspace / "a.txt").read_text() == "after\n"
    first = next(e for e in seen if isinstance(e, ev.CheckpointCreated))
    assert first.trigger == "user_message"
    assert manager.file_at(first.checkpoint_id, "a.txt") == b"before\n"
