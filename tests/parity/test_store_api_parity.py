"""Parity: the store API called directly answers as LangGraph's does (found by probe14's
differential runs): the same program against LangGraph's store classes and ours."""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Iterable
from datetime import datetime, timezone
from types import ModuleType
from typing import Any

import pytest

import graphkit.store.base as our_base
import graphkit.store.memory as our_memory

lg_base = pytest.importorskip("langgraph.store.base")
lg_memory = pytest.importorskip("langgraph.store.memory")

LIBS = [
    pytest.param((our_base, our_memory), id="graphkit"),
    pytest.param((lg_base, lg_memory), id="langgraph"),
]


def answer(base: ModuleType, data: dict[Any, Any], ops: Iterable[Any]) -> list[Any]:
    """What a dict-backed store's ``batch`` returns for puts and gets (``base``: the
    library's ``store.base`` module)."""
    now = datetime(2024, 1, 1, tzinfo=timezone.utc)
    out: list[Any] = []
    for op in ops:
        if isinstance(op, base.PutOp):
            data[(op.namespace, op.key)] = op.value
            out.append(None)
        else:
            value = data.get((op.namespace, op.key))
            item = base.Item(
                value=value, key=op.key, namespace=op.namespace, created_at=now, updated_at=now
            )
            out.append(None if value is None else item)
    return out


def dict_store(base: ModuleType) -> Any:
    """A custom store as LangGraph's docs describe one: ``batch``/``abatch`` over a dict."""

    class DictStore(base.BaseStore):  # type: ignore[misc,name-defined]
        def __init__(self) -> None:
            self.data: dict[tuple[tuple[str, ...], str], Any] = {}

        def batch(self, ops: Iterable[Any]) -> list[Any]:
            return answer(base, self.data, ops)

        async def abatch(self, ops: Iterable[Any]) -> list[Any]:
            return self.batch(ops)

    return DictStore()


@pytest.mark.parametrize("lib", LIBS)
def test_ttl_on_a_store_without_ttl_support_raises_not_implemented(lib: Any) -> None:
    """A custom store (``supports_ttl`` False) ignored ``put(ttl=...)`` silently: the
    item never expired. LangGraph raises NotImplementedError, and so do we."""
    store = dict_store(lib[0])
    store.put(("a",), "k", {"x": 1})
    store.put(("a",), "k", {"x": 2}, ttl=None)
    assert store.get(("a",), "k").value == {"x": 2}
    with pytest.raises(NotImplementedError, match="(?i)ttl"):
        store.put(("a",), "k", {"x": 3}, ttl=5)
    assert store.get(("a",), "k").value == {"x": 2}


@pytest.mark.parametrize("lib", LIBS)
def test_put_index_on_a_store_without_an_index_is_ignored(lib: Any) -> None:
    """LangGraph documents it: "If you do not initialize the store with indexing
    capabilities, the ``index`` parameter will be ignored"; ours raised."""
    store = lib[1].InMemoryStore()
    store.put(("a",), "k", {"text": "x"}, index=["text"])
    store.put(("a",), "j", {"text": "y"}, index=False)
    found = store.search(("a",), query="x")
    assert sorted((item.key, item.score) for item in found) == [("j", None), ("k", None)]


def async_only_store(lib: str) -> Any:
    """A custom store written for LangGraph's ``AsyncBatchedBaseStore``: ``abatch`` only."""
    base = importlib.import_module(f"{lib}.store.base")
    batched = importlib.import_module(f"{lib}.store.base.batch")

    class AsyncOnly(batched.AsyncBatchedBaseStore):  # type: ignore[misc,name-defined]
        def __init__(self) -> None:
            super().__init__()
            self.data: dict[tuple[tuple[str, ...], str], Any] = {}

        async def abatch(self, ops: Iterable[Any]) -> list[Any]:
            return answer(base, self.data, ops)

    return AsyncOnly


@pytest.mark.parametrize("lib", ["graphkit", "langgraph"])
def test_an_async_only_batched_store_serves_sync_calls_from_other_threads(lib: str) -> None:
    """It could not even be made (``batch`` was abstract); LangGraph's runs the sync
    methods through ``abatch`` on the store's event loop, and refuses them on that loop."""
    make = async_only_store(lib)

    async def main() -> list[Any]:
        store = make()
        await store.aput(("n",), "k", {"v": 1})
        from_thread = await asyncio.to_thread(store.get, ("n",), "k")
        await asyncio.to_thread(store.put, ("n",), "j", {"v": 2})
        with pytest.raises(asyncio.InvalidStateError):
            store.get(("n",), "k")
        return [from_thread.value, (await store.aget(("n",), "j")).value]

    assert asyncio.run(main()) == [{"v": 1}, {"v": 2}]
