"""Building thousands of objects at once without the collector promoting them all.

Reading a long conversation builds tens of thousands of container objects (each
message, its ``__dict__``, its fields set) in one loop. With the cyclic collector on,
each 700 of them start a young collection that finds them all alive, so they move up
to the oldest generation within the loop; that generation then fills a quarter
faster than it holds and full collections follow, one every other read of a
10,000-message thread (tens of milliseconds each, more than the read itself).

``paused()`` switches the collector off for such a loop only (as ``subprocess`` once
did around ``fork``): the new objects wait in the youngest generation, one young
collection looks at them afterwards, and they reach the oldest generation only if
they are still alive when that generation's turn comes. Pausing does not leak: the
loops it wraps make no reference cycles, and cycles other threads make meanwhile
are collected after it. The switch is process-wide: a program that turns the collector
off itself keeps it off, but one that does so from another thread while a pause is
active finds it on again when the pause ends.

    >>> import gc
    >>> with paused():
    ...     gc.isenabled()
    False
    >>> gc.isenabled()
    True
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")

PAUSE_AT = 1_000
"""Elements from which a copying or decoding loop is worth pausing for."""
PAUSE_BYTES = 32 << 10
"""Stored bytes from which decoding them is worth pausing for (a thousand short
messages take about 34 KB)."""

_lock = threading.Lock()
_depth = 0
"""Threads inside ``paused()`` now."""
_switched_off = False
"""Whether the outermost ``paused()`` turned the collector off (it was on)."""


@contextmanager
def paused() -> Iterator[None]:
    """Keep the cyclic collector off inside the block (nested and threaded uses count:
    the last one out turns it back on, only if it was on when the first came in)."""
    global _depth, _switched_off
    with _lock:
        if not _depth and gc.isenabled():
            gc.disable()
            _switched_off = True
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if not _depth and _switched_off:
                _switched_off = False
                gc.enable()


def call(large: bool, fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """``fn(*args, **kwargs)``, with the collector paused when the caller says the work is
    ``large`` (``PAUSE_AT`` elements or ``PAUSE_BYTES`` bytes and more); small work runs
    as it is, since pausing costs two locked switches."""
    if not large:
        return fn(*args, **kwargs)
    with paused():
        return fn(*args, **kwargs)
