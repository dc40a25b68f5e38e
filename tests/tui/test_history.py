"""The task history screen, opened with ``/history`` in the real app over a real store."""

from __future__ import annotations

import dataclasses
import sqlite3
from datetime import datetime
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Label

from kilo_tui.core import events as ev
from kilo_tui.core.agent.runtime import AgentRuntime
from kilo_tui.core.config import Settings
from kilo_tui.core.sessions import SessionStore
from kilo_tui.tui.app import KiloApp
from kilo_tui.tui.screens.history import ConfirmDelete, HistoryScreen
from tests.fakeserver import FakeLLMServer
from tests.tui.helpers import StandInRuntime
from tests.tui.pilot import chat_text, type_and_send, until

pytestmark = pytest.mark.timeout(60)

TASKS = [
    ("t-old", "Write README for the CLI", "Explain the flags", None),
    ("t-mid", "Refactor the database layer", "Split sessions.py", 0.5),
    ("t-new", "Fix the failing API test", "Why does test_get fail?", 0.0123),
]
"""``(id, title, first user message, cost)``, oldest first."""


def add_task(store: SessionStore, workspace: str, task: tuple[str, str, str, float | None]) -> None:
    task_id, title, question, cost = task
    store.create_task(task_id, workspace=workspace, model="openai/fake-model", mode="code")
    store.record_event(ev.TitleGenerated(task_id=task_id, title=title))
    store.record_event(ev.UserMessage(task_id=task_id, text=question))
    store.record_event(ev.AssistantMessage(task_id=task_id, text=f"Answer to: {question}"))
    store.record_event(
        ev.UsageUpdated(
            task_id=task_id,
            model="openai/fake-model",
            tokens_in=12_000,
            tokens_out=3_000,
            cost=cost,
            task_tokens_in=12_000,
            task_tokens_out=3_000,
            task_cost=cost,
        )
    )


@pytest.fixture
def app(tmp_path: Path, llm_env: FakeLLMServer) -> KiloApp:
    workspace = tmp_path / "project"
    workspace.mkdir()
    settings = Settings(model="openai/fake-model", small_model="openai/fake-small")
    runtime = AgentRuntime(workspace=workspace, settings=settings, start_mcp=False)
    for task in TASKS:
        add_task(runtime.store, str(runtime.workspace), task)
    add_task(runtime.store, str(tmp_path / "elsewhere"), ("t-other", "Other project", "hi", None))
    return KiloApp(workspace, settings, runtime=runtime)


async def open_history(pilot: Pilot[None]) -> HistoryScreen:
    await until(pilot, lambda: pilot.app.runtime is not None)  # type: ignore[attr-defined]
    await type_and_send(pilot, "/history")
    await until(pilot, lambda: isinstance(pilot.app.screen, HistoryScreen))
    await pilot.pause()
    screen = pilot.app.screen
    assert isinstance(screen, HistoryScreen)
    return screen


def titles(screen: HistoryScreen) -> list[str]:
    """The title of each row (a row may show, under it, why it matched)."""
    return [cell.split("\n")[0] for cell in title_cells(screen)]


def title_cells(screen: HistoryScreen) -> list[str]:
    table = screen.query_one(DataTable)
    return [str(table.get_row_at(row)[0]) for row in range(table.row_count)]


def status(screen: HistoryScreen) -> str:
    return str(screen.query_one("#history-status", Label).render())


async def test_lists_this_workspaces_tasks_newest_first(app: KiloApp) -> None:
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await open_history(pilot)
        assert titles(screen) == [
            "Fix the failing API test",
            "Refactor the database layer",
            "Write README for the CLI",
        ]
        table = screen.query_one(DataTable)
        newest = [str(cell) for cell in table.get_row_at(0)]
        assert newest[2:] == ["openai/fake-model", "12.0k / 3.0k", "$0.0123"]
        assert str(table.get_row_at(2)[4]) == "price unknown"
        assert status(screen) == "3 of 3 tasks"


async def test_search_filters_titles_as_you_type(app: KiloApp) -> None:
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await open_history(pilot)
        await pilot.press(*"refactr")
        assert titles(screen) == ["Refactor the database layer"]
        assert status(screen) == "1 of 3 tasks"
        await pilot.press(*"zzzz")
        assert titles(screen) == []
        assert "No task matches" in status(screen)


