"""One LMDB environment shared by the checkpoint saver and the memory store.

LMDB is the source of truth for everything on disk. This module owns opening the
environment, its named databases, and write transactions that grow the memory map
when it fills up instead of failing (or, past ``max_map_size``, failing with an
error that says which setting to raise).

It also turns LMDB's faults into errors that say what happened and what to do:

* a ``data.mdb`` shorter than LMDB's own header says (a truncated copy) is refused on
  open (:class:`LMDBCorruptError`) instead of killing the reader with SIGBUS later;
* a full disk is :class:`DiskFullError` ("nothing of this write was stored");
* all reader slots in use is :class:`ReadersFullError`, naming ``max_readers``;
* an environment used in a child process after ``fork()`` is :class:`ForkedEnvError`,
  and ``LMDBEnv.open`` in a child always opens a fresh environment;
* an environment used after its last ``close()`` is :class:`EnvClosedError`.

Closing is safe while other threads use the environment: ``close()`` stops new
transactions, waits for the open ones to end, then closes LMDB (closing it under a
transaction of another thread hangs or crashes the process in LMDB's C code).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import threading
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import lmdb

from graphkit.errors import (
    GraphkitError,
    InvalidArgumentError,
    SaverClosedError,
    StoreClosedError,
)

T = TypeVar("T")

DEFAULT_MAP_SIZE = 64 * 1024 * 1024
"""Initial map size (bytes). LMDB files are sparse, so this costs no disk until used."""

DEFAULT_MAX_MAP_SIZE = 1 << 40
"""The map never grows past this (1 TiB) unless the caller raises it."""

DEFAULT_MAX_READERS = 1024
"""Reader slots (concurrent read transactions across all processes on the path).

