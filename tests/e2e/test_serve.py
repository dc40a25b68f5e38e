"""``kilo-tui serve``: the real binary, opened in a real headless Chromium.

The page must render the TUI, take a prompt typed into it, and show the fake
provider's reply; other web sites must not be able to drive it, and listening beyond
this machine needs an explicit flag and says why.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kilo_tui.core.browser import find_executable
from tests.e2e.cli import BIN, env_for, run
from tests.fakeserver import FakeLLMServer, Turn

CHROMIUM = find_executable()
ANSI = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[PX^_][^\x1b]*\x1b\\|.)")


@pytest.fixture
def served(fake_llm: FakeLLMServer, home: Path, workspace: Path) -> Iterator[tuple[str, Path]]:
    """``kilo-tui serve --port 0`` on the fake provider: (its URL, its workspace)."""
    config = home / "config.toml"
    config.write_text('model = "openai/fake-model"\n' + config.read_text())
    proc = subprocess.Popen(
        [str(BIN), "serve", "--port", "0", "--path", str(workspace)],
        env=env_for(fake_llm, home),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.search(r"open (http://127\.0\.0\.1:\d+)", line)
        assert match, line + proc.stderr.read() if proc.stderr else line
        wait_until_listening(match.group(1))
        yield match.group(1), workspace
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


def wait_until_listening(url: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(url, timeout=5).close()
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def status_of(url: str, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.mark.skipif(
    CHROMIUM is None, reason="no Chromium or Chrome on PATH (CI installs Debian's chromium)"
)
async def test_the_tui_in_chromium_takes_a_prompt_and_shows_the_reply(
    served: tuple[str, Path], fake_llm: FakeLLMServer, home: Path
) -> None:
    from playwright.async_api import async_playwright

    url, workspace = served
    env = env_for(fake_llm, home)
    fake_llm.script(Turn.tool("attempt_completion", result="Greetings from the fake model"))
    screen: list[str] = []

    def on_frame(payload: Any) -> None:
        data = payload if isinstance(payload, str) else payload.decode("utf-8", "replace")
        screen.append(ANSI.sub("", data))

    async def shows(text: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while text not in "".join(screen):
            assert time.monotonic() < deadline, f"{text!r} never appeared in the page"
            await page.wait_for_timeout(100)

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True)
        page = await browser.new_page(viewport={"width": 1200, "height": 800})
        # No request leaves this machine (textual-serve's page links a web font).
        await page.route(
            "**/*",
            lambda route: route.continue_() if route.request.url.startswith(url) else route.abort(),
        )
        page.on("websocket", lambda ws: ws.on("framereceived", on_frame))
        await page.goto(url)
        await shows("fake-model")  # the TUI's status bar, rendered in the page
        await page.locator(".xterm-helper-textarea").focus()
        await page.keyboard.type("hello from the browser", delay=20)
        await shows("hello from the browser", 15)
        await page.keyboard.press("Enter")
        await shows("Greetings from the fake model")
        await browser.close()
    sent = [m["content"] for r in fake_llm.chat_requests for m in r["messages"]]
    assert any("hello from the browser" in str(c) for c in sent)
    # The same sessions: the task done in the browser is in the terminal's history.
    listed = run(["sessions", "list", "--json", "--path", str(workspace)], env=env, cwd=workspace)
    tasks = json.loads(listed.stdout)
    assert len(tasks) == 1 and tasks[0]["workspace"] == str(workspace.resolve())


def test_other_sites_cannot_drive_the_served_agent(served: tuple[str, Path]) -> None:
    url, _ = served
    port = url.rsplit(":", 1)[1]
    assert status_of(url, {}) == 200
    # Cross-site WebSocket hijacking: a page elsewhere opening our socket.
    assert status_of(url + "/ws", {"Origin": "http://evil.example"}) == 403
    # DNS rebinding: evil.example resolving to 127.0.0.1.
    assert status_of(url, {"Host": f"evil.example:{port}"}) == 403


def test_listening_beyond_this_machine_needs_a_flag_and_warns(
    home: Path, workspace: Path, fake_llm: FakeLLMServer
) -> None:
    env = env_for(fake_llm, home)
    refused = run(["serve", "--host", "0.0.0.0", "--path", str(workspace)], env=env, cwd=workspace)
    assert refused.returncode == 2
    assert "--allow-remote" in refused.stderr and "run commands" in refused.stderr
    proc = subprocess.Popen(
        [str(BIN), "serve", "--host", "0.0.0.0", "--port", "0", "--allow-remote", "--path", "."],
        env=env,
        cwd=workspace,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert proc.stderr is not None
        warning = proc.stderr.readline()
        assert "WARNING" in warning and "run commands" in warning
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(10)
