"""End to end: the real ``kilo-tui`` binary in a pseudo-terminal, against the fake
OpenAI-compatible server running as its own process.

The test types like a user (keys into the pty) and reads the screen output. It is the
issue's "done" scenario: a request, the streamed reply, a command approved with ``y``
and its output, the cost in the status bar; quit, relaunch with ``-c``, and the
conversation is back.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pyte
import pytest

from tests.fakeserver import Turn, tool_call, write_script

BIN = Path(sys.executable).parent / "kilo-tui"
ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.timeout(120),
    pytest.mark.skipif(not BIN.exists(), reason="kilo-tui is not installed in this venv"),
]


@pytest.fixture
def server_port(tmp_path: Path) -> Iterator[int]:
    script = write_script(
        tmp_path / "turns.json",
        Turn(
            content="Sure, I will run it for you.",
            tool_calls=[tool_call("execute_command", command="echo pty-e2e-output")],
            usage={"cost": 0.01},
        ),
        Turn(
            tool_calls=[tool_call("attempt_completion", result="The command printed its line.")],
            usage={"cost": 0.0023},
        ),
    )
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.fakeserver", "--script", str(script)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        first = server.stdout.readline()
        match = re.match(r"PORT=(\d+)", first)
        assert match, first
        yield int(match.group(1))
    finally:
        server.terminate()
        server.wait(timeout=10)


ROWS, COLUMNS = 40, 140


class Terminal:
    """The app in a pty, with a terminal emulator (pyte) holding what is on screen."""

    def __init__(self, child: pexpect.spawn) -> None:
        self.child = child
        self.screen = pyte.Screen(COLUMNS, ROWS)
        self.stream = pyte.Stream(self.screen)

    @property
    def text(self) -> str:
        return "\n".join(self.screen.display)

    def wait_for(self, text: str, timeout: float = 60) -> None:
        """Read output until ``text`` is on the screen."""
        deadline = time.monotonic() + timeout
        while text not in self.text:
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} not on screen:\n{self.text}")
            try:
                self.stream.feed(self.child.read_nonblocking(65536, timeout=0.1))
            except pexpect.TIMEOUT:
                continue

    def type_line(self, text: str) -> None:
        self.child.send(text)
        self.child.send("\r")

    def quit(self) -> None:
        self.child.sendcontrol("q")
        self.child.expect(pexpect.EOF, timeout=30)
        self.child.close()
        assert self.child.exitstatus == 0, self.child.before


def launch(workspace: Path, home: Path, port: int, *args: str) -> Terminal:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI", "KILO_TUI"))}
    env.update(
        OPENAI_API_KEY="sk-test",
        OPENAI_API_BASE=f"http://127.0.0.1:{port}/v1",
        KILO_TUI_HOME=str(home),
        TERM="xterm-256color",
    )
    child = pexpect.spawn(
        str(BIN),
        ["--model", "openai/fake-model", *args],
        cwd=str(workspace),
        env=env,
        dimensions=(ROWS, COLUMNS),
        encoding="utf-8",
        timeout=60,
    )
    return Terminal(child)


def test_request_approve_command_cost_quit_and_continue(tmp_path: Path, server_port: int) -> None:
    workspace = tmp_path / "project"
    workspace.mkdir()
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text('small_model = "openai/fake-small"\n')

    app = launch(workspace, home, server_port)
    try:
        app.wait_for("Ask Kilo")
        app.type_line("please run the echo")
        app.wait_for("Sure, I will run it for you.")
        app.wait_for("y approve")
        assert "echo pty-e2e-output" in app.text
        app.child.send("y")  # the instant the bar shows: the key must answer it
        app.wait_for("exit 0")
        assert "pty-e2e-output" in app.text.replace("echo pty-e2e-output", "")
        app.wait_for("The command printed its line.")
        app.wait_for("$0.0123")
        app.quit()
    finally:
        app.child.close(force=True)

    again = launch(workspace, home, server_port, "-c")
    try:
        again.wait_for("Sure, I will run it for you.")
        assert "please run the echo" in again.text
        again.quit()
    finally:
        again.child.close(force=True)
