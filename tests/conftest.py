"""Shared fixtures.

LLM tests talk to :class:`tests.fakeserver.FakeLLMServer` through real litellm; use the
model string ``FAKE_MODEL`` (any ``openai/…`` name works).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakeserver import FakeLLMServer

FAKE_MODEL = "openai/fake-model"


def pytest_configure(config: pytest.Config) -> None:
    # litellm's own deprecation noise (pydantic 2.11 attribute access, …). The app
    # silences it in litellm_loader, but pytest resets warning filters per test.
    config.addinivalue_line("filterwarnings", "ignore::DeprecationWarning:litellm")
    # litellm dumping an embedding response with base64 vectors (see litellm_loader).
    config.addinivalue_line("filterwarnings", "ignore:Pydantic serializer warnings:UserWarning")


@pytest.fixture(autouse=True)
def no_real_kilo_gateway(monkeypatch: pytest.MonkeyPatch) -> None:
    """Point the Kilo gateway at a closed local port: a test never reaches api.kilo.ai.

    Tests of the gateway set ``KILO_API_URL`` to their fake gateway instead.
    """
    monkeypatch.setenv("KILO_API_URL", "http://127.0.0.1:9")


@pytest.fixture
def fake_llm() -> Iterator[FakeLLMServer]:
    """A fake OpenAI-compatible server on 127.0.0.1: ``.base_url``, ``.script()``, ``.requests``."""
    with FakeLLMServer() as server:
        yield server


@pytest.fixture
def llm_env(
    fake_llm: FakeLLMServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> FakeLLMServer:
    """Point the OpenAI environment at ``fake_llm`` and KILO_TUI_HOME at a temp dir."""
    monkeypatch.setenv("OPENAI_API_KEY", "x")
    monkeypatch.setenv("OPENAI_API_BASE", fake_llm.base_url)
    monkeypatch.setenv("KILO_TUI_HOME", str(tmp_path / "kilo-home"))
    return fake_llm
