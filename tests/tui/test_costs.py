"""Costs are priced for the model that served each request (issue #14), and a model's
price reads the same in the picker and the status bar.

The real AgentRuntime, session store and catalog; the fake OpenAI-compatible server
(as OpenAI, as an LM Studio server on this machine) and the fake Kilo gateway. Each
test scripts the usage the server reports and checks the figures the user reads in
the status bar and in /history against the catalog's rates.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from kilo_tui.core.config import Settings
from kilo_tui.core.llm.catalog import Catalog
from kilo_tui.tui.app import KiloApp
from kilo_tui.tui.screens.history import task_row
from kilo_tui.tui.screens.model_picker import ModelList, ModelPickerScreen
from kilo_tui.tui.widgets.status_bar import StatusBar
from tests.fakeserver import FakeLLMServer, Turn, tool_call
from tests.tui.pilot import chat_text, idle, make_app, type_and_send, until

pytestmark = pytest.mark.timeout(120)

USAGE = {"prompt_tokens": 1000, "completion_tokens": 200}


def done(text: str, usage: dict[str, int] = USAGE) -> Turn:
    """One request that ends the turn, reporting ``usage``."""
    return Turn(tool_calls=[tool_call("attempt_completion", result=text)], usage=usage)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    return root


def local_settings(server: FakeLLMServer, model: str) -> Settings:
    """``model`` first; the fake server also answers as LM Studio on this machine."""
    providers: dict[str, dict[str, Any]] = {
        "ollama": {"enabled": False},
        "lmstudio": {"api_base": server.base_url},
    }
    return Settings(model=model, small_model="openai/fake-small", providers=providers)


def priced(model: str, prompt: int, completion: int) -> str:
    """What ``prompt`` in and ``completion`` out cost on ``model``, as the status bar
    shows it, from the catalog's published rates."""
    info = Catalog({}).get(model)
    assert info is not None and info.input_price and info.output_price
    return f"${(prompt * info.input_price + completion * info.output_price) / 1e6:.4f}"


def status_text(app: KiloApp) -> str:
    return app.screen.query_one(StatusBar).render().plain


def wire_models(server: FakeLLMServer) -> list[str]:
    return [b["model"] for b in server.chat_requests if b["model"] != "fake-small"]


def history_cost(app: KiloApp) -> str:
    """The cost column /history shows for the current task."""
    runtime = app.main_screen.runtime
    record = runtime.store.get_task(runtime.task_id or "")
    assert record is not None
    return task_row(record)[4]


async def pick(pilot: Any, app: KiloApp, query: str) -> str:
    """Open /model, search ``query``; returns the highlighted row and chooses it."""
    await type_and_send(pilot, "/model")
    await until(pilot, lambda: isinstance(app.screen, ModelPickerScreen))
    picker = app.screen
    assert isinstance(picker, ModelPickerScreen)
    await pilot.press(*query)
    await until(pilot, lambda: picker.highlighted_model is not None and not app.workers._workers)
    await pilot.pause(0.2)
    model_list = picker.query_one(ModelList)
    row = str(model_list.get_option_at_index(model_list.highlighted or 0).prompt)
    await pilot.press("enter")
    await until(pilot, lambda: not isinstance(app.screen, ModelPickerScreen))
    return row


async def test_a_mid_task_switch_prices_each_request_with_its_model(
    workspace: Path, llm_env: FakeLLMServer
) -> None:
    """gpt-4o, then a local model, then a model without a known price: the task's
    total stays what gpt-4o cost (never "free"), then becomes unknown, in the status
    bar and in /history alike."""
    paid = priced("openai/gpt-4o", 1000, 200)
    app = make_app(workspace, local_settings(llm_env, "openai/gpt-4o"))
    async with app.run_test(size=(120, 40)) as pilot:
        llm_env.script(done("On gpt-4o."))
        await type_and_send(pilot, "first")
        await idle(pilot)
        assert status_text(app).endswith(paid), status_text(app)

        row = await pick(pilot, app, "lm_studio fake-model")
        assert "lm_studio/fake-model " in row and "local" in row and "$0/$0" in row
        await until(pilot, lambda: "[local]" in status_text(app))
        assert "lm_studio/fake-model" in status_text(app)

        llm_env.script(
            done("On the local model.", {"prompt_tokens": 5000, "completion_tokens": 10})
        )
        await type_and_send(pilot, "second")
        await idle(pilot)
        assert status_text(app).endswith(paid) and "(free)" not in status_text(app)
        assert history_cost(app) == paid

        app.main_screen.runtime.set_model("openai/fake-model", persist=False)
        await until(pilot, lambda: "openai/fake-model" in status_text(app))
        await pilot.pause(0.2)
        assert "[local]" not in status_text(app) and "[free]" not in status_text(app)
        llm_env.script(done("On an unknown model."))
        await type_and_send(pilot, "third")
        await idle(pilot)
        assert status_text(app).endswith("price unknown"), status_text(app)
        assert history_cost(app) == "price unknown"
    assert wire_models(llm_env) == ["gpt-4o", "fake-model", "fake-model"]


