"""The shared event bus: typed publish/subscribe plus request/reply.

Publishing is synchronous and cheap (a streamed token is one dict lookup and a few
calls): handlers are plain callables run in subscription order on the publisher's
thread, which is always the event loop's. A handler that needs to do slow work
schedules it itself. A handler that raises is logged and skipped; it never breaks the
publisher.

Request/reply: :meth:`EventBus.request` publishes an event carrying a ``request_id`` and
awaits the first :meth:`EventBus.reply` for that id. Later replies are ignored, so the
first client to answer wins (the TUI, the headless policy responder, a test script).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from kilo_tui.core.events import Event

log = logging.getLogger(__name__)

E = TypeVar("E", bound=Event)
Handler = Callable[[Any], None]
Unsubscribe = Callable[[], None]


class EventBus:
    """A framework-free bus. One per process; all tasks share it."""

    def __init__(self) -> None:
        self._handlers: list[tuple[tuple[type[Event], ...] | None, Handler]] = []
        self._pending: dict[str, asyncio.Future[Any]] = {}
        self._responders = 0

    # ------------------------------------------------------------ pub/sub

    def subscribe(self, handler: Callable[[E], None], *types: type[E]) -> Unsubscribe:
        """Call ``handler(event)`` for every event (or only events of ``types``).

        Returns a function that removes the subscription.
        """
        entry = (tuple(types) or None, handler)
        self._handlers.append(entry)

        def unsubscribe() -> None:
            if entry in self._handlers:
                self._handlers.remove(entry)

        return unsubscribe

    def publish(self, event: Event) -> None:
        for types, handler in list(self._handlers):
            if types is not None and not isinstance(event, types):
                continue
            try:
                handler(event)
            except Exception:  # a broken client must not break the agent
                log.exception("event handler %r failed on %s", handler, event.type)

    # ------------------------------------------------------ request/reply

    @staticmethod
    def new_request_id() -> str:
        return uuid.uuid4().hex[:12]

    async def request(self, event: Event, *, timeout: float | None = None) -> Any:
        """Publish ``event`` (which has a ``request_id``) and await the first reply."""
        request_id: str = event.request_id  # type: ignore[attr-defined]
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._pending[request_id] = future
        try:
            self.publish(event)
            if timeout is None:
                return await future
            return await asyncio.wait_for(future, timeout)
        finally:
            self._pending.pop(request_id, None)

    def reply(self, request_id: str, answer: Any) -> bool:
        """Answer a pending request. Returns False if it was already answered or unknown."""
        future = self._pending.get(request_id)
        if future is None or future.done():
            return False
        future.set_result(answer)
        return True

    def is_pending(self, request_id: str) -> bool:
        future = self._pending.get(request_id)
        return future is not None and not future.done()

    def pending_requests(self) -> list[str]:
        return [rid for rid, fut in self._pending.items() if not fut.done()]
