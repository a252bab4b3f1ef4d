"""The memory-store contract: every behaviour here runs against InMemoryStore and LMDBStore."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from graphkit.errors import (
    InvalidEmbeddingError,
    InvalidStoreConfigError,
    InvalidStoreQueryError,
    InvalidStoreRequestError,
)
from graphkit.store.base import validate_op_namespace
from graphkit.stores import (
    GetOp,
    InMemoryStore,
    InvalidNamespaceError,
    ListNamespacesOp,
    LMDBStore,
    MatchCondition,
    PutOp,
    SearchOp,
)
from graphkit.stores.store._core import IndexedStore

MakeStore = Callable[..., IndexedStore]


@pytest.fixture(params=["memory", "lmdb", "postgres"])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MakeStore]:
    """A factory for a fresh store of each kind (LMDB files under tmp_path; for
    PostgreSQL, each store gets an empty schema of its own)."""
    made: list[IndexedStore] = []
    pg_url = request.getfixturevalue("pg_url") if request.param == "postgres" else ""

    def make(**kwargs: Any) -> IndexedStore:
        store: IndexedStore
        if request.param == "memory":
            store = InMemoryStore(**kwargs)
        elif request.param == "lmdb":
            store = LMDBStore(tmp_path / f"db{len(made)}", **kwargs)
        else:
            from pg_server import fresh_schema

            from graphkit.store.postgres import PostgresStore

            store = PostgresStore(fresh_schema(pg_url, f"store{len(made)}"), **kwargs)
            store.setup()
        made.append(store)
        return store

    yield make
    for store in made:
        store.close()


class CountingEmbed:
    """A sync embed function that records its calls (HashEmbeddings underneath)."""

    def __init__(self, dims: int = 64) -> None:
        from graphkit.stores import HashEmbeddings

        self.inner = HashEmbeddings(dims)
        self.calls: list[list[str]] = []

    def __call__(self, texts: list[str]) -> list[list[float]]:
        self.calls.append(list(texts))
        return self.inner.embed_documents(texts)


def test_put_get_roundtrip_with_timestamps(make_store: MakeStore) -> None:
    store = make_store()
    store.put(("users", "1"), "prefs", {"theme": "dark", "nested": {"a": [1, 2]}})
    item = store.get(("users", "1"), "prefs")
    assert item is not None
    assert item.value == {"theme": "dark", "nested": {"a": [1, 2]}}
    assert item.namespace == ("users", "1") and item.key == "prefs"
    assert item.created_at == item.updated_at
    assert item.dict()["namespace"] == ["users", "1"]
    time.sleep(0.01)
    store.put(("users", "1"), "prefs", {"theme": "light"})
    again = store.get(("users", "1"), "prefs")
    assert again is not None and again.value == {"theme": "light"}
    assert again.created_at == item.created_at and again.updated_at > item.updated_at


def test_get_missing_and_delete(make_store: MakeStore) -> None:
    store = make_store()
    assert store.get(("a",), "nope") is None
    store.put(("a",), "k", {"v": 1})
    store.delete(("a",), "k")
    store.delete(("a",), "k")  # deleting twice is fine
    assert store.get(("a",), "k") is None
    assert store.search(("a",)) == []


def test_search_without_query_is_newest_first_and_pages(make_store: MakeStore) -> None:
    store = make_store()
    for i in range(5):
        store.put(("docs",), f"k{i}", {"i": i})
        time.sleep(0.002)
    keys = [r.key for r in store.search(("docs",), limit=10)]
    assert keys == ["k4", "k3", "k2", "k1", "k0"]
    assert [r.key for r in store.search(("docs",), limit=2, offset=1)] == ["k3", "k2"]
    assert all(r.score is None for r in store.search(("docs",)))


def test_namespace_prefix_is_label_exact(make_store: MakeStore) -> None:
    store = make_store(index={"dims": 64})
    store.put(("memories", "1"), "a", {"text": "alpha"})
    store.put(("memories", "10"), "b", {"text": "alpha"})
    store.put(("memories", "1", "deep"), "c", {"text": "alpha"})
    for query in (None, "alpha"):
        got = {r.key for r in store.search(("memories", "1"), query=query)}
        assert got == {"a", "c"}
    assert {r.key for r in store.search(("memories",), query="alpha")} == {"a", "b", "c"}


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        ({"color": "red"}, {"a", "c"}),
        ({"color": "red", "size": 3}, {"c"}),
        ({"size": {"$gt": 2}}, {"c"}),
        ({"size": {"$gte": 2, "$lt": 4}}, {"b", "c"}),
        ({"size": {"$ne": 3}}, {"a", "b", "d"}),
        ({"meta.owner": "bob"}, {"b"}),
        ({"meta": {"owner": "bob"}}, {"b"}),
        ({"size": {"$lte": 1}}, {"a"}),
        ({"size": {"$eq": 2}}, {"b"}),
        ({"missing": 1}, set()),
    ],
)
def test_filters(make_store: MakeStore, flt: dict[str, Any], expected: set[str]) -> None:
    store = make_store(index={"dims": 64, "fields": ["color"]})
    store.put(("x",), "a", {"color": "red", "size": 1})
    store.put(("x",), "b", {"color": "blue", "size": 2, "meta": {"owner": "bob"}})
    store.put(("x",), "c", {"color": "red", "size": 3})
    store.put(("x",), "d", {"color": "green", "size": "big"})
    assert {r.key for r in store.search(("x",), filter=flt)} == expected
    assert {r.key for r in store.search(("x",), filter=flt, query="red")} == expected


def test_query_ranks_by_similarity_with_scores(make_store: MakeStore) -> None:
    store = make_store(index={"dims": 384, "fields": ["text"]})
    memories = {
        "name": "Username is Bob",
        "food": "I like pizza with extra cheese",
        "weather": "The weather in Paris is sunny today",
        "color": "My favorite color is blue",
        "meeting": "Meeting with Alice at 3pm on Tuesday",
        "job": "I work as a software engineer",
    }
    for key, text in memories.items():
        store.put(("memories", "u1"), key, {"text": text})
    results = store.search(("memories", "u1"), query="what is my name?", limit=3)
    assert results[0].key == "name"
    scores = [r.score for r in results]
    assert all(s is not None for s in scores)
    assert scores == sorted(scores, reverse=True)  # type: ignore[type-var]
    assert [
        r.key for r in store.search(("memories", "u1"), query="what is my name?", offset=1, limit=2)
    ] == [r.key for r in results[1:3]]


def test_item_score_is_its_best_field(make_store: MakeStore) -> None:
    store = make_store(index={"dims": 64, "fields": ["title", "tags[*]"]})
    store.put(("d",), "one", {"title": "zebra", "tags": ["apple", "banana"]})
    store.put(("d",), "two", {"title": "banana bread", "tags": []})
    results = store.search(("d",), query="apple")
    assert results[0].key == "one"
    assert len({r.key for r in results}) == len(results) == 2  # one result per item


def test_index_false_and_per_item_fields(make_store: MakeStore) -> None:
    embed = CountingEmbed()
    store = make_store(index={"dims": 64, "embed": embed, "fields": ["text"]})
    store.put(("n",), "plain", {"text": "apple pie"}, index=False)
    store.put(("n",), "other", {"text": "zzz", "alt": "apple pie"}, index=["alt"])
    assert embed.calls == [["apple pie"]]  # only the per-item field was embedded
    results = store.search(("n",), query="apple pie")
    assert results[0].key == "other" and results[0].score is not None
    assert results[1].key == "plain" and results[1].score is None  # unembedded items come last


def test_batch_of_puts_makes_one_embed_call(make_store: MakeStore) -> None:
    embed = CountingEmbed()
    store = make_store(index={"dims": 64, "embed": embed, "fields": ["text"]})
    store.batch([PutOp(("b",), f"k{i}", {"text": f"note {i}"}) for i in range(20)])
    assert len(embed.calls) == 1 and len(embed.calls[0]) == 20


def test_batch_reads_see_state_before_writes_and_last_put_wins(make_store: MakeStore) -> None:
    store = make_store()
    store.put(("a",), "k", {"v": 0})
    results = store.batch(
        [
            PutOp(("a",), "k", {"v": 1}),
            GetOp(("a",), "k"),
            PutOp(("a",), "k", {"v": 2}),
            SearchOp(("a",)),
            PutOp(("new", "space"), "k", {"v": 3}),
            ListNamespacesOp(),  # not ("new", "space") yet, as in LangGraph's stores
        ]
    )
    assert results[0] is None and results[2] is None
    assert results[1].value == {"v": 0}  # type: ignore[union-attr]
    assert [r.value for r in results[3]] == [{"v": 0}]  # type: ignore[union-attr]
    assert results[5] == [("a",)]
    assert store.list_namespaces() == [("a",), ("new", "space")]
    item = store.get(("a",), "k")
    assert item is not None and item.value == {"v": 2}


def test_list_namespaces(make_store: MakeStore) -> None:
    store = make_store()
    for ns in [
        ("a", "b", "c"),
        ("a", "b", "d", "e"),
        ("a", "b", "d", "i"),
        ("a", "b", "f"),
        ("a", "c", "f"),
    ]:
        store.put(ns, "k", {"x": 1})
    assert store.list_namespaces(prefix=("a", "b"), max_depth=3) == [
        ("a", "b", "c"),
        ("a", "b", "d"),
        ("a", "b", "f"),
    ]
    assert store.list_namespaces(suffix=("f",)) == [("a", "b", "f"), ("a", "c", "f")]
    assert store.list_namespaces(prefix=("a", "*", "f")) == [("a", "b", "f"), ("a", "c", "f")]
    assert store.list_namespaces(limit=2, offset=1) == [("a", "b", "d", "e"), ("a", "b", "d", "i")]
    cond = (MatchCondition("prefix", ("a", "c")),)
    assert store.batch([ListNamespacesOp(match_conditions=cond)])[0] == [("a", "c", "f")]
    store.delete(("a", "c", "f"), "k")
    assert ("a", "c", "f") not in store.list_namespaces()


@pytest.mark.parametrize(
    ("namespace", "needle"),
    [
        ((), "empty"),
        (("a", ""), "empty label"),
        (("a", 1), "must be strings"),
        (("a.b",), "contains '.'"),
        (("a\x00b",), "NUL"),
        (["a"], "tuple"),
    ],
)
def test_bad_namespace_is_rejected_and_nothing_stored(
    make_store: MakeStore, namespace: Any, needle: str
) -> None:
    store = make_store()
    with pytest.raises(InvalidNamespaceError, match=needle):
        store.batch([PutOp(("ok",), "k", {"v": 1}), PutOp(namespace, "k", {"v": 1})])
    assert store.get(("ok",), "k") is None


def test_bad_key_value_and_dims_are_rejected_and_nothing_stored(make_store: MakeStore) -> None:
    store = make_store(index={"dims": 8, "embed": lambda texts: [[1.0] * 3 for _ in texts]})
    with pytest.raises(ValueError, match="non-empty"):
        store.put(("a",), "", {"v": 1})
    with pytest.raises(TypeError, match="must be dicts"):
        store.put(("a",), "k", "not a dict")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="must be dicts"):
        store.batch([PutOp(("a",), "k", ["list"])])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"dimension 3 .*dims=8"):
        store.batch([PutOp(("a",), "x", {"v": 1}, index=False), PutOp(("a",), "k", {"v": 1})])
    assert store.search(("a",)) == [] and store.list_namespaces() == []


@pytest.mark.parametrize(
    ("bad_row", "needle"),
    [
        ([float("nan")] * 4, "NaN or infinite"),
        ([1.0, float("inf"), 0.0, 0.0], "NaN or infinite"),
        ([1.0, "x", 0.0, 0.0], "numbers"),
        ([1.0, None, 0.0, 0.0], "None"),
        ([1e39, 0.0, 0.0, 0.0], "NaN or infinite"),  # beyond float32: inf once converted
        ([1.0, 0.0], "dimension 2"),
        ("abcd", "numbers"),
    ],
)
def test_a_bad_embedding_row_is_refused_before_anything_is_stored(
    make_store: MakeStore, bad_row: Any, needle: str
) -> None:
    def embed(texts: list[str]) -> list[Any]:
        return [bad_row if t == "bad" else [1.0, 0.0, 0.0, 0.0] for t in texts]

    store = make_store(index={"dims": 4, "embed": embed, "fields": ["text"]})
    store.put(("a",), "good", {"text": "good"})
    with pytest.raises(ValueError, match=needle):
        store.batch(
            [PutOp(("a",), "near", {"text": "near"}), PutOp(("a",), "bad", {"text": "bad"})]
        )
    with pytest.raises(ValueError, match=needle):
        store.put(("a",), "good", {"text": "bad"})  # an overwrite keeps the old value
    # Nothing of the refused batches was stored; the store still searches and overwrites.
    assert store.get(("a",), "bad") is None and store.get(("a",), "near") is None
    assert store.get(("a",), "good").value == {"text": "good"}  # type: ignore[union-attr]
    assert [(h.key, h.score) for h in store.search(("a",), query="good")] == [("good", 1.0)]
    store.put(("a",), "near", {"text": "near"})
    store.put(("a",), "good", {"text": "good again"})
    assert sorted(h.key for h in store.search(("a",), query="x")) == ["good", "near"]


def test_values_come_back_with_their_types_in_every_store(make_store: MakeStore) -> None:
    when = datetime(2024, 5, 1, 12, 30, tzinfo=timezone.utc)
    value = {
        "pair": (1, "a"),
        "when": when,
        "day": date(2024, 1, 2),
        "id": UUID(int=7),
        "tags": {"x", "y"},
        "nested": {"point": (1.5, 2.5), "items": [("k", 1)]},
    }
    store = make_store(index={"dims": 16, "fields": ["pair"]})
    store.put(("v",), "k", value)
    got = store.get(("v",), "k")
    assert got is not None and got.value == value
    assert type(got.value["pair"]) is tuple and type(got.value["nested"]["items"][0]) is tuple
    assert got.value["when"] == when and got.value["when"].tzinfo is not None
    [hit] = store.search(("v",), query="1 a")
    assert hit.value == value and type(hit.value["nested"]["point"]) is tuple


def test_bad_filter_operator_and_paging(make_store: MakeStore) -> None:
    store = make_store()
    with pytest.raises(ValueError, match=r"\$regex"):
        store.search(("a",), filter={"x": {"$regex": "."}})
    with pytest.raises(ValueError, match="limit"):
        store.search(("a",), limit=-1)


@pytest.mark.parametrize("flt", ["kind", ["kind"], 5])
def test_a_filter_that_is_not_a_dict_is_a_query_error(make_store: MakeStore, flt: Any) -> None:
    with pytest.raises(InvalidStoreQueryError, match="filter must be a dict"):  # AttributeError
        make_store().search(("a",), filter=flt)


@pytest.mark.parametrize("depth", ["2", -1, 1.5])
def test_a_max_depth_that_is_not_a_count_is_a_request_error(
    make_store: MakeStore, depth: Any
) -> None:
    store = make_store()
    store.put(("a", "b"), "k", {"x": 1})
    with pytest.raises(InvalidStoreRequestError, match="max_depth"):  # was TypeError
        store.list_namespaces(max_depth=depth)
    assert store.list_namespaces(max_depth=1) == [("a",)]


def test_a_nan_ttl_is_refused_instead_of_storing_an_item_that_is_already_gone(
    make_store: MakeStore,
) -> None:
    store = make_store()
    with pytest.raises(InvalidStoreRequestError, match="ttl must be a positive number"):
        store.put(("a",), "k", {"x": 1}, ttl=float("nan"))
    assert store.search(("a",)) == []
    with pytest.raises(InvalidStoreConfigError, match="default_ttl"):
        make_store(ttl={"default_ttl": float("nan")})


def test_a_query_embedded_as_non_numbers_is_an_embedding_error(make_store: MakeStore) -> None:
    def embed(texts: Sequence[str]) -> list[list[Any]]:
        return [["a", "b", "c", "d"] if t == "bad" else [1.0, 2.0, 3.0, 4.0] for t in texts]

    store = make_store(index={"dims": 4, "embed": embed, "fields": ["text"]})
    store.put(("a",), "k", {"text": "fine"})
    with pytest.raises(InvalidEmbeddingError, match="sequences of numbers"):  # ValueError
        store.search(("a",), query="bad")
    assert [i.key for i in store.search(("a",), query="fine")] == ["k"]


def _slow(store: IndexedStore) -> int:
    """How much to stretch TTL timings for stores that wait on a disk (an fsync on a
    busy machine can take tens of ms) or a database round trip."""
    return 1 if isinstance(store, InMemoryStore) else 5


def test_ttl_expires_items_and_sweep_deletes_them(make_store: MakeStore) -> None:
    store = make_store(index={"dims": 64}, ttl={"refresh_on_read": False})
    slow = _slow(store)
    store.put(("t",), "short", {"text": "fleeting"}, ttl=0.001 * slow)  # 60 ms
    store.put(("t",), "long", {"text": "fleeting thought"}, ttl=10)
    store.put(("t",), "forever", {"text": "fleeting forever"})
    assert store.get(("t",), "short") is not None
    time.sleep(0.1 * slow)
    assert store.get(("t",), "short") is None
    assert {r.key for r in store.search(("t",))} == {"long", "forever"}
    assert {r.key for r in store.search(("t",), query="fleeting")} == {"long", "forever"}
    assert store.sweep_ttl() == 1
    assert store.sweep_ttl() == 0


def test_list_namespaces_omits_namespaces_whose_items_all_expired(make_store: MakeStore) -> None:
    store = make_store(ttl={"refresh_on_read": False, "sweep_interval_minutes": None})
    slow = _slow(store)
    store.put(("gone",), "a", {"v": 1}, ttl=0.001 * slow)  # 60 ms
    store.put(("gone",), "b", {"v": 2}, ttl=0.001 * slow)
    store.put(("half",), "short", {"v": 3}, ttl=0.001 * slow)
    store.put(("half",), "long", {"v": 4}, ttl=10)
    store.put(("kept",), "k", {"v": 5})
    assert store.list_namespaces() == [("gone",), ("half",), ("kept",)]
    time.sleep(0.1 * slow)
    assert store.list_namespaces() == [("half",), ("kept",)]
    assert store.list_namespaces(prefix=("gone",)) == []
    assert store.search(("half",)) and [r.key for r in store.search(("half",))] == ["long"]


@pytest.mark.slow  # waits out real TTLs
def test_ttl_refresh_on_read_extends_life(make_store: MakeStore) -> None:
    probe = make_store()
    slow = _slow(probe)
    store = make_store(ttl={"default_ttl": 0.003 * slow, "refresh_on_read": True})  # 180 ms
    store.put(("t",), "k", {"v": 1})
    for _ in range(4):
        time.sleep(0.08 * slow)
        assert store.get(("t",), "k") is not None  # each read restarts the clock
    time.sleep(0.25 * slow)
    assert store.get(("t",), "k", refresh_ttl=False) is None


def test_lazy_sweep_runs_on_interval(make_store: MakeStore) -> None:
    store = make_store(ttl={"sweep_interval_minutes": 0.001})
    store.put(("t",), "k", {"v": 1}, ttl=0.0005)
    time.sleep(0.1)
    store.get(("t",), "other")  # any call sweeps once the interval passed
    assert store.sweep_ttl() == 0


async def test_async_twins(make_store: MakeStore) -> None:
    calls: list[int] = []

    async def aembed(texts: list[str]) -> list[list[float]]:
        from graphkit.stores import HashEmbeddings

        calls.append(len(texts))
        return HashEmbeddings(64).embed_documents(texts)

    store = make_store(index={"dims": 64, "embed": aembed})
    await store.aput(("a",), "k", {"text": "hello async"})
    item = await store.aget(("a",), "k")
    assert item is not None and item.value == {"text": "hello async"}
    results = await store.asearch(("a",), query="hello")
    assert results[0].key == "k" and results[0].score is not None
    assert await store.alist_namespaces() == [("a",)]
    await store.adelete(("a",), "k")
    assert await store.aget(("a",), "k") is None
    assert (await store.abatch([GetOp(("a",), "k")])) == [None]
    assert calls[0] == 1


def test_async_embed_from_sync_code_runs_it(make_store: MakeStore) -> None:
    async def aembed(texts: list[str]) -> list[list[float]]:
        return [[1.0, 0.0] for _ in texts]

    store = make_store(index={"dims": 2, "embed": aembed})
    store.put(("a",), "k", {"text": "x"})
    assert store.search(("a",), query="x")[0].score == pytest.approx(1.0)


def test_put_with_index_list_without_an_index_is_ignored(make_store: MakeStore) -> None:
    """As LangGraph documents: a store made without ``index=`` ignores ``put(index=...)``
    (so code written for an indexed store runs on a plain one), but a bad path still raises."""
    store = make_store()
    store.put(("a",), "k", {"text": "x"}, index=["text"])
    store.put(("a",), "j", {"text": "y"}, index=False)
    assert [(r.key, r.score) for r in store.search(("a",), query="x")] == [("j", None), ("k", None)]
    with pytest.raises(ValueError, match="index must be None, False or a list"):
        store.put(("a",), "k", {"text": "x"}, index="text")  # type: ignore[arg-type]


def test_query_without_index_is_ignored(make_store: MakeStore) -> None:
    store = make_store()
    store.put(("a",), "k", {"text": "x"})
    assert [(r.key, r.score) for r in store.search(("a",), query="x")] == [("k", None)]


def test_closed_store_says_so(make_store: MakeStore) -> None:
    store = make_store()
    store.close()
    with pytest.raises(RuntimeError, match="closed"):
        store.get(("a",), "k")


BAD_LABELS = [("a.b",), ("a\x00",), ("a", ""), (7,)]


@pytest.mark.parametrize("namespace", BAD_LABELS)
@pytest.mark.parametrize(
    "op",
    [
        lambda ns: GetOp(ns, "k"),
        lambda ns: PutOp(ns, "k", {"v": 1}),
        lambda ns: PutOp(ns, "k", None),
        lambda ns: SearchOp(ns),
        lambda ns: ListNamespacesOp((MatchCondition("prefix", ns),)),
        lambda ns: ListNamespacesOp((MatchCondition("suffix", ns),)),
    ],
    ids=["get", "put", "delete", "search", "prefix", "suffix"],
)
def test_validate_op_namespace_rejects_bad_labels_of_every_op(
    namespace: tuple[Any, ...], op: Callable[[tuple[Any, ...]], Any]
) -> None:
    with pytest.raises(InvalidNamespaceError, match=r"label|labels"):
        validate_op_namespace(op(namespace))


def test_validate_op_namespace_allows_empty_prefixes_wildcards_and_the_reserved_root() -> None:
    for op in (
        SearchOp(()),
        ListNamespacesOp(),
        ListNamespacesOp((MatchCondition("prefix", ("t", "*")), MatchCondition("suffix", ("*",)))),
        GetOp(("t", "a_%"), "k"),
        PutOp(("langgraph", "x"), "k", {"v": 1}),  # the reserved root is put()'s rule
    ):
        validate_op_namespace(op)


class _NoBatch:
    """Replaces batch/abatch on a store class: the test fails if either runs."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, cls: type) -> None:
        self.calls = 0

        def batch(store: Any, ops: Any) -> Any:
            self.calls += 1
            raise AssertionError("batch ran")

        async def abatch(store: Any, ops: Any) -> Any:
            self.calls += 1
            raise AssertionError("abatch ran")

        monkeypatch.setattr(cls, "batch", batch)
        monkeypatch.setattr(cls, "abatch", abatch)


