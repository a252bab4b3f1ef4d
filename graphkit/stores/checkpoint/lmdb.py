"""LMDBSaver: durable checkpoints in an LMDB environment.

Four named databases, all keyed so every common read is one cursor seek:

==================  =============================================  =====================
database            key                                            value
==================  =============================================  =====================
``ckpt_checkpoints``  T · N · id16                                   record + metadata
``ckpt_metadata``     T · N · id16                                   metadata (older records)
``ckpt_blobs``        T · N · C · version (u64 BE)                   value blob / delta
``ckpt_writes``       T · N · id16 · task_index (u32 BE) · K · idx   [channel, value]
==================  =============================================  =====================

plus ``ckpt_names`` (hashed key component -> its text) and ``ckpt_format`` (a marker:
values end with a CRC-32).

A record holds everything of a checkpoint but its values (versions, frontier, parent)
and its metadata, so a step is one record plus the blobs of the channels it changed:
two databases touched per commit. Records written before they held the metadata
(five fields, not six) have it in ``ckpt_metadata``; both kinds read alike.

``T``, ``N``, ``C``, ``K`` are thread id, namespace, channel and task id, each UTF-8
with ``00`` escaped as ``00 FF`` and ended by ``00 01``: prefix-free and
order-preserving, so the keys of one (thread, namespace) are one contiguous range.
A component too long for LMDB's 511-byte keys (a thread id or namespace over 192
such bytes; a channel or task id that would not fit) is stored as ``00 02`` + a
BLAKE2b digest + ``00 01``, its text kept in ``ckpt_names``: any string works.
``id16`` is the checkpoint id's 16 UUID bytes: ids are time-ordered, so "latest" is a
seek past the range and one step back, history is a reverse walk, and "by id" is a get.

Every value ends with the CRC-32 of the rest, checked on every read: damaged bytes
raise CheckpointCorruptError naming thread, checkpoint and part, never decode into
wrong data. (A store written before checksums, without the ``ckpt_format`` marker,
is read and written without them.)

Several processes can share one path (LMDB serializes writers and gives readers
snapshots). The only thing kept in the process is a :class:`~graphkit.stores.checkpoint._codec.ListCache`
of append chains joined as bytes; it is used only when the newest blob of the chain,
read from LMDB on every ``get_tuple``, continues it exactly, and it is dropped for a
thread this saver deletes, copies over or prunes.
"""

from __future__ import annotations

import builtins
import functools
import hashlib
import os
import struct
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from zlib import crc32

from graphkit.errors import ConfigError, InvalidArgumentError, SaverClosedError
from graphkit.stores._lmdb import (
    DEFAULT_MAP_SIZE,
    DEFAULT_MAX_MAP_SIZE,
    DEFAULT_MAX_READERS,
    LMDBEnv,
)
from graphkit.stores._ready import READY, Ready
from graphkit.stores.checkpoint import _codec as codec
from graphkit.stores.checkpoint.base import (
    BaseCheckpointSaver,
    Checkpoint,
    CheckpointCorruptError,
    CheckpointMetadata,
    CheckpointTuple,
    CheckpointWriter,
    RunnableConfig,
    ThreadSummary,
    checkpoint_id_bytes,
    checkpoint_id_of,
    checkpoint_id_str,
    checkpoint_of,
    make_config,
    named_checkpoint,
    names_namespace,
    summarize_threads,
    thread_of,
)
from graphkit.stores.serde import Serializer

__all__ = ["LMDBSaver"]

_U32 = struct.Struct(">I")
_U64 = struct.Struct(">Q")
CRC = codec.CRC  # (codec.seal's, for the writes that seal inline)
_END = b"\xff" * 17  # sorts after every id16 of a range
_PAGE = 32  # checkpoints decoded per read transaction when listing
_CHECKSUMS = b"checksums"  # in ckpt_format: present when every value ends with its CRC-32


Txn = Any
"""A py-lmdb transaction. Typed loosely: opened with buffers=False, keys and values are bytes."""
Cursor = Any
"""A py-lmdb cursor (see ``Txn``)."""


def _reader(env: LMDBEnv) -> Txn:
    """A read-only transaction (use as a context manager)."""
    return env.read()


_MAX_KEY = 511  # LMDB's key size limit
_SHORT = 192  # thread ids and namespaces encoding longer than this are hashed in keys
_HASHED = b"\x00\x02"  # starts a hashed component (a plain one never starts so)


@functools.lru_cache(maxsize=65536)
def enc(text: str) -> bytes:
    """Prefix-free bytes for one key component (memoized: they repeat on every call).

    UTF-8 (lone surrogates kept) with ``00`` escaped as ``00 FF``, ended by ``00 01``.
    A component longer than 192 such bytes is replaced by ``00 02`` + a 16-byte
    BLAKE2b digest (escaped) + ``00 01``, so keys stay under LMDB's 511-byte limit
    for thread ids and namespaces of any length; the saver records the original
    text in ``ckpt_names`` (see :func:`dec`).
    """
    plain = _escape(text.encode("utf-8", "surrogatepass")) + b"\x00\x01"
    return plain if len(plain) <= _SHORT else _hashed(text)


def enc_in(text: str, room: int) -> bytes:
    """:func:`enc` of a last key component that must fit in ``room`` bytes."""
    found = enc(text)
    return found if len(found) <= room else _hashed(text)


@functools.lru_cache(maxsize=4096)
def _hashed(text: str) -> bytes:
    raw = text.encode("utf-8", "surrogatepass")
    return _HASHED + _escape(hashlib.blake2b(raw, digest_size=16).digest()) + b"\x00\x01"


def _has_hashed(key: bytes) -> bool:
    """Whether ``key`` holds a hashed component (``find``: ``in`` on bytes first tries
    the needle as an int, raising and clearing a TypeError on every call)."""
    return key.find(_HASHED) >= 0


