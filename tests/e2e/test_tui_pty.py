"""End to end: the real ``kilo-tui`` binary in a pseudo-terminal, against the fake
OpenAI-compatible server running as its own process.

The test types like a user (keys into the pty) and reads the screen output. It is the
issue's "done" scenario: a request, the streamed reply, a command approved with ``y``
and its output, the cost in the status bar; quit, relaunch with ``-c``, and the
conversation is back.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest

from tests.e2e.cli import BIN
from tests.e2e.pty import launch
from tests.fakeserver import Turn, tool_call, write_script

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.timeout(120),
    pytest.mark.skipif(not BIN.exists(), reason="kilo-tui is not installed in this venv"),
]


@contextlib.contextmanager
def fake_server(tmp_path: Path, *turns: Turn) -> Iterator[int]:
    """The fake provider in its own process, answering ``turns`` in order; yields its port."""
    script = write_script(tmp_path / "turns.json", *turns)
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


@pytest.fixture
def server_port(tmp_path: Path) -> Iterator[int]:
    with fake_server(
        tmp_path,
        Turn(
            content="Sure, I will run it for you.",
            tool_calls=[tool_call("execute_command", command="echo pty-e2e-output")],
            usage={"cost": 0.01},
        ),
        Turn(
            tool_calls=[tool_call("attempt_completion", result="The command printed its line.")],
            usage={"cost": 0.0023},
        ),
    ) as port:
        yield port


def test_request_approve_command_cost_quit_and_continue(tmp_path: Path, server_port: int) -> None:
    workspace = tmp_path / "project"
    workspace.mkdir()
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text('small_model = "openai/fake-small"\n')

    app = launch(workspace, home, f"http://127.0.0.1:{server_port}/v1")
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

    again = launch(workspace, home, f"http://127.0.0.1:{server_port}/v1", "-c")
    try:
        again.wait_for("Sure, I will run it for you.")
        assert "please run the echo" in again.text
        again.quit()
    finally:
        again.child.close(force=True)


def test_ctrl_c_stops_a_streaming_reply_and_twice_quits(tmp_path: Path) -> None:
    workspace = tmp_path / "project"
    workspace.mkdir()
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text('small_model = "openai/fake-small"\n')
    slow = Turn(content="STREAM-START " + "and more words " * 200, delay=0.1)
    with fake_server(tmp_path, slow) as port:
        app = launch(workspace, home, f"http://127.0.0.1:{port}/v1")
        try:
            app.wait_for("Ask Kilo")
            app.type_line("tell me a long story")
            app.wait_for("STREAM-START")
            app.child.sendcontrol("c")
            app.wait_for("cancelled by the user")
            assert app.child.isalive()  # one ctrl+c stops the turn, not the app
            app.child.sendcontrol("c")
            app.child.sendcontrol("c")
            app.child.expect(pexpect.EOF, timeout=30)
            app.child.close()
            assert app.child.exitstatus == 0
        finally:
            app.child.close(force=True)
