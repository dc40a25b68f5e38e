"""Settings: config TOML → environment → CLI flags, into one validated object.

The file is ``config.toml`` in :func:`kilo_tui.core.paths.config_dir` (``$KILO_TUI_HOME``
when set). It is read with tomllib and written with tomli-w, atomically and with mode
0600 because it may hold API keys. Every problem is a :class:`ConfigError` naming the
file, the line and the key — never a traceback.

Environment overrides: ``KILO_TUI_MODEL``, ``KILO_TUI_SMALL_MODEL``, ``KILO_TUI_MODE``,
``KILO_TUI_THEME``. CLI flags arrive as ``overrides`` (dotted keys).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
import tempfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kilo_tui.core import paths
from kilo_tui.core.llm import providers
from kilo_tui.core.trust.netproxy import DomainPolicy
from kilo_tui.core.trust.sandbox import MODES as SANDBOX_MODES
from kilo_tui.core.trust.sandbox import SandboxSettings


class ConfigError(Exception):
    """A configuration problem, with where it is: file, line and key when known."""

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        key: str | None = None,
    ) -> None:
        self.message = message
        self.path = path
        self.line = line
        self.key = key
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.path or "configuration"
        if self.line is not None:
            where += f", line {self.line}"
        if self.key:
            where += f", key '{self.key}'"
        return f"{where}: {self.message}"


# ----------------------------------------------------------------- the schema


@dataclass(frozen=True)
class AgentSettings:
    fuzzy_match_threshold: float = 1.0
    """apply_diff: similarity needed for a fuzzy SEARCH match (1.0 = exact only)."""
    command_timeout: float = 600.0
    """execute_command: seconds before a command is killed."""
    max_read_lines: int = 2000
    """read_file: lines returned before truncating with a note."""
    command_output_limit: int = 20_000
    """execute_command: characters of output sent to the model (head + tail)."""
    max_retries: int = 5
    retry_base_delay: float = 2.0
    request_timeout: float = 600.0
    """Seconds to wait for the provider (to answer, or between streamed chunks) before
    the request counts as timed out and is retried."""
    use_agents_md: bool = True
    custom_instructions: str = ""
    fetch_urls: bool = True
    """Expand ``@https://…`` mentions by fetching the page."""
    problems_commands: tuple[str, ...] = ()
    """Commands whose output ``@problems`` shows (defaults detected when empty)."""
    condense_threshold: float = 0.8
    """Condense the context when it passes this share of the context window."""
    repetition_limit: int = 3
    """Refuse the same tool call repeated more than this many times in a row (0: no
    limit, as in Kilo Code)."""
    env_passthrough: tuple[str, ...] = ()
    """Credential variables (e.g. ``NPM_TOKEN``) that commands the agent runs may see;
    all others are withheld (:func:`kilo_tui.core.trust.secrets.child_env`)."""


@dataclass(frozen=True)
class WebSettings:
    """``[web]``: how the agent reads the web (``fetch_url``)."""

    allow_private_addresses: bool = False
    """Let the model's requests reach loopback, private and link-local addresses
    (:mod:`kilo_tui.core.trust.network`)."""
    timeout: float = 30.0
    """Seconds one fetch may take in all, redirects included."""
    max_size: int = 5_000_000
    """Bytes of a response read at most; the rest is not downloaded."""


@dataclass(frozen=True)
class BrowserSettings:
    """``[browser]``: the Chromium or Chrome that ``browser_action`` drives."""

    executable: str = ""
    """Its path (or a name on PATH); empty: the first of chromium, chromium-browser,
    google-chrome… found on PATH (:func:`kilo_tui.core.browser.find_executable`)."""


@dataclass(frozen=True)
class CheckpointSettings:
    enabled: bool = True
    retention_days: int = 30
    max_file_size: int = 10_000_000
    exclude: tuple[str, ...] = ()
    timeout: float = 15.0


