"""A small web site on 127.0.0.1 for the fetch_url and browser_action tests: an article
with navigation chrome, JSON, text, binary files, redirects, a huge body, a slow
endpoint, and a page with a button and a form to click on."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

ARTICLE = """<!doctype html>
<html><head><title>Foxes &amp; dogs</title>
<script>window.trackingSecret = "tracker-42";</script><style>.menu{}</style></head>
<body>
<header class="site"><a href="/">ExampleCorp</a>
  <nav><ul><li><a href="/pricing">Pricing menu</a></li><li><a href="/login">Login menu</a></li></ul></nav>
</header>
<div role="dialog">We use cookies. Accept all?</div>
<main>
  <article>
    <header><h1>The quick brown fox</h1></header>
    <p>The fox <b>jumps</b> over <a href="/dogs/lazy">the lazy dog</a>, 42 times.</p>
    <aside>Sponsored: buy more foxes</aside>
    <ul><li>First point</li><li>Second point</li></ul>
  </article>
</main>
<footer>Copyright ExampleCorp, all rights reserved</footer>
</body></html>
"""
COUNTER = b"""<!doctype html><html><head><title>Counter</title></head>
<body style="margin:0;background:#ffffff">
<img src="/internal/admin.png" width="1" height="1">
<p id="status">Not clicked yet</p>
<button style="position:absolute;left:100px;top:100px;width:200px;height:100px"
  onclick="document.getElementById('status').textContent='Clicked it';
           document.body.style.background='#ff0000';console.log('button pressed');
           setTimeout(() => document.getElementById('later').textContent='Saved later', 1500)">
  Press me</button>
<form style="position:absolute;top:300px" onsubmit="event.preventDefault();
  document.getElementById('greeting').textContent='Hello, '+this.name.value">
  <input name="name" id="name"><button>Greet</button></form>
<p id="greeting" style="position:absolute;top:350px"></p>
<p id="later" style="position:absolute;top:400px"></p>
</body></html>"""
JSON_BODY = '{"name": "kilo", "items": [1, 2, 3], "html": "<b>not converted</b>"}'
LATIN1_PAGE = (
    b'<html><head><meta charset="windows-1252"></head>'
    b"<body><p>Caf\xe9 cr\xe8me \x80 5</p></body></html>"
)
"""Declares its encoding only in the page, as many older sites do."""
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200)


class _Site(BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        site: Site = self.server.site  # type: ignore[attr-defined]
        site.hits.append((self.path, self.headers.get("Host", "")))
        site.clients.append(self.client_address[1])
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        route = {
            "/article": lambda: self._send(200, "text/html; charset=utf-8", ARTICLE.encode()),
            "/counter": lambda: self._send(200, "text/html; charset=utf-8", COUNTER),
            "/data.json": lambda: self._send(200, "application/json", JSON_BODY.encode()),
            "/notes.txt": lambda: self._send(200, "text/plain", b"line one\nline two\n"),
            "/latin1": lambda: self._send(200, "text/html", LATIN1_PAGE),
            "/logo.png": lambda: self._send(200, "image/png", PNG),
            "/unlabeled": lambda: self._send(200, "", b"GIF89a\x00\x01" + bytes(100)),
            "/missing": lambda: self._send(404, "text/html", b"<h1>No such page</h1>"),
            "/redirect": lambda: self._redirect(query["to"]),
            "/hop1": lambda: self._redirect("/hop2"),
            "/hop2": lambda: self._redirect("/article"),
            "/loop": lambda: self._redirect("/loop"),
            "/huge": self._huge,
            "/slow": self._slow,
        }.get(parts.path)
        if route is None:
            self._send(404, "text/plain", b"not found")
        else:
            route()

    def _send(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _huge(self) -> None:
        """50 MB of text, streamed; counts what was written before the client left."""
        site: Site = self.server.site  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        chunk = (b"all work and no play " * 3000)[:65536]
        try:
            for _ in range(800):
                self.wfile.write(chunk)
                site.huge_sent += len(chunk)
        except OSError:
            pass

    def _slow(self) -> None:
        """Answers at once, then drips a byte every 0.2 s for a minute."""
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        try:
            for _ in range(300):
                self.wfile.write(b".")
                self.wfile.flush()
                time.sleep(0.2)
        except OSError:
            pass


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # the client hanging up mid-body is what some tests do


class Site:
    """A local web site: ``url(path)``, and the requests it got in ``hits``."""

    def __init__(self) -> None:
        self.hits: list[tuple[str, str]] = []
        self.clients: list[int] = []
        """The client port of each request (one per connection)."""
        self.huge_sent = 0
        self.httpd = _Server(("127.0.0.1", 0), _Site)
        self.httpd.site = self  # type: ignore[attr-defined]
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,))
        self._thread.daemon = True
        self._thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
