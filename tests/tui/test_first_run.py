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
from tests.fakegateway import FREE_DEFAULT, PAID_DEFAULT, FakeGateway
from tests.fakeserver import FakeLLMServer, Turn, tool_call
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
        # Right after the Kilo gateway's two choices.
        assert options.get_option_at_index(2).id == "lm_studio"
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
        assert ids[:4] == ["kilo-free", "kilo", "anthropic", "openai"]
        first = str(options.get_option_at_index(0).prompt)
        assert "Kilo gateway — free models, no account" in first
        # Every provider Kilo lists, with its key's variable named, and a custom server.
        labels = [str(options.get_option_at_index(i).prompt) for i in range(len(ids))]
        for name, env in [
            ("Anthropic", "ANTHROPIC_API_KEY"),
            ("OpenAI", "OPENAI_API_KEY"),
            ("OpenRouter", "OPENROUTER_API_KEY"),
            ("Google Gemini", "GEMINI_API_KEY"),
            ("Glama", "GLAMA_API_KEY"),
            ("DeepSeek", "DEEPSEEK_API_KEY"),
            ("Mistral", "MISTRAL_API_KEY"),
            ("Unbound", "UNBOUND_API_KEY"),
            ("Requesty", "REQUESTY_API_KEY"),
            ("Kilo gateway with a Kilo token", "KILOCODE_TOKEN"),
        ]:
            assert any(label.startswith(f"{name} ({env})") for label in labels), name
        for name in ("AWS Bedrock", "GCP Vertex AI", "Ollama", "LM Studio"):
            assert any(label.startswith(name) for label in labels), name
        assert any(label.startswith("Custom OpenAI-compatible server") for label in labels)


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


async def test_enter_on_first_run_then_a_free_gateway_model_answers(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fresh home, no key anywhere: Enter, type, and a free gateway model replies."""
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    workspace = tmp_path / "project"
    workspace.mkdir()
    with FakeGateway() as gateway:
        monkeypatch.setenv("KILO_API_URL", gateway.root)
        reply = Turn.tools(
            tool_call("attempt_completion", result="ok"), text="Hi! A free model here."
        )
        gateway.script(reply, reply)  # the task, and its title (no small model is set)
        app = KiloApp(workspace, load_settings())
        async with app.run_test(size=(120, 36)) as pilot:
            await until(pilot, lambda: isinstance(app.screen, FirstRunScreen))
            await pilot.press("enter")
            await until(pilot, lambda: not isinstance(app.screen, FirstRunScreen))
            await until(pilot, lambda: app.runtime is not None)
            await type_and_send(pilot, "hello")
            await idle(pilot)
            await until(pilot, lambda: "Hi! A free model here." in chat_text(app))
    assert gateway.chat_requests[0]["model"] == FREE_DEFAULT
    assert set(gateway.chat_credentials()) == {"Bearer anonymous"}
    saved = tomllib.loads((home / "config.toml").read_text())
    assert saved["model"] == f"kilo/{FREE_DEFAULT}" and saved["providers"]["kilo"]["enabled"]


async def test_a_pasted_kilo_token_is_checked_and_a_refused_one_explained(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with FakeGateway() as gateway:
        monkeypatch.setenv("KILO_API_URL", gateway.root)
        app = Host(FirstRunScreen(ollama_url=dead_url(), lm_studio_url=dead_url()))
        async with app.run_test(size=(110, 40)) as pilot:
            screen = await choose(pilot, "kilo")
            assert app.focused is screen.query_one("#first-run-key", Input)
            await pilot.press(*"kilo-token-wrong")
            await pilot.click("#first-run-save")
            error = screen.query_one("#first-run-error", Label)
            await until(pilot, lambda: "refused the token (HTTP 401)" in str(error.render()))
            assert not (home / "config.toml").exists()
            screen.query_one("#first-run-key", Input).value = "kilo-token-good"
            # A button ignores clicks during its 0.2 s press effect; the refusal came faster.
            save = screen.query_one("#first-run-save")
            await until(pilot, lambda: not save.has_class("-active"))
            await pilot.click("#first-run-save")
            await until(pilot, lambda: len(app.result) == 1)
    saved = tomllib.loads((home / "config.toml").read_text())
    assert saved["providers"]["kilo"]["api_key"] == "kilo-token-good"
    assert saved["model"] == f"kilo/{PAID_DEFAULT}"  # the gateway's default with a token
    assert (home / "config.toml").stat().st_mode & 0o777 == 0o600
    assert gateway.credentials[-1]["authorization"] == "Bearer kilo-token-good"


async def test_a_custom_openai_compatible_server_is_set_up_with_base_key_and_model(
    home: Path, fake_llm: FakeLLMServer
) -> None:
    app = Host(FirstRunScreen(ollama_url=dead_url(), lm_studio_url=dead_url()))
    async with app.run_test(size=(110, 40)) as pilot:
        screen = await choose(pilot, "custom")
        screen.query_one("#first-run-key", Input).value = "box-key-123456"
        screen.query_one("#first-run-field-0", Input).value = fake_llm.base_url
        screen.query_one("#first-run-model", Input).value = "custom/fake-model"
        await pilot.click("#first-run-save")
        await until(pilot, lambda: app.result == ["custom/fake-model"])
    settings = load_settings()
    assert settings.providers["custom"] == {
        "kind": "openai_compatible",
        "api_base": fake_llm.base_url,
        "api_key": "box-key-123456",
    }
    target = route(settings.providers, "custom/fake-model")
    assert (target.api_base, target.api_key) == (fake_llm.base_url, "box-key-123456")


async def test_bedrock_and_vertex_take_their_own_settings(home: Path) -> None:
    app = Host(FirstRunScreen(ollama_url=dead_url(), lm_studio_url=dead_url()))
    async with app.run_test(size=(110, 40)) as pilot:
        screen = await choose(pilot, "vertex_ai")
        assert not screen.query_one("#first-run-key", Input).display
        assert app.focused is screen.query_one("#first-run-field-0", Input)
        await pilot.press(*"my-project", "enter")
        screen.query_one("#first-run-field-2", Input).value = "/keys/sa.json"
        await pilot.click("#first-run-save")
        await until(pilot, lambda: app.result == ["vertex_ai/gemini-2.5-flash"])
    saved = load_settings().providers["vertex_ai"]
    assert saved == {
        "project": "my-project",
        "location": "us-central1",
        "credentials": "/keys/sa.json",
    }
