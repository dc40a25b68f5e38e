"""The real binary, the fake provider, and a model that goes for the user's API key in
kilo-tui's own ``config.toml``: with the default policy and even with ``--yolo``, the key
never reaches the model, the ``--json`` output or the sessions database."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.e2e.cli import CONFIG, MODEL, env_for, events, run
from tests.fakeserver import FakeLLMServer, Turn

KEY = "sk-ant-api03-TOPSECRET-4b1d"
NO_MATCH = "<<<<<<< SEARCH\n:start_line:1\n-------\nnot there\n=======\nx\n>>>>>>> REPLACE"


@pytest.mark.parametrize("flags", [[], ["--yolo"]], ids=["default", "yolo"])
def test_the_key_in_kilo_tuis_config_never_reaches_the_model(
    fake_llm: FakeLLMServer, tmp_path: Path, flags: list[str]
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    config = home / "config.toml"
    config.write_text(
        CONFIG + f'[providers.anthropic]\napi_key = "{KEY}"\n'
        "[auto_approve]\nread_outside_workspace = true\n"
    )
    workspace = tmp_path / "project"
    workspace.mkdir()
    (workspace / "key.toml").symlink_to(config)
    relative = os.path.relpath(config, workspace)
    fake_llm.script(
        Turn.tool("apply_diff", path=str(config), diff=NO_MATCH),
        Turn.tool("apply_diff", path=relative, diff=NO_MATCH),
        Turn.tool("write_to_file", path=relative, content=config.read_text()),
        Turn.tool("read_file", path="key.toml"),
        Turn.tool("search_files", path=str(home), regex="api_key"),
        Turn.tool("search_files", path=".", regex="api_key"),
        Turn.tool("attempt_completion", result="done"),
    )
    proc = run(
        ["run", *flags, "--json", "--model", MODEL, "find the key"],
        env=env_for(fake_llm, home),
        cwd=workspace,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert events(proc.stdout)[-1]["type"] == "task_completed"
    assert KEY not in repr(fake_llm.chat_requests)
    assert KEY not in proc.stdout
    for stored in (home / "data").rglob("sessions.sqlite3*"):
        assert KEY.encode() not in stored.read_bytes()
    assert config.read_text().count(KEY) == 1  # and the file is untouched
