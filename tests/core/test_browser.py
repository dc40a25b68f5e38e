"""browser_action on a real headless Chromium, driven by the fake provider.

A page on 127.0.0.1 has a button; the model launches the page, clicks the button at its
coordinates, and the next request must carry the changed page: as text for a model
without images, as a screenshot for one with them (the catalog's flag). No Chromium
process may outlive the task, whether it ends or is cancelled.
"""

from __future__ import annotations

import asyncio
import base64
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kilo_tui.core.agent.runtime import AgentRuntime
from kilo_tui.core.browser import BrowserSession, find_executable
from kilo_tui.core.doctor import browser_finding
from kilo_tui.core.tools.browser import address_guard
from tests.fakeserver import FakeLLMServer, Turn
from tests.website import Site

CHROMIUM = find_executable()
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None,
    reason="no Chromium or Chrome on PATH (CI installs Debian's chromium package)",
)

ALLOW_LOCAL = "\n[web]\nallow_private_addresses = true\n[auto_approve]\nbrowser = true\n"
BUTTON = "200,150"


@pytest.fixture
def site() -> Iterator[Site]:
    site = Site()
    yield site
    site.close()


@pytest.fixture
def page_url(site: Site) -> str:
    return site.url("/counter")


def browser_processes() -> list[str]:
    """Chromium processes descending from this test process (Playwright's driver
    starts them), by /proc: ``pid command``."""
    parents: dict[int, int] = {}
    names: dict[int, str] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        if fields[0] == "Z":
            continue
        parents[int(entry)], names[int(entry)] = int(fields[1]), name
    mine = {os.getpid()}
    grew = True
    while grew:
        children = {pid for pid, ppid in parents.items() if ppid in mine} - mine
        grew = bool(children)
        mine |= children
    return [f"{pid} {names[pid]}" for pid in mine if "chrom" in names[pid].lower()]


def main_requests(server: FakeLLMServer) -> list[dict[str, Any]]:
    """The task's own requests (not the small model's title request)."""
    return [r for r in server.chat_requests if r.get("model") != "fake-small"]


def tool_results(request: dict[str, Any]) -> list[str]:
    return [m["content"] for m in request["messages"] if m["role"] == "tool"]


@needs_chromium
async def test_a_text_model_clicks_the_button_and_reads_the_changed_page(
    make_runtime: Callable[..., AgentRuntime], llm_env: FakeLLMServer, page_url: str
) -> None:
    runtime = make_runtime(ALLOW_LOCAL, interactive=False)
    llm_env.script(
        Turn.tool("browser_action", action="launch", url=page_url),
        Turn.tool("browser_action", action="click", coordinate=BUTTON),
        Turn.tool("browser_action", action="wait", text="Saved later"),
        Turn.tool("browser_action", action="click", selector="#name"),
        Turn.tool("browser_action", action="type", text="Ada"),
        Turn.tool("browser_action", action="click", selector="text=Greet"),
        Turn.tool("browser_action", action="close"),
        Turn.tool("attempt_completion", result="clicked"),
    )
    outcome = await runtime.submit("press the button on the page")
    assert outcome.status == "completed", outcome.detail
    requests = main_requests(llm_env)
    assert "browser_action" in {t["function"]["name"] for t in requests[0]["tools"]}
    after_launch, after_click = tool_results(requests[1])[-1], tool_results(requests[2])[-1]
    assert "Not clicked yet" in after_launch and "Clicked it" not in after_launch
    assert "Clicked it" in after_click
    assert "[log] button pressed" in after_click
    # What the page does after a delay, waited for.
    assert "Saved later" not in after_click
    assert "Saved later" in tool_results(requests[3])[-1]
    # The form, filled in and sent through selectors (what a text model can aim at).
    assert "Hello, Ada" not in tool_results(requests[5])[-1]
    assert "Hello, Ada" in tool_results(requests[6])[-1]
    # A model without images gets no image at all.
    assert not any(isinstance(m.get("content"), list) for m in requests[2]["messages"])
    assert browser_processes() == []


@needs_chromium
async def test_a_vision_model_gets_the_screenshot_of_the_changed_page(
    make_runtime: Callable[..., AgentRuntime], llm_env: FakeLLMServer, page_url: str
) -> None:
    runtime = make_runtime(ALLOW_LOCAL, interactive=False, model="openai/gpt-4o")
    llm_env.script(  # the model never closes the browser: the task's end does
        Turn.tool("browser_action", action="launch", url=page_url),
        Turn.tool("browser_action", action="click", coordinate=BUTTON),
        Turn.tool("attempt_completion", result="clicked"),
    )
    assert (await runtime.submit("press the button")).status == "completed"
    requests = main_requests(llm_env)
    before, after = screenshot(requests[1]), screenshot(requests[2])
    assert "Clicked it" not in tool_results(requests[2])[-1]  # the image, not the text
    # The click turned the page red: the pixel in the corner says so.
    assert await corner_colour(before) == [255, 255, 255]
    assert await corner_colour(after) == [255, 0, 0]
    assert browser_processes() == []


