"""Commands the agent runs, and MCP servers, do not inherit kilo-tui's secrets."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from kilo_tui.core.mcp import McpManager
from tests.e2e.cli import MODEL, agent_requests, env_for, run, tool_messages
from tests.fakeserver import FakeLLMServer, Turn
from tests.mcp_servers.helpers import TOY, project_settings, wait_for

SECRETS = {
    "ANTHROPIC_API_KEY": "sk-ant-env-0123456789",
    "GITHUB_TOKEN": "ghp_envtoken0123456789",
    "KILOCODE_TOKEN": "kilo-envtoken-0123456789",
    "AWS_ACCESS_KEY_ID": "AKIAENV0123456789",
    "AWS_SECRET_ACCESS_KEY": "aws-env-secret-0123456789",
    "AWS_SESSION_TOKEN": "aws-env-session-0123456789",
    "DATABASE_PASSWORD": "db-env-password-0123456789",
    "NPM_TOKEN": "npm-env-token-0123456789",
}


def test_a_command_run_by_the_agent_sees_no_secret_unless_passed_through(
    fake_llm: FakeLLMServer, home: Path, workspace: Path
) -> None:
    with (home / "config.toml").open("a") as config:
        config.write('env_passthrough = ["NPM_TOKEN"]\n')  # in CONFIG's [agent] table
    env = env_for(fake_llm, home) | SECRETS | {"HARMLESS_SETTING": "visible"}
    fake_llm.script(
        Turn.tool("execute_command", command="env"),
        Turn.tool("attempt_completion", result="ok"),
    )
    proc = run(["run", "--yolo", "--model", MODEL, "show env"], env=env, cwd=workspace)
    assert proc.returncode == 0, proc.stderr

    [seen] = tool_messages(agent_requests(fake_llm)[-1])  # what the model received
    names = {line.split("=", 1)[0] for line in seen.splitlines() if "=" in line}
    assert "HARMLESS_SETTING" in names and "PATH" in names
    assert "NPM_TOKEN" in names  # passed through on purpose
    assert not names & (set(SECRETS) - {"NPM_TOKEN"} | {"OPENAI_API_KEY"})


async def test_an_mcp_server_gets_its_own_env_but_no_secret_of_kilo_tuis(
    home: Path, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    dump = workspace.parent / "server-env.json"
    script = (
        f"import json, os, runpy; json.dump(dict(os.environ), open({str(dump)!r}, 'w')); "
        f"runpy.run_path({str(TOY)!r}, run_name='__main__')"
    )
    entry = {"command": sys.executable, "args": ["-c", script], "env": {"DOCS_TOKEN": "mine"}}
    project_settings(workspace, {"docs": entry})

    manager = McpManager(workspace)
    await manager.start()
    try:
        await wait_for(manager, "docs", "connected")
    finally:
        await manager.stop()
    server_env = json.loads(dump.read_text())
    assert server_env["DOCS_TOKEN"] == "mine"  # its own entry's env is explicit
    assert not set(server_env) & set(SECRETS)
