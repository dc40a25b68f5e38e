"""Running the real kilo-tui binary against the fake provider, for the end-to-end tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.fakeserver import FakeLLMServer, without_environment

BIN = Path(sys.executable).parent / "kilo-tui"
MODEL = "openai/fake-model"
# apply_diff's SEARCH/REPLACE fixing the bug the end-to-end workspaces start with.
FIX_DIFF = """<<<<<<< SEARCH
:start_line:2
-------
    return a - b
=======
    return a + b
>>>>>>> REPLACE"""
# Fast retries, so error tests take milliseconds; titles on the fake small model, whose
# replies are queued apart from the main loop's.
CONFIG = 'small_model = "openai/fake-small"\n[agent]\nretry_base_delay = 0.01\n'


def env_for(server: FakeLLMServer, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI", "KILO_TUI"))}
    env.update(
        OPENAI_API_KEY="sk-test",
        OPENAI_API_BASE=server.base_url,
        KILO_TUI_HOME=str(home),
        HOME=str(home),
    )
    return env


def run(
    args: list[str],
    *,
    env: dict[str, str],
    cwd: Path,
    timeout: float = 90,
    stdin: str | None = None,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN), *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        input=stdin,
    )


def events(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def agent_requests(server: FakeLLMServer) -> list[dict[str, Any]]:
    """The loop's requests (on the main model; titles go to the small model)."""
    return [body for body in server.chat_requests if body.get("model") == "fake-model"]


def tool_messages(request: dict[str, Any]) -> list[str]:
    """The tool results of a request, as the tools wrote them."""
    return [without_environment(m["content"]) for m in request["messages"] if m["role"] == "tool"]


def start(
    args: list[str], *, env: dict[str, str], cwd: Path, replies: bool = False
) -> subprocess.Popen[str]:
    """Start the binary without waiting (stdout and stderr piped; stdin closed, or a
    pipe for ``--stdin-replies`` when ``replies``)."""
    return subprocess.Popen(
        [str(BIN), *args],
        env=env,
        cwd=cwd,
        stdin=subprocess.PIPE if replies else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_pause(proc: subprocess.Popen[str], point: str, timeout: float = 90) -> None:
    """Block until ``proc`` (started with ``KILO_TUI_TEST_PAUSE=point``) stops there.

    Fails with the process's stderr if it exits or does not get there in time.
    """
    import queue
    import threading

    assert proc.stderr is not None
    lines: queue.Queue[str] = queue.Queue()
    seen: list[str] = []

    def read() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.put(line)
            if line.startswith("KILO_TUI_TEST_PAUSED"):
                return
        lines.put("")

    threading.Thread(target=read, daemon=True).start()
    deadline = time.monotonic() + timeout
    while True:
        try:
            line = lines.get(timeout=max(deadline - time.monotonic(), 0.01))
        except queue.Empty:
            raise AssertionError(f"never paused at {point}:\n{''.join(seen)}") from None
        if not line:
            raise AssertionError(f"exited before pausing at {point}:\n{''.join(seen)}")
        seen.append(line)
        if line.strip() == f"KILO_TUI_TEST_PAUSED {point}":
            return
