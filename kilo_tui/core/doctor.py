"""Health checks for ``kilo-tui doctor``: providers and keys, local servers, MCP, git.

Each check is quick (short timeouts, no request to a hosted provider but the Kilo
gateway when it is the model in use) and never shows a key: only where it was found
and its last four characters when it comes from the config file.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from kilo_tui.core.config import Settings, default_model
from kilo_tui.core.llm import providers

Level = Literal["ok", "info", "warn", "fail"]
TIMEOUT = 2.0


@dataclass(frozen=True)
class Finding:
    """One line of the report. ``fail`` makes ``doctor`` exit 1."""

    section: str
    level: Level
    message: str

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


async def run_checks(workspace: Path, settings: Settings) -> list[Finding]:
    """Every check, local servers and the gateway probed concurrently."""
    model = default_model(settings)
    found = [*model_findings(settings, model), *key_findings(settings)]
    found += await asyncio.gather(*server_checks(settings, model))
    found += [*mcp_findings(workspace), git_finding(workspace), browser_finding(settings)]
    return found


def model_findings(settings: Settings, model: str) -> list[Finding]:
    """The model in use, where its requests go, and whether its credential is there."""
    prefix, _ = providers.split_model(model)
    try:
        route = providers.route(settings.providers, model)
    except OSError as exc:  # e.g. the Vertex credentials file cannot be read
        return [Finding("model", "fail", f"{model}: {exc}")]
    where = route.api_base or "the provider's usual address"
    found = [Finding("model", "ok", f"{model} → {where}")]
    if prefix == "kilo" and route.api_key == providers.ANONYMOUS_KEY:
        found.append(Finding("model", "info", "Kilo gateway without a token: free models only"))
    elif prefix in providers.KEY_ENV and prefix not in _CLOUD and not _has_key(route):
        env = providers.KEY_ENV[prefix]
        found.append(Finding("model", "fail", f"no key for {prefix}: set {env} or run kilo-tui"))
    return found


_CLOUD = ("bedrock", "vertex_ai")


def _has_key(route: providers.Route) -> bool:
    return route.api_key not in (None, "", providers.LOCAL_KEY)


def key_findings(settings: Settings) -> list[Finding]:
    """Which providers have a key, and where it comes from (never the key itself)."""
    found = []
    for spec in providers.PROVIDERS:
        if not spec.key_env:
            continue
        conf = providers.section(settings.providers, spec.name)
        if conf.get("api_key"):
            where = f"in the config (…{str(conf['api_key'])[-4:]})"
        elif conf.get("api_key_env") and os.environ.get(str(conf["api_key_env"])):
            where = f"in ${conf['api_key_env']}"
        elif os.environ.get(spec.key_env):
            where = f"in ${spec.key_env}"
        elif spec.name == "kilo" and os.environ.get("KILO_API_KEY"):
            where = "in $KILO_API_KEY"
        else:
            continue
        found.append(Finding("keys", "ok", f"{spec.label}: key {where}"))
    if not found:
        found.append(Finding("keys", "info", "no provider key set: the Kilo gateway's free models"))
    return found


def server_checks(settings: Settings, model: str) -> list[Any]:
    """Coroutines probing Ollama, LM Studio and (when in use) the Kilo gateway."""
    ollama = providers.route(settings.providers, "ollama/x").api_base or ""
    lm_studio = providers.route(settings.providers, "lm_studio/x").api_base or ""
    checks = [
        _probe("Ollama", f"{ollama.rstrip('/')}/api/tags", "models"),
        _probe("LM Studio", f"{lm_studio.rstrip('/')}/models", "data"),
    ]
    if providers.split_model(model)[0] == "kilo":
        checks.append(_probe_gateway(providers.section(settings.providers, "kilo")))
    return checks


async def _probe(name: str, url: str, listing: str) -> Finding:
    import httpx

    try:
        async with httpx.AsyncClient(timeout=TIMEOUT) as client:
            response = await client.get(url)
            response.raise_for_status()
            count = len(response.json().get(listing) or [])
    except Exception:  # refused, timed out, not the expected JSON: not running there
        return Finding("servers", "info", f"{name}: nothing answered at {url}")
    return Finding("servers", "ok", f"{name}: {count} models at {url}")


async def _probe_gateway(conf: dict[str, Any]) -> Finding:
    import httpx

    from kilo_tui.core.llm import gateway

    url = gateway.endpoints(conf)["models"]
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT) as client:
            response = await client.get(url, headers=gateway.request_headers(conf))
    except httpx.HTTPError as exc:
        return Finding(
            "servers", "fail", f"Kilo gateway: cannot reach {url} ({type(exc).__name__})"
        )
    if response.status_code >= 400:
        message = gateway.describe_refusal(response.status_code, response.headers, url)
        return Finding("servers", "fail", message)
    return Finding("servers", "ok", f"Kilo gateway: answered at {url}")


def mcp_findings(workspace: Path) -> list[Finding]:
    """Configured MCP servers: broken entries, missing commands, untrusted project ones."""
    from kilo_tui.core.config import ConfigError
    from kilo_tui.core.mcp.config import load_config

    try:
        config = load_config(workspace)
    except ConfigError as exc:
        return [Finding("mcp", "fail", str(exc))]
    found = [Finding("mcp", "fail", str(error)) for error in config.file_errors]
    found += [Finding("mcp", "fail", f"{name}: {error}") for name, error in config.broken.items()]
    for name, server in config.servers.items():
        if server.disabled:
            found.append(Finding("mcp", "info", f"{name}: disabled"))
        elif server.transport == "stdio" and not shutil.which(server.command):
            found.append(Finding("mcp", "fail", f"{name}: command not found: {server.command}"))
        else:
            found.append(Finding("mcp", "ok", f"{name}: {server.describe()}"))
    for name in config.untrusted:
        found.append(Finding("mcp", "warn", f"{name}: project server not trusted yet"))
    return found or [Finding("mcp", "info", "no MCP servers configured")]


def git_finding(workspace: Path) -> Finding:
    """Checkpoints need git; say whether it is there and whether this is a repository."""
    git = shutil.which("git")
    if git is None:
        return Finding("git", "fail", "git not found: checkpoints are off")
    version = subprocess.run(
        [git, "--version"], capture_output=True, text=True, timeout=TIMEOUT, check=False
    ).stdout.strip()
    inside = subprocess.run(
        [git, "-C", str(workspace), "rev-parse", "--is-inside-work-tree"],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    where = "a git repository" if inside.returncode == 0 else "not a git repository"
    return Finding("git", "ok", f"{version}; the workspace is {where}")


def browser_finding(settings: Settings) -> Finding:
    """The Chromium that ``browser_action`` drives; without one the tool is not offered."""
    from kilo_tui.core.browser import ENABLE_HINT, find_executable

    configured = settings.browser.executable
    if path := find_executable(configured):
        return Finding("browser", "ok", f"{path}: browser_action is available")
    if configured:
        return Finding(
            "browser",
            "warn",
            f"[browser] executable = {configured!r} is not found, so browser_action is off; "
            "fix the path in config.toml",
        )
    return Finding(
        "browser",
        "info",
        f"no Chromium or Chrome on PATH, so browser_action is off; to enable it, {ENABLE_HINT}",
    )