LMDB's own default, 126, is too few for a server with many worker threads or
processes. A slot costs 64 bytes of ``lock.mdb``. The size is fixed by the first
process that opens the environment (when no other has it open)."""

_MAX_DBS = 16
_FREE_WHEN_FULL = 8 << 20  # less than this free after a failed write: the disk is full


class LMDBNotFoundError(GraphkitError, FileNotFoundError):
    """No LMDB environment (no ``data.mdb``) where one was to be opened, not created."""


class LMDBAccessError(GraphkitError, PermissionError):
    """An environment cannot be opened for writing where it is (a read-only directory
    or filesystem): the message names the path and how to read it instead."""


class LMDBCorruptError(GraphkitError, OSError):
    """The LMDB files on disk are damaged (e.g. ``data.mdb`` truncated)."""


class DiskFullError(GraphkitError, OSError):
    """A write could not be stored because the disk (or the file size limit) is full.

    The transaction was rolled back: nothing of it was written, and what was stored
    before is intact.
    """


class ReadersFullError(GraphkitError, RuntimeError):
    """Every LMDB reader slot is taken; the message names the setting to raise."""


class ForkedEnvError(GraphkitError, RuntimeError):
    """An environment opened before ``fork()`` was used in the child process."""


class EnvClosedError(SaverClosedError, StoreClosedError):
    """An environment was used after its last ``close()`` (by its saver or store): a
    :class:`~graphkit.errors.SaverClosedError` and a
    :class:`~graphkit.errors.StoreClosedError`, whichever of the two was closed."""


class CloseInTransactionError(GraphkitError, RuntimeError):
    """``close()`` was called by a thread with a transaction of the environment open
    (it would wait for that transaction to end, which cannot happen)."""


_pid = os.getpid()
"""This process's id, updated in a forked child (environments remember their opener's)."""


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
        max_readers: int = DEFAULT_MAX_READERS,
        readonly: bool = False,
    ) -> None:
        self.path = Path(path)
        _check_settings(self.path, map_size, max_map_size, max_readers)
        self.readonly = readonly
        """Opened read-only: nothing is created, databases must exist, writes fail."""
        if readonly:
            if not (self.path / "data.mdb").is_file():
                raise LMDBNotFoundError(f"no LMDB environment at {self.path} (no data.mdb)")
        else:
            self.path.mkdir(parents=True, exist_ok=True)
        self.max_map_size = max_map_size
        self.max_readers = max_readers
        self.env = _open_env(self.path, map_size, max_readers, sync=sync, readonly=readonly)
        try:
            _check_size(self.env, self.path)
        except BaseException:
            self.env.close()
            raise
        self._pid = _pid
        self._dbs: dict[str, lmdb._Database] = {}
        self._lock = threading.RLock()
        self._guard = ResizeGuard()
        self._refs = 1
        self._registry_key = ""
        self._gone = threading.Event()
        """Set once the last ``close()`` has closed LMDB (an ``open`` of the path waits)."""
        _live.add(self)

    def db(self, name: str, *, dupsort: bool = False) -> lmdb._Database:
        """Return the named database, creating it on first use."""
        self._check_pid()  # before any lock: a parent's thread may have held it at fork
        found = self._dbs.get(name)
        if found is not None:
            # No lock for an open database: a thread in a write transaction asks for one
            # while another holds the lock waiting for LMDB's writer lock (see below).
            return found
        while True:
            with self._lock:
                found = self._dbs.get(name)
                if found is not None:
                    return found
                self._guard.enter()
                try:
                    found = self._open_db(name, dupsort)
                except lmdb.MapResizedError:
                    found = None
                finally:
                    self._guard.leave()
                if found is not None:
                    self._dbs[name] = found
                    return found
            self._resize(0)  # another process grew the map: adopt its size, then retry

    def has_db(self, name: str) -> bool:
        """True when the environment holds a database of that name (nothing is created)."""
        with self.read() as txn:  # named databases are keys of the main database
            return txn.get(name.encode()) is not None

    def _open_db(self, name: str, dupsort: bool) -> lmdb._Database:
        if not self.readonly:
            # In a write transaction of our own: py-lmdb's open_db(create=True) without
            # one waits for the writer lock holding the GIL, so it deadlocks against
            # a write in another thread (a background checkpoint commit).
            txn = self.env.begin(write=True)
            try:
                found = self.env.open_db(name.encode(), txn=txn, dupsort=dupsort, create=True)
            except BaseException as exc:
                txn.abort()
                if isinstance(exc, _DAMAGED):
                    raise _damaged(exc, self.path) from None
                raise
            txn.commit()
            return found
        try:
            return self.env.open_db(name.encode(), dupsort=dupsort, create=False)
        except _DAMAGED as exc:
            raise _damaged(exc, self.path) from None
        except lmdb.NotFoundError:
            raise MissingDatabaseError(
                f"the LMDB environment at {self.path} has no database {name!r} "
                "(nothing of that kind was ever stored there)"
            ) from None

    def write(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(txn, *args)`` in one write transaction; grow the map and retry if full.

        ``fn`` must be safe to re-run: a full map aborts the transaction, so nothing
        it wrote is kept before the retry. Growing waits until no transaction of this
        process is open (LMDB requires it).
        """
        guard = self._guard
        while True:
            # (``_open`` inlined for the common case: a write per checkpoint runs this)
            if self._pid != _pid:
                self._check_pid()
            guard.enter()
            try:
                # (positional: begin(db, parent, write, buffers) parses no keywords)
                txn: lmdb.Transaction = self.env.begin(None, None, True, False)
            except BaseException as exc:
                guard.leave()
                if not isinstance(exc, lmdb.Error):
                    raise
                txn = self._open(write=True)  # a map grown by another process, say
            try:
                # what ``with txn:`` does, without its __enter__/__exit__ calls
                try:
                    result = fn(txn, *args)
                except BaseException:
                    txn.abort()
                    raise
                txn.commit()
                return result
            except lmdb.MapFullError:
                seen = self.env.info()["map_size"]
            except lmdb.Error as exc:
                clear = _write_error(exc, self.path)
                if clear is None:
                    if isinstance(exc, _DAMAGED):
                        raise _damaged(exc, self.path) from None
                    raise
                raise clear from None
            finally:
                guard.leave()
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
        if self._pid != _pid:
            self._check_pid()
        guard = self._guard
        guard.enter()
        try:
            return self._begin(write)
        except lmdb.MapResizedError:
            pass
        except BaseException:
            guard.leave()
            raise
        guard.leave()
        self._resize(0)  # 0 = take the size now recorded in the file
        guard.enter()
        try:
            return self._begin(write)
        except BaseException:
            guard.leave()
            raise

    def _begin(self, write: bool) -> lmdb.Transaction:
        """``env.begin``; a full reader table is swept of dead processes' slots once."""
        try:
            return self.env.begin(write=write, buffers=False)
        except lmdb.ReadersFullError:
            if not self.env.reader_check():
                raise ReadersFullError(
                    f"all {self.env.max_readers()} LMDB reader slots of {self.path} are in "
                    "use (one per concurrent read, across every process on the path). "
                    "Open it with a larger max_readers= (LMDBSaver(path, max_readers=...), "
                    "LMDBEnv(path, max_readers=...)) after every process has closed it."
                ) from None
        return self.env.begin(write=write, buffers=False)

    def _check_pid(self) -> None:
        """ForkedEnvError if this environment was opened by the parent of a fork."""
        if self._pid != _pid:
            raise ForkedEnvError(
                f"the LMDB environment at {self.path} was opened in process {self._pid} "
                f"before it forked; LMDB environments cannot be shared across fork(). "
                "Open a new LMDBSaver/LMDBStore in the child process (gunicorn --preload: "
                "open it in a post_fork hook or on first use)."
            )

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
        max_readers: int = DEFAULT_MAX_READERS,
    ) -> LMDBEnv:
        """The process's environment for ``path``: opened once, then shared.

        LMDB allows one open environment per path per process, so a saver and a
        store given the same directory must share it; settings of the first opener win.
        A child process after ``fork()`` starts with none (it opens its own).
        """
        key = os.path.realpath(path)
        while True:
            with _registry_lock:
                env = _registry.get(key)
                if env is None or env._pid != _pid:
                    env = cls(
                        path,
                        map_size=map_size,
                        max_map_size=max_map_size,
                        sync=sync,
                        max_readers=max_readers,
                    )
                    env._registry_key = key
                    _registry[key] = env
                    return env
                with env._lock:
                    if env._refs > 0:
                        env._refs += 1
                        return env
            env._gone.wait()  # its last close is under way: open the path anew after it

    def acquire(self) -> LMDBEnv:
        """Take one more reference (a second saver or store sharing this environment)."""
        with self._lock:
            if self._refs <= 0:
                raise EnvClosedError(self._closed_message())
            self._refs += 1
        return self

    def close(self) -> None:
        """Drop one reference; the environment closes when the last one goes.

        The last close waits for the transactions other threads have open, and makes
        every later one raise :class:`EnvClosedError`. Closing more often than opened
        does nothing; closing inside a transaction of this thread raises
        :class:`CloseInTransactionError` (nothing is released).
        """
        if self._pid != _pid:  # a forked child never closes its parent's (see _after_fork)
            self._refs -= 1
            return
        with self._lock:
            if self._refs <= 0:
                return  # closed already
            if self._refs == 1 and self._guard.held_here():
                raise CloseInTransactionError(
                    f"the LMDB environment at {self.path} was closed inside a transaction "
                    "of the same thread; end the transaction (leave `with env.read()`, "
                    "return from the write) before closing"
                )
            self._refs -= 1
            if self._refs:
                return
        # Registered until LMDB has closed (an open of the path meanwhile waits: LMDB
        # allows one open environment per path in a process), and no global lock held
        # while the transactions of other threads end.
        try:
            self._guard.close(self._closed_message())
            self.env.close()
        finally:
            with _registry_lock:
                if _registry.get(self._registry_key) is self:
                    del _registry[self._registry_key]
            self._gone.set()

    def _closed_message(self) -> str:
        return (
            f"the LMDB environment at {self.path} was closed (its LMDBSaver or LMDBStore was "
            "closed): keep the saver or store open while it is used, or open a new one on "
            "the path"
        )

    def __enter__(self) -> LMDBEnv:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_registry: dict[str, LMDBEnv] = {}