@pytest.mark.parametrize("namespace", BAD_LABELS)
async def test_every_method_checks_the_namespace_before_batch(
    make_store: MakeStore, monkeypatch: pytest.MonkeyPatch, namespace: tuple[Any, ...]
) -> None:
    store = make_store()
    spy = _NoBatch(monkeypatch, type(store))
    calls: list[Callable[[], Any]] = [
        lambda: store.get(namespace, "k"),
        lambda: store.delete(namespace, "k"),
        lambda: store.search(namespace),
        lambda: store.list_namespaces(prefix=namespace),
        lambda: store.list_namespaces(suffix=namespace),
        lambda: store.put(namespace, "k", {"v": 1}),
    ]
    for call in calls:
        with pytest.raises(InvalidNamespaceError):
            call()
    acalls: list[Callable[[], Any]] = [
        lambda: store.aget(namespace, "k"),
        lambda: store.adelete(namespace, "k"),
        lambda: store.asearch(namespace),
        lambda: store.alist_namespaces(prefix=namespace),
        lambda: store.alist_namespaces(suffix=namespace),
        lambda: store.aput(namespace, "k", {"v": 1}),
    ]
    for acall in acalls:
        with pytest.raises(InvalidNamespaceError):
            await acall()
    assert spy.calls == 0


