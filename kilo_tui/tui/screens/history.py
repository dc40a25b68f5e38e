"""The task history screen: this workspace's past tasks, to resume, export or delete.

One ``DataTable`` holds the rows (title, last activity, model, tokens, cost), newest
first, in columns fitted to the width there is (:func:`fit_columns`). Typing in the
search box filters them: tasks whose title matches (fuzzy) first, best first, then
tasks in whose conversation the words were said (newest first), each with the words
around the match under its title. The screen dismisses with the id of the task to
resume, or ``None``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from rapidfuzz import fuzz, process, utils
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Footer, Input, Label

from kilo_tui.core.chat_search import query_words
from kilo_tui.core.config import LOCAL_PROVIDERS, model_provider
from kilo_tui.core.llm.pricing import format_cost, format_count

if TYPE_CHECKING:
    from kilo_tui.core.agent.runtime import AgentRuntime
    from kilo_tui.core.sessions import TaskRecord

MATCH_CUTOFF = 70
"""Lowest rapidfuzz WRatio (0–100) for a title to count as matching the search."""
UNTITLED = "Untitled task"
DATE_FORMAT = "%Y-%m-%d %H:%M"
SHORT_DATE_FORMAT = "%m-%d %H:%M"
TOKENS_WIDTH = len("Tokens in/out")
MIN_TITLE_WIDTH = 24
"""Cells the title keeps before the other columns shorten or give way."""


def task_row(record: TaskRecord) -> tuple[str, str, str, str, str]:
    """The cells shown for one task: title, last activity, model, tokens in/out, cost."""
    when = datetime.fromtimestamp(record.updated_at).strftime(DATE_FORMAT)
    return (record.title or UNTITLED, when, record.model, _tokens(record), _cost(record))


def _tokens(record: TaskRecord) -> str:
    return " / ".join(
        format_count(count) if count else "0" for count in (record.tokens_in, record.tokens_out)
    )


def _cost(record: TaskRecord) -> str:
    free = record.model.endswith(":free") or model_provider(record.model) in LOCAL_PROVIDERS
    return format_cost(record.cost, free)


@dataclasses.dataclass(frozen=True)
class Columns:
    """How the table shows its columns in the width it has."""

    title: int
    date_format: str
    model: int
    short_model: bool
    """Model ids without their provider (``claude-sonnet-4.5``, not ``openrouter/…``)."""
    tokens: bool
    cost: int


def fit_columns(width: int, records: list[TaskRecord]) -> Columns:
    """The first layout that leaves the title :data:`MIN_TITLE_WIDTH` cells of ``width``:
    full dates and model ids (120 columns); short ones; short ones without the tokens
    column, whose cost column says what the task spent (80 columns)."""
    cost = max([len("Cost"), *(len(_cost(record)) for record in records)])
    full = max([len("Model"), *(len(record.model) for record in records)])
    short = max([len("Model"), *(len(_short_model(record.model)) for record in records)])
    candidates = (
        Columns(0, DATE_FORMAT, min(full, 28), False, True, cost),
        Columns(0, SHORT_DATE_FORMAT, min(short, 20), True, True, cost),
        Columns(0, SHORT_DATE_FORMAT, min(short, 16), True, False, cost),
    )
    for columns in candidates:
        dates = max(len("Last active"), len(datetime(2000, 1, 1).strftime(columns.date_format)))
        shown = dates + columns.model + cost + (TOKENS_WIDTH if columns.tokens else 0)
        title = width - shown - 2 * (4 + columns.tokens)  # a cell of padding a side
        if title >= MIN_TITLE_WIDTH:
            break
    return dataclasses.replace(columns, title=max(title, len("Title")))


def _short_model(model: str) -> str:
    return model.rsplit("/", 1)[-1]


def row_cells(
    record: TaskRecord, columns: Columns, said: str = "", words: list[str] | None = None
) -> list[Text]:
    """The cells of ``record``'s row; ``said``, the words around a match in its
    conversation, goes under the title with the ``words`` searched for in bold. Text,
    never markup: titles come from the model."""
    title = Text(record.title or UNTITLED, no_wrap=True, overflow="ellipsis", end="")
    if said:
        snippet = Text(said, style="italic")
        if words:
            alternatives = "|".join(re.escape(word) for word in words)
            snippet.highlight_regex(rf"(?i)(?<!\w)(?:{alternatives})\w*", "bold")
        title.append("\n").append_text(snippet)
    when = datetime.fromtimestamp(record.updated_at).strftime(columns.date_format)
    model = _short_model(record.model) if columns.short_model else record.model
    cells = [title, Text(when), Text(model, no_wrap=True, overflow="ellipsis")]
    if columns.tokens:
        cells.append(Text(_tokens(record)))
    return [*cells, Text(_cost(record))]


def search_tasks(
    tasks: list[TaskRecord], query: str, said: dict[str, str] | None = None
) -> list[tuple[TaskRecord, str]]:
    """``tasks`` matching ``query``, each with the words around where it was said (empty
    for a title match): title matches first (fuzzy, best first), then the tasks in
    ``said`` (id → snippet, from :meth:`SessionStore.search_text`) in their order in
    ``tasks``. All of them if ``query`` is empty."""
    if not query.strip():
        return [(task, "") for task in tasks]
    matches = process.extract(
        query,
        [task.title or UNTITLED for task in tasks],
        scorer=fuzz.WRatio,
        processor=utils.default_process,
        score_cutoff=MATCH_CUTOFF,
        limit=None,
    )
    by_title = [tasks[index] for _title, _score, index in matches]
    titled = {task.id for task in by_title}
    said = said or {}
    by_text = [(task, said[task.id]) for task in tasks if task.id in said and task.id not in titled]
    return [(task, "") for task in by_title] + by_text


class ConfirmDelete(ModalScreen[bool]):
    """Ask before deleting a task: ``y`` deletes, ``n`` / ``escape`` keeps it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Delete", id="history-confirm-delete"),
        Binding("n,escape", "answer(False)", "Keep", id="history-keep"),
    ]

    def __init__(self, title: str) -> None:
        super().__init__()
        self.task_title = title

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-dialog"):
            yield Label(f"Delete “{self.task_title}”?", id="confirm-question", markup=False)
            yield Label("Its conversation and events are removed for good.", id="confirm-note")
            with Horizontal(id="confirm-buttons"):
                yield Button("Delete (y)", variant="error", id="confirm-yes")
                yield Button("Keep (n)", id="confirm-no")

    def on_mount(self) -> None:
        self.query_one("#confirm-no", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "confirm-yes")

    def action_answer(self, delete: bool) -> None:
        """Close with the user's answer."""
        self.dismiss(delete)


