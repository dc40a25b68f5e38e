"""The codebase index on a 50,000-file tree, with the fake embedding endpoint.

Run: python benchmarks/bench_index.py [--files N] [--lexical]

Generates a tree of small Python, TypeScript and Go files (classes, methods, functions;
every file different), starts ``tests/fakeserver.py`` in its own process (hashed
bag-of-words vectors, 256 dimensions, over real HTTP through litellm), then measures:

- the first full index (wall and CPU time, the process's peak RSS, the store's size),
- a rescan with nothing changed (what each start costs), and one edited file,
- query latency p50/p95 of ``CodebaseIndex.search`` (semantic: embedding the query
  over HTTP + exact search; lexical: FTS5 BM25), 50 queries each.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

WORDS = [
    "invoice",
    "payment",
    "session",
    "token",
    "cache",
    "retry",
    "parser",
    "config",
    "user",
    "order",
]
QUERIES = [f"{a} {b} handling" for a in WORDS for b in WORDS if a != b][:50]


def source(i: int) -> tuple[str, str]:
    """File ``i``: a name and a few definitions that use two of :data:`WORDS`."""
    a, b = WORDS[i % len(WORDS)], WORDS[(i // len(WORDS)) % len(WORDS)]
    kind = i % 3
    if kind == 0:
        body = f"class {a.title()}{b.title()}Service{i}:\n    '''Manages {a} and {b}.'''\n\n"
        for m in range(3):
            body += (
                f"    def {a}_{b}_{m}(self, value):\n"
                f"        total = value + {i * 3 + m}\n"
                f"        return self.{b}_store.get(total)\n\n"
            )
        return f"m{i}.py", body + f"def load_{a}_{i}(path):\n    return open(path).read()\n"
    if kind == 1:
        body = f"export class {a.title()}Handler{i} {{\n"
        for m in range(3):
            body += f"  {b}{m}(x: number): number {{\n    return x * {i} + {m};\n  }}\n\n"
        return f"m{i}.ts", body + "}\n"
    body = "package gen\n\n"
    for m in range(3):
        body += (
            f"// {a.title()}{b.title()}{m} handles the {a} {b}.\n"
            f"func {a.title()}{b.title()}{i}_{m}(n int) int {{\n\treturn n + {i}\n}}\n\n"
        )
    return f"m{i}.go", body


def generate(root: Path, count: int) -> None:
    for i in range(count):
        directory = root / f"pkg{i // 500}" / f"sub{(i // 50) % 10}"
        if i % 50 == 0:
            directory.mkdir(parents=True, exist_ok=True)
        name, text = source(i)
        (directory / name).write_text(text)


def start_fake_server(home: Path) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fakeserver", "--script", str(home / "turns.json")],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    return process


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def size_of(directory: Path) -> int:
    return sum(p.stat().st_size for p in directory.rglob("*") if p.is_file())


async def run(workspace: Path, lexical: bool, port: int) -> None:
    from kilo_tui.core.code.index import CodebaseIndex
    from kilo_tui.core.code.store import database_path
    from kilo_tui.core.config import load_settings

    config = "[codebase_index]\nenabled = true\n"
    if not lexical:
        config += 'embedding_model = "openai/text-embedding-3-small"\ndimensions = 256\n'
        config += f'[providers.openai]\napi_base = "http://127.0.0.1:{port}/v1"\napi_key = "x"\n'
    (Path(os.environ["KILO_TUI_HOME"]) / "config.toml").write_text(config)
    index = CodebaseIndex(workspace, load_settings(workspace))

    started, cpu = time.perf_counter(), cpu_seconds()
    await index.update()
    first, cpu = time.perf_counter() - started, cpu_seconds() - cpu
    files, chunks = index.db.counts()
    store = size_of(database_path(workspace).parent)
    print(f"first index: {files:,} files, {chunks:,} chunks in {first:.1f} s ({cpu:.1f} s CPU)")
    print(f"  store: {store / 1e6:.0f} MB; peak RSS {peak_rss_mb():.0f} MB")

    started = time.perf_counter()
    await index.update()
    print(f"rescan, nothing changed: {time.perf_counter() - started:.2f} s")
    edited = next(workspace.rglob("m3.py"))
    edited.write_text(edited.read_text() + "\ndef freshly_added_invoice_helper():\n    pass\n")
    started = time.perf_counter()
    await index.update([edited.relative_to(workspace).as_posix()])
    print(f"one edited file: {(time.perf_counter() - started) * 1000:.0f} ms")

    kind = "lexical" if lexical else "semantic"
    latencies = []
    for query in QUERIES:
        started = time.perf_counter()
        outcome = await index.search(query, "", 10)
        latencies.append(time.perf_counter() - started)
        assert outcome.hits and outcome.lexical == lexical
    print(
        f"{kind} query: p50 {statistics.median(latencies) * 1000:.0f} ms, "
        f"p95 {percentile(latencies, 0.95) * 1000:.0f} ms"
    )
    print(f"peak RSS overall: {peak_rss_mb():.0f} MB")
    index.close()


def cpu_seconds() -> float:
    """CPU time of this process, all threads (the fake server runs apart): the cost
    of indexing whatever the machine's load."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=50_000)
    parser.add_argument("--lexical", action="store_true", help="no embedding model")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home, workspace = Path(tmp) / "home", Path(tmp) / "ws"
        home.mkdir()
        (home / "turns.json").write_text("[]")
        os.environ["KILO_TUI_HOME"] = str(home)
        started = time.perf_counter()
        generate(workspace, args.files)
        print(f"generated {args.files:,} files in {time.perf_counter() - started:.1f} s")
        server = start_fake_server(home)
        try:
            assert server.stdout is not None
            port = int(server.stdout.readline().strip().split("=", 1)[1])
            asyncio.run(run(workspace, args.lexical, port))
        finally:
            server.terminate()
            server.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
