"""Colour themes from TOML files: the ones shipped in ``themes/`` and the user's own.

Each file holds the fields of :class:`textual.theme.Theme` (``name``, ``primary``,
``background``, …, ``dark``, and a ``[variables]`` table of Textual design variables).
A file that cannot be read or has a bad field is skipped with a warning naming the file
and the field: one broken theme must never keep the app from starting.
"""

from __future__ import annotations

import functools
import logging
import tomllib
from collections.abc import Iterable
from dataclasses import fields
from pathlib import Path
from typing import Any

from textual.color import Color, ColorParseError
from textual.theme import Theme

from kilo_tui.core import paths

log = logging.getLogger(__name__)

COLOUR_FIELDS = (
    "primary",
    "secondary",
    "warning",
    "error",
    "success",
    "accent",
    "foreground",
    "background",
    "surface",
    "panel",
    "boost",
)
KNOWN_FIELDS = frozenset(f.name for f in fields(Theme))


class ThemeFileError(ValueError):
    """A theme file's field is missing or wrong; ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


def shipped_theme_dirs() -> list[Path]:
    """Where shipped themes live: inside the package when installed, else the repo's."""
    package = Path(__file__).resolve().parents[1]
    # The repo's top-level themes/ is a link to the package's folder (which ships in
    # wheels); count a folder once however it is reached.
    found: list[Path] = []
    for folder in (package / "themes", package.parent / "themes"):
        if folder.is_dir() and folder.resolve() not in found:
            found.append(folder.resolve())
    return found


def user_theme_dir() -> Path:
    """``<config dir>/themes``: the user's own themes, which win over shipped ones."""
    return paths.config_dir() / "themes"


def load_themes(directories: Iterable[Path] | None = None) -> list[Theme]:
    """Every valid theme in ``directories`` (default: shipped, then the user's).

    A later file with the same ``name`` replaces an earlier one, so a user can restyle
    a shipped theme by copying it to their folder.
    """
    folders = [*shipped_theme_dirs(), user_theme_dir()] if directories is None else directories
    themes: dict[str, Theme] = {}
    for folder in folders:
        for path in sorted(folder.glob("*.toml")) if folder.is_dir() else ():
            theme = _load_file(path)
            if theme is not None:
                themes[theme.name] = theme
    return list(themes.values())


def load_theme(name: str) -> Theme | None:
    """Just the theme saved as ``<name>.toml`` (the user's copy wins), for the first
    frame; :func:`load_themes` reads them all afterwards."""
    for folder in reversed([*shipped_theme_dirs(), user_theme_dir()]):
        path = folder / f"{name}.toml"
        if path.is_file() and (theme := _load_file(path)) is not None and theme.name == name:
            return theme
    return None


def _load_file(path: Path) -> Theme | None:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        return theme_from_dict(data, default_name=path.stem)
    except OSError as error:
        log.warning("theme %s skipped: cannot read it (%s)", path, error)
    except tomllib.TOMLDecodeError as error:
        log.warning("theme %s skipped: not valid TOML (%s)", path, error)
    except ThemeFileError as error:
        log.warning("theme %s skipped: field %s", path, error)
    return None


def theme_from_dict(data: dict[str, Any], *, default_name: str) -> Theme:
    """Validate one theme's fields and build it. Raises :class:`ThemeFileError`."""
    unknown = sorted(set(data) - KNOWN_FIELDS)
    if unknown:
        raise ThemeFileError(unknown[0], "is not a theme field")
    name = data.get("name", default_name)
    if not isinstance(name, str) or not name.strip():
        raise ThemeFileError("name", "must be a non-empty string")
    if "primary" not in data:
        raise ThemeFileError("primary", "is required")
    for key in COLOUR_FIELDS:
        if key in data:
            _check_colour(key, data[key])
    if not isinstance(data.get("dark", True), bool):
        raise ThemeFileError("dark", "must be true or false")
    for key in ("luminosity_spread", "text_alpha"):
        if key in data and not isinstance(data[key], int | float):
            raise ThemeFileError(key, "must be a number")
    _check_variables(data.get("variables", {}))
    return Theme(**{**data, "name": name})


def _check_variables(variables: object) -> None:
    if not isinstance(variables, dict):
        raise ThemeFileError("variables", "must be a table")
    for key, value in variables.items():
        if key not in _design_variables():
            raise ThemeFileError(f"variables.{key}", "is not a Textual design variable")
        if not isinstance(value, str):
            raise ThemeFileError(f"variables.{key}", "must be a string")


@functools.cache
def _design_variables() -> frozenset[str]:
    """The names Textual's CSS knows (``$border``, ``$footer-key-foreground``, …)."""
    return frozenset(Theme(name="probe", primary="#000000").to_color_system().generate())


def _check_colour(key: str, value: object) -> None:
    if not isinstance(value, str):
        raise ThemeFileError(key, f"must be a colour string, not {value!r}")
    try:
        Color.parse(value)
    except ColorParseError as error:
        raise ThemeFileError(key, f"{value!r} is not a colour") from error
