"""The model catalog: every model the user can pick, with prices, limits and flags.

Two sources feed it:

* litellm's bundled price/context table (``model_prices_and_context_window_backup.json``),
  read straight from the installed package *without importing litellm* (that takes
  seconds; the picker must open instantly);
* models discovered live from the providers in the config (see
  :mod:`kilo_tui.core.llm.discovery`), cached on disk so the catalog works offline.

Provider settings are a plain dict, ``{name: {key: value}}``, taken from the config's
``[providers]`` table. Accepted names and keys:

``ollama``
    ``api_base`` (default ``http://localhost:11434``), ``enabled`` (default true).
``lmstudio``
    ``api_base`` (default ``http://localhost:1234/v1``), ``enabled`` (default true).
``openrouter``
    ``api_base`` (default ``https://openrouter.ai/api/v1``), ``api_key`` /
    ``api_key_env`` (default ``OPENROUTER_API_KEY``), ``enabled``. Discovered only when
    ``enabled`` is true, or when it is unset and a key is set.
``kilo``
    The Kilo gateway (:mod:`kilo_tui.core.llm.gateway`): ``api_base`` (its root,
    default ``$KILO_API_URL`` or ``https://api.kilo.ai``), ``api_key`` (default
    ``$KILOCODE_TOKEN``), ``organization_id``, ``enabled``. Discovered when enabled (the first run's free
    choice does that), a token is set or a base is configured; without a token only free models are listed.
    Its models are ``kilo/<gateway id>``.
``glama``, ``unbound``, ``requesty`` and any other name with ``kind = "openai_compatible"``
    ``api_base`` (required for other names, given as ``…/v1``), ``api_key`` /
    ``api_key_env``, ``enabled``. Its models are ``<name>/<id>``; they are local and free
    when the base is on this machine.

Prices are USD per million tokens; ``None`` means unknown, which is never free.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlparse

from kilo_tui.core import paths

Source = Literal["bundled", "ollama", "lmstudio", "openai_compatible", "openrouter", "kilo"]
SortKey = Literal["name", "price", "context"]

LM_STUDIO_DEFAULT_BASE = "http://localhost:1234/v1"
BUNDLED_FILE = "model_prices_and_context_window_backup.json"
_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "0.0.0.0"})
# Rows of the bundled table that are pricing rules, not models a user can call.
_SKIP_KEY_PARTS = ("*", "-commitment/")
_SKIP_KEY_PREFIXES = ("ft:", "fireworks-ai-", "together-ai-", "sample_spec")


PriceTier = tuple[int, float | None, float | None, float | None, float | None]
"""``(threshold, input, output, cache read, cache write)``: USD per million tokens for a
request whose prompt is longer than ``threshold`` tokens; ``None`` keeps the base rate."""


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """One callable model: its litellm model string and what it costs and can do."""

    id: str
    """The litellm model string (``anthropic/claude-sonnet-4-5``, ``ollama_chat/qwen3``)."""
    provider: str
    name: str
    input_price: float | None = None
    """USD per million prompt tokens; ``None`` when unknown."""
    output_price: float | None = None
    cache_read_price: float | None = None
    """USD per million cached prompt tokens; ``None``: billed at the input price."""
    cache_write_price: float | None = None
    context_window: int | None = None
    max_output: int | None = None
    supports_tools: bool = False
    supports_vision: bool = False
    free: bool = False
    local: bool = False
    source: Source = "bundled"
    api_base: str | None = None
    """Where to send requests, for discovered models that need one."""
    long_context_prices: tuple[PriceTier, ...] = ()
    """Rates for prompts longer than a threshold (litellm's ``*_above_200k_tokens``)."""
    preferred_index: int | None = None
    """The Kilo gateway's recommendation rank (``preferredIndex``): lower is listed first."""

    @property
    def price_known(self) -> bool:
        return self.input_price is not None and self.output_price is not None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict (the ``models --json`` and cache format)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelInfo:
        """Rebuild from :meth:`to_dict` output, ignoring keys this version lacks."""
        names = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in names}
        # JSON turns the tier tuples into lists; keep the model hashable.
        values["long_context_prices"] = tuple(
            tuple(tier) for tier in values.get("long_context_prices", ())
        )
        return cls(**values)


def is_local_base(api_base: str | None) -> bool:
    """True when ``api_base`` points at this machine."""
    if not api_base:
        return False
    host = urlparse(api_base if "//" in api_base else f"//{api_base}").hostname
    return host in _LOCAL_HOSTS


