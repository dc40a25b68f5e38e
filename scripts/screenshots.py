"""Regenerate the SVG screenshots in ``screenshots/`` from the real app.

The app runs headless at a fixed size against the test suite's scripted fake
OpenAI-compatible server (``tests/fakeserver.py``), with ``KILO_TUI_HOME`` and the
project in a fixed temporary folder, so every run draws the same pictures::

    python scripts/screenshots.py

Pictures: ``first-run.svg``, ``approval.svg``, ``chat.svg`` (kilo-dark),
``chat-kilo-light.svg``, ``chat-high-contrast.svg``, ``diff-review.svg``, ``history.svg``,
``model-picker.svg`` (the Kilo gateway's catalog from the suite's fake gateway).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the fake server lives in the test suite

from textual.pilot import Pilot  # noqa: E402
from textual.widgets import Input, TextArea  # noqa: E402

from kilo_tui.core import paths  # noqa: E402
from kilo_tui.core.config import PROVIDER_KEY_ENV, Settings  # noqa: E402
from kilo_tui.core.sessions import SessionStore  # noqa: E402
from kilo_tui.tui.app import KiloApp  # noqa: E402
from tests.fakegateway import FakeGateway  # noqa: E402
from tests.fakeserver import FakeLLMServer, Turn, tool_call  # noqa: E402

OUT = ROOT / "screenshots"
SIZE = (120, 36)
BASE = Path(tempfile.gettempdir()) / "kilo-tui-screenshots"
PROJECT = BASE / "shop"

CART = '''\
"""A shopping cart."""


def total(prices: list[float]) -> float:
    """The amount to pay, in euros."""
    return sum(round(price) for price in prices)
'''

TEST_CART = """\
from cart import total


def test_total() -> None:
    assert total([19.99, 5.49]) == 25.48


if __name__ == "__main__":
    try:
        test_total()
        print("test_total ... ok")
    except AssertionError:
        print(f"test_total ... FAIL: expected 25.48, got {total([19.99, 5.49])}")
        raise SystemExit(1)
"""

EXPLANATION = """\
Found it. `total()` rounds **each price** to whole euros *before* adding them up:

| price | `round(price)` |
|------:|---------------:|
| 19.99 | 20 |
| 5.49  | 5 |

so the cents are lost. Money should be summed first and rounded once:

```python
def total(prices: list[float]) -> float:
    return round(sum(prices), 2)
```"""

FIX = """\
<<<<<<< SEARCH
    return sum(round(price) for price in prices)
=======
    return round(sum(prices), 2)
>>>>>>> REPLACE"""

STAMP = "%Y%m%d-%H%M%S"
LIVE_TASK_DATE = "20261121-101500"
"""The date shown for the task the screenshots create (the others' are in their ids)."""
PAST_TASKS = [
    ("20261118-093012-a1b2c3", "Add a discount code field to checkout", 48_200, 6_100, 0.0612),
    ("20261119-161540-d4e5f6", "Explain the order export format", 12_900, 2_300, None),
    ("20261120-114205-0a9b8c", "Upgrade the payment SDK to v5", 131_000, 15_800, 0.4113),
]


def prepare() -> None:
    """A clean home and project in a fixed place (their paths appear on screen)."""
    shutil.rmtree(BASE, ignore_errors=True)
    PROJECT.mkdir(parents=True)
    (PROJECT / "cart.py").write_text(CART)
    (PROJECT / "test_cart.py").write_text(TEST_CART)
    (PROJECT / "README.md").write_text("# shop\n\nA tiny shop backend.\n")
    os.environ["KILO_TUI_HOME"] = str(BASE / "home")
    for name in [*PROVIDER_KEY_ENV.values(), "KILO_TUI_MODEL", "KILO_TUI_THEME", "OPENAI_API_BASE"]:
        os.environ.pop(name, None)


async def until(pilot: Pilot[None], condition: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the app did not reach the expected state")
        await pilot.pause(0.05)


async def shoot(pilot: Pilot[None], name: str) -> None:
    """Save the screen as ``screenshots/<name>`` once it is steady (no cursor blink)."""
    app = pilot.app
    app.clear_notifications()
    for widget in app.screen.query("Input, TextArea"):
        assert isinstance(widget, Input | TextArea)
        widget.cursor_blink = False
    await pilot.pause(0.2)
    await pilot.wait_for_scheduled_animations()
    app.save_screenshot(filename=name, path=str(OUT))
    print(f"  screenshots/{name}")


async def first_run() -> None:
    """No model, no key: the app opens on the first-run screen."""
    from kilo_tui.tui.screens.first_run import FirstRunScreen

    app = KiloApp(PROJECT, Settings())
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, FirstRunScreen))
        label = app.screen.query_one("#first-run-local")
        await until(pilot, lambda: "Looking" not in str(label.render()))
        await shoot(pilot, "first-run.svg")
        await app.action_quit()


