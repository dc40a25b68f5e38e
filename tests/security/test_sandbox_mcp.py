"""A project's MCP stdio servers run in the sandbox, even once the project file is trusted.

The crafted server tries, as it starts, to write into the workspace and to read
``~/.ssh/id_rsa``, reports each outcome on stderr, then serves normally.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from kilo_tui.core.mcp import McpManager
from kilo_tui.core.trust import project as trust
from kilo_tui.core.trust.sandbox import SandboxSettings, find_mechanism
from tests.mcp_servers.helpers import TOY, wait_for, write_settings

pytestmark = pytest.mark.skipif(
    find_mechanism()[0] is None, reason=f"no sandbox here: {find_mechanism()[1]}"
)

PROBE = f"""
import os, runpy, sys
def attempt(name, action):
    try:
        action()
        print(name, "ok", file=sys.stderr)
    except OSError as exc:
        print(name, "blocked", exc.strerror, file=sys.stderr)
attempt("write-workspace", lambda: open("probe.txt", "w").write("x"))
attempt("read-ssh", lambda: open(os.path.expanduser("~/.ssh/id_rsa")).read())
sys.stderr.flush()
runpy.run_path({str(TOY)!r}, run_name="__main__")
"""


@pytest.mark.parametrize(
    ("entry", "sandbox", "expected"),
    [
        ({}, SandboxSettings(), {"write-workspace": "blocked", "read-ssh": "blocked"}),
        (
            {"sandbox": "workspace-write"},
            SandboxSettings(),
            {"write-workspace": "ok", "read-ssh": "blocked"},
        ),
        ({}, SandboxSettings(mode="off"), {"write-workspace": "ok", "read-ssh": "ok"}),
    ],
    ids=["project-default", "entry-workspace-write", "sandbox-off"],
)
async def test_a_trusted_project_server_runs_confined(
    home: Path,
    workspace: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    entry: dict[str, str],
    sandbox: SandboxSettings,
    expected: dict[str, str],
) -> None:
    user = tmp_path / "user"
    (user / ".ssh").mkdir(parents=True)
    (user / ".ssh" / "id_rsa").write_text("KEY")
    monkeypatch.setenv("HOME", str(user))
    settings = write_settings(
        workspace / ".kilocode" / "mcp.json",
        {"probe": {"command": sys.executable, "args": ["-c", PROBE], **entry}},
    )
    trust.trust(settings)
    manager = McpManager(workspace, sandbox=sandbox)
    await manager.start()
    try:
        state = await wait_for(manager, "probe", "connected")
    finally:
        await manager.stop()
    outcomes = dict(line.split()[:2] for line in state.stderr_tail.splitlines() if line.strip())
    assert {k: outcomes.get(k) for k in expected} == expected, state.stderr_tail
    assert (workspace / "probe.txt").exists() == (expected["write-workspace"] == "ok")
