"""The first prompt, sent before the model client (litellm) has loaded: the wait is a
passing status, never a chat line, and the request goes out once the client is there.

The loader is really held (its lock, by a thread of the test), not replaced: litellm is
imported for real first, then the loader is made to look not-yet-loaded.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from kilo_tui.core.config import Settings
from kilo_tui.core.llm import litellm_loader
from kilo_tui.tui.widgets.status_bar import StatusBar
from tests.fakeserver import FakeLLMServer, Turn
from tests.tui.pilot import chat_text, idle, make_app, type_and_send, until

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def held_loader(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """litellm looks not yet loaded until the yielded event is set (or 20 s pass, so a
    bug that loads it on the event loop fails the test instead of hanging it)."""
    litellm_loader.load_litellm()
    release, held = threading.Event(), threading.Event()

    def hold() -> None:
        with litellm_loader._lock:
            held.set()
            release.wait(20)

    monkeypatch.setattr(litellm_loader, "_module", None)
    holder = threading.Thread(target=hold, daemon=True)
    holder.start()
    held.wait(5)
    yield release
    release.set()
    holder.join(5)


async def test_a_message_sent_while_the_client_loads_waits_in_the_status_bar(
    tmp_path: Path, settings: Settings, llm_env: FakeLLMServer, held_loader: threading.Event
) -> None:
    workspace = tmp_path / "project"
    workspace.mkdir()
    llm_env.script(Turn.text("The answer.", wait=1.5))  # the model takes its time
    app = make_app(workspace, settings)
    async with app.run_test(size=(100, 30)) as pilot:
        status = app.screen.query_one(StatusBar)
        await type_and_send(pilot, "hello")
        await until(pilot, lambda: "Loading the model client" in status.activity)
        assert "Loading the model client" not in chat_text(app)
        assert "hello" in chat_text(app)  # the message itself is shown at once
        assert llm_env.chat_requests == []
        held_loader.set()
        # Loaded: the status moves on to the request (not "loading" while the model thinks).
        await until(pilot, lambda: bool(llm_env.chat_requests))
        await until(pilot, lambda: "Loading" not in status.activity, timeout=1)
        await until(pilot, lambda: "The answer." in chat_text(app))
        await idle(pilot)
        assert "Loading" not in status.activity
        assert "Loading the model client" not in chat_text(app)
    assert [r["model"] for r in llm_env.chat_requests][:1] == ["fake-model"]
