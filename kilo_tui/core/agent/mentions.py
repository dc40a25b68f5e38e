"""Context mentions: ``@/path``, ``@problems``, ``@terminal``, ``@git-changes``,
``@<commit>`` and ``@https://…`` in a user message, expanded as Kilo Code does. A
workspace-relative path with a ``/`` or an extension (``@src/app.py``, ``@src/``,
``@README.md``) is a path mention too, as the TUI's completion and users write them.

Each mention is replaced inline by a short pointer (``'src/app.py' (see below for
file content)``) and its content is appended after the message in an XML block
(``<file_content path="src/app.py">``). A mention that cannot be expanded (missing
file, blocked by ``.kilocodeignore``, unknown commit, URL fetching off) stays as
typed and a short note says why. Expansion never raises.

Files are opened only through :mod:`kilo_tui.core.trust.paths`: a link out of the
workspace or into a ``.kilocodeignore``d file is never followed, FIFOs and devices are
never opened, and the git mentions leave out the diffs of ignored files.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shlex
import shutil
import signal
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from kilo_tui.core.trust.paths import PathRefused, Target
from kilo_tui.core.trust.secrets import child_env

if TYPE_CHECKING:
    from kilo_tui.core.trust.paths import WorkspacePaths

MENTION_RE = re.compile(
    r"(?:^|(?<=\s))(?<!\\)@("
    r"(?:/|\w+://)(?:[^\s\\]|\\ )+?"
    r"|[\w-][\w.-]*(?:/|\.\w)(?:[^\s\\]|\\ )*?"
    r"|[a-f0-9]{7,40}\b|problems\b|git-changes\b|terminal\b"
    r")(?=[.,;:!?]?(?=\s|$))"
)
"""Kilo's mention pattern (``src/shared/context-mentions.ts``), plus relative paths."""

_COMMIT_RE = re.compile(r"[a-f0-9]{7,40}")
_SPECIAL = frozenset({"problems", "terminal", "git-changes"})

MAX_FILE_LINES = 500
MAX_FILE_BYTES = 512_000
MAX_FOLDER_FILES = 50
MAX_GIT_LINES = 500
MAX_TERMINAL_LINES = 500
MAX_URL_CHARS = 100_000
MAX_URL_BYTES = 2_000_000
"""Bytes of a mentioned page downloaded at most; the rest is never fetched."""
GIT_TIMEOUT = 15.0
PROBLEMS_TIMEOUT = 60.0
URL_TIMEOUT = 20.0


@dataclass
class _Expansion:
    inline: str
    block: str = ""
    note: str = ""
    """Why the mention was not expanded (empty when it was)."""


@dataclass(frozen=True)
class Expanded:
    """A message as sent, and what its mentions attached (shown next to the message)."""

    text: str
    attached: tuple[str, ...] = ()
    """The mentions (as typed, without ``@``) whose content was attached."""
    not_attached: tuple[str, ...] = ()
    """``@mention: why`` for each mention that could not be expanded."""


async def expand_mentions(
    text: str,
    *,
    paths: WorkspacePaths,
    last_terminal: tuple[str, str] | None,
    problems_commands: list[str] | None,
    allow_urls: bool,
    url_allow_hosts: tuple[str, ...] = (),
) -> Expanded:
    """``text`` with every mention expanded (or annotated); never raises.

    ``paths`` guards the workspace (``.kilocodeignore``, links, special files).
    ``problems_commands``: diagnostics commands run for ``@problems`` (None: detect
    from the project). ``url_allow_hosts``: when non-empty, only these hosts may be
    fetched.
    """
    expansions: dict[str, _Expansion] = {}
    for match in MENTION_RE.finditer(text):
        mention = match.group(1)
        if mention in expansions:
            continue
        try:
            expansions[mention] = await _expand(
                mention,
                paths=paths,
                last_terminal=last_terminal,
                problems_commands=problems_commands,
                allow_urls=allow_urls,
                url_allow_hosts=url_allow_hosts,
            )
        except Exception as exc:  # a mention must never break sending a message
            expansions[mention] = _note(mention, f"could not be expanded: {exc}")
    if not expansions:
        return Expanded(text)

    def replace(match: re.Match[str]) -> str:
        return expansions[match.group(1)].inline

    body = MENTION_RE.sub(replace, text)
    blocks = [e.block for e in expansions.values() if e.block]
    return Expanded(
        "\n\n".join([body, *blocks]),
        attached=tuple(m for m, e in expansions.items() if not e.note),
        not_attached=tuple(f"@{m}: {e.note}" for m, e in expansions.items() if e.note),
    )


