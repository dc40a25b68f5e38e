"""Definitions of a 2,000-line file: list_code_definition_names and the chunker.

Run: python benchmarks/bench_definitions.py

For a generated 2,000-line file in four languages (classes, methods, functions): the
first call (loads the grammar and compiles the query), then the median and p95 of
later calls of ``definitions()`` and of the tool itself (read through the trust
boundary, parse, format), and of ``chunks()`` as the codebase index calls it.
Target: well under 50 ms after the first call.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

LINES = 2000
RUNS = 30


def python_source() -> str:
    out: list[str] = ["import os\n\n"]
    i = 0
    while len(out) < LINES:
        out.append(f"\nclass Service{i}:\n    '''Handles {i}.'''\n\n")
        for m in range(4):
            out.append(f"    def method_{m}(self, value):\n        total = value + {m}\n")
            out.append("        return os.path.join(str(total), 'x')\n\n")
        out.append(f"def helper_{i}(a, b):\n    return a * b + {i}\n\n")
        i += 1
    return "".join(_lines(out))


def typescript_source() -> str:
    out: list[str] = []
    i = 0
    while len(out) < LINES:
        out.append(f"export interface Shape{i} {{\n  area(): number;\n}}\n\n")
        out.append(f"export class Circle{i} implements Shape{i} {{\n")
        out.append("  constructor(private r: number) {}\n\n")
        for m in range(3):
            out.append(f"  method{m}(x: number): number {{\n    return x * this.r + {m};\n  }}\n\n")
        out.append("}\n\n")
        out.append(f"export function make{i}(r: number): Circle{i} {{\n")
        out.append(f"  return new Circle{i}(r);\n}}\n\n")
        i += 1
    return "".join(_lines(out))


def go_source() -> str:
    out: list[str] = ["package shapes\n\n"]
    i = 0
    while len(out) < LINES:
        out.append(f"type Circle{i} struct {{\n\tRadius float64\n}}\n\n")
        for m in range(3):
            out.append(f"func (c Circle{i}) Method{m}(x float64) float64 {{\n")
            out.append(f"\treturn c.Radius * x + {m}\n}}\n\n")
        out.append(f"func New{i}(r float64) Circle{i} {{\n\treturn Circle{i}{{Radius: r}}\n}}\n\n")
        i += 1
    return "".join(_lines(out))


def cpp_source() -> str:
    out: list[str] = ["#include <cmath>\n\nnamespace shapes {\n\n"]
    i = 0
    while len(out) < LINES:
        out.append(f"class Circle{i} {{\npublic:\n    explicit Circle{i}(double r) : r_(r) {{}}\n")
        for m in range(3):
            out.append(f"    double method{m}(double x) const {{\n")
            out.append(f"        return r_ * x + {m};\n    }}\n")
        out.append("private:\n    double r_;\n};\n\n")
        out.append(f"double total{i}(const Circle{i} &c) {{\n    return c.method0(1.0);\n}}\n\n")
        i += 1
    return "".join(_lines(out)[: LINES - 1]) + "}  // namespace shapes\n"


def _lines(parts: list[str]) -> list[str]:
    """The first LINES lines of the generated parts."""
    return "".join(parts).splitlines(keepends=True)[:LINES]


def timed(fn: Callable[[], object], runs: int = RUNS) -> str:
    """``wall p50/p95 (CPU p50)`` in ms: on a busy machine the CPU time is the figure
    that says what the work costs."""
    wall: list[float] = []
    cpu: list[float] = []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        cpu.append((time.process_time() - start_cpu) * 1000)
        wall.append((time.perf_counter() - start) * 1000)
    wall.sort()
    p95 = wall[int(len(wall) * 0.95) - 1]
    return f"{statistics.median(wall):5.1f}/{p95:5.1f} ({statistics.median(cpu):4.1f})"


def main() -> None:
    start = time.perf_counter()
    from kilo_tui.core.code.syntax import chunks, definitions

    print(f"import kilo_tui.core.code.syntax: {(time.perf_counter() - start) * 1000:.0f} ms")
    from kilo_tui.core.tools.base import ToolContext
    from kilo_tui.core.tools.code import LIST_CODE_DEFINITION_NAMES
    from tests.core.test_tools import Harness

    cases = [
        ("python", "big.py", python_source()),
        ("typescript", "big.ts", typescript_source()),
        ("go", "big.go", go_source()),
        ("cpp", "big.cpp", cpp_source()),
    ]
    print("ms, wall p50/p95 (CPU p50); first call = grammar load + query compile + parse")
    print(f"{'language':<11} {'defs':>4} {'first':>6}  {'definitions()':<20} {'tool':<20} chunks()")
    with tempfile.TemporaryDirectory() as tmp:
        ws = Path(tmp)
        for lang, name, text in cases:
            assert len(text.splitlines()) == LINES, lang
            (ws / name).write_text(text)
            first_start = time.perf_counter()
            found = definitions(text, lang)
            first = (time.perf_counter() - first_start) * 1000
            ctx = Harness(ws).context()

            def tool(n: str = name, c: ToolContext = ctx) -> object:
                return asyncio.run(LIST_CODE_DEFINITION_NAMES.run({"path": n}, c))

            print(
                f"{lang:<11} {len(found):>4} {first:>6.1f}  "
                f"{timed(lambda t=text, lg=lang: definitions(t, lg)):<20} {timed(tool):<20} "
                f"{timed(lambda t=text, lg=lang: chunks(t, lg, 2000))}"
            )


if __name__ == "__main__":
    main()
