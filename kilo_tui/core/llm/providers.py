"""Where each model's requests go, and with which credential: one routing table.

Every request (chat, titles, condensing, key checks) is built from :func:`route`, so a
provider's key is only ever sent to that provider's host:

* a model id's prefix names its provider (``anthropic/…``, ``kilo/…``, ``glama/…``);
  the provider's ``[providers.<name>]`` section and its own environment variable give
  the key, never another provider's variable;
* OpenAI-compatible routes (the Kilo gateway, Glama, Unbound, Requesty, any
  ``kind = "openai_compatible"`` server, local servers) always carry an explicit base
  and an explicit key, because litellm would otherwise fill in ``OPENAI_API_KEY`` and
  ``OPENAI_API_BASE`` from the environment;
* the Kilo gateway without a token is called with Kilo's anonymous credential.

Settings per provider (``[providers.<name>]``): ``api_key``, ``api_key_env`` (the name
of a variable holding the key), ``api_base``; Bedrock: ``profile``, ``region``,
``access_key_id``, ``secret_access_key``; Vertex: ``project``, ``location``,
``credentials`` (a service-account or user credentials JSON file); Kilo:
``organization_id``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

KILO_DEFAULT_URL = "https://api.kilo.ai"
ANONYMOUS_KEY = "anonymous"
"""The credential Kilo's own clients send to the gateway when the user has no token."""
EDITOR_NAME = "kilo-tui"
ATTRIBUTION_HEADERS = {"HTTP-Referer": "https://kilocode.ai", "X-Title": "Kilo Code"}
"""OpenRouter's app attribution, sent as Kilo Code sends it."""
LOCAL_KEY = "not-needed"
"""Servers without auth still get an explicit key, so litellm never substitutes one."""

OLLAMA_DEFAULT_BASE = "http://localhost:11434"
LM_STUDIO_DEFAULT_BASE = "http://localhost:1234/v1"


@dataclass(frozen=True)
class Provider:
    """One provider Kilo lists: how to call it and where its key comes from."""

    name: str
    """The model-id prefix and the ``[providers.<name>]`` section."""
    label: str
    key_env: str = ""
    """The environment variable holding its key; empty when it takes none."""
    default_base: str | None = None
    """Set for OpenAI-compatible gateways, which litellm does not know by name."""
    key_url: str = ""
    default_model: str = ""
    blurb: str = ""


