"""The main screen's rendering of bus events, driven by publishing on a real EventBus.

The runtime here is a stand-in that only records what the screen asks of it: these
tests are about what the user sees for each event, not about the agent loop (that
is ``test_app.py``, against the real runtime and the fake LLM server).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from textual.widgets import Markdown

from kilo_tui.core import events as ev
from kilo_tui.tui.app import KiloApp
from kilo_tui.tui.widgets.approval_bar import ApprovalBar
from kilo_tui.tui.widgets.chat import Chat, EarlierMessages, UserBlock
from kilo_tui.tui.widgets.followup import FollowupBar
from kilo_tui.tui.widgets.prompt import PromptInput
from kilo_tui.tui.widgets.reply import AssistantBlock
from kilo_tui.tui.widgets.status_bar import StatusBar
from kilo_tui.tui.widgets.tool_block import ToolBlock
from tests.tui.helpers import StandInRuntime


@pytest.fixture
def runtime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> StandInRuntime:
    monkeypatch.setenv("KILO_TUI_HOME", str(tmp_path / "home"))
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text("print('hi')\n")
    (tmp_path / "notes.log").write_text("noise\n")
    (tmp_path / ".gitignore").write_text("*.log\n")
    return StandInRuntime(tmp_path)


def make_app(runtime: StandInRuntime) -> KiloApp:
    return KiloApp(runtime.workspace, runtime.settings, runtime=runtime)  # type: ignore[arg-type]


def chat_text(app: KiloApp) -> str:
    """Everything the chat shows, as plain text."""
    parts: list[str] = []
    for block in app.screen.query_one(Chat).blocks:
        if isinstance(block, Markdown):
            parts.append(block.source)
        else:
            parts.append(str(block.render()))
    return "\n".join(parts)


async def test_streamed_reply_is_one_markdown_block(runtime: StandInRuntime) -> None:
    app = make_app(runtime)
    async with app.run_test() as pilot:
        bus = runtime.bus
        bus.publish(ev.UserMessage(text="hello"))
        for piece in ("Hel", "lo **wor", "ld**"):
            bus.publish(ev.AssistantDelta(text=piece))
        await pilot.pause()
        bus.publish(ev.AssistantMessage(text="Hello **world**"))
        await pilot.pause()
        chat = app.screen.query_one(Chat)
        assert [type(b) for b in chat.blocks] == [UserBlock, AssistantBlock]
        reply = chat.query_one(AssistantBlock)
        assert reply.source == "Hello **world**"
        assert "world" in str(reply.query("MarkdownParagraph").first().render())


async def test_enter_sends_and_ctrl_j_inserts_newline(runtime: StandInRuntime) -> None:
    app = make_app(runtime)
    async with app.run_test() as pilot:
        await pilot.press("h", "i", "ctrl+j", "x", "enter")
        await pilot.pause()
        assert runtime.submitted == ["hi\nx"]
        assert app.screen.query_one(PromptInput).text == ""


async def test_history_recalls_previous_prompts(runtime: StandInRuntime) -> None:
    app = make_app(runtime)
    async with app.run_test() as pilot:
        for key in ("a", "enter", "b", "enter", "up"):
            await pilot.press(key)
            await pilot.pause()
        prompt = app.screen.query_one(PromptInput)
        assert prompt.text == "b"
        await pilot.press("up")
        assert prompt.text == "a"
        await pilot.press("down", "down")
        assert prompt.text == ""


async def test_tool_blocks_show_command_output_and_exit_code(runtime: StandInRuntime) -> None:
    app = make_app(runtime)
    async with app.run_test() as pilot:
        bus = runtime.bus
        bus.publish(
            ev.ToolCallStarted(
                call_id="c1", name="execute_command", arguments={"command": "echo hi"}
            )
        )
        bus.publish(ev.CommandOutput(call_id="c1", text="hi\n"))
        bus.publish(ev.CommandFinished(call_id="c1", command="echo hi", exit_code=3))
        bus.publish(ev.ToolCallFinished(call_id="c1", name="execute_command", result="hi"))
        bus.publish(
            ev.ToolCallStarted(
                call_id="r1",
                name="read_file",
                arguments={"path": "src/app.py", "start_line": 1, "end_line": 20},
            )
        )
        bus.publish(
            ev.ToolCallFinished(call_id="r1", name="read_file", result="x", summary="1 line")
        )
        await pilot.pause()
        command, read = app.screen.query(ToolBlock)
        assert "$ echo hi" in str(command.query_one("#header").render())
        assert "exit 3" in str(command.query_one("#header").render())
        assert command.has_class("-error")
        assert "hi" in str(command.query_one("#body").render())
        assert "read src/app.py (lines 1–20)" in str(read.query_one("#header").render())
        assert not read.expanded


async def test_a_running_command_shows_its_elapsed_time_and_no_sandbox_is_said(
    runtime: StandInRuntime,
) -> None:
    app = make_app(runtime)
    async with app.run_test() as pilot:
        bus = runtime.bus
        bus.publish(
            ev.SandboxReported(
                mode="workspace-write",
                active=False,
                mechanism="none",
                network=True,
                message="no sandbox: bubblewrap (bwrap) is not installed; commands run "
                "with your full rights",
            )
        )
        bus.publish(
            ev.ToolCallStarted(call_id="c1", name="execute_command", arguments={"command": "make"})
        )
        bus.publish(ev.CommandRunning(call_id="c1", elapsed=12.4))
        await pilot.pause()
        [command] = app.screen.query(ToolBlock)
        assert "running 12s" in str(command.query_one("#header").render())
        assert "no sandbox" in str(app.screen.status.render())
        assert "bwrap) is not installed" in chat_text(app)
        bus.publish(ev.CommandFinished(call_id="c1", command="make", exit_code=0))
        await pilot.pause()
        header = str(command.query_one("#header").render())
        assert "exit 0" in header and "running" not in header


async def test_approve_with_y_replies_on_the_bus(runtime: StandInRuntime) -> None:
    app = make_app(runtime)
    async with app.run_test() as pilot:
        request = ev.ApprovalRequested(
            request_id="r1",
            kind="command",
            tool="execute_command",
            title="Run `rm -rf build`",
            detail="rm -rf build",
            always_allow_rule="allowed_commands: rm",
        )
        answer = app.run_worker(runtime.bus.request(request))
        await pilot.pause()
        bar = app.screen.query_one(ApprovalBar)
        assert bar.display and not app.screen.query_one("#prompt").display
        assert "allowed_commands: rm" in str(bar.query_one("#hint").render())
        await pilot.press("y")
        await answer.wait()
        assert answer.result == ev.ApprovalReply(approved=True)
        assert app.screen.query_one("#prompt").display


async def test_reject_with_feedback(runtime: StandInRuntime) -> None:
    app = make_app(runtime)
    async with app.run_test() as pilot:
        request = ev.ApprovalRequested(
            request_id="r2", kind="command", tool="execute_command", title="Run `make`"
        )
        answer = app.run_worker(runtime.bus.request(request))
        await pilot.pause()
        await pilot.press("n", *"use ninja", "enter")
        await answer.wait()
        assert answer.result == ev.ApprovalReply(approved=False, feedback="use ninja")


async def test_always_allow_only_offered_with_a_rule(runtime: StandInRuntime) -> None:
    app = make_app(runtime)
    async with app.run_test() as pilot:
        answer = app.run_worker(
            runtime.bus.request(
                ev.ApprovalRequested(
                    request_id="r3", kind="mcp", tool="use_mcp_tool", title="Call time.now"
                )
            )
        )
        await pilot.pause()
        await pilot.press("exclamation_mark")
        await pilot.pause()
        assert not answer.is_finished
        await pilot.press("y")
        await answer.wait()
        assert answer.result.approved


async def test_followup_number_picks_a_suggestion(runtime: StandInRuntime) -> None:
    app = make_app(runtime)
    async with app.run_test() as pilot:
        question = ev.FollowupAsked(
            request_id="q1", question="Which DB?", suggestions=("sqlite", "postgres")
        )
        answer = app.run_worker(runtime.bus.request(question))
        await pilot.pause()
        assert "2. postgres" in str(
            app.screen.query_one(FollowupBar).query_one("#choices").render()
        )
        await pilot.press("2")
        await answer.wait()
        assert answer.result == "postgres"


async def test_status_bar_shows_usage_cost_and_badge(runtime: StandInRuntime) -> None:
    app = make_app(runtime)
    async with app.run_test(size=(120, 24)) as pilot:
        runtime.bus.publish(
            ev.UsageUpdated(
                model="openai/fake-model",
                tokens_in=1200,
                tokens_out=30,
                task_tokens_in=1200,
                task_tokens_out=30,
                task_cost=0.0123,
                context_tokens=32000,
                context_window=128000,
                reserved_output=16000,
                cache_read=900,
            )
        )
        await pilot.pause()
        text = str(app.screen.query_one(StatusBar).render())
        assert "cache 900 read" in text
        assert "code" in text and "openai/fake-model" in text
        assert "↑1.2k ↓30" in text and "25%" in text and "$0.0123" in text


async def test_shift_tab_cycles_modes(runtime: StandInRuntime) -> None:
    app = make_app(runtime)
    async with app.run_test(size=(120, 24)) as pilot:
        await pilot.press("shift+tab")
        await pilot.pause()
        assert runtime.mode == "architect"
        assert "architect" in str(app.screen.query_one(StatusBar).render())


async def test_escape_cancels_only_while_busy(runtime: StandInRuntime) -> None:
    app = make_app(runtime)
    async with app.run_test() as pilot:
        await pilot.press("escape")
        assert runtime.cancelled == 0
        app.screen.busy = True
        await pilot.press("escape")
        assert runtime.cancelled == 1


async def test_slash_mode_command_and_completion(runtime: StandInRuntime) -> None:
    app = make_app(runtime)
    async with app.run_test() as pilot:
        await pilot.press(*"/arch")
        await pilot.pause()
        assert app.screen.query_one("#prompt").has_class("-completing")
        await pilot.press("tab", "enter")
        await pilot.pause()
        assert runtime.mode == "architect"
        assert runtime.submitted == []


async def test_at_completion_respects_gitignore(runtime: StandInRuntime) -> None:
    app = make_app(runtime)
    async with app.run_test() as pilot:
        await pilot.press(*"see @app")
        await pilot.pause(0.2)
        options = app.screen.query_one("#prompt OptionList")
        shown = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        assert "@/src/app.py" in shown
        assert not any("notes.log" in s for s in shown)
        await pilot.press("tab")
        assert app.screen.query_one(PromptInput).text == "see @/src/app.py "


async def test_long_chat_prunes_old_blocks(
    runtime: StandInRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Chat, "max_mounted", 10)
    monkeypatch.setattr(Chat, "page", 5)
    app = make_app(runtime)
    async with app.run_test() as pilot:
        for n in range(25):
            runtime.bus.publish(ev.UserMessage(text=f"message {n}"))
        await pilot.pause()
        chat = app.screen.query_one(Chat)
        assert len(chat.blocks) == 10 and chat.pruned_count == 15
        assert "message 24" in chat_text(app) and "message 14" not in chat_text(app)
        chat.query_one(EarlierMessages).action_show()
        await pilot.pause()
        assert len(chat.blocks) == 15 and "message 10" in chat_text(app)


async def test_todo_list_and_errors_are_visible(runtime: StandInRuntime) -> None:
    app = make_app(runtime)
    async with app.run_test() as pilot:
        runtime.bus.publish(
            ev.TodoListUpdated(
                todos=(
                    {"text": "write tests", "status": "completed"},
                    {"text": "fix bug", "status": "in_progress"},
                )
            )
        )
        runtime.bus.publish(
            ev.RetryScheduled(attempt=1, max_attempts=5, delay=2, error="429 rate limited")
        )
        runtime.bus.publish(ev.ErrorRaised(message="provider unreachable"))
        await pilot.pause()
        todos = app.screen.query_one("#todos")
        assert todos.display and "Todo 1/2" in str(todos.render())
        text = chat_text(app)
        assert "429 rate limited — retrying in 2s (attempt 1/5)" in text
        assert "✗ provider unreachable" in text


async def test_enter_on_a_command_completion_runs_it(runtime: StandInRuntime) -> None:
    app = make_app(runtime)
    async with app.run_test() as pilot:
        await pilot.press(*"/hel")
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        assert "**Commands**" in chat_text(app)
        assert runtime.submitted == []


async def test_keymap_from_settings_remaps_bindings(runtime: StandInRuntime) -> None:
    runtime.settings = dataclasses.replace(runtime.settings, keymap={"cycle-mode": "f5"})
    app = make_app(runtime)
    async with app.run_test() as pilot:
        await pilot.press("shift+tab")
        await pilot.pause()
        assert runtime.mode == "code"
        await pilot.press("f5")
        await pilot.pause()
        assert runtime.mode == "architect"


async def test_palette_offers_every_command_and_mode(runtime: StandInRuntime) -> None:
    app = make_app(runtime)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Mode: Ask")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await pilot.pause()
        assert runtime.mode == "ask"


async def test_status_bar_badges_free_and_local_models(runtime: StandInRuntime) -> None:
    app = make_app(runtime)
    async with app.run_test(size=(120, 24)) as pilot:
        status = app.screen.query_one(StatusBar)
        runtime.bus.publish(ev.ModelChanged(model="ollama_chat/qwen3", previous=runtime.model))
        await pilot.pause()
        # No Ollama server has answered for this model: nothing says it is local.
        assert "[local]" not in str(status.render())
        status.badge = "local"  # what the catalog says once the server answered
        assert "ollama_chat/qwen3 [local]" in str(status.render())
        runtime.bus.publish(
            ev.ModelChanged(model="openrouter/x/y:free", previous="ollama_chat/qwen3")
        )
        await pilot.pause()
        assert "[free]" in str(status.render())


async def test_a_long_local_model_path_leaves_tokens_and_cost_visible_at_80_columns(
    runtime: StandInRuntime,
) -> None:
    model = "openai//home/me/models/qwen2.5-coder-7b-instruct-q4_k_m.gguf"
    app = make_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        status = app.screen.query_one(StatusBar)
        runtime.bus.publish(ev.ModelChanged(model=model, previous=runtime.model))
        runtime.bus.publish(
            ev.UsageUpdated(
                model=model,
                tokens_in=5200,
                tokens_out=310,
                task_tokens_in=5200,
                task_tokens_out=310,
                task_cost=0.0,
                free=True,
                cache_read=4900,
                context_tokens=5510,
                context_window=16384,
                reserved_output=4096,
                estimated=True,
            )
        )
        await pilot.pause()
        shown = app.screen.query_one(StatusBar).render()
        text = str(shown)
        assert shown.cell_len <= status.content_size.width
        assert "qwen2.5-" in text and "q4_k_m" in text and "/home/me" not in text
        assert "↑~5.2k ↓~310" in text and "33%" in text
        assert text.rstrip().endswith("$0.00 (free)")


async def test_starting_does_not_rewrite_the_config(
    runtime: StandInRuntime, tmp_path: Path
) -> None:
    app = make_app(runtime)
    async with app.run_test() as pilot:
        await pilot.pause(0.3)
    assert not (tmp_path / "home" / "config.toml").exists()