async def test_put_refuses_the_reserved_root_label_but_batch_accepts_it(
    make_store: MakeStore,
) -> None:
    store = make_store()
    with pytest.raises(InvalidNamespaceError, match="reserved"):
        store.put(("langgraph", "x"), "k", {"v": 1})
    with pytest.raises(InvalidNamespaceError, match="reserved"):
        await store.aput(("langgraph", "x"), "k", {"v": 1})
    assert store.get(("langgraph", "x"), "k") is None
    store.put(("x", "langgraph"), "k", {"v": 1})  # only the root is reserved
    await store.abatch([PutOp(("langgraph", "x"), "k", {"v": 2})])
    assert store.get(("langgraph", "x"), "k").value == {"v": 2}  # type: ignore[union-attr]
    store.delete(("langgraph", "x"), "k")
    assert store.get(("langgraph", "x"), "k") is None


async def test_empty_prefix_and_wildcard_like_labels_work_in_both_apis(
    make_store: MakeStore,
) -> None:
    store = make_store()
    await store.aput(("t", "a_%"), "k", {"v": 1})
    store.put(("t", "b", "child"), "k", {"v": 2})
    assert len(store.search(())) == 2 and len(await store.asearch(())) == 2
    assert [i.namespace for i in await store.asearch(("t", "a_%"))] == [("t", "a_%")]
    assert sorted(await store.alist_namespaces(prefix=("t", "*"), suffix=("*",))) == [
        ("t", "a_%"),
        ("t", "b", "child"),
    ]
    assert store.get((), "k") is None  # nothing can live at (): a get finds nothing
    store.delete((), "k")


