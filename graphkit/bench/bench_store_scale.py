"""The memory store at 100k items: threshold crossing, crash recovery, recall, disk, fsync.

One workload, ``store_scale``, times a batch of 1,000 puts (embeddings given) into a
store that already holds 20k items, LMDBStore against LangGraph's InMemoryStore
(which persists nothing). Its metrics are the figures issue 12 asks of the store, each
measured once per run (they are one-off events, not loops):

- ``put at threshold max ms``: the slowest single ``put`` among the 40 around the
  10k-item index threshold (the graph is built in a background thread; LangGraph has
  no index, so its figure is the plain put); ``graph ready s`` how long after the
  crossing the graph was installed.
- ``fill us/item 10k`` / ``100k``: ``batch()`` calls of 1,000 puts into a fresh store
  (LMDBStore durable, one commit per batch; the 100k fill runs in a child process);
  items/s is 1e6 divided by it (us per item, so that the ratio column reads as
  elsewhere: above 1, graphkit is faster).
- ``reopen after SIGKILL s``: the child is killed right after its last batch returns;
  the time to open the store again (``LMDBStore(...)`` returning plus its first
  search), and ``catch-up s`` the time until every row is in the graph after that.
  The benchmark's own vectors (40M Python floats) are collected before the timer starts,
  as the harness does before every timed sample.
- ``recall@10``: the reopened store's top 10 against an exact scan of the same
  vectors, over 100 queries (LangGraph's brute force is exact: 1.0).
- ``LMDB bytes/item``, ``index file bytes/item``: pages in use in ``data.mdb`` (and
  the file's allocated size) and the saved hnswlib graph, per item.
- ``durable put ms`` / ``synced commit ms`` / ``put / commit``: a single
  ``LMDBStore.put`` against one ``LMDBEnv.write`` of the same bytes (record plus vector)
  in the same environment, medians of 200.

The vectors are bench_store's: a random 32-dim subspace of 384 dims plus noise.
Run: ``graphkit bench --only store_scale`` (takes a few minutes).
"""

from __future__ import annotations

import functools
import gc
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from graphkit.bench.bench_store import DIMS, _chunk, documents, embed, warm
from graphkit.bench.harness import Workload, format_table, run, scratch_dir
from graphkit.stores import LMDBStore, PutOp

N = 100_000
THRESHOLD = 10_000
BATCH = 1_000
NAMESPACES = 10
AFTER = 2_000
"""Items the crash child puts (in batches of 100) after its graph settled, before the kill."""

_CHILD = """
import sys, time
from graphkit.bench.bench_store_scale import AFTER, BATCH, _open, _ops, fill_lmdb, warm
path, n = sys.argv[1], int(sys.argv[2])
warm(n + AFTER)
seconds = fill_lmdb(path, n, keep_open=True)
print(f"FILLED {seconds:.6f}", flush=True)
store = _open[0]
start = time.perf_counter()
while not store.vectors.has_graph or store.vectors.fresh_count:
    store.search(("scale",), query="query 1", limit=1)  # installs a finished build
    time.sleep(0.05)
print(f"SETTLED {time.perf_counter() - start:.6f}", flush=True)
for lo in range(n, n + AFTER, BATCH // 10):
    store.batch(_ops(lo, lo + BATCH // 10))
print("DONE", flush=True)
time.sleep(600)
"""


def _index() -> dict[str, Any]:
    return {"dims": DIMS, "embed": embed, "fields": ["text"]}


def _ops(start: int, stop: int) -> list[PutOp]:
    return [
        PutOp(("scale", f"u{i % NAMESPACES}"), f"k{i}", {"text": f"doc {i}", "i": i})
        for i in range(start, stop)
    ]


_open: list[Any] = []
"""Stores kept open by ``fill_lmdb(keep_open=True)`` (the child is killed with them open)."""


def fill_lmdb(path: str, n: int, *, keep_open: bool = False) -> float:
    """Fill a new LMDBStore at ``path`` with ``n`` items in batches; the fill's seconds."""
    warm(n)
    store = LMDBStore(path, index=_index())  # type: ignore[arg-type]
    start = time.perf_counter()
    for lo in range(0, n, BATCH):
        store.batch(_ops(lo, min(n, lo + BATCH)))
    seconds = time.perf_counter() - start
    if keep_open:
        _open.append(store)
    else:
        store.close()
    return seconds


def _fill_langgraph(n: int) -> tuple[Any, float]:
    from langgraph.store.memory import InMemoryStore as LGInMemoryStore

    warm(n)
    store = LGInMemoryStore(index={"dims": DIMS, "embed": embed, "fields": ["text"]})
    start = time.perf_counter()
    for lo in range(0, n, BATCH):
        store.batch(_lg_ops(_ops(lo, min(n, lo + BATCH))))
    return store, time.perf_counter() - start


