"""The stdio transport: an MCP server as a child process that dies with kilo-tui.

The SDK's own ``stdio_client`` starts each server in a new session, so a signal to
kilo-tui's process group (a terminal closing, ``kill -- -PGID``) never reaches it and
the server outlives us. This transport keeps servers in our process group instead, and
captures their stderr in memory so an error can show its tail.

Shutdown follows the MCP spec: close stdin, give the server a grace period, then
SIGTERM, then SIGKILL. Every step is bounded and shielded from cancellation, so a
cancelled connection can neither leak the process nor hang on it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import signal
from collections import deque
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
from anyio.abc import ObjectReceiveStream, ObjectSendStream, Process

from kilo_tui.core.trust.sandbox import parent_death_prefix
from kilo_tui.core.trust.secrets import child_env

if TYPE_CHECKING:
    from mcp.shared.message import SessionMessage

GRACE_PERIOD = 2.0
"""Seconds a server gets to exit on its own after its stdin closes (and after SIGTERM)."""
STDERR_LINES = 40


@dataclass
class StdioProcess:
    """What the manager can see of a running stdio server."""

    pid: int | None = None
    returncode: int | None = None
    stderr: deque[str] = field(default_factory=lambda: deque(maxlen=STDERR_LINES))
    exited: anyio.Event = field(default_factory=anyio.Event)
    """Set when the server's stdout closes: it exited or crashed."""

    def stderr_tail(self, lines: int = 15) -> str:
        return "\n".join(list(self.stderr)[-lines:])


@asynccontextmanager
async def stdio_transport(
    command: str,
    args: tuple[str, ...],
    env: dict[str, str],
    cwd: Path | None,
    watch: StdioProcess,
    prefix: Sequence[str] | None = None,
) -> AsyncIterator[
    tuple[ObjectReceiveStream[SessionMessage | Exception], ObjectSendStream[SessionMessage]]
]:
    """Start ``command`` and yield the (read, write) message streams a ``ClientSession`` uses.

    ``prefix`` wraps the command (a sandbox); by default ``setpriv --pdeathsig TERM``, so
    the server is told to stop when kilo-tui dies, even by SIGKILL of its process alone.
    Raises ``OSError`` (e.g. ``FileNotFoundError``) if the command cannot be started.
    """
    from mcp.client.stdio import get_default_environment

    # The SDK's minimal environment (HOME, PATH, …), never a credential, then the
    # entry's own explicit env.
    full_env = child_env(base=get_default_environment(), extra=env)
    if prefix is None:
        prefix = parent_death_prefix("TERM")
    if prefix:
        # Behind a wrapper a missing command would only show as the wrapper's own error.
        _require_executable(command, full_env.get("PATH"), cwd)
    process = await anyio.open_process([*prefix, command, *args], env=full_env, cwd=cwd)
    watch.pid = process.pid
    to_session, read_stream = anyio.create_memory_object_stream["SessionMessage | Exception"](0)
    write_stream, from_session = anyio.create_memory_object_stream["SessionMessage"](0)
    async with anyio.create_task_group() as tg:
        tg.start_soon(_read_stdout, process, to_session, watch)
        tg.start_soon(_write_stdin, process, from_session)
        tg.start_soon(_read_stderr, process, watch)
        try:
            yield read_stream, write_stream
        finally:
            with anyio.CancelScope(shield=True):
                await _stop(process)
                watch.returncode = process.returncode
                for stream in (read_stream, write_stream, to_session, from_session):
                    await stream.aclose()
            tg.cancel_scope.cancel()


async def _read_stdout(
    process: Process, to_session: ObjectSendStream[SessionMessage | Exception], watch: StdioProcess
) -> None:
    import mcp_types
    from mcp.shared.message import SessionMessage

    assert process.stdout is not None
    buffer = b""
    try:
        async with to_session:
            async for chunk in process.stdout:
                *lines, buffer = (buffer + chunk).split(b"\n")
                for line in lines:
                    if not line.strip():
                        continue
                    item: SessionMessage | Exception
                    try:
                        message = mcp_types.jsonrpc_message_adapter.validate_json(
                            line, by_name=False
                        )
                        item = SessionMessage(message)
                    except ValueError as exc:  # the session reports it; the server keeps running
                        item = exc
                    await to_session.send(item)
    except (anyio.ClosedResourceError, anyio.BrokenResourceError, OSError):
        pass
    finally:
        watch.returncode = process.returncode
        watch.exited.set()


async def _write_stdin(process: Process, from_session: ObjectReceiveStream[SessionMessage]) -> None:
    assert process.stdin is not None
    with contextlib.suppress(anyio.ClosedResourceError, anyio.BrokenResourceError, OSError):
        async with from_session:
            async for message in from_session:
                data = message.message.model_dump_json(by_alias=True, exclude_unset=True)
                await process.stdin.send(data.encode() + b"\n")


async def _read_stderr(process: Process, watch: StdioProcess) -> None:
    assert process.stderr is not None
    buffer = b""
    with contextlib.suppress(anyio.ClosedResourceError, anyio.BrokenResourceError, OSError):
        async for chunk in process.stderr:
            *lines, buffer = (buffer + chunk).split(b"\n")
            watch.stderr.extend(line.decode(errors="replace").rstrip() for line in lines)
    if buffer:
        watch.stderr.append(buffer.decode(errors="replace").rstrip())


async def _stop(process: Process) -> None:
    """Close stdin, wait, SIGTERM, wait, SIGKILL: the spec's shutdown, every wait bounded."""
    assert process.stdin is not None
    with contextlib.suppress(OSError, anyio.BrokenResourceError, anyio.ClosedResourceError):
        await process.stdin.aclose()
    for sig in (None, signal.SIGTERM, signal.SIGKILL):
        if sig is not None and process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(sig)
        if await _exited(process, GRACE_PERIOD):
            return


async def _exited(process: Process, timeout: float) -> bool:
    # Poll returncode rather than process.wait(): on 3.11+ wait() also waits for the
    # pipes to close, which a grandchild holding them can delay forever.
    with anyio.move_on_after(timeout):
        while process.returncode is None:
            await anyio.sleep(0.02)
    return process.returncode is not None


def _require_executable(command: str, search_path: str | None, cwd: Path | None) -> None:
    """Raise FileNotFoundError, as starting it would, if ``command`` cannot be run."""
    if os.sep in command:
        candidate = Path(command) if os.path.isabs(command) else Path(cwd or ".") / command
        found = candidate.is_file() and os.access(candidate, os.X_OK)
    else:
        found = shutil.which(command, path=search_path) is not None
    if not found:
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), command)