async def test_search_finds_what_was_said_after_title_matches(app: KiloApp) -> None:
    """A word said only inside a task's conversation finds it, with the words around
    it shown under its title; tasks whose title matches come first."""
    assert app.runtime is not None
    app.runtime.store.record_event(
        ev.AssistantMessage(task_id="t-new", text="Done. Then update the README's usage section.")
    )
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await open_history(pilot)
        await pilot.press(*"readme")
        # t-new is newer, but t-old has the word in its title.
        assert titles(screen) == ["Write README for the CLI", "Fix the failing API test"]
        assert "update the README's usage section" in title_cells(screen)[1]
        assert title_cells(screen)[0] == "Write README for the CLI"

        await pilot.press(*["backspace"] * 6, *"sessions")
        assert titles(screen) == ["Refactor the database layer"]  # "Split sessions.py"
        assert "Split sessions.py" in title_cells(screen)[0]
        assert status(screen) == "1 of 3 tasks"
        await pilot.press("down", "enter")
        await until(pilot, lambda: app.runtime is not None and app.runtime.task_id == "t-mid")


async def test_columns_follow_the_terminal_width(app: KiloApp) -> None:
    """Every column at 120; at 80 the title keeps its room and the tokens give way."""
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await open_history(pilot)
        table = screen.query_one(DataTable)
        assert [str(c.label) for c in table.columns.values()] == [
            "Title",
            "Last active",
            "Model",
            "Tokens in/out",
            "Cost",
        ]
        await pilot.resize_terminal(80, 24)
        await until(pilot, lambda: len(table.columns) == 4)
        title = table.columns[next(iter(table.columns))]
        assert [str(c.label) for c in table.columns.values()] == [
            "Title",
            "Last active",
            "Model",
            "Cost",
        ]
        assert title.width >= 24
        assert str(table.get_row_at(0)[2]) == "fake-model"  # no provider prefix
        await pilot.resize_terminal(120, 36)
        await until(pilot, lambda: len(table.columns) == 5)


async def test_titles_and_models_are_shown_as_written_never_as_markup(app: KiloApp) -> None:
    """A title comes from the model: brackets in it are text, not styling (and an
    unbalanced ``[/]`` must not crash the screen)."""
    assert app.runtime is not None
    title = "Escape [/] and [bold red]brackets[/bold red] in regex"
    app.runtime.store.record_event(ev.TitleGenerated(task_id="t-new", title=title))
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await open_history(pilot)
        assert titles(screen)[0] == title
        await pilot.press(*"brackets")
        assert titles(screen) == [title]
        await pilot.press("down", "d")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDelete))
        assert title in str(app.screen.query_one("#confirm-question", Label).render())
        await pilot.press("n")
        await until(pilot, lambda: screen.is_current)
        screen.query_one(Input).value = "[/]"
        await pilot.pause()
        assert "“[/]”" in status(screen)
        screen.query_one(Input).value = "brackets"
        await pilot.press("down", "d")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDelete))
        await pilot.press("y")
        await until(pilot, lambda: titles(screen) == [])
        assert app.runtime.store.get_task("t-new") is None


async def test_enter_resumes_the_chosen_task(app: KiloApp) -> None:
    async with app.run_test(size=(120, 36)) as pilot:
        await open_history(pilot)
        await pilot.press("down", "down", "enter")
        await until(pilot, lambda: "Split sessions.py" in chat_text(app))
        assert not isinstance(app.screen, HistoryScreen)
        assert app.runtime is not None and app.runtime.task_id == "t-mid"
        assert "Answer to: Split sessions.py" in chat_text(app)


async def test_escape_closes_without_resuming(app: KiloApp) -> None:
    async with app.run_test(size=(120, 36)) as pilot:
        await open_history(pilot)
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, HistoryScreen)
        assert app.runtime is not None and app.runtime.task_id is None


async def test_down_from_the_search_box_selects_the_newest_task(app: KiloApp) -> None:
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await open_history(pilot)
        await pilot.press("down")
        table = screen.query_one(DataTable)
        assert table.has_focus and table.cursor_row == 0
        await pilot.press("enter")
        await until(pilot, lambda: "Why does test_get fail?" in chat_text(app))
        assert app.runtime is not None and app.runtime.task_id == "t-new"


async def test_export_asks_where_and_defaults_to_the_data_directory(
    app: KiloApp, tmp_path: Path
) -> None:
    """Nothing lands in the project unasked: the default is kilo-tui's data directory,
    and the user may type another path."""
    from kilo_tui.core import paths
    from kilo_tui.tui.screens.history import ExportPath

    before = sorted(p.name for p in app.workspace.iterdir())
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await open_history(pilot)
        await pilot.press("down", "e")
        await until(pilot, lambda: isinstance(app.screen, ExportPath))
        default = paths.data_dir() / "exports" / "kilo-task-t-new.md"
        assert app.screen.query_one(Input).value == str(default)
        await pilot.press("enter")
        await until(pilot, default.exists)
        text = default.read_text()
        assert text.startswith("# Fix the failing API test")
        assert "Why does test_get fail?" in text and "Answer to: Why does test_get fail?" in text
        assert screen.is_current
        assert sorted(p.name for p in app.workspace.iterdir()) == before

        chosen = tmp_path / "notes" / "fix.md"
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, ExportPath))
        app.screen.query_one(Input).value = str(chosen)
        await pilot.press("enter")
        await until(pilot, chosen.exists)
        assert chosen.read_text() == text

        # An existing file is never overwritten: the dialog says so and stays open.
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, ExportPath))
        app.screen.query_one(Input).value = str(chosen)
        chosen.write_text("mine")
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ExportPath)
        assert "already exists" in str(app.screen.query_one("#export-error", Label).render())
        assert chosen.read_text() == "mine"
        await pilot.press("escape")
        await until(pilot, lambda: screen.is_current)


