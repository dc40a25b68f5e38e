"""The command policy attacked through the real binary: ``kilo-tui run --json`` against
the fake provider, real shells, real git. Each attack leaves a file or a repository
behind that proves whether anything ran."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.cli import (
    CONFIG,
    MODEL,
    agent_requests,
    env_for,
    events,
    run,
    start,
    tool_messages,
)
from tests.fakeserver import FakeLLMServer, Turn

GIT_ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.invalid",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.invalid",
}


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    return home


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "project"
    ws.mkdir()
    return ws


def configure(home: Path, auto_approve: str) -> None:
    (home / "config.toml").write_text(CONFIG + "[auto_approve]\n" + auto_approve)


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, env=GIT_ENV, check=True, capture_output=True, text=True
    ).stdout


def command_results(server: FakeLLMServer) -> list[str]:
    """What the model was told after each of its calls, in order."""
    return [tool_messages(r)[-1] for r in agent_requests(server)[1:]]


def test_denied_commands_in_disguise_do_not_run(
    fake_llm: FakeLLMServer, home: Path, workspace: Path, tmp_path: Path
) -> None:
    configure(
        home,
        'execute = true\nallowed_commands = ["*"]\ndenied_commands = ["rm", "git push"]\n',
    )
    (workspace / "victim").write_text("still here\n")
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(workspace, "init", "-q")
    git(workspace, "add", "victim")
    git(workspace, "commit", "-q", "-m", "init")
    git(workspace, "remote", "add", "origin", str(remote))
    fake_llm.script(
        Turn.tool("execute_command", command="env /usr/bin/rm -rf victim"),
        Turn.tool("execute_command", command="timeout 5 RM victim"),
        Turn.tool("execute_command", command="git -C . push origin HEAD:refs/heads/main"),
        Turn.tool("attempt_completion", result="done"),
    )
    proc = run(
        ["run", "--json", "--model", MODEL, "clean up"],
        env=env_for(fake_llm, home),
        cwd=workspace,
    )
    assert proc.returncode == 0, proc.stderr
    assert (workspace / "victim").read_text() == "still here\n"
    assert git(remote, "for-each-ref") == ""  # nothing was pushed
    results = command_results(fake_llm)
    assert "denied_commands: rm" in results[0] and "denied_commands: rm" in results[1]
    assert "denied_commands: git push" in results[2]
    resolved = [e for e in events(proc.stdout) if e["type"] == "approval_resolved"]
    assert [(e["approved"], e["by"]) for e in resolved] == [(False, "policy")] * 3


def test_a_command_outside_the_workspace_is_not_auto_approved(
    fake_llm: FakeLLMServer, home: Path, workspace: Path, tmp_path: Path
) -> None:
    configure(home, 'execute = true\nallowed_commands = ["touch"]\n')
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    fake_llm.script(
        Turn.tool("execute_command", command="touch marker", cwd=str(elsewhere)),
        Turn.tool("execute_command", command="touch marker"),
        Turn.tool("attempt_completion", result="done"),
    )
    proc = run(
        ["run", "--json", "--model", MODEL, "touch"], env=env_for(fake_llm, home), cwd=workspace
    )
    assert proc.returncode == 0, proc.stderr
    assert not (elsewhere / "marker").exists()
    assert (workspace / "marker").exists()  # the same command in the workspace runs
    outside, inside = command_results(fake_llm)[:2]
    assert f"cwd is outside the workspace: {elsewhere}" in outside
    assert "Exit code: 0" in inside
    resolved = [e for e in events(proc.stdout) if e["type"] == "approval_resolved"]
    assert [(e["approved"], e["by"]) for e in resolved] == [(False, "headless"), (True, "policy")]


def test_the_approval_shows_a_cwd_outside_the_workspace(
    fake_llm: FakeLLMServer, home: Path, workspace: Path, tmp_path: Path
) -> None:
    configure(home, 'execute = true\nallowed_commands = ["touch"]\n')
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    fake_llm.script(
        Turn.tool("execute_command", command="touch marker", cwd=str(elsewhere)),
        Turn.tool("attempt_completion", result="done"),
    )
    proc = start(
        ["run", "--json", "--stdin-replies", "--model", MODEL, "touch"],
        env=env_for(fake_llm, home),
        cwd=workspace,
        replies=True,
    )
    assert proc.stdin is not None and proc.stdout is not None
    asked: list[dict[str, Any]] = []
    for line in proc.stdout:
        event = json.loads(line)
        if event["type"] == "approval_requested":
            asked.append(event)
            proc.stdin.write(json.dumps({"request_id": event["request_id"], "approved": False}))
            proc.stdin.write("\n")
            proc.stdin.flush()
        if event["type"] in ("task_completed", "task_failed"):
            break
    proc.stdin.close()
    assert proc.wait(timeout=60) == 0, proc.stderr.read() if proc.stderr else ""
    assert not (elsewhere / "marker").exists()
    [request] = asked
    assert request["kind"] == "command"
    assert request["title"] == f"touch marker  (in {elsewhere}, outside the workspace)"
    assert f"cwd: {elsewhere} (outside the workspace)" in request["detail"]


def test_reading_an_ignored_file_through_a_command_is_refused_before_approval(
    fake_llm: FakeLLMServer, home: Path, workspace: Path
) -> None:
    (home / "config.toml").write_text(CONFIG)
    (workspace / ".kilocodeignore").write_text("secrets/\n.env\n")
    (workspace / ".env").write_text("API_TOKEN=SECRET-VALUE-123\n")
    (workspace / "secrets").mkdir()
    (workspace / "secrets" / "key.txt").write_text("SECRET-KEY-456\n")
    fake_llm.script(
        Turn.tool("execute_command", command="cat .env"),
        Turn.tool("execute_command", command="ls && timeout 5 head -n1 secrets/key.txt"),
        Turn.tool("attempt_completion", result="done"),
    )
    proc = run(  # --yolo: even approving everything does not let the read through
        ["run", "--json", "--yolo", "--model", MODEL, "read"],
        env=env_for(fake_llm, home),
        cwd=workspace,
    )
    assert proc.returncode == 0, proc.stderr
    for body in fake_llm.chat_requests:
        dumped = json.dumps(body)
        assert "SECRET-VALUE-123" not in dumped and "SECRET-KEY-456" not in dumped
    env_result, key_result = command_results(fake_llm)[:2]
    assert "reads .env" in env_result and "(rule: .env)" in env_result
    assert "reads secrets/key.txt" in key_result and "(rule: secrets/)" in key_result
    kinds = [e["kind"] for e in events(proc.stdout) if e["type"] == "approval_resolved"]
    assert "command" not in kinds  # refused before any approval