PROVIDERS: tuple[Provider, ...] = (
    Provider(
        "kilo",
        "Kilo gateway",
        "KILOCODE_TOKEN",
        key_url="https://app.kilo.ai",
        blurb="hundreds of models with one Kilo account; free models without one",
    ),
    Provider(
        "anthropic",
        "Anthropic",
        "ANTHROPIC_API_KEY",
        key_url="https://console.anthropic.com/settings/keys",
        default_model="anthropic/claude-sonnet-4-5",
        blurb="Claude models",
    ),
    Provider(
        "openai",
        "OpenAI",
        "OPENAI_API_KEY",
        key_url="https://platform.openai.com/api-keys",
        default_model="openai/gpt-4o-mini",
        blurb="GPT models",
    ),
    Provider(
        "openrouter",
        "OpenRouter",
        "OPENROUTER_API_KEY",
        key_url="https://openrouter.ai/keys",
        default_model="openrouter/meta-llama/llama-3.3-70b-instruct:free",
        blurb="one key for hundreds of models, some free (ids ending in :free)",
    ),
    Provider(
        "gemini",
        "Google Gemini",
        "GEMINI_API_KEY",
        key_url="https://aistudio.google.com/apikey",
        default_model="gemini/gemini-2.5-flash",
        blurb="Gemini models, with a free tier",
    ),
    Provider(
        "glama",
        "Glama",
        "GLAMA_API_KEY",
        default_base="https://glama.ai/api/gateway/openai/v1",
        key_url="https://glama.ai/settings/gateway/api-keys",
        default_model="glama/anthropic/claude-sonnet-4-5",
        blurb="a gateway to many providers' models",
    ),
    Provider(
        "bedrock",
        "AWS Bedrock",
        "AWS_ACCESS_KEY_ID",
        key_url="https://console.aws.amazon.com/bedrock",
        default_model="bedrock/anthropic.claude-sonnet-4-5-20250929-v1:0",
        blurb="Claude and others on AWS: a profile and region, or access keys",
    ),
    Provider(
        "vertex_ai",
        "GCP Vertex AI",
        "GOOGLE_APPLICATION_CREDENTIALS",
        key_url="https://console.cloud.google.com/vertex-ai",
        default_model="vertex_ai/gemini-2.5-flash",
        blurb="Gemini and Claude on Google Cloud: project, location, credentials file",
    ),
    Provider(
        "deepseek",
        "DeepSeek",
        "DEEPSEEK_API_KEY",
        key_url="https://platform.deepseek.com/api_keys",
        default_model="deepseek/deepseek-chat",
        blurb="DeepSeek chat and reasoner",
    ),
    Provider(
        "mistral",
        "Mistral",
        "MISTRAL_API_KEY",
        key_url="https://console.mistral.ai/api-keys",
        default_model="mistral/codestral-latest",
        blurb="Mistral and Codestral models",
    ),
    Provider(
        "unbound",
        "Unbound",
        "UNBOUND_API_KEY",
        default_base="https://api.getunbound.ai/v1",
        key_url="https://gateway.getunbound.ai",
        default_model="unbound/anthropic/claude-sonnet-4-5",
        blurb="a gateway with per-team controls",
    ),
    Provider(
        "requesty",
        "Requesty",
        "REQUESTY_API_KEY",
        default_base="https://router.requesty.ai/v1",
        key_url="https://app.requesty.ai/api-keys",
        default_model="requesty/anthropic/claude-sonnet-4-5",
        blurb="a router across providers",
    ),
    Provider("ollama", "Ollama", blurb="models on this machine (or your server)"),
    Provider("lm_studio", "LM Studio", blurb="models on this machine (or your server)"),
)
BY_NAME = {p.name: p for p in PROVIDERS}
SECRET_SETTINGS = ("api_key", "secret_access_key", "session_token")
"""Provider settings that hold a secret: never printed, only their last four characters."""
KEY_ENV = {p.name: p.key_env for p in PROVIDERS if p.key_env}
_SECTION_ALIASES = {"ollama_chat": ("ollama",), "lm_studio": ("lm_studio", "lmstudio")}


@dataclass(frozen=True)
class Route:
    """Everything a request to one model needs; pass :meth:`params` to litellm."""

    model: str
    """The litellm model string."""
    api_base: str | None = None
    api_key: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    """Provider-specific litellm arguments (AWS region, Vertex project, …)."""

    def params(self) -> dict[str, Any]:
        """Keyword arguments for ``litellm.acompletion`` besides model and messages."""
        params: dict[str, Any] = dict(self.extra)
        if self.headers:
            params["extra_headers"] = dict(self.headers)
        return params


def section(providers: Mapping[str, Mapping[str, Any]], name: str) -> dict[str, Any]:
    """The config section of provider ``name`` (LM Studio answers to both spellings)."""
    merged: dict[str, Any] = {}
    for alias in reversed(_SECTION_ALIASES.get(name, (name,))):
        merged.update(providers.get(alias) or {})
    return merged


def configured_key(conf: Mapping[str, Any], env: str = "") -> str | None:
    """The key in ``conf`` (``api_key`` or ``api_key_env``), else ``$env``; never another's."""
    if key := conf.get("api_key"):
        return str(key)
    if (name := conf.get("api_key_env")) and (value := os.environ.get(str(name))):
        return value
    return os.environ.get(env) if env else None


def key_hint(model: str) -> str:
    """What to fix when ``model``'s provider refused its key, or no key was found."""
    prefix, _ = split_model(model)
    where = f"api_key under [providers.{prefix}] in the config file"
    env = KEY_ENV.get(prefix)
    fix = f"set {env} or {where}" if env else f"check {where}"
    return f"{fix}; `kilo-tui doctor` shows which keys are found"


def is_compatible(name: str, conf: Mapping[str, Any]) -> bool:
    """True for ``kind = "openai_compatible"`` sections and the compatible gateways."""
    return conf.get("kind") == "openai_compatible" or bool(
        name in BY_NAME and BY_NAME[name].default_base
    )


def split_model(model: str) -> tuple[str, str]:
    """``"anthropic/claude-x"`` → ``("anthropic", "claude-x")``; bare names are OpenAI's."""
    prefix, _, rest = model.partition("/")
    return (prefix, rest) if rest else ("openai", model)