def screenshot(request: dict[str, Any]) -> str:
    last = request["messages"][-1]
    assert last["role"] == "user" and isinstance(last["content"], list)
    urls = [p["image_url"]["url"] for p in last["content"] if p["type"] == "image_url"]
    assert len(urls) == 1 and urls[0].startswith("data:image/webp;base64,")
    base64.b64decode(urls[0].split(",", 1)[1], validate=True)
    return urls[0]


async def corner_colour(data_url: str) -> list[int]:
    """The (rounded) colour of the image's pixel at (5, 5), decoded by Chromium."""
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True)
        page = await browser.new_page()
        rgb = await page.evaluate(
            """async (url) => {
                const img = new Image(); img.src = url; await img.decode();
                const c = document.createElement('canvas');
                c.width = img.width; c.height = img.height;
                const g = c.getContext('2d'); g.drawImage(img, 0, 0);
                return Array.from(g.getImageData(5, 5, 1, 1).data.slice(0, 3));
            }""",
            data_url,
        )
        await browser.close()
    return [round(v / 32) * 32 if v not in (0, 255) else v for v in rgb]


@needs_chromium
async def test_cancelling_the_task_closes_the_browser(
    make_runtime: Callable[..., AgentRuntime], llm_env: FakeLLMServer, page_url: str
) -> None:
    runtime = make_runtime(ALLOW_LOCAL)
    llm_env.script(
        Turn.tool("browser_action", action="launch", url=page_url),
        Turn.text("thinking", wait=30),  # the provider hangs while the browser is open
    )
    turn = asyncio.create_task(runtime.submit("open the page"))
    while len(main_requests(llm_env)) < 2:
        await asyncio.sleep(0.05)
    assert browser_processes(), "the browser should be open while the task runs"
    runtime.cancel()
    assert (await asyncio.wait_for(turn, 15)).status == "cancelled"
    assert browser_processes() == []


@needs_chromium
async def test_a_local_address_is_refused_without_the_setting(
    make_runtime: Callable[..., AgentRuntime], llm_env: FakeLLMServer, page_url: str
) -> None:
    runtime = make_runtime("\n[auto_approve]\nbrowser = true\n", interactive=False)
    llm_env.script(Turn.tool("browser_action", action="launch", url=page_url))
    await runtime.submit("open the page")
    result = tool_results(main_requests(llm_env)[1])[-1]
    assert "Not opened" in result and "allow_private_addresses" in result
    assert browser_processes() == []


@needs_chromium
async def test_opening_a_page_passes_the_approval_gate(
    make_runtime: Callable[..., AgentRuntime], llm_env: FakeLLMServer, page_url: str
) -> None:
    runtime = make_runtime("\n[web]\nallow_private_addresses = true\n", interactive=False)
    llm_env.script(Turn.tool("browser_action", action="launch", url=page_url))
    await runtime.submit("open the page")
    result = tool_results(main_requests(llm_env)[1])[-1]
    assert result.startswith("The user denied opening") and "auto_approve.browser" in result
    assert browser_processes() == []


@needs_chromium
async def test_every_request_of_the_page_passes_the_guard(page_url: str) -> None:
    """Not only the launch URL: an image the page loads is checked too (here the guard
    refuses /internal/, as the real one refuses private addresses)."""
    asked: list[str] = []

    async def guard(url: str) -> str | None:
        asked.append(url)
        return "an internal address" if "/internal/" in url else None

    session = BrowserSession(str(CHROMIUM), guard)
    try:
        snapshot = await session.launch(page_url)
    finally:
        await session.close()
    image = page_url.replace("/counter", "/internal/admin.png")
    assert page_url in asked and image in asked
    assert f"[blocked] {image}: an internal address" in snapshot.logs
    assert browser_processes() == []


async def test_the_browser_guard_refuses_private_addresses_unless_allowed() -> None:
    refuse = address_guard(allow_private=False)
    for url in (
        "http://127.0.0.1:8080/",
        "https://10.1.2.3/",
        "ws://[::1]/",
        "http://169.254.169.254/",
    ):
        assert "allow_private_addresses" in (await refuse(url) or ""), url
    assert await refuse("data:text/html,hi") is None
    assert await address_guard(allow_private=True)("http://127.0.0.1/") is None


def test_without_chromium_the_tool_is_not_offered_and_doctor_says_how(
    make_runtime: Callable[..., AgentRuntime], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing to find
    runtime = make_runtime()
    assert runtime.tool("browser_action") is None
    finding = browser_finding(runtime.settings)
    assert finding.level == "info" and "browser_action is off" in finding.message
    assert "apt-get install chromium" in finding.message
    assert "[browser] executable" in finding.message


def test_a_configured_executable_that_is_missing_is_reported(
    make_runtime: Callable[..., AgentRuntime],
) -> None:
    runtime = make_runtime('\n[browser]\nexecutable = "/nowhere/chromium"\n')
    assert runtime.tool("browser_action") is None
    finding = browser_finding(runtime.settings)
    assert finding.level == "warn" and "/nowhere/chromium" in finding.message


def test_playwright_is_imported_only_when_a_browser_is_launched() -> None:
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, kilo_tui.core.agent.runtime, kilo_tui.core.tools.browser\n"
            "print('playwright' in sys.modules)",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert probe.stdout.strip() == "False", probe.stderr
