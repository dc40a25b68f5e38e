"""End to end: ``@`` completion in the real binary, typed into a pty, decides what the
model receives. Each case types ``@`` and part of a path, completes it with Tab, sends,
and checks the request on the wire (the file's content, the folder's listing) and the
chat's list of what was attached."""

from __future__ import annotations

import time
from pathlib import Path

import pexpect
import pytest

from tests.e2e.cli import BIN
from tests.e2e.pty import Terminal, launch
from tests.fakeserver import FakeLLMServer, Turn

pytestmark = [
    pytest.mark.timeout(180),
    pytest.mark.skipif(not BIN.exists(), reason="kilo-tui is not installed in this venv"),
]


def user_messages(server: FakeLLMServer) -> list[str]:
    """The newest user message of each of the agent's requests (titles go elsewhere)."""
    return [
        str([m for m in body["messages"] if m["role"] == "user"][-1]["content"])
        for body in server.chat_requests
        if body.get("model") == "fake-model"
    ]


def complete_and_send(
    app: Terminal, before: str, partial: str, completed: str, *, listed: str = ""
) -> None:
    """Type ``before`` + ``partial``, wait for the completion list to offer
    ``completed``, Tab, check the prompt now reads ``before`` + ``completed``, send.
    A folder keeps the list open on its content (``listed``): escape closes it first."""
    app.child.send(before + partial)
    app.wait_for(completed)
    app.child.send("\t")
    app.wait_for(before + completed)
    if listed:
        app.wait_for(listed)
        app.child.send("\x1b")
        wait_gone(app, listed)
    app.child.send("\r")


def wait_gone(app: Terminal, text: str, timeout: float = 30) -> None:
    """Read output until ``text`` is no longer on the screen."""
    deadline = time.monotonic() + timeout
    while text in app.text:
        assert time.monotonic() < deadline, f"{text!r} still on screen:\n{app.text}"
        try:
            app.stream.feed(app.child.read_nonblocking(65536, timeout=0.1))
        except pexpect.TIMEOUT:
            continue


def test_tab_completed_mentions_send_what_they_name(tmp_path: Path) -> None:
    workspace = tmp_path / "project"
    (workspace / "src").mkdir(parents=True)
    (workspace / "src" / "mod.py").write_text("MOD_MARKER = 1\n")
    (workspace / "calc").mkdir()
    (workspace / "calc" / "ops.py").write_text("OPS_MARKER = 2\n")
    (workspace / "docs").mkdir()
    (workspace / "docs" / "guide-listed.md").write_text("GUIDE body\n")
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text('small_model = "openai/fake-small"\n')
    with FakeLLMServer() as server:
        server.script(
            Turn.tool("attempt_completion", result="First one read."),
            Turn.tool("attempt_completion", result="Second one read."),
            Turn.tool("attempt_completion", result="Third one read."),
        )
        app = launch(workspace, home, server.base_url)
        shown: list[str] = []  # the screen after each reply (earlier ones scroll away)
        try:
            app.wait_for("Ask Kilo")
            complete_and_send(app, "read ", "@src/mo", "@/src/mod.py")
            app.wait_for("First one read.")
            shown.append(app.text)
            absolute = f"{workspace}/calc/o"
            complete_and_send(app, "and ", f"@{absolute}", "@/calc/ops.py")
            app.wait_for("Second one read.")
            shown.append(app.text)
            complete_and_send(app, "list ", "@do", "@/docs/", listed="@/docs/guide-listed.md")
            app.wait_for("Third one read.")
            shown.append(app.text)
            app.quit()
        finally:
            app.child.close(force=True)
    first, second, third = user_messages(server)
    assert "MOD_MARKER = 1" in first
    assert "OPS_MARKER = 2" in second
    assert '<folder_content path="docs/">' in third and "guide-listed.md" in third
    attached = ("attached: src/mod.py", "attached: calc/ops.py", "attached: docs/ (folder)")
    for line, screen in zip(attached, shown, strict=True):
        assert line in screen, screen
