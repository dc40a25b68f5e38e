"""App-level intents: messages any screen may post for the app to route.

Widgets and screens post these; the App, which owns cross-cutting state such as the
theme, acts on them.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message


class SetupRequested(Message):
    """Open the first-run setup (provider, key, model) again."""


@dataclass
class ThemeRequested(Message):
    """Switch to a theme and remember the choice."""

    name: str
