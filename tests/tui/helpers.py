"""A stand-in for AgentRuntime, for tests about rendering rather than the agent.

It has the attributes and methods the main screen uses, a real EventBus, and records
what the screen asked for. Tests publish events on its bus as the runtime would.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from kilo_tui.core import events as ev
from kilo_tui.core.bus import EventBus
from kilo_tui.core.config import Settings
from kilo_tui.core.llm.catalog import Catalog
from kilo_tui.core.trust.paths import WorkspacePaths


@dataclasses.dataclass
class Mode:
    slug: str
    name: str


class StandInRuntime:
    """Just enough of AgentRuntime's surface for the screen; records calls."""

    def __init__(self, workspace: Path) -> None:
        self.bus = EventBus()
        self.workspace = workspace
        self.paths = WorkspacePaths(workspace)
        self.settings = Settings()
        self.mode = "code"
        self.model = "openai/fake-model"
        self.title = ""
        self.catalog = Catalog()
        self.startup_warnings: list[str] = []
        self.submitted: list[str] = []
        self.cancelled = 0

    def trust_questions(self) -> list[object]:
        return []

    def modes(self) -> list[Mode]:
        return [Mode("code", "Code"), Mode("architect", "Architect"), Mode("ask", "Ask")]

    async def start_background(self) -> None:
        return None

    async def submit(self, text: str) -> None:
        self.submitted.append(text)

    def cancel(self) -> None:
        self.cancelled += 1

    async def set_mode(self, slug: str) -> None:
        previous, self.mode = self.mode, slug
        self.bus.publish(ev.ModeChanged(mode=slug, previous=previous))

    def latest_task_id(self) -> None:
        return None

    def recent_tasks(self, limit: int) -> list[object]:
        return []

    async def aclose(self) -> None:
        return None
