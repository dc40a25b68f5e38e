"""MCP server configuration in Kilo Code's format, read from and written back to its files.

Two files hold an ``mcpServers`` object: the global ``mcp_settings.json`` in our config
directory and the project's ``.kilocode/mcp.json``. A server defined in both is taken
from the project file. Each entry is validated on its own, so one broken entry yields a
:class:`ConfigError` for that server while the others still start.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kilo_tui.core import paths
from kilo_tui.core.config import ConfigError

TRANSPORTS = ("stdio", "streamable-http", "sse")
DEFAULT_TIMEOUT = 60.0
MAX_TIMEOUT = 3600.0
_ENV_REF = re.compile(r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}")


def global_config_path() -> Path:
    """The global MCP settings file (``mcp_settings.json`` in the config directory)."""
    return paths.config_dir() / "mcp_settings.json"


def project_config_path(workspace: Path) -> Path:
    """The project's MCP settings file (``.kilocode/mcp.json``)."""
    return Path(workspace) / ".kilocode" / "mcp.json"


SERVER_SANDBOX_MODES = ("read-only", "workspace-write")
"""What a project file's stdio server entry may ask for (``"sandbox"``); never "off"."""


@dataclass(frozen=True)
class ServerConfig:
    """One validated ``mcpServers`` entry, with ``${env:…}`` references resolved."""

    name: str
    source: Path
    """The file the entry came from (where changes to it are written)."""
    transport: str
    """``stdio``, ``streamable-http`` or ``sse``."""
    command: str = ""
    args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    url: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    disabled: bool = False
    always_allow: tuple[str, ...] = ()
    timeout: float = DEFAULT_TIMEOUT
    """Seconds allowed for each request, and for the server to start and list its tools."""
    sandbox: str = "read-only"
    """For a project file's stdio server: ``read-only`` (the workspace too) or
    ``workspace-write``. The user's own servers are not sandboxed."""
    network: bool = False
    """For a project file's stdio server: network access inside the sandbox."""

    def connection(self) -> tuple[Any, ...]:
        """The fields that define the connection: a change in them needs a restart."""
        return (
            self.transport, self.command, self.args, self.env, self.cwd, self.url,
            self.headers, self.sandbox, self.network,
        )  # fmt: skip

    def describe(self) -> str:
        """A short human description: the command line or the URL."""
        if self.transport == "stdio":
            return " ".join([self.command, *self.args])
        return f"{self.url} ({self.transport})"


@dataclass(frozen=True)
class McpConfig:
    """Every configured server, by name, after merging the global and project files."""

    servers: dict[str, ServerConfig] = field(default_factory=dict)
    broken: dict[str, ConfigError] = field(default_factory=dict)
    """Entries that failed validation, by server name."""
    sources: dict[str, Path] = field(default_factory=dict)
    """Where each name (valid or broken) is defined."""
    file_errors: tuple[ConfigError, ...] = ()
    """Problems with a whole file (invalid JSON, ``mcpServers`` not an object)."""
    untrusted: dict[str, str] = field(default_factory=dict)
    """Servers of a project file the user has not trusted, by name: what each would run
    (its command line or URL, as written). None of them starts."""
    fingerprint: tuple[Any, ...] = ()
    """What this was built from: each file's bytes and whether the project's was
    trusted. Reading the files again with the same fingerprint gives the same config."""


def load_config(workspace: Path) -> McpConfig:
    """Read the global then the project file; project entries replace global ones by
    name, once the user trusted the project file (until then they are only listed)."""
    from kilo_tui.core.trust import project as trust

    servers: dict[str, ServerConfig] = {}
    broken: dict[str, ConfigError] = {}
    sources: dict[str, Path] = {}
    untrusted: dict[str, str] = {}
    file_errors: list[ConfigError] = []
    fingerprint: list[Any] = []
    project = project_config_path(workspace)
    for path in (global_config_path(), project):
        # One read per file: the trust check and the servers started are about the
        # same bytes, however the file changes meanwhile.
        try:
            content = _read_bytes(path)
            entries = parse_entries(content, path)
        except ConfigError as exc:
            fingerprint.append(str(exc))
            file_errors.append(exc)
            continue
        trusted = path != project or not entries or trust.is_trusted(path, content)
        fingerprint += [content, trusted]
        if not trusted:
            for name, raw in entries.items():
                if name not in sources:
                    sources[name] = path
                    untrusted[name] = describe_raw(raw)
            continue
        for name, raw in entries.items():
            servers.pop(name, None)
            broken.pop(name, None)
            sources[name] = path
            try:
                servers[name] = parse_server(name, raw, path, workspace)
            except ConfigError as exc:
                broken[name] = exc
    return McpConfig(servers, broken, sources, tuple(file_errors), untrusted, tuple(fingerprint))


def describe_raw(raw: Any) -> str:
    """What an entry would run, from its text as written (``${env:…}`` left unresolved,
    so showing it never reveals a variable's value)."""
    if not isinstance(raw, dict):
        return "(not a server entry)"
    if "command" in raw:
        words = [raw.get("command"), *(raw.get("args") or [])]
        line = " ".join(str(w) for w in words)
        if isinstance(raw.get("cwd"), str):
            line += f"  (in {raw['cwd']})"
        if isinstance(raw.get("env"), dict) and raw["env"]:
            line += f"  (env: {', '.join(f'{k}={v}' for k, v in raw['env'].items())})"
        return line
    line = f"{raw.get('url')} ({raw.get('type', 'sse')})"
    if isinstance(raw.get("headers"), dict) and raw["headers"]:
        line += f"  (headers: {', '.join(f'{k}: {v}' for k, v in raw['headers'].items())})"
    return line


