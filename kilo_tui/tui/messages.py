"""App-level intents: messages any screen may post for the app to route.

Widgets and screens post these; the App, which owns cross-cutting state such as the
theme, acts on them.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message


class SetupRequested(Message):
    """Open the first-run setup (provider, key, model) again."""


class TrustRequested(Message):
    """Ask the user about the project files whose content is not trusted (again: an
    edit on disk made a trusted one untrusted)."""


@dataclass
class ThemeRequested(Message):
    """Switch to a theme and remember the choice."""

    name: str
