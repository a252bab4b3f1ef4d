"""Time limits of one async attempt: ``TimeoutPolicy``'s run and idle timeouts.

The attempt runs as its own asyncio task; this one watches the clock. The run
timeout counts from the attempt's start and is never refreshed. The idle timeout
counts from the last progress: ``runtime.heartbeat()`` always, and with
``refresh_on="auto"`` anything the attempt streams (see
``graphkit.context.report_progress``). When a limit passes, the attempt is
cancelled and ``NodeTimeoutError`` raised, whatever the attempt does with its
cancellation: a late result is discarded.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Literal, TypeVar

from graphkit.context import PROGRESS
from graphkit.errors import NodeTimeoutError
from graphkit.types import TimeoutPolicy

T = TypeVar("T")

CANCEL_GRACE = 1.0
"""Seconds a timed-out attempt gets to finish its cancellation before we stop waiting."""


class _Clock:
    """When the attempt started and last made progress."""

    __slots__ = ("heartbeat_only", "idle", "last", "run", "start")

    def __init__(self, policy: TimeoutPolicy) -> None:
        self.start = self.last = time.monotonic()
        self.run = _seconds(policy.run_timeout)
        self.idle = _seconds(policy.idle_timeout)
        self.heartbeat_only = policy.refresh_on == "heartbeat"

    def beat(self, heartbeat: bool) -> None:
        """Progress: refreshes the idle timeout (only heartbeats, if so configured)."""
        if heartbeat or not self.heartbeat_only:
            self.last = time.monotonic()

    def left(self) -> tuple[float, Literal["idle", "run"]]:
        """Seconds until the nearest limit, and which limit that is."""
        now = time.monotonic()
        found: tuple[float, Literal["idle", "run"]] = (float("inf"), "run")
        if self.run is not None:
            found = (self.start + self.run - now, "run")
        if self.idle is not None and self.last + self.idle - now < found[0]:
            found = (self.last + self.idle - now, "idle")
        return found


def _seconds(value: object) -> float | None:
    return None if value is None else float(value)  # type: ignore[arg-type]


async def run_timed(name: str, policy: TimeoutPolicy, attempt: Callable[[], Awaitable[T]]) -> T:
    """Await ``attempt()`` within ``policy``'s limits; raise ``NodeTimeoutError`` past them."""
    clock = _Clock(policy)

    async def body() -> T:
        PROGRESS.set(clock.beat)  # the attempt's own context: its heartbeats reach this clock
        return await attempt()

    child = asyncio.ensure_future(body())
    try:
        while True:
            left, kind = clock.left()
            if left <= 0:
                break
            done, _ = await asyncio.wait({child}, timeout=left)
            if done:
                return child.result()
    except asyncio.CancelledError:
        child.cancel()
        raise
    child.cancel()
    await asyncio.wait({child}, timeout=CANCEL_GRACE)
    if child.done() and not child.cancelled():
        child.exception()  # retrieved: a late failure is not reported as unhandled
    raise NodeTimeoutError(
        name,
        time.monotonic() - clock.start,
        kind=kind,
        idle_timeout=clock.idle,
        run_timeout=clock.run,
    )
