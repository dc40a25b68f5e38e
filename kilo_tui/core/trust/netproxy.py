"""The sandbox's network filter: sandboxed commands reach only ``[sandbox] allowed_domains``.

Built the way Anthropic's sandbox-runtime does it. A sandboxed command keeps its own
network namespace (no network at all); kilo-tui runs this small HTTP proxy outside the
sandbox, in a thread of its own with its own asyncio loop, listening on a unix socket
(a private directory in the temp dir, bind-mounted read-only into the sandbox) and, for
macOS's Seatbelt which can only allow localhost, on a 127.0.0.1 TCP port. Inside the
sandbox a tiny bridge (:data:`BRIDGE`, run by kilo-tui's own Python) listens on
127.0.0.1 in the sandbox's namespace and forwards to the socket; ``HTTP_PROXY``,
``HTTPS_PROXY`` and ``ALL_PROXY`` (and their lowercase forms) point at it.

The proxy understands ``CONNECT host:port`` (HTTPS and any other tunnelled protocol) and
plain HTTP requests in absolute form. It decides on the host the client *names*, before
any DNS lookup: exact names and ``*.example.com`` (subdomains only) from the allowed
list; an IP address only when that very address is listed (a name never allows an IP,
so ``CONNECT 93.184.216.34:443`` is refused when only ``example.com`` is allowed), and
numeric forms that are not plain dotted quads or IPv6 (``127.1``, ``0x7f000001``,
``2130706433``) are always refused. A plain HTTP request whose ``Host`` header names
another host than its URL is refused too. Everything else gets ``403`` with a message
naming the host and how the user can allow it, and is recorded so the tool result can
say so (see :meth:`DomainProxy.blocked_since`).

Not covered (as with any proxy that does not decrypt TLS): inside an allowed CONNECT
tunnel, the TLS server name and HTTP ``Host`` are the client's business, so a service
fronting many domains behind one allowed name ("domain fronting") is reachable; and
programs that ignore the proxy variables get no network at all.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import ipaddress
import re
import shutil
import tempfile
import threading
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from urllib.parse import urlsplit

HEAD_LIMIT = 64 * 1024
"""Longest request head (request line and headers) the proxy reads."""
HEAD_TIMEOUT = 30.0
CONNECT_TIMEOUT = 30.0
START_TIMEOUT = 10.0

Streams = tuple[asyncio.StreamReader, asyncio.StreamWriter]
Connector = Callable[[str, int], Awaitable[Streams]]
"""Opens the upstream connection (tests may resolve names their own way)."""

_HOSTNAME = re.compile(r"[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*")
_NUMERIC = re.compile(r"(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+))*")
"""Every label a number: ``inet_aton`` would read it as an address (``127.1``, ``0x7f.1``)."""
_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "proxy-authorization", "proxy-authenticate",
     "te", "trailer", "upgrade"}
)  # fmt: skip

BRIDGE = """\
import os, socket, sys, threading
path = sys.argv[1]
server = socket.socket()
server.bind(("127.0.0.1", 0))
server.listen(128)
if os.fork():
    print(server.getsockname()[1], flush=True)
    os._exit(0)
null = os.open(os.devnull, os.O_RDWR)
for fd in (0, 1, 2):
    os.dup2(null, fd)

def pump(src, dst):
    try:
        while data := src.recv(65536):
            dst.sendall(data)
    except OSError:
        pass
    try:
        dst.shutdown(socket.SHUT_WR)
    except OSError:
        pass

def serve(client):
    upstream = socket.socket(socket.AF_UNIX)
    try:
        upstream.connect(path)
    except OSError:
        client.close()
        upstream.close()
        return
    back = threading.Thread(target=pump, args=(upstream, client), daemon=True)
    back.start()
    pump(client, upstream)
    back.join()
    client.close()
    upstream.close()

while True:
    client, _ = server.accept()
    threading.Thread(target=serve, args=(client,), daemon=True).start()
"""
"""Runs inside the sandbox: listens on 127.0.0.1 (a free port, printed once it listens,
then it detaches), forwards each connection to the proxy's unix socket (``argv[1]``)."""

PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")

BRIDGE_WRAPPER = (
    'port=$("$1" -I -S -c "$3" "$2") || '
    "{ echo 'kilo-tui: the sandbox network proxy did not start' >&2; exit 125; }; "
    'shift 3; url="http://127.0.0.1:$port"; '
    + " ".join(f'{v}="$url" {v.lower()}="$url"' for v in PROXY_VARIABLES)
    + "; export "
    + " ".join(f"{v} {v.lower()}" for v in PROXY_VARIABLES)
    + '; unset NO_PROXY no_proxy; exec "$@"'
)
"""``sh -c`` script: start :data:`BRIDGE` (``$1`` python, ``$2`` socket, ``$3`` bridge
source), point the proxy variables at it, then run the command (the rest of ``$@``)."""


