"""The one place where the core's event bus meets Textual.

The :class:`Bridge` subscribes to the :class:`~kilo_tui.core.bus.EventBus` and posts
every event to a target widget as a :class:`BusEvent` message. Widgets never subscribe
to the bus themselves: they receive attributes from the screen that handles
``BusEvent`` (attributes down, messages up).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from textual.message import Message

if TYPE_CHECKING:
    from textual.app import App
    from textual.message_pump import MessagePump

    from kilo_tui.core.bus import EventBus, Unsubscribe
    from kilo_tui.core.events import Event


class BusEvent(Message):
    """A core event, delivered to the widget the bridge targets."""

    def __init__(self, event: Event) -> None:
        super().__init__()
        self.event = event
        """The event as published on the bus."""


class Bridge:
    """Forwards bus events to a message pump (normally the main screen).

    Publishing is synchronous and happens on the event loop's thread, so posting a
    message is enough. A publisher on another thread (a blocking tool, say) is routed
    through ``call_from_thread`` so ordering and thread-safety hold either way.
    """

    def __init__(self, bus: EventBus, app: App[Any]) -> None:
        self._bus = bus
        self._app = app
        self._target: MessagePump | None = None
        self._unsubscribe: Unsubscribe | None = None
        self._loop_thread = threading.get_ident()

    def connect(self, target: MessagePump) -> None:
        """Start forwarding events to ``target``; call on the event loop's thread."""
        self.disconnect()
        self._target = target
        self._loop_thread = threading.get_ident()
        self._unsubscribe = self._bus.subscribe(self._forward)

    def disconnect(self) -> None:
        """Stop forwarding events."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self._target = None

    def _forward(self, event: Event) -> None:
        target = self._target
        if target is None:
            return
        if threading.get_ident() == self._loop_thread:
            target.post_message(BusEvent(event))
        else:
            self._app.call_from_thread(target.post_message, BusEvent(event))
