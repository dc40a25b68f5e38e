"""Entry point for the full-screen app; the only module cli.py imports for the TUI."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from kilo_tui.core.config import Settings


def run_tui(
    workspace: Path,
    settings: Settings,
    *,
    continue_last: bool = False,
    session_id: str | None = None,
    model: str | None = None,
    mode: str | None = None,
    theme: str | None = None,
) -> int:
    """Run the TUI in ``workspace`` until the user quits; returns the exit code.

    ``model``, ``mode`` and ``theme`` are command-line overrides of the settings for
    this run only (they are not saved).
    """
    from kilo_tui.tui.app import KiloApp

    overrides: dict[str, Any] = {"model": model, "mode": mode, "theme": theme}
    settings = dataclasses.replace(settings, **{k: v for k, v in overrides.items() if v})
    app = KiloApp(workspace, settings, resume=session_id, continue_last=continue_last)
    app.run()
    return app.return_code or 0