_NOT_CHAT_WORDS = (
    "embed",
    "rerank",
    "whisper",
    "transcri",
    "tts",
    "speech",
    "moderation",
    "audio",
    "image",
    "dall-e",
    "lyria",
    "music",
)
_CHAT_OUTPUTS = frozenset({"text", "code"})


def is_chat_model(model_id: str, outputs: Iterable[str] | None = None) -> bool:
    """True for models that answer a conversation in text, the only ones an agent can
    drive. Embedding, rerank, speech, transcription, moderation, audio, image and music
    models are listed beside them by litellm's table, model lists and gateways; they
    go by what they output, when that is said, and by the words in their ids."""
    if outputs is not None and not set(outputs) <= _CHAT_OUTPUTS:
        return False
    name = model_id.lower()
    return not any(word in name for word in _NOT_CHAT_WORDS)


def is_free(input_price: float | None, output_price: float | None, model_id: str) -> bool:
    """Free means both prices are known to be zero, or an OpenRouter-style ``:free`` id."""
    return model_id.endswith(":free") or (input_price == 0 and output_price == 0)


def per_million(per_token: Any) -> float | None:
    """Convert a per-token price (number or numeric string) to USD per million tokens.

    Negative prices (OpenRouter's ``"-1"`` for routers with variable pricing) and
    anything unparsable are unknown.
    """
    try:
        value = float(per_token)
    except (TypeError, ValueError):
        return None
    # Rounding strips float noise (3e-06 * 1e6 == 3.0000000000000004).
    return round(value * 1_000_000, 9) if value >= 0 else None


def resolve_api_base(model_id: str, configured: str | None) -> str | None:
    """The api base to call ``model_id`` with.

    litellm sends an ``lm_studio/`` model without a base to OpenAI's servers; ours
    defaults it to LM Studio's local server instead (``$LM_STUDIO_API_BASE`` first).
    """
    if configured:
        return configured
    if model_id.startswith("lm_studio/"):
        return os.environ.get("LM_STUDIO_API_BASE") or LM_STUDIO_DEFAULT_BASE
    return None


# --------------------------------------------------------------------------- bundled


def bundled_table_path() -> Path | None:
    """Where litellm's bundled price table is, found without importing litellm."""
    spec = importlib.util.find_spec("litellm")
    for location in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(location) / BUNDLED_FILE
        if candidate.is_file():
            return candidate
    return None


@functools.cache
def bundled_models() -> tuple[ModelInfo, ...]:
    """The chat models of litellm's bundled table (read once per process)."""
    path = bundled_table_path()
    if path is None:
        return ()
    table = json.loads(path.read_text(encoding="utf-8"))
    return tuple(_parse_bundled(table))


def _parse_bundled(table: Mapping[str, Any]) -> Iterable[ModelInfo]:
    seen: dict[str, bool] = {}  # id -> came from an explicitly prefixed key
    models: dict[str, ModelInfo] = {}
    for key, entry in table.items():
        model_id = _bundled_id(key, entry)
        if model_id is None:
            continue
        explicit = "/" in key
        # "deepseek/deepseek-chat" and "deepseek-chat" both exist: the prefixed row is
        # the one litellm prices the prefixed string with.
        if model_id in seen and (seen[model_id] or not explicit):
            continue
        seen[model_id] = explicit
        models[model_id] = _bundled_info(model_id, entry)
    return models.values()


def _bundled_id(key: str, entry: Any) -> str | None:
    if not isinstance(entry, dict) or entry.get("mode", "chat") != "chat":
        return None
    if "code_interpreter_cost_per_session" in entry and "input_cost_per_token" not in entry:
        return None  # "openai/container": a tool's price per session, not a model
    provider = entry.get("litellm_provider")
    if not provider or key.startswith(_SKIP_KEY_PREFIXES):
        return None
    if any(part in key for part in _SKIP_KEY_PARTS):
        return None
    if not is_chat_model(key, entry.get("supported_output_modalities")):
        return None
    if key.startswith("ollama/"):
        return "ollama_chat/" + key.removeprefix("ollama/")
    if "/" in key:
        return key
    # Unprefixed keys: "vertex_ai-language-models" -> "vertex_ai/…",
    # "bedrock_converse" -> "bedrock/…", "anthropic" -> "anthropic/…".
    prefix = provider.split("-")[0].removesuffix("_converse")
    return f"{prefix}/{key}"