@dataclass(frozen=True)
class ModelSettings:
    """``[models."<model id>"]``: what the user knows about one model better than we do."""

    context_window: int | None = None
    """Tokens the server accepts per request (prompt + reply)."""
    max_output: int | None = None
    """Tokens a reply may use; sent as ``max_tokens``."""
    tool_protocol: str | None = None
    """``"native"`` (function calling) or ``"xml"`` (Kilo's XML tool protocol); unset =
    chosen automatically."""


@dataclass(frozen=True)
class CodebaseIndexSettings:
    """``[codebase_index]``: the index behind ``codebase_search`` (kilo_tui/core/code/)."""

    enabled: bool = False
    """Index the workspace in the background and offer ``codebase_search`` (as in Kilo
    Code, the tool is offered only when indexing is on)."""
    embedding_model: str = ""
    """A litellm embedding model (``openai/text-embedding-3-small``); its key and base
    come from the provider's settings. Empty: the search is lexical (SQLite FTS5)."""
    dimensions: int = 0
    """Vector size to ask the model for (0: the model's own)."""
    qdrant_url: str = ""
    """A Qdrant server to keep the vectors in; empty: the embedded store."""
    qdrant_api_key: str = ""


TOOL_PROTOCOLS = ("native", "xml")


def model_settings(settings: Settings, model: str) -> ModelSettings:
    """The ``[models]`` entry for ``model``: its full id, else the id without the
    provider prefix (``openai/qwen`` also matches ``[models."qwen"]``)."""
    entry = settings.models.get(model)
    if entry is None and "/" in model:
        entry = settings.models.get(model.split("/", 1)[1])
    return entry or ModelSettings()


def _model_entries(data: dict[str, Any], fail: Any) -> dict[str, ModelSettings]:
    entries: dict[str, ModelSettings] = {}
    for model, values in data.get("models", {}).items():
        if not isinstance(values, dict):
            raise fail(f"models.{model}", 'expected a table, e.g. [models."ollama_chat/qwen3"]')
        entry = _section(ModelSettings, values, f"models.{model}", fail)
        for key in ("context_window", "max_output"):
            value = getattr(entry, key)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < 1
            ):
                raise fail(f"models.{model}.{key}", "expected a positive whole number")
        if entry.tool_protocol not in (None, *TOOL_PROTOCOLS):
            raise fail(f"models.{model}.tool_protocol", 'expected "native" or "xml"')
        entries[model] = entry
    return entries


@dataclass(frozen=True)
class Settings:
    """The merged, validated settings. Frozen: change them with :func:`save_settings_value`."""

    model: str | None = None
    small_model: str | None = None
    mode: str = "code"
    theme: str = "kilo-dark"
    keymap: dict[str, str] = field(default_factory=dict)
    providers: dict[str, dict[str, Any]] = field(default_factory=dict)
    auto_approve: dict[str, Any] = field(default_factory=dict)
    agent: AgentSettings = field(default_factory=AgentSettings)
    checkpoints: CheckpointSettings = field(default_factory=CheckpointSettings)
    models: dict[str, ModelSettings] = field(default_factory=dict)
    sandbox: SandboxSettings = field(default_factory=SandboxSettings)
    web: WebSettings = field(default_factory=WebSettings)
    browser: BrowserSettings = field(default_factory=BrowserSettings)
    codebase_index: CodebaseIndexSettings = field(default_factory=CodebaseIndexSettings)
    source: str = ""
    """The config file the settings came from (may not exist)."""
    raw: dict[str, Any] = field(default_factory=dict)


_TOP_LEVEL: dict[str, type | tuple[type, ...]] = {
    "model": str,
    "small_model": str,
    "mode": str,
    "theme": str,
    "keymap": dict,
    "providers": dict,
    "auto_approve": dict,
    "agent": dict,
    "checkpoints": dict,
    "models": dict,
    "sandbox": dict,
    "web": dict,
    "browser": dict,
    "codebase_index": dict,
}

_ENV_OVERRIDES = {
    "KILO_TUI_MODEL": "model",
    "KILO_TUI_SMALL_MODEL": "small_model",
    "KILO_TUI_MODE": "mode",
    "KILO_TUI_THEME": "theme",
}


