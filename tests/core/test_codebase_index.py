"""The codebase index and ``codebase_search``: semantic search through the fake
embedding endpoint (real litellm, real HTTP), the content-hash cache, incremental
re-indexing (edit, delete, rename; through the watcher too), the ignore rules, the
lexical fallback, the Qdrant code path (qdrant-client's local mode) and a headless task."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from qdrant_client import QdrantClient

from kilo_tui.core import events as ev
from kilo_tui.core.agent.runtime import AgentRuntime
from kilo_tui.core.code.index import CodebaseIndex
from kilo_tui.core.code.store import database_path
from kilo_tui.core.code.vectors import QdrantVectors
from kilo_tui.core.config import Settings, load_settings
from kilo_tui.core.tools.base import ToolError
from kilo_tui.core.tools.codebase import CODEBASE_SEARCH
from tests.core.test_agent import answer_approvals, last_tool_result, main_requests, offered
from tests.core.test_tools import Harness
from tests.fakeserver import FakeLLMServer, Turn

SECRET_WORD = "zanzibarquux"
"""In ignored files only: it must never reach the store or the embedding endpoint."""


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    (ws / "app").mkdir(parents=True)
    doc = " ".join(["Parse the configuration file into settings."] * 12)
    (ws / "app" / "config.py").write_text(  # two functions, too big for one chunk
        "import tomllib\n\n\n"
        "def parse_config(path):\n"
        f'    """{doc}"""\n'
        "    with open(path, 'rb') as handle:\n"
        "        return tomllib.load(handle)\n\n\n"
        "def unrelated_helper():\n"
        + "".join(f"    value_{i} = compute_something_else({i})\n" for i in range(16))
        + "    return 42\n"
    )
    (ws / "app" / "payments.js").write_text(
        "export function chargeCreditCard(card, amount) {\n"
        "  // charge the credit card through the payment gateway\n"
        "  return gateway.charge(card, amount);\n"
        "}\n"
    )
    (ws / "lib").mkdir()
    (ws / "lib" / "retry.go").write_text(
        "package lib\n\n"
        "// RetryWithBackoff retries the request with exponential backoff.\n"
        "func RetryWithBackoff(request func() error) error {\n"
        "\treturn request()\n"
        "}\n"
    )
    (ws / ".gitignore").write_text("build/\n")
    (ws / "build").mkdir()
    (ws / "build" / "generated.py").write_text(f"def {SECRET_WORD}_generated(): pass\n")
    (ws / ".kilocodeignore").write_text("private/\n")
    (ws / "private").mkdir()
    (ws / "private" / "keys.py").write_text(f"API_KEY = '{SECRET_WORD}'\n")
    return ws


def settings_for(home: Path, ws: Path, config: str) -> Settings:
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(config)
    return load_settings(ws)


@pytest.fixture
def semantic(llm_env: FakeLLMServer, tmp_path: Path, ws: Path) -> Settings:
    """Embeddings from the fake server, with a key of their own."""
    return settings_for(
        tmp_path / "kilo-home",
        ws,
        "[codebase_index]\nenabled = true\n"
        'embedding_model = "openai/text-embedding-3-small"\ndimensions = 128\n'
        f'[providers.openai]\napi_base = "{llm_env.base_url}"\napi_key = "sk-embed-key"\n',
    )


@pytest.fixture
def lexical(llm_env: FakeLLMServer, tmp_path: Path, ws: Path) -> Settings:
    return settings_for(tmp_path / "kilo-home", ws, "[codebase_index]\nenabled = true\n")


def embedded_texts(server: FakeLLMServer) -> list[str]:
    texts: list[str] = []
    for request in server.requests:
        if request["path"].endswith("/embeddings"):
            texts.extend(request["body"]["input"])
    return texts


def stored_paths(index: CodebaseIndex) -> set[str]:
    return index.db.all_paths()


def first_hit(text: str) -> str:
    """The first result's header lines (path, score, lines, first code line)."""
    return "\n".join(text.split("Results:\n\n", 1)[1].split("\n")[:4])


async def search(index: CodebaseIndex, ws: Path, query: str, **args: Any) -> str:
    ctx = Harness(ws).context()
    ctx.extra["codebase_index"] = index
    return (await CODEBASE_SEARCH.run({"query": query, **args}, ctx)).content


# ----------------------------------------------------------------- semantic


