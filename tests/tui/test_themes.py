"""Themes from ``themes/*.toml``: all shipped ones valid, broken user files skipped,
the chosen theme applied at start and a switch remembered in the config file."""

from __future__ import annotations

import logging
import tomllib
from pathlib import Path

import pytest
from textual.app import App

from kilo_tui.core.config import Settings, load_settings
from kilo_tui.tui.app import KiloApp
from kilo_tui.tui.themes import load_themes, shipped_theme_dirs
from tests.tui.helpers import StandInRuntime
from tests.tui.pilot import until

pytestmark = pytest.mark.timeout(60)

REPO_THEMES = Path(__file__).resolve().parents[2] / "themes"


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("KILO_TUI_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("KILO_TUI_THEME", raising=False)
    return tmp_path / "home"


def test_every_shipped_theme_loads() -> None:
    assert REPO_THEMES.resolve() in shipped_theme_dirs()
    files = sorted(REPO_THEMES.glob("*.toml"))
    themes = {theme.name: theme for theme in load_themes()}
    assert len(themes) == len(files) >= 8  # none skipped
    assert {"kilo-dark", "kilo-light", "high-contrast"} <= set(themes)
    assert {theme.dark for theme in themes.values()} == {True, False}
    assert themes["kilo-dark"].primary.upper() == "#F8F675"
    for theme in themes.values():
        variables = theme.to_color_system().generate()
        assert variables["primary"] and variables["background"]


async def test_every_shipped_theme_renders() -> None:
    app: App[None] = App()
    async with app.run_test() as pilot:
        for theme in load_themes():
            app.register_theme(theme)
            app.theme = theme.name
            await pilot.pause()
            assert app.current_theme.name == theme.name
            assert app.screen.styles.background.hex  # the stylesheet was rebuilt


BROKEN = {
    "bad-colour.toml": ('name = "bad-colour"\nprimary = "not-a-colour"\n', "primary"),
    "no-primary.toml": ('name = "no-primary"\nbackground = "#000000"\n', "primary"),
    "typo.toml": ('name = "typo"\nprimary = "#123456"\nforground = "#ffffff"\n', "forground"),
    "bad-var.toml": (
        'name = "bad-var"\nprimary = "#123456"\n[variables]\nboarder = "red"\n',
        "variables.boarder",
    ),
    "not-toml.toml": ('name = "not-toml\nprimary = \n', "not valid TOML"),
}


def test_broken_user_themes_are_skipped_with_a_warning(
    home: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = home / "themes"
    folder.mkdir(parents=True)
    for filename, (text, _field) in BROKEN.items():
        (folder / filename).write_text(text)
    (folder / "mine.toml").write_text('primary = "#FF0000"\ndark = false\n')
    (folder / "override.toml").write_text('name = "kilo-dark"\nprimary = "#00FF00"\n')

    with caplog.at_level(logging.WARNING, logger="kilo_tui.tui.themes"):
        themes = {theme.name: theme for theme in load_themes()}

    assert not {Path(name).stem for name in BROKEN} & set(themes)
    assert themes["mine"].primary == "#FF0000" and themes["mine"].dark is False
    assert themes["kilo-dark"].primary == "#00FF00"  # the user's file wins
    assert "kilo-light" in themes
    for filename, (_text, field) in BROKEN.items():
        warning = next(r.getMessage() for r in caplog.records if filename in r.getMessage())
        assert field in warning


def make_app(theme: str | None = None) -> KiloApp:
    """The app with a stand-in agent; settings from the config file unless ``theme``."""
    runtime = StandInRuntime(Path("/home/dev/demo"))
    runtime.settings = Settings(theme=theme) if theme else load_settings()
    return KiloApp(runtime.workspace, runtime.settings, runtime=runtime)  # type: ignore[arg-type]


async def test_the_app_starts_with_the_configured_theme() -> None:
    app = make_app("ember")
    async with app.run_test(size=(100, 30)):
        assert app.theme == "ember"
        assert app.screen.styles.background.hex.upper() == "#1D2021"


async def test_the_app_falls_back_on_an_unknown_theme() -> None:
    app = make_app("no-such-theme")
    async with app.run_test(size=(100, 30)):
        assert app.theme == "textual-dark"


async def test_switching_theme_persists_to_the_config_file(home: Path) -> None:
    app = make_app("kilo-dark")
    config = home / "config.toml"
    async with app.run_test(size=(100, 30)) as pilot:
        # All themes are registered just after the first frame.
        await until(pilot, lambda: "high-contrast-light" in app.available_themes)
        app.theme = "high-contrast-light"
        await until(pilot, lambda: config.exists() and "high-contrast-light" in config.read_text())
    assert tomllib.loads(config.read_text())["theme"] == "high-contrast-light"
    assert config.stat().st_mode & 0o777 == 0o600

    again = make_app()
    async with again.run_test(size=(100, 30)):
        assert again.theme == "high-contrast-light"
