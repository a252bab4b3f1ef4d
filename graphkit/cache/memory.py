"""``InMemoryCache``: a cache that lives as long as the process (thread-safe).

>>> cache = InMemoryCache()
>>> cache.set({(("ns",), "k"): ({"x": 1}, None)})
>>> cache.get([(("ns",), "k"), (("ns",), "other")])
{(('ns',), 'k'): {'x': 1}}
>>> cache.clear([("ns",)])
>>> cache.get([(("ns",), "k")])
{}
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence

from graphkit.cache.base import BaseCache, FullKey, Namespace, ValueT
from graphkit.stores.serde import Serializer


class InMemoryCache(BaseCache[ValueT]):
    """Entries in a dict, serialized (so a cached value is never shared by reference)."""

    def __init__(self, *, serde: Serializer | None = None) -> None:
        super().__init__(serde=serde)
        self._entries: dict[Namespace, dict[str, tuple[bytes, float | None]]] = {}
        self._lock = threading.RLock()

    def get(self, keys: Sequence[FullKey]) -> dict[FullKey, ValueT]:
        """The values stored (and not expired) under ``keys``; expired entries are dropped."""
        found: dict[FullKey, ValueT] = {}
        if not keys:
            return found
        now = time.time()
        with self._lock:
            for ns, key in keys:
                entries = self._entries.get(tuple(ns))
                entry = entries.get(key) if entries is not None else None
                if entry is None:
                    continue
                data, expiry = entry
                if expiry is not None and now >= expiry:
                    del entries[key]  # type: ignore[union-attr]
                    continue
                found[(tuple(ns), key)] = self.serde.loads(data, where="cache entry")
        return found

    def set(self, pairs: Mapping[FullKey, tuple[ValueT, int | None]]) -> None:
        """Store each ``key: (value, ttl)``."""
        now = time.time()
        encoded = {
            key: (self.serde.dumps(value, where="cache entry"), None if ttl is None else now + ttl)
            for key, (value, ttl) in pairs.items()
        }
        with self._lock:
            for (ns, key), entry in encoded.items():
                self._entries.setdefault(tuple(ns), {})[key] = entry

    def clear(self, namespaces: Sequence[Namespace] | None = None) -> None:
        """Delete the entries of ``namespaces``, or all of them."""
        with self._lock:
            if namespaces is None:
                self._entries.clear()
                return
            for ns in namespaces:
                self._entries.pop(tuple(ns), None)


__all__ = ["InMemoryCache"]