def _bundled_info(model_id: str, entry: Mapping[str, Any]) -> ModelInfo:
    provider, _, name = model_id.partition("/")
    input_price = per_million(entry.get("input_cost_per_token"))
    output_price = per_million(entry.get("output_cost_per_token"))
    local = False  # "local" means a server on this machine answered: discovery says so
    return ModelInfo(
        id=model_id,
        provider="ollama" if provider == "ollama_chat" else provider,
        name=name,
        input_price=input_price,
        output_price=output_price,
        cache_read_price=per_million(entry.get("cache_read_input_token_cost")),
        cache_write_price=per_million(entry.get("cache_creation_input_token_cost")),
        context_window=_int(entry.get("max_input_tokens") or entry.get("max_tokens")),
        max_output=_int(entry.get("max_output_tokens") or entry.get("max_tokens")),
        supports_tools=bool(entry.get("supports_function_calling")),
        supports_vision=bool(entry.get("supports_vision")),
        free=is_free(input_price, output_price, model_id),
        local=local,
        long_context_prices=_price_tiers(entry),
    )


_TIER_KEY = re.compile(
    r"^(input_cost_per_token|output_cost_per_token|cache_read_input_token_cost"
    r"|cache_creation_input_token_cost)_above_(\d+)(k?)_tokens$"
)
_TIER_RATES = (
    "input_cost_per_token",
    "output_cost_per_token",
    "cache_read_input_token_cost",
    "cache_creation_input_token_cost",
)


def _price_tiers(entry: Mapping[str, Any]) -> tuple[PriceTier, ...]:
    """litellm's long-context rates, e.g. ``input_cost_per_token_above_200k_tokens``."""
    tiers: dict[int, dict[str, float | None]] = {}
    for key, value in entry.items():
        if match := _TIER_KEY.match(key):
            threshold = int(match[2]) * (1000 if match[3] else 1)
            tiers.setdefault(threshold, {})[match[1]] = per_million(value)
    result = []
    for threshold, rates in sorted(tiers.items()):
        input_rate, output_rate, read_rate, write_rate = (rates.get(n) for n in _TIER_RATES)
        result.append((threshold, input_rate, output_rate, read_rate, write_rate))
    return tuple(result)


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and value > 0 else None


# --------------------------------------------------------------------------- catalog