def unattachable_paths(text: str, paths: WorkspacePaths) -> list[str]:
    """``@mention: why`` for each path mention in ``text`` that would not be attached
    (checked before sending; nothing is read)."""
    problems = []
    for match in MENTION_RE.finditer(text):
        mention = match.group(1)
        if _is_path(mention):
            found = _resolve_path(mention, paths)
            if isinstance(found, str):
                problems.append(f"@{mention}: {found}")
    return problems


def _is_path(mention: str) -> bool:
    if mention.startswith("/"):
        return True
    return not ("://" in mention or mention in _SPECIAL or _COMMIT_RE.fullmatch(mention))


def _note(mention: str, why: str) -> _Expansion:
    return _Expansion(inline=f"@{mention} [note: {why}]", note=why)


async def _expand(
    mention: str,
    *,
    paths: WorkspacePaths,
    last_terminal: tuple[str, str] | None,
    problems_commands: list[str] | None,
    allow_urls: bool,
    url_allow_hosts: tuple[str, ...],
) -> _Expansion:
    workspace = paths.workspace
    if _is_path(mention):
        return await asyncio.to_thread(_path_mention, mention, paths)
    if "://" in mention:
        return await _url_mention(mention, allow_urls, url_allow_hosts)
    if mention == "problems":
        return await _problems_mention(workspace, problems_commands)
    if mention == "terminal":
        return _terminal_mention(last_terminal)
    if mention == "git-changes":
        return await _git_changes_mention(paths)
    return await _commit_mention(mention, paths)


# ---------------------------------------------------------------- files


def workspace_relative(mention: str, workspace: Path) -> str:
    """The workspace-relative path a path mention (without its ``@``) names: Kilo's
    ``/src/app.py`` is the workspace's ``src/app.py``, and so is a full path into the
    workspace (``/home/me/project/src/app.py``), as a user may type or paste it."""
    root = f"{workspace}/"
    if mention.startswith(root):
        return mention.removeprefix(root)
    return mention.removeprefix("/")


def _resolve_path(mention: str, paths: WorkspacePaths) -> Target | str:
    """The file or folder a path mention names, or why it cannot be attached."""
    rel = workspace_relative(mention, paths.workspace).replace("\\ ", " ")
    try:
        target = paths.resolve(rel or ".")
    except PathRefused as exc:
        return str(exc)
    if target.outside:
        return "only paths inside the workspace can be mentioned"
    shown = target.shown
    if target.rel and paths.is_blocked(target):
        return f"'{shown}' is blocked by .kilocodeignore"
    if target.real.is_file():
        return f"'{shown}' is a file, not a folder" if mention.endswith("/") else target
    if target.real.is_dir():
        return target
    return f"'{shown}' does not exist"


def _path_mention(mention: str, paths: WorkspacePaths) -> _Expansion:
    target = _resolve_path(mention, paths)
    if isinstance(target, str):
        return _note(mention, target)
    shown = target.shown
    if target.real.is_file():
        return _Expansion(
            inline=f"'{shown}' (see below for file content)",
            block=f'<file_content path="{shown}">\n{_file_text(paths, target)}\n</file_content>',
        )
    shown = shown if shown == "." else shown + "/"
    return _Expansion(
        inline=f"'{shown}' (see below for folder content)",
        block=_folder_block(paths, target.real, shown),
    )


_BINARY = "(Binary file, contents not shown)"


