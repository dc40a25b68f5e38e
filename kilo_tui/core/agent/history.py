"""Keeping the message history one that every provider accepts.

Providers reject histories that break their message-order rules, and one such message,
stored once, made every later request of the session fail:

- an assistant turn that says nothing (``content: null`` and no tool calls, or empty
  text; local chat templates choke on it too). The task loop never stores one.
- an assistant tool call without a ``tool`` result before the next message: left by a
  process killed (or crashed) while the tool ran. It gets a result saying so.
- a ``tool`` result that answers no pending call.

:func:`plan_repair` finds what to mend; the runtime applies it through the session
store whenever it loads a history, so a resumed or interrupted task is always valid.
"""

from __future__ import annotations

from typing import Any

INTERRUPTED = (
    "Not run to completion: kilo-tui stopped ({reason}) before this tool call returned, "
    "so its result is unknown. Check the current state (re-read files, re-run a command) "
    "before relying on it."
)
"""The result given to a tool call that was left without one."""


def is_empty_assistant(message: dict[str, Any]) -> bool:
    """An assistant message with no text and no tool calls."""
    if message.get("role") != "assistant" or message.get("tool_calls"):
        return False
    content = message.get("content")
    if isinstance(content, list):
        return not any(str(part.get("text", "")).strip() for part in content)
    return not str(content or "").strip()


def plan_repair(messages: list[dict[str, Any]]) -> tuple[dict[int, list[str]], list[int]]:
    """What to mend in ``messages``: ``(answers, dropped)``.

    ``answers[i]`` are the call ids to answer right after message ``i`` (the last message
    of an assistant's tool-call block); ``dropped`` the indexes of messages to set
    aside (results of no pending call, empty assistant turns).
    """
    answers: dict[int, list[str]] = {}
    dropped: list[int] = []
    pending: list[str] = []
    block_end = -1
    for index, message in enumerate(messages):
        if message.get("role") == "tool":
            if message.get("tool_call_id") in pending:
                pending.remove(message["tool_call_id"])
                block_end = index
            else:
                dropped.append(index)
            continue
        if pending:
            answers[block_end], pending = pending, []
        if is_empty_assistant(message):
            dropped.append(index)
        elif message.get("role") == "assistant":
            calls = message.get("tool_calls") or []
            pending = [c["id"] for c in calls if isinstance(c, dict) and c.get("id")]
            block_end = index
    if pending:
        answers[block_end] = pending
    return answers, dropped
