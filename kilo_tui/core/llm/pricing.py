"""What a request cost, at the provider's own rates, and how to show it.

Usage is OpenAI-style, as litellm normalises it for every provider: ``prompt_tokens``
*includes* the cached tokens, both those read from the cache and those written to it.
So the uncached remainder is billed at the input rate, cache reads at the cache-read
rate and cache writes at the cache-write rate, exactly as litellm's
``generic_cost_per_token`` does. A model that publishes no cache rate bills cached
tokens at its input rate (litellm's rule too); an explicit 0 stays 0.

Long prompts are billed at the long-context rates (``*_above_200k_tokens``) for every
token of the request, as litellm does. Not modelled: service tiers (priority, flex,
batch), off-peak windows, litellm's ``tiered_pricing`` tables and Fireworks' implied
cache-read discount; those requests are priced at the standard rates.
"""

from __future__ import annotations

from kilo_tui.core.llm.catalog import ModelInfo


def request_cost(
    info: ModelInfo | None,
    *,
    prompt_tokens: int,
    completion_tokens: int,
    cache_read_tokens: int = 0,
    cache_write_tokens: int = 0,
    reported_cost: float | None = None,
) -> float | None:
    """The USD cost of one request, or ``None`` when it cannot be known.

    A cost the provider reported (OpenRouter's ``usage.cost``) wins over our sums;
    a free model costs 0.0; a model without known prices costs ``None``.
    """
    if reported_cost is not None:
        return reported_cost
    if info is None:
        return None
    if info.free:
        return 0.0
    if info.input_price is None or info.output_price is None:
        return None
    input_rate, output_rate, read_rate, write_rate = _rates(
        info, info.input_price, info.output_price, prompt_tokens
    )
    uncached = max(prompt_tokens - cache_read_tokens - cache_write_tokens, 0)
    per_million = (
        uncached * input_rate
        + cache_read_tokens * read_rate
        + cache_write_tokens * write_rate
        + completion_tokens * output_rate
    )
    return per_million / 1_000_000


def _rates(
    info: ModelInfo, input_rate: float, output_rate: float, prompt_tokens: int
) -> tuple[float, float, float, float]:
    """Input, output, cache-read and cache-write rates for a prompt of this length."""
    read_rate, write_rate = info.cache_read_price, info.cache_write_price
    # As litellm does: each tier the prompt passes overrides the rates it names; xAI
    # bills a tier from its threshold on.
    inclusive = info.provider == "xai"
    for threshold, tier_in, tier_out, tier_read, tier_write in info.long_context_prices:
        if prompt_tokens > threshold or (inclusive and prompt_tokens == threshold):
            input_rate = input_rate if tier_in is None else tier_in
            output_rate = output_rate if tier_out is None else tier_out
            read_rate = read_rate if tier_read is None else tier_read
            write_rate = write_rate if tier_write is None else tier_write
    return (
        input_rate,
        output_rate,
        input_rate if read_rate is None else read_rate,
        input_rate if write_rate is None else write_rate,
    )


def format_cost(cost: float | None, free: bool) -> str:
    """``$0.0123``, ``$0.00 (free)`` or ``price unknown``.

    ``free`` says the (last) model is free; a total that is not 0 (a task that ran on
    a paid model before switching to a free one) is still shown as the sum it is.
    """
    if free and cost == 0:
        return "$0.00 (free)"
    if cost is None:
        return "price unknown"
    return f"${cost:.4f}" if cost < 1 else f"${cost:.2f}"


def format_cache(read: int, written: int) -> str:
    """A request's prompt-cache use, ``cache 12k read, 2.1k written``; "" when none."""
    parts = [
        f"{format_count(count)} {what}"
        for count, what in ((read, "read"), (written, "written"))
        if count
    ]
    return "cache " + ", ".join(parts) if parts else ""


def format_price(per_million: float | None) -> str:
    """A per-million-token price for tables: ``$3.00``, ``$0.075``, ``?``."""
    if per_million is None:
        return "?"
    if per_million == 0:
        return "$0"
    return f"${per_million:.2f}" if per_million >= 0.1 else f"${per_million:.3g}"


def format_count(count: int) -> str:
    """A token count as used by a request or a task: ``950``, ``12.3k``, ``1.2M``."""
    if count < 1000:
        return str(count)
    if count < 1_000_000:
        return f"{count / 1000:.1f}k"
    return f"{count / 1_000_000:.1f}M"


def format_tokens(count: int | None) -> str:
    """A context size for tables: ``200K``, ``8K``, ``1M``, ``1.05M``, ``?``."""
    if not count:
        return "?"
    if count >= 1_000_000:
        return f"{count / 1_000_000:.3g}M"
    if count >= 1000:
        return f"{round(count / 1000)}K"
    return str(count)
