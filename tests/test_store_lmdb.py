"""LMDBStore persistence: reopen, the saved index (reload / rebuild), crashes, shared envs."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import zlib
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import msgpack
import numpy as np
import pytest

from graphkit.stores import LMDBEnv, LMDBStore, PutOp
from graphkit.stores.serde import SerdeError
from graphkit.stores.store._core import Record
from graphkit.stores.store.lmdb_store import (
    INDEX_FILE,
    STORE_FORMAT,
    _record_bytes,
    _record_from,
    _records_from,
    decode_key,
    decode_vector_row,
    encode_key,
    encode_prefix,
)

DIMS = 16


def seeded_embed(texts: list[str]) -> list[list[float]]:
    """Deterministic pseudo-random vector per text (a text's own vector is its best match)."""
    return [
        np.random.default_rng(zlib.crc32(t.encode())).standard_normal(DIMS).tolist() for t in texts
    ]


def index_config(threshold: int = 50) -> dict:  # type: ignore[type-arg]
    return {
        "dims": DIMS,
        "embed": seeded_embed,
        "fields": ["text"],
        "ann": {"exact_threshold": threshold},
    }


def settle_load(store: LMDBStore) -> None:
    """Wait for the background load of the saved graph, and for what its thread does once
    the graph is in (log, finish a pending publish)."""
    assert store.vectors is not None
    store.vectors.wait_graph()
    for thread in threading.enumerate():
        if thread.name == "stores-index-load":
            thread.join()


def fill(store: LMDBStore, n: int, ns: tuple[str, ...] = ("docs",)) -> None:
    store.batch([PutOp(ns, f"k{i}", {"text": f"text {i}", "i": i}) for i in range(n)])


def test_items_and_vectors_survive_reopen(tmp_path: Path) -> None:
    with LMDBStore(tmp_path, index=index_config()) as store:
        fill(store, 20)
        store.put(("docs",), "ttl", {"text": "brief"}, ttl=60)
        store.delete(("docs",), "k3")
    with LMDBStore(tmp_path, index=index_config()) as store:
        assert store.get(("docs",), "k3") is None
        item = store.get(("docs",), "k5")
        assert item is not None and item.value == {"text": "text 5", "i": 5}
        hits = store.search(("docs",), query="text 7", limit=1)
        assert hits[0].key == "k7" and hits[0].score == pytest.approx(1.0, abs=1e-5)
        assert store.list_namespaces() == [("docs",)]
        assert store.get(("docs",), "ttl") is not None


def test_typed_values_survive_reopen_and_unencodable_values_store_nothing(
    tmp_path: Path,
) -> None:
    when = datetime(2024, 5, 1, tzinfo=timezone.utc)
    with LMDBStore(tmp_path) as store:
        store.put(("v",), "k", {"pair": (1, 2), "when": when})
        with pytest.raises(SerdeError, match=r"'bad' in \('v',\).*object"):
            store.batch([PutOp(("v",), "ok", {"n": 1}), PutOp(("v",), "bad", {"x": object()})])
        assert store.get(("v",), "ok") is None and store.get(("v",), "bad") is None
    with LMDBStore(tmp_path) as store:
        item = store.get(("v",), "k")
        assert item is not None and item.value == {"pair": (1, 2), "when": when}
        assert type(item.value["pair"]) is tuple


def test_records_written_as_plain_msgpack_still_load(tmp_path: Path) -> None:
    with LMDBStore(tmp_path) as store:
        legacy = msgpack.packb([["old"], "k", {"v": [1, 2]}, 1.0, 2.0, None, None, []])
        store.env.write(lambda txn: txn.put(encode_key(("old",), "k"), legacy, db=store._items))
    with LMDBStore(tmp_path) as store:
        item = store.get(("old",), "k")
        assert item is not None and item.value == {"v": [1, 2]}
        assert store.list_namespaces() == [("old",)]


@pytest.mark.parametrize("n", [0, 1, 2, 15, 16, 300])
def test_records_decoded_together_equal_records_decoded_one_by_one(n: int) -> None:
    records = [
        Record(("u", str(i % 3)), f"k{i}", {"i": i, "t": (i, "x")}, 1.5, 2.5 + i, None, 3.0, [i])
        for i in range(n)
    ]
    raws: list[bytes | None] = [_record_bytes(r) for r in records]
    raws[1:1] = [None]  # a missing item stays None, in its place
    expected = [None if raw is None else _record_from(raw) for raw in raws]
    assert _records_from(raws) == expected
    legacy = msgpack.packb([["old"], "k", {"v": 1}, 1.0, 2.0, None, None, []])
    assert _records_from([*raws, legacy])[-1] == _record_from(legacy)  # plain msgpack: one by one
    if n:
        with pytest.raises(SerdeError, match="store item"):  # a corrupt record is named
            _records_from([*raws, raws[0][:6]])  # type: ignore[index]


def test_saved_graph_is_reloaded_without_rebuild(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with LMDBStore(tmp_path, index=index_config()) as store:
        fill(store, 200)
        assert store.vectors is not None
        store.vectors.wait_graph()
        assert store.vectors.has_graph
    assert (tmp_path / INDEX_FILE).exists()
    with caplog.at_level(logging.INFO, logger="stores"):
        store = LMDBStore(tmp_path, index=index_config())
        assert store.search(("docs",), query="text 42", limit=1)[0].key == "k42"  # exact
        settle_load(store)
    assert not [r for r in caplog.records if "rebuilding" in r.message]
    assert store.vectors is not None and store.vectors.has_graph
    assert store.search(("docs",), query="text 42", limit=1)[0].key == "k42"
    store.close()


def test_puts_above_the_threshold_are_searchable_at_once_and_saved_in_the_graph(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from graphkit.stores.index import VectorIndex

    monkeypatch.setattr(VectorIndex, "_drain", lambda self: None)  # rows stay fresh
    with LMDBStore(tmp_path, index=index_config()) as store:
        fill(store, 100)  # the graph is built at 50 rows
        assert store.vectors is not None
        store.vectors.wait_graph()
        assert store.vectors.has_graph
        store.put(("docs",), "new", {"text": "text new"})  # only in the fresh buffer
        store.put(("docs",), "k3", {"text": "text 3 again"})  # graph row -> fresh row
        store.put(("docs",), "new", {"text": "text new again"})  # fresh row -> fresh row
        store.delete(("docs",), "k7")  # graph row deleted
        assert store.vectors.fresh_count == 2
        for text, key in [("text new again", "new"), ("text 3 again", "k3"), ("text 8", "k8")]:
            assert store.search(("docs",), query=text, limit=1)[0].key == key
        assert "k7" not in {r.key for r in store.search(("docs",), query="text 7", limit=100)}
    assert store.vectors.fresh_count == 2  # close() saved the graph as it was...
    with caplog.at_level(logging.INFO, logger="stores"):
        store = LMDBStore(tmp_path, index=index_config())
        settle_load(store)
    assert not [r for r in caplog.records if "rebuilding" in r.message]
    assert store.vectors is not None and store.vectors.fresh_count == 2  # ...and the rest goes in
    assert store.search(("docs",), query="text new again", limit=1)[0].key == "new"
    assert store.search(("docs",), query="text 3 again", limit=1)[0].key == "k3"
    assert "k7" not in {r.key for r in store.search(("docs",), query="text 7", limit=100)}
    store.close()


@pytest.mark.parametrize("damage", ["missing", "stale", "corrupt"])
def test_bad_graph_file_is_rebuilt_with_one_log_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, damage: str
) -> None:
    with LMDBStore(tmp_path, index=index_config()) as store:
        fill(store, 200)
    graph = tmp_path / INDEX_FILE
    if damage == "missing":
        graph.unlink()
    elif damage == "corrupt":
        graph.write_bytes(b"\x00" * 100)
    else:  # LMDB moved on without the graph being saved (as after a crash)
        store = LMDBStore(tmp_path, index=index_config(), index_save_interval=1e9)
        settle_load(store)  # its loader thread logs too: not into the window below
        fill(store, 210)
        store.vectors = None  # simulate dying before close() could save
        store.env.close()
    with caplog.at_level(logging.INFO, logger="stores"):
        store = LMDBStore(tmp_path, index=index_config())
        settle_load(store)
    rebuilt = [r for r in caplog.records if "rebuilding" in r.message]
    caught_up = [r for r in caplog.records if "inserting them in the background" in r.message]
    if damage == "stale":  # the old graph is loaded and what changed since is re-inserted
        assert not rebuilt and len(caught_up) == 1
    else:
        assert len(rebuilt) == 1 and not caught_up
        assert rebuilt[0].levelno == (logging.INFO if damage == "missing" else logging.WARNING)
    probe = 205 if damage == "stale" else 5
    assert store.search(("docs",), query=f"text {probe}", limit=1)[0].key == f"k{probe}"
    store.close()


def test_shares_an_env_with_other_databases(tmp_path: Path) -> None:
    env = LMDBEnv(tmp_path)
    other = env.db("ckpt_example")
    env.write(lambda txn: txn.put(b"x", b"y", db=other))
    with LMDBStore(env=env, index=index_config()) as store:
        fill(store, 5)
    with env.read() as txn:
        assert txn.get(b"x", db=other) == b"y"
    with LMDBStore(env=env) as store:  # the env is still open: the store only dropped its ref
        assert store.get(("docs",), "k1") is not None
    env.close()


def test_reopening_with_other_dims_is_refused(tmp_path: Path) -> None:
    with LMDBStore(tmp_path, index=index_config()) as store:
        fill(store, 3)
    with pytest.raises(ValueError, match=r"holds 16-dim vectors but index\['dims'\]=8"):
        LMDBStore(tmp_path, index={"dims": 8})


def test_key_encoding_orders_prefixes_by_label() -> None:
    assert decode_key(encode_key(("a", "b"), "k\x00x")) == (("a", "b"), "k\x00x")
    assert encode_key(("a", "b"), "k").startswith(encode_prefix(("a",)))
    assert not encode_key(("ab",), "k").startswith(encode_prefix(("a",)))


def test_growing_the_map_keeps_writing(tmp_path: Path) -> None:
    with LMDBStore(tmp_path, map_size=256 * 1024, index=index_config(threshold=10_000)) as store:
        store.batch([PutOp(("big",), f"k{i}", {"text": "x" * 2000, "n": i}) for i in range(400)])
        assert len(store.search(("big",), limit=1000)) == 400


CHILD = textwrap.dedent(
    """
    import sys, zlib
    import numpy as np
    from graphkit.stores import LMDBStore, PutOp

    def embed(texts):
        return [np.random.default_rng(zlib.crc32(t.encode())).standard_normal(16).tolist() for t in texts]

    store = LMDBStore(sys.argv[1], index={"dims": 16, "embed": embed, "fields": ["text"],
                                          "ann": {"exact_threshold": 100}}, index_save_interval=0.05)
    batch = 0
    while True:
        ops = [PutOp(("crash", str(batch % 3)), f"b{batch}-{i}", {"text": f"t{batch}-{i}"}) for i in range(10)]
        if batch % 4 == 3:  # rewrites and deletes, too
            ops.append(PutOp(("crash", str((batch - 1) % 3)), f"b{batch - 1}-0", {"text": f"t{batch - 1}-0"}))
            ops.append(PutOp(("crash", str((batch - 2) % 3)), f"b{batch - 2}-1", None))
        store.batch(ops)
        print(batch, flush=True)
        batch += 1
    """
)


@pytest.mark.parametrize("kill_after", [7, pytest.param(40, marks=pytest.mark.slow)])
def test_kill_9_during_batched_puts_loses_nothing_committed(
    tmp_path: Path, kill_after: int
) -> None:
    path = tmp_path / "db"
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path)], stdout=subprocess.PIPE, text=True, env=env
    )
    assert proc.stdout is not None
    committed = -1
    for line in proc.stdout:
        committed = int(line)
        if committed >= kill_after:
            break
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deleted = {f"b{b - 2}-1" for b in range(committed + 1) if b % 4 == 3}

    with LMDBStore(
        path,
        index={
            "dims": 16,
            "embed": seeded_embed,
            "fields": ["text"],
            "ann": {"exact_threshold": 100},
        },
    ) as store:
        for b in range(committed + 1):
            for i in range(10):
                key = f"b{b}-{i}"
                item = store.get(("crash", str(b % 3)), key)
                if key in deleted:
                    assert item is None
                    continue
                assert item is not None, key
                hit = store.search(("crash", str(b % 3)), query=f"t{b}-{i}", limit=1)[0]
                assert hit.key == key and hit.score == pytest.approx(1.0, abs=1e-5)
        assert_consistent(store)


