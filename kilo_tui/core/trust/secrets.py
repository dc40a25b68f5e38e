"""Keys stay where they belong: what a child process inherits, and redaction.

Two promises live here.

- **Children do not inherit secrets.** :func:`child_env` is the environment of every
  command the agent runs and every stdio MCP server: kilo-tui's own, minus every
  variable whose name looks like a credential (:func:`is_secret_name`), plus what the
  user passes through on purpose (``[agent] env_passthrough``) and, for an MCP server,
  the ``env`` of its own config entry.
- **Known key values are never stored or sent.** A :class:`Redactor` knows every key
  value kilo-tui was configured with (providers in ``config.toml``, the environment's
  credential variables, MCP credential headers and env) and replaces each with
  :data:`Redactor.MASK` at the few places text leaves the process: the conversation
  history (before the model sees it), the session store's writer, exports and the
  ``--json`` printer.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kilo_tui.core.config import Settings

_SECRET_SUFFIXES = (
    "_API_KEY",
    "_APIKEY",
    "_ACCESS_KEY",
    "_ACCESS_KEY_ID",
    "_SECRET_KEY",
    "_PRIVATE_KEY",
    "_TOKEN",
)
_SECRET_PARTS = ("SECRET", "PASSWORD", "PASSWD", "CREDENTIAL")
_SECRET_NAMES = frozenset({"API_KEY", "TOKEN"})

_CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})
"""Header names that carry a credential whatever they are called otherwise; a value
like ``Bearer abc…`` is masked whole and by its last word (the token alone)."""

MIN_SECRET_LENGTH = 8
"""Shorter values are placeholders (``x``, ``none``), not keys: masking them would only
garble the text."""


def is_secret_name(name: str) -> bool:
    """True if an environment variable called ``name`` likely holds a credential."""
    upper = name.upper()
    return (
        upper in _SECRET_NAMES
        or upper.endswith(_SECRET_SUFFIXES)
        or any(part in upper for part in _SECRET_PARTS)
    )


def child_env(
    passthrough: Iterable[str] = (),
    *,
    base: Mapping[str, str] | None = None,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The environment for a child process: ``base`` (kilo-tui's own by default)
    without credential variables, except those named in ``passthrough``, then
    ``extra`` (explicit values, e.g. an MCP server's configured ``env``) on top."""
    allowed = set(passthrough)
    source = os.environ if base is None else base
    env = {k: v for k, v in source.items() if k in allowed or not is_secret_name(k)}
    return env | dict(extra or {})


# ------------------------------------------------------------------ redaction


class Redactor:
    """Replaces known secret values in text and JSON-like data."""

    MASK = "[REDACTED]"

    def __init__(self, secrets: Iterable[str]) -> None:
        values = {s for s in secrets if isinstance(s, str) and len(s) >= MIN_SECRET_LENGTH}
        # A value as it appears inside a JSON string too (quotes, backslashes escaped).
        values |= {json.dumps(v)[1:-1] for v in values}
        self.secrets = tuple(sorted(values, key=len, reverse=True))
        self._pattern = re.compile("|".join(map(re.escape, self.secrets))) if values else None

    def __bool__(self) -> bool:
        return self._pattern is not None

    def text(self, text: str) -> str:
        if self._pattern is None or not text:
            return text
        return self._pattern.sub(self.MASK, text)

    def data(self, value: Any) -> Any:
        """``value`` with every string in it (dict values, list items) redacted."""
        if self._pattern is None:
            return value
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {k: self.data(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return type(value)(self.data(v) for v in value)
        return value

    def held_back(self, text: str) -> int:
        """How many characters at the end of ``text`` could be the start of a secret
        that the next chunk of a stream completes (0 if none)."""
        if self._pattern is None:
            return 0
        longest = len(self.secrets[0])
        for start in range(max(0, len(text) - longest + 1), len(text)):
            tail = text[start:]
            if any(s.startswith(tail) for s in self.secrets):
                return len(text) - start
        return 0


class EventRedactor:
    """Redacts bus events (as dicts) for one sink, including streamed command output:
    a key split across two ``command_output`` chunks is still caught, because a chunk's
    tail that could start a key is held back until the next chunk or the end."""

    def __init__(self, redactor: Redactor) -> None:
        self.redactor = redactor
        self._held: dict[str, str] = {}

    def __call__(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        kind, call = event.get("type"), str(event.get("call_id", ""))
        if kind == "command_output" and self.redactor:
            text = self.redactor.text(self._held.pop(call, "") + str(event.get("text", "")))
            if keep := self.redactor.held_back(text):
                text, self._held[call] = text[:-keep], text[-keep:]
            return [{**event, "text": text}] if text else []
        out: list[dict[str, Any]] = []
        if kind == "command_finished" and call in self._held:
            rest = self._held.pop(call)
            fields: dict[str, Any] = {k: event[k] for k in ("task_id", "ts") if k in event}
            out.append({"type": "command_output", **fields, "call_id": call, "text": rest})
        out.append(self.redactor.data(event))
        return out


def known_secrets(
    settings: Settings | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    workspace: Path | None = None,
) -> set[str]:
    """Every key value kilo-tui knows: provider ``api_key`` values and the Qdrant key in
    the config, the environment's credential variables, and MCP credential ``headers``
    and ``env`` values (by name, as for the environment)."""
    env = os.environ if environ is None else environ
    found = {v for k, v in env.items() if is_secret_name(k)}
    if settings is not None:
        for conf in settings.providers.values():
            for key, value in conf.items():
                if isinstance(value, str) and is_secret_name(key):
                    found.add(value)
        if settings.codebase_index.qdrant_api_key:
            found.add(settings.codebase_index.qdrant_api_key)
    if workspace is not None:
        found |= _mcp_secrets(workspace)
    return found


def _mcp_secrets(workspace: Path) -> set[str]:
    from kilo_tui.core.mcp.config import load_config

    try:
        config = load_config(workspace)
    except Exception:  # redaction must never stop kilo-tui from starting
        return set()
    found: set[str] = set()
    for server in config.servers.values():
        found |= {v for k, v in server.env.items() if is_secret_name(k)}
        for name, value in server.headers.items():
            if name.lower() in _CREDENTIAL_HEADERS or is_secret_name(name.replace("-", "_")):
                found |= {value, value.split()[-1]} if value.strip() else set()
    return found


def redactor_for(settings: Settings | None, workspace: Path | None = None) -> Redactor:
    """The redactor for everything kilo-tui knows (see :func:`known_secrets`)."""
    return Redactor(known_secrets(settings, workspace=workspace))
