"""The model catalog: bundled litellm data, live discovery against local servers, state."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from kilo_tui.core.llm import catalog as catalog_mod
from kilo_tui.core.llm.catalog import (
    Catalog,
    ModelInfo,
    filter_models,
    get_mode_model,
    load_model_state,
    record_recent,
    resolve_api_base,
    set_mode_model,
    toggle_favorite,
)
from kilo_tui.core.llm.discovery import sources

OFFLINE = {"ollama": {"enabled": False}, "lmstudio": {"enabled": False}}


@pytest.fixture(autouse=True)
def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KILO_TUI_HOME", str(tmp_path / "home"))
    for var in ("OPENROUTER_API_KEY", "KILOCODE_TOKEN", "LM_STUDIO_API_BASE"):
        monkeypatch.delenv(var, raising=False)


def _raw_table() -> dict[str, Any]:
    path = catalog_mod.bundled_table_path()
    assert path is not None
    return json.loads(path.read_text())


# --------------------------------------------------------------------------- bundled


def test_catalog_is_read_without_importing_litellm() -> None:
    code = (
        "import sys\n"
        "from kilo_tui.core.llm.catalog import Catalog\n"
        "models = Catalog({'ollama': {'enabled': False}}).models()\n"
        "print(len(models), 'litellm' in sys.modules, 'httpx' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert int(out[0]) > 2000
    assert out[1:] == ["False", "False"]


def test_anthropic_model_carries_litellm_prices_per_million() -> None:
    raw = _raw_table()["claude-sonnet-4-5"]
    info = Catalog(OFFLINE).get("anthropic/claude-sonnet-4-5")
    assert info is not None
    assert info.input_price == pytest.approx(raw["input_cost_per_token"] * 1e6)
    assert info.output_price == pytest.approx(raw["output_cost_per_token"] * 1e6)
    assert info.cache_read_price == pytest.approx(raw["cache_read_input_token_cost"] * 1e6)
    assert info.cache_write_price == pytest.approx(raw["cache_creation_input_token_cost"] * 1e6)
    assert info.context_window == raw["max_input_tokens"]
    assert info.supports_tools and not info.free and not info.local


def test_only_chat_models_are_listed() -> None:
    ids = {m.id for m in Catalog(OFFLINE).models()}
    raw = _raw_table()
    embedding = next(
        k for k, v in raw.items() if isinstance(v, dict) and v.get("mode") == "embedding"
    )
    assert embedding not in ids and f"openai/{embedding}" not in ids
    assert "sample_spec" not in " ".join(ids)
    assert not any(i.startswith("together_ai/together-ai-") for i in ids)


def test_model_without_price_is_unknown_never_free() -> None:
    raw = _raw_table()
    key = next(
        k
        for k, v in raw.items()
        if isinstance(v, dict)
        and v.get("mode") == "chat"
        and "/" in k
        and "input_cost_per_token" not in v
        and "code_interpreter_cost_per_session" not in v  # a tool's price, not a model
        and "*" not in k
        and "commitment" not in k
    )
    info = Catalog(OFFLINE).get(key)
    assert info is not None
    assert info.input_price is None and not info.free


def test_free_and_local_flags() -> None:
    models = Catalog(OFFLINE).models()
    free = filter_models(models, free=True)
    assert free and all(m.input_price == 0 and m.output_price == 0 for m in free)
    ollama = Catalog(OFFLINE).get("ollama/llama3")
    assert ollama is not None and ollama.id == "ollama_chat/llama3"
    # Free, but "local" only once a server on this machine has answered.
    assert ollama.free and not ollama.local
    assert catalog_mod.is_free(None, None, "openrouter/x/y:free")
    assert not catalog_mod.is_free(None, 0.0, "openrouter/x/y")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("gpt-4o", "openai/gpt-4o"),
        ("openai/gpt-4o", "openai/gpt-4o"),
        ("claude-sonnet-4-5", "anthropic/claude-sonnet-4-5"),
        ("deepseek-chat", "deepseek/deepseek-chat"),
    ],
)
def test_get_resolves_bare_and_prefixed_ids(query: str, expected: str) -> None:
    info = Catalog(OFFLINE).get(query)
    assert info is not None and info.id == expected


def test_get_unknown_model_is_none() -> None:
    assert Catalog(OFFLINE).get("nope/not-a-model") is None


# --------------------------------------------------------------------------- filtering


def _m(model_id: str, **kw: Any) -> ModelInfo:
    provider, _, name = model_id.partition("/")
    return ModelInfo(id=model_id, provider=provider, name=name, **kw)


SAMPLE = [
    _m(
        "anthropic/claude-sonnet-4-5",
        input_price=3.0,
        output_price=15.0,
        context_window=200_000,
        supports_tools=True,
    ),
    _m(
        "openai/gpt-4o",
        input_price=2.5,
        output_price=10.0,
        context_window=128_000,
        supports_tools=True,
    ),
    _m("openai/gpt-4o-mini", input_price=0.15, output_price=0.6, context_window=128_000),
    _m("ollama_chat/qwen3", input_price=0.0, output_price=0.0, free=True, local=True),
    _m("openrouter/x/mystery"),
]


def test_filter_query_is_fuzzy_and_word_wise() -> None:
    assert [m.id for m in filter_models(SAMPLE, query="gpt4o")][:2] == [
        "openai/gpt-4o",
        "openai/gpt-4o-mini",
    ]
    assert [m.id for m in filter_models(SAMPLE, query="sonet")] == ["anthropic/claude-sonnet-4-5"]
    assert [m.id for m in filter_models(SAMPLE, query="gpt mini")] == ["openai/gpt-4o-mini"]
    assert filter_models(SAMPLE, query="zzzz") == []


def test_filter_flags_and_provider() -> None:
    assert [m.id for m in filter_models(SAMPLE, free=True)] == ["ollama_chat/qwen3"]
    assert [m.id for m in filter_models(SAMPLE, local=True)] == ["ollama_chat/qwen3"]
    assert {m.id for m in filter_models(SAMPLE, tools=True)} == {
        "anthropic/claude-sonnet-4-5",
        "openai/gpt-4o",
    }
    assert [m.id for m in filter_models(SAMPLE, provider="openai")] == [
        "openai/gpt-4o",
        "openai/gpt-4o-mini",
    ]


def test_sort_by_price_puts_unknown_last_and_by_context_largest_first() -> None:
    by_price = [m.id for m in filter_models(SAMPLE, sort="price")]
    assert by_price == [
        "ollama_chat/qwen3",
        "openai/gpt-4o-mini",
        "openai/gpt-4o",
        "anthropic/claude-sonnet-4-5",
        "openrouter/x/mystery",
    ]
    assert filter_models(SAMPLE, sort="context")[0].id == "anthropic/claude-sonnet-4-5"
    assert [m.id for m in filter_models(SAMPLE, query="gpt", sort="price")] == [
        "openai/gpt-4o-mini",
        "openai/gpt-4o",
    ]


def test_resolve_api_base(monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_api_base("lm_studio/qwen", None) == "http://localhost:1234/v1"
    assert resolve_api_base("lm_studio/qwen", "http://box:9/v1") == "http://box:9/v1"
    assert resolve_api_base("openai/gpt-4o", None) is None
    monkeypatch.setenv("LM_STUDIO_API_BASE", "http://127.0.0.1:5555/v1")
    assert resolve_api_base("lm_studio/qwen", None) == "http://127.0.0.1:5555/v1"


# --------------------------------------------------------------------------- discovery


OLLAMA_TAGS = {"models": [{"name": "qwen3:8b", "model": "qwen3:8b"}, {"name": "tiny:1b"}]}
OLLAMA_SHOW = {
    "capabilities": ["completion", "tools"],
    "model_info": {"qwen3.context_length": 40960},
}
OPENAI_MODELS = {"object": "list", "data": [{"id": "local-coder", "object": "model"}]}
OPENROUTER_MODELS = {
    "data": [
        {
            "id": "vendor/paid",
            "name": "Vendor: Paid",
            "context_length": 131072,
            "pricing": {
                "prompt": "0.000002",
                "completion": "0.000008",
                "input_cache_read": "0.0000005",
            },
            "supported_parameters": ["tools", "temperature"],
            "architecture": {"input_modalities": ["text", "image"]},
            "top_provider": {"max_completion_tokens": 32768},
        },
        {
            "id": "vendor/gratis:free",
            "pricing": {"prompt": "0", "completion": "0"},
            "supported_parameters": ["temperature"],
        },
        {"id": "vendor/zero", "pricing": {"prompt": "0", "completion": "0"}},
        {"id": "openrouter/auto", "pricing": {"prompt": "-1", "completion": "-1"}},
    ]
}


class _Handler(BaseHTTPRequestHandler):
    routes: ClassVar[dict[str, Any]] = {
        "/api/tags": OLLAMA_TAGS,
        "/api/show": OLLAMA_SHOW,
        "/v1/models": OPENAI_MODELS,
        "/or/api/v1/models": OPENROUTER_MODELS,
        # llama.cpp's server and LM Studio's own API say how large the context is.
        "/props": {"default_generation_settings": {"n_ctx": 8192}, "total_slots": 1},
        "/api/v0/models": {"data": [{"id": "local-coder", "max_context_length": 32768}]},
    }

    def _answer(self) -> None:
        body = self.routes.get(self.path)
        if body is None:
            self.send_error(404)
            return
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self._answer()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _providers(base: str) -> dict[str, dict[str, Any]]:
    return {
        "ollama": {"api_base": base},
        "lmstudio": {"enabled": False},
        "local": {"kind": "openai_compatible", "api_base": f"{base}/v1"},
        "openrouter": {"enabled": True, "api_base": f"{base}/or/api/v1"},
    }


async def test_local_servers_context_windows_are_discovered(server: str, tmp_path: Path) -> None:
    providers = {
        "ollama": {"enabled": False},
        "lmstudio": {"api_base": f"{server}/v1"},
        "llamacpp": {"kind": "openai_compatible", "api_base": f"{server}/v1"},
    }
    catalog = Catalog(providers, cache_dir=tmp_path / "models")
    assert await catalog.refresh() == []
    llamacpp = catalog.get("llamacpp/local-coder")
    lmstudio = catalog.get("lm_studio/local-coder")
    assert llamacpp is not None and llamacpp.context_window == 8192
    assert lmstudio is not None and lmstudio.context_window == 32768


async def test_discovery_finds_local_and_openrouter_models(server: str, tmp_path: Path) -> None:
    catalog = Catalog(_providers(server), cache_dir=tmp_path / "models")
    assert await catalog.refresh() == []

    qwen = catalog.get("ollama_chat/qwen3:8b")
    assert qwen is not None and qwen.local and qwen.free and qwen.source == "ollama"
    assert qwen.supports_tools and qwen.context_window == 40960

    local = catalog.get("local/local-coder")
    assert local is not None and local.local and local.free
    assert local.provider == "local" and local.api_base == f"{server}/v1"

    paid = catalog.get("openrouter/vendor/paid")
    assert paid is not None and not paid.free and not paid.local
    assert (paid.input_price, paid.output_price, paid.cache_read_price) == (2.0, 8.0, 0.5)
    assert paid.supports_tools and paid.supports_vision and paid.max_output == 32768
    gratis = catalog.get("openrouter/vendor/gratis:free")
    assert gratis is not None and gratis.free and not gratis.supports_tools
    zero = catalog.get("openrouter/vendor/zero")
    assert zero is not None and zero.free
    auto = catalog.get("openrouter/openrouter/auto")
    assert auto is not None and auto.input_price is None and not auto.free

    free_local = {m.id for m in filter_models(catalog.models(), local=True)}
    assert {"ollama_chat/qwen3:8b", "local/local-coder"} <= free_local


async def test_discovery_is_cached_for_offline_use(server: str, tmp_path: Path) -> None:
    providers = _providers(server)
    await Catalog(providers, cache_dir=tmp_path / "models").refresh()
    cached = json.loads((tmp_path / "models" / "ollama.json").read_text())
    assert cached["fetched_at"] > 0 and cached["models"][0]["id"] == "ollama_chat/qwen3:8b"

    offline = Catalog(providers, cache_dir=tmp_path / "models")
    assert offline.get("local/local-coder") is not None
    assert offline.get("openrouter/vendor/paid") is not None
    # A provider switched off no longer contributes its cached models.
    off = Catalog(
        {**providers, "local": {**providers["local"], "enabled": False}},
        cache_dir=tmp_path / "models",
    )
    assert off.get("local/local-coder") is None


async def test_refresh_reports_errors_and_never_raises(server: str, tmp_path: Path) -> None:
    providers = {
        "ollama": {"api_base": "http://127.0.0.1:9"},  # nothing listens on the discard port
        "lmstudio": {"api_base": f"{server}/missing/v1"},
    }
    errors = await Catalog(providers, cache_dir=tmp_path / "models").refresh()
    assert len(errors) == 2
    assert any(e.startswith("ollama: cannot reach http://127.0.0.1:9/api/tags") for e in errors)
    assert any(e.startswith("lmstudio:") and "HTTP 404" in e for e in errors)


async def test_refresh_skips_fresh_caches(server: str, tmp_path: Path) -> None:
    providers = {"ollama": {"api_base": server}, "lmstudio": {"enabled": False}}
    catalog = Catalog(providers, cache_dir=tmp_path / "models")
    await catalog.refresh()
    cache = tmp_path / "models" / "ollama.json"
    before = json.loads(cache.read_text())["fetched_at"]
    await catalog.refresh(max_age=3600)
    assert json.loads(cache.read_text())["fetched_at"] == before


def test_internet_sources_are_opt_in_or_key_gated(monkeypatch: pytest.MonkeyPatch) -> None:
    kinds = {s.kind for s in sources({})}
    assert kinds == {"ollama", "lmstudio"}
    assert "openrouter" not in {s.kind for s in sources({"openrouter": {}})}
    monkeypatch.setenv("OPENROUTER_API_KEY", "sk-test")
    spec = next(s for s in sources({"openrouter": {}}) if s.kind == "openrouter")
    assert spec.url == "https://openrouter.ai/api/v1/models" and spec.api_key == "sk-test"
    assert "kilo" in {s.kind for s in sources({"kilo": {"enabled": True}})}


# --------------------------------------------------------------------------- state


def test_favorites_recents_and_sticky_models() -> None:
    assert load_model_state().favorites == ()
    assert toggle_favorite("openai/gpt-4o") is True
    assert toggle_favorite("anthropic/claude-sonnet-4-5") is True
    assert toggle_favorite("openai/gpt-4o") is False
    assert load_model_state().favorites == ("anthropic/claude-sonnet-4-5",)

    for i in range(12):
        record_recent(f"m/{i}")
    record_recent("m/5")
    recent = load_model_state().recent
    assert recent[0] == "m/5" and len(recent) == 10 and recent.count("m/5") == 1

    set_mode_model("code", "openai/gpt-4o")
    set_mode_model("ask", "ollama_chat/qwen3")
    assert get_mode_model("code") == "openai/gpt-4o"
    assert get_mode_model("architect") is None
    saved = json.loads((catalog_mod.paths.data_dir() / "models_state.json").read_text())
    assert saved["per_mode"] == {"code": "openai/gpt-4o", "ask": "ollama_chat/qwen3"}


def test_a_provider_prefixed_id_never_resolves_to_another_providers_entry() -> None:
    catalog = Catalog({})
    for model_id in (
        "groq/llama-3.3-70b-versatile",
        "openrouter/anthropic/claude-sonnet-4.5",
        "xai/grok-3-mini",
    ):
        info = catalog.get(model_id)
        assert info is None or info.provider == model_id.split("/")[0], (model_id, info)
    gpt = catalog.get("openai/gpt-4o")
    assert gpt is not None and gpt.provider == "openai" and gpt.input_price == 2.5
    assert catalog.get("gpt-4o") == gpt


def test_ollama_cloud_tags_are_neither_local_nor_free() -> None:
    from kilo_tui.core.llm.discovery import SourceSpec, parse_ollama_tags

    spec = SourceSpec(
        "ollama", "ollama", "http://127.0.0.1:11434/api/tags", "http://127.0.0.1:11434"
    )
    tags = {
        "models": [{"name": "qwen3:8b"}, {"name": "gpt-oss:120b-cloud"}, {"name": "kimi:cloud"}]
    }
    flags = {m.name: (m.local, m.free) for m in parse_ollama_tags(tags, spec)}
    assert flags == {
        "qwen3:8b": (True, True),
        "gpt-oss:120b-cloud": (False, False),
        "kimi:cloud": (False, False),
    }
    remote = SourceSpec("ollama", "ollama", "http://gpu-box:11434/api/tags", "http://gpu-box:11434")
    assert not any(m.local for m in parse_ollama_tags(tags, remote))


# --------------------------------------------------------------------------- honest picker

NOT_CHAT_WORDS = ("embed", "tts", "whisper", "transcri", "moderation", "rerank", "image")


def test_non_chat_bundled_models_are_not_listed_nor_free() -> None:
    """Music (Lyria), speech (``*-tts``), audio and image generators are priced as
    "chat" rows in litellm's table; they cannot run an agent, so the picker never
    offers them, least of all as free."""
    models = Catalog(OFFLINE).models()
    ids = {m.id for m in models}
    for model_id in (
        "gemini/lyria-3.5",
        "gemini/gemini-2.5-pro-preview-tts",
        "azure/gpt-audio",
        "databricks/databricks-gemini-3-pro-image",
        "vercel_ai_gateway/cohere/embed-v4.0",
        "openai/container",  # the code-interpreter tool's price per session
        "azure/container",
    ):
        assert model_id not in ids, model_id
    free = [m.id for m in filter_models(models, free=True)]
    assert free and not [i for i in free if "lyria" in i or "tts" in i]
    assert "anthropic/claude-sonnet-4-5" in ids and "openai/gpt-4o" in ids


async def test_a_servers_non_chat_models_are_not_listed(tmp_path: Path) -> None:
    """An OpenAI-style ``/v1/models`` lists embedding, speech, transcription, image and
    moderation models beside the chat ones (OpenAI's own does, LM Studio lists its
    embedding models): only the chat models reach the picker and the free filter."""
    from tests.fakeserver import FakeLLMServer

    listed = [
        "qwen2.5-coder-7b",
        "text-embedding-nomic-embed-text-v1.5",
        "whisper-large-v3",
        "tts-1",
        "gpt-image-1",
        "omni-moderation-latest",
        "bge-reranker-v2-m3",
        "gpt-4o-transcribe",
    ]
    with FakeLLMServer(models=listed) as server:
        providers = {**OFFLINE, "box": {"kind": "openai_compatible", "api_base": server.base_url}}
        catalog = Catalog(providers, cache_dir=tmp_path / "models")
        assert await catalog.refresh() == []
    box = [m.id for m in catalog.models() if m.provider == "box"]
    assert box == ["box/qwen2.5-coder-7b"]
    assert [m.id for m in filter_models(catalog.models(), free=True, provider="box")] == box


def test_providers_with_keys_and_answering_servers_sort_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without a search, the picker lists the models the user can call first: the
    providers whose key is set and the servers that answered, then the rest."""
    for env in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "GEMINI_API_KEY", "DEEPSEEK_API_KEY"):
        monkeypatch.delenv(env, raising=False)
    monkeypatch.setenv("DEEPSEEK_API_KEY", "sk-deepseek")
    catalog = Catalog(
        {**OFFLINE, "mistral": {"api_key": "from-config"}}, cache_dir=tmp_path / "models"
    )
    usable = catalog.usable_providers()
    assert {"deepseek", "mistral"} <= usable
    assert not {"anthropic", "openai", "ai21"} & usable
    ordered = filter_models(catalog.models(), first=usable)
    providers = [m.provider for m in ordered]
    boundary = next(i for i, p in enumerate(providers) if p not in usable)
    assert {"deepseek", "mistral"} <= set(providers[:boundary])
    assert all(p not in usable for p in providers[boundary:])
    # A search keeps the best match first; among equal matches, callable ones lead.
    found = [m.id for m in filter_models(catalog.models(), query="deepseek chat", first=usable)]
    assert found[0] == "deepseek/deepseek-chat"


