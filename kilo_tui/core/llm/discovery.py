"""Live model discovery: ask the configured providers which models they serve.

Each source is fetched with a short timeout, parsed into :class:`ModelInfo` and cached
as ``<cache_dir>/<provider name>.json`` (with a ``fetched_at`` timestamp), so the catalog
keeps working offline. The accepted provider settings are documented in
:mod:`kilo_tui.core.llm.catalog`.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kilo_tui.core import paths
from kilo_tui.core.llm import gateway, providers
from kilo_tui.core.llm.catalog import (
    LM_STUDIO_DEFAULT_BASE,
    ModelInfo,
    Source,
    is_chat_model,
    is_free,
    is_local_base,
    per_million,
)

if TYPE_CHECKING:
    import httpx

TIMEOUT = 2.0
OLLAMA_DEFAULT_BASE = providers.OLLAMA_DEFAULT_BASE
OPENROUTER_DEFAULT_BASE = "https://openrouter.ai/api/v1"
CACHE_FORMAT = 2
"""Bumped when model ids change shape: older caches are ignored, not misread."""


@dataclass(frozen=True)
class SourceSpec:
    """One provider to discover, resolved from its config entry."""

    name: str
    """The config name; also the cache file's stem."""
    kind: Source
    url: str
    """The model-list endpoint."""
    api_base: str
    api_key: str | None = None


def sources(provider_settings: Mapping[str, Mapping[str, Any]]) -> list[SourceSpec]:
    """The enabled discovery sources for a providers config (local ones default on).

    LM Studio's section may be spelled ``lmstudio`` or ``lm_studio``.
    """
    settings: dict[str, Mapping[str, Any]] = {"ollama": {}, "kilo": {}, **provider_settings}
    settings.pop("lm_studio", None)
    settings["lmstudio"] = providers.section(provider_settings, "lm_studio")
    specs = []
    for name, entry in settings.items():
        spec = _spec(name, entry)
        if spec is not None:
            specs.append(spec)
    return specs


def _spec(name: str, entry: Mapping[str, Any]) -> SourceSpec | None:
    enabled = entry.get("enabled")
    if enabled is False:
        return None
    base = str(entry.get("api_base") or "").rstrip("/")
    if name == "ollama":
        base = base or OLLAMA_DEFAULT_BASE
        return SourceSpec(name, "ollama", f"{base}/api/tags", base)
    if name == "lmstudio":
        base = base or LM_STUDIO_DEFAULT_BASE
        key = providers.configured_key(entry, "LM_STUDIO_API_KEY")
        return SourceSpec(name, "lmstudio", f"{base}/models", base, key)
    if name == "openrouter":
        key = providers.configured_key(entry, "OPENROUTER_API_KEY")
        if enabled is not True and not key:
            return None  # internet sources are opt-in or key-gated
        base = base or OPENROUTER_DEFAULT_BASE
        url = str(entry.get("models_url") or f"{base}/models")
        return SourceSpec(name, "openrouter", url, base, key)
    if name == "kilo":
        token = providers.kilo_token(entry)
        if enabled is not True and not token and not base:
            return None  # first run (or the user) turns the gateway on
        urls = gateway.endpoints(entry)
        return SourceSpec(name, "kilo", urls["models"], urls["chat"], token)
    if providers.is_compatible(name, entry):
        base = base or str(providers.BY_NAME[name].default_base)
        key = providers.configured_key(entry, providers.KEY_ENV.get(name, ""))
        if name in providers.BY_NAME and enabled is not True and not key:
            return None  # hosted gateways: listed once their key is set
        return SourceSpec(name, "openai_compatible", f"{base}/models", base, key)
    return None


_SOURCE_OF_PREFIX = {"ollama_chat": "ollama", "lm_studio": "lmstudio"}


def source_for(provider_settings: Mapping[str, Mapping[str, Any]], model: str) -> str | None:
    """The name of the enabled source that lists ``model`` (by its prefix), if any."""
    prefix = model.partition("/")[0]
    name = _SOURCE_OF_PREFIX.get(prefix, prefix)
    return next((s.name for s in sources(provider_settings) if s.name == name), None)


# --------------------------------------------------------------------------- parsers


def parse_ollama_tags(data: Any, spec: SourceSpec) -> list[ModelInfo]:
    """Ollama's ``GET /api/tags`` → ``ollama_chat/<name>`` models.

    They are local and free when the server is on this machine, except the ``*-cloud``
    tags, which Ollama runs on its own servers (price unknown).
    """
    models = []
    for item in data["models"]:
        if not is_chat_model(str(item["name"])):
            continue
        local = is_local_base(spec.api_base) and not _is_cloud_tag(str(item["name"]))
        price = 0.0 if local else None
        models.append(
            ModelInfo(
                id=f"ollama_chat/{item['name']}",
                provider="ollama",
                name=item["name"],
                input_price=price,
                output_price=price,
                free=local,
                local=local,
                source="ollama",
                api_base=spec.api_base,
            )
        )
    return models