# ------------------------------------------------------------------- loading


def load_settings(
    workspace: Path | None = None,
    *,
    overrides: dict[str, Any] | None = None,
    config_path: Path | None = None,
) -> Settings:
    """Read the config file, apply environment and CLI overrides, validate.

    ``workspace`` is accepted for symmetry with project-level files; project overrides
    of the auto-approve policy are read by :mod:`kilo_tui.core.approval`.
    """
    path = config_path or paths.config_file()
    text, data = _read_toml(path)
    for env, key in _ENV_OVERRIDES.items():
        if value := os.environ.get(env):
            data[key] = value
    for dotted, value in (overrides or {}).items():
        if value is not None:
            _set_dotted(data, dotted, value)
    return _validate(data, str(path), text)


def _read_toml(path: Path) -> tuple[str, dict[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return "", {}
    except OSError as exc:
        raise ConfigError(f"cannot read the file: {exc.strerror}", path=str(path)) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"not UTF-8 text (byte 0x{exc.object[exc.start]:02x}); TOML files must be UTF-8, "
            "re-save it in that encoding",
            path=str(path),
            line=exc.object[: exc.start].count(b"\n") + 1,
        ) from exc
    try:
        return text, tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None) or _line_from_message(str(exc))
        message = str(exc).split(" (at line")[0]
        raise ConfigError(f"invalid TOML: {message}", path=str(path), line=line) from exc


def _line_from_message(message: str) -> int | None:
    match = re.search(r"at line (\d+)", message)
    return int(match.group(1)) if match else None


def _validate(data: dict[str, Any], source: str, text: str) -> Settings:
    def fail(key: str, message: str) -> ConfigError:
        section, _, leaf = key.rpartition(".")
        return ConfigError(message, path=source, line=_line_of(text, section, leaf), key=key)

    for key, value in data.items():
        expected = _TOP_LEVEL.get(key)
        if expected is None:
            raise fail(key, f"unknown setting (known: {', '.join(sorted(_TOP_LEVEL))})")
        if not isinstance(value, expected):
            raise fail(key, f"expected {_type_name(expected)}, got {_type_name(type(value))}")
    keymap = data.get("keymap", {})
    for binding, keys in keymap.items():
        if not isinstance(keys, str):
            raise fail(f"keymap.{binding}", 'expected a string of keys, e.g. "ctrl+s"')
    providers = data.get("providers", {})
    for name, conf in providers.items():
        if not isinstance(conf, dict):
            raise fail(f"providers.{name}", "expected a table, e.g. [providers.ollama]")
        if conf.get("kind") == "openai_compatible" and not conf.get("api_base"):
            raise fail(
                f"providers.{name}.kind",
                'an OpenAI-compatible server needs api_base, e.g. "http://host:8000/v1"',
            )
    agent = _section(AgentSettings, data.get("agent", {}), "agent", fail)
    checkpoints = _section(CheckpointSettings, data.get("checkpoints", {}), "checkpoints", fail)
    sandbox = _section(SandboxSettings, data.get("sandbox", {}), "sandbox", fail)
    web = _section(WebSettings, data.get("web", {}), "web", fail)
    browser = _section(BrowserSettings, data.get("browser", {}), "browser", fail)
    if sandbox.mode not in SANDBOX_MODES:
        raise fail("sandbox.mode", f"expected one of {', '.join(SANDBOX_MODES)}")
    if bad := DomainPolicy(sandbox.allowed_domains).rejected:
        raise fail("sandbox.allowed_domains", f"expected host names, *.domain or IPs: {bad[0]!r}")
    codebase_index = _section(
        CodebaseIndexSettings, data.get("codebase_index", {}), "codebase_index", fail
    )
    return Settings(
        model=data.get("model") or None,
        small_model=data.get("small_model") or None,
        mode=data.get("mode", "code"),
        theme=data.get("theme", "kilo-dark"),
        keymap=dict(keymap),
        providers={k: dict(v) for k, v in providers.items()},
        auto_approve=dict(data.get("auto_approve", {})),
        agent=agent,
        checkpoints=checkpoints,
        models=_model_entries(data, fail),
        sandbox=sandbox,
        web=web,
        browser=browser,
        codebase_index=codebase_index,
        source=source,
        raw=data,
    )


