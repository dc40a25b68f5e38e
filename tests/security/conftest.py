"""Fixtures for the adversarial suite: a fresh user home and a hostile workspace."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from kilo_tui.core import events as ev
from kilo_tui.core.agent.runtime import AgentRuntime
from kilo_tui.core.events import ApprovalReply
from tests.core.conftest import make_runtime  # noqa: F401  (the agent tests' fixture)
from tests.e2e.cli import CONFIG, agent_requests, tool_messages
from tests.fakeserver import FakeLLMServer


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The user's kilo-tui home (config + data), also for in-process code."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text(CONFIG)
    monkeypatch.setenv("KILO_TUI_HOME", str(home))
    return home


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A freshly cloned repository: nothing in it was written by the user."""
    ws = tmp_path / "cloned"
    ws.mkdir()
    (ws / "README.md").write_text("# a project\n")
    return ws


def answer_approvals(runtime: AgentRuntime, reply: ApprovalReply) -> list[ev.ApprovalRequested]:
    """Answer every approval the agent asks for with ``reply``, as the TUI would."""
    asked: list[ev.ApprovalRequested] = []

    def on_request(event: ev.ApprovalRequested) -> None:
        asked.append(event)
        asyncio.get_running_loop().call_soon(runtime.bus.reply, event.request_id, reply)

    runtime.bus.subscribe(on_request, ev.ApprovalRequested)
    return asked


def tool_results(server: FakeLLMServer) -> list[str]:
    """Every tool result the model received, over all of the loop's requests."""
    return [m for request in agent_requests(server) for m in tool_messages(request)]