_registry_lock = threading.Lock()
_live: weakref.WeakSet[LMDBEnv] = weakref.WeakSet()
"""Every open environment of the process (a forked child pins them, see _after_fork)."""


def _after_fork() -> None:
    """In a forked child: forget the parent's environments, and never close them.

    Closing an inherited LMDB environment would end the parent's read transactions in
    the shared lock file (their snapshots would lose protection from writers), so each
    is kept alive (one extra reference) until the child exits; new opens in the child
    get fresh environments.
    """
    global _pid, _registry_lock
    _pid = os.getpid()
    _registry_lock = threading.Lock()
    _registry.clear()
    for env in list(_live):
        ctypes.pythonapi.Py_IncRef(ctypes.py_object(env.env))


def _keys_per_process() -> None:
    """Let a forked child open an environment its parent has open.

    py-lmdb refuses to open an environment twice in one process (LMDB's fcntl locks
    belong to the process), identifying it by its files' inodes. A forked child
    inherits the parent's open environments, which it may neither use nor close, and
    holds none of their locks: it must open its own. Tagging the identities with the
    process id keeps py-lmdb's guard within each process and lets the child do that.
    """
    try:
        import lmdb._envid as envid  # what py-lmdb identifies environments with
    except ImportError:  # an older py-lmdb: it has no such guard
        return
    keys = getattr(envid, "env_keys", None)
    if keys is None or getattr(keys, "_graphkit_per_process", False):
        return

    def env_keys(path: str, subdir: bool) -> tuple[object, ...]:
        return tuple(("pid", os.getpid(), *key) if key else key for key in keys(path, subdir))

    env_keys._graphkit_per_process = True  # type: ignore[attr-defined]
    envid.env_keys = env_keys


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)
    _keys_per_process()


