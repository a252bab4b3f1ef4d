"""graphkit's persistence: checkpoint savers and the long-term memory store.

``graphkit.stores`` never imports graphkit's engine, so a saver or store can be used
(and tested) on its own. Users import from LangGraph's public paths
(``graphkit.checkpoint.*``, ``graphkit.store.*``); the names below are re-exported
lazily, so ``import graphkit`` does not load numpy, hnswlib or lmdb.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from graphkit.stores._lmdb import (
        CloseInTransactionError,
        DiskFullError,
        EnvClosedError,
        ForkedEnvError,
        LMDBAccessError,
        LMDBCorruptError,
        LMDBEnv,
        MapFullError,
        ReadersFullError,
    )
    from graphkit.stores.checkpoint import (
        BaseCheckpointSaver,
        Checkpoint,
        CheckpointMetadata,
        CheckpointTuple,
        InMemorySaver,
        LMDBSaver,
        MemorySaver,
    )
    from graphkit.stores.embeddings import Embeddings, HashEmbeddings, ensure_embeddings
    from graphkit.stores.index import AnnConfig, VectorIndex
    from graphkit.stores.serde import SerdeError, Serializer
    from graphkit.stores.store import (
        BaseStore,
        GetOp,
        IndexConfig,
        InMemoryStore,
        InvalidNamespaceError,
        Item,
        ListNamespacesOp,
        LMDBStore,
        MatchCondition,
        PutOp,
        SearchItem,
        SearchOp,
        TTLConfig,
    )
    from graphkit.stores.store.lmdb_store import StoreCorruptError

_HOME = {
    **dict.fromkeys(
        [
            "CloseInTransactionError",
            "DiskFullError",
            "EnvClosedError",
            "ForkedEnvError",
            "LMDBAccessError",
            "LMDBCorruptError",
            "LMDBEnv",
            "MapFullError",
            "ReadersFullError",
        ],
        "graphkit.stores._lmdb",
    ),
    "Embeddings": "graphkit.stores.embeddings",
    "HashEmbeddings": "graphkit.stores.embeddings",
    "ensure_embeddings": "graphkit.stores.embeddings",
    "AnnConfig": "graphkit.stores.index",
    "VectorIndex": "graphkit.stores.index",
    "SerdeError": "graphkit.stores.serde",
    "StoreCorruptError": "graphkit.stores.store.lmdb_store",
    "Serializer": "graphkit.stores.serde",
    **dict.fromkeys(
        [
            "BaseCheckpointSaver",
            "Checkpoint",
            "CheckpointMetadata",
            "CheckpointTuple",
            "InMemorySaver",
            "LMDBSaver",
            "MemorySaver",
        ],
        "graphkit.stores.checkpoint",
    ),
    **dict.fromkeys(
        [
            "BaseStore",
            "GetOp",
            "IndexConfig",
            "InMemoryStore",
            "InvalidNamespaceError",
            "Item",
            "ListNamespacesOp",
            "LMDBStore",
            "MatchCondition",
            "PutOp",
            "SearchItem",
            "SearchOp",
            "TTLConfig",
        ],
        "graphkit.stores.store",
    ),
}

__all__ = [
    "AnnConfig",
    "BaseCheckpointSaver",
    "BaseStore",
    "Checkpoint",
    "CheckpointMetadata",
    "CheckpointTuple",
    "CloseInTransactionError",
    "DiskFullError",
    "Embeddings",
    "EnvClosedError",
    "ForkedEnvError",
    "GetOp",
    "HashEmbeddings",
    "InMemorySaver",
    "InMemoryStore",
    "IndexConfig",
    "InvalidNamespaceError",
    "Item",
    "LMDBAccessError",
    "LMDBCorruptError",
    "LMDBEnv",
    "LMDBSaver",
    "LMDBStore",
    "ListNamespacesOp",
    "MapFullError",
    "MatchCondition",
    "MemorySaver",
    "PutOp",
    "ReadersFullError",
    "SearchItem",
    "SearchOp",
    "SerdeError",
    "Serializer",
    "StoreCorruptError",
    "TTLConfig",
    "VectorIndex",
    "ensure_embeddings",
]


def __getattr__(name: str) -> Any:
    """Import a re-exported name's module on first use."""
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'graphkit.stores' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
