"""Running the real kilo-tui binary against the fake provider, for the end-to-end tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.fakeserver import FakeLLMServer

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
    return [m["content"] for m in request["messages"] if m["role"] == "tool"]
