"""``kilo-tui models`` as a user runs it: a real process, a real config, a local server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.fakeserver import FakeLLMServer


def _run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("OPENROUTER_API_KEY", "KILOCODE_TOKEN")}
    env["KILO_TUI_HOME"] = str(home)
    return subprocess.run(
        [sys.executable, "-m", "kilo_tui.cli", "models", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def _offline_config(home: Path, extra: str = "") -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(
        "[providers.ollama]\nenabled = false\n[providers.lmstudio]\nenabled = false\n" + extra
    )


def test_free_json_lists_free_and_local_models_and_no_paid_one(tmp_path: Path) -> None:
    _offline_config(tmp_path)
    result = _run(tmp_path, "--free", "--json")
    assert result.returncode == 0, result.stderr
    models: list[dict[str, Any]] = json.loads(result.stdout)
    assert models
    for m in models:
        assert {
            "id",
            "provider",
            "free",
            "local",
            "input_price",
            "output_price",
            "context_window",
        } <= m.keys()
        assert m["free"] is True
        assert m["id"].endswith(":free") or (m["input_price"] == 0 and m["output_price"] == 0)
    assert not any(m["local"] for m in models)  # no server on this machine answered
    assert not any(m["id"].startswith("anthropic/") for m in models)


def test_json_carries_prices_and_unknown_prices_as_null(tmp_path: Path) -> None:
    _offline_config(tmp_path)
    models = json.loads(_run(tmp_path, "--json").stdout)
    by_id = {m["id"]: m for m in models}
    sonnet = by_id["anthropic/claude-sonnet-4-5"]
    assert (sonnet["input_price"], sonnet["output_price"], sonnet["free"]) == (3.0, 15.0, False)
    unknown = [m for m in models if m["input_price"] is None]
    assert unknown and not any(m["free"] for m in unknown)


def test_configured_local_server_models_are_local_and_free(tmp_path: Path) -> None:
    with FakeLLMServer(models=["qwen-local", "coder-local"]) as server:
        _offline_config(
            tmp_path,
            f'[providers.box]\nkind = "openai_compatible"\napi_base = "{server.base_url}"\n',
        )
        refreshed = _run(tmp_path, "--refresh", "--local", "--json")
    assert refreshed.returncode == 0, refreshed.stderr
    ids = {m["id"]: m for m in json.loads(refreshed.stdout)}
    assert ids["box/qwen-local"]["free"] and ids["box/qwen-local"]["provider"] == "box"
    # Cached: the server is gone and the models are still listed.
    table = _run(tmp_path, "--provider", "box")
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split()[:2] == ["MODEL", "PROVIDER"]
    assert any(line.startswith("box/coder-local") and "local (free)" in line for line in lines)


def test_table_shows_badges_prices_and_context(tmp_path: Path) -> None:
    _offline_config(tmp_path)
    out = _run(tmp_path, "claude-sonnet-4-5", "--provider", "anthropic").stdout
    row = next(line for line in out.splitlines() if line.startswith("anthropic/claude-sonnet-4-5 "))
    assert row.split()[-3:] == ["$3.00", "$15.00", "200K"]


def test_bad_config_is_reported_not_a_traceback(tmp_path: Path) -> None:
    tmp_path.mkdir(exist_ok=True)
    (tmp_path / "config.toml").write_text("providers = 3\n")
    result = _run(tmp_path, "--json")
    assert result.returncode == 2
    assert "providers" in result.stderr and "Traceback" not in result.stderr


def test_models_the_user_can_call_are_listed_first_as_in_the_picker(
    tmp_path: Path, monkeypatch: Any, capsys: Any
) -> None:
    """In-process (the order is the catalog's, no process needed): a DeepSeek key
    puts DeepSeek's models first, as the picker does."""
    from kilo_tui.cli import main
    from kilo_tui.core.llm.providers import KEY_ENV

    for env in KEY_ENV.values():
        monkeypatch.delenv(env, raising=False)
    monkeypatch.setenv("DEEPSEEK_API_KEY", "sk-deepseek")
    monkeypatch.setenv("KILO_TUI_HOME", str(tmp_path))
    _offline_config(tmp_path)
    assert main(["models", "--json"]) == 0
    providers = [m["provider"] for m in json.loads(capsys.readouterr().out)]
    count = providers.count("deepseek")
    assert count and providers[:count] == ["deepseek"] * count
