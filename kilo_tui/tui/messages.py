"""App-level intents: messages any screen may post for the app to route.

Screens pushed over the main screen (task history, first run, …) post these; the App
forwards them to the main screen, which owns the conversation.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message


@dataclass
class ResumeRequested(Message):
    """Open a past task in the chat."""

    task_id: str


@dataclass
class NewTaskRequested(Message):
    """Start a fresh task (the current one stays in the history)."""


@dataclass
class ThemeRequested(Message):
    """Switch to a theme and remember the choice."""

    name: str
