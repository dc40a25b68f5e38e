"""The harness for the path attacks: a real AgentRuntime whose model is the fake
provider over HTTP, so every attack is a tool call the model really makes, and every
assertion is about what the model receives next or what lands on disk."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from kilo_tui.core import events as ev
from kilo_tui.core.agent.runtime import AgentRuntime
from tests.fakeserver import FakeLLMServer, Turn

SECRET = "TOP-SECRET-7f3a9c"
"""Planted in every file the agent must not reveal; it must never reach the model."""


@dataclass
class Agent:
    """One runtime on a workspace; :meth:`call` makes the model call one tool."""

    runtime: AgentRuntime
    server: FakeLLMServer
    workspace: Path
    events: list[ev.Event] = field(default_factory=list)

    async def call(self, name: str, timeout: float = 60, **args: Any) -> str:
        """The tool result the model gets back for ``name(**args)``."""
        self.server.script(Turn.tool(name, **args), Turn.tool("attempt_completion", result="ok"))
        await asyncio.wait_for(self.runtime.submit(f"please run {name}"), timeout)
        return self.tool_results()[-1]

    async def say(self, text: str, timeout: float = 60) -> str:
        """Send a user message; returns it as the model received it (mentions expanded)."""
        self.server.script(Turn.tool("attempt_completion", result="ok"))
        await asyncio.wait_for(self.runtime.submit(text), timeout)
        users = [m for m in self.requests()[-1]["messages"] if m["role"] == "user"]
        return str(users[-1]["content"])

    def requests(self) -> list[dict[str, Any]]:
        return [b for b in self.server.chat_requests if b.get("model") == "fake-model"]

    def tool_results(self) -> list[str]:
        last = self.requests()[-1]
        return [m["content"] for m in last["messages"] if m["role"] == "tool"]

    def everything_sent(self) -> str:
        """Every request body the model received, as one string."""
        return repr(self.server.chat_requests)


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A file next to the workspace, holding the secret."""
    path = tmp_path / "outside.txt"
    path.write_text(f"line one\n{SECRET}\nline three\n")
    return path


@pytest.fixture
def kilo_home(llm_env: FakeLLMServer) -> Path:
    """kilo-tui's config and data directory for the in-process agent."""
    return Path(os.environ["KILO_TUI_HOME"])


@pytest.fixture
async def make_agent(
    make_runtime: Callable[..., AgentRuntime], llm_env: FakeLLMServer, workspace: Path
) -> AsyncIterator[Callable[..., Agent]]:
    """Build an :class:`Agent` on the suite's ``make_runtime`` (tests/security/conftest)."""
    made: list[Agent] = []

    def make(config: str = "", *, interactive: bool = False) -> Agent:
        agent = Agent(make_runtime(interactive=interactive, config=config), llm_env, workspace)
        agent.runtime.bus.subscribe(agent.events.append)
        made.append(agent)
        return agent

    yield make
    for agent in made:
        await agent.runtime.aclose()
