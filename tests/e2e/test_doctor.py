"""``kilo-tui doctor`` on the real binary: every check in one screen, never a key."""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path

import pytest

from tests.e2e.cli import run
from tests.fakeserver import FakeLLMServer

pytestmark = pytest.mark.timeout(120)

SECRETS = {
    "ANTHROPIC_API_KEY": "sk-ant-doctor-SECRET-0001",
    "OPENAI_API_KEY": "sk-doctor-SECRET-0002",
}


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_TOKEN"))}
    env.update(SECRETS, KILO_TUI_HOME=str(home), HOME=str(home))
    return env


def test_doctor_checks_model_keys_servers_mcp_git_browser_in_one_screen(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    workspace = tmp_path / "project"
    workspace.mkdir()
    with FakeLLMServer(models=["qwen-coder"]) as lm_studio:
        (home / "config.toml").write_text(
            'model = "mistral/codestral-latest"\n'
            '[providers.deepseek]\napi_key = "sk-deepseek-config-SECRET-9876"\n'
            f'[providers.lm_studio]\napi_base = "{lm_studio.base_url}"\n'
            '[providers.ollama]\napi_base = "http://127.0.0.1:9"\n'
        )
        (home / "mcp_settings.json").write_text(
            json.dumps({"mcpServers": {"tools": {"command": "no-such-mcp-server-cmd"}}})
        )
        result = run(["doctor", "--path", str(workspace)], env=_env(home), cwd=workspace)
    out = result.stdout
    assert result.returncode == 1, out + result.stderr
    assert len(out.splitlines()) <= 24  # one screen
    for secret in [*SECRETS.values(), "sk-deepseek-config-SECRET-9876"]:
        assert secret not in out
    assert "✗ model:    no key for mistral: set MISTRAL_API_KEY" in out
    assert "Anthropic: key in $ANTHROPIC_API_KEY" in out
    assert "DeepSeek: key in the config (…9876)" in out
    assert f"LM Studio: 1 models at {lm_studio.base_url}/models" in out
    assert "Ollama: nothing answered at http://127.0.0.1:9/api/tags" in out
    assert "✗ mcp:      tools: command not found: no-such-mcp-server-cmd" in out
    assert "git:" in out and "not a git repository" in out
    assert "browser:" in out and "sandbox:" in out
    as_json = run(["doctor", "--json", "--path", str(workspace)], env=_env(home), cwd=workspace)
    checks = json.loads(as_json.stdout)["checks"]
    assert {c["section"] for c in checks} >= {"model", "keys", "servers", "mcp", "git", "browser"}


def test_config_show_masks_every_provider_secret(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text(
        '[providers.bedrock]\nregion = "eu-west-3"\naccess_key_id = "AKIAEXAMPLE"\n'
        'secret_access_key = "bedrock-SECRET-access-key-5678"\n'
        '[providers.kilo]\napi_key = "kilo-SECRET-token-4321"\n'
    )
    result = run(["config", "show"], env=_env(home), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "SECRET" not in result.stdout
    shown = json.loads(result.stdout)["providers"]
    assert shown["bedrock"]["secret_access_key"] == "…5678"
    assert shown["kilo"]["api_key"] == "…4321" and shown["bedrock"]["region"] == "eu-west-3"


def test_config_set_writes_one_checked_setting(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    config = home / "config.toml"
    env = _env(home)
    assert run(["config", "set", "model", "kilo/auto"], env=env, cwd=tmp_path).returncode == 0
    assert (
        run(["config", "set", "agent.command_timeout", "120"], env=env, cwd=tmp_path).returncode
        == 0
    )
    secret = run(
        ["config", "set", "providers.kilo.api_key", "kilo-SECRET-9999"], env=env, cwd=tmp_path
    )
    assert secret.returncode == 0 and "SECRET" not in secret.stdout and "…9999" in secret.stdout
    before = config.read_text()
    bad = run(["config", "set", "agent.command_timeout", "soon"], env=env, cwd=tmp_path)
    assert bad.returncode == 2 and "expected a number" in bad.stderr
    assert config.read_text() == before  # nothing was changed
    saved = tomllib.loads(before)
    assert saved["model"] == "kilo/auto" and saved["agent"]["command_timeout"] == 120
    assert saved["providers"]["kilo"]["api_key"] == "kilo-SECRET-9999"
    assert config.stat().st_mode & 0o777 == 0o600


def test_config_show_says_where_each_setting_came_from(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / ".kilocode").mkdir(parents=True)
    (home / ".kilocode" / "config.json").write_text(json.dumps({"small_model": "kilo/a:free"}))
    (home / "config.toml").write_text('theme = "paper"\n')
    env = {**_env(home), "KILO_TUI_MODEL": "anthropic/claude-sonnet-4-5"}
    env.pop("KILO_TUI_SMALL_MODEL", None)
    result = run(["config", "show"], env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["small_model"] == "kilo/a:free"
    assert shown["sources"]["small_model"] == str(home / ".kilocode" / "config.json")
    assert shown["sources"]["model"] == "environment (KILO_TUI_MODEL)"
    assert shown["sources"]["theme"] == str(home / "config.toml")
    assert shown["sources"]["mode"] == "default"
