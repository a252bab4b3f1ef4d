"""The batch engine shared by InMemoryStore and LMDBStore.

A batch runs in four phases:

1. validate every op (nothing is written if any op is bad);
2. embed: one ``embed_documents`` call for all texts of all puts, one
   ``embed_query`` per distinct query (the async path awaits the async twins);
3. read: gets, searches and namespace listings see the store as it was;
4. write: the batch's puts/deletes are committed in one backend transaction, then
   mirrored into the in-memory vector index.

A backend supplies record storage through the ``_b_*`` hooks; the vector index,
label allocation, TTL bookkeeping and search logic live here.
"""

from __future__ import annotations

import asyncio
import threading
import time
from abc import abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any

import numpy as np

from stores.embeddings import Embeddings, ensure_embeddings
from stores.index import AnnConfig, FloatArray, Namespace, VectorIndex
from stores.store._values import check_filter, check_path, matches, namespace_matches, texts_at_path
from stores.store.base import (
    NOT_PROVIDED,
    BaseStore,
    GetOp,
    IndexConfig,
    Item,
    ListNamespacesOp,
    Op,
    PutOp,
    Result,
    SearchItem,
    SearchOp,
    TTLConfig,
    validate_namespace,
)

ItemKey = tuple[Namespace, str]


@dataclass(slots=True)
class Record:
    """One stored item as the backends keep it (timestamps in epoch seconds)."""

    namespace: Namespace
    """Where it lives."""
    key: str
    """Its key."""
    value: dict[str, Any]
    """The stored dict."""
    created_at: float
    """First write (epoch seconds)."""
    updated_at: float
    """Last write (epoch seconds)."""
    expires_at: float | None = None
    """Expiry (epoch seconds), None = never."""
    ttl: float | None = None
    """TTL in minutes, kept to refresh ``expires_at`` on read."""
    labels: list[int] = field(default_factory=list)
    """Labels of its embedded rows in the vector index."""

    def live(self, now: float) -> bool:
        """Not expired at ``now``."""
        return self.expires_at is None or self.expires_at > now

    def item(self) -> Item:
        """As a public :class:`Item`."""
        return Item(
            value=self.value,
            key=self.key,
            namespace=self.namespace,
            created_at=_dt(self.created_at),
            updated_at=_dt(self.updated_at),
        )

    def search_item(self, score: float | None) -> SearchItem:
        """As a public :class:`SearchItem`."""
        return SearchItem(
            self.namespace,
            self.key,
            self.value,
            _dt(self.created_at),
            _dt(self.updated_at),
            score,
        )


@dataclass(slots=True)
class Row:
    """One embedded text of an item: a vector row in the index."""

    label: int
    """Index label (unique across the store)."""
    path: str
    """Concrete field path it was taken from, e.g. "tags[1]" or "$"."""
    vector: FloatArray
    """Unit-length float32 vector."""


@dataclass(slots=True)
class Write:
    """One put or delete of a batch, ready to commit."""

    namespace: Namespace
    """Target namespace."""
    key: str
    """Target key."""
    record: Record | None
    """The new record, or None to delete."""
    old: Record | None
    """The record it replaces (its rows are removed)."""
    rows: list[Row]
    """The new record's rows."""


@lru_cache(maxsize=65536)
def _dt(ts: float) -> datetime:
    """Epoch seconds as an aware UTC datetime (cached: search results repeat items)."""
    return datetime.fromtimestamp(ts, tz=timezone.utc)


@dataclass(slots=True)
class _Plan:
    """What phase 2 must embed and phase 4 must write."""

    puts: dict[ItemKey, PutOp]
    texts: list[tuple[ItemKey, str, str]]
    queries: list[str]