class Catalog:
    """Bundled models merged with the configured providers' discovered (cached) models.

    Args:
        providers: the config's provider settings (see the module docstring).
        cache_dir: where discovery results are cached; defaults to
            ``paths.cache_dir() / "models"``.
    """

    def __init__(
        self,
        providers: Mapping[str, Mapping[str, Any]] | None = None,
        *,
        cache_dir: Path | None = None,
    ) -> None:
        self.providers: dict[str, dict[str, Any]] = {
            name: dict(settings) for name, settings in (providers or {}).items()
        }
        self.cache_dir = cache_dir or paths.cache_dir() / "models"
        self._index: dict[str, ModelInfo] | None = None
        self._aliases: dict[str, str] = {}

    def models(self) -> list[ModelInfo]:
        """Every known model: bundled data overlaid with cached discoveries. Instant."""
        return list(self._models_by_id().values())

    def get(self, model_id: str) -> ModelInfo | None:
        """Look a model up by litellm string, also resolving bare or aliased ids.

        ``gpt-4o``, ``openai/gpt-4o`` and ``ollama/llama3`` all resolve to their
        catalog entries.
        """
        index = self._models_by_id()
        if model_id in index:
            return index[model_id]
        if model_id.startswith("ollama/"):
            return index.get("ollama_chat/" + model_id.removeprefix("ollama/"))
        provider, _, bare = model_id.partition("/")
        if not bare:
            alias = self._aliases.get(model_id)
            return index.get(alias) if alias else None
        # "openai/gpt-4o" may name the bare "gpt-4o" entry, but only the same
        # provider's: another provider's price is not this model's price.
        for name in (model_id, bare):
            alias = self._aliases.get(name)
            if alias is not None and index[alias].provider == provider:
                return index[alias]
        return None

    async def learn(self, model_id: str) -> ModelInfo | None:
        """``model_id``'s entry; when neither the bundled table nor the cache knows it,
        after asking the one source that lists it (a local server, the Kilo gateway…).
        So a model the picker never listed is priced (free, local, the gateway's rates)
        from its first request. ``None`` when it stays unknown; never raises."""
        import asyncio

        from kilo_tui.core.llm import discovery

        info = await asyncio.to_thread(self.get, model_id)  # the first read parses a table
        source = discovery.source_for(self.providers, model_id)
        if info is not None or source is None:
            return info
        # A list fetched moments ago that lacks the model is not fetched again.
        try:
            await discovery.refresh_all(self.providers, self.cache_dir, max_age=10, only=source)
        except OSError:  # the cache could not be written: the model stays unknown
            return None
        self._index = None
        return await asyncio.to_thread(self.get, model_id)

    def usable_providers(self) -> frozenset[str]:
        """Providers the user can call now: those with a key in the config or the
        environment, and those whose server answered discovery (local servers, the Kilo
        gateway, OpenRouter…). The picker lists their models first."""
        from kilo_tui.core.llm import providers

        keyed = {
            name
            for name, env in providers.KEY_ENV.items()
            if providers.configured_key(providers.section(self.providers, name), env)
        }
        answered = {m.provider for m in self._models_by_id().values() if m.source != "bundled"}
        return frozenset(keyed | answered)

    async def refresh(self, *, max_age: float | None = None) -> list[str]:
        """Discover models from the configured providers and update the disk cache.

        Args:
            max_age: skip sources whose cache is younger than this many seconds.

        Returns:
            One human-readable message per source that failed; never raises.
        """
        from kilo_tui.core.llm import discovery  # discovery imports this module

        errors = await discovery.refresh_all(self.providers, self.cache_dir, max_age=max_age)
        self._index = None
        return errors

    def _models_by_id(self) -> dict[str, ModelInfo]:
        if self._index is None:
            from kilo_tui.core.llm import discovery

            index = {m.id: m for m in bundled_models()}
            self._aliases = _aliases(index.values())
            for model in discovery.load_cached(self.providers, self.cache_dir):
                index[model.id] = model
            self._index = index
        return self._index


_BARE_NAME_PROVIDERS = frozenset({"openai", "anthropic", "gemini", "mistral", "deepseek", "xai"})
"""Providers whose models litellm (and users) call by bare name: ``gpt-4o``, ``claude-…``."""


def _aliases(models: Collection[ModelInfo]) -> dict[str, str]:
    """Bare names -> ids: first-party providers win, else the first provider listed."""
    aliases: dict[str, str] = {}
    for model in models:
        aliases.setdefault(model.name, model.id)
    for model in models:
        if model.provider in _BARE_NAME_PROVIDERS:
            aliases[model.name] = model.id
    return aliases


# --------------------------------------------------------------------------- filtering


def filter_models(
    models: Iterable[ModelInfo],
    *,
    query: str = "",
    free: bool = False,
    local: bool = False,
    provider: str | None = None,
    tools: bool = False,
    sort: SortKey = "name",
    first: Collection[str] = (),
) -> list[ModelInfo]:
    """Filter and order models the way the picker and ``kilo-tui models`` do.

    ``query`` is matched fuzzily, word by word, against the model id (all words must
    match). Without a query, ``sort="name"`` lists the Kilo gateway's models first, in
    its recommended order (``preferredIndex``). With a query, it lists the best matches
    first (on a tie, the gateway's, then first-party providers such as OpenAI and
    Anthropic before resellers, then shorter ids); ``"price"`` (cheapest first, unknown
    last) and ``"context"`` (largest first) order the matches by that instead. Sorted
    by name, the models of the providers in ``first`` (those the user can call) lead,
    with or without a query.
    """
    kept = [
        m
        for m in models
        if (not free or m.free)
        and (not local or m.local)
        and (not tools or m.supports_tools)
        and (provider is None or m.provider == provider)
    ]
    kept.sort(key=_SORT_KEYS[sort])
    if sort == "name" and first:
        kept.sort(key=lambda m: m.provider not in first)  # stable: keeps the order within
    if not query.strip():
        return kept
    scores = fuzzy_scores(query, [m.id for m in kept])
    matched = [m for i, m in enumerate(kept) if i in scores]
    if sort == "name":
        order = {m.id: i for i, m in enumerate(kept)}
        matched.sort(
            key=lambda m: (
                -scores[order[m.id]],
                m.provider not in first,
                m.provider != "kilo",
                m.provider not in _BARE_NAME_PROVIDERS,
                len(m.id),
            )
        )
    return matched


