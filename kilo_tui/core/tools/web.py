"""fetch_url: the model reads a web page, as Markdown, through the private-address guard.

- **Guarded**: every hop (the URL and each redirect) is resolved once by
  :func:`kilo_tui.core.trust.network.resolve`, which refuses private and local
  addresses unless ``[web] allow_private_addresses`` is on, and the request goes to
  exactly the address it checked (the ``Host`` header and TLS name stay the URL's).
  Proxy environment variables are not used, so the checked address is the one reached.
- **Approved**: the first host, and each new host a redirect leads to, passes the
  approval gate as a ``browser`` action (``[auto_approve] browser``, or an always-allow
  rule ``browser:<domain>``), before any lookup or connection.
- **Bounded**: the whole fetch has a deadline (``[web] timeout``), at most
  ``MAX_REDIRECTS`` redirects, and at most ``[web] max_size`` bytes are read; what the
  model gets is cut like command output (``[agent] command_output_limit``).
- **Readable**: HTML becomes Markdown of the main content (:mod:`kilo_tui.core.readable`);
  JSON and plain text pass through; binary content is refused.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

from kilo_tui.core.cancellation import unless_cancelled
from kilo_tui.core.config import AgentSettings, WebSettings
from kilo_tui.core.tools.base import (
    FunctionTool,
    ToolContext,
    ToolError,
    ToolResult,
    denial_text,
    schema,
)
from kilo_tui.core.tools.command import head_and_tail
from kilo_tui.core.trust import network

if TYPE_CHECKING:
    import httpx

MAX_REDIRECTS = 5
USER_AGENT = "Mozilla/5.0 (compatible; kilo-tui)"
_SNIFF = 8192
"""Bytes looked at to tell text from binary when the server does not say."""

Resolver = Callable[[str, int], Awaitable[str]]
"""``(host, port)`` → the checked address to connect to (``network.resolve``)."""
HostApprover = Callable[[str, str], Awaitable[None]]
"""``(host, url)`` → returns if the user (or policy) lets the fetch reach ``host``;
raises :class:`FetchDenied` otherwise."""


class FetchDenied(Exception):
    """The approval gate refused a host; ``feedback`` is the gate's reason."""

    def __init__(self, url: str, feedback: str) -> None:
        super().__init__(feedback)
        self.url = url
        self.feedback = feedback


@dataclass(frozen=True)
class Fetched:
    """A response, read up to the size cap."""

    url: str
    status: int
    reason: str
    content_type: str
    charset: str | None
    body: bytes
    truncated: bool
    redirects: list[str] = field(default_factory=list)


async def fetch(
    url: str,
    *,
    resolve: Resolver,
    approve_host: HostApprover,
    timeout: float,
    max_size: int,
) -> Fetched:
    """GET ``url``, following redirects, each hop approved and resolved through the guard.

    Raises :class:`ToolError` with a message for the model, or :class:`FetchDenied`.
    """
    import httpx

    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(timeout) as deadline:

            async def approve(host: str, target: str) -> None:
                # The user's time to answer does not count against the deadline.
                remaining = (deadline.when() or loop.time()) - loop.time()
                deadline.reschedule(None)
                try:
                    await approve_host(host, target)
                finally:
                    deadline.reschedule(loop.time() + remaining)

            # No keep-alive: a connection made (and TLS-verified) for one host must never
            # carry a later hop's request for another host on the same address.
            no_reuse = httpx.Limits(max_keepalive_connections=0)
            async with httpx.AsyncClient(
                trust_env=False, follow_redirects=False, limits=no_reuse
            ) as client:
                return await _follow(client, _parse(url), resolve, approve, max_size)
    except TimeoutError:
        raise ToolError(f"Fetching {url} took longer than {timeout:g} s; stopped.") from None
    except network.AddressRefused as exc:
        raise ToolError(f"Not fetched: {exc}") from None
    except httpx.HTTPError as exc:
        raise ToolError(f"{url} could not be fetched: {exc or type(exc).__name__}") from None
    except OSError as exc:  # the name does not resolve, the connection is refused
        raise ToolError(f"{url} could not be fetched: {exc.strerror or exc}") from None


