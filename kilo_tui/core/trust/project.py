"""Trust for project files that can loosen the approval policy.

A repository's ``.kilocode/kilo-tui.toml`` may override the user's ``[auto_approve]``
settings. Cloning a repository must not be enough to make kilo-tui run its commands
unasked, so the parts of a project override that *loosen* the policy apply only once the
user has trusted that exact file content (its SHA-256). The parts that tighten it
(denied commands, toggles turned off, lower limits) always apply.

kilo-tui re-trusts the file itself when it writes an "always allow" answer there; a user
who edits it by hand runs ``kilo-tui config trust``.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from kilo_tui.core import paths


def _store() -> Path:
    return paths.data_dir() / "trusted_project_files.json"


def _load() -> dict[str, str]:
    try:
        data = json.loads(_store().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def file_digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def is_trusted(path: Path) -> bool:
    digest = file_digest(path)
    return digest is not None and _load().get(str(path.resolve())) == digest


def trust(path: Path) -> None:
    """Record the file's current content as trusted (atomic write)."""
    digest = file_digest(path)
    if digest is None:
        return
    data = _load()
    data[str(path.resolve())] = digest
    store = _store()
    paths.ensure_dir(store.parent)
    fd, tmp = tempfile.mkstemp(dir=store.parent, prefix=".trusted.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2)
    os.replace(tmp, store)


def restrictive_part(
    project: dict[str, Any], global_: dict[str, Any]
) -> tuple[dict[str, Any], list[str]]:
    """The keys of an untrusted project table that only tighten the policy, and the
    names of the keys left out because they would loosen it."""
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
