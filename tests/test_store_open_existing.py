"""LMDBStore.open_existing: the store at a path, as it was written, read-only by default."""

from __future__ import annotations

from pathlib import Path

import pytest

from graphkit.stores import LMDBEnv
from graphkit.stores._lmdb import MissingDatabaseError
from graphkit.stores.checkpoint import LMDBSaver
from graphkit.stores.embeddings import HashEmbeddings
from graphkit.stores.store import LMDBStore


def _write(path: Path, dims: int | None) -> None:
    index = {"dims": dims, "embed": HashEmbeddings(dims)} if dims else None
    with LMDBStore(path, index=index) as store:  # type: ignore[arg-type]
        store.put(("docs",), "a", {"text": "the cat sat on the mat"})
        store.put(("docs",), "b", {"text": "stock prices fell sharply"})


def test_an_indexed_store_comes_back_with_its_dims_and_searches(tmp_path: Path) -> None:
    _write(tmp_path, 48)
    store = LMDBStore.open_existing(tmp_path)
    try:
        assert store.vectors is not None and store.vectors.dims == 48
        hits = store.search(("docs",), query="a cat on a mat", limit=1)
        assert [h.key for h in hits] == ["a"] and hits[0].score is not None
    finally:
        store.close()


def test_a_store_without_index_opens_without_one(tmp_path: Path) -> None:
    _write(tmp_path, None)
    store = LMDBStore.open_existing(tmp_path)
    try:
        assert store.vectors is None
        assert sorted(i.key for i in store.search(("docs",))) == ["a", "b"]
    finally:
        store.close()


def test_read_only_by_default_and_writable_on_request(tmp_path: Path) -> None:
    _write(tmp_path, 32)
    before = sorted(p.name for p in tmp_path.iterdir())
    store = LMDBStore.open_existing(tmp_path)
    try:
        with pytest.raises(Exception):  # noqa: B017 - LMDB's own read-only error
            store.put(("docs",), "c", {"text": "new"})
    finally:
        store.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    store = LMDBStore.open_existing(tmp_path, readonly=False)
    try:
        store.put(("docs",), "c", {"text": "new"})
        assert store.get(("docs",), "c") is not None
    finally:
        store.close()


def test_nothing_there_is_an_error_naming_the_path(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no data.mdb"):
        LMDBStore.open_existing(tmp_path / "missing")
    with LMDBSaver(tmp_path / "ckpt"):
        pass
    for readonly in (True, False):
        with pytest.raises(MissingDatabaseError):
            LMDBStore.open_existing(tmp_path / "ckpt", readonly=readonly)
    assert not (tmp_path / "missing").exists()


def test_has_db_creates_nothing(tmp_path: Path) -> None:
    env = LMDBEnv(tmp_path)
    try:
        env.db("present")
        assert env.has_db("present")
        assert not env.has_db("absent")
        assert not env.has_db("absent")
    finally:
        env.close()
