"""Model picker: time to open with the full catalog, and filter-as-you-type latency.

Runs the real screen headless (the compositor still renders every frame) over the
full catalog (litellm's bundled table, ~3,000 chat models).

* open: from ``push_screen`` to the first refresh that shows the populated list.
  "cold" also parses the bundled price table, as the first open in a session does
  when nothing warmed the catalog; "warm" is every later open.
* type: for each key of a few queries, from posting the key to the search box to the
  first refresh after the list was re-filtered.

Each figure is given as wall time and as this process's CPU time over the same span:
on a busy machine the wall time includes waiting for a core, the CPU time does not
(the app is single-threaded, so CPU time is what an idle machine's wall time would be).

    python benchmarks/bench_model_picker.py [--runs 15]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from textual import events
from textual.app import App
from textual.widgets import Input

from kilo_tui.core.llm import catalog as catalog_mod
from kilo_tui.core.llm.catalog import Catalog
from kilo_tui.tui.screens.model_picker import ModelList, ModelPickerScreen

OFFLINE = {"ollama": {"enabled": False}, "lmstudio": {"enabled": False}}
QUERIES = ("claude sonnet", "gpt 4o mini", "qwen coder", "llama 70b", "free")


async def next_refresh(app: App[None]) -> None:
    refreshed = asyncio.Event()
    app.call_after_refresh(refreshed.set)
    await refreshed.wait()


Sample = tuple[float, float]
"""(wall seconds, CPU seconds)."""


def clock() -> Sample:
    return (time.perf_counter(), time.process_time())


def since(start: Sample) -> Sample:
    wall, cpu = clock()
    return (wall - start[0], cpu - start[1])


async def open_time(app: App[None], catalog: Catalog) -> Sample:
    """Seconds from pushing the picker to the first frame showing its rows."""
    start = clock()
    screen = ModelPickerScreen(catalog, "anthropic/claude-sonnet-4-5", "code")
    await app.push_screen(screen)
    while not screen.is_mounted or screen.query_one(ModelList).option_count == 0:
        await asyncio.sleep(0)
    await next_refresh(app)
    elapsed = since(start)
    app.pop_screen()
    await asyncio.sleep(0.05)
    return elapsed


async def key_latency(app: App[None], screen: ModelPickerScreen, char: str) -> Sample:
    """Seconds from posting ``char`` to the first frame of the re-filtered list."""
    search = screen.query_one(Input)
    expected = search.value + char
    start = clock()
    search.post_message(events.Key(char, char))
    while screen._criteria_shown is None or screen._criteria_shown[1] != expected:
        await asyncio.sleep(0)
    await next_refresh(app)
    return since(start)


def report(name: str, samples: list[Sample]) -> None:
    def stats(values: list[float]) -> str:
        median = statistics.median(values) * 1000
        p95 = sorted(values)[max(int(len(values) * 0.95) - 1, 0)] * 1000
        return f"median {median:6.1f} ms  p95 {p95:6.1f} ms"

    wall, cpu = [s[0] for s in samples], [s[1] for s in samples]
    print(f"{name:<34} wall {stats(wall)}   cpu {stats(cpu)}   (n={len(samples)})")


async def main(runs: int) -> None:
    os.environ["KILO_TUI_HOME"] = tempfile.mkdtemp(prefix="kilo-bench-")
    app: App[None] = App()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        cold = []
        for _ in range(max(runs // 3, 3)):
            catalog_mod.bundled_models.cache_clear()
            cold.append(await open_time(app, Catalog(OFFLINE)))
        catalog = Catalog(OFFLINE)
        print(f"catalog: {len(catalog.models())} models")
        report("open, cold catalog", cold)
        report("open, warm catalog", [await open_time(app, catalog) for _ in range(runs)])

        screen = ModelPickerScreen(catalog, None, "code")
        await app.push_screen(screen)
        await pilot.pause()
        samples: list[Sample] = []
        for query in QUERIES:
            screen.query_one(Input).value = ""
            await pilot.pause()
            for char in query:
                samples.append(await key_latency(app, screen, char))
                await asyncio.sleep(0.01)  # a fast typist: ~100 keys/s
        report(f"filter as you type ({len(QUERIES)} queries)", samples)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    asyncio.run(main(parser.parse_args().runs))
