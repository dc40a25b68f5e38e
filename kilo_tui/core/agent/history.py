"""Keeping the message history one that every provider accepts.

Providers and local chat templates reject histories with an assistant turn that says
nothing (``content: null`` and no tool calls, or empty text): one such message, stored
once, made every later request of the session fail. The task loop never stores one;
:func:`repair` cleans sessions written before that, when they are resumed.
"""

from __future__ import annotations

from typing import Any


def is_empty_assistant(message: dict[str, Any]) -> bool:
    """An assistant message with no text and no tool calls."""
    if message.get("role") != "assistant" or message.get("tool_calls"):
        return False
    content = message.get("content")
    if isinstance(content, list):
        return not any(str(part.get("text", "")).strip() for part in content)
    return not str(content or "").strip()


def repair(messages: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[int]]:
    """The history without messages a provider would reject, and the indices dropped."""
    dropped = [i for i, message in enumerate(messages) if is_empty_assistant(message)]
    kept = [m for i, m in enumerate(messages) if i not in set(dropped)]
    return kept, dropped
