"""AgentRuntime: the one object every client (TUI, ``kilo-tui run``, tests) drives.

It owns the workspace's services — session store, modes, approval gate, checkpoints,
MCP servers, model catalog — and the current :class:`Task`. Clients call
:meth:`submit`, :meth:`cancel`, :meth:`set_mode`, … and watch the bus; they never reach
into the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
import weakref
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kilo_tui.core import events as ev
from kilo_tui.core.agent.prompt import build_system_prompt
from kilo_tui.core.agent.task import Task, TurnOutcome, new_task_id
from kilo_tui.core.bus import EventBus
from kilo_tui.core.config import Settings, default_model, kilocode_small_model
from kilo_tui.core.sessions import SessionStore
from kilo_tui.core.tools.base import Decision, EditOutcome, TaskState, Tool, ToolError
from kilo_tui.core.trust import project as trust
from kilo_tui.core.trust.sandbox import Sandbox
from kilo_tui.core.trust.secrets import redactor_for

if TYPE_CHECKING:
    from kilo_tui.core.agent.mentions import Expanded
    from kilo_tui.core.agent.modes import Mode
    from kilo_tui.core.checkpoints import CheckpointManager, RestoreResult
    from kilo_tui.core.code.index import CodebaseIndex
    from kilo_tui.core.llm.catalog import Catalog, ModelInfo
    from kilo_tui.core.llm.client import Usage
    from kilo_tui.core.llm.limits import ModelLimits
    from kilo_tui.core.llm.providers import Route
    from kilo_tui.core.mcp import McpManager
    from kilo_tui.core.sessions import TaskRecord

log = logging.getLogger(__name__)

MCP_STARTUP_WAIT = 15.0
"""Seconds a request waits for newly started MCP servers to connect or fail."""


def _found(learning: asyncio.Future[ModelInfo | None]) -> ModelInfo | None:
    """What a finished catalog lookup found (``None`` if it was cancelled)."""
    return None if learning.cancelled() else learning.result()


class AgentRuntime:
    """The agent for one workspace: services plus the current task."""

    def __init__(
        self,
        *,
        workspace: Path,
        settings: Settings,
        bus: EventBus | None = None,
        store: SessionStore | None = None,
        interactive: bool = True,
        yolo: bool = False,
        start_mcp: bool = True,
    ) -> None:
        from kilo_tui.core.agent.modes import load_modes
        from kilo_tui.core.trust.ignore import IgnoreMatcher
        from kilo_tui.core.trust.paths import WorkspacePaths

        self.workspace = workspace.resolve()
        self.bus = bus or EventBus()
        self.store = store or SessionStore()
        self.settings = settings  # also builds the redactor (see the setter)
        self.interactive = interactive
        self.yolo = yolo
        self.ignore = IgnoreMatcher(self.workspace)
        self.paths = WorkspacePaths(self.workspace, self.ignore)
        self._modes, self.mode_errors = load_modes(self.workspace, _global_modes_dir())
        self.startup_warnings: list[str] = list(self.mode_errors)
        if self.store.notice:
            self.startup_warnings.append(self.store.notice)
        self._mode = self._resolve_mode(settings.mode)
        self._model = default_model(settings)
        # No model configured and the Kilo gateway chosen: ask it for its default first.
        self._ask_gateway_default = settings.model is None and self._model.startswith("kilo/")
        self.task: Task | None = None
        self._turn: asyncio.Task[TurnOutcome] | None = None
        self._background: set[asyncio.Task[Any]] = set()
        self._pending: dict[str, str] = {}  # request_id -> event type, for cancel
        self._catalog: Catalog | None = None
        self._learning: dict[str, asyncio.Future[ModelInfo | None]] = {}
        self._state = TaskState()
        self.gate = self._build_gate()
        self.sandbox = Sandbox(settings.sandbox, self.workspace)
        self.checkpoints = self._build_checkpoints()
        self.mcp: McpManager | None = self._build_mcp() if start_mcp else None
        if self.mcp is not None and (warning := trust.mcp_warning(self.workspace)):
            self.startup_warnings.append(warning)
        self.codebase_index = self._build_codebase_index()
        self._tools = self._build_tools()
        self.bus.subscribe(self.store.record_event)
        self._open_tasks: weakref.WeakValueDictionary[str, Task] = weakref.WeakValueDictionary()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.store.when_replaced(self._store_replaced)
        self.bus.subscribe(
            self._track_request, ev.ApprovalRequested, ev.DiffProposed, ev.FollowupAsked
        )

    # -------------------------------------------------------------- services

    @property
    def settings(self) -> Settings:
        return self._settings

    @settings.setter
    def settings(self, settings: Settings) -> None:
        """Settings changed while running (a key saved on the first-run screen): the
        redactor learns the new keys at once, for what is stored and sent from now on."""
        self._settings = settings
        self.redactor = redactor_for(settings, self.workspace)
        self.store.redactor = self.redactor

    def _build_gate(self) -> Any:
        """The gate over the global ``[auto_approve]``, merged with the project's override
        in ``.kilocode/kilo-tui.toml`` (its loosening part only once trusted), merged
        with the user's remembered "always allow" rules for this workspace."""
        from kilo_tui.core.approval import (
            ApprovalGate,
            AutoApprovePolicy,
            AutoApproveSettings,
            merge,
        )

        project_file = self.workspace / trust.POLICY_FILE
        project = _read_project_auto_approve(project_file)
        if project and not trust.is_trusted(project_file):
            project, dropped = trust.restrictive_part(project, self.settings.auto_approve)
            if dropped:
                self.startup_warnings.append(
                    f"{project_file} loosens the approval policy ({', '.join(dropped)}) but "
                    "is not trusted yet, so those settings are ignored. Review the file, then "
                    "run `kilo-tui config trust` in this workspace to apply them."
                )
        remembered_file = trust.remembered_rules_file(self.workspace)
        remembered = _read_project_auto_approve(remembered_file)
        source = str(project_file) if project else self.settings.source
        settings = AutoApproveSettings.from_dict(
            merge(merge(self.settings.auto_approve, project), remembered), source=source
        )
        policy = AutoApprovePolicy(
            settings, mcp_always_allowed=self._mcp_always_allowed, workspace=self.workspace
        )
        return ApprovalGate(
            self.bus,
            policy,
            yolo=self.yolo,
            interactive=self.interactive,
            project_config=remembered_file,
        )

    def trust_questions(self) -> list[Any]:
        """The project files to ask the user about now (:class:`trust.project.Review`):
        an untrusted ``.kilocode/mcp.json`` with servers, unless this content was
        already declined. Answer with :meth:`answer_trust`."""
        from kilo_tui.core.config import ConfigError
        from kilo_tui.core.mcp.config import read_entries

        path = self.workspace / trust.MCP_FILE
        if self.mcp is None or trust.is_trusted(path) or trust.was_declined(path):
            return []
        try:
            if not read_entries(path):
                return []
        except ConfigError:
            return []  # reported as a broken settings file
        review = trust.review(self.workspace, path)
        return [review] if review is not None else []

    async def answer_trust(self, review: Any, trusted: bool) -> None:
        """Record the user's answer for exactly the reviewed content; once trusted, the
        project's servers start."""
        if not trusted:
            trust.decline(review.path, review.digest)
            return
        trust.trust(review.path, review.digest)
        if self.mcp is not None:
            await self.mcp.reload()

    def preview(self, action: Any) -> tuple[str, str, str]:
        """What the gate would do without asking: (verdict, by, rule)."""
        if self.yolo:
            return "allow", "yolo", "--yolo"
        decision = self.gate.policy.evaluate(action)
        return decision.verdict, "policy", decision.rule

    def _mcp_always_allowed(self, server: str, tool: str) -> bool:
        return bool(self.mcp and self.mcp.is_always_allowed(server, tool))

    def _build_checkpoints(self) -> CheckpointManager | None:
        conf = self.settings.checkpoints
        if not conf.enabled:
            return None
        from kilo_tui.core.checkpoints import CheckpointManager

        return CheckpointManager.from_settings(self.workspace, conf)

    def _build_mcp(self) -> McpManager | None:
        from kilo_tui.core.mcp import McpManager

        return McpManager(self.workspace, self.bus, sandbox=self.settings.sandbox)

    def _build_codebase_index(self) -> CodebaseIndex | None:
        if not self.settings.codebase_index.enabled:
            return None
        from kilo_tui.core.code.index import CodebaseIndex

        return CodebaseIndex(self.workspace, self.settings, self.bus)

    def _build_tools(self) -> dict[str, Tool]:
        from kilo_tui.core.browser import find_executable
        from kilo_tui.core.tools.code import CODE_TOOLS
        from kilo_tui.core.tools.command import EXECUTE_COMMAND
        from kilo_tui.core.tools.files import FILE_TOOLS
        from kilo_tui.core.tools.flow import FLOW_TOOLS
        from kilo_tui.core.tools.mcp_tools import MCP_TOOLS
        from kilo_tui.core.tools.web import FETCH_URL

        tools: list[Tool] = [*FILE_TOOLS, *CODE_TOOLS, EXECUTE_COMMAND, FETCH_URL, *FLOW_TOOLS]
        if self.mcp is not None:
            tools.extend(MCP_TOOLS)
        if find_executable(self.settings.browser.executable):
            from kilo_tui.core.tools.browser import BROWSER_ACTION

            tools.append(BROWSER_ACTION)
        if self.codebase_index is not None:
            from kilo_tui.core.tools.codebase import CODEBASE_SEARCH

            tools.append(CODEBASE_SEARCH)
        return {tool.name: tool for tool in tools}

    @property
    def catalog(self) -> Catalog:
        if self._catalog is None:
            from kilo_tui.core.llm.catalog import Catalog

            self._catalog = Catalog(self.settings.providers)
        return self._catalog

    async def start_background(self) -> None:
        """Warm litellm in a thread and start MCP servers; returns at once."""
        from kilo_tui.core.llm.litellm_loader import warm_up_in_background

        warm_up_in_background()
        self._spawn(self._report_sandbox())
        # Read the price table (and ask the model's server) before the first request.
        self.learn_model(self.model)
        if self.mcp is not None:
            self._spawn(self.mcp.start())
        if self.codebase_index is not None:
            self._spawn(self.codebase_index.run())

    async def _report_sandbox(self) -> None:
        """Say once how commands are confined (the probe runs off the event loop)."""
        status = await asyncio.to_thread(self.sandbox.status)
        self.bus.publish(
            ev.SandboxReported(
                mode=status.mode,
                active=status.active,
                mechanism=status.mechanism,
                network=status.network,
                message=status.message,
            )
        )
        if status.unsupported:
            self.bus.publish(ev.Notice(message=status.unsupported, level="warning"))

    async def wait_for_llm(self) -> None:
        from kilo_tui.core.llm.litellm_loader import is_loaded, load_litellm

        if not is_loaded():
            self.bus.publish(
                ev.Notice(
                    task_id=self.task.id if self.task else "",
                    message="Loading the model client…",
                    level="progress",
                )
            )
            await asyncio.to_thread(load_litellm)

    async def aclose(self) -> None:
        self.cancel()
        if self._turn is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(asyncio.shield(self._turn), 5)
        for task in list(self._background):
            task.cancel()
        if self.mcp is not None:
            await self.mcp.stop()

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    # ---------------------------------------------------------- properties

    @property
    def mode(self) -> str:
        return self._mode.slug

    @property
    def model(self) -> str:
        return self.task.model if self.task else self._model

    @property
    def task_id(self) -> str | None:
        return self.task.id if self.task else None

    @property
    def title(self) -> str:
        return self.task.title if self.task else ""

    @property
    def busy(self) -> bool:
        return self._turn is not None and not self._turn.done()

    @property
    def state(self) -> TaskState:
        """Per-conversation state shared with tools and mentions (todos, last command)."""
        return self._state

    def modes(self) -> list[Mode]:
        return list(self._modes)

    def _resolve_mode(self, slug: str) -> Mode:
        for mode in self._modes:
            if mode.slug == slug:
                return mode
        return next(m for m in self._modes if m.slug == "code")

    # -------------------------------------------------------------- actions

    async def submit(self, text: str) -> TurnOutcome:
        """Send one user message and run the loop until it stops."""
        if self.busy:
            raise RuntimeError("a turn is already running")
        if self.task is None:
            await self._settle_default_model()
            self.task = self._new_task()
        self._loop = asyncio.get_running_loop()
        self._turn = self._loop.create_task(self.task.run_turn(text))
        try:
            return await asyncio.shield(self._turn)
        except asyncio.CancelledError:
            self.cancel()
            raise
        finally:
            self._pending.clear()

    async def _settle_default_model(self) -> None:
        """Use the Kilo gateway's current default model, once, when none is configured.

        Offline or refused, the default last fetched (or Kilo's fallback) stays.
        """
        if not self._ask_gateway_default:
            return
        self._ask_gateway_default = False
        from kilo_tui.core.llm.gateway import resolve_default

        model = await resolve_default(self.settings.providers)
        if model != self._model:
            self.set_model(model, persist=False)

    def _new_task(self, *, parent: Task | None = None, mode: Mode | None = None) -> Task:
        task = Task(
            runtime=self,
            id=new_task_id(),
            mode=mode or self._mode,
            model=self._model,
            parent_id=parent.id if parent else None,
        )
        self.store.create_task(
            task.id,
            workspace=str(self.workspace),
            model=task.model,
            mode=task.mode.slug,
            parent_id=task.parent_id,
        )
        self._open_tasks[task.id] = task
        if parent is None:
            self._state = TaskState()
        self.bus.publish(
            ev.TaskStarted(
                task_id=task.id,
                prompt="",
                mode=task.mode.slug,
                model=task.model,
                workspace=str(self.workspace),
                parent_task_id=task.parent_id,
            )
        )
        return task

    def cancel(self) -> None:
        """Stop the running turn: close the stream, kill a command, deny open requests."""
        if self.task is not None:
            self.task.cancel.set()
        self._deny_pending(_cancelled_reply())

    def stop_asking(self, reason: str) -> None:
        """No one can answer any more (stdin closed under ``--stdin-replies``): deny the
        open requests, and from now on deny what the policy would ask about, as a
        headless run does, so the task ends instead of waiting forever."""
        self.interactive = False
        self.gate.interactive = False
        self._deny_pending(ev.ApprovalReply(approved=False, feedback=reason, by="headless"))

    def _deny_pending(self, denial: ev.ApprovalReply) -> None:
        """Answer every open request: approvals with ``denial``, questions with ''."""
        for request_id, kind in list(self._pending.items()):
            self.bus.reply(request_id, "" if kind == ev.FollowupAsked.type else denial)
        self._pending.clear()

    def _track_request(self, event: Any) -> None:
        self._pending[event.request_id] = event.type

    def new_task(self) -> None:
        if self.busy:
            self.cancel()
        self.task = None
        self._state = TaskState()

    def latest_task_id(self) -> str | None:
        record = self.store.latest_task(str(self.workspace))
        return record.id if record else None

    def recent_tasks(self, limit: int) -> list[TaskRecord]:
        """This workspace's latest top-level tasks, newest first."""
        return self.store.list_tasks(workspace=str(self.workspace))[:limit]

    def resume(self, task_id: str) -> list[ev.Event]:
        """Make ``task_id`` the current task; returns its stored events for the chat."""
        record = self.store.get_task(task_id)
        if record is None:
            raise KeyError(f"no task {task_id!r} in the session store")
        mode = self._resolve_mode(record.mode)
        task = Task(
            runtime=self,
            id=record.id,
            mode=mode,
            model=record.model or self._model,
            messages=self.load_history(record.id),
            title=record.title,
        )
        task.totals.tokens_in = record.tokens_in
        task.totals.tokens_out = record.tokens_out
        task.totals.add_cost(record.cost)
        self.task = task
        self._open_tasks[task.id] = task
        self._mode = mode
        events = self.store.load_events(record.id)
        self._state = TaskState()
        for event in events:
            if isinstance(event, ev.TodoListUpdated):
                self._state.todos = [dict(t) for t in event.todos]
        self.bus.publish(
            ev.TaskStarted(
                task_id=task.id,
                prompt="",
                mode=mode.slug,
                model=task.model,
                workspace=str(self.workspace),
                resumed=True,
            )
        )
        return events

    def _store_replaced(self, notice: str) -> None:
        """The session database was damaged mid-session and a new one took its place:
        write the tasks held in memory into it (parents first), then tell the user."""
        from kilo_tui.core.sessions import TaskRecord

        now = time.time()
        for task in sorted(self._open_tasks.values(), key=lambda t: t.parent_id is not None):
            record = TaskRecord(
                id=task.id,
                workspace=str(self.workspace),
                title=task.title,
                created_at=now,
                updated_at=now,
                model=task.model,
                mode=task.mode.slug,
                status="active",
                tokens_in=task.totals.tokens_in,
                tokens_out=task.totals.tokens_out,
                cost=task.totals.cost,
                parent_id=task.parent_id,
            )
            self.store.save_task(record, task.messages)
        said = ev.Notice(task_id=self.task_id or "", message=notice, level="warning")
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # a worker thread (restores run in one)
            if self._loop is not None:
                self._loop.call_soon_threadsafe(self.bus.publish, said)
                return
        self.bus.publish(said)

    def load_history(
        self, task_id: str, reason: str = "it was interrupted"
    ) -> list[dict[str, Any]]:
        """The task's stored history, mended so any provider accepts it: a tool call left
        without a result (the process was killed, ``reason``) gets one, and what a
        provider would reject is set aside in the store too, so message counts
        (checkpoint rewinds) stay in step."""
        from kilo_tui.core.agent.history import INTERRUPTED, plan_repair

        answer = INTERRUPTED.format(reason=reason)
        return self.store.repair_messages(task_id, plan_repair, answer)

    async def set_mode(self, slug: str, *, task: Task | None = None, reason: str = "") -> None:
        mode = next((m for m in self._modes if m.slug == slug), None)
        if mode is None:
            raise ValueError(f"unknown mode {slug!r}")
        previous = self._mode.slug
        target = task or self.task
        if target is not None:
            target.mode = mode
            self.store.update_task(target.id, mode=slug)
        if target is None or target is self.task:
            self._mode = mode
        self.bus.publish(
            ev.ModeChanged(
                task_id=target.id if target else "", mode=slug, previous=previous, reason=reason
            )
        )
        sticky = self._sticky_model(slug)
        if sticky and sticky != self.model:
            self.set_model(sticky, persist=False)

    def _sticky_model(self, slug: str) -> str | None:
        from kilo_tui.core.llm.catalog import get_mode_model

        return get_mode_model(slug)

    def set_model(self, model: str, *, persist: bool = True) -> None:
        previous = self.model
        self._ask_gateway_default = False  # a chosen model is never replaced by a default
        self._model = model
        if self.task is not None:
            self.task.model = model
            self.store.update_task(self.task.id, model=model)
        if persist:
            from kilo_tui.core.config import save_settings_value
            from kilo_tui.core.llm.catalog import record_recent, set_mode_model

            save_settings_value("model", model)
            record_recent(model)
            set_mode_model(self.mode, model)
        self.bus.publish(
            ev.ModelChanged(task_id=self.task_id or "", model=model, previous=previous)
        )

    # ------------------------------------------------------------ for Task

    def tool(self, name: str) -> Tool | None:
        return self._tools.get(name)

    def tools_for(self, mode: Mode) -> list[Tool]:
        from kilo_tui.core.agent.modes import allowed_tools

        names = set(allowed_tools(mode, self._tools))
        return [tool for name, tool in self._tools.items() if name in names]

    def check_mode(self, mode: Mode, tool: str, path: Any) -> str | None:
        from kilo_tui.core.agent.modes import check_tool_use

        return check_tool_use(mode, tool, path if isinstance(path, str) else None)

    def limits(self) -> tuple[int | None, float | None]:
        s = self.gate.policy.settings
        return s.max_requests, s.max_cost

    def route(self, model: str) -> Route:
        """Where requests for ``model`` go and with which key (see ``core/llm/providers``)."""
        from kilo_tui.core.llm.providers import route

        return route(self.settings.providers, model)

    def model_info(self, model: str) -> ModelInfo | None:
        return self.catalog.get(model)

    def learn_model(self, model: str) -> asyncio.Future[ModelInfo | None]:
        """Look ``model`` up in the catalog, asking its server when the catalog does not
        know it (see :meth:`Catalog.learn`); shared by every caller, and asked again
        only after a miss (a local server may have been started since)."""
        learning = self._learning.get(model)
        if learning is None or (learning.done() and _found(learning) is None):
            learning = self._learning[model] = self._spawn(self.catalog.learn(model))
        return learning

    def request_cost(self, model: str, usage: Usage) -> float | None:
        from kilo_tui.core.llm.pricing import request_cost

        return request_cost(
            self.model_info(model),
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            cache_read_tokens=usage.cache_read_tokens,
            cache_write_tokens=usage.cache_write_tokens,
            reported_cost=usage.reported_cost,
        )

    def _policy_allows(self, toggle: str) -> bool:
        settings = self.gate.policy.settings
        return bool(settings.enabled and getattr(settings, toggle))

    def resolve_path(self, raw: str) -> Path:
        """Workspace-relative (or absolute) path → absolute, symlinks resolved."""
        return self.paths.resolve(raw).real

    def is_outside(self, path: Path) -> bool:
        return not path.resolve().is_relative_to(self.workspace)

    def tool_extras(self, task: Task) -> dict[str, Any]:
        return {
            "mcp": self.mcp,
            "sandbox": self.sandbox,
            "codebase_index": self.codebase_index,
            "mode_slugs": [m.slug for m in self._modes],
            "run_subtask": lambda mode, message: self._run_subtask(task, mode, message),
            "interactive": self.interactive,
            "auto_answer_followups": self.yolo or self._policy_allows("followup_questions"),
            "browser": task.browser,
            "supports_vision": bool((info := self.model_info(task.model)) and info.supports_vision),
        }

    async def approve(self, task: Task, call_id: str, **kwargs: Any) -> Decision:
        from kilo_tui.core.approval import Action

        path = kwargs.get("path")
        outside = bool(kwargs.pop("outside_workspace", False))
        if path and not outside:
            outside = self.is_outside(self.resolve_path(path))
        action = Action(task_id=task.id, call_id=call_id, outside_workspace=outside, **kwargs)
        return await self.gate.decide(action)

    async def propose_edit(
        self, task: Task, call_id: str, *, tool: str, path: str, old: str | None, new: str | None
    ) -> EditOutcome:
        from kilo_tui.core.approval import Action
        from kilo_tui.core.edits import review_edit

        target = self.resolve_path(path)
        outside = self.is_outside(target)
        verb = "Create" if old is None else ("Delete" if new is None else "Edit")
        action = Action(
            kind="write",
            tool=tool,
            title=f"{verb} {path}",
            path=path,
            outside_workspace=outside,
            task_id=task.id,
            call_id=call_id,
        )
        verdict, by, rule = self.preview(action)
        if verdict == "deny" or (verdict == "ask" and not self.interactive):
            decision = await self.gate.decide(action)
            report = f"The change to {path} was not made: " + (
                decision.feedback or "the approval policy denied it."
            )
            return EditOutcome(
                applied=False, content=None, report=report, feedback=decision.feedback
            )
        await self.checkpoint(task, f"{tool} {path}")
        # Outside the workspace (only when the policy or the user allowed it) the
        # proposal carries the absolute path.
        outcome = await review_edit(
            bus=self.bus,
            workspace=self.workspace,
            path=str(target) if outside else path,
            old=old,
            new=new,
            tool=tool,
            task_id=task.id,
            call_id=call_id,
            auto_approved=verdict == "allow",
        )
        self.bus.publish(
            ev.ApprovalResolved(
                task_id=task.id,
                request_id="",
                kind="write",
                tool=tool,
                approved=outcome.applied,
                by=by if verdict == "allow" else "user",
                rule=rule if verdict == "allow" else "",
                feedback=outcome.feedback,
            )
        )
        return outcome

    async def checkpoint(self, task: Task, trigger: str) -> None:
        """Snapshot the workspace (only when it differs from the last checkpoint).

        A failure is announced (``CheckpointsUnavailable``: the status bar, ``--json``)
        and every later checkpoint is tried again. Before a tool's change the user then
        decides whether it may go on without one; headless, only ``--yolo`` goes on.
        Raises :class:`ToolError` when it may not.
        """
        manager = self.checkpoints
        if manager is None:
            return
        from kilo_tui.core.checkpoints import CheckpointError, trigger_kind

        loop = asyncio.get_running_loop()

        def waiting(message: str) -> None:  # called from the worker thread
            notice = ev.Notice(task_id=task.id, message=message, level="warning")
            loop.call_soon_threadsafe(self.bus.publish, notice)

        manager.on_wait = waiting
        try:
            cp = await asyncio.to_thread(
                manager.save, trigger, task_id=task.id, message_index=len(task.messages)
            )
        except CheckpointError as exc:
            self.bus.publish(
                ev.CheckpointsUnavailable(task_id=task.id, reason=str(exc), trigger=trigger)
            )
            if trigger_kind(trigger) == "tool":
                await self._go_on_without_checkpoint(task, trigger, str(exc))
            return
        if cp is not None:
            self.bus.publish(
                ev.CheckpointCreated(
                    task_id=task.id,
                    checkpoint_id=cp.id,
                    trigger=trigger,
                    files_changed=cp.files_changed,
                    insertions=cp.insertions,
                    deletions=cp.deletions,
                )
            )

    async def _go_on_without_checkpoint(self, task: Task, trigger: str, reason: str) -> None:
        """Ask (through the gate) whether a tool may change files without a checkpoint."""
        from kilo_tui.core.approval import Action

        action = Action(
            kind="checkpoint",
            tool=trigger.split(" ", 1)[0],
            title=f"checkpoint failed: {reason} — continue without a checkpoint?",
            detail=trigger,
            task_id=task.id,
        )
        decision = await self.gate.decide(action)
        if decision.approved:
            return
        why = (
            "the user chose not to go on without one"
            if self.interactive
            else "a headless run changes no files without a checkpoint (--yolo allows it)"
        )
        raise ToolError(
            f"Not run: the checkpoint before it failed ({reason}) and {why}. "
            "Tell the user; do not retry until the checkpoint problem is fixed."
        )

    async def restore(self, checkpoint_id: str, *, with_task: bool) -> RestoreResult:
        """Restore the files to a checkpoint (``with_task``: the conversation too).
        Raises CheckpointError for the client to show."""
        from kilo_tui.core import timeline

        manager = self._checkpoint_manager()
        task_id = None if with_task else self.task_id
        result = await asyncio.to_thread(
            timeline.restore,
            manager,
            self.store,
            checkpoint_id,
            with_task=with_task,
            task_id=task_id,
        )
        self._announce_restore("restore", result)
        return result

    async def undo(self) -> RestoreResult:
        """``/undo``: take back the latest restore or agent change (files and any
        conversation a restore set aside)."""
        from kilo_tui.core import timeline

        manager = self._checkpoint_manager()
        result = await asyncio.to_thread(timeline.undo, manager, self.store, self.task_id)
        self._announce_restore("undo", result)
        return result

    async def redo(self) -> RestoreResult:
        """``/redo``: re-apply what the latest ``/undo`` took back."""
        from kilo_tui.core import timeline

        result = await asyncio.to_thread(timeline.redo, self._checkpoint_manager(), self.store)
        self._announce_restore("redo", result)
        return result

    def _checkpoint_manager(self) -> CheckpointManager:
        if self.checkpoints is None:
            from kilo_tui.core.checkpoints import CheckpointError

            raise CheckpointError("checkpoints are turned off in the settings")
        return self.checkpoints

    def _announce_restore(self, action: str, result: RestoreResult) -> None:
        plan = result.plan
        self.bus.publish(
            ev.CheckpointRestored(
                task_id=self.task_id or "",
                checkpoint_id=result.target.id,
                with_task=result.conversation is not None,
                safety_checkpoint_id=result.safety.id,
                action=action,
                modified=plan.modified,
                added_back=plan.added_back,
                removed=plan.removed,
                untracked=plan.untracked,
                modes=plan.modes,
                messages=len(result.conversation["messages"]) if result.conversation else 0,
            )
        )

    async def system_prompt(self, task: Task, *, protocol: str = "native") -> str:
        """The task's system prompt: the same for every request of one mode and tool
        protocol (what changes goes into :meth:`environment_details`)."""
        from kilo_tui.core.agent.rules import build_custom_instructions
        from kilo_tui.core.paths import kilocode_home

        mode = task.mode
        agent = self.settings.agent
        custom = build_custom_instructions(
            workspace=self.workspace,
            mode=mode,
            global_instructions=agent.custom_instructions,
            kilocode_home=kilocode_home(),
            use_agents_md=agent.use_agents_md,
        )
        tools = self.tools_for(mode)
        tool_names = {t.name for t in tools}
        mcp_section = ""
        if self.mcp is not None and "use_mcp_tool" in tool_names:
            # The model must know the servers' tools from its first request, and after
            # the settings changed, from the next one: apply an edit the watcher has not
            # seen yet, then wait (bounded) for the servers started since the last request.
            await self.mcp.reload()
            await self.mcp.wait_for_launched(MCP_STARTUP_WAIT)
            mcp_section = self.mcp.tools_description()
        extra: dict[str, str] = {}
        if protocol == "xml":
            from kilo_tui.core.llm.xml_tools import tools_prompt

            extra["tool_use"] = tools_prompt(
                {t.name: t.parameters for t in tools}, {t.name: t.description for t in tools}
            )
        return build_system_prompt(
            role_definition=mode.role_definition,
            mode_instructions=mode.custom_instructions,
            workspace=self.workspace,
            shell=os.environ.get("SHELL") or "/bin/sh",
            custom_instructions=custom,
            mcp_section=mcp_section,
            can_edit=bool(tool_names & {"apply_diff", "write_to_file"}),
            **extra,
        )

    async def environment_details(self, task: Task, *, include_listing: bool) -> str:
        """The ``<environment_details>`` block for the newest user message."""
        from kilo_tui.core.agent.rules import environment_details

        return await asyncio.to_thread(
            environment_details,
            now=datetime.now().astimezone(),
            mode=task.mode,
            model=task.model,
            cost=task.totals.cost,
            todos=self._state.todos,
            workspace=self.workspace,
            include_listing=include_listing,
            is_ignored=self.ignore.is_ignored,
        )

    def model_limits(self, model: str) -> ModelLimits:
        """Context window and max output of ``model`` (settings, catalog, defaults)."""
        from kilo_tui.core.config import model_settings
        from kilo_tui.core.llm.limits import resolve_limits

        return resolve_limits(model_settings(self.settings, model), self.model_info(model))

    def tool_protocol(self, model: str) -> tuple[str, bool]:
        """``(protocol, certain)`` for ``model``; see :func:`~kilo_tui.core.llm.limits.choose_protocol`."""
        from kilo_tui.core.config import model_settings
        from kilo_tui.core.llm.limits import choose_protocol

        return choose_protocol(model_settings(self.settings, model), self.model_info(model))

    async def expand_mentions(self, text: str, task: Task) -> Expanded:
        from kilo_tui.core.agent.mentions import expand_mentions

        last = self._state.last_command
        return await expand_mentions(
            text,
            paths=self.paths,
            last_terminal=(last, self._state.last_command_output) if last else None,
            problems_commands=list(self.settings.agent.problems_commands) or None,
            allow_urls=self.settings.agent.fetch_urls,
        )

    async def _run_subtask(self, parent: Task, mode_slug: str, message: str) -> tuple[bool, str]:
        mode = self._resolve_mode(mode_slug)
        child = self._new_task(parent=parent, mode=mode)
        child.inherit_transport(parent)
        self.bus.publish(
            ev.SubtaskStarted(
                task_id=parent.id, subtask_id=child.id, mode=mode_slug, message=message
            )
        )
        child.cancel = parent.cancel
        outcome = await child.run_turn(message)
        ok = outcome.status == "completed"
        result = outcome.detail or outcome.status
        parent.totals.tokens_in += child.totals.tokens_in
        parent.totals.tokens_out += child.totals.tokens_out
        parent.totals.add_cost(child.totals.known_cost, child.totals.unpriced)
        self.bus.publish(
            ev.SubtaskFinished(task_id=parent.id, subtask_id=child.id, result=result, ok=ok)
        )
        return ok, result

    # ------------------------------------------------- background helpers

    def small_model(self) -> str | None:
        return self.settings.small_model or kilocode_small_model()

    def start_title(self, task: Task, first_message: str) -> None:
        from kilo_tui.core.agent.background import generate_title

        async def run() -> None:
            title, source = await generate_title(self, task, first_message)
            task.title = title
            self.bus.publish(ev.TitleGenerated(task_id=task.id, title=title, source=source))

        self._spawn(run())

    async def maybe_condense(self, task: Task) -> None:
        from kilo_tui.core.agent.background import should_condense

        if should_condense(self, task):
            await self.condense(task)

    async def condense(self, task: Task | None = None) -> None:
        """Summarise older turns (small model → main model → sliding window)."""
        from kilo_tui.core.agent.background import condense_context

        target = task or self.task
        if target is not None:
            await condense_context(self, target)


def _cancelled_reply() -> Any:
    return ev.ApprovalReply(approved=False, feedback="The user cancelled the task.", by="cancel")


def _read_project_auto_approve(path: Path) -> dict[str, Any]:
    import tomllib

    from kilo_tui.core.config import ConfigError

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"invalid TOML: {exc}", path=str(path)) from exc
    section = data.get("auto_approve", {})
    if not isinstance(section, dict):
        raise ConfigError("expected a table [auto_approve]", path=str(path), key="auto_approve")
    return section


def _global_modes_dir() -> Path:
    from kilo_tui.core import paths

    return paths.config_dir()
