"""Fixtures for the agent tests: a workspace and runtimes on the fake provider."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kilo_tui.core.agent.runtime import AgentRuntime
from kilo_tui.core.config import load_settings
from tests.fakeserver import FakeLLMServer

MODEL = "openai/fake-model"
BASE_CONFIG = "[agent]\nretry_base_delay = 0.01\n"


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "project"
    ws.mkdir()
    (ws / "app.py").write_text("print('hello')\n")
    return ws


@pytest.fixture
def make_runtime(
    llm_env: FakeLLMServer, tmp_path: Path, workspace: Path
) -> Iterator[Callable[..., AgentRuntime]]:
    """``make(config)`` builds a runtime; ``config`` is appended inside ``[agent]``."""
    made: list[AgentRuntime] = []
    home = tmp_path / "kilo-home"
    home.mkdir(exist_ok=True)

    def make(
        config: str = "",
        *,
        interactive: bool = True,
        yolo: bool = False,
        model: str = MODEL,
        mode: str | None = None,
        small_model: str = "openai/fake-small",
    ) -> AgentRuntime:
        (home / "config.toml").write_text(f'small_model = "{small_model}"\n' + BASE_CONFIG + config)
        settings = load_settings(workspace, overrides={"model": model, "mode": mode})
        runtime = AgentRuntime(
            workspace=workspace, settings=settings, interactive=interactive, yolo=yolo
        )
        made.append(runtime)
        return runtime

    yield make
    for runtime in made:
        runtime.store.close()
