"""Which workspace files the agent may see: ``.kilocodeignore`` and ``.gitignore``.

Two questions with different consequences:

- :meth:`IgnoreMatcher.is_kilocode_ignored`: the user listed the path in
  ``.kilocodeignore``, so the agent may not read, write or list it at all (Kilo Code's
  rule; the ``.kilocodeignore`` file itself is blocked too, as in Kilo).
- :meth:`IgnoreMatcher.is_ignored`: the path is noise for listings and searches
  (``.gitignore`` at any depth, ``.git/info/exclude``, ``.git`` itself, or
  ``.kilocodeignore``).

Both follow git's rules, via ``pathspec``'s gitignore flavour: a nested ``.gitignore``
applies below its directory and may re-include what a parent excluded, and nothing
can be re-included inside an excluded directory.

``.kilocodeignore`` is re-read as soon as it changes (created, edited, deleted): every
query compares its ``stat`` signature with the one it was loaded from.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

from pathspec import GitIgnoreSpec

from kilo_tui.core.trust.paths import read_small_file

KILOCODEIGNORE = ".kilocodeignore"

# A chain of (directory relative to the workspace, its spec), outermost first.
_Chain = tuple[tuple[str, GitIgnoreSpec], ...]


def _read_lines(*paths: Path) -> list[str]:
    lines: list[str] = []
    for path in paths:
        data = read_small_file(path)
        if data is not None:
            lines += data.decode("utf-8", errors="replace").splitlines()
    return lines


def _signature(path: Path) -> tuple[int, ...] | None:
    """What changes when a file is created, edited, replaced or deleted."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)


def _spec(lines: list[str]) -> GitIgnoreSpec | None:
    return GitIgnoreSpec.from_lines(lines) if any(_is_pattern(x) for x in lines) else None