def _escape(raw: bytes) -> bytes:
    return raw.replace(b"\x00", b"\x00\xff")


def dec(
    key: bytes, start: int = 0, names: Callable[[bytes], str | None] | None = None
) -> tuple[str, int]:
    """(component, offset after it) read from ``key`` at ``start``.

    A hashed component is looked up with ``names`` (component bytes -> original text);
    without it, or if it is not found, it reads as ``<hashed HEX>``.
    """
    end = key.find(b"\x00\x01", start)
    if end < 0:
        raise CheckpointCorruptError(
            f"malformed checkpoint key {bytes(key[:64])!r}: a key component is not "
            "terminated; the LMDB directory was written by something other than "
            "LMDBSaver, or is damaged"
        )
    part = key[start:end]
    if part[:2] == _HASHED:
        text = names(key[start : end + 2]) if names is not None else None
        return text if text is not None else f"<hashed {part[2:].hex()}>", end + 2
    try:
        return part.replace(b"\x00\xff", b"\x00").decode("utf-8", "surrogatepass"), end + 2
    except UnicodeDecodeError:
        raise CheckpointCorruptError(
            f"malformed checkpoint key {bytes(key[:64])!r}: not UTF-8"
        ) from None


_id_str = checkpoint_id_str


class LMDBSaver(BaseCheckpointSaver):
    """A saver backed by LMDB: durable, multi-process, one write transaction per put.

    Open with a directory ``path`` (created if missing), or share an open ``env`` with
    other users (e.g. the memory store; the saver's databases are prefixed ``ckpt_``).
    ``sync=False`` trades durability of the last commits on power loss for speed.
    ``max_readers`` caps concurrent reads across every process on the path (see
    :data:`~graphkit.stores._lmdb.DEFAULT_MAX_READERS`).
    ``copy_on_read=False`` makes reads of long message lists O(new messages) by sharing
    decoded messages between reads (see :mod:`graphkit.stores.checkpoint.base`: never change
    them in place then).

    >>> import tempfile
    >>> from graphkit.stores.checkpoint.base import empty_checkpoint
    >>> with LMDBSaver(tempfile.mkdtemp()) as saver:
    ...     ckpt = empty_checkpoint()
    ...     ckpt["channel_values"], ckpt["channel_versions"] = {"x": 1}, {"x": 1}
    ...     cfg = saver.put({"configurable": {"thread_id": "t"}}, ckpt, {}, {"x": 1})
    ...     saver.get(cfg)["channel_values"]
    {'x': 1}
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        env: LMDBEnv | None = None,
        map_size: int = DEFAULT_MAP_SIZE,
        max_map_size: int = DEFAULT_MAX_MAP_SIZE,
        sync: bool = True,
        max_readers: int = DEFAULT_MAX_READERS,
        serde: Serializer | None = None,
        snapshot_every: int = codec.DEFAULT_SNAPSHOT_EVERY,
        copy_on_read: bool = True,
    ) -> None:
        super().__init__(serde=serde)
        if env is None:
            if path is None:
                raise ConfigError("LMDBSaver needs a directory: pass path=... or env=LMDBEnv(...)")
            env = LMDBEnv.open(
                path,
                map_size=map_size,
                max_map_size=max_map_size,
                sync=sync,
                max_readers=max_readers,
            )
        else:
            env.acquire()
        self.env = env
        try:
            self.waits_on_io = bool(env.env.flags().get("sync", True))
            """Commits wait on a disk sync unless the environment was opened ``sync=False``
            (then a put is a memory copy plus a ``write``: saved inline, no hand-off)."""
            self.snapshot_every = snapshot_every
            self._checkpoints = env.db("ckpt_checkpoints")
            self._metadata = env.db("ckpt_metadata")
            self._blobs = env.db("ckpt_blobs")
            self._writes = env.db("ckpt_writes")
            try:
                self._names: Any = env.db("ckpt_names")
            except LookupError:  # read-only, and no long names were ever stored
                self._names = None
            self._closed = False
            self._sums = self._checksummed()
            """Every stored value ends with its CRC-32 (all but stores written before that)."""
        except BaseException:
            env.close()  # (the reference taken above: a failed open keeps nothing open)
            raise
        self._close_lock = threading.Lock()
        self._lists = codec.ListCache(copy_on_read=copy_on_read)
        self.shares_reads = not copy_on_read
        self._versions: dict[bytes, _Last] = {}
        """Per thread+namespace: the checkpoint last written or read (see ``_Last``)."""
        self._last_commit: tuple[int, bytes] = (-2, b"")
        """(LMDB transaction id, key) of the checkpoint this saver committed last: a child
        written in the very next transaction of the environment (no other write of any
        process came between) need not look its parent up."""

    @classmethod
    def from_conn_string(cls, path: str | os.PathLike[str], **options: Any) -> LMDBSaver:
        """``LMDBSaver(path, **options)``, spelled as LangGraph's ``SqliteSaver`` and
        ``PostgresSaver`` open: ``with LMDBSaver.from_conn_string("checkpoints") as saver``
        (``path`` is a directory, created if missing)."""
        return cls(path, **options)

    def setup(self) -> Ready:
        """Nothing to do: the environment is ready once opened (``SqliteSaver.setup()``
        creates its tables; code written for it calls this, or awaits it as for
        ``AsyncSqliteSaver``: see :mod:`graphkit.stores._ready`)."""
        return READY

    def _checksummed(self) -> bool:
        """True unless the environment holds checkpoints written before checksums were."""
        try:
            marker = self.env.db("ckpt_format")
        except LookupError:  # read-only and never marked: an older store
            return False
        with _reader(self.env) as txn:
            if txn.get(_CHECKSUMS, db=marker) is not None:
                return True
            if txn.cursor(db=self._checkpoints).first():
                return False  # an older store: read and written as it always was
        if not self.env.readonly:
            self.env.write(lambda txn: txn.put(_CHECKSUMS, b"crc32", db=marker))
        return True

    def _seal(self, data: bytes) -> bytes:
        return codec.seal(data) if self._sums else data

    def _unseal(self, data: bytes, where: Callable[[], str]) -> bytes:
        return codec.unseal(data, where) if self._sums else data

    def _blob_reader(
        self, txn: Txn, prefix: bytes, where: str
    ) -> Callable[[str, int], bytes | None]:
        """The ``GetBlob`` of one thread and namespace, checksums verified."""
        blobs_db = self._blobs
        get = txn.get
        room = _MAX_KEY - len(prefix) - 8
        if not self._sums:
            return lambda ch, ver: get(prefix + enc_in(ch, room) + _U64.pack(ver), db=blobs_db)

        def read(channel: str, version: int) -> bytes | None:
            found = get(prefix + enc_in(channel, room) + _U64.pack(version), db=blobs_db)
            if found is None:
                return None
            return codec.unseal(found, lambda: f"{where}, channel {channel!r} version {version}")

        return read

    def _namer(self, txn: Txn) -> Callable[[bytes], str | None]:
        """Original text of a hashed key component (see :func:`enc`)."""
        db, get = self._names, txn.get

        def name(component: bytes) -> str | None:
            found = get(component, db=db) if db is not None else None
            return None if found is None else bytes(found).decode("utf-8", "surrogatepass")

        return name

    def _put_names(self, txn: Txn, *texts: str) -> None:
        """Record the original of every component of ``texts`` that keys hash."""
        for text in texts:
            key = enc(text)
            if key[:2] == _HASHED:
                txn.put(key, text.encode("utf-8", "surrogatepass"), db=self._names)

    def close(self) -> None:
        """Release this saver's reference to the environment (closed with the last one),
        once the checkpoints queued for it are committed. Safe while other threads use
        the saver: their reads and writes under way finish first, and later ones raise
        :class:`~graphkit.errors.SaverClosedError`. Closing again does nothing."""
        with self._close_lock:  # (two threads closing at once release one reference)
            if self._closed:
                return
            super().close()
            self.env.close()  # (raises, releasing nothing, if called inside a transaction)
            self._closed = True

    # ------------------------------------------------------------------ writes
    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: dict[str, int],
    ) -> RunnableConfig:
        if self._closed:
            raise _closed_error()
        thread_id, ns, prefix, parent_id = _checked(config)
        checkpoint = codec.checked_checkpoint(checkpoint, new_versions)
        self._save(thread_id, ns, prefix, parent_id, checkpoint, metadata, new_versions)
        return make_config(thread_id, ns, checkpoint["id"])

    def _save(
        self,
        thread_id: str,
        ns: str,
        prefix: bytes,
        parent_id: str | None,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: dict[str, int],
    ) -> None:
        """Store one checkpoint whose config was parsed and versions checked: ``put``'s
        work after its checks, and all a :class:`_Writer`'s ``put`` does."""
        item = self._prepare(
            thread_id, ns, prefix, parent_id, checkpoint, metadata, new_versions, None
        )
        try:
            depth = self.env.write(self._write_prepared, item)
        except BaseException:
            self._versions.clear()  # what we remembered while preparing was not written
            raise
        self._written(item, depth)

    def writer(self, config: RunnableConfig) -> CheckpointWriter:
        if self._closed:
            raise _closed_error()
        if type(self).put is not LMDBSaver.put:  # a subclass's put must see every save
            return super().writer(config)
        thread_id, ns, _ = thread_of(config)
        return _Writer(self, thread_id, ns, _prefix(thread_id, ns))

    def put_batch(
        self,
        items: Sequence[tuple[RunnableConfig, Checkpoint, CheckpointMetadata, dict[str, int]]],
    ) -> builtins.list[RunnableConfig]:
        """Store the checkpoints in order, all in one write transaction (one disk sync)."""
        if self._closed:
            raise _closed_error()
        pending: dict[bytes, bytes] = {}  # blobs of earlier items: bases of later appends
        prepared = []
        for config, checkpoint, metadata, new_versions in items:
            thread_id, ns, prefix, parent_id = _checked(config)
            checkpoint = codec.checked_checkpoint(checkpoint, new_versions)
            prepared.append(
                self._prepare(
                    thread_id, ns, prefix, parent_id, checkpoint, metadata, new_versions, pending
                )
            )

        def write(txn: Txn) -> builtins.list[int]:
            return [self._write_prepared(txn, item) for item in prepared]

        try:
            depths = self.env.write(write)
        except BaseException:
            self._versions.clear()  # what we remembered while preparing was not written
            raise
        for item, depth in zip(prepared, depths, strict=True):
            self._written(item, depth)
        return [make_config(p.thread_id, p.ns, p.cid) for p in prepared]

    def _written(self, item: _Prepared, depth: int) -> None:
        """Bring the in-process caches up to date with a checkpoint just committed."""
        self._last_commit = (item.txn_id, item.key)
        if item.fresh:  # stored in full, not as prepared
            self._lists.drop_thread(item.thread_id)
            self._versions.pop(item.prefix, None)
            return
        if item.checkpoint["channel_appends"]:  # (only appends are stored as deltas)
            for channel, version, blob in item.blobs:
                if blob[:1] == codec.DELTA:
                    key = (item.thread_id, item.ns, channel)
                    self._lists.wrote(self.serde, key, version, blob)
        if depth == 0 and item.depth:
            last = self._versions.get(item.prefix)
            if last is not None and last.cid == item.cid:
                last.depth = 0

    def _prepare(
        self,
        thread_id: str,
        ns: str,
        prefix: bytes,
        parent_id: str | None,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: dict[str, int],
        pending: dict[bytes, bytes] | None,
    ) -> _Prepared:
        """Encode one checkpoint outside the write transaction (keeps the writer lock short).

        ``prefix``: the key prefix of ``thread_id`` and ``ns``; ``parent_id``: the
        checkpoint it is put after. ``pending``: the blobs of a batch's earlier
        checkpoints (by key), which later ones may build on; this one's are added
        (None: a checkpoint alone)."""
        cid = checkpoint["id"]
        versions = checkpoint["channel_versions"]
        known = self._versions.get(prefix)
        if known is not None and known.cid == parent_id:
            parent_key = known.key
            if known.versions is None and len(versions) < codec.VERSIONS_DELTA_MIN:
                delta = mine = None  # too few channels for a delta, now as before
            else:
                delta, mine = _versions_delta(known, versions, new_versions)
        else:
            known = None
            parent_key = prefix + checkpoint_id_bytes(parent_id) if parent_id else b""
            delta, mine = None, _private(versions)
        if type(metadata) is dict and "writes" not in metadata:
            meta: Mapping[str, Any] = metadata  # (what slim_metadata returns for it, sooner)
        else:
            meta = codec.slim_metadata(metadata, checkpoint, new_versions)
        if delta is not None:
            assert known is not None
            depth = known.depth + 1
            base_key = parent_key
            record = codec.encode_record(
                self.serde, checkpoint, parent_id, [parent_key[-16:], depth, delta], meta
            )
        else:
            base_key, depth = b"", 0
            record = codec.encode_record(self.serde, checkpoint, parent_id, metadata=meta)
        if known is not None:
            chains, keys = known.chains, known.keys
        else:
            chains, keys = {}, {}
        if checkpoint["channel_appends"]:
            lookup = self._base_blobs(prefix, _MAX_KEY - len(prefix) - 8, pending)
            blobs = codec.encode_blobs(
                self.serde,
                checkpoint,
                new_versions,
                lookup,
                self.snapshot_every,
                _remembered_chain(chains, lookup),
            )
        else:
            blobs = codec.encode_blobs(
                self.serde, checkpoint, new_versions, codec.no_blob, self.snapshot_every
            )
        values = checkpoint["channel_values"]
        sums = self._sums
        items = []
        for channel, version, blob in blobs:
            base = keys.get(channel)
            if base is None:
                base = keys[channel] = prefix + enc_in(channel, _MAX_KEY - len(prefix) - 8)
            blob_key = base + _U64.pack(version)
            if pending is not None:
                pending[blob_key] = blob
            # (codec.seal, inline: this runs for every value of every step)
            items.append((blob_key, blob + CRC.pack(crc32(blob)) if sums else blob))
            if type(values.get(channel)) is list:  # the base of the next append
                chain = codec.chain_state(blob)
                if chain is not None:
                    chains[channel] = (version, chain)
        id16 = checkpoint_id_bytes(cid)
        key = prefix + id16
        if known is not None:  # the child takes the parent's place
            known.cid, known.key, known.versions, known.depth = cid, key, mine, depth
        else:
            if len(self._versions) > 4096:
                self._versions.clear()
            self._versions[prefix] = _Last(cid, key, mine, depth, chains, keys)
        return _Prepared(
            thread_id,
            ns,
            cid,
            prefix,
            key,
            record + CRC.pack(crc32(record)) if sums else record,
            parent_id,
            base_key,
            parent_key,
            depth,
            blobs,
            items,
            meta,
            checkpoint,
        )

    def _base_blobs(
        self, prefix: bytes, room: int, pending: dict[bytes, bytes] | None
    ) -> codec.GetBlob:
        """The ``GetBlob`` an append's delta is built on: this batch's blobs, else LMDB."""
        blobs_db = self._blobs

        def base_blob(channel: str, version: int) -> bytes | None:
            blob_key = prefix + enc_in(channel, room) + _U64.pack(version)
            found = pending.get(blob_key) if pending is not None else None
            if found is not None:
                return found
            with _reader(self.env) as txn:
                found = txn.get(blob_key, db=blobs_db)
            try:
                return None if found is None else self._unseal(found, lambda: "")
            except codec.CheckpointCorruptError:
                return None  # a damaged base: start a fresh chain instead of extending it

        return base_blob

    def _write_prepared(self, txn: Txn, item: _Prepared) -> int:
        """Write one prepared checkpoint; returns the delta depth its record ended up with."""
        put = txn.put
        depth = item.depth
        record = item.record
        items = item.items
        parent_key = item.parent_key
        txn_id = item.txn_id = txn.id()
        last_id, last_key = self._last_commit
        item.fresh = (
            bool(parent_key)
            # the parent committed in the transaction just before this one is still there
            and not (txn_id == last_id + 1 and parent_key == last_key)
            and txn.get(parent_key, db=self._checkpoints) is None
        )
        if item.fresh:
            # The parent is gone: the thread was deleted (or pruned to nothing) while a
            # run on it went on. The run's unchanged values and append bases went with
            # it, so this checkpoint is stored self-contained: every value in full.
            record, depth, items = self._full_record(item), 0, self._fresh_items(item)
        elif (
            item.base_key
            and item.base_key != parent_key  # the parent was found just above
            and txn.get(item.base_key, db=self._checkpoints) is None
        ):
            # the delta's base was deleted (by another process): store the full map
            record, depth = self._full_record(item), 0
        # (positional: put(key, value, dupdata, overwrite, append, db) parses no keywords)
        blobs_db = self._blobs
        for blob_key, blob in items:
            put(blob_key, blob, True, True, False, blobs_db)
        if item.prefix.find(_HASHED) >= 0:  # (_has_hashed, inline)
            self._put_names(txn, item.thread_id, item.ns)
        put(item.key, record, True, True, False, self._checkpoints)
        return depth

    def _full_record(self, item: _Prepared) -> bytes:
        """``item``'s record with its full version map (when its delta base is gone)."""
        if not item.depth:
            return item.record
        return self._seal(
            codec.encode_record(self.serde, item.checkpoint, item.parent_id, metadata=item.meta)
        )

    def _fresh_items(self, item: _Prepared) -> builtins.list[tuple[bytes, bytes]]:
        """Blobs of every channel of ``item``'s checkpoint, in full (no append deltas)."""
        checkpoint = item.checkpoint
        blobs = codec.encode_blobs(
            self.serde, checkpoint, checkpoint["channel_versions"], codec.no_blob, 0
        )
        room = _MAX_KEY - len(item.prefix) - 8
        return [
            (item.prefix + enc_in(ch, room) + _U64.pack(v), self._seal(b)) for ch, v, b in blobs
        ]

    def _remember_versions(
        self, prefix: bytes, cid: str, versions: dict[str, int], depth: int
    ) -> None:
        """Keep the last written/read version map per thread: the next put may store a delta."""
        if len(self._versions) > 4096:
            self._versions.clear()
        self._versions[prefix] = _Last(
            cid, prefix + checkpoint_id_bytes(cid), _private(versions), depth
        )

    def _resolve_versions(
        self, txn: Txn, prefix: bytes, field: Any, where: str
    ) -> tuple[dict[str, int], int]:
        """A record's full version map (following delta bases) and its delta depth."""
        if isinstance(field, dict):
            return field, 0
        chain: builtins.list[dict[str, int]] = []
        while isinstance(field, builtins.list):
            if len(field) != 3 or len(chain) > codec.VERSIONS_DELTA_MAX_DEPTH:
                raise codec.CheckpointCorruptError(f"{where}: malformed channel versions")
            base16, _depth, changed = field
            chain.append(changed)
            record = txn.get(prefix + bytes(base16), db=self._checkpoints)
            if record is None:
                raise codec.CheckpointCorruptError(
                    f"{where}: the checkpoint {_id_str(bytes(base16))} its channel versions "
                    "build on is missing"
                )
            base_where = codec.describe(*_names(prefix), _id_str(bytes(base16)))
            record = self._unseal(record, functools.partial(str, base_where))
            field = codec.decode_record(self.serde, record, where)[2]
        versions = dict(field)
        for changed in reversed(chain):
            versions.update(changed)
        return versions, len(chain)

    def put_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str | int = "",
    ) -> None:
        if self._closed:
            raise _closed_error()
        thread_id, ns, cid = checkpoint_of(config)
        task_index = codec.task_index_of(task_path)
        if not 0 <= task_index < 1 << 32:
            raise InvalidArgumentError(f"task_index must be in [0, 2**32), got {task_index}")
        base = _prefix(thread_id, ns) + checkpoint_id_bytes(cid)
        task_key = enc_in(str(task_id), _MAX_KEY - len(base) - 8)
        items = [
            (
                base + _U32.pack(task_index) + task_key + _U32.pack(i),
                self._seal(codec.encode_write(self.serde, task_id, channel, value)),
            )
            for i, (channel, value) in enumerate(writes)
        ]

        def write(txn: Txn) -> None:
            cursor = txn.cursor(db=self._writes)
            found = cursor.set_range(base)
            while found and cursor.key().startswith(base):
                if cursor.key()[len(base) + 4 :].startswith(task_key):
                    found = cursor.delete()
                else:
                    found = cursor.next()
            for write_key, data in items:
                txn.put(write_key, data, db=self._writes)
            if _has_hashed(base) or task_key[:2] == _HASHED:
                self._put_names(txn, thread_id, ns)
                if task_key[:2] == _HASHED:
                    txn.put(task_key, str(task_id).encode("utf-8", "surrogatepass"), db=self._names)

        self.env.write(write)

    # ------------------------------------------------------------------- reads
    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        if self._closed:
            raise _closed_error()
        thread_id, ns, cid = thread_of(config)
        prefix = _prefix(thread_id, ns)
        with _reader(self.env) as txn:
            if cid is not None:
                key = prefix + checkpoint_id_bytes(cid)
                record = txn.get(key, db=self._checkpoints)
                if record is None:
                    return None
            else:
                cursor = txn.cursor(db=self._checkpoints)
                found = _last_before(cursor, prefix, prefix + _END)
                if found is None:
                    return None
                key, record = found
            return self._load(txn, thread_id, ns, key, record)

    def _load(
        self,
        txn: Txn,
        thread_id: str,
        ns: str,
        key: bytes,
        record: bytes,
        shared: codec.SharedReads | None = None,
    ) -> CheckpointTuple:
        """Decode the checkpoint stored under ``key`` (record already read)."""
        where = codec.describe(thread_id, ns, _id_str(key[-16:]))
        return self._load_fields(
            txn, thread_id, ns, key, self._decode_record(record, where), shared
        )

    def _decode_record(self, record: bytes, where: str) -> builtins.list[Any]:
        """The fields of a stored record (see :func:`codec.decode_record`), checksum checked."""
        record = self._unseal(record, functools.partial(_record_place, where))
        return codec.decode_record(self.serde, record, where)

    def _metadata_of(
        self,
        txn: Txn,
        key: bytes,
        record_fields: builtins.list[Any],
        where: str,
        values: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A checkpoint's metadata: in its record, or apart for records written before."""
        found = codec.record_metadata(record_fields, where, values)
        if found is not None:
            return found
        meta = txn.get(key, db=self._metadata)
        if meta is None:
            return {}
        meta = self._unseal(meta, lambda: f"{where}, metadata")
        return codec.decode_metadata(self.serde, meta, where, values)

    def _load_fields(
        self,
        txn: Txn,
        thread_id: str,
        ns: str,
        key: bytes,
        record_fields: builtins.list[Any],
        shared: codec.SharedReads | None = None,
    ) -> CheckpointTuple:
        """The checkpoint stored under ``key``, its record already decoded."""
        prefix, id16 = key[:-16], key[-16:]
        cid = _id_str(id16)
        where = codec.describe(thread_id, ns, cid)
        last = self._versions.get(prefix)
        if last is not None and last.cid == cid and last.versions is not None:
            # just written or read here: its map without walking the delta chain again
            versions = dict(last.versions)
        else:
            versions, depth = self._resolve_versions(txn, prefix, record_fields[2], where)
            self._remember_versions(prefix, cid, versions, depth)
        values = codec.read_values(
            self.serde,
            versions,
            self._blob_reader(txn, prefix, where),
            where,
            self._lists,
            (thread_id, ns),
            shared,
        )
        metadata = self._metadata_of(txn, key, record_fields, where, values)
        pending = self._pending(txn, key, where)
        return codec.checkpoint_tuple(
            thread_id, ns, cid, record_fields, versions, values, metadata, pending
        )

    def children(self, config: RunnableConfig) -> builtins.list[CheckpointTuple]:
        """The checkpoints whose parent ``config`` names, newest first: a forward scan
        of the newer records of its namespace (values are read only for the matches)."""
        thread_id, ns, cid = checkpoint_of(config)
        prefix = _prefix(thread_id, ns)
        start = prefix + checkpoint_id_bytes(cid)
        found: builtins.list[CheckpointTuple] = []
        with _reader(self.env) as txn:
            cursor = txn.cursor(db=self._checkpoints)
            if not cursor.set_range(start):
                return found
            for raw_key, raw in cursor:
                key = bytes(raw_key)
                if not key.startswith(prefix):
                    break
                if key == start or len(key) != len(prefix) + 16:
                    continue
                where = codec.describe(thread_id, ns, _id_str(key[-16:]))
                record = self._unseal(bytes(raw), functools.partial(_record_place, where))
                if codec.decode_record(self.serde, record, where)[4] == cid:
                    found.append(self._load(txn, thread_id, ns, key, bytes(raw)))
        found.reverse()
        return found

    def _pending(self, txn: Txn, key: bytes, where: str) -> list[tuple[str, str, Any]]:
        out: list[tuple[str, str, Any]] = []
        cursor = txn.cursor(db=self._writes)
        if not cursor.set_range(key):
            return out
        skip = len(key) + 4
        names = self._namer(txn)
        for write_key, data in cursor:
            if not write_key.startswith(key):
                break
            task_id, _ = dec(write_key, skip, names)
            data = self._unseal(data, functools.partial(_write_place, where, task_id))
            channel, value = codec.decode_write(self.serde, data, where)
            out.append((task_id, channel, value))
        return out

    def list(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        if self._closed:
            raise _closed_error()
        before_id = checkpoint_id_of(before)
        if config is None:
            yield from self._list_all(filter, before_id, limit)
            return
        thread_id, ns, named = thread_of(config)
        if not names_namespace(config):
            spaces = self._namespaces(thread_id)
            yield from self._every_namespace(thread_id, spaces, filter, before, limit, named)
            return
        if named is not None:
            yield from named_checkpoint(self, config, filter, before, limit)
            return
        prefix = _prefix(thread_id, ns)
        upper = prefix + (checkpoint_id_bytes(before_id) if before_id else _END)
        remaining = limit
        shared = codec.SharedReads()  # older lists: slices of newer ones this listing read
        while remaining is None or remaining > 0:
            page: list[CheckpointTuple] = []
            want = _PAGE if remaining is None else min(_PAGE, remaining)
            if self._closed:  # (closed while the caller went through the pages before)
                raise _closed_error()
            with _reader(self.env) as txn:
                cursor = txn.cursor(db=self._checkpoints)
                found = _last_before(cursor, prefix, upper)
                while found is not None and len(page) < want:
                    key, data = found
                    upper = key
                    tup = self._match(txn, thread_id, ns, key, data, filter, shared)
                    if tup is not None:
                        page.append(tup)
                    found = _step_back(cursor, prefix)
            yield from page
            if remaining is not None:
                remaining -= len(page)
            if found is None:
                return

    def _namespaces(self, thread_id: str) -> builtins.list[str]:
        """The checkpoint namespaces of a thread (a scan of its checkpoint keys)."""
        prefix = enc(thread_id)
        found: set[str] = set()
        with _reader(self.env) as txn:
            cursor = txn.cursor(db=self._checkpoints)
            if cursor.set_range(prefix):
                for raw in cursor.iternext(values=False):
                    key = bytes(raw)
                    if not key.startswith(prefix):
                        break
                    found.add(self.key_names(txn, key)[1])
        return sorted(found)

    def _match(
        self,
        txn: Txn,
        thread_id: str,
        ns: str,
        key: bytes,
        data: bytes,
        filter: dict[str, Any] | None,
        shared: codec.SharedReads | None = None,
    ) -> CheckpointTuple | None:
        """The checkpoint under ``key`` (its record: ``data``) if its metadata matches."""
        if not filter:
            return self._load(txn, thread_id, ns, key, data, shared)
        where = codec.describe(thread_id, ns, _id_str(key[-16:]))
        fields = self._decode_record(data, where)
        if not codec.matches(self._metadata_of(txn, key, fields, where), filter):
            return None
        return self._load_fields(txn, thread_id, ns, key, fields, shared)

    def _list_all(
        self, filter: dict[str, Any] | None, before_id: str | None, limit: int | None
    ) -> Iterator[CheckpointTuple]:
        """Every thread's checkpoints, newest first (a full scan: an admin operation)."""
        before16 = checkpoint_id_bytes(before_id) if before_id else None
        keys: builtins.list[tuple[bytes, bytes]] = []
        with _reader(self.env) as txn:
            for key, record in txn.cursor(db=self._checkpoints):
                if before16 is not None and key[-16:] >= before16:
                    continue
                if filter:
                    where = codec.describe(*_names(key[:-16]), _id_str(key[-16:]))
                    fields = self._decode_record(record, where)
                    if not codec.matches(self._metadata_of(txn, key, fields, where), filter):
                        continue
                keys.append((key[-16:], key))
        keys.sort(reverse=True)
        if limit is not None:
            keys = keys[:limit]
        for _, key in keys:
            with _reader(self.env) as txn:
                thread_id, ns = self.key_names(txn, key)
                record = txn.get(key, db=self._checkpoints)
                item = self._load(txn, thread_id, ns, key, record) if record else None
            if item is not None:
                yield item

    # ------------------------------------------------------------- maintenance
    def _dbs(self) -> builtins.list[Any]:
        return [self._checkpoints, self._metadata, self._blobs, self._writes]

    def list_threads(self) -> builtins.list[ThreadSummary]:
        """Every thread, newest activity first, from checkpoint keys alone (no values read)."""
        db = self.env.db("ckpt_checkpoints")
        with self.env.read() as txn:
            keys: builtins.list[tuple[str, str, bytes]] = []
            for raw in txn.cursor(db=db).iternext(values=False):
                key = bytes(raw)
                thread_id, ns = self.key_names(txn, key)
                keys.append((thread_id, ns, key[-16:]))
        return summarize_threads(keys)

    def delete_thread(self, thread_id: str) -> None:
        prefix = enc(str(thread_id))

        def write(txn: Txn) -> None:
            for db in self._dbs():
                _delete_prefix(txn.cursor(db=db), prefix)

        self.env.write(write)
        self._lists.drop_thread(str(thread_id))
        self._forget_versions(prefix)

    def _forget_versions(self, thread_prefix: bytes) -> None:
        for key in [k for k in self._versions if k.startswith(thread_prefix)]:
            del self._versions[key]

    def copy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        source, target = enc(str(source_thread_id)), enc(str(target_thread_id))
        if source == target:
            return

        def write(txn: Txn) -> None:
            self._put_names(txn, str(target_thread_id))
            for db in self._dbs():
                cursor = txn.cursor(db=db)
                items = []
                if cursor.set_range(source):
                    for key, value in cursor:
                        if not key.startswith(source):
                            break
                        items.append((target + key[len(source) :], value))
                for key, value in items:
                    txn.put(key, value, db=db)

        self.env.write(write)
        self._lists.drop_thread(str(target_thread_id))

    def prune(
        self, thread_ids: Sequence[str], *, strategy: str = "keep_latest", keep_latest: int = 1
    ) -> None:
        keep_latest = codec.kept_by_prune(strategy, keep_latest)
        for thread_id in thread_ids:

            def write(txn: Txn, thread: str = str(thread_id)) -> None:
                self._prune_thread(txn, thread, keep_latest)

            self.env.write(write)
            self._lists.drop_thread(str(thread_id))

    def _prune_thread(self, txn: Txn, thread_id: str, keep: int) -> None:
        tprefix = enc(thread_id)
        by_ns: dict[bytes, list[bytes]] = {}
        cursor = txn.cursor(db=self._checkpoints)
        if cursor.set_range(tprefix):
            for key in cursor.iternext(values=False):
                if not key.startswith(tprefix):
                    break
                by_ns.setdefault(key[:-16], []).append(key)
        used: set[bytes] = set()
        for prefix, keys in by_ns.items():
            cut = max(len(keys) - keep, 0)
            ns, _ = dec(prefix, len(tprefix))
            kept = []
            for key in keys[cut:]:
                where = codec.describe(thread_id, ns, _id_str(key[-16:]))
                place = functools.partial(str, f"{where}, record")
                raw = self._unseal(txn.get(key, db=self._checkpoints), place)
                record = codec.decode_record(self.serde, raw, where)
                versions, depth = self._resolve_versions(txn, prefix, record[2], where)
                kept.append((key, record, versions, depth))
            for key in keys[:cut]:
                txn.delete(key, db=self._checkpoints)
                txn.delete(key, db=self._metadata)
                _delete_prefix(txn.cursor(db=self._writes), key)
            for key, record, versions, depth in kept:
                if depth:  # its delta base may be gone: store the full map
                    record[2] = versions
                    txn.put(key, self._seal(self.serde.dumps(record)), db=self._checkpoints)
                get = self._blob_reader(txn, prefix, where)
                room = _MAX_KEY - len(prefix) - 8
                for channel, version in versions.items():
                    base = prefix + enc_in(channel, room)
                    for ver in codec.chain_versions(channel, version, get, where):
                        used.add(base + _U64.pack(ver))
        blobs = txn.cursor(db=self._blobs)
        found = blobs.set_range(tprefix)
        while found and blobs.key().startswith(tprefix):
            found = blobs.next() if blobs.key() in used else blobs.delete()

    # ------------------------------------------------------------ diagnostics
    def key_names(self, txn: Txn, key: bytes) -> tuple[str, str]:
        """(thread_id, checkpoint_ns) of a checkpoint key (long ones hashed in keys)."""
        names = self._namer(txn)
        thread_id, at = dec(key, 0, names)
        ns, _ = dec(key, at, names)
        return thread_id, ns

    def disk_usage(self) -> int:
        """Bytes of LMDB pages in use by this environment (all databases)."""
        return _used_bytes(self.env.env)


class _Writer(CheckpointWriter):
    """An :class:`LMDBSaver`'s writer: each ``put`` is ``put``'s work after its checks
    (the thread's key prefix is made once; the runtime's versions are not checked)."""

    __slots__ = ("_lmdb", "_ns", "_prefix", "_thread_id")

    def __init__(self, saver: LMDBSaver, thread_id: str, ns: str, prefix: bytes) -> None:
        super().__init__(saver)
        self._lmdb = saver
        self._thread_id = thread_id
        self._ns = ns
        self._prefix = prefix

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: dict[str, int],
    ) -> None:
        saver = self._lmdb
        if saver._closed:
            raise _closed_error()
        parent_id = config["configurable"].get("checkpoint_id")
        saver._save(
            self._thread_id, self._ns, self._prefix, parent_id, checkpoint, metadata, new_versions
        )


def _checked(config: RunnableConfig) -> tuple[str, str, bytes, str | None]:
    """(thread, namespace, their key prefix, parent id) of a public put."""
    thread_id, ns, parent_id = thread_of(config)
    return thread_id, ns, _prefix(thread_id, ns), parent_id


def _prefix(thread_id: str, ns: str) -> bytes:
    """The key prefix of a thread's namespace."""
    return enc(thread_id) + enc(ns)


def _closed_error() -> SaverClosedError:
    return SaverClosedError(
        "this LMDBSaver was closed, so it cannot save or read checkpoints: keep the saver "
        "open while graphs run on it (or open a new LMDBSaver on the same path)"
    )


@dataclass(slots=True)
class _Prepared:
    """One checkpoint encoded for ``put_batch``, ready to write."""

    thread_id: str
    ns: str
    cid: str
    prefix: bytes
    key: bytes
    record: bytes
    parent_id: str | None
    """The parent checkpoint's id (to encode the full record if the delta's base is gone)."""
    base_key: bytes
    parent_key: bytes
    """The parent checkpoint's key (b"" for a first checkpoint)."""
    depth: int
    blobs: builtins.list[tuple[str, int, bytes]]
    items: builtins.list[tuple[bytes, bytes]]
    meta: Mapping[str, Any]
    """The metadata (packed into the record)."""
    checkpoint: Checkpoint
    fresh: bool = False
    """Set when written: the parent was gone, so every value was stored in full."""
    txn_id: int = -2
    """Set when written: the LMDB transaction id it was written in."""


@dataclass(slots=True)
class _Last:
    """The checkpoint of a thread and namespace this saver last wrote or read: a put
    made after it (its child) finds its key here and may store its version map as a
    delta on it."""

    cid: str
    key: bytes
    """Its key (the thread's prefix + its id's 16 bytes)."""
    versions: dict[str, int] | None
    """A private copy of its full version map (None for maps too small for deltas)."""
    depth: int
    """How many delta-encoded records its version map builds on."""
    chains: dict[str, tuple[int, codec.ChainState]] = field(default_factory=dict)
    """Per list channel: (version, chain state) of its newest blob written here (the
    base of the next append: found without reading it back)."""
    keys: dict[str, bytes] = field(default_factory=dict)
    """Per channel: the start of its blobs' keys (made once, not on every put)."""


def _remembered_chain(
    chains: dict[str, tuple[int, codec.ChainState]], read: codec.GetBlob
) -> codec.GetChain:
    """The chain state of a base blob: remembered if this saver wrote it, else read."""

    def chain(channel: str, version: int) -> codec.ChainState | None:
        found = chains.get(channel)
        if found is not None and found[0] == version:
            return found[1]
        return codec.chain_state(read(channel, version))

    return chain


def _private(versions: dict[str, int]) -> dict[str, int] | None:
    """A copy of ``versions`` to remember, if a delta may ever be based on it."""
    return dict(versions) if len(versions) >= codec.VERSIONS_DELTA_MIN else None


def _versions_delta(
    known: _Last, versions: dict[str, int], new_versions: dict[str, int]
) -> tuple[dict[str, int] | None, dict[str, int] | None]:
    """(the delta of ``versions`` on ``known``'s map or None, the map to remember).

    The runtime passes the changed channels as ``new_versions``: when the parent's map
    updated with them is ``versions`` (one C-level compare), they are the delta, with
    no walk over every channel; otherwise :func:`codec.versions_delta` decides.
    """
    base = known.versions
    if base is None:
        return None, _private(versions)
    mine = dict(base)
    mine.update(new_versions)
    if mine != versions:
        delta = codec.versions_delta(versions, base, known.depth)
        return delta, dict(versions)
    if (
        known.depth >= codec.VERSIONS_DELTA_MAX_DEPTH
        or len(versions) < codec.VERSIONS_DELTA_MIN
        or len(new_versions) * 2 > len(versions)
    ):
        return None, mine
    return dict(new_versions), mine


def _unsealed(data: bytes) -> bytes:
    """What a store written before checksums keeps: the bytes as they are."""
    return data


def _record_place(where: str) -> str:
    return f"{where}, record"


def _write_place(where: str, task_id: str) -> str:
    return f"{where}, pending write of task {task_id!r}"


def _names(prefix: bytes) -> tuple[str, str]:
    """(thread, namespace) of a key prefix (for error messages)."""
    thread_id, at = dec(prefix)
    ns, _ = dec(prefix, at)
    return thread_id, ns


def _used_bytes(env: Any) -> int:
    """Pages in use (up to the last used page) times the page size."""
    info = env.info()
    return int((info["last_pgno"] + 1) * env.stat()["psize"])


def _last_before(cursor: Cursor, prefix: bytes, upper: bytes) -> tuple[bytes, bytes] | None:
    """The last (key, value) of the ``prefix`` range that sorts before ``upper``."""
    found = cursor.prev() if cursor.set_range(upper) else cursor.last()
    if not found:
        return None
    key = cursor.key()
    if not key.startswith(prefix) or len(key) != len(prefix) + 16:
        return None
    return key, cursor.value()


def _step_back(cursor: Cursor, prefix: bytes) -> tuple[bytes, bytes] | None:
    if not cursor.prev():
        return None
    key = cursor.key()
    if not key.startswith(prefix) or len(key) != len(prefix) + 16:
        return None
    return key, cursor.value()


def _delete_prefix(cursor: Cursor, prefix: bytes) -> None:
    found = cursor.set_range(prefix)
    while found and cursor.key().startswith(prefix):
        found = cursor.delete()
