"""First run: with no model and no provider key, guide the user to a working setup.

The screen lists the hosted providers (and Ollama / LM Studio when one answers on its
usual port), takes an API key in a password field and a model id (a sensible default
per provider, or one chosen in the model picker). The key goes to the config file only
(``providers.<name>.api_key``, written atomically with mode 0600), never to the session
database or the logs. The screen dismisses with the chosen model id, or ``None`` when
the user skips.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, ContentSwitcher, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from kilo_tui.core import paths
from kilo_tui.core.config import (
    PROVIDER_KEY_ENV,
    Settings,
    load_settings,
    save_settings_value,
)

OLLAMA_URL = "http://localhost:11434"
LM_STUDIO_URL = "http://localhost:1234/v1"
PROBE_TIMEOUT = 1.0
"""Seconds a local server has to answer before it is taken as absent."""


@dataclass(frozen=True)
class Provider:
    """One way to run the model, as offered on the first-run screen."""

    name: str
    """The config name (``providers.<name>``) and the model ids' prefix."""
    label: str
    blurb: str
    default_model: str
    key_url: str = ""
    """Where to get a key; empty for local servers, which need none."""
    api_base: str | None = None
    """A local server's address, saved when it is not the usual one."""
    models: tuple[str, ...] = ()
    """Models a local server reported."""

    @property
    def local(self) -> bool:
        return not self.key_url

    @property
    def key_env(self) -> str | None:
        return PROVIDER_KEY_ENV.get(self.name)


HOSTED = (
    Provider(
        "anthropic",
        "Anthropic",
        "Claude models",
        "anthropic/claude-sonnet-4-5",
        "https://console.anthropic.com/settings/keys",
    ),
    Provider(
        "openai",
        "OpenAI",
        "GPT models",
        "openai/gpt-4o-mini",
        "https://platform.openai.com/api-keys",
    ),
    Provider(
        "openrouter",
        "OpenRouter",
        "one key for hundreds of models, some free (ids ending in :free)",
        "openrouter/meta-llama/llama-3.3-70b-instruct:free",
        "https://openrouter.ai/keys",
    ),
    Provider(
        "gemini",
        "Google Gemini",
        "Gemini models, with a free tier",
        "gemini/gemini-2.5-flash",
        "https://aistudio.google.com/apikey",
    ),
    Provider(
        "deepseek",
        "DeepSeek",
        "DeepSeek chat and reasoner",
        "deepseek/deepseek-chat",
        "https://platform.deepseek.com/api_keys",
    ),
    Provider(
        "mistral",
        "Mistral",
        "Mistral and Codestral models",
        "mistral/codestral-latest",
        "https://console.mistral.ai/api-keys",
    ),
)


def settings_after_first_run(settings: Settings, model: str) -> Settings:
    """``settings`` using ``model`` and the provider keys the first-run screen saved."""
    saved = load_settings(config_path=Path(settings.source) if settings.source else None)
    return dataclasses.replace(settings, model=model, providers=saved.providers)


async def probe_local(ollama_url: str, lm_studio_url: str, timeout: float) -> list[Provider]:
    """The local model servers that answer, with the models they serve."""
    import httpx

    async with httpx.AsyncClient(timeout=timeout) as client:
        ollama, lm_studio = await asyncio.gather(
            _get_json(client, f"{ollama_url.rstrip('/')}/api/tags"),
            _get_json(client, f"{lm_studio_url.rstrip('/')}/models"),
        )
    found = []
    if ollama is not None and (names := _names(ollama, "models", "name")):
        found.append(_local("ollama_chat", "Ollama", ollama_url, OLLAMA_URL, "ollama_chat", names))
    if lm_studio is not None and (names := _names(lm_studio, "data", "id")):
        found.append(
            _local("lm_studio", "LM Studio", lm_studio_url, LM_STUDIO_URL, "lm_studio", names)
        )
    return found


async def _get_json(client: Any, url: str) -> Any:
    try:
        response = await client.get(url)
        response.raise_for_status()
        return response.json()
    except Exception:  # refused, timed out, not JSON: no server there
        return None


