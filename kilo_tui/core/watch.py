"""Notice edits made to files by someone else (the user's editor, a formatter, git).

A thin layer over :func:`watchfiles.awatch`. It watches the *directory* of each file,
not the file: editors often save by writing a new file and renaming it over the old
one, and a file that does not exist yet cannot be watched at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Iterable
from pathlib import Path

import watchfiles

log = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def watching(
    paths: Iterable[Path],
    on_change: Callable[[Path], None],
    *,
    debounce_ms: int = 100,
) -> AsyncIterator[None]:
    """Call ``on_change(path)`` whenever one of ``paths`` changes, until the block exits.

    ``on_change`` runs on the event loop. A change is a write, a creation, a deletion
    or a rename onto the path; the callback decides whether the content really differs.
    """
    targets = {Path(p).absolute() for p in paths}
    dirs = {_existing_ancestor(p.parent) for p in targets}
    stop = asyncio.Event()
    task = asyncio.create_task(_watch(targets, dirs, on_change, stop, debounce_ms))
    try:
        yield
    finally:
        stop.set()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _watch(
    targets: set[Path],
    dirs: set[Path],
    on_change: Callable[[Path], None],
    stop: asyncio.Event,
    debounce_ms: int,
) -> None:
    try:
        async for changes in watchfiles.awatch(
            *dirs,
            watch_filter=None,
            debounce=debounce_ms,
            step=20,
            stop_event=stop,
            recursive=False,
        ):
            changed = {Path(name) for _, name in changes}
            for target in targets:
                if target in changed or any(p in changed for p in target.parents):
                    on_change(target)
    except Exception:  # a vanished directory must not break the review that watches it
        log.exception("watching %s failed", ", ".join(map(str, dirs)))


def _existing_ancestor(directory: Path) -> Path:
    while not directory.is_dir() and directory != directory.parent:
        directory = directory.parent
    return directory