class _OllamaHandler(BaseHTTPRequestHandler):
    """Ollama with a chat model and ``bge-m3``, an embedding model named like any other."""

    def _send(self, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._send({"models": [{"name": "qwen3:8b"}, {"name": "bge-m3:latest"}]})

    def do_POST(self) -> None:
        name = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))["model"]
        self._send({"capabilities": ["embedding"] if "bge" in name else ["completion"]})

    def log_message(self, *args: Any) -> None:
        pass


async def test_ollamas_embedding_models_are_not_listed(tmp_path: Path) -> None:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _OllamaHandler)
    threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
    try:
        base = f"http://127.0.0.1:{httpd.server_address[1]}"
        catalog = Catalog({**OFFLINE, "ollama": {"api_base": base}}, cache_dir=tmp_path / "m")
        assert await catalog.refresh() == []
    finally:
        httpd.shutdown()
        httpd.server_close()
    found = [m.id for m in catalog.models() if m.source == "ollama"]
    assert found == ["ollama_chat/qwen3:8b"]


async def test_a_local_server_that_stopped_answering_is_not_listed_as_local(
    tmp_path: Path,
) -> None:
    """'local' means a server on this machine answered: once it no longer does, its
    models leave the list."""
    from tests.fakeserver import FakeLLMServer

    cache = tmp_path / "models"
    with FakeLLMServer(models=["qwen-coder"]) as server:
        providers = {**OFFLINE, "box": {"kind": "openai_compatible", "api_base": server.base_url}}
        assert await Catalog(providers, cache_dir=cache).refresh() == []
    assert [m.id for m in filter_models(Catalog(providers, cache_dir=cache).models(), local=True)]
    catalog = Catalog(providers, cache_dir=cache)
    errors = await catalog.refresh()
    assert len(errors) == 1 and "cannot reach" in errors[0]
    assert catalog.get("box/qwen-coder") is None
    assert filter_models(catalog.models(), local=True) == []
