"""The TUI killed with SIGKILL mid-command and mid-stream, or its terminal closed
(SIGHUP), in a real pty.

``KILO_TUI_TEST_PAUSE`` stops the app at the named point; the test kills it there.
Nothing of the command it started may keep running, and ``kilo-tui run --continue``
resumes the task with a history the strict fake provider accepts.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from tests.e2e.cli import BIN, MODEL, agent_requests, env_for, events, run
from tests.e2e.pty import Terminal, launch
from tests.fakeserver import FakeLLMServer, Turn, tool_call

pytestmark = [
    pytest.mark.timeout(180),
    pytest.mark.skipif(not BIN.exists(), reason="kilo-tui is not installed in this venv"),
]

MARK = "317.25"
"""A ``sleep`` argument no other process uses: how the test finds the command's processes."""


def processes_running(argument: str) -> list[int]:
    """The pids whose command line has ``argument`` as one of its words."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            words = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:  # gone meanwhile, or not a process
            continue
        if argument.encode() in words:
            found.append(int(proc.name))
    return found


def wait_until(condition, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} within {timeout} s")
        time.sleep(0.1)


def stopped(app: Terminal) -> bool:
    """Whether the app stopped itself at the test hook (state T in /proc)."""
    try:
        stat = Path(f"/proc/{app.child.pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] == "T"


def kill_tui_at(
    point: str, how: signal.Signals, server: FakeLLMServer, home: Path, workspace: Path
) -> None:
    """Run the TUI until it stops at ``point``, approving the command on the way, then
    send it ``how``: SIGKILL, or SIGHUP as a closed terminal does (with SIGCONT, as
    the kernel sends a stopped foreground process)."""
    app = launch(workspace, home, server.base_url, env={"KILO_TUI_TEST_PAUSE": point})
    try:
        app.wait_for("Ask Kilo")
        app.type_line("check the disk")
        if point == "command":
            app.wait_for("y approve")
            app.child.send("y")
        wait_until(lambda: stopped(app), 60, f"the app did not stop at {point}")
        assert bool(processes_running(MARK)) == (point == "command")
        app.child.kill(how)
        if how is signal.SIGHUP:
            app.child.kill(signal.SIGCONT)
        wait_until(lambda: not app.child.isalive(), 30, "the app did not die")
    finally:
        app.child.close(force=True)


@pytest.mark.parametrize(
    ("point", "how"),
    [
        pytest.param("command", signal.SIGKILL, id="command-kill -9"),
        pytest.param("streaming", signal.SIGKILL, id="streaming-kill -9"),
        pytest.param("command", signal.SIGHUP, id="command-terminal closed"),
    ],
)
def test_the_tui_killed_mid_command_or_stream_leaves_nothing_running_and_resumes(
    fake_llm: FakeLLMServer, home: Path, workspace: Path, point: str, how: signal.Signals
) -> None:
    command = f"echo checking; sleep {MARK}"
    fake_llm.script(
        Turn(
            content="Let me look at the disk.",
            tool_calls=[tool_call("execute_command", command=command)],
            delay=0.01,
        )
    )

    kill_tui_at(point, how, fake_llm, home, workspace)

    # The command's whole process group ends with the app (the shell and its sleep).
    wait_until(lambda: not processes_running(MARK), 30, "the command kept running")
    before = len(agent_requests(fake_llm))
    fake_llm.script(Turn.tool("attempt_completion", result="Resumed."))
    env = env_for(fake_llm, home)

    proc = run(["run", "--json", "--model", MODEL, "--continue", "go on"], env=env, cwd=workspace)

    assert proc.returncode == 0, proc.stderr
    assert "task_completed" in [e["type"] for e in events(proc.stdout)]
    request = agent_requests(fake_llm)[before]["messages"]
    roles = [m["role"] for m in request if m["role"] != "system"]
    assert request[1]["content"].startswith("check the disk")
    assert request[-1]["content"].startswith("go on")
    if point == "streaming":  # the reply never finished: nothing of it was kept
        assert roles == ["user", "user"]
        return
    assert roles == ["user", "assistant", "tool", "user"]
    assert request[2]["tool_calls"][0]["function"]["arguments"].find(MARK) > 0
    assert request[3]["tool_call_id"] == request[2]["tool_calls"][0]["id"]
    assert "result is unknown" in request[3]["content"]
