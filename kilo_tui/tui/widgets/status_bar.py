"""The one-line status bar: mode, model, tokens, context fill, cost, MCP health, sandbox."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

if TYPE_CHECKING:
    from kilo_tui.core.events import UsageUpdated


LOCAL_PREFIXES = ("ollama/", "ollama_chat/", "lm_studio/", "llamafile/", "hosted_vllm/")


def model_badge(model: str | None, *, free: bool = False) -> str:
    """``"local"``, ``"free"`` or ``""`` for a litellm model string."""
    if not model:
        return ""
    if model.startswith(LOCAL_PREFIXES):
        return "local"
    if free or model.endswith(":free"):
        return "free"
    return ""


def context_bar(used: int, reserved: int, window: int, width: int = 12) -> Text:
    """``███▒▒░░░░░░░ 27%``: used, reserved for the reply, free."""
    used_cells = min(width, round(width * used / window))
    reserved_cells = min(width - used_cells, round(width * reserved / window))
    free_cells = width - used_cells - reserved_cells
    bar = Text()
    bar.append("█" * used_cells, style="bold")
    bar.append("▒" * reserved_cells, style="dim")
    bar.append("░" * free_cells, style="dim")
    bar.append(f" {100 * used // window}%")
    return bar


class StatusBar(Widget):
    """Shows the state of the task; every field is a reactive set by the screen."""

    DEFAULT_CSS = """
    StatusBar {
        height: 1;
        padding: 0 1;
        background: $panel;
        color: $text-muted;
    }
    """

    mode: reactive[str] = reactive("")
    model: reactive[str] = reactive("")
    activity: reactive[str] = reactive("")
    """What is happening now: ``loading model client…``, ``thinking…`` …"""
    badge: reactive[str] = reactive("")
    """``free`` / ``local`` from the model catalog; guessed from the model name if empty."""
    mcp_errors: reactive[int] = reactive(0)
    checkpoint_failure: reactive[str] = reactive("")
    """Why the last checkpoint failed; cleared by the next one that succeeds."""
    sandbox: reactive[str] = reactive("")
    """``no sandbox`` when commands run unconfined (mode off, or no mechanism here)."""
    usage: reactive[UsageUpdated | None] = reactive(None)

    def render(self) -> Text:
        parts: list[Text] = [Text(self.mode or "—", style="bold")]
        usage = self.usage
        free = bool(usage and usage.free)
        model = Text(self.model or "no model")
        if badge := self.badge or model_badge(self.model, free=free):
            model.append(f" [{badge}]", style="bold green")
        parts.append(model)
        if usage is not None:
            parts.append(self._usage(usage))
        if self.mcp_errors:
            parts.append(Text(f"MCP ✗{self.mcp_errors}", style="bold red"))
        if self.checkpoint_failure:
            parts.append(Text("checkpoint ✗", style="bold red"))
        if self.sandbox:
            parts.append(Text(self.sandbox, style="bold yellow"))
        if self.activity:
            parts.append(Text(self.activity, style="italic"))
        return Text(" · ").join(parts)

    @staticmethod
    def _usage(usage: UsageUpdated) -> Text:
        # Imported here: the price table module is not needed for the first frame.
        from kilo_tui.core.llm.pricing import format_cost, format_count

        text = Text(f"↑{format_count(usage.task_tokens_in)} ↓{format_count(usage.task_tokens_out)}")
        if usage.context_window:
            text.append(" ")
            text.append_text(
                context_bar(usage.context_tokens, usage.reserved_output, usage.context_window)
            )
        text.append(" · ")
        text.append(format_cost(usage.task_cost, free=usage.free))
        return text
