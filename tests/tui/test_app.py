"""The TUI driven by Pilot against the real AgentRuntime and the fake LLM server.

Each test types and presses keys like a user and asserts on what the screen shows
and on what the model received (``fake_llm.requests``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kilo_tui.core.config import Settings
from kilo_tui.tui.app import KiloApp
from kilo_tui.tui.widgets.approval_bar import ApprovalBar
from kilo_tui.tui.widgets.followup import FollowupBar
from kilo_tui.tui.widgets.status_bar import StatusBar
from kilo_tui.tui.widgets.tool_block import ToolBlock
from tests.fakeserver import FakeLLMServer, Turn, tool_call
from tests.tui.pilot import asking, chat_text, idle, make_app, type_and_send, until

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (root / "README.md").write_text("# demo\n")
    return root


async def test_send_streams_reply_and_shows_cost(
    workspace: Path, settings: Settings, llm_env: FakeLLMServer
) -> None:
    llm_env.script(
        Turn(
            content="Hello **there**, how can I help?",
            tool_calls=[tool_call("attempt_completion", result="Greeted.")],
            usage={"cost": 0.0123},
        )
    )
    app = make_app(workspace, settings)
    async with app.run_test(size=(120, 30)) as pilot:
        await type_and_send(pilot, "hi")
        await idle(pilot)
        await pilot.pause()
        text = chat_text(app)
        assert "hi" in text
        assert "Hello **there**, how can I help?" in text
        status = str(app.screen.query_one(StatusBar).render())
        assert "openai/fake-model" in status and "$0.0123" in status
        user_messages = [m for m in llm_env.requests[-1]["body"]["messages"] if m["role"] == "user"]
        assert "hi" in json.dumps(user_messages)


async def test_approve_command_with_y_shows_its_output(
    workspace: Path, settings: Settings, llm_env: FakeLLMServer
) -> None:
    llm_env.script(
        Turn.tool("execute_command", command="echo kilo-was-here"),
        Turn.tool("attempt_completion", result="Ran it."),
    )
    app = make_app(workspace, settings)
    async with app.run_test(size=(120, 30)) as pilot:
        await type_and_send(pilot, "run echo")
        await until(pilot, lambda: asking(app, ApprovalBar) is not None)
        bar = asking(app, ApprovalBar)
        assert bar is not None
        assert "echo kilo-was-here" in str(bar.query_one("#title").render()) + str(
            bar.query_one("#detail-text").render()
        )
        await pilot.press("y")
        await idle(pilot)
        await pilot.pause()
        block = app.screen.query_one(ToolBlock)
        assert block.title == "$ echo kilo-was-here"
        assert "kilo-was-here" in block.output and block.summary == "exit 0"
        assert "Task completed" in chat_text(app) and "Ran it." in chat_text(app)
        tool_results = json.dumps(llm_env.requests[-1]["body"]["messages"][-1])
        assert "kilo-was-here" in tool_results


async def test_reject_with_feedback_reaches_the_model(
    workspace: Path, settings: Settings, llm_env: FakeLLMServer
) -> None:
    llm_env.script(
        Turn.tool("execute_command", command="rm -rf build"),
        Turn.tool("attempt_completion", result="Understood."),
    )
    app = make_app(workspace, settings)
    async with app.run_test(size=(120, 30)) as pilot:
        await type_and_send(pilot, "clean up")
        await until(pilot, lambda: asking(app, ApprovalBar) is not None)
        bar = asking(app, ApprovalBar)
        assert bar is not None
        await pilot.press("n", *"use make clean instead", "enter")
        await idle(pilot)
        tool_result = llm_env.requests[-1]["body"]["messages"][-1]
        assert tool_result["role"] == "tool"
        assert "use make clean instead" in json.dumps(tool_result)
        assert app.screen.query_one("#prompt").display


async def test_escape_cancels_mid_stream_and_the_user_can_go_on(
    workspace: Path, settings: Settings, llm_env: FakeLLMServer
) -> None:
    long_reply = "word " * 400
    llm_env.script(Turn.text(long_reply, delay=0.02), Turn.text("Second answer."))
    app = make_app(workspace, settings)
    async with app.run_test(size=(120, 30)) as pilot:
        await type_and_send(pilot, "tell me a long story")
        await until(pilot, lambda: "word word" in chat_text(app))
        await pilot.press("escape")
        await idle(pilot)
        await pilot.pause()
        assert "cancel" in chat_text(app).lower()
        assert long_reply.strip() not in chat_text(app)
        await type_and_send(pilot, "again")
        await idle(pilot)
        await pilot.pause()
        assert "Second answer." in chat_text(app)


async def test_shift_tab_cycles_the_runtime_mode(workspace: Path, settings: Settings) -> None:
    app = make_app(workspace, settings)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        slugs = [mode.slug for mode in app.runtime.modes()]  # type: ignore[union-attr]
        start = app.runtime.mode  # type: ignore[union-attr]
        await pilot.press("shift+tab")
        await pilot.pause()
        expected = slugs[(slugs.index(start) + 1) % len(slugs)]
        assert app.runtime.mode == expected  # type: ignore[union-attr]
        assert expected in str(app.screen.query_one(StatusBar).render())


async def test_theme_command_switches_and_persists(
    workspace: Path, settings: Settings, tmp_path: Path
) -> None:
    app = make_app(workspace, settings)
    async with app.run_test(size=(120, 30)) as pilot:
        await type_and_send(pilot, "/theme textual-light")
        await pilot.pause()
        assert app.theme == "textual-light"
        config = tmp_path / "kilo-home" / "config.toml"
        await until(pilot, lambda: config.exists() and "textual-light" in config.read_text())


async def test_continue_replays_the_last_conversation(
    workspace: Path, settings: Settings, llm_env: FakeLLMServer
) -> None:
    llm_env.script(Turn.text("The answer is 42."))
    app = make_app(workspace, settings)
    async with app.run_test(size=(120, 30)) as pilot:
        await type_and_send(pilot, "what is the answer?")
        await idle(pilot)

    again = make_app(workspace, settings, continue_last=True)
    async with again.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: "The answer is 42." in chat_text(again))
        assert "what is the answer?" in chat_text(again)
        llm_env.script(Turn.text("Still 42."))
        await type_and_send(pilot, "sure?")
        await idle(pilot)
        history = json.dumps(llm_env.requests[-1]["body"]["messages"])
        assert "what is the answer?" in history and "The answer is 42." in history


async def test_proposed_edit_opens_the_diff_viewer_and_undo_reverts_it(
    workspace: Path, settings: Settings, llm_env: FakeLLMServer
) -> None:
    llm_env.script(
        Turn.tool("write_to_file", path="hello.txt", content="hello from kilo\n"),
        Turn.tool("attempt_completion", result="Wrote it."),
    )
    app = make_app(workspace, settings)
    async with app.run_test(size=(130, 36)) as pilot:
        await type_and_send(pilot, "create hello.txt")
        from kilo_tui.tui.screens.diff_review import DiffReviewScreen

        await until(pilot, lambda: isinstance(app.screen, DiffReviewScreen))
        await pilot.press("y")
        await idle(pilot)
        await pilot.pause()
        assert (workspace / "hello.txt").read_text() == "hello from kilo\n"
        block = app.screen.query_one(ToolBlock)
        assert block.title == "edit hello.txt" and block.summary.startswith("+1 −0")
        assert "Wrote it." in chat_text(app)

        await type_and_send(pilot, "/undo")
        await until(pilot, lambda: not (workspace / "hello.txt").exists())
        await until(pilot, lambda: "removed: hello.txt" in chat_text(app))
        assert "undo: back to checkpoint" in chat_text(app)

        await type_and_send(pilot, "/redo")  # the undo is itself undoable
        await until(pilot, lambda: (workspace / "hello.txt").exists())
        assert (workspace / "hello.txt").read_text() == "hello from kilo\n"


async def test_followup_question_answered_with_a_number(
    workspace: Path, settings: Settings, llm_env: FakeLLMServer
) -> None:
    llm_env.script(
        Turn.tool(
            "ask_followup_question",
            question="Which database?",
            follow_up=[{"text": "SQLite"}, {"text": "PostgreSQL"}],
        ),
        Turn.tool("attempt_completion", result="PostgreSQL it is."),
    )
    app = make_app(workspace, settings)
    async with app.run_test(size=(120, 30)) as pilot:
        await type_and_send(pilot, "set up a database")
        await until(pilot, lambda: asking(app, FollowupBar) is not None)
        bar = asking(app, FollowupBar)
        assert bar is not None
        assert "2. PostgreSQL" in str(bar.query_one("#choices").render())
        await pilot.press("2")
        await idle(pilot)
        assert "PostgreSQL" in json.dumps(llm_env.requests[-1]["body"]["messages"][-1])
        assert "PostgreSQL it is." in chat_text(app)


async def test_model_and_checkpoint_screens_open_from_keys_and_commands(
    workspace: Path, settings: Settings
) -> None:
    from kilo_tui.tui.screens.checkpoints import CheckpointsScreen
    from kilo_tui.tui.screens.model_picker import ModelPickerScreen

    app = make_app(workspace, settings)
    async with app.run_test(size=(120, 30)) as pilot:
        await type_and_send(pilot, "/model")
        await until(pilot, lambda: isinstance(app.screen, ModelPickerScreen))
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, ModelPickerScreen))
        await pilot.press("ctrl+t")
        await until(pilot, lambda: isinstance(app.screen, CheckpointsScreen))


async def test_new_task_then_history_resumes_the_earlier_one(
    workspace: Path, settings: Settings, llm_env: FakeLLMServer
) -> None:
    from kilo_tui.tui.screens.history import HistoryScreen

    llm_env.script(Turn.tool("attempt_completion", result="Blue, like the sky."))
    app = make_app(workspace, settings)
    async with app.run_test(size=(120, 30)) as pilot:
        await type_and_send(pilot, "what colour?")
        await idle(pilot)
        await type_and_send(pilot, "/new")
        await until(pilot, lambda: "what colour?" not in chat_text(app))
        await type_and_send(pilot, "/history")
        await until(pilot, lambda: isinstance(app.screen, HistoryScreen))
        await pilot.pause(0.3)
        await pilot.press("enter")
        await until(pilot, lambda: "Blue, like the sky." in chat_text(app))
        assert "what colour?" in chat_text(app)


async def test_cancel_while_reviewing_a_diff_closes_the_viewer(
    workspace: Path, settings: Settings, llm_env: FakeLLMServer
) -> None:
    from kilo_tui.tui.screens.diff_review import DiffReviewScreen

    llm_env.script(Turn.tool("write_to_file", path="late.txt", content="never\n"))
    app = make_app(workspace, settings)
    async with app.run_test(size=(130, 36)) as pilot:
        await type_and_send(pilot, "create late.txt")
        await until(pilot, lambda: isinstance(app.screen, DiffReviewScreen))
        app.main_screen.action_cancel()
        await idle(pilot)
        await until(pilot, lambda: not isinstance(app.screen, DiffReviewScreen))
        assert not (workspace / "late.txt").exists()
        assert "cancel" in chat_text(app).lower()


async def test_app_builds_its_own_agent_and_sends_what_was_typed_meanwhile(
    workspace: Path, settings: Settings, llm_env: FakeLLMServer
) -> None:
    llm_env.script(Turn.tool("attempt_completion", result="Built and answered."))
    app = KiloApp(workspace, settings)
    async with app.run_test(size=(120, 30)) as pilot:
        await type_and_send(pilot, "are you there?")
        await until(pilot, lambda: "Built and answered." in chat_text(app))
        assert "are you there?" in chat_text(app)
        assert app.runtime is not None and app.runtime.workspace == workspace.resolve()
