"""Counting tokens here, for servers that report none (many local servers do not).

The count uses the ``cl100k_base`` encoding that litellm ships in its package, so it
works offline and never downloads a tokenizer. It is an estimate for any model that
uses another vocabulary, and is shown as such.
"""

from __future__ import annotations

import functools
import json
from typing import Any

MESSAGE_OVERHEAD = 4
"""Tokens a chat template adds around each message (role markers, separators)."""


@functools.cache
def _encoding() -> Any:
    from kilo_tui.core.llm.litellm_loader import load_litellm

    load_litellm()  # points tiktoken at litellm's bundled encodings first
    from litellm.litellm_core_utils.default_encoding import encoding

    return encoding


def count_tokens(text: str) -> int:
    if not text:
        return 0
    return len(_encoding().encode(text, disallowed_special=()))


def count_message_tokens(messages: list[dict[str, Any]]) -> int:
    """Tokens of a chat prompt: every message's text, tool calls included."""
    total = 0
    for message in messages:
        content = message.get("content")
        if isinstance(content, list):  # content blocks
            content = "".join(str(part.get("text", "")) for part in content)
        total += MESSAGE_OVERHEAD + count_tokens(str(content or ""))
        if calls := message.get("tool_calls"):
            total += count_tokens(json.dumps(calls))
    return total
