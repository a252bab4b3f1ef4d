"""Async runs on a saver with async methods: its saves awaited on the event loop.

A saver whose class overrides ``aput``/``aput_writes``/``aget_tuple``/``alist``
(:func:`~graphkit.stores.checkpoint.base.awaits_natively`: an async database driver,
or a saver wrapping ours) is awaited by async runs, as LangGraph's are:

- :class:`AwaitedSaves` queues what a run's checkpoint session saves (checkpoints and
  pending writes, in order) and the run awaits them between supersteps:
  ``durability="sync"`` before the next step, ``"async"`` in the background (the run
  waits for them all when it ends), ``"exit"`` at the end. The saves run in a task of
  their own, shielded: a cancelled run still finishes the save in flight.
- :class:`LoopSaver` is the sync face of such a saver for code that runs in a worker
  thread while the event loop is free (a run's start, the state API): each call
  awaits the saver's async method on the loop and waits for it.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator, Sequence
from functools import partial
from typing import Any, TypeVar

from graphkit.engine.group_commit import SaveItem
from graphkit.errors import RunContextError
from graphkit.stores.checkpoint.base import (
    BaseCheckpointSaver,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    RunnableConfig,
    awaits_natively,
)

T = TypeVar("T")
Save = Callable[[], Awaitable[Any]]
"""One queued save: makes the saver's coroutine when its turn comes."""


class AwaitedSaves:
    """The saves of one async run on a saver that is awaited (see the module docstring).

    ``put`` and ``put_writes`` only queue (they are called by the run's synchronous
    code, on the loop); :meth:`settle` starts what is queued after what is in flight.
    """

    __slots__ = ("background", "queued", "saver", "task")

    def __init__(self, saver: BaseCheckpointSaver, *, background: bool) -> None:
        self.saver = saver
        self.background = background
        """``durability="async"``: :meth:`settle` does not wait (but :meth:`finish` does)."""
        self.queued: list[Save] = []
        self.task: asyncio.Future[None] | None = None
        """The saves started last (each batch waits for the one before it)."""

    def put(self, item: SaveItem) -> None:
        """Queue ``aput`` of one checkpoint."""
        self.queued.append(partial(self.saver.aput, *item))

    def put_writes(
        self, config: RunnableConfig, writes: Sequence[tuple[str, Any]], task_id: str, index: int
    ) -> None:
        """Queue ``aput_writes`` of one task's writes (config copied: it names the
        checkpoint they belong to, whatever the run saves next)."""
        config = {"configurable": dict(config["configurable"])}
        self.queued.append(partial(self.saver.aput_writes, config, list(writes), task_id, index))

    async def settle(self) -> None:
        """Start the queued saves; wait for them unless in the background (where the
        error of one that failed earlier is raised now)."""
        self.start()
        task = self.task
        if task is None:
            return
        if not self.background:
            await asyncio.shield(task)
        elif task.done():
            task.result()

    async def finish(self) -> None:
        """Start the queued saves and wait for every one (shielded from cancellation)."""
        self.start()
        if self.task is not None:
            await asyncio.shield(self.task)

    def start(self) -> None:
        """Start the queued saves, after those in flight (on the event loop)."""
        if self.queued:
            saves, self.queued = self.queued, []
            self.task = asyncio.ensure_future(_in_order(self.task, saves))


async def _in_order(before: asyncio.Future[None] | None, saves: list[Save]) -> None:
    """Await ``before`` (its error stops these saves), then each save in turn."""
    if before is not None:
        await before
    for save in saves:
        await save()


class LoopSaver(BaseCheckpointSaver):
    """A saver's async methods as sync ones, for a worker thread while ``loop`` is free:
    each call runs the coroutine on the loop and waits for its result."""

    waits_on_io = False  # each put is made inline, through the loop

    def __init__(self, saver: BaseCheckpointSaver, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(serde=saver.serde)
        self.inner = saver
        self.loop = loop
        self.loop_thread = threading.get_ident()

    def _wait(self, coroutine: Coroutine[Any, Any, T]) -> T:
        if threading.get_ident() == self.loop_thread:
            coroutine.close()
            raise RunContextError(
                f"{type(self.inner).__name__}'s async methods were called synchronously on "
                "the event loop's own thread: call the async API (ainvoke, aget_state, ...)"
            )
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result()

    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        """The inner saver's ``aget_tuple``."""
        return self._wait(self.inner.aget_tuple(config))

    def list(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        """The inner saver's ``alist`` (read whole, then iterated)."""
        items = self.inner.alist(config, filter=filter, before=before, limit=limit)
        return iter(self._wait(_collect(items)))

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: dict[str, int],
    ) -> RunnableConfig:
        """The inner saver's ``aput``."""
        return self._wait(self.inner.aput(config, checkpoint, metadata, new_versions))

    def put_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str | int = "",
    ) -> None:
        """The inner saver's ``aput_writes``."""
        self._wait(self.inner.aput_writes(config, writes, task_id, task_path))


async def _collect(items: AsyncIterator[CheckpointTuple]) -> list[CheckpointTuple]:
    return [item async for item in items]


def loop_saver(saver: BaseCheckpointSaver | None) -> BaseCheckpointSaver | None:
    """What an async call hands to sync code it runs in a worker thread: ``saver``'s
    async methods through the running loop if it is awaited natively, else ``saver``."""
    if saver is None or not awaits_natively(saver):
        return saver
    return LoopSaver(saver, asyncio.get_running_loop())
