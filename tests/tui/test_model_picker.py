"""The model picker, driven through Pilot against the real catalog."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.app import App
from textual.widgets import Input, OptionList

from kilo_tui.core.llm.catalog import Catalog, ModelInfo, load_model_state, record_recent
from kilo_tui.tui.screens.model_picker import CHUNK, ModelList, ModelPickerScreen
from tests.fakeserver import FakeLLMServer

OFFLINE: dict[str, dict[str, Any]] = {"ollama": {"enabled": False}, "lmstudio": {"enabled": False}}


@pytest.fixture(autouse=True)
def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KILO_TUI_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("OPENROUTER_API_KEY", raising=False)
    monkeypatch.delenv("KILOCODE_TOKEN", raising=False)


class PickerApp(App[None]):
    """Pushes the picker and keeps what it returned."""

    def __init__(self, catalog: Catalog, current: str | None = None, mode: str | None = None):
        super().__init__()
        self.picker = ModelPickerScreen(catalog, current, mode)
        self.results: list[str | None] = []

    def on_mount(self) -> None:
        self.push_screen(self.picker, self.results.append)


def _app(
    current: str | None = None, providers: dict[str, dict[str, Any]] | None = None
) -> PickerApp:
    return PickerApp(Catalog(OFFLINE if providers is None else providers), current, "code")


def _rows(picker: ModelPickerScreen) -> list[str]:
    """The text of the options the list holds now, as the user reads them."""
    model_list = picker.query_one(ModelList)
    return [str(model_list.get_option_at_index(i).prompt) for i in range(model_list.option_count)]


async def test_typing_filters_the_list() -> None:
    app = _app()
    async with app.run_test(size=(120, 40)) as pilot:
        picker = app.picker
        total = len(picker.shown_models)
        await pilot.press(*"sonnet 4.5")
        await pilot.pause()
        shown = picker.shown_models
        assert 0 < len(shown) < total
        assert all("sonnet" in m.id for m in shown)
        assert picker.highlighted_model == "anthropic/claude-sonnet-4-5"
        assert "200K" in _rows(picker)[0] and "$3.00/$15.00" in _rows(picker)[0]


async def test_free_toggle_hides_paid_models() -> None:
    app = _app()
    async with app.run_test(size=(120, 40)) as pilot:
        picker = app.picker
        await pilot.press("ctrl+g")
        await pilot.pause()
        shown = picker.shown_models
        assert shown and all(m.free for m in shown)
        assert not any(m.id.startswith("anthropic/") for m in shown)
        assert all("(free)" in row or "local" in row for row in _rows(picker))
        await pilot.press("ctrl+g")
        await pilot.pause()
        assert any(not m.free for m in picker.shown_models)


async def test_enter_returns_the_highlighted_model() -> None:
    app = _app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press(*"gpt-4o-mini", "down", "up", "enter")
        await pilot.pause()
        assert app.results == ["openai/gpt-4o-mini"]


async def test_escape_cancels() -> None:
    app = _app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("escape")
        await pilot.pause()
        assert app.results == [None]


async def test_f_persists_a_favourite_and_lists_it_first() -> None:
    app = _app()
    async with app.run_test(size=(120, 40)) as pilot:
        picker = app.picker
        await pilot.press(*"deepseek chat")
        await pilot.pause()
        target = picker.highlighted_model
        assert target is not None
        # In the search box `f` is just a letter…
        picker.query_one(ModelList).focus()
        await pilot.press("f")
        await pilot.pause()
        assert load_model_state().favorites == (target,)
        assert picker.query_one(Input).value == "deepseek chat"
        rows = _rows(picker)
        assert rows[0] == "Favourites" and rows[1].startswith("★") and target in rows[1]
        assert picker.highlighted_model == target
        # …ctrl+f works from anywhere, and unstars it.
        picker.query_one(Input).focus()
        await pilot.press("ctrl+f")
        await pilot.pause()
        assert load_model_state().favorites == ()


async def test_current_model_and_recents_come_first() -> None:
    record_recent("openai/gpt-4o")
    app = _app(current="anthropic/claude-sonnet-4-5")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        picker = app.picker
        assert picker.highlighted_model == "anthropic/claude-sonnet-4-5"
        rows = _rows(picker)
        assert rows[0] == "Recent"
        assert rows[1].startswith(" ●") and "anthropic/claude-sonnet-4-5" in rows[1]
        assert "openai/gpt-4o " in rows[2]
        assert rows[3] == "All models"


async def test_list_is_filled_lazily_as_the_user_scrolls() -> None:
    app = _app()
    async with app.run_test(size=(120, 40)) as pilot:
        picker = app.picker
        model_list = picker.query_one(ModelList)
        assert model_list.option_count == CHUNK < len(picker.shown_models)
        model_list.focus()
        await pilot.press("end")
        await pilot.pause()
        assert model_list.option_count == 2 * CHUNK


async def test_sort_by_price_lists_the_cheapest_first() -> None:
    app = _app()
    async with app.run_test(size=(120, 40)) as pilot:
        picker = app.picker
        await pilot.press(*"claude", "ctrl+s")
        await pilot.pause()
        prices = [m.input_price + m.output_price for m in picker.shown_models if m.price_known]  # type: ignore[operator]
        assert prices == sorted(prices)
        assert picker.highlighted_model == picker.shown_models[0].id


async def test_local_server_models_are_flagged_local_and_free(tmp_path: Path) -> None:
    with FakeLLMServer(models=["qwen-local-coder"]) as server:
        providers = {**OFFLINE, "box": {"kind": "openai_compatible", "api_base": server.base_url}}
        app = _app(providers=providers)
        async with app.run_test(size=(120, 40)) as pilot:
            picker = app.picker
            await pilot.press(*"qwen-local")
            # Discovery runs in a worker after the first paint.
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert [m.id for m in picker.shown_models] == ["box/qwen-local-coder"]
            row = _rows(picker)[0]
            assert "local" in row and "box" in row and "$0/$0" in row
            await pilot.press("ctrl+l")
            await pilot.pause()
            assert picker.highlighted_model == "box/qwen-local-coder"


async def test_choosing_with_the_mouse(tmp_path: Path) -> None:
    app = _app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press(*"openai o3-mini")
        await pilot.pause()
        picker = app.picker
        expected = picker.shown_models[0].id
        picker.query_one(OptionList).action_select()
        await pilot.pause()
        assert app.results == [expected]


async def test_clickable_filter_bar_and_provider_filter() -> None:
    app = _app()
    async with app.run_test(size=(120, 40)) as pilot:
        picker = app.picker
        await pilot.click("#picker-filters", offset=(2, 0))  # "□ Free"
        await pilot.pause()
        assert picker.free
        assert "■ Free" in str(picker.query_one("#picker-filters").render())
        free = picker.shown_models
        assert free and all(m.free for m in free)
        assert len({m.provider for m in free}) > 1

        await pilot.press("ctrl+o")
        await pilot.pause()
        providers = app.screen.query_one("#provider-filter-list", OptionList)
        providers.highlighted = providers.get_option_index("ollama")
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is picker
        shown = picker.shown_models
        assert shown and {m.provider for m in shown} == {"ollama"} and all(m.free for m in shown)
        assert "Provider: ollama" in str(picker.query_one("#picker-filters").render())


async def test_gateway_models_come_first_in_kilos_order_and_free_ones_say_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.fakegateway import FakeGateway

    monkeypatch.setenv("KILOCODE_TOKEN", "kilo-token-good")
    with FakeGateway() as gateway:
        monkeypatch.setenv("KILO_API_URL", gateway.root)
        app = _app()
        async with app.run_test(size=(140, 40)) as pilot:
            picker = app.picker
            await app.workers.wait_for_complete()
            await pilot.pause()
            first = [m.id for m in picker.shown_models[:6]]
            assert first[:4] == [
                "kilo/auto",  # preferredIndex 0: the virtual model
                "kilo/anthropic/claude-sonnet-4.5",
                "kilo/minimax/minimax-m2.1:free",
                "kilo/x-ai/grok-code-fast-1",
            ]
            rows = _rows(picker)
            assert "(free)" in next(r for r in rows if "minimax-m2.1:free" in r)
            assert "(free)" not in next(r for r in rows if "claude-sonnet-4.5" in r)
            await pilot.press("ctrl+g")  # free only: chat models, no image or embedding one
            await pilot.pause()
            free_kilo = [m.id for m in picker.shown_models if m.provider == "kilo"]
            assert free_kilo == [
                "kilo/minimax/minimax-m2.1:free",
                "kilo/x-ai/grok-code-fast-1",
                "kilo/z-ai/glm-4.6:free",
            ]
            assert not any("embedding" in m.id or "-image" in m.id for m in picker.shown_models)


async def test_models_the_user_can_call_are_listed_first(monkeypatch: pytest.MonkeyPatch) -> None:
    """A DeepSeek key and a local server that answered: their models open the list,
    the local one flagged; an embedding model the server also lists is not offered."""
    for env in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "GEMINI_API_KEY", "MISTRAL_API_KEY"):
        monkeypatch.delenv(env, raising=False)
    monkeypatch.setenv("DEEPSEEK_API_KEY", "sk-deepseek")
    with FakeLLMServer(models=["qwen-local-coder", "nomic-embed-text"]) as server:
        providers = {**OFFLINE, "box": {"kind": "openai_compatible", "api_base": server.base_url}}
        app = _app(providers=providers)
        async with app.run_test(size=(120, 40)) as pilot:
            await app.workers.wait_for_complete()
            await pilot.pause()
            picker = app.picker
            shown = picker.shown_models
            leading = {m.provider for m in shown[:6]}
            assert leading == {"box", "deepseek"}, [m.id for m in shown[:6]]
            assert "box/nomic-embed-text" not in {m.id for m in shown}
            assert "local" in next(r for r in _rows(picker) if "qwen-local-coder" in r)


# ------------------------------------------------------------------ snapshot


class SampleCatalog(Catalog):
    """A fixed catalog (the bundled table changes with litellm): the widest values each
    column takes, a free gateway model, a local one, an unknown price."""

    SAMPLE = (
        ModelInfo(
            id="kilo/anthropic/claude-sonnet-4.5",
            provider="kilo",
            name="Claude Sonnet 4.5",
            input_price=3.0,
            output_price=15.0,
            context_window=1_000_000,
            source="kilo",
            preferred_index=1,
        ),
        ModelInfo(
            id="kilo/minimax/minimax-m2.1:free",
            provider="kilo",
            name="MiniMax M2.1",
            input_price=0.0,
            output_price=0.0,
            context_window=204_800,
            free=True,
            source="kilo",
            preferred_index=2,
        ),
        ModelInfo(
            id="lm_studio/qwen2.5-coder-32b-instruct-mlx-4bit-dwq",
            provider="lm_studio",
            name="qwen2.5-coder",
            input_price=0.0,
            output_price=0.0,
            context_window=32_768,
            free=True,
            local=True,
            source="lmstudio",
        ),
        ModelInfo(
            id="anthropic/claude-opus-4-1",
            provider="anthropic",
            name="claude-opus-4-1",
            input_price=15.0,
            output_price=75.0,
            context_window=200_000,
        ),
        ModelInfo(
            id="anthropic/claude-sonnet-4-5",
            provider="anthropic",
            name="claude-sonnet-4-5",
            input_price=3.0,
            output_price=15.0,
            context_window=200_000,
        ),
        ModelInfo(
            id="openai/gpt-4o-mini",
            provider="openai",
            name="gpt-4o-mini",
            input_price=0.15,
            output_price=0.6,
            context_window=128_000,
        ),
        ModelInfo(id="openrouter/openrouter/auto", provider="openrouter", name="Auto Router"),
    )

    def __init__(self) -> None:
        super().__init__({})

    def models(self) -> list[ModelInfo]:
        return list(self.SAMPLE)

    async def refresh(self, *, max_age: float | None = None) -> list[str]:
        return []

    def usable_providers(self) -> frozenset[str]:
        return frozenset({"kilo", "lm_studio", "anthropic"})


@pytest.mark.parametrize("width", [80, 100, 140])
async def test_flag_price_and_context_columns_are_whole_at_any_width(width: int) -> None:
    app = PickerApp(SampleCatalog(), "anthropic/claude-sonnet-4-5", "code")
    async with app.run_test(size=(width, 24)) as pilot:
        await pilot.pause()
        model_list = app.picker.query_one(ModelList)
        room = model_list.scrollable_content_region.width
        rows = [r for r in _rows(app.picker) if "/" in r]
        assert len(rows) == len(SampleCatalog.SAMPLE)
        assert all(len(row) <= room for row in rows), (room, rows)
        local = next(r for r in rows if r.startswith("   lm_studio/"))
        assert local.endswith("local           $0/$0    33K"), local
        assert "-dwq" in local  # the id is shortened in its middle, its end stays
        opus = next(r for r in rows if "claude-opus" in r)
        assert opus.endswith("$15.00/$75.00   200K")
        assert next(r for r in rows if ":free" in r).endswith("(free)          $0/$0   205K")
        assert ("anthropic     " in opus) == (width >= 100)  # the provider, given room


def test_snapshot_at_80_columns(snap_compare: Any) -> None:
    """At 80×24 every column is whole: the id (shortened in the middle when it must
    be), the free/local flag, the price in/out and the context window."""
    app = PickerApp(SampleCatalog(), "anthropic/claude-sonnet-4-5", "code")
    assert snap_compare(app, terminal_size=(80, 24))