def _file_text(paths: WorkspacePaths, target: Target) -> str:
    """Line-numbered contents (``1 | …``), or a note for binary, huge or bad files."""
    try:
        content = paths.read(target, MAX_FILE_BYTES)
    except PathRefused as exc:
        return f"(Error reading file: {exc})"
    data = content.data
    if b"\0" in data[:8192]:
        return _BINARY
    lines = data.decode("utf-8", errors="replace").splitlines()
    if not lines:
        return "(Empty file)"
    shown = lines[:MAX_FILE_LINES]
    width = len(str(len(shown)))
    numbered = "\n".join(f"{i:>{width}} | {line}" for i, line in enumerate(shown, 1))
    if len(lines) > MAX_FILE_LINES or content.truncated:
        numbered += (
            f"\n\n(File truncated: showing the first {len(shown)} lines. Use read_file with "
            "start_line/end_line to read the rest.)"
        )
    return numbered


def _folder_block(paths: WorkspacePaths, folder: Path, shown: str) -> str:
    """The folder's entries as a tree, and the content of its readable files. An entry
    that is blocked, or a link leading out of the workspace or to a blocked file, is
    shown locked and never read."""
    try:
        with os.scandir(folder) as scan:
            children = sorted(
                (c for c in scan if c.name != ".git"),
                key=lambda c: (not c.is_dir(follow_symlinks=False), c.name),
            )
    except OSError as exc:
        return f'<folder_content path="{shown}">\n(Error listing folder: {exc})\n</folder_content>'
    tree: list[str] = []
    files: list[str] = []
    prefix = "" if shown == "." else shown
    for index, child in enumerate(children):
        branch = "└── " if index == len(children) - 1 else "├── "
        target = _readable(paths, Path(child.path))
        is_dir = child.is_dir(follow_symlinks=False)
        name = child.name + ("/" if is_dir else "")
        tree.append(f"{branch}{'🔒 ' if target is None else ''}{name}")
        if target is None or is_dir or len(files) >= MAX_FOLDER_FILES:
            continue
        if not target.real.is_file():
            continue
        content = _file_text(paths, target)
        if content != _BINARY:
            files.append(f'<file_content path="{prefix}{child.name}">\n{content}\n</file_content>')
    listing = "\n".join(tree) or "(empty folder)"
    return "\n".join([f'<folder_content path="{shown}">', listing, *files, "</folder_content>"])


def _readable(paths: WorkspacePaths, path: Path) -> Target | None:
    """The target of a folder entry, or None when the agent may not look inside it."""
    try:
        target = paths.target(path)
    except PathRefused:
        return None
    return None if target.outside or paths.is_blocked(target) else target


# --------------------------------------------------------------- processes


async def _run(command: list[str] | str, cwd: Path, timeout: float) -> tuple[int | None, str]:
    """Run ``command`` (argv, or a shell line when a string).

    Returns ``(exit code, stdout+stderr)``; the code is None when it timed out.
    """
    pipes = {
        "cwd": cwd,
        "stdin": asyncio.subprocess.DEVNULL,
        "stdout": asyncio.subprocess.PIPE,
        "stderr": asyncio.subprocess.STDOUT,
        "start_new_session": True,
        "env": child_env(),
    }
    if isinstance(command, str):
        proc = await asyncio.create_subprocess_shell(command, **pipes)  # type: ignore[arg-type]
    else:
        proc = await asyncio.create_subprocess_exec(*command, **pipes)  # type: ignore[arg-type]
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        _kill_group(proc.pid)
        await proc.wait()
        return None, ""
    except asyncio.CancelledError:
        _kill_group(proc.pid)
        raise
    return proc.returncode, out.decode("utf-8", errors="replace")


def _kill_group(pid: int) -> None:
    # The process leads its own session, so this also ends what a shell started.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def _clip(text: str, max_lines: int, *, keep: str = "head") -> str:
    lines = text.rstrip().splitlines()
    if len(lines) <= max_lines:
        return "\n".join(lines)
    if keep == "tail":
        return f"(… {len(lines) - max_lines} earlier lines omitted)\n" + "\n".join(
            lines[-max_lines:]
        )
    return "\n".join(lines[:max_lines]) + f"\n(… {len(lines) - max_lines} more lines omitted)"


# ---------------------------------------------------------------- problems


