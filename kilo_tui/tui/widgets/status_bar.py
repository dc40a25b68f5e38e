"""The one-line status bar: mode, model, tokens, context fill, cost, MCP health, sandbox."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

if TYPE_CHECKING:
    from kilo_tui.core.events import IndexProgress, UsageUpdated


MIN_MODEL_WIDTH = 16
"""The model name is shortened down to this many cells before anything else is cut."""


def model_badge(model: str | None) -> str:
    """``"free"`` or ``""`` for a litellm model string. "local" is never guessed from
    the name: the catalog says so once the model's server has answered."""
    if model and model.endswith(":free"):
        return "free"
    return ""


def index_label(event: IndexProgress) -> str:
    """The status bar's word on the codebase index: only while it works or when it
    failed (``kilo-tui index status`` says why); nothing once it is ready."""
    if event.state == "indexing" and event.total:
        return f"indexing {100 * event.done // event.total}%"
    return "index ✗" if event.state == "error" else ""


def short_model_name(model: str, width: int) -> str:
    """``model`` in at most ``width`` cells: a model file path (``openai//models/
    qwen2.5-coder-7b-q4_k_m.gguf``) becomes its file name, then the middle goes."""
    if ".gguf" in model.lower() or model.count("/") > 2:
        model = model.rstrip("/").rsplit("/", 1)[-1]
        model = model[:-5] if model.lower().endswith(".gguf") else model
    return middle_ellipsis(model, width)


def middle_ellipsis(text: str, width: int) -> str:
    """``text`` in at most ``width`` cells, its middle replaced by ``…``: both ends of
    a model id say the most (the provider, the size or quantisation)."""
    if len(text) <= width:
        return text
    keep = max(width - 1, 2)
    head = (keep + 1) // 2
    return text[:head] + "…" + text[len(text) - (keep - head) :]


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
    """``free`` / ``local`` from the model catalog; ``free`` guessed from the name if empty."""
    mcp_errors: reactive[int] = reactive(0)
    checkpoint_failure: reactive[str] = reactive("")
    """Why the last checkpoint failed; cleared by the next one that succeeds."""
    sandbox: reactive[str] = reactive("")
    """``no sandbox`` when commands run unconfined (mode off, or no mechanism here)."""
    usage: reactive[UsageUpdated | None] = reactive(None)
    index: reactive[str] = reactive("")
    """The codebase index while it works or when it failed (``indexing 40%``)."""

    def render(self) -> Text:
        """Everything fits one line: when it would not, the cache note goes, then the
        context bar shrinks to its percentage, then the model name is shortened; the
        tokens and the cost always stay."""
        width = self.content_size.width
        line = Text()
        for compact in range(3):
            line = self._line(compact, width)
            if line.cell_len <= width:
                break
        return line

    def _line(self, compact: int, width: int) -> Text:
        usage = self.usage
        # Not the usage's `free`: that is the last request's model, maybe not this one.
        badge = self.badge or model_badge(self.model)
        parts: list[Text] = [Text(self.mode or "—", style="bold"), Text("")]
        if usage is not None:
            parts.append(self._usage(usage, compact))
        if self.mcp_errors:
            parts.append(Text(f"MCP ✗{self.mcp_errors}", style="bold red"))
        if self.checkpoint_failure:
            parts.append(Text("checkpoint ✗", style="bold red"))
        if self.sandbox:
            parts.append(Text(self.sandbox, style="bold yellow"))
        if self.index:
            parts.append(Text(self.index, style="dim"))
        if self.activity:
            parts.append(Text(self.activity, style="italic"))
        others = Text(" · ").join(parts).cell_len + (len(badge) + 3 if badge else 0)
        room = max(width - others, MIN_MODEL_WIDTH)
        model = Text(short_model_name(self.model, room) if self.model else "no model")
        if badge:
            model.append(f" [{badge}]", style="bold green")
        parts[1] = model
        return Text(" · ").join(parts)

    @staticmethod
    def _usage(usage: UsageUpdated, compact: int = 0) -> Text:
        # Imported here: the price table module is not needed for the first frame.
        from kilo_tui.core.llm.pricing import format_cache, format_cost, format_count

        # "~": the server sent no counts, these were estimated here.
        approx = "~" if usage.estimated else ""
        text = Text(
            f"↑{approx}{format_count(usage.task_tokens_in)} "
            f"↓{approx}{format_count(usage.task_tokens_out)}"
        )
        cache = format_cache(usage.cache_read, usage.cache_write)
        if cache and compact < 1:
            text.append(f" {cache}", style="dim")  # of the last request
        if usage.context_window:
            bar = context_bar(
                usage.context_tokens,
                usage.reserved_output,
                usage.context_window,
                width=12 if compact < 2 else 0,
            )
            text.append(" ")
            text.append_text(bar if compact < 2 else Text(bar.plain.strip()))
        text.append(" · ")
        text.append(format_cost(usage.task_cost, free=usage.free))
        return text
