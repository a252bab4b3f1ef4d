"""PostgresSaver: checkpoints in PostgreSQL, shared by many worker processes on many hosts.

The record format is LMDBSaver's (:mod:`graphkit.stores.checkpoint._codec`): a blob per
(thread, namespace, channel, version), append deltas for lists that only grow, pending
writes apart, metadata apart. Three tables (created by :meth:`PostgresSaver.setup`):

==========================  ==============================================  =================
table                       key                                             holds
==========================  ==============================================  =================
``graphkit_checkpoints``    thread_id, checkpoint_ns, checkpoint_id (uuid)  record, metadata,
                                                                            parent_id, the
                                                                            version map as
                                                                            two arrays
``graphkit_blobs``          thread_id, checkpoint_ns, channel, version      value blob / delta
``graphkit_writes``         thread_id, checkpoint_ns, checkpoint_id,        [channel, value]
                            task_index, task_id, idx
==========================  ==============================================  =================

Each ``put`` / ``put_batch`` is one transaction. A ``get_tuple`` is one query: the
checkpoint row, its blobs (joined through the version arrays) and its pending writes
come back together; only an append chain the process has not seen yet costs more.

**Two workers, one thread.** A saver remembers, per thread and namespace, the
checkpoint it last saw as the newest (``get_tuple`` without a ``checkpoint_id``, as a
run does when it starts) and then each checkpoint it put after it. A put whose parent
is that checkpoint is *continuing the head*: it takes a transaction-scoped advisory
lock on the thread and namespace and checks that no other checkpoint has the same
parent; if one has (another worker committed a step on it first), the put is rolled
back and :class:`CheckpointConflictError` names the thread: history never silently
forks, and what the other worker committed is untouched. A put from a checkpoint the
caller chose explicitly (replay, ``update_state`` on an old checkpoint) is a
deliberate fork and is not checked. The lock lives only for the commit: nothing is
held while nodes run, and a crashed worker leaves no lock behind.

Stored bytes are decoded with graphkit's serializer, which never imports or calls
anything named by the data.
"""

from __future__ import annotations

import builtins
import functools
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from graphkit.errors import GraphkitError, InvalidArgumentError
from graphkit.stores._postgres import Conn, Connector, PostgresConnectionError, lock_key, migrate
from graphkit.stores.checkpoint import _codec as codec
from graphkit.stores.checkpoint.base import (
    BaseCheckpointSaver,
    Checkpoint,
    CheckpointCorruptError,
    CheckpointMetadata,
    CheckpointTuple,
    RunnableConfig,
    ThreadSummary,
    checkpoint_id_bytes,
    checkpoint_id_of,
    checkpoint_id_time,
    checkpoint_of,
    make_config,
    names_namespace,
    observe_checkpoint_id,
    thread_of,
)
from graphkit.stores.serde import Serializer

__all__ = ["CheckpointConflictError", "PostgresConnectionError", "PostgresSaver"]


class CheckpointConflictError(GraphkitError, RuntimeError):
    """Another worker committed a step on the same parent checkpoint of the same thread.

    Nothing of this put was stored. Reload the thread (its latest checkpoint now
    includes the other worker's step) and run again, or route each thread to one worker.
    """


