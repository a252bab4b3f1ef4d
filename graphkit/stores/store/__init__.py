"""The long-term memory store: namespaced JSON documents with filters, semantic search and TTL.

``InMemoryStore`` keeps everything in process memory; ``LMDBStore`` persists to an
LMDB environment (shareable with the checkpoint saver) with an hnswlib index
cached beside it. Both implement :class:`BaseStore`, LangGraph-compatible.
"""

from graphkit.stores.store.base import (
    BaseStore,
    GetOp,
    IndexConfig,
    InvalidNamespaceError,
    Item,
    ListNamespacesOp,
    MatchCondition,
    NamespaceMatchType,
    NamespacePath,
    Op,
    PutOp,
    Result,
    SearchItem,
    SearchOp,
    TTLConfig,
)
from graphkit.stores.store.batch import AsyncBatchedBaseStore
from graphkit.stores.store.lmdb_store import LMDBStore
from graphkit.stores.store.memory import InMemoryStore

__all__ = [
    "AsyncBatchedBaseStore",
    "BaseStore",
    "GetOp",
    "InMemoryStore",
    "IndexConfig",
    "InvalidNamespaceError",
    "Item",
    "LMDBStore",
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
]