def _is_cloud_tag(name: str) -> bool:
    """``gpt-oss:120b-cloud``, ``qwen3-coder:cloud``: routed to Ollama's cloud."""
    tag = name.rpartition(":")[2]
    return tag == "cloud" or tag.endswith("-cloud")


def parse_openai_models(data: Any, spec: SourceSpec) -> list[ModelInfo]:
    """An OpenAI-compatible ``GET /v1/models`` → ``lm_studio/<id>`` or ``<section>/<id>``.

    These lists carry no prices: a server on this machine is free, anything else is
    "price unknown". Tool support is not reported, so it is not claimed. Embedding,
    speech and other non-chat models they list are left out.
    """
    local = is_local_base(spec.api_base)
    prefix = "lm_studio" if spec.kind == "lmstudio" else spec.name
    price = 0.0 if local else None
    return [
        ModelInfo(
            id=f"{prefix}/{item['id']}",
            provider=spec.name,
            name=item["id"],
            input_price=price,
            output_price=price,
            free=local,
            local=local,
            source=spec.kind,
            api_base=spec.api_base,
        )
        for item in data["data"]
        if is_chat_model(str(item["id"]))
    ]


def parse_openrouter_models(data: Any, spec: SourceSpec) -> list[ModelInfo]:
    """OpenRouter's ``GET /models`` → ``openrouter/<id>`` chat models.

    Prices are per-token strings (``"0"`` is free, ``"-1"`` variable, i.e. unknown);
    tool support is listed in ``supported_parameters``.
    """
    prefix = "openrouter"
    models = []
    for item in data["data"]:
        if not gateway.is_chat_item(item):
            continue
        pricing = item.get("pricing") or {}
        model_id = f"{prefix}/{item['id']}"
        input_price = per_million(pricing.get("prompt"))
        output_price = per_million(pricing.get("completion"))
        modalities = (item.get("architecture") or {}).get("input_modalities") or []
        top = item.get("top_provider") or {}
        models.append(
            ModelInfo(
                id=model_id,
                provider=prefix,
                name=str(item.get("name") or item["id"]),
                input_price=input_price,
                output_price=output_price,
                cache_read_price=per_million(pricing.get("input_cache_read")),
                cache_write_price=per_million(pricing.get("input_cache_write")),
                context_window=item.get("context_length"),
                max_output=top.get("max_completion_tokens") or item.get("max_completion_tokens"),
                supports_tools="tools" in (item.get("supported_parameters") or []),
                supports_vision="image" in modalities,
                free=is_free(input_price, output_price, model_id),
                source=spec.kind,
            )
        )
    return models


# --------------------------------------------------------------------------- fetch


async def refresh_all(
    provider_settings: Mapping[str, Mapping[str, Any]],
    cache_dir: Path,
    *,
    max_age: float | None = None,
    only: str | None = None,
) -> list[str]:
    """Fetch every enabled source (or the one named ``only``) concurrently and cache
    what answers.

    Returns one error message per failed source; never raises.
    """
    pending = [
        s
        for s in sources(provider_settings)
        if only in (None, s.name) and not _fresh(cache_dir, s, max_age)
    ]
    if not pending:
        return []
    # httpx takes ~150 ms to import: do it off the event loop so the UI keeps drawing.
    httpx = await asyncio.to_thread(importlib.import_module, "httpx")
    kilo = providers.section(provider_settings, "kilo")
    async with httpx.AsyncClient(timeout=TIMEOUT) as client:
        results = await asyncio.gather(
            *(
                _refresh_kilo(client, s, kilo, cache_dir)
                if s.kind == "kilo"
                else _refresh_one(client, s, cache_dir)
                for s in pending
            )
        )
    return [error for error in results if error]


async def _refresh_kilo(
    client: httpx.AsyncClient, spec: SourceSpec, conf: Mapping[str, Any], cache_dir: Path
) -> str:
    """The gateway's list and default models (see :mod:`kilo_tui.core.llm.gateway`)."""
    try:
        models, defaults = await gateway.fetch_models(client, conf)
    except gateway.GatewayError as exc:
        return f"kilo: {exc}"
    gateway.save_defaults(defaults, anonymous=spec.api_key is None)
    _write_cache(cache_dir, spec, models)
    return ""


async def _refresh_one(client: httpx.AsyncClient, spec: SourceSpec, cache_dir: Path) -> str:
    import httpx

    headers = {"Authorization": f"Bearer {spec.api_key}"} if spec.api_key else {}
    if spec.kind == "openrouter":
        headers.update(providers.ATTRIBUTION_HEADERS)
    try:
        response = await client.get(spec.url, headers=headers)
        response.raise_for_status()
        models = _PARSERS[spec.kind](response.json(), spec)
        if spec.kind == "ollama":
            models = await _ollama_details(client, spec, models)
        elif spec.kind in ("lmstudio", "openai_compatible") and is_local_base(spec.api_base):
            models = await _context_lengths(client, spec, models)
    except httpx.HTTPStatusError as exc:
        return f"{spec.name}: {spec.url} answered HTTP {exc.response.status_code}"
    except httpx.HTTPError as exc:
        if is_local_base(spec.api_base):
            # Not running: its models are not "local" now, nor usable. (A remote
            # provider's list stays cached, for working offline.)
            cache_file(cache_dir, spec).unlink(missing_ok=True)
        return f"{spec.name}: cannot reach {spec.url} ({type(exc).__name__})"
    except (ValueError, KeyError, TypeError) as exc:
        return f"{spec.name}: unexpected model list from {spec.url} ({exc!r})"
    _write_cache(cache_dir, spec, models)
    return ""


