"""First run: with no model and no provider key, guide the user to a working setup.

The first choice is the Kilo gateway's free models, which need no account: Enter asks
the gateway for its default free model and the app is ready. Below it: the gateway
with a Kilo token (checked with one request), every provider Kilo lists (each with its
key's environment variable named), Ollama and LM Studio (found on this machine, or at
an address), and any OpenAI-compatible server. Keys go to the config file only
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
from kilo_tui.core.config import Settings, load_settings, save_settings_value
from kilo_tui.core.llm import providers

OLLAMA_URL = providers.OLLAMA_DEFAULT_BASE
LM_STUDIO_URL = providers.LM_STUDIO_DEFAULT_BASE
PROBE_TIMEOUT = 1.0
"""Seconds a local server has to answer before it is taken as absent."""
MAX_FIELDS = 4
KILO_FREE = "kilo-free"
"""The id of the first choice: the gateway's free models, no account."""


@dataclass(frozen=True)
class Field:
    """One more setting a provider needs (``providers.<name>.<key>``)."""

    key: str
    label: str
    default: str = ""
    secret: bool = False


@dataclass(frozen=True)
class Provider:
    """One way to run the model, as offered on the first-run screen."""

    name: str
    """The config name (``providers.<name>``) and the model ids' prefix."""
    label: str
    blurb: str
    default_model: str
    key_url: str = ""
    """Where to get a key; empty when the provider takes none in the key field."""
    key_env: str = ""
    api_base: str | None = None
    """A local server's address, saved when it is not the usual one."""
    models: tuple[str, ...] = ()
    """Models a local server reported."""
    fields: tuple[Field, ...] = ()
    fixed: dict[str, Any] = dataclasses.field(default_factory=dict)
    """Settings saved as they are (``kind = "openai_compatible"``)."""

    @property
    def local(self) -> bool:
        return not self.key_url

    @property
    def prefixes(self) -> tuple[str, ...]:
        return ("ollama_chat", "ollama") if self.name in ("ollama", "ollama_chat") else (self.name,)


def _hosted(name: str, *fields: Field, key: bool = True) -> Provider:
    spec = providers.BY_NAME[name]
    env = f" ({spec.key_env})" if spec.key_env else ""
    return Provider(
        name,
        spec.label + env,
        spec.blurb,
        spec.default_model,
        key_url=spec.key_url if key else "",
        key_env=spec.key_env if key else "",
        fields=fields,
    )


