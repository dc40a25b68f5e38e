"""The main screen: the conversation, the prompt and everything the agent asks.

Bus events arrive in order as :class:`~kilo_tui.tui.bridge.BusEvent` messages and go
to the :class:`~kilo_tui.tui.event_handler.EventHandler`, which updates the widgets.
The screen owns the layout, the prompt, the slash commands and the queue of
approvals and questions. Widgets only get attributes set or methods called; their
answers come back up as messages.

The event vocabulary, the event handler and the approval/question bars are imported
when first needed, after the first frame: that keeps the start fast.
"""

from __future__ import annotations

import logging
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.reactive import reactive
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer, Header, Input, TextArea

from kilo_tui.core.config import Settings
from kilo_tui.core.llm.litellm_loader import is_loaded
from kilo_tui.tui.bridge import BusEvent
from kilo_tui.tui.commands import COMMANDS, KiloCommands, help_text, parse_command
from kilo_tui.tui.messages import SetupRequested, ThemeRequested
from kilo_tui.tui.widgets.chat import Chat, NoticeBlock
from kilo_tui.tui.widgets.prompt import PromptArea, PromptInput
from kilo_tui.tui.widgets.status_bar import StatusBar
from kilo_tui.tui.widgets.todo_list import TodoList
from kilo_tui.tui.widgets.tool_block import ToolBlock

if TYPE_CHECKING:
    from kilo_tui.core import events as ev
    from kilo_tui.core.agent.runtime import AgentRuntime
    from kilo_tui.core.sessions import TaskRecord
    from kilo_tui.tui.event_handler import EventHandler
    from kilo_tui.tui.widgets.approval_bar import ApprovalBar, Request
    from kilo_tui.tui.widgets.followup import FollowupBar

log = logging.getLogger(__name__)

BarT = TypeVar("BarT", bound=Widget)


NO_MODEL = "No model is set up: /setup chooses a provider and key, /model a model"


