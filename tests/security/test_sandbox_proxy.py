"""``[sandbox] allowed_domains``: sandboxed commands reach the listed hosts, and only
them, through kilo-tui's filtering proxy (see ``kilo_tui/core/trust/netproxy.py``).

The proxy alone is attacked with raw requests over its unix socket; then real commands
run in the real sandbox (bubblewrap) through the agent and the fake provider, against
an HTTP server on 127.0.0.1 that the name ``localhost`` reaches. No network beyond
127.0.0.1: refused names are refused before any DNS lookup.
"""

from __future__ import annotations

import asyncio
import http.server
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kilo_tui.core.agent.runtime import AgentRuntime
from kilo_tui.core.config import ConfigError, load_settings
from kilo_tui.core.trust.netproxy import DomainPolicy, DomainProxy
from kilo_tui.core.trust.sandbox import find_mechanism
from tests.e2e.cli import agent_requests, tool_messages
from tests.fakeserver import FakeLLMServer, Turn


class _Hello(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = f"hello from {self.path}\n".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[tuple[int, list[str]]]:
    """An HTTP server on 127.0.0.1: (port, paths it was asked for)."""
    seen: list[str] = []

    class Handler(_Hello):
        def do_GET(self) -> None:
            seen.append(self.path)
            super().do_GET()

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield httpd.server_address[1], seen
    httpd.shutdown()
    httpd.server_close()


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("example.com", True),
        ("EXAMPLE.com.", True),
        ("api.github.com", True),
        ("a.b.github.com", True),
        ("github.com", False),  # *.github.com is subdomains only
        ("evilgithub.com", False),
        ("example.com.evil.net", False),
        ("93.184.216.34", False),  # an IP is never allowed by a name
        ("10.0.0.7", True),  # ... only when listed itself
        ("[::1]", False),
        ("127.1", False),  # inet_aton forms of 127.0.0.1
        ("0x7f000001", False),
        ("2130706433", False),
        ("example.com@evil.net", False),
        ("exa mple.com", False),
        ("", False),
    ],
)
def test_the_domain_policy_allows_exactly_what_is_listed(host: str, allowed: bool) -> None:
    policy = DomainPolicy(["example.com", "*.github.com", "10.0.0.7"])
    assert policy.allows(host) is allowed