def _lg_ops(ops: list[PutOp]) -> list[Any]:
    from langgraph.store.base import PutOp as LGPutOp

    return [LGPutOp(op.namespace, op.key, op.value) for op in ops]


def _langgraph_available() -> bool:
    try:
        import langgraph.store.memory  # noqa: F401
    except ImportError:
        return False
    return True


def _put_at_threshold(store: Any, is_graphkit: bool) -> tuple[float, float]:
    """(slowest of 40 single puts around the threshold ms, seconds until the graph is in)."""
    warm(THRESHOLD + 100)
    for lo in range(0, THRESHOLD - 20, BATCH):
        ops = _ops(lo, min(THRESHOLD - 20, lo + BATCH))
        store.batch(ops if is_graphkit else _lg_ops(ops))
    latencies = []
    for i in range(THRESHOLD - 20, THRESHOLD + 20):
        t = time.perf_counter()
        store.put(("scale", f"u{i % NAMESPACES}"), f"k{i}", {"text": f"doc {i}", "i": i})
        latencies.append(time.perf_counter() - t)
        if i == THRESHOLD:
            crossed = time.perf_counter()
    ready = 0.0
    if is_graphkit:
        store.vectors.wait_graph()
        ready = time.perf_counter() - crossed
    return max(latencies) * 1e3, ready


def _put_raw(txn: Any, *, key: bytes, blob: bytes, db: Any) -> None:
    txn.put(key, blob, db=db)


def _durable_put_vs_commit(path: str) -> tuple[float, float]:
    """Medians (ms) of 200 single puts and of 200 synced commits of the same bytes."""
    warm(2_000)
    store = LMDBStore(path, index=_index())  # type: ignore[arg-type]
    with store:
        store.batch(_ops(0, 1_000))
        puts = []
        for i in range(1_000, 1_200):
            t = time.perf_counter()
            store.put(("scale", "u0"), f"k{i}", {"text": f"doc {i}", "i": i})
            puts.append(time.perf_counter() - t)
        env = store.env
        raw_db = env.db("bench_raw")
        with env.read() as txn:
            raw = txn.get(store._key(("scale", "u0"), "k1100"), db=store._items)
        assert raw is not None
        record = bytes(raw)
        blob = record + np.zeros(DIMS, np.float32).tobytes()
        commits = []
        for i in range(200):
            key = b"r%06d" % i
            t = time.perf_counter()
            env.write(functools.partial(_put_raw, key=key, blob=blob, db=raw_db))
            commits.append(time.perf_counter() - t)
    return statistics.median(puts) * 1e3, statistics.median(commits) * 1e3


def _disk_per_item(path: Path, n: int) -> tuple[float, float, float]:
    """(LMDB bytes in use, data.mdb allocated bytes, index file bytes) per item."""
    import lmdb

    env = lmdb.open(str(path), readonly=True, lock=False, max_dbs=32)
    try:
        info, stat = env.info(), env.stat()
        used = (info["last_pgno"] + 1) * stat["psize"]
    finally:
        env.close()
    allocated = os.stat(path / "data.mdb").st_blocks * 512
    index = path / "store_index.hnsw"
    index_bytes = index.stat().st_size if index.exists() else 0
    return used / n, allocated / n, index_bytes / n


