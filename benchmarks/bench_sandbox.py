"""Start-up overhead of the command sandbox: one ``true`` command, sandboxed vs not.

Run: python benchmarks/bench_sandbox.py [--runs N]
Runs ``true`` through :func:`kilo_tui.core.tools.command.run_shell` (the path every
``execute_command`` takes: pty, process group, parent-death signal) N times unconfined,
then N times in the sandbox (``workspace-write``: network off, network on, and network
limited to ``allowed_domains`` through the proxy, which adds the in-sandbox bridge), and
prints the median wall time of each and the sandbox's overhead. Target: < 20 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from kilo_tui.core.tools.command import run_shell
from kilo_tui.core.trust.sandbox import Confinement, Sandbox, SandboxSettings, unconfined


async def median_ms(conf: Confinement, cwd: Path, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        done = await run_shell(
            "true",
            cwd=cwd,
            timeout=30,
            cancel=asyncio.Event(),
            on_output=lambda _: None,
            prefix=conf.prefix,
        )
        times.append((time.perf_counter() - start) * 1000)
        assert done.code == 0, done.output
    return statistics.median(times)


async def main(runs: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        ws = Path(tmp)
        sandbox = Sandbox(SandboxSettings(), ws)
        status = sandbox.status()
        print(status.message)
        if not status.active:
            return
        plain = await median_ms(unconfined(), ws, runs)
        offline = await median_ms(sandbox.confinement(ws), ws, runs)
        online = await median_ms(sandbox.confinement(ws, network=True), ws, runs)
        proxied = Sandbox(SandboxSettings(allowed_domains=("example.com",)), ws)
        domains = await median_ms(proxied.confinement(ws), ws, runs)
    print(f"median of {runs} runs of `true`:")
    print(f"  unconfined            {plain:6.1f} ms")
    print(f"  sandbox, network off  {offline:6.1f} ms  (+{offline - plain:.1f} ms)")
    print(f"  sandbox, network on   {online:6.1f} ms  (+{online - plain:.1f} ms)")
    print(f"  sandbox, allowed_domains {domains:6.1f} ms  (+{domains - plain:.1f} ms)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    asyncio.run(main(parser.parse_args().runs))
