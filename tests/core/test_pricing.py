"""Request cost at the provider's rates, checked against litellm's own arithmetic."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from kilo_tui.core.llm.catalog import Catalog, ModelInfo
from kilo_tui.core.llm.pricing import format_cost, format_price, format_tokens, request_cost

CostFn = Callable[..., tuple[float, float]]
OFFLINE = {"ollama": {"enabled": False}, "lmstudio": {"enabled": False}}


@pytest.fixture(scope="module")
def litellm_cost_per_token() -> Iterator[CostFn]:
    # Without this litellm spends seconds trying to download a fresh price table.
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        import litellm

        yield litellm.cost_per_token


USAGES = [
    {"prompt_tokens": 12_345, "completion_tokens": 678},
    {"prompt_tokens": 50_000, "completion_tokens": 2_000, "cache_read_tokens": 30_000},
    {
        "prompt_tokens": 50_000,
        "completion_tokens": 2_000,
        "cache_read_tokens": 20_000,
        "cache_write_tokens": 10_000,
    },
    {"prompt_tokens": 300_000, "completion_tokens": 4_000, "cache_read_tokens": 120_000},
]


@pytest.mark.parametrize(
    "model",
    [
        "anthropic/claude-sonnet-4-5",
        "openai/gpt-4o",
        "deepseek/deepseek-chat",
        "gemini/gemini-2.5-flash",
        "gemini/gemini-2.5-pro",  # long-context rates above 200k
        "openai/gpt-5.5",  # long-context rates above 272k
    ],
)
@pytest.mark.parametrize("usage", USAGES)
def test_cost_matches_litellm(
    model: str, usage: dict[str, int], litellm_cost_per_token: CostFn
) -> None:
    info = Catalog(OFFLINE).get(model)
    assert info is not None and info.price_known
    prompt_cost, completion_cost = litellm_cost_per_token(
        model=model,
        prompt_tokens=usage["prompt_tokens"],
        completion_tokens=usage["completion_tokens"],
        cache_read_input_tokens=usage.get("cache_read_tokens", 0),
        cache_creation_input_tokens=usage.get("cache_write_tokens", 0),
    )
    ours = request_cost(info, **usage)
    # Far tighter than "to the cent": the same sum, up to float noise.
    assert ours == pytest.approx(prompt_cost + completion_cost, rel=1e-9, abs=1e-12)


def test_long_prompts_use_long_context_rates() -> None:
    info = Catalog(OFFLINE).get("gemini/gemini-2.5-pro")
    assert info is not None and info.input_price is not None and info.long_context_prices
    threshold, tier_in, tier_out, *_ = info.long_context_prices[0]
    assert threshold == 200_000 and tier_in and tier_out and tier_in > info.input_price
    short = request_cost(info, prompt_tokens=threshold, completion_tokens=0)
    long = request_cost(info, prompt_tokens=threshold + 1, completion_tokens=0)
    assert short == pytest.approx(threshold * info.input_price / 1e6)
    assert long == pytest.approx((threshold + 1) * tier_in / 1e6)


def _model(**kw: Any) -> ModelInfo:
    return ModelInfo(id="p/m", provider="p", name="m", **kw)


def test_cache_tokens_use_cache_rates_and_fall_back_to_input_rate() -> None:
    priced = _model(
        input_price=3.0, output_price=15.0, cache_read_price=0.3, cache_write_price=3.75
    )
    cost = request_cost(
        priced,
        prompt_tokens=1_000_000,
        completion_tokens=100_000,
        cache_read_tokens=500_000,
        cache_write_tokens=100_000,
    )
    assert cost == pytest.approx(400_000 * 3e-6 + 500_000 * 0.3e-6 + 100_000 * 3.75e-6 + 1.5)
    no_cache_rates = _model(input_price=2.0, output_price=8.0)
    assert request_cost(
        no_cache_rates, prompt_tokens=1000, completion_tokens=0, cache_read_tokens=600
    ) == pytest.approx(0.002)


def test_reported_cost_wins_free_is_zero_unknown_is_none() -> None:
    paid = _model(input_price=3.0, output_price=15.0)
    assert request_cost(paid, prompt_tokens=10, completion_tokens=10, reported_cost=0.42) == 0.42
    assert request_cost(None, prompt_tokens=10, completion_tokens=10, reported_cost=0.01) == 0.01
    free = _model(input_price=0.0, output_price=0.0, free=True)
    assert request_cost(free, prompt_tokens=10**6, completion_tokens=10**6) == 0.0
    assert request_cost(_model(), prompt_tokens=10, completion_tokens=10) is None
    assert request_cost(None, prompt_tokens=10, completion_tokens=10) is None


def test_format_cost() -> None:
    assert format_cost(0.0123, free=False) == "$0.0123"
    assert format_cost(0.0, free=True) == "$0.00 (free)"
    assert format_cost(0.0045, free=True) == "$0.0045"  # paid requests, then a free one
    assert format_cost(None, free=False) == "price unknown"
    assert format_cost(12.345, free=False) == "$12.35"


def test_table_formatting() -> None:
    assert [format_price(p) for p in (3.0, 0.075, 0.0, None)] == ["$3.00", "$0.075", "$0", "?"]
    assert [format_tokens(n) for n in (200_000, 1_000_000, 1_048_576, 8192, None)] == [
        "200K",
        "1M",
        "1.05M",
        "8K",
        "?",
    ]
