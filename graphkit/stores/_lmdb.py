"""One LMDB environment shared by the checkpoint saver and the memory store.

LMDB is the source of truth for everything on disk. This module owns opening the
environment, its named databases, and write transactions that grow the memory map
when it fills up instead of failing (or, past ``max_map_size``, failing with an
error that says which setting to raise).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import lmdb

T = TypeVar("T")

DEFAULT_MAP_SIZE = 64 * 1024 * 1024
"""Initial map size (bytes). LMDB files are sparse, so this costs no disk until used."""

DEFAULT_MAX_MAP_SIZE = 1 << 40
"""The map never grows past this (1 TiB) unless the caller raises it."""

_MAX_DBS = 16


class LMDBEnv:
    """An LMDB environment plus the named databases opened in it.

    Open one per path per process and share it: ``LMDBSaver(env=...)`` and
    ``LMDBStore(env=...)`` both accept an ``LMDBEnv``. Thread-safe.

    >>> import tempfile
    >>> env = LMDBEnv(tempfile.mkdtemp())
    >>> db = env.db("example")
    >>> env.write(lambda txn: txn.put(b"k", b"v", db=db))
    True
    >>> env.env.begin(db=db).get(b"k")
    b'v'
    >>> env.close()
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        map_size: int = DEFAULT_MAP_SIZE,
        max_map_size: int = DEFAULT_MAX_MAP_SIZE,
        sync: bool = True,
    ) -> None:
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self.max_map_size = max_map_size
        self.env = lmdb.open(
            str(self.path),
            map_size=map_size,
            max_dbs=_MAX_DBS,
            sync=sync,
            # One fsync per commit (data), not two: LMDB keeps its integrity, and a
            # power loss can at worst undo the last commit. A killed process loses
            # nothing either way: committed pages are in the OS page cache.
            metasync=False,
            subdir=True,
            lock=True,
        )
        self._dbs: dict[str, lmdb._Database] = {}
        self._lock = threading.RLock()
        self._guard = ResizeGuard()
        self._refs = 1
        self._registry_key = ""

    def db(self, name: str, *, dupsort: bool = False) -> lmdb._Database:
        """Return the named database, creating it on first use."""
        while True:
            with self._lock:
                found = self._dbs.get(name)
                if found is not None:
                    return found
                self._guard.enter()
                try:
                    found = self.env.open_db(name.encode(), dupsort=dupsort, create=True)
                except lmdb.MapResizedError:
                    found = None
                finally:
                    self._guard.leave()
                if found is not None:
                    self._dbs[name] = found
                    return found
            self._resize(0)  # another process grew the map: adopt its size, then retry

    def write(self, fn: Callable[[lmdb.Transaction], T]) -> T:
        """Run ``fn`` in one write transaction; grow the map and retry if it is full.

        ``fn`` must be safe to re-run: a full map aborts the transaction, so nothing
        it wrote is kept before the retry. Growing waits until no transaction of this
        process is open (LMDB requires it).
        """
        while True:
            txn = self._open(write=True)
            try:
                with txn:
                    return fn(txn)
            except lmdb.MapFullError:
                seen = self.env.info()["map_size"]
            finally:
                self._guard.leave()
            self._grow(seen)

    def read(self) -> _Read:
        """A read-only transaction: ``with env.read() as txn: ...``.

        While it is open, the map is not resized under it (a resize waits for it).
        """
        return _Read(self)

    def _open(self, *, write: bool) -> lmdb.Transaction:
        """Begin a transaction, holding the guard (the caller leaves it when done).

        Adopts a map that another process has grown first.
        """
        guard = self._guard
        guard.enter()
        try:
            return self.env.begin(write=write, buffers=False)
        except lmdb.MapResizedError:
            pass
        except BaseException:
            guard.leave()
            raise
        guard.leave()
        self._resize(0)  # 0 = take the size now recorded in the file
        guard.enter()
        try:
            return self.env.begin(write=write, buffers=False)
        except BaseException:
            guard.leave()
            raise

    def _grow(self, seen: int) -> None:
        """Double the map (it was ``seen`` bytes when a write found it full)."""
        with self._guard.exclusive():
            current = self.env.info()["map_size"]
            if current > seen:
                return  # another thread grew it meanwhile
            new_size = min(current * 2, self.max_map_size)
            if new_size <= current:
                raise MapFullError(
                    f"LMDB map at {self.path} is full at {current} bytes and may not grow "
                    f"past max_map_size={self.max_map_size}. Open it with a larger "
                    "max_map_size (or map_size), or prune old threads."
                )
            self.env.set_mapsize(new_size)

    def _resize(self, size: int) -> None:
        """``set_mapsize(size)`` with no transaction of this process open."""
        with self._guard.exclusive():
            self.env.set_mapsize(size)

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        *,
        map_size: int = DEFAULT_MAP_SIZE,
        max_map_size: int = DEFAULT_MAX_MAP_SIZE,
        sync: bool = True,
    ) -> LMDBEnv:
        """The process's environment for ``path``: opened once, then shared.

        LMDB allows one open environment per path per process, so a saver and a
        store given the same directory must share it; settings of the first opener win.
        """
        key = os.path.realpath(path)
        with _registry_lock:
            env = _registry.get(key)
            if env is not None:
                return env.acquire()
            env = cls(path, map_size=map_size, max_map_size=max_map_size, sync=sync)
            env._registry_key = key
            _registry[key] = env
            return env

    def acquire(self) -> LMDBEnv:
        """Take one more reference (a second saver or store sharing this environment)."""
        with self._lock:
            self._refs += 1
        return self

    def close(self) -> None:
        """Drop one reference; the environment closes when the last one goes."""
        with _registry_lock, self._lock:
            self._refs -= 1
            if self._refs <= 0:
                if _registry.get(self._registry_key) is self:
                    del _registry[self._registry_key]
                self.env.close()

    def __enter__(self) -> LMDBEnv:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_registry: dict[str, LMDBEnv] = {}