class ExportPath(ModalScreen[Path | None]):
    """Ask where to export a task: ``enter`` writes there, ``escape`` cancels.

    The default is kilo-tui's data directory, never the project: an export is not the
    user's code, and an untracked file in the project root would end up in commits.
    An existing file is never overwritten."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="history-export-cancel"),
    ]

    def __init__(self, default: Path, workspace: Path) -> None:
        super().__init__()
        self.default = default
        self.workspace = workspace

    def compose(self) -> ComposeResult:
        with Vertical(id="export-dialog"):
            yield Label("Export the task as Markdown to:", id="export-question")
            yield Input(str(self.default), id="export-path")
            yield Label("", id="export-error", markup=False)

    @on(Input.Submitted, "#export-path")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip()
        if not text:
            return
        # A relative path is the user's, typed in the project: relative to it.
        target = self.workspace / Path(text).expanduser()
        if target.exists():
            self.query_one("#export-error", Label).update(
                f"{target} already exists; choose another name."
            )
            return
        self.dismiss(target)

    def action_cancel(self) -> None:
        """Close without exporting."""
        self.dismiss(None)


class HistoryScreen(ModalScreen[str | None]):
    """Past tasks of the runtime's workspace: ``enter`` resume, ``e`` export, ``d`` delete.

    Args:
        runtime: the agent runtime; its session store and workspace are all that is used.
    """

    CSS_PATH = "history.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", id="history-close"),
        Binding("enter", "resume", "Resume", id="history-resume", priority=True),
        # `e` and `d` reach these only when the table has focus: the search box types them.
        Binding("e", "export", "Export", id="history-export"),
        Binding("d,delete", "delete", "Delete", id="history-delete"),
        Binding("down", "move", show=False, id="history-down"),
        Binding("up", "move", show=False, id="history-up"),
    ]

    def __init__(self, runtime: AgentRuntime) -> None:
        super().__init__()
        self.runtime = runtime
        self._tasks: list[TaskRecord] = []
        self._shown: list[TaskRecord] = []
        self._columns: Columns | None = None
        self._said: tuple[str, dict[str, str]] = ("", {})
        """The last text search: its query and what it found."""

    def compose(self) -> ComposeResult:
        with Vertical(id="history-dialog"):
            title = f"Task history · {self.runtime.workspace}"
            yield Label(title, id="history-title", markup=False)
            yield Input(
                placeholder="Search titles and messages · ↓ to the list (e export, d delete)",
                id="history-search",
            )
            yield DataTable(id="history-table", cursor_type="row", zebra_stripes=True)
            yield Label("", id="history-status", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.reload()
        self.query_one(Input).focus()

    def on_resize(self) -> None:
        # The table has its new width only once laid out.
        self.call_after_refresh(self._refit)

    def _refit(self) -> None:
        """Show the rows again if the table's new width calls for other columns."""
        if self._fit() != self._columns:
            self._show(self.query_one(Input).value)

    def _fit(self) -> Columns:
        table = self.query_one(DataTable)
        return fit_columns(table.size.width - table.styles.scrollbar_size_vertical, self._tasks)

    @property
    def selected(self) -> TaskRecord | None:
        """The task under the table's cursor, if any is shown."""
        row = self.query_one(DataTable).cursor_row
        return self._shown[row] if 0 <= row < len(self._shown) else None

    def reload(self) -> None:
        """Read the workspace's tasks from the store again and show them."""
        self._tasks = self.runtime.store.list_tasks(workspace=str(self.runtime.workspace))
        self._said = ("", {})
        self._show(self.query_one(Input).value)

    def _search_text(self, query: str) -> dict[str, str]:
        """Tasks in whose conversation ``query`` was said (id → snippet), once per query."""
        if self._said[0] != query:
            workspace = str(self.runtime.workspace)
            self._said = (query, self.runtime.store.search_text(query, workspace=workspace))
        return self._said[1]

    def _show(self, query: str) -> None:
        table = self.query_one(DataTable)
        found = search_tasks(self._tasks, query, self._search_text(query) if query.strip() else {})
        self._shown = [record for record, _said in found]
        columns = self._fit()
        if columns != self._columns:
            self._columns = columns
            table.clear(columns=True)
            table.add_column("Title", width=columns.title, key="title")
            table.add_column("Last active", key="when")
            table.add_column("Model", width=columns.model, key="model")
            if columns.tokens:
                table.add_column("Tokens in/out", key="tokens")
            table.add_column("Cost", width=columns.cost, key="cost")
        else:
            table.clear()
        words = query_words(query)
        for record, said in found:
            cells = row_cells(record, columns, said, words)
            table.add_row(*cells, key=record.id, height=2 if said else 1)
        if not self._tasks:
            status = "No tasks in this workspace yet."
        elif not self._shown:
            status = f"No task matches “{query}” in its title or messages."
        else:
            status = f"{len(self._shown)} of {len(self._tasks)} tasks"
        self.query_one("#history-status", Label).update(status)

    @on(Input.Changed, "#history-search")
    def _search(self, event: Input.Changed) -> None:
        self._show(event.value)

    @on(DataTable.RowSelected)
    def _row_chosen(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_resume()

    def action_move(self) -> None:
        """From the search box: give the table the focus on the newest (best) match,
        where ``e`` and ``d`` act instead of typing; the table's own keys move on."""
        table = self.query_one(DataTable)
        table.move_cursor(row=0)
        table.focus()

    def action_resume(self) -> None:
        """Close and resume the selected task."""
        if (record := self.selected) is not None:
            self.dismiss(record.id)

    def action_close(self) -> None:
        """Close without resuming anything."""
        self.dismiss(None)

    @work(exclusive=True, group="history-export", exit_on_error=False)
    async def action_export(self) -> None:
        """Write the selected task as Markdown where the user chooses (see
        :class:`ExportPath`)."""
        from kilo_tui.core import paths

        record = self.selected
        if record is None:
            return
        default = paths.data_dir() / "exports" / f"kilo-task-{record.id}.md"
        dialog = ExportPath(default, Path(self.runtime.workspace))
        target = await self.app.push_screen_wait(dialog)
        if target is None:
            return
        try:
            text = self.runtime.store.export_markdown(record.id)
            await asyncio.to_thread(_write_new, target, text)
        except (KeyError, OSError) as error:
            self.notify(f"Export failed: {error}", severity="error", markup=False)
            return
        self.notify(f"Exported to {target}", title="Task exported", markup=False)

    @work(exclusive=True, group="history-delete", exit_on_error=False)
    async def action_delete(self) -> None:
        """Delete the selected task after the user confirms."""
        record = self.selected
        if record is None:
            return
        if not await self.app.push_screen_wait(ConfirmDelete(record.title or UNTITLED)):
            return
        self.runtime.store.delete_task(record.id)
        self.reload()
        self.notify(f"Deleted “{record.title or UNTITLED}”.", markup=False)


def _write_new(target: Path, text: str) -> None:
    """Write ``text`` to ``target``, a file that must not exist yet (``x`` mode: no
    race with a file created meanwhile), creating its folders."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("x", encoding="utf-8") as file:
        file.write(text)