class DomainPolicy:
    """Which hosts a sandboxed command may reach: ``allowed_domains``, strictly."""

    def __init__(self, allowed: Iterable[str]) -> None:
        self.names: set[str] = set()
        self.suffixes: set[str] = set()
        self.addresses: set[ipaddress.IPv4Address | ipaddress.IPv6Address] = set()
        self.rejected: list[str] = []
        """Entries that are none of the above (a URL, a port, ``*example.com``…)."""
        for entry in allowed:
            name = _normal(entry)
            if name.startswith("*.") and _HOSTNAME.fullmatch(name[2:]):
                self.suffixes.add(name[1:])
            elif (address := _address(name)) is not None:
                self.addresses.add(address)
            elif _HOSTNAME.fullmatch(name) and not _NUMERIC.fullmatch(name):
                self.names.add(name)
            else:
                self.rejected.append(entry)

    def allows(self, host: str) -> bool:
        """Whether ``host`` (as the client named it) may be reached."""
        name = _normal(host)
        if name.startswith("[") and name.endswith("]"):
            name = name[1:-1]
        if ":" in name or _NUMERIC.fullmatch(name):
            address = _address(name)
            return address is not None and address in self.addresses
        if len(name) > 253 or not _HOSTNAME.fullmatch(name):
            return False
        return name in self.names or any(name.endswith(s) for s in self.suffixes)


def _normal(host: str) -> str:
    return host.strip().lower().rstrip(".")


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address ``text`` spells in canonical form (dotted quad, IPv6), else None."""
    try:
        return ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return None


def refusal(host: str, allowed: Iterable[str]) -> str:
    """What a refused client (and, through the tool result, the model) reads."""
    listed = ", ".join(allowed) or "none"
    return (
        f"Blocked by kilo-tui's sandbox: {host} is not in [sandbox] allowed_domains "
        f"(allowed: {listed}). Do not try to reach it another way; the user can allow it "
        f'by adding "{host}" to [sandbox] allowed_domains in kilo-tui\'s config.toml.\n'
    )


class DomainProxy:
    """The proxy of one kilo-tui process for one list of allowed domains."""

    def __init__(self, allowed: Iterable[str], *, connect: Connector | None = None) -> None:
        self.allowed = tuple(allowed)
        self.policy = DomainPolicy(self.allowed)
        self._connect = connect or _open_connection
        self._blocked: list[str] = []
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._dir: Path | None = None
        self.socket_path: Path | None = None
        """The unix socket (bind-mounted into bubblewrap sandboxes)."""
        self.tcp_port: int | None = None
        """The 127.0.0.1 port (for Seatbelt, which can only allow localhost)."""

    # ------------------------------------------------------------ lifecycle

    def start(self, *, tcp: bool = False) -> None:
        """Listen (unix socket, and a 127.0.0.1 port with ``tcp``) in a thread of its own."""
        loop = asyncio.new_event_loop()
        ready = threading.Event()
        failed: list[BaseException] = []

        def run() -> None:
            try:
                servers = loop.run_until_complete(self._listen(tcp))
            except BaseException as exc:  # reported to start()
                failed.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            loop.run_forever()
            for server in servers:
                server.close()
            loop.run_until_complete(_cancel_all(loop))
            loop.close()

        self._loop = loop
        self._thread = threading.Thread(target=run, name="kilo-tui-proxy", daemon=True)
        self._thread.start()
        if not ready.wait(START_TIMEOUT):
            raise OSError("the sandbox network proxy did not start in time")
        if failed:
            self._remove_dir()
            raise OSError(f"the sandbox network proxy could not start: {failed[0]}")

    async def _listen(self, tcp: bool) -> list[asyncio.Server]:
        self._dir = Path(tempfile.mkdtemp(prefix="kilo-tui-proxy-"))
        self.socket_path = self._dir / "proxy.sock"
        servers = [
            await asyncio.start_unix_server(self._handle, self.socket_path, limit=HEAD_LIMIT)
        ]
        if tcp:
            server = await asyncio.start_server(self._handle, "127.0.0.1", 0, limit=HEAD_LIMIT)
            self.tcp_port = server.sockets[0].getsockname()[1]
            servers.append(server)
        return servers

    def close(self) -> None:
        """Stop listening, end open connections, remove the socket."""
        if self._loop is not None and self._thread is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(START_TIMEOUT)
        self._remove_dir()

    def _remove_dir(self) -> None:
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    # --------------------------------------------------------- what it refused

    def mark(self) -> int:
        """A point in the refusal log (see :meth:`blocked_since`)."""
        with self._lock:
            return len(self._blocked)

    def blocked_since(self, mark: int) -> list[str]:
        """``host:port`` of every connection refused since ``mark``, each once."""
        with self._lock:
            return list(dict.fromkeys(self._blocked[mark:]))

    # ------------------------------------------------------------- serving

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), HEAD_TIMEOUT)
            await self._serve(head.decode("latin-1"), reader, writer)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
            await _reply(writer, 400, "Bad Request", "kilo-tui proxy: incomplete request\n")
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    async def _serve(
        self, head: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        lines = head.split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3:
            await _reply(writer, 400, "Bad Request", "kilo-tui proxy: bad request line\n")
            return
        method, target, version = parts
        tunnel = method.upper() == "CONNECT"
        where = _authority(target) if tunnel else _absolute(target)
        if where is None:
            what = "CONNECT needs host:port" if tunnel else "only http:// URLs or CONNECT"
            await _reply(writer, 400, "Bad Request", f"kilo-tui proxy: {what}\n")
            return
        host, port, path = where
        headers = [line for line in lines[1:] if line]
        if not tunnel and not _host_header_matches(headers, host, port):
            await self._refuse(writer, f"{host}:{port}", "a Host header naming another host")
            return
        if not self.policy.allows(host):
            await self._refuse(writer, f"{host}:{port}", refusal(host, self.allowed))
            return
        try:
            up_reader, up_writer = await asyncio.wait_for(
                self._connect(host.strip("[]"), port), CONNECT_TIMEOUT
            )
        except (OSError, TimeoutError) as exc:
            text = f"kilo-tui proxy: could not connect to {host}:{port}: {exc}\n"
            await _reply(writer, 502, "Bad Gateway", text)
            return
        try:
            if tunnel:
                writer.write(b"HTTP/1.1 200 Connection Established\r\n\r\n")
            else:
                kept = [h for h in headers if h.split(":", 1)[0].strip().lower() not in _HOP_BY_HOP]
                request = [f"{method} {path} {version}", *kept, "Connection: close", "", ""]
                up_writer.write("\r\n".join(request).encode("latin-1"))
            await _relay(reader, writer, up_reader, up_writer)
        finally:
            up_writer.close()

    async def _refuse(self, writer: asyncio.StreamWriter, where: str, text: str) -> None:
        with self._lock:
            self._blocked.append(where)
        await _reply(writer, 403, "Forbidden", text)


async def _open_connection(host: str, port: int) -> Streams:
    return await asyncio.open_connection(host, port)


async def _reply(writer: asyncio.StreamWriter, code: int, reason: str, text: str) -> None:
    body = text.encode()
    head = (
        f"HTTP/1.1 {code} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    with contextlib.suppress(ConnectionError, OSError):
        writer.write(head.encode() + body)
        await writer.drain()


async def _relay(
    client_reader: asyncio.StreamReader,
    client_writer: asyncio.StreamWriter,
    up_reader: asyncio.StreamReader,
    up_writer: asyncio.StreamWriter,
) -> None:
    """Copy both ways until the upstream side is done (the client may half-close first)."""
    upload = asyncio.create_task(_pump(client_reader, up_writer))
    try:
        await _pump(up_reader, client_writer)
    finally:
        upload.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await upload


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except (ConnectionError, OSError, RuntimeError):
        pass


async def _cancel_all(loop: asyncio.AbstractEventLoop) -> None:
    tasks = [t for t in asyncio.all_tasks(loop) if t is not asyncio.current_task()]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def _authority(target: str) -> tuple[str, int, str] | None:
    """``host:port`` of a CONNECT (``[v6]:port`` too) → (host, port, "")."""
    host, sep, port = target.rpartition(":")
    if not sep or not (port.isascii() and port.isdigit()) or not host or "@" in host or "/" in host:
        return None
    number = int(port)
    return (host, number, "") if 0 < number < 65536 else None


def _absolute(target: str) -> tuple[str, int, str] | None:
    """An absolute ``http://`` URL → (host, port, origin-form path)."""
    try:
        url = urlsplit(target)
        port = url.port or 80
    except ValueError:
        return None
    if url.scheme.lower() != "http" or not url.hostname or "@" in url.netloc:
        return None
    host = f"[{url.hostname}]" if ":" in url.hostname else url.hostname
    path = url.path or "/"
    return host, port, path + (f"?{url.query}" if url.query else "")


