"""The cache interface that ``compile(cache=...)`` and ``entrypoint(cache=...)`` take.

A cache maps ``(namespace, key)`` to a value with an optional time to live. graphkit
stores there what a node (or ``@task``) with a ``CachePolicy`` produced, under
the node's namespace and a digest of its input; a later run with an equal input
replays it instead of running the node. Values are serialized with ``serde``
(graphkit's msgpack serializer unless another is given).

Implement ``get``, ``set`` and ``clear``; the async variants call them unless
overridden.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, Generic, TypeVar

from graphkit.stores.serde import Serializer

ValueT = TypeVar("ValueT")
Namespace = tuple[str, ...]
"""Groups entries: one namespace per cached node or task."""
FullKey = tuple[Namespace, str]
"""(namespace, key) of one entry."""


class BaseCache(ABC, Generic[ValueT]):
    """Base class of caches: batch get/set with TTLs, clear by namespace."""

    serde: Serializer
    """Turns values into bytes and back."""

    def __init__(self, *, serde: Serializer | None = None) -> None:
        self.serde = serde or Serializer()

    @abstractmethod
    def get(self, keys: Sequence[FullKey]) -> dict[FullKey, ValueT]:
        """The values stored (and not expired) under ``keys``; missing keys are left out."""

    @abstractmethod
    def set(self, pairs: Mapping[FullKey, tuple[ValueT, int | None]]) -> None:
        """Store each ``key: (value, ttl)``; ``ttl`` in seconds, None for no expiry."""

    @abstractmethod
    def clear(self, namespaces: Sequence[Namespace] | None = None) -> None:
        """Delete the entries of ``namespaces``, or every entry when None."""

    async def aget(self, keys: Sequence[FullKey]) -> dict[FullKey, ValueT]:
        """Async ``get`` (calls ``get`` unless overridden)."""
        return self.get(keys)

    async def aset(self, pairs: Mapping[FullKey, tuple[ValueT, int | None]]) -> None:
        """Async ``set`` (calls ``set`` unless overridden)."""
        self.set(pairs)

    async def aclear(self, namespaces: Sequence[Namespace] | None = None) -> None:
        """Async ``clear`` (calls ``clear`` unless overridden)."""
        self.clear(namespaces)


def cache_namespace(kind: str, fn: Any, name: str) -> Namespace:
    """The namespace of a cached node or task: its kind, function and name.

    The function's module and qualified name are part of it, so renaming or moving
    the function starts from an empty cache.
    """
    target = getattr(fn, "__func__", fn)
    module = getattr(target, "__module__", None) or "__dynamic__"
    qualname = getattr(target, "__qualname__", None) or type(target).__qualname__
    return (kind, f"{module}.{qualname}", name)


def digest(key: str | bytes) -> str:
    """A short fixed-size key for what a ``CachePolicy.key_func`` returned."""
    data = key.encode() if isinstance(key, str) else key
    return hashlib.blake2b(data, digest_size=16).hexdigest()


__all__ = ["BaseCache", "FullKey", "Namespace", "ValueT", "cache_namespace", "digest"]
