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
    """Call ``on_change(path)`` whenever one of ``paths`` changes, from the moment the
    block starts until it exits.

    ``on_change`` runs on the event loop. A change is a write, a creation, a deletion
    or a rename onto the path; the callback decides whether the content really differs
    (it may also be called when nothing did, e.g. after a folder was recreated).
    """
    targets = {Path(p).absolute() for p in paths}
    stop = asyncio.Event()
    task = asyncio.create_task(_watch(targets, on_change, stop, debounce_ms))
    # Let the watch begin (watchfiles sets it up before its first await): a change
    # made once the block has started is then always seen.
    await asyncio.sleep(0)
    try:
        yield
    finally:
        stop.set()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _watch(
    targets: set[Path],
    on_change: Callable[[Path], None],
    stop: asyncio.Event,
    debounce_ms: int,
) -> None:
    """Watch the nearest existing folder of each target. When such a folder appears
    or vanishes (``.kilocode/`` created after start, removed by a checkout), watch
    again from the new nearest folders, and report every target once: what happened
    while no watcher was in place is not lost."""
    dirs = _watched_dirs(targets)
    while not stop.is_set():
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
                if _watched_dirs(targets) != dirs:
                    break
        except Exception:  # a vanished directory must not break the review that watches it
            if _watched_dirs(targets) == dirs:  # else: a folder vanished as watching began
                log.exception("watching %s failed", ", ".join(map(str, dirs)))
                return
        if stop.is_set():
            return
        previous, dirs = dirs, _watched_dirs(targets)
        if dirs == previous:  # the watcher ended by itself: do not spin
            await asyncio.sleep(debounce_ms / 1000)
        for target in targets:
            on_change(target)


def _watched_dirs(targets: set[Path]) -> set[Path]:
    return {_existing_ancestor(p.parent) for p in targets}


def _existing_ancestor(directory: Path) -> Path:
    while not directory.is_dir() and directory != directory.parent:
        directory = directory.parent
    return directory
