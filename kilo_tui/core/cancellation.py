"""Stopping work when the user cancels: one helper for the model client and the tools."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")


async def unless_cancelled(work: Awaitable[T], cancel: asyncio.Event | None, error: Exception) -> T:
    """``work``'s result; if ``cancel`` is set first, ``work`` is cancelled, its cleanup
    awaited (closing a stream, a browser page…, so nothing outlives the call), and
    ``error`` raised."""
    if cancel is None:
        return await work
    task = asyncio.ensure_future(work)
    waiter = asyncio.ensure_future(cancel.wait())
    try:
        await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            return task.result()
        raise error
    finally:
        for pending in (task, waiter):
            if not pending.done():
                pending.cancel()
        await asyncio.gather(task, waiter, return_exceptions=True)