async def _follow(
    client: httpx.AsyncClient,
    url: httpx.URL,
    resolve: Resolver,
    approve_host: HostApprover,
    max_size: int,
) -> Fetched:
    approved: set[str] = set()
    redirects: list[str] = []
    for _ in range(MAX_REDIRECTS + 1):
        host = url.raw_host.decode("ascii")
        if host not in approved:
            await approve_host(host, str(url))
            approved.add(host)
        address = await resolve(host, url.port or (443 if url.scheme == "https" else 80))
        response = await client.send(_pinned_request(client, url, address), stream=True)
        try:
            location = response.headers.get("location")
            if response.is_redirect and location:
                redirects.append(str(url))
                url = _parse(urljoin(str(url), location), redirected_from=str(url))
                continue
            body, truncated = await _read_capped(response, max_size)
        finally:
            await response.aclose()
        return Fetched(
            url=str(url),
            status=response.status_code,
            reason=response.reason_phrase,
            content_type=response.headers.get("content-type", ""),
            charset=response.charset_encoding,
            body=body,
            truncated=truncated,
            redirects=redirects,
        )
    raise ToolError(f"Not fetched: more than {MAX_REDIRECTS} redirects (last: {url}).")


def _parse(url: str, *, redirected_from: str = "") -> httpx.URL:
    import httpx

    where = f" (a redirect from {redirected_from})" if redirected_from else ""
    try:
        parsed = httpx.URL(url.strip())
    except httpx.InvalidURL as exc:
        raise ToolError(f"Not a valid URL{where}: {url} ({exc})") from None
    if parsed.scheme not in ("http", "https"):
        raise ToolError(f"Only http and https URLs can be fetched, not {url}{where}.")
    if not parsed.raw_host:
        raise ToolError(f"The URL has no host: {url}{where}.")
    return parsed


def _pinned_request(client: httpx.AsyncClient, url: httpx.URL, address: str) -> httpx.Request:
    """A request for ``url`` sent to ``address``: the checked address is the one
    connected to, while the server still sees the URL's host (``Host``, TLS SNI and
    certificate check)."""
    extensions = {"sni_hostname": url.raw_host.decode("ascii")} if url.scheme == "https" else {}
    return client.build_request(
        "GET",
        url.copy_with(host=address),
        headers={
            "Host": url.netloc.decode("ascii"),
            "User-Agent": USER_AGENT,
            "Accept": "text/html, application/json, text/*;q=0.9, */*;q=0.1",
            "Accept-Encoding": "gzip, deflate",
        },
        extensions=extensions,
    )


