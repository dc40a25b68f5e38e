"""End to end: ``kilo-tui run`` where the model lists code definitions (the real binary,
the default policy, the fake provider)."""

from __future__ import annotations

import os
from pathlib import Path

from tests.e2e.cli import MODEL, agent_requests, env_for, run, tool_messages
from tests.fakeserver import FakeLLMServer, Turn


def test_headless_task_lists_definitions_and_the_trust_rules_hold(
    fake_llm: FakeLLMServer, home: Path, workspace: Path, tmp_path: Path
) -> None:
    (workspace / "calc.py").write_text(
        "class Calculator:\n    def add(self, a, b):\n        return a + b\n\n\n"
        "def main():\n    print(Calculator().add(1, 2))\n"
    )
    (workspace / "secret.py").write_text("def ignored_secret_helper():\n    pass\n")
    (workspace / ".kilocodeignore").write_text("secret.py\n")
    outside = tmp_path / "outside.py"
    outside.write_text("def outside_private_function():\n    pass\n")
    os.symlink(outside, workspace / "leak.py")
    fake_llm.script(
        Turn.tool("list_code_definition_names", path="."),
        Turn.tool("list_code_definition_names", path="leak.py"),
        Turn.tool("attempt_completion", result="calc.py defines Calculator and main."),
    )
    proc = run(
        ["run", "--json", "--model", MODEL, "what does this project define?"],
        env=env_for(fake_llm, home),
        cwd=workspace,
    )
    assert proc.returncode == 0, proc.stderr
    requests = agent_requests(fake_llm)
    assert len(requests) == 3
    folder = tool_messages(requests[1])[-1]
    assert folder == (
        "# calc.py\n1--3 | class Calculator:\n2--3 |     def add(self, a, b):\n6--7 | def main():"
    )
    link = tool_messages(requests[2])[-1]
    assert "denied" in link and "read_outside_workspace = false" in link
    everything = "".join(str(r["messages"]) for r in requests)
    assert "ignored_secret_helper" not in everything
    assert "outside_private_function" not in everything
