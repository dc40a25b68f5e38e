"""The command sandbox, on the real sandbox of this machine, through the real binary.

A command the model asks for and the policy approves (``--yolo`` here) tries to escape:
write outside the workspace, read ``~/.ssh/id_rsa`` and kilo-tui's ``config.toml``,
connect to a server on 127.0.0.1. Each must fail in ``workspace-write`` mode with the
model told why (asserted on the next request the fake provider receives), and succeed
with ``mode = "off"`` or ``--no-sandbox``.
"""

from __future__ import annotations

import json
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kilo_tui.core.trust.sandbox import find_mechanism
from tests.e2e.cli import MODEL, agent_requests, env_for, events, run, start, tool_messages
from tests.fakeserver import FakeLLMServer, Turn

pytestmark = pytest.mark.skipif(
    find_mechanism()[0] is None, reason=f"no sandbox here: {find_mechanism()[1]}"
)

SECRET = "SECRET-SSH-KEY-7f3a"
CONFIG_MARK = "config-marker-91c2"


@pytest.fixture
def home(home: Path) -> Path:
    """KILO_TUI_HOME, with a config.toml the sandbox must hide."""
    config = home / "config.toml"
    config.write_text(f"# {CONFIG_MARK}\n{config.read_text()}")
    return home


@pytest.fixture
def user_home(tmp_path: Path) -> Path:
    """HOME, with a private key."""
    user = tmp_path / "user"
    (user / ".ssh").mkdir(parents=True)
    (user / ".ssh" / "id_rsa").write_text(SECRET)
    return user


