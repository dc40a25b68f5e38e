"""Helpers shared by the MCP tests: server entries, HTTP servers, waiting on status."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from kilo_tui.core.events import McpStatusChanged
from kilo_tui.core.mcp import McpManager, ServerState
from kilo_tui.core.trust import project as trust

TOY = Path(__file__).with_name("toy_server.py")
TOY_ENTRY: dict[str, Any] = {"command": sys.executable, "args": [str(TOY)]}
TIME_ENTRY: dict[str, Any] = {"command": sys.executable, "args": ["-m", "mcp_server_time"]}


def write_settings(path: Path, servers: dict[str, Any]) -> Path:
    """Write an ``mcpServers`` settings file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"mcpServers": servers}, indent=2))
    return path


def project_settings(
    workspace: Path, servers: dict[str, Any], *, trusted: bool = True, home: Path | None = None
) -> Path:
    """Write the project's ``.kilocode/mcp.json``, trusted (as ``kilo-tui config trust``
    would) in ``home``, or in the current ``KILO_TUI_HOME`` if not given."""
    path = write_settings(workspace / ".kilocode" / "mcp.json", servers)
    if trusted:
        with pytest.MonkeyPatch.context() as env:
            if home is not None:
                env.setenv("KILO_TUI_HOME", str(home))
            assert os.environ.get("KILO_TUI_HOME"), "trust in a test home, not the user's"
            trust.trust(path)
    return path


class StatusLog:
    """Records every McpStatusChanged of a manager's bus."""

    def __init__(self, manager: McpManager) -> None:
        self.events: list[McpStatusChanged] = []
        manager.bus.subscribe(self.events.append, McpStatusChanged)

    def statuses(self, server: str) -> list[str]:
        return [e.status for e in self.events if e.server == server]


async def wait_for(
    manager: McpManager, server: str, status: str, timeout: float = 20
) -> ServerState:
    """Wait until ``server`` has ``status``; fail with its last state otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = manager.server(server)
        if state is not None and state.status == status:
            return state
        await asyncio.sleep(0.05)
    raise AssertionError(f"{server} never reached {status!r}: {manager.server(server)}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def toy_http_server(transport: str, port: int | None = None) -> Iterator[str]:
    """Run the toy server over ``streamable-http`` or ``sse``; yield its URL."""
    port = port or free_port()
    proc = subprocess.Popen(
        [sys.executable, str(TOY), "--transport", transport, "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError(f"toy {transport} server did not start") from None
                time.sleep(0.05)
        path = "/mcp" if transport == "streamable-http" else "/sse"
        yield f"http://127.0.0.1:{port}{path}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def pids_with(marker: str) -> list[int]:
    """Live processes whose command line contains ``marker`` (seen from here, so it also
    finds processes that run in a sandbox's PID namespace, where their own pid differs)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and entry.name != str(os.getpid()):
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if marker in cmdline and alive(int(entry.name)):
                found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    """True if ``pid`` is a running process (a zombie, left to a non-reaping init, is dead)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:  # no /proc (macOS): kill(0) is all we have
        return True