def fuzzy_scores(query: str, choices: list[str]) -> dict[int, float]:
    """Indexes of ``choices`` matching every word of ``query``, with their worst score.

    Separators are ignored (``gpt4o`` finds ``gpt-4o``); words of four letters or more
    tolerate typos (``sonet``), shorter ones must appear as typed.
    """
    from rapidfuzz import fuzz, process, utils

    haystacks = [_squash(c) for c in choices]
    scores: dict[int, float] | None = None
    for word in utils.default_process(query).split():
        cutoff = 80 if len(word) >= 4 else 100
        found = process.extract(
            word, haystacks, scorer=fuzz.partial_ratio, score_cutoff=cutoff, limit=None
        )
        # An exact substring outranks a fuzzy hit that merely scores 100 too.
        current = {i: (101.0 if word in haystacks[i] else s) for _, s, i in found}
        if scores is not None:
            current = {i: min(s, scores[i]) for i, s in current.items() if i in scores}
        scores = current
    return scores or {}


@functools.lru_cache(maxsize=16384)
def _squash(text: str) -> str:
    """``"openai/gpt-4o"`` -> ``"openaigpt4o"`` (cached: the picker asks per keystroke)."""
    from rapidfuzz import utils

    return utils.default_process(text).replace(" ", "")


def _price_key(m: ModelInfo) -> tuple[bool, float, str]:
    if not m.price_known:
        return (True, 0.0, m.id)
    return (False, (m.input_price or 0.0) + (m.output_price or 0.0), m.id)


def _name_key(m: ModelInfo) -> tuple[bool, bool, int, str]:
    """Kilo gateway models first, in the gateway's recommended order, then by id."""
    rank = m.preferred_index
    return (m.provider != "kilo", rank is None, rank or 0, m.id.lower())


_SORT_KEYS = {
    "name": _name_key,
    "price": _price_key,
    "context": lambda m: (-(m.context_window or 0), m.id.lower()),
}


# --------------------------------------------------------------------------- state


@dataclass(frozen=True)
class ModelState:
    """The user's favourites, recents (most recent first) and sticky model per mode."""

    favorites: tuple[str, ...] = ()
    recent: tuple[str, ...] = ()
    per_mode: Mapping[str, str] = field(default_factory=dict)


MAX_RECENT = 10


def _state_path() -> Path:
    return paths.data_dir() / "models_state.json"


def load_model_state() -> ModelState:
    """Read ``models_state.json``; a missing or broken file is an empty state."""
    try:
        data = json.loads(_state_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ModelState()
    if not isinstance(data, dict):
        return ModelState()
    return ModelState(
        favorites=tuple(str(x) for x in data.get("favorites", [])),
        recent=tuple(str(x) for x in data.get("recent", []))[:MAX_RECENT],
        per_mode={str(k): str(v) for k, v in dict(data.get("per_mode", {})).items()},
    )


def _save(state: ModelState) -> None:
    path = _state_path()
    paths.ensure_dir(path.parent)
    data = {
        "favorites": list(state.favorites),
        "recent": list(state.recent),
        "per_mode": dict(state.per_mode),
    }
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2), encoding="utf-8")
    tmp.replace(path)


def toggle_favorite(model_id: str) -> bool:
    """Add or remove a favourite; returns True when it is now a favourite."""
    state = load_model_state()
    now_favorite = model_id not in state.favorites
    favorites = (
        (*state.favorites, model_id)
        if now_favorite
        else tuple(f for f in state.favorites if f != model_id)
    )
    _save(ModelState(favorites, state.recent, state.per_mode))
    return now_favorite


def record_recent(model_id: str) -> None:
    """Put ``model_id`` first in the recents (keeping at most ten)."""
    state = load_model_state()
    recent = (model_id, *(r for r in state.recent if r != model_id))[:MAX_RECENT]
    _save(ModelState(state.favorites, recent, state.per_mode))


def set_mode_model(mode: str, model_id: str) -> None:
    """Remember ``model_id`` as the sticky model of ``mode``."""
    state = load_model_state()
    _save(ModelState(state.favorites, state.recent, {**state.per_mode, mode: model_id}))


def get_mode_model(mode: str) -> str | None:
    """The sticky model of ``mode``, if one was chosen."""
    return load_model_state().per_mode.get(mode)