def seed_history() -> None:
    store = SessionStore()
    for task_id, title, tokens_in, tokens_out, cost in PAST_TASKS:
        store.create_task(
            task_id, workspace=str(PROJECT.resolve()), model="openai/fake-model", mode="code"
        )
        store.update_task(
            task_id,
            title=title,
            tokens_in=tokens_in,
            tokens_out=tokens_out,
            cost=cost,
            cost_known=int(cost is not None),
        )
    store.close()


def pin_dates() -> None:
    """Give every task a fixed date, so the history picture does not change by the day."""
    with sqlite3.connect(paths.sessions_db()) as db:
        for (task_id,) in db.execute("SELECT id FROM tasks").fetchall():
            seeded = task_id in {past[0] for past in PAST_TASKS}
            stamp = datetime.strptime(task_id[:15] if seeded else LIVE_TASK_DATE, STAMP).timestamp()
            db.execute(
                "UPDATE tasks SET created_at = ?, updated_at = ? WHERE id = ?",
                (stamp, stamp + 600, task_id),
            )


async def conversation(server: FakeLLMServer) -> None:
    """A task with tool calls, an approval, a streamed reply, a diff review; then history."""
    from kilo_tui.core.agent.runtime import AgentRuntime
    from kilo_tui.tui.screens.diff_review import DiffReviewScreen
    from kilo_tui.tui.screens.history import HistoryScreen
    from kilo_tui.tui.widgets.approval_bar import ApprovalBar
    from kilo_tui.tui.widgets.followup import FollowupBar

    os.environ["OPENAI_API_KEY"] = "not-a-real-key"
    os.environ["OPENAI_API_BASE"] = server.base_url
    server.script_for("fake-small", Turn.text("Fix the failing cart total test"))
    server.script(
        Turn.tools(
            tool_call(
                "update_todo_list",
                todos="- [ ] Reproduce the failure\n- [ ] Find the cause\n- [ ] Fix it",
            ),
            tool_call("read_file", path="cart.py"),
            text="I'll run the test and read the cart code.",
        ),
        Turn.tool("execute_command", command="python3 test_cart.py"),
        Turn(
            content=EXPLANATION,
            tool_calls=[
                tool_call(
                    "ask_followup_question",
                    question="Shall I make the change?",
                    follow_up=[{"text": "Yes, fix it"}, {"text": "No, just explain"}],
                )
            ],
            usage={"cost": 0.0042},
        ),
        Turn.tool("apply_diff", path="cart.py", diff=FIX),
        Turn.tool("attempt_completion", result="`total()` now sums first and rounds once."),
    )
    seed_history()
    settings = Settings(
        model="openai/fake-model",
        small_model="openai/fake-small",
        providers={"kilo": {"enabled": True}},  # the free gateway, as first run turns it on
    )
    runtime = AgentRuntime(workspace=PROJECT, settings=settings, start_mcp=False)
    app = KiloApp(PROJECT, settings, runtime=runtime)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.main_screen
        await pilot.press(*"The cart total test fails. Can you find out why?", "enter")
        # The bars are mounted when first needed, so wait for them to exist.
        await until(
            pilot,
            lambda: any(b.display and b.request is not None for b in screen.query(ApprovalBar)),
        )
        await shoot(pilot, "approval.svg")
        await pilot.press("y")
        await until(pilot, lambda: any(f.display for f in screen.query(FollowupBar)))
        for theme, name in [
            ("kilo-light", "chat-kilo-light.svg"),
            ("high-contrast", "chat-high-contrast.svg"),
            ("kilo-dark", "chat.svg"),
        ]:
            app.theme = theme
            await shoot(pilot, name)

        await pilot.press("1")
        await until(pilot, lambda: isinstance(app.screen, DiffReviewScreen))
        await shoot(pilot, "diff-review.svg")
        await pilot.press("y")
        await until(pilot, lambda: not isinstance(app.screen, DiffReviewScreen), 5)
        await until(pilot, lambda: not screen.busy)

        pin_dates()
        await pilot.press(*"/history", "enter")
        await until(pilot, lambda: isinstance(app.screen, HistoryScreen))
        await shoot(pilot, "history.svg")
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is screen)
        await model_picker(pilot)
        await app.action_quit()


async def model_picker(pilot: Pilot[None]) -> None:
    """/model on the fake gateway's catalog and litellm's table: the gateway's models
    first, in its recommended order, free ones flagged."""
    from kilo_tui.tui.screens.model_picker import ModelPickerScreen

    await pilot.press(*"/model", "enter")
    await until(pilot, lambda: isinstance(pilot.app.screen, ModelPickerScreen))
    picker = pilot.app.screen
    assert isinstance(picker, ModelPickerScreen)
    await until(pilot, lambda: any(m.source == "kilo" for m in picker.shown_models))
    await pilot.pause(0.3)
    await shoot(pilot, "model-picker.svg")
    await pilot.press("escape")


async def main() -> None:
    started = time.monotonic()
    prepare()
    OUT.mkdir(exist_ok=True)
    await first_run()
    with FakeLLMServer() as server, FakeGateway() as gateway:
        os.environ["KILO_API_URL"] = gateway.root
        await conversation(server)
    print(f"done in {time.monotonic() - started:.1f} s")


if __name__ == "__main__":
    asyncio.run(main())