def _host_header_matches(headers: list[str], host: str, port: int) -> bool:
    """A plain HTTP request's ``Host`` header, if any, names the host of its URL."""
    for line in headers:
        name, _, value = line.partition(":")
        if name.strip().lower() == "host":
            given = value.strip().lower()
            expected = {_normal(host), f"{_normal(host)}:{port}"}
            return given.rstrip(".") in expected or given in expected
    return True


# ------------------------------------------------------------- per process

_PROXIES: dict[tuple[tuple[str, ...], bool], DomainProxy] = {}
_PROXIES_LOCK = threading.Lock()


def shared_proxy(allowed: Iterable[str], *, tcp: bool = False) -> DomainProxy:
    """The running proxy of this kilo-tui process for ``allowed`` (started on first use,
    closed at exit)."""
    key = (tuple(allowed), tcp)
    with _PROXIES_LOCK:
        proxy = _PROXIES.get(key)
        if proxy is None:
            proxy = DomainProxy(key[0])
            proxy.start(tcp=tcp)
            if not _PROXIES:
                atexit.register(close_proxies)
            _PROXIES[key] = proxy
        return proxy


def close_proxies() -> None:
    """Close every proxy this process started."""
    with _PROXIES_LOCK:
        for proxy in _PROXIES.values():
            proxy.close()
        _PROXIES.clear()
