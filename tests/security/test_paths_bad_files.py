"""Bad files never crash or hang a tool (issue 11).

The real ``kilo-tui run`` binary, driven by the fake provider, meets a workspace full
of files that break naive code: a FIFO (opening it for reading blocks forever), links to
``/dev/zero`` and a device node (reading never ends), a socket, a symlink loop, a name
longer than the filesystem allows, a sparse file of many gigabytes. The process runs
with a memory ceiling, so an unbounded read fails the test instead of the machine.
Every tool call must come back to the model as a clear error, and the task must finish.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import shutil
import socket
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.cli import BIN, CONFIG, MODEL, env_for
from tests.fakeserver import FakeLLMServer, Turn, tool_call

MEMORY_CEILING = 3 * 1024**3
LONG = "n" * 300


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CEILING, MEMORY_CEILING))


@pytest.fixture
def hostile(tmp_path: Path) -> Iterator[Path]:
    ws = tmp_path / "project"
    ws.mkdir()
    (ws / "app.py").write_text("x = 1\n")
    os.mkfifo(ws / "pipe")
    (ws / "zero").symlink_to("/dev/zero")
    (ws / "loop").symlink_to("loop")
    with open(ws / "huge.txt", "wb") as fh:  # sparse: no disk used
        fh.truncate(8 * 1024**3)
    if os.geteuid() == 0:
        os.mknod(ws / "devzero", stat.S_IFCHR | 0o666, os.makedev(1, 5))
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(ws / "sock"))
    yield ws
    sock.close()
    _unblock_fifo_readers(ws / "pipe")


def _unblock_fifo_readers(fifo: Path) -> None:
    """On failure a reader may still hang on the FIFO: give it a writer, then EOF."""
    with contextlib.suppress(OSError):
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))


CALLS: list[tuple[str, dict[str, Any]]] = [
    ("read_file", {"path": "pipe"}),
    ("search_files", {"path": ".", "regex": "x"}),
    ("search_files", {"path": "pipe", "regex": "x"}),
    ("list_files", {"path": ".", "recursive": True}),
    ("read_file", {"path": "zero"}),
    ("read_file", {"path": "devzero"}),
    ("read_file", {"path": "sock"}),
    ("read_file", {"path": "loop"}),
    ("write_to_file", {"path": "loop", "content": "x\n"}),
    ("apply_diff", {"path": "pipe", "diff": "<<<<<<< SEARCH\nx\n=======\ny\n>>>>>>> REPLACE"}),
    ("write_to_file", {"path": "pipe", "content": "x\n"}),
    ("read_file", {"path": LONG}),
    ("write_to_file", {"path": LONG, "content": "x\n"}),
    ("list_files", {"path": LONG}),
    ("search_files", {"path": LONG, "regex": "x"}),
    ("read_file", {"path": "huge.txt", "start_line": 1, "end_line": 3}),
]


def test_every_bad_file_is_a_clear_tool_error(
    fake_llm: FakeLLMServer, tmp_path: Path, hostile: Path
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text(CONFIG)
    fake_llm.script(
        *(Turn.tools(tool_call(name, **args)) for name, args in CALLS),
        Turn.tool("attempt_completion", result="survived"),
    )
    proc = subprocess.run(
        [str(BIN), "run", "--yolo", "--json", "--model", MODEL, "go"],
        env=env_for(fake_llm, home),
        cwd=hostile,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=_limit_memory,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    stream = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    assert stream[-1]["type"] == "task_completed", stream[-3:]
    finished = [e for e in stream if e["type"] == "tool_call_finished"]
    assert [e["name"] for e in finished[: len(CALLS)]] == [name for name, _ in CALLS]
    results = {
        f"{name} {args['path']}": e
        for (name, args), e in zip(CALLS, finished[: len(CALLS)], strict=True)
    }
    for key, event in results.items():
        if key.startswith("list_files .") or key.startswith("search_files ."):
            assert not event["is_error"], (key, event["result"])
        else:
            assert event["is_error"], (key, event["result"])
    assert "FIFO" in results["read_file pipe"]["result"]
    assert "device" in results["read_file zero"]["result"]
    assert "socket" in results["read_file sock"]["result"]
    assert "loop" in results["read_file loop"]["result"].lower()
    assert "too long" in results[f"read_file {LONG}"]["result"]
    assert "binary" in results["read_file huge.txt"]["result"]


NO_DAC_OVERRIDE = ["setpriv", "--bounding-set=-dac_override,-dac_read_search"]
"""Root without the capabilities that bypass file permissions."""

UNREADABLE_CALLS: list[tuple[str, dict[str, Any]]] = [
    ("read_file", {"path": "locked.txt"}),
    (
        "apply_diff",
        {"path": "locked.txt", "diff": "<<<<<<< SEARCH\nx\n=======\ny\n>>>>>>> REPLACE"},
    ),
    ("write_to_file", {"path": "locked.txt", "content": "x\n"}),
    ("list_files", {"path": "closed"}),
    ("read_file", {"path": "closed/inner.txt"}),
    ("search_files", {"path": "closed", "regex": "x"}),
]


@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None,
    reason="needs root and setpriv, to drop the capability that reads any file",
)
def test_unreadable_files_and_directories_are_clear_tool_errors(
    fake_llm: FakeLLMServer, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text(CONFIG)
    ws = tmp_path / "project"
    ws.mkdir()
    (ws / "locked.txt").write_text("x\n")
    (ws / "locked.txt").chmod(0)
    (ws / "closed").mkdir()
    (ws / "closed" / "inner.txt").write_text("x\n")
    (ws / "closed").chmod(0)
    fake_llm.script(
        *(Turn.tools(tool_call(name, **args)) for name, args in UNREADABLE_CALLS),
        Turn.tool("attempt_completion", result="survived"),
    )
    try:
        proc = subprocess.run(
            [*NO_DAC_OVERRIDE, str(BIN), "run", "--yolo", "--json", "--model", MODEL, "go"],
            env=env_for(fake_llm, home),
            cwd=ws,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        (ws / "closed").chmod(0o755)
    assert proc.returncode == 0, proc.stderr[-3000:]
    stream = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    assert stream[-1]["type"] == "task_completed", stream[-3:]
    finished = [e for e in stream if e["type"] == "tool_call_finished"][: len(UNREADABLE_CALLS)]
    for (name, args), event in zip(UNREADABLE_CALLS, finished, strict=True):
        assert event["is_error"], (name, args, event["result"])
        assert "ermission denied" in event["result"], (name, event["result"])
    assert (ws / "locked.txt").stat().st_mode & 0o777 == 0  # nothing was written