def assert_consistent(store: LMDBStore) -> None:
    """Every item's labels have vector rows pointing back at it, and nothing else exists."""
    items: dict[tuple[tuple[str, ...], str], list[int]] = {}
    with store.env.read() as txn:
        for raw_key, raw in txn.cursor(db=store._items):
            items[decode_key(raw_key)] = _record_from(raw).labels
        rows = {}
        for raw_label, raw in txn.cursor(db=store._vecs):
            item_key, _blob = decode_vector_row(raw, 16)
            rows[int.from_bytes(raw_label, "big")] = item_key
    expected = {label: item for item, labels in items.items() for label in labels}
    assert rows == expected
    assert store.vectors is not None and sorted(store.vectors.labels()) == sorted(rows)


async def test_async_writes_commit_off_the_event_loop(tmp_path: Path) -> None:
    with LMDBStore(tmp_path, index=index_config()) as store:
        loop_thread = threading.get_ident()
        commit_threads: list[int] = []
        real_commit = store._b_commit

        def slow_commit(writes: Any, rows: Any) -> None:
            commit_threads.append(threading.get_ident())
            time.sleep(0.2)  # a slow fsync
            real_commit(writes, rows)

        store._b_commit = slow_commit  # type: ignore[method-assign]
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        task = asyncio.create_task(ticker())
        await store.aput(("a",), "k", {"text": "hello"})
        await store.abatch([PutOp(("a",), "j", {"text": "world"})])
        await store.adelete(("a",), "j")
        task.cancel()
        assert len(commit_threads) == 3 and loop_thread not in commit_threads
        assert ticks >= 20  # the loop kept running through 0.6 s of commits
        item = await store.aget(("a",), "k")
        assert item is not None and item.value == {"text": "hello"}
        assert [h.key for h in await store.asearch(("a",), query="hello")] == ["k"]


