"""First run: no model, no key: the app guides the user to a provider, key and model.

The key must land in the config file (mode 0600) and nowhere else on disk.
"""

from __future__ import annotations

import socket
import tomllib
from pathlib import Path

import pytest
from textual.app import App
from textual.pilot import Pilot
from textual.widgets import Input, Label, OptionList

from kilo_tui.core.config import (
    PROVIDER_KEY_ENV,
    Settings,
    load_settings,
    needs_first_run,
)
from kilo_tui.core.llm.providers import route
from kilo_tui.tui.app import KiloApp
from kilo_tui.tui.screens.first_run import FirstRunScreen
from kilo_tui.tui.widgets.status_bar import StatusBar
from tests.fakeserver import FakeLLMServer
from tests.tui.pilot import chat_text, idle, type_and_send, until

pytestmark = pytest.mark.timeout(60)

SECRET = "sk-test-FIRSTRUN-7d1e93"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty KILO_TUI_HOME and no provider key anywhere in the environment."""
    for env in [*PROVIDER_KEY_ENV.values(), "KILO_TUI_MODEL", "KILOCODE_TOKEN"]:
        monkeypatch.delenv(env, raising=False)
    monkeypatch.setenv("KILO_TUI_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def dead_url() -> str:
    """An address on this machine where nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_needs_first_run_only_without_model_and_keys(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert needs_first_run(Settings())
    assert not needs_first_run(Settings(model="openai/gpt-4o-mini"))
    assert not needs_first_run(Settings(providers={"openrouter": {"api_key": "k"}}))
    monkeypatch.setenv("GEMINI_API_KEY", "k")
    assert not needs_first_run(Settings())


async def choose(pilot: Pilot[None], provider: str) -> FirstRunScreen:
    screen = pilot.app.screen
    assert isinstance(screen, FirstRunScreen)
    options = screen.query_one(OptionList)
    ids = [options.get_option_at_index(i).id for i in range(options.option_count)]
    options.highlighted = ids.index(provider)
    await pilot.press("enter")
    await pilot.pause()
    return screen


async def test_the_app_opens_on_first_run_and_the_key_stays_in_the_config(
    home: Path, tmp_path: Path, fake_llm: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_BASE", fake_llm.base_url)
    workspace = tmp_path / "project"
    workspace.mkdir()
    app = KiloApp(workspace, load_settings())
    async with app.run_test(size=(120, 36)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, FirstRunScreen))
        screen = await choose(pilot, "openai")
        assert isinstance(app.focused, Input) and app.focused.password
        await pilot.press(*SECRET, "enter")
        model = screen.query_one("#first-run-model", Input)
        assert app.focused is model and model.value == "openai/gpt-4o-mini"
        model.value = "openai/fake-model"
        await pilot.press("enter")
        await until(pilot, lambda: not isinstance(app.screen, FirstRunScreen))

        config = home / "config.toml"
        assert config.stat().st_mode & 0o777 == 0o600
        saved = tomllib.loads(config.read_text())
        assert saved["providers"]["openai"]["api_key"] == SECRET
        assert saved["model"] == "openai/fake-model"

        await until(pilot, lambda: app.runtime is not None)
        assert app.runtime is not None and app.runtime.model == "openai/fake-model"
        await until(
            pilot, lambda: "openai/fake-model" in str(app.screen.query_one(StatusBar).render())
        )
        await type_and_send(pilot, "hi")
        await idle(pilot)
        await until(pilot, lambda: "Task completed" in chat_text(app))
        assert {r["body"]["model"] for r in fake_llm.requests} == {"fake-model"}

    on_disk = [p for p in home.rglob("*") if p.is_file() and p != config]
    assert any(p.name.startswith("sessions") for p in on_disk)
    for path in on_disk:
        assert SECRET.encode() not in path.read_bytes(), path


class Host(App[None]):
    """Shows one FirstRunScreen and keeps what it dismissed with."""

    def __init__(self, screen: FirstRunScreen) -> None:
        super().__init__()
        self.first_run = screen
        self.result: list[str | None] = []

    def on_mount(self) -> None:
        self.push_screen(self.first_run, self.result.append)


async def test_a_local_lm_studio_is_offered_and_needs_no_key(
    home: Path, fake_llm: FakeLLMServer
) -> None:
    app = Host(FirstRunScreen(ollama_url=dead_url(), lm_studio_url=fake_llm.base_url))
    async with app.run_test(size=(110, 36)) as pilot:
        await until(
            pilot,
            lambda: (
                "Found LM Studio" in str(app.screen.query_one("#first-run-local", Label).render())
            ),
        )
        options = app.screen.query_one(OptionList)
        assert options.get_option_at_index(0).id == "lm_studio"
        screen = await choose(pilot, "lm_studio")
        assert not screen.query_one("#first-run-key", Input).display
        assert screen.query_one("#first-run-model", Input).value == "lm_studio/fake-model"
        await pilot.press("enter")
        await until(pilot, lambda: app.result == ["lm_studio/fake-model"])
    settings = load_settings()
    assert settings.model == "lm_studio/fake-model"
    assert "api_key" not in settings.providers["lm_studio"]
    assert route(settings.providers, settings.model).api_base == fake_llm.base_url


async def test_without_local_servers_only_hosted_providers_are_listed(home: Path) -> None:
    app = Host(FirstRunScreen(ollama_url=dead_url(), lm_studio_url=dead_url()))
    async with app.run_test(size=(110, 36)) as pilot:
        label = app.screen.query_one("#first-run-local", Label)
        await until(pilot, lambda: "No Ollama" in str(label.render()))
        options = app.screen.query_one(OptionList)
        ids = [options.get_option_at_index(i).id for i in range(options.option_count)]
        assert ids[:3] == ["anthropic", "openai", "openrouter"]
        assert "free" in str(options.get_option_at_index(2).prompt)


async def test_a_hosted_provider_needs_a_key_and_its_own_model(home: Path) -> None:
    app = Host(FirstRunScreen(ollama_url=dead_url(), lm_studio_url=dead_url()))
    async with app.run_test(size=(110, 36)) as pilot:
        screen = await choose(pilot, "anthropic")
        await pilot.click("#first-run-save")
        error = screen.query_one("#first-run-error", Label)
        await until(pilot, lambda: "API key" in str(error.render()))
        screen.query_one("#first-run-key", Input).value = "k"
        model = screen.query_one("#first-run-model", Input)
        model.value = "openai/gpt-4o"
        model.focus()
        await pilot.press("enter")
        await until(pilot, lambda: "start with anthropic/" in str(error.render()))
        assert not (home / "config.toml").exists()
        assert app.result == []


async def test_escape_goes_back_then_skips_without_writing(home: Path) -> None:
    app = Host(FirstRunScreen(ollama_url=dead_url(), lm_studio_url=dead_url()))
    async with app.run_test(size=(110, 36)) as pilot:
        await choose(pilot, "gemini")
        await pilot.press("escape")
        assert isinstance(app.focused, OptionList)
        await pilot.press("escape")
        await until(pilot, lambda: app.result == [None])
    assert not (home / "config.toml").exists()


async def test_browse_fills_the_model_from_the_model_picker(home: Path) -> None:
    from kilo_tui.tui.screens.model_picker import ModelPickerScreen

    app = Host(FirstRunScreen(ollama_url=dead_url(), lm_studio_url=dead_url()))
    async with app.run_test(size=(110, 36)) as pilot:
        screen = await choose(pilot, "openai")
        await pilot.press("ctrl+o")
        await until(pilot, lambda: isinstance(app.screen, ModelPickerScreen))
        picker = app.screen
        assert isinstance(picker, ModelPickerScreen) and picker.current == "openai/gpt-4o-mini"
        await pilot.press(*"gpt-4.1-mini")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await until(pilot, lambda: app.screen is screen)
        chosen = screen.query_one("#first-run-model", Input).value
        assert chosen.startswith("openai/") and "gpt-4.1-mini" in chosen
