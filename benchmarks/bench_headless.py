"""Where a headless run makes users wait: start → first request, and last reply → exit.

Runs ``kilo-tui run`` on a three-step task (read a file, edit it, finish) against the
fake OpenAI-compatible server (tests/fakeserver.py) over real HTTP, and times in the
same run, interleaved with it, ``python -c "import litellm"`` (with the bundled price
map, as kilo-tui imports it): the floor for the time to the first request, since no
request can go out before litellm is loaded.

    python benchmarks/bench_headless.py [--runs 7]

Prints medians of start → first request, total wall time and last reply → exit (the
fake server's clock: the moment it finished sending the last reply), and the ratio of
the first to the litellm floor: the command as written (its interpreter teardown
included) and the import alone. The exit's floor is timed too: how long a process with
litellm loaded takes to be gone after ``os._exit`` (the kernel freeing its memory).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.e2e.cli import BIN, CONFIG, FIX_DIFF, MODEL, env_for
from tests.fakeserver import FakeLLMServer, Turn, _Handler

PYTHON_IMPORT_LITELLM = [sys.executable, "-c", "import litellm"]
# Set in some sandboxes, rarely by users: no bytecode cache, unbuffered output.
NOT_USERS = ("PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED")


def as_users_run(env: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if k not in NOT_USERS}


class _TimedHandler(_Handler):
    """The fake server's handler, noting when each chat reply was completely sent."""

    def do_POST(self) -> None:
        super().do_POST()
        if self.path.rstrip("/").endswith("/chat/completions"):
            self.server.fake.replied.append(time.time())  # type: ignore[attr-defined]


class TimedServer(FakeLLMServer):
    handler = _TimedHandler

    def __init__(self) -> None:
        super().__init__()
        self.replied: list[float] = []


def one_run(home: Path) -> tuple[float, float, float]:
    """(start → first request, total, last reply → exit) of one headless task, seconds."""
    with tempfile.TemporaryDirectory(prefix="kilo-bench-ws-") as tmp:
        workspace = Path(tmp)
        (workspace / "calc.py").write_text("def add(a, b):\n    return a - b\n")
        with TimedServer() as server:
            server.script(
                Turn.tool("read_file", path="calc.py"),
                Turn.tool("apply_diff", path="calc.py", diff=FIX_DIFF),
                Turn.tool("attempt_completion", result="Fixed add()."),
            )
            argv = [str(BIN), "run", "--yolo", "--model", MODEL, "fix add in calc.py"]
            start = time.time()
            proc = subprocess.run(
                argv,
                env=as_users_run(env_for(server, home)),
                cwd=workspace,
                capture_output=True,
                text=True,
            )
            end = time.time()
            if proc.returncode != 0 or "a + b" not in (workspace / "calc.py").read_text():
                raise SystemExit(f"the task failed (exit {proc.returncode}):\n{proc.stderr}")
            chat = [
                r
                for r in server.requests
                if r["path"].endswith("/chat/completions") and r["body"]["model"] == "fake-model"
            ]
            last_reply = max(server.replied)
            return chat[0]["time"] - start, end - start, end - last_reply


def import_floor() -> float:
    """Seconds of ``python -c "import litellm"``, interpreter teardown included."""
    env = as_users_run({**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"})
    start = time.perf_counter()
    subprocess.run(PYTHON_IMPORT_LITELLM, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def import_and_exit() -> tuple[float, float]:
    """(start → litellm imported, ``os._exit`` → process gone) of one process: the import
    without the teardown, and what even an immediate exit costs with litellm loaded
    (the kernel freeing its memory)."""
    env = as_users_run({**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"})
    code = "import litellm, os, time\nprint(time.time(), flush=True)\nos._exit(0)"
    start = time.time()
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    end = time.time()
    imported = float(proc.stdout)
    return imported - start, end - imported


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    firsts, totals, exits, floors, imports, teardowns = [], [], [], [], [], []
    with tempfile.TemporaryDirectory(prefix="kilo-bench-home-") as tmp:
        home = Path(tmp)
        (home / "config.toml").write_text(CONFIG)
        one_run(home)  # warm the disk cache and the first-run files
        for _ in range(args.runs):
            floors.append(import_floor())
            imported, teardown = import_and_exit()
            imports.append(imported)
            teardowns.append(teardown)
            first, total, exit_ = one_run(home)
            firsts.append(first)
            totals.append(total)
            exits.append(exit_)
    floor = statistics.median(floors)
    first = statistics.median(firsts)
    imported = statistics.median(imports)
    print(f'python -c "import litellm"   {floor * 1000:7.0f} ms  (median of {args.runs})')
    print(f"  of which the import        {imported * 1000:7.0f} ms")
    print(
        f"start → first request        {first * 1000:7.0f} ms  ({first / floor:.2f}× the "
        f"command, {first / imported:.2f}× the import alone)"
    )
    print(f"total (three-step task)      {statistics.median(totals) * 1000:7.0f} ms")
    print(f"last reply → exit            {statistics.median(exits) * 1000:7.0f} ms")
    print(f"  floor: os._exit → gone     {statistics.median(teardowns) * 1000:7.0f} ms")


if __name__ == "__main__":
    main()