MIGRATIONS = [
    """
    CREATE TABLE graphkit_checkpoints (
        thread_id text NOT NULL,
        checkpoint_ns text NOT NULL,
        checkpoint_id uuid NOT NULL,
        parent_id uuid,
        channels text[] NOT NULL,
        versions bigint[] NOT NULL,
        record bytea NOT NULL,
        metadata bytea NOT NULL,
        PRIMARY KEY (thread_id, checkpoint_ns, checkpoint_id)
    );
    CREATE INDEX graphkit_checkpoints_parent
        ON graphkit_checkpoints (thread_id, checkpoint_ns, parent_id);
    CREATE INDEX graphkit_checkpoints_id ON graphkit_checkpoints (checkpoint_id);
    CREATE TABLE graphkit_blobs (
        thread_id text NOT NULL,
        checkpoint_ns text NOT NULL,
        channel text NOT NULL,
        version bigint NOT NULL,
        blob bytea NOT NULL,
        PRIMARY KEY (thread_id, checkpoint_ns, channel, version)
    );
    CREATE TABLE graphkit_writes (
        thread_id text NOT NULL,
        checkpoint_ns text NOT NULL,
        checkpoint_id uuid NOT NULL,
        task_index integer NOT NULL,
        task_id text NOT NULL,
        idx integer NOT NULL,
        data bytea NOT NULL,
        PRIMARY KEY (thread_id, checkpoint_ns, checkpoint_id, task_index, task_id, idx)
    );
    """,
    [
        # A put in one round trip: lock, checks and writes in one statement.
        """
        CREATE FUNCTION graphkit_put_checkpoint(
            p_thread text, p_ns text, p_id uuid, p_parent uuid, p_lock bigint,
            p_need_parent boolean, p_channels text[], p_versions bigint[], p_record bytea,
            p_metadata bytea, p_blob_channels text[], p_blob_versions bigint[], p_blobs bytea[]
        ) RETURNS text LANGUAGE plpgsql AS $$
        DECLARE
            other text;
        BEGIN
            IF p_lock IS NOT NULL THEN
                PERFORM pg_advisory_xact_lock(p_lock);
                IF p_parent IS NULL THEN
                    SELECT checkpoint_id::text INTO other FROM graphkit_checkpoints
                        WHERE thread_id = p_thread AND checkpoint_ns = p_ns
                        AND checkpoint_id <> p_id LIMIT 1;
                ELSE
                    SELECT checkpoint_id::text INTO other FROM graphkit_checkpoints
                        WHERE thread_id = p_thread AND checkpoint_ns = p_ns
                        AND parent_id = p_parent AND checkpoint_id <> p_id LIMIT 1;
                END IF;
                IF other IS NOT NULL THEN
                    RETURN 'conflict:' || other;
                END IF;
            END IF;
            IF p_need_parent AND NOT EXISTS (SELECT 1 FROM graphkit_checkpoints
                    WHERE thread_id = p_thread AND checkpoint_ns = p_ns
                    AND checkpoint_id = p_parent) THEN
                RETURN 'parent-gone';
            END IF;
            INSERT INTO graphkit_blobs (thread_id, checkpoint_ns, channel, version, blob)
                SELECT p_thread, p_ns, * FROM unnest(p_blob_channels, p_blob_versions, p_blobs)
                ON CONFLICT (thread_id, checkpoint_ns, channel, version)
                DO UPDATE SET blob = EXCLUDED.blob;
            INSERT INTO graphkit_checkpoints (thread_id, checkpoint_ns, checkpoint_id,
                    parent_id, channels, versions, record, metadata)
                VALUES (p_thread, p_ns, p_id, p_parent, p_channels, p_versions, p_record,
                    p_metadata)
                ON CONFLICT (thread_id, checkpoint_ns, checkpoint_id) DO UPDATE SET
                    parent_id = EXCLUDED.parent_id, channels = EXCLUDED.channels,
                    versions = EXCLUDED.versions, record = EXCLUDED.record,
                    metadata = EXCLUDED.metadata;
            RETURN NULL;
        END $$
        """
    ],
]
"""Numbered schema migrations (version = index + 1); append, never edit."""

_SELECT = """
SELECT c.thread_id, c.checkpoint_ns, c.checkpoint_id::text, c.record, c.metadata,
    c.channels, c.versions,
    ARRAY(SELECT b.blob FROM unnest(c.channels, c.versions) WITH ORDINALITY AS v(ch, ver, i)
          LEFT JOIN graphkit_blobs b ON b.thread_id = c.thread_id
               AND b.checkpoint_ns = c.checkpoint_ns AND b.channel = v.ch AND b.version = v.ver
          ORDER BY v.i),
    ARRAY(SELECT w.task_id FROM graphkit_writes w WHERE w.thread_id = c.thread_id
          AND w.checkpoint_ns = c.checkpoint_ns AND w.checkpoint_id = c.checkpoint_id
          ORDER BY w.task_index, w.task_id COLLATE "C", w.idx),
    ARRAY(SELECT w.data FROM graphkit_writes w WHERE w.thread_id = c.thread_id
          AND w.checkpoint_ns = c.checkpoint_ns AND w.checkpoint_id = c.checkpoint_id
          ORDER BY w.task_index, w.task_id COLLATE "C", w.idx)
FROM graphkit_checkpoints c
"""

_PAGE = 32
_CHAIN_FETCH = 64  # blobs fetched at once when walking an append chain not read before
_ESCAPED = "\uffff"


