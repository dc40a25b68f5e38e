"""Fixtures for the adversarial suite: a fresh user home and a hostile workspace."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kilo_tui.core import events as ev
from kilo_tui.core.agent.runtime import AgentRuntime
from kilo_tui.core.config import load_settings
from kilo_tui.core.events import ApprovalReply
from tests.e2e.cli import CONFIG, MODEL, agent_requests, tool_messages
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


@pytest.fixture
def make_runtime(
    llm_env: FakeLLMServer, tmp_path: Path, workspace: Path
) -> Iterator[Callable[..., AgentRuntime]]:
    """Build an in-process agent for ``workspace`` on the fake provider."""
    made: list[AgentRuntime] = []
    home = Path(os.environ["KILO_TUI_HOME"])
    home.mkdir(exist_ok=True)

    def make(*, interactive: bool = False, config: str = "") -> AgentRuntime:
        (home / "config.toml").write_text(CONFIG + config)
        settings = load_settings(workspace, overrides={"model": MODEL})
        runtime = AgentRuntime(workspace=workspace, settings=settings, interactive=interactive)
        made.append(runtime)
        return runtime

    yield make
    for runtime in made:
        runtime.store.close()


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