def _is_pattern(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith("#")


def _check(chain: _Chain, rel: str, is_dir: bool) -> bool:
    """Git's verdict for ``rel`` under ``chain``: the deepest matching pattern wins."""
    verdict: bool | None = None
    for base, spec in chain:
        sub = rel[len(base) + 1 :] if base else rel
        include = spec.check_file(sub + "/" if is_dir else sub).include
        if include is not None:
            verdict = include
    return bool(verdict)


class IgnoreMatcher:
    """Answers "is this path ignored?" for one workspace, and walks it fast.

    Paths may be absolute or relative to the workspace. Paths outside the workspace
    are never ignored (this class has no opinion about them).
    """

    def __init__(self, workspace: Path) -> None:
        self.workspace = Path(workspace).resolve()
        self._kilo_file = self.workspace / KILOCODEIGNORE
        self._kilo_signature: tuple[int, ...] | None = None
        self._kilo_chain: _Chain = ()
        self._gitignore_cache = lru_cache(maxsize=4096)(self._load_gitignore)
        self._dir_cache = lru_cache(maxsize=8192)(self._dir_ignored)

    @property
    def _kilo(self) -> _Chain:
        """The ``.kilocodeignore`` rules, reloaded if the file changed since last time."""
        signature = _signature(self._kilo_file)
        if signature != self._kilo_signature:
            self._kilo_signature = signature
            lines = _read_lines(self._kilo_file) if signature is not None else []
            # Kilo blocks the ignore file itself once it has patterns.
            kilo = _spec([*lines, KILOCODEIGNORE]) if _spec(lines) else None
            self._kilo_chain = (("", kilo),) if kilo is not None else ()
        return self._kilo_chain

    @property
    def has_kilocodeignore(self) -> bool:
        """True when the workspace has a non-empty ``.kilocodeignore``."""
        return bool(self._kilo)

    # ------------------------------------------------------------ queries

    def relative(self, path: str | os.PathLike[str]) -> str | None:
        """``path`` relative to the workspace in POSIX form ("" for the root), or None."""
        p = Path(path)
        if not p.is_absolute():
            p = self.workspace / p
        try:
            rel = Path(os.path.normpath(p)).relative_to(self.workspace)
        except ValueError:
            try:
                rel = p.resolve().relative_to(self.workspace)
            except (ValueError, OSError):
                return None
        text = rel.as_posix()
        return "" if text == "." else text

    def is_kilocode_ignored(self, path: str | os.PathLike[str]) -> bool:
        """True if ``.kilocodeignore`` blocks agent access to ``path``."""
        rel = self.relative(path)
        kilo = self._kilo
        if not rel or not kilo:
            return False
        return self._blocked(rel, kilo, self._is_dir(rel))

    def is_ignored(self, path: str | os.PathLike[str]) -> bool:
        """True if ``path`` is ignored by git rules, ``.kilocodeignore`` or is in ``.git``."""
        rel = self.relative(path)
        if not rel:
            return False
        if ".git" in rel.split("/"):
            return True
        is_dir = self._is_dir(rel)
        kilo = self._kilo
        if kilo and self._blocked(rel, kilo, is_dir):
            return True
        parent = rel.rpartition("/")[0]
        if self._dir_cache(parent):
            return True
        return _check(self._chain_for(parent), rel, is_dir)

    # ------------------------------------------------------------- walking

    def walk(
        self,
        root: str | os.PathLike[str] | None = None,
        *,
        recursive: bool = True,
        limit: int | None = None,
        include_dirs: bool = False,
    ) -> Iterator[Path]:
        """Yield the non-ignored files under ``root`` (default: the workspace).

        Breadth first, entries sorted by name within a directory, so a ``limit``
        keeps the shallow files. Ignored directories are pruned (never entered);
        ``.git`` is always skipped; symlinked directories are not followed. With
        ``include_dirs`` the directories are yielded too, before their contents.
        """
        start = Path(root) if root is not None else self.workspace
        if not start.is_absolute():
            start = self.workspace / start
        start_rel = self.relative(start)
        if start_rel is None or not start.is_dir():
            return
        kilo = self._kilo
        count = 0
        queue: deque[tuple[Path, str, _Chain]] = deque(
            [(start, start_rel, self._chain_for(start_rel))]
        )
        while queue:
            directory, rel_dir, chain = queue.popleft()
            try:
                entries = sorted(os.scandir(directory), key=lambda e: e.name)
            except OSError:
                continue
            for entry in entries:
                if entry.name == ".git":
                    continue
                rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
                try:
                    is_dir = entry.is_dir(follow_symlinks=False)
                except OSError:
                    continue
                if kilo and _check(kilo, rel, is_dir):
                    continue
                if _check(chain, rel, is_dir):
                    continue
                if is_dir:
                    if recursive:
                        queue.append((Path(entry.path), rel, self._extend(chain, rel)))
                    if not include_dirs:
                        continue
                yield Path(entry.path)
                count += 1
                if limit is not None and count >= limit:
                    return

    # ------------------------------------------------------------ internals

    def _is_dir(self, rel: str) -> bool:
        return (self.workspace / rel).is_dir()

    def _blocked(self, rel: str, chain: _Chain, is_dir: bool) -> bool:
        parts = rel.split("/")
        for i in range(1, len(parts)):
            if _check(chain, "/".join(parts[:i]), True):
                return True
        return _check(chain, rel, is_dir)

    def _load_gitignore(self, rel_dir: str) -> GitIgnoreSpec | None:
        gitignore = self.workspace / rel_dir / ".gitignore"
        if rel_dir:
            return _spec(_read_lines(gitignore))
        return _spec(_read_lines(self.workspace / ".git" / "info" / "exclude", gitignore))

    def _extend(self, chain: _Chain, rel_dir: str) -> _Chain:
        spec = self._gitignore_cache(rel_dir)
        return (*chain, (rel_dir, spec)) if spec is not None else chain

    def _chain_for(self, rel_dir: str) -> _Chain:
        chain = self._extend((), "")
        if rel_dir:
            parts = rel_dir.split("/")
            for i in range(1, len(parts) + 1):
                chain = self._extend(chain, "/".join(parts[:i]))
        return chain

    def _dir_ignored(self, rel_dir: str) -> bool:
        """True if directory ``rel_dir`` or one of its parents is git-ignored."""
        if not rel_dir:
            return False
        parent = rel_dir.rpartition("/")[0]
        if self._dir_cache(parent):
            return True
        return _check(self._chain_for(parent), rel_dir, True)

    def kilocode_rule(self, path: str | os.PathLike[str]) -> str | None:
        """The ``.kilocodeignore`` line that blocks ``path``, or None if nothing does.

        For messages that name the rule (a command refused for reading an ignored file).
        """
        if not self.is_kilocode_ignored(path):
            return None
        rel = self.relative(path) or ""
        parts = rel.split("/")
        for i in range(1, len(parts) + 1):  # the outermost blocked directory first
            sub = "/".join(parts[:i])
            is_dir = i < len(parts) or self._is_dir(rel)
            for _, spec in self._kilo:
                result = spec.check_file(sub + "/" if is_dir else sub)
                if result.include and result.index is not None:
                    return str(spec.patterns[result.index].pattern)
        return KILOCODEIGNORE
