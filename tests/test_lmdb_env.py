"""LMDBEnv: map growth is safe while other threads read (LMDB forbids resizing under open transactions)."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from graphkit.stores._lmdb import LMDBEnv, ResizeGuard


def test_map_grows_while_other_threads_read(tmp_path: Path) -> None:
    env = LMDBEnv(tmp_path, map_size=64 * 1024, sync=False)
    db = env.db("data")
    value = bytes(range(256)) * 32  # 8 KiB: the map fills every few writes
    stop = threading.Event()
    errors: list[BaseException] = []
    reads = [0]

    def reader() -> None:
        try:
            while not stop.is_set():
                with env.read() as txn:
                    cursor = txn.cursor(db=db)
                    for found in (cursor.first(), cursor.last()):
                        assert not found or cursor.value() == value
                    reads[0] += 1
                time.sleep(0.0002)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for thread in threads:
        thread.start()
    try:
        for i in range(300):  # ~2.4 MiB: the map doubles about six times
            key = b"key %06d" % i
            env.write(lambda txn, key=key: txn.put(key, value, db=db))  # type: ignore[misc]
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert not errors, errors[0]
    assert reads[0] > 0
    assert env.env.info()["map_size"] >= 2 * 1024 * 1024
    with env.read() as txn:
        assert sum(1 for _ in txn.cursor(db=db)) == 300
    env.close()


def test_a_resize_waits_for_open_read_transactions(tmp_path: Path) -> None:
    env = LMDBEnv(tmp_path, map_size=64 * 1024, sync=False)
    db = env.db("data")
    env.write(lambda txn: txn.put(b"k", b"v", db=db))
    opened, release = threading.Event(), threading.Event()
    seen: list[object] = []

    def hold_reader() -> None:
        with env.read() as txn:
            opened.set()
            release.wait(5)
            seen.append(txn.get(b"k", db=db))  # still valid: the map was not remapped

    holder = threading.Thread(target=hold_reader)
    holder.start()
    opened.wait(5)
    resized = threading.Event()

    def grow() -> None:
        env._grow(64 * 1024)
        resized.set()

    grower = threading.Thread(target=grow)
    grower.start()
    time.sleep(0.1)
    assert not resized.is_set(), "the map was resized under an open read transaction"
    release.set()
    holder.join(5)
    grower.join(5)
    assert resized.is_set() and seen == [b"v"]
    assert env.env.info()["map_size"] == 128 * 1024
    env.close()


def test_resizing_inside_a_transaction_is_a_clear_error() -> None:
    guard = ResizeGuard()
    guard.enter()
    with pytest.raises(RuntimeError, match="transaction open"), guard.exclusive():
        pass
    guard.leave()
    with guard.exclusive():  # fine once it has ended
        pass


def test_nested_transactions_in_one_thread_do_not_wait_for_a_pending_resize() -> None:
    guard = ResizeGuard()
    guard.enter()
    pending = threading.Thread(target=lambda: guard.exclusive().__enter__())
    pending.start()
    time.sleep(0.05)  # the resize is now waiting for this thread's transaction
    guard.enter()  # a nested transaction must not deadlock behind it
    guard.leave()
    guard.leave()
    pending.join(5)
    assert not pending.is_alive()


def test_opening_while_another_process_grows_the_map_retries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import lmdb

    real_open = lmdb.open
    calls = {"n": 0}

    def racing_open(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] <= 2:  # what py-lmdb raises when a writer grew the map meanwhile
            raise lmdb.MapResizedError("mdb_txn_begin: MDB_MAP_RESIZED")
        return real_open(*args, **kwargs)

    monkeypatch.setattr(lmdb, "open", racing_open)
    env = LMDBEnv(tmp_path / "db")
    try:
        assert calls["n"] == 3 and env.env.info()["map_size"] > 0
    finally:
        env.close()


def test_a_resize_never_runs_while_any_thread_has_a_transaction_open() -> None:
    """Threads enter and leave (some nested) while resizes keep happening: each resize
    sees no transaction open from start to end, and every thread gets through."""
    guard = ResizeGuard()
    open_now = [0]
    count = threading.Lock()
    seen_open: list[int] = []
    stop = threading.Event()
    passes = [0]

    def transactions(nested: bool) -> None:
        while not stop.is_set():
            guard.enter()
            with count:
                open_now[0] += 1
                passes[0] += 1
            if nested:
                guard.enter()
                guard.leave()
            with count:
                open_now[0] -= 1
            guard.leave()

    workers = [threading.Thread(target=transactions, args=(i % 2 == 0,)) for i in range(4)]
    for worker in workers:
        worker.start()
    for _ in range(40):
        with guard.exclusive():
            seen_open.append(open_now[0])
            time.sleep(0.0003)  # a transaction that got in now would show below
            seen_open.append(open_now[0])
        time.sleep(0.0003)  # let the transactions through
    stop.set()
    for worker in workers:
        worker.join(30)
    assert not any(w.is_alive() for w in workers)
    assert passes[0] > 40 and set(seen_open) == {0}
    assert guard._open == []