def route(providers: Mapping[str, Mapping[str, Any]], model: str) -> Route:
    """The route of ``model`` under the config's ``[providers]`` table."""
    prefix, rest = split_model(model)
    conf = section(providers, prefix)
    if prefix == "kilo":
        return kilo_route(conf, rest)
    if is_compatible(prefix, conf):
        return _compatible_route(prefix, conf, rest)
    base = conf.get("api_base")
    if prefix in ("ollama", "ollama_chat"):
        return Route(model, base or OLLAMA_DEFAULT_BASE)
    if prefix == "lm_studio":
        base = base or os.environ.get("LM_STUDIO_API_BASE") or LM_STUDIO_DEFAULT_BASE
        return Route(model, base, configured_key(conf, "LM_STUDIO_API_KEY") or LOCAL_KEY)
    if prefix == "bedrock":
        return Route(model, base, extra=_bedrock_params(conf))
    if prefix == "vertex_ai":
        return Route(model, base, extra=_vertex_params(conf))
    key = configured_key(conf, KEY_ENV.get(prefix, ""))
    headers = dict(ATTRIBUTION_HEADERS) if prefix == "openrouter" else {}
    return Route(model, base, key, headers)


def _compatible_route(name: str, conf: Mapping[str, Any], rest: str) -> Route:
    base = conf.get("api_base") or BY_NAME[name].default_base  # config.py checks custom ones
    key = configured_key(conf, KEY_ENV.get(name, "")) or LOCAL_KEY
    return Route(f"openai/{rest}", str(base).rstrip("/"), key)


def _bedrock_params(conf: Mapping[str, Any]) -> dict[str, Any]:
    names = {
        "profile": "aws_profile_name",
        "region": "aws_region_name",
        "access_key_id": "aws_access_key_id",
        "secret_access_key": "aws_secret_access_key",
        "session_token": "aws_session_token",
    }
    return {target: str(conf[source]) for source, target in names.items() if conf.get(source)}


def _vertex_params(conf: Mapping[str, Any]) -> dict[str, Any]:
    names = {
        "project": "vertex_project",
        "location": "vertex_location",
        "credentials": "vertex_credentials",
    }
    params = {target: str(conf[source]) for source, target in names.items() if conf.get(source)}
    if "vertex_credentials" in params:
        # litellm takes the file's contents; a path keeps the config readable.
        path = os.path.expanduser(params["vertex_credentials"])
        with open(path, encoding="utf-8") as handle:
            params["vertex_credentials"] = handle.read()
    return params


# --------------------------------------------------------------------------- Kilo


def kilo_root(conf: Mapping[str, Any]) -> str:
    """The gateway's root URL: ``api_base``, else ``$KILO_API_URL``, else api.kilo.ai.

    Anything from the last ``/api`` segment on is dropped, so a base given as
    ``…/api/openrouter`` or ``…/api/gateway`` means the same server.
    """
    raw = str(conf.get("api_base") or os.environ.get("KILO_API_URL") or KILO_DEFAULT_URL)
    raw = raw.rstrip("/")
    head, sep, _tail = raw.rpartition("/api")
    return head if sep and "//" in head else raw


def kilo_token(conf: Mapping[str, Any]) -> str | None:
    """The user's Kilo token (config, ``KILOCODE_TOKEN`` or ``KILO_API_KEY``), if any."""
    return configured_key(conf, "KILOCODE_TOKEN") or os.environ.get("KILO_API_KEY") or None


def kilo_headers(conf: Mapping[str, Any]) -> dict[str, str]:
    """The headers Kilo's clients send the gateway (editor name, organization)."""
    headers = {**ATTRIBUTION_HEADERS, "X-KILOCODE-EDITORNAME": EDITOR_NAME}
    if org := conf.get("organization_id") or os.environ.get("KILO_ORG_ID"):
        headers["X-KILOCODE-ORGANIZATIONID"] = str(org)
    return headers


def gateway_model_id(rest: str) -> str:
    """``kilo/<rest>`` → the gateway's id: ``kilo/auto`` stays ``kilo/auto`` (virtual)."""
    return rest if "/" in rest else f"kilo/{rest}"


def kilo_route(conf: Mapping[str, Any], rest: str) -> Route:
    """A chat route to the gateway, with the user's token or the anonymous credential."""
    return Route(
        f"openai/{gateway_model_id(rest)}",
        f"{kilo_root(conf)}/api/gateway",
        kilo_token(conf) or ANONYMOUS_KEY,
        kilo_headers(conf),
    )
