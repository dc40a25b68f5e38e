"""Where no sandbox works, kilo-tui says so once and runs commands as before.

``bwrap`` is made unfindable by running the real binary with a ``PATH`` that does not
contain it.
"""

from __future__ import annotations

from pathlib import Path

from tests.e2e.cli import MODEL, agent_requests, env_for, events, run, tool_messages
from tests.fakeserver import FakeLLMServer, Turn


def test_without_bubblewrap_it_says_so_and_never_pretends(
    fake_llm: FakeLLMServer, home: Path, workspace: Path, tmp_path: Path
) -> None:
    env = env_for(fake_llm, home) | {"PATH": str(tmp_path / "empty-bin")}
    fake_llm.script(
        Turn.tool("execute_command", command=f"echo unconfined > {home}/written.txt"),
        Turn.tool("attempt_completion", result="done"),
    )

    proc = run(["run", "--yolo", "--json", "--model", MODEL, "go"], env=env, cwd=workspace)
    human = run(["run", "--yolo", "--model", MODEL, "go"], env=env, cwd=workspace)
    doctor = run(["doctor"], env=env, cwd=workspace)

    assert proc.returncode == 0, proc.stderr
    [status] = [e for e in events(proc.stdout) if e["type"] == "sandbox_status"]
    assert not status["active"] and status["mechanism"] == "none"
    assert "bubblewrap (bwrap) is not installed" in status["message"]
    assert "commands run with your full rights" in status["message"]
    assert (home / "written.txt").read_text() == "unconfined\n"
    assert "Sandbox:" not in tool_messages(agent_requests(fake_llm)[1])[0]
    assert "! no sandbox: bubblewrap (bwrap) is not installed" in human.stderr
    assert doctor.returncode == 1
    assert "✗ sandbox:  no sandbox: bubblewrap (bwrap) is not installed" in doctor.stdout
