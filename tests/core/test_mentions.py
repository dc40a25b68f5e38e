"""Context mentions against real files, a real git repo, real ruff and a local HTTP server."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from kilo_tui.core.agent import mentions
from kilo_tui.core.agent.mentions import MENTION_RE, detect_problems_commands, expand_mentions
from kilo_tui.core.trust.paths import WorkspacePaths


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def git(ws: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(ws), *args], check=True, capture_output=True, text=True
    ).stdout


async def expand(text: str, ws: Path, **kw: Any) -> str:
    options: dict[str, Any] = {
        "paths": WorkspacePaths(ws),
        "last_terminal": None,
        "problems_commands": [],
        "allow_urls": False,
    }
    options.update(kw)
    return (await expand_mentions(text, **options)).text


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("KILO_TUI_HOME", str(tmp_path / "home"))
    root = tmp_path / "ws"
    write(root / "src" / "app.py", "def main():\n    return 1\n")
    write(root / "my notes.txt", "spaced out\n")
    write(root / ".kilocodeignore", "secrets/\n")
    write(root / "secrets" / "key.txt", "hunter2\n")
    (root / "bin.dat").write_bytes(b"\x00\x01\x02")
    return root


def test_the_regex_is_kilos() -> None:
    found = [m.group(1) for m in MENTION_RE.finditer(
        "see @/src/app.py, @/docs/ and @problems. also @terminal! "
        "@git-changes @a1b2c3d mail me@/not email\\@/escaped @/my\\ notes.txt @https://x.io/a?b=1."
    )]  # fmt: skip
    assert found == [
        "/src/app.py", "/docs/", "problems", "terminal", "git-changes", "a1b2c3d",
        "/my\\ notes.txt", "https://x.io/a?b=1",
    ]  # fmt: skip


async def test_file_mention_numbers_lines(ws: Path) -> None:
    out = await expand("fix @/src/app.py please", ws)
    assert out.startswith("fix 'src/app.py' (see below for file content) please\n\n")
    assert (
        '<file_content path="src/app.py">\n1 | def main():\n2 |     return 1\n</file_content>'
        in out
    )


async def test_escaped_spaces_and_trailing_punctuation(ws: Path) -> None:
    out = await expand("read @/my\\ notes.txt.", ws)
    assert out.startswith("read 'my notes.txt' (see below for file content).")
    assert "1 | spaced out" in out


async def test_folder_mention_lists_children_and_inlines_small_text_files(ws: Path) -> None:
    write(ws / "docs" / "guide.md", "# Guide\n")
    write(ws / "docs" / "api" / "index.md", "deep\n")
    write(ws / "docs" / "private.txt", "classified\n")
    (ws / "docs" / "logo.png").write_bytes(b"\x89PNG\x00\x00")
    write(ws / ".kilocodeignore", "secrets/\ndocs/private.txt\n")
    out = await expand("look at @/docs/ now", ws)
    assert out.startswith("look at 'docs/' (see below for folder content) now")
    folder = out.split('<folder_content path="docs/">\n', 1)[1]
    tree = folder.split("\n<file_content")[0].splitlines()
    assert tree == ["├── api/", "├── guide.md", "├── logo.png", "└── 🔒 private.txt"]
    assert '<file_content path="docs/guide.md">\n1 | # Guide\n</file_content>' in out
    assert "classified" not in out and "deep" not in out and "PNG" not in out
    assert out.endswith("</folder_content>")
    # a folder mentioned without the trailing slash is still a folder
    assert "'docs/' (see below for folder content)" in await expand("@/docs", ws)


async def test_blocked_missing_and_escaping_paths_stay_as_typed(ws: Path) -> None:
    out = await expand("@/secrets/key.txt @/nope.py @/../../etc/passwd @/src/app.py/", ws)
    assert "@/secrets/key.txt [note: 'secrets/key.txt' is blocked by .kilocodeignore]" in out
    assert "@/nope.py [note: 'nope.py' does not exist]" in out
    assert "@/../../etc/passwd [note: only paths inside the workspace" in out
    assert "@/src/app.py/ [note: 'src/app.py' is a file, not a folder]" in out
    assert "hunter2" not in out and "root:" not in out


async def test_a_full_path_inside_the_workspace_is_that_file(ws: Path, tmp_path: Path) -> None:
    workspace = WorkspacePaths(ws).workspace
    out = await expand(f"fix @{workspace}/src/app.py please", ws)
    assert out.startswith("fix 'src/app.py' (see below for file content) please")
    assert "1 | def main():" in out
    # Outside the workspace, a full path stays as typed (as any escaping path does).
    write(tmp_path / "elsewhere.txt", "far away\n")
    out = await expand(f"@{tmp_path.resolve()}/elsewhere.txt", ws)
    assert "far away" not in out and "[note:" in out


async def test_text_without_mentions_is_untouched(ws: Path) -> None:
    text = "email me@example.com or \\@/src/app.py, nothing else"
    assert await expand(text, ws) == text


async def test_terminal_mention(ws: Path) -> None:
    out = await expand("why @terminal", ws, last_terminal=("pytest -q", "1 failed\nboom"))
    assert out == (
        "why Terminal Output (see below for output)\n\n"
        "<terminal_output>\n$ pytest -q\n1 failed\nboom\n</terminal_output>"
    )
    none = await expand("why @terminal", ws)
    assert none == "why @terminal [note: no command has been run in this task yet]"


@pytest.fixture
def repo(ws: Path) -> tuple[Path, str]:
    git(ws, "init", "-q", "-b", "main")
    git(ws, "config", "user.email", "dev@example.com")
    git(ws, "config", "user.name", "Dev Eloper")
    git(ws, "add", "src")
    git(ws, "commit", "-q", "-m", "Add the app\n\nWith a body line.")
    return ws, git(ws, "rev-parse", "HEAD").strip()


async def test_git_changes_mention(repo: tuple[Path, str]) -> None:
    ws, _ = repo
    clean = ws / "clean"
    clean.mkdir()
    git(clean, "init", "-q")
    assert "No changes in the working directory." in await expand("@git-changes", clean)
    write(ws / "src" / "app.py", "def main():\n    return 2\n")
    out = await expand("what changed: @git-changes", ws)
    assert out.startswith("what changed: Working directory changes (see below for details)")
    assert " M src/app.py" in out
    assert "-    return 1\n+    return 2" in out
    not_repo = ws.parent / "plain"
    not_repo.mkdir()
    assert "[note: the workspace is not a git repository]" in await expand("@git-changes", not_repo)


async def test_commit_mention(repo: tuple[Path, str]) -> None:
    ws, sha = repo
    short = sha[:8]
    out = await expand(f"explain @{short}", ws)
    assert out.startswith(f"explain Git commit '{short}' (see below for commit info)")
    assert f'<git_commit hash="{short}">' in out
    assert f"({sha})" in out and "Author: Dev Eloper <dev@example.com>" in out
    assert "Message: Add the app" in out and "With a body line." in out
    assert "src/app.py | 2 ++" in out and "+    return 1" in out
    missing = await expand("explain @deadbee1", ws)
    assert missing == "explain @deadbee1 [note: not a commit in this repository]"


async def test_problems_with_ruff_detected(ws: Path) -> None:
    write(ws / "pyproject.toml", '[project]\nname = "x"\n[tool.ruff]\nline-length = 100\n')
    write(ws / "src" / "bad.py", "import os\n")
    commands = detect_problems_commands(ws)
    assert len(commands) == 1 and "ruff" in commands[0]
    out = await expand("fix @problems", ws, problems_commands=None)
    assert out.startswith("fix Workspace Problems (see below for diagnostics)")
    assert "<workspace_diagnostics>" in out
    assert "src/bad.py:1:8: F401" in out


async def test_problems_note_when_nothing_is_available(ws: Path) -> None:
    write(ws / "tsconfig.json", "{}")  # TypeScript, but no tsc installed in the test env
    write(ws / "pyproject.toml", '[project]\nname = "x"\n')  # Python without ruff config
    if any("tsc" in c for c in detect_problems_commands(ws)):
        pytest.skip("tsc is installed here")
    out = await expand("@problems", ws, problems_commands=None)
    assert "No diagnostics are available" in out


async def test_problems_configured_commands_and_timeout(
    ws: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ok = await expand("@problems", ws, problems_commands=["true", "echo 'a.py:1: bad'; exit 1"])
    assert "$ true\nNo problems found." in ok
    assert "$ echo 'a.py:1: bad'; exit 1\na.py:1: bad" in ok
    monkeypatch.setattr(mentions, "PROBLEMS_TIMEOUT", 0.3)
    started = time.monotonic()
    slow = await expand("@problems", ws, problems_commands=["sleep 30"])
    assert "(timed out after 0s)" in slow
    assert time.monotonic() - started < 5


class _Pages(BaseHTTPRequestHandler):
    endless_sent = 0
    """Bytes of ``/endless`` written before the client hung up."""

    def do_GET(self) -> None:
        if self.path == "/endless":
            self._endless()
            return
        routes = {
            "/page": (200, "text/html; charset=utf-8",
                      "<html><body><h1>Title</h1><p>Some <b>bold</b> text.</p></body></html>"),
            "/plain": (200, "text/plain", "just text"),
            "/img": (200, "image/png", "\x89PNG"),
            "/gone": (404, "text/plain", "nope"),
        }  # fmt: skip
        if self.path == "/hop":
            self.send_response(302)
            self.send_header("Location", "http://example.invalid/elsewhere")
            self.end_headers()
            return
        status, kind, body = routes.get(self.path, (404, "text/plain", "?"))
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _endless(self) -> None:
        """64 MB of text, no length given: a client that reads it all is not capped."""
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        chunk = b"x" * 65536 + b"\n"
        try:
            for _ in range(1024):
                self.wfile.write(chunk)
                type(self).endless_sent += len(chunk)
        except OSError:
            pass  # the client stopped reading

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Pages)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


async def test_url_mention_fetches_and_converts_html(ws: Path, server: str) -> None:
    allowed = {"allow_urls": True, "url_allow_hosts": ("127.0.0.1",)}
    out = await expand(f"read @{server}/page now", ws, **allowed)
    assert out.startswith(f"read '{server}/page' (see below for site content) now")
    assert f'<url_content url="{server}/page">\n# Title\n\nSome **bold** text.' in out
    plain = await expand(f"@{server}/plain", ws, **allowed)
    assert "just text" in plain
    assert "[note: the page is not text]" in await expand(f"@{server}/img", ws, **allowed)
    assert "[note: the server answered HTTP 404]" in await expand(f"@{server}/gone", ws, **allowed)
    hop = await expand(f"@{server}/hop", ws, **allowed)
    assert "[note: redirects to http://example.invalid/elsewhere, which is not allowed]" in hop


async def test_a_url_mention_reads_a_capped_part_of_an_endless_page(ws: Path, server: str) -> None:
    _Pages.endless_sent = 0
    out = await expand(f"@{server}/endless", ws, allow_urls=True)
    assert "(… page truncated)" in out
    assert len(out) < 2 * mentions.MAX_URL_CHARS
    # The download stopped near the cap: the server never wrote the whole 64 MB.
    time.sleep(0.5)
    assert _Pages.endless_sent < 16 * 1024 * 1024, _Pages.endless_sent


async def test_url_mentions_refused_when_off_or_not_allowed(ws: Path, server: str) -> None:
    off = await expand(f"@{server}/page", ws)
    assert off == f"@{server}/page [note: fetching URLs is turned off in the settings]"
    other = await expand("@https://example.com/x", ws, allow_urls=True,
                         url_allow_hosts=("127.0.0.1",))  # fmt: skip
    assert "[note: the host example.com is not in the allowed hosts]" in other
    scheme = await expand("@file:///etc/passwd", ws, allow_urls=True)
    assert "[note: only http and https URLs can be fetched, not file]" in scheme