async def _ask(proxy: DomainProxy, request: str) -> str:
    assert proxy.socket_path is not None
    reader, writer = await asyncio.open_unix_connection(proxy.socket_path)
    writer.write(request.encode("latin-1"))
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    text = head.decode()
    if text.startswith("HTTP/1.1 200 Connection"):  # a tunnel: speak HTTP through it
        writer.write(b"GET /tunnelled HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
    text += (await asyncio.wait_for(reader.read(), 10)).decode()
    writer.close()
    return text


async def test_the_proxy_refuses_every_way_around_the_list(
    server: tuple[int, list[str]],
) -> None:
    port, seen = server
    proxy = DomainProxy(["localhost"])
    proxy.start()
    try:
        mark = proxy.mark()
        asks = {
            "tunnel": f"CONNECT localhost:{port} HTTP/1.1\r\n\r\n",
            "plain": f"GET http://localhost:{port}/plain HTTP/1.1\r\nHost: localhost:{port}\r\n\r\n",
            "ip": f"CONNECT 127.0.0.1:{port} HTTP/1.1\r\n\r\n",
            "short-ip": f"GET http://127.1:{port}/ HTTP/1.1\r\n\r\n",
            "host-header": f"GET http://localhost:{port}/ HTTP/1.1\r\nHost: evil.example\r\n\r\n",
            "userinfo": f"CONNECT localhost@evil.example:{port} HTTP/1.1\r\n\r\n",
            "https-url": f"GET https://localhost:{port}/ HTTP/1.1\r\n\r\n",
            "odd-port": "CONNECT localhost:\u00b2 HTTP/1.1\r\n\r\n",
            "other": "CONNECT evil.example:443 HTTP/1.1\r\n\r\n",
        }
        got = {name: await _ask(proxy, request) for name, request in asks.items()}
    finally:
        proxy.close()

    assert "hello from /tunnelled" in got["tunnel"]
    assert "hello from /plain" in got["plain"]
    assert seen == ["/tunnelled", "/plain"]
    for name in ("ip", "short-ip", "host-header", "other"):
        assert got[name].startswith("HTTP/1.1 403 Forbidden"), (name, got[name])
    for name in ("userinfo", "https-url", "odd-port"):
        assert got[name].startswith("HTTP/1.1 400 Bad Request"), (name, got[name])
    assert (
        "evil.example is not in [sandbox] allowed_domains (allowed: localhost). Do not try to "
        'reach it another way; the user can allow it by adding "evil.example" to [sandbox] '
        "allowed_domains" in got["other"]
    )
    assert proxy.blocked_since(mark) == [
        f"127.0.0.1:{port}",
        f"127.1:{port}",
        f"localhost:{port}",
        "evil.example:443",
    ]
    assert proxy.socket_path is not None and not proxy.socket_path.exists()  # closed


FETCH = """\
import http.client, os, sys, urllib.error, urllib.parse, urllib.request
how, target = sys.argv[1], sys.argv[2]
if how == "get":
    try:
        print(urllib.request.urlopen(target, timeout=20).read().decode())
    except urllib.error.HTTPError as exc:
        print(exc.code, exc.read().decode())
        sys.exit(1)
else:
    proxy = urllib.parse.urlsplit(os.environ["HTTPS_PROXY"])
    host, port = target.rsplit(":", 1)
    conn = http.client.HTTPConnection(proxy.hostname, proxy.port, timeout=20)
    conn.set_tunnel(host, int(port))
    conn.request("GET", "/through-connect")
    print(conn.getresponse().read().decode())
"""


@pytest.mark.skipif(find_mechanism()[0] is None, reason=f"no sandbox: {find_mechanism()[1]}")
async def test_sandboxed_commands_reach_allowed_hosts_only_through_the_proxy(
    make_runtime: Callable[..., AgentRuntime],
    llm_env: FakeLLMServer,
    workspace: Path,
    server: tuple[int, list[str]],
) -> None:
    port, seen = server
    (workspace / "fetch.py").write_text(FETCH)
    runtime = make_runtime(
        '[sandbox]\nallowed_domains = ["localhost"]\n', yolo=True, interactive=False
    )
    direct = (
        "python3 -c \"import socket; socket.create_connection(('127.0.0.1', "
        f"{port}), timeout=5); print('connected')\""
    )
    commands = [
        f"python3 fetch.py get http://localhost:{port}/plain",
        f"python3 fetch.py tunnel localhost:{port}",
        "python3 fetch.py get http://blocked.example/",
        f"python3 fetch.py tunnel 127.0.0.1:{port}",
        direct,
    ]
    llm_env.script(
        *(Turn.tool("execute_command", command=c) for c in commands),
        Turn.tool("attempt_completion", result="done"),
    )

    await runtime.submit("fetch")

    plain, tunnel, blocked, ip, direct_result = tool_messages(agent_requests(llm_env)[-1])[:5]
    allowed_net = "network only to [sandbox] allowed_domains (localhost) through kilo-tui's proxy"
    assert "Exit code: 0" in plain and "hello from /plain" in plain, plain
    assert allowed_net in plain
    assert "Exit code: 0" in tunnel and "hello from /through-connect" in tunnel, tunnel
    assert seen == ["/plain", "/through-connect"]
    # Refused, and the model is told which host and how the user can allow it.
    assert "403 Blocked by kilo-tui's sandbox: blocked.example is not in" in blocked, blocked
    assert "kilo-tui's proxy refused blocked.example:80" in blocked
    assert "the user can add the host to [sandbox] allowed_domains" in blocked
    assert f"kilo-tui's proxy refused 127.0.0.1:{port}" in ip, ip
    # Without the proxy there is no network at all.
    assert "connected" not in direct_result.split("Output:")[1], direct_result
    assert "Connection refused" in direct_result or "unreachable" in direct_result


@pytest.mark.parametrize(
    "entry", ["https://example.com", "example.com:443", "*example.com", "127.1"]
)
def test_an_allowed_domain_that_is_not_a_host_is_a_config_error(
    entry: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KILO_TUI_HOME", str(tmp_path))
    (tmp_path / "config.toml").write_text(
        f'[sandbox]\nallowed_domains = ["ok.example", "{entry}"]\n'
    )
    with pytest.raises(ConfigError, match=r"sandbox\.allowed_domains.*expected host names"):
        load_settings(tmp_path)


def test_the_proxy_belongs_to_its_process_and_is_gone_when_it_exits(tmp_path: Path) -> None:
    script = (
        "from kilo_tui.core.trust.netproxy import shared_proxy\n"
        "proxy = shared_proxy(['example.com'])\n"
        "assert shared_proxy(['example.com']) is proxy\n"
        "print(proxy.socket_path, flush=True)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    socket_path = Path(done.stdout.strip())
    assert socket_path.name == "proxy.sock"
    assert not socket_path.parent.exists()  # closed and removed at exit
