"""AsyncBatchedBaseStore: concurrent async calls become one abatch, duplicates merged."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

import pytest

from graphkit.store.base import (
    GetOp,
    InvalidNamespaceError,
    ListNamespacesOp,
    Op,
    PutOp,
    Result,
    SearchOp,
)
from graphkit.store.base.batch import AsyncBatchedBaseStore
from graphkit.store.memory import InMemoryStore
from graphkit.stores.store.batch import dedupe_ops


class Recording(AsyncBatchedBaseStore):
    """Runs batches on an InMemoryStore and records every abatch call's ops."""

    def __init__(self, fail_with: Exception | None = None) -> None:
        super().__init__()
        self.inner = InMemoryStore()
        self.calls: list[list[Op]] = []
        self.fail_with = fail_with

    def batch(self, ops: Iterable[Op]) -> list[Result]:
        return self.inner.batch(ops)

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        ops = list(ops)
        self.calls.append(ops)
        if self.fail_with is not None:
            raise self.fail_with
        return self.inner.batch(ops)


async def test_concurrent_calls_run_as_one_abatch_with_duplicates_merged() -> None:
    store = Recording()
    await asyncio.gather(store.aput(("n",), "a", {"v": 1}), store.aput(("n",), "b", {"v": 2}))
    assert len(store.calls) == 1 and len(store.calls[0]) == 2
    store.calls.clear()
    got = await asyncio.gather(
        store.aget(("n",), "a"),
        store.aget(("n",), "a"),
        store.aget(("n",), "b"),
        store.asearch(("n",), filter={"v": 2}),
        store.asearch(("n",), filter={"v": 2}),
        store.alist_namespaces(),
        store.aput(("n",), "c", {"v": 3}),
        store.aput(("n",), "c", {"v": 4}),  # the later put to one item wins
    )
    assert len(store.calls) == 1
    assert store.calls[0] == [
        GetOp(("n",), "a"),
        GetOp(("n",), "b"),
        SearchOp(("n",), {"v": 2}),
        ListNamespacesOp(()),
        PutOp(("n",), "c", {"v": 4}),
    ]
    a1, a2, b, s1, s2, spaces, *puts = got
    assert a1 == a2 and a1.value == {"v": 1} and b.value == {"v": 2}
    assert [i.key for i in s1] == [i.key for i in s2] == ["b"]
    assert spaces == [("n",)] and puts == [None, None]
    assert (await store.aget(("n",), "c")).value == {"v": 4}  # type: ignore[union-attr]


async def test_a_bad_namespace_is_refused_before_it_is_queued() -> None:
    store = Recording()
    results = await asyncio.gather(
        store.aput(("ok",), "k", {"v": 1}),
        store.aget(("bad.label",), "k"),
        store.aput(("langgraph", "x"), "k", {"v": 1}),
        return_exceptions=True,
    )
    assert results[0] is None
    assert [type(r) for r in results[1:]] == [InvalidNamespaceError] * 2
    assert store.calls == [[PutOp(("ok",), "k", {"v": 1})]]  # the good call ran alone


async def test_an_abatch_error_reaches_every_caller_of_that_batch_only() -> None:
    store = Recording(fail_with=RuntimeError("backend down"))
    results = await asyncio.gather(
        store.aget(("n",), "a"), store.aget(("n",), "b"), return_exceptions=True
    )
    assert [str(r) for r in results] == ["backend down"] * 2
    store.fail_with = None
    await store.aput(("n",), "a", {"v": 1})
    assert (await store.aget(("n",), "a")).value == {"v": 1}  # type: ignore[union-attr]


async def test_cancelled_callers_and_a_cancelled_worker_do_not_break_the_store() -> None:
    store = Recording()
    caller = asyncio.create_task(store.aget(("n",), "a"))
    await asyncio.sleep(0)
    caller.cancel()
    await store.aput(("n",), "a", {"v": 1})
    worker = store._task
    assert worker is not None and not worker.done()
    worker.cancel()
    await asyncio.sleep(0.01)
    assert worker.cancelled()
    assert (await store.aget(("n",), "a")).value == {"v": 1}  # type: ignore[union-attr]
    assert store._task is not worker and not store._task.done()  # type: ignore[union-attr]


def test_sync_methods_call_batch_directly() -> None:
    store = Recording()
    store.put(("n",), "a", {"v": 1})
    assert store.get(("n",), "a").value == {"v": 1}  # type: ignore[union-attr]
    assert store.calls == []


@pytest.mark.parametrize(
    ("ops", "listen", "kept"),
    [
        (
            [GetOp(("a",), "k"), PutOp(("a",), "k", {"v": 1}), GetOp(("a",), "k")],
            [0, 1, 0],
            [GetOp(("a",), "k"), PutOp(("a",), "k", {"v": 1})],
        ),
        (
            [PutOp(("a",), "k", {"v": 1}), GetOp(("b",), "k"), PutOp(("a",), "k", None)],
            [0, 1, 0],
            [PutOp(("a",), "k", None), GetOp(("b",), "k")],
        ),
        (
            [SearchOp(("a",), {"x": 1}), SearchOp(("a",), {"x": 2}), SearchOp(("a",), {"x": 1})],
            [0, 1, 0],
            [SearchOp(("a",), {"x": 1}), SearchOp(("a",), {"x": 2})],
        ),
    ],
)
def test_dedupe_ops(ops: list[Any], listen: list[int], kept: list[Any]) -> None:
    assert dedupe_ops(ops) == (listen, kept)
