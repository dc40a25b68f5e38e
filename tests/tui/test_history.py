"""The task history screen, opened with ``/history`` in the real app over a real store."""

from __future__ import annotations

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
        assert "No title matches" in status(screen)


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
