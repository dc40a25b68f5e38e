"""The Kilo gateway, first-class: anonymous free use, tokens, defaults, rate limits.

All against :class:`tests.fakegateway.FakeGateway` on 127.0.0.1, reached through
``KILO_API_URL`` or ``[providers.kilo] api_base`` as a user would configure it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kilo_tui.core.agent.runtime import AgentRuntime
from kilo_tui.core.config import PROVIDER_KEY_ENV, load_settings
from kilo_tui.core.llm import gateway as gw
from kilo_tui.core.llm.catalog import Catalog
from tests.fakegateway import FREE_CHAT_IDS, FREE_DEFAULT, PAID_DEFAULT, FakeGateway
from tests.fakeserver import Turn

pytestmark = pytest.mark.timeout(60)

OFFLINE = {"ollama": {"enabled": False}, "lmstudio": {"enabled": False}}
ANONYMOUS = {**OFFLINE, "kilo": {"enabled": True}}  # as the first run's free choice saves


@pytest.fixture
def gateway(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGateway]:
    """A fresh home, no provider key anywhere, KILO_API_URL at the fake gateway."""
    for env in [*PROVIDER_KEY_ENV.values(), "KILO_API_KEY", "KILO_ORG_ID", "KILO_TUI_MODEL"]:
        monkeypatch.delenv(env, raising=False)
    monkeypatch.setenv("KILO_TUI_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    with FakeGateway() as server:
        monkeypatch.setenv("KILO_API_URL", server.root)
        yield server


def kilo_ids(catalog: Catalog) -> list[str]:
    return sorted(m.id for m in catalog.models() if m.provider == "kilo")


async def test_anonymous_lists_only_free_chat_models_with_the_anonymous_credential(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    catalog = Catalog(ANONYMOUS, cache_dir=tmp_path / "models")
    assert await catalog.refresh() == []
    assert kilo_ids(catalog) == sorted(FREE_CHAT_IDS)  # no paid, image, embedding model
    listing = next(r for r in gateway.requests if r["path"] == "/api/gateway/models")
    assert listing["headers"]["X-KILOCODE-EDITORNAME"] == "kilo-tui"
    assert {c.get("authorization") for c in gateway.credentials} == {"Bearer anonymous"}
    free = catalog.get("kilo/minimax/minimax-m2.1:free")
    assert free is not None and free.free and free.preferred_index == 2
    assert free.context_window == 128000 and free.supports_tools


async def test_with_a_token_every_chat_model_is_listed(
    gateway: FakeGateway, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KILOCODE_TOKEN", "kilo-token-good")
    catalog = Catalog(OFFLINE, cache_dir=tmp_path / "models")
    assert await catalog.refresh() == []
    ids = kilo_ids(catalog)
    assert {"kilo/auto", "kilo/anthropic/claude-sonnet-4.5", "kilo/openai/gpt-5"} <= set(ids)
    assert not any("embedding" in i or "image" in i or "no-tools" in i for i in ids)
    paid = catalog.get("kilo/openai/gpt-5")
    assert paid is not None and not paid.free and paid.input_price == 1.25
    assert {c.get("authorization") for c in gateway.credentials} == {"Bearer kilo-token-good"}


async def test_the_legacy_models_endpoint_is_the_fallback(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    gateway.legacy_only = True
    catalog = Catalog(ANONYMOUS, cache_dir=tmp_path / "models")
    assert await catalog.refresh() == []
    assert kilo_ids(catalog) == sorted(FREE_CHAT_IDS)
    paths = [r["path"] for r in gateway.requests]
    assert paths.index("/api/gateway/models") < paths.index("/api/openrouter/models")


async def test_a_refused_token_is_reported_and_a_good_one_accepted(gateway: FakeGateway) -> None:
    await gw.check_token({}, "kilo-token-good")
    with pytest.raises(gw.GatewayError) as info:
        await gw.check_token({}, "kilo-token-wrong")
    assert "refused the token (HTTP 401)" in str(info.value)
    assert gateway.credentials[-1]["authorization"] == "Bearer kilo-token-wrong"


async def test_no_model_and_no_key_the_gateways_free_default_answers(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    gateway.script(Turn.text("Hello from a free model."))
    runtime = AgentRuntime(workspace=tmp_path, settings=load_settings(), start_mcp=False)
    outcome = await runtime.submit("hi")
    await runtime.aclose()
    assert outcome.status in ("completed", "idle"), outcome
    assert gateway.chat_requests[0]["model"] == FREE_DEFAULT
    assert set(gateway.chat_credentials()) == {"Bearer anonymous"}
    assert runtime.model == f"kilo/{FREE_DEFAULT}"


async def test_only_a_kilo_token_means_the_gateways_default_model(
    gateway: FakeGateway, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KILOCODE_TOKEN", "kilo-token-good")
    monkeypatch.setenv("KILO_ORG_ID", "org-7")
    gateway.script(Turn.text("Hello."))
    runtime = AgentRuntime(workspace=tmp_path, settings=load_settings(), start_mcp=False)
    assert runtime.model != "openai/gpt-4o-mini"
    await runtime.submit("hi")
    await runtime.aclose()
    assert gateway.chat_requests[0]["model"] == PAID_DEFAULT
    assert set(gateway.chat_credentials()) == {"Bearer kilo-token-good"}
    assert "/api/organizations/org-7/defaults" in [r["path"] for r in gateway.requests]


async def test_the_per_ip_limit_says_what_happened_and_when_to_retry(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    gateway.per_ip_limit = 0
    runtime = AgentRuntime(workspace=tmp_path, settings=load_settings(), start_mcp=False)
    outcome = await runtime.submit("hi")
    await runtime.aclose()
    assert outcome.status == "failed"
    assert "429" in outcome.detail and "free usage from this IP" in outcome.detail
    assert "30 min" in outcome.detail