async def _ollama_details(
    client: httpx.AsyncClient, spec: SourceSpec, models: list[ModelInfo]
) -> list[ModelInfo]:
    """Fill in tool/vision support and context length from ``POST /api/show``; a model
    whose capabilities lack ``completion`` (an embedding model such as ``bge-m3``) goes."""

    async def detail(model: ModelInfo) -> ModelInfo | None:
        try:
            response = await client.post(f"{spec.api_base}/api/show", json={"model": model.name})
            response.raise_for_status()
            show = response.json()
        except Exception:  # details are a bonus; the bare model is still usable
            return model
        capabilities = show.get("capabilities") or []
        if capabilities and "completion" not in capabilities:
            return None
        context = next(
            (v for k, v in (show.get("model_info") or {}).items() if k.endswith(".context_length")),
            None,
        )
        return ModelInfo.from_dict(
            {
                **model.to_dict(),
                "supports_tools": "tools" in capabilities,
                "supports_vision": "vision" in capabilities,
                "context_window": context if isinstance(context, int) else None,
            }
        )

    detailed = await asyncio.gather(*(detail(m) for m in models))
    return [model for model in detailed if model is not None]


async def _context_lengths(
    client: httpx.AsyncClient, spec: SourceSpec, models: list[ModelInfo]
) -> list[ModelInfo]:
    """The context window local OpenAI-compatible servers report beside ``/v1/models``:
    LM Studio's ``/api/v0/models`` (the loaded context, else the model's maximum) and
    llama.cpp's ``/props`` (``n_ctx`` of its one model). Servers without them just
    leave the window unknown."""
    root = spec.api_base.removesuffix("/v1")
    sizes: dict[str, int] = {}
    try:
        if spec.kind == "lmstudio":
            response = await client.get(f"{root}/api/v0/models")
            response.raise_for_status()
            for item in response.json().get("data", []):
                size = item.get("loaded_context_length") or item.get("max_context_length")
                if isinstance(size, int):
                    sizes[str(item.get("id"))] = size
        else:
            response = await client.get(f"{root}/props")
            response.raise_for_status()
            props = response.json()
            size = (props.get("default_generation_settings") or {}).get("n_ctx")
            size = size or props.get("n_ctx")
            if isinstance(size, int):
                sizes = {m.name: size for m in models}
    except Exception:  # a bonus, like Ollama's details
        return models
    return [
        ModelInfo.from_dict({**m.to_dict(), "context_window": sizes[m.name]})
        if m.name in sizes and m.context_window is None
        else m
        for m in models
    ]


_PARSERS = {
    "ollama": parse_ollama_tags,
    "lmstudio": parse_openai_models,
    "openai_compatible": parse_openai_models,
    "openrouter": parse_openrouter_models,
}


# --------------------------------------------------------------------------- cache


def cache_file(cache_dir: Path, spec: SourceSpec) -> Path:
    return cache_dir / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', spec.name)}.json"


def _write_cache(cache_dir: Path, spec: SourceSpec, models: list[ModelInfo]) -> None:
    paths.ensure_dir(cache_dir)
    payload = {
        "fetched_at": time.time(),
        "format": CACHE_FORMAT,
        "source": spec.kind,
        "url": spec.url,
        "models": [m.to_dict() for m in models],
    }
    path = cache_file(cache_dir, spec)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(payload), encoding="utf-8")
    tmp.replace(path)


def _read_cache(cache_dir: Path, spec: SourceSpec) -> dict[str, Any] | None:
    try:
        payload = json.loads(cache_file(cache_dir, spec).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    # A cache written for another URL (the config changed) describes another server.
    if not isinstance(payload, dict) or payload.get("url") != spec.url:
        return None
    if payload.get("format") != CACHE_FORMAT:
        return None
    return payload


def _fresh(cache_dir: Path, spec: SourceSpec, max_age: float | None) -> bool:
    if max_age is None:
        return False
    payload = _read_cache(cache_dir, spec)
    return payload is not None and time.time() - float(payload.get("fetched_at", 0)) < max_age


def load_cached(
    provider_settings: Mapping[str, Mapping[str, Any]], cache_dir: Path
) -> list[ModelInfo]:
    """The cached discoveries of the currently enabled sources."""
    models: list[ModelInfo] = []
    for spec in sources(provider_settings):
        payload = _read_cache(cache_dir, spec)
        if payload is not None:
            models.extend(ModelInfo.from_dict(m) for m in payload.get("models", []))
    return models
