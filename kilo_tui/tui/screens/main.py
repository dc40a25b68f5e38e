"""The main screen: the conversation, the prompt and everything the agent asks.

It is the one place where bus events become widget updates (vibe's event handler,
toad's conversation): :class:`~kilo_tui.tui.bridge.BusEvent` messages arrive in order
and :meth:`MainScreen.on_bus_event` dispatches them by type. Widgets below only get
attributes set or methods called; their answers come back up as messages.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.reactive import reactive
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer, Header

from kilo_tui.core import events as ev
from kilo_tui.core.config import Settings
from kilo_tui.core.llm.litellm_loader import is_loaded
from kilo_tui.tui.bridge import BusEvent
from kilo_tui.tui.commands import COMMANDS, KiloCommands, help_text, parse_command
from kilo_tui.tui.messages import ThemeRequested
from kilo_tui.tui.widgets.approval_bar import ApprovalBar, Request
from kilo_tui.tui.widgets.chat import (
    Chat,
    NoticeBlock,
    ReasoningBlock,
    UserBlock,
)
from kilo_tui.tui.widgets.followup import FollowupBar
from kilo_tui.tui.widgets.prompt import PromptArea, PromptInput
from kilo_tui.tui.widgets.status_bar import StatusBar
from kilo_tui.tui.widgets.todo_list import TodoList
from kilo_tui.tui.widgets.tool_block import ToolBlock

if TYPE_CHECKING:
    from kilo_tui.core.agent.runtime import AgentRuntime
    from kilo_tui.tui.widgets.reply import AssistantBlock

log = logging.getLogger(__name__)

HIDDEN_TOOLS = frozenset({"attempt_completion", "ask_followup_question", "update_todo_list"})
"""Tools whose effect has its own widget (completion notice, question bar, todo list)."""

Handler = Callable[[Any], Awaitable[None] | None]
BarT = TypeVar("BarT", ApprovalBar, FollowupBar)


class MainScreen(Screen[None]):
    """Chat, todo list, prompt (or approval / question bar), status bar."""

    COMMANDS: ClassVar[set[Any]] = {KiloCommands}

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="cancel-request"),
        Binding("shift+tab", "cycle_mode", "Next mode", id="cycle-mode"),
        Binding("ctrl+t", "checkpoints", "Checkpoints", id="checkpoints"),
        Binding("ctrl+o", "toggle_tools", "Tool output", id="toggle-tool-output"),
        Binding("ctrl+n", "new_task", "New task", id="new-task", show=False),
    ]

    busy: reactive[bool] = reactive(False, bindings=True)
    """A turn is running (the runtime is working on a message)."""

    def __init__(self, workspace: Path, settings: Settings) -> None:
        super().__init__()
        self.workspace = workspace
        self.settings = settings
        self._runtime: AgentRuntime | None = None
        self._waiting: list[str] = []
        self._reply: AssistantBlock | None = None
        self._reasoning: ReasoningBlock | None = None
        self._tools: dict[str, ToolBlock] = {}
        self._asks: deque[Request | ev.FollowupAsked] = deque()
        self._queued: list[str] = []
        self._mcp: dict[str, str] = {}
        self._replay: list[Widget] | None = None
        self._reviewing = False
        self._handlers: dict[type[ev.Event], Handler] = self._event_handlers()

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        yield Header()
        yield Chat(id="chat")
        yield TodoList(id="todos")
        yield PromptArea(self.workspace, self.command_choices, id="prompt")
        yield StatusBar(id="status")
        yield Footer()

    def on_mount(self) -> None:
        self.title = "Kilo"
        self.sub_title = str(self.workspace)
        if self._runtime is not None:
            self._show_runtime(self._runtime)
        else:
            self.status.mode = self.settings.mode
            self.status.model = self.settings.model or ""
        self.query_one(PromptInput).focus()

    @property
    def runtime(self) -> AgentRuntime:
        """The agent; only used once :meth:`attach` has run (see :attr:`ready`)."""
        assert self._runtime is not None, "the runtime is not attached yet"
        return self._runtime

    def _show_runtime(self, runtime: AgentRuntime) -> None:
        self.status.mode = runtime.mode
        self.status.model = runtime.model or ""
        if self.status.activity == "starting the agent…":
            self.status.activity = ""
        self.refresh_bindings()
        self._lookup_badge(runtime.model)

    @property
    def ready(self) -> bool:
        """True once the runtime is attached (it is built after the first frame)."""
        return self._runtime is not None

    def attach(self, runtime: AgentRuntime) -> None:
        """Start talking to ``runtime``; messages typed while it was starting go out now."""
        self._runtime = runtime
        if self.is_mounted:
            self._show_runtime(runtime)
        waiting, self._waiting = self._waiting, []
        for text in waiting:
            self.call_later(self._handle_text, text)

    @property
    def chat(self) -> Chat:
        return self.query_one(Chat)

    @property
    def status(self) -> StatusBar:
        return self.query_one(StatusBar)

    def mode_choices(self) -> list[tuple[str, str]]:
        """``(slug, name)`` of every mode."""
        if self._runtime is None:
            return []
        return [(mode.slug, mode.name) for mode in self._runtime.modes()]

    def command_choices(self) -> list[tuple[str, str]]:
        """``(name, help)`` for the prompt's ``/`` completion."""
        choices = [(c.name, c.help) for c in COMMANDS]
        return choices + [(slug, f"switch to {name} mode") for slug, name in self.mode_choices()]

    # ------------------------------------------------------------------ sending

    @on(PromptInput.Submitted)
    async def _submitted(self, event: PromptInput.Submitted) -> None:
        event.stop()
        if not self.ready:
            self._waiting.append(event.text)
            self.status.activity = "starting the agent…"
            return
        await self._handle_text(event.text)

    async def _handle_text(self, text: str) -> None:
        command = parse_command(text)
        if command is None or not await self.run_command(*command):
            self.send(text)

    def send(self, text: str) -> None:
        """Send a message to the agent, or queue it while a turn is running."""
        if self.busy:
            self._queued.append(text)
            self.notify("Queued: it is sent when the current turn ends.", timeout=3)
            return
        self.busy = True
        self.status.activity = "waiting for the model…" if is_loaded() else "loading model client…"
        self._run_turn(text)

    @work(group="turn", exit_on_error=False)
    async def _run_turn(self, text: str) -> None:
        try:
            await self.runtime.submit(text)
        except Exception as error:  # the runtime reports agent errors as events; not this
            log.exception("the turn failed")
            await self._notice(f"✗ internal error: {error}", "error")
        finally:
            self.busy = False
            self.status.activity = ""
            if self._queued:
                self.send(self._queued.pop(0))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel":
            return self.busy
        if action in ("cycle_mode", "checkpoints", "new_task"):
            return self.ready
        return True

    def action_cancel(self) -> None:
        """Stop the running request; the conversation stays usable."""
        if self.busy:
            self.runtime.cancel()
            self.status.activity = "cancelling…"

    async def action_cycle_mode(self) -> None:
        slugs = [slug for slug, _ in self.mode_choices()]
        if slugs:
            current = self.runtime.mode
            index = slugs.index(current) if current in slugs else -1
            await self.runtime.set_mode(slugs[(index + 1) % len(slugs)])

    def action_toggle_tools(self) -> None:
        blocks = list(self.chat.query(ToolBlock))
        expand = not all(block.expanded for block in blocks)
        for block in blocks:
            block.set_expanded(expand)

    def action_checkpoints(self) -> None:
        """Open the checkpoint timeline (restore files, optionally the conversation)."""
        manager = self.runtime.checkpoints
        if manager is None:
            self.notify("Checkpoints are turned off in the settings.", severity="warning")
            return
        from kilo_tui.tui.screens.checkpoints import CheckpointsScreen, RestoreRequest

        async def restored(request: RestoreRequest | None) -> None:
            if request is None:
                return
            self.runtime.bus.publish(
                ev.CheckpointRestored(
                    task_id=self.runtime.task_id or "",
                    checkpoint_id=request.checkpoint_id,
                    with_task=request.with_task,
                    safety_checkpoint_id=request.safety_checkpoint_id,
                )
            )
            if request.with_task and request.task_id and request.message_index is not None:
                self.runtime.store.rewind_to_message(request.task_id, request.message_index)
                await self.resume(request.task_id)

        self.app.push_screen(CheckpointsScreen(manager, self.runtime.task_id), restored)

    async def action_new_task(self) -> None:
        await self.new_task()

    # ----------------------------------------------------------------- commands

    async def run_command(self, name: str, argument: str = "") -> bool:
        """Run a slash command; ``False`` if ``name`` is not one (send it as text)."""
        if not self.ready:
            self.notify("The agent is still starting; try again in a moment.")
            return True
        modes = dict(self.mode_choices())
        if name in modes:
            await self.runtime.set_mode(name)
            return True
        match name:
            case "mode":
                await self._mode_command(argument, modes)
            case "model":
                self._pick_model()
            case "new":
                await self.new_task()
            case "history":
                self._history()
            case "checkpoints":
                self.action_checkpoints()
            case "undo":
                self._undo()
            case "condense":
                self._condense()
            case "theme":
                self._theme_command(argument)
            case "mcp":
                self._mcp_screen()
            case "help":
                from kilo_tui.tui.widgets.reply import AssistantBlock

                await self._add(AssistantBlock(help_text(list(modes.items()))))
            case _:
                return False
        return True

    async def _mode_command(self, slug: str, modes: dict[str, str]) -> None:
        if slug in modes:
            await self.runtime.set_mode(slug)
        elif slug:
            self.notify(f"Unknown mode {slug!r}. Modes: {', '.join(modes)}", severity="error")
        else:
            listing = ", ".join(f"{s} ({n})" for s, n in modes.items())
            await self._add(NoticeBlock(f"Mode: {self.runtime.mode}. Available: {listing}"))

    def _theme_command(self, name: str) -> None:
        if not name:
            self.app.search_themes()
        elif name in self.app.available_themes:
            self.app.post_message(ThemeRequested(name))
        else:
            self.notify(f"Unknown theme {name!r}.", severity="error")

    def _pick_model(self) -> None:
        from kilo_tui.tui.screens.model_picker import ModelPickerScreen

        screen = ModelPickerScreen(self.runtime.catalog, self.runtime.model, self.runtime.mode)

        def chosen(model: str | None) -> None:
            if model:
                self.runtime.set_model(model)

        self.app.push_screen(screen, chosen)

    def _mcp_screen(self) -> None:
        manager = self.runtime.mcp
        if manager is None:
            self.notify("MCP servers are not started in this session.", severity="warning")
            return
        from kilo_tui.tui.screens.mcp import McpScreen

        self.app.push_screen(McpScreen(manager))

    def _history(self) -> None:
        """Past tasks of this workspace; choosing one resumes it."""
        from kilo_tui.tui.screens.history import HistoryScreen

        async def chosen(task_id: str | None) -> None:
            if task_id:
                await self.resume(task_id)

        self.app.push_screen(HistoryScreen(self.runtime), chosen)

    @work(exclusive=True, group="condense", exit_on_error=False)
    async def _condense(self) -> None:
        self.status.activity = "condensing…"
        try:
            await self.runtime.condense()
        finally:
            self.status.activity = ""

    @work(exclusive=True, group="undo", exit_on_error=False)
    async def _undo(self) -> None:
        """Restore the files to before the agent's last change (the restore is undoable)."""
        manager = self.runtime.checkpoints
        if manager is None:
            self.notify("Checkpoints are turned off in the settings.", severity="warning")
            return
        from kilo_tui.core.checkpoints import CheckpointError

        try:
            result = await asyncio.to_thread(manager.undo_last_agent_change, self.runtime.task_id)
        except CheckpointError as error:
            self.notify(str(error), severity="warning")
            return
        self.runtime.bus.publish(
            ev.CheckpointRestored(
                task_id=self.runtime.task_id or "",
                checkpoint_id=result.target.id,
                with_task=False,
                safety_checkpoint_id=result.safety.id,
            )
        )

    async def new_task(self) -> None:
        """Clear the chat and start a fresh task."""
        if self.busy:
            self.runtime.cancel()
        self.runtime.new_task()
        await self._reset()
        self.sub_title = str(self.runtime.workspace)

    async def resume(self, task_id: str) -> None:
        """Show a stored task and continue it."""
        events = self.runtime.resume(task_id)
        await self._reset()
        self._replay = []
        try:
            for event in events:
                await self._dispatch(event)
        finally:
            blocks, self._replay = self._replay, None
        await self.chat.load(blocks)
        self.sub_title = self.runtime.title or str(self.runtime.workspace)

    async def _reset(self) -> None:
        self._reply = self._reasoning = None
        self._tools.clear()
        self._asks.clear()
        self._show_bottom("prompt")
        self.query_one(TodoList).set_todos(())
        await self.chat.clear()

    # ------------------------------------------------------------ bus events

    async def on_bus_event(self, message: BusEvent) -> None:
        message.stop()
        await self._dispatch(message.event)

    async def _dispatch(self, event: ev.Event) -> None:
        handler = self._handlers.get(type(event))
        if handler is not None:
            result = handler(event)
            if result is not None:
                await result

    def _event_handlers(self) -> dict[type[ev.Event], Handler]:
        return {
            ev.UserMessage: self._handle_user_message,
            ev.RequestStarted: self._handle_request_started,
            ev.AssistantDelta: self._handle_assistant_delta,
            ev.ReasoningDelta: self._handle_reasoning_delta,
            ev.AssistantMessage: self._handle_assistant_message,
            ev.RetryScheduled: self._handle_retry,
            ev.ToolCallStarted: self._handle_tool_started,
            ev.ToolCallFinished: self._handle_tool_finished,
            ev.CommandOutput: self._handle_command_output,
            ev.CommandFinished: self._handle_command_finished,
            ev.ApprovalRequested: self._handle_ask,
            ev.DiffProposed: self._handle_diff,
            ev.FollowupAsked: self._handle_ask,
            ev.FollowupAnswered: self._handle_followup_answered,
            ev.ApprovalResolved: self._handle_approval_resolved,
            ev.UsageUpdated: self._handle_usage,
            ev.TitleGenerated: self._handle_title,
            ev.TodoListUpdated: self._handle_todos,
            ev.ModeChanged: self._handle_mode,
            ev.ModelChanged: self._handle_model,
            ev.McpStatusChanged: self._handle_mcp,
            ev.ContextCondensed: self._handle_condensed,
            ev.CheckpointRestored: self._handle_checkpoint_restored,
            ev.SubtaskStarted: self._handle_subtask_started,
            ev.SubtaskFinished: self._handle_subtask_finished,
            ev.FileChangedExternally: self._handle_file_changed,
            ev.TaskCompleted: self._handle_completed,
            ev.TaskFailed: self._handle_failed,
            ev.TaskCancelled: self._handle_cancelled,
            ev.LimitReached: self._handle_limit,
            ev.TaskIdle: self._handle_idle,
            ev.ErrorRaised: self._handle_error,
            ev.Notice: self._handle_notice,
        }

    async def _add(self, block: Widget) -> None:
        if self._replay is not None:
            self._replay.append(block)
        else:
            await self.chat.add(block)

    async def _notice(self, text: str, level: str = "info") -> None:
        await self._end_reply()
        await self._add(NoticeBlock(text, level))

    async def _end_reply(self, text: str | None = None) -> None:
        if self._reply is not None:
            await self._reply.finish(text)
            self._reply = None
            self.status.activity = "working…" if self.busy else ""
        self._reasoning = None

    async def _handle_user_message(self, event: ev.UserMessage) -> None:
        await self._end_reply()
        await self._add(UserBlock(event.text))

    def _handle_request_started(self, event: ev.RequestStarted) -> None:
        if self._replay is None and self.busy:  # not a background title request
            self.status.activity = "thinking…"

    async def _handle_assistant_delta(self, event: ev.AssistantDelta) -> None:
        from kilo_tui.tui.widgets.reply import AssistantBlock

        if self._reply is None:
            self._reply = AssistantBlock()
            await self._add(self._reply)
            self.status.activity = "writing…"
        await self._reply.write(event.text)

    async def _handle_reasoning_delta(self, event: ev.ReasoningDelta) -> None:
        if self._reasoning is None:
            self._reasoning = ReasoningBlock()
            await self._add(self._reasoning)
        self._reasoning.add(event.text)

    async def _handle_assistant_message(self, event: ev.AssistantMessage) -> None:
        from kilo_tui.tui.widgets.reply import AssistantBlock

        if self._reply is None and event.text.strip():
            await self._add(AssistantBlock(event.text))
        await self._end_reply(event.text)

    async def _handle_retry(self, event: ev.RetryScheduled) -> None:
        await self._notice(
            f"⟳ {event.error} — retrying in {event.delay:.0f}s "
            f"(attempt {event.attempt}/{event.max_attempts})",
            "warning",
        )

    async def _handle_tool_started(self, event: ev.ToolCallStarted) -> None:
        await self._end_reply()
        if event.name in HIDDEN_TOOLS:
            return
        block = ToolBlock(event.call_id, event.name, dict(event.arguments))
        self._tools[event.call_id] = block
        await self._add(block)

    def _handle_tool_finished(self, event: ev.ToolCallFinished) -> None:
        if block := self._tools.get(event.call_id):
            block.finish(event.result, is_error=event.is_error, summary=event.summary)

    def _handle_command_output(self, event: ev.CommandOutput) -> None:
        if block := self._tools.get(event.call_id):
            block.add_output(event.text)

    def _handle_command_finished(self, event: ev.CommandFinished) -> None:
        if block := self._tools.get(event.call_id):
            block.finish_command(
                event.exit_code, timed_out=event.timed_out, cancelled=event.cancelled
            )

    async def _handle_diff(self, event: ev.DiffProposed) -> None:
        if block := self._tools.get(event.call_id):
            block.set_diff(event.diff, event.additions, event.deletions)
        if not event.auto_approved:
            await self._handle_ask(event)

    async def _handle_ask(self, event: Request | ev.FollowupAsked) -> None:
        if self._replay is not None or not self.runtime.bus.is_pending(event.request_id):
            return
        if isinstance(event, ev.ApprovalRequested) and event.kind == "followup":
            # The gate asks whether the question may be auto-answered; the user answers
            # the question itself (FollowupAsked follows), so let it through.
            self.runtime.bus.reply(event.request_id, ev.ApprovalReply(approved=True))
            return
        self._asks.append(event)
        if len(self._asks) == 1:
            await self._show_next_ask()

    async def _handle_approval_resolved(self, event: ev.ApprovalResolved) -> None:
        await self._drop_ask(event.request_id)
        if event.approved:
            return  # the tool block shows what ran; only refusals need a line of their own
        if event.by == "user":
            await self._notice(f"✗ rejected: {event.feedback or event.tool}", "warning")
        else:
            await self._notice(f"✗ {event.tool} denied by {event.by}: {event.rule}", "warning")

    async def _handle_followup_answered(self, event: ev.FollowupAnswered) -> None:
        await self._drop_ask(event.request_id)
        await self._add(UserBlock(event.answer))

    def _handle_usage(self, event: ev.UsageUpdated) -> None:
        self.status.usage = event

    def _handle_title(self, event: ev.TitleGenerated) -> None:
        self.sub_title = event.title

    def _handle_todos(self, event: ev.TodoListUpdated) -> None:
        self.query_one(TodoList).set_todos(event.todos)

    async def _handle_mode(self, event: ev.ModeChanged) -> None:
        self.status.mode = event.mode
        reason = f" ({event.reason})" if event.reason else ""
        await self._notice(f"mode: {event.previous} → {event.mode}{reason}")

    def _handle_model(self, event: ev.ModelChanged) -> None:
        self.status.model = event.model
        self.status.badge = ""
        self._lookup_badge(event.model)
        self.notify(f"Model: {event.model}", timeout=3)

    @work(thread=True, exclusive=True, group="badge", exit_on_error=False)
    def _lookup_badge(self, model: str) -> None:
        """Ask the catalog whether ``model`` is free or local (reads a large table)."""
        info = self.runtime.catalog.get(model)
        badge = "" if info is None else "local" if info.local else "free" if info.free else ""
        self.app.call_from_thread(setattr, self.status, "badge", badge)

    def _handle_mcp(self, event: ev.McpStatusChanged) -> None:
        self._mcp[event.server] = event.status
        self.status.mcp_errors = sum(1 for s in self._mcp.values() if s == "error")
        if event.status == "error" and self._replay is None:
            self.notify(f"MCP server {event.server}: {event.error}", severity="error")

    async def _handle_condensed(self, event: ev.ContextCondensed) -> None:
        await self._notice(
            f"context condensed: {event.messages_before} → {event.messages_after} messages"
        )

    async def _handle_checkpoint_restored(self, event: ev.CheckpointRestored) -> None:
        await self._notice(f"restored checkpoint {event.checkpoint_id[:8]}", "success")

    async def _handle_subtask_started(self, event: ev.SubtaskStarted) -> None:
        await self._notice(f"subtask in {event.mode} mode: {event.message}")

    async def _handle_subtask_finished(self, event: ev.SubtaskFinished) -> None:
        await self._notice(f"subtask finished: {event.result}", "success" if event.ok else "error")

    async def _handle_file_changed(self, event: ev.FileChangedExternally) -> None:
        await self._notice(f"{event.path} was changed outside kilo-tui", "warning")

    async def _handle_completed(self, event: ev.TaskCompleted) -> None:
        from kilo_tui.tui.widgets.reply import AssistantBlock

        await self._end_reply()
        await self._add(NoticeBlock("✓ Task completed", "success"))
        if event.result.strip():
            await self._add(AssistantBlock(event.result))

    async def _handle_failed(self, event: ev.TaskFailed) -> None:
        await self._notice(f"✗ {event.error}", "error")

    async def _handle_cancelled(self, event: ev.TaskCancelled) -> None:
        if self._reviewing:
            self.app.screen.dismiss(None)  # the diff viewer; its requests were answered
        self._asks.clear()
        self._show_bottom("prompt")
        await self._notice(f"■ {event.reason}", "warning")

    async def _handle_limit(self, event: ev.LimitReached) -> None:
        await self._notice(f"■ {event.message}", "warning")

    async def _handle_idle(self, event: ev.TaskIdle) -> None:
        await self._end_reply()

    async def _handle_error(self, event: ev.ErrorRaised) -> None:
        detail = f"\n{event.detail}" if event.detail else ""
        await self._notice(f"✗ {event.message}{detail}", "error")

    async def _handle_notice(self, event: ev.Notice) -> None:
        await self._notice(event.message, event.level)

    # -------------------------------------------------------- approvals, questions

    async def _show_next_ask(self) -> None:
        if self._reviewing:
            return  # the diff viewer is open; what came meanwhile waits for it
        while self._asks and not self.runtime.bus.is_pending(self._asks[0].request_id):
            self._asks.popleft()
        if not self._asks:
            self._show_bottom("prompt")
            return
        ask = self._asks[0]
        if isinstance(ask, ev.DiffProposed):
            self._review_diffs()
        elif isinstance(ask, ev.FollowupAsked):
            followup = await self._bar(FollowupBar, "followup")
            self._show_bottom("followup")
            followup.ask(ask)
        else:
            approval = await self._bar(ApprovalBar, "approval")
            self._show_bottom("approval")
            approval.ask(ask)

    async def _bar(self, bar_type: type[BarT], id: str) -> BarT:
        """The approval or question bar, mounted the first time it is needed (keeping
        the first frame light)."""
        existing = self.query(bar_type)
        if existing:
            return existing.first()
        bar = bar_type(id=id)
        await self.mount(bar, before=self.query_one(PromptArea))
        return bar

    def _review_diffs(self) -> None:
        """Send the proposed edits at the head of the queue to the diff viewer."""
        proposals: list[ev.DiffProposed] = []
        while self._asks and isinstance(self._asks[0], ev.DiffProposed):
            proposals.append(self._asks.popleft())  # type: ignore[arg-type]
        self._show_bottom("prompt")
        self._reviewing = True
        from kilo_tui.tui.screens.diff_review import DiffReviewScreen

        async def reviewed(replies: dict[str, ev.ApprovalReply] | None) -> None:
            self._reviewing = False
            for proposal in proposals:
                reply = (replies or {}).get(proposal.request_id, ev.ApprovalReply(approved=False))
                self.runtime.bus.reply(proposal.request_id, reply)
            await self._show_next_ask()

        self.app.push_screen(
            DiffReviewScreen(proposals, workspace=self.runtime.workspace), reviewed
        )

    async def _drop_ask(self, request_id: str) -> None:
        if self._asks and self._asks[0].request_id == request_id:
            self._asks.popleft()
            await self._show_next_ask()
        else:
            self._asks = deque(a for a in self._asks if a.request_id != request_id)

    def _show_bottom(self, which: str) -> None:
        """Show the prompt, the approval bar or the question bar (only one at a time)."""
        self.set_class(which == "approval", "-approval")
        self.set_class(which == "followup", "-followup")
        if which == "prompt" and self.is_mounted:
            self.query_one(PromptInput).focus()

    @on(ApprovalBar.Answered)
    async def _approval_answered(self, event: ApprovalBar.Answered) -> None:
        event.stop()
        self.runtime.bus.reply(event.request_id, event.reply)
        await self._drop_ask(event.request_id)

    @on(FollowupBar.Answered)
    async def _followup_answered(self, event: FollowupBar.Answered) -> None:
        event.stop()
        self.runtime.bus.reply(event.request_id, event.answer)
        await self._drop_ask(event.request_id)