_OPEN_RETRIES = 8
"""Opens retried when another process grows the map in between (MDB_MAP_RESIZED)."""


class MissingDatabaseError(GraphkitError, LookupError):
    """A read-only environment has no database of that name."""


MIN_MAP_SIZE = 64 * 1024
"""The smallest ``map_size`` accepted (LMDB needs some pages to open its databases)."""


def _check_settings(path: Path, map_size: Any, max_map_size: Any, max_readers: Any) -> None:
    """InvalidArgumentError for settings LMDB would refuse obscurely (an OverflowError,
    a MapFullError on open, "File exists"), raised before anything is created."""

    def is_int(value: Any) -> bool:
        return isinstance(value, int) and not isinstance(value, bool)

    if not is_int(map_size) or not MIN_MAP_SIZE <= map_size < 1 << 62:
        raise InvalidArgumentError(
            f"map_size={map_size!r}: give the initial map size in bytes, an int of at "
            f"least {MIN_MAP_SIZE} (the map grows when full; the default is {DEFAULT_MAP_SIZE})"
        )
    if not is_int(max_map_size) or not map_size <= max_map_size < 1 << 62:
        raise InvalidArgumentError(
            f"max_map_size={max_map_size!r}: give an int of bytes, at least map_size={map_size}"
        )
    if not is_int(max_readers) or not 1 <= max_readers < 1 << 31:
        raise InvalidArgumentError(f"max_readers={max_readers!r}: give a positive int")
    if path.exists() and not path.is_dir():
        raise InvalidArgumentError(
            f"{path} is a file: an LMDB environment is a directory (it holds data.mdb and "
            "lock.mdb); give the path of a directory, or of one to create"
        )
    if (path / "data.mdb").is_dir():
        raise InvalidArgumentError(
            f"{path / 'data.mdb'} is a directory, not LMDB's data file: move it away"
        )