def _section(cls: type, values: dict[str, Any], name: str, fail: Any) -> Any:
    fields = {f.name: f for f in dataclasses.fields(cls)}
    kwargs: dict[str, Any] = {}
    for key, value in values.items():
        f = fields.get(key)
        if f is None:
            raise fail(f"{name}.{key}", f"unknown setting (known: {', '.join(sorted(fields))})")
        default = f.default
        if isinstance(default, tuple):
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise fail(f"{name}.{key}", "expected a list of strings")
            value = tuple(value)
        elif isinstance(default, bool):
            if not isinstance(value, bool):
                raise fail(f"{name}.{key}", "expected true or false")
        elif isinstance(default, float):
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise fail(f"{name}.{key}", "expected a number")
            value = float(value)
            _check_range(f"{name}.{key}", value, fail)
        elif isinstance(default, int):
            if isinstance(value, bool) or not isinstance(value, int):
                raise fail(f"{name}.{key}", "expected a whole number")
            _check_range(f"{name}.{key}", value, fail)
        elif isinstance(default, str) and not isinstance(value, str):
            raise fail(f"{name}.{key}", "expected a string")
        kwargs[key] = value
    return cls(**kwargs)


_POSITIVE = frozenset(
    {
        "agent.command_timeout",
        "agent.request_timeout",
        "agent.max_read_lines",
        "agent.command_output_limit",
        "checkpoints.timeout",
        "checkpoints.max_file_size",
        "web.timeout",
        "web.max_size",
    }
)
_FRACTIONS = frozenset({"agent.fuzzy_match_threshold", "agent.condense_threshold"})


def _check_range(key: str, value: float, fail: Any) -> None:
    """Numbers are finite and not negative; durations and sizes above 0; shares of a
    whole between 0 and 1."""
    if not math.isfinite(value):
        raise fail(key, f"expected a finite number, got {value}")
    if key in _FRACTIONS and not 0 < value <= 1:
        raise fail(key, f"expected a number above 0 and at most 1, got {value:g}")
    if key in _POSITIVE and value <= 0:
        raise fail(key, f"expected a number above 0, got {value:g}")
    if value < 0:
        raise fail(key, f"expected 0 or more, got {value:g}")


def _type_name(t: type | tuple[type, ...]) -> str:
    names = {
        str: "a string",
        dict: "a table",
        int: "a whole number",
        float: "a number",
        bool: "true or false",
        list: "a list",
    }
    if isinstance(t, tuple):
        return " or ".join(names.get(x, x.__name__) for x in t)
    return names.get(t, t.__name__)


def _line_of(text: str, section: str, key: str) -> int | None:
    """The 1-based line where ``key`` is set inside ``[section]`` (best effort)."""
    current = ""
    key_re = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=")
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        header = re.match(r"^\[+\s*([^\]]+?)\s*\]+", stripped)
        if header:
            current = header.group(1)
            if current == f"{section}.{key}".strip(".") or (not section and current == key):
                return number
            continue
        if current == section and key_re.match(line):
            return number
    return None


def _set_dotted(data: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    node = data
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value


# ------------------------------------------------------------------- writing


def write_toml_atomic(path: Path, data: dict[str, Any], *, mode: int = 0o600) -> None:
    """Write ``data`` as TOML to ``path`` atomically (temp file + rename), with ``mode``."""
    import tomli_w

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), mode)
            tomli_w.dump(data, handle)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_settings_value(key: str, value: Any, *, config_path: Path | None = None) -> Path:
    """Set one dotted ``key`` in the config file (atomic, mode 0600). Returns the file."""
    path = config_path or paths.config_file()
    _text, data = _read_toml(path)
    _set_dotted(data, key, value)
    write_toml_atomic(path, data)
    return path


