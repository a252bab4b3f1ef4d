"""Where a run's stream events go, and how they get back to the consumer.

An event is ``(namespace, mode, chunk)``: the namespace is ``()`` for the graph the
user called and ``("node:task_id", ...)`` for events of subgraphs running inside
it. A sink buffers events between steps, or, when nodes stream while they run
(``custom``/``messages``), hands them over through a thread-safe queue (sync) or
an asyncio queue (async). A subgraph's sink forwards straight to its parent's.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any

Namespace = tuple[str, ...]
Event = tuple[Namespace, str, Any]

DONE: Any = object()
"""Put on the live queue when a task finishes (never yielded as an event)."""


class EventSink:
    """Collects one run's events for the consumer (or forwards them to a parent run)."""

    def __init__(
        self,
        modes: frozenset[str],
        *,
        live: bool = False,
        namespace: Namespace = (),
        forward: Callable[[Event], None] | None = None,
    ) -> None:
        self.modes = modes
        self.namespace = namespace
        self.forward = forward
        self.buffer: list[Event] = []
        self.queue: queue.SimpleQueue[Any] | None = queue.SimpleQueue() if live else None
        self.aqueue: asyncio.Queue[Any] | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.loop_thread = 0

    def use_event_loop(self) -> None:
        """Deliver through an asyncio queue of the running loop (for astream)."""
        self.loop = asyncio.get_running_loop()
        self.loop_thread = threading.get_ident()
        self.aqueue = asyncio.Queue()
        self.queue = None

    def emit(self, mode: str, chunk: Any) -> None:
        """An event of this run, if its mode was asked for."""
        if mode in self.modes:
            self.push((self.namespace, mode, chunk))

    def push(self, event: Event) -> None:
        """Deliver an event (this run's or a subgraph's); safe from any thread."""
        if self.forward is not None:
            self.forward(event)
        elif self.aqueue is not None and self.loop is not None:
            if threading.get_ident() == self.loop_thread:
                self.aqueue.put_nowait(event)
            else:
                self.loop.call_soon_threadsafe(self.aqueue.put_nowait, event)
        elif self.queue is not None:
            self.queue.put(event)
        else:
            self.buffer.append(event)

    def drain(self) -> Iterator[Event]:
        """Events delivered since the last drain, in order."""
        if self.queue is not None:
            while not self.queue.empty():
                item = self.queue.get_nowait()
                if item is not DONE:
                    yield item
        if self.aqueue is not None:
            while not self.aqueue.empty():
                yield self.aqueue.get_nowait()
        if self.buffer:
            events, self.buffer = self.buffer, []
            yield from events
