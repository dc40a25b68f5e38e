"""End to end: the real ``kilo-tui run`` process against the fake OpenAI-compatible server.

Nothing is mocked: litellm talks HTTP to the fake server, tools touch real files, the
session store is a real SQLite file, checkpoints use real git.
"""

from __future__ import annotations

import json
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.cli import (
    BIN,
    CONFIG,
    FIX_DIFF,
    MODEL,
    agent_requests,
    env_for,
    events,
    run,
    start,
    tool_messages,
)
from tests.fakeserver import FakeLLMServer, Turn, tool_call


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "project"
    ws.mkdir()
    (ws / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    return ws


def test_multi_step_task_completes_and_every_result_reaches_the_model(
    fake_llm: FakeLLMServer, home: Path, workspace: Path
) -> None:
    fake_llm.script(
        Turn.tool("read_file", path="calc.py"),
        Turn.tool("apply_diff", path="calc.py", diff=FIX_DIFF),
        Turn.tool("execute_command", command="python3 -c 'import calc; print(calc.add(2, 3))'"),
        Turn.tool("attempt_completion", result="Fixed add(): it now adds."),
    )
    proc = run(
        ["run", "--yolo", "--json", "--model", MODEL, "fix add in calc.py"],
        env=env_for(fake_llm, home),
        cwd=workspace,
    )
    assert proc.returncode == 0, proc.stderr
    assert (workspace / "calc.py").read_text() == "def add(a, b):\n    return a + b\n"
    stream = events(proc.stdout)
    types = [e["type"] for e in stream]
    assert types[0] == "task_started"
    assert types[-1] == "task_completed"
    assert stream[-1]["result"] == "Fixed add(): it now adds."
    assert "assistant_delta" not in types or all("text" in e for e in stream)
    assert any(e["type"] == "command_output" and "5" in e["text"] for e in stream)

    requests = agent_requests(fake_llm)
    assert len(requests) == 4
    # Each tool's result is in the next request the model receives.
    assert "1 | def add(a, b):" in tool_messages(requests[1])[-1]
    assert "calc.py" in tool_messages(requests[2])[-1]
    last = tool_messages(requests[3])[-1]
    assert "Exit code: 0" in last and "\n5" in last
    # The user's message is the first message after the system prompt.
    assert requests[0]["messages"][0]["role"] == "system"
    first = requests[0]["messages"][1]
    assert first["role"] == "user"
    assert first["content"].startswith("fix add in calc.py\n\n<environment_details>\n")
    assert requests[0]["stream_options"] == {"include_usage": True}


def test_provider_errors_and_bad_tool_calls_never_crash(
    fake_llm: FakeLLMServer, home: Path, workspace: Path
) -> None:
    fake_llm.script(
        Turn.error(429, "slow down"),
        Turn.error(500, "upstream exploded"),
        Turn.text("I will start by", drop_after=2),
        Turn.tool("read_file", '{"path": "calc.py"'),  # invalid JSON
        Turn.tool("make_coffee", strength="strong"),  # unknown tool
        Turn.tool("attempt_completion", result="done despite everything"),
    )
    proc = run(
        ["run", "--yolo", "--json", "--model", MODEL, "go"],
        env=env_for(fake_llm, home),
        cwd=workspace,
    )
    assert proc.returncode == 0, proc.stderr
    stream = events(proc.stdout)
    retries = [e for e in stream if e["type"] == "retry_scheduled"]
    assert len(retries) == 3
    assert "slow down" in retries[0]["error"]
    failed_tools = [e for e in stream if e["type"] == "tool_call_finished" and e["is_error"]]
    assert [e["name"] for e in failed_tools] == ["read_file", "make_coffee"]

    requests = agent_requests(fake_llm)
    invalid_json_result = tool_messages(requests[-2])[-1]
    assert "not valid JSON" in invalid_json_result
    unknown_result = tool_messages(requests[-1])[-1]
    assert "Unknown tool 'make_coffee'" in unknown_result and "read_file" in unknown_result

    listed = json.loads(
        run(["sessions", "list", "--json"], env=env_for(fake_llm, home), cwd=workspace).stdout
    )
    assert len(listed) == 1
    assert {
        "id",
        "title",
        "created_at",
        "workspace",
        "model",
        "tokens_in",
        "tokens_out",
        "cost",
    } <= set(listed[0])
    assert listed[0]["workspace"] == str(workspace.resolve())


def test_non_retryable_error_fails_with_a_clear_message(
    fake_llm: FakeLLMServer, home: Path, workspace: Path
) -> None:
    fake_llm.script(Turn.error(401, "Incorrect API key provided"))
    proc = run(["run", "--model", MODEL, "hello"], env=env_for(fake_llm, home), cwd=workspace)
    assert proc.returncode == 1
    assert "task failed" in proc.stderr
    assert "Incorrect API key" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_kill_9_mid_task_then_continue_keeps_the_whole_history(
    fake_llm: FakeLLMServer, home: Path, workspace: Path
) -> None:
    fake_llm.script(
        Turn.tool("read_file", path="calc.py"),
        Turn.text("Thinking very slowly " * 50, delay=0.5),
    )
    env = env_for(fake_llm, home)
    proc = subprocess.Popen(
        [str(BIN), "run", "--yolo", "--json", "--model", MODEL, "look at calc.py"],
        env=env,
        cwd=workspace,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + 60
    seen_delta = False
    for line in proc.stdout:
        event = json.loads(line)
        if event["type"] == "assistant_delta":
            seen_delta = True
            break
        assert time.monotonic() < deadline
    assert seen_delta
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)

    fake_llm.script(Turn.tool("attempt_completion", result="resumed fine"))
    resumed = run(
        ["run", "--continue", "--yolo", "--json", "--model", MODEL, "go on"], env=env, cwd=workspace
    )
    assert resumed.returncode == 0, resumed.stderr
    last = agent_requests(fake_llm)[-1]["messages"]
    contents = [m.get("content") or "" for m in last]
    assert contents[1].startswith("look at calc.py\n\n<environment_details>")
    assert any(
        m.get("tool_calls") and m["tool_calls"][0]["function"]["name"] == "read_file" for m in last
    )
    assert any("1 | def add(a, b):" in c for c in contents)
    assert contents[-1].startswith("go on\n\n<environment_details>")


def test_headless_without_yolo_denies_what_the_policy_would_ask(
    fake_llm: FakeLLMServer, home: Path, workspace: Path
) -> None:
    fake_llm.script(
        Turn.tool("write_to_file", path="new.txt", content="hello\n"),
        Turn.tool("execute_command", command="touch made-by-command"),
        Turn.tool("attempt_completion", result="could not write"),
    )
    proc = run(
        ["run", "--json", "--model", MODEL, "write a file"],
        env=env_for(fake_llm, home),
        cwd=workspace,
    )
    assert proc.returncode == 0, proc.stderr
    assert not (workspace / "new.txt").exists()
    assert not (workspace / "made-by-command").exists()
    requests = agent_requests(fake_llm)
    write_result = tool_messages(requests[1])[-1]
    command_result = tool_messages(requests[2])[-1]
    assert "not made" in write_result and "auto_approve" in write_result
    assert "denied" in command_result and "auto_approve" in command_result
    resolved = [e for e in events(proc.stdout) if e["type"] == "approval_resolved"]
    assert {(e["kind"], e["approved"], e["by"]) for e in resolved} >= {
        ("write", False, "headless"),
        ("command", False, "headless"),
    }


def test_policy_allowed_command_runs_headless(
    fake_llm: FakeLLMServer, home: Path, workspace: Path
) -> None:
    (home / "config.toml").write_text(
        CONFIG + '[auto_approve]\nexecute = true\nallowed_commands = ["echo"]\n'
    )
    fake_llm.script(
        Turn.tool("execute_command", command="echo allowed-ran"),
        Turn.tool("execute_command", command="echo x && touch sneaky"),
        Turn.tool("attempt_completion", result="ok"),
    )
    proc = run(
        ["run", "--json", "--model", MODEL, "echo"], env=env_for(fake_llm, home), cwd=workspace
    )
    assert proc.returncode == 0, proc.stderr
    requests = agent_requests(fake_llm)
    assert "allowed-ran" in tool_messages(requests[1])[-1]
    assert "denied" in tool_messages(requests[2])[-1]
    assert not (workspace / "sneaky").exists()


def test_paths_outside_the_workspace_are_refused(
    fake_llm: FakeLLMServer, home: Path, workspace: Path, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE\n")
    (workspace / "escape").symlink_to(secret)
    fake_llm.script(
        Turn.tool("read_file", path="../secret.txt"),
        Turn.tool("read_file", path=str(secret)),
        Turn.tool("read_file", path="escape"),
        Turn.tool("write_to_file", path="../evil.txt", content="x"),
        Turn.tool("attempt_completion", result="done"),
    )
    proc = run(
        ["run", "--json", "--model", MODEL, "read secrets"],
        env=env_for(fake_llm, home),
        cwd=workspace,
    )
    assert proc.returncode == 0, proc.stderr
    assert not (tmp_path / "evil.txt").exists()
    for body in fake_llm.chat_requests:
        assert "TOP-SECRET-VALUE" not in json.dumps(body)
    results = [tool_messages(r)[-1] for r in agent_requests(fake_llm)[1:]]
    assert all("read_outside_workspace" in r for r in results[:3]), results
    assert "write_outside_workspace" in results[3]


def test_max_requests_limit_exits_3(fake_llm: FakeLLMServer, home: Path, workspace: Path) -> None:
    (home / "config.toml").write_text(CONFIG + "[auto_approve]\nmax_requests = 2\n")
    fake_llm.script(
        Turn.tool("read_file", path="calc.py"),
        Turn.tool("read_file", path="calc.py"),
        Turn.tool("attempt_completion", result="never reached"),
    )
    proc = run(
        ["run", "--json", "--model", MODEL, "loop"], env=env_for(fake_llm, home), cwd=workspace
    )
    assert proc.returncode == 3, proc.stderr
    limit = [e for e in events(proc.stdout) if e["type"] == "limit_reached"]
    assert limit and limit[0]["limit"] == "max_requests"
    assert len(agent_requests(fake_llm)) == 2


def test_bad_usage_exits_2(fake_llm: FakeLLMServer, home: Path, workspace: Path) -> None:
    env = env_for(fake_llm, home)
    assert run(["run", "--path", "/nonexistent/dir", "x"], env=env, cwd=workspace).returncode == 2
    unknown_mode = run(["run", "--mode", "nope", "x"], env=env, cwd=workspace)
    assert unknown_mode.returncode == 2 and "unknown mode" in unknown_mode.stderr
    (home / "config.toml").write_text("[agent]\ncommand_timeout = 'soon'\n")
    broken = run(["run", "x"], env=env, cwd=workspace)
    assert broken.returncode == 2
    assert "config.toml, line 2, key 'agent.command_timeout'" in broken.stderr
    assert "Traceback" not in broken.stderr


def test_multiple_tool_calls_in_one_reply_all_answered(
    fake_llm: FakeLLMServer, home: Path, workspace: Path
) -> None:
    fake_llm.script(
        Turn.tools(tool_call("list_files", path="."), tool_call("read_file", path="calc.py")),
        Turn.tool("attempt_completion", result="ok"),
    )
    proc = run(
        ["run", "--json", "--model", MODEL, "look"], env=env_for(fake_llm, home), cwd=workspace
    )
    assert proc.returncode == 0, proc.stderr
    results = tool_messages(agent_requests(fake_llm)[1])
    assert len(results) == 2
    assert "calc.py" in results[0] and "1 | def add" in results[1]


@pytest.mark.parametrize("flag", ["--help", "--version"])
def test_help_and_version_are_fast_and_do_not_import_litellm(flag: str, tmp_path: Path) -> None:
    times = []
    for _ in range(5):
        began = time.perf_counter()
        proc = subprocess.run([str(BIN), flag], capture_output=True, text=True, timeout=30)
        times.append(time.perf_counter() - began)
        assert proc.returncode == 0
    assert statistics.median(times) < 0.5, times
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import sys\nfrom kilo_tui.cli import main\n"
            f"try:\n    main([{flag!r}])\nexcept SystemExit:\n    pass\n"
            "print('litellm' in sys.modules, 'textual' in sys.modules)",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert probe.stdout.strip().splitlines()[-1] == "False False"


def test_a_scripted_client_approves_hunks_over_stdin(
    fake_llm: FakeLLMServer, home: Path, workspace: Path
) -> None:
    """Issue 5, headless: the proposal travels as an event with a unified diff and hunks;
    a script accepts the first hunk and rejects the second over stdin."""
    (workspace / "calc.py").write_text("".join(f"x{i} = {i}\n" for i in range(30)))
    diff = (
        "<<<<<<< SEARCH\n:start_line:2\n-------\nx1 = 1\n=======\nx1 = 100\n>>>>>>> REPLACE\n"
        "<<<<<<< SEARCH\n:start_line:28\n-------\nx27 = 27\n=======\nx27 = 2700\n"
        ">>>>>>> REPLACE"
    )
    fake_llm.script(
        Turn.tool("apply_diff", path="calc.py", diff=diff),
        Turn.tool("attempt_completion", result="done"),
    )
    proc = start(
        ["run", "--json", "--stdin-replies", "--model", MODEL, "edit"],
        env=env_for(fake_llm, home),
        cwd=workspace,
        replies=True,
    )
    assert proc.stdin is not None and proc.stdout is not None
    proposal: dict[str, Any] = {}
    for line in proc.stdout:
        event = json.loads(line)
        if event["type"] == "approval_requested":  # e.g. a read the policy asks about
            proc.stdin.write(
                json.dumps({"request_id": event["request_id"], "approved": True}) + "\n"
            )
            proc.stdin.flush()
        if event["type"] == "diff_proposed":
            proposal = event
            reply = {
                "request_id": event["request_id"],
                "approved": True,
                "hunks": [True, False],
                "hunk_feedback": ["", "keep x27"],
            }
            proc.stdin.write(json.dumps(reply) + "\n")
            proc.stdin.flush()
        if event["type"] in ("task_completed", "task_failed"):
            break
    proc.stdin.close()
    assert proc.wait(timeout=60) == 0, proc.stderr.read() if proc.stderr else ""
    assert len(proposal["hunks"]) == 2 and "+x1 = 100" in proposal["diff"]
    text = (workspace / "calc.py").read_text()
    assert "x1 = 100\n" in text and "x27 = 27\n" in text
    report = tool_messages(agent_requests(fake_llm)[-1])[-1]
    assert "keep x27" in report and "rejected" in report


def test_auto_is_kilo_clis_spelling_of_yolo(
    fake_llm: FakeLLMServer, home: Path, workspace: Path
) -> None:
    fake_llm.script(
        Turn.tool("write_to_file", path="new.txt", content="hello\n"),
        Turn.tool("attempt_completion", result="written"),
    )
    proc = run(
        ["run", "--auto", "--json", "--model", MODEL, "write a file"],
        env=env_for(fake_llm, home),
        cwd=workspace,
    )
    assert proc.returncode == 0, proc.stderr
    assert (workspace / "new.txt").read_text() == "hello\n"
