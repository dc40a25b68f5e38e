"""First prompt latency: Enter pressed 1 s after the first frame → the request on the wire.

litellm loads in a background thread once the first frame is drawn, and takes seconds;
a user who types at once presses Enter before it is ready. The request must then go
out the moment the client is loaded: the target is the client's remaining load time
plus less than 100 ms.

Each run starts the real ``kilo-tui`` in a pseudo-terminal against the fake
OpenAI-compatible server (tests/fakeserver.py) over real HTTP, waits for the first
frame, types a prompt, presses Enter 1 s later, and notes when the request arrived
(the server's clock). When litellm finished loading is noted inside the process by a
``sitecustomize`` hook (this file's ``HOOK``) that wraps ``load_litellm`` and appends
the time it returned to a file; the app's code is not changed for the benchmark.

    python benchmarks/bench_first_prompt.py [--runs 7]

Prints medians of: Enter → client loaded (the remaining load time), Enter → request,
and the slack (request − the later of Enter and the client loaded), the number to
watch (target: < 100 ms). Interleaved with those runs, the same with Enter pressed
0.5 s after the client loaded: what the request path itself costs, for comparison.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pexpect

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.e2e.cli import BIN, CONFIG, MODEL, env_for
from tests.fakeserver import FakeLLMServer, Turn

FIRST_FRAME = "Ask Kilo"
DELAY = 1.0
"""Seconds between the first frame and Enter."""
LOADED_ENV = "KILO_BENCH_LOADED_FILE"
# Wraps kilo_tui.core.llm.litellm_loader.load_litellm as soon as that module is
# imported, so every caller (the warm-up thread, the request) gets the timed one.
HOOK = f"""
import importlib.abc, importlib.machinery, os, sys, time

class _TimeLoad(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name != "kilo_tui.core.llm.litellm_loader":
            return None
        sys.meta_path.remove(self)
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        run = spec.loader.exec_module

        def exec_module(module):
            run(module)
            load = module.load_litellm

            def timed():
                loaded = load()
                with open(os.environ["{LOADED_ENV}"], "a") as out:
                    out.write(f"{{time.time()}}\\n")
                return loaded

            module.load_litellm = timed

        spec.loader.exec_module = exec_module
        return spec

if os.environ.get("{LOADED_ENV}"):
    sys.meta_path.insert(0, _TimeLoad())
"""


class Run:
    """One run's clock readings (``time.time()``)."""

    def __init__(
        self, spawn: float, frame: float, enter: float, loaded: float, request: float
    ) -> None:
        self.spawn, self.frame, self.enter = spawn, frame, enter
        self.loaded, self.request = loaded, request

    @property
    def remaining(self) -> float:
        """How much longer the client took to load after Enter (0 if it was ready)."""
        return max(0.0, self.loaded - self.enter)

    @property
    def slack(self) -> float:
        """Request on the wire after it could have gone: the client loaded and Enter."""
        return self.request - max(self.loaded, self.enter)


def drain(child: pexpect.spawn, until: float) -> str:
    """Read the app's output until ``until`` (a full pty would stall it)."""
    out = []
    while time.time() < until:
        try:
            out.append(child.read_nonblocking(65536, timeout=0.02))
        except pexpect.TIMEOUT:
            continue
    return "".join(out)


def one_run(home: Path, hook_dir: Path, *, after_load: bool = False) -> Run:
    """One launch; Enter 1 s after the first frame, or (``after_load``) 0.5 s after
    the client has loaded: the request path's own cost, for comparison."""
    with tempfile.TemporaryDirectory(prefix="kilo-bench-ws-") as tmp:
        workspace = Path(tmp)
        loaded_file = workspace.parent / f"{workspace.name}.loaded"
        with FakeLLMServer() as server:
            # The app quits with idle keep-alive connections open: not worth a traceback.
            server._httpd.handle_error = lambda request, address: None  # type: ignore[method-assign]
            server.script(Turn.tool("attempt_completion", result="Hello."))
            env = {
                **env_for(server, home),
                "TERM": "xterm-256color",
                "PYTHONPATH": str(hook_dir),
                LOADED_ENV: str(loaded_file),
            }
            env.pop("PYTHONDONTWRITEBYTECODE", None)  # as users run it: bytecode cached
            spawn = time.time()
            child = pexpect.spawn(
                str(BIN),
                ["--model", MODEL],
                cwd=str(workspace),
                env=env,
                dimensions=(30, 100),
                encoding="utf-8",
            )
            try:
                child.expect_exact(FIRST_FRAME, timeout=60)
                frame = time.time()
                child.send("say hello")
                drain(child, frame + DELAY)
                while after_load and not loaded_file.exists():
                    drain(child, time.time() + 0.05)
                if after_load:
                    drain(child, time.time() + 0.5)
                enter = time.time()
                child.send("\r")
                deadline = enter + 60
                while not _main_requests(server) and time.time() < deadline:
                    drain(child, time.time() + 0.05)
                requests = _main_requests(server)
                if not requests:
                    raise SystemExit("no request reached the server within 60 s")
                child.sendcontrol("q")
                child.expect(pexpect.EOF, timeout=30)
            finally:
                child.close(force=True)
            loaded = min(float(line) for line in loaded_file.read_text().split())
            loaded_file.unlink()
            return Run(spawn, frame, enter, loaded, float(requests[0]["time"]))


def _main_requests(server: FakeLLMServer) -> list[dict[str, object]]:
    """The agent's chat requests (titles go to the small model)."""
    return [
        r
        for r in list(server.requests)
        if str(r["path"]).endswith("/chat/completions")
        and isinstance(r["body"], dict)
        and r["body"].get("model") == "fake-model"
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    with tempfile.TemporaryDirectory(prefix="kilo-bench-home-") as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        (home / "config.toml").write_text(CONFIG)
        hook_dir = Path(tmp) / "hook"
        hook_dir.mkdir()
        (hook_dir / "sitecustomize.py").write_text(HOOK)
        one_run(home, hook_dir)  # warm the file cache and the bytecode
        early: list[Run] = []
        ready: list[Run] = []
        for _ in range(args.runs):  # interleaved, so a busy moment hits both alike
            early.append(one_run(home, hook_dir))
            ready.append(one_run(home, hook_dir, after_load=True))
    ms = lambda values: statistics.median(values) * 1000  # noqa: E731
    slacks = [r.slack for r in early]
    print(f"Enter {DELAY:.0f} s after the first frame (medians of {args.runs} runs):")
    print(f"  first frame (from spawn)          {ms([r.frame - r.spawn for r in early]):7.0f} ms")
    print(f"  Enter → client loaded (remaining) {ms([r.remaining for r in early]):7.0f} ms")
    print(f"  Enter → request on the wire       {ms([r.request - r.enter for r in early]):7.0f} ms")
    print(
        f"  slack: request − client loaded    {ms(slacks):7.0f} ms  "
        f"(min {min(slacks) * 1000:.0f} / max {max(slacks) * 1000:.0f} ms; target < 100 ms)"
    )
    print("Enter 0.5 s after the client loaded (the request path alone):")
    print(f"  Enter → request on the wire       {ms([r.request - r.enter for r in ready]):7.0f} ms")


if __name__ == "__main__":
    main()
