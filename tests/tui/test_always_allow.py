""" "Always allow" offers the rule to remember (issue #14): on ``!`` for a command, the
exact command or a shorter prefix, shown before it is saved; ``esc`` backs out.

The first test is the whole path: the real runtime, the model's commands from the fake
provider over HTTP, real shells, the remembered-rules file on disk. The others drive
the bar's keys on the stand-in runtime's real bus.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from textual.pilot import Pilot

from kilo_tui.core import events as ev
from kilo_tui.core.config import Settings
from kilo_tui.core.trust.project import remembered_rules_file
from kilo_tui.tui.app import KiloApp
from kilo_tui.tui.widgets.approval_bar import ApprovalBar
from kilo_tui.tui.widgets.prompt import PromptInput
from tests.fakeserver import FakeLLMServer, Turn
from tests.tui.helpers import StandInRuntime
from tests.tui.pilot import asking, idle, make_app, type_and_send, until

pytestmark = pytest.mark.timeout(120)

PREFIX = 'always_allow += "command:python3 -m calc.cli"'
CHOICES = (
    'always_allow += "command:python3 -m calc.cli add 2 3"',
    'always_allow += "command:python3 -m calc.cli add 2"',
    'always_allow += "command:python3 -m calc.cli add"',
    PREFIX,
)


def hint(bar: ApprovalBar) -> str:
    return str(bar.query_one("#hint").render())


def tool_results(server: FakeLLMServer) -> list[str]:
    last = [b for b in server.chat_requests if b["model"] == "fake-model"][-1]
    return [str(m["content"]) for m in last["messages"] if m["role"] == "tool"]


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "calc").mkdir(parents=True)
    (root / "calc" / "__init__.py").write_text("")
    (root / "calc" / "cli.py").write_text(
        "import sys\n"
        "op, a, b = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])\n"
        "print('result', a + b if op == 'add' else a * b)\n"
    )
    return root


async def test_pick_a_prefix_then_matching_commands_run_and_others_ask(
    workspace: Path, settings: Settings, llm_env: FakeLLMServer
) -> None:
    llm_env.script(
        Turn.tool("execute_command", command="python3 -m calc.cli add 2 3"),
        Turn.tool("execute_command", command="python3 -m calc.cli mul 4 5"),
        Turn.tool("execute_command", command="python3 -m calc.cli add 1 1; rm -rf calc"),
        Turn.tool("attempt_completion", result="computed"),
    )
    app = make_app(workspace, settings)
    async with app.run_test(size=(100, 30)) as pilot:
        await type_and_send(pilot, "compute")
        await until(pilot, lambda: asking(app, ApprovalBar) is not None)
        bar = app.screen.query_one(ApprovalBar)
        assert bar.request is not None and "add 2 3" in bar.request.title
        await pilot.press("exclamation_mark")
        await pilot.pause()
        # The choice is shown, the exact command first; nothing is saved yet.
        assert bar.choices() == CHOICES
        assert CHOICES[0] in hint(bar)
        rules_file = remembered_rules_file(workspace)
        assert not rules_file.exists()
        await pilot.press("down", "down", "down")
        assert PREFIX in hint(bar)  # the rule that will be saved, before it is
        await pilot.press("enter")
        # The next command matches the prefix: it runs without asking.
        await until(pilot, lambda: asking(app, ApprovalBar) is not None and "rm -rf" in title(app))
        assert tomllib.loads(rules_file.read_text())["auto_approve"]["always_allow"] == [
            "command:python3 -m calc.cli"
        ]
        # The chain does not match it: asked, and rejected here.
        await pilot.press("n", "enter")
        await idle(pilot)
    results = tool_results(llm_env)
    assert "result 5" in results[0] and "result 20" in results[1]
    assert "rejected" in results[2].lower()
    assert (workspace / "calc" / "cli.py").exists()


def title(app: KiloApp) -> str:
    request = app.screen.query_one(ApprovalBar).request
    return request.title if request is not None else ""


# ------------------------------------------------------------- the bar's keys


@pytest.fixture
def runtime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> StandInRuntime:
    monkeypatch.setenv("KILO_TUI_HOME", str(tmp_path / "home"))
    return StandInRuntime(tmp_path)


def stand_in_app(runtime: StandInRuntime) -> KiloApp:
    return KiloApp(runtime.workspace, runtime.settings, runtime=runtime)  # type: ignore[arg-type]


def command_request() -> ev.ApprovalRequested:
    return ev.ApprovalRequested(
        request_id="r1",
        kind="command",
        tool="execute_command",
        title="Run `python3 -m calc.cli add 2 3`",
        detail="python3 -m calc.cli add 2 3",
        always_allow_rule=CHOICES[0],
        always_allow_choices=CHOICES,
    )


async def shown(pilot: Pilot[None]) -> ApprovalBar:
    await until(pilot, lambda: asking(pilot.app, ApprovalBar) is not None, timeout=5)  # type: ignore[arg-type]
    return pilot.app.screen.query_one(ApprovalBar)


async def test_escape_backs_out_of_the_choice_without_approving(runtime: StandInRuntime) -> None:
    app = stand_in_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        answer = app.run_worker(runtime.bus.request(command_request()))
        bar = await shown(pilot)
        await pilot.press("exclamation_mark", "down", "escape")
        await pilot.pause()
        assert not answer.is_finished and runtime.cancelled == 0
        assert bar.choices() == () and "y approve" in hint(bar)
        await pilot.press("y")
        await answer.wait()
        assert answer.result == ev.ApprovalReply(approved=True)


async def test_the_default_is_the_exact_command(runtime: StandInRuntime) -> None:
    app = stand_in_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        answer = app.run_worker(runtime.bus.request(command_request()))
        await shown(pilot)
        await pilot.press("exclamation_mark", "enter")  # no pause: the keys reach the choice
        await answer.wait()
        assert answer.result == ev.ApprovalReply(approved=True, always=True, always_rule=CHOICES[0])


async def test_while_choosing_typing_goes_to_the_prompt_and_answers_nothing(
    runtime: StandInRuntime,
) -> None:
    app = stand_in_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        answer = app.run_worker(runtime.bus.request(command_request()))
        bar = await shown(pilot)
        await pilot.press("exclamation_mark", *"why no")  # y and n among them
        await pilot.pause()
        prompt = app.screen.query_one(PromptInput)
        assert prompt.text == "why no" and isinstance(app.focused, PromptInput)
        assert not answer.is_finished and bar.choices() == ()


async def test_a_draft_in_the_prompt_keeps_the_exclamation_mark(runtime: StandInRuntime) -> None:
    app = stand_in_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*"wow")
        answer = app.run_worker(runtime.bus.request(command_request()))
        bar = await shown(pilot)
        await pilot.press("exclamation_mark", "enter")
        await pilot.pause()
        assert runtime.submitted == ["wow!"]
        assert not answer.is_finished and bar.choices() == ()