_OPEN_AND_SEARCH = """
import logging, sys, zlib
import numpy as np
from graphkit.stores import LMDBStore
logging.basicConfig(level=logging.INFO, stream=sys.stdout)
def embed(texts):
    return [np.random.default_rng(zlib.crc32(t.encode())).standard_normal(16).tolist()
            for t in texts]
cfg = {"dims": 16, "embed": embed, "fields": ["text"], "ann": {"exact_threshold": 50}}
with LMDBStore(sys.argv[1], index=cfg) as store:
    print("FOUND", store.search(("docs",), query="text 7", limit=1)[0].key)
"""


def _open_in_child(path: Path) -> subprocess.CompletedProcess[str]:
    """Open the store and search in a fresh process: a crash there fails the test, not pytest."""
    return subprocess.run(
        [sys.executable, "-c", _OPEN_AND_SEARCH, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    "damage",
    [
        "header_bytes_0_8",  # the case: 8 header bytes changed (SIGSEGV/SIGFPE before)
        "header_bytes_8_16",
        "header_bytes_40_48",
        "one_byte_mid_file",
        "truncated",
        "appended",
        "other_stores_valid_graph",  # a well-formed hnswlib file, but not this store's
        "stamp_missing",
    ],
)
@pytest.mark.slow  # rebuilds an index per damage
def test_a_damaged_graph_file_never_crashes_a_reader_and_is_rebuilt(
    tmp_path: Path, damage: str
) -> None:
    store_dir, other_dir = tmp_path / "s", tmp_path / "o"
    with LMDBStore(store_dir, index=index_config()) as store:
        fill(store, 120)
    with LMDBStore(other_dir, index=index_config()) as other:
        other.batch([PutOp(("docs",), f"k{i}", {"text": f"other {i}"}) for i in range(120)])
    assert (other_dir / INDEX_FILE).read_bytes() != (store_dir / INDEX_FILE).read_bytes()
    graph = store_dir / INDEX_FILE
    data = bytearray(graph.read_bytes())
    if damage.startswith("header_bytes"):
        lo, hi = (int(x) for x in damage.split("_")[2:])
        data[lo:hi] = b"\xff\x7f\x00\x80\xfe\xff\xff\x7f"
    elif damage == "one_byte_mid_file":
        data[len(data) // 2] ^= 0x55
    elif damage == "truncated":
        data = data[: len(data) // 3]
    elif damage == "appended":
        data += b"\x00" * 64
    elif damage == "other_stores_valid_graph":
        data = bytearray((other_dir / INDEX_FILE).read_bytes())
    if damage == "stamp_missing":
        env = LMDBEnv(store_dir)
        meta = env.db("store_meta")
        env.write(lambda txn: txn.delete(b"index_stamp", db=meta))
        env.close()
    else:
        graph.write_bytes(bytes(data))
    child = _open_in_child(store_dir)
    assert child.returncode == 0, (child.returncode, child.stderr[-2000:])
    assert "FOUND k7" in child.stdout
    assert "rebuilding the vector index" in child.stdout + child.stderr
    again = _open_in_child(store_dir)  # the rebuilt graph was saved with a fresh stamp
    assert again.returncode == 0 and "FOUND k7" in again.stdout
    assert "rebuilding" not in again.stdout + again.stderr


def test_a_store_sees_what_another_writer_on_its_path_committed(tmp_path: Path) -> None:
    """Two stores on one path (as two processes would be): each catches up before it answers."""
    with (
        LMDBStore(tmp_path, index=index_config(threshold=20)) as a,
        LMDBStore(tmp_path, index=index_config(threshold=20)) as b,
    ):
        fill(a, 30)  # a graph exists in a; b has none yet
        assert b.search(("docs",), query="text 12", limit=1)[0].key == "k12"
        b.put(("docs", "b"), "new", {"text": "from b"})
        b.put(("docs",), "k3", {"text": "k3 rewritten by b"})
        b.delete(("docs",), "k4")
        assert a.search(("docs",), query="from b", limit=1)[0].key == "new"
        assert a.search(("docs",), query="k3 rewritten by b", limit=1)[0].key == "k3"
        assert "k4" not in {h.key for h in a.search(("docs",), query="text 4", limit=50)}
        assert a.list_namespaces() == [("docs",), ("docs", "b")]
        a.put(("docs",), "k5", {"text": "k5 by a"})  # a label b freed may be reused here
        b.put(("docs",), "k6", {"text": "k6 by b"})
        for store in (a, b):
            for text, key in [("k5 by a", "k5"), ("k6 by b", "k6"), ("text 20", "k20")]:
                assert store.search(("docs",), query=text, limit=1)[0].key == key
            assert len(store.search(("docs",), query="text", limit=100)) == 30


_WRITER = """
import sys, zlib
import numpy as np
from graphkit.stores import LMDBStore
def embed(texts):
    return [np.random.default_rng(zlib.crc32(t.encode())).standard_normal(16).tolist()
            for t in texts]
path, me, n, others = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
cfg = {"dims": 16, "embed": embed, "fields": ["text"], "ann": {"exact_threshold": 40}}
bad = 0
with LMDBStore(path, index=cfg) as store:
    for i in range(n):
        store.put(("shared",), f"w{me}-{i}", {"text": f"w{me} item {i}"})
        store.put(("shared",), "hot", {"text": f"hot by w{me} {i}"})  # everyone overwrites it
        if i % 7 == 3:
            store.delete(("shared",), f"w{me}-{i - 1}")
        if i % 3 == 0:
            for w in range(others):  # search others' items: a hit's vector must be its own
                text = f"w{w} item {i // 2}"
                for hit in store.search(("shared",), query=text, limit=3):
                    if hit.score > 0.9999 and hit.value["text"] != text:
                        bad += 1
                        print("WRONG VECTOR", text, hit.key, hit.value, hit.score, file=sys.stderr)
            own = store.search(("shared",), query=f"w{me} item {i}", limit=1)[0]
            if own.key != f"w{me}-{i}":
                bad += 1
                v = store.vectors
                print("OWN MISSED", me, i, own.key, own.score, len(v), v.has_graph,
                      v.fresh_count, file=sys.stderr)
print("BAD", bad)
"""


@pytest.mark.slow  # several writer processes
def test_processes_sharing_a_path_never_share_a_vector_slot(tmp_path: Path) -> None:
    workers, n = 4, 60
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(tmp_path), str(w), str(n), str(workers)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(workers)
    ]
    for p in procs:
        out, err = p.communicate(timeout=600)
        assert p.returncode == 0, err[-2000:]
        assert "BAD 0" in out, (out, err[-2000:])
    expected = {
        f"w{w}-{i}": f"w{w} item {i}"
        for w in range(workers)
        for i in range(n)
        if not (i + 1 < n and (i + 1) % 7 == 3)  # deleted one step later
    }
    with LMDBStore(tmp_path, index=index_config(threshold=40)) as store:
        items = {i.key: i for i in store.search(("shared",), limit=10_000)}
        assert set(items) == {*expected, "hot"}
        # Every item's rows are its own: labels unique, each vector row names its item.
        env = store.env
        with env.read() as txn:
            rows = {
                struct_label(k): decode_vector_row(v, 16)[0]
                for k, v in txn.cursor(db=env.db("store_vectors"))
            }
            records = [_record_from(v) for _, v in txn.cursor(db=env.db("store_items"))]
        labels = [label for r in records for label in r.labels]
        assert len(labels) == len(set(labels)) == len(rows)
        for r in records:
            assert all(rows[label] == (r.namespace, r.key) for label in r.labels)
        for key, text in expected.items():  # and search finds each item by its own text
            hit = store.search(("shared",), query=text, limit=1)[0]
            assert hit.key == key, (hit.key, hit.score, store.vectors.fresh_count)


def struct_label(raw: bytes) -> int:
    return int.from_bytes(raw, "big")


def test_deleting_an_absent_item_commits_nothing(tmp_path: Path) -> None:
    with LMDBStore(tmp_path) as store:
        store.put(("a",), "k", {"v": 1})
        before = store._generation
        store.delete(("a",), "missing")
        store.batch([PutOp(("a",), "gone", None), PutOp(("b",), "x", None)])
        assert store._generation == before
        store.delete(("a",), "k")
        assert store._generation == before + 1 and store.get(("a",), "k") is None
        assert store.list_namespaces() == []


def test_a_sweep_never_deletes_what_another_writer_rewrote_meanwhile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with LMDBStore(tmp_path) as a, LMDBStore(tmp_path) as b:
        a.put(("n",), "k", {"v": "old"}, ttl=0.001)
        time.sleep(0.1)
        stale = a._b_get(("n",), "k")  # what a read before b's write
        assert stale is not None and not stale.live(time.time())
        b.put(("n",), "k", {"v": "new"})  # rewritten without a TTL
        monkeypatch.setattr(a, "_b_expired", lambda now: [(("n",), "k")])
        monkeypatch.setattr(a, "_b_get", lambda ns, key: stale)
        assert a.sweep_ttl() == 0
        monkeypatch.undo()
        assert a.get(("n",), "k").value == {"v": "new"}  # type: ignore[union-attr]
        assert a.list_namespaces() == b.list_namespaces() == [("n",)]


def test_a_store_written_before_labels_were_counted_in_lmdb_never_reuses_a_live_label(
    tmp_path: Path,
) -> None:
    with LMDBStore(tmp_path, index=index_config()) as store:
        fill(store, 10)
    env = LMDBEnv(tmp_path)
    meta = env.db("store_meta")
    env.write(lambda txn: txn.delete(b"next_label", db=meta))  # as an older version left it
    env.close()
    with LMDBStore(tmp_path, index=index_config()) as store:
        store.put(("docs",), "new", {"text": "brand new"})
        with store.env.read() as txn:
            records = [_record_from(v) for _, v in txn.cursor(db=store.env.db("store_items"))]
        labels = [label for r in records for label in r.labels]
        assert len(labels) == len(set(labels)) == 11
        assert store.search(("docs",), query="text 3", limit=1)[0].key == "k3"
        assert store.search(("docs",), query="brand new", limit=1)[0].key == "new"


# -- the graph built in the background, saved as it grows, reloaded after a crash -------------


def test_a_put_during_a_background_build_returns_and_its_item_is_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from graphkit.stores.index import VectorIndex

    gate = threading.Event()
    run_build = VectorIndex._run_build

    def gated(index: VectorIndex, build: Any, mat: Any) -> None:
        gate.wait(60)
        run_build(index, build, mat)

    monkeypatch.setattr(VectorIndex, "_run_build", gated)
    with LMDBStore(tmp_path, index=index_config(threshold=50)) as store:
        fill(store, 60)  # crosses the threshold: the build starts, and waits at the gate
        assert store.vectors is not None and store.vectors.building
        store.put(("docs",), "new", {"text": "put during the build"})
        store.put(("docs",), "k3", {"text": "k3 rewritten during the build"})
        store.delete(("docs",), "k4")
        queries = ["put during the build", "k3 rewritten during the build", "text 4", "text 9"]
        before = [[(h.key, h.score) for h in store.search(("docs",), query=q)] for q in queries]
        assert before[0][0][0] == "new" and before[1][0][0] == "k3"
        assert "k4" not in {key for key, _ in before[2]}
        assert not store.vectors.has_graph  # all of that was answered by exact scans
        gate.set()
        store.vectors.wait_graph()
        assert store.vectors.has_graph
        after = [[(h.key, h.score) for h in store.search(("docs",), query=q)] for q in queries]
        assert [[k for k, _ in hits] for hits in after] == [[k for k, _ in hits] for hits in before]
        for hits_after, hits_before in zip(after, before, strict=True):
            assert [s for _, s in hits_after] == pytest.approx(
                [s for _, s in hits_before], abs=1e-5
            )


AUTOSAVE_CHILD = textwrap.dedent(
    """
    import sys, zlib
    import numpy as np
    from graphkit.stores import LMDBStore, PutOp

    def embed(texts):
        return [np.random.default_rng(zlib.crc32(t.encode())).standard_normal(16).tolist() for t in texts]

    cfg = {"dims": 16, "embed": embed, "fields": ["text"],
           "ann": {"exact_threshold": 50, "save_every": 64}}
    store = LMDBStore(sys.argv[1], index=cfg)  # index_save_interval: the default 300 s
    batch = 0
    while True:
        store.batch([PutOp(("n", str(batch % 3)), f"b{batch}-{i}", {"text": f"t{batch}-{i}"})
                     for i in range(20)])
        if batch % 5 == 4:  # overwrite and delete some: labels freed and reused
            store.put(("n", str((batch - 1) % 3)), f"b{batch - 1}-0", {"text": f"again {batch}"})
            store.delete(("n", str((batch - 2) % 3)), f"b{batch - 2}-1")
        print(batch, flush=True)
        batch += 1
    """
)


def test_after_a_sigkill_the_autosaved_graph_is_reloaded_and_nothing_committed_is_lost(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "db"
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    proc = subprocess.Popen(
        [sys.executable, "-c", AUTOSAVE_CHILD, str(path)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    committed, saved_at = -1, None
    try:
        for line in proc.stdout:
            committed = int(line)
            if saved_at is None and (path / INDEX_FILE).exists():
                saved_at = committed  # the background thread saved a graph: go on a while
            if saved_at is not None and committed >= saved_at + 6:
                break
            assert committed < 2000, "no graph was saved in the background"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    cfg = index_config(threshold=50)
    with caplog.at_level(logging.INFO, logger="stores"):
        store = LMDBStore(path, index=cfg)
        settle_load(store)
    rebuilt = [r for r in caplog.records if "rebuilding" in r.getMessage()]
    with store:
        assert store.vectors is not None
        # wherever the kill landed, inside a publish too: the graph is loaded, not rebuilt
        assert not rebuilt
        assert store.vectors.has_graph
        assert store.vectors.fresh_count < len(store.vectors)  # only what changed since
        for b in range(committed + 1):
            for i in range(20):
                key = f"b{b}-{i}"
                if i == 1 and b + 2 <= committed and (b + 2) % 5 == 4:
                    assert store.get(("n", str(b % 3)), key) is None
                    continue
                text = (
                    f"again {b + 1}"
                    if i == 0 and (b + 1) % 5 == 4 and b + 1 <= committed
                    else f"t{b}-{i}"
                )
                hit = store.search(("n", str(b % 3)), query=text, limit=1)[0]
                assert hit.key == key and hit.score == pytest.approx(1.0, abs=1e-5), (key, text)
        assert_consistent(store)


def _as_format_1(path: Path) -> None:
    """Rewrite a store's vector rows as format 1 wrote them, and drop its format key."""
    env = LMDBEnv(path)
    vecs, meta = env.db("store_vectors"), env.db("store_meta")

    def downgrade(txn: Any) -> None:
        rows = [(bytes(k), bytes(v)) for k, v in txn.cursor(db=vecs)]
        for k, v in rows:
            (ns, key), blob = decode_vector_row(v, DIMS)
            txn.put(k, msgpack.packb([list(ns), key, "text", blob], use_bin_type=True), db=vecs)
        txn.delete(b"format", db=meta)

    env.write(downgrade)
    env.close()


def test_a_format_1_store_is_read_as_it_is_read_only_and_migrated_when_opened_to_write(
    tmp_path: Path,
) -> None:
    with LMDBStore(tmp_path, index=index_config()) as store:
        fill(store, 30)
    _as_format_1(tmp_path)
    reader = LMDBStore.open_existing(tmp_path, embed=seeded_embed)
    with reader:
        assert reader.search(("docs",), query="text 7", limit=1)[0].key == "k7"
    with LMDBStore(tmp_path, index=index_config()) as store:  # migrates, in one transaction
        assert store.search(("docs",), query="text 7", limit=1)[0].key == "k7"
        store.put(("docs",), "k8", {"text": "k8 after the migration"})
        assert_consistent(store)
        with store.env.read() as txn:
            assert txn.get(b"format", db=store._meta) == str(STORE_FORMAT).encode()
    with LMDBStore(tmp_path, index=index_config()) as store:
        assert store.search(("docs",), query="k8 after the migration", limit=1)[0].key == "k8"
        assert store.search(("docs",), query="text 9", limit=1)[0].key == "k9"


def test_a_store_in_a_newer_format_is_refused_naming_the_fix(tmp_path: Path) -> None:
    from graphkit.errors import StoreError
    from graphkit.stores.store.lmdb_store import StoreFormatError

    with LMDBStore(tmp_path, index=index_config()) as store:
        fill(store, 3)
        store.env.write(lambda txn: txn.put(b"format", b"99", db=store._meta))
    with pytest.raises(StoreFormatError, match="format 99.*upgrade graphkit") as info:
        LMDBStore(tmp_path, index=index_config())
    assert isinstance(info.value, StoreError)
    env = LMDBEnv(tmp_path)  # nothing was changed: the store is as it was
    meta = env.db("store_meta")
    with env.read() as txn:
        assert txn.get(b"format", db=meta) == b"99"
    env.close()


def _killed_mid_publish(path: Path, crash: str) -> None:
    """A store whose last graph save was killed at ``crash`` (the store itself is left as a
    SIGKILL leaves it: nothing saved on close). 200 items were saved in a graph by close();
    then 20 more were put and the graph saved again, up to the crash point."""
    from graphkit.stores.store.lmdb_store import NEXT_FILE

    with LMDBStore(path, index=index_config()) as store:
        fill(store, 200)
    store = LMDBStore(path, index=index_config(), index_save_interval=1e9)
    settle_load(store)
    store.batch([PutOp(("docs",), f"n{i}", {"text": f"new {i}"}) for i in range(20)])
    assert store.vectors is not None
    nxt = path / NEXT_FILE

    def publish(stamp: Any, tmp: Path, dest: Path) -> None:
        if crash == "file_moved_stamp_not_committed":
            os.replace(tmp, nxt)
            return
        raw = store._commit_graph(stamp, tmp)  # the stamp of the file at NEXT_FILE commits
        if crash == "moved_on_mark_not_cleared":
            os.replace(nxt, dest)
        elif crash == "next_publish_killed_after_finishing_this_one":
            os.replace(nxt, dest)  # its step 1 finished this save, then moved its own file in
            nxt.write_bytes(b"\x00" * 4096)  # and was killed before its stamp committed
        del raw

    assert store.vectors.save_graph(store.index_path, publish=publish) is not None
    store.vectors = None  # dies without saving again
    store.env.close()


@pytest.mark.parametrize(
    "crash",
    [
        "file_moved_stamp_not_committed",
        "stamp_committed_not_moved_on",
        "moved_on_mark_not_cleared",
        "next_publish_killed_after_finishing_this_one",
    ],
)
def test_a_graph_save_killed_mid_publish_loads_without_rebuild_and_loses_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch, crash: str
) -> None:
    from graphkit.stores.index import VectorIndex
    from graphkit.stores.store.lmdb_store import NEXT_FILE

    _killed_mid_publish(tmp_path, crash)
    monkeypatch.setattr(VectorIndex, "_drain", lambda self: None)  # fresh rows stay fresh
    with caplog.at_level(logging.INFO, logger="stores"):
        store = LMDBStore(tmp_path, index=index_config())
        settle_load(store)
    with store:
        assert not [r for r in caplog.records if "rebuilding" in r.getMessage()]
        assert store.vectors is not None and store.vectors.has_graph
        if crash == "file_moved_stamp_not_committed":  # the old graph, plus the 20 since
            assert store.vectors.fresh_count == 20
        else:  # rolled forward: the graph holding all 220 rows
            assert store.vectors.fresh_count == 0
        assert not (tmp_path / NEXT_FILE).exists()  # moved on, or removed as uncommitted
        for key, text in [("k5", "text 5"), ("k199", "text 199"), ("n3", "new 3")]:
            assert store.search(("docs",), query=text, limit=1)[0].key == key
        assert len(store.search(("docs",), limit=1000)) == 220
    with caplog.at_level(logging.INFO, logger="stores"):
        again = LMDBStore(tmp_path, index=index_config())  # and the next open: the same
        settle_load(again)
    with again:
        assert not [r for r in caplog.records if "rebuilding" in r.getMessage()]
        assert again.vectors is not None and again.vectors.has_graph


def test_a_read_only_open_loads_a_pending_graph_and_leaves_the_files_alone(
    tmp_path: Path,
) -> None:
    from graphkit.stores.store.lmdb_store import NEXT_FILE

    _killed_mid_publish(tmp_path, "stamp_committed_not_moved_on")
    env = LMDBEnv(tmp_path, readonly=True)
    try:
        store = LMDBStore(env=env, index=index_config())
    finally:
        env.close()
    settle_load(store)
    with store:
        assert store.vectors is not None and store.vectors.has_graph
        assert store.vectors.fresh_count == 0
        assert store.search(("docs",), query="new 3", limit=1)[0].key == "n3"
    assert (tmp_path / NEXT_FILE).exists()


@pytest.mark.parametrize("junk", [False, True])
def test_the_next_save_finishes_a_killed_publish_checking_the_file_first(
    tmp_path: Path, junk: bool
) -> None:
    """A save that finds a publish pending (killed between its two transactions, never
    reopened since) moves the stamped file on first; a file at the pending name that is
    not the stamped one was never committed: it is removed, the stamped graph kept."""
    from graphkit.stores.store.lmdb_store import NEXT_FILE

    _killed_mid_publish(tmp_path, "stamp_committed_not_moved_on")
    nxt, main = tmp_path / NEXT_FILE, tmp_path / INDEX_FILE
    if junk:  # as a later publish killed after its first move, before its commit
        os.replace(nxt, main)
        nxt.write_bytes(b"\x00" * 4096)
    stamped = main.read_bytes() if junk else nxt.read_bytes()
    store = LMDBStore(tmp_path, index=index_config(threshold=10_000))  # no graph to load
    with store:
        store.env.write(lambda txn: store._finish_publish(txn, None))
        assert not nxt.exists() and main.read_bytes() == stamped
        with store.env.read() as txn:
            assert txn.get(b"index_pending", db=store._meta) is None
    again = LMDBStore(tmp_path, index=index_config())
    settle_load(again)
    with again:
        assert again.vectors is not None and again.vectors.has_graph
        assert again.vectors.fresh_count == 0
