"""The bus's vocabulary: every event the core publishes, as frozen dataclasses.

Each event class has a stable ``type`` name. It is the ``"type"`` field of the JSON
objects ``kilo-tui run --json`` prints and the ``type`` column of the session store, so
renaming one is a breaking change.

Events are plain data: no futures, no callbacks. Request/reply (approvals, follow-up
questions) goes through :meth:`kilo_tui.core.bus.EventBus.request`, keyed by the
event's ``request_id``.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar

EVENT_TYPES: dict[str, type[Event]] = {}


@dataclass(frozen=True, kw_only=True)
class Event:
    """Base class of every bus event."""

    type: ClassVar[str] = "event"
    task_id: str = ""
    ts: float = field(default_factory=time.time)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        name = cls.__dict__.get("type")
        if name:
            if name in EVENT_TYPES and EVENT_TYPES[name] is not cls:
                raise TypeError(f"duplicate event type {name!r}")
            EVENT_TYPES[name] = cls

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict with ``type`` first."""
        data: dict[str, Any] = {"type": self.type}
        for f in dataclasses.fields(self):
            data[f.name] = _jsonable(getattr(self, f.name))
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Event:
        """Rebuild an event from :meth:`to_dict` output (unknown keys are ignored)."""
        event_cls = EVENT_TYPES[data["type"]]
        names = {f.name for f in dataclasses.fields(event_cls)}
        kwargs = {k: v for k, v in data.items() if k in names}
        for f in dataclasses.fields(event_cls):
            if f.name in kwargs and isinstance(kwargs[f.name], list):
                kwargs[f.name] = tuple(kwargs[f.name])
        return event_cls(**kwargs)


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return value


# --------------------------------------------------------------------------- task


@dataclass(frozen=True, kw_only=True)
class TaskStarted(Event):
    type: ClassVar[str] = "task_started"
    prompt: str
    mode: str
    model: str
    workspace: str
    resumed: bool = False
    parent_task_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class UserMessage(Event):
    """A message from the user, as typed (``text``) and as sent (``expanded``)."""

    type: ClassVar[str] = "user_message"
    text: str
    expanded: str = ""
    index: int = 0
    attached: tuple[str, ...] = ()
    """Mentions (as typed, without ``@``) whose content was attached."""
    not_attached: tuple[str, ...] = ()
    """``@mention: why`` for each mention that could not be expanded."""


@dataclass(frozen=True, kw_only=True)
class RequestStarted(Event):
    """An LLM request is about to be sent (one per loop step)."""

    type: ClassVar[str] = "request_started"
    model: str
    request_index: int


@dataclass(frozen=True, kw_only=True)
class AssistantDelta(Event):
    """A chunk of streamed assistant text. Never persisted one by one."""

    type: ClassVar[str] = "assistant_delta"
    text: str


@dataclass(frozen=True, kw_only=True)
class ReasoningDelta(Event):
    type: ClassVar[str] = "reasoning_delta"
    text: str


@dataclass(frozen=True, kw_only=True)
class AssistantMessage(Event):
    """The complete assistant text of one reply (after streaming)."""

    type: ClassVar[str] = "assistant_message"
    text: str


@dataclass(frozen=True, kw_only=True)
class RetryScheduled(Event):
    """A provider error that will be retried after ``delay`` seconds."""

    type: ClassVar[str] = "retry_scheduled"
    attempt: int
    max_attempts: int
    delay: float
    error: str


@dataclass(frozen=True, kw_only=True)
class ToolCallStarted(Event):
    type: ClassVar[str] = "tool_call_started"
    call_id: str
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class ToolCallFinished(Event):
    type: ClassVar[str] = "tool_call_finished"
    call_id: str
    name: str
    result: str
    is_error: bool = False
    summary: str = ""


@dataclass(frozen=True, kw_only=True)
class CommandOutput(Event):
    """A chunk of output from a running ``execute_command``."""

    type: ClassVar[str] = "command_output"
    call_id: str
    text: str


@dataclass(frozen=True, kw_only=True)
class CommandFinished(Event):
    type: ClassVar[str] = "command_finished"
    call_id: str
    command: str
    exit_code: int | None
    timed_out: bool = False
    cancelled: bool = False
    sandboxed: bool = False


@dataclass(frozen=True, kw_only=True)
class CommandRunning(Event):
    """A command is still running after ``elapsed`` seconds (sent about once a second)."""

    type: ClassVar[str] = "command_running"
    call_id: str
    elapsed: float


@dataclass(frozen=True, kw_only=True)
class SandboxReported(Event):
    """How commands are confined in this run (said once at start; see trust/sandbox.py).

    ``active`` is False when the mode is off or no mechanism works on this machine: then
    ``message`` says so and commands run with the user's full rights.
    """

    type: ClassVar[str] = "sandbox_status"
    mode: str
    active: bool
    mechanism: str
    network: bool
    message: str


# --------------------------------------------------------------------- approvals


