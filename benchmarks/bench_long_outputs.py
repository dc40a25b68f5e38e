"""Does a huge tool output block the prompt? The longest frame while it arrives.

Runs the real app headless (the compositor renders every frame) with a stand-in
runtime, and publishes what the agent would: a command streaming 5,000 lines, a
``read_file`` of a 1 MB file (short lines), and one of a 1 MB file on a single line
(minified code). While each arrives, a watcher measures how long the event loop is
blocked (the longest gap between 5 ms ticks: no frame and no keypress is handled
during it), and a keypress in the prompt is timed right after.

    python benchmarks/bench_long_outputs.py [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bench_typing import key_latency
from kilo_tui.core import events as ev
from kilo_tui.tui.app import KiloApp
from kilo_tui.tui.widgets.tool_block import ToolBlock
from tests.tui.helpers import StandInRuntime

TICK = 0.005


async def longest_block(work: Callable[[], Awaitable[None]]) -> tuple[float, float]:
    """The longest event-loop stall while ``work`` runs and settles, in CPU seconds (the
    work done between two 5 ms ticks: what blocks frames and keys on a quiet machine)
    and in wall seconds (which also counts waiting for a core on a busy one)."""
    stop = asyncio.Event()
    cpu_gaps: list[float] = []
    wall_gaps: list[float] = []

    async def watch() -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        while not stop.is_set():
            await asyncio.sleep(TICK)
            now_wall, now_cpu = time.perf_counter(), time.process_time()
            wall_gaps.append(now_wall - wall - TICK)
            cpu_gaps.append(now_cpu - cpu)
            wall, cpu = now_wall, now_cpu

    watcher = asyncio.create_task(watch())
    await work()
    await asyncio.sleep(0.5)  # the frames that render what arrived
    stop.set()
    await watcher
    return max(cpu_gaps), max(wall_gaps)


async def main(runs: int) -> None:
    os.environ["KILO_TUI_HOME"] = tempfile.mkdtemp(prefix="kilo-bench-")
    runtime = StandInRuntime(Path(tempfile.mkdtemp(prefix="kilo-bench-ws-")))
    app = KiloApp(runtime.workspace, runtime.settings, runtime=runtime)  # type: ignore[arg-type]
    publish = runtime.bus.publish
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        idle = [await key_latency(app, "x") for _ in range(20)]
        print(f"{'key press, idle':<38} {statistics.median(idle) * 1000:7.1f} ms")

        async def command() -> None:
            call = f"c{time.perf_counter()}"
            publish(ev.ToolCallStarted(call_id=call, name="execute_command", arguments={}))
            for chunk in range(500):  # 10 lines per chunk, as fast as a build log
                lines = "".join(f"line {chunk * 10 + n}: compiling module\n" for n in range(10))
                publish(ev.CommandOutput(call_id=call, text=lines))
                await asyncio.sleep(0.001)
            publish(ev.ToolCallFinished(call_id=call, name="execute_command", result="ok"))

        def read(call_id: str, content: str) -> Callable[[], Awaitable[None]]:
            async def run() -> None:
                publish(ev.ToolCallStarted(call_id=call_id, name="read_file", arguments={}))
                await asyncio.sleep(0.05)
                publish(ev.ToolCallFinished(call_id=call_id, name="read_file", result=content))
                await asyncio.sleep(0.05)
                app.screen.query(ToolBlock).last().set_expanded(True)  # the user opens it

            return run

        many_lines = "".join(f"{n:6} | {'x' * 70}\n" for n in range(13_000))  # ~1 MB
        one_line = "     1 | " + "var a=1;" * 131_072  # 1 MB, no newline
        scenarios = {
            "command streaming 5,000 lines": lambda n: command,
            "read_file, 1 MB in 13,000 lines": lambda n: read(f"lines{n}", many_lines),
            "read_file, 1 MB on one line": lambda n: read(f"line{n}", one_line),
        }
        results: dict[str, list[tuple[float, float, float]]] = {name: [] for name in scenarios}
        for n in range(runs):  # interleaved, so a busy moment of the machine hits all
            for name, make in scenarios.items():
                cpu, wall = await longest_block(make(n))
                results[name].append((cpu, wall, await key_latency(app, "y")))
                await app.screen.query_one("#chat").clear()  # type: ignore[attr-defined]
        print(f"medians of {runs} runs: longest block (CPU / wall), then a key press")
        for name, samples in results.items():
            cpu, wall, key = (statistics.median(s) * 1000 for s in zip(*samples, strict=True))
            print(f"{name:<38} {cpu:6.1f} ms / {wall:6.1f} ms, key {key:.1f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    asyncio.run(main(parser.parse_args().runs))
