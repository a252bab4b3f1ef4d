"""InMemoryStore: the memory store in process memory (lost on exit)."""

from __future__ import annotations

import math
from collections.abc import Iterator

from graphkit.stores.index import Namespace
from graphkit.stores.store._core import IndexedStore, ItemKey, Record, Rows, Write
from graphkit.stores.store.base import IndexConfig, TTLConfig


class InMemoryStore(IndexedStore):
    """A memory store held in dicts, with semantic search through :class:`~graphkit.stores.index.VectorIndex`.

    >>> store = InMemoryStore(index={"dims": 64, "embed": "hash"})
    >>> store.put(("memories", "u1"), "name", {"text": "Username is Bob"})
    >>> store.put(("memories", "u1"), "food", {"text": "Likes pizza"})
    >>> store.search(("memories", "u1"), query="what is my name?", limit=1)[0].key
    'name'
    >>> store.get(("memories", "u1"), "food").value
    {'text': 'Likes pizza'}
    """

    def __init__(self, *, index: IndexConfig | None = None, ttl: TTLConfig | None = None) -> None:
        super().__init__(index=index, ttl=ttl)
        self._data: dict[Namespace, dict[str, Record]] = {}
        self._prefixes: dict[Namespace, set[Namespace]] = {}
        self._expiring: dict[ItemKey, float] = {}

    def _b_get(self, namespace: Namespace, key: str) -> Record | None:
        items = self._data.get(namespace)
        return None if items is None else items.get(key)

    def _b_get_many(self, keys: list[ItemKey]) -> list[Record | None]:
        data = self._data
        out: list[Record | None] = []
        for ns, key in keys:
            items = data.get(ns)
            out.append(None if items is None else items.get(key))
        return out

    def _b_scan(self, prefix: Namespace) -> Iterator[Record]:
        for ns in list(self._prefixes.get(prefix, ())):
            yield from list(self._data[ns].values())

    def _b_commit(self, writes: list[Write], rows: Rows) -> None:
        expiring = self._expiring
        for w in writes:
            if expiring:
                expiring.pop((w.namespace, w.key), None)
            if w.record is None:
                items = self._data.get(w.namespace)
                if items is not None:
                    items.pop(w.key, None)
                    if not items:
                        self._drop_namespace(w.namespace)
                continue
            if w.namespace not in self._data:
                self._data[w.namespace] = {}
                for i in range(len(w.namespace) + 1):
                    self._prefixes.setdefault(w.namespace[:i], set()).add(w.namespace)
            self._data[w.namespace][w.key] = w.record
            if w.record.expires_at is not None:
                self._expiring[(w.namespace, w.key)] = w.record.expires_at

    def _drop_namespace(self, ns: Namespace) -> None:
        del self._data[ns]
        for i in range(len(ns) + 1):
            under = self._prefixes[ns[:i]]
            under.discard(ns)
            if not under:
                del self._prefixes[ns[:i]]

    def _b_touch(self, records: list[Record]) -> None:
        for r in records:  # the records are the stored objects: only the expiry map changes
            if r.expires_at is not None:
                self._expiring[(r.namespace, r.key)] = r.expires_at

    def _b_expired(self, now: float) -> list[ItemKey]:
        return [k for k, at in self._expiring.items() if at <= now]

    def _b_next_expiry(self) -> float:
        return min(self._expiring.values(), default=math.inf)