async def test_a_local_model_costs_nothing_without_opening_the_picker(
    workspace: Path, llm_env: FakeLLMServer
) -> None:
    """A model on a server on this machine is local and free from its first request,
    though the picker (which discovers models) was never opened."""
    app = make_app(workspace, local_settings(llm_env, "lm_studio/fake-model"))
    async with app.run_test(size=(120, 40)) as pilot:
        llm_env.script(done("Hello from the local model."))
        await type_and_send(pilot, "hello")
        await idle(pilot)
        await until(pilot, lambda: "[local]" in status_text(app))
        assert status_text(app).endswith("$0.00 (free)"), status_text(app)
        assert "price unknown" not in chat_text(app)
        assert history_cost(app) == "$0.00 (free)"
    assert wire_models(llm_env) == ["fake-model"]


async def test_gateway_models_are_priced_by_the_gateways_list(
    workspace: Path, llm_env: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Kilo gateway's free model costs $0 (free), its paid one its listed rate
    ($3/$15 per million), without the picker having listed them first."""
    from tests.fakegateway import FakeGateway

    monkeypatch.setenv("KILOCODE_TOKEN", "kilo-token-good")
    with FakeGateway() as gateway:
        monkeypatch.setenv("KILO_API_URL", gateway.root)
        settings = Settings(
            model="kilo/minimax/minimax-m2.1:free",
            small_model="openai/fake-small",
            providers={"ollama": {"enabled": False}, "lmstudio": {"enabled": False}},
        )
        app = make_app(workspace, settings)
        async with app.run_test(size=(120, 40)) as pilot:
            gateway.script(done("Free reply."))
            await type_and_send(pilot, "hello")
            await idle(pilot)
            assert status_text(app).endswith("$0.00 (free)"), status_text(app)
            assert history_cost(app) == "$0.00 (free)"

            app.main_screen.runtime.set_model("kilo/anthropic/claude-sonnet-4.5", persist=False)
            gateway.script(done("Paid reply."))
            await type_and_send(pilot, "more")
            await idle(pilot)
            expected = f"${(1000 * 3.0 + 200 * 15.0) / 1e6:.4f}"
            assert status_text(app).endswith(expected), status_text(app)
            assert "[free]" not in status_text(app)
            assert history_cost(app) == expected
        sent = [b["model"] for b in gateway.chat_requests]
        assert sent == ["minimax/minimax-m2.1:free", "anthropic/claude-sonnet-4.5"]


async def test_a_resumed_task_is_priced_on_its_own_model(
    workspace: Path, llm_env: FakeLLMServer
) -> None:
    """gpt-4o's task, resumed with gpt-4o-mini configured: the next request runs on
    gpt-4o and the total is twice gpt-4o's price, not gpt-4o-mini's."""
    settings = local_settings(llm_env, "openai/gpt-4o")
    llm_env.script(done("Done on gpt-4o."))
    app = make_app(workspace, settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await type_and_send(pilot, "first")
        await idle(pilot)
    once = priced("openai/gpt-4o", 1000, 200)
    twice = priced("openai/gpt-4o", 2000, 400)
    assert once != twice != priced("openai/gpt-4o-mini", 2000, 400)
    other = dataclasses.replace(settings, model="openai/gpt-4o-mini")
    app = make_app(workspace, other, continue_last=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: "Done on gpt-4o." in chat_text(app))
        await until(pilot, lambda: "openai/gpt-4o " in status_text(app) + " ")
        llm_env.script(done("Still gpt-4o."))
        await type_and_send(pilot, "go on")
        await idle(pilot)
        assert status_text(app).endswith(twice), status_text(app)
        assert history_cost(app) == twice
    assert wire_models(llm_env) == ["gpt-4o", "gpt-4o"]
