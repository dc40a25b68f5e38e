"""No request path reaches the network beyond the configured hosts.

The real ``kilo-tui run`` process runs a whole task (model client import, discovery,
titles, a read, a command, an edit, completion) with a Python audit hook that records
every socket connection and name lookup the process makes. The only host it may talk
to is the configured provider: the fake server on 127.0.0.1.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.e2e.cli import FIX_DIFF, MODEL, env_for
from tests.fakeserver import FakeLLMServer, Turn

AUDITED = r"""
import os, sys
log = open(os.environ["KILO_TEST_EGRESS_LOG"], "a", buffering=1)
def audit(event, args):
    if event == "socket.connect" and isinstance(args[1], tuple):
        log.write(f"connect {args[1][0]} {args[1][1]}\n")
    elif event == "socket.getaddrinfo":
        log.write(f"resolve {args[0]} {args[1]}\n")
sys.addaudithook(audit)
from kilo_tui.cli import main
sys.exit(main())
"""


def test_a_whole_task_talks_to_the_configured_provider_only(
    fake_llm: FakeLLMServer, home: Path, workspace: Path, tmp_path: Path
) -> None:
    (workspace / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    fake_llm.script(
        Turn.tool("read_file", path="calc.py"),
        Turn.tool("apply_diff", path="calc.py", diff=FIX_DIFF),
        Turn.tool("execute_command", command="python3 -c 'print(2 + 3)'"),
        Turn.tool("attempt_completion", result="Fixed."),
    )
    log = tmp_path / "egress.log"
    env = env_for(fake_llm, home) | {"KILO_TEST_EGRESS_LOG": str(log)}
    proc = subprocess.run(
        [sys.executable, "-c", AUDITED, "run", "--yolo", "--json", "--model", MODEL, "fix add"],
        env=env,
        cwd=workspace,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert (workspace / "calc.py").read_text() == "def add(a, b):\n    return a + b\n"

    port = fake_llm.base_url.rsplit(":", 1)[1].split("/")[0]
    seen = log.read_text().splitlines()
    assert f"connect 127.0.0.1 {port}" in seen  # the hook saw the provider's traffic
    elsewhere = [
        line
        for line in seen
        if line != f"connect 127.0.0.1 {port}" and not line.startswith("resolve 127.0.0.1 ")
    ]
    assert elsewhere == []
