"""Fixtures shared by the end-to-end tests: a fresh user home and an empty project."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.cli import CONFIG


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """KILO_TUI_HOME (and HOME) with the fast-retry test config."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text(CONFIG)
    return home


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """An empty project directory; modules that need files override it."""
    ws = tmp_path / "project"
    ws.mkdir()
    return ws
