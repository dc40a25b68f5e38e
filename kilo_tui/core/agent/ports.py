"""What a :class:`~kilo_tui.core.agent.task.Task` needs from its host, in three narrow
parts: the model it talks to, the tools it runs, and the conversation it keeps.

The task loop depends on these protocols, never on ``AgentRuntime`` itself: the loop can
be read (and tested, and hosted elsewhere) knowing only this page, and a new dependency
of the loop on the runtime has to be named here first. ``AgentRuntime`` satisfies
:class:`TaskHost` structurally; mypy checks it where the runtime creates a task.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import asyncio

    from kilo_tui.core.agent.mentions import Expanded
    from kilo_tui.core.agent.modes import Mode
    from kilo_tui.core.agent.task import Task
    from kilo_tui.core.bus import EventBus
    from kilo_tui.core.config import Settings
    from kilo_tui.core.llm.catalog import ModelInfo
    from kilo_tui.core.llm.client import Usage
    from kilo_tui.core.llm.limits import ModelLimits
    from kilo_tui.core.llm.providers import Route
    from kilo_tui.core.sessions import SessionStore
    from kilo_tui.core.tools.base import Decision, EditOutcome, TaskState, Tool
    from kilo_tui.core.trust.paths import WorkspacePaths
    from kilo_tui.core.trust.secrets import Redactor


class ModelAccess(Protocol):
    """Where a model's requests go, what it can take, what it costs."""

    def route(self, model: str) -> Route: ...

    def model_info(self, model: str) -> ModelInfo | None: ...

    def model_limits(self, model: str) -> ModelLimits: ...

    def tool_protocol(self, model: str) -> tuple[str, bool]:
        """``native`` or ``xml``, and whether that is known rather than guessed."""
        ...

    def learn_model(self, model: str) -> asyncio.Future[ModelInfo | None]:
        """Starts (once) finding ``model``'s price; awaited before a request is priced."""
        ...

    def request_cost(self, model: str, usage: Usage) -> float | None: ...

    def limits(self) -> tuple[int | None, float | None]:
        """The task's request and cost limits (``None``: none)."""
        ...

    async def wait_for_llm(self) -> None:
        """Returns once the model client is loaded (it is imported in the background)."""
        ...


class ToolHost(Protocol):
    """The tools a mode offers, and the gate every call passes through."""

    @property
    def interactive(self) -> bool: ...

    @property
    def paths(self) -> WorkspacePaths: ...

    @property
    def state(self) -> TaskState: ...

    def tool(self, name: str) -> Tool | None: ...

    def tools_for(self, mode: Mode) -> list[Tool]: ...

    def tool_extras(self, task: Task) -> dict[str, Any]: ...

    def check_mode(self, mode: Mode, tool: str, path: Any) -> str | None:
        """Why ``mode`` may not run ``tool`` on ``path`` (``None``: it may)."""
        ...

    async def set_mode(self, slug: str, *, task: Task | None = None, reason: str = "") -> None: ...

    async def approve(self, task: Task, call_id: str, **kwargs: Any) -> Decision: ...

    async def propose_edit(
        self, task: Task, call_id: str, *, tool: str, path: str, old: str | None, new: str | None
    ) -> EditOutcome: ...

    async def checkpoint(self, task: Task, trigger: str) -> None: ...


class ConversationHost(Protocol):
    """Where the conversation is published, stored, prompted and condensed."""

    @property
    def bus(self) -> EventBus: ...

    @property
    def workspace(self) -> Path: ...

    @property
    def settings(self) -> Settings: ...

    @property
    def store(self) -> SessionStore: ...

    @property
    def redactor(self) -> Redactor: ...

    async def expand_mentions(self, text: str, task: Task) -> Expanded: ...

    async def system_prompt(self, task: Task, *, protocol: str = "native") -> str: ...

    async def environment_details(self, task: Task, *, include_listing: bool) -> str: ...

    def load_history(
        self, task_id: str, reason: str = "it was interrupted"
    ) -> list[dict[str, Any]]: ...

    async def maybe_condense(self, task: Task) -> None: ...

    async def condense(self, task: Task | None = None) -> None: ...

    def start_title(self, task: Task, first_message: str) -> None: ...


class TaskHost(ModelAccess, ToolHost, ConversationHost, Protocol):
    """Everything a task needs from the agent that hosts it."""
