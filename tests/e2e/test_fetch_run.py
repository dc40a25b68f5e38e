"""End to end: ``kilo-tui run`` where the model reads a local web page with fetch_url."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.cli import CONFIG, MODEL, agent_requests, env_for, events, run, tool_messages
from tests.fakeserver import FakeLLMServer, Turn
from tests.website import Site


@pytest.fixture
def site() -> Iterator[Site]:
    s = Site()
    yield s
    s.close()


def test_headless_run_reads_a_page_and_the_model_gets_its_content(
    fake_llm: FakeLLMServer, home: Path, workspace: Path, site: Site
) -> None:
    (home / "config.toml").write_text(
        CONFIG + "[auto_approve]\nbrowser = true\n[web]\nallow_private_addresses = true\n"
    )
    fake_llm.script(
        Turn.tool("fetch_url", url=site.url("/article")),
        Turn.tool("attempt_completion", result="The fox jumps 42 times."),
    )
    proc = run(
        ["run", "--json", "--model", MODEL, "how often does the fox jump?"],
        env=env_for(fake_llm, home),
        cwd=workspace,
    )
    assert proc.returncode == 0, proc.stderr
    page = tool_messages(agent_requests(fake_llm)[1])[-1]
    assert "# The quick brown fox" in page and "**jumps**" in page and "42 times" in page
    assert "Pricing menu" not in page
    resolved = [e for e in events(proc.stdout) if e["type"] == "approval_resolved"]
    assert [(e["kind"], e["approved"], e["rule"]) for e in resolved] == [
        ("browser", True, "browser = true")
    ]
    assert site.hits == [("/article", f"127.0.0.1:{site.port}")]
