"""PostgresStore beyond the shared store contract: several workers on one database
see each other's memories, the change log, the cache-less exact search, setup."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from pg_server import fresh_schema

from graphkit.store.postgres import PostgresStore
from graphkit.store.postgres.aio import AsyncPostgresStore
from graphkit.stores.store.postgres_store import decode_ns, encode_ns

INDEX = {"dims": 64, "embed": "hash"}


@pytest.fixture
def url(pg_url: str, request: pytest.FixtureRequest) -> str:
    return fresh_schema(pg_url, "t_" + request.node.name.replace("[", "_").strip("]")[:50])


@pytest.fixture
def open_store(url: str) -> Iterator[Callable[..., PostgresStore]]:
    made: list[PostgresStore] = []

    def make(**kwargs: Any) -> PostgresStore:
        store = PostgresStore(url, **{"index": INDEX, **kwargs})
        store.setup()
        made.append(store)
        return store

    yield make
    for store in made:
        store.close()


def test_a_memory_one_worker_writes_is_found_by_anothers_next_search(
    open_store: Callable[..., PostgresStore],
) -> None:
    a, b = open_store(listen=False), open_store(listen=False)
    assert b.search(("user", "1"), query="tea") == []  # b has loaded (and cached) the store
    a.put(("user", "1"), "pref", {"text": "likes green tea"})
    found = b.search(("user", "1"), query="green tea")
    assert [item.key for item in found] == ["pref"]
    a.put(("user", "1"), "pref", {"text": "now prefers coffee"})
    assert b.get(("user", "1"), "pref").value == {"text": "now prefers coffee"}  # type: ignore[union-attr]
    assert b.search(("user", "1"), query="coffee")[0].value["text"] == "now prefers coffee"
    a.delete(("user", "1"), "pref")
    assert b.search(("user", "1"), query="coffee") == []
    assert b.list_namespaces() == []


def test_a_worker_in_another_process_sees_the_write(
    open_store: Callable[..., PostgresStore], url: str
) -> None:
    reader = open_store()
    assert reader.search(("docs",), query="x") == []
    code = textwrap.dedent(
        f"""
        from graphkit.store.postgres import PostgresStore
        with PostgresStore({url!r}, index={INDEX!r}) as store:
            store.put(("docs",), "d1", {{"text": "the quarterly report is due friday"}})
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
    found = reader.search(("docs",), query="quarterly report")
    assert [item.key for item in found] == ["d1"]


def test_the_listener_catches_up_without_a_search(
    open_store: Callable[..., PostgresStore],
) -> None:
    a, b = open_store(), open_store()
    b.search(("n",), query="x")
    generation = b._generation
    a.put(("n",), "k", {"text": "hello"})
    deadline = time.time() + 10
    while (b.vectors is None or len(b.vectors) == 0) and time.time() < deadline:
        time.sleep(0.05)
    # NOTIFY woke b's listener, which applied the change (b ran no batch meanwhile)
    assert b.vectors is not None and len(b.vectors) == 1
    assert b._generation > generation


def test_a_worker_behind_the_kept_log_reloads(open_store: Callable[..., PostgresStore]) -> None:
    a = open_store(changes_kept=2, listen=False)
    b = open_store(changes_kept=2, listen=False)
    b.search(("n",), query="x")
    for i in range(5):
        a.put(("n",), f"k{i}", {"text": f"item {i}"})
    found = b.search(("n",), query="item 3", limit=5)
    assert sorted(item.key for item in found) == [f"k{i}" for i in range(5)]
    assert b.list_namespaces() == [("n",)]


def test_labels_of_replaced_rows_are_reused_not_leaked(
    open_store: Callable[..., PostgresStore], url: str
) -> None:
    a, b = open_store(listen=False), open_store(listen=False)
    for round_ in range(3):
        a.put(("n",), "k", {"text": f"version {round_}"})
        b.put(("n",), "j", {"text": f"other {round_}"})
    with psycopg.connect(url) as conn:
        labels = [r[0] for r in conn.execute("SELECT label FROM graphkit_store_vectors")]
    assert len(labels) == 2 and max(labels) < 4
    found = b.search(("n",), query="version 2", limit=2)
    assert {item.key for item in found} == {"k", "j"}


def test_exact_search_without_the_cache_ranks_like_the_cache(
    open_store: Callable[..., PostgresStore],
) -> None:
    cached = open_store()
    for i, text in enumerate(["red apples", "green pears", "red cherries", "blue sky"]):
        cached.put(("fruit", str(i % 2)), f"k{i}", {"text": text, "i": i})
    cached.put(("fruit", "0"), "plain", {"text": "no vector"}, index=False)
    bare = open_store(vector_cache=False)
    for query in ["red", "green pears", "sky"]:
        want = [(r.key, round(r.score or 0, 5)) for r in cached.search(("fruit",), query=query)]
        got = [(r.key, round(r.score or 0, 5)) for r in bare.search(("fruit",), query=query)]
        assert got == want
    assert bare.vectors is not None and len(bare.vectors) == 0  # nothing cached
    hits = bare.search(("fruit",), query="red", filter={"i": 2})
    assert [r.key for r in hits] == ["k2"]