@pytest.fixture
def outside() -> Iterator[Path]:
    """A writable directory outside the workspace and outside the temp directory."""
    import shutil
    import tempfile

    base = Path("/var/tmp") if Path("/var/tmp").is_dir() else Path(__file__).parent
    path = Path(tempfile.mkdtemp(dir=base, prefix="kilo-outside-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def listener() -> Iterator[int]:
    """A TCP server on 127.0.0.1 that answers ``hello`` to each connection."""
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                conn.sendall(b"hello\n")

    threading.Thread(target=serve, daemon=True).start()
    yield port
    server.close()


def environment(fake: FakeLLMServer, home: Path, user_home: Path) -> dict[str, str]:
    env = env_for(fake, home)
    env["HOME"] = str(user_home)
    return env


def escape_commands(outside: Path, home: Path, port: int) -> dict[str, str]:
    connect = (
        "python3 -c \"import socket; s = socket.create_connection(('127.0.0.1', "
        f"{port}), timeout=5); print('got', s.recv(10).decode().strip())\""
    )
    return {
        "write": f"echo escaped > {outside}/written.txt && echo wrote",
        "ssh": "cat ~/.ssh/id_rsa",
        "config": f"cat {home}/config.toml",
        "network": connect,
    }


def script_commands(fake: FakeLLMServer, commands: dict[str, str]) -> None:
    turns = [Turn.tool("execute_command", command=c) for c in commands.values()]
    fake.script(*turns, Turn.tool("attempt_completion", result="done"))


def results_by_command(fake: FakeLLMServer, commands: dict[str, str]) -> dict[str, str]:
    """The tool result the model received for each command (from the last request)."""
    messages = tool_messages(agent_requests(fake)[-1])
    assert len(messages) >= len(commands), messages
    return dict(zip(commands, messages, strict=False))


def test_escapes_fail_in_workspace_write_and_the_model_is_told_why(
    fake_llm: FakeLLMServer,
    home: Path,
    user_home: Path,
    workspace: Path,
    outside: Path,
    listener: int,
) -> None:
    commands = escape_commands(outside, home, listener)
    script_commands(fake_llm, commands)

    proc = run(
        ["run", "--yolo", "--json", "--model", MODEL, "try"],
        env=environment(fake_llm, home, user_home),
        cwd=workspace,
    )

    assert proc.returncode == 0, proc.stderr
    assert not (outside / "written.txt").exists()
    told = results_by_command(fake_llm, commands)
    for name in ("write", "ssh", "config"):
        assert "The sandbox blocked it" in told[name], told[name]
        assert "run it outside the sandbox" in told[name]
    assert "Read-only file system" in told["write"]
    assert "network off" in told["network"] and "The sandbox blocked it" in told["network"]
    assert SECRET not in proc.stdout and CONFIG_MARK not in proc.stdout
    assert all(SECRET not in m and CONFIG_MARK not in m for m in told.values())
    # --yolo keeps the sandbox: leaving it is a separate approval, refused headless.
    assert all("Not run again" in m for m in told.values())
    stream = events(proc.stdout)
    status = [e for e in stream if e["type"] == "sandbox_status"]
    assert status and status[0]["active"] and status[0]["mode"] == "workspace-write"
    finished = [e for e in stream if e["type"] == "command_finished"]
    assert len(finished) == 4 and all(e["sandboxed"] for e in finished)


@pytest.mark.parametrize("how", ["config", "flag"])
def test_the_same_commands_succeed_with_the_sandbox_off(
    fake_llm: FakeLLMServer,
    home: Path,
    user_home: Path,
    workspace: Path,
    outside: Path,
    listener: int,
    how: str,
) -> None:
    if how == "config":
        with (home / "config.toml").open("a") as fh:
            fh.write('[sandbox]\nmode = "off"\n')
    commands = escape_commands(outside, home, listener)
    script_commands(fake_llm, commands)
    flags = ["--no-sandbox"] if how == "flag" else []

    proc = run(
        ["run", "--yolo", *flags, "--json", "--model", MODEL, "try"],
        env=environment(fake_llm, home, user_home),
        cwd=workspace,
    )

    assert proc.returncode == 0, proc.stderr
    assert (outside / "written.txt").read_text() == "escaped\n"
    told = results_by_command(fake_llm, commands)
    assert all("Exit code: 0" in m and "Sandbox:" not in m for m in told.values()), told
    assert SECRET in told["ssh"] and CONFIG_MARK in told["config"]
    assert "got hello" in told["network"]
    status = [e for e in events(proc.stdout) if e["type"] == "sandbox_status"]
    assert status and not status[0]["active"] and status[0]["mode"] == "off"


def test_a_build_inside_the_workspace_works_and_checkpoints_capture_it(
    fake_llm: FakeLLMServer, home: Path, user_home: Path, workspace: Path
) -> None:
    (workspace / "build.sh").write_text(
        "set -e\nmkdir -p out\necho built > out/artifact.txt\n"
        't=$(mktemp); echo temp > "$t"; cat "$t"; rm "$t"\n'
        "python3 -c \"import tempfile; f = tempfile.NamedTemporaryFile(); print('py temp ok')\"\n"
    )
    subprocess.run(["git", "init", "-q"], cwd=workspace, check=True)
    fake_llm.script(
        Turn.tool("execute_command", command="sh build.sh && cat out/artifact.txt"),
        Turn.tool("attempt_completion", result="built"),
    )

    proc = run(
        ["run", "--yolo", "--json", "--model", MODEL, "build"],
        env=environment(fake_llm, home, user_home),
        cwd=workspace,
    )

    assert proc.returncode == 0, proc.stderr
    told = tool_messages(agent_requests(fake_llm)[-1])[0]
    assert "Exit code: 0" in told and "Sandbox:" in told, told
    assert "temp\npy temp ok\nbuilt" in told
    assert (workspace / "out" / "artifact.txt").read_text() == "built\n"
    env = environment(fake_llm, home, user_home)
    listing = run(["checkpoints", "list", "--json"], env=env, cwd=workspace)
    checkpoints = json.loads(listing.stdout)
    diff = run(["checkpoints", "diff", checkpoints[0]["id"]], env=env, cwd=workspace)
    assert "out/artifact.txt" in diff.stdout and "+built" in diff.stdout


def _run_with_replies(
    fake: FakeLLMServer,
    home: Path,
    user_home: Path,
    workspace: Path,
    answer: Any,
) -> list[dict[str, Any]]:
    """Run headless with ``--stdin-replies``; ``answer(event)`` approves or not.
    Returns the events."""
    proc = start(
        ["run", "--json", "--stdin-replies", "--model", MODEL, "try"],
        env=environment(fake, home, user_home),
        cwd=workspace,
        replies=True,
    )
    assert proc.stdin is not None and proc.stdout is not None
    seen: list[dict[str, Any]] = []
    try:
        for line in proc.stdout:
            event = json.loads(line)
            seen.append(event)
            if event["type"] == "approval_requested":
                reply = {"request_id": event["request_id"], "approved": answer(event)}
                proc.stdin.write(json.dumps(reply) + "\n")
                proc.stdin.flush()
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    return seen


@pytest.mark.parametrize("approve_escalation", [True, False])
def test_escalation_runs_outside_the_sandbox_only_after_its_own_approval(
    fake_llm: FakeLLMServer,
    home: Path,
    user_home: Path,
    workspace: Path,
    outside: Path,
    approve_escalation: bool,
) -> None:
    command = f"echo escaped > {outside}/written.txt"
    fake_llm.script(
        Turn.tool("execute_command", command=command),
        Turn.tool("attempt_completion", result="done"),
    )
    asked: list[dict[str, Any]] = []

    def answer(event: dict[str, Any]) -> bool:
        asked.append(event)
        if len(asked) == 2:  # the escalation: nothing has escaped before it
            assert not (outside / "written.txt").exists()
        return len(asked) == 1 or approve_escalation

    seen = _run_with_replies(fake_llm, home, user_home, workspace, answer)
    assert seen[-1]["type"] == "task_completed"

    assert len(asked) == 2
    first, escalation = asked
    assert first["title"] == command
    assert escalation["title"] == f"Run it again outside the sandbox: {command}"
    assert "Read-only file system" in escalation["detail"]
    assert "write anywhere you can" in escalation["detail"] and "network" in escalation["detail"]
    assert escalation["always_allow_rule"] is None  # never remembered
    told = tool_messages(agent_requests(fake_llm)[-1])[0]
    assert "The sandbox blocked it" in told
    if approve_escalation:
        assert (outside / "written.txt").read_text() == "escaped\n"
        assert "The user approved: run it again outside the sandbox." in told
        assert "Exit code: 0\nOutput:\n(no output)" in told.split("The user approved")[1]
    else:
        assert not (outside / "written.txt").exists()
        assert "The user denied the request to run it again outside the sandbox" in told


@pytest.mark.parametrize(
    ("sandbox", "rules"),
    [
        ("", ["sandboxed_commands = true (confined, network off)", "denied_commands: rm"]),
        ("[sandbox]\nnetwork = true\n", ["never auto-approved: output redirection", "denied_"]),
    ],
    ids=["network-off", "network-on"],
)
def test_sandboxed_commands_auto_approves_only_confined_offline_commands_not_denied_ones(
    fake_llm: FakeLLMServer,
    home: Path,
    user_home: Path,
    workspace: Path,
    sandbox: str,
    rules: list[str],
) -> None:
    with (home / "config.toml").open("a") as fh:
        fh.write(f'[auto_approve]\nsandboxed_commands = true\ndenied_commands = ["rm"]\n{sandbox}')
    fake_llm.script(
        Turn.tool("execute_command", command="echo hi > made.txt"),
        Turn.tool("execute_command", command="rm made.txt"),
        Turn.tool("attempt_completion", result="done"),
    )

    proc = run(
        ["run", "--json", "--model", MODEL, "go"],
        env=environment(fake_llm, home, user_home),
        cwd=workspace,
    )

    assert proc.returncode == 0, proc.stderr
    resolved = [e for e in events(proc.stdout) if e["type"] == "approval_resolved"]
    assert [e["rule"][: len(r)] for e, r in zip(resolved, rules, strict=True)] == rules
    assert (workspace / "made.txt").exists() == (not sandbox)
