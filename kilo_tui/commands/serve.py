"""``kilo-tui serve``: the full TUI in a web browser, through textual-serve.

Each browser tab that opens the page starts its own ``kilo-tui`` process on the same
workspace, with the same config and session store, so a task started in the browser
can be continued in the terminal and the other way round.

Whoever reaches the page drives an agent that can run commands, so it binds to
127.0.0.1 unless ``--allow-remote`` says otherwise (with a warning). And since any web
site open in the user's own browser could try to talk to a local server, requests
whose ``Origin`` is another site (cross-site WebSocket hijacking) are refused, and so,
when serving locally, are requests for a host name other than a loopback one (DNS
rebinding).
"""

from __future__ import annotations

import argparse
import ipaddress
import shlex
import socket
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from kilo_tui.cli import NO_SANDBOX_FLAG, NO_SANDBOX_HELP

DEFAULT_PORT = 8000
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
REMOTE_WARNING = (
    "kilo-tui serve: WARNING: listening on {host}, not only on this machine. Whoever can "
    "reach {url} drives an agent that can read and change {workspace} and run commands "
    "there, with your rights. There is no password: use a trusted network, or an SSH "
    "tunnel to a 127.0.0.1 server instead."
)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="the full TUI in a web browser (127.0.0.1 only by default)",
        description="Serve the full kilo-tui app to a web browser: every tab that opens "
        "the page runs kilo-tui on the same workspace, with the same settings and "
        "sessions. Listens on 127.0.0.1 only unless --allow-remote is given.",
    )
    parser.add_argument("--path", default=".", help="workspace directory (default: .)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help=f"port (default {DEFAULT_PORT}; 0: any free port)",
    )
    parser.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow a --host other than this machine (anyone reaching it drives the agent)",
    )
    parser.add_argument("--model", help="model for this run (litellm string)")
    parser.add_argument("--mode", help="mode slug for this run")
    parser.add_argument(NO_SANDBOX_FLAG, action="store_true", help=NO_SANDBOX_HELP)
    parser.set_defaults(func=serve_command)


def serve_command(args: argparse.Namespace) -> int:
    workspace = Path(args.path).expanduser()
    if not workspace.is_dir():
        print(f"kilo-tui: not a directory: {args.path}", file=sys.stderr)
        return 2
    workspace = workspace.resolve()
    local = is_loopback(args.host)
    if not local and not args.allow_remote:
        print(
            f"kilo-tui: refusing to listen on {args.host}: whoever reaches the page drives "
            "an agent that can run commands. Add --allow-remote to do it anyway.",
            file=sys.stderr,
        )
        return 2
    if not 0 <= args.port <= 65535:
        print(f"kilo-tui: --port must be between 0 and 65535, got {args.port}", file=sys.stderr)
        return 2
    try:
        port = args.port or free_port(args.host)
    except OSError as exc:
        print(f"kilo-tui: cannot listen on {args.host}: {exc.strerror}", file=sys.stderr)
        return 2
    url = f"http://{_url_host(args.host)}:{port}"
    if not local:
        print(REMOTE_WARNING.format(host=args.host, url=url, workspace=workspace), file=sys.stderr)
    print(f"kilo-tui serve: open {url} (workspace {workspace}); Ctrl+C stops", flush=True)
    server = _server_class()(
        app_command(workspace, args), host=args.host, port=port, local_only=local
    )
    server.serve()
    return 0


def app_command(workspace: Path, args: argparse.Namespace) -> str:
    """The shell command textual-serve runs for each browser tab: this kilo-tui, on
    this workspace, with this run's overrides."""
    argv = [sys.executable, "-m", "kilo_tui.cli", str(workspace)]
    for flag, value in (("--model", args.model), ("--mode", args.mode)):
        if value:
            argv += [flag, value]
    if args.no_sandbox:
        argv.append(NO_SANDBOX_FLAG)
    return shlex.join(argv)


def is_loopback(host: str) -> bool:
    """Whether ``host`` is only reachable from this machine."""
    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def free_port(host: str) -> int:
    """A port nobody listens on now (for ``--port 0``: textual-serve must know its
    port before it starts, to tell the page where its WebSocket is)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host.strip("[]"), 0))
        return int(sock.getsockname()[1])


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def _server_class() -> type:
    """textual-serve's server, guarded against other web sites (imported only here:
    it pulls in aiohttp)."""
    import aiohttp_jinja2
    from aiohttp import web
    from textual_serve.server import Server

    class GuardedServer(Server):  # type: ignore[misc]
        def __init__(self, command: str, *, host: str, port: int, local_only: bool) -> None:
            super().__init__(command, host=host, port=port, title="kilo-tui")
            self.local_only = local_only
            self.loopback_hosts = {f"{name}:{port}" for name in LOOPBACK_NAMES}

        async def _make_app(self) -> web.Application:
            app = await super()._make_app()
            app.middlewares.append(self.same_origin_only)
            return app

        @web.middleware
        async def same_origin_only(self, request: web.Request, handler: Any) -> Any:
            host = request.host.lower()
            if self.local_only and host not in self.loopback_hosts:
                raise web.HTTPForbidden(
                    text=f"kilo-tui serve answers for 127.0.0.1 only, not {host}"
                )
            origin = request.headers.get("Origin")
            if origin and urlsplit(origin).netloc.lower() != host:
                raise web.HTTPForbidden(text="kilo-tui serve refuses requests from other sites")
            return await handler(request)

        @aiohttp_jinja2.template("app_index.html")
        async def handle_index(self, request: web.Request) -> dict[str, Any]:
            # The page's WebSocket address is the one the browser used to reach us
            # (localhost or 127.0.0.1, or this machine's name from afar).
            self.public_url = f"http://{request.host}"
            return await Server.handle_index.__wrapped__(self, request)  # type: ignore[no-any-return]

    return GuardedServer
