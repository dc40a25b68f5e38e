"""The codebase index in the status bar: shown while it works or when it failed, gone
once it is ready."""

from __future__ import annotations

from kilo_tui.core import events as ev
from tests.tui.helpers import StandInRuntime
from tests.tui.test_chat import make_app, runtime  # noqa: F401  (the fixture)


async def test_the_status_bar_follows_the_index(runtime: StandInRuntime) -> None:  # noqa: F811
    app = make_app(runtime)
    async with app.run_test() as pilot:
        status = app.screen.status
        runtime.bus.publish(ev.IndexProgress(state="indexing", done=40, total=100))
        await pilot.pause()
        assert "indexing 40%" in str(status.render())
        runtime.bus.publish(ev.IndexProgress(state="ready", done=100, total=100))
        await pilot.pause()
        assert "index" not in str(status.render())
        runtime.bus.publish(ev.IndexProgress(state="error", message="embedding failed"))
        await pilot.pause()
        assert "index ✗" in str(status.render())
