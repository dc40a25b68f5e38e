"""list_files and search_files on a 50,000-file workspace.

Run: python benchmarks/bench_search.py [--files N]
Prints medians of several runs (wall and CPU time) for: a recursive listing (capped at
500 entries, as the tool returns), a search for a rare regex (every file is read), and
``grep -rE`` on the same tree for comparison.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from kilo_tui.core.bus import EventBus
from kilo_tui.core.tools.base import Decision, TaskState, ToolContext
from kilo_tui.core.tools.files import LIST_FILES, SEARCH_FILES
from kilo_tui.core.trust.ignore import IgnoreMatcher
from kilo_tui.core.trust.paths import WorkspacePaths


def make_tree(root: Path, count: int) -> None:
    (root / ".gitignore").write_text("node_modules/\n")
    per_dir = 100
    for i in range(count):
        d = root / f"pkg{i // (per_dir * 50)}" / f"mod{(i // per_dir) % 50}"
        if i % per_dir == 0:
            d.mkdir(parents=True, exist_ok=True)
        body = f"def function_{i}(x):\n    return x + {i}\n" * 20
        if i == count - 7:
            body += "RARE_NEEDLE = 1\n"
        (d / f"file{i}.py").write_text(body)
    nm = root / "node_modules" / "dep"
    nm.mkdir(parents=True)
    for i in range(2000):
        (nm / f"f{i}.js").write_text("RARE_NEEDLE\n")


def context(root: Path) -> ToolContext:
    async def approve(**_: object) -> Decision:
        return Decision(True)

    async def never(**_: object) -> object:
        raise AssertionError

    async def checkpoint(_: str) -> None:
        return None

    ignore = IgnoreMatcher(root)
    return ToolContext(
        workspace=root,
        task_id="b",
        call_id="b",
        bus=EventBus(),
        approve=approve,
        propose_edit=never,
        checkpoint=checkpoint,
        paths=WorkspacePaths(root, ignore),
        state=TaskState(),
        cancel=asyncio.Event(),
    )


def timed(fn, runs: int) -> tuple[float, float]:
    walls, cpus = [], []
    for _ in range(runs):
        w, c = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_tree(root, args.files)

        def listing() -> None:
            asyncio.run(LIST_FILES.run({"path": ".", "recursive": True}, context(root)))

        def search() -> None:
            result = asyncio.run(
                SEARCH_FILES.run({"path": ".", "regex": "RARE_NEEDLE"}, context(root))
            )
            assert "RARE_NEEDLE" in result.content and "node_modules" not in result.content

        def grep() -> None:
            subprocess.run(
                ["grep", "-rlE", "RARE_NEEDLE", "--exclude-dir=node_modules", "."],
                cwd=root,
                capture_output=True,
                check=False,
            )

        print(f"{args.files:,}-file workspace, median of {args.runs} runs (wall / CPU):")
        for name, fn in (
            ("list_files recursive", listing),
            ("search_files", search),
            ("grep -rlE (reference)", grep),
        ):
            wall, cpu = timed(fn, args.runs)
            print(f"  {name:<24} {wall * 1000:8.0f} ms / {cpu * 1000:8.0f} ms")


if __name__ == "__main__":
    main()
