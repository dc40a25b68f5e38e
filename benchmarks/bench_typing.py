"""Keypress-to-render latency of the prompt: idle, during a fast stream, after resuming
a 2,000-message task, after 2,000 messages arrived live.

Runs the real app headless (the compositor still renders every frame) with a stand-in
runtime whose bus receives the events the agent would publish. For each key: post
the key event, wait until the prompt holds the character, then wait for the next
screen refresh; the time between is the latency.

    python benchmarks/bench_typing.py [--keys 60]
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

from kilo_tui.core import events as ev
from kilo_tui.tui.app import KiloApp
from kilo_tui.tui.widgets.prompt import PromptInput
from tests.tui.helpers import StandInRuntime

SENTENCE = "the quick brown fox jumps over the lazy dog and writes **markdown** with `code`"


async def key_latency(app: KiloApp, char: str) -> float:
    """Seconds from posting ``char`` to the first refresh that shows it."""
    prompt = app.screen.query_one(PromptInput)
    before = prompt.text
    refreshed = asyncio.Event()
    start = time.perf_counter()
    prompt.post_message(events.Key(char, char))
    while prompt.text == before:
        await asyncio.sleep(0)
    app.call_after_refresh(refreshed.set)
    await refreshed.wait()
    return time.perf_counter() - start


async def measure(app: KiloApp, keys: int) -> list[float]:
    samples = []
    for n in range(keys):
        samples.append(await key_latency(app, "abcdefghij"[n % 10]))
        await asyncio.sleep(0.01)  # a fast typist: ~100 keys/s
    app.screen.query_one(PromptInput).clear()
    return samples


async def stream(runtime: StandInRuntime, stop: asyncio.Event) -> int:
    """Publish deltas as fast as a quick provider sends them (~1,000 tokens/s)."""
    sent = 0
    while not stop.is_set():
        runtime.bus.publish(ev.AssistantDelta(text=SENTENCE[(sent * 6) % len(SENTENCE) :][:6]))
        sent += 1
        if sent % 40 == 0:
            runtime.bus.publish(ev.AssistantDelta(text="\n\n"))
        await asyncio.sleep(0.001)
    runtime.bus.publish(ev.AssistantMessage(text="(end)"))
    return sent


def report(name: str, samples: list[float], baseline: float | None) -> float:
    median = statistics.median(samples) * 1000
    p95 = sorted(samples)[int(len(samples) * 0.95) - 1] * 1000
    ratio = f"  ({median / baseline:.2f}x idle)" if baseline else ""
    print(f"{name:<28} median {median:6.2f} ms   p95 {p95:6.2f} ms{ratio}")
    return median


async def main(keys: int) -> None:
    home = tempfile.mkdtemp(prefix="kilo-bench-")
    os.environ["KILO_TUI_HOME"] = home
    runtime = StandInRuntime(Path(home))
    app = KiloApp(runtime.workspace, runtime.settings, runtime=runtime)  # type: ignore[arg-type]
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        idle = report("idle", await measure(app, keys), None)

        stop = asyncio.Event()
        streamer = asyncio.create_task(stream(runtime, stop))
        await asyncio.sleep(0.3)
        samples = await measure(app, keys)
        stop.set()
        sent = await streamer
        report(f"during stream ({sent} deltas)", samples, idle)

        # Resuming a stored 2,000-message task: the screen's replay, as MainScreen.resume
        # does it once the runtime has read the task's events from the store.
        screen = app.main_screen
        stored: list[ev.Event] = []
        for n in range(1000):
            stored.append(ev.UserMessage(text=f"question {n}"))
            stored.append(ev.AssistantMessage(text=f"answer {n} with **markdown**"))
        start = time.perf_counter()
        await screen._reset()
        await screen.chat.load(await screen.events.replay(stored))
        await pilot.pause()
        print(f"{'resume 2,000 messages':<28} {time.perf_counter() - start:6.2f} s")
        report("after resuming 2,000", await measure(app, keys), idle)
        await screen._reset()

        start = time.perf_counter()
        for event in stored:
            runtime.bus.publish(event)
        chat = screen.chat
        # Not pilot.pause(): on a busy machine its wait for pending messages times out.
        last = "answer 999 with **markdown**"
        while getattr(chat.blocks[-1] if chat.blocks else None, "source", "") != last:
            await asyncio.sleep(0.05)
        print(f"{'ingest 2,000 messages':<28} {time.perf_counter() - start:6.2f} s")
        report("after 2,000 messages", await measure(app, keys), idle)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--keys", type=int, default=60)
    asyncio.run(main(parser.parse_args().keys))