@dataclass(frozen=True, kw_only=True)
class ApprovalRequested(Event):
    """The gate needs a decision. Answer with ``bus.reply(request_id, ApprovalReply)``.

    ``kind`` is one of ``read``, ``write``, ``command``, ``mcp``, ``mode_switch``,
    ``subtask``, ``followup``. ``title`` is a one-line description of the exact action,
    ``detail`` the full text (the command, the arguments, a unified diff).
    """

    type: ClassVar[str] = "approval_requested"
    request_id: str
    kind: str
    tool: str
    title: str
    detail: str = ""
    path: str | None = None
    call_id: str = ""
    always_allow_rule: str | None = None
    """What an "always allow" answer would add to the policy (shown to the user)."""
    always_allow_choices: tuple[str, ...] = ()
    """Every rule "always allow" may add, ``always_allow_rule`` first; for a command,
    shorter prefixes follow (the user picks one: ``ApprovalReply.always_rule``)."""


@dataclass(frozen=True, kw_only=True)
class ApprovalResolved(Event):
    type: ClassVar[str] = "approval_resolved"
    request_id: str
    kind: str
    tool: str
    approved: bool
    by: str
    """``policy``, ``user``, ``yolo``, ``headless`` …: who decided."""
    rule: str = ""
    """The rule that made the decision, in words (``allowed_commands: git status``)."""
    feedback: str = ""


@dataclass(frozen=True, kw_only=True)
class DiffProposed(Event):
    """A proposed file change, with hunks, awaiting review.

    Answered like an approval: ``bus.reply(request_id, ApprovalReply(hunks=…))``.
    ``hunks`` holds one unified-diff text per hunk, in order.
    """

    type: ClassVar[str] = "diff_proposed"
    request_id: str
    call_id: str
    tool: str
    path: str
    diff: str
    hunks: tuple[str, ...] = ()
    change: str = "modify"
    """``create``, ``modify``, ``delete`` or ``rewrite``."""
    additions: int = 0
    deletions: int = 0
    auto_approved: bool = False


@dataclass(frozen=True, kw_only=True)
class FollowupAsked(Event):
    """The model asks the user a question. Answer with ``bus.reply(request_id, str)``."""

    type: ClassVar[str] = "followup_asked"
    request_id: str
    question: str
    suggestions: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class FollowupAnswered(Event):
    type: ClassVar[str] = "followup_answered"
    request_id: str
    answer: str


# ------------------------------------------------------------------ checkpoints


@dataclass(frozen=True, kw_only=True)
class CheckpointCreated(Event):
    type: ClassVar[str] = "checkpoint_created"
    checkpoint_id: str
    trigger: str
    files_changed: int = 0
    insertions: int = 0
    deletions: int = 0


@dataclass(frozen=True, kw_only=True)
class CheckpointRestored(Event):
    """Files (and with ``messages``, the conversation) were restored: by a restore,
    ``/undo`` or ``/redo`` (``action``). The lists say what changed on disk;
    ``untracked`` is what was not snapshotted and left as is."""

    type: ClassVar[str] = "checkpoint_restored"
    checkpoint_id: str
    with_task: bool
    safety_checkpoint_id: str | None = None
    action: str = "restore"
    modified: tuple[str, ...] = ()
    added_back: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    untracked: tuple[str, ...] = ()
    messages: int = 0
    """Conversation messages set aside (restore, redo) or brought back (undo)."""
    modes: tuple[str, ...] = ()
    """Files whose permission bits alone were set back."""


@dataclass(frozen=True, kw_only=True)
class CheckpointsUnavailable(Event):
    """A checkpoint could not be taken (``trigger``: what it was for); later ones are
    tried again, and a tool's change waits for the user's go-ahead."""

    type: ClassVar[str] = "checkpoints_unavailable"
    reason: str
    trigger: str = ""


# ----------------------------------------------------------------- mode, model


@dataclass(frozen=True, kw_only=True)
class ModeChanged(Event):
    type: ClassVar[str] = "mode_changed"
    mode: str
    previous: str
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class ModelChanged(Event):
    type: ClassVar[str] = "model_changed"
    model: str
    previous: str


@dataclass(frozen=True, kw_only=True)
class UsageUpdated(Event):
    """Usage and cost of one request, plus the task's running totals.

    ``cost`` is ``None`` when the price is unknown (never shown as 0).
    """

    type: ClassVar[str] = "usage_updated"
    model: str
    tokens_in: int
    tokens_out: int
    cache_read: int = 0
    cache_write: int = 0
    cost: float | None = None
    free: bool = False
    task_tokens_in: int = 0
    task_tokens_out: int = 0
    task_cost: float | None = None
    context_tokens: int = 0
    context_window: int | None = None
    reserved_output: int = 0
    estimated: bool = False
    """The server reported no usage; the token counts were estimated locally."""


@dataclass(frozen=True, kw_only=True)
class BackgroundUsage(Event):
    """Usage of one background request (a title, a condensing summary), shown apart.

    It is counted in the task's totals: ``task_cost`` includes it, and
    ``background_cost`` is the part of it spent on background requests. Costs are
    ``None`` when a price is unknown.
    """

    type: ClassVar[str] = "background_usage"
    model: str
    purpose: str
    """``title`` or ``condense``."""
    tokens_in: int
    tokens_out: int
    cost: float | None = None
    background_cost: float | None = None
    task_tokens_in: int = 0
    task_tokens_out: int = 0
    task_cost: float | None = None


