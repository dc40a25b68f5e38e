"""Config: TOML → environment → CLI flags; clear errors; atomic 0600 writes."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import pytest

from kilo_tui.core.config import (
    ConfigError,
    load_settings,
    save_settings_value,
)
from kilo_tui.core.llm.gateway import save_defaults
from kilo_tui.core.llm.providers import LM_STUDIO_DEFAULT_BASE, route


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("KILO_TUI_HOME", str(tmp_path))
    for name in ("KILO_TUI_MODEL", "KILO_TUI_MODE", "KILO_TUI_THEME", "KILO_TUI_SMALL_MODEL"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def test_defaults_without_a_file(home: Path) -> None:
    settings = load_settings()
    assert settings.model is None
    assert settings.mode == "code"
    assert settings.agent.fuzzy_match_threshold == 1.0
    assert settings.source == str(home / "config.toml")


def test_file_then_env_then_flags(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (home / "config.toml").write_text(
        'model = "anthropic/claude-sonnet-4-5"\nmode = "ask"\n[agent]\ncommand_timeout = 30\n'
    )
    settings = load_settings()
    assert settings.model == "anthropic/claude-sonnet-4-5"
    assert settings.agent.command_timeout == 30.0
    monkeypatch.setenv("KILO_TUI_MODEL", "openai/gpt-4o")
    assert load_settings().model == "openai/gpt-4o"
    flagged = load_settings(overrides={"model": "ollama_chat/llama3", "mode": None})
    assert flagged.model == "ollama_chat/llama3"
    assert flagged.mode == "ask"  # a None flag does not override


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('model = "x"\n[agent\n', "config.toml, line 2: invalid TOML"),
        (
            '[agent]\ncommand_timeout = "ten"\n',
            "config.toml, line 2, key 'agent.command_timeout': expected a number",
        ),
        (
            '\n\n[checkpoints]\nenabled = "yes"\n',
            "config.toml, line 4, key 'checkpoints.enabled': expected true or false",
        ),
        ('modle = "typo"\n', "config.toml, line 1, key 'modle': unknown setting"),
        ("[agent]\nfuzzy = 1\n", "config.toml, line 2, key 'agent.fuzzy': unknown setting"),
        ("model = 3\n", "key 'model': expected a string, got a whole number"),
    ],
)
def test_broken_config_names_file_line_and_key(home: Path, text: str, expected: str) -> None:
    (home / "config.toml").write_text(text)
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert expected in str(info.value)
    assert str(home) in str(info.value)


def test_save_is_atomic_and_private(home: Path) -> None:
    (home / "config.toml").write_text('theme = "kilo-dark"\n')
    path = save_settings_value("providers.openrouter.api_key", "sk-or-secret")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    settings = load_settings()
    assert settings.theme == "kilo-dark"
    assert settings.providers["openrouter"]["api_key"] == "sk-or-secret"
    assert route(settings.providers, "openrouter/x").api_key == "sk-or-secret"
    assert not list(home.glob(".config.toml.*"))  # no temp file left behind


def test_lm_studio_never_falls_through_to_openai(home: Path) -> None:
    assert route(load_settings().providers, "lm_studio/qwen").api_base == LM_STUDIO_DEFAULT_BASE


def test_config_path_command(home: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "kilo_tui.cli", "config", "path"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert proc.stdout.strip() == str(home / "config.toml")


def test_default_model_follows_the_available_key(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kilo_tui.core.config import PROVIDER_KEY_ENV, default_model

    for env in [*PROVIDER_KEY_ENV.values(), "KILO_API_KEY"]:
        monkeypatch.delenv(env, raising=False)
    # No key at all: the Kilo gateway's free default, as Kilo's CLI does.
    assert default_model(load_settings()) == "kilo/auto-free"
    monkeypatch.setenv("OPENAI_API_KEY", "sk-x")
    assert default_model(load_settings()) == "openai/gpt-4o-mini"
    monkeypatch.delenv("OPENAI_API_KEY")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-x")
    assert default_model(load_settings()) == "anthropic/claude-sonnet-4-5"
    (home / "config.toml").write_text('model = "ollama_chat/qwen3"\n')
    assert default_model(load_settings()) == "ollama_chat/qwen3"


def test_with_only_a_kilo_token_the_default_is_the_gateways(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kilo_tui.core.config import PROVIDER_KEY_ENV, default_model

    for env in PROVIDER_KEY_ENV.values():
        monkeypatch.delenv(env, raising=False)
    monkeypatch.setenv("KILOCODE_TOKEN", "kilo-token")
    assert default_model(load_settings()) == "kilo/anthropic/claude-sonnet-4.5"  # never fetched
    save_defaults(
        {"defaultModel": "kilo/openai/gpt-5", "defaultFreeModel": "kilo/a:free"}, anonymous=False
    )
    assert default_model(load_settings()) == "kilo/openai/gpt-5"
    monkeypatch.delenv("KILOCODE_TOKEN")
    assert default_model(load_settings()) == "kilo/a:free"


def test_an_openai_compatible_server_needs_a_base(home: Path) -> None:
    (home / "config.toml").write_text('[providers.box]\nkind = "openai_compatible"\n')
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert "line 2" in str(info.value) and "needs api_base" in str(info.value)
