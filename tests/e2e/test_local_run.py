"""End to end: one task on the real binary against the fake server playing local servers.

The same read → apply_diff → command → completion task runs with native tool calls,
with Kilo's XML tool protocol, and against a server that refuses to stream tool calls;
the user must see the same approvals, tool results and checkpoints in all three.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.e2e.cli import CONFIG, FIX_DIFF, MODEL, agent_requests, env_for, events, run
from tests.fakeserver import FakeLLMServer, Turn

COMMAND = "python3 -c 'import calc; print(calc.add(2, 3))'"
STEPS: list[tuple[str, dict[str, Any]]] = [
    ("read_file", {"path": "calc.py"}),
    ("apply_diff", {"path": "calc.py", "diff": FIX_DIFF}),
    ("execute_command", {"command": COMMAND}),
    ("attempt_completion", {"result": "Fixed add()."}),
]
# Writes are auto-approved, commands asked: headless, the command is approved only
# because the policy allows python3, as a user would configure it.
POLICY = '[auto_approve]\nwrite = true\nexecute = true\nallowed_commands = ["python3"]\n'


def run_task(server: FakeLLMServer, tmp_path: Path, workspace: Path, extra: str) -> list[dict]:
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text(CONFIG + extra + POLICY)
    proc = run(
        ["run", "--json", "--model", MODEL, "fix add in calc.py"],
        env=env_for(server, home),
        cwd=workspace,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    assert (workspace / "calc.py").read_text() == "def add(a, b):\n    return a + b\n"
    return events(proc.stdout)


def what_the_user_sees(stream: list[dict]) -> list[tuple[str, ...]]:
    """Tool calls, approvals, results and checkpoints, without ids and timings."""
    seen: list[tuple[str, ...]] = []
    for e in stream:
        if e["type"] == "tool_call_started":
            seen.append((e["type"], e["name"]))
        elif e["type"] == "tool_call_finished":
            seen.append((e["type"], e["name"], str(e["is_error"])))
        elif e["type"] == "approval_resolved":
            seen.append((e["type"], e["tool"], str(e["approved"]), e["by"]))
        elif e["type"] == "checkpoint_created":
            seen.append((e["type"], e["trigger"]))
        elif e["type"] == "task_completed" or (
            # Output arrives in as many pieces as the pipe happens to deliver.
            e["type"] == "command_output" and seen[-1:] != [("command_output",)]
        ):
            seen.append((e["type"],))
    return seen


def native_turns() -> list[Turn]:
    return [Turn.tool(name, **args) for name, args in STEPS]


def test_xml_protocol_and_non_streaming_fallback_match_native_mode(
    fake_llm: FakeLLMServer, tmp_path: Path
) -> None:
    results = {}
    for label, extra in (
        ("native", ""),
        ("xml", f'[models."{MODEL}"]\ntool_protocol = "xml"\n'),
        ("no-stream", ""),
    ):
        workspace = tmp_path / label / "project"
        workspace.mkdir(parents=True)
        (workspace / "calc.py").write_text("def add(a, b):\n    return a - b\n")
        fake_llm.requests.clear()
        fake_llm.local.refuse_stream_tools = label == "no-stream"
        fake_llm.local.no_usage = label != "native"
        if label == "xml":
            fake_llm.script(*(Turn.xml(name, **args) for name, args in STEPS))
        else:
            fake_llm.script(*native_turns())
        stream = run_task(fake_llm, tmp_path / label, workspace, extra)
        results[label] = what_the_user_sees(stream)
        requests = agent_requests(fake_llm)
        if label == "xml":
            assert all("tools" not in r for r in requests)
            assert "[execute_command] Result:" in str(requests[-1]["messages"][-1])
        if label == "no-stream":
            assert [bool(r.get("stream")) for r in requests] == [True] + [False] * 4
        if label != "native":
            usage = [e for e in stream if e["type"] == "usage_updated"]
            assert usage and all(u["estimated"] for u in usage)
    assert results["native"][-1] == ("task_completed",)
    checkpoints = [s for s in results["native"] if s[0] == "checkpoint_created"]
    assert len(checkpoints) == 2  # the user's message; before the command (after the edit)
    assert results["xml"] == results["native"]
    assert results["no-stream"] == results["native"]