def detect_problems_commands(workspace: Path) -> list[str]:
    """Diagnostics commands for the project: ruff if configured, tsc for TypeScript."""
    commands: list[str] = []
    if _uses_ruff(workspace) and (ruff := _find_tool(workspace, "ruff")) is not None:
        commands.append(f"{shlex.quote(ruff)} check --output-format=concise --no-fix .")
    if (workspace / "tsconfig.json").is_file() and (
        tsc := _find_tool(workspace, "tsc")
    ) is not None:
        commands.append(f"{shlex.quote(tsc)} --noEmit --pretty false")
    return commands


def _uses_ruff(workspace: Path) -> bool:
    if (workspace / "ruff.toml").is_file() or (workspace / ".ruff.toml").is_file():
        return True
    try:
        with (workspace / "pyproject.toml").open("rb") as fh:
            data = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError):
        return False
    return "ruff" in data.get("tool", {})


def _find_tool(workspace: Path, name: str) -> str | None:
    """The project's own copy first (venv, node_modules), then this Python's, then PATH."""
    candidates = [
        workspace / ".venv" / "bin" / name,
        workspace / "venv" / "bin" / name,
        workspace / "node_modules" / ".bin" / name,
        Path(sys.executable).parent / name,
    ]
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return shutil.which(name)


async def _problems_mention(workspace: Path, commands: list[str] | None) -> _Expansion:
    inline = "Workspace Problems (see below for diagnostics)"
    if commands is None:
        commands = await asyncio.to_thread(detect_problems_commands, workspace)
    if not commands:
        note = (
            "No diagnostics are available: no problems command is configured and none was "
            "detected (ruff for a Python project with ruff configured, tsc --noEmit for a "
            "TypeScript project with tsconfig.json)."
        )
        return _Expansion(inline, f"<workspace_diagnostics>\n{note}\n</workspace_diagnostics>")
    sections = []
    for command in commands:
        code, output = await _run(command, workspace, PROBLEMS_TIMEOUT)
        if code is None:
            result = f"(timed out after {PROBLEMS_TIMEOUT:.0f}s)"
        elif code == 0 and not output.strip():
            result = "No problems found."
        else:
            result = _clip(output, MAX_GIT_LINES) or f"(exit code {code}, no output)"
        sections.append(f"$ {command}\n{result}")
    body = "\n\n".join(sections)
    return _Expansion(inline, f"<workspace_diagnostics>\n{body}\n</workspace_diagnostics>")


# --------------------------------------------------------------- terminal


def _terminal_mention(last: tuple[str, str] | None) -> _Expansion:
    if last is None:
        return _note("terminal", "no command has been run in this task yet")
    command, output = last
    body = _clip(output, MAX_TERMINAL_LINES, keep="tail") or "(no output)"
    return _Expansion(
        "Terminal Output (see below for output)",
        f"<terminal_output>\n$ {command}\n{body}\n</terminal_output>",
    )


# -------------------------------------------------------------------- git


async def _git(workspace: Path, *args: str) -> tuple[int | None, str]:
    return await _run(["git", "-C", str(workspace), *args], workspace, GIT_TIMEOUT)


# Diffs exactly as committed: no external diff or textconv programs (a repository's
# attributes choose those), no rename pairing (each side is filtered on its own).
_DIFF_OPTIONS = ("--no-ext-diff", "--no-textconv", "--no-renames")


async def _hidden(paths: WorkspacePaths, *name_only: str) -> list[str]:
    """Exclude pathspecs for the files in a diff that ``.kilocodeignore`` blocks.

    ``name_only`` is a git command listing the diff's files (``-z``), relative to the
    repository's top, which may lie above the workspace.
    """
    workspace = paths.workspace
    code, top = await _git(workspace, "rev-parse", "--show-toplevel")
    _, names = await _git(workspace, *name_only, "--name-only", "-z", *_DIFF_OPTIONS)
    if code != 0:
        return []
    root = Path(top.strip())
    hidden = []
    for name in filter(None, names.split("\0")):
        try:
            blocked = paths.is_blocked(paths.target(root / name))
        except PathRefused:
            blocked = True
        if blocked:
            hidden.append(f":(top,exclude,literal){name}")
    return hidden


