"""How fast the CLI answers, and what litellm's import would cost if it were in the way.

Run: python benchmarks/bench_startup.py [--runs N]
Prints the median wall time of ``kilo-tui --help`` and ``kilo-tui --version`` (each a
fresh process) and of importing litellm the way kilo-tui does (in a fresh process,
offline price map), and their ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent / "kilo-tui"
IMPORT_LITELLM = "from kilo_tui.core.llm.litellm_loader import load_litellm; load_litellm()"


def median_time(argv: list[str], runs: int) -> float:
    times = []
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, capture_output=True, check=True, env=env)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    help_time = median_time([str(BIN), "--help"], args.runs)
    version_time = median_time([str(BIN), "--version"], args.runs)
    litellm_time = median_time([sys.executable, "-c", IMPORT_LITELLM], max(3, args.runs // 3))
    print(f"kilo-tui --help      {help_time * 1000:7.0f} ms (median of {args.runs})")
    print(f"kilo-tui --version   {version_time * 1000:7.0f} ms")
    print(f"import litellm       {litellm_time * 1000:7.0f} ms (never on these paths)")
    print(f"--help is {litellm_time / help_time:.0f}x faster than importing litellm")


if __name__ == "__main__":
    main()