async def test_a_query_for_a_concept_finds_the_chunk_that_holds_it(
    semantic: Settings, ws: Path, llm_env: FakeLLMServer
) -> None:
    index = CodebaseIndex(ws, semantic)
    await index.update()
    text = await search(index, ws, "parse the configuration file")
    assert text.startswith("Query: parse the configuration file\nResults:\n\n")
    first = first_hit(text)
    assert first.startswith("File path: app/config.py\nScore: 0.")
    assert first.endswith("Lines: 1-7\nCode Chunk: import tomllib")
    assert "Lines: 10-27" not in text.split("File path:")[1]  # not the other function
    assert "lexical" not in text
    retry = await search(index, ws, "retry with exponential backoff")
    assert first_hit(retry).startswith("File path: lib/retry.go\n")
    in_app = await search(index, ws, "retry with exponential backoff", path="app")
    assert "lib/retry.go" not in in_app and "File path: app/" in in_app
    # The embedding key went to the embedding host only, with the dimensions asked for.
    calls = [c for c in llm_env.credentials if c["path"].endswith("/embeddings")]
    assert calls and all(c["authorization"] == "Bearer sk-embed-key" for c in calls)
    bodies = [r["body"] for r in llm_env.requests if r["path"].endswith("/embeddings")]
    assert {b["model"] for b in bodies} == {"text-embedding-3-small"}
    assert {b["dimensions"] for b in bodies} == {128}


async def test_unchanged_chunks_are_never_embedded_twice(
    semantic: Settings, ws: Path, llm_env: FakeLLMServer
) -> None:
    index = CodebaseIndex(ws, semantic)
    await index.update()
    first = embedded_texts(llm_env)
    assert len(first) == len(set(first)) >= 3
    llm_env.requests.clear()
    config = ws / "app" / "config.py"
    config.write_text(config.read_text().replace("return 42", "return 43"))
    (ws / "app" / "copy.js").write_text((ws / "app" / "payments.js").read_text())
    await index.update()
    (again,) = embedded_texts(llm_env)  # only the edited function; the copy is cached
    assert again.startswith("def unrelated_helper():") and again.endswith("return 43")
    llm_env.requests.clear()
    await index.rebuild()  # the cache survives a rebuild
    assert embedded_texts(llm_env) == []
    assert stored_paths(index) == {
        "app/config.py",
        "app/payments.js",
        "app/copy.js",
        "lib/retry.go",
        ".gitignore",
    }


async def test_edit_delete_and_rename_reach_the_index(semantic: Settings, ws: Path) -> None:
    index = CodebaseIndex(ws, semantic)
    await index.update()
    (ws / "lib" / "retry.go").rename(ws / "lib" / "backoff.go")
    (ws / "app" / "payments.js").unlink()
    (ws / "app" / "config.py").write_text("def load_yaml_settings():\n    return {}\n")
    await index.update(["lib/retry.go", "lib/backoff.go", "app/payments.js", "app/config.py"])
    assert "lib/retry.go" not in stored_paths(index)
    assert first_hit(await search(index, ws, "exponential backoff")).startswith(
        "File path: lib/backoff.go\n"
    )
    assert "payments.js" not in await search(index, ws, "charge the credit card")
    assert "parse_config" not in await search(index, ws, "parse the configuration")
    assert "load_yaml_settings" in await search(index, ws, "yaml settings")


async def test_the_watcher_reindexes_changes_and_drops_newly_ignored_files(
    semantic: Settings, ws: Path
) -> None:
    bus_events: list[ev.IndexProgress] = []
    from kilo_tui.core.bus import EventBus

    bus = EventBus()
    bus.subscribe(bus_events.append, ev.IndexProgress)
    index = CodebaseIndex(ws, semantic, bus)
    task = asyncio.create_task(index.run())
    try:
        await wait_for(lambda: "app/config.py" in stored_paths(index))
        await asyncio.sleep(0.5)  # the watcher is up once the first scan is over
        (ws / "lib" / "tokens.py").write_text("def refresh_oauth_token():\n    pass\n")
        await wait_for(lambda: "lib/tokens.py" in stored_paths(index))
        (ws / ".kilocodeignore").write_text("private/\nlib/\n")
        await wait_for(lambda: not any(p.startswith("lib/") for p in stored_paths(index)))
        assert "lib/tokens.py" not in await search(index, ws, "refresh oauth token")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    states = [e.state for e in bus_events]
    assert "indexing" in states and "ready" in states


async def wait_for(condition: Callable[[], bool], timeout: float = 30) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)


# ------------------------------------------------------------------ ignores


async def test_ignored_files_are_never_embedded_or_stored(
    semantic: Settings, ws: Path, llm_env: FakeLLMServer
) -> None:
    index = CodebaseIndex(ws, semantic)
    await index.update()
    assert not any(SECRET_WORD in t for t in embedded_texts(llm_env))
    assert stored_paths(index) == {".gitignore", "app/config.py", "app/payments.js", "lib/retry.go"}
    index.close()
    raw = b"".join(p.read_bytes() for p in database_path(ws).parent.iterdir())
    assert SECRET_WORD.encode() not in raw
    assert str(database_path(ws)).startswith(str(ws.parent / "kilo-home"))


