"""End to end: ``kilo-tui run`` exits without interpreter teardown, and loses nothing.

The real binary, its stdout a pipe (block-buffered, the case a fast exit can lose),
an MCP server running as its child, and a result far larger than a pipe buffer. After
it exits on its own (nothing is killed): the printed result is whole, the session
store holds every message and event through the last checkpoint, and the MCP server
is gone.
"""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from pathlib import Path

from kilo_tui.core import events as ev
from kilo_tui.core.sessions import SessionStore
from tests.e2e.cli import BIN, FIX_DIFF, MODEL, env_for
from tests.fakeserver import FakeLLMServer, Turn, tool_call
from tests.mcp_servers.helpers import TOY_ENTRY, project_settings

RESULT = "\n".join(f"line {n}: add() now adds." for n in range(3_000))  # ~80 KB


def processes_with(marker: str) -> list[int]:
    """Live processes whose environment holds ``marker`` (zombies are dead: skipped).

    Found through /proc from outside, so a server in the sandbox's PID namespace is
    seen too."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if marker.encode() in (entry / "environ").read_bytes() and (
                "\nState:\tZ" not in (entry / "status").read_text()
            ):
                found.append(int(entry.name))
        except (OSError, ValueError):
            continue
    return found


def test_a_fast_exit_loses_nothing_and_leaves_no_child(
    fake_llm: FakeLLMServer, home: Path, workspace: Path
) -> None:
    (workspace / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    marker = f"KILO_FAST_EXIT_{uuid.uuid4().hex}"
    toy = {**TOY_ENTRY, "env": {marker: "1"}}
    project_settings(workspace, {"toy": toy}, home=home)
    fake_llm.script(
        Turn.tool("read_file", path="calc.py"),
        Turn.tool("apply_diff", path="calc.py", diff=FIX_DIFF),
        Turn(tool_calls=[tool_call("attempt_completion", result=RESULT)], chunk_size=8192),
    )

    proc = subprocess.run(
        [str(BIN), "run", "--yolo", "--model", MODEL, "fix add in calc.py"],
        # As users run it: stdout a block-buffered pipe (this sandbox sets unbuffered).
        env={k: v for k, v in env_for(fake_llm, home).items() if k != "PYTHONUNBUFFERED"},
        cwd=workspace,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == RESULT + "\n"
    assert "✓ task completed" in proc.stderr
    # The MCP server was started (the model was told its tools), and ended with the run.
    first = next(b for b in fake_llm.chat_requests if b["model"] == "fake-model")
    assert "Return the text unchanged." in first["messages"][0]["content"]
    deadline = time.monotonic() + 10
    while processes_with(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert processes_with(marker) == [], "the MCP server outlived kilo-tui"
    # The store is complete: every message the model was sent, and every event up to
    # the checkpoint taken after the last step.
    store = SessionStore(home / "data" / "sessions.sqlite3")
    try:
        (record,) = store.list_tasks()
        messages = store.load_messages(record.id)
        events = store.load_events(record.id)
    finally:
        store.close()
    last_request = [b for b in fake_llm.chat_requests if b["model"] == "fake-model"][-1]
    sent = last_request["messages"][1:]  # after the system prompt
    # What the model was last sent, then the final call and its result.
    assert [(m["role"], m.get("content") or "") for m in messages[: len(sent)]] == [
        (m["role"], m.get("content") or "") for m in sent
    ]
    assert [m["role"] for m in messages[len(sent) :]] == ["assistant", "tool"]
    assert RESULT in messages[-2]["tool_calls"][0]["function"]["arguments"].replace("\\n", "\n")
    completed = [e for e in events if isinstance(e, ev.TaskCompleted)]
    assert completed and completed[0].result == RESULT
    checkpoints = [e.trigger for e in events if isinstance(e, ev.CheckpointCreated)]
    assert checkpoints[-1] == "end_of_turn"
    assert os.path.getsize(home / "data" / "sessions.sqlite3") > 0
