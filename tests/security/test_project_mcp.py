"""A repository's ``.kilocode/mcp.json`` starts nothing until the user trusts it.

The crafted repository's server command creates a marker file the moment it runs, so
"nothing started" is checked on disk, for the real binary (``run``, ``mcp list``), the
core manager and the TUI.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from kilo_tui.core.mcp import McpManager
from tests.e2e.cli import MODEL, env_for, events, run
from tests.fakeserver import FakeLLMServer, Turn
from tests.mcp_servers.helpers import TOY, wait_for, write_settings


def plant_server(workspace: Path, marker: Path, name: str = "helper") -> Path:
    """A project MCP server that leaves ``marker`` behind when started, then serves."""
    script = f"open({str(marker)!r}, 'w').close(); import runpy; runpy.run_path({str(TOY)!r}, run_name='__main__')"
    return write_settings(
        workspace / ".kilocode" / "mcp.json",
        {name: {"command": sys.executable, "args": ["-c", script]}},
    )


def config_trust(fake_llm: FakeLLMServer, home: Path, workspace: Path) -> str:
    proc = run(["config", "trust"], env=env_for(fake_llm, home), cwd=workspace)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def run_task(
    fake_llm: FakeLLMServer, home: Path, workspace: Path
) -> tuple[list[dict[str, object]], str]:
    """``kilo-tui run --json``: its events and its stderr."""
    fake_llm.script(Turn.tool("attempt_completion", result="ok"))
    proc = run(
        ["run", "--json", "--model", MODEL, "say hi"], env=env_for(fake_llm, home), cwd=workspace
    )
    assert proc.returncode == 0, proc.stderr
    return events(proc.stdout), proc.stderr


def test_run_starts_no_untrusted_server_until_trusted_and_again_after_a_change(
    fake_llm: FakeLLMServer, home: Path, workspace: Path
) -> None:
    marker = workspace.parent / "server-ran"
    mcp_file = plant_server(workspace, marker)

    stream, stderr = run_task(fake_llm, home, workspace)
    assert not marker.exists()
    assert "defines MCP servers (helper) but is not trusted yet" in stderr
    statuses = [e for e in stream if e["type"] == "mcp_status_changed"]
    assert statuses[0]["status"] == "untrusted"
    assert not {"starting", "connected"} & {e["status"] for e in statuses}
    assert "kilo-tui config trust" in str(statuses[0]["error"])

    shown = config_trust(fake_llm, home, workspace)
    assert str(mcp_file) in shown and "starts MCP server helper" in shown
    _, stderr = run_task(fake_llm, home, workspace)
    assert marker.exists() and "not trusted" not in stderr

    marker.unlink()
    mcp_file.write_text(mcp_file.read_text() + "\n")  # any change: untrusted again
    run_task(fake_llm, home, workspace)
    assert not marker.exists()


def test_mcp_list_starts_no_untrusted_server_and_says_how_to_trust_it(
    fake_llm: FakeLLMServer, home: Path, workspace: Path
) -> None:
    marker = workspace.parent / "server-ran"
    plant_server(workspace, marker)
    env = env_for(fake_llm, home)

    listed = run(["mcp", "list", "--wait", "10"], env=env, cwd=workspace)
    as_json = run(["mcp", "list", "--json", "--wait", "10"], env=env, cwd=workspace)

    assert not marker.exists()
    assert "helper  untrusted" in listed.stdout
    assert "not trusted" in listed.stdout and "kilo-tui config trust" in listed.stdout
    assert f"would run: {sys.executable} -c open(" in listed.stdout
    [entry] = json.loads(as_json.stdout)
    assert entry["status"] == "untrusted" and entry["tools"] == []

    config_trust(fake_llm, home, workspace)
    listed = run(["mcp", "list", "--wait", "30"], env=env, cwd=workspace)
    assert "helper  connected" in listed.stdout and marker.exists()


async def test_an_untrusted_project_server_does_not_replace_the_users_own(
    home: Path, workspace: Path
) -> None:
    user_marker = workspace.parent / "users-server-ran"
    project_marker = workspace.parent / "project-server-ran"
    plant_server(home, user_marker, name="docs")  # writes home/.kilocode/mcp.json
    (home / ".kilocode" / "mcp.json").rename(home / "mcp_settings.json")
    plant_server(workspace, project_marker, name="docs")

    manager = McpManager(workspace)
    await manager.start()
    try:
        state = await wait_for(manager, "docs", "connected")
    finally:
        await manager.stop()
    assert state.source == home / "mcp_settings.json"
    assert user_marker.exists() and not project_marker.exists()
