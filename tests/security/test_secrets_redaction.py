"""No configured key value reaches the sessions database, an export, ``--json`` output
or a request to the model — even when a file the agent reads contains it."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.cli import MODEL, env_for, events, run
from tests.fakeserver import FakeLLMServer, Turn

CONFIG_KEY = "sk-or-config-KEY-0123456789abcdef"
ENV_KEY = "sk-ant-env-KEY-0123456789abcdef"
SPLIT_KEY = "sk-split-env-KEY-0123456789abcdef"
KEYS = (CONFIG_KEY, ENV_KEY, SPLIT_KEY)


def test_a_leaked_key_is_masked_everywhere_it_could_be_stored_or_sent(
    fake_llm: FakeLLMServer, home: Path, workspace: Path
) -> None:
    with (home / "config.toml").open("a") as config:
        config.write(f'[providers.openrouter]\napi_key = "{CONFIG_KEY}"\n')
    env = env_for(fake_llm, home) | {"ANTHROPIC_API_KEY": ENV_KEY, "MISTRAL_API_KEY": SPLIT_KEY}
    (workspace / "notes.txt").write_text(f"openrouter: {CONFIG_KEY}\nanthropic: {ENV_KEY}\n")
    (workspace / "split.txt").write_text(SPLIT_KEY)
    fake_llm.script(
        Turn.tool("execute_command", command="cat notes.txt"),
        # The key arrives split over two streamed chunks (output is flushed when more
        # arrives after a pause).
        Turn.tool(
            "execute_command",
            command="printf x; sleep 0.3; head -c 12 split.txt; sleep 0.3; tail -c +13 split.txt",
        ),
        Turn.tool("read_file", path="notes.txt"),
        Turn.tool("attempt_completion", result="ok"),
    )

    proc = run(
        ["run", "--yolo", "--json", "--model", MODEL, "@/notes.txt read"], env=env, cwd=workspace
    )
    assert proc.returncode == 0, proc.stderr
    stream = events(proc.stdout)
    [task_id] = {e["task_id"] for e in stream if e.get("task_id")}
    calls = [e["call_id"] for e in stream if e["type"] == "tool_call_started"]

    def output(call: str) -> str:
        return "".join(e["text"] for e in stream if e.get("call_id") == call and "text" in e)

    assert "openrouter: [REDACTED]\nanthropic: [REDACTED]" in output(calls[0])
    assert output(calls[1]) == "x[REDACTED]"

    exported = run(["sessions", "export", task_id], env=env, cwd=workspace)
    assert exported.returncode == 0, exported.stderr
    assert "anthropic: [REDACTED]" in exported.stdout
    sent = json.dumps(fake_llm.requests)
    stored = b"".join(p.read_bytes() for p in (home / "data").glob("sessions.sqlite3*"))
    for key in KEYS:
        assert key not in sent, "a key reached the model"
        assert key not in proc.stdout, "a key reached --json output"
        assert key not in exported.stdout, "a key reached the export"
        assert key.encode() not in stored, "a key reached the sessions database"


def test_only_credential_values_of_a_projects_mcp_servers_are_masked(
    home: Path, tmp_path: Path
) -> None:
    """Masking every header and env value would garble ordinary text the model reads
    (``application/json``, a path) and let a cloned repository censor what it likes."""
    from kilo_tui.core.trust import project as trust
    from kilo_tui.core.trust.secrets import known_secrets

    ws = tmp_path / "ws"
    (ws / ".kilocode").mkdir(parents=True)
    (ws / ".kilocode" / "mcp.json").write_text(
        json.dumps(
            {
                "mcpServers": {
                    "docs": {
                        "type": "streamable-http",
                        "url": "http://127.0.0.1:9/mcp",
                        "headers": {
                            "Accept": "application/json",
                            "Authorization": "Bearer mcp-header-token-123",
                            "X-Api-Key": "mcp-x-api-key-456",
                        },
                    },
                    "tool": {
                        "command": "tool",
                        "env": {
                            "PYTHONPATH": "/srv/project/src",
                            "TOOL_TOKEN": "mcp-env-token-789",
                        },
                    },
                }
            }
        )
    )
    trust.trust(ws / ".kilocode" / "mcp.json")  # untrusted servers are not even loaded
    found = known_secrets(environ={}, workspace=ws)
    assert {"mcp-header-token-123", "mcp-x-api-key-456", "mcp-env-token-789"} <= found
    assert not {"application/json", "/srv/project/src"} & found


async def test_a_key_saved_while_running_is_masked_from_then_on(
    make_runtime, llm_env: FakeLLMServer, workspace: Path
) -> None:
    """The first-run screen saves a key into an agent that already exists: what the
    agent stores and sends from then on masks it, without waiting for a restart."""
    import dataclasses

    from kilo_tui.core.agent.runtime import AgentRuntime

    runtime: AgentRuntime = make_runtime(yolo=True)
    (workspace / "notes.txt").write_text(f"pasted: {CONFIG_KEY}\n")
    providers = {**runtime.settings.providers, "openrouter": {"api_key": CONFIG_KEY}}
    runtime.settings = dataclasses.replace(runtime.settings, providers=providers)
    llm_env.script(
        Turn.tool("read_file", path="notes.txt"),
        Turn.tool("attempt_completion", result="ok"),
    )

    await runtime.submit("read notes")
    await runtime.aclose()

    assert CONFIG_KEY not in json.dumps(llm_env.requests), "the key reached the model"
    assert "pasted: [REDACTED]" in json.dumps(llm_env.requests)
    stored = b"".join(p.read_bytes() for p in runtime.store.path.parent.glob("sessions.sqlite3*"))
    assert CONFIG_KEY.encode() not in stored, "the key reached the sessions database"
