"""Nothing on the request path downloads anything.

litellm fetches a Hugging Face tokenizer to count the tokens of some models (ids with
``llama-3``, ``llama-2``, ``command-r``): offline that stalled every request for a
minute. ``HF_ENDPOINT`` points Hugging Face downloads at a local recorder here, so an
attempted download shows up as a request it received.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from kilo_tui.core.llm.client import stream_completion
from tests.fakeserver import FakeLLMServer, Turn

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def hugging_face(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The paths of the download requests Hugging Face clients make."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            seen.append(self.path)
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_HEAD = do_GET

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{server.server_address[1]}")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    yield seen
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    "model",
    [
        "openai/meta-llama/llama-3.3-70b-instruct",
        "openai/llama-2-13b-chat",
        "openai/command-r-plus",
    ],
)
async def test_a_request_never_downloads_a_tokenizer(hugging_face: list[str], model: str) -> None:
    with FakeLLMServer() as server:
        server.script(Turn.text("An answer of a few tokens."))
        reply = await stream_completion(
            model=model,
            messages=[{"role": "user", "content": "hi"}],
            api_base=server.base_url,
            api_key="x",
            max_retries=0,
        )
    assert reply.text == "An answer of a few tokens."
    assert reply.usage.completion_tokens > 0
    assert hugging_face == []
