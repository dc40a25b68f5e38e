"""What a tool is, and what it may use while it runs.

A tool is a name, a group (Kilo's tool groups: ``read``, ``edit``, ``browser``,
``command``, ``mcp``, ``modes``, or ``always``), a description and a JSON schema for
its parameters, plus an async ``run``. Tools never talk to the user directly: they ask
the :class:`ToolContext` for approval, for a checkpoint, or to publish an event, and the
context routes that through the gate and the bus.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from kilo_tui.core.bus import EventBus
    from kilo_tui.core.events import Event
    from kilo_tui.core.trust.paths import WorkspacePaths


class ToolError(Exception):
    """A failure the model should be told about (becomes an error tool result)."""


@dataclass(frozen=True)
class ToolResult:
    """What goes back to the model as the tool message, plus control flags for the loop."""

    content: str
    is_error: bool = False
    summary: str = ""
    """A one-line summary for the chat (``read 120 lines``, ``+3 −1``)."""
    completion: str | None = None
    """Set by ``attempt_completion``: the task's final result."""
    switch_mode: str | None = None
    """Set by ``switch_mode`` after approval: the loop changes mode."""
    stop_turn: bool = False
    """The loop stops after this result and waits for the user (e.g. a rejected edit
    when the user chose to stop)."""
    images: tuple[str, ...] = ()
    """Images for the model (``data:`` URLs), e.g. ``browser_action``'s screenshot;
    sent after the tool results, only to a model that takes images."""


@dataclass(frozen=True)
class Decision:
    """The gate's answer to one action."""

    approved: bool
    feedback: str = ""
    by: str = "policy"
    rule: str = ""
    always: bool = False
    """The user approved and asked to always allow this action (e.g. an MCP tool)."""


@dataclass(frozen=True)
class EditOutcome:
    """The result of proposing a file change.

    ``content`` is what was written (``None`` if nothing was); ``report`` is a precise
    text for the model of what was applied and what was rejected.
    """

    applied: bool
    content: str | None
    report: str
    feedback: str = ""
    stale: bool = False
    """The file changed on disk during review and the proposal no longer applies."""


class Approver(Protocol):
    async def __call__(
        self,
        *,
        kind: str,
        tool: str,
        title: str,
        detail: str = "",
        path: str | None = None,
        command: str | None = None,
        cwd: str | None = None,
        outside_workspace: bool = False,
        server: str | None = None,
        mcp_tool: str | None = None,
        host: str | None = None,
        sandboxed: bool = False,
        escalation: bool = False,
    ) -> Decision: ...


class EditProposer(Protocol):
    async def __call__(
        self, *, tool: str, path: str, old: str | None, new: str | None
    ) -> EditOutcome: ...


@dataclass
class TaskState:
    """Mutable per-task state that tools and mentions read and write."""

    todos: list[dict[str, str]] = field(default_factory=list)
    last_command: str = ""
    last_command_output: str = ""


@dataclass
class ToolContext:
    """Everything a running tool may use. Built by the agent for each call."""

    workspace: Path
    task_id: str
    call_id: str
    bus: EventBus
    approve: Approver
    propose_edit: EditProposer
    checkpoint: Callable[[str], Awaitable[None]]
    """Take a checkpoint before a mutation; the argument describes the trigger."""
    paths: WorkspacePaths
    """The only way to resolve, check and open a model-given path (trust/paths.py)."""
    state: TaskState
    cancel: asyncio.Event
    settings: Any = None
    mode: Any = None
    extra: dict[str, Any] = field(default_factory=dict)
    """Services a tool family needs (``mcp`` manager, ``run_subtask``, …)."""

    def publish(self, event: Event) -> None:
        self.bus.publish(event)

    def resolve_path(self, raw: str) -> Path:
        """A model-given path, symlinks resolved (raises a ToolError if unusable)."""
        return self.paths.resolve(raw).real


class Tool(Protocol):
    """The protocol every tool implements."""

    name: str
    group: str
    description: str
    parameters: dict[str, Any]
    mutating: bool

    async def run(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult: ...


@dataclass
class FunctionTool:
    """A tool made from a coroutine function; the usual way to define one."""

    name: str
    group: str
    description: str
    parameters: dict[str, Any]
    fn: Callable[[dict[str, Any], ToolContext], Awaitable[ToolResult]]
    mutating: bool = False

    async def run(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        return await self.fn(args, ctx)


def denial_text(what: str, feedback: str = "") -> str:
    """What the model is told when an action is refused: ``what`` is the action in words
    (``running this command: rm x``); ``feedback`` the user's or the policy's reason."""
    text = f"The user denied {what}."
    if feedback:
        text += f"\nThe user said: {feedback}"
    return text


def schema(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    """Shorthand for an object JSON schema."""
    return {
        "type": "object",
        "properties": properties,
        "required": list(required or []),
        "additionalProperties": False,
    }


def openai_tool_spec(tool: Tool) -> dict[str, Any]:
    """The tool as an OpenAI-style function definition (what litellm sends)."""
    return {
        "type": "function",
        "function": {
            "name": tool.name,
            "description": tool.description,
            "parameters": tool.parameters,
        },
    }