class MainScreen(Screen[None]):
    """Chat, todo list, prompt (or approval / question bar), status bar."""

    COMMANDS: ClassVar[set[Any]] = {KiloCommands}

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "escape", "cancel", "Cancel", tooltip="Cancel the running request", id="cancel-request"
        ),
        Binding(
            "shift+tab",
            "cycle_mode",
            "Next mode",
            tooltip="Switch to the next mode",
            id="cycle-mode",
        ),
        Binding("ctrl+t", "checkpoints", "Checkpoints", id="checkpoints"),
        Binding(
            "ctrl+o",
            "toggle_tools",
            "Tool output",
            tooltip="Show or hide the full output of tools",
            id="toggle-tool-output",
        ),
        Binding("ctrl+n", "new_task", "New task", id="new-task", show=False),
        Binding("tab", "switch_focus", "Prompt ⇄ request", id="switch-focus", show=False),
        # The chat never has the focus: these scroll it from the prompt (priority: the
        # prompt would take them for its own cursor).
        Binding("pageup", "scroll_chat('page_up')", show=False, priority=True, id="chat-page-up"),
        Binding(
            "pagedown", "scroll_chat('page_down')", show=False, priority=True, id="chat-page-down"
        ),
        Binding("shift+up", "scroll_chat('up')", show=False, priority=True, id="chat-line-up"),
        Binding(
            "shift+down", "scroll_chat('down')", show=False, priority=True, id="chat-line-down"
        ),
        Binding("home", "scroll_chat('home')", show=False, priority=True, id="chat-top"),
        Binding("end", "scroll_chat('end')", show=False, priority=True, id="chat-bottom"),
    ]

    busy: reactive[bool] = reactive(False, bindings=True)
    """A turn is running (the runtime is working on a message)."""

    def __init__(self, workspace: Path, settings: Settings) -> None:
        super().__init__()
        self.workspace = workspace
        self.settings = settings
        self._runtime: AgentRuntime | None = None
        self._waiting: list[str] = []
        self._asks: deque[Request | ev.FollowupAsked] = deque()
        self._queued: list[str] = []
        self._reviewing = False
        self._events: EventHandler | None = None
        self._confirmed = ""
        """A message the user chose to send despite a mention that is not attached."""
        self.no_model = False
        """The first-run setup was skipped and no model chosen since: nothing is sent."""

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
        self.status.model = "" if self.no_model else runtime.model
        if self.status.activity == "starting the agent…":
            self.status.activity = ""
        self.refresh_bindings()
        self.lookup_badge(runtime.model)

    @property
    def ready(self) -> bool:
        """True once the runtime is attached (it is built after the first frame)."""
        return self._runtime is not None

    def attach(self, runtime: AgentRuntime) -> None:
        """Start talking to ``runtime``; messages typed while it was starting go out now."""
        from kilo_tui.tui.event_handler import EventHandler

        self._runtime = runtime
        self._events = EventHandler(self)
        if self.is_mounted:
            self._show_runtime(runtime)
        waiting, self._waiting = self._waiting, []
        for text in waiting:
            self.call_later(self._handle_text, text)

    @property
    def events(self) -> EventHandler:
        """Renders the bus events; exists once the runtime is attached."""
        assert self._events is not None, "the runtime is not attached yet"
        return self._events

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
        if parse_command(event.text) == ("setup", ""):
            self.app.post_message(SetupRequested())  # needs no agent: it may be what is missing
            return
        if self.no_model and parse_command(event.text) is None:
            await self._held_without_model(event.text)
            return
        if not self.ready:
            self._waiting.append(event.text)
            self.status.activity = "starting the agent…"
            return
        if self._holds_back(event.text):
            return
        await self._handle_text(event.text)
        if self.has_class("-draft"):
            await self._show_next_ask()  # the draft is gone: the request takes the keys

    def _holds_back(self, text: str) -> bool:
        """A path mention that would not be attached: the text goes back to the prompt
        with the reason; the same text sent again goes as is."""
        if text == self._confirmed or parse_command(text) is not None:
            return False
        from kilo_tui.core.agent.mentions import unattachable_paths

        problems = unattachable_paths(text, self.runtime.paths)
        if not problems:
            return False
        self._confirmed = text
        self.query_one(PromptArea).restore(text)
        self.notify(
            "\n".join(problems) + "\nPress enter again to send it as is.",
            title="Not attached",
            severity="warning",
        )
        return True

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
        self.chat.query(".-recent").remove()  # the recent-task list was only a hint
        self.status.activity = "waiting for the model…" if is_loaded() else "loading model client…"
        self._run_turn(text)

    @work(group="turn", exit_on_error=False)
    async def _run_turn(self, text: str) -> None:
        try:
            await self.runtime.submit(text)
        except Exception as error:  # the runtime reports agent errors as events; not this
            log.exception("the turn failed")
            await self.events.notice(f"✗ internal error: {error}", "error")
        finally:
            self.busy = False
            self.status.activity = ""
            if self._queued:
                self.send(self._queued.pop(0))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel":
            return self.busy
        if action == "scroll_chat" and parameters in (("home",), ("end",)):
            return self._typing_nothing()
        if action in ("cycle_mode", "checkpoints", "new_task"):
            return self.ready
        return True

    def _typing_nothing(self) -> bool:
        """No text field with text has the focus (``home``/``end`` are free for the chat)."""
        focused = self.focused
        if isinstance(focused, PromptInput):
            return not focused.text
        return not isinstance(focused, TextArea | Input)

    def action_scroll_chat(self, how: str) -> None:
        """Scroll the conversation; reaching the bottom pins it there again."""
        chat = self.chat
        match how:
            case "page_up":
                chat.scroll_page_up(animate=False)
            case "page_down":
                chat.scroll_page_down(animate=False)
            case "up":
                chat.scroll_relative(y=-3, animate=False)
            case "down":
                chat.scroll_relative(y=3, animate=False)
            case "home":
                chat.scroll_home(animate=False)
            case _:
                chat.pin()

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
        from kilo_tui.core.checkpoints import CheckpointError
        from kilo_tui.tui.screens.checkpoints import CheckpointsScreen, RestoreRequest

        async def restored(request: RestoreRequest | None) -> None:
            if request is None:
                return
            try:
                await self.runtime.restore(request.checkpoint_id, with_task=request.with_task)
            except CheckpointError as error:
                self.notify(str(error), title="Restore failed", severity="error")
                return
            if request.with_task and request.task_id:
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
            case "setup":
                self.app.post_message(SetupRequested())
            case "new":
                await self.new_task()
            case "history":
                self._history()
            case "checkpoints":
                self.action_checkpoints()
            case "undo":
                self._undo()
            case "redo":
                self._undo(redo=True)
            case "condense":
                self._condense()
            case "theme":
                self._theme_command(argument)
            case "mcp":
                self._mcp_screen()
            case "help":
                from kilo_tui.tui.widgets.reply import AssistantBlock

                bindings = [*self.BINDINGS, *self.app.BINDINGS]
                text = help_text(list(modes.items()), bindings, self.settings.keymap)
                await self.events.add(AssistantBlock(text))
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
            await self.events.add(NoticeBlock(f"Mode: {self.runtime.mode}. Available: {listing}"))

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
    async def _undo(self, redo: bool = False) -> None:
        """``/undo`` (or ``/redo``): through the runtime; the chat follows when the
        step took back (or re-applied) a restore of the conversation."""
        from kilo_tui.core.checkpoints import CheckpointError

        try:
            result = await (self.runtime.redo() if redo else self.runtime.undo())
        except CheckpointError as error:
            self.notify(str(error), severity="warning")
            return
        if result.conversation:
            await self.resume(result.conversation["task_id"])

    async def new_task(self) -> None:
        """Clear the chat and start a fresh task (on the configured model, totals at 0)."""
        if self.busy:
            self.runtime.cancel()
        self.runtime.new_task()
        await self._reset()
        self._show_runtime(self.runtime)
        self.sub_title = str(self.runtime.workspace)

    async def resume(self, task_id: str) -> None:
        """Show a stored task and continue it, on its own model: the status bar and a
        line in the chat say so when that differs from the model shown until now."""
        shown = self.status.model
        events = self.runtime.resume(task_id)
        await self._reset()
        await self.chat.load(await self.events.replay(events))
        self.status.usage = None  # the replay's usage lines are this task's, not the next
        self._show_runtime(self.runtime)
        if shown and self.runtime.model != shown:
            await self.events.notice(
                f"Continuing on this task's model {self.runtime.model} (was {shown}); "
                "/model switches.",
                "warning",
            )
        self.sub_title = self.runtime.title or str(self.runtime.workspace)

    async def setup_skipped(self) -> None:
        """The first-run setup was skipped: say what that means and where to go back."""
        self.no_model = True
        self.status.model = ""  # no request will go to the default the agent holds
        self.query_one(PromptInput).placeholder = NO_MODEL
        await self.chat.add(NoticeBlock(f"{NO_MODEL}.", "warning"))

    def model_chosen(self) -> None:
        """A model was chosen (/setup, /model): messages go out again."""
        if self.no_model:
            self.no_model = False
            self.query_one(PromptInput).placeholder = PromptInput.PLACEHOLDER

    async def _held_without_model(self, text: str) -> None:
        """Say at once why nothing was sent (no model was chosen; nothing waits on a
        server) and keep the message in the prompt for when a model is set up."""
        self.query_one(PromptArea).restore(text)
        await self.chat.add(NoticeBlock(f"Not sent. {NO_MODEL}; the message is kept.", "warning"))

    async def show_recent_tasks(self, records: list[TaskRecord]) -> None:
        """On an empty chat: the workspace's latest tasks and how to continue one. The
        list goes when the first message is sent."""
        if not records or self.chat.blocks:
            return
        from kilo_tui.tui.screens.history import UNTITLED, task_row

        lines = ["Recent tasks in this workspace:"]
        for record in records:
            title, when, model, *_ = task_row(record)
            lines.append(f"  • {title or UNTITLED}  ({when}, {model})")
        lines.append("Continue the latest with `kilo-tui -c`, or pick one with /history.")
        await self.chat.add(NoticeBlock("\n".join(lines), "recent"))

    async def _reset(self) -> None:
        self.events.reset()
        self.status.usage = None
        self._asks.clear()
        self._show_bottom("prompt")
        self.query_one(TodoList).set_todos(())
        await self.chat.clear()

    # ------------------------------------------------------------ bus events

    async def on_bus_event(self, message: BusEvent) -> None:
        message.stop()
        await self.events.handle(message.event)

    # -------------------------------------------------------- approvals, questions

    async def ask(self, event: Request | ev.FollowupAsked) -> None:
        """Queue an approval, a proposed edit or a question for the user."""

        if not self.runtime.bus.is_pending(event.request_id):
            return
        self._asks.append(event)
        if len(self._asks) == 1:
            await self._show_next_ask()

    def abandon_asks(self) -> None:
        """The turn was cancelled: its requests are answered, so stop showing them."""
        if self._reviewing:
            from kilo_tui.tui.screens.diff_review import DiffReviewScreen

            if isinstance(self.app.screen, DiffReviewScreen):
                self.app.screen.dismiss(None)
        self._asks.clear()
        self._show_bottom("prompt")

    @work(thread=True, exclusive=True, group="badge", exit_on_error=False)
    def lookup_badge(self, model: str) -> None:
        """Ask the catalog whether ``model`` is free or local (reads a large table)."""
        info = self.runtime.catalog.get(model)
        badge = "" if info is None else "local" if info.local else "free" if info.free else ""
        self.app.call_from_thread(setattr, self.status, "badge", badge)

    async def _show_next_ask(self) -> None:
        if self._reviewing:
            return  # the diff viewer is open; what came meanwhile waits for it
        while self._asks and not self.runtime.bus.is_pending(self._asks[0].request_id):
            self._asks.popleft()
        if not self._asks:
            self._show_bottom("prompt")
            return
        from kilo_tui.core import events as ev

        ask = self._asks[0]
        # Someone writing in the prompt keeps their keys: the request waits above it.
        draft = bool(self.query_one(PromptInput).text.strip())
        if isinstance(ask, ev.DiffProposed) and not draft:
            self._review_diffs()
        elif isinstance(ask, ev.FollowupAsked):
            from kilo_tui.tui.widgets.followup import FollowupBar

            followup = await self._bar(FollowupBar, "followup")
            self._show_bottom("followup", draft=draft)
            followup.ask(ask, focus=not draft)
        else:
            from kilo_tui.tui.widgets.approval_bar import ApprovalBar

            approval = await self._bar(ApprovalBar, "approval")
            self._show_bottom("approval", draft=draft)
            approval.ask(ask, focus=not draft)

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
        from kilo_tui.core import events as ev
        from kilo_tui.tui.screens.diff_review import DiffReviewScreen

        proposals: list[ev.DiffProposed] = []
        while self._asks and isinstance(self._asks[0], ev.DiffProposed):
            proposals.append(self._asks.popleft())  # type: ignore[arg-type]
        self._show_bottom("prompt")
        self._reviewing = True

        async def reviewed(replies: dict[str, ev.ApprovalReply] | None) -> None:
            self._reviewing = False
            for proposal in proposals:
                reply = (replies or {}).get(proposal.request_id, ev.ApprovalReply(approved=False))
                self.runtime.bus.reply(proposal.request_id, reply)
            await self._show_next_ask()

        self.app.push_screen(
            DiffReviewScreen(proposals, workspace=self.runtime.workspace), reviewed
        )

    async def drop_ask(self, request_id: str) -> None:
        """The request was answered (here or elsewhere): show the next one."""
        if self._asks and self._asks[0].request_id == request_id:
            self._asks.popleft()
            await self._show_next_ask()
        else:
            self._asks = deque(a for a in self._asks if a.request_id != request_id)

    def _show_bottom(self, which: str, *, draft: bool = False) -> None:
        """Show the prompt, the approval bar or the question bar; with a ``draft`` the
        prompt stays visible (and focused) below the bar."""
        self.set_class(which == "approval", "-approval")
        self.set_class(which == "followup", "-followup")
        self.set_class(draft, "-draft")
        if (which == "prompt" or draft) and self.is_mounted:
            self.query_one(PromptInput).focus()

    def action_switch_focus(self) -> None:
        """``tab``: between the prompt and the request waiting above it; never to a
        place where typing would be lost."""
        prompt = self.query_one(PromptInput)
        bar = self._visible_bar()
        if bar is None or not prompt.display:
            return
        if prompt.has_focus:
            bar.focus()
            return
        prompt.focus()
        if self.has_class("-approval"):
            from kilo_tui.tui.widgets.approval_bar import ApprovalBar

            self.query_one(ApprovalBar).wait()

    def _visible_bar(self) -> Widget | None:
        """Where keys for the shown request go: the approval bar or the question's
        answer input (None when neither is shown)."""
        if self.has_class("-approval"):
            return self.query_one("#approval")
        if self.has_class("-followup"):
            return self.query_one("#followup Input")
        return None

    async def on_approval_bar_typed(self, event: ApprovalBar.Typed) -> None:
        """A character typed on the bar that is no answer: it goes to the prompt, which
        shows again below the bar."""
        event.stop()
        self._show_bottom("approval", draft=True)
        self.query_one(PromptInput).insert(event.character)

    def on_approval_bar_review_requested(self, event: ApprovalBar.ReviewRequested) -> None:
        event.stop()
        self._review_diffs()

    async def on_approval_bar_answered(self, event: ApprovalBar.Answered) -> None:
        event.stop()
        self.runtime.bus.reply(event.request_id, event.reply)
        await self.drop_ask(event.request_id)

    async def on_followup_bar_answered(self, event: FollowupBar.Answered) -> None:
        event.stop()
        self.runtime.bus.reply(event.request_id, event.answer)
        await self.drop_ask(event.request_id)
