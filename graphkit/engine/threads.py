"""How a step's parallel sync tasks share threads: the step's own thread runs them,
helper threads join when it stalls.

Most fan-outs are of quick tasks, and handing a task to another thread (a wake-up, a
GIL hand-over) costs more than running it. So the thread that runs the step takes the
tasks one after another itself, and a helper joins only once that stalls: the
*overseer*, one daemon thread, looks at every running step each ``PERIOD`` and brings
a helper from the pool to a step that has started no task since its last look while
tasks still wait. A helper that takes a task asks for one more (unless one is on its
way), so a step of blocking tasks (LLM calls, I/O) has them all in flight within a
period or two, as many at once as ``most`` allows; a step of quick tasks never wakes a
thread. Writes are applied at the barrier in task order either way, so which thread
ran a task never shows in the result; what changes is when a blocked step's next task
starts: a period or two later (more while a running task holds the GIL, which the
overseer needs to look), where a thread per task would start it at once.
"""

from __future__ import annotations

import contextvars
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from operator import length_hint
from time import sleep as _sleep  # bound now: a test patching time.sleep must not see ours
from typing import Any, Generic, TypeVar

T = TypeVar("T")

PERIOD = 0.001
"""Seconds between the overseer's looks: a stalled step gets a helper within about two."""
LINGER = 50
"""Looks with no step running before the overseer sleeps until the next step starts
(a step then wakes it once; steps in quick succession do not)."""


class Batch(Generic[T]):
    """The tasks of one step, taken in order by the step's thread and any helpers."""

    __slots__ = (
        "context",
        "futures",
        "lock",
        "most",
        "on_the_way",
        "open",
        "pending",
        "pool",
        "run_one",
        "seen",
        "total",
    )

    def __init__(
        self,
        tasks: Sequence[T],
        run_one: Callable[[T], None],
        pool: Callable[[], ThreadPoolExecutor],
        most: int,
    ) -> None:
        self.pending = iter(tasks)
        self.total = len(tasks)
        self.run_one = run_one
        self.pool = pool
        """Gives the pool helpers come from (asked only when one is needed)."""
        self.most = most
        """At most this many helpers (besides the step's own thread)."""
        self.lock = threading.Lock()
        self.futures: list[Future[None]] = []
        self.on_the_way = 0
        self.open = True
        """False once the step's thread has taken the last task: no more helpers."""
        self.seen = -1
        """``taken`` at the overseer's last look."""
        self.context = contextvars.copy_context()
        """The step's context: each helper runs in a copy of it."""

    def run(self) -> None:
        """Run every task; return once all have finished (in whatever thread)."""
        OVERSEER.watch(self)
        try:
            self._work(helper=False)
        finally:
            OVERSEER.forget(self)
            with self.lock:  # no helper comes after this (``ask`` looks under the lock)
                self.open = False
                futures = self.futures
        for future in futures:
            if not future.cancel():  # never started: nothing left for it to do
                future.result()

    @property
    def taken(self) -> int:
        """Tasks taken so far (the overseer's measure of progress): read off the tasks'
        iterator, so that taking one costs no count of its own."""
        return self.total - length_hint(self.pending)

    def stalled(self) -> bool:
        """True when no task was taken since the last call and some are still waiting."""
        taken = self.taken
        if taken != self.seen:
            self.seen = taken
            return False
        return taken < self.total

    def ask(self) -> None:
        """Bring one more helper, unless one is on its way or there are enough."""
        with self.lock:
            if not self.open or self.on_the_way or len(self.futures) >= self.most:
                return
            self.on_the_way += 1
            self.futures.append(self.pool().submit(self.context.copy().run, self._helper))

    def _helper(self) -> None:
        with self.lock:
            self.on_the_way -= 1
        self._work(helper=True)

    def _work(self, *, helper: bool) -> None:
        for task in self.pending:
            if helper:  # helpers come only to blocking work: the next may block too
                self.ask()
            self.run_one(task)


class Overseer:
    """The daemon thread that brings helpers to stalled steps (see the module doc)."""

    def __init__(self) -> None:
        self.batches: dict[Batch[Any], None] = {}
        self.cond = threading.Condition()
        self.parked = True
        self.thread: threading.Thread | None = None

    def watch(self, batch: Batch[Any]) -> None:
        """Look after ``batch`` until ``forget``."""
        self.batches[batch] = None
        if self.parked:
            with self.cond:
                if self.thread is None:
                    self.thread = threading.Thread(
                        target=self._loop, name="graphkit-overseer", daemon=True
                    )
                    self.thread.start()
                    self.parked = False
                self.cond.notify()

    def forget(self, batch: Batch[Any]) -> None:
        self.batches.pop(batch, None)

    def _loop(self) -> None:
        idle = 0
        while True:
            _sleep(PERIOD)
            if self.batches:
                idle = 0
                for batch in list(self.batches):
                    if batch.taken >= batch.total:  # all under way: no helper to bring
                        self.batches.pop(batch, None)
                    elif batch.stalled():
                        try:
                            batch.ask()
                        except RuntimeError:  # its pool is shut down (interpreter exit)
                            self.batches.pop(batch, None)
                continue
            idle += 1
            if idle >= LINGER:
                idle = 0
                with self.cond:
                    self.parked = True
                    while not self.batches:
                        self.cond.wait()
                    self.parked = False


OVERSEER = Overseer()


def _after_fork() -> None:  # the overseer's thread does not exist in a forked child
    global OVERSEER
    OVERSEER = Overseer()


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=_after_fork)