async def test_delete_asks_first_then_removes_the_task(app: KiloApp) -> None:
    assert app.runtime is not None
    store = app.runtime.store
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await open_history(pilot)
        await pilot.press("down", "up", "d")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDelete))
        await pilot.press("n")
        await pilot.pause()
        assert store.get_task("t-new") is not None
        assert len(titles(screen)) == 3

        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDelete))
        await pilot.press("y")
        await until(pilot, lambda: len(titles(screen)) == 2)
        assert store.get_task("t-new") is None
        assert titles(screen) == ["Refactor the database layer", "Write README for the CLI"]
        assert status(screen) == "2 of 2 tasks"


# ------------------------------------------------------------------ snapshots

SNAPSHOT_TASKS = [
    # (id, title, model, tokens in, tokens out, cost, last active)
    (
        "s1",
        "Fix the failing API test",
        "openai/gpt-4o",
        54_000,
        3_200,
        0.0421,
        (2026, 3, 14, 9, 26),
    ),
    (
        "s2",
        "Refactor the session store so that condensing keeps the full record",
        "openrouter/anthropic/claude-sonnet-4.5",
        1_250_000,
        48_000,
        4.75,
        (2026, 3, 13, 17, 5),
    ),
    ("s3", "Explain the parser", "ollama/qwen2.5-coder:7b", 8_000, 900, 0.0, (2026, 3, 2, 8, 0)),
    ("s4", "", "openai/fake-model", 0, 0, None, (2025, 12, 31, 23, 59)),
]


def snapshot_app(tmp_path: Path) -> tuple[KiloApp, StandInRuntime]:
    """The app with a stand-in runtime over a real store holding fixed tasks (fixed
    times, a fixed workspace path), for a deterministic picture."""
    runtime = StandInRuntime(Path("/home/dev/demo"))
    runtime.settings = dataclasses.replace(runtime.settings, theme="textual-dark")
    store = SessionStore(tmp_path / "sessions.sqlite3")
    for task_id, title, model, tokens_in, tokens_out, cost, _ in SNAPSHOT_TASKS:
        store.create_task(task_id, workspace="/home/dev/demo", model=model, mode="code")
        store.record_event(ev.TitleGenerated(task_id=task_id, title=title))
        store.record_event(ev.UserMessage(task_id=task_id, text=f"About: {title or 'nothing'}"))
        store.update_task(
            task_id,
            tokens_in=tokens_in,
            tokens_out=tokens_out,
            cost=cost,
            cost_known=int(cost is not None),
        )
    store.record_event(
        ev.AssistantMessage(task_id="s1", text="The KeyError comes from the parser's error path.")
    )
    db = sqlite3.connect(store.path)
    for task_id, *_, when in SNAPSHOT_TASKS:
        db.execute(
            "UPDATE tasks SET updated_at = ? WHERE id = ?", (datetime(*when).timestamp(), task_id)
        )
    db.commit()
    db.close()
    runtime.store = store  # type: ignore[attr-defined]
    app = KiloApp(runtime.workspace, runtime.settings, runtime=runtime)  # type: ignore[arg-type]
    return app, runtime


async def show_history(pilot: Pilot[None], runtime: StandInRuntime, query: str = "") -> None:
    await pilot.app.push_screen(HistoryScreen(runtime))  # type: ignore[arg-type]
    await pilot.pause()
    if query:
        await pilot.press(*query)
    pilot.app.screen.query_one(Input).cursor_blink = False
    await pilot.pause()
    await pilot.wait_for_scheduled_animations()


def test_snapshot_at_80_columns(snap_compare, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """At 80×24 the list stays usable: the title keeps room, dates and model names are
    shortened, tokens give way to the cost."""
    app, runtime = snapshot_app(tmp_path)

    async def run_before(pilot: Pilot[None]) -> None:
        await show_history(pilot, runtime)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_snapshot_search_at_120_columns(snap_compare, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """At 120 columns every column fits; a search shows title matches first, then a
    task found by what was said in it, with the words around the match."""
    app, runtime = snapshot_app(tmp_path)

    async def run_before(pilot: Pilot[None]) -> None:
        await show_history(pilot, runtime, "pars")

    assert snap_compare(app, terminal_size=(120, 30), run_before=run_before)
