"""A headless Chromium for ``browser_action``, driven through Playwright.

Playwright drives a Chromium or Chrome that is already installed (found on PATH, or
``[browser] executable``); it never downloads a browser. It is imported on the first
launch only, so nothing here costs anything before the model asks for a browser.

Every request the page makes — the launch URL, links, images, scripts, fetches,
WebSockets — passes the private-address guard first (:mod:`kilo_tui.core.trust.network`
through the ``guard`` callback), so a prompt-injected page cannot use the browser to
reach the user's network either. A task owns one :class:`BrowserSlot`; whatever it
launched is closed when the task's turn ends, fails or is cancelled.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

VIEWPORT = (900, 600)
"""Kilo Code's default browser viewport, in CSS pixels."""
EXECUTABLES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
"""Names looked up on PATH when ``[browser] executable`` is not set."""
ENABLE_HINT = (
    "install Chromium or Chrome (Debian/Ubuntu: apt-get install chromium) or set "
    "[browser] executable in config.toml to its path"
)
NAVIGATION_TIMEOUT = 30.0
"""Seconds a page may take to load before the step fails."""
SELECTOR_TIMEOUT = 5.0
"""Seconds a click or hover waits for its selector's element to be there."""
WAIT_TIMEOUT = 10.0
"""Seconds the ``wait`` action waits for its text at most."""
SETTLE_TIMEOUT = 2.0
"""Seconds a step waits for the page to stop loading before it takes the screenshot."""
TEXT_LIMIT = 20_000
"""Characters of the page's visible text given to a model that cannot see images."""
SCREENSHOT_QUALITY = 75

CHROMIUM_ARGS = ["--force-webrtc-ip-handling-policy=disable_non_proxied_udp"]
"""WebRTC would let a page reach addresses without a request the guard sees."""

Guard = Callable[[str], Awaitable[str | None]]
"""Given a URL the page is about to request, why it is refused (None: allowed)."""


class BrowserError(Exception):
    """A browser step that could not be done; the message is for the model."""


def find_executable(configured: str = "") -> str | None:
    """The Chromium to drive: ``configured`` (a path or a name on PATH), else the first
    of :data:`EXECUTABLES` on PATH; None when there is none."""
    if configured:
        path = shutil.which(os.path.expanduser(configured))
        return path
    for name in EXECUTABLES:
        if path := shutil.which(name):
            return path
    return None


@dataclass(frozen=True)
class Snapshot:
    """What one step shows: the page after it, and what the console said during it."""

    url: str
    title: str
    logs: tuple[str, ...]
    text: str
    """The page's visible text, at most :data:`TEXT_LIMIT` characters."""
    screenshot: bytes
    """The viewport as WebP."""