_registry_lock = threading.Lock()


class _Read:
    """``with env.read() as txn``: a read transaction that holds off map resizes."""

    __slots__ = ("_env", "_txn")

    def __init__(self, env: LMDBEnv) -> None:
        self._env = env

    def __enter__(self) -> lmdb.Transaction:
        self._txn = self._env._open(write=False)
        return self._txn

    def __exit__(self, *exc: object) -> None:
        try:
            self._txn.abort()  # read-only: ending it is all there is to do
        finally:
            self._env._guard.leave()


class ResizeGuard:
    """Readers/writer guard for the memory map.

    Every transaction of the process holds it shared (``enter``/``leave``); a resize
    holds it exclusively, so ``set_mapsize`` never runs under an open transaction (LMDB
    unmaps the old map: a reader in another thread would read freed memory). A pending
    resize makes new transactions wait, except in a thread that already has one open
    (nested transactions must not deadlock against the resize waiting for them).
    """

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._active = 0
        """Open transactions in the process."""
        self._resizing = False
        """A resize is waiting for, or holding, the map."""
        self._local = threading.local()
        """``depth``: transactions open in the current thread."""

    def enter(self) -> None:
        """A transaction begins."""
        local = self._local
        depth = getattr(local, "depth", 0)
        with self._cond:
            if depth == 0:
                while self._resizing:
                    self._cond.wait()
            self._active += 1
        local.depth = depth + 1

    def leave(self) -> None:
        """A transaction ended."""
        self._local.depth -= 1
        with self._cond:
            self._active -= 1
            if self._active == 0 and self._resizing:
                self._cond.notify_all()

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold the map alone: waits until every open transaction has ended."""
        if getattr(self._local, "depth", 0):
            raise RuntimeError(
                "cannot resize the LMDB map while this thread has a transaction open; "
                "end the transaction first (e.g. do not write inside `with env.read()`)"
            )
        with self._cond:
            while self._resizing:
                self._cond.wait()
            self._resizing = True
            while self._active:
                self._cond.wait()
        try:
            yield
        finally:
            with self._cond:
                self._resizing = False
                self._cond.notify_all()


class MapFullError(RuntimeError):
    """The LMDB map is full and may not grow further; the message says what to raise."""
