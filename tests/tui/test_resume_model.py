"""The status bar's model is the model of the next request (issue #14): resuming a task
switches to that task's model visibly, ``/new`` goes back and resets the totals; a
plain relaunch lists the workspace's recent tasks and mentions ``-c``.

The real AgentRuntime and session store, the fake LLM server; each test checks the
model the next request really named.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from kilo_tui.core.config import Settings
from kilo_tui.tui.widgets.status_bar import StatusBar
from tests.fakeserver import FakeLLMServer, Turn
from tests.tui.pilot import chat_text, idle, make_app, type_and_send, until

pytestmark = pytest.mark.timeout(90)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    return root


def agent_models(server: FakeLLMServer) -> list[str]:
    return [b["model"] for b in server.chat_requests if b["model"] != "fake-small"]


async def earlier_task(workspace: Path, settings: Settings, server: FakeLLMServer) -> None:
    server.script(Turn.text("Done on the first model."))
    server.script_for("fake-small", Turn.text("First task message"))
    app = make_app(workspace, settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await type_and_send(pilot, "first task message")
        await idle(pilot)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_continuing_a_task_switches_to_its_model_visibly(
    workspace: Path, settings: Settings, llm_env: FakeLLMServer, size: tuple[int, int]
) -> None:
    await earlier_task(workspace, settings, llm_env)
    other = dataclasses.replace(settings, model="openai/other-model")
    app = make_app(workspace, other, continue_last=True)
    async with app.run_test(size=size) as pilot:
        await until(pilot, lambda: "Done on the first model." in chat_text(app))
        await pilot.pause(0.2)
        status = app.screen.query_one(StatusBar)
        assert status.model == "openai/fake-model"
        assert "openai/fake-model" in chat_text(app) and "openai/other-model" in chat_text(app)
        llm_env.script(Turn.text("Still here."))
        await type_and_send(pilot, "go on")
        await idle(pilot)
        assert agent_models(llm_env)[-1] == "fake-model"
        assert status.usage is not None
        # /new: the next request goes to the configured model, and the totals reset.
        await type_and_send(pilot, "/new")
        await pilot.pause(0.2)
        assert status.model == "openai/other-model" and status.usage is None
        llm_env.script(Turn.text("Fresh."))
        await type_and_send(pilot, "new task")
        await idle(pilot)
        assert agent_models(llm_env)[-1] == "other-model"


async def test_resuming_from_history_switches_to_the_tasks_model_visibly(
    workspace: Path, settings: Settings, llm_env: FakeLLMServer
) -> None:
    from kilo_tui.tui.screens.history import HistoryScreen

    await earlier_task(workspace, settings, llm_env)
    other = dataclasses.replace(settings, model="openai/other-model")
    app = make_app(workspace, other)
    async with app.run_test(size=(80, 24)) as pilot:
        status = app.screen.query_one(StatusBar)
        await until(pilot, lambda: status.model == "openai/other-model")
        await type_and_send(pilot, "/history")
        await until(pilot, lambda: isinstance(app.screen, HistoryScreen))
        await pilot.press("down", "enter")
        await until(pilot, lambda: "Done on the first model." in chat_text(app))
        await pilot.pause(0.2)
        assert status.model == "openai/fake-model"
        assert "Continuing on this task's model openai/fake-model" in chat_text(app)
        llm_env.script(Turn.text("Still here."))
        await type_and_send(pilot, "go on")
        await idle(pilot)
        assert agent_models(llm_env)[-1] == "fake-model"


async def test_a_plain_relaunch_lists_recent_tasks_and_mentions_continue(
    workspace: Path, settings: Settings, llm_env: FakeLLMServer
) -> None:
    await earlier_task(workspace, settings, llm_env)
    app = make_app(workspace, settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: "Recent tasks" in chat_text(app))
        text = chat_text(app)
        assert "First task message" in text, text
        assert "kilo-tui -c" in text and "/history" in text
        # The list is a hint, not a conversation: the first message replaces it.
        llm_env.script(Turn.text("Hello."))
        await type_and_send(pilot, "something else")
        await idle(pilot)
        assert "Recent tasks" not in chat_text(app)


async def test_an_auth_error_is_shown_once_with_what_to_fix(
    workspace: Path, settings: Settings, llm_env: FakeLLMServer
) -> None:
    llm_env.script(Turn.error(401, "Incorrect API key provided"))
    app = make_app(workspace, settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await type_and_send(pilot, "hello")
        await idle(pilot)
        text = chat_text(app)
        assert "Authentication failed" in text and "HTTP 500" not in text
        assert "/setup" in text  # where to fix it, from the chat
        assert "retrying" not in text
        assert "Loading the model client" not in text  # progress is the status bar's


async def test_skipping_the_setup_leaves_a_pointer_to_it(
    workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kilo_tui.core.config import PROVIDER_KEY_ENV
    from kilo_tui.tui.app import KiloApp
    from kilo_tui.tui.screens.first_run import FirstRunScreen
    from kilo_tui.tui.widgets.prompt import PromptInput

    for env in [*PROVIDER_KEY_ENV.values(), "KILO_TUI_MODEL", "KILOCODE_TOKEN"]:
        monkeypatch.delenv(env, raising=False)
    monkeypatch.setenv("KILO_TUI_HOME", str(tmp_path / "home"))
    app = KiloApp(workspace, Settings())
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, FirstRunScreen))
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, FirstRunScreen))
        prompt = app.screen.query_one(PromptInput)
        assert "/setup" in str(prompt.placeholder)
        await until(pilot, lambda: "/setup" in chat_text(app))
        await type_and_send(pilot, "/setup")
        await until(pilot, lambda: isinstance(app.screen, FirstRunScreen))
