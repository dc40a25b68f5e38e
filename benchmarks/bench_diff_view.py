"""Diff review: open time and scroll frame time on a 10,000-line file with 200 hunks.

Runs the real screen headless (the compositor still renders every frame).

* diff: ``compute_hunks`` on the two texts (what the agent side pays per proposal).
* open: from ``push_screen`` (which parses the hunks, reads the file from disk and
  places them) to the first refresh showing the diff; "open small" is the same
  screen on a 60-line file, i.e. the cost of the screen itself.
* scroll frame: jump one page down and render the next frame with nothing cached
  (every visible line lexed and drawn afresh), i.e. the worst scrolling frame.
* next hunk: from posting ``j`` to the first refresh after it (cursor, scroll,
  status line).

    python benchmarks/bench_diff_view.py [--runs 15] [--wall]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from textual import events
from textual.app import App

from kilo_tui.core.edits import Proposal
from kilo_tui.core.events import DiffProposed
from kilo_tui.core.hunks import classify_change, compute_hunks
from kilo_tui.tui.screens.diff_review import DiffReviewScreen
from kilo_tui.tui.widgets.diff_view import DiffView

clock = time.process_time
"""CPU time of this process: what the app costs, not how busy the machine is
(``--wall`` measures elapsed time instead, idle frame waits included)."""

LINES = 10_000
HUNKS = 200


def texts(lines: int = LINES, hunks: int = HUNKS) -> tuple[str, str]:
    """A Python-looking file and a version with one change every ``lines/hunks`` lines."""
    old = [f"    result_{i} = compute(value_{i}, 'label {i}')  # step {i}\n" for i in range(lines)]
    new = list(old)
    step = lines // hunks
    for k in range(hunks):
        i = k * step + step // 2
        new[i] = f"    result_{i} = compute_fast(value_{i}, 'label {i}')  # step {i}\n"
    return "".join(old), "".join(new)


async def next_refresh(app: App[None]) -> None:
    refreshed = asyncio.Event()
    app.call_after_refresh(refreshed.set)
    await refreshed.wait()


async def open_time(app: App[None], event: DiffProposed, workspace: Path) -> float:
    start = clock()
    screen = DiffReviewScreen([event], workspace=workspace)
    await app.push_screen(screen)
    while not screen.is_mounted or screen.query_one(DiffView).virtual_size.height == 0:
        await asyncio.sleep(0)
    await next_refresh(app)
    elapsed = clock() - start
    app.pop_screen()
    await asyncio.sleep(0.05)
    return elapsed


async def scroll_frame(app: App[None], view: DiffView) -> float:
    start = clock()
    view.scroll_to(y=view.scroll_y + view.size.height, animate=False)
    await next_refresh(app)
    return clock() - start


async def key_time(app: App[None], key: str) -> float:
    start = clock()
    app.post_message(events.Key(key, None))
    await next_refresh(app)
    return clock() - start


def ms(values: list[float]) -> str:
    values = sorted(values)
    p95 = values[int(len(values) * 0.95) - 1] if len(values) >= 20 else values[-1]
    return f"median {statistics.median(values) * 1000:6.1f} ms   p95 {p95 * 1000:6.1f} ms"


def proposal(path: str, old: str, new: str) -> DiffProposed:
    hunks = compute_hunks(old, new)
    return Proposal(path, old, new, hunks, classify_change(old, new)).event(
        request_id="r", task_id="t", call_id="c", tool="apply_diff", auto=False
    )


async def main(runs: int) -> None:
    old, new = texts()
    diff_times = []
    for _ in range(runs):
        start = clock()
        compute_hunks(old, new)
        diff_times.append(clock() - start)
    big = proposal("big.py", old, new)
    assert len(big.hunks) == HUNKS
    small = proposal("small.py", *texts(60, 2))
    print(f"{LINES} lines, {HUNKS} hunks ({'wall' if clock is time.perf_counter else 'CPU'} time)")
    print(f"  compute_hunks           {ms(diff_times)}")
    with tempfile.TemporaryDirectory() as tmp:
        workspace = Path(tmp)
        (workspace / "big.py").write_text(old)
        (workspace / "small.py").write_text(texts(60, 2)[0])
        for width, label in ((100, "unified"), (160, "side by side")):
            app: App[None] = App()
            async with app.run_test(size=(width, 45)):
                smalls = [await open_time(app, small, workspace) for _ in range(runs)]
                opens = [await open_time(app, big, workspace) for _ in range(runs)]
                screen = DiffReviewScreen([big], workspace=workspace)
                await app.push_screen(screen)
                await next_refresh(app)
                view = screen.query_one(DiffView)
                view.expand_all()  # every row is a real line: the worst case for scrolling
                frames = [await scroll_frame(app, view) for _ in range(runs * 4)]
                view.scroll_home(animate=False)
                moves = [await key_time(app, "j") for _ in range(min(runs * 4, HUNKS - 1))]
            print(f"  {label}:")
            print(f"    open small            {ms(smalls)}")
            print(f"    open 10k/200          {ms(opens)}")
            print(f"    scroll frame          {ms(frames)}")
            print(f"    next hunk             {ms(moves)}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--wall", action="store_true", help="elapsed time, not CPU time")
    args = parser.parse_args()
    if args.wall:
        clock = time.perf_counter
    asyncio.run(main(args.runs))
