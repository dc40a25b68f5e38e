"""Where kilo-tui keeps its config, data, caches, sessions and checkpoints.

``KILO_TUI_HOME=DIR`` puts everything under DIR (tests rely on this); otherwise the
platform's usual directories are used (via platformdirs).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

APP_NAME = "kilo-tui"
HOME_ENV = "KILO_TUI_HOME"


def _home_override() -> Path | None:
    value = os.environ.get(HOME_ENV)
    return Path(value).expanduser() if value else None


def config_dir() -> Path:
    """Directory holding ``config.toml``, ``mcp_settings.json``, ``custom_modes.yaml``."""
    if (home := _home_override()) is not None:
        return home
    import platformdirs

    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def data_dir() -> Path:
    """Directory holding the session database and checkpoint repositories."""
    if (home := _home_override()) is not None:
        return home / "data"
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def cache_dir() -> Path:
    """Directory for disposable caches (model catalog discovery, …)."""
    if (home := _home_override()) is not None:
        return home / "cache"
    import platformdirs

    return Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))


def config_file() -> Path:
    return config_dir() / "config.toml"


def sessions_db() -> Path:
    return data_dir() / "sessions.sqlite3"


def workspace_id(workspace: Path) -> str:
    """A stable, filesystem-safe id for a workspace directory."""
    resolved = str(Path(workspace).resolve())
    digest = hashlib.sha256(resolved.encode()).hexdigest()[:16]
    return f"{Path(resolved).name or 'root'}-{digest}"


def checkpoints_dir(workspace: Path) -> Path:
    """The shadow git directory for a workspace's checkpoints."""
    return data_dir() / "checkpoints" / workspace_id(workspace)


def kilocode_home() -> Path:
    """Kilo Code's user-level folder (``~/.kilocode``): global rules, ``config.json``."""
    return Path.home() / ".kilocode"


def ensure_dir(path: Path, mode: int = 0o700) -> Path:
    path.mkdir(parents=True, exist_ok=True, mode=mode)
    return path
