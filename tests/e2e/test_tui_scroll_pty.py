"""End to end (issue #14): after a task that needed several approvals — commands with
long output and a file write reviewed in the diff viewer — the chat is still pinned to
the bottom, so the final "Task completed" is on screen without scrolling; and when the
user had scrolled up, the end of the task still comes into view.

The real ``kilo-tui`` binary in a pseudo-terminal, read through a terminal emulator;
the fake provider runs as its own process. Each approval bar or diff viewer that comes
and goes changes the chat's height: that is what used to leave the view behind.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.cli import BIN
from tests.e2e.pty import Terminal, launch
from tests.e2e.test_tui_pty import fake_server
from tests.fakeserver import Turn, tool_call

pytestmark = [
    pytest.mark.timeout(180),
    pytest.mark.skipif(not BIN.exists(), reason="kilo-tui is not installed in this venv"),
]

STEPS = (
    Turn(
        content="First I list the numbers.",
        tool_calls=[tool_call("execute_command", command="seq -f 'first-%g' 1 30")],
    ),
    Turn(
        content="Now I write the notes.",
        tool_calls=[
            tool_call(
                "write_to_file",
                path="notes.txt",
                content="".join(f"note {i}\n" for i in range(1, 31)),
            )
        ],
    ),
    Turn(
        content="Then the second list.",
        tool_calls=[tool_call("execute_command", command="seq -f 'second-%g' 1 30")],
    ),
    Turn(
        content="And the last one.",
        tool_calls=[tool_call("execute_command", command="seq -f 'third-%g' 1 30")],
    ),
    Turn(  # streamed slowly: the chat has news for a while before the task ends
        content="Wrapping up the lists now.",
        tool_calls=[tool_call("attempt_completion", result="FINAL-RESULT: all lists made.")],
        delay=0.15,
    ),
)


PAGE_UP = "\x1b[5~"


def approve_command(app: Terminal, said: str, name: str, *, keys: str = "") -> None:
    """Wait for the bar asking about the ``name`` list, with what the model ``said`` before
    it in view (the chat followed the new messages); press ``keys``, then approve."""
    app.wait_for(f"seq -f '{name}-%g' 1 30")
    app.wait_for("y approve")
    app.wait_for(said, timeout=15)
    app.child.send(keys + "y")


def test_the_end_of_a_task_with_many_approvals_is_on_screen(tmp_path: Path) -> None:
    workspace = tmp_path / "project"
    workspace.mkdir()
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text('small_model = "openai/fake-small"\n')
    with fake_server(tmp_path, *STEPS) as port:
        app = launch(workspace, home, f"http://127.0.0.1:{port}/v1")
        try:
            app.wait_for("Ask Kilo")
            app.type_line("make the lists")
            approve_command(app, "First I list the numbers.", "first")
            app.wait_for("Accept all")  # the diff viewer
            app.child.send("y")
            approve_command(app, "Then the second list.", "second")
            # Scrolled up to reread: the last output is flagged, not pulled into view...
            approve_command(app, "And the last one.", "third", keys=PAGE_UP)
            app.wait_for("new messages ↓", timeout=15)
            # ...but the end of the task always is.
            app.wait_for("Task completed", timeout=15)
            assert "FINAL-RESULT: all lists made." in app.text
            assert (workspace / "notes.txt").read_text().startswith("note 1\n")
            app.quit()
        finally:
            app.child.close(force=True)
