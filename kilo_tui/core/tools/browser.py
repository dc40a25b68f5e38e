"""``browser_action``: Kilo Code's browser tool, on a headless Chromium.

The model launches a URL, then clicks, hovers, types, scrolls or resizes, one action
per call, and closes the browser. Each step answers with the console log and, for a
model that can see images (the catalog's ``supports_vision``), a screenshot; any
other model gets the page's visible text instead. Opening a URL passes the approval
gate (``[auto_approve] browser``) and the private-address guard; the browser itself is
:mod:`kilo_tui.core.browser`.
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import urlsplit

from kilo_tui.core.browser import (
    VIEWPORT,
    BrowserError,
    BrowserSession,
    BrowserSlot,
    Guard,
    Snapshot,
    find_executable,
)
from kilo_tui.core.cancellation import unless_cancelled
from kilo_tui.core.tools.base import (
    FunctionTool,
    ToolContext,
    ToolError,
    ToolResult,
    denial_text,
    schema,
)
from kilo_tui.core.trust.network import AddressRefused, resolve

ACTIONS = (
    "launch",
    "click",
    "hover",
    "type",
    "scroll_down",
    "scroll_up",
    "resize",
    "wait",
    "close",
)
_DEFAULT_PORTS = {"http": 80, "ws": 80, "https": 443, "wss": 443}

DESCRIPTION = f"""\
Interact with a headless Chromium browser, one action per call. Every action except \
`close` answers with the browser's console log and a screenshot of the page (models \
that cannot see images get the page's visible text instead).
- Start with `launch` at a URL and end with `close`. To visit a URL you cannot reach \
from the current page, `close` and `launch` again.
- While the browser is open, use only browser_action; close it before using other tools.
- The viewport is {VIEWPORT[0]}x{VIEWPORT[1]} pixels. Click the centre of an element, \
at coordinates read from the latest screenshot.
Actions: launch (url), click (coordinate or selector), hover (coordinate or selector), \
type (text, into the focused element: click it first), scroll_down, scroll_up (one \
page), resize (size), wait (for a text to appear), close."""

PARAMETERS = schema(
    {
        "action": {"type": "string", "enum": list(ACTIONS), "description": "The action."},
        "url": {"type": "string", "description": "launch: the http(s) URL to open."},
        "coordinate": {
            "type": "string",
            "description": "click, hover: 'x,y' in pixels within the viewport.",
        },
        "selector": {
            "type": "string",
            "description": "click, hover: instead of a coordinate, the element to act on: "
            "a CSS selector ('#submit') or 'text=Sign in'.",
        },
        "size": {"type": "string", "description": "resize: 'width,height' in pixels."},
        "text": {
            "type": "string",
            "description": "type: the text to type. wait: the text to wait for (at most "
            "10 s); without it, wait one second.",
        },
    },
    ["action"],
)

CLOSE_REMINDER = (
    "(Close the browser with action 'close' before you use any other tool or launch another URL.)"
)


async def _browser_action(args: dict[str, Any], ctx: ToolContext) -> ToolResult:
    action = args.get("action")
    if action not in ACTIONS:
        raise ToolError(f"Unknown action {action!r}; use one of: {', '.join(ACTIONS)}.")
    slot: BrowserSlot = ctx.extra["browser"]
    if action == "close":
        await slot.close()
        return ToolResult("The browser has been closed.", summary="closed")
    session = slot.session
    if action == "launch":
        url = _launch_url(args)
        guard = address_guard(ctx.settings.web.allow_private_addresses)
        refused = await _refuse_launch(url, guard, ctx)
        if refused is not None:
            return refused
        if session is None:
            session = slot.session = BrowserSession(_executable(ctx), guard)
        step = session.launch(url)
    elif session is None or not session.is_open:
        raise ToolError("The browser is not open. Start with action 'launch' and a url.")
    else:
        step = _step(session, action, args)
    snapshot = await _until_cancelled(step, ctx, slot)
    return _result(action, snapshot, vision=bool(ctx.extra.get("supports_vision")))


async def _refuse_launch(url: str, guard: Guard, ctx: ToolContext) -> ToolResult | None:
    """Why ``url`` is not opened (the private-address guard, then the approval gate),
    or None to open it."""
    reason = await guard(url)
    if reason is not None:
        return ToolResult(f"Not opened: {reason}", is_error=True, summary="refused")
    decision = await ctx.approve(
        kind="browser",
        tool="browser_action",
        title=f"Open {url} in the browser",
        host=urlsplit(url).hostname,
    )
    if decision.approved:
        return None
    text = denial_text(f"opening {url} in the browser", decision.feedback)
    return ToolResult(text, is_error=True, summary="denied")


def _executable(ctx: ToolContext) -> str:
    executable = find_executable(ctx.settings.browser.executable)
    if executable is None:  # the tool is only offered when one was found
        raise ToolError("No Chromium or Chrome is installed any more, so there is no browser.")
    return executable


def _launch_url(args: dict[str, Any]) -> str:
    url = str(args.get("url") or "").strip()
    if not url:
        raise ToolError("Missing parameter url: launch needs the URL to open.")
    if urlsplit(url).scheme not in ("http", "https"):
        raise ToolError(f"Not opened: {url} is not an http or https URL.")
    return url


def _step(session: BrowserSession, action: str, args: dict[str, Any]) -> Any:
    match action:
        case "click" | "hover" if args.get("selector"):
            return session.on_element(action, str(args["selector"]))
        case "click":
            return session.click(*_pair(args, "coordinate"))
        case "hover":
            return session.hover(*_pair(args, "coordinate"))
        case "type":
            text = args.get("text")
            if not isinstance(text, str) or not text:
                raise ToolError("Missing parameter text: type needs the text to type.")
            return session.type(text)
        case "wait":
            return session.wait(str(args.get("text") or ""))
        case "scroll_down":
            return session.scroll(1)
        case "scroll_up":
            return session.scroll(-1)
        case _:  # resize
            return session.resize(*_pair(args, "size", minimum=1))


def _pair(args: dict[str, Any], name: str, *, minimum: int = 0) -> tuple[int, int]:
    """``"x,y"`` (or ``"w,h"``) as two whole numbers."""
    raw = str(args.get(name) or "")
    parts = [p.strip() for p in raw.split(",")]
    try:
        a, b = (round(float(p)) for p in parts)
    except ValueError:
        a = b = -1
    if len(parts) != 2 or min(a, b) < minimum:
        example = "'450,300'" if name == "coordinate" else "'1280,800'"
        raise ToolError(f"Invalid {name} {raw!r}: expected two numbers like {example}.")
    return a, b


async def _until_cancelled(step: Any, ctx: ToolContext, slot: BrowserSlot) -> Snapshot:
    """Run a browser step; the user's cancel stops it and closes the browser. A failed
    step closes the browser too (as in Kilo Code), so no half-broken page lingers."""
    cancelled = ToolError("The browser action was cancelled by the user; the browser is closed.")
    try:
        snapshot: Snapshot = await unless_cancelled(step, ctx.cancel, cancelled)
    except ToolError:
        await slot.close()
        raise
    except BrowserError as exc:
        await slot.close()
        raise ToolError(f"{exc} The browser has been closed.") from None
    return snapshot


def _result(action: str, snap: Snapshot, *, vision: bool) -> ToolResult:
    logs = "\n".join(snap.logs) or "(no new logs)"
    lines = [
        f"The browser action '{action}' was executed.",
        f"Page: {snap.title or '(untitled)'} — {snap.url}",
        "",
        "Console logs:",
        logs,
        "",
    ]
    images: tuple[str, ...] = ()
    if vision:
        lines.append("A screenshot of the page follows.")
        images = ("data:image/webp;base64," + base64.b64encode(snap.screenshot).decode(),)
    else:
        lines += ["Visible text of the page (this model does not take images):", snap.text]
    lines += ["", CLOSE_REMINDER]
    return ToolResult("\n".join(lines), summary=f"{action}: {snap.url}", images=images)


def address_guard(allow_private: bool) -> Guard:
    """The private-address guard for the browser: a URL whose host is (or resolves to)
    a private or local address is refused unless ``allow_private``."""

    async def check(url: str) -> str | None:
        parts = urlsplit(url)
        if allow_private or parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
            return None
        try:
            port = parts.port or _DEFAULT_PORTS[parts.scheme]
            await resolve(parts.hostname, port, allow_private=False)
        except AddressRefused as exc:
            return str(exc)
        except (OSError, ValueError):
            return None  # unresolvable: the browser reports its own error
        return None

    return check


BROWSER_ACTION = FunctionTool(
    name="browser_action",
    group="browser",
    description=DESCRIPTION,
    parameters=PARAMETERS,
    fn=_browser_action,
)
