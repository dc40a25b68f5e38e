"""Background helpers on the ``small_model``: session titles and context condensing.

Both degrade step by step and never block or fail the main task: small model → main
model → a plain fallback (the truncated first message; a sliding-window truncation with
a notice).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from kilo_tui.core import events as ev

if TYPE_CHECKING:
    from kilo_tui.core.agent.runtime import AgentRuntime
    from kilo_tui.core.agent.task import Task

log = logging.getLogger(__name__)

TITLE_MAX = 50
HELPER_TIMEOUT = 30.0
KEEP_TAIL = 4
"""Messages kept verbatim at the end of a condensed conversation."""

TITLE_PROMPT = """\
Write a title for the conversation that starts with the message below: at most 50
characters, in the language of the message, no quotes, no trailing punctuation. Reply
with the title only.

Message:
{message}"""

SUMMARY_PROMPT = """\
Summarise the conversation below so that work can continue from the summary alone.
Use these sections:
1. Previous conversation: what the user asked for, in their words where it matters.
2. Current work: what was being done just before this summary.
3. Key technical concepts, decisions and constraints.
4. Files and code: each file read or changed, with what matters about it.
5. Problems solved and open problems.
6. Pending tasks and the immediate next step.
Be precise and complete; leave out pleasantries.

Conversation:
{conversation}"""


async def _ask(
    runtime: AgentRuntime, task: Task, model: str, prompt: str, max_tokens: int, purpose: str
) -> str:
    """One background request; its usage is counted in ``task``'s totals."""
    from kilo_tui.core.llm.client import stream_completion

    route = runtime.route(model)
    learning = runtime.learn_model(model)  # priced, like the task's, by what its server says
    response = await asyncio.wait_for(
        stream_completion(
            model=route.model,
            messages=[{"role": "user", "content": prompt}],
            api_base=route.api_base,
            api_key=route.api_key,
            max_retries=1,
            base_delay=0.5,
            request_timeout=HELPER_TIMEOUT,
            extra_params={**route.params(), "max_tokens": max_tokens},
        ),
        HELPER_TIMEOUT * 2,
    )
    await asyncio.shield(learning)
    task.record_background_usage(model, purpose, response.usage)
    return response.text.strip()


def _candidates(runtime: AgentRuntime, task: Task) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    small = runtime.small_model()
    if small:
        out.append((small, "small_model"))
    if task.model not in {m for m, _ in out}:
        out.append((task.model, "main_model"))
    return out


def clean_title(text: str) -> str:
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    line = line.strip("*# ").removeprefix("Title:").strip()
    line = line.strip("\"'`").rstrip(".").strip("\"'` ")
    return truncate(line, TITLE_MAX)


def truncate(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


async def generate_title(runtime: AgentRuntime, task: Task, first_message: str) -> tuple[str, str]:
    """A short title: (title, source) with source small_model, main_model or truncated."""
    prompt = TITLE_PROMPT.format(message=first_message[:4000])
    for model, source in _candidates(runtime, task):
        try:
            title = clean_title(await _ask(runtime, task, model, prompt, 40, "title"))
        except Exception as exc:  # any failure falls through to the next candidate
            log.info("title generation on %s failed: %s", model, exc)
            continue
        if title:
            return title, source
    return truncate(first_message, TITLE_MAX) or "Untitled task", "truncated"


# ----------------------------------------------------------------- condense


def should_condense(runtime: AgentRuntime, task: Task) -> bool:
    """Past the threshold share of the window, or too close to it to leave room for a
    reply. An unknown window is taken as the cautious default (see core/llm/limits)."""
    limits = runtime.model_limits(task.model)
    window, reserved = limits.context_window, limits.max_output
    used = task.totals.context_tokens
    threshold = runtime.settings.agent.condense_threshold
    return used >= threshold * window or used > window * 0.9 - reserved


def _tail_start(messages: list[dict[str, Any]], keep: int) -> int:
    """Index where the kept tail starts, never splitting a tool call from its results."""
    start = max(1, len(messages) - keep)
    while start > 1 and messages[start].get("role") == "tool":
        start -= 1
    return start


def _render(messages: list[dict[str, Any]]) -> str:
    parts = []
    for m in messages:
        content = m.get("content") or ""
        if isinstance(content, list):  # text and images (a screenshot): the text only
            content = " ".join(str(part.get("text", "[image]")) for part in content)
        if m.get("tool_calls"):
            calls = ", ".join(
                f"{c['function']['name']}({c['function']['arguments'][:500]})"
                for c in m["tool_calls"]
            )
            content = f"{content}\n[tool calls: {calls}]".strip()
        if m.get("role") == "tool":
            content = content[:2000]
        parts.append(f"## {m.get('role', '?')}\n{content}")
    return "\n\n".join(parts)


async def condense_context(runtime: AgentRuntime, task: Task) -> None:
    """Replace older turns by a summary, keeping the first message and the latest turns."""
    messages = task.messages
    start = _tail_start(messages, KEEP_TAIL)
    middle = messages[1:start]
    if len(middle) < 2:
        runtime.bus.publish(
            ev.Notice(task_id=task.id, message="Not enough conversation to condense yet.")
        )
        return
    before = len(messages)
    prompt = SUMMARY_PROMPT.format(conversation=_render(middle)[:200_000])
    summary = ""
    for model, _source in _candidates(runtime, task):
        try:
            summary = await _ask(runtime, task, model, prompt, 4000, "condense")
        except Exception as exc:
            log.info("condensing on %s failed: %s", model, exc)
            continue
        if summary:
            break
    if summary:
        note = {"role": "user", "content": "[Summary of the earlier conversation]\n\n" + summary}
        _replace(runtime, task, start, note)
        runtime.bus.publish(
            ev.ContextCondensed(
                task_id=task.id,
                messages_before=before,
                messages_after=len(task.messages),
                method="summary",
                summary=summary,
            )
        )
        return
    _sliding_window(runtime, task, before)


def _sliding_window(runtime: AgentRuntime, task: Task, before: int) -> None:
    messages = task.messages
    cut = 1 + max(1, (len(messages) - 1) // 2)
    while cut < len(messages) - 1 and messages[cut].get("role") == "tool":
        cut += 1
    hidden = cut - 1
    marker = {
        "role": "user",
        "content": f"[Sliding window truncation: {hidden} earlier "
        "messages were removed to fit the context window.]",
    }
    _replace(runtime, task, cut, marker)
    runtime.bus.publish(
        ev.ContextCondensed(
            task_id=task.id,
            messages_before=before,
            messages_after=len(task.messages),
            method="sliding_window",
        )
    )
    runtime.bus.publish(
        ev.Notice(
            task_id=task.id,
            level="warning",
            message=f"Could not summarise the conversation; the {hidden} oldest messages after "
            "the first were dropped from the context instead (they stay in the session).",
        )
    )


def _replace(runtime: AgentRuntime, task: Task, tail_start: int, note: dict[str, Any]) -> None:
    tail = task.messages[tail_start:]
    runtime.store.replace_active_messages(task.id, keep_head=1, summary=note, keep_tail=len(tail))
    task.messages = [task.messages[0], note, *tail]
