"""The Kilo gateway: its model list, its default models, token checks, rate limits.

Endpoints, all under the gateway's root (:func:`providers.kilo_root`):

* ``/api/gateway/models`` lists the models (OpenRouter-shaped: ``data[]`` with ``id``,
  ``pricing``, ``architecture``, ``supported_parameters``, and Kilo's
  ``preferredIndex`` and ``isFree``); the legacy ``/api/openrouter/models`` is the
  fallback;
* ``/api/defaults`` (``/api/organizations/<id>/defaults`` for an organization) gives
  ``defaultModel`` and ``defaultFreeModel``;
* ``/api/gateway/chat/completions`` takes the chat requests (see
  :func:`providers.kilo_route`).

Without a token, requests carry Kilo's anonymous credential and only free models are
offered, as Kilo's own CLI does; anonymous use is rate-limited per IP address (HTTP
429 with ``Retry-After``). Model ids are ``kilo/<gateway id>`` (``kilo/auto`` for the
gateway's own ``kilo/auto`` virtual model).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kilo_tui.core import paths
from kilo_tui.core.llm import catalog, providers
from kilo_tui.core.llm.catalog import ModelInfo, is_free, per_million

if TYPE_CHECKING:
    import httpx

FALLBACK_DEFAULT = "kilo/anthropic/claude-sonnet-4.5"
"""The default with a token when the gateway has never been reached (Kilo CLI's)."""
FALLBACK_FREE_DEFAULT = "kilo/auto-free"
"""The default without a token when the gateway has never been reached."""


class GatewayError(Exception):
    """The gateway refused or failed a request; the message is fit to show the user."""


def kilo_model_id(gateway_id: str) -> str:
    """The catalog id of a gateway model: ``kilo/<id>``; ``kilo/auto`` stays as it is."""
    head, _, tail = gateway_id.partition("/")
    if head == "kilo" and tail and "/" not in tail:
        return gateway_id
    return f"kilo/{gateway_id}"


def endpoints(conf: Mapping[str, Any]) -> dict[str, str]:
    """The gateway's URLs for this config section (organization-aware)."""
    root = providers.kilo_root(conf)
    org = providers.kilo_headers(conf).get("X-KILOCODE-ORGANIZATIONID")
    defaults = f"/organizations/{org}/defaults" if org else "/defaults"
    return {
        "models": f"{root}/api/gateway/models",
        "legacy_models": f"{root}/api/openrouter/models",
        "defaults": f"{root}/api{defaults}",
        "chat": f"{root}/api/gateway",
    }


def request_headers(conf: Mapping[str, Any]) -> dict[str, str]:
    """Kilo's headers plus the user's token, or the anonymous credential."""
    token = providers.kilo_token(conf) or providers.ANONYMOUS_KEY
    return {**providers.kilo_headers(conf), "Authorization": f"Bearer {token}"}


# --------------------------------------------------------------------------- models


def is_chat_item(item: Mapping[str, Any]) -> bool:
    """Text-out models; image, audio, embedding and other non-chat models are not."""
    outputs = (item.get("architecture") or {}).get("output_modalities") or ["text"]
    return catalog.is_chat_model(str(item.get("id", "")), outputs)


def calls_tools(item: Mapping[str, Any]) -> bool:
    """Kilo hides gateway models that list their parameters without ``tools``."""
    params = item.get("supported_parameters") or []
    return not params or "tools" in params


def parse_models(data: Any, *, chat_base: str, anonymous: bool) -> list[ModelInfo]:
    """The gateway's model list → chat models; while anonymous, only the free ones."""
    models = []
    for item in data["data"]:
        if not is_chat_item(item) or not calls_tools(item):
            continue
        pricing = item.get("pricing") or {}
        model_id = kilo_model_id(str(item["id"]))
        input_price = per_million(pricing.get("prompt"))
        output_price = per_million(pricing.get("completion"))
        free = bool(item.get("isFree")) or is_free(input_price, output_price, str(item["id"]))
        if anonymous and not free:
            continue
        modalities = (item.get("architecture") or {}).get("input_modalities") or []
        top = item.get("top_provider") or {}
        index = item.get("preferredIndex")
        models.append(
            ModelInfo(
                id=model_id,
                provider="kilo",
                name=str(item.get("name") or item["id"]),
                input_price=0.0 if free else input_price,
                output_price=0.0 if free else output_price,
                cache_read_price=per_million(pricing.get("input_cache_read")),
                cache_write_price=per_million(pricing.get("input_cache_write")),
                context_window=item.get("context_length"),
                max_output=top.get("max_completion_tokens") or item.get("max_completion_tokens"),
                supports_tools=True,
                supports_vision="image" in modalities,
                free=free,
                source="kilo",
                api_base=chat_base,
                preferred_index=index if isinstance(index, int) else None,
            )
        )
    return models


async def fetch_models(
    client: httpx.AsyncClient, conf: Mapping[str, Any]
) -> tuple[list[ModelInfo], dict[str, str]]:
    """The gateway's models (legacy endpoint as fallback) and its default models.

    Raises :class:`GatewayError` when neither endpoint gives a list.
    """
    urls = endpoints(conf)
    headers = request_headers(conf)
    anonymous = providers.kilo_token(conf) is None
    failure = ""
    for url in (urls["models"], urls["legacy_models"]):
        try:
            response = await client.get(url, headers=headers)
        except Exception as exc:  # httpx.HTTPError; httpx is imported lazily
            failure = f"cannot reach {url} ({type(exc).__name__})"
            continue
        if response.status_code in (401, 403, 429):
            raise GatewayError(describe_refusal(response.status_code, response.headers, url))
        try:
            response.raise_for_status()
            models = parse_models(response.json(), chat_base=urls["chat"], anonymous=anonymous)
        except Exception as exc:  # an error page or another shape: try the legacy list
            failure = f"{url} gave no model list ({type(exc).__name__})"
            continue
        return models, await fetch_defaults(client, conf)
    raise GatewayError(failure)


async def fetch_defaults(client: httpx.AsyncClient, conf: Mapping[str, Any]) -> dict[str, str]:
    """``{"defaultModel": …, "defaultFreeModel": …}`` as catalog ids; ``{}`` on failure."""
    try:
        response = await client.get(endpoints(conf)["defaults"], headers=request_headers(conf))
        response.raise_for_status()
        data = response.json()
    except Exception:  # the defaults are a nicety: the fallbacks still work
        return {}
    if not isinstance(data, dict):
        return {}
    return {
        key: kilo_model_id(value)
        for key in ("defaultModel", "defaultFreeModel")
        if isinstance(value := data.get(key), str) and value
    }


async def check_token(conf: Mapping[str, Any], token: str, *, timeout: float = 10.0) -> None:
    """Ask the gateway once whether it accepts ``token``; raise GatewayError if not."""
    import httpx

    url = endpoints(conf)["models"]
    headers = {**providers.kilo_headers(conf), "Authorization": f"Bearer {token}"}
    try:
        async with httpx.AsyncClient(timeout=timeout) as client:
            response = await client.get(url, headers=headers)
    except httpx.HTTPError as exc:
        raise GatewayError(f"Could not reach the Kilo gateway at {url}: {exc}") from exc
    if response.status_code >= 400:
        raise GatewayError(describe_refusal(response.status_code, response.headers, url))


def describe_refusal(status: int, headers: Mapping[str, str], url: str) -> str:
    """What a refusal from the gateway means for the user, and what to do about it."""
    if status == 429:
        wait = headers.get("retry-after")
        when = f" Try again in {wait} seconds." if wait and wait.isdigit() else ""
        return (
            "The Kilo gateway's rate limit was reached (HTTP 429): free use without an "
            f"account is limited per IP address.{when} A Kilo token (KILOCODE_TOKEN) "
            "lifts the limit."
        )
    if status in (401, 403):
        return f"The Kilo gateway refused the token (HTTP {status}). Check KILOCODE_TOKEN."
    return f"The Kilo gateway answered HTTP {status} at {url}."


# --------------------------------------------------------------------------- defaults


def defaults_file() -> Path:
    return paths.cache_dir() / "models" / "kilo-defaults.json"


def save_defaults(defaults: Mapping[str, str], *, anonymous: bool) -> None:
    """Remember the gateway's defaults (for the next start, offline included)."""
    if not defaults:
        return
    path = defaults_file()
    paths.ensure_dir(path.parent)
    data = {**dict(defaults), "anonymous": anonymous, "fetched_at": time.time()}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data), encoding="utf-8")
    tmp.replace(path)


def cached_default(*, anonymous: bool) -> str:
    """The gateway's default model as last fetched, else Kilo's fallback."""
    try:
        data = json.loads(defaults_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = {}
    if not isinstance(data, dict):
        data = {}
    key = "defaultFreeModel" if anonymous else "defaultModel"
    value = data.get(key)
    if isinstance(value, str) and value:
        return value
    return FALLBACK_FREE_DEFAULT if anonymous else FALLBACK_DEFAULT


async def resolve_default(
    provider_settings: Mapping[str, Mapping[str, Any]], *, timeout: float = 5.0
) -> str:
    """Ask the gateway for its default model now (falling back to the cached one)."""
    import httpx

    conf = providers.section(provider_settings, "kilo")
    anonymous = providers.kilo_token(conf) is None
    async with httpx.AsyncClient(timeout=timeout) as client:
        defaults = await fetch_defaults(client, conf)
    save_defaults(defaults, anonymous=anonymous)
    return cached_default(anonymous=anonymous)