def read_entries(path: Path) -> dict[str, Any]:
    """The ``mcpServers`` object of one file ({} if the file does not exist)."""
    return parse_entries(_read_bytes(path), path)


def _read_bytes(path: Path) -> bytes | None:
    """The file's content (None if it does not exist)."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(f"cannot read the file: {exc.strerror}", path=str(path)) from exc


def parse_entries(content: bytes | None, path: Path) -> dict[str, Any]:
    """The ``mcpServers`` object of ``content``, read from ``path`` ({} if None or empty)."""
    try:
        text = (content or b"").decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError("the file is not UTF-8 text", path=str(path)) from exc
    if not text.strip():
        return {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"invalid JSON: {exc.msg}", path=str(path), line=exc.lineno) from exc
    if not isinstance(data, dict):
        raise ConfigError("expected a JSON object with 'mcpServers'", path=str(path))
    entries = data.get("mcpServers", {})
    if not isinstance(entries, dict):
        raise ConfigError("must be an object of servers by name", path=str(path), key="mcpServers")
    return entries


def parse_server(name: str, raw: Any, source: Path, workspace: Path) -> ServerConfig:
    """Validate one entry. Raises :class:`ConfigError` naming the file and the field."""
    entry = _Entry(name, source, raw)
    transport = entry.transport()
    common: dict[str, Any] = {
        "disabled": entry.boolean("disabled"),
        "always_allow": tuple(entry.strings("alwaysAllow", resolve=False)),
        "timeout": entry.timeout(),
    }
    if transport == "stdio":
        cwd = entry.string("cwd")
        return ServerConfig(
            name,
            source,
            transport,
            command=entry.string("command", required=True),
            args=tuple(entry.strings("args")),
            env=entry.mapping("env"),
            cwd=(Path(workspace) / Path(cwd).expanduser()) if cwd else None,
            sandbox=entry.choice("sandbox", SERVER_SANDBOX_MODES),
            network=entry.boolean("network"),
            **common,
        )
    url = entry.string("url", required=True)
    if not url.startswith(("http://", "https://")):
        raise entry.error("url", "must start with http:// or https://")
    return ServerConfig(
        name, source, transport, url=url, headers=entry.mapping("headers"), **common
    )


class _Entry:
    """Typed access to the fields of one raw entry, with errors that say where."""

    def __init__(self, name: str, source: Path, raw: Any) -> None:
        self.name = name
        self.source = source
        if not isinstance(raw, dict):
            raise ConfigError(
                "the server entry must be an object", path=str(source), key=f"mcpServers.{name}"
            )
        self.raw: dict[str, Any] = raw

    def error(self, key: str, message: str) -> ConfigError:
        return ConfigError(message, path=str(self.source), key=f"mcpServers.{self.name}.{key}")

    def transport(self) -> str:
        kind = self.raw.get("type")
        if kind is None:
            # Kilo's rule for entries without a type: a command is stdio, a URL is legacy SSE.
            if "command" in self.raw:
                return "stdio"
            if "url" in self.raw:
                return "sse"
            raise self.error("command", "needs 'command' (stdio) or 'type' and 'url' (HTTP)")
        if kind not in TRANSPORTS:
            raise self.error("type", f"must be one of {', '.join(TRANSPORTS)} (got {kind!r})")
        return str(kind)

    def string(self, key: str, *, required: bool = False) -> str:
        value = self.raw.get(key)
        if value is None:
            if required:
                raise self.error(key, "is required")
            return ""
        if not isinstance(value, str) or (required and not value.strip()):
            raise self.error(key, "must be a non-empty string")
        return self.resolve(key, value)

    def strings(self, key: str, *, resolve: bool = True) -> list[str]:
        value = self.raw.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.error(key, "must be a list of strings")
        return [self.resolve(f"{key}[{i}]", v) if resolve else v for i, v in enumerate(value)]

    def mapping(self, key: str) -> dict[str, str]:
        value = self.raw.get(key, {})
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise self.error(key, "must be an object of string values")
        return {k: self.resolve(f"{key}.{k}", v) for k, v in value.items()}

    def choice(self, key: str, choices: tuple[str, ...]) -> str:
        """One of ``choices``; the first when the key is absent."""
        value = self.raw.get(key, choices[0])
        if value not in choices:
            raise self.error(key, f"must be one of {', '.join(choices)}")
        return str(value)

    def boolean(self, key: str) -> bool:
        value = self.raw.get(key, False)
        if not isinstance(value, bool):
            raise self.error(key, "must be true or false")
        return value

    def timeout(self) -> float:
        value = self.raw.get("timeout", DEFAULT_TIMEOUT)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.error("timeout", "must be a number of seconds")
        if not 0 < value <= MAX_TIMEOUT:
            raise self.error("timeout", f"must be between 0 and {MAX_TIMEOUT:g} seconds")
        return float(value)

    def resolve(self, key: str, value: str) -> str:
        """Replace ``${env:NAME}`` references; an unset variable is an error for this field."""

        def lookup(match: re.Match[str]) -> str:
            var = match.group(1)
            if var not in os.environ:
                raise self.error(key, f"environment variable {var} is not set")
            return os.environ[var]

        return _ENV_REF.sub(lookup, value)


# ------------------------------------------------------------------ writing


def update_entry(path: Path, name: str, change: Callable[[dict[str, Any]], None]) -> None:
    """Apply ``change`` to the raw entry ``name`` in ``path`` and write the file atomically.

    Everything else in the file (other servers, unknown keys) is kept as it was.
    """
    data: dict[str, Any] = {}
    if path.exists():
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if text.strip() else {}
    entry = data.setdefault("mcpServers", {}).get(name)
    if not isinstance(entry, dict):
        raise ConfigError(f"no server named {name!r} in this file", path=str(path))
    change(entry)
    _write_atomic(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o777)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