KILO_CHOICES = (
    Provider(
        KILO_FREE,
        "Kilo gateway — free models, no account",
        "start now: free models, rate-limited per IP address",
        "",
    ),
    Provider(
        "kilo",
        "Kilo gateway with a Kilo token (KILOCODE_TOKEN)",
        "every gateway model, billed to your Kilo account or organization",
        "",
        key_url="https://app.kilo.ai",
        key_env="KILOCODE_TOKEN",
        fields=(Field("organization_id", "Organization id (optional)"),),
    ),
)
HOSTED = (
    _hosted("anthropic"),
    _hosted("openai"),
    _hosted("openrouter"),
    _hosted("gemini"),
    _hosted("glama"),
    _hosted(
        "bedrock",
        Field("region", "AWS region", "us-east-1"),
        Field("profile", "AWS profile (or the access keys below, or AWS_* variables)"),
        Field("access_key_id", "AWS access key id"),
        Field("secret_access_key", "AWS secret access key", secret=True),
        key=False,
    ),
    _hosted(
        "vertex_ai",
        Field("project", "GCP project id"),
        Field("location", "Location", "us-central1"),
        Field("credentials", "Credentials JSON file (empty: GOOGLE_APPLICATION_CREDENTIALS)"),
        key=False,
    ),
    _hosted("deepseek"),
    _hosted("mistral"),
    _hosted("unbound"),
    _hosted("requesty"),
)
SERVERS = (
    Provider(
        "ollama",
        "Ollama",
        "a server at another address",
        "ollama_chat/",
        fields=(Field("api_base", "Server address", OLLAMA_URL),),
    ),
    Provider(
        "lm_studio",
        "LM Studio",
        "a server at another address",
        "lm_studio/",
        fields=(Field("api_base", "Server address", LM_STUDIO_URL),),
    ),
    Provider(
        "custom",
        "Custom OpenAI-compatible server",
        "any server speaking the OpenAI API: base URL, key, model",
        "custom/",
        key_url="-",
        fields=(Field("api_base", "Base URL, e.g. http://host:8000/v1"),),
        fixed={"kind": "openai_compatible"},
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
        self.providers: list[Provider] = [*KILO_CHOICES, *HOSTED, *SERVERS]
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
                    yield Label("", id="first-run-status")
                with Vertical(id="first-run-setup"):
                    yield Label("", id="first-run-provider")
                    yield Static("", id="first-run-key-help", classes="first-run-text")
                    yield Input(password=True, id="first-run-key")
                    for index in range(MAX_FIELDS):
                        yield Input(id=f"first-run-field-{index}", classes="first-run-extra")
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
        # A server found here is offered right after the gateway, with its models.
        found_names = {"ollama" if p.name == "ollama_chat" else p.name for p in found}
        servers = [p for p in SERVERS if p.name not in found_names]
        self.providers = [*KILO_CHOICES, *found, *HOSTED, *servers]
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
        if self.provider.name == KILO_FREE:
            self._start_free()
        else:
            self._setup(self.provider)

    def _setup(self, provider: Provider) -> None:
        self.query_one("#first-run-provider", Label).update(provider.label)
        key = self.query_one("#first-run-key", Input)
        key.display = not provider.local
        key.value = ""
        key.placeholder = f"Paste your {provider.label.split(' (')[0]} key"
        for index, box in enumerate(self.query(".first-run-extra").results(Input)):
            field = provider.fields[index] if index < len(provider.fields) else None
            box.display = field is not None
            box.value = field.default if field else ""
            box.placeholder = field.label if field else ""
            box.password = bool(field and field.secret)
        self.query_one("#first-run-key-help", Static).update(self._key_help(provider))
        self.query_one("#first-run-model", Input).value = self._default_model(provider)
        self.query_one("#first-run-error", Label).update("")
        self.query_one(ContentSwitcher).current = "first-run-setup"
        first = key if key.display else self.query_one("#first-run-model", Input)
        if provider.fields and not key.display:
            first = self.query_one("#first-run-field-0", Input)
        first.focus()

    @staticmethod
    def _default_model(provider: Provider) -> str:
        if provider.name == "kilo":
            from kilo_tui.core.llm.gateway import cached_default

            return cached_default(anonymous=False)
        return provider.default_model

    def _key_help(self, provider: Provider) -> str:
        if provider.models:
            return f"Models found: {', '.join(provider.models)}"
        where = paths.config_file()
        lines = []
        if provider.key_url.startswith("http"):
            lines.append(f"Get a key at {provider.key_url}")
        if not provider.local:
            lines.append(
                f"It is saved in {where} (readable only by you), never in sessions or logs."
            )
        if provider.key_env and os.environ.get(provider.key_env):
            lines.append(f"{provider.key_env} is set: leave this empty to use it.")
        if provider.name == "kilo":
            lines.append("The token is checked with one request to the gateway.")
        return "\n".join(lines)

    def _fields(self, provider: Provider) -> dict[str, str]:
        boxes = list(self.query(".first-run-extra").results(Input))
        return {
            field.key: box.value.strip()
            for field, box in zip(provider.fields, boxes, strict=False)
            if box.value.strip()
        }

    @on(Input.Submitted, "#first-run-key")
    @on(Input.Submitted, ".first-run-extra")
    def _key_entered(self) -> None:
        self.focus_next()

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

    @work(exclusive=True, group="first-run-save", exit_on_error=False)
    async def _start_free(self) -> None:
        """The gateway's default free model, no account: ask the gateway, save, start."""
        from kilo_tui.core.llm.gateway import resolve_default

        status = self.query_one("#first-run-status", Label)
        status.update("Asking the Kilo gateway for its free model…")
        conf = {**self.settings.providers.get("kilo", {}), "enabled": True}
        model = await resolve_default({"kilo": conf})
        try:
            await asyncio.to_thread(_save_values, {"providers.kilo.enabled": True, "model": model})
        except OSError as failure:
            status.update(f"Could not write the config file: {failure}")
            return
        self.dismiss(model)

    def _problem(
        self, provider: Provider, key: str, model: str, fields: dict[str, str]
    ) -> str | None:
        if not model or model.endswith("/"):
            return "Enter a model id."
        if model.split("/", 1)[0] not in provider.prefixes or "/" not in model:
            return f"{provider.label.split(' (')[0]} model ids start with {provider.name}/."
        env_key = provider.key_env and os.environ.get(provider.key_env)
        if provider.key_env and not key and not env_key:
            return "Paste an API key (or press esc to go back)."
        missing = [
            f.label
            for f in provider.fields
            if f.key in ("api_base", "project") and f.key not in fields
        ]
        if missing:
            return f"Enter: {missing[0]}."
        return None

    @work(exclusive=True, group="first-run-save", exit_on_error=False)
    async def _save(self) -> None:
        provider = self.provider
        assert provider is not None
        key = self.query_one("#first-run-key", Input).value.strip()
        model = self.query_one("#first-run-model", Input).value.strip()
        fields = self._fields(provider)
        error = self.query_one("#first-run-error", Label)
        if problem := self._problem(provider, key, model, fields):
            error.update(problem)
            return
        if provider.name == "kilo" and key:
            from kilo_tui.core.llm.gateway import GatewayError, check_token

            error.update("Checking the token with the Kilo gateway…")
            conf = {**self.settings.providers.get("kilo", {}), **fields}
            try:
                await check_token(conf, key)
            except GatewayError as refused:
                error.update(str(refused))
                return
            if model == self._default_model(provider):  # not changed: the gateway's own
                from kilo_tui.core.llm.gateway import resolve_default

                model = await resolve_default({"kilo": {**conf, "api_key": key}})
        try:
            await asyncio.to_thread(_save_values, _choice_values(provider, key, model, fields))
        except OSError as failure:
            error.update(f"Could not write the config file: {failure}")
            return
        self.dismiss(model)


def _choice_values(
    provider: Provider, key: str, model: str, fields: dict[str, str]
) -> dict[str, Any]:
    """The dotted config keys the choice sets."""
    section = "ollama" if provider.name == "ollama_chat" else provider.name
    values: dict[str, Any] = {f"providers.{section}.{k}": v for k, v in provider.fixed.items()}
    usual = {f.key: f.default for f in provider.fields}
    for name, value in fields.items():
        if not (name == "api_base" and value == usual.get("api_base")):
            values[f"providers.{section}.{name}"] = value
    if key:
        values[f"providers.{section}.api_key"] = key
    if provider.api_base:
        values[f"providers.{section}.api_base"] = provider.api_base
    values["model"] = model
    return values


def _save_values(values: dict[str, Any]) -> None:
    for dotted, value in values.items():
        save_settings_value(dotted, value)
