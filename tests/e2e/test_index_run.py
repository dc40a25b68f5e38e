"""End to end: ``kilo-tui run`` where the model searches the codebase (the real binary,
the default policy, the fake provider serving chat and embeddings), then
``kilo-tui index status`` on what the run indexed."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.cli import MODEL, agent_requests, env_for, run, tool_messages
from tests.fakeserver import FakeLLMServer, Turn


def test_headless_task_searches_the_codebase_as_soon_as_it_starts(
    fake_llm: FakeLLMServer, home: Path, workspace: Path
) -> None:
    with (home / "config.toml").open("a") as config:
        config.write('[codebase_index]\nenabled = true\nembedding_model = "openai/fake-embed"\n')
    (workspace / "billing.py").write_text(
        "def compute_invoice_total(items):\n    return sum(i.price for i in items)\n"
    )
    (workspace / "secret.py").write_text("def invoice_total_secret():\n    pass\n")
    (workspace / ".kilocodeignore").write_text("secret.py\n")
    fake_llm.script(
        Turn.tool("codebase_search", query="invoice total"),
        Turn.tool("attempt_completion", result="billing.py computes it."),
    )
    env = env_for(fake_llm, home)
    proc = run(["run", "--json", "--model", MODEL, "where is the total?"], env=env, cwd=workspace)
    assert proc.returncode == 0, proc.stderr
    result = tool_messages(agent_requests(fake_llm)[1])[-1]
    assert result.startswith("Query: invoice total\nResults:\n\nFile path: billing.py\n")
    everything = str(fake_llm.requests)
    assert "invoice_total_secret" not in everything
    status = run(["index", "status"], env=env, cwd=workspace)
    assert "Search:    semantic (openai/fake-embed)" in status.stdout
    assert "State:     ready" in status.stdout
