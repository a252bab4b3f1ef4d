"""The memory store contract: items, operations, and ``BaseStore``.

Compatible with LangGraph's ``langgraph.store.base``: the same method names,
operation tuples (``GetOp``, ``PutOp``, ``SearchOp``, ``ListNamespacesOp``) and
``Item`` / ``SearchItem`` fields, so code written against LangGraph's store runs
against ours.

A backend implements only :meth:`BaseStore.batch` and :meth:`BaseStore.abatch`;
every convenience method builds one op and calls them. The contract a backend
must keep (checked by the shared test suite, tests/test_store_base.py):

- ``batch(ops)`` returns one result per op, in order: ``Item | None`` for a get,
  ``None`` for a put, ``list[SearchItem]`` for a search, ``list[tuple[str, ...]]``
  for a namespace listing.
- Reads in a batch see the store as it was before the batch; the batch's puts are
  applied afterwards, atomically (all or none), the last put per (namespace, key)
  winning.
- Every op is validated before anything is written: a bad namespace, key, value or
  embedding (wrong count or dimension, a value that is not a number, NaN or
  infinite) raises ``ValueError`` and leaves the store unchanged, the same way in
  every store. Keys take at most :data:`MAX_KEY_BYTES` and namespaces
  :data:`MAX_NAMESPACE_BYTES` UTF-8 bytes, in every store (LMDB's key limit).
- Expired items (TTL) are invisible to get, search and list_namespaces.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Literal, NamedTuple, TypedDict, Union

from graphkit.errors import InvalidStoreRequestError, StoreError, StoreNotImplementedError
from graphkit.stores.embeddings import EmbeddingsLike
from graphkit.stores.store._values import get_text_at_path

NAMESPACE_SEPARATOR = "."
"""Namespace labels may not contain this (LangGraph renders namespaces dotted)."""


class InvalidNamespaceError(StoreError, ValueError):
    """A namespace is empty, too long, or a label is empty, not a string, or contains
    '.', NUL or a lone surrogate."""


class InvalidKeyError(StoreError, ValueError):
    """An item key is empty, not a string, too long, or holds a lone surrogate."""


class Item:
    """A stored value with its address and timestamps.

    >>> from datetime import datetime, timezone
    >>> t = datetime(2024, 1, 1, tzinfo=timezone.utc)
    >>> Item(value={"a": 1}, key="k", namespace=("u",), created_at=t, updated_at=t).dict()["key"]
    'k'
    """

    __slots__ = ("created_at", "key", "namespace", "updated_at", "value")

    def __init__(
        self,
        *,
        value: dict[str, Any],
        key: str,
        namespace: tuple[str, ...],
        created_at: datetime | str,
        updated_at: datetime | str,
    ) -> None:
        self.value = value
        """The stored dict."""
        self.key = key
        """Unique within the namespace."""
        self.namespace = tuple(namespace)
        """Where the item lives, e.g. ``("memories", "user-1")``."""
        self.created_at = (
            datetime.fromisoformat(created_at) if isinstance(created_at, str) else created_at
        )
        """When the key was first written (UTC)."""
        self.updated_at = (
            datetime.fromisoformat(updated_at) if isinstance(updated_at, str) else updated_at
        )
        """When the value was last written (UTC)."""

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Item):
            return NotImplemented
        return (
            self.value == other.value
            and self.key == other.key
            and self.namespace == other.namespace
            and self.created_at == other.created_at
            and self.updated_at == other.updated_at
        )

    def __hash__(self) -> int:
        return hash((self.namespace, self.key))

    def dict(self) -> dict[str, Any]:
        """JSON-ready form: namespace as a list, timestamps as ISO strings."""
        return {
            "namespace": list(self.namespace),
            "key": self.key,
            "value": self.value,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self.dict().items())
        return f"{type(self).__name__}({fields})"


class SearchItem(Item):
    """An item returned by a search, with its similarity ``score`` when a query was given."""

    __slots__ = ("score",)

    def __init__(
        self,
        namespace: tuple[str, ...],
        key: str,
        value: dict[str, Any],
        created_at: datetime | str,
        updated_at: datetime | str,
        score: float | None = None,
    ) -> None:
        super().__init__(
            value=value, key=key, namespace=namespace, created_at=created_at, updated_at=updated_at
        )
        self.score = score
        """Cosine similarity of the item's best embedded field to the query, or None."""

    @classmethod
    def _make(
        cls,
        namespace: tuple[str, ...],
        key: str,
        value: dict[str, Any],
        created_at: datetime,
        updated_at: datetime,
        score: float | None,
    ) -> SearchItem:
        """Build from trusted parts (a tuple namespace, datetimes) without the checks of
        ``__init__``: stores make one per search result (~0.3 us instead of ~0.7 us)."""
        item = cls.__new__(cls)
        item.value = value
        item.key = key
        item.namespace = namespace
        item.created_at = created_at
        item.updated_at = updated_at
        item.score = score
        return item

    def dict(self) -> dict[str, Any]:
        """Like :meth:`Item.dict` plus ``score``."""
        out = super().dict()
        out["score"] = self.score
        return out


