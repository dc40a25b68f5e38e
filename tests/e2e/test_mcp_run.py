"""End to end: ``kilo-tui run`` with mcp-server-time configured in ``.kilocode/mcp.json``.

The model (the fake LLM server) calls ``use_mcp_tool``; the real time server answers,
and its answer must be in the next request the model receives. One process run covers
both approval paths (it is slow: the run loads litellm). A second run follows edits of
the settings while it works.
"""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.cli import BIN, agent_requests, env_for, start, tool_messages
from tests.fakeserver import FakeLLMServer, Turn
from tests.mcp_servers.helpers import TIME_ENTRY, TOY_ENTRY, project_settings, write_settings

UTC_CALL = {
    "server_name": "time",
    "tool_name": "get_current_time",
    "arguments": {"timezone": "UTC"},
}


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text('small_model = "openai/fake-small"\n')
    return home


def run_task(server: FakeLLMServer, home: Path, workspace: Path) -> list[dict[str, Any]]:
    proc = subprocess.run(
        [str(BIN), "run", "--json", "--model", "openai/fake-model", "what time is it?"],
        env=env_for(server, home),
        cwd=workspace,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]


def tool_results(server: FakeLLMServer) -> list[str]:
    """The tool messages of the loop's last request (on the main model)."""
    requests = [r for r in server.chat_requests if r.get("model") == "fake-model"]
    return tool_messages(requests[-1])


def test_mcp_results_reach_the_model_and_approval_follows_always_allow(
    fake_llm: FakeLLMServer, home: Path, tmp_path: Path
) -> None:
    project_settings(
        tmp_path,
        {
            "trusted": {**TIME_ENTRY, "alwaysAllow": ["get_current_time"]},
            "time": TIME_ENTRY,
        },
        home=home,
    )
    fake_llm.script(
        Turn.tool("use_mcp_tool", **{**UTC_CALL, "server_name": "trusted"}),
        Turn.tool("use_mcp_tool", **UTC_CALL),
        Turn.tool("attempt_completion", result="told the time"),
    )

    stream = run_task(fake_llm, home, tmp_path)

    allowed, denied = tool_results(fake_llm)
    answer = json.loads(allowed)
    assert answer["timezone"] == "UTC"
    assert answer["datetime"].startswith(datetime.now(UTC).strftime("%Y-%m-%d"))
    # Headless, nothing answers approvals: the call not in alwaysAllow is denied by the gate.
    assert "denied" in denied and "use get_current_time on MCP server time" in denied
    [resolved] = [e for e in stream if e["type"] == "approval_resolved" and e["kind"] == "mcp"]
    assert (resolved["tool"], resolved["approved"]) == ("use_mcp_tool", False)
    statuses = [(e["server"], e["status"]) for e in stream if e["type"] == "mcp_status_changed"]
    assert ("trusted", "connected") in statuses and ("trusted", "stopped") in statuses
    # The model knew the servers' tools from its very first request.
    first = next(r for r in fake_llm.chat_requests if r.get("model") == "fake-model")
    system = first["messages"][0]["content"]
    assert "get_current_time" in system and "No MCP servers currently connected" not in system


def test_a_long_run_follows_edits_of_the_mcp_settings(
    fake_llm: FakeLLMServer, home: Path, tmp_path: Path
) -> None:
    """While a tool call runs, the global MCP settings are saved broken, then with a
    new server: --json reports both, and the model's next request offers the server."""
    settings = write_settings(
        home / "mcp_settings.json", {"toy": {**TOY_ENTRY, "alwaysAllow": ["slow"]}}
    )
    fake_llm.script(
        Turn.tool("use_mcp_tool", server_name="toy", tool_name="slow", arguments={"seconds": 8}),
        Turn.tool("attempt_completion", result="done"),
    )
    proc = start(
        ["run", "--json", "--model", "openai/fake-model", "wait"],
        env=env_for(fake_llm, home),
        cwd=tmp_path,
    )
    try:
        stream = read_until(proc, lambda e: e["type"] == "tool_call_started")
        settings.write_text('{"mcpServers": ')
        stream += read_until(proc, lambda e: e["type"] == "notice" and "MCP" in e["message"])
        write_settings(settings, {"toy": TOY_ENTRY, "time": TIME_ENTRY})
        stream += [json.loads(line) for line in proc.stdout]  # type: ignore[union-attr]
        assert proc.wait(timeout=120) == 0, proc.stderr.read()  # type: ignore[union-attr]
    finally:
        proc.kill()

    [notice] = [e for e in stream if e["type"] == "notice" and "MCP" in e["message"]]
    assert notice["level"] == "error" and "invalid JSON" in notice["message"]
    assert "keep running with their last good settings: toy" in notice["message"]
    reloads = [e for e in stream if e["type"] == "mcp_settings_reloaded"]
    assert [r["added"] for r in reloads] == [[], ["time"]]
    first, second = agent_requests(fake_llm)
    assert "get_current_time" not in first["messages"][0]["content"]
    assert "## time" in second["messages"][0]["content"]
    assert tool_messages(second) == ["done"]


def read_until(proc: subprocess.Popen[str], found: Any) -> list[dict[str, Any]]:
    """The --json events up to and including the first one ``found`` accepts (read
    line by line: the rest stays in ``proc.stdout`` for the next reader)."""
    assert proc.stdout is not None
    seen: list[dict[str, Any]] = []
    for line in proc.stdout:
        seen.append(json.loads(line))
        if found(seen[-1]):
            return seen
    raise AssertionError(f"the run ended first: {seen}")
