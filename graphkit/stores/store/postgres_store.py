"""PostgresStore: the memory store in PostgreSQL, shared by many worker processes.

PostgreSQL holds the truth; each process keeps what makes search fast (the hnswlib
index of :class:`~graphkit.stores.index.VectorIndex`, namespace counts) as a cache it
catches up from a change log. Tables (created by :meth:`PostgresStore.setup`):

- ``graphkit_store``: (``ns``, ``key``) -> the item record, the same serde bytes as
  LMDBStore's ``[namespace, key, value, created_at, updated_at, expires_at, ttl,
  labels]`` (values come back typed; stored bytes never run code), plus
  ``expires_at`` for the TTL sweep. ``ns`` encodes the namespace so that a namespace
  prefix is a string prefix (one index range).
- ``graphkit_store_vectors``: row label -> (ns, key, path, unit float32 bytes).
- ``graphkit_store_meta``: one row: ``generation`` (the change sequence), ``next_label``.
- ``graphkit_store_free_labels``: labels of removed rows, reused first.
- ``graphkit_store_changes``: generation -> labels touched and namespace count deltas.

**Change sequence.** Every commit that changes items first bumps ``generation`` in the
meta row. That row lock orders commits, so generations become visible in order: a
process that has applied everything up to generation *g* and reads *g'* has missed
exactly the entries *g+1..g'* (never one that commits later with a smaller number,
the trap of a plain sequence). Before each batch a store reads the generation (one
indexed single-row read) and applies the entries it missed, re-reading the rows they
touched, so a memory one worker wrote is found by another worker's next search. A
``LISTEN``/``NOTIFY`` listener applies them in the background as they are committed,
so that a search usually finds nothing left to do. A store further behind than the
kept log (``changes_kept`` entries) reloads everything.

**Exact search without the cache.** ``vector_cache=False`` keeps no index in the
process (a short-lived CLI, a worker that rarely searches): a search reads the
vectors under the namespace prefix from PostgreSQL and ranks them exactly. That is
the right trade for small namespaces; a large one wants the cache. (Debian's packages
here have no pgvector, so the dot products run in numpy, not in SQL.)
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypedDict

import numpy as np

from graphkit.errors import InvalidStoreConfigError
from graphkit.stores._postgres import Conn, Connector, migrate
from graphkit.stores.checkpoint.postgres import name_in, name_out
from graphkit.stores.index import FloatArray, Namespace, VectorIndex
from graphkit.stores.store._core import IndexedStore, ItemKey, Record, Rows, Write
from graphkit.stores.store._values import matches
from graphkit.stores.store.base import IndexConfig, SearchOp, TTLConfig
from graphkit.stores.store.lmdb_store import (
    StoreCorruptError,
    _record_bytes,
    _record_from,
    _records_from,
)

__all__ = ["PoolConfig", "PostgresStore"]

logger = logging.getLogger("stores")

CHANNEL = "graphkit_store"
"""The NOTIFY channel a commit signals on (payload: the new generation)."""

MIGRATIONS = [
    """
    CREATE TABLE graphkit_store (
        ns text COLLATE "C" NOT NULL,
        key text COLLATE "C" NOT NULL,
        record bytea NOT NULL,
        expires_at double precision,
        PRIMARY KEY (ns, key)
    );
    CREATE INDEX graphkit_store_expiry ON graphkit_store (expires_at)
        WHERE expires_at IS NOT NULL;
    CREATE TABLE graphkit_store_vectors (
        label bigint PRIMARY KEY,
        ns text COLLATE "C" NOT NULL,
        key text COLLATE "C" NOT NULL,
        path text NOT NULL,
        vector bytea NOT NULL
    );
    CREATE INDEX graphkit_store_vectors_ns ON graphkit_store_vectors (ns, key);
    CREATE TABLE graphkit_store_meta (
        id integer PRIMARY KEY CHECK (id = 1),
        generation bigint NOT NULL,
        next_label bigint NOT NULL,
        dims integer
    );
    INSERT INTO graphkit_store_meta VALUES (1, 0, 0, NULL);
    CREATE TABLE graphkit_store_free_labels (label bigint PRIMARY KEY);
    CREATE TABLE graphkit_store_changes (
        generation bigint PRIMARY KEY,
        labels bigint[] NOT NULL,
        ns_deltas text[] NOT NULL,
        deltas integer[] NOT NULL
    );
    """,
    # The embedder's name, so readers (the CLI) embed queries as the writers did.
    "ALTER TABLE graphkit_store_meta ADD COLUMN embed text",
]
"""Numbered schema migrations (version = index + 1); append, never edit."""

_END = "\x01\x01"
_TOP = "\U0010ffff"


def encode_ns(namespace: Namespace) -> str:
    """The ``ns`` column: each label (``\\x01`` escaped as ``\\x01\\x02``, NUL and
    lone surrogates as :func:`name_in` does) followed by ``\\x01\\x01``. Prefix-free per
    label, so the items under a namespace prefix are those whose ``ns`` starts with
    the prefix's encoding."""
    return "".join(name_in(label).replace("\x01", "\x01\x02") + _END for label in namespace)


