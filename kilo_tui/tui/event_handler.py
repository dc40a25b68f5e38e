"""Bus events → widgets: what the conversation shows for each core event.

Like mistral-vibe's event handler, a plain class with one method per event type. It
holds the state of the conversation's rendering (the reply being streamed, the tool
blocks by call id) and updates the screen's widgets; approvals and questions it hands
to the screen, which owns the bars. It is imported once the agent is attached, after
the first frame, with the event vocabulary it needs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any

from textual.widget import Widget

from kilo_tui.core import events as ev
from kilo_tui.tui.messages import TrustRequested
from kilo_tui.tui.widgets.chat import NoticeBlock, ReasoningBlock, UserBlock
from kilo_tui.tui.widgets.reply import AssistantBlock
from kilo_tui.tui.widgets.status_bar import index_label
from kilo_tui.tui.widgets.todo_list import TodoList
from kilo_tui.tui.widgets.tool_block import ToolBlock

if TYPE_CHECKING:
    from kilo_tui.tui.screens.main import MainScreen
    from kilo_tui.tui.widgets.approval_bar import Request

HIDDEN_TOOLS = frozenset({"attempt_completion", "ask_followup_question", "update_todo_list"})
"""Tools whose effect has its own widget (completion notice, question bar, todo list)."""

Handler = Callable[[Any], Awaitable[None] | None]


class EventHandler:
    """Renders the bus events of one screen's conversation."""

    def __init__(self, screen: MainScreen) -> None:
        self.screen = screen
        self.reply: AssistantBlock | None = None
        """The reply being streamed, if any."""
        self.reasoning: ReasoningBlock | None = None
        self.tools: dict[str, ToolBlock] = {}
        """Tool blocks by call id, for the events that update them."""
        self._mcp_status: dict[str, str] = {}
        self._sink: list[Widget] | None = None
        self._handlers = self._handler_map()

    async def handle(self, event: ev.Event) -> None:
        """Show ``event``; types the chat has nothing to say about are ignored."""
        handler = self._handlers.get(type(event))
        if handler is not None:
            result = handler(event)
            if result is not None:
                await result

    async def replay(self, events: Iterable[ev.Event]) -> list[Widget]:
        """The blocks for a stored conversation, built without mounting them."""
        self._sink = []
        try:
            for event in events:
                await self.handle(event)
        finally:
            blocks, self._sink = self._sink, None
        return blocks

    def reset(self) -> None:
        """Forget the current conversation (the chat is being cleared)."""
        self.reply = self.reasoning = None
        self.tools.clear()

    def _handler_map(self) -> dict[type[ev.Event], Handler]:
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
            ev.CommandRunning: self._handle_command_running,
            ev.SandboxReported: self._handle_sandbox,
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
            ev.McpSettingsReloaded: self._handle_mcp_reloaded,
            ev.IndexProgress: self._handle_index,
            ev.ContextCondensed: self._handle_condensed,
            ev.CheckpointRestored: self._handle_checkpoint_restored,
            ev.CheckpointCreated: self._handle_checkpoint_created,
            ev.CheckpointsUnavailable: self._handle_checkpoint_failed,
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

    async def add(self, block: Widget) -> None:
        """Show ``block`` at the end of the chat (or collect it while replaying)."""
        if self._sink is not None:
            self._sink.append(block)
        else:
            await self.screen.chat.add(block)

    async def notice(self, text: str, level: str = "info") -> None:
        """A plain line in the chat; it also closes the reply being streamed."""
        await self.end_reply()
        await self.add(NoticeBlock(text, level))

    async def end_reply(self, text: str | None = None) -> None:
        """Finish the streamed reply; ``text`` is its final form when known."""
        if self.reply is not None:
            await self.reply.finish(text)
            self.reply = None
            self.screen.status.activity = "working…" if self.screen.busy else ""
        self.reasoning = None

    async def _handle_user_message(self, event: ev.UserMessage) -> None:
        await self.end_reply()
        await self.add(UserBlock(event.text, event.attached, event.not_attached))

    def _handle_request_started(self, event: ev.RequestStarted) -> None:
        if self._sink is None and self.screen.busy:  # not a background title request
            self.screen.status.activity = "thinking…"

    async def _handle_assistant_delta(self, event: ev.AssistantDelta) -> None:
        if self.reply is None:
            self.reply = AssistantBlock()
            await self.add(self.reply)
            self.screen.status.activity = "writing…"
        await self.reply.write(event.text)

    async def _handle_reasoning_delta(self, event: ev.ReasoningDelta) -> None:
        if self.reasoning is None:
            self.reasoning = ReasoningBlock()
            await self.add(self.reasoning)
        self.reasoning.add(event.text)

    async def _handle_assistant_message(self, event: ev.AssistantMessage) -> None:
        if self.reply is None and event.text.strip():
            await self.add(AssistantBlock(event.text))
        await self.end_reply(event.text)

    async def _handle_retry(self, event: ev.RetryScheduled) -> None:
        await self.notice(
            f"⟳ {event.error} — retrying in {event.delay:.0f}s "
            f"(attempt {event.attempt}/{event.max_attempts})",
            "warning",
        )

    async def _handle_tool_started(self, event: ev.ToolCallStarted) -> None:
        await self.end_reply()
        if event.name in HIDDEN_TOOLS:
            return
        block = ToolBlock(event.call_id, event.name, dict(event.arguments))
        self.tools[event.call_id] = block
        await self.add(block)

    def _handle_tool_finished(self, event: ev.ToolCallFinished) -> None:
        if block := self.tools.get(event.call_id):
            block.finish(event.result, is_error=event.is_error, summary=event.summary)

    def _handle_command_output(self, event: ev.CommandOutput) -> None:
        if block := self.tools.get(event.call_id):
            block.add_output(event.text)

    def _handle_command_running(self, event: ev.CommandRunning) -> None:
        if block := self.tools.get(event.call_id):
            block.set_elapsed(event.elapsed)

    async def _handle_sandbox(self, event: ev.SandboxReported) -> None:
        self.screen.status.sandbox = "" if event.active else "no sandbox"
        if not event.active:  # said once: commands run with the user's full rights
            await self.notice(f"⚠ {event.message}", "warning")

    def _handle_command_finished(self, event: ev.CommandFinished) -> None:
        if block := self.tools.get(event.call_id):
            block.finish_command(
                event.exit_code, timed_out=event.timed_out, cancelled=event.cancelled
            )

    async def _handle_diff(self, event: ev.DiffProposed) -> None:
        if block := self.tools.get(event.call_id):
            block.set_diff(event.diff, event.additions, event.deletions)
        if not event.auto_approved:
            await self._handle_ask(event)

    async def _handle_ask(self, event: Request | ev.FollowupAsked) -> None:
        if self._sink is None:  # a replayed request was answered long ago
            await self.screen.ask(event)

    async def _handle_approval_resolved(self, event: ev.ApprovalResolved) -> None:
        await self.screen.drop_ask(event.request_id)
        if event.approved:
            return  # the tool block shows what ran; only refusals need a line of their own
        if event.by == "user":
            await self.notice(f"✗ rejected: {event.feedback or event.tool}", "warning")
        else:
            await self.notice(f"✗ {event.tool} denied by {event.by}: {event.rule}", "warning")

    async def _handle_followup_answered(self, event: ev.FollowupAnswered) -> None:
        await self.screen.drop_ask(event.request_id)
        await self.add(UserBlock(event.answer))

    async def _handle_usage(self, event: ev.UsageUpdated) -> None:
        """The task's totals go to the status bar; each request's own line to the chat."""
        from kilo_tui.core.llm.pricing import format_cache, format_cost, format_count

        self.screen.status.usage = event
        if not self.screen.status.badge and event.model == self.screen.status.model:
            self.screen.lookup_badge(event.model)  # its server may have just answered
        line = f"↑{format_count(event.tokens_in)} ↓{format_count(event.tokens_out)}"
        if event.estimated:
            line += " (estimated: the server reports no usage)"
        if cache := format_cache(event.cache_read, event.cache_write):
            line += f" · {cache}"
        line += f" · {format_cost(event.cost, free=event.free)}"
        await self.add(NoticeBlock(line, "usage"))

    def _handle_title(self, event: ev.TitleGenerated) -> None:
        self.screen.sub_title = event.title

    def _handle_todos(self, event: ev.TodoListUpdated) -> None:
        self.screen.query_one(TodoList).set_todos(event.todos)

    async def _handle_mode(self, event: ev.ModeChanged) -> None:
        self.screen.status.mode = event.mode
        reason = f" ({event.reason})" if event.reason else ""
        await self.notice(f"mode: {event.previous} → {event.mode}{reason}")

    def _handle_model(self, event: ev.ModelChanged) -> None:
        self.screen.model_chosen()
        self.screen.status.model = event.model
        self.screen.status.badge = ""
        self.screen.lookup_badge(event.model)
        self.screen.notify(f"Model: {event.model}", timeout=3)

    def _handle_mcp(self, event: ev.McpStatusChanged) -> None:
        self._mcp_status[event.server] = event.status
        self.screen.status.mcp_errors = sum(1 for s in self._mcp_status.values() if s == "error")
        if event.status == "error" and self._sink is None:
            self.screen.notify(f"MCP server {event.server}: {event.error}", severity="error")

    def _handle_mcp_reloaded(self, event: ev.McpSettingsReloaded) -> None:
        """An edit on disk left project servers untrusted: ask about the new content."""
        if event.untrusted and self._sink is None:
            self.screen.app.post_message(TrustRequested())

    def _handle_index(self, event: ev.IndexProgress) -> None:
        self.screen.status.index = index_label(event)

    async def _handle_condensed(self, event: ev.ContextCondensed) -> None:
        await self.notice(
            f"context condensed: {event.messages_before} → {event.messages_after} messages"
        )

    async def _handle_checkpoint_restored(self, event: ev.CheckpointRestored) -> None:
        from kilo_tui.core.timeline import summary

        await self.notice(summary(event), "success")

    async def _handle_checkpoint_created(self, event: ev.CheckpointCreated) -> None:
        self.screen.status.checkpoint_failure = ""

    async def _handle_checkpoint_failed(self, event: ev.CheckpointsUnavailable) -> None:
        self.screen.status.checkpoint_failure = event.reason
        await self.notice(f"checkpoint failed: {event.reason}", "error")

    async def _handle_subtask_started(self, event: ev.SubtaskStarted) -> None:
        await self.notice(f"subtask in {event.mode} mode: {event.message}")

    async def _handle_subtask_finished(self, event: ev.SubtaskFinished) -> None:
        await self.notice(f"subtask finished: {event.result}", "success" if event.ok else "error")

    async def _handle_file_changed(self, event: ev.FileChangedExternally) -> None:
        await self.notice(f"{event.path} was changed outside kilo-tui", "warning")

    async def _handle_completed(self, event: ev.TaskCompleted) -> None:
        """The result, then the completion line last: the view goes to it even when the
        user had scrolled up, so the end of a task is never missed."""
        await self.end_reply()
        if event.result.strip():
            await self.add(AssistantBlock(event.result))
        await self.add(NoticeBlock("✓ Task completed", "success"))
        if self._sink is None:
            self.screen.chat.pin()

    async def _handle_failed(self, event: ev.TaskFailed) -> None:
        fix = (
            "\nFix the key with /setup (or in config.toml), then send again."
            if (event.kind == "auth")
            else ""
        )
        await self.notice(f"✗ {event.error}{fix}", "error")

    async def _handle_cancelled(self, event: ev.TaskCancelled) -> None:
        self.screen.abandon_asks()
        await self.notice(f"■ {event.reason}", "warning")

    async def _handle_limit(self, event: ev.LimitReached) -> None:
        await self.notice(f"■ {event.message}", "warning")

    async def _handle_idle(self, event: ev.TaskIdle) -> None:
        await self.end_reply()

    async def _handle_error(self, event: ev.ErrorRaised) -> None:
        detail = f"\n{event.detail}" if event.detail else ""
        await self.notice(f"✗ {event.message}{detail}", "error")

    async def _handle_notice(self, event: ev.Notice) -> None:
        if event.level == "progress":  # passing state: the status bar, not the chat
            if self._sink is None:
                self.screen.status.activity = event.message
            return
        await self.notice(event.message, event.level)