async def _git_changes_mention(paths: WorkspacePaths) -> _Expansion:
    workspace = paths.workspace
    code, status = await _git(workspace, "status", "--short")
    if code != 0:
        return _note("git-changes", "the workspace is not a git repository")
    if not status.strip():
        body = "No changes in the working directory."
    else:
        has_head = (await _git(workspace, "rev-parse", "--verify", "-q", "HEAD"))[0] == 0
        base = "HEAD" if has_head else "--cached"
        hidden = await _hidden(paths, "diff", base)
        _, diff = await _git(workspace, "diff", *_DIFF_OPTIONS, base, "--", *hidden)
        body = f"Working directory changes:\n{status.rstrip()}"
        if diff.strip():
            body += "\n\n" + _clip(diff, MAX_GIT_LINES)
    return _Expansion(
        "Working directory changes (see below for details)",
        f"<git_working_state>\n{body}\n</git_working_state>",
    )


async def _commit_mention(ref: str, paths: WorkspacePaths) -> _Expansion:
    workspace = paths.workspace
    fmt = "--format=Commit: %h (%H)%nAuthor: %an <%ae>%nDate: %ad%n%nMessage: %s%n%n%b"
    code, info = await _git(workspace, "show", "-s", fmt, f"{ref}^{{commit}}", "--")
    if code != 0:
        return _note(ref, "not a commit in this repository")
    hidden = await _hidden(paths, "show", "--format=", ref)
    show = ("show", "--format=", *_DIFF_OPTIONS)
    _, stat = await _git(workspace, *show, "--stat", ref, "--", *hidden)
    _, patch = await _git(workspace, *show, "--patch", ref, "--", *hidden)
    body = info.rstrip()
    if stat.strip():
        body += "\n\nFiles Changed:\n" + stat.rstrip()
    if patch.strip():
        body += "\n\nFull Changes:\n" + _clip(patch, MAX_GIT_LINES)
    return _Expansion(
        f"Git commit '{ref}' (see below for commit info)",
        f'<git_commit hash="{ref}">\n{body}\n</git_commit>',
    )


# -------------------------------------------------------------------- URLs


async def _url_mention(url: str, allow: bool, hosts: tuple[str, ...]) -> _Expansion:
    """The page at ``url``, read through fetch_url's client (size cap, deadline,
    redirects checked hop by hop). The user typed the URL, so a server on this machine
    or the local network may be named; ``hosts`` limits every hop when set."""
    if not allow:
        return _note(url, "fetching URLs is turned off in the settings")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return _note(url, f"only http and https URLs can be fetched, not {parts.scheme}")
    if hosts and parts.hostname not in hosts:
        return _note(url, f"the host {parts.hostname} is not in the allowed hosts")
    from kilo_tui.core.tools.base import ToolError
    from kilo_tui.core.tools.web import FetchDenied, content_kind, fetch, page_text
    from kilo_tui.core.trust import network

    async def resolve(host: str, port: int) -> str:
        return await network.resolve(host, port, allow_private=True)

    async def approve_host(host: str, target: str) -> None:
        if hosts and network.normalize_host(host) not in hosts:
            raise FetchDenied(target, "not an allowed host")

    try:
        page = await fetch(
            url,
            resolve=resolve,
            approve_host=approve_host,
            timeout=URL_TIMEOUT,
            max_size=MAX_URL_BYTES,
        )
        if page.status >= 400:
            return _note(url, f"the server answered HTTP {page.status}")
        if content_kind(page.content_type, page.body) is None:
            return _note(url, "the page is not text")
        # Converting a large page takes seconds of CPU: off the event loop.
        _title, content = await asyncio.to_thread(page_text, page)
    except FetchDenied as exc:
        return _note(url, f"redirects to {exc.url}, which is not allowed")
    except ToolError as exc:
        return _note(url, str(exc).rstrip("."))
    if page.truncated or len(content) > MAX_URL_CHARS:
        content = content[:MAX_URL_CHARS] + "\n\n(… page truncated)"
    return _Expansion(
        f"'{url}' (see below for site content)",
        f'<url_content url="{url}">\n{content.strip()}\n</url_content>',
    )