async def _read_capped(response: httpx.Response, max_size: int) -> tuple[bytes, bool]:
    """At most ``max_size`` bytes of the body; True if there was more (not downloaded)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size > max_size:
            return b"".join(chunks)[:max_size], True
    return b"".join(chunks), False


# ------------------------------------------------------------------ content


def content_kind(content_type: str, body: bytes) -> str | None:
    """``html``, ``json`` or ``text``, from the declared type and a look at the bytes;
    None for binary content (images, archives, PDFs, anything with NUL bytes)."""
    mime = content_type.split(";")[0].strip().lower()
    sample = body[:_SNIFF]
    if b"\x00" in sample:
        return None
    if mime in ("text/html", "application/xhtml+xml"):
        return "html"
    if mime == "application/json" or mime.endswith("+json"):
        return "json"
    if mime.startswith("text/") or mime.endswith("+xml") or mime in _TEXT_TYPES:
        return "text"
    if mime and mime != "application/octet-stream":
        return None
    try:  # undeclared: text if it decodes (a multi-byte character may be cut at the end)
        sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(sample) - 4:
            return None
    head = sample[:1024].lstrip().lower()
    return "html" if head.startswith((b"<!doctype html", b"<html")) else "text"


_TEXT_TYPES = frozenset(
    {
        "application/xml",
        "application/javascript",
        "application/x-javascript",
        "application/ecmascript",
        "application/x-yaml",
        "application/yaml",
        "application/toml",
        "application/x-sh",
        "application/sql",
        "application/graphql",
    }
)


def page_text(page: Fetched) -> tuple[str, str]:
    """``(title, text for the model)``; raises :class:`ToolError` for binary content."""
    kind = content_kind(page.content_type, page.body)
    if kind is None:
        declared = page.content_type.split(";")[0].strip() or "undeclared type"
        raise ToolError(
            f"Not read: {page.url} is binary content ({declared}, {len(page.body):,} bytes "
            f"read). fetch_url reads web pages, JSON and plain text only."
        )
    charset = page.charset or (_meta_charset(page.body) if kind == "html" else None)
    text = _decode(page.body, charset)
    if kind != "html":
        return "", text
    from kilo_tui.core.readable import html_to_markdown

    readable = html_to_markdown(text, page.url)
    return readable.title, readable.markdown


_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", re.I)


def _meta_charset(body: bytes) -> str | None:
    """The encoding a page declares in a ``<meta>`` tag when the server did not say."""
    match = _META_CHARSET.search(body[:4096])
    return match.group(1).decode("ascii") if match else None


def _decode(body: bytes, charset: str | None) -> str:
    try:
        return body.decode(charset or "utf-8", errors="replace")
    except LookupError:  # an unknown charset name
        return body.decode("utf-8", errors="replace")


# ------------------------------------------------------------------ the tool


async def _fetch_url(args: dict[str, Any], ctx: ToolContext) -> ToolResult:
    url = str(args.get("url", "")).strip()
    if not url:
        raise ToolError("fetch_url needs a url")
    web = ctx.settings.web if ctx.settings else WebSettings()

    hops = 0

    async def approve_host(host: str, target: str) -> None:
        nonlocal hops
        hops += 1
        decision = await ctx.approve(
            kind="browser",
            tool="fetch_url",
            title=f"Fetch {target}" if hops == 1 else f"Follow a redirect to {target}",
            detail=f"GET {target}\nThe page's content is sent to the model.",
            host=host,
        )
        if not decision.approved:
            raise FetchDenied(target, decision.feedback)

    async def resolve(host: str, port: int) -> str:
        return await network.resolve(host, port, allow_private=web.allow_private_addresses)

    fetching = fetch(
        url,
        resolve=resolve,
        approve_host=approve_host,
        timeout=web.timeout,
        max_size=web.max_size,
    )
    try:
        page = await unless_cancelled(
            fetching, ctx.cancel, ToolError("Fetch cancelled by the user.")
        )
    except FetchDenied as denied:
        text = denial_text(f"fetching {denied.url}", denied.feedback)
        return ToolResult(text, is_error=True, summary="denied")
    # Converting a large page takes seconds of CPU: off the event loop, the UI stays live.
    return await asyncio.to_thread(_result, page, ctx)


def _result(page: Fetched, ctx: ToolContext) -> ToolResult:
    title, text = page_text(page)
    limit = (ctx.settings.agent if ctx.settings else AgentSettings()).command_output_limit
    declared = page.content_type.split(";")[0].strip() or "undeclared type"
    header = f"URL: {page.url}"
    if page.redirects:
        header += f" (redirected from {page.redirects[0]})"
    header += f"\nStatus: HTTP {page.status} {page.reason}\nContent-Type: {declared}"
    if title:
        header += f"\nTitle: {title}"
    if page.truncated:
        header += (
            f"\nNote: only the first {len(page.body):,} bytes were read ([web] max_size); "
            "the rest of the response was not downloaded."
        )
    shown = head_and_tail(text, limit) if text.strip() else "(empty)"
    failed = page.status >= 400
    return ToolResult(
        f"{header}\n\n{shown}",
        is_error=failed,
        summary=f"HTTP {page.status}, {len(page.body):,} bytes",
    )


FETCH_URL = FunctionTool(
    name="fetch_url",
    group="browser",
    description=(
        "Fetch a web page (http or https) and return its main content as Markdown; JSON "
        "and plain text are returned as they are. Use it to read documentation, an API "
        "reference or an issue. Binary files (images, PDFs, archives) are refused, long "
        "pages are cut, and private or local network addresses are refused unless the "
        "user allowed them."
    ),
    parameters=schema(
        {"url": {"type": "string", "description": "The http(s) URL to fetch."}}, ["url"]
    ),
    fn=_fetch_url,
)
