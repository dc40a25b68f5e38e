"""The built-in tools, run directly with a real bus and a recording approver."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from kilo_tui.core import events as ev
from kilo_tui.core.bus import EventBus
from kilo_tui.core.tools.base import Decision, EditOutcome, TaskState, ToolContext, ToolError
from kilo_tui.core.tools.command import EXECUTE_COMMAND, head_and_tail
from kilo_tui.core.tools.files import (
    LIST_FILES,
    MAX_SEARCH_RESULTS,
    READ_FILE,
    SEARCH_FILES,
    WRITE_TO_FILE,
)
from kilo_tui.core.tools.flow import UPDATE_TODO_LIST, parse_todos
from kilo_tui.core.trust.ignore import IgnoreMatcher
from kilo_tui.core.trust.paths import WorkspacePaths
from tests.mcp_servers.helpers import alive


class Harness:
    """A ToolContext whose approvals and proposals are recorded, not asked."""

    def __init__(self, workspace: Path, *, approve: bool = True) -> None:
        self.workspace = workspace
        self.bus = EventBus()
        self.events: list[ev.Event] = []
        self.bus.subscribe(self.events.append)
        self.approvals: list[dict[str, Any]] = []
        self.proposals: list[dict[str, Any]] = []
        self.checkpoints: list[str] = []
        self.approve_all = approve
        self.cancel = asyncio.Event()
        self.state = TaskState()

    def context(self) -> ToolContext:
        async def approve(**kwargs: Any) -> Decision:
            self.approvals.append(kwargs)
            return Decision(self.approve_all, feedback="" if self.approve_all else "no")

        async def propose_edit(**kwargs: Any) -> EditOutcome:
            self.proposals.append(kwargs)
            return EditOutcome(applied=True, content=kwargs["new"], report="applied")

        async def checkpoint(trigger: str) -> None:
            self.checkpoints.append(trigger)

        ignore = IgnoreMatcher(self.workspace)
        return ToolContext(
            workspace=self.workspace,
            task_id="t",
            call_id="c",
            bus=self.bus,
            approve=approve,
            propose_edit=propose_edit,
            checkpoint=checkpoint,
            paths=WorkspacePaths(self.workspace, ignore),
            state=self.state,
            cancel=self.cancel,
        )


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text("".join(f"line {i}\n" for i in range(1, 11)))
    (tmp_path / "src" / "util.py").write_text("def helper():\n    return 42\n")
    (tmp_path / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    (tmp_path / ".gitignore").write_text("build/\n")
    (tmp_path / "build").mkdir()
    (tmp_path / "build" / "out.py").write_text("def helper(): pass\n")
    (tmp_path / ".kilocodeignore").write_text("secrets.env\n")
    (tmp_path / "secrets.env").write_text("TOKEN=hunter2\n")
    return tmp_path


async def test_read_file_numbers_lines_and_reads_ranges(ws: Path) -> None:
    h = Harness(ws)
    result = await READ_FILE.run(
        {"path": "src/app.py", "start_line": 3, "end_line": 4}, h.context()
    )
    assert result.content == "File: src/app.py (lines 3–4 of 10)\n3 | line 3\n4 | line 4"
    assert h.approvals[0]["kind"] == "read"


async def test_read_file_refuses_binaries_and_ignored_files(ws: Path) -> None:
    h = Harness(ws)
    with pytest.raises(ToolError, match="binary file"):
        await READ_FILE.run({"path": "logo.png"}, h.context())
    with pytest.raises(ToolError, match=r"\.kilocodeignore"):
        await READ_FILE.run({"path": "secrets.env"}, h.context())


async def test_read_file_truncates_huge_files_with_a_note(ws: Path) -> None:
    (ws / "big.txt").write_text("".join(f"{i}\n" for i in range(5000)))
    result = await READ_FILE.run({"path": "big.txt"}, Harness(ws).context())
    assert "Showing lines 1–2000 of 5000" in result.content
    assert "2000 | 1999" in result.content and "2001 |" not in result.content


async def test_write_to_file_proposes_without_touching_the_disk(ws: Path) -> None:
    h = Harness(ws)
    await WRITE_TO_FILE.run(
        {"path": "src/new.py", "content": "1 | x = 1\n2 | y = 2\n"}, h.context()
    )
    assert h.proposals == [
        {"tool": "write_to_file", "path": "src/new.py", "old": None, "new": "x = 1\ny = 2\n"}
    ]  # echoed line numbers stripped
    assert not (ws / "src" / "new.py").exists()  # the proposer decides, not the tool


async def test_list_files_honours_ignore_files(ws: Path) -> None:
    result = await LIST_FILES.run({"path": ".", "recursive": True}, Harness(ws).context())
    listed = result.content.splitlines()
    assert "src/app.py" in listed and "src/util.py" in listed
    assert not any(line.startswith("build/") for line in listed)


async def test_search_files_regex_pattern_and_ignores(ws: Path) -> None:
    result = await SEARCH_FILES.run(
        {"path": ".", "regex": r"def \w+\(", "file_pattern": "*.py"}, Harness(ws).context()
    )
    assert "# src/util.py" in result.content
    assert ">    1 │ def helper():" in result.content
    assert "build/out.py" not in result.content
    with pytest.raises(ToolError, match="Invalid regex"):
        await SEARCH_FILES.run({"path": ".", "regex": "("}, Harness(ws).context())


async def test_search_files_stops_at_the_result_cap(ws: Path) -> None:
    (ws / "many.txt").write_text("needle\n" * (MAX_SEARCH_RESULTS + 50))
    result = await SEARCH_FILES.run({"path": ".", "regex": "needle"}, Harness(ws).context())
    assert result.summary == f"{MAX_SEARCH_RESULTS} matches in ."
    assert "Narrow the search" in result.content


async def test_execute_command_streams_output_and_reports_the_exit_code(ws: Path) -> None:
    h = Harness(ws)
    result = await EXECUTE_COMMAND.run({"command": "echo out; echo err >&2; exit 3"}, h.context())
    assert "Exit code: 3" in result.content and result.is_error
    streamed = "".join(e.text for e in h.events if isinstance(e, ev.CommandOutput))
    assert "out" in streamed and "err" in streamed
    finished = [e for e in h.events if isinstance(e, ev.CommandFinished)]
    assert finished[0].exit_code == 3
    assert h.checkpoints == ["execute_command echo out; echo err >&2; exit 3"]
    assert h.state.last_command_output.startswith("out")


async def test_denied_command_does_not_run(ws: Path) -> None:
    h = Harness(ws, approve=False)
    result = await EXECUTE_COMMAND.run({"command": "touch ran"}, h.context())
    assert result.is_error and "denied" in result.content and "no" in result.content
    assert not (ws / "ran").exists()
    assert h.checkpoints == []


async def test_cancel_kills_the_command_and_its_children(ws: Path) -> None:
    h = Harness(ws)
    ctx = h.context()
    task = asyncio.create_task(
        EXECUTE_COMMAND.run({"command": "sleep 30 & echo $! > child.pid; wait"}, ctx)
    )
    while not (ws / "child.pid").exists() or not (ws / "child.pid").read_text().strip():
        await asyncio.sleep(0.05)
    start = time.monotonic()
    h.cancel.set()
    result = await asyncio.wait_for(task, 10)
    assert time.monotonic() - start < 5
    assert "cancelled" in result.content
    child = int((ws / "child.pid").read_text())
    for _ in range(50):
        if not alive(child):
            break
        await asyncio.sleep(0.1)
    assert not alive(child)


def test_long_output_reaches_the_model_as_head_and_tail() -> None:
    text = "".join(f"line {i}\n" for i in range(10_000))
    cut = head_and_tail(text, 2000)
    assert cut.startswith("line 0\n") and cut.rstrip().endswith("line 9999")
    assert "characters" in cut and "omitted" in cut and len(cut) < 2200


async def test_todo_list_parses_kilo_checklists(ws: Path) -> None:
    assert parse_todos("[x] plan\n[-] build\n[ ] ship\nnot a todo") == [
        {"text": "plan", "status": "completed"},
        {"text": "build", "status": "in_progress"},
        {"text": "ship", "status": "pending"},
    ]
    h = Harness(ws)
    await UPDATE_TODO_LIST.run({"todos": "- [x] a\n- [ ] b"}, h.context())
    assert [e.todos for e in h.events if isinstance(e, ev.TodoListUpdated)] == [
        ({"text": "a", "status": "completed"}, {"text": "b", "status": "pending"})
    ]
    with pytest.raises(ToolError):
        await UPDATE_TODO_LIST.run({"todos": "just words"}, h.context())


@pytest.mark.parametrize("regex", ["caf.", r"caf\w", "café", "TODO", "caf[^x]"])
async def test_search_finds_non_ascii_text_whatever_the_pattern(ws: Path, regex: str) -> None:
    (ws / "menu.txt").write_text("TODO: le café est prêt\n", encoding="utf-8")
    result = await SEARCH_FILES.run({"path": ".", "regex": regex}, Harness(ws).context())
    assert "# menu.txt" in result.content
