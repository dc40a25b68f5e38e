"""A command's output is live, and no process of it outlives kilo-tui.

The real ``kilo-tui run`` binary runs a command; the test reads its ``--json`` events as
they come, or kills kilo-tui mid-command (SIGHUP as when the terminal closes, or
SIGKILL) and then looks for any process of the command still alive.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kilo_tui.core.trust.sandbox import find_mechanism
from tests.e2e.cli import BIN, MODEL, env_for
from tests.fakeserver import FakeLLMServer, Turn
from tests.mcp_servers.helpers import pids_with

SANDBOX = find_mechanism()[0] is not None


def start(fake: FakeLLMServer, home: Path, workspace: Path, *flags: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(BIN), "run", "--yolo", "--json", *flags, "--model", MODEL, "go"],
        env=env_for(fake, home),
        cwd=workspace,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )


def timed_events(proc: subprocess.Popen[str]) -> Iterator[tuple[float, dict[str, Any]]]:
    assert proc.stdout is not None
    for line in proc.stdout:
        yield time.monotonic(), json.loads(line)


def test_output_reaches_json_while_the_command_runs(
    fake_llm: FakeLLMServer, home: Path, workspace: Path
) -> None:
    # Python block-buffers stdout on a pipe: only a terminal makes "start" come early.
    command = "python3 -c \"import time; print('start'); time.sleep(4); print('end')\""
    fake_llm.script(
        Turn.tool("execute_command", command=command),
        Turn.tool("attempt_completion", result="done"),
    )
    proc = start(fake_llm, home, workspace)
    first_output = finished = None
    running: list[float] = []
    try:
        for at, event in timed_events(proc):
            if event["type"] == "command_output" and first_output is None:
                first_output = (at, event["text"])
            elif event["type"] == "command_running":
                running.append(event["elapsed"])
            elif event["type"] == "command_finished":
                finished = at
    finally:
        proc.wait(timeout=60)
    assert first_output is not None and finished is not None
    assert first_output[1].startswith("start")
    assert finished - first_output[0] > 2.5  # arrived long before the command ended
    assert running and running == sorted(running) and running[-1] >= 2


def kill_mid_command(
    fake: FakeLLMServer, home: Path, workspace: Path, sig: signal.Signals, *flags: str
) -> list[int]:
    """Start a command that leaves a background process and waits on a foreground one,
    kill kilo-tui with ``sig`` once both run; return what of them is still alive 10 s on."""
    marker = f"{os.getpid()}{int(sig)}{len(flags)}"
    command = f"sleep 1000.{marker} & sleep 1001.{marker}; wait"
    fake.script(Turn.tool("execute_command", command=command))
    proc = start(fake, home, workspace, *flags)
    try:
        deadline = time.monotonic() + 60
        while len(sleeps(marker)) < 2:
            assert time.monotonic() < deadline, "the command never started"
            assert proc.poll() is None, "kilo-tui ended before the command started"
            time.sleep(0.05)
        proc.send_signal(sig)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    deadline = time.monotonic() + 10
    while pids_with(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    return pids_with(marker)


def sleeps(marker: str) -> list[int]:
    """The two sleep processes of the command (not the shell or a wrapper naming them)."""
    return [p for p in pids_with(marker) if _argv0(p) == "sleep"]


def _argv0(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode()
    except OSError:
        return ""


@pytest.mark.parametrize("flags", [(), ("--no-sandbox",)], ids=["sandboxed", "unsandboxed"])
def test_closing_the_terminal_ends_the_whole_command(
    fake_llm: FakeLLMServer, home: Path, workspace: Path, flags: tuple[str, ...]
) -> None:
    left = kill_mid_command(fake_llm, home, workspace, signal.SIGHUP, *flags)
    assert left == []


@pytest.mark.parametrize(
    "flags",
    [
        pytest.param(
            (), id="sandboxed", marks=pytest.mark.skipif(not SANDBOX, reason="no sandbox")
        ),
        pytest.param(("--no-sandbox",), id="unsandboxed"),
    ],
)
def test_kill_9_of_kilo_tui_ends_the_whole_command(
    fake_llm: FakeLLMServer, home: Path, workspace: Path, flags: tuple[str, ...]
) -> None:
    left = kill_mid_command(fake_llm, home, workspace, signal.SIGKILL, *flags)
    assert left == []


def test_closing_the_tui_terminal_ends_the_whole_command(tmp_path: Path, workspace: Path) -> None:
    """The real TUI in a pty; its terminal goes away (the pty closes) mid-command."""
    from tests.e2e.test_tui_pty import ROOT, launch
    from tests.fakeserver import tool_call, write_script

    marker = f"{os.getpid()}77"
    command = f"sleep 1000.{marker} & sleep 1001.{marker}; wait"
    script = write_script(
        tmp_path / "turns.json", Turn(tool_calls=[tool_call("execute_command", command=command)])
    )
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.fakeserver", "--script", str(script)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    home = tmp_path / "tui-home"
    home.mkdir()
    (home / "config.toml").write_text('small_model = "openai/fake-small"\n')
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline().strip().removeprefix("PORT="))
        app = launch(workspace, home, f"http://127.0.0.1:{port}/v1", "--no-sandbox")
        try:
            app.wait_for("Ask Kilo")
            app.type_line("run it")
            app.wait_for("y approve")
            time.sleep(0.6)  # the approval bar ignores keys for half a second
            app.child.send("y")
            deadline = time.monotonic() + 60
            while len(sleeps(marker)) < 2:
                assert time.monotonic() < deadline, "the command never started"
                time.sleep(0.05)
        finally:
            app.child.close(force=False)  # the terminal is gone: SIGHUP
        deadline = time.monotonic() + 10
        while pids_with(marker) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert pids_with(marker) == []
    finally:
        server.terminate()
        server.wait(timeout=10)
        app.child.close(force=True)
