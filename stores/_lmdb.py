"""One LMDB environment shared by the checkpoint saver and the memory store.

LMDB is the source of truth for everything on disk. This module owns opening the
environment, its named databases, and write transactions that grow the memory map
when it fills up instead of failing (or, past ``max_map_size``, failing with an
error that says which setting to raise).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
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
        self._refs = 1
        self._registry_key = ""

    def db(self, name: str, *, dupsort: bool = False) -> lmdb._Database:
        """Return the named database, creating it on first use."""
        with self._lock:
            found = self._dbs.get(name)
            if found is None:
                try:
                    found = self.env.open_db(name.encode(), dupsort=dupsort, create=True)
                except lmdb.MapResizedError:
                    self.env.set_mapsize(0)  # another process grew the map: adopt its size
                    found = self.env.open_db(name.encode(), dupsort=dupsort, create=True)
                self._dbs[name] = found
            return found

    def write(self, fn: Callable[[lmdb.Transaction], T]) -> T:
        """Run ``fn`` in one write transaction; grow the map and retry if it is full.

        ``fn`` must be safe to re-run: a full map aborts the transaction, so nothing
        it wrote is kept before the retry.
        """
        while True:
            try:
                with self._begin(write=True) as txn:
                    return fn(txn)
            except lmdb.MapFullError:
                self._grow()

    def read(self) -> lmdb.Transaction:
        """A read-only transaction (use as a context manager)."""
        return self._begin(write=False)

    def _begin(self, *, write: bool) -> lmdb.Transaction:
        """Begin a transaction, adopting a map that another process has grown."""
        try:
            return self.env.begin(write=write, buffers=False)
        except lmdb.MapResizedError:
            with self._lock:
                self.env.set_mapsize(0)  # 0 = take the size now recorded in the file
            return self.env.begin(write=write, buffers=False)

    def _grow(self) -> None:
        with self._lock:
            current = self.env.info()["map_size"]
            new_size = min(current * 2, self.max_map_size)
            if new_size <= current:
                raise MapFullError(
                    f"LMDB map at {self.path} is full at {current} bytes and may not grow "
                    f"past max_map_size={self.max_map_size}. Open it with a larger "
                    "max_map_size (or map_size), or prune old threads."
                )
            self.env.set_mapsize(new_size)

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


class MapFullError(RuntimeError):
    """The LMDB map is full and may not grow further; the message says what to raise."""
