"""The task loop: one conversation with the model, step by step.

For each user message: expand mentions, checkpoint, then loop — build the request
(system prompt for the mode + history), stream the reply, and run each tool call through
mode check → approval gate → checkpoint (for mutations) → the tool → the result back to
the model — until ``attempt_completion``, a stop, a limit, or an unrecoverable error.

Everything the user sees is published on the bus; every message the model is sent is
written to the session store before the next request, so a killed process can resume.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kilo_tui.core import events as ev
from kilo_tui.core.agent.prompt import NO_TOOL_NUDGE
from kilo_tui.core.browser import BrowserSlot
from kilo_tui.core.llm.xml_tools import XML_NUDGE
from kilo_tui.core.testhooks import fault_point
from kilo_tui.core.tools.base import (
    Decision,
    EditOutcome,
    Tool,
    ToolContext,
    ToolError,
    ToolResult,
    openai_tool_spec,
)

if TYPE_CHECKING:
    from kilo_tui.core.agent.modes import Mode
    from kilo_tui.core.agent.ports import TaskHost
    from kilo_tui.core.llm.client import LLMResponse, ToolCall, Usage

log = logging.getLogger(__name__)

MAX_CONSECUTIVE_NO_TOOL = 3
XML_AFTER_NO_TOOL = 2
"""Replies without a tool call after which a model not known to call tools natively is
switched to the XML protocol (its server may be ignoring the tool definitions)."""
EMPTY_MEANS_OVERFLOW = 0.5
"""An empty reply to a prompt over this share of the context window is an overflow."""


@dataclass
class TurnOutcome:
    """How a turn ended: ``completed``, ``idle``, ``failed``, ``cancelled``, ``limit``."""

    status: str
    detail: str = ""


@dataclass
class Totals:
    requests: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost: float | None = 0.0
    """The task's cost; ``None`` once any request's price is unknown."""
    context_tokens: int = 0
    known_cost: float = 0.0
    """What the requests of known price cost: ``max_cost`` counts this."""
    unpriced: int = 0
    """Requests whose price is unknown."""
    background_cost: float | None = 0.0
    """Part of ``cost`` spent on background requests (titles, condensing)."""

    def add_cost(self, cost: float | None, unpriced: int = 0) -> None:
        """Count one request's cost (``None``: unknown), or a subtask's totals."""
        if cost is None:
            unpriced = max(unpriced, 1)
        self.known_cost += cost or 0.0
        self.unpriced += unpriced
        self.cost = None if self.unpriced else self.known_cost


@dataclass
class Task:
    """One conversation. Hosted by :class:`AgentRuntime` (seen through the narrow
    :class:`~kilo_tui.core.agent.ports.TaskHost`); subtasks are Tasks too."""

    runtime: TaskHost
    id: str
    mode: Mode
    model: str
    messages: list[dict[str, Any]] = field(default_factory=list)
    parent_id: str | None = None
    totals: Totals = field(default_factory=Totals)
    cancel: asyncio.Event = field(default_factory=asyncio.Event)
    title: str = ""
    _repeat_key: str = ""
    _repeat_count: int = 0
    _turn_requests: int = 0
    _protocol: str = ""
    """``native`` or ``xml``; chosen at the first request (see AgentRuntime.tool_protocol)."""
    _protocol_certain: bool = False
    _stream: bool = True
    """False once the server refused to stream a request with tools."""
    _pending_title: str | None = None
    _snapshot: asyncio.Future[None] | None = None
    """The checkpoint of the turn's start, while it is being taken."""
    _last_prompt: list[dict[str, Any]] = field(default_factory=list)
    """The messages of the last request, to judge what an empty reply means."""
    browser: BrowserSlot = field(default_factory=BrowserSlot)
    """The browser ``browser_action`` launched, closed when the turn ends."""

    # -------------------------------------------------------------- helpers

    @property
    def bus(self) -> Any:
        return self.runtime.bus

    @property
    def workspace(self) -> Path:
        return self.runtime.workspace

    def publish(self, event: ev.Event) -> None:
        self.bus.publish(event)

    def _append(self, message: dict[str, Any]) -> None:
        # The one door into the history: no known key value reaches the model or the store.
        message = self.runtime.redactor.data(message)
        self.messages.append(message)
        self.runtime.store.append_message(self.id, message)

    # ----------------------------------------------------------------- turn

    async def run_turn(self, text: str) -> TurnOutcome:
        """Handle one user message until the loop stops."""
        self.cancel.clear()
        self._turn_requests = 0
        expanded = await self.runtime.expand_mentions(text, self)
        index = len(self.messages)
        await self._append_user(expanded.text, include_listing=index == 0)
        self.publish(
            ev.UserMessage(
                task_id=self.id,
                text=text,
                expanded=expanded.text,
                index=index,
                attached=expanded.attached,
                not_attached=expanded.not_attached,
            )
        )
        if index == 0 and self.parent_id is None:
            self._provisional_title(text)
            # Generated after the first reply: a local server with one slot would
            # otherwise make the first request wait for the title.
            self._pending_title = text
        # The request does not need this snapshot; only a tool's change does, so it is
        # taken while the request is out (a first checkpoint of a large tree takes seconds).
        self._snapshot = asyncio.ensure_future(self.runtime.checkpoint(self, "user_message"))
        try:
            outcome = await self._loop()
        except asyncio.CancelledError:
            self._close_dangling_tool_calls("the task was cancelled")
            self.publish(ev.TaskCancelled(task_id=self.id))
            raise
        except Exception:
            self._close_dangling_tool_calls("an internal error stopped the task")
            raise
        finally:
            await self.browser.close()
        # The turn's final state joins the timeline, so the agent's result can be
        # restored too (nothing is saved when the tree did not change).
        await self._snapshot_taken()
        await self.runtime.checkpoint(self, "end_of_turn")
        return outcome

    async def _snapshot_taken(self) -> None:
        """Wait for the checkpoint taken when the user's message came in."""
        if self._snapshot is not None:
            snapshot, self._snapshot = self._snapshot, None
            await snapshot

    async def _append_user(self, text: str, *, include_listing: bool = False) -> None:
        """Append a user message carrying the environment details: what changes from
        request to request goes at the end, so everything before it stays cacheable."""
        env = await self.runtime.environment_details(self, include_listing=include_listing)
        self._append({"role": "user", "content": f"{text}\n\n{env}"})

    def _provisional_title(self, text: str) -> None:
        """The truncated first message, until (or unless) a generated title arrives."""
        from kilo_tui.core.agent.background import TITLE_MAX, truncate

        self.title = truncate(text, TITLE_MAX)
        self.runtime.store.update_task(self.id, title=self.title)

    async def _loop(self) -> TurnOutcome:
        no_tool_streak = 0
        while True:
            if self.cancel.is_set():
                return self._cancelled()
            if (limit := self._limit_hit()) is not None:
                return limit
            await self.runtime.maybe_condense(self)
            try:
                response = await self._request()
            except _Cancelled:
                return self._cancelled()
            except _Failed as failure:
                self.publish(ev.TaskFailed(task_id=self.id, error=str(failure), kind=failure.kind))
                return TurnOutcome("failed", str(failure))
            if not response.tool_calls:
                no_tool_streak += 1
                if (
                    no_tool_streak >= XML_AFTER_NO_TOOL
                    and self._protocol == "native"
                    and not self._protocol_certain
                ):
                    self._use_xml("it answered twice without calling a tool")
                    no_tool_streak = 0
                if no_tool_streak >= MAX_CONSECUTIVE_NO_TOOL:
                    return self._stalled(response.text)
                await self._append_user(XML_NUDGE if self._protocol == "xml" else NO_TOOL_NUDGE)
                continue
            no_tool_streak = 0
            await self._snapshot_taken()  # before any tool may change a file
            outcome = await self._run_tool_calls(response.tool_calls)
            if outcome is not None:
                return outcome

    def _stalled(self, last_text: str) -> TurnOutcome:
        if self.runtime.interactive:
            # The model is talking to the user; let the user answer.
            self.publish(ev.TaskIdle(task_id=self.id))
            return TurnOutcome("idle", last_text)
        error = (
            f"The model answered {MAX_CONSECUTIVE_NO_TOOL} times without calling a tool "
            "(it must call attempt_completion to finish)."
        )
        self.publish(ev.TaskFailed(task_id=self.id, error=error))
        return TurnOutcome("failed", error)

    def _cancelled(self) -> TurnOutcome:
        self.publish(ev.TaskCancelled(task_id=self.id))
        return TurnOutcome("cancelled")

    def _limit_hit(self) -> TurnOutcome | None:
        max_requests, max_cost = self.runtime.limits()
        if max_requests and self._turn_requests >= max_requests:
            message = (
                f"Stopped after {self._turn_requests} requests (auto_approve.max_requests = "
                f"{max_requests}). Send a message to continue."
            )
            self.publish(
                ev.LimitReached(
                    task_id=self.id,
                    limit="max_requests",
                    value=float(max_requests),
                    message=message,
                )
            )
            return TurnOutcome("limit", message)
        t = self.totals
        if max_cost and t.known_cost >= max_cost:
            spent = f"${t.known_cost:.4f}"
            if t.unpriced:
                plural = "s" if t.unpriced > 1 else ""
                spent = (
                    f"at least {spent} ({t.unpriced} request{plural} of unknown price not counted)"
                )
            message = (
                f"Stopped: this task has cost {spent}, reaching auto_approve.max_cost = "
                f"${max_cost:.2f}. Raise the limit to continue."
            )
            self.publish(
                ev.LimitReached(
                    task_id=self.id, limit="max_cost", value=float(max_cost), message=message
                )
            )
            return TurnOutcome("limit", message)
        return None

    # ------------------------------------------------------------- request

    async def _request(self) -> LLMResponse:
        """One reply, recovering from what a server refuses: streaming with tools (ask
        without streaming), tools (use the XML protocol), a context overflow (condense,
        then try once more). Anything else fails the turn with the server's words."""
        from kilo_tui.core.llm.client import LLMError

        condensed = False
        while True:
            try:
                return await self._send()
            except LLMError as exc:
                if exc.streaming_with_tools_refused and self._stream and self._protocol == "native":
                    self._stream = False
                    self._notice(
                        "The server cannot stream replies that use tools; kilo-tui now waits "
                        "for each whole reply instead."
                    )
                elif (
                    exc.tools_refused and self._protocol == "native" and not self._protocol_certain
                ):
                    self._use_xml("the server refused the tool definitions")
                elif self._is_overflow(exc) and not condensed:
                    condensed = True
                    self._notice(
                        "The request did not fit the model's context window; condensing the "
                        "conversation and trying once more."
                    )
                    await self.runtime.condense(self)
                elif exc.auth_failed:
                    from kilo_tui.core.llm.providers import key_hint

                    raise _Failed(f"{exc} — {key_hint(self.model)}.", kind="auth") from exc
                else:
                    raise _Failed(self._failure_text(exc)) from exc

    def inherit_transport(self, parent: Task) -> None:
        """A subtask on its parent's model keeps what the parent learned about the
        server (tool protocol, streaming), instead of being refused all over again."""
        if parent.model == self.model:
            self._protocol = parent._protocol
            self._protocol_certain = parent._protocol_certain
            self._stream = parent._stream

    def _use_xml(self, reason: str) -> None:
        """Switch this task to the XML tool protocol, and say so (once: it sticks)."""
        self._protocol = "xml"
        self._protocol_certain = True
        self._notice(
            f"{self.model} does not seem to call tools natively ({reason}); it now gets the "
            f'tools as XML in its prompt. Set [models."{self.model}"] tool_protocol to '
            '"native" or "xml" to choose.'
        )

    def _notice(self, message: str) -> None:
        self.publish(ev.Notice(task_id=self.id, message=message, level="warning"))

    def _is_overflow(self, exc: Any) -> bool:
        if exc.context_overflow:
            return True
        if exc.kind != "EmptyReply":
            return False
        from kilo_tui.core.llm.tokens import count_message_tokens

        window = self.runtime.model_limits(self.model).context_window
        return count_message_tokens(self._last_prompt) >= EMPTY_MEANS_OVERFLOW * window

    def _failure_text(self, exc: Any) -> str:
        if not self._is_overflow(exc):
            return str(exc)
        limits = self.runtime.model_limits(self.model)
        window = f"{limits.context_window} tokens" + ("" if limits.known else ", assumed")
        return (
            f"The conversation does not fit the model's context window ({window}), even "
            "after condensing it. Start a new task, or if the server accepts more, set "
            f'[models."{self.model}"] context_window (and the server\'s own context size). '
            f"The server said: {exc}"
        )

    async def _send(self) -> LLMResponse:
        from kilo_tui.core.llm.client import LLMCancelled, stream_completion

        if not self._protocol:
            self._protocol, self._protocol_certain = self.runtime.tool_protocol(self.model)
        self.totals.requests += 1
        self._turn_requests += 1
        tools = self.runtime.tools_for(self.mode)
        xml = self._protocol == "xml"
        system = await self.runtime.system_prompt(self, protocol=self._protocol)
        route = self.runtime.route(self.model)
        agent = self.runtime.settings.agent
        learning = self.runtime.learn_model(self.model)
        await self.runtime.wait_for_llm()
        # Published when only the server is left to wait for: until then the status
        # shows what is waited on (the model client loading), not "thinking".
        self.publish(
            ev.RequestStarted(task_id=self.id, model=self.model, request_index=self.totals.requests)
        )
        streamed: list[str] = []

        def on_text(chunk: str) -> None:
            streamed.append(chunk)
            self.publish(ev.AssistantDelta(task_id=self.id, text=chunk))
            fault_point("streaming")

        def on_retry(attempt: int, max_attempts: int, delay: float, error: str) -> None:
            streamed.clear()
            self.publish(
                ev.RetryScheduled(
                    task_id=self.id,
                    attempt=attempt,
                    max_attempts=max_attempts,
                    delay=delay,
                    error=error,
                )
            )

        from kilo_tui.core.llm.xml_tools import to_xml_history

        history = to_xml_history(self.messages) if xml else self.messages
        self._last_prompt = [{"role": "system", "content": system}, *history]
        try:
            response = await stream_completion(
                model=route.model,
                messages=self._last_prompt,
                tools=None if xml else [openai_tool_spec(t) for t in tools] or None,
                xml_tools={t.name: t.parameters for t in tools} if xml else None,
                stream=self._stream,
                max_tokens=self.runtime.model_limits(self.model).max_output,
                api_base=route.api_base,
                api_key=route.api_key,
                extra_params=route.params(),
                on_text=on_text,
                on_reasoning=lambda t: self.publish(ev.ReasoningDelta(task_id=self.id, text=t)),
                on_retry=on_retry,
                cancel=self.cancel,
                max_retries=agent.max_retries,
                base_delay=agent.retry_base_delay,
                request_timeout=agent.request_timeout,
            )
        except LLMCancelled:
            partial = "".join(streamed)
            if partial.strip():
                note = partial + "\n\n[Response interrupted by the user]"
                self._append({"role": "assistant", "content": note})
                self.publish(ev.AssistantMessage(task_id=self.id, text=partial))
            raise _Cancelled() from None
        finally:
            self._start_pending_title()
        if not xml and not response.tool_calls:
            response = self._xml_in_text(response, tools)
        message: dict[str, Any] = {"role": "assistant", "content": response.text or None}
        if response.tool_calls:
            message["tool_calls"] = [
                {
                    "id": c.id,
                    "type": "function",
                    "function": {"name": c.name, "arguments": c.arguments},
                }
                for c in response.tool_calls
            ]
        # Stored before it is announced: a rewind of the conversation hides the events
        # recorded from the first message it sets aside (SessionStore.rewind_to_message).
        self._append(message)
        if response.text.strip():
            self.publish(ev.AssistantMessage(task_id=self.id, text=response.text))
        await asyncio.shield(learning)  # priced by what the model's server said
        self._record_usage(response)
        return response

    def _xml_in_text(self, response: LLMResponse, tools: list[Tool]) -> LLMResponse:
        """A native-mode reply that wrote its tool call as XML: take the call, and use
        the XML protocol from now on (the model evidently knows it better)."""
        from dataclasses import replace

        from kilo_tui.core.llm.client import ToolCall
        from kilo_tui.core.llm.xml_tools import XmlCallParser, new_call_id

        parser = XmlCallParser({t.name: t.parameters for t in tools})
        parser.feed(response.text)
        if parser.call is None or self._protocol_certain:
            return response
        self._use_xml("it wrote its tool call as XML text")
        name, args = parser.call
        call = ToolCall(id=new_call_id(), name=name, arguments=json.dumps(args))
        return replace(response, text=parser.prose, tool_calls=(call,))

    def _start_pending_title(self) -> None:
        if self._pending_title is not None:
            text, self._pending_title = self._pending_title, None
            self.runtime.start_title(self, text)

    def record_background_usage(self, model: str, purpose: str, usage: Usage) -> None:
        """Count a title or condensing request in the task's totals, reported apart.

        A background request of unknown price leaves the task's cost as it is and makes
        ``background_cost`` unknown: the main loop's cost stays readable.
        """
        cost = self.runtime.request_cost(model, usage)
        t = self.totals
        t.tokens_in += usage.prompt_tokens
        t.tokens_out += usage.completion_tokens
        if cost is not None:
            t.add_cost(cost)
        spent = t.background_cost
        t.background_cost = None if cost is None or spent is None else spent + cost
        self.publish(
            ev.BackgroundUsage(
                task_id=self.id,
                model=model,
                purpose=purpose,
                tokens_in=usage.prompt_tokens,
                tokens_out=usage.completion_tokens,
                cost=cost,
                background_cost=t.background_cost,
                task_tokens_in=t.tokens_in,
                task_tokens_out=t.tokens_out,
                task_cost=t.cost,
            )
        )

    def _record_usage(self, response: LLMResponse) -> None:
        usage = response.usage
        info = self.runtime.model_info(self.model)
        limits = self.runtime.model_limits(self.model)
        cost = self.runtime.request_cost(self.model, usage)
        free = bool(info and info.free)
        t = self.totals
        t.tokens_in += usage.prompt_tokens
        t.tokens_out += usage.completion_tokens
        t.add_cost(cost)
        t.context_tokens = usage.prompt_tokens + usage.completion_tokens
        self.publish(
            ev.UsageUpdated(
                task_id=self.id,
                model=self.model,
                tokens_in=usage.prompt_tokens,
                tokens_out=usage.completion_tokens,
                cache_read=usage.cache_read_tokens,
                cache_write=usage.cache_write_tokens,
                cost=cost,
                free=free,
                task_tokens_in=t.tokens_in,
                task_tokens_out=t.tokens_out,
                task_cost=t.cost,
                context_tokens=t.context_tokens,
                context_window=limits.context_window,
                reserved_output=limits.max_output,
                estimated=usage.estimated,
            )
        )

    # ---------------------------------------------------------- tool calls

    async def _run_tool_calls(self, calls: tuple[ToolCall, ...]) -> TurnOutcome | None:
        stop_reason = ""
        completion: str | None = None
        images: list[str] = []
        for number, call in enumerate(calls, start=1):
            last = number == len(calls)
            if stop_reason:
                await self._tool_message(call.id, f"Skipped: {stop_reason}", with_env=last)
                continue
            result = await self._run_tool_call(call)
            await self._tool_message(call.id, result.content, with_env=last)
            images += result.images
            if result.switch_mode:
                await self.runtime.set_mode(result.switch_mode, task=self, reason="switch_mode")
            if result.completion is not None:
                completion = result.completion
                stop_reason = "the task was completed by an earlier call"
            elif self.cancel.is_set():
                stop_reason = "the user cancelled the task"
            elif result.stop_turn:
                stop_reason = "the user stopped this turn"
        if images:
            self._append(_images_message(images))
        if completion is not None:
            self.publish(ev.TaskCompleted(task_id=self.id, result=completion))
            return TurnOutcome("completed", completion)
        if self.cancel.is_set():
            return self._cancelled()
        if stop_reason:
            self.publish(ev.TaskIdle(task_id=self.id))
            return TurnOutcome("idle", stop_reason)
        return None

    async def _tool_message(self, call_id: str, content: str, *, with_env: bool = False) -> None:
        """Append a tool result; the last of a reply's results carries the environment
        details (Kilo puts them in the message after the results, but many local chat
        templates reject a user message right after tool results)."""
        if with_env:
            env = await self.runtime.environment_details(self, include_listing=False)
            content = f"{content}\n\n{env}"
        self._append({"role": "tool", "tool_call_id": call_id, "content": content})

    def _close_dangling_tool_calls(self, reason: str) -> None:
        """Answer tool calls left without a result (the API rejects such histories)."""
        self.messages = self.runtime.load_history(self.id, reason)

    async def _run_tool_call(self, call: ToolCall) -> ToolResult:
        args, error = _parse_arguments(call.arguments)
        self.publish(
            ev.ToolCallStarted(
                task_id=self.id,
                call_id=call.id,
                name=call.name,
                arguments=args if error is None else {"_raw": call.arguments},
            )
        )
        if error is None:
            result = await self._guarded(call, args)
        else:
            result = ToolResult(error, is_error=True, summary="invalid arguments")
        self.publish(
            ev.ToolCallFinished(
                task_id=self.id,
                call_id=call.id,
                name=call.name,
                result=result.content,
                is_error=result.is_error,
                summary=result.summary,
            )
        )
        return result

    async def _guarded(self, call: ToolCall, args: dict[str, Any]) -> ToolResult:
        tool = self.runtime.tool(call.name)
        if tool is None:
            names = ", ".join(t.name for t in self.runtime.tools_for(self.mode))
            return ToolResult(
                f"Unknown tool {call.name!r}. Available tools: {names}",
                is_error=True,
                summary="unknown tool",
            )
        refusal = self.runtime.check_mode(self.mode, call.name, args.get("path"))
        if refusal:
            return ToolResult(refusal, is_error=True, summary="not allowed in this mode")
        missing = [p for p in tool.parameters.get("required", []) if p not in args]
        if missing:
            return ToolResult(
                f"Missing required parameter(s) for {call.name}: {', '.join(missing)}. "
                "Retry with all required parameters.",
                is_error=True,
                summary="missing parameters",
            )
        key = call.name + json.dumps(args, sort_keys=True)
        self._repeat_count = self._repeat_count + 1 if key == self._repeat_key else 1
        self._repeat_key = key
        limit = self.runtime.settings.agent.repetition_limit
        if limit and self._repeat_count > limit:  # 0: no limit
            count = self._repeat_count
            # The model is told now; the count starts over, so the same call may run
            # again later (as Kilo Code's repetition detector does).
            self._repeat_count, self._repeat_key = 0, ""
            self.publish(
                ev.ErrorRaised(
                    task_id=self.id,
                    message=f"The model repeated the same {call.name} call "
                    f"{count} times; it was not run again.",
                )
            )
            return ToolResult(
                f"Tool call repetition limit reached: you have made this exact {call.name} "
                f"call {count} times. It was not run again. Change your approach, "
                "or ask the user with ask_followup_question.",
                is_error=True,
                summary="repeated call refused",
            )
        try:
            result = await tool.run(args, self._context(call, tool))
        except ToolError as exc:
            result = ToolResult(str(exc), is_error=True, summary="error")
        except OSError as exc:  # a file the tool met was bad in a way nobody foresaw
            result = ToolResult(f"{call.name} failed: {exc}", is_error=True, summary="error")
        except (KeyError, TypeError, ValueError) as exc:
            result = ToolResult(
                f"Invalid arguments for {call.name}: {exc}",
                is_error=True,
                summary="invalid arguments",
            )
        except Exception as exc:
            # A bug or an unexpected OS error in the tool: the model gets an answer and
            # the task goes on, instead of the process dying with the call unanswered.
            log.info("tool %s crashed", call.name, exc_info=True)
            result = ToolResult(
                f"The {call.name} tool failed unexpectedly ({type(exc).__name__}: {exc}). "
                "Its effect is unknown; check the state before retrying.",
                is_error=True,
                summary="tool crashed",
            )
        if not result.is_error:
            self._repeat_count = 0
            self._repeat_key = ""
        return result

    def _context(self, call: ToolCall, tool: Tool) -> ToolContext:
        runtime = self.runtime

        async def approve(**kwargs: Any) -> Decision:
            return await runtime.approve(self, call.id, **kwargs)

        async def propose_edit(
            *, tool: str, path: str, old: str | None, new: str | None
        ) -> EditOutcome:
            return await runtime.propose_edit(self, call.id, tool=tool, path=path, old=old, new=new)

        async def checkpoint(trigger: str) -> None:
            await runtime.checkpoint(self, trigger)

        return ToolContext(
            workspace=self.workspace,
            task_id=self.id,
            call_id=call.id,
            bus=self.bus,
            approve=approve,
            propose_edit=propose_edit,
            checkpoint=checkpoint,
            paths=runtime.paths,
            state=runtime.state,
            cancel=self.cancel,
            settings=runtime.settings,
            mode=self.mode,
            extra=runtime.tool_extras(self),
        )


def _images_message(images: list[str]) -> dict[str, Any]:
    """The tools' images as a user message after the results: OpenAI-style APIs take
    images in user messages only (Kilo Code sends them the same way)."""
    parts: list[dict[str, Any]] = [{"type": "text", "text": "[Images from the tool results]"}]
    parts += [{"type": "image_url", "image_url": {"url": url}} for url in images]
    return {"role": "user", "content": parts}


class _Cancelled(Exception):
    pass


class _Failed(Exception):
    def __init__(self, message: str, kind: str = "") -> None:
        super().__init__(message)
        self.kind = kind


def _parse_arguments(raw: str) -> tuple[dict[str, Any], str | None]:
    text = raw.strip() or "{}"
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        return {}, (
            f"The tool call's arguments are not valid JSON ({exc.msg} at position {exc.pos}). "
            "Retry the call with a valid JSON object of arguments."
        )
    if not isinstance(value, dict):
        return {}, "The tool call's arguments must be a JSON object. Retry the call."
    return value, None


def new_task_id() -> str:
    return datetime.now().strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
