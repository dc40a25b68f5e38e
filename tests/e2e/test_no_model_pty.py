"""End to end: no key anywhere and the first-run setup skipped, the real binary says at
once that nothing can be sent and points to /setup (it used to sit at "starting the
agent…", the agent never built, then wait on an unreachable gateway)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pexpect
import pytest

from kilo_tui.core.config import PROVIDER_KEY_ENV
from tests.e2e.cli import BIN
from tests.e2e.pty import COLUMNS, ROWS, Terminal
from tests.tui.test_first_run import dead_url

pytestmark = [
    pytest.mark.timeout(120),
    pytest.mark.skipif(not BIN.exists(), reason="kilo-tui is not installed in this venv"),
]


def test_skipping_setup_then_sending_points_to_setup_within_seconds(tmp_path: Path) -> None:
    workspace = tmp_path / "project"
    workspace.mkdir()
    hidden = {*PROVIDER_KEY_ENV.values(), "KILOCODE_TOKEN", "KILO_TUI_MODEL"}
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in hidden and not k.startswith(("OPENAI", "KILO_TUI"))
    }
    env.update(
        KILO_TUI_HOME=str(tmp_path / "home"),
        HOME=str(tmp_path / "user"),
        KILO_API_URL=dead_url(),  # nothing may be asked of a gateway; none answers
        TERM="xterm-256color",
    )
    child = pexpect.spawn(
        str(BIN), [], cwd=str(workspace), env=env, dimensions=(ROWS, COLUMNS), encoding="utf-8"
    )
    app = Terminal(child)
    try:
        app.wait_for("free models, no account")
        child.send("\x1b")  # escape: skip the setup
        app.wait_for("/model a model")  # the chat's line (the setup said "No model …" too)
        child.send("hello there")
        app.wait_for("hello there")
        sent = time.monotonic()
        child.send("\r")
        app.wait_for("Not sent", timeout=10)
        assert time.monotonic() - sent < 5, "the answer took seconds"
        assert "/setup" in app.text.split("Not sent")[1]
        assert "starting the agent" not in app.text
        app.quit()
    finally:
        child.close(force=True)