@pytest.mark.parametrize(
    ("call", "error", "needle"),
    [
        (lambda s: s.put(("a",), "k" * 257, {"v": 1}), ValueError, "257 UTF-8 bytes; at most 256"),
        (lambda s: s.put(("a",), "é" * 129, {"v": 1}), ValueError, "258 UTF-8 bytes"),
        (lambda s: s.put(("a",), "k\ud800", {"v": 1}), ValueError, "lone surrogate"),
        (lambda s: s.get(("a",), "k" * 300), ValueError, "at most 256"),
        (lambda s: s.put(("a\udfff",), "k", {"v": 1}), InvalidNamespaceError, "lone surrogate"),
        (lambda s: s.search(("a\udfff",)), InvalidNamespaceError, "lone surrogate"),
        (lambda s: s.put(("n" * 200,), "k", {"v": 1}), InvalidNamespaceError, "at most 192"),
        (
            lambda s: s.put(tuple("abcdefgh" * 12), "k", {"v": 1}),  # 96 labels: 192 bytes
            None,
            "",
        ),
        (lambda s: s.put(tuple("abcdefgh" * 13), "k", {"v": 1}), InvalidNamespaceError, "208"),
        (
            lambda s: s.batch([PutOp(("a",), "ok", {"v": 1}), PutOp(("a",), "k" * 999, {"v": 1})]),
            ValueError,
            "at most 256",
        ),
    ],
)
def test_keys_and_labels_lmdb_cannot_hold_are_refused_alike_in_every_store(
    make_store: MakeStore, call: Callable[[IndexedStore], Any], error: type | None, needle: str
) -> None:
    store = make_store()
    if error is None:  # right at the limit: stored and read back in every store
        call(store)
        assert len(store.search(())) == 1
        return
    with pytest.raises(error, match=needle):
        call(store)
    assert store.search(()) == [] and store.list_namespaces() == []