def _open_env(
    path: Path, map_size: int, max_readers: int, *, sync: bool, readonly: bool
) -> lmdb.Environment:
    """``lmdb.open`` with our settings; read-only falls back to no lock file on RO media."""

    # One fsync per commit (data), not two (metasync=False): LMDB keeps its integrity,
    # and a power loss can at worst undo the last commit. A killed process loses
    # nothing either way: committed pages are in the OS page cache.
    def attempt(lock: bool) -> lmdb.Environment:
        for _ in range(_OPEN_RETRIES):
            try:
                return _open_once(lock)
            except lmdb.MapResizedError:
                continue  # another process grew the map while we opened: open again
        return _open_once(lock)

    def _open_once(lock: bool) -> lmdb.Environment:
        return lmdb.open(
            str(path),
            map_size=map_size,
            max_dbs=_MAX_DBS,
            max_readers=max_readers,
            sync=sync,
            metasync=False,
            subdir=True,
            readonly=readonly,
            create=not readonly,
            lock=lock,
        )

    try:
        try:
            return attempt(lock=True)
        except lmdb.Error as exc:
            if not _is_permission(exc):
                raise
            if not readonly:
                raise LMDBAccessError(
                    f"cannot open the LMDB environment at {path} for writing ({exc}); "
                    "read it with LMDBEnv(path, readonly=True) (LMDBSaver(env=...), "
                    "LMDBStore.open_existing(path), `graphkit threads PATH`), or copy it "
                    "to a writable directory"
                ) from None
        # A read-only directory or mount: no lock file can be opened for writing.
        # Reading without one is safe as long as no process writes meanwhile.
        return attempt(lock=False)
    except lmdb.Error as exc:
        if not isinstance(exc, _UNREADABLE) and "is not supported by this build" not in str(exc):
            raise
        raise LMDBCorruptError(
            f"{path / 'data.mdb'} is not a readable LMDB file ({exc}); restore it from a "
            "backup, or move it away to start afresh"
        ) from None


_UNREADABLE = (lmdb.InvalidError, lmdb.CorruptedError, lmdb.VersionMismatchError)
"""What LMDB raises on opening a file that is not an LMDB file it can read."""
_DAMAGED = (lmdb.CorruptedError, lmdb.PageNotFoundError, lmdb.BadTxnError)
"""What LMDB raises on following a damaged page: a bad page type, a page number past the
end; then the transaction refuses every further operation (BadTxnError)."""


def _damaged(exc: lmdb.Error, path: Path) -> LMDBCorruptError:
    """The error for LMDB meeting a damaged page of ``path``'s data.mdb."""
    return LMDBCorruptError(
        f"{path / 'data.mdb'} is damaged: LMDB found a page that is not what its tree says "
        f"({exc}); restore it from a backup (what still reads can be copied out with "
        "`mdb_dump -a`)"
    )


def _is_permission(exc: lmdb.Error) -> bool:
    text = str(exc)
    return any(s in text for s in ("Permission denied", "Read-only file system"))


def _check_size(env: lmdb.Environment, path: Path) -> None:
    """LMDBCorruptError if ``data.mdb`` is shorter than the pages LMDB's header says it has.

    Reading a page past the end of a memory-mapped file kills the process with SIGBUS,
    so a truncated file (a partial copy, a full disk during a copy) is refused here.
    """
    needed = (env.info()["last_pgno"] + 1) * env.stat()["psize"]
    actual = os.path.getsize(path / "data.mdb")
    if actual < needed:
        raise LMDBCorruptError(
            f"{path / 'data.mdb'} is truncated: it has {actual} bytes, but LMDB's own header "
            f"says its pages reach {needed} bytes (reading it would crash the process). "
            "Restore it from a backup, or move the directory away to start afresh."
        )


def _at_size_limit(path: Path) -> bool:
    """True if data.mdb is within a megabyte of the process's file size limit."""
    try:
        import resource

        limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
        return limit != resource.RLIM_INFINITY and (
            os.path.getsize(path / "data.mdb") + (1 << 20) >= limit
        )
    except (ImportError, OSError, ValueError):
        return False


def _write_error(exc: lmdb.Error, path: Path) -> Exception | None:
    """A clear error for a write that failed on disk (full, size limit, I/O); else None."""
    text = str(exc)
    causes = {
        "No space left on device": errno.ENOSPC,
        "Disk quota exceeded": errno.EDQUOT,
        "File too large": errno.EFBIG,
        "Input/output error": errno.EIO,
    }
    code = next((c for s, c in causes.items() if s in text), None)
    if code is None:
        return None
    try:
        stat = os.statvfs(path)
        free: int | None = stat.f_bavail * stat.f_frsize
    except OSError:
        free = None
    kept = (
        "nothing of this write (this step's checkpoint) was stored; what was stored "
        "before is intact"
    )
    if code == errno.EFBIG or (code == errno.EIO and _at_size_limit(path)):
        why = f"data.mdb in {path} reached the file size limit (ulimit -f)"
    elif code in (errno.ENOSPC, errno.EDQUOT) or (free is not None and free < _FREE_WHEN_FULL):
        left = f" ({free} bytes free)" if free is not None else ""
        why = f"the disk holding {path} is full{left}"
    else:
        return DiskFullError(
            errno.EIO,
            f"an I/O error while writing to {path} ({text}); {kept}. Check the disk "
            "(dmesg) before writing again.",
        )
    return DiskFullError(code, f"{why}: {kept}. Free some space, then run again.")


