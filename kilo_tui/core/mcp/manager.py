"""The MCP manager: starts the configured servers, watches them, and calls their tools.

One :class:`McpManager` per workspace. :meth:`McpManager.start` returns at once; each
server connects in its own background task and reports every status change on the bus
as :class:`~kilo_tui.core.events.McpStatusChanged` (``starting``, ``connected``,
``error``, ``disabled``, ``stopped``). A server that crashes after connecting is marked
``error`` and restarted with exponential backoff; one that never connects stays in
``error`` until the user restarts it.

While it runs, the manager follows the settings files (watchfiles), as Kilo Code's
McpHub does: an edit starts the servers added, stops those removed, restarts those
whose connection changed and leaves the others running untouched (:meth:`reload`).

The SDK (~0.7 s to import) is loaded in a worker thread, so starting never blocks the
event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import anyio

from kilo_tui import __version__
from kilo_tui.core.bus import EventBus
from kilo_tui.core.config import ConfigError
from kilo_tui.core.events import McpSettingsReloaded, McpStatusChanged, Notice
from kilo_tui.core.mcp.config import (
    McpConfig,
    ServerConfig,
    global_config_path,
    load_config,
    project_config_path,
    update_entry,
)
from kilo_tui.core.mcp.results import (
    McpResult,
    argument_errors,
    format_call_result,
    format_resource_contents,
)
from kilo_tui.core.mcp.stdio import StdioProcess, stdio_transport
from kilo_tui.core.trust import project as trust
from kilo_tui.core.trust.sandbox import Sandbox, SandboxSettings
from kilo_tui.core.watch import watching

log = logging.getLogger(__name__)

MAX_RESTARTS = 5
BACKOFF_BASE = 1.0
BACKOFF_MAX = 30.0
STABLE_AFTER = 60.0
"""A connection that lived this long resets the restart counter."""
STOP_TIMEOUT = 10.0
SETTINGS_QUIET = 0.3
"""Seconds without a further write before edited settings are applied: editors and
scripts often write a file in several steps, and only the last state matters."""


@dataclass(frozen=True)
class ToolInfo:
    """One tool a server offers, with the JSON schema of its arguments."""

    name: str
    description: str = ""
    input_schema: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclass(frozen=True)
class ResourceInfo:
    """One resource (or resource template) a server offers."""

    uri: str
    """The URI, or the URI template for a resource template."""
    name: str = ""
    description: str = ""
    mime_type: str = ""


@dataclass(frozen=True)
class ServerState:
    """A snapshot of one server, for screens, the CLI and the system prompt."""

    name: str
    status: str
    """``starting``, ``connected``, ``error``, ``disabled``, ``stopped`` or ``untrusted``
    (defined in a project file the user has not trusted: it never starts)."""
    source: Path
    transport: str = ""
    description: str = ""
    """The command line or URL."""
    error: str = ""
    stderr_tail: str = ""
    tools: tuple[ToolInfo, ...] = ()
    resources: tuple[ResourceInfo, ...] = ()
    resource_templates: tuple[ResourceInfo, ...] = ()
    instructions: str = ""
    always_allow: tuple[str, ...] = ()
    pid: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape ``kilo-tui mcp list --json`` prints."""
        return {
            "name": self.name,
            "status": self.status,
            "error": self.error,
            "source": str(self.source),
            "transport": self.transport,
            "tools": [{"name": t.name, "description": t.description} for t in self.tools],
            "resources": len(self.resources) + len(self.resource_templates),
        }


_sdk: ModuleType | None = None


async def _load_sdk() -> ModuleType:
    """Import the SDK once, off the event loop (concurrent imports are safe: import locks)."""
    global _sdk
    if _sdk is None:
        _sdk = await asyncio.to_thread(_import_sdk)
    return _sdk


def _import_sdk() -> ModuleType:
    import mcp
    import mcp.client.sse
    import mcp.client.streamable_http

    return mcp


