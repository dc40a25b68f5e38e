"""The TUI meets a damaged session database: the chat says so, and the session works."""

from __future__ import annotations

from pathlib import Path

import pytest

from kilo_tui.core import paths
from kilo_tui.core.config import Settings
from tests.fakeserver import FakeLLMServer, Turn
from tests.tui.pilot import chat_text, idle, make_app, type_and_send, until

pytestmark = pytest.mark.timeout(60)


async def test_a_damaged_database_is_reported_and_a_fresh_one_used(
    tmp_path: Path, settings: Settings, llm_env: FakeLLMServer
) -> None:
    db = paths.sessions_db()
    db.parent.mkdir(parents=True)
    db.write_bytes(b"this is not a database" * 100)
    workspace = tmp_path / "project"
    workspace.mkdir()
    llm_env.script(Turn.tool("attempt_completion", result="Still working."))

    app = make_app(workspace, settings)
    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: "could not be read" in chat_text(app))
        assert f"The session database {db} could not be read" in chat_text(app)
        await type_and_send(pilot, "hi")
        await idle(pilot)
        assert "Still working." in chat_text(app)
    (aside,) = db.parent.glob(db.name + ".damaged-*")
    assert aside.read_bytes() == b"this is not a database" * 100


async def test_a_database_damaged_mid_turn_is_reported_in_the_chat(
    tmp_path: Path, settings: Settings, llm_env: FakeLLMServer
) -> None:
    from kilo_tui.core import events as ev
    from tests.core.test_store_damage import damage

    workspace = tmp_path / "project"
    workspace.mkdir()
    db = paths.sessions_db()
    llm_env.script(
        Turn.tool("read_file", path="missing.txt"),
        Turn.tool("attempt_completion", result="Done reading."),
    )
    app = make_app(workspace, settings)
    assert app.runtime is not None
    started: list[ev.Event] = []

    def damage_once(event: ev.Event) -> None:
        if not started:
            damage(db)
        started.append(event)

    app.runtime.bus.subscribe(damage_once, ev.ToolCallStarted)
    async with app.run_test(size=(120, 30)) as pilot:
        await type_and_send(pilot, "read it")
        await until(pilot, lambda: "Done reading." in chat_text(app))
        text = chat_text(app)
        assert f"The session database {db} was damaged while kilo-tui was running" in text
        assert "internal error" not in text
    (aside,) = db.parent.glob(db.name + ".damaged-*[0-9]")
    assert f"kept as {aside}" in text.replace("\n", " ")