def test_longest_allowed_key_and_namespace_round_trip_in_every_store(make_store: MakeStore) -> None:
    store = make_store(ttl={"default_ttl": 5})  # the TTL index key is the longest LMDB key
    ns = ("ü" * 63, "x", "y" * 62)  # (126 + 1) + (1 + 1) + (62 + 1) = 192 bytes
    key = "€" * 85 + "k"  # 255 + 1 = 256 bytes
    store.put(ns, key, {"v": 1})
    assert store.get(ns, key).value == {"v": 1}  # type: ignore[union-attr]
    assert [i.key for i in store.search(ns[:1])] == [key]
    assert store.sweep_ttl() == 0
    store.delete(ns, key)
    assert store.get(ns, key) is None


def test_ttl_sweeper_deletes_expired_items_in_the_background(make_store: MakeStore) -> None:
    """``start_ttl_sweeper``/``stop_ttl_sweeper`` as LangGraph's SQLite and PostgreSQL
    stores have them (code moving from ``SqliteStore`` to ``LMDBStore`` calls them)."""
    store = make_store()
    store.put(("n",), "gone", {"text": "x"}, ttl=0.002)  # 120 ms
    store.put(("n",), "kept", {"text": "y"})
    done = store.start_ttl_sweeper(sweep_interval_minutes=0.002)
    deadline = time.time() + 10
    while store._b_get(("n",), "gone") is not None and time.time() < deadline:
        time.sleep(0.05)  # (read below the API: a get hides an expired item unswept)
    assert store._b_get(("n",), "gone") is None
    assert store.get(("n",), "kept") is not None
    assert store.stop_ttl_sweeper() is True
    assert done.result(timeout=5) is None
    assert store.stop_ttl_sweeper() is False


def test_a_distance_type_other_than_cosine_is_refused_up_front(make_store: MakeStore) -> None:
    """LangGraph's PostgresStore takes ``distance_type``; ours scored by cosine whatever
    it said. Cosine (the default) and pgvector's ``ann_index_config`` are accepted."""
    index: dict[str, Any] = {"dims": 2, "embed": lambda texts: [[1.0, 0.0] for _ in texts]}
    make_store(index={**index, "distance_type": "cosine", "ann_index_config": {"kind": "hnsw"}})
    for distance in ("l2", "inner_product"):
        with pytest.raises(ValueError, match="cosine similarity only"):
            make_store(index={**index, "distance_type": distance})
