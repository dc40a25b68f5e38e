"""The task history screen: this workspace's past tasks, to resume, export or delete.

One ``DataTable`` holds the rows (title, last activity, model, tokens, cost), newest
first; typing in the search box filters them by fuzzy title match, best match first.
The screen dismisses with the id of the task to resume, or ``None``.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from rapidfuzz import fuzz, process, utils
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Footer, Input, Label

from kilo_tui.core.config import LOCAL_PROVIDERS, model_provider
from kilo_tui.core.llm.pricing import format_cost, format_count

if TYPE_CHECKING:
    from kilo_tui.core.agent.runtime import AgentRuntime
    from kilo_tui.core.sessions import TaskRecord

MATCH_CUTOFF = 70
"""Lowest rapidfuzz WRatio (0–100) for a title to count as matching the search."""
UNTITLED = "Untitled task"
TITLE_WIDTH = 38
"""Cells of the title column: what is left of a 120-column terminal by the others."""


def task_row(record: TaskRecord) -> tuple[str, str, str, str, str]:
    """The cells shown for one task: title, last activity, model, tokens in/out, cost."""
    when = datetime.fromtimestamp(record.updated_at).strftime("%Y-%m-%d %H:%M")
    tokens = f"{_count(record.tokens_in)} / {_count(record.tokens_out)}"
    return (record.title or UNTITLED, when, record.model, tokens, _cost(record))


def _count(tokens: int) -> str:
    return format_count(tokens) if tokens else "0"


def _cost(record: TaskRecord) -> str:
    free = record.model.endswith(":free") or model_provider(record.model) in LOCAL_PROVIDERS
    return format_cost(record.cost, free)


def search_tasks(tasks: list[TaskRecord], query: str) -> list[TaskRecord]:
    """``tasks`` whose title matches ``query`` (fuzzy), best first; all of them if empty."""
    if not query.strip():
        return tasks
    matches = process.extract(
        query,
        [task.title or UNTITLED for task in tasks],
        scorer=fuzz.WRatio,
        processor=utils.default_process,
        score_cutoff=MATCH_CUTOFF,
        limit=None,
    )
    return [tasks[index] for _title, _score, index in matches]


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
            yield Label(f"Delete “{self.task_title}”?", id="confirm-question")
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
            yield Label("", id="export-error")

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
        Binding("down", "move(1)", show=False, id="history-down"),
        Binding("up", "move(-1)", show=False, id="history-up"),
    ]

    def __init__(self, runtime: AgentRuntime) -> None:
        super().__init__()
        self.runtime = runtime
        self._tasks: list[TaskRecord] = []
        self._shown: list[TaskRecord] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="history-dialog"):
            yield Label(f"Task history · {self.runtime.workspace}", id="history-title")
            yield Input(
                placeholder="Search titles (fuzzy) · ↓ to the list, where e exports and d deletes",
                id="history-search",
            )
            yield DataTable(id="history-table", cursor_type="row", zebra_stripes=True)
            yield Label("", id="history-status")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_column("Title", width=TITLE_WIDTH, key="title")
        table.add_columns("Last active", "Model", "Tokens in/out", "Cost")
        self.reload()
        self.query_one(Input).focus()

    @property
    def selected(self) -> TaskRecord | None:
        """The task under the table's cursor, if any is shown."""
        row = self.query_one(DataTable).cursor_row
        return self._shown[row] if 0 <= row < len(self._shown) else None

    def reload(self) -> None:
        """Read the workspace's tasks from the store again and show them."""
        self._tasks = self.runtime.store.list_tasks(workspace=str(self.runtime.workspace))
        self._show(self.query_one(Input).value)

    def _show(self, query: str) -> None:
        self._shown = search_tasks(self._tasks, query)
        table = self.query_one(DataTable)
        table.clear()
        for record in self._shown:
            table.add_row(*task_row(record), key=record.id)
        if not self._tasks:
            status = "No tasks in this workspace yet."
        elif not self._shown:
            status = f"No title matches “{query}”."
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

    def action_move(self, step: int) -> None:
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
            self.notify(f"Export failed: {error}", severity="error")
            return
        self.notify(f"Exported to {target}", title="Task exported")

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
        self.notify(f"Deleted “{record.title or UNTITLED}”.")


def _write_new(target: Path, text: str) -> None:
    """Write ``text`` to ``target``, a file that must not exist yet (``x`` mode: no
    race with a file created meanwhile), creating its folders."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("x", encoding="utf-8") as file:
        file.write(text)