@dataclass(frozen=True, kw_only=True)
class TitleGenerated(Event):
    type: ClassVar[str] = "title_generated"
    title: str
    source: str = "small_model"
    """``small_model``, ``main_model`` or ``truncated``."""


@dataclass(frozen=True, kw_only=True)
class ContextCondensed(Event):
    type: ClassVar[str] = "context_condensed"
    messages_before: int
    messages_after: int
    tokens_before: int = 0
    tokens_after: int = 0
    method: str = "summary"
    """``summary`` or ``sliding_window``."""
    summary: str = ""


@dataclass(frozen=True, kw_only=True)
class TodoListUpdated(Event):
    type: ClassVar[str] = "todo_list_updated"
    todos: tuple[dict[str, str], ...]
    """Each ``{"text": …, "status": "pending" | "in_progress" | "completed"}``."""


@dataclass(frozen=True, kw_only=True)
class SubtaskStarted(Event):
    type: ClassVar[str] = "subtask_started"
    subtask_id: str
    mode: str
    message: str


@dataclass(frozen=True, kw_only=True)
class SubtaskFinished(Event):
    type: ClassVar[str] = "subtask_finished"
    subtask_id: str
    result: str
    ok: bool = True


@dataclass(frozen=True, kw_only=True)
class McpStatusChanged(Event):
    type: ClassVar[str] = "mcp_status_changed"
    server: str
    status: str
    """``starting``, ``connected``, ``error``, ``disabled``, ``stopped``."""
    tools: int = 0
    resources: int = 0
    error: str = ""


@dataclass(frozen=True, kw_only=True)
class McpSettingsReloaded(Event):
    """The MCP settings files changed on disk and were applied (what changed, by server
    name). ``errors`` are problems for which the last good settings were kept;
    ``untrusted`` are project servers that wait for the user to trust the new content.
    The user is also told in words with a :class:`Notice`."""

    type: ClassVar[str] = "mcp_settings_reloaded"
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    restarted: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()
    untrusted: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class IndexProgress(Event):
    """The codebase index's state (kilo_tui/core/code/index.py), at most a few times a
    second while it works: ``indexing`` (``done`` of ``total`` files), ``ready``,
    ``error`` (``message`` says why; searches fall back to what is stored)."""

    type: ClassVar[str] = "index_progress"
    state: str
    done: int = 0
    total: int = 0
    chunks: int = 0
    message: str = ""


@dataclass(frozen=True, kw_only=True)
class FileChangedExternally(Event):
    type: ClassVar[str] = "file_changed_externally"
    path: str


# ------------------------------------------------------------------- endings


@dataclass(frozen=True, kw_only=True)
class TaskCompleted(Event):
    type: ClassVar[str] = "task_completed"
    result: str


@dataclass(frozen=True, kw_only=True)
class TaskFailed(Event):
    """The turn stopped on an error. ``kind`` is ``"auth"`` when the provider refused
    the key or none was set: retrying cannot help, the user has to fix a setting."""

    type: ClassVar[str] = "task_failed"
    error: str
    kind: str = ""


@dataclass(frozen=True, kw_only=True)
class TaskCancelled(Event):
    type: ClassVar[str] = "task_cancelled"
    reason: str = "cancelled by the user"


@dataclass(frozen=True, kw_only=True)
class LimitReached(Event):
    """A per-task limit (max requests, max cost) stopped the loop."""

    type: ClassVar[str] = "limit_reached"
    limit: str
    value: float
    message: str


@dataclass(frozen=True, kw_only=True)
class TaskIdle(Event):
    """The loop is waiting for the user's next message (a turn ended without completion)."""

    type: ClassVar[str] = "task_idle"


@dataclass(frozen=True, kw_only=True)
class ErrorRaised(Event):
    type: ClassVar[str] = "error_raised"
    message: str
    detail: str = ""
    fatal: bool = False


@dataclass(frozen=True, kw_only=True)
class Notice(Event):
    """Something the user should see that is neither an error nor a chat message."""

    type: ClassVar[str] = "notice"
    message: str
    level: str = "info"
    """``info``, ``warning``, ``error``, ``success``; ``progress`` for a passing state
    (the TUI shows it in the status bar, not as a chat line)."""


# ------------------------------------------------------------------ replies


@dataclass(frozen=True, kw_only=True)
class ApprovalReply:
    """A client's answer to :class:`ApprovalRequested` or :class:`DiffProposed`.

    ``hunks``: per-hunk decisions for a diff (``True`` accept); ``None`` means the whole
    change follows ``approved``. ``content``: replacement content (user edited the
    proposal). ``always``: remember an "always allow" rule.
    """

    approved: bool
    feedback: str = ""
    always: bool = False
    hunks: tuple[bool, ...] | None = None
    hunk_feedback: tuple[str, ...] | None = None
    content: str | None = None
    by: str = "user"
    always_rule: str | None = None
    """With ``always``: which of the request's ``always_allow_choices`` to add (None:
    the first). A rule that was not offered is not added."""
