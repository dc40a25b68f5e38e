"""What is shown is what is sent (issue #14): ``@`` completion inserts a mention the
agent expands, the chat lists what was attached, and a mention that cannot be
expanded is flagged before the message goes.

The real AgentRuntime talks to the fake LLM server; each test asserts on the request
the model received.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kilo_tui.core.config import Settings
from kilo_tui.tui.widgets.chat import UserBlock
from kilo_tui.tui.widgets.prompt import PromptInput
from tests.fakeserver import FakeLLMServer, Turn, tool_call
from tests.tui.pilot import idle, make_app, until

pytestmark = pytest.mark.timeout(90)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "calc").mkdir(parents=True)
    (root / "calc" / "ops.py").write_text("def add(a, b):\n    return a - b  # OPS-MARKER\n")
    (root / "calc" / "cli.py").write_text("print('CLI-MARKER')\n")
    return root


def sent_user_text(server: FakeLLMServer) -> str:
    """The user messages of the agent's requests (titles go to the small model)."""
    bodies = [r["body"] for r in server.requests if r["body"].get("model") == "fake-model"]
    return json.dumps([m for b in bodies for m in b["messages"] if m["role"] == "user"])


def done(server: FakeLLMServer) -> None:
    server.script(Turn(tool_calls=[tool_call("attempt_completion", result="Read it.")]))


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_at_completion_inserts_a_mention_whose_content_reaches_the_model(
    workspace: Path, settings: Settings, llm_env: FakeLLMServer, size: tuple[int, int]
) -> None:
    done(llm_env)
    app = make_app(workspace, settings)
    async with app.run_test(size=size) as pilot:
        prompt = app.screen.query_one(PromptInput)
        await pilot.press(*"look at @/ca")
        await until(pilot, lambda: app.screen.query_one("#prompt").has_class("-completing"))
        await pilot.press("tab")
        assert prompt.text == "look at @/calc/"
        await pilot.press(*"ops")
        await pilot.pause(0.3)
        await pilot.press("tab")
        assert prompt.text == "look at @/calc/ops.py "
        await pilot.press("enter")
        await idle(pilot)
        assert "OPS-MARKER" in sent_user_text(llm_env)
        block = app.screen.query(UserBlock).first()
        assert "calc/ops.py" in str(block.render()) and "attached" in str(block.render())


async def test_relative_and_folder_mentions_typed_by_hand_are_expanded(
    workspace: Path, settings: Settings, llm_env: FakeLLMServer
) -> None:
    done(llm_env)
    app = make_app(workspace, settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*"see @calc/ops.py and @calc/", "escape", "enter")
        await idle(pilot)
        sent = sent_user_text(llm_env)
        assert "OPS-MARKER" in sent and "CLI-MARKER" in sent
        shown = str(app.screen.query(UserBlock).first().render())
        assert "calc/ops.py" in shown and "calc/ (folder)" in shown


async def test_a_mention_that_cannot_be_expanded_is_flagged_before_sending(
    workspace: Path, settings: Settings, llm_env: FakeLLMServer
) -> None:
    done(llm_env)
    app = make_app(workspace, settings)
    async with app.run_test(size=(80, 24)) as pilot:
        prompt = app.screen.query_one(PromptInput)
        await pilot.press(*"fix @calc/opz.py", "escape", "enter")
        await pilot.pause(0.3)
        assert prompt.text == "fix @calc/opz.py"  # kept, not sent
        assert llm_env.requests == []
        assert any("does not exist" in n.message for n in app._notifications)
        await pilot.press("enter")  # sent as is, on purpose
        await idle(pilot)
        assert llm_env.requests
        shown = str(app.screen.query(UserBlock).first().render())
        assert "not attached" in shown and "@calc/opz.py" in shown