class GetOp(NamedTuple):
    """Read one item."""

    namespace: tuple[str, ...]
    """The item's namespace."""
    key: str
    """The item's key."""
    refresh_ttl: bool = True
    """Restart the item's TTL clock when it is read (if it has a TTL)."""


class SearchOp(NamedTuple):
    """Find items under a namespace prefix, by value filter and/or semantic query."""

    namespace_prefix: tuple[str, ...]
    """Only items whose namespace starts with this (``()`` = everything)."""
    filter: dict[str, Any] | None = None
    """Field -> value (exact match) or ``{"$gt": 3}``-style comparisons; dotted paths."""
    limit: int = 10
    """At most this many results."""
    offset: int = 0
    """Skip this many results first (paging)."""
    query: str | None = None
    """Natural-language query: results are ranked by similarity and carry a score."""
    refresh_ttl: bool = True
    """Restart the TTL clock of the returned items."""


NamespacePath = tuple[str, ...]
"""A namespace pattern; ``"*"`` matches any one label."""

NamespaceMatchType = Literal["prefix", "suffix"]
"""How a :class:`MatchCondition` is anchored."""


class MatchCondition(NamedTuple):
    """A namespace pattern anchored at the start (prefix) or the end (suffix)."""

    match_type: NamespaceMatchType
    """"prefix" or "suffix"."""
    path: NamespacePath
    """Labels to match; "*" matches any label."""


class ListNamespacesOp(NamedTuple):
    """List the distinct namespaces holding items."""

    match_conditions: tuple[MatchCondition, ...] | None = None
    """All must match."""
    max_depth: int | None = None
    """Truncate namespaces to this many labels (then deduplicate)."""
    limit: int = 100
    """At most this many namespaces."""
    offset: int = 0
    """Skip this many first."""


class PutOp(NamedTuple):
    """Write (or, with ``value=None``, delete) one item."""

    namespace: tuple[str, ...]
    """The item's namespace (non-empty labels, no '.')."""
    key: str
    """The item's key (non-empty)."""
    value: dict[str, Any] | None
    """The value; None deletes the item."""
    index: Literal[False] | list[str] | None = None  # type: ignore[assignment]
    """Fields to embed: None = the store's configured fields, False = none, or a list."""
    ttl: float | None = None
    """Minutes until the item expires; None = the store's default (or never)."""


Op = Union[GetOp, SearchOp, PutOp, ListNamespacesOp]  # noqa: UP007 - runtime alias on 3.10
Result = Union["Item", list["SearchItem"], list[tuple[str, ...]], None]


class TTLConfig(TypedDict, total=False):
    """Store-level TTL settings (``InMemoryStore(ttl=...)``)."""

    default_ttl: float | None
    """Minutes before an item expires when ``put`` gives no ``ttl``; None = never."""
    refresh_on_read: bool
    """Reads restart an item's TTL clock (default True)."""
    sweep_interval_minutes: float | None
    """How often expired items are deleted, lazily on the next store call (default 1 min);
    ``sweep_ttl()`` deletes them on demand."""


class IndexConfig(TypedDict, total=False):
    """Semantic-search settings (``InMemoryStore(index=...)``)."""

    dims: int
    """Embedding size (required)."""
    embed: EmbeddingsLike
    """An Embeddings object, a sync or async function list[str] -> vectors, or 'hash' /
    omitted for the local :class:`~graphkit.stores.embeddings.HashEmbeddings`."""
    fields: list[str] | None
    """Paths of the value to embed: "$" = whole value (default), "a.b", "tags[*]"."""
    ann: dict[str, int]
    """hnswlib tuning: M, ef_construction, ef, exact_threshold, fresh_max, save_every (see AnnConfig)."""
    distance_type: Literal["cosine"]
    """LangGraph's PostgresStore option: only "cosine" (the default) is supported."""
    ann_index_config: dict[str, Any]
    """LangGraph's PostgresStore pgvector tuning: accepted and not used (see ``ann``)."""


