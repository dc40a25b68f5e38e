"""Fault injection on the real binary: kill it at each stage, then resume the task.

``KILO_TUI_TEST_PAUSE`` stops the process at a named point (see
:mod:`kilo_tui.core.testhooks`); the test then kills it with SIGKILL or closes its
"terminal" (SIGHUP). The resumed run talks to the fake provider, which rejects a
history a strict provider would reject (a tool call left without a result), so each
test shows the next request is valid and holds every earlier message.
"""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.cli import (
    MODEL,
    agent_requests,
    env_for,
    events,
    run,
    start,
    wait_for_pause,
)
from tests.fakeserver import FakeLLMServer, Turn, tool_call

NOTES = b"first line\r\nsecond line\r\n"
PROMPT = "tidy up notes.txt"

STAGES: dict[str, tuple[str, Turn]] = {
    "streaming": (
        "streaming",
        Turn.tools(tool_call("read_file", path="notes.txt"), text="Let me read the notes first."),
    ),
    "command": ("command", Turn.tool("execute_command", command="echo started")),
    "write": ("write", Turn.tool("write_to_file", path="notes.txt", content="rewritten\n")),
    # The first checkpoint is the one taken for the user's message; the second is the
    # one before the write.
    "checkpoint": (
        "checkpoint#2",
        Turn.tool("write_to_file", path="notes.txt", content="rewritten\n"),
    ),
}


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "project"
    ws.mkdir()
    (ws / "notes.txt").write_bytes(NOTES)
    return ws


def kill_at(
    point: str, how: str, server: FakeLLMServer, home: Path, workspace: Path
) -> subprocess.Popen[str]:
    env = env_for(server, home) | {"KILO_TUI_TEST_PAUSE": point}
    proc = start(["run", "--yolo", "--json", "--model", MODEL, PROMPT], env=env, cwd=workspace)
    try:
        wait_for_pause(proc, point.partition("#")[0])
        if how == "kill -9":
            proc.kill()
        else:  # the terminal closed: SIGHUP, delivered when the process runs again
            proc.send_signal(signal.SIGHUP)
            proc.send_signal(signal.SIGCONT)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc


def task_id(home: Path, server: FakeLLMServer, workspace: Path) -> str:
    listing = run(
        ["sessions", "list", "--json", "--path", str(workspace)],
        env=env_for(server, home),
        cwd=workspace,
    )
    assert listing.returncode == 0, listing.stderr
    (task,) = json.loads(listing.stdout)
    return str(task["id"])


def roles(messages: list[dict[str, Any]]) -> list[str]:
    return [m["role"] for m in messages if m["role"] != "system"]


@pytest.mark.parametrize("how", ["kill -9", "SIGHUP"])
@pytest.mark.parametrize("stage", STAGES)
def test_a_task_killed_at_any_stage_resumes_with_every_message(
    fake_llm: FakeLLMServer, home: Path, workspace: Path, stage: str, how: str
) -> None:
    point, turn = STAGES[stage]
    fake_llm.script(turn.__class__(**{**turn.to_dict(), "delay": 0.01}))
    killed = kill_at(point, how, fake_llm, home, workspace)
    assert killed.returncode != 0
    assert (workspace / "notes.txt").read_bytes() == NOTES  # nothing half-written
    first_run = len(agent_requests(fake_llm))
    session = task_id(home, fake_llm, workspace)
    resume = ["--continue"] if how == "kill -9" else ["--session", session]

    proc = run(
        ["run", "--yolo", "--json", "--model", MODEL, *resume, "go on"],
        env=env_for(fake_llm, home),
        cwd=workspace,
    )

    assert proc.returncode == 0, proc.stderr
    assert "task_completed" in [e["type"] for e in events(proc.stdout)]
    request = agent_requests(fake_llm)[first_run]["messages"]
    assert request[1]["role"] == "user" and request[1]["content"].startswith(PROMPT)
    assert request[-1]["role"] == "user" and request[-1]["content"].startswith("go on")
    if stage == "streaming":  # the reply never finished: nothing of it was kept
        assert roles(request) == ["user", "user"]
        return
    assert roles(request) == ["user", "assistant", "tool", "user"]
    call = request[2]["tool_calls"][0]
    assert call["function"]["name"] == turn.tool_calls[0]["name"]
    answer = request[3]
    assert answer["tool_call_id"] == call["id"]
    assert "stopped" in answer["content"] and "result is unknown" in answer["content"]
    shown = run(["sessions", "show", session], env=env_for(fake_llm, home), cwd=workspace)
    assert PROMPT in shown.stdout and "go on" in shown.stdout


def test_a_crash_inside_a_tool_is_reported_to_the_model_and_the_task_goes_on(
    fake_llm: FakeLLMServer, home: Path, workspace: Path
) -> None:
    fake_llm.script(Turn.tool("write_to_file", path="notes.txt", content="rewritten\n"))
    env = env_for(fake_llm, home) | {"KILO_TUI_TEST_CRASH": "write"}

    proc = run(["run", "--yolo", "--json", "--model", MODEL, PROMPT], env=env, cwd=workspace)

    assert proc.returncode == 0, proc.stderr
    assert (workspace / "notes.txt").read_bytes() == NOTES
    second = agent_requests(fake_llm)[1]["messages"]
    assert second[-1]["role"] == "tool"
    assert "write_to_file tool failed unexpectedly" in second[-1]["content"]
    assert "injected crash at write" in second[-1]["content"]
    assert "Traceback" not in proc.stderr