def decode_ns(stored: str) -> Namespace:
    """Inverse of :func:`encode_ns`."""
    parts = stored.split(_END)[:-1]
    return tuple(name_out(part.replace("\x01\x02", "\x01")) for part in parts)


def _prefix_range(prefix: Namespace) -> tuple[str, str]:
    """(low, high): the ``ns`` values under ``prefix`` are ``low <= ns < high`` (labels
    holding U+10FFFF aside, which no one uses)."""
    low = encode_ns(prefix)
    return low, low + _TOP


class PostgresStore(IndexedStore):
    """A memory store in PostgreSQL, with a per-process vector index kept in step.

    ``conn``: a psycopg ``Connection``, a psycopg_pool ``ConnectionPool`` or a
    ``postgresql://`` URL. Call :meth:`setup` once per database. ``listen`` (with a
    vector index and a URL) starts a thread that applies other workers' commits to the
    cache as they are notified (the store is correct without it: it checks the change
    sequence before each batch).

    >>> import os
    >>> url = os.environ.get("GRAPHKIT_TEST_PG_URL")
    >>> if url:
    ...     with PostgresStore.from_conn_string(url) as store:
    ...         store.setup()
    """

    _blocking_writes = True
    _labels_from_backend = True

    def __init__(
        self,
        conn: Any,
        *,
        index: IndexConfig | None = None,
        ttl: TTLConfig | None = None,
        vector_cache: bool = True,
        listen: bool = True,
        changes_kept: int = 100_000,
        pool_size: int = 8,
    ) -> None:
        super().__init__(index=index, ttl=ttl)
        self._db = Connector(conn, pool_size=pool_size)
        self.vector_cache = vector_cache
        """Keep the hnswlib index in this process (False: exact search from SQL rows)."""
        self.changes_kept = changes_kept
        """Change-log entries kept for other processes to catch up from."""
        self._listen = listen
        self._listener: threading.Thread | None = None
        self._stop = threading.Event()
        self._generation = -1  # -1: not loaded yet (setup() may not have run)

    @classmethod
    @contextmanager
    def from_conn_string(
        cls,
        conn_string: str,
        *,
        pipeline: bool = False,
        pool_config: PoolConfig | dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Iterator[PostgresStore]:
        """A store on a new connection pool to ``conn_string``, closed on exit.

        As LangGraph's: ``pool_config["max_size"]`` sizes the pool; ``pipeline`` is
        accepted and not needed. ``kwargs`` (``index``, ``ttl``, ...) go to the constructor.
        """
        store = cls(conn_string, **pool_kwargs(pool_config), **kwargs)
        try:
            yield store
        finally:
            store.close()

    @property
    def conn(self) -> Any:
        """The connection or pool this store uses."""
        return self._db.conn

    @staticmethod
    def saved_index(url: str) -> tuple[int | None, str | None]:
        """``(dims, embedder name)`` the store at ``url`` recorded for its vector index
        (``(None, None)`` without one). psycopg's UndefinedTable if no store is there."""
        import psycopg

        with psycopg.connect(url) as conn:
            row = conn.execute(
                "SELECT dims, embed FROM graphkit_store_meta WHERE id = 1"
            ).fetchone()
        return (None, None) if row is None else (row[0], row[1])

    def setup(self) -> None:
        """Create the tables, or migrate them to this version's schema (idempotent)."""
        self._db.run(lambda conn: migrate(conn, "store", MIGRATIONS))

    def close(self) -> None:
        """Stop the listener and close the connection if this store opened it."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._stop.set()  # the listener (a daemon thread) ends within half a second
        self._stop_sweeper()
        self._db.close()

    # -- loading ---------------------------------------------------------------------
    def _ensure_loaded(self) -> None:
        if self._generation < 0:
            self._db.run(self._load)
            self._next_expiry = self._b_next_expiry()
            if (
                self._listen
                and self._listener is None
                and self._db.conninfo is not None
                and self.vectors is not None
                and self.vector_cache
            ):
                self._listener = threading.Thread(
                    target=self._listen_loop, name="graphkit-store-listen", daemon=True
                )
                self._listener.start()

    def _load(self, conn: Conn) -> None:
        """Namespace counts and (with the cache) every vector, as the database is now."""
        gen, dims = conn.execute(
            "SELECT generation, dims FROM graphkit_store_meta WHERE id = 1"
        ).fetchone()
        if self.vectors is not None and dims is not None and dims != self.vectors.dims:
            raise InvalidStoreConfigError(
                f"The store holds {dims}-dim vectors but index['dims']="
                f"{self.vectors.dims}: open it with dims={dims}, or use another "
                "database (or schema) to re-embed with another model."
            )
        self._ns_counts.clear()
        self._owner_of.clear()
        self._key_of.clear()
        for ns, count in conn.execute("SELECT ns, count(*) FROM graphkit_store GROUP BY ns"):
            self._ns_counts[decode_ns(ns)] = count
        if self.vectors is not None and self.vector_cache:
            self.vectors = VectorIndex(self.vectors.dims, self.vectors.ann, lock=self._lock)
            rows = conn.execute(
                "SELECT label, ns, key, vector FROM graphkit_store_vectors"
            ).fetchall()
            if rows:
                self._add_rows(rows, build=False)
                self.vectors.ensure_graph()
        self._generation = gen

    def _add_rows(self, rows: list[Any], *, build: bool = True) -> None:
        """Put (label, ns, key, vector bytes) rows into the index."""
        assert self.vectors is not None
        rows = _whole_rows(rows, self.vectors.dims)
        if not rows:
            return
        namespaces = [decode_ns(ns) for _, ns, _, _ in rows]
        self.vectors.add(
            [label for label, _, _, _ in rows],
            owners=[self._owner((ns, key)) for ns, (_, _, key, _) in zip(namespaces, rows)],  # noqa: B905
            namespaces=namespaces,
            vectors=np.stack([np.frombuffer(bytes(v), dtype=np.float32) for *_, v in rows]),
            normalized=True,
            build=build,
        )

    # -- other processes' writes -------------------------------------------------------
    def _b_catch_up(self, *, puts_only: bool = False) -> None:
        if puts_only and self._generation >= 0:
            return  # the commit applies what others committed before it (one round trip less)
        self._ensure_loaded()
        current = self._db.run(
            lambda conn: conn.execute(
                "SELECT generation FROM graphkit_store_meta WHERE id = 1"
            ).fetchone()[0],
            single=True,
        )
        if current != self._generation:
            self._db.run(lambda conn: self._apply_changes(conn, upto=current))

    def _apply_changes(self, conn: Conn, *, upto: int) -> bool:
        """Apply the logged changes after this process's generation up to ``upto``.

        False (after a full reload) when the log no longer reaches back that far.
        """
        first = self._generation + 1
        rows = conn.execute(
            "SELECT generation, labels, ns_deltas, deltas FROM graphkit_store_changes "
            "WHERE generation >= %s AND generation <= %s ORDER BY generation",
            (first, upto),
        ).fetchall()
        if upto >= first and (not rows or rows[0][0] != first):
            logger.info("stores: reloading the store cache (this process fell behind the log)")
            self._load(conn)
            return False
        touched: set[int] = set()
        deltas: dict[Namespace, int] = {}
        for _, labels, ns_deltas, counts in rows:
            touched.update(labels)
            for ns, d in zip(ns_deltas, counts, strict=True):
                key = decode_ns(ns)
                deltas[key] = deltas.get(key, 0) + d
        for ns, d in deltas.items():
            self._count_ns(ns, d)
        self._next_expiry = min(self._next_expiry, self._b_next_expiry(conn))
        vectors = self.vectors
        if vectors is None or not self.vector_cache or not touched:
            self._generation = upto
            return True
        vectors.remove([label for label in touched if label in vectors])
        live = conn.execute(
            "SELECT label, ns, key, vector FROM graphkit_store_vectors WHERE label = ANY(%s)",
            (sorted(touched),),
        ).fetchall()
        if live:
            self._add_rows(live)
        self._generation = upto  # last: the cache now holds everything up to it
        return True

    def _listen_loop(self) -> None:
        """Apply other workers' commits as their NOTIFYs arrive (a daemon thread)."""
        import psycopg

        assert self._db.conninfo is not None
        while not self._stop.is_set():
            try:
                with psycopg.connect(self._db.conninfo, autocommit=True) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    while not self._stop.is_set():
                        if any(True for _ in conn.notifies(timeout=0.5)):
                            self._catch_up_now()
            except Exception:  # the connection dropped: reconnect after a pause
                self._stop.wait(1.0)

    def _catch_up_now(self) -> None:
        if not self._lock.acquire(timeout=1.0):
            return  # a batch is running: it catches up itself
        try:
            if not self._closed:
                self._b_catch_up()
        except Exception:
            logger.debug("stores: background catch-up failed", exc_info=True)
        finally:
            self._lock.release()

    # -- reads ---------------------------------------------------------------------------
    def _b_get(self, namespace: Namespace, key: str) -> Record | None:
        return self._b_get_many([(namespace, key)])[0]

    def _b_get_many(self, keys: list[ItemKey]) -> list[Record | None]:
        if not keys:
            return []
        encoded = [(encode_ns(ns), key) for ns, key in keys]
        rows = self._db.run(
            lambda conn: conn.execute(
                "SELECT s.ns, s.key, s.record, s.expires_at FROM unnest(%s::text[], %s::text[]) "
                "AS k(ns, key) JOIN graphkit_store s ON s.ns = k.ns AND s.key = k.key",
                ([ns for ns, _ in encoded], [key for _, key in encoded]),
            ).fetchall(),
            single=True,
        )
        found = {(ns, key): (bytes(raw), at) for ns, key, raw, at in rows}
        got = [found.get(k) for k in encoded]
        records = _records_from([None if g is None else g[0] for g in got], keys)
        for record, g in zip(records, got, strict=True):
            if record is not None and g is not None:
                record.expires_at = g[1]
        return records

    def _b_scan(self, prefix: Namespace) -> Iterator[Record]:
        low, high = _prefix_range(prefix)
        rows = self._db.run(
            lambda conn: conn.execute(
                "SELECT ns, key, record, expires_at FROM graphkit_store WHERE ns >= %s AND ns < %s",
                (low, high),
            ).fetchall(),
            single=True,
        )
        return iter(
            [
                _with_expiry(_record_from(bytes(raw), (decode_ns(ns), key)), at)
                for ns, key, raw, at in rows
            ]
        )

    def _ranked(
        self, op: SearchOp, query: FloatArray, now: float
    ) -> list[tuple[Record, float | None]]:
        if self.vector_cache:
            return super()._ranked(op, query, now)
        return self._ranked_from_sql(op, query, now)

    def _ranked_from_sql(
        self, op: SearchOp, query: FloatArray, now: float
    ) -> list[tuple[Record, float | None]]:
        """Exact ranking over the prefix's vectors read from PostgreSQL (no cache)."""
        low, high = _prefix_range(op.namespace_prefix)
        rows = self._db.run(
            lambda conn: conn.execute(
                "SELECT ns, key, vector FROM graphkit_store_vectors WHERE ns >= %s AND ns < %s",
                (low, high),
            ).fetchall(),
            single=True,
        )
        best: dict[tuple[str, str], float] = {}
        rows = _whole_rows(rows, query.shape[-1])
        if rows:
            mat = np.stack([np.frombuffer(bytes(v), dtype=np.float32) for _, _, v in rows])
            scores = mat @ np.asarray(query, dtype=np.float32).reshape(-1)
            for (ns, key, _), score in zip(rows, scores.tolist(), strict=True):
                if score > best.get((ns, key), -math.inf):
                    best[(ns, key)] = score
        records = self._b_scan(op.namespace_prefix)
        live = [r for r in records if r.live(now) and matches(r.value, op.filter)]
        scored: list[tuple[Record, float | None]] = []
        rest: list[Record] = []
        for r in live:
            score = best.get((encode_ns(r.namespace), r.key))
            if score is None:
                rest.append(r)
            else:
                scored.append((r, score))
        scored.sort(key=lambda rs: -rs[1])  # type: ignore[operator]
        rest.sort(key=lambda r: r.updated_at, reverse=True)
        scored.extend((r, None) for r in rest)
        return scored[op.offset : op.offset + op.limit]

    # -- writes --------------------------------------------------------------------------
    def _b_commit(self, writes: list[Write], rows: Rows) -> None:
        """Commit in one transaction, ordered after every other commit by the meta row lock.

        Inside it, as LMDBStore does in its write transaction: the replaced records are
        re-read (another process may have changed them), row labels are taken (free
        list, then the counter), the old rows' labels freed, and a change entry logged
        under the new generation; NOTIFY wakes the other processes' listeners.
        """
        self._ensure_loaded()
        vec_rows: list[tuple[int, str, str, str, bytes]] = []  # (row index, ns, key, path, vec)
        if rows.paths:
            assert self.vectors is not None
            mat = rows.as_matrix(self.vectors)
            for w in writes:
                ns = encode_ns(w.namespace)
                for i in range(w.start, w.stop):
                    vec_rows.append((i, ns, w.key, rows.paths[i], mat[i].tobytes()))
        n_rows = len(rows.paths)
        encoded = [(encode_ns(w.namespace), w.key) for w in writes]

        def commit(conn: Conn) -> tuple[int, list[int], list[Write | None]]:
            # pipelined: two round trips, BEGIN and the three reads, then every write
            # and COMMIT
            meta = conn.execute(  # first: its row lock orders commits
                "UPDATE graphkit_store_meta SET generation = generation + 1 WHERE id = 1 "
                "RETURNING generation - 1, next_label"
            )
            free = conn.execute(
                "DELETE FROM graphkit_store_free_labels WHERE label IN (SELECT label FROM "
                "graphkit_store_free_labels ORDER BY label LIMIT %s) RETURNING label",
                (n_rows,),
            )
            replaced = conn.execute(
                "SELECT s.ns, s.key, s.record, s.expires_at FROM unnest(%s::text[], "
                "%s::text[]) AS "
                "k(ns, key) JOIN graphkit_store s ON s.ns = k.ns AND s.key = k.key "
                "FOR UPDATE OF s",
                ([ns for ns, _ in encoded], [key for _, key in encoded]),
            )
            prev, next_label = meta.fetchone()  # waits for all three
            labels = [label for (label,) in free.fetchall()]
            if len(labels) < n_rows:
                stop = next_label + n_rows - len(labels)
                labels.extend(range(next_label, stop))
                next_label = stop
            olds = {
                (ns, key): _old_record(conn, ns, key, raw, at)
                for ns, key, raw, at in replaced.fetchall()
            }
            done: list[Write | None] = []
            freed: list[int] = []
            deltas: dict[str, int] = {}
            upserts: list[tuple[str, str, bytes, float | None]] = []
            deletes: list[tuple[str, str]] = []
            for (ns, key), w in zip(encoded, writes, strict=True):
                old = olds.get((ns, key))
                if w.if_expired_at is not None and (old is None or old.live(w.if_expired_at)):
                    done.append(None)  # refreshed or rewritten meanwhile
                    continue
                if old is not None:
                    freed.extend(old.labels)
                record = w.record
                if record is None:
                    if old is not None:
                        deletes.append((ns, key))
                        deltas[ns] = deltas.get(ns, 0) - 1
                    done.append(Write(w.namespace, w.key, None, old))
                    continue
                record = record.replacing(old, labels[w.start : w.stop])
                upserts.append((ns, key, _record_bytes(record, sealed=False), record.expires_at))
                if old is None:
                    deltas[ns] = deltas.get(ns, 0) + 1
                done.append(Write(w.namespace, w.key, record, old, w.start, w.stop))
            if not labels and not upserts and not deletes:
                raise _Rollback  # only deletes of absent items: change nothing
            if deletes:
                conn.execute(
                    "DELETE FROM graphkit_store s USING unnest(%s::text[], %s::text[]) AS "
                    "k(ns, key) WHERE s.ns = k.ns AND s.key = k.key",
                    ([ns for ns, _ in deletes], [key for _, key in deletes]),
                )
            if upserts:
                conn.execute(
                    "INSERT INTO graphkit_store (ns, key, record, expires_at) SELECT * FROM "
                    "unnest(%s::text[], %s::text[], %s::bytea[], %s::float8[]) ON CONFLICT "
                    "(ns, key) DO UPDATE SET record = EXCLUDED.record, "
                    "expires_at = EXCLUDED.expires_at",
                    tuple(list(col) for col in zip(*upserts, strict=True)),
                )
            if freed:
                conn.execute("DELETE FROM graphkit_store_vectors WHERE label = ANY(%s)", (freed,))
                conn.execute(
                    "INSERT INTO graphkit_store_free_labels SELECT unnest(%s::bigint[]) "
                    "ON CONFLICT DO NOTHING",
                    (freed,),
                )
            if vec_rows:
                conn.execute(
                    "INSERT INTO graphkit_store_vectors (label, ns, key, path, vector) "
                    "SELECT * FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::text[], "
                    "%s::bytea[])",
                    (
                        [labels[i] for i, *_ in vec_rows],
                        [r[1] for r in vec_rows],
                        [r[2] for r in vec_rows],
                        [r[3] for r in vec_rows],
                        [r[4] for r in vec_rows],
                    ),
                )
            generation = prev + 1
            changed = {ns: d for ns, d in deltas.items() if d}
            conn.execute(
                "INSERT INTO graphkit_store_changes VALUES (%s, %s, %s, %s)",
                (generation, freed + labels, list(changed), list(changed.values())),
            )
            conn.execute(
                "DELETE FROM graphkit_store_changes WHERE generation <= %s",
                (generation - self.changes_kept,),
            )
            if vec_rows:  # record dims and embedder, so readers embed queries alike
                conn.execute(
                    "UPDATE graphkit_store_meta SET next_label = %s, dims = %s, embed = %s "
                    "WHERE id = 1",
                    (next_label, self.vectors.dims, self.embeddings_name or "hash"),  # type: ignore[union-attr]
                )
            else:
                conn.execute(
                    "UPDATE graphkit_store_meta SET next_label = %s WHERE id = 1", (next_label,)
                )
            conn.execute(f"NOTIFY {CHANNEL}, '{generation}'")
            return prev, labels, done

        try:
            prev, labels, done = self._db.run(commit, pipeline=True)
        except _Rollback:
            writes.clear()
            return
        if prev != self._generation and not self._db.run(
            lambda conn: self._apply_changes(conn, upto=prev)
        ):
            writes.clear()  # reloaded as the database is now, this commit included
            rows.labels = []
            return
        self._generation = prev + 1
        rows.labels = labels
        writes[:] = [w for w in done if w is not None]

    def _mirror(self, writes: list[Write], rows: Rows) -> None:
        if self.vector_cache:
            super()._mirror(writes, rows)
            return
        for w in writes:  # no index in this process: namespace counts only
            if w.old is not None and w.record is None:
                self._count_ns(w.namespace, -1)
            elif w.old is None and w.record is not None:
                self._count_ns(w.namespace, +1)

    def _b_touch(self, records: list[Record]) -> None:
        """One UPDATE: the ``expires_at`` column is the truth for expiry (records read
        back take it from there), so a refresh does not rewrite the record."""
        keys = [(encode_ns(r.namespace), r.key, r.expires_at) for r in records if r.expires_at]
        if keys:
            self._db.run(
                lambda conn: conn.execute(
                    "UPDATE graphkit_store s SET expires_at = k.at FROM unnest(%s::text[], "
                    "%s::text[], %s::float8[]) AS k(ns, key, at) WHERE s.ns = k.ns "
                    "AND s.key = k.key AND s.expires_at IS NOT NULL",
                    tuple(list(col) for col in zip(*keys, strict=True)),
                ),
                single=True,
            )

    def _b_next_expiry(self, conn: Conn | None = None) -> float:
        def read(c: Conn) -> Any:
            return c.execute("SELECT min(expires_at) FROM graphkit_store").fetchone()[0]

        found = read(conn) if conn is not None else self._db.run(read, single=True)
        return math.inf if found is None else float(found)

    def _b_expired(self, now: float) -> list[ItemKey]:
        rows = self._db.run(
            lambda conn: conn.execute(
                "SELECT ns, key FROM graphkit_store WHERE expires_at <= %s ORDER BY expires_at",
                (now,),
            ).fetchall(),
            single=True,
        )
        return [(decode_ns(ns), key) for ns, key in rows]

    def sweep_ttl(self) -> int:
        """Delete every expired item now; returns how many were deleted."""
        with self._lock:
            self._ensure_loaded()
        return super().sweep_ttl()


def _with_expiry(record: Record, expires_at: float | None) -> Record:
    """``record`` with the ``expires_at`` column's value (refreshes write only that)."""
    record.expires_at = expires_at
    return record


class PoolConfig(TypedDict, total=False):
    """LangGraph's ``pool_config`` of ``from_conn_string``: graphkit's store sizes its pool
    by ``max_size``; ``min_size`` and ``kwargs`` (connection arguments) are accepted for
    LangGraph's code and not used (its connections are opened as the store needs)."""

    min_size: int
    max_size: int | None
    """The most connections the store opens at once."""
    kwargs: dict[str, Any]


def pool_kwargs(pool_config: PoolConfig | dict[str, Any] | None) -> dict[str, Any]:
    """Constructor arguments from LangGraph's ``pool_config`` (only ``max_size`` applies)."""
    size = pool_config.get("max_size") if pool_config else None
    return {"pool_size": int(size)} if size else {}


class _Rollback(Exception):
    """Raised inside a commit to roll its transaction back (it changed nothing)."""


def _whole_rows(rows: list[Any], dims: int) -> list[Any]:
    """The vector rows (vector bytes last) holding ``dims`` float32s; a damaged one
    (another writer's, or a hand edit) is left out with a warning, not a ValueError
    that fails every read."""
    size = 4 * dims
    whole = [row for row in rows if len(row[-1]) == size]
    if len(whole) < len(rows):
        logger.warning(
            "stores: %d damaged vector rows (not %d bytes) in graphkit_store_vectors were "
            "skipped; delete and put their items again to re-embed them",
            len(rows) - len(whole),
            size,
        )
    return whole


def _old_record(conn: Conn, ns: str, key: str, raw: Any, expires_at: float | None) -> Record:
    """The record a commit replaces or deletes. A damaged one is still replaced (how a
    user repairs it): its vector rows are found by its key, and a warning names it."""
    item = (decode_ns(ns), key)
    try:
        return _with_expiry(_record_from(bytes(raw), item), expires_at)
    except StoreCorruptError as exc:
        logger.warning("stores: replacing a damaged record: %s", exc)
    labels = conn.execute(
        "SELECT label FROM graphkit_store_vectors WHERE ns = %s AND key = %s", (ns, key)
    ).fetchall()
    return Record(item[0], key, {}, 0.0, 0.0, None, None, [label for (label,) in labels])