# -------------------------------------------------------------- providers/keys

PROVIDER_KEY_ENV = {
    name: env
    for name, env in providers.KEY_ENV.items()
    if name not in ("bedrock", "vertex_ai")  # ambient cloud credentials choose no model
}
"""Providers whose key, set alone, makes them the default (see :func:`default_model`)."""
LOCAL_PROVIDERS = ("ollama", "ollama_chat", "lm_studio")

DEFAULT_MODELS = {
    "anthropic": "anthropic/claude-sonnet-4-5",
    "openai": "openai/gpt-4o-mini",
    "openrouter": "openrouter/anthropic/claude-sonnet-4.5",
    "gemini": "gemini/gemini-2.5-flash",
    "mistral": "mistral/mistral-large-latest",
    "deepseek": "deepseek/deepseek-chat",
}
"""The model used when none is configured: the first provider (in this order) that has
a key in the config or the environment. A Kilo token comes first: see
:func:`default_model`."""


def model_provider(model: str) -> str:
    return providers.split_model(model)[0]


def provider_key_available(settings: Settings, model: str | None) -> bool:
    """True if a key for ``model``'s provider is in the config or the environment."""
    if not model:
        return False
    provider = model_provider(model)
    if provider in LOCAL_PROVIDERS:
        return True
    if provider == "kilo":
        return providers.kilo_token(settings.providers.get("kilo", {})) is not None
    conf = settings.providers.get(provider, {})
    return providers.configured_key(conf, PROVIDER_KEY_ENV.get(provider, "")) is not None


def kilocode_small_model() -> str | None:
    """``small_model`` from Kilo's ``~/.kilocode/config.json`` (or ``~/.config/kilo``)."""
    found = kilocode_small_model_source()
    return found[0] if found else None


def kilocode_small_model_source() -> tuple[str, Path] | None:
    """``(small_model, the Kilo config file it is in)``, if one of them sets it."""
    for candidate in (
        paths.kilocode_home() / "config.json",
        Path.home() / ".config" / "kilo" / "config.json",
    ):
        try:
            data = json.loads(candidate.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        value = data.get("small_model") if isinstance(data, dict) else None
        if isinstance(value, str) and value:
            return value, candidate
    return None


def setting_sources(settings: Settings, overrides: dict[str, Any] | None = None) -> dict[str, str]:
    """Where each top-level setting came from: a CLI flag, an environment variable,
    the config file, Kilo's config (``small_model``) or the default."""
    _text, in_file = _read_toml(Path(settings.source)) if settings.source else ("", {})
    sources = {}
    for f in dataclasses.fields(Settings):
        if f.name in ("source", "raw"):
            continue
        env = next((e for e, key in _ENV_OVERRIDES.items() if key == f.name), None)
        if (overrides or {}).get(f.name) is not None:
            sources[f.name] = "command line"
        elif env and os.environ.get(env):
            sources[f.name] = f"environment ({env})"
        elif f.name in in_file:
            sources[f.name] = settings.source
        elif f.name == "small_model" and (kilo := kilocode_small_model_source()):
            sources[f.name] = str(kilo[1])
        else:
            sources[f.name] = "default"
    return sources


def default_model(settings: Settings) -> str:
    """The configured model, else a default for the first provider with a key.

    With a Kilo token that is the gateway's default model (as last fetched from it);
    with no key at all, the gateway's default free model.
    """
    from kilo_tui.core.llm import gateway

    if settings.model:
        return settings.model
    if provider_key_available(settings, "kilo/any"):
        return gateway.cached_default(anonymous=False)
    for model in DEFAULT_MODELS.values():
        if provider_key_available(settings, model):
            return model
    return gateway.cached_default(anonymous=True)


def needs_first_run(settings: Settings) -> bool:
    """True when no model is configured and no provider key is in the config or env."""
    if settings.model is not None:
        return False
    return not any(provider_key_available(settings, f"{p}/any") for p in PROVIDER_KEY_ENV)
