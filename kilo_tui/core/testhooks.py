"""Test-only fault injection at named points of the real binary.

- ``KILO_TUI_TEST_PAUSE=<point>[#n]``: the n-th time (default: the first) the process
  reaches ``<point>``, it prints ``KILO_TUI_TEST_PAUSED <point>`` on stderr and stops
  itself (SIGSTOP), all threads at once. The test then ``kill -9`` s it, or sends
  SIGHUP followed by SIGCONT, so the signal lands at a known moment and is handled
  as it would be there.
- ``KILO_TUI_TEST_CRASH=<point>[#n]``: raise :class:`InjectedFault` there instead, a
  bug-like crash at that point.

Points: ``streaming`` (a reply has started to stream), ``command`` (a command is
running and has printed output), ``write`` (an approved edit is about to be written),
``checkpoint`` (a snapshot is taken, its commit not yet made).

Not for users. With neither variable set, as always outside the tests,
:func:`fault_point` costs two dictionary lookups.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections import Counter

PAUSE_ENV = "KILO_TUI_TEST_PAUSE"
CRASH_ENV = "KILO_TUI_TEST_CRASH"

_reached: Counter[str] = Counter()
_lock = threading.Lock()


class InjectedFault(RuntimeError):
    """The crash ``KILO_TUI_TEST_CRASH`` asked for."""


def fault_point(name: str) -> None:
    """Pause or crash here if a test variable names this point; else do nothing."""
    pause, crash = os.environ.get(PAUSE_ENV), os.environ.get(CRASH_ENV)
    if not pause and not crash:
        return
    with _lock:
        _reached[name] += 1
        count = _reached[name]
    if _names(crash, name, count):
        raise InjectedFault(f"injected crash at {name}")
    if _names(pause, name, count):
        print(f"KILO_TUI_TEST_PAUSED {name}", file=sys.stderr, flush=True)
        os.kill(os.getpid(), signal.SIGSTOP)


def _names(spec: str | None, name: str, count: int) -> bool:
    point, _, nth = (spec or "").partition("#")
    return point == name and count == int(nth or 1)
