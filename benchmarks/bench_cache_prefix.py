"""How much of each request a prompt cache can reuse: the common prefix of consecutive
requests in a 10-step task.

Run: python benchmarks/bench_cache_prefix.py

A 10-request task (reads, listings, searches, a todo list, completion) runs through the
real agent loop against the fake OpenAI-compatible server, once with native tool calls
and once with the XML tool protocol. Each request is rendered the way a server lays it
out for its prefix cache (tool definitions, then the messages in order); the figure is
the share of the previous request's bytes that the next request starts with. Prefix
caches (OpenAI's, llama.cpp's, Anthropic's up to a breakpoint) reuse exactly that part.
Target: at least 95 % for every request.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fakeserver import FakeLLMServer, Turn

STEPS = [
    ("update_todo_list", {"todos": "[ ] look around\n[ ] report"}),
    ("list_files", {"path": ".", "recursive": True}),
    ("read_file", {"path": "app.py"}),
    ("search_files", {"path": ".", "regex": "def "}),
    ("read_file", {"path": "util.py"}),
    ("read_file", {"path": "app.py", "start_line": 1, "end_line": 2}),
    ("search_files", {"path": ".", "regex": "return"}),
    ("list_files", {"path": "."}),
    ("update_todo_list", {"todos": "[x] look around\n[ ] report"}),
    ("attempt_completion", {"result": "Two modules, three functions."}),
]


def rendered(body: dict[str, Any]) -> bytes:
    """The request as a prompt cache sees it: tools first, then the messages."""
    return json.dumps({"tools": body.get("tools"), "messages": body["messages"]}).encode()


def common_prefix(a: bytes, b: bytes) -> int:
    n = min(len(a), len(b))
    low, high = 0, n
    while low < high:  # binary search on the prefix length
        mid = (low + high + 1) // 2
        if a[:mid] == b[:mid]:
            low = mid
        else:
            high = mid - 1
    return low


async def run_task(server: FakeLLMServer, home: Path, protocol: str) -> list[dict[str, Any]]:
    from kilo_tui.core.agent.runtime import AgentRuntime
    from kilo_tui.core.config import load_settings

    workspace = home / f"project-{protocol}"
    workspace.mkdir()
    (workspace / "app.py").write_text("def main():\n    return 1\n")
    (workspace / "util.py").write_text("def helper():\n    return 2\n")
    config = home / "config.toml"
    config.write_text(
        'small_model = "openai/fake-small"\n'
        f'[models."openai/fake-model"]\ntool_protocol = "{protocol}"\n'
    )
    settings = load_settings(workspace, overrides={"model": "openai/fake-model"})
    runtime = AgentRuntime(
        workspace=workspace, settings=settings, interactive=False, yolo=True, start_mcp=False
    )
    make = Turn.xml if protocol == "xml" else Turn.tool
    server.script(*(make(name, **args) for name, args in STEPS))
    server.requests.clear()
    outcome = await runtime.submit("Describe this project.")
    assert outcome.status == "completed", outcome
    runtime.store.close()
    return [b for b in server.chat_requests if b.get("model") == "fake-model"]


def report(protocol: str, requests: list[dict[str, Any]]) -> float:
    shares = []
    for previous, current in itertools.pairwise(requests):
        before, after = rendered(previous), rendered(current)
        shares.append(100 * common_prefix(before, after) / len(before))
        if os.environ.get("DEBUG_PREFIX"):
            at = common_prefix(before, after)
            print(before[max(0, at - 80) : at + 80], "\n---\n", after[max(0, at - 80) : at + 80])
    print(
        f"{protocol:6}  {len(requests)} requests  prefix kept: "
        f"min {min(shares):6.2f} %  mean {sum(shares) / len(shares):6.2f} %  "
        f"(last request {len(rendered(requests[-1])):,} bytes)"
    )
    return min(shares)


async def main() -> int:
    with tempfile.TemporaryDirectory() as tmp, FakeLLMServer() as server:
        home = Path(tmp)
        os.environ.update(
            KILO_TUI_HOME=str(home), OPENAI_API_KEY="x", OPENAI_API_BASE=server.base_url
        )
        worst = min(
            [
                report(protocol, await run_task(server, home, protocol))
                for protocol in ("native", "xml")
            ]
        )
        from kilo_tui.core.llm.client import close_clients

        await close_clients()
    print(f"target >= 95 %: {'met' if worst >= 95 else 'NOT met'}")
    return 0 if worst >= 95 else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