class BrowserSession:
    """One headless browser with one page. :meth:`launch` (re)opens it; the other
    steps need it open; :meth:`close` may be called any time, any number of times."""

    def __init__(self, executable: str, guard: Guard) -> None:
        self.executable = executable
        self._guard = guard
        self._playwright: Any = None
        self._browser: Any = None
        self._page: Any = None
        self._logs: list[str] = []
        self._viewport = VIEWPORT

    @property
    def is_open(self) -> bool:
        return self._page is not None

    async def launch(self, url: str) -> Snapshot:
        """Start the browser (closing a previous one) and open ``url``."""
        await self.close()
        from playwright.async_api import Error, async_playwright

        self._playwright = await async_playwright().start()
        try:
            self._browser = await self._playwright.chromium.launch(
                executable_path=self.executable, headless=True, args=CHROMIUM_ARGS
            )
            width, height = self._viewport
            context = await self._browser.new_context(
                viewport={"width": width, "height": height},
                accept_downloads=False,
                service_workers="block",  # a service worker's requests would skip the guard
            )
            context.set_default_timeout(NAVIGATION_TIMEOUT * 1000)
            await context.route("**/*", self._check_request)
            await context.route_web_socket("**/*", self._check_websocket)
            page = await context.new_page()
            page.on(
                "console", lambda message: self._logs.append(f"[{message.type}] {message.text}")
            )
            page.on("pageerror", lambda error: self._logs.append(f"[page error] {error}"))
            self._page = page
            await page.goto(url, wait_until="load")
        except Error as exc:
            await self.close()
            raise BrowserError(f"Could not open {url}: {_first_line(exc)}") from None
        return await self._snapshot()

    async def click(self, x: int, y: int) -> Snapshot:
        return await self._step(lambda page: page.mouse.click(x, y))

    async def hover(self, x: int, y: int) -> Snapshot:
        return await self._step(lambda page: page.mouse.move(x, y))

    async def on_element(self, action: str, selector: str) -> Snapshot:
        """``click`` or ``hover`` the element ``selector`` finds (CSS, or ``text=…``)."""
        timeout = SELECTOR_TIMEOUT * 1000
        if action == "click":
            return await self._step(lambda page: page.click(selector, timeout=timeout))
        return await self._step(lambda page: page.hover(selector, timeout=timeout))

    async def wait(self, text: str) -> Snapshot:
        """Wait until ``text`` shows on the page (at most :data:`WAIT_TIMEOUT`), or a
        second without one: for what a page does after a delay."""
        from playwright.async_api import TimeoutError as Timeout

        async def waiting(page: Any) -> None:
            if not text:
                await page.wait_for_timeout(1000)
                return
            with contextlib.suppress(Timeout):  # the snapshot shows what is there
                await page.get_by_text(text).first.wait_for(timeout=WAIT_TIMEOUT * 1000)

        return await self._step(waiting)

    async def type(self, text: str) -> Snapshot:
        return await self._step(lambda page: page.keyboard.type(text))

    async def scroll(self, pages: int) -> Snapshot:
        """Scroll by ``pages`` viewport heights (negative: up)."""
        dy = pages * self._viewport[1]
        return await self._step(lambda page: page.evaluate(f"window.scrollBy(0, {dy})"))

    async def resize(self, width: int, height: int) -> Snapshot:
        self._viewport = (width, height)
        return await self._step(
            lambda page: page.set_viewport_size({"width": width, "height": height})
        )

    async def close(self) -> None:
        """Close the browser and stop Playwright's driver (no Chromium survives)."""
        browser, playwright = self._browser, self._playwright
        self._browser = self._playwright = self._page = None
        self._logs.clear()
        if browser is not None:
            with contextlib.suppress(Exception):
                await browser.close()
        if playwright is not None:
            with contextlib.suppress(Exception):
                await playwright.stop()

    # ------------------------------------------------------------ internals

    async def _step(self, action: Callable[[Any], Awaitable[Any]]) -> Snapshot:
        from playwright.async_api import Error

        if self._page is None:
            raise BrowserError(
                "The browser is not open. Start with action 'launch' and a url first."
            )
        try:
            await action(self._page)
        except Error as exc:
            raise BrowserError(f"The browser action failed: {_first_line(exc)}") from None
        return await self._snapshot()

    async def _snapshot(self) -> Snapshot:
        """Wait for what the step started to finish loading (bounded), then capture."""
        from playwright.async_api import Error

        page = self._page
        with contextlib.suppress(Error):
            await page.wait_for_load_state("networkidle", timeout=SETTLE_TIMEOUT * 1000)
        try:
            shot = await page.screenshot(type="webp", quality=SCREENSHOT_QUALITY)
            text = await page.evaluate("document.body ? document.body.innerText : ''")
            title = await page.title()
        except Error as exc:
            raise BrowserError(f"Could not capture the page: {_first_line(exc)}") from None
        text = str(text or "")
        if len(text) > TEXT_LIMIT:
            text = text[:TEXT_LIMIT] + f"\n[… {len(text) - TEXT_LIMIT} more characters]"
        logs = tuple(self._logs)
        self._logs.clear()
        return Snapshot(url=page.url, title=title, logs=logs, text=text, screenshot=shot)

    async def _check_request(self, route: Any) -> None:
        url = route.request.url
        reason = await self._guard(url)
        if reason is None:
            await route.continue_()
            return
        self._logs.append(f"[blocked] {url}: {reason}")
        await route.abort("blockedbyclient")

    async def _check_websocket(self, socket: Any) -> None:
        url = socket.url
        reason = await self._guard(url)
        if reason is None:
            socket.connect_to_server()
            return
        self._logs.append(f"[blocked] {url}: {reason}")
        await socket.close()


class BrowserSlot:
    """The one browser a task may have; the task closes it when its turn ends."""

    def __init__(self) -> None:
        self.session: BrowserSession | None = None

    async def close(self) -> None:
        session, self.session = self.session, None
        if session is not None:
            await session.close()


def _first_line(exc: BaseException) -> str:
    """Playwright's messages carry a call log after the first line; the model needs
    only the first."""
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
