"""What a model can take and how it calls tools: the user's ``[models."<id>"]`` settings
first, then what the catalog or discovery knows, then conservative defaults.

The defaults matter for local servers, which rarely say how large their context is:
assuming a small window keeps the context bar meaningful and condensing early, and a
bounded ``max_tokens`` keeps a looping model from filling the window.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from kilo_tui.core.config import ModelSettings
    from kilo_tui.core.llm.catalog import ModelInfo

DEFAULT_CONTEXT_WINDOW = 16_384
DEFAULT_MAX_OUTPUT = 4_096

Protocol = Literal["native", "xml"]


@dataclass(frozen=True)
class ModelLimits:
    context_window: int
    max_output: int
    """Sent as ``max_tokens`` with every request."""
    known: bool
    """False when the context window is the default guess."""


def resolve_limits(entry: ModelSettings, info: ModelInfo | None) -> ModelLimits:
    window = entry.context_window or (info.context_window if info else None)
    known = window is not None
    window = window or DEFAULT_CONTEXT_WINDOW
    output = entry.max_output or (info.max_output if info else None)
    if output is None:
        # Unknown: leave at least half of the window for the prompt.
        output = min(DEFAULT_MAX_OUTPUT, window // 2)
    return ModelLimits(context_window=window, max_output=output, known=known)


def choose_protocol(entry: ModelSettings, info: ModelInfo | None) -> tuple[Protocol, bool]:
    """``(protocol, certain)``: the forced or known-good protocol, or native on trust.

    Native is certain when the user forced it or the catalog says the model calls
    tools; XML when forced or when Ollama says the model has no tool capability.
    Otherwise native is tried and the task falls back to XML if the server says no.
    """
    if entry.tool_protocol in ("native", "xml"):
        return entry.tool_protocol, True  # type: ignore[return-value]
    if info is not None and info.supports_tools:
        return "native", True
    if info is not None and info.source == "ollama" and info.context_window is not None:
        # /api/show answered (it also gives the context length) and listed no tools.
        return "xml", True
    return "native", False