class _Read:
    """``with env.read() as txn``: a read transaction that holds off map resizes."""

    __slots__ = ("_env", "_txn")

    def __init__(self, env: LMDBEnv) -> None:
        self._env = env

    def __enter__(self) -> lmdb.Transaction:
        self._txn = self._env._open(write=False)
        return self._txn

    def __exit__(self, kind: object, exc: object, tb: object) -> None:
        try:
            self._txn.abort()  # read-only: ending it is all there is to do
        finally:
            del self._txn  # py-lmdb frees the reader slot with the transaction object
            self._env._guard.leave()
        if isinstance(exc, _DAMAGED):
            raise _damaged(exc, self._env.path) from None


class ResizeGuard:
    """Readers/writer guard for the memory map.

    Every transaction of the process holds it shared (``enter``/``leave``); a resize
    holds it exclusively, so ``set_mapsize`` never runs under an open transaction (LMDB
    unmaps the old map: a reader in another thread would read freed memory). A pending
    resize makes new transactions wait, except in a thread that already has one open
    (nested transactions must not deadlock against the resize waiting for them).

    With no resize pending, ``enter`` and ``leave`` take no lock: each adds or removes
    the thread's id in a list (one step each under the GIL), then looks at the resize
    flag. A resize sets the flag first and then waits for the list to empty, so either
    it sees the entry or the transaction sees the flag and backs off (``_wait``).
    """

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._open: list[int] = []
        """The thread id of each open transaction of the process (once per transaction)."""
        self._resizing = False
        """A resize (or the close) is waiting for, or holding, the map."""
        self._closed = ""
        """Set by :meth:`close` (the error message): no transaction may begin any more."""

    def enter(self) -> None:
        """A transaction begins."""
        ident = threading.get_ident()
        self._open.append(ident)
        if self._resizing:
            self._wait(ident)

    def _wait(self, ident: int) -> None:
        """A resize is pending: step back and wait for it, unless nested in this thread."""
        opened = self._open
        with self._cond:
            if opened.count(ident) > 1:
                return  # this thread has a transaction open: the resize waits for it
            opened.remove(ident)
            self._cond.notify_all()  # the resize may be waiting on this entry
            while self._resizing:
                if self._closed:
                    raise EnvClosedError(self._closed)
                self._cond.wait()
            opened.append(ident)

    def leave(self) -> None:
        """A transaction ended."""
        self._open.remove(threading.get_ident())
        if self._resizing:
            with self._cond:
                self._cond.notify_all()

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold the map alone: waits until every open transaction has ended."""
        if threading.get_ident() in self._open:
            raise MapFullError(
                "cannot resize the LMDB map while this thread has a transaction open; "
                "end the transaction first (e.g. do not write inside `with env.read()`)"
            )
        with self._cond:
            self._hold()
        try:
            yield
        finally:
            with self._cond:
                self._resizing = False
                self._cond.notify_all()

    def _hold(self) -> None:
        """Take the map (call with ``_cond`` held): wait for a resize under way, then
        for every open transaction (new ones wait meanwhile)."""
        while self._resizing:
            if self._closed:
                raise EnvClosedError(self._closed)
            self._cond.wait()
        self._resizing = True
        while self._open:
            self._cond.wait()

    def held_here(self) -> bool:
        """Whether this thread has a transaction open."""
        return threading.get_ident() in self._open

    def close(self, message: str) -> None:
        """Hold the map for good: wait for every open transaction to end; from then on
        each that begins raises :class:`EnvClosedError` with ``message``."""
        with self._cond:
            self._hold()
            self._closed = message
            self._cond.notify_all()  # transactions waiting to begin: they raise now


class MapFullError(GraphkitError, RuntimeError):
    """The LMDB map is full and may not grow further; the message says what to raise."""
