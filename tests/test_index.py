"""VectorIndex: ANN recall, exact namespace scoping, and equality with brute force."""

from __future__ import annotations

import os
import signal
import time

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis_budget import examples

from graphkit.stores.index import AnnConfig, GraphStamp, VectorIndex, _top_items

DIMS = 384


def structured_vectors(n: int, dims: int = DIMS, *, seed: int = 0) -> npt.NDArray[np.float32]:
    """Vectors shaped like real embeddings: a random 32-dim subspace plus small noise, unit length."""
    rng = np.random.default_rng(seed)
    sub = min(32, dims // 2)
    basis = np.linalg.qr(rng.standard_normal((dims, sub)))[0].T.astype(np.float32)
    x = rng.standard_normal((n, sub)).astype(np.float32) @ basis
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    x += 0.1 * rng.standard_normal((n, dims)).astype(np.float32) / np.sqrt(dims)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x


@pytest.fixture(scope="module")
def big_index() -> tuple[VectorIndex, npt.NDArray[np.float32], list[tuple[str, ...]]]:
    """50,000 structured vectors in 1,000 namespaces, graph built (the expensive part, ~10 s)."""
    n = 50_000
    vectors = structured_vectors(n)
    namespaces = [("user", str(i % 1000)) for i in range(n)]
    index = VectorIndex(DIMS)
    labels = list(range(n))
    index.add(labels, owners=labels, namespaces=namespaces, vectors=vectors)
    assert index.building  # 50k >= exact_threshold: a background build started on add
    index.wait_graph()
    assert index.has_graph
    return index, vectors, namespaces


@pytest.mark.slow  # the 50k-vector fixture takes ~40 s to build
def test_ann_recall_at_10_against_brute_force(big_index: tuple) -> None:  # type: ignore[type-arg]
    index, vectors, _ = big_index
    queries = structured_vectors(200, seed=1)
    truth = np.argsort(-(queries @ vectors.T), axis=1)[:, :10]
    recalls = []
    for q, true_top in zip(queries, truth, strict=True):
        hits = index.search(q, k=10, force="ann")
        recalls.append(len({h.owner for h in hits} & set(true_top.tolist())) / 10)
    assert np.mean(recalls) >= 0.95


@pytest.mark.slow  # the 50k-vector fixture takes ~40 s to build
def test_ann_path_never_leaves_the_namespace(big_index: tuple) -> None:  # type: ignore[type-arg]
    index, vectors, namespaces = big_index
    rng = np.random.default_rng(2)
    queries = structured_vectors(40, seed=3)
    for q in queries:
        ns = ("user", str(int(rng.integers(1000))))
        hits = index.search(q, prefix=ns, k=10, force="ann")
        assert len(hits) == 10
        assert all(namespaces[h.owner] == ns for h in hits)
        members = np.array([i for i in range(int(ns[1]), 50_000, 1000)])
        exact = members[np.argsort(-(vectors[members] @ q))[:10]]
        # a 50-row namespace is 0.1% of the graph: hnswlib's filtered search falls back to a scan
        assert [h.owner for h in hits][:3] == exact[:3].tolist()


@pytest.mark.slow  # the 50k-vector fixture takes ~40 s to build
def test_exact_path_scoping_on_1000_namespaces(big_index: tuple) -> None:  # type: ignore[type-arg]
    index, _vectors, namespaces = big_index
    q = structured_vectors(1, seed=4)[0]
    for ns_id in range(0, 1000, 97):
        ns = ("user", str(ns_id))
        hits = index.search(q, prefix=ns, k=60, force="exact")
        assert len(hits) == 50 and {namespaces[h.owner] for h in hits} == {ns}
    assert index.candidate_count(("user",)) == 50_000
    assert index.search(q, prefix=("nobody",), k=5) == []


def test_graph_survives_deletes_and_relabels() -> None:
    vectors = structured_vectors(600, dims=16, seed=5)
    index = VectorIndex(16, AnnConfig(exact_threshold=100))
    index.add(
        list(range(500)), owners=list(range(500)), namespaces=[("a",)] * 500, vectors=vectors[:500]
    )
    index.wait_graph()
    assert index.has_graph
    index.remove(range(0, 500, 2))
    index.add(
        [0, 2, 4], owners=[1000, 1002, 1004], namespaces=[("a",)] * 3, vectors=vectors[500:503]
    )
    q = vectors[501]
    hits = index.search(q, k=3, force="ann")
    assert hits[0].owner == 1002 and hits[0].score == pytest.approx(1.0, abs=1e-5)
    assert all(h.owner % 2 == 1 or h.owner >= 1000 for h in index.search(q, k=50, force="ann"))


def test_wrong_dimension_names_both_sizes() -> None:
    index = VectorIndex(8)
    with pytest.raises(ValueError, match=r"dimension 3 .*dims=8"):
        index.add([0], owners=[0], namespaces=[("a",)], vectors=[[1.0, 2.0, 3.0]])
    assert len(index) == 0


@pytest.mark.parametrize(
    "vector",
    [[0.5, -2.0, 3.0, 1.0], [0.0, 0.0, 0.0, 0.0], [3e38, 3e38, 1.0, 0.0], [1, 2, 3, 4]],
)
@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
def test_unit_query_equals_normalize(vector: list[float]) -> None:
    index = VectorIndex(4)
    np.testing.assert_allclose(index.unit_query(vector), index.normalize([vector])[0], rtol=1e-6)


@pytest.mark.parametrize("vector", [[1.0, 2.0], [1.0, float("nan"), 0.0, 0.0], [1e39, 0, 0, 0]])
@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
def test_unit_query_rejects_bad_vectors(vector: list[float]) -> None:
    with pytest.raises(ValueError, match="dimension|NaN"):
        VectorIndex(4).unit_query(vector)


def test_graph_save_and_load_roundtrip(tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "g.hnsw"
    vectors = structured_vectors(300, dims=16, seed=6)
    index = VectorIndex(16, AnnConfig(exact_threshold=10))
    index.add(list(range(300)), owners=list(range(300)), namespaces=[("a",)] * 300, vectors=vectors)
    index.remove([5])
    stamp = index.save_graph(path, generation=7)
    assert stamp is not None and stamp.count == 299 and stamp.size == path.stat().st_size
    assert stamp.untrusted == (5,)  # in the file, marked deleted
    assert GraphStamp.from_list(stamp.to_list()) == stamp
    assert [p.name for p in path.parent.iterdir()] == ["g.hnsw"]  # no temporary left behind
    fresh = VectorIndex(16, AnnConfig(exact_threshold=10))
    rows = [i for i in range(300) if i != 5]
    fresh.add(rows, owners=rows, namespaces=[("a",)] * 299, vectors=vectors[rows], build=False)
    assert not fresh.load_graph(path, stamp=stamp, changed=None)  # changes since unknown
    assert not fresh.load_graph(path, stamp=None, changed=set())  # no stamp: never trusted
    assert fresh.load_graph(path, stamp=stamp, changed=set())
    assert fresh.fresh_count == 0  # the file holds every row as it is
    assert [h.owner for h in fresh.search(vectors[5], k=5, force="ann")] == [
        h.owner for h in index.search(vectors[5], k=5, force="ann")
    ]
    path.write_bytes(b"garbage")
    assert not VectorIndex(16).load_graph(path, stamp=stamp, changed=set())
    assert GraphStamp.from_list([1, 2, "x", 4, "d"]) is None


# -- property tests: any sequence of puts/deletes, results equal brute force --------------------

NAMESPACES = [("a",), ("a", "x"), ("a", "y"), ("b",), ("ab",)]
op_strategy = st.lists(
    st.tuples(
        st.sampled_from(["put", "delete"]),
        st.integers(0, 30),  # item id
        st.integers(0, len(NAMESPACES) - 1),
        st.integers(1, 3),  # rows per item
        st.integers(0, 10_000),  # vector seed
    ),
    max_size=60,
)


@settings(max_examples=examples(60))
@given(
    ops=op_strategy,
    prefix_i=st.integers(0, len(NAMESPACES)),
    k=st.integers(1, 12),
    force=st.sampled_from(["exact", "ann"]),
)
def test_search_equals_brute_force_after_any_ops(
    ops: list[tuple[str, int, int, int, int]], prefix_i: int, k: int, force: str
) -> None:
    dims = 8
    index = VectorIndex(dims, AnnConfig(exact_threshold=10_000, ef=200))
    model: dict[int, tuple[tuple[str, ...], list[int], npt.NDArray[np.float32]]] = {}
    next_label = 0
    free: list[int] = []
    for kind, item, ns_i, nrows, seed in ops:
        if item in model:
            index.remove(model[item][1])
            free.extend(model[item][1])
            del model[item]
        if kind == "put":
            vecs = np.random.default_rng(seed).standard_normal((nrows, dims)).astype(np.float32)
            labels = []
            for _ in range(nrows):
                if free:
                    labels.append(free.pop())
                else:
                    labels.append(next_label)
                    next_label += 1
            index.add(
                labels, owners=[item] * nrows, namespaces=[NAMESPACES[ns_i]] * nrows, vectors=vecs
            )
            model[item] = (
                NAMESPACES[ns_i],
                labels,
                vecs / np.linalg.norm(vecs, axis=1, keepdims=True),
            )
    prefix = () if prefix_i == len(NAMESPACES) else NAMESPACES[prefix_i]
    q = np.random.default_rng(99).standard_normal(dims).astype(np.float32)
    q /= np.linalg.norm(q)
    best = {
        item: float(np.max(vecs @ q))
        for item, (ns, _, vecs) in model.items()
        if ns[: len(prefix)] == prefix
    }
    expected = sorted(best.items(), key=lambda kv: -kv[1])[:k]
    hits = index.search(q, prefix=prefix, k=k, force=force if model else None)
    assert {h.owner for h in hits} <= set(best)  # namespace scoping is exact on both paths
    assert len(hits) == len(expected)  # small graphs with ef=200 are searched exhaustively
    assert [h.score for h in hits] == pytest.approx([s for _, s in expected], abs=1e-5)


@given(
    scores=st.lists(st.floats(-1, 1, allow_nan=False, width=32), min_size=0, max_size=40),
    owners=st.data(),
    k=st.integers(1, 10),
)
def test_top_items_takes_each_owners_best(
    scores: list[float], owners: st.DataObject, k: int
) -> None:
    own = owners.draw(st.lists(st.integers(0, 6), min_size=len(scores), max_size=len(scores)))
    s = np.array(scores, dtype=np.float32)
    o = np.array(own, dtype=np.int64)
    best: dict[int, float] = {}
    for owner, score in zip(own, s.tolist(), strict=True):
        best[owner] = max(best.get(owner, -2.0), score)
    hits = _top_items(s, o, k)
    assert [h.score for h in hits] == sorted(best.values(), reverse=True)[:k]
    assert all(best[h.owner] == h.score for h in hits)


def test_staged_rows_search_like_added_rows_and_can_be_removed_before_conversion() -> None:
    vectors = structured_vectors(300, dims=16, seed=7)
    namespaces = [("u", str(i % 3)) for i in range(300)]
    added, staged = VectorIndex(16), VectorIndex(16)
    added.add(list(range(300)), owners=list(range(300)), namespaces=namespaces, vectors=vectors)
    rows = (vectors * 3.0).tolist()  # staged rows are normalised when converted
    for lo in range(0, 300, 50):
        labels = list(range(lo, lo + 50))
        staged.stage(
            labels, owners=labels, namespaces=namespaces[lo : lo + 50], vectors=rows[lo : lo + 50]
        )
    assert len(staged) == 300 and 7 in staged
    staged.remove([5, 6])  # staged, never searched yet
    added.remove([5, 6])
    assert staged.candidate_count(("u",)) == 298
    for q in structured_vectors(5, dims=16, seed=8):
        for prefix in [(), ("u", "1")]:
            want = added.search(q, prefix=prefix, k=10)
            got = staged.search(q, prefix=prefix, k=10)
            assert [h.owner for h in got] == [h.owner for h in want]
            assert [h.score for h in got] == pytest.approx([h.score for h in want], abs=1e-5)
    np.testing.assert_allclose(staged.vector(9), vectors[9], atol=1e-6)


def test_staging_converts_in_bounded_bursts_and_keeps_a_graph_in_step() -> None:
    from graphkit.stores import index as index_module

    vectors = structured_vectors(index_module._STAGE_MAX + 10, dims=8, seed=9).tolist()
    index = VectorIndex(8, AnnConfig(exact_threshold=100_000))
    for i, vec in enumerate(vectors):
        index.stage([i], owners=[i], namespaces=[("a",)], vectors=[vec])
        assert len(index._pending.labels) < index_module._STAGE_MAX
    with_graph = VectorIndex(8, AnnConfig(exact_threshold=50))
    labels = list(range(60))
    with_graph.stage(labels, owners=labels, namespaces=[("a",)] * 60, vectors=vectors[:60])
    assert with_graph.building and not with_graph._pending.labels  # threshold reached
    with_graph.wait_graph()
    with_graph.stage([60], owners=[60], namespaces=[("a",)], vectors=[vectors[60]])
    assert not with_graph._pending.labels  # with a graph, rows go in at once
    assert with_graph.search(vectors[60], k=1, force="ann")[0].owner == 60


def test_removing_staged_rows_skips_their_conversion_and_labels_can_be_reused() -> None:
    vectors = structured_vectors(40, dims=8, seed=10)
    index = VectorIndex(8)
    index.add([0, 1], owners=[0, 1], namespaces=[("keep",)] * 2, vectors=vectors[:2])
    index.stage([2, 3], owners=[2, 3], namespaces=[("keep",)] * 2, vectors=vectors[2:4].tolist())
    index.stage([4, 5], owners=[4, 5], namespaces=[("gone",)] * 2, vectors=vectors[4:6].tolist())
    index.remove([3, 4, 5, 1])  # staged and converted rows alike
    assert len(index) == 2 and 3 not in index and 4 not in index
    index.stage([3], owners=[30], namespaces=[("keep",)], vectors=[vectors[30].tolist()])
    assert [h.owner for h in index.search(vectors[30], prefix=("keep",), k=1)] == [30]
    assert index.search(vectors[4], prefix=("gone",), k=5) == []
    assert ("gone",) not in index._blocks and ("gone",) not in index._under
    assert sorted(h.owner for h in index.search(vectors[0], k=10)) == [0, 2, 30]
    assert not index._pending.labels and not index._staged


# -- the fresh buffer: rows added while a graph exists -------------------------------------------


@pytest.fixture
def no_background(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep rows in the fresh buffer: the background insert thread does nothing."""
    monkeypatch.setattr(VectorIndex, "_drain", lambda self: None)


def test_search_sees_rows_only_in_the_fresh_buffer(no_background: None) -> None:
    vectors = structured_vectors(400, dims=16, seed=11)
    index = VectorIndex(16, AnnConfig(exact_threshold=100, ef=400))
    index.add(
        list(range(300)), owners=list(range(300)), namespaces=[("a",)] * 300, vectors=vectors[:300]
    )
    index.wait_graph()
    assert index.has_graph and index.fresh_count == 0
    index.add([300, 301], owners=[300, 301], namespaces=[("a",), ("b",)], vectors=vectors[300:302])
    assert index.fresh_count == 2  # not in the graph yet
    for force in ("ann", "exact"):
        assert index.search(vectors[300], k=1, force=force)[0].owner == 300
        assert index.search(vectors[301], k=1, prefix=("b",), force=force)[0].owner == 301
        assert 301 not in {
            h.owner for h in index.search(vectors[301], prefix=("a",), k=20, force=force)
        }
    index.sync_graph()
    assert index.fresh_count == 0
    assert index.search(vectors[300], k=1, force="ann")[0].owner == 300


fresh_ops = st.lists(
    st.tuples(
        st.sampled_from(["put", "put", "put", "delete", "sync", "search"]),
        st.integers(0, 12),  # item id: few items, so most puts update graph or fresh rows
        st.integers(0, len(NAMESPACES) - 1),
        st.integers(1, 3),  # rows per item
        st.integers(0, 10_000),  # vector seed
    ),
    max_size=80,
)


@settings(max_examples=examples(100))
@given(ops=fresh_ops, k=st.integers(1, 12))
def test_updates_and_deletes_in_the_graph_and_the_fresh_buffer_equal_brute_force(
    ops: list[tuple[str, int, int, int, int]], k: int
) -> None:
    from unittest import mock

    dims = 8
    q = np.random.default_rng(99).standard_normal(dims).astype(np.float32)
    q /= np.linalg.norm(q)
    with mock.patch.object(VectorIndex, "_drain", lambda self: None):
        index = VectorIndex(dims, AnnConfig(exact_threshold=6, ef=400, fresh_max=1000))
        model: dict[int, tuple[tuple[str, ...], list[int], npt.NDArray[np.float32]]] = {}
        next_label = 0
        free: list[int] = []
        for kind, item, ns_i, nrows, seed in ops:
            if kind == "sync":
                index.sync_graph()  # the fresh rows go into the graph
            elif kind == "search":  # search under a prefix, on both paths, against the model
                prefix = NAMESPACES[ns_i][: seed % 3]
                best = {
                    it: float(np.max(vecs @ q))
                    for it, (ns, _, vecs) in model.items()
                    if ns[: len(prefix)] == prefix
                }
                expected = sorted(best.values(), reverse=True)[:k]
                for force in ("exact", "ann") if model else (None,):
                    hits = index.search(q, prefix=prefix, k=k, force=force)
                    assert {h.owner for h in hits} <= set(best)  # namespace scoping stays exact
                    assert [h.score for h in hits] == pytest.approx(expected, abs=1e-5)
                continue
            if item in model:  # an update or delete: of graph rows, fresh rows, or both
                index.remove(model[item][1])
                free.extend(model[item][1])
                del model[item]
            if kind == "put":
                rng = np.random.default_rng(seed)
                vecs = rng.standard_normal((nrows, dims)).astype(np.float32)
                labels = [free.pop() if free else next_label + i for i in range(nrows)]
                next_label = max(next_label, max(labels) + 1)
                index.add(
                    labels,
                    owners=[item] * nrows,
                    namespaces=[NAMESPACES[ns_i]] * nrows,
                    vectors=vecs,
                )
                model[item] = (
                    NAMESPACES[ns_i],
                    labels,
                    vecs / np.linalg.norm(vecs, axis=1, keepdims=True),
                )


def test_background_inserts_keep_the_graph_in_step_with_concurrent_changes() -> None:
    vectors = structured_vectors(3000, dims=32, seed=12)
    index = VectorIndex(32, AnnConfig(exact_threshold=200, ef=200))
    index.add(
        list(range(200)), owners=list(range(200)), namespaces=[("a",)] * 200, vectors=vectors[:200]
    )
    owner_of = {i: i for i in range(200)}
    rng = np.random.default_rng(13)
    for i in range(200, 1200):  # puts race the background thread; overwrites reuse labels
        index.add(
            [i], owners=[i], namespaces=[("a",) if i % 3 else ("b",)], vectors=vectors[i : i + 1]
        )
        owner_of[i] = i
        if i % 4 == 0:
            gone = int(rng.integers(0, i))
            if gone in owner_of:
                index.remove([gone])
                del owner_of[gone]
                index.add(
                    [gone],
                    owners=[10_000 + gone],
                    namespaces=[("a",)],
                    vectors=vectors[2000 + gone % 1000 : 2001 + gone % 1000],
                )
                owner_of[gone] = 10_000 + gone
    for q in vectors[2500:2510]:
        exact = [(h.owner, h.score) for h in index.search(q, k=10, force="exact")]
        ann = [(h.owner, h.score) for h in index.search(q, k=10, force="ann")]
        assert [o for o, _ in ann] == [o for o, _ in exact]  # small graph, ef=200: exhaustive
    index.sync_graph()
    assert index.fresh_count == 0 and index._graph is not None
    graph_ids = set(index._graph.get_ids_list()) - index._graph_deleted
    assert graph_ids == set(owner_of)  # every live label in the graph, no removed one left


def test_a_put_never_inserts_into_the_graph_itself(no_background: None) -> None:
    vectors = structured_vectors(400, dims=8, seed=14)
    index = VectorIndex(8, AnnConfig(exact_threshold=50, fresh_max=64))
    index.add(
        list(range(50)), owners=list(range(50)), namespaces=[("a",)] * 50, vectors=vectors[:50]
    )
    index.wait_graph()
    for i in range(50, 400):
        index.add([i], owners=[i], namespaces=[("a",)], vectors=vectors[i : i + 1])
    assert index.fresh_count == 350  # past fresh_max too: only the background thread inserts
    for force in ("ann", "exact"):
        assert index.search(vectors[399], k=1, force=force)[0].owner == 399


def test_a_backlog_past_fresh_max_drains_in_the_background() -> None:
    vectors = structured_vectors(600, dims=8, seed=15)
    index = VectorIndex(8, AnnConfig(exact_threshold=50, fresh_max=64))
    index.add(
        list(range(50)), owners=list(range(50)), namespaces=[("a",)] * 50, vectors=vectors[:50]
    )
    index.wait_graph()
    labels = list(range(50, 600))
    index.add(labels, owners=labels, namespaces=[("a",)] * 550, vectors=vectors[50:])
    deadline = time.monotonic() + 60
    while index.fresh_count and time.monotonic() < deadline:
        time.sleep(0.01)
    assert index.fresh_count == 0  # the thread drained it (in big chunks), no put helped
    assert index.search(vectors[599], k=1, force="ann")[0].owner == 599


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_searches_and_inserts_although_its_parent_was_inserting() -> None:
    vectors = structured_vectors(400, dims=16, seed=5)
    index = VectorIndex(16, AnnConfig(exact_threshold=100, ef=400))
    index.add(
        list(range(300)), owners=list(range(300)), namespaces=[("a",)] * 300, vectors=vectors[:300]
    )
    # hold the graph lock, as the insert thread does mid-chunk, while forking
    with index._glock:
        pid = os.fork()
        if pid == 0:  # the child: a stale held lock would hang these calls
            signal.alarm(20)  # ...so a hang ends the child with SIGALRM, failing the test
            code = 1
            try:
                index.add([300], owners=[300], namespaces=[("a",)], vectors=vectors[300:301])
                hit = index.search(vectors[300], k=1, force="ann")[0].owner
                index.sync_graph()
                code = 0 if hit == 300 and index.fresh_count == 0 else 2
            finally:
                os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


# -- the background build, and graphs saved before later changes ---------------------------------


class _Gate:
    """Holds every background build until released (``with gate:`` releases on exit)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        import threading

        self.event = threading.Event()
        run_build = VectorIndex._run_build

        def gated(index: VectorIndex, build: object, mat: object) -> None:
            self.event.wait(60)
            run_build(index, build, mat)  # type: ignore[arg-type]

        monkeypatch.setattr(VectorIndex, "_run_build", gated)

    def release(self) -> None:
        self.event.set()


class _Model:
    """Brute force over what the index should hold: label -> (owner, namespace, unit row)."""

    def __init__(self, dims: int) -> None:
        self.dims = dims
        self.rows: dict[int, tuple[int, tuple[str, ...], npt.NDArray[np.float32]]] = {}

    def add(
        self, index: VectorIndex, labels: list[int], owner: int, ns: tuple[str, ...], seed: int
    ) -> None:
        vecs = (
            np.random.default_rng(seed).standard_normal((len(labels), self.dims)).astype(np.float32)
        )
        index.add(labels, owners=[owner] * len(labels), namespaces=[ns] * len(labels), vectors=vecs)
        for label, v in zip(labels, vecs, strict=True):
            self.rows[label] = (owner, ns, v / np.linalg.norm(v))

    def remove(self, index: VectorIndex, labels: list[int]) -> None:
        index.remove(labels)
        for label in labels:
            self.rows.pop(label, None)

    def best(self, q: npt.NDArray[np.float32], k: int) -> list[float]:
        by_owner: dict[int, float] = {}
        for owner, _, v in self.rows.values():
            by_owner[owner] = max(by_owner.get(owner, -2.0), float(v @ q))
        return sorted(by_owner.values(), reverse=True)[:k]

    def check(self, index: VectorIndex, q: npt.NDArray[np.float32], k: int) -> None:
        owners = {owner for owner, _, _ in self.rows.values()}
        forces = ("exact", "ann") if index.has_graph else ("exact", None)
        for force in forces:
            hits = index.search(q, k=k, force=force)
            assert {h.owner for h in hits} <= owners  # a removed row never comes back
            assert [h.score for h in hits] == pytest.approx(self.best(q, k), abs=1e-5)


def _query(dims: int, seed: int) -> npt.NDArray[np.float32]:
    q = np.random.default_rng(seed).standard_normal(dims).astype(np.float32)
    return q / np.linalg.norm(q)


def test_adds_and_removes_during_a_build_return_at_once_and_are_replayed_into_the_graph(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    gate = _Gate(monkeypatch)
    model = _Model(8)
    index = VectorIndex(8, AnnConfig(exact_threshold=40, ef=400))
    for i in range(45):
        model.add(index, [i], i, ("a",), seed=i)
    assert index.building and not index.has_graph  # the build waits at the gate
    model.add(index, [45, 46], 45, ("b",), seed=45)  # added during the build
    model.remove(index, [3, 4])  # in the snapshot: marked deleted on install
    model.add(index, [3], 1003, ("a",), seed=1003)  # a label reused with another vector
    before = [index.search(_query(8, s), k=5) for s in range(5)]
    for s in range(5):
        model.check(index, _query(8, s), 5)  # exact meanwhile
    gate.release()
    index.wait_graph()
    assert index.has_graph and not index.building
    assert 4 in index._graph_deleted  # (3 is queued again with its new vector)
    for s in range(5):
        model.check(index, _query(8, s), 5)
        assert [h.owner for h in index.search(_query(8, s), k=5)] == [h.owner for h in before[s]]
    index.sync_graph()
    assert index._graph is not None
    assert set(index._graph.get_ids_list()) - index._graph_deleted == set(model.rows)
    assert index._in_graph == set(model.rows)


build_ops = st.lists(
    st.tuples(
        st.sampled_from(["put", "put", "delete", "release", "search"]),
        st.integers(0, 15),  # item id
        st.integers(1, 3),  # rows per item
        st.integers(0, 10_000),  # vector seed
    ),
    max_size=60,
)


@settings(max_examples=examples(60))
@given(ops=build_ops, k=st.integers(1, 8))
def test_any_changes_around_a_build_equal_brute_force(
    ops: list[tuple[str, int, int, int]], k: int
) -> None:
    mp = pytest.MonkeyPatch()  # (a function-scoped fixture would span examples)
    try:
        gate = _Gate(mp)
        model = _Model(8)
        index = VectorIndex(8, AnnConfig(exact_threshold=10, ef=400))
        items: dict[int, list[int]] = {}
        free: list[int] = []
        top = 0
        for kind, item, nrows, seed in ops:
            if kind == "release":
                gate.release()
                index.wait_graph()
            elif kind == "search":
                model.check(index, _query(8, seed), k)
            else:
                if item in items:
                    gone = items.pop(item)
                    model.remove(index, gone)
                    free.extend(gone)
                if kind == "put":
                    labels = []
                    for _ in range(nrows):
                        if free:
                            labels.append(free.pop())
                        else:
                            labels.append(top)
                            top += 1
                    model.add(index, labels, item, ("a",), seed)
                    items[item] = labels
        gate.release()
        index.sync_graph()
        model.check(index, _query(8, 1), k)
        if index._graph is not None:
            assert set(index._graph.get_ids_list()) - index._graph_deleted == set(model.rows)
    finally:
        mp.undo()


def test_a_graph_saved_before_later_changes_loads_and_requeues_only_those(
    tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pathlib import Path

    monkeypatch.setattr(VectorIndex, "_drain", lambda self: None)  # saved with fresh rows waiting
    path = Path(str(tmp_path)) / "g.hnsw"
    model = _Model(8)
    index = VectorIndex(8, AnnConfig(exact_threshold=20, ef=400))
    for i in range(30):
        model.add(index, [i], i, ("a",), seed=i)
    index.sync_graph()  # every row in the graph
    model.add(index, [30], 30, ("a",), seed=30)  # fresh, not in the graph
    model.remove(index, [2])  # in the graph: untrusted in the file
    stamp = index.save_graph(path, generation=7, settle=False)
    assert stamp is not None and 2 in stamp.untrusted and stamp.count == 29
    # later changes (generation 8 on): one removed, one overwritten, one new
    model.remove(index, [5, 6])
    model.add(index, [5], 105, ("a",), seed=105)
    model.add(index, [31], 31, ("a",), seed=31)
    changed = {5, 6, 31}
    reopened = VectorIndex(8, AnnConfig(exact_threshold=20, ef=400))
    labels = sorted(model.rows)
    reopened.add(
        labels,
        owners=[model.rows[label][0] for label in labels],
        namespaces=[model.rows[label][1] for label in labels],
        vectors=np.stack([model.rows[label][2] for label in labels]),
        build=False,
    )
    assert reopened.load_graph(path, stamp=stamp, changed=changed)
    assert reopened.fresh_count == 3  # 30 (never in the graph), 5 (overwritten), 31 (new)
    for s in range(8):
        model.check(reopened, _query(8, s), 6)
    reopened.sync_graph()
    for s in range(8):
        model.check(reopened, _query(8, s), 6)
    assert reopened._graph is not None
    assert set(reopened._graph.get_ids_list()) - reopened._graph_deleted == set(model.rows)
