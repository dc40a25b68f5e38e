"""The user's instructions and rules, and the per-request environment details.

:func:`build_custom_instructions` assembles the "USER'S CUSTOM INSTRUCTIONS" section
of the system prompt from Kilo Code's files, in Kilo's order:

1. language preference, 2. global custom instructions, 3. the mode's instructions,
4. rules: a. mode rules (``rules-<slug>/`` dirs, else ``.kilocoderules-<slug>``),
b. the ``.kilocodeignore`` note, c. ``AGENTS.md`` (or ``AGENT.md``), d. generic
rules (``~/.kilocode/rules/`` and ``<ws>/.kilocode/rules/``, else the first legacy
``.kilocoderules`` / ``.roorules`` / ``.clinerules``).

:func:`environment_details` builds the ``<environment_details>`` block sent with each
request (time, mode, model, cost, todos, and the file listing on the first request).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from kilo_tui.core.trust.ignore import KILOCODEIGNORE, IgnoreMatcher
from kilo_tui.core.trust.paths import read_small_file

if TYPE_CHECKING:
    from kilo_tui.core.agent.modes import Mode

RULE_SUFFIXES = (".md", ".txt")
LEGACY_RULE_FILES = (".kilocoderules", ".roorules", ".clinerules")
AGENTS_FILES = ("AGENTS.md", "AGENT.md")

_INTRO = (
    "The following additional instructions are provided by the user, and should be "
    "followed to the best of your ability without interfering with the TOOL USE "
    "guidelines."
)


def build_custom_instructions(
    *,
    workspace: Path,
    mode: Mode,
    global_instructions: str = "",
    kilocode_home: Path,
    use_agents_md: bool = True,
    language: str | None = None,
) -> str:
    """The "USER'S CUSTOM INSTRUCTIONS" section, or "" when there is nothing to say.

    Every rule file appears under a ``# Rules from <path>:`` header (workspace files
    relative to the workspace, global ones absolute).
    """
    workspace = Path(workspace)
    sections: list[str] = []
    if language:
        sections.append(
            f'Language Preference:\nYou should always speak and think in the "{language}" '
            "language unless the user gives you instructions below to do otherwise."
        )
    if global_instructions.strip():
        sections.append(f"Global Instructions:\n{global_instructions.strip()}")
    if mode.custom_instructions.strip():
        sections.append(f"Mode-specific Instructions:\n{mode.custom_instructions.strip()}")
    rules = [
        *_mode_rules(workspace, kilocode_home, mode.slug),
        *_ignore_note(workspace),
        *(_agents_md(workspace) if use_agents_md else []),
        *_generic_rules(workspace, kilocode_home),
    ]
    if rules:
        sections.append("Rules:\n\n" + "\n\n".join(rules))
    if not sections:
        return ""
    return "====\n\nUSER'S CUSTOM INSTRUCTIONS\n\n" + _INTRO + "\n\n" + "\n\n".join(sections)


# ------------------------------------------------------------------ sources


def _read(path: Path, workspace: Path) -> str:
    """A rule file's text ("" if unusable). A workspace file is untrusted: it is read
    only if it is a regular file that stays inside the workspace (a rule that links to
    ``~/.ssh/id_rsa`` would put the key in the prompt; a FIFO would hang it)."""
    within = workspace if path.is_relative_to(workspace) else None
    data = read_small_file(path, within=within)
    return "" if data is None else data.decode("utf-8", errors="replace").strip()


def _label(path: Path, workspace: Path) -> str:
    try:
        return path.relative_to(workspace).as_posix()
    except ValueError:
        return str(path)


def _block(path: Path, workspace: Path) -> str | None:
    text = _read(path, workspace)
    return f"# Rules from {_label(path, workspace)}:\n{text}" if text else None


def _rule_files(directory: Path) -> list[Path]:
    """``*.md``/``*.txt`` files under ``directory``, recursively, sorted by path."""
    if not directory.is_dir():
        return []
    found: list[Path] = []
    seen: set[str] = set()
    for root, dirs, files in os.walk(directory, followlinks=True):
        real = os.path.realpath(root)
        if real in seen:  # a symlink loop
            dirs[:] = []
            continue
        seen.add(real)
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found += [Path(root) / f for f in files if f.lower().endswith(RULE_SUFFIXES)]
    return sorted(found, key=lambda p: p.relative_to(directory).as_posix())


def _dir_rules(directories: Iterable[Path], workspace: Path) -> list[str]:
    blocks = []
    for directory in directories:
        for path in _rule_files(directory):
            if (block := _block(path, workspace)) is not None:
                blocks.append(block)
    return blocks


def _mode_rules(workspace: Path, home: Path, slug: str) -> list[str]:
    dirs = [home / f"rules-{slug}", workspace / ".kilocode" / f"rules-{slug}"]
    blocks = _dir_rules(dirs, workspace)
    if blocks:
        return blocks
    for name in (f".kilocoderules-{slug}", f".roorules-{slug}", f".clinerules-{slug}"):
        if (block := _block(workspace / name, workspace)) is not None:
            return [block]
    return []


def _ignore_note(workspace: Path) -> list[str]:
    content = _read(workspace / KILOCODEIGNORE, workspace)
    if not content:
        return []
    return [
        f"# {KILOCODEIGNORE}\n\n(The user's root-level {KILOCODEIGNORE} below lists files "
        "and directories you must not access. They do not appear in file listings, and "
        "reading, writing or searching them fails with an error.)\n"
        f"{content}\n{KILOCODEIGNORE}"
    ]


def _agents_md(workspace: Path) -> list[str]:
    for name in AGENTS_FILES:
        if (block := _block(workspace / name, workspace)) is not None:
            return [block]
    return []


def _generic_rules(workspace: Path, home: Path) -> list[str]:
    blocks = _dir_rules([home / "rules", workspace / ".kilocode" / "rules"], workspace)
    if blocks:
        return blocks
    for name in LEGACY_RULE_FILES:
        path = workspace / name
        if path.is_dir():
            if found := _dir_rules([path], workspace):
                return found
        elif (block := _block(path, workspace)) is not None:
            return [block]
    return []


# ---------------------------------------------------------- environment


def environment_details(
    *,
    now: datetime,
    mode: Mode,
    model: str,
    cost: float | None,
    todos: list[dict[str, str]],
    workspace: Path,
    include_listing: bool,
    listing_limit: int = 200,
    is_ignored: Callable[[Path], bool] | None = None,
) -> str:
    """Kilo's ``<environment_details>`` block for one request.

    ``now`` may be naive (taken as local time). The workspace listing (first request
    only) honours ``.gitignore``/``.kilocodeignore`` plus ``is_ignored`` if given,
    and is cut at ``listing_limit`` files with a note.
    """
    local = now.astimezone() if now.tzinfo is None else now
    sections = [
        _time_section(local),
        f"# Current Cost\n{'unknown' if cost is None else f'${cost:.2f}'}",
        f"# Current Mode\n<slug>{mode.slug}</slug>\n<name>{mode.name}</name>\n"
        f"<model>{model}</model>",
        _todo_section(todos),
    ]
    if include_listing:
        sections.append(_listing(Path(workspace), listing_limit, is_ignored))
    return "<environment_details>\n" + "\n\n".join(sections) + "\n</environment_details>"


def _time_section(local: datetime) -> str:
    offset = local.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    sign = "+" if minutes >= 0 else "-"
    hours, mins = divmod(abs(minutes), 60)
    utc = local.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    zone = local.tzname() or "local"
    return (
        f"# Current Time\nCurrent time in ISO 8601 UTC format: {utc}\n"
        f"User time zone: {zone}, UTC{sign}{hours}:{mins:02d}"
    )


_TODO_MARK = {"completed": "[x]", "in_progress": "[-]"}


def _todo_section(todos: list[dict[str, str]]) -> str:
    if not todos:
        return (
            "# Current Todo List\nNo todo list yet. For multi-step work, create one with "
            "update_todo_list and keep it current."
        )
    lines = [
        f"{_TODO_MARK.get(t.get('status', ''), '[ ]')} {t.get('text') or t.get('content', '')}"
        for t in todos
    ]
    open_count = sum(1 for t in todos if t.get("status") != "completed")
    return (
        f"# Current Todo List ({open_count} open of {len(todos)})\n"
        + "\n".join(lines)
        + "\nKeep it updated with update_todo_list as you make progress."
    )


def _listing(workspace: Path, limit: int, is_ignored: Callable[[Path], bool] | None) -> str:
    header = f"# Current Workspace Directory ({workspace}) Files"
    if workspace.resolve() in (Path.home().resolve(), Path(workspace.anchor)):
        return (
            f"{header}\n(The workspace is your home or root directory, so files are not "
            "listed automatically. Use list_files if you need to explore.)"
        )
    matcher = IgnoreMatcher(workspace)
    files: list[str] = []
    truncated = False
    for path in matcher.walk():
        if is_ignored is not None and is_ignored(path):
            continue
        if len(files) == limit:
            truncated = True
            break
        files.append(path.relative_to(matcher.workspace).as_posix())
    if not files:
        return f"{header}\n(No files found.)"
    body = "\n".join(files)
    if truncated:
        body += (
            f"\n\n(File list truncated at {limit} files. Use list_files on specific "
            "directories if you need to explore further.)"
        )
    return f"{header}\n{body}"
