"""``AsyncBatchedBaseStore``: concurrent async calls on one event loop run as one ``abatch``.

For a store whose ``abatch`` has a high fixed cost per call (a network round trip, a
transaction): every ``aget``/``asearch``/``aput``/``adelete``/``alist_namespaces``
made while the store's background task is busy, or in the same event-loop turn,
is queued, and the task hands the queued ops to one ``abatch`` call, with
duplicates merged (equal reads run once; puts to one item keep the last value).
Namespaces are checked before an op is queued, so one bad call never fails the
calls queued beside it. Compatible with LangGraph's
``langgraph.store.base.batch.AsyncBatchedBaseStore``.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Iterable
from typing import Any

from graphkit.errors import SyncCallOnLoopError
from graphkit.stores.store.base import BaseStore, Op, PutOp, Result

_Queued = tuple["asyncio.Future[Result]", Op]


class AsyncBatchedBaseStore(BaseStore):
    """A :class:`BaseStore` whose concurrent async calls are batched.

    Subclasses implement ``abatch`` (and ``batch``, if they have a better one); the
    async convenience methods queue their op for a background task (one per event
    loop, restarted if it was cancelled) that runs the queued ops through ``abatch``.
    The sync methods run ``abatch`` on the event loop the store's async calls use, as
    LangGraph's do: from another thread (a sync node of an async run), or on an event
    loop of their own when none runs; never from that loop itself (it would wait on
    itself).

    >>> import asyncio
    >>> from graphkit.stores.store.memory import InMemoryStore
    >>> class Batched(AsyncBatchedBaseStore):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.inner, self.calls = InMemoryStore(), 0
    ...     def batch(self, ops): return self.inner.batch(ops)
    ...     async def abatch(self, ops):
    ...         self.calls += 1
    ...         return self.inner.batch(ops)
    >>> async def main(store):
    ...     await asyncio.gather(*(store.aput(("n",), str(i), {"i": i}) for i in range(5)))
    ...     return store.calls
    >>> asyncio.run(main(Batched()))
    1
    """

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._aqueue: asyncio.Queue[_Queued] | None = None
        self._task: asyncio.Task[None] | None = None

    def batch(self, ops: Iterable[Op]) -> list[Result]:
        """Sync :meth:`abatch` (see the class docstring for where it runs)."""
        ops = list(ops)
        loop = self._loop
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is not None and (running is loop or loop is None or not loop.is_running()):
            raise SyncCallOnLoopError(
                f"Synchronous call to {type(self).__name__} from the event loop it runs on "
                "(it would wait on itself): await its async twin instead "
                "(store.aget/aput/asearch/adelete/alist_namespaces/abatch)."
            )
        if loop is not None and loop.is_running():
            return asyncio.run_coroutine_threadsafe(self.abatch(ops), loop).result()
        return asyncio.run(self.abatch(ops))

    async def _arun(self, op: Op) -> Result:
        queue = self._ensure_task()
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        queue.put_nowait((future, op))
        return await future

    def _ensure_task(self) -> asyncio.Queue[_Queued]:
        """The queue of this loop's background task, (re)starting the task if needed."""
        loop = asyncio.get_running_loop()
        if (
            self._aqueue is None
            or self._task is None
            or self._task.done()
            or self._loop is not loop
        ):
            self._loop = loop
            self._aqueue = asyncio.Queue()
            self._task = loop.create_task(_drain(self._aqueue, weakref.ref(self)))
        return self._aqueue


async def _drain(
    queue: asyncio.Queue[_Queued], store_ref: weakref.ref[AsyncBatchedBaseStore]
) -> None:
    """Run queued ops in batches until cancelled (holds the store weakly)."""
    while True:
        queued = [await queue.get()]
        while not queue.empty():
            queued.append(queue.get_nowait())
        queued = [(f, op) for f, op in queued if not f.done()]  # skip callers that gave up
        store = store_ref()
        if store is None:
            return
        if not queued:
            continue
        listen, ops = dedupe_ops([op for _, op in queued])
        try:
            results = await store.abatch(ops)
        except Exception as exc:  # every caller of this batch gets the error
            for future, _ in queued:
                if not future.done():
                    future.set_exception(exc)
        else:
            for (future, _), i in zip(queued, listen, strict=True):
                if not future.done():
                    future.set_result(results[i])
        del store


def dedupe_ops(ops: list[Op]) -> tuple[list[int], list[Op]]:
    """Merge duplicate ops: ``(where each op's result is, the distinct ops)``.

    Equal reads collapse into one; puts to the same (namespace, key) collapse into
    the last of them, placed where the first one was.

    >>> from graphkit.stores.store.base import GetOp
    >>> dedupe_ops([GetOp(("a",), "k"), PutOp(("a",), "k", {"v": 1}), GetOp(("a",), "k")])[0]
    [0, 1, 0]
    """
    listen: list[int] = []
    out: list[Op] = []
    puts: dict[Any, int] = {}
    reads: dict[Any, int] = {}
    for op in ops:
        if isinstance(op, PutOp):
            at = puts.get((op.namespace, op.key))
            if at is None:
                at = puts[(op.namespace, op.key)] = len(out)
                out.append(op)
            else:
                out[at] = op
        else:
            key = _read_key(op)
            at = reads.get(key) if key is not None else None
            if at is None:
                at = len(out)
                out.append(op)
                if key is not None:
                    reads[key] = at
        listen.append(at)
    return listen, out


def _read_key(op: Op) -> Any:
    """A hashable identity of a read op (None if it has none: then never merged)."""
    try:
        return (type(op), repr(op))
    except Exception:
        return None


__all__ = ["AsyncBatchedBaseStore", "dedupe_ops"]
