"""IgnoreMatcher: git's rules via pathspec, .kilocodeignore, and a fast pruning walk."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from kilo_tui.core.trust.ignore import IgnoreMatcher


def write(root: Path, rel: str, text: str = "x\n") -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    write(tmp_path, ".gitignore", "*.log\nbuild/\n/secret-root.txt\n")
    write(tmp_path, "src/app.py")
    write(tmp_path, "src/debug.log")
    write(tmp_path, "build/out.js")
    write(tmp_path, "secret-root.txt")
    write(tmp_path, "sub/secret-root.txt")
    write(tmp_path, "pkg/.gitignore", "generated/\n!keep.log\n")
    write(tmp_path, "pkg/keep.log")
    write(tmp_path, "pkg/other.log")
    write(tmp_path, "pkg/generated/g.py")
    write(tmp_path, "pkg/mod.py")
    write(tmp_path, ".git/HEAD", "ref: refs/heads/main\n")
    write(tmp_path, ".kilocodeignore", "# private\nsecrets/\n*.env\n")
    write(tmp_path, "secrets/key.txt")
    write(tmp_path, "config/prod.env")
    return tmp_path


def test_gitignore_rules_match_git_itself(ws: Path) -> None:
    matcher = IgnoreMatcher(ws)
    subprocess.run(["git", "init", "-q", str(ws)], check=True)
    candidates = [
        "src/app.py",
        "src/debug.log",
        "build/out.js",
        "secret-root.txt",
        "sub/secret-root.txt",
        "pkg/keep.log",
        "pkg/other.log",
        "pkg/generated/g.py",
        "pkg/mod.py",
    ]
    out = subprocess.run(
        ["git", "-C", str(ws), "check-ignore", *candidates], capture_output=True, text=True
    ).stdout.split()
    git_ignored = set(out)
    assert git_ignored == {
        "src/debug.log",
        "build/out.js",
        "secret-root.txt",
        "pkg/other.log",
        "pkg/generated/g.py",
    }
    for rel in candidates:
        assert matcher.is_ignored(rel) == (rel in git_ignored), rel


def test_kilocodeignore_blocks_and_absolute_paths_work(ws: Path) -> None:
    matcher = IgnoreMatcher(ws)
    assert matcher.has_kilocodeignore
    assert matcher.is_kilocode_ignored("secrets/key.txt")
    assert matcher.is_kilocode_ignored(ws / "secrets")
    assert matcher.is_kilocode_ignored(ws / "config" / "prod.env")
    assert matcher.is_kilocode_ignored(".kilocodeignore")
    # gitignored is not the same as blocked
    assert not matcher.is_kilocode_ignored("build/out.js")
    assert not matcher.is_kilocode_ignored("src/app.py")
    assert matcher.is_ignored("secrets/key.txt")
    assert matcher.is_ignored(".git/HEAD")
    assert not matcher.is_ignored(ws.parent / "elsewhere.txt")
    assert not matcher.is_kilocode_ignored("../outside/secrets/key.txt")


def test_walk_prunes_ignored_and_git(ws: Path) -> None:
    matcher = IgnoreMatcher(ws)
    files = sorted(p.relative_to(ws).as_posix() for p in matcher.walk())
    assert files == [
        ".gitignore",
        "pkg/.gitignore",
        "pkg/keep.log",
        "pkg/mod.py",
        "src/app.py",
        "sub/secret-root.txt",
    ]


def test_walk_breadth_first_limit_and_non_recursive(ws: Path) -> None:
    matcher = IgnoreMatcher(ws)
    assert [p.name for p in matcher.walk(limit=1)] == [".gitignore"]
    top = [p.relative_to(ws).as_posix() for p in matcher.walk(recursive=False, include_dirs=True)]
    assert top == [".gitignore", "config", "pkg", "src", "sub"]
    assert [p.name for p in matcher.walk("pkg", recursive=False)] == [
        ".gitignore",
        "keep.log",
        "mod.py",
    ]


def test_workspace_without_ignore_files(tmp_path: Path) -> None:
    write(tmp_path, "a.txt")
    matcher = IgnoreMatcher(tmp_path)
    assert not matcher.has_kilocodeignore
    assert not matcher.is_kilocode_ignored("a.txt")
    assert [p.name for p in matcher.walk()] == ["a.txt"]


def test_walk_is_fast_on_a_large_tree(tmp_path: Path) -> None:
    write(tmp_path, ".gitignore", "node_modules/\n*.tmp\n")
    for d in range(100):
        folder = tmp_path / f"pkg{d}"
        folder.mkdir()
        for f in range(400):
            (folder / f"f{f}.{'tmp' if f % 4 == 0 else 'py'}").touch()
    heavy = tmp_path / "node_modules"
    heavy.mkdir()
    for f in range(10_000):
        (heavy / f"m{f}.js").touch()
    matcher = IgnoreMatcher(tmp_path)
    started = time.perf_counter()
    count = sum(1 for _ in matcher.walk())
    elapsed = time.perf_counter() - started
    assert count == 100 * 300 + 1
    assert elapsed < 10.0, f"walk of 50k entries took {elapsed:.2f}s"