def _names(data: Any, listing: str, key: str) -> list[str]:
    items = data.get(listing) if isinstance(data, dict) else None
    if not isinstance(items, list):
        return []
    return [str(item[key]) for item in items if isinstance(item, dict) and item.get(key)]


def _local(name: str, label: str, url: str, usual: str, prefix: str, names: list[str]) -> Provider:
    models = tuple(f"{prefix}/{model}" for model in names)
    count = f"{len(models)} model{'s' if len(models) != 1 else ''}"
    return Provider(
        name,
        f"{label} (local)",
        f"{count} on this machine, free and private",
        models[0],
        api_base=None if url.rstrip("/") == usual else url,
        models=models,
    )


class FirstRunScreen(ModalScreen[str | None]):
    """Choose a provider, paste a key, pick a model; dismisses with the model id.

    Args:
        settings: the current settings (for keys already in the environment and the
            providers the model picker lists).
        ollama_url / lm_studio_url: where to look for local servers.
    """

    CSS_PATH = "first_run.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back / skip", id="first-run-back"),
        Binding("ctrl+o", "browse", "Browse models", id="first-run-browse"),
    ]

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        ollama_url: str = OLLAMA_URL,
        lm_studio_url: str = LM_STUDIO_URL,
    ) -> None:
        super().__init__()
        self.settings = settings or Settings()
        self.ollama_url = ollama_url
        self.lm_studio_url = lm_studio_url
        self.providers: list[Provider] = list(HOSTED)
        self.provider: Provider | None = None

    # ------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        with Vertical(id="first-run-dialog"):
            yield Label("Welcome to Kilo", id="first-run-title")
            with ContentSwitcher(initial="first-run-choose", id="first-run-steps"):
                with Vertical(id="first-run-choose"):
                    yield Static(
                        "No model is set up yet. Where should the model run?",
                        classes="first-run-text",
                    )
                    yield OptionList(id="first-run-providers")
                    yield Label(
                        "Looking for Ollama and LM Studio on this machine…", id="first-run-local"
                    )
                with Vertical(id="first-run-setup"):
                    yield Label("", id="first-run-provider")
                    yield Static("", id="first-run-key-help", classes="first-run-text")
                    yield Input(password=True, id="first-run-key")
                    yield Label("Model", classes="first-run-field")
                    with Horizontal(id="first-run-model-row"):
                        yield Input(id="first-run-model")
                        yield Button("Browse… (ctrl+o)", id="first-run-browse-button")
                    yield Label("", id="first-run-error")
                    with Horizontal(id="first-run-buttons"):
                        yield Button("Back (esc)", id="first-run-back-button")
                        yield Button("Save and start", variant="primary", id="first-run-save")
            yield Label(
                "esc skips: set `model` in the config file or a key in the environment later.",
                id="first-run-skip-hint",
            )

    def on_mount(self) -> None:
        self._show_providers()
        self.query_one(OptionList).focus()
        self._probe()

    def _show_providers(self) -> None:
        option_list = self.query_one(OptionList)
        highlighted = option_list.highlighted
        option_list.set_options(
            Option(Text.assemble((p.label, "bold"), "  ", (p.blurb, "dim")), id=p.name)
            for p in self.providers
        )
        option_list.highlighted = highlighted or 0

    @work(exclusive=True, group="first-run-probe", exit_on_error=False)
    async def _probe(self) -> None:
        found = await probe_local(self.ollama_url, self.lm_studio_url, PROBE_TIMEOUT)
        self.providers = [*found, *HOSTED]
        self._show_providers()
        status = (
            f"Found {' and '.join(p.label for p in found)}: no key needed."
            if found
            else "No Ollama or LM Studio answered on their usual ports."
        )
        self.query_one("#first-run-local", Label).update(status)

    # ------------------------------------------------------------ steps

    @on(OptionList.OptionSelected, "#first-run-providers")
    def _provider_chosen(self, event: OptionList.OptionSelected) -> None:
        self.provider = next(p for p in self.providers if p.name == event.option.id)
        self._setup(self.provider)

    def _setup(self, provider: Provider) -> None:
        self.query_one("#first-run-provider", Label).update(provider.label)
        key = self.query_one("#first-run-key", Input)
        key.display = not provider.local
        key.value = ""
        key.placeholder = f"Paste your {provider.label} API key"
        self.query_one("#first-run-key-help", Static).update(self._key_help(provider))
        self.query_one("#first-run-model", Input).value = provider.default_model
        self.query_one("#first-run-error", Label).update("")
        self.query_one(ContentSwitcher).current = "first-run-setup"
        (self.query_one("#first-run-model", Input) if provider.local else key).focus()

    def _key_help(self, provider: Provider) -> str:
        if provider.local:
            return f"Models found: {', '.join(provider.models)}"
        where = paths.config_file()
        lines = [
            f"Get a key at {provider.key_url}",
            f"It is saved in {where} (readable only by you), never in sessions or logs.",
        ]
        if provider.key_env and os.environ.get(provider.key_env):
            lines.append(f"{provider.key_env} is set: leave this empty to use it.")
        return "\n".join(lines)

    @on(Input.Submitted, "#first-run-key")
    def _key_entered(self) -> None:
        self.query_one("#first-run-model", Input).focus()

    @on(Button.Pressed, "#first-run-save")
    @on(Input.Submitted, "#first-run-model")
    def _save_pressed(self) -> None:
        self._save()

    @on(Button.Pressed, "#first-run-back-button")
    def _back_pressed(self) -> None:
        self.action_back()

    @on(Button.Pressed, "#first-run-browse-button")
    def _browse_pressed(self) -> None:
        self.action_browse()

    def action_back(self) -> None:
        """Back to the provider list, or skip the setup from there."""
        switcher = self.query_one(ContentSwitcher)
        if switcher.current == "first-run-setup":
            switcher.current = "first-run-choose"
            self.query_one(OptionList).focus()
        else:
            self.dismiss(None)

    def action_browse(self) -> None:
        """Choose the model in the full model picker."""
        if self.query_one(ContentSwitcher).current != "first-run-setup":
            return
        from kilo_tui.core.llm.catalog import Catalog
        from kilo_tui.tui.screens.model_picker import ModelPickerScreen

        model_input = self.query_one("#first-run-model", Input)

        def chosen(model: str | None) -> None:
            if model:
                model_input.value = model
            model_input.focus()

        picker = ModelPickerScreen(Catalog(self.settings.providers), model_input.value or None)
        self.app.push_screen(picker, chosen)

    # ------------------------------------------------------------ saving

    def _problem(self, provider: Provider, key: str, model: str) -> str | None:
        prefixes = (provider.name, "ollama") if provider.name == "ollama_chat" else (provider.name,)
        if not model:
            return "Enter a model id."
        if model.split("/", 1)[0] not in prefixes or "/" not in model:
            return f"{provider.label} model ids start with {provider.name}/."
        env_key = provider.key_env and os.environ.get(provider.key_env)
        if not provider.local and not key and not env_key:
            return "Paste an API key (or press esc to go back)."
        return None

    @work(exclusive=True, group="first-run-save", exit_on_error=False)
    async def _save(self) -> None:
        provider = self.provider
        assert provider is not None
        key = self.query_one("#first-run-key", Input).value.strip()
        model = self.query_one("#first-run-model", Input).value.strip()
        error = self.query_one("#first-run-error", Label)
        if problem := self._problem(provider, key, model):
            error.update(problem)
            return
        try:
            await asyncio.to_thread(_save_choice, provider, key, model)
        except OSError as failure:
            error.update(f"Could not write the config file: {failure}")
            return
        self.dismiss(model)


def _save_choice(provider: Provider, key: str, model: str) -> None:
    if key:
        save_settings_value(f"providers.{provider.name}.api_key", key)
    if provider.api_base:
        save_settings_value(f"providers.{provider.name}.api_base", provider.api_base)
    save_settings_value("model", model)
