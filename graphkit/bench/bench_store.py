"""Memory-store benchmarks: semantic search latency and put throughput vs LangGraph.

Both sides get the same embedding function: a dict lookup returning precomputed
384-dim vectors shaped like real embeddings (a random 32-dim subspace plus
small noise), so the timings measure the store, not a model. Items live in 10
namespaces ("bench", "u0".."u9") and searches run over the ("bench",) prefix,
i.e. over all items (the case where LangGraph's brute force is at its best).

Run: ``.venv/bin/python -m graphkit.bench.harness store`` (or ``python -m
graphkit.bench.bench_store`` for the same table; ``--quick`` for 3 repetitions).
Extra metrics per size: bare hnswlib ``knn_query`` and a bare numpy scan on the
same vectors (the floor the store is compared against), the store/floor ratio,
and ANN recall@10 of the store's search against brute force.

Put throughput, each into a fresh empty store (made before timing): single
``put()`` calls and ``batch()`` calls of 100 puts, for both stores, against
LangGraph's InMemoryStore (LMDBStore commits durably, so its single puts are
fsync-bound). The in-memory index converts a put's vector rows in bulk at the next
search, so ``store_put_batch_memory_then_search`` times puts plus one search: the
end-to-end cost.

Put throughput above the ANN threshold (``store_put_above_threshold_*``): a store
already holding ABOVE_ITEMS items (graph built and settled before timing; one store
per run), then a burst of PUT_ITEMS more puts.
Rows added there wait in the index's fresh buffer while a background thread inserts
them into the hnswlib graph; the ``_synced`` workload also waits for every insert
(``VectorIndex.sync_graph``), i.e. it times the whole indexing cost. Without it the
thread (nice 10) is still inserting the last run's rows while the next runs (of both
sides) are timed, which adds noise: read the single/batch rows as the latency a
burst of puts sees, and the ``_synced`` row as the throughput the machine sustains.
"""

from __future__ import annotations

import atexit
import functools
import time
from collections.abc import Callable, Sequence
from typing import Any

import hnswlib
import numpy as np
import numpy.typing as npt

from graphkit.bench.harness import Workload, format_table, run, scratch_dir
from graphkit.stores import InMemoryStore, LMDBStore, PutOp
from graphkit.stores.store._core import IndexedStore

DIMS = 384
SIZES = (1_000, 10_000, 50_000)
QUERIES = {1_000: 20, 10_000: 10, 50_000: 3}
"""Searches per timed run, by store size (LangGraph takes ~2 s per search at 50k)."""
NAMESPACES = 10
PUT_ITEMS = 2_000
PUT_BATCH = 100
ABOVE_ITEMS = 15_000
"""Items already in the store for the above-threshold put workloads (threshold 10k)."""
PUT_SINGLE_LMDB = 200
"""Single puts timed on LMDBStore (each is a durable commit, ~0.3-1 ms)."""


TOTAL_DOCS = max(SIZES) + PUT_ITEMS
CHUNK = 1_000
"""Vectors are made in chunks of this many rows, each from its own seed, so a workload
makes only the rows it uses (document i is the same vector whatever the workload)."""


@functools.lru_cache(maxsize=1)
def _basis() -> npt.NDArray[np.float32]:
    rng = np.random.default_rng(0)
    return np.linalg.qr(rng.standard_normal((DIMS, 32)))[0].T.astype(np.float32)


@functools.cache
def _chunk(kind: str, index: int) -> npt.NDArray[np.float32]:
    """Rows ``index * CHUNK`` on of the "doc" or "query" vectors (unit length, structured:
    a random 32-dim subspace plus small noise)."""
    rng = np.random.default_rng([0 if kind == "doc" else 1, index])
    x = rng.standard_normal((CHUNK, 32)).astype(np.float32) @ _basis()
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    x += 0.1 * rng.standard_normal((CHUNK, DIMS)).astype(np.float32) / np.sqrt(DIMS)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@functools.cache
def _chunk_lists(kind: str, index: int) -> list[list[float]]:
    rows: list[list[float]] = _chunk(kind, index).tolist()
    return rows