class _NotProvided:
    """Sentinel: the caller did not pass ``ttl``."""

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "NOT_PROVIDED"


NOT_PROVIDED: Any = _NotProvided()


class BaseStore(ABC):
    """A key-value store for long-term memory with namespaces, filters, search and TTL.

    Subclasses implement :meth:`batch` and :meth:`abatch`; everything else is built
    on them.
    """

    __slots__ = ()

    supports_ttl: bool = False
    """Whether ``ttl=`` is honoured."""
    ttl_config: TTLConfig | None = None
    """The store's TTL settings (``ttl=`` of its constructor); None: items never expire."""

    @abstractmethod
    def batch(self, ops: Iterable[Op]) -> list[Result]:
        """Run ops in one batch: one result per op (see module docstring)."""

    @abstractmethod
    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        """Async :meth:`batch`."""

    # -- sync conveniences ---------------------------------------------------------------
    def get(
        self, namespace: tuple[str, ...], key: str, *, refresh_ttl: bool | None = None
    ) -> Item | None:
        """The item at (namespace, key), or None if absent or expired."""
        op = GetOp(namespace, key, self._refresh(refresh_ttl))
        validate_op_namespace(op)
        return self.batch([op])[0]  # type: ignore[return-value]

    def search(
        self,
        namespace_prefix: tuple[str, ...],
        /,
        *,
        query: str | None = None,
        filter: dict[str, Any] | None = None,
        limit: int = 10,
        offset: int = 0,
        refresh_ttl: bool | None = None,
    ) -> list[SearchItem]:
        """Items under ``namespace_prefix`` matching ``filter``, ranked by ``query``.

        Without a query, results are ordered by ``updated_at``, newest first.
        """
        op = SearchOp(namespace_prefix, filter, limit, offset, query, self._refresh(refresh_ttl))
        validate_op_namespace(op)
        return self.batch([op])[0]  # type: ignore[return-value]

    def put(
        self,
        namespace: tuple[str, ...],
        key: str,
        value: dict[str, Any],
        index: Literal[False] | list[str] | None = None,
        *,
        ttl: float | None = NOT_PROVIDED,
    ) -> None:
        """Store ``value`` at (namespace, key), replacing any previous value.

        ``index`` picks the fields to embed (False: none); ``ttl`` is in minutes.
        """
        _check_put_value(value)
        validate_put_namespace(namespace)
        self.batch([PutOp(namespace, key, value, index, self._ttl(ttl))])

    def delete(self, namespace: tuple[str, ...], key: str) -> None:
        """Delete the item (no error if absent)."""
        op = PutOp(namespace, key, None)
        validate_op_namespace(op)
        self.batch([op])

    def list_namespaces(
        self,
        *,
        prefix: NamespacePath | None = None,
        suffix: NamespacePath | None = None,
        max_depth: int | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[tuple[str, ...]]:
        """Distinct namespaces (sorted), optionally filtered and truncated to ``max_depth``."""
        op = ListNamespacesOp(_conditions(prefix, suffix), max_depth, limit, offset)
        validate_op_namespace(op)
        return self.batch([op])[0]  # type: ignore[return-value]

    # -- async twins ---------------------------------------------------------------------
    async def aget(
        self, namespace: tuple[str, ...], key: str, *, refresh_ttl: bool | None = None
    ) -> Item | None:
        """Async :meth:`get`."""
        op = GetOp(namespace, key, self._refresh(refresh_ttl))
        validate_op_namespace(op)
        return await self._arun(op)  # type: ignore[return-value]

    async def asearch(
        self,
        namespace_prefix: tuple[str, ...],
        /,
        *,
        query: str | None = None,
        filter: dict[str, Any] | None = None,
        limit: int = 10,
        offset: int = 0,
        refresh_ttl: bool | None = None,
    ) -> list[SearchItem]:
        """Async :meth:`search`."""
        op = SearchOp(namespace_prefix, filter, limit, offset, query, self._refresh(refresh_ttl))
        validate_op_namespace(op)
        return await self._arun(op)  # type: ignore[return-value]

    async def aput(
        self,
        namespace: tuple[str, ...],
        key: str,
        value: dict[str, Any],
        index: Literal[False] | list[str] | None = None,
        *,
        ttl: float | None = NOT_PROVIDED,
    ) -> None:
        """Async :meth:`put`."""
        _check_put_value(value)
        validate_put_namespace(namespace)
        await self._arun(PutOp(namespace, key, value, index, self._ttl(ttl)))

    async def adelete(self, namespace: tuple[str, ...], key: str) -> None:
        """Async :meth:`delete`."""
        op = PutOp(namespace, key, None)
        validate_op_namespace(op)
        await self._arun(op)

    async def alist_namespaces(
        self,
        *,
        prefix: NamespacePath | None = None,
        suffix: NamespacePath | None = None,
        max_depth: int | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[tuple[str, ...]]:
        """Async :meth:`list_namespaces`."""
        op = ListNamespacesOp(_conditions(prefix, suffix), max_depth, limit, offset)
        validate_op_namespace(op)
        return await self._arun(op)  # type: ignore[return-value]

    async def _arun(self, op: Op) -> Result:
        """Run one op for an async convenience method (AsyncBatchedBaseStore queues it)."""
        return (await self.abatch([op]))[0]

    # -- defaults (overridden by stores with TTL config) -------------------------------------
    def _refresh(self, refresh_ttl: bool | None) -> bool:
        return True if refresh_ttl is None else refresh_ttl

    def _ttl(self, ttl: float | None) -> float | None:
        if ttl is NOT_PROVIDED:
            return None
        if ttl is not None and not self.supports_ttl:
            raise StoreNotImplementedError(
                f"{type(self).__name__} does not support TTL (its supports_ttl is False): "
                "put without ttl=, or use a store that expires items (InMemoryStore, "
                "LMDBStore, PostgresStore), or set supports_ttl = True on a store whose "
                "batch() honours PutOp.ttl."
            )
        return ttl


def _conditions(
    prefix: NamespacePath | None, suffix: NamespacePath | None
) -> tuple[MatchCondition, ...]:
    out = []
    if prefix:
        out.append(MatchCondition("prefix", tuple(prefix)))
    if suffix:
        out.append(MatchCondition("suffix", tuple(suffix)))
    return tuple(out)


def _check_put_value(value: object) -> None:
    if not isinstance(value, dict):
        raise InvalidStoreRequestError(
            f"Store values must be dicts, got {type(value).__name__}: wrap it, e.g. "
            "{'value': ...}. (To delete an item use delete().)"
        )


MAX_NAMESPACE_BYTES = 192
"""Most UTF-8 bytes a namespace may take (its labels plus one byte per label): LMDB keys
are at most 511 bytes and an item's key holds the namespace, the key and 8 more bytes."""

MAX_KEY_BYTES = 256
"""Most UTF-8 bytes an item key may take (see :data:`MAX_NAMESPACE_BYTES`)."""

RESERVED_ROOT = "langgraph"
"""A root label ``put`` refuses, as LangGraph does (its platform keeps data there)."""


def validate_namespace(
    namespace: object, *, allow_empty: bool = False, what: str = "namespace"
) -> None:
    """Raise :class:`InvalidNamespaceError` naming the bad label, or if a namespace is empty.

    Labels must be non-empty strings without '.' (LangGraph's separator), NUL (the LMDB
    key separator) or lone surrogates (not encodable), and a namespace takes at most
    :data:`MAX_NAMESPACE_BYTES` UTF-8 bytes. ``"*"`` is a wildcard only in
    list_namespaces patterns; elsewhere it is an ordinary label.
    """
    if not isinstance(namespace, tuple):
        raise InvalidNamespaceError(
            f"The {what} must be a tuple of strings, got {type(namespace).__name__} "
            f"{namespace!r}: write e.g. ('memories', 'user-1')."
        )
    if not namespace and not allow_empty:
        raise InvalidNamespaceError(
            f"The {what} is empty: give at least one label, e.g. ('memories',)."
        )
    size = 0
    for label in namespace:
        if not isinstance(label, str):
            raise InvalidNamespaceError(
                f"Namespace label {label!r} in {namespace!r} is a {type(label).__name__}; "
                "labels must be strings."
            )
        if not label:
            raise InvalidNamespaceError(
                f"Namespace {namespace!r} has an empty label; labels must be non-empty."
            )
        if NAMESPACE_SEPARATOR in label:
            raise InvalidNamespaceError(
                f"Namespace label {label!r} in {namespace!r} contains '.', the namespace "
                "separator; use another character (e.g. '-' or ':')."
            )
        if "\x00" in label:
            raise InvalidNamespaceError(
                f"Namespace label {label!r} in {namespace!r} contains a NUL byte."
            )
        size += utf8_size(label, f"Namespace label {label!r} in {namespace!r}") + 1
    if size > MAX_NAMESPACE_BYTES:
        raise InvalidNamespaceError(
            f"The {what} {_short(namespace)} takes {size} bytes (UTF-8, one more per label); "
            f"at most {MAX_NAMESPACE_BYTES} are allowed: use shorter labels (e.g. a hash)."
        )


def validate_key(key: object) -> None:
    """Raise ``ValueError`` unless ``key`` is a non-empty str of at most
    :data:`MAX_KEY_BYTES` UTF-8 bytes (no lone surrogates)."""
    if not isinstance(key, str) or not key:
        raise InvalidKeyError(f"Item keys must be non-empty strings, got {key!r}.")
    if len(key) * 4 > MAX_KEY_BYTES or not key.isascii():
        size = utf8_size(key, f"Item key {_short(key)}", InvalidKeyError)
        if size > MAX_KEY_BYTES:
            raise InvalidKeyError(
                f"Item key {_short(key)} takes {size} UTF-8 bytes; at most {MAX_KEY_BYTES} "
                "are allowed: use a shorter key (e.g. a hash of it) and keep the long text "
                "in the value."
            )


def utf8_size(text: str, what: str, error: type[ValueError] = InvalidNamespaceError) -> int:
    """``len(text.encode())``, raising ``error`` naming ``what`` when the text holds a
    lone surrogate (it has no UTF-8 form, so no store could hold it)."""
    if text.isascii():
        return len(text)
    try:
        return len(text.encode("utf-8"))
    except UnicodeEncodeError as exc:
        raise error(
            f"{what} holds a lone surrogate ({text[exc.start]!r} at {exc.start}), which "
            "has no UTF-8 form: decode the text properly (e.g. errors='replace')."
        ) from None


def _short(obj: object) -> str:
    text = repr(obj)
    return text if len(text) <= 60 else text[:57] + "..."


def validate_op_namespace(op: Op) -> None:
    """Check the namespace labels an op carries, before a store runs it.

    The ``BaseStore`` methods call this before ``batch``/``abatch``; a store that
    is handed ops directly may call it too. Empty prefixes (search everything) and
    ``"*"`` labels are allowed; what only writes need (a non-empty namespace, no
    reserved root) is checked by ``put``.

    Raises:
        InvalidNamespaceError: a label is empty, not a string, or contains '.' or
            NUL (or the namespace is not a tuple).

    >>> validate_op_namespace(SearchOp(()))
    >>> validate_op_namespace(GetOp(("a.b",), "k"))
    Traceback (most recent call last):
    ...
    graphkit.stores.store.base.InvalidNamespaceError: Namespace label 'a.b' in ('a.b',) contains '.', the namespace separator; use another character (e.g. '-' or ':').
    """
    if isinstance(op, (GetOp, PutOp)):
        validate_namespace(op.namespace, allow_empty=True)
    elif isinstance(op, SearchOp):
        validate_namespace(op.namespace_prefix, allow_empty=True, what="namespace prefix")
    elif isinstance(op, ListNamespacesOp):
        for cond in op.match_conditions or ():
            validate_namespace(cond.path, allow_empty=True, what="namespace pattern")


def validate_put_namespace(namespace: object) -> None:
    """What ``put`` needs beyond :func:`validate_op_namespace`: a non-empty namespace
    whose root is not the reserved ``"langgraph"``."""
    validate_namespace(namespace)
    assert isinstance(namespace, tuple)
    if namespace[0] == RESERVED_ROOT:
        raise InvalidNamespaceError(
            f"The root label {RESERVED_ROOT!r} is reserved (as in LangGraph): {namespace!r} "
            "cannot be written through put(); pick another first label."
        )


__all__ = [
    "MAX_KEY_BYTES",
    "MAX_NAMESPACE_BYTES",
    "NOT_PROVIDED",
    "RESERVED_ROOT",
    "BaseStore",
    "GetOp",
    "IndexConfig",
    "InvalidKeyError",
    "InvalidNamespaceError",
    "Item",
    "ListNamespacesOp",
    "MatchCondition",
    "NamespaceMatchType",
    "NamespacePath",
    "Op",
    "PutOp",
    "Result",
    "SearchItem",
    "SearchOp",
    "TTLConfig",
    "get_text_at_path",
    "validate_key",
    "validate_namespace",
    "validate_op_namespace",
    "validate_put_namespace",
]