@functools.lru_cache(maxsize=65536)
def name_in(text: str) -> str:
    """``text`` as PostgreSQL can store it: a string with NUL or lone surrogates (which
    PostgreSQL text cannot hold), or starting with U+FFFF, becomes U+FFFF + the hex of
    its UTF-8 bytes. Injective, and the identity for ordinary names."""
    if "\x00" not in text and not text.startswith(_ESCAPED):
        if text.isascii():
            return text
        try:
            text.encode("utf-8")
            return text
        except UnicodeEncodeError:
            pass
    return _ESCAPED + text.encode("utf-8", "surrogatepass").hex()


@functools.lru_cache(maxsize=65536)
def name_out(stored: str) -> str:
    """Inverse of :func:`name_in`."""
    if stored.startswith(_ESCAPED):
        return bytes.fromhex(stored[1:]).decode("utf-8", "surrogatepass")
    return stored


@dataclass(slots=True)
class _Prepared:
    """One checkpoint encoded for a put, ready to write."""

    thread_id: str
    ns: str
    cid: str
    parent_id: str | None
    t: str
    """``thread_id`` as stored (:func:`name_in`)."""
    n: str
    """``ns`` as stored."""
    record: bytes
    meta: bytes
    blobs: builtins.list[tuple[str, int, bytes]]
    checkpoint: Checkpoint
    checked: bool
    """Continues the checkpoint this saver saw as the head: checked for a conflict."""
    fresh: bool = False
    """Its parent was found missing: every value is stored in full."""


class _ParentGone(Exception):
    """Raised inside a put's transaction (rolling it back) when a parent is missing."""

    def __init__(self, item: _Prepared) -> None:
        super().__init__(item.cid)
        self.item = item