def test_dims_mismatch_says_how_to_open(open_store: Callable[..., PostgresStore]) -> None:
    open_store().put(("n",), "k", {"text": "x"})
    other = open_store(index={"dims": 32, "embed": "hash"})
    with pytest.raises(ValueError, match="64-dim vectors.*dims=64"):
        other.get(("n",), "k")


@pytest.mark.parametrize(
    "ns", [("a",), ("a", "b"), ("x\x01y",), ("\x01", "\x01\x02"), ("ünï", "\ud800")]
)
def test_namespace_encoding_round_trips_and_keeps_prefixes(ns: tuple[str, ...]) -> None:
    assert decode_ns(encode_ns(ns)) == ns
    assert encode_ns(ns).startswith(encode_ns(ns[:1]))
    assert not encode_ns(("a", "bc")).startswith(encode_ns(("a", "b")))


async def test_async_store(url: str) -> None:
    async with AsyncPostgresStore.from_conn_string(url, index=INDEX) as store:
        await store.setup()
        await store.aput(("n",), "k", {"text": "async memory"})
        found = await store.asearch(("n",), query="async memory")
        assert [item.key for item in found] == ["k"]


def test_langgraph_style_construction_and_ttl_sweeper(url: str) -> None:
    with PostgresStore.from_conn_string(
        url, pipeline=True, pool_config={"max_size": 3}, index=INDEX, ttl={"refresh_on_read": False}
    ) as store:
        store.setup()
        assert store.conn.max_size == 3
        store.put(("n",), "gone", {"text": "x"}, ttl=0.002)  # 120 ms
        store.put(("n",), "kept", {"text": "y"})
        done = store.start_ttl_sweeper(sweep_interval_minutes=0.002)
        deadline = time.time() + 10
        while store.get(("n",), "gone") is not None and time.time() < deadline:
            time.sleep(0.05)
        with psycopg.connect(url) as conn:  # the sweeper deleted the row itself
            deadline = time.time() + 10
            while time.time() < deadline:
                rows = conn.execute("SELECT key FROM graphkit_store ORDER BY key").fetchall()
                if rows == [("kept",)]:
                    break
                time.sleep(0.05)
        assert rows == [("kept",)]
        assert store.stop_ttl_sweeper() is True
        done.result(timeout=5)
        assert store.stop_ttl_sweeper() is False


async def test_async_store_ttl_sweeper_is_awaited_as_langgraphs(url: str) -> None:
    """LangGraph's ``AsyncPostgresStore.start_ttl_sweeper``/``stop_ttl_sweeper`` are
    coroutines: ``await store.start_ttl_sweeper()`` (it raised ``TypeError``: a
    ``concurrent.futures.Future`` cannot be awaited)."""
    async with AsyncPostgresStore.from_conn_string(url) as store:
        await store.setup()
        await store.aput(("n",), "gone", {"text": "x"}, ttl=0.002)  # 120 ms
        done = await store.start_ttl_sweeper(sweep_interval_minutes=0.002)
        deadline = time.time() + 10
        while store._b_get(("n",), "gone") is not None and time.time() < deadline:
            await asyncio.sleep(0.05)
        assert store._b_get(("n",), "gone") is None
        assert await store.stop_ttl_sweeper() is True
        assert await asyncio.wait_for(done, 5) is None
        assert await store.stop_ttl_sweeper() is False


def test_store_on_connections_made_as_langgraphs_docs_say(url: str) -> None:
    """A ``row_factory=dict_row`` connection (LangGraph's documented settings) failed
    every call with ``KeyError: 0``; an ``AsyncConnection`` was refused."""
    from psycopg.rows import dict_row

    settings = {"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row}
    with psycopg.Connection.connect(url, **settings) as conn:
        store = PostgresStore(conn)
        store.setup()
        store.put(("n",), "k", {"v": 1})
        assert store.get(("n",), "k").value == {"v": 1}  # type: ignore[union-attr]
        assert conn.execute("SELECT 1 AS one").fetchone() == {"one": 1}

    async def main() -> Any:
        async with await psycopg.AsyncConnection.connect(url, **settings) as conn:
            store = AsyncPostgresStore(conn)
            try:
                return (await store.aget(("n",), "k")).value  # type: ignore[union-attr]
            finally:
                store.close()

    assert asyncio.run(main()) == {"v": 1}
