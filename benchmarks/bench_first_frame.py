"""Time to first frame: ``kilo-tui`` against a bare Textual app, each in a pseudo-terminal.

Each run starts the process in a pty (100x30) and stops the clock when the first
frame's text appears in the output (the prompt's placeholder for kilo-tui, a label for
the bare app), then quits with ctrl+q. litellm must not be imported before that
frame; the ratio is the number to watch (target: within 1.3x).

    python benchmarks/bench_first_frame.py [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pexpect

BARE_APP = """
from textual.app import App
from textual.widgets import Footer, Header, Static
class Bare(App):
    def compose(self):
        yield Header()
        yield Static("bare textual app ready")
        yield Footer()
Bare().run()
"""

KILO_FALLBACK = """
import sys
from pathlib import Path
from kilo_tui.core.config import load_settings
from kilo_tui.tui.run import run_tui
sys.exit(run_tui(Path.cwd(), load_settings(Path.cwd())))
"""


def kilo_command() -> list[str]:
    """The installed ``kilo-tui`` script if there is one, else the same entry point."""
    script = shutil.which("kilo-tui", path=str(Path(sys.executable).parent))
    if script:
        return [script]
    return [sys.executable, "-c", KILO_FALLBACK]


def first_frame(command: list[str], marker: str, cwd: str, env: dict[str, str]) -> float:
    """Seconds from spawn until ``marker`` is on the screen."""
    start = time.perf_counter()
    child = pexpect.spawn(
        command[0], command[1:], cwd=cwd, env=env, dimensions=(30, 100), encoding="utf-8"
    )
    try:
        child.expect_exact(marker, timeout=30)
        elapsed = time.perf_counter() - start
        child.sendcontrol("q")
        child.expect(pexpect.EOF, timeout=15)
    finally:
        child.close(force=True)
    return elapsed


def main(runs: int) -> None:
    workdir = tempfile.mkdtemp(prefix="kilo-bench-")
    home = Path(workdir) / "home"
    home.mkdir()
    # A configured model and key: the first-run screen would otherwise open over the chat.
    (home / "config.toml").write_text('model = "openai/gpt-4o-mini"\n')
    env = {
        **os.environ,
        "KILO_TUI_HOME": str(home),
        "OPENAI_API_KEY": "sk-benchmark",
        "TERM": "xterm-256color",
    }
    env.pop("TEXTUAL", None)
    # As on a user's machine, modules are compiled once and their bytecode cached (the
    # warm-up run writes it); an environment that forbids that would make every run
    # recompile kilo-tui's own modules and measure the compiler instead.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    cases = {
        "bare Textual app": ([sys.executable, "-c", BARE_APP], "bare textual app ready"),
        "kilo-tui": (kilo_command(), "Ask Kilo"),
    }
    for command, marker in cases.values():
        first_frame(command, marker, workdir, env)  # warm the file cache and bytecode
    # Interleaved, so a busy moment on the machine hits both alike.
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(runs):
        for name, (command, marker) in cases.items():
            samples[name].append(first_frame(command, marker, workdir, env))
    for name, values in samples.items():
        spread = f"min {min(values) * 1000:.0f} / max {max(values) * 1000:.0f} ms"
        print(
            f"{name:<18} median {statistics.median(values) * 1000:6.0f} ms   ({spread}, {runs} runs)"
        )
    median_ratio = statistics.median(samples["kilo-tui"]) / statistics.median(
        samples["bare Textual app"]
    )
    best_ratio = min(samples["kilo-tui"]) / min(samples["bare Textual app"])
    print(
        f"ratio kilo-tui / bare: median {median_ratio:.2f}x, best {best_ratio:.2f}x (target <= 1.30x)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    main(parser.parse_args().runs)
