"""Issue 5 end to end in the app: the agent proposes an apply_diff with two hunks; the user
accepts the first and rejects the second with feedback; only the first reaches the disk
and the model's next request says hunk 2 was rejected, with the feedback."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from kilo_tui.core.config import Settings
from kilo_tui.tui.screens.diff_review import DiffReviewScreen
from kilo_tui.tui.widgets.tool_block import ToolBlock
from tests.fakeserver import FakeLLMServer, Turn
from tests.tui.pilot import idle, make_app, screen_lines, type_and_send, until

pytestmark = pytest.mark.timeout(90)

ORIGINAL = "".join(f"line {i}\n" for i in range(1, 41))
TWO_HUNKS = """<<<<<<< SEARCH
:start_line:3
-------
line 3
=======
line three
>>>>>>> REPLACE
<<<<<<< SEARCH
:start_line:35
-------
line 35
=======
line thirty-five
>>>>>>> REPLACE"""


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (root / "numbers.txt").write_text(ORIGINAL)
    return root


def last_tool_result(server: FakeLLMServer) -> str:
    requests = [b for b in server.chat_requests if b["model"] == "fake-model"]
    return [m for m in requests[-1]["messages"] if m["role"] == "tool"][-1]["content"]


async def test_accept_one_hunk_reject_the_other_with_feedback(
    workspace: Path, settings: Settings, llm_env: FakeLLMServer
) -> None:
    llm_env.script(
        Turn.tool("apply_diff", path="numbers.txt", diff=TWO_HUNKS),
        Turn.tool("attempt_completion", result="edited"),
    )
    app = make_app(workspace, settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await type_and_send(pilot, "rename two lines")
        await until(pilot, lambda: isinstance(app.screen, DiffReviewScreen))
        assert (workspace / "numbers.txt").read_text() == ORIGINAL  # nothing written yet
        await pilot.press("a")  # accept hunk 1 (focus moves on)
        await pilot.pause()
        await pilot.press("r")  # reject hunk 2: asks for feedback
        await pilot.pause()
        await pilot.press(*"keep 35 as a number", "enter")
        await pilot.pause()
        # The feedback shows on the hunk it is about, right under its header.
        lines = screen_lines(app)
        header = next(i for i, line in enumerate(lines) if "hunk 2 of 2" in line)
        assert "✗ rejected" in lines[header]
        assert 'feedback: "keep 35 as a number"' in lines[header + 1]
        assert not any("keep 35" in line for line in lines[:header])
        await pilot.press("enter")  # submit the per-hunk decisions
        await idle(pilot)
        await pilot.pause()
        # The chat reports what was written (one hunk), not what was proposed (two).
        assert app.screen.query_one(ToolBlock).summary == "+1 −1"
    text = (workspace / "numbers.txt").read_text()
    assert "line three\n" in text and "line 35\n" in text and "thirty-five" not in text
    report = last_tool_result(llm_env)
    assert "- hunk 1 (lines 1–6): applied\n" in report
    assert '- hunk 2 (lines 32–38): rejected — user feedback: "keep 35 as a number"' in report


async def test_reject_whole_change_with_n(
    workspace: Path, settings: Settings, llm_env: FakeLLMServer
) -> None:
    llm_env.script(
        Turn.tool("apply_diff", path="numbers.txt", diff=TWO_HUNKS),
        Turn.tool("attempt_completion", result="gave up"),
    )
    app = make_app(workspace, settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await type_and_send(pilot, "rename two lines")
        await until(pilot, lambda: isinstance(app.screen, DiffReviewScreen))
        await pilot.press("n")
        await pilot.pause()
        await pilot.press(*"not now", "enter")
        await idle(pilot)
    assert (workspace / "numbers.txt").read_text() == ORIGINAL
    assert "not now" in last_tool_result(llm_env)


async def test_an_edit_in_the_editor_is_reviewed_before_it_is_written(
    workspace: Path,
    settings: Settings,
    llm_env: FakeLLMServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """e opens the proposal in $EDITOR; the user's version comes back to the viewer,
    labelled, and is written only when submitted; the model is told it was the user's."""
    script = tmp_path / "editor.py"
    script.write_text(
        "import sys, pathlib\n"
        "p = pathlib.Path(sys.argv[1])\n"
        "p.write_text(p.read_text().replace('line three', 'line 3 (third)'))\n"
    )
    monkeypatch.setenv("VISUAL", f"{sys.executable} {script}")
    llm_env.script(
        Turn.tool("apply_diff", path="numbers.txt", diff=TWO_HUNKS),
        Turn.tool("attempt_completion", result="edited"),
    )
    app = make_app(workspace, settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await type_and_send(pilot, "rename two lines")
        await until(pilot, lambda: isinstance(app.screen, DiffReviewScreen))
        await pilot.press("e")
        await until(pilot, lambda: "edited by you" in str(app.screen.query_one("#title").render()))
        assert any("line 3 (third)" in line for line in screen_lines(app))
        assert (workspace / "numbers.txt").read_text() == ORIGINAL
        await pilot.press("enter")
        await idle(pilot)
    expected = ORIGINAL.replace("line 3\n", "line 3 (third)\n").replace(
        "line 35\n", "line thirty-five\n"
    )
    assert (workspace / "numbers.txt").read_text() == expected
    report = last_tool_result(llm_env)
    assert "the user's version" in report and "+line 3 (third)" in report
