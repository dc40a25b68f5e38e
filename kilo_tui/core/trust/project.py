"""Trust for the project files that could run or loosen something.

Three files a repository may ship change what kilo-tui runs or allows. Cloning a
repository must not be enough for any of it, so each applies only once the user has
trusted that exact file content (its SHA-256); any change makes it untrusted again.

========================  =========================================  ====================
file                      before the user trusts it                  after
========================  =========================================  ====================
.kilocode/mcp.json        no server from it starts                   its servers start
.kilocode/kilo-tui.toml   only settings that tighten the policy      the whole table
.kilocodemodes            new modes load; redefinitions of existing  redefinitions apply
                          modes are held back
========================  =========================================  ====================

This module is the one place that knows these files. The code that reads each file
(``mcp.config``, ``agent.runtime``, ``agent.modes``) asks it what may apply.

"Always allow" answers are the user's own rules: they are kept apart from the project,
in :func:`remembered_rules_file`, so remembering one never trusts anything a project
file says.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from kilo_tui.core import paths

POLICY_FILE = Path(".kilocode") / "kilo-tui.toml"
MCP_FILE = Path(".kilocode") / "mcp.json"
MODES_FILE = Path(".kilocodemodes")
TRUSTABLE_FILES = (MCP_FILE, POLICY_FILE, MODES_FILE)
"""Every project file whose content must be trusted before it runs or loosens anything."""


# ------------------------------------------------------------------ the stores


def _store(name: str) -> Path:
    return paths.data_dir() / name


_TRUSTED = "trusted_project_files.json"
_DECLINED = "declined_project_files.json"
"""Contents the user was asked about in the TUI and declined: not asked again."""


def _load(name: str) -> dict[str, str]:
    try:
        data = json.loads(_store(name).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _record(name: str, path: Path, digest: str | None = None) -> None:
    """Record ``digest`` (default: ``path``'s current one) in store ``name`` (atomic)."""
    digest = digest or file_digest(path)
    if digest is None:
        return
    data = _load(name)
    data[str(path.resolve())] = digest
    store = _store(name)
    paths.ensure_dir(store.parent)
    fd, tmp = tempfile.mkstemp(dir=store.parent, prefix=f".{name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2)
        os.replace(tmp, store)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def file_digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _matches(name: str, path: Path, content: bytes | None = None) -> bool:
    digest = file_digest(path) if content is None else hashlib.sha256(content).hexdigest()
    return digest is not None and _load(name).get(str(path.resolve())) == digest


def is_trusted(path: Path, content: bytes | None = None) -> bool:
    """True if the user trusted exactly the current content of ``path``.

    A caller that goes on to use the file passes the ``content`` it read: the check is
    then on those very bytes, so the file cannot change between the check and the use.
    """
    return _matches(_TRUSTED, path, content)


def trust(path: Path, digest: str | None = None) -> None:
    """Record the file's content as trusted: the content with ``digest`` (what the user
    was shown; if the file changed since, it stays untrusted), else the current one."""
    _record(_TRUSTED, path, digest)


def trusted_store_file() -> Path:
    """Where trusted contents are recorded: watching it lets a running kilo-tui apply
    a trust given elsewhere (``kilo-tui config trust`` in another terminal)."""
    return _store(_TRUSTED)


def was_declined(path: Path) -> bool:
    """True if the user already declined to trust exactly this content (don't ask again)."""
    return _matches(_DECLINED, path)


def decline(path: Path, digest: str | None = None) -> None:
    _record(_DECLINED, path, digest)


@contextlib.contextmanager
def keeping_trust(path: Path) -> Iterator[None]:
    """Around kilo-tui's own edit of a project file: if the file was trusted right before
    the edit, its new content is trusted too (the only difference is the user's change).
    An untrusted file stays untrusted: an edit through kilo-tui never vouches for the
    rest of it."""
    trusted_before = is_trusted(path)
    yield
    if trusted_before:
        trust(path)


def untrusted_files(workspace: Path) -> list[Path]:
    """The trustable files present in ``workspace`` whose content is not trusted."""
    found = [Path(workspace) / name for name in TRUSTABLE_FILES]
    return [p for p in found if p.is_file() and not is_trusted(p)]


# ------------------------------------------------------------ .kilocode/mcp.json


def mcp_warning(workspace: Path) -> str | None:
    """The startup notice for a project ``.kilocode/mcp.json`` whose servers do not
    start because it is not trusted (None if there is nothing to say)."""
    from kilo_tui.core.config import ConfigError
    from kilo_tui.core.mcp.config import read_entries

    path = Path(workspace) / MCP_FILE
    try:
        names = list(read_entries(path)) if not is_trusted(path) else []
    except ConfigError:
        return None  # reported as a broken settings file
    if not names:
        return None
    return (
        f"{path} defines MCP servers ({', '.join(names)}) but is not trusted yet, so they "
        "are not started. Review the file, then run `kilo-tui config trust` in this "
        "workspace to start them."
    )


# ------------------------------------------------------ .kilocode/kilo-tui.toml


def restrictive_part(
    project: dict[str, Any], global_: dict[str, Any]
) -> tuple[dict[str, Any], list[str]]:
    """The keys of an untrusted project ``[auto_approve]`` table that only tighten the
    policy, and the names of the keys left out because they would loosen it."""
    kept: dict[str, Any] = {}
    dropped: list[str] = []
    for key, value in project.items():
        if key == "denied_commands" or (isinstance(value, bool) and value is False):
            kept[key] = value
        elif key in ("max_requests", "max_cost") and isinstance(value, int | float):
            current = global_.get(key)
            kept[key] = value if current is None else min(value, current)
        else:
            dropped.append(key)
    return kept, dropped


def remembered_rules_file(workspace: Path) -> Path:
    """Where "always allow" answers for ``workspace`` are kept: a TOML file with an
    ``[auto_approve]`` table in the user's data directory, never in the workspace."""
    resolved = Path(workspace).resolve()
    tag = hashlib.sha256(str(resolved).encode()).hexdigest()[:12]
    name = re.sub(r"[^A-Za-z0-9._-]", "_", resolved.name) or "root"
    return paths.data_dir() / "remembered" / f"{name}-{tag}.toml"


# ------------------------------------------------------------------ .kilocodemodes


class _Mode(Protocol):
    @property
    def slug(self) -> str: ...


@dataclass(frozen=True)
class ModeOverrides:
    """What an untrusted ``.kilocodemodes`` may change: its new modes apply, its
    redefinitions of existing modes are held back (by slug)."""

    allowed: list[Any]
    held_back: list[str]

    def warning(self, path: Path) -> str | None:
        if not self.held_back:
            return None
        names = ", ".join(self.held_back)
        return (
            f"{path} redefines the mode(s) {names} but is not trusted yet, so the "
            "built-in (or your global) definition is used. Review the file, then run "
            "`kilo-tui config trust` in this workspace to apply it."
        )


def project_modes(path: Path, modes: Iterable[_Mode], existing: Iterable[str]) -> ModeOverrides:
    """Split the project's modes into those that apply and those held back.

    A brand-new slug is only a prompt and a list of tool groups: every action it leads
    to still passes the approval gate under the user's own policy, and the built-in
    ``code`` mode already offers every group. Redefining a mode the user knows
    (``ask``, or their default) is what needs consent.
    """
    modes = list(modes)
    if is_trusted(path):
        return ModeOverrides(modes, [])
    known = set(existing)
    return ModeOverrides(
        [m for m in modes if m.slug not in known], [m.slug for m in modes if m.slug in known]
    )


# ------------------------------------------------------------------ describing


@dataclass(frozen=True)
class Review:
    """What the user is shown before trusting a file, and the exact content it is about."""

    path: Path
    digest: str
    lines: list[str]


def review(workspace: Path, path: Path) -> Review | None:
    """:func:`describe` for the content with one digest (None if the file is gone or
    changed while being read: there is nothing stable to ask about)."""
    before = file_digest(path)
    lines = describe(workspace, path)
    if before is None or file_digest(path) != before:
        return None
    return Review(path, before, lines)


def describe(workspace: Path, path: Path) -> list[str]:
    """What trusting ``path`` (one of :data:`TRUSTABLE_FILES` in ``workspace``) would
    let it run or loosen, one line each, for the user to review before trusting."""
    relative = path.relative_to(workspace)
    try:
        if relative == MCP_FILE:
            return _describe_mcp(path)
        if relative == POLICY_FILE:
            return _describe_policy(path)
        return _describe_modes(path)
    except (OSError, ValueError) as exc:
        return [f"cannot be read: {exc}"]


def _describe_mcp(path: Path) -> list[str]:
    from kilo_tui.core.mcp.config import describe_raw, read_entries

    entries = read_entries(path)
    if not entries:
        return ["defines no MCP servers"]
    return [f"starts MCP server {name}: {describe_raw(raw)}" for name, raw in entries.items()]


def _describe_policy(path: Path) -> list[str]:
    import tomllib

    table = tomllib.loads(path.read_text(encoding="utf-8")).get("auto_approve", {})
    if not isinstance(table, dict):
        return ["[auto_approve] is not a table"]
    _, loosening = restrictive_part(table, {})
    if not loosening:
        return ["only tightens the approval policy"]
    return [f"loosens the approval policy: {key} = {json.dumps(table[key])}" for key in loosening]


def _describe_modes(path: Path) -> list[str]:
    from kilo_tui.core.agent.modes import BUILTIN_MODES, read_modes_file

    modes, errors = read_modes_file(path, "project")
    builtin = {m.slug for m in BUILTIN_MODES}
    lines = []
    for mode in modes:
        verb = "redefines the built-in mode" if mode.slug in builtin else "adds the mode"
        groups = ", ".join(g.name for g in mode.groups) or "no tool groups"
        lines.append(f"{verb} {mode.slug} (tool groups: {groups})")
    return lines + errors