class PostgresSaver(BaseCheckpointSaver):
    """A checkpoint saver on PostgreSQL: many processes, many hosts, one database.

    ``conn`` is a psycopg ``Connection``, a psycopg_pool ``ConnectionPool`` or a
    ``postgresql://`` URL (then a pool of up to ``pool_size`` connections is opened). Call :meth:`setup` once per database (any worker, any time:
    it is idempotent and safe to run concurrently). ``check_conflicts=False`` turns off
    the two-workers-one-thread check (see the module docstring).
    ``copy_on_read=False`` makes reads of long message lists O(new messages) by sharing
    decoded messages between reads (see :mod:`graphkit.stores.checkpoint.base`: never change
    them in place then).

    >>> import os
    >>> url = os.environ.get("GRAPHKIT_TEST_PG_URL")
    >>> if url:
    ...     with PostgresSaver.from_conn_string(url) as saver:
    ...         saver.setup()
    """

    def __init__(
        self,
        conn: Any,
        *,
        serde: Serializer | None = None,
        snapshot_every: int = codec.DEFAULT_SNAPSHOT_EVERY,
        copy_on_read: bool = True,
        check_conflicts: bool = True,
        pool_size: int = 8,
    ) -> None:
        super().__init__(serde=serde)
        self._db = Connector(conn, pool_size=pool_size)
        self.snapshot_every = snapshot_every
        self.check_conflicts = check_conflicts
        self._lists = codec.ListCache(copy_on_read=copy_on_read)
        self.shares_reads = not copy_on_read
        self._lock = threading.Lock()
        self._heads: dict[tuple[str, str], str | None] = {}
        """Per (thread, ns): the checkpoint this saver last saw or put as the newest."""
        self._recent: OrderedDict[tuple[str, str, str, int], bytes] = OrderedDict()
        """Blobs this saver wrote lately: the bases the next append deltas read."""
        self._recent_bytes = 0
        self._rejected: OrderedDict[str, str] = OrderedDict()
        """Checkpoint id -> the conflict message, for puts refused as conflicts: a
        checkpoint built on one of them (the runtime may queue several) is refused too."""

    @classmethod
    @contextmanager
    def from_conn_string(
        cls, conn_string: str, *, pipeline: bool = False, **kwargs: Any
    ) -> Iterator[PostgresSaver]:
        """A saver on a new pool of up to ``pool_size`` connections, closed on exit.

        ``pipeline`` is accepted for LangGraph compatibility: every put is already a
        single statement. ``kwargs`` go to the constructor.

        >>> # with PostgresSaver.from_conn_string("postgresql://...") as saver: ...
        """
        saver = cls(conn_string, **kwargs)
        try:
            yield saver
        finally:
            saver.close()

    @property
    def conn(self) -> Any:
        """The connection or pool this saver uses."""
        return self._db.conn

    def setup(self) -> None:
        """Create the tables, or migrate them to this version's schema (idempotent)."""
        self._db.run(lambda conn: migrate(conn, "checkpoints", MIGRATIONS))

    def close(self) -> None:
        """Close the connection if this saver opened it (from a URL), once the
        checkpoints queued for it are committed."""
        super().close()
        self._db.close()

    # ------------------------------------------------------------------ writes
    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: dict[str, int],
    ) -> RunnableConfig:
        return self.put_batch([(config, checkpoint, metadata, new_versions)])[0]

    def put_batch(
        self,
        items: Sequence[tuple[RunnableConfig, Checkpoint, CheckpointMetadata, dict[str, int]]],
    ) -> builtins.list[RunnableConfig]:
        """Store the checkpoints in order, in one transaction."""
        pending: dict[tuple[str, str, str, int], bytes] = {}
        heads: dict[tuple[str, str], str] = {}
        prepared = [self._prepare(*item, pending, heads) for item in items]

        def write(conn: Conn) -> None:
            if len(prepared) == 1:
                cursors = [self._write(conn, prepared[0])]
            else:  # one round trip for the batch: statements pipelined, results read after
                with conn.pipeline():
                    cursors = [self._write(conn, item) for item in prepared]
            for item, cursor in zip(prepared, cursors, strict=True):
                row = cursor.fetchone()
                self._verify(item, None if row is None else row[0])

        while True:
            try:
                self._db.run(write, single=len(prepared) == 1)
                break
            except _ParentGone as gone:
                # The parent is gone (the thread was deleted or pruned while a run on it
                # went on): store every value in full so the checkpoint stands alone.
                item = gone.item
                item.fresh = True
                item.blobs = codec.encode_blobs(
                    self.serde,
                    item.checkpoint,
                    item.checkpoint["channel_versions"],
                    codec.no_blob,
                    0,
                )
                with self._lock:
                    self._lists.drop_thread(item.thread_id)
        with self._lock:
            for item in prepared:
                if item.checked:
                    self._heads[(item.thread_id, item.ns)] = item.cid
                for channel, version, blob in item.blobs:
                    self._remember((item.t, item.n, channel, version), blob)
                    if blob[:1] == codec.DELTA:
                        self._lists.wrote(
                            self.serde, (item.thread_id, item.ns, channel), version, blob
                        )
        return [make_config(p.thread_id, p.ns, p.cid) for p in prepared]

    def _prepare(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: dict[str, int],
        pending: dict[tuple[str, str, str, int], bytes],
        heads: dict[tuple[str, str], str],
    ) -> _Prepared:
        """Encode one checkpoint outside the transaction."""
        thread_id, ns, parent_id = thread_of(config)
        checkpoint = codec.checked_checkpoint(checkpoint, new_versions)
        cid = checkpoint["id"]
        checkpoint_id_bytes(cid)
        if parent_id is not None:
            checkpoint_id_bytes(parent_id)
        t, n = name_in(thread_id), name_in(ns)

        def base_blob(channel: str, version: int) -> bytes | None:
            key = (t, n, channel, version)
            found = pending.get(key)
            if found is None:
                with self._lock:
                    found = self._recent.get(key)
            if found is None:
                row = self._db.run(
                    lambda conn: conn.execute(
                        "SELECT blob FROM graphkit_blobs WHERE thread_id = %s AND "
                        "checkpoint_ns = %s AND channel = %s AND version = %s",
                        (t, n, name_in(channel), version),
                        binary=True,
                    ).fetchone(),
                    single=True,
                )
                found = None if row is None else bytes(row[0])
            return found

        lookup = base_blob if checkpoint.get("channel_appends") else codec.no_blob
        blobs = codec.encode_blobs(
            self.serde, checkpoint, new_versions, lookup, self.snapshot_every
        )
        for channel, version, blob in blobs:
            pending[(t, n, channel, version)] = blob
        key = (thread_id, ns)
        with self._lock:
            refused = self._rejected.get(parent_id) if parent_id is not None else None
            if refused is not None:
                self._reject(cid, refused)
            head = heads[key] if key in heads else self._heads.get(key, _UNKNOWN)
        if refused is not None:
            raise CheckpointConflictError(
                f"{refused} (checkpoint {cid} builds on {parent_id}, refused as a conflict)"
            )
        checked = self.check_conflicts and head is not _UNKNOWN and head == parent_id
        if checked:
            heads[key] = cid
        return _Prepared(
            thread_id=thread_id,
            ns=ns,
            cid=cid,
            parent_id=parent_id,
            t=t,
            n=n,
            record=codec.encode_record(self.serde, checkpoint, parent_id, versions=0),
            meta=codec.encode_metadata(self.serde, metadata, checkpoint, new_versions),
            blobs=blobs,
            checkpoint=checkpoint,
            checked=checked,
        )

    def _write(self, conn: Conn, item: _Prepared) -> Any:
        """Store one prepared checkpoint with one call of ``graphkit_put_checkpoint`` (the
        conflict check, the parent check and the writes, in one statement); returns the
        cursor, whose one row is what it reports: None (stored), ``conflict:<id>`` or
        ``parent-gone`` (then nothing was written)."""
        t, n = item.t, item.n
        blobs = item.blobs
        versions = item.checkpoint["channel_versions"]
        return conn.execute(
            "SELECT graphkit_put_checkpoint(%s, %s, %s::uuid, %s::uuid, %s, %s, %s::text[], "
            "%s::bigint[], %b, %b, %s::text[], %s::bigint[], %b::bytea[])",
            (
                t,
                n,
                item.cid,
                item.parent_id,
                lock_key("ckpt", t, n) if item.checked else None,
                item.parent_id is not None and not item.fresh,
                [name_in(ch) for ch in versions],
                list(versions.values()),
                item.record,
                item.meta,
                [name_in(ch) for ch, _, _ in blobs],
                [v for _, v, _ in blobs],
                [b for _, _, b in blobs],
            ),
        )

    def _verify(self, item: _Prepared, outcome: str | None) -> None:
        """Raise (so a batch's transaction rolls back) if ``outcome`` is not a success:
        CheckpointConflictError, or ``_ParentGone`` to write ``item`` again self-contained."""
        if outcome == "parent-gone":
            raise _ParentGone(item)
        if outcome is not None:
            other = outcome.removeprefix("conflict:")
            after = (
                "the thread was empty when this run started"
                if item.parent_id is None
                else f"checkpoint {item.parent_id}"
            )
            # The head stays as it was: a retry of this put (the runtime saves a failed
            # batch's checkpoints one by one) must meet the same check.
            ns = f" (namespace {item.ns!r})" if item.ns else ""
            message = (
                f"thread {item.thread_id!r}{ns}: another worker already committed "
                f"checkpoint {other} after {after}; this step was not stored, so the "
                "history does not fork. Two workers ran the same thread at once: reload "
                "the thread and run again, or send each thread to one worker at a time."
            )
            with self._lock:
                self._reject(item.cid, message)
            raise CheckpointConflictError(message)

    def _reject(self, cid: str, message: str) -> None:
        """Remember a refused checkpoint (caller holds the lock)."""
        self._rejected[cid] = message
        while len(self._rejected) > 4096:
            self._rejected.popitem(last=False)

    def _remember(self, key: tuple[str, str, str, int], blob: bytes) -> None:
        """Keep a written blob as the base of the next append (caller holds the lock)."""
        if len(blob) > 1 << 20:
            return
        old = self._recent.pop(key, None)
        if old is not None:
            self._recent_bytes -= len(old)
        self._recent[key] = blob
        self._recent_bytes += len(blob)
        while self._recent_bytes > 32 << 20 or len(self._recent) > 65536:
            _, dropped = self._recent.popitem(last=False)
            self._recent_bytes -= len(dropped)

    def _forget_thread(self, thread_id: str) -> None:
        t = name_in(thread_id)
        with self._lock:
            self._lists.drop_thread(thread_id)
            for key in [k for k in self._recent if k[0] == t]:
                self._recent_bytes -= len(self._recent.pop(key))
            for head in [k for k in self._heads if k[0] == thread_id]:
                del self._heads[head]

    def put_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str | int = "",
    ) -> None:
        thread_id, ns, cid = checkpoint_of(config)
        task_index = codec.task_index_of(task_path)
        checkpoint_id_bytes(cid)
        if not 0 <= task_index < 1 << 31:
            raise InvalidArgumentError(f"task_index must be in [0, 2**31), got {task_index}")
        data = [codec.encode_write(self.serde, task_id, ch, value) for ch, value in writes]
        key = (name_in(thread_id), name_in(ns), cid, task_index, name_in(str(task_id)))

        def write(conn: Conn) -> None:
            conn.execute(
                "DELETE FROM graphkit_writes WHERE thread_id = %s AND checkpoint_ns = %s AND "
                "checkpoint_id = %s::uuid AND task_id = %s",
                (key[0], key[1], cid, key[4]),
            )
            if data:
                conn.execute(
                    "INSERT INTO graphkit_writes (thread_id, checkpoint_ns, checkpoint_id, "
                    "task_index, task_id, idx, data) SELECT %s, %s, %s::uuid, %s, %s, * "
                    "FROM unnest(%s::integer[], %b::bytea[])",
                    (*key, list(range(len(data))), data),
                )

        self._db.run(write)

    # ------------------------------------------------------------------- reads
    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        thread_id, ns, cid = thread_of(config)
        t, n = name_in(thread_id), name_in(ns)
        if cid is not None:
            checkpoint_id_bytes(cid)

        def read(conn: Conn) -> CheckpointTuple | None:
            if cid is not None:
                row = conn.execute(
                    _SELECT + "WHERE c.thread_id = %s AND c.checkpoint_ns = %s "
                    "AND c.checkpoint_id = %s::uuid",
                    (t, n, cid),
                    binary=True,
                ).fetchone()
            else:
                row = conn.execute(
                    _SELECT + "WHERE c.thread_id = %s AND c.checkpoint_ns = %s "
                    "ORDER BY c.checkpoint_id DESC LIMIT 1",
                    (t, n),
                    binary=True,
                ).fetchone()
                with self._lock:
                    if len(self._heads) > 65536:
                        self._heads.clear()
                    self._heads[(thread_id, ns)] = None if row is None else row[2]
            return None if row is None else self._load(conn, row)

        return self._db.run(read, single=True)

    def _load(
        self, conn: Conn, row: Any, shared: codec.SharedReads | None = None
    ) -> CheckpointTuple:
        """Decode one ``_SELECT`` row (more blobs are read only for unseen append chains).

        ``shared``: the listing this read is part of (older lists become slices of newer
        ones it decoded: see ``codec.SharedReads``)."""
        t, n, cid, record, meta, channels, versions, blobs, task_ids, datas = row
        thread_id, ns = name_out(t), name_out(n)
        observe_checkpoint_id(cid)  # what this process makes next sorts after it
        where = codec.describe(thread_id, ns, cid)
        fields = codec.decode_record(self.serde, bytes(record), where)
        _check_columns(channels, versions, where)
        names = [name_out(ch) for ch in channels]
        version_map = dict(zip(names, versions, strict=True))
        have: dict[tuple[str, int], bytes] = {
            (ch, ver): bytes(blob)
            for ch, ver, blob in zip(names, versions, blobs, strict=True)
            if blob is not None
        }

        def get_blob(channel: str, version: int) -> bytes | None:
            found = have.get((channel, version))
            if found is None:  # an older link of an append chain: one this saver wrote?
                with self._lock:
                    found = self._recent.get((t, n, channel, version))
            if found is None:
                for ver, blob in conn.execute(
                    "SELECT version, blob FROM graphkit_blobs WHERE thread_id = %s AND "
                    "checkpoint_ns = %s AND channel = %s AND version <= %s "
                    "ORDER BY version DESC LIMIT %s",
                    (t, n, name_in(channel), version, _CHAIN_FETCH),
                    binary=True,
                ):
                    have.setdefault((channel, ver), bytes(blob))
                found = have.get((channel, version))
            return found

        values = codec.read_values(
            self.serde, version_map, get_blob, where, self._lists, (thread_id, ns), shared
        )
        metadata = codec.decode_metadata(self.serde, bytes(meta), where, values)
        pending = []
        for task_id, data in zip(task_ids, datas, strict=True):
            channel, value = codec.decode_write(self.serde, bytes(data), where)
            pending.append((name_out(task_id), channel, value))
        return codec.checkpoint_tuple(
            thread_id, ns, cid, fields, version_map, values, metadata, pending
        )

    def children(self, config: RunnableConfig) -> builtins.list[CheckpointTuple]:
        """The checkpoints whose parent ``config`` names, newest first (one indexed query)."""
        thread_id, ns, cid = checkpoint_of(config)
        checkpoint_id_bytes(cid)

        def read(conn: Conn) -> builtins.list[CheckpointTuple]:
            rows = conn.execute(
                _SELECT + "WHERE c.thread_id = %s AND c.checkpoint_ns = %s "
                "AND c.parent_id = %s::uuid ORDER BY c.checkpoint_id DESC",
                (name_in(thread_id), name_in(ns), cid),
                binary=True,
            ).fetchall()
            return [self._load(conn, row) for row in rows]

        return self._db.run(read, single=True)

    def list(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        before_id = checkpoint_id_of(before)
        if before_id is not None:
            checkpoint_id_bytes(before_id)
        where: builtins.list[str] = []
        args: builtins.list[Any] = []
        if config is not None:
            thread_id, ns, named = thread_of(config)
            where.append("c.thread_id = %s")
            args.append(name_in(thread_id))
            if names_namespace(config):  # else every namespace of the thread
                where.append("c.checkpoint_ns = %s")
                args.append(name_in(ns))
            if named is not None:  # that checkpoint alone, as LangGraph's savers list it
                checkpoint_id_bytes(named)
                where.append("c.checkpoint_id = %s::uuid")
                args.append(named)
        if before_id is not None:
            where.append("c.checkpoint_id < %s::uuid")
            args.append(before_id)
        remaining = limit
        after: tuple[str, str, str] | None = None
        shared = codec.SharedReads()  # older lists: slices of newer ones this listing read
        while remaining is None or remaining > 0:
            clauses, params = list(where), list(args)
            if after is not None:
                clauses.append(
                    "(c.checkpoint_id, c.thread_id, c.checkpoint_ns) < (%s::uuid, %s, %s)"
                )
                params += [after[2], after[0], after[1]]
            sql = _SELECT + (" WHERE " + " AND ".join(clauses) if clauses else "")
            sql += " ORDER BY c.checkpoint_id DESC, c.thread_id DESC, c.checkpoint_ns DESC LIMIT %s"

            def read(conn: Conn, sql: str = sql, params: Any = params) -> tuple[Any, Any]:
                rows = conn.execute(sql, (*params, _PAGE), binary=True).fetchall()
                page: builtins.list[CheckpointTuple] = []
                for row in rows:
                    if filter and not codec.matches(
                        codec.decode_metadata(
                            self.serde,
                            bytes(row[4]),
                            codec.describe(name_out(row[0]), name_out(row[1]), row[2]),
                        ),
                        filter,
                    ):
                        continue
                    page.append(self._load(conn, row, shared))
                return rows, page

            rows, page = self._db.run(read, single=True)
            for item in page:
                if remaining is not None:
                    if remaining <= 0:
                        return
                    remaining -= 1
                yield item
            if len(rows) < _PAGE:
                return
            after = (rows[-1][0], rows[-1][1], rows[-1][2])

    # ------------------------------------------------------------- maintenance
    def list_threads(self) -> builtins.list[ThreadSummary]:
        """Every thread, newest activity first: one aggregate query, no values read."""
        rows = self._db.run(
            lambda conn: conn.execute(
                "SELECT thread_id, count(*), count(DISTINCT checkpoint_ns), "
                'max(checkpoint_id::text COLLATE "C") AS latest FROM graphkit_checkpoints '
                "GROUP BY thread_id ORDER BY latest DESC"
            ).fetchall(),
            single=True,
        )
        return [
            ThreadSummary(
                name_out(t), count, spaces, latest, checkpoint_id_time(checkpoint_id_bytes(latest))
            )
            for t, count, spaces, latest in rows
        ]

    def delete_thread(self, thread_id: str) -> None:
        t = name_in(str(thread_id))

        def delete(conn: Conn) -> None:
            for table in ("graphkit_writes", "graphkit_blobs", "graphkit_checkpoints"):
                conn.execute(f"DELETE FROM {table} WHERE thread_id = %s", (t,))

        self._db.run(delete)
        self._forget_thread(str(thread_id))

    def copy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        source, target = name_in(str(source_thread_id)), name_in(str(target_thread_id))
        if source == target:
            return

        def copy(conn: Conn) -> None:
            conn.execute(
                "INSERT INTO graphkit_checkpoints SELECT %s, checkpoint_ns, checkpoint_id, "
                "parent_id, channels, versions, record, metadata FROM graphkit_checkpoints "
                "WHERE thread_id = %s ON CONFLICT (thread_id, checkpoint_ns, checkpoint_id) "
                "DO UPDATE SET parent_id = EXCLUDED.parent_id, channels = EXCLUDED.channels, "
                "versions = EXCLUDED.versions, record = EXCLUDED.record, "
                "metadata = EXCLUDED.metadata",
                (target, source),
            )
            conn.execute(
                "INSERT INTO graphkit_blobs SELECT %s, checkpoint_ns, channel, version, blob "
                "FROM graphkit_blobs WHERE thread_id = %s ON CONFLICT (thread_id, "
                "checkpoint_ns, channel, version) DO UPDATE SET blob = EXCLUDED.blob",
                (target, source),
            )
            conn.execute(
                "INSERT INTO graphkit_writes SELECT %s, checkpoint_ns, checkpoint_id, "
                "task_index, task_id, idx, data FROM graphkit_writes WHERE thread_id = %s "
                "ON CONFLICT (thread_id, checkpoint_ns, checkpoint_id, task_index, task_id, "
                "idx) DO UPDATE SET data = EXCLUDED.data",
                (target, source),
            )

        self._db.run(copy)
        self._forget_thread(str(target_thread_id))

    def prune(
        self, thread_ids: Sequence[str], *, strategy: str = "keep_latest", keep_latest: int = 1
    ) -> None:
        keep_latest = codec.kept_by_prune(strategy, keep_latest)
        for thread_id in thread_ids:
            self._db.run(
                functools.partial(self._prune_thread, t=name_in(str(thread_id)), keep=keep_latest)
            )
            self._forget_thread(str(thread_id))

    def _prune_thread(self, conn: Conn, t: str, keep: int) -> None:
        conn.execute(
            "DELETE FROM graphkit_checkpoints c USING (SELECT checkpoint_ns, checkpoint_id, "
            "row_number() OVER (PARTITION BY checkpoint_ns ORDER BY checkpoint_id DESC) AS rn "
            "FROM graphkit_checkpoints WHERE thread_id = %s) r WHERE c.thread_id = %s AND "
            "c.checkpoint_ns = r.checkpoint_ns AND c.checkpoint_id = r.checkpoint_id "
            "AND r.rn > %s",
            (t, t, keep),
        )
        conn.execute(
            "DELETE FROM graphkit_writes w WHERE w.thread_id = %s AND NOT EXISTS (SELECT 1 "
            "FROM graphkit_checkpoints c WHERE c.thread_id = w.thread_id AND "
            "c.checkpoint_ns = w.checkpoint_ns AND c.checkpoint_id = w.checkpoint_id)",
            (t,),
        )
        heads: dict[tuple[str, str, int], bytes] = {
            (n, ch, ver): bytes(head)
            for n, ch, ver, head in conn.execute(
                "SELECT checkpoint_ns, channel, version, substring(blob from 1 for 41) "
                "FROM graphkit_blobs WHERE thread_id = %s",
                (t,),
            )
        }
        used: set[tuple[str, str, int]] = set()
        for n, cid, channels, versions in conn.execute(
            "SELECT checkpoint_ns, checkpoint_id::text, channels, versions "
            "FROM graphkit_checkpoints WHERE thread_id = %s",
            (t,),
        ).fetchall():
            where = codec.describe(name_out(t), name_out(n), cid)
            _check_columns(channels, versions, where)
            for ch, ver in zip(channels, versions, strict=True):

                def get(channel: str, version: int, n: str = n) -> bytes | None:
                    return heads.get((n, channel, version))

                for v in codec.chain_versions(ch, ver, get, where):
                    used.add((n, ch, v))
        dead = [key for key in heads if key not in used]
        if dead:
            conn.execute(
                "DELETE FROM graphkit_blobs b USING unnest(%s::text[], %s::text[], %s::bigint[]) "
                "AS d(ns, ch, ver) WHERE b.thread_id = %s AND b.checkpoint_ns = d.ns "
                "AND b.channel = d.ch AND b.version = d.ver",
                ([k[0] for k in dead], [k[1] for k in dead], [k[2] for k in dead], t),
            )


_UNKNOWN: Any = object()


def _check_columns(channels: Sequence[str], versions: Sequence[int], where: str) -> None:
    """CheckpointCorruptError unless a row's ``channels`` and ``versions`` pair up (only
    another writer, or a hand edit, makes them differ)."""
    if len(channels) != len(versions):
        raise CheckpointCorruptError(
            f"{where}: the row's channels ({len(channels)}) and versions ({len(versions)}) "
            "columns differ in length, which graphkit never writes; restore the row from a "
            "backup, or delete the thread"
        )