async def test_a_file_that_becomes_ignored_leaves_the_index(lexical: Settings, ws: Path) -> None:
    index = CodebaseIndex(ws, lexical)
    await index.update()
    assert "chargeCreditCard" in await search(index, ws, "chargeCreditCard")
    (ws / ".gitignore").write_text("build/\n*.js\n")
    await index.update()
    assert "app/payments.js" not in stored_paths(index)
    assert "No relevant code snippets found" in await search(index, ws, "chargeCreditCard")
    rows = sqlite3.connect(database_path(ws)).execute(
        "SELECT count(*) FROM chunks WHERE text LIKE '%chargeCreditCard%'"
    )
    assert rows.fetchone()[0] == 0
    index.close()  # nothing of it is left on disk either: not in a free page, the WAL or FTS
    raw = b"".join(p.read_bytes() for p in database_path(ws).parent.iterdir())
    assert b"chargeCreditCard" not in raw and b"chargecreditcard" not in raw


async def test_a_link_to_an_ignored_or_outside_file_is_not_indexed(
    lexical: Settings, ws: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside.py"
    outside.write_text(f"def {SECRET_WORD}_outside(): pass\n")
    (ws / "app" / "out.py").symlink_to(outside)
    (ws / "app" / "keys.py").symlink_to(ws / "private" / "keys.py")
    index = CodebaseIndex(ws, lexical)
    await index.update()
    assert "No relevant code snippets found" in await search(index, ws, SECRET_WORD)
    assert not {"app/out.py", "app/keys.py"} & stored_paths(index)


# ------------------------------------------------------------------ lexical


async def test_without_an_embedding_model_the_search_is_lexical_and_says_so(
    lexical: Settings, ws: Path, llm_env: FakeLLMServer
) -> None:
    index = CodebaseIndex(ws, lexical)
    await index.update()
    text = await search(index, ws, "RetryWithBackoff function")
    assert text.startswith("No embedding model is configured")
    assert "this search is lexical" in text
    assert "File path: lib/retry.go\nScore: " in text
    assert embedded_texts(llm_env) == []
    nothing = await search(index, ws, 'NEAR("x" OR) * "')  # FTS5 syntax is not interpreted
    assert 'No relevant code snippets found for the query: "NEAR("x" OR) * ""' in nothing


async def test_the_path_parameter_restricts_the_search_through_the_trust_boundary(
    lexical: Settings, ws: Path
) -> None:
    index = CodebaseIndex(ws, lexical)
    await index.update()
    assert "lib/retry.go" not in await search(index, ws, "RetryWithBackoff", path="app")
    assert "lib/retry.go" in await search(index, ws, "RetryWithBackoff", path="lib/")
    with pytest.raises(ToolError, match="outside the workspace"):
        await search(index, ws, "x", path="..")
    with pytest.raises(ToolError, match=r"\.kilocodeignore"):
        await search(index, ws, "x", path="private")


async def test_when_the_embedding_provider_fails_the_search_falls_back_to_lexical(
    semantic: Settings, ws: Path, tmp_path: Path
) -> None:
    await CodebaseIndex(ws, semantic).update()
    config = Path(semantic.source).read_text()
    down = config.replace(semantic.providers["openai"]["api_base"], "http://127.0.0.1:9/v1")
    index = CodebaseIndex(ws, settings_for(tmp_path / "kilo-home", ws, down))
    text = await search(index, ws, "RetryWithBackoff")
    assert text.startswith("Semantic search failed (embedding with openai/text-embedding")
    assert "these results are lexical" in text and "File path: lib/retry.go" in text
    assert "sk-embed-key" not in text


# ------------------------------------------------------------------- qdrant


async def test_the_qdrant_code_path_against_qdrant_client_local_mode(
    semantic: Settings, ws: Path
) -> None:
    client = QdrantClient(location=":memory:")
    vectors = QdrantVectors(client, ws.resolve(), "test")
    index = CodebaseIndex(ws, semantic, vectors=vectors)
    await index.update()
    assert vectors.collection.startswith("ws-") and len(vectors.collection) == 19
    points = client.count(vectors.collection).count
    assert points == index.db.counts()[1]
    text = await search(index, ws, "parse the configuration file")
    assert first_hit(text).startswith("File path: app/config.py\n")
    assert "lib/retry.go" not in await search(index, ws, "retry backoff", path="app")
    (ws / "app" / "config.py").unlink()
    await index.update(["app/config.py"])
    assert client.count(vectors.collection).count == index.db.counts()[1] < points
    assert "app/config.py" not in await search(index, ws, "parse the configuration file")


# ------------------------------------------------------------------- agent


async def test_a_headless_task_searches_the_codebase(
    make_runtime: Callable[..., AgentRuntime], llm_env: FakeLLMServer, workspace: Path
) -> None:
    (workspace / "billing.py").write_text(
        "def compute_invoice_total(items):\n    return sum(i.price for i in items)\n"
    )
    runtime = make_runtime(
        '\n[codebase_index]\nenabled = true\nembedding_model = "openai/fake-embedding"\n',
        interactive=False,
    )
    asked = answer_approvals(runtime, lambda event: False)
    assert runtime.codebase_index is not None
    await runtime.codebase_index.update()
    llm_env.script(
        Turn.tool("codebase_search", query="invoice total computation"),
        Turn.tool("attempt_completion", result="billing.py computes it."),
    )
    outcome = await runtime.submit("Where is the invoice total computed?")
    assert outcome.status == "completed" and asked == []
    first, second = main_requests(llm_env)
    assert "codebase_search" in offered(first)
    result = last_tool_result(second)
    assert result.startswith(
        "Query: invoice total computation\nResults:\n\nFile path: billing.py\n"
    )
    assert "Lines: 1-2\nCode Chunk: def compute_invoice_total(items):" in result
    await runtime.aclose()


async def test_codebase_search_is_offered_only_when_indexing_is_enabled(
    make_runtime: Callable[..., AgentRuntime],
) -> None:
    runtime = make_runtime()
    assert runtime.codebase_index is None and runtime.tool("codebase_search") is None


# --------------------------------------------------------------------- CLI


def test_index_status_and_rebuild_commands(
    semantic: Settings, ws: Path, llm_env: FakeLLMServer, capsys: pytest.CaptureFixture[str]
) -> None:
    from kilo_tui.cli import main

    assert main(["index", "status", "--path", str(ws)]) == 0
    before = capsys.readouterr().out
    assert "Indexing:  on\nSearch:    semantic (openai/text-embedding-3-small)\n" in before
    assert f"Store:     embedded ({database_path(ws.resolve())})" in before
    assert before.endswith("Contents:  0 files, 0 chunks\nState:     not indexed yet\n")
    assert main(["index", "rebuild", "--path", str(ws)]) == 0
    out = capsys.readouterr()
    assert out.out.startswith("Indexed 4 files into ")
    assert "indexing: 0 of 4 files" in out.err
    assert main(["index", "status", "--path", str(ws), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert (info["files"], info["state"], info["search"]) == (4, "ready", "semantic")
    assert info["chunks"] >= 5


def test_index_rebuild_when_indexing_is_off(
    llm_env: FakeLLMServer, tmp_path: Path, ws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from kilo_tui.cli import main

    settings_for(tmp_path / "kilo-home", ws, "")
    assert main(["index", "rebuild", "--path", str(ws)]) == 2
    assert "codebase indexing is off" in capsys.readouterr().err
    assert main(["index", "status", "--path", str(ws)]) == 0
    assert "Indexing:  off ([codebase_index] enabled = false)" in capsys.readouterr().out
    assert main(["index", "status", "--path", str(ws / "nope")]) == 2


def test_the_qdrant_key_is_a_secret(
    llm_env: FakeLLMServer, tmp_path: Path, ws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from kilo_tui.cli import main
    from kilo_tui.core.trust.secrets import known_secrets

    settings = settings_for(
        tmp_path / "kilo-home", ws, '[codebase_index]\nqdrant_api_key = "qd-secret-4321"\n'
    )
    assert "qd-secret-4321" in known_secrets(settings)
    assert main(["config", "show"]) == 0
    shown = capsys.readouterr().out
    assert "qd-secret-4321" not in shown
    assert json.loads(shown)["codebase_index"]["qdrant_api_key"] == "…4321"
    assert main(["config", "set", "codebase_index.qdrant_api_key", "qd-other-8765"]) == 0
    assert capsys.readouterr().out.startswith("codebase_index.qdrant_api_key = …8765 (in ")


async def test_a_server_that_refuses_base64_vectors_gets_floats(
    semantic: Settings, ws: Path, llm_env: FakeLLMServer
) -> None:
    llm_env.base64_embeddings = False
    index = CodebaseIndex(ws, semantic)
    await index.update()
    text = await search(index, ws, "parse the configuration file")
    assert first_hit(text).startswith("File path: app/config.py\n")
    formats = [
        r["body"].get("encoding_format")
        for r in llm_env.requests
        if r["path"].endswith("/embeddings")
    ]
    assert formats[0] == "base64" and set(formats[1:]) == {None}


async def test_a_search_right_after_start_waits_for_the_first_scan(
    lexical: Settings, ws: Path
) -> None:
    index = CodebaseIndex(ws, lexical)
    task = asyncio.create_task(index.run())
    try:
        text = await search(index, ws, "RetryWithBackoff")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert "File path: lib/retry.go" in text