def _flatten(exc: BaseException) -> BaseException:
    """The first real error inside (possibly nested) exception groups."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def _describe(exc: BaseException) -> str:
    exc = _flatten(exc)
    if isinstance(exc, FileNotFoundError):
        return f"command not found: {exc.filename or exc}"
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class _Server:
    """One configured server and its background connection task."""

    def __init__(
        self,
        manager: McpManager,
        name: str,
        source: Path,
        config: ServerConfig | None,
        config_error: ConfigError | None,
        untrusted: str | None = None,
    ) -> None:
        self.manager = manager
        self.name = name
        self.source = source
        self.config = config
        self.config_error = config_error
        self.untrusted = untrusted
        """What the server would run, when its project file is not trusted (else None)."""
        self.status = "stopped"
        self.error = ""
        self.process = StdioProcess()
        self.session: Any = None
        self.tools: tuple[ToolInfo, ...] = ()
        self.resources: tuple[ResourceInfo, ...] = ()
        self.templates: tuple[ResourceInfo, ...] = ()
        self.instructions = ""
        self.settled = asyncio.Event()
        self._lost = anyio.Event()
        self._lost_reason = ""
        self._task: asyncio.Task[None] | None = None
        self._scope: anyio.CancelScope | None = None

    # ------------------------------------------------------------- state

    def snapshot(self) -> ServerState:
        cfg = self.config
        return ServerState(
            name=self.name,
            status=self.status,
            source=self.source,
            transport=cfg.transport if cfg else "",
            description=cfg.describe() if cfg else (self.untrusted or ""),
            error=self.error,
            stderr_tail=self.process.stderr_tail(),
            tools=self.tools,
            resources=self.resources,
            resource_templates=self.templates,
            instructions=self.instructions,
            always_allow=cfg.always_allow if cfg else (),
            pid=self.process.pid if self.process.returncode is None else None,
        )

    def set_status(self, status: str, error: str = "") -> None:
        self.status = status
        self.error = error
        if status != "connected":
            self.session = None
        if status == "starting":
            self.settled.clear()
        else:
            self.settled.set()
        self.manager._publish(self)

    def unavailable(self) -> str | None:
        """Why calls cannot go to this server right now (None if they can)."""
        if self.status == "connected" and self.session is not None:
            return None
        if self.status == "disabled":
            return f"MCP server '{self.name}' is disabled."
        if self.status in ("error", "untrusted"):
            return f"MCP server '{self.name}' is not available: {self.error}"
        return f"MCP server '{self.name}' is not connected (status: {self.status})."

    def mark_lost(self, reason: str) -> None:
        if not self._lost.is_set():
            self._lost_reason = reason
            self._lost.set()

    # --------------------------------------------------------- lifecycle

    def launch(self) -> None:
        """Start connecting in the background (or record why it will not)."""
        if self.untrusted is not None:
            self.set_status("untrusted", untrusted_reason(self.source, self.manager.workspace))
        elif self.config_error is not None:
            self.set_status("error", str(self.config_error))
        elif self.config is None or self.config.disabled:
            self.set_status("disabled")
        else:
            self._scope = anyio.CancelScope()
            self.set_status("starting")
            self._task = asyncio.create_task(self._run(self._scope), name=f"mcp:{self.name}")
            # Settled ones are dropped here, so the list stays short when nothing waits.
            fresh = [s for s in self.manager._fresh if not s.settled.is_set()]
            self.manager._fresh = [*fresh, self]

    def has_valid_settings(self) -> bool:
        """True if the server runs (or may run) on settings that passed validation."""
        return self.config is not None and self.config_error is None and self.untrusted is None

    async def shutdown(self) -> None:
        """Stop the connection and the server process; wait for both.

        Cancelled itself, it lets the cancellation through (a second call waits for the
        same connection to end)."""
        task = self._task
        if task is not None and self._scope is not None:
            self._scope.cancel()
            try:
                await asyncio.wait_for(asyncio.shield(task), STOP_TIMEOUT)
            except (TimeoutError, asyncio.CancelledError):
                if (current := asyncio.current_task()) and current.cancelling():
                    raise
        self._task = None
        self.tools = self.resources = self.templates = ()
        self.set_status("stopped")

    async def _run(self, scope: anyio.CancelScope) -> None:
        # Only a server that connected once is restarted: one that never did is
        # misconfigured, and retrying it would only repeat the same error.
        failures = 0
        ever_connected = False
        with scope:
            while True:
                began = time.monotonic()
                connected, error = await self._connect_once()
                ever_connected |= connected
                if not ever_connected or failures >= MAX_RESTARTS:
                    self.set_status("error", error)
                    return
                if time.monotonic() - began > STABLE_AFTER:
                    failures = 0
                delay = min(BACKOFF_BASE * 2**failures, BACKOFF_MAX)
                failures += 1
                self.set_status("error", f"{error}\n(restarting in {delay:g} s)")
                await anyio.sleep(delay)
                self.set_status("starting")

    async def _connect_once(self) -> tuple[bool, str]:
        """Connect and serve until the connection ends: (got connected?, why it ended)."""
        assert self.config is not None
        self._lost = anyio.Event()
        self._lost_reason = ""
        self.process = StdioProcess(exited=self._lost)
        connected = False
        try:
            sdk = await _load_sdk()
            async with AsyncExitStack() as stack:
                read, write = await stack.enter_async_context(self._transport(self.config))
                session = await stack.enter_async_context(
                    sdk.ClientSession(
                        read,
                        write,
                        client_info=sdk.Implementation(name="kilo-tui", version=__version__),
                    )
                )
                with anyio.fail_after(self.config.timeout):
                    await self._handshake(session)
                connected = True
                self.session = session
                self.set_status("connected")
                await self._lost.wait()
                self.session = None
        except Exception as exc:
            if isinstance(_flatten(exc), TimeoutError):
                text = f"the server did not finish starting within {self.config.timeout:g} s"
            else:
                text = self._lost_reason or _describe(exc)
            return connected, self._with_stderr(text)
        reason = self._lost_reason or f"the server exited (exit code {self.process.returncode})"
        return True, self._with_stderr(reason)

    def _with_stderr(self, text: str) -> str:
        tail = self.process.stderr_tail(5)
        return f"{text}\n{tail}" if tail else text

    @asynccontextmanager
    async def _transport(self, cfg: ServerConfig) -> AsyncIterator[tuple[Any, Any]]:
        if cfg.transport == "stdio":
            cwd = cfg.cwd or self.manager.workspace
            prefix = self.manager.launch_prefix(cfg, cwd)
            async with stdio_transport(
                cfg.command, cfg.args, cfg.env, cwd, self.process, prefix
            ) as streams:
                yield streams
            return
        import httpx2
        from mcp.client.sse import sse_client
        from mcp.client.streamable_http import streamable_http_client

        if cfg.transport == "sse":
            async with sse_client(cfg.url, headers=cfg.headers or None, timeout=cfg.timeout) as s:
                yield s
            return
        timeout = httpx2.Timeout(cfg.timeout, read=max(cfg.timeout, 300.0))
        async with (
            httpx2.AsyncClient(headers=cfg.headers, timeout=timeout) as client,
            streamable_http_client(cfg.url, http_client=client) as (read, write),
        ):
            yield read, write

    async def _handshake(self, session: Any) -> None:
        init = await session.initialize()
        caps = init.capabilities
        self.instructions = (init.instructions or "").strip()
        tools: list[Any] = []
        if caps.tools is not None:
            tools = await _all_pages(session.list_tools, "tools")
        self.tools = tuple(
            ToolInfo(t.name, (t.description or "").strip(), dict(t.input_schema or {}))
            for t in tools
        )
        if caps.resources is not None:
            resources = await _optional_pages(session.list_resources, "resources")
            templates = await _optional_pages(session.list_resource_templates, "resource_templates")
            self.resources = tuple(_resource(r, r.uri) for r in resources)
            self.templates = tuple(_resource(t, t.uri_template) for t in templates)


async def _all_pages(method: Any, attribute: str, max_pages: int = 50) -> list[Any]:
    """Every item of a paginated list request (bounded, against a server that never ends)."""
    import mcp_types

    items: list[Any] = []
    cursor: str | None = None
    for _ in range(max_pages):
        params = mcp_types.PaginatedRequestParams(cursor=cursor) if cursor else None
        page = await method(params=params)
        items.extend(getattr(page, attribute))
        cursor = page.next_cursor
        if not cursor:
            break
    return items


async def _optional_pages(method: Any, attribute: str) -> list[Any]:
    """Like :func:`_all_pages`, but a server error means "none": many servers declare
    resources yet do not implement every list method."""
    from mcp import MCPError

    try:
        return await _all_pages(method, attribute)
    except MCPError:
        return []


def _resource(item: Any, uri: Any) -> ResourceInfo:
    return ResourceInfo(
        str(uri), item.name or "", (item.description or "").strip(), item.mime_type or ""
    )


class McpManager:
    """All MCP servers of one workspace: lifecycle, calls, settings, prompt text."""

    def __init__(
        self,
        workspace: Path,
        bus: EventBus | None = None,
        *,
        sandbox: SandboxSettings | None = None,
    ) -> None:
        self.workspace = Path(workspace).resolve()
        self.bus = bus if bus is not None else EventBus()
        """Where status changes are published (a private bus if none was given)."""
        self.sandbox = sandbox or SandboxSettings()
        """The user's ``[sandbox]`` settings: project-file servers run confined unless off."""
        self.config_errors: tuple[ConfigError, ...] = ()
        """Problems with a whole settings file (its servers could not be read at all)."""
        self._servers: dict[str, _Server] = {}
        self._started = False
        self._fingerprint: tuple[Any, ...] | None = None
        """What the settings applied last were read from (see ``McpConfig.fingerprint``)."""
        self._lock = asyncio.Lock()
        """One reading and applying of the settings at a time."""
        self._fresh: list[_Server] = []
        """Servers launched since :meth:`wait_for_launched` last ran."""
        self._follower: asyncio.Task[None] | None = None

    def launch_prefix(self, cfg: ServerConfig, cwd: Path) -> tuple[str, ...] | None:
        """How a stdio server is started: a server from the project's ``mcp.json`` (which
        the user did not necessarily write) runs in the sandbox, the workspace read-only
        unless its entry says ``"sandbox": "workspace-write"``; the user's own servers
        run as the user (None: the transport's default)."""
        if cfg.source != project_config_path(self.workspace) or self.sandbox.mode == "off":
            return None
        mode = "read-only" if self.sandbox.mode == "read-only" else cfg.sandbox
        settings = SandboxSettings(mode=mode, network=cfg.network or self.sandbox.network)
        confinement = Sandbox(settings, self.workspace).confinement(cwd)
        return confinement.prefix if confinement.sandboxed else None

    # ---------------------------------------------------------- lifecycle

    async def start(self) -> None:
        """Read the settings, start every enabled server in the background, and follow
        the settings files from then on."""
        if self._started:
            return
        self._started = True
        self._servers = {}
        async with self._lock:
            config = load_config(self.workspace)
            await self._apply(config)
            self._announce_file_errors(config)
        self._follower = asyncio.create_task(self._follow_settings(), name="mcp:settings")

    async def stop(self) -> None:
        """Stop following the settings, stop every server and wait until their
        processes are gone."""
        follower, self._follower = self._follower, None
        if follower is not None:
            follower.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await follower
        async with self._lock:  # after a reload in progress: none starts a server after
            await asyncio.gather(*(s.shutdown() for s in self._servers.values()))
            self._started = False

    async def reload(self) -> None:
        """Re-read the settings and apply what changed: start new servers, stop removed
        ones, restart those whose connection changed; the others keep running untouched.

        A file that cannot be read, or an entry that became invalid, keeps the servers
        concerned running on their last good settings; the user is told. Nothing
        happens when the files (and the project file's trust) are as at the last
        reading. Does nothing before :meth:`start`.
        """
        async with self._lock:
            if not self._started:
                return
            config = load_config(self.workspace)
            if config.fingerprint == self._fingerprint:
                return
            project = project_config_path(self.workspace)
            trusted_before = {
                n
                for n, s in self._servers.items()
                if s.source == project and s.has_valid_settings()
            }
            changes = await self._apply(config)
            self._announce_changes(config, changes, trusted_before)

    async def _follow_settings(self) -> None:
        """Apply edits of the settings files while running, once the writing paused. The
        trust store is followed too: a trust given in another terminal applies."""
        touched = asyncio.Event()
        files = (
            global_config_path(),
            project_config_path(self.workspace),
            trust.trusted_store_file(),
        )
        async with watching(files, lambda _path: touched.set()):
            touched.set()  # for an edit made after start() read the files
            while True:
                await touched.wait()
                while touched.is_set():
                    touched.clear()
                    await asyncio.sleep(SETTINGS_QUIET)
                try:
                    await self.reload()
                except Exception:  # a bad edit must never end the following
                    log.exception("applying the edited MCP settings failed")

    async def _apply(self, config: McpConfig) -> _Changes:
        """Make the running servers match ``config`` (see :meth:`reload`)."""
        self.config_errors = config.file_errors
        changes = _Changes()
        unreadable = {e.path for e in config.file_errors}
        frozen = {n for n, s in self._servers.items() if str(s.source) in unreadable}
        changes.removed = [n for n in self._servers if n not in config.sources and n not in frozen]
        await asyncio.gather(*(self._servers[n].shutdown() for n in changes.removed))
        for name in changes.removed:
            del self._servers[name]
        for name in config.sources:
            if name in frozen:
                continue
            old, new = self._servers.get(name), self._new_server(config, name)
            if old is not None and _same_connection(old, new):
                old.config = new.config
                continue
            if old is not None and new.config_error is not None and old.has_valid_settings():
                changes.kept[name] = new.config_error
                continue
            if old is not None:
                await old.shutdown()
            (changes.added if old is None else changes.restarted).append(name)
            self._servers[name] = new
            new.launch()
        self.config_errors += tuple(changes.kept.values())
        # Last: settings that failed half-way are applied again at the next reading.
        self._fingerprint = config.fingerprint
        return changes

    async def restart(self, name: str) -> None:
        """Stop the server (if running) and connect it again."""
        async with self._lock:  # never beside a reload, which may replace or remove it
            server = self._get(name)
            await server.shutdown()
            server.launch()

    async def set_enabled(self, name: str, enabled: bool) -> None:
        """Enable or disable a server, persisting ``disabled`` in the file it comes from."""
        server = self._get(name)
        with trust.keeping_trust(server.source):
            update_entry(
                server.source, name, lambda entry: entry.__setitem__("disabled", not enabled)
            )
        await self.reload()

    async def wait_for_launched(self, timeout: float) -> None:
        """Wait (at most ``timeout`` seconds) until the servers launched since the last
        call connected or failed: the next request can then describe their tools."""
        fresh, self._fresh = self._fresh, []
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.gather(*(s.settled.wait() for s in fresh)), timeout)

    async def wait_until_settled(self, timeout: float) -> None:
        """Wait (at most ``timeout`` seconds) until no server is still starting."""
        waits = [s.settled.wait() for s in self._servers.values()]
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.gather(*waits), timeout)

    # --------------------------------------------------------------- state

    def servers(self) -> list[ServerState]:
        """Every configured server (including broken and disabled ones), in file order."""
        return [s.snapshot() for s in self._servers.values()]

    def server(self, name: str) -> ServerState | None:
        server = self._servers.get(name)
        return server.snapshot() if server else None

    def config_file_for(self, server: str) -> Path:
        """The settings file that defines ``server``."""
        return self._get(server).source

    def is_always_allowed(self, server: str, tool: str) -> bool:
        """True if ``tool`` is in the server's ``alwaysAllow`` list."""
        entry = self._servers.get(server)
        return bool(entry and entry.config and tool in entry.config.always_allow)

    def add_always_allow(self, server: str, tool: str) -> None:
        """Add ``tool`` to ``alwaysAllow`` in the file that defines ``server``."""
        entry = self._get(server)
        if entry.config is None or tool in entry.config.always_allow:
            return

        def add(raw: dict[str, Any]) -> None:
            allowed = raw.setdefault("alwaysAllow", [])
            if tool not in allowed:
                allowed.append(tool)

        with trust.keeping_trust(entry.source):
            update_entry(entry.source, server, add)
        always = (*entry.config.always_allow, tool)
        entry.config = dataclasses.replace(entry.config, always_allow=always)
        self._publish(entry)

    # --------------------------------------------------------------- calls

    def check_server(self, server: str) -> str | None:
        """Why ``server`` cannot take calls (None if it can, or is still starting)."""
        entry = self._servers.get(server)
        if entry is None:
            return self._unknown_server(server)
        return None if entry.status == "starting" else entry.unavailable()

    def check_call(self, server: str, tool: str, arguments: dict[str, Any]) -> str | None:
        """Why this call would fail before reaching the server (None if it looks fine).

        A server still starting passes: :meth:`call_tool` waits for it.
        """
        if (problem := self.check_server(server)) is not None:
            return problem
        entry = self._servers[server]
        if entry.status == "starting":
            return None
        info = next((t for t in entry.tools if t.name == tool), None)
        if info is None:
            names = ", ".join(t.name for t in entry.tools) or "none"
            return f"MCP server '{server}' has no tool '{tool}'. Its tools: {names}."
        if errors := argument_errors(info.input_schema, arguments):
            details = "\n".join(f"- {e}" for e in errors)
            schema = json.dumps(info.input_schema, indent=2)
            return f"Invalid arguments for {server}/{tool}:\n{details}\nInput schema:\n{schema}"
        return None

    async def call_tool(self, server: str, tool: str, arguments: dict[str, Any]) -> McpResult:
        """Call ``tool`` on ``server`` after validating ``arguments`` against its schema."""
        entry = await self._ready(server)
        if isinstance(entry, McpResult):
            return entry
        if (problem := self.check_call(server, tool, arguments)) is not None:
            return McpResult.error(problem)
        assert entry.config is not None
        try:
            result = await entry.session.call_tool(
                tool, arguments, read_timeout_seconds=entry.config.timeout
            )
        except Exception as exc:
            return McpResult.error(self._call_failed(entry, f"{server}/{tool}", exc))
        return format_call_result(result)

    async def read_resource(self, server: str, uri: str) -> McpResult:
        """Read a resource; its text contents (and notes for binary ones) as one result."""
        entry = await self._ready(server)
        if isinstance(entry, McpResult):
            return entry
        assert entry.config is not None
        try:
            with anyio.fail_after(entry.config.timeout):
                result = await entry.session.read_resource(uri)
        except Exception as exc:
            return McpResult.error(self._call_failed(entry, f"{server} resource {uri}", exc))
        text = "\n\n".join(format_resource_contents(c) for c in result.contents)
        return McpResult(text or "(the resource is empty)")

    async def _ready(self, server: str) -> _Server | McpResult:
        """The connected server, waiting if it is still starting, or an error result."""
        entry = self._servers.get(server)
        if entry is None:
            return McpResult.error(self._unknown_server(server))
        if entry.status == "starting" and entry.config is not None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(entry.settled.wait(), entry.config.timeout)
        if (problem := entry.unavailable()) is not None:
            return McpResult.error(problem)
        return entry

    def _call_failed(self, entry: _Server, what: str, exc: Exception) -> str:
        """Describe a failed request; a broken connection also marks the server lost."""
        import httpx2
        from mcp import MCPError
        from mcp_types import CONNECTION_CLOSED, REQUEST_TIMEOUT

        exc = _flatten(exc)  # type: ignore[assignment]
        if (isinstance(exc, MCPError) and exc.code == REQUEST_TIMEOUT) or isinstance(
            exc, TimeoutError
        ):
            assert entry.config is not None
            return f"{what} timed out after {entry.config.timeout:g} s."
        if isinstance(exc, MCPError) and exc.code != CONNECTION_CLOSED:
            return f"{what} failed: the server answered with error {exc.code}: {exc.message}"
        if isinstance(
            exc,
            MCPError
            | httpx2.HTTPError
            | OSError
            | anyio.BrokenResourceError
            | anyio.ClosedResourceError,
        ):
            reason = f"the connection was lost during a call to {what} ({_describe(exc)})"
            entry.mark_lost(reason)
            return f"MCP server '{entry.name}' stopped responding: {reason}. It will be restarted."
        return f"{what} failed: {_describe(exc)}"

    def _unknown_server(self, server: str) -> str:
        names = ", ".join(self._servers) or "none are configured"
        return f"Unknown MCP server '{server}'. Configured servers: {names}."

    # ----------------------------------------------------------- prompt

    def tools_description(self) -> str:
        """The system prompt's MCP SERVERS section: connected servers, tools, resources."""
        from kilo_tui.core.mcp.prompt import describe_servers

        return describe_servers(s.snapshot() for s in self._servers.values())

    # ----------------------------------------------------------- helpers

    def _get(self, name: str) -> _Server:
        try:
            return self._servers[name]
        except KeyError:
            raise KeyError(f"unknown MCP server {name!r}") from None

    def _announce_file_errors(self, config: McpConfig) -> None:
        """Say which settings files could not be read, and what keeps running instead."""
        for error in config.file_errors:
            kept = [n for n, s in self._servers.items() if str(s.source) == error.path]
            message = f"MCP settings ignored: {error}"
            if kept:
                message += (
                    f". Its servers keep running with their last good settings: {', '.join(kept)}."
                )
            self.bus.publish(Notice(message=message, level="error"))

    def _announce_changes(
        self, config: McpConfig, changes: _Changes, trusted_before: set[str]
    ) -> None:
        """Tell the user what an edit of the settings did, and what it could not do."""
        self._announce_file_errors(config)
        for name, error in changes.kept.items():
            message = (
                f"MCP settings ignored: {error}. {name} keeps running with its last good settings."
            )
            self.bus.publish(Notice(message=message, level="error"))
        untrusted = []
        for name in [*changes.added, *changes.restarted]:
            server = self._servers[name]
            if server.config_error is not None:
                message = f"MCP server {name} not started: {server.config_error}"
                self.bus.publish(Notice(message=message, level="error"))
            elif server.untrusted is not None:
                untrusted.append(name)
        if untrusted:
            self.bus.publish(
                Notice(message=self._untrusted_notice(untrusted, trusted_before), level="warning")
            )
        self.bus.publish(
            McpSettingsReloaded(
                added=tuple(changes.added),
                removed=tuple(changes.removed),
                restarted=tuple(changes.restarted),
                errors=tuple(str(e) for e in self.config_errors),
                untrusted=tuple(untrusted),
            )
        )

    def _untrusted_notice(self, names: list[str], trusted_before: set[str]) -> str:
        """Why project servers do not run: an edit undid the trust (``trusted_before``:
        the project servers that ran trusted), or the file was never trusted."""
        path = project_config_path(self.workspace)
        if not trusted_before.intersection(names):
            return trust.mcp_warning(self.workspace) or untrusted_reason(path, self.workspace)
        return (
            f"{path} changed since you trusted it, so its MCP servers ({', '.join(names)}) "
            "are stopped and none of it runs. Review the file, then run `kilo-tui config "
            "trust` in this workspace (or answer the prompt in kilo-tui) to start them."
        )

    def _new_server(self, config: McpConfig, name: str) -> _Server:
        return _Server(
            self,
            name,
            config.sources[name],
            config.servers.get(name),
            config.broken.get(name),
            config.untrusted.get(name),
        )

    def _publish(self, server: _Server) -> None:
        self.bus.publish(
            McpStatusChanged(
                server=server.name,
                status=server.status,
                error=server.error,
                tools=len(server.tools),
                resources=len(server.resources) + len(server.templates),
            )
        )


def untrusted_reason(source: Path, workspace: Path) -> str:
    """Why a project server is not started, and how the user can start it."""
    return (
        f"not trusted: {source} has not been trusted, so its servers do not start. "
        f"Review it, then run `kilo-tui config trust --path {workspace}` "
        "(or answer the prompt in kilo-tui)."
    )


@dataclass
class _Changes:
    """What applying settings did, by server name."""

    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    restarted: list[str] = field(default_factory=list)
    kept: dict[str, ConfigError] = field(default_factory=dict)
    """Servers whose entry became invalid: they keep running on their last good settings."""


def _same_connection(old: _Server, new: _Server) -> bool:
    """True if ``new`` can keep ``old``'s connection (only alwaysAllow/timeout changed)."""
    if old.config_error is not None or new.config_error is not None:
        return False
    if old.untrusted is not None or new.untrusted is not None:
        return False
    if old.config is None or new.config is None:
        return False
    return (
        old.config.disabled == new.config.disabled
        and old.config.connection() == new.config.connection()
        and old.source == new.source
    )