def _kill_reopen(path: Path, n: int) -> dict[str, tuple[float, float | None]]:
    """Fill ``n`` items in a child, SIGKILL it, reopen; reopen/catch-up/recall/disk figures."""
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(path), str(n)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert child.stdout is not None
    lines = []
    try:
        for line in child.stdout:
            lines.append(line.split())
            if lines[-1][0] == "DONE":
                break
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    said = {words[0]: words[1:] for words in lines}
    fill_seconds = float(said["FILLED"][0])
    settle_seconds = float(said["SETTLED"][0])
    n += AFTER
    warm(n)
    gc.collect()  # the 40M floats warm() just made: their first full collection is not the store's
    start = time.perf_counter()
    store = LMDBStore(path, index=_index())  # type: ignore[arg-type]
    first = store.search(("scale",), query="query 0", limit=10)
    reopen = time.perf_counter() - start
    assert len(first) == 10
    vectors = store.vectors
    assert vectors is not None
    start = time.perf_counter()
    vectors.sync_graph()
    catch_up = time.perf_counter() - start
    found = store.search(("scale",), query="doc 123", limit=1)
    assert found and found[0].key == "k123", found
    mat = documents(n)
    asked = _chunk("query", 0)[:100]
    truth = np.argsort(-(asked @ mat.T), axis=1)[:, :10]
    hits = []
    start = time.perf_counter()
    for j in range(len(asked)):
        got = store.search(("scale",), query=f"query {j}", limit=10)
        hits.append(len({int(r.key[1:]) for r in got} & set(truth[j].tolist())) / 10)
    per_query = (time.perf_counter() - start) / len(asked)
    store.close()
    used, allocated, index_bytes = _disk_per_item(path, n)
    return {
        f"fill us/item {N // 1000}k": (fill_seconds / N * 1e6, None),
        "graph settled s after the 100k fill": (settle_seconds, None),
        "reopen after SIGKILL s": (reopen, None),
        "catch-up after reopen s": (catch_up, None),
        "recall@10": (float(np.mean(hits)), 1.0),
        "search ms/query (top 10)": (per_query * 1e3, None),
        "LMDB bytes/item (pages used)": (used, None),
        "LMDB bytes/item (file allocated)": (allocated, None),
        "index file bytes/item": (index_bytes, None),
    }


def scale_metrics(quick: bool) -> dict[str, tuple[float, float | None]]:
    """Every figure of the module docstring (``quick`` changes nothing: they are one-off)."""
    base = Path(tempfile.mkdtemp(prefix="bench_scale_"))
    lg = _langgraph_available()
    try:
        out: dict[str, tuple[float, float | None]] = {}
        ours = LMDBStore(str(base / "threshold"), index=_index())  # type: ignore[arg-type]
        put_max, ready = _put_at_threshold(ours, True)
        ours.close()
        lg_put_max = _put_at_threshold(_fill_langgraph(0)[0], False)[0] if lg else None
        out["put at threshold max ms"] = (put_max, lg_put_max)
        out["graph ready s after crossing"] = (ready, None)
        fill10 = fill_lmdb(str(base / "fill10k"), 10_000)
        out["fill us/item 10k"] = (
            fill10 / 10_000 * 1e6,
            _fill_langgraph(10_000)[1] / 10_000 * 1e6 if lg else None,
        )
        put_ms, commit_ms = _durable_put_vs_commit(str(base / "durable"))
        out["durable put ms"] = (put_ms, None)
        out["synced commit ms (same bytes)"] = (commit_ms, None)
        out["put / commit"] = (put_ms / commit_ms, None)
        scale = _kill_reopen(base / "kill", N)
        if lg:
            fill_lg = _fill_langgraph(N)[1]
            key = f"fill us/item {N // 1000}k"
            scale[key] = (scale[key][0], fill_lg / N * 1e6)
        out.update(scale)
        return out
    finally:
        shutil.rmtree(base, ignore_errors=True)


_scale_stores: dict[str, Any] = {}


TIMED_N = 20_000
"""Items in the store the timed batches go into (above the threshold: the graph exists)."""


def batch_putter(kind: str) -> Callable[[], object]:
    """One timed run: a batch of 1,000 new puts into a store already holding ``TIMED_N``."""
    if kind not in _scale_stores:
        if kind == "lmdb":
            path = scratch_dir("bench_scale_batch_")
            fill_lmdb(path, TIMED_N)
            store: Any = LMDBStore(path, index=_index())  # type: ignore[arg-type]
            assert store.vectors is not None
            store.vectors.sync_graph()
        else:
            store = _fill_langgraph(TIMED_N)[0]
        _scale_stores[kind] = store
    store = _scale_stores[kind]
    counter = [0]
    warm(TIMED_N + 50 * BATCH)

    def put_batch() -> object:
        # new keys; after 50 runs overwrites: still 1,000 embedded puts each
        lo = TIMED_N + (counter[0] % 50) * BATCH
        counter[0] += 1
        ops = _ops(lo, lo + BATCH)
        return store.batch(ops if kind == "lmdb" else _lg_ops(ops))

    return put_batch


WORKLOADS = [
    Workload(
        name="store_scale",
        description=f"a batch of {BATCH:,} puts (embeddings given) into a store of {TIMED_N:,}"
        f" (metrics: the store at {N:,} items)",
        graphkit=lambda: batch_putter("lmdb"),
        langgraph=lambda: batch_putter("langgraph"),
        units=BATCH,
        unit="put",
        repeat=5,
        metrics=scale_metrics,
    )
]


def main() -> None:
    """Run the scale workload and print the harness table."""
    print(format_table(run(WORKLOADS, quick="--quick" in sys.argv)))


if __name__ == "__main__":
    main()
