"""Two real kilo-tui binaries on one workspace, and the lock a killed one leaves.

Each spawn imports litellm (seconds of CPU), so these stay few: one test where two
``kilo-tui run`` s take checkpoints of the same workspace at once, one where the next
run meets the shadow repository's ``index.lock`` that a kill -9 left behind.
"""

from __future__ import annotations

import contextlib
import queue
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kilo_tui.core import paths
from kilo_tui.core.checkpoints import WAITING_MESSAGE, CheckpointManager
from tests.e2e.cli import env_for, events, run, start, wait_for_pause
from tests.fakeserver import FakeLLMServer, Turn


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "project"
    ws.mkdir()
    (ws / "readme.txt").write_text("a project\n")
    return ws


def writing(server: FakeLLMServer, model: str, name: str) -> list[str]:
    """Script ``model`` (its own reply queue) to write ``name`` and finish; returns the
    arguments of a ``kilo-tui run`` on that model."""
    server.script_for(
        model,
        Turn.tool("write_to_file", path=name, content=f"{name} from {model}\n"),
        Turn.tool("attempt_completion", result=f"{name} written."),
    )
    return ["run", "--yolo", "--json", "--model", f"openai/{model}", f"write {name}"]


@contextlib.contextmanager
def started(
    args: list[str], env: dict[str, str], cwd: Path, *, pause: str = ""
) -> Iterator[subprocess.Popen[str]]:
    """The binary running (stopped at the test hook ``pause``, if given); killed on
    the way out if it is still alive."""
    proc = start(args, env=env | {"KILO_TUI_TEST_PAUSE": pause} if pause else env, cwd=cwd)
    try:
        if pause:
            wait_for_pause(proc, pause)
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def lines_of(proc: subprocess.Popen[str]) -> queue.Queue[str]:
    """The process's stdout lines as they come ('' at the end)."""
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)
        lines.put("")

    threading.Thread(target=read, daemon=True).start()
    return lines


def wait_for_line(lines: queue.Queue[str], text: str, seen: list[str], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            line = lines.get(timeout=max(deadline - time.monotonic(), 0.01))
        except queue.Empty:
            raise AssertionError(f"never printed {text!r}:\n{''.join(seen)}") from None
        seen.append(line)
        if not line:
            raise AssertionError(f"exited before printing {text!r}:\n{''.join(seen)}")
        if text in line:
            return


def finish(proc: subprocess.Popen[str], lines: queue.Queue[str], seen: list[str]) -> str:
    """Wait for the process to exit; its whole stdout."""
    proc.wait(timeout=90)
    while (line := lines.get(timeout=30)) != "":
        seen.append(line)
    return "".join(seen)


def task_of(stdout: str) -> str:
    return next(str(e["task_id"]) for e in events(stdout) if e["type"] == "task_started")


def test_two_runs_on_one_workspace_take_turns_and_both_keep_their_checkpoints(
    fake_llm: FakeLLMServer, home: Path, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = env_for(fake_llm, home)
    left, right = (
        writing(fake_llm, "fake-left", "left.txt"),
        writing(fake_llm, "fake-right", "right.txt"),
    )
    # The first run stops while it holds the checkpoint lock (its first snapshot).
    with started(left, env, workspace, pause="checkpoint") as first:
        first_lines = lines_of(first)
        with started(right, env, workspace) as second:
            second_lines, second_seen, first_seen = lines_of(second), [], []
            wait_for_line(second_lines, WAITING_MESSAGE, second_seen)  # it says why it waits
            first.send_signal(signal.SIGCONT)
            outputs = [
                finish(first, first_lines, first_seen),
                finish(second, second_lines, second_seen),
            ]

    for proc, stdout in zip((first, second), outputs, strict=True):
        assert proc.returncode == 0, stdout
        kinds = [e["type"] for e in events(stdout)]
        assert "checkpoints_unavailable" not in kinds and "task_completed" in kinds
    monkeypatch.setenv("KILO_TUI_HOME", str(home))
    manager = CheckpointManager(workspace)
    checkpoints = manager.list()
    for stdout, name in zip(outputs, ("left.txt", "right.txt"), strict=True):
        mine = [cp for cp in checkpoints if cp.task_id == task_of(stdout)]
        assert any(manager.file_at(cp.id, name) for cp in mine), name  # its write is kept
    assert (workspace / "left.txt").exists() and (workspace / "right.txt").exists()


def test_a_git_lock_left_by_a_killed_run_is_cleared_by_the_next(
    fake_llm: FakeLLMServer, home: Path, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = env_for(fake_llm, home)
    with started(
        writing(fake_llm, "fake-left", "left.txt"), env, workspace, pause="checkpoint"
    ) as killed:
        killed.kill()
        killed.wait(timeout=30)
    # Its git, killed along with it mid-snapshot, leaves the shadow index locked.
    monkeypatch.setenv("KILO_TUI_HOME", str(home))
    lock = paths.checkpoints_dir(workspace) / "index.lock"
    lock.write_text("")

    proc = run(writing(fake_llm, "fake-right", "right.txt"), env=env, cwd=workspace)

    assert proc.returncode == 0, proc.stderr
    assert "checkpoints_unavailable" not in [e["type"] for e in events(proc.stdout)]
    assert not lock.exists()
    manager = CheckpointManager(workspace)
    mine = [cp for cp in manager.list() if cp.task_id == task_of(proc.stdout)]
    assert any(manager.file_at(cp.id, "right.txt") for cp in mine)