def documents(n: int) -> npt.NDArray[np.float32]:
    """The first ``n`` document vectors."""
    return np.concatenate([_chunk("doc", c) for c in range(-(-n // CHUNK))])[:n]


def queries() -> npt.NDArray[np.float32]:
    """The query vectors."""
    return _chunk("query", 0)[: max(QUERIES.values())]


def warm(n: int) -> None:
    """Make the vectors of the first ``n`` documents and the queries (outside timings)."""
    for c in range(-(-n // CHUNK)):
        _chunk_lists("doc", c)
    _chunk_lists("query", 0)


def embed(texts: Sequence[str]) -> list[list[float]]:
    """The shared embedding function: a lookup of precomputed vectors ("doc 12")."""
    out = []
    for text in texts:
        kind, _, number = text.partition(" ")
        i = int(number)
        out.append(_chunk_lists(kind, i // CHUNK)[i % CHUNK])
    return out


def _index() -> dict[str, Any]:
    return {"dims": DIMS, "embed": embed, "fields": ["text"]}


def _ops(start: int, stop: int) -> list[PutOp]:
    return [
        PutOp(("bench", f"u{i % NAMESPACES}"), f"k{i}", {"text": f"doc {i}", "i": i})
        for i in range(start, stop)
    ]


_stores: dict[tuple[str, int], Any] = {}
_build_seconds: dict[tuple[str, int], float] = {}


def graphkit_store(kind: str, n: int) -> IndexedStore:
    """A filled store (built once per kind and size, outside the timings)."""
    key = (kind, n)
    if key not in _stores:
        warm(n)  # make the vectors outside the fill timing
        start = time.perf_counter()
        store: IndexedStore
        if kind == "memory":
            store = InMemoryStore(index=_index())  # type: ignore[arg-type]
        else:
            store = LMDBStore(scratch_dir("bench_store_"), index=_index())  # type: ignore[arg-type]
        for lo in range(0, n, 1000):
            store.batch(_ops(lo, min(n, lo + 1000)))
        assert store.vectors is not None
        store.vectors.sync_graph()  # rows still on their way into the graph: in, and timed
        _build_seconds[key] = time.perf_counter() - start
        _stores[key] = store
    return _stores[key]


def langgraph_store(n: int) -> Any:
    """LangGraph's InMemoryStore with the same items and embedding function."""
    key = ("langgraph", n)
    if key not in _stores:
        from langgraph.store.base import PutOp as LGPutOp
        from langgraph.store.memory import InMemoryStore as LGInMemoryStore

        warm(n)
        start = time.perf_counter()
        store = LGInMemoryStore(index={"dims": DIMS, "embed": embed, "fields": ["text"]})
        for lo in range(0, n, 1000):
            store.batch(
                [LGPutOp(op.namespace, op.key, op.value) for op in _ops(lo, min(n, lo + 1000))]
            )
        _build_seconds[key] = time.perf_counter() - start
        _stores[key] = store
    return _stores[key]


def searcher(store: Any, queries: int) -> Callable[[], object]:
    """One timed run: ``queries`` top-10 searches over the ("bench",) prefix."""

    def run_queries() -> object:
        return [store.search(("bench",), query=f"query {j}", limit=10) for j in range(queries)]

    return run_queries


def search_metrics(kind: str, n: int) -> Callable[[bool], dict[str, tuple[float, float | None]]]:
    """Bare hnswlib / numpy floors on the same vectors, and the store's recall@10."""

    def metrics(quick: bool) -> dict[str, tuple[float, float | None]]:
        mat = np.ascontiguousarray(documents(n))
        asked = queries()
        scan = _per_query(lambda q: np.argpartition(-(mat @ q), 10)[:10], asked)
        graph = hnswlib.Index(space="cosine", dim=DIMS)
        graph.init_index(max_elements=n, M=16, ef_construction=100)
        graph.add_items(mat, np.arange(n), num_threads=-1)
        graph.set_ef(128)
        ann = _per_query(lambda q: graph.knn_query(q, k=10, num_threads=1), asked)
        store = graphkit_store(kind, n)
        texts = [f"query {j}" for j in range(len(asked))]
        ours = _per_query(lambda t: store.search(("bench",), query=t, limit=10), texts)
        truth = np.argsort(-(asked @ mat.T), axis=1)[:, :10]
        recall = np.mean(
            [
                len(
                    {int(r.key[1:]) for r in store.search(("bench",), query=f"query {j}", limit=10)}
                    & set(truth[j].tolist())
                )
                / 10
                for j in range(len(asked))
            ]
        )
        out: dict[str, tuple[float, float | None]] = {
            "bare hnswlib ms/query": (ann * 1e3, None),
            "bare numpy scan ms/query": (scan * 1e3, None),
            "store / best bare": (ours / min(ann, scan), None),
            "recall@10": (float(recall), 1.0),
            "fill seconds": (_build_seconds[(kind, n)], _build_seconds.get(("langgraph", n))),
        }
        return out

    return metrics


def _per_query(fn: Callable[[Any], object], inputs: Sequence[Any] | npt.NDArray[Any]) -> float:
    """Best-of-3 mean seconds per call of ``fn`` over ``inputs``."""
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for x in inputs:
            fn(x)
        best = min(best, (time.perf_counter() - start) / len(inputs))
    return best


def _fresh_stores(kind: str, count: int) -> list[Any]:
    """``count`` empty stores made ahead, so opening (and deleting) one is not timed."""
    stores: list[Any] = []
    for _ in range(count):
        if kind == "memory":
            stores.append(InMemoryStore(index=_index()))  # type: ignore[arg-type]
        elif kind == "lmdb":
            stores.append(LMDBStore(scratch_dir("bench_put_"), index=_index()))  # type: ignore[arg-type]
        else:
            from langgraph.store.memory import InMemoryStore as LGInMemoryStore

            stores.append(LGInMemoryStore(index=_index()))  # type: ignore[arg-type]
    return stores


def _lg_ops(ops: list[PutOp]) -> list[Any]:
    from langgraph.store.base import PutOp as LGPutOp

    return [LGPutOp(op.namespace, op.key, op.value) for op in ops]


def putter(kind: str, mode: str, n: int, *, then_search: bool = False) -> Callable[[], object]:
    """One timed run: ``n`` puts (embedded + indexed) into a fresh, empty store.

    ``mode`` "batch": ``batch()`` calls of PUT_BATCH puts; "single": one ``put()`` per
    item. ``then_search``: one top-10 search follows (graphkit's in-memory index
    converts the rows it staged during the puts there, so put + search is the honest
    end-to-end cost). Stores are made before timing, 8 of them: the harness calls the
    callable for a warm-up, a calibration, then once per repetition, or more when a
    call takes under 20 ms (LangGraph's batches); past 8 calls a run makes its store
    (an empty store opens in microseconds in memory, ~1 ms for LMDB).
    """
    warm(n)
    stores = _fresh_stores(kind, 8)
    ops = _ops(0, n)
    batches = [ops[lo : lo + PUT_BATCH] for lo in range(0, n, PUT_BATCH)]
    if kind == "langgraph":
        batches = [_lg_ops(b) for b in batches]

    def run_puts() -> object:
        store = stores.pop() if stores else _fresh_stores(kind, 1)[0]
        if mode == "batch":
            for batch in batches:
                store.batch(batch)
        else:
            for op in ops:
                store.put(op.namespace, op.key, op.value)
        if then_search:
            store.search(("bench",), query="query 0", limit=10)
        return store

    return run_puts


ABOVE_STORES = {"memory": 5, "lmdb": 5, "langgraph": 10}
"""Pre-filled stores per above-threshold put workload (~4 s each to fill for graphkit,
0.3 s for LangGraph): the harness calls the callable for a warm-up, a calibration and
each repetition (graphkit's runs take over 20 ms: one call each; LangGraph's may be
repeated within a sample). A run after the pool is used up reuses an earlier store."""
ABOVE_REPEAT = 3


def _filled_stores(kind: str, count: int) -> list[Any]:
    """``count`` stores holding ABOVE_ITEMS items each, graph built and settled."""
    warm(TOTAL_DOCS)
    stores = _fresh_stores(kind, count)
    for i, store in enumerate(stores):
        for lo in range(0, ABOVE_ITEMS, 1000):
            ops = _ops(lo, lo + 1000)
            store.batch(_lg_ops(ops) if kind == "langgraph" else ops)
        if kind != "langgraph":
            assert store.vectors is not None and store.vectors.has_graph
            store.vectors.sync_graph()  # start from a settled graph
        if kind == "lmdb":
            _stores[(f"above_{id(stores)}_{i}", ABOVE_ITEMS)] = store  # closed at exit
    return stores


def above_threshold_putter(kind: str, mode: str, *, synced: bool = False) -> Callable[[], object]:
    """One timed run: PUT_ITEMS new puts into a store already holding ABOVE_ITEMS items.

    ``kind`` "memory" / "lmdb" (graphkit) or "langgraph". ``mode`` as in :func:`putter`.
    ``synced``: also wait until every new row is in the hnswlib graph (the whole
    indexing cost; without it, the graph inserts continue in the background after the
    run, as they would after a burst of puts in an application).
    """
    stores = _filled_stores(kind, ABOVE_STORES[kind])
    used: list[Any] = []
    runs: list[tuple[list[PutOp], list[Any]]] = []  # new keys for every run, made ahead
    for start in range(ABOVE_ITEMS, TOTAL_DOCS - PUT_ITEMS + 1, PUT_ITEMS):
        ops = _ops(start, start + PUT_ITEMS)
        batches = [ops[lo : lo + PUT_BATCH] for lo in range(0, PUT_ITEMS, PUT_BATCH)]
        runs.append((ops, [_lg_ops(b) for b in batches] if kind == "langgraph" else batches))
    runs.reverse()

    def run_puts() -> object:
        store = stores.pop() if stores else used[-1]  # pool used up: keep growing one
        used.append(store)
        ops, batches = runs.pop()
        if mode == "batch":
            for batch in batches:
                store.batch(batch)
        else:
            for op in ops:
                store.put(op.namespace, op.key, op.value)
        if synced and kind != "langgraph":
            store.vectors.sync_graph()
        return store

    return run_puts


def _above_workload(kind: str, mode: str, *, synced: bool = False) -> Workload:
    how = f"in batches of {PUT_BATCH}" if mode == "batch" else "one put() each"
    durable = " (LMDB: one fsync'd commit per call)" if kind == "lmdb" else ""
    wait = ", then wait until all are in the hnswlib graph" if synced else ""
    return Workload(
        name=f"store_put_above_threshold_{mode}_{kind}" + ("_synced" if synced else ""),
        description=(
            f"{kind} store holding {ABOVE_ITEMS:,} items (graph built): {PUT_ITEMS} more "
            f"puts {how}{durable}{wait}"
        ),
        graphkit=lambda: above_threshold_putter(kind, mode, synced=synced),
        langgraph=lambda: above_threshold_putter("langgraph", mode),
        units=PUT_ITEMS,
        unit="put",
        repeat=ABOVE_REPEAT,
    )


def _cleanup() -> None:
    for store in _stores.values():
        if isinstance(store, IndexedStore):
            store.close()


atexit.register(_cleanup)


def _put_workload(kind: str, mode: str, n: int, *, then_search: bool = False) -> Workload:
    how = f"in batches of {PUT_BATCH}" if mode == "batch" else "one put() each"
    durable = " (LMDB: one fsync'd commit per call)" if kind == "lmdb" else ""
    suffix = "_then_search" if then_search else ""
    return Workload(
        name=f"store_put_{mode}_{kind}{suffix}",
        description=(
            f"{kind} store: {n} puts {how}, embedded + indexed{durable}"
            + (", then one search" if then_search else "")
        ),
        graphkit=lambda: putter(kind, mode, n, then_search=then_search),
        langgraph=lambda: putter("langgraph", mode, n, then_search=then_search),
        units=n,
        unit="put",
        repeat=5,
    )


def _search_workload(kind: str, n: int) -> Workload:
    return Workload(
        name=f"store_search_{kind}_{n // 1000}k",
        description=f"{kind} store: {QUERIES[n]} top-10 searches over {n:,} items x {DIMS} dims",
        graphkit=lambda: searcher(graphkit_store(kind, n), QUERIES[n]),
        langgraph=lambda: searcher(langgraph_store(n), QUERIES[n]),
        units=QUERIES[n],
        unit="search",
        repeat=5 if n < 50_000 else 3,
        metrics=search_metrics(kind, n),
    )


WORKLOADS = [
    *(_search_workload(kind, n) for n in SIZES for kind in ("memory", "lmdb")),
    _put_workload("memory", "single", PUT_ITEMS),
    _put_workload("memory", "batch", PUT_ITEMS),
    _put_workload("memory", "batch", PUT_ITEMS, then_search=True),
    _put_workload("lmdb", "single", PUT_SINGLE_LMDB),
    _put_workload("lmdb", "batch", PUT_ITEMS),
    _above_workload("memory", "single"),
    _above_workload("memory", "batch"),
    _above_workload("memory", "single", synced=True),
    _above_workload("lmdb", "batch"),
]


def main() -> None:
    """Run the store workloads and print the harness table."""
    import sys

    print(format_table(run(WORKLOADS, quick="--quick" in sys.argv)))


if __name__ == "__main__":
    main()
