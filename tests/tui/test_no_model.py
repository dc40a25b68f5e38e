"""No usable model (no key anywhere, the first-run setup skipped): the prompt says so
and points to /setup at once; a message sent then waits for nothing and loses nothing."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from kilo_tui.core.config import PROVIDER_KEY_ENV, load_settings
from kilo_tui.tui.app import KiloApp
from kilo_tui.tui.screens.first_run import FirstRunScreen
from kilo_tui.tui.widgets.prompt import PromptInput
from kilo_tui.tui.widgets.status_bar import StatusBar
from tests.fakegateway import FREE_DEFAULT, FakeGateway
from tests.fakeserver import Turn
from tests.tui.pilot import chat_text, until

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty KILO_TUI_HOME and no provider key anywhere in the environment."""
    for env in [*PROVIDER_KEY_ENV.values(), "KILO_TUI_MODEL", "KILOCODE_TOKEN"]:
        monkeypatch.delenv(env, raising=False)
    monkeypatch.setenv("KILO_TUI_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    return tmp_path / "home"


async def test_a_message_sent_after_skipping_setup_points_to_setup_at_once(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace = tmp_path / "project"
    workspace.mkdir()
    with FakeGateway() as gateway:
        # The gateway answers (as the real one would), yet nothing must be asked of it:
        # the user skipped setup, so no model was chosen.
        monkeypatch.setenv("KILO_API_URL", gateway.root)
        app = KiloApp(workspace, load_settings())
        async with app.run_test(size=(120, 36)) as pilot:
            await until(pilot, lambda: isinstance(app.screen, FirstRunScreen))
            await pilot.press("escape")
            await until(pilot, lambda: not isinstance(app.screen, FirstRunScreen))
            prompt = app.screen.query_one(PromptInput)
            assert "/setup" in str(prompt.placeholder)
            await pilot.press(*"hello there")
            # Pilot waits for the process to be idle after each key (up to 1 s): not
            # while the agent loads in a thread. So the clock starts at enter.
            sent = time.monotonic()
            await pilot.press("enter")
            await until(pilot, lambda: "Not sent" in chat_text(app), timeout=3)
            assert time.monotonic() - sent < 3
            # Nothing was lost, nothing is pending, and nothing went to any model.
            assert prompt.text == "hello there"
            status = app.screen.query_one(StatusBar)
            assert status.activity == "" and status.model == ""  # shown as "no model"
            assert "/setup" in chat_text(app).split("Not sent")[1]
            assert "hello there" not in chat_text(app)
            # Once a model is chosen, the kept message goes out.
            gateway.script(Turn.text("Hi."))
            app.screen.runtime.set_model(f"kilo/{FREE_DEFAULT}", persist=False)
            await pilot.press("enter")
            await until(pilot, lambda: "Hi." in chat_text(app))
            assert status.model == f"kilo/{FREE_DEFAULT}"
    assert [r["model"] for r in gateway.chat_requests][:1] == [FREE_DEFAULT]