class IndexedStore(BaseStore):
    """Shared implementation of :class:`BaseStore` over a record backend + vector index."""

    supports_ttl = True

    def __init__(self, *, index: IndexConfig | None = None, ttl: TTLConfig | None = None) -> None:
        self._lock = threading.RLock()
        self.index_config: IndexConfig | None = None
        self.embeddings: Embeddings | None = None
        self.vectors: VectorIndex | None = None
        self._fields: list[str] = ["$"]
        if index is not None:
            self._configure_index(index)
        self.ttl_config: TTLConfig = _check_ttl_config(ttl)
        self._owner_of: dict[ItemKey, int] = {}
        self._key_of: dict[int, ItemKey] = {}
        self._next_owner = 0
        self._free_labels: list[int] = []
        self._next_label = 0
        self._ns_counts: dict[Namespace, int] = {}
        self._last_sweep = time.time()
        self._closed = False

    def _configure_index(self, index: IndexConfig) -> None:
        if not isinstance(index, dict) or "dims" not in index:
            raise ValueError(
                "index must be a dict with at least 'dims', e.g. "
                "{'dims': 384, 'embed': 'hash', 'fields': ['$']}."
            )
        dims = index["dims"]
        if not isinstance(dims, int) or dims < 1:
            raise ValueError(f"index['dims'] must be a positive int, got {dims!r}.")
        fields = index.get("fields") or ["$"]
        for path in fields:
            check_path(path)
        self.index_config = index
        self.embeddings = ensure_embeddings(index.get("embed"), dims=dims)
        self.vectors = VectorIndex(dims, AnnConfig.from_dict(index.get("ann")))
        self._fields = list(fields)

    # -- backend hooks ------------------------------------------------------------------
    @abstractmethod
    def _b_get(self, namespace: Namespace, key: str) -> Record | None:
        """The stored record (expired or not), or None."""

    def _b_get_many(self, keys: list[ItemKey]) -> list[Record | None]:
        """Several records at once (LMDBStore reads them in one transaction)."""
        return [self._b_get(ns, key) for ns, key in keys]

    @abstractmethod
    def _b_scan(self, prefix: Namespace) -> Iterator[Record]:
        """Every record whose namespace starts with ``prefix``."""

    @abstractmethod
    def _b_commit(self, writes: list[Write]) -> None:
        """Persist all writes atomically (records, rows, TTL entries)."""

    @abstractmethod
    def _b_touch(self, records: list[Record]) -> None:
        """Persist new ``expires_at`` of these records (TTL refresh on read)."""

    @abstractmethod
    def _b_expired(self, now: float) -> list[ItemKey]:
        """Keys of records that expired at or before ``now``."""

    def _b_after_batch(self) -> None:
        """Called after each batch that wrote rows (LMDBStore saves the graph sometimes)."""

    # -- TTL defaults ---------------------------------------------------------------------
    def _refresh(self, refresh_ttl: bool | None) -> bool:
        if refresh_ttl is not None:
            return refresh_ttl
        return bool(self.ttl_config.get("refresh_on_read", True))

    def _ttl(self, ttl: float | None) -> float | None:
        if ttl is NOT_PROVIDED:
            return self.ttl_config.get("default_ttl")
        return ttl

    # -- batch ---------------------------------------------------------------------------
    def batch(self, ops: Iterable[Op]) -> list[Result]:
        """Run ops as one batch (see :mod:`stores.store.base` for the contract)."""
        ops = list(ops)
        plan = self._plan(ops)
        doc_vecs, query_vecs = self._embed_sync(plan)
        return self._run(ops, plan, doc_vecs, query_vecs)

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        """Async :meth:`batch`: awaits the async embedding methods."""
        ops = list(ops)
        plan = self._plan(ops)
        doc_vecs, query_vecs = await self._embed_async(plan)
        return self._run(ops, plan, doc_vecs, query_vecs)

    def _plan(self, ops: list[Op]) -> _Plan:
        self._check_open()
        puts: dict[ItemKey, PutOp] = {}
        queries: list[str] = []
        for op in ops:
            if isinstance(op, PutOp):
                self._check_put(op)
                puts.pop((op.namespace, op.key), None)
                puts[(op.namespace, op.key)] = op
            elif isinstance(op, GetOp):
                validate_namespace(op.namespace)
                _check_key(op.key)
            elif isinstance(op, SearchOp):
                validate_namespace(op.namespace_prefix, allow_empty=True, what="namespace prefix")
                check_filter(op.filter)
                _check_paging(op.limit, op.offset)
                if op.query is not None and self.embeddings is not None:
                    if not isinstance(op.query, str):
                        raise TypeError(f"query must be a str, got {type(op.query).__name__}.")
                    if op.query not in queries:
                        queries.append(op.query)
            elif isinstance(op, ListNamespacesOp):
                for cond in op.match_conditions or ():
                    if cond.match_type not in ("prefix", "suffix"):
                        raise ValueError(
                            f"match_type must be 'prefix' or 'suffix', got {cond.match_type!r}."
                        )
                    validate_namespace(tuple(cond.path), allow_empty=True, what="namespace pattern")
                _check_paging(op.limit, op.offset)
            else:
                raise TypeError(
                    f"Unknown op {op!r}: batch() takes GetOp, PutOp, SearchOp, ListNamespacesOp."
                )
        texts: list[tuple[ItemKey, str, str]] = []
        for item_key, op in puts.items():
            if op.value is None or op.index is False or self.embeddings is None:
                continue
            for path in op.index or self._fields:
                texts.extend(
                    (item_key, where, text) for where, text in texts_at_path(op.value, path)
                )
        return _Plan(puts, texts, queries)

    def _check_put(self, op: PutOp) -> None:
        validate_namespace(op.namespace)
        _check_key(op.key)
        if op.value is not None and not isinstance(op.value, dict):
            raise TypeError(
                f"Store values must be dicts, got {type(op.value).__name__} for key "
                f"{op.key!r}: wrap it, e.g. {{'value': ...}}."
            )
        if op.index is not None and op.index is not False:
            if not isinstance(op.index, list):
                raise TypeError(
                    f"index must be None, False or a list of field paths, got {op.index!r}."
                )
            if self.embeddings is None:
                raise ValueError(
                    f"put(..., index={op.index!r}) needs a store created with index={{'dims': ..., "
                    "'embed': ...}}; this store has no embedding index."
                )
            for path in op.index:
                check_path(path)
        if op.ttl is not None and (
            isinstance(op.ttl, bool) or not isinstance(op.ttl, (int, float)) or op.ttl <= 0
        ):
            raise ValueError(f"ttl must be a positive number of minutes or None, got {op.ttl!r}.")

    def _embed_sync(self, plan: _Plan) -> tuple[list[list[float]], list[list[float]]]:
        if self.embeddings is None:
            return [], []
        docs = self.embeddings.embed_documents([t for _, _, t in plan.texts]) if plan.texts else []
        queries = [self.embeddings.embed_query(q) for q in plan.queries]
        return docs, queries

    async def _embed_async(self, plan: _Plan) -> tuple[list[list[float]], list[list[float]]]:
        if self.embeddings is None:
            return [], []
        docs: list[list[float]] = []
        if plan.texts:
            docs = await self.embeddings.aembed_documents([t for _, _, t in plan.texts])
        queries = list(
            await asyncio.gather(*(self.embeddings.aembed_query(q) for q in plan.queries))
        )
        return docs, queries

    def _run(
        self,
        ops: list[Op],
        plan: _Plan,
        doc_vecs: list[list[float]],
        query_vecs: list[list[float]],
    ) -> list[Result]:
        rows_of = self._rows_for(plan, doc_vecs)
        qvec = self._query_vectors(plan, query_vecs)
        with self._lock:
            self._check_open()
            now = time.time()
            self._maybe_sweep(now)
            touched: dict[ItemKey, Record] = {}
            results: list[Result] = []
            for op in ops:
                if isinstance(op, GetOp):
                    results.append(self._get(op, now, touched))
                elif isinstance(op, SearchOp):
                    q = qvec.get(op.query) if op.query is not None else None
                    results.append(self._search(op, q, now, touched))
                elif isinstance(op, ListNamespacesOp):
                    results.append(self._list_namespaces(op))
                else:
                    results.append(None)
            if touched:
                self._b_touch(list(touched.values()))
            if plan.puts:
                self._write(plan, rows_of, now)
        return results

    def _rows_for(
        self, plan: _Plan, doc_vecs: list[list[float]]
    ) -> dict[ItemKey, list[tuple[str, FloatArray]]]:
        if len(doc_vecs) != len(plan.texts):
            raise ValueError(
                f"The embedding function returned {len(doc_vecs)} vectors for "
                f"{len(plan.texts)} texts; it must return one vector per text."
            )
        out: dict[ItemKey, list[tuple[str, FloatArray]]] = {}
        if not plan.texts:
            return out
        assert self.vectors is not None
        mat = self.vectors.normalize(doc_vecs)
        for (item_key, where, _), vec in zip(plan.texts, mat, strict=True):
            out.setdefault(item_key, []).append((where, vec))
        return out

    def _query_vectors(self, plan: _Plan, query_vecs: list[list[float]]) -> dict[str, FloatArray]:
        if not plan.queries:
            return {}
        assert self.vectors is not None
        mat = self.vectors.normalize(query_vecs)
        return dict(zip(plan.queries, mat, strict=True))

    # -- reads --------------------------------------------------------------------------------
    def _get(self, op: GetOp, now: float, touched: dict[ItemKey, Record]) -> Item | None:
        record = self._b_get(op.namespace, op.key)
        if record is None or not record.live(now):
            return None
        if op.refresh_ttl:
            self._refresh_record(record, now, touched)
        return record.item()

    def _refresh_record(self, record: Record, now: float, touched: dict[ItemKey, Record]) -> None:
        if record.ttl is not None:
            record.expires_at = now + record.ttl * 60.0
            touched[(record.namespace, record.key)] = record

    def _search(
        self,
        op: SearchOp,
        query: FloatArray | None,
        now: float,
        touched: dict[ItemKey, Record],
    ) -> list[SearchItem]:
        if query is None or self.vectors is None:
            records = [
                r
                for r in self._b_scan(op.namespace_prefix)
                if r.live(now) and matches(r.value, op.filter)
            ]
            records.sort(key=lambda r: r.updated_at, reverse=True)
            page = records[op.offset : op.offset + op.limit]
            scored: list[tuple[Record, float | None]] = [(r, None) for r in page]
        else:
            scored = self._ranked(op, query, now)
        if op.refresh_ttl:
            for record, _ in scored:
                self._refresh_record(record, now, touched)
        return [record.search_item(score) for record, score in scored]

    def _ranked(
        self, op: SearchOp, query: FloatArray, now: float
    ) -> list[tuple[Record, float | None]]:
        assert self.vectors is not None
        need = op.offset + op.limit
        candidates: list[Record] | None = None
        allowed: list[int] | None = None
        if op.filter:
            candidates = [
                r
                for r in self._b_scan(op.namespace_prefix)
                if r.live(now) and matches(r.value, op.filter)
            ]
            allowed = [self._owner_of[(r.namespace, r.key)] for r in candidates if r.labels]
        found = self._resolve(
            self.vectors.search(query, prefix=op.namespace_prefix, k=need, owners=allowed)
        )
        if any(not r.live(now) for r, _ in found):  # expired but not yet swept: rank live ones only
            if candidates is None:
                candidates = [r for r in self._b_scan(op.namespace_prefix) if r.live(now)]
            allowed = [self._owner_of[(r.namespace, r.key)] for r in candidates if r.labels]
            found = self._resolve(
                self.vectors.search(query, prefix=op.namespace_prefix, k=need, owners=allowed)
            )
        ranked: list[tuple[Record, float | None]] = [(r, s) for r, s in found]
        if len(ranked) < need:  # pad with items that have no vectors (index=False), newest first
            if candidates is None:
                candidates = [r for r in self._b_scan(op.namespace_prefix) if r.live(now)]
            rest = sorted(
                (r for r in candidates if not r.labels), key=lambda r: r.updated_at, reverse=True
            )
            ranked.extend((r, None) for r in rest[: need - len(ranked)])
        return ranked[op.offset : need]

    def _resolve(self, hits: list[Any]) -> list[tuple[Record, float]]:
        records = self._b_get_many([self._key_of[hit.owner] for hit in hits])
        return [(r, hit.score) for r, hit in zip(records, hits, strict=True) if r is not None]

    def _list_namespaces(self, op: ListNamespacesOp) -> list[tuple[str, ...]]:
        found = [ns for ns in self._ns_counts if namespace_matches(ns, op.match_conditions)]
        if op.max_depth is not None:
            found = list({ns[: op.max_depth] for ns in found})
        found.sort()
        return found[op.offset : op.offset + op.limit]

    # -- writes ---------------------------------------------------------------------------------
    def _write(
        self, plan: _Plan, rows_of: dict[ItemKey, list[tuple[str, FloatArray]]], now: float
    ) -> None:
        writes: list[Write] = []
        for (ns, key), op in plan.puts.items():
            old = self._b_get(ns, key)
            if op.value is None:
                if old is not None:
                    writes.append(Write(ns, key, None, old, []))
                continue
            rows = [Row(self._new_label(), where, vec) for where, vec in rows_of.get((ns, key), [])]
            created = old.created_at if old is not None and old.live(now) else now
            record = Record(
                namespace=ns,
                key=key,
                value=op.value,
                created_at=created,
                updated_at=now,
                expires_at=None if op.ttl is None else now + op.ttl * 60.0,
                ttl=op.ttl,
                labels=[r.label for r in rows],
            )
            writes.append(Write(ns, key, record, old, rows))
        if not writes:
            return
        try:
            self._b_commit(writes)
        except BaseException:
            for w in writes:
                self._free_labels.extend(r.label for r in w.rows)
            raise
        self._mirror(writes)
        self._b_after_batch()

    def _new_label(self) -> int:
        if self._free_labels:
            return self._free_labels.pop()
        label = self._next_label
        self._next_label += 1
        return label

    def _mirror(self, writes: list[Write]) -> None:
        """Apply committed writes to the in-memory index and namespace counts."""
        removed: list[int] = []
        add_labels: list[int] = []
        add_owners: list[int] = []
        add_ns: list[Namespace] = []
        add_vecs: list[FloatArray] = []
        for w in writes:
            item_key = (w.namespace, w.key)
            if w.old is not None:
                removed.extend(w.old.labels)
                self._count_ns(w.namespace, -1)
                if w.record is None or not w.rows:
                    owner = self._owner_of.pop(item_key, None)
                    if owner is not None:
                        del self._key_of[owner]
            if w.record is not None:
                self._count_ns(w.namespace, +1)
            if w.rows:
                owner = self._owner(item_key)
                for row in w.rows:
                    add_labels.append(row.label)
                    add_owners.append(owner)
                    add_ns.append(w.namespace)
                    add_vecs.append(row.vector)
        if self.vectors is not None:
            self.vectors.remove(removed)
            if add_labels:
                self.vectors.add(
                    add_labels, owners=add_owners, namespaces=add_ns, vectors=np.stack(add_vecs)
                )
        self._free_labels.extend(removed)

    def _owner(self, item_key: ItemKey) -> int:
        owner = self._owner_of.get(item_key)
        if owner is None:
            owner = self._next_owner
            self._next_owner += 1
            self._owner_of[item_key] = owner
            self._key_of[owner] = item_key
        return owner

    def _count_ns(self, ns: Namespace, delta: int) -> None:
        count = self._ns_counts.get(ns, 0) + delta
        if count > 0:
            self._ns_counts[ns] = count
        else:
            self._ns_counts.pop(ns, None)

    # -- TTL ------------------------------------------------------------------------------------
    def sweep_ttl(self) -> int:
        """Delete every expired item now; returns how many were deleted."""
        with self._lock:
            self._check_open()
            return self._sweep(time.time())

    def _sweep(self, now: float) -> int:
        self._last_sweep = now
        writes = []
        for ns, key in self._b_expired(now):
            old = self._b_get(ns, key)
            if old is not None and not old.live(now):
                writes.append(Write(ns, key, None, old, []))
        if writes:
            self._b_commit(writes)
            self._mirror(writes)
        return len(writes)

    def _maybe_sweep(self, now: float) -> None:
        interval = self.ttl_config.get("sweep_interval_minutes", 1.0)
        if interval is not None and now - self._last_sweep >= interval * 60.0:
            self._sweep(now)

    # -- lifecycle ---------------------------------------------------------------------------------
    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError(f"{type(self).__name__} is closed; open a new one.")

    def close(self) -> None:
        """Release resources (idempotent)."""
        self._closed = True

    def __enter__(self) -> IndexedStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> IndexedStore:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()


def _check_key(key: object) -> None:
    if not isinstance(key, str) or not key:
        raise ValueError(f"Item keys must be non-empty strings, got {key!r}.")


def _check_paging(limit: object, offset: object) -> None:
    for name, v in (("limit", limit), ("offset", offset)):
        if not isinstance(v, int) or isinstance(v, bool) or v < 0:
            raise ValueError(f"{name} must be a non-negative int, got {v!r}.")


def _check_ttl_config(ttl: TTLConfig | None) -> TTLConfig:
    if ttl is None:
        return {}
    allowed = {"default_ttl", "refresh_on_read", "sweep_interval_minutes"}
    unknown = set(ttl) - allowed
    if unknown:
        raise ValueError(f"Unknown ttl config keys {sorted(unknown)}; allowed: {sorted(allowed)}.")
    default = ttl.get("default_ttl")
    if default is not None and (not isinstance(default, (int, float)) or default <= 0):
        raise ValueError(f"ttl['default_ttl'] must be positive minutes or None, got {default!r}.")
    return ttl
