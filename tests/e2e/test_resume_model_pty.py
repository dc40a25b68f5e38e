"""End to end: the status bar's model is the model of the next request, after ``-c``.

A task runs headless on model A; the TUI then starts with model B configured and
``-c``. The screen must say which model the next request uses, and the request the
fake server records must name exactly that model (issue #14).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.cli import BIN, CONFIG, env_for, run
from tests.e2e.pty import launch
from tests.fakeserver import FakeLLMServer, Turn, tool_call

pytestmark = [
    pytest.mark.timeout(150),
    pytest.mark.skipif(not BIN.exists(), reason="kilo-tui is not installed in this venv"),
]


def status_line(text: str) -> str:
    """The status bar: the screen's line that starts with the mode."""
    return next(line for line in reversed(text.splitlines()) if line.strip().startswith("code ·"))


def test_continuing_a_task_shows_and_sends_its_model(workspace: Path, home: Path) -> None:
    (home / "config.toml").write_text('model = "openai/model-b"\n' + CONFIG)
    with FakeLLMServer() as server:
        server.script(Turn(tool_calls=[tool_call("attempt_completion", result="First done.")]))
        first = run(
            ["run", "--model", "openai/model-a", "first task"],
            env=env_for(server, home),
            cwd=workspace,
        )
        assert first.returncode == 0, first.stderr
        assert [b["model"] for b in server.chat_requests if b["model"] != "fake-small"] == [
            "model-a"
        ]

        app = launch(workspace, home, server.base_url, "-c", model=None)
        try:
            app.wait_for("First done.")
            app.wait_for("Continuing on this task's model")
            assert "openai/model-a" in status_line(app.text), app.text
            assert "openai/model-b" in app.text  # the line names the model it replaced
            server.script(Turn(tool_calls=[tool_call("attempt_completion", result="Second done.")]))
            app.type_line("carry on")
            app.wait_for("Second done.")
            shown = status_line(app.text)
            app.quit()
        finally:
            app.child.close(force=True)
        sent = [b["model"] for b in server.chat_requests if b["model"] != "fake-small"]
    assert sent == ["model-a", "model-a"]
    assert f"openai/{sent[-1]}" in shown
