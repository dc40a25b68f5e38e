"""Fixtures shared by the TUI tests."""

from __future__ import annotations

import pytest

from kilo_tui.core.config import Settings
from tests.fakeserver import FakeLLMServer


@pytest.fixture
def settings(llm_env: FakeLLMServer) -> Settings:
    """A model on the fake server, and the small model on its own reply queue."""
    return Settings(model="openai/fake-model", small_model="openai/fake-small")
