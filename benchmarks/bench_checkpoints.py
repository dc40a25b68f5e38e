"""Checkpoint speed on a 50,000-file workspace, against raw git on the same tree.

    python benchmarks/bench_checkpoints.py [--files 50000] [--runs 7]

Measures (median of ``--runs``):

- an incremental checkpoint (``CheckpointManager.save``) after a one-file change;
- raw ``git add -A && git write-tree`` after a one-file change, with a plain git dir on
  the same work tree (the floor: what git itself costs);
- a restore whose target differs by one file (safety checkpoint + rewrite included).

Everything happens in a temporary directory, with ``KILO_TUI_HOME`` pointing into it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

FILES_PER_DIR = 100


def make_workspace(root: Path, count: int) -> list[Path]:
    """``count`` small source-like files spread over directories of 100."""
    files = []
    for n in range(count):
        path = root / f"pkg{n // FILES_PER_DIR:04d}" / f"module_{n % FILES_PER_DIR:03d}.py"
        if n % FILES_PER_DIR == 0:
            path.parent.mkdir(parents=True)
        path.write_text(f"# module {n}\n\ndef f{n}(x):\n    return x + {n}\n")
        files.append(path)
    return files


def timed(action: Callable[..., object], *args: object) -> float:
    start = time.perf_counter()
    action(*args)
    return time.perf_counter() - start


def raw_git(git_dir: Path, work_tree: Path) -> Callable[..., None]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull)

    def run(*args: str) -> None:
        command = ["git", f"--git-dir={git_dir}", f"--work-tree={work_tree}", *args]
        subprocess.run(command, cwd=work_tree, env=env, check=True, capture_output=True)

    subprocess.run(["git", "init", "--quiet", "--bare", str(git_dir)], env=env, check=True)
    return run


def add_and_write_tree(git: Callable[..., None]) -> None:
    git("add", "-A")
    git("write-tree")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="kilo-bench-") as tmp:
        os.environ["KILO_TUI_HOME"] = str(Path(tmp) / "home")
        from kilo_tui.core.checkpoints import CheckpointManager

        ws = Path(tmp) / "ws"
        ws.mkdir()
        print(f"creating {args.files:,} files…")
        files = make_workspace(ws, args.files)

        manager = CheckpointManager(ws, timeout=600)
        first = timed(manager.save, "user_message")
        git = raw_git(Path(tmp) / "plain.git", ws)
        raw_first = timed(add_and_write_tree, git)

        ours, raw, restores = [], [], []
        for run in range(args.runs):
            target = files[run * 997 % len(files)]
            target.write_text(target.read_text() + f"# edit {run}\n")
            ours.append(timed(manager.save, f"write_to_file {target.name}"))
            other = files[(run * 997 + 500) % len(files)]
            other.write_text(other.read_text() + f"# raw {run}\n")
            git("add", "-A")  # bring the plain index up to date with our own edit
            other.write_text(other.read_text() + f"# raw again {run}\n")
            raw.append(timed(add_and_write_tree, git))
            before = manager.save("user_message")
            target.write_text(target.read_text() + "# to be undone\n")
            assert before is not None
            restores.append(timed(manager.restore, before.id))

        ours_ms = statistics.median(ours) * 1000
        raw_ms = statistics.median(raw) * 1000
        restore_ms = statistics.median(restores) * 1000
        print(f"files:                                  {args.files:,}")
        print(f"first checkpoint:                       {first:8.2f} s")
        print(f"raw first git add -A && write-tree:     {raw_first:8.2f} s")
        print(f"incremental checkpoint (median):        {ours_ms:8.1f} ms")
        print(f"raw git add -A && write-tree (median):  {raw_ms:8.1f} ms")
        print(f"ratio checkpoint / raw git:             {ours_ms / raw_ms:8.2f} x")
        print(f"restore, one file differs (median):     {restore_ms:8.1f} ms")
        print(f"ratio restore / raw git add+write-tree: {restore_ms / raw_ms:8.2f} x")


if __name__ == "__main__":
    main()
