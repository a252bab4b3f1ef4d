"""graphkit's persistence: checkpoint savers and the long-term memory store.

``stores`` never imports graphkit's runtime, so a saver or store can be used (and
tested) on its own.
"""

from graphkit.stores._lmdb import (
    DiskFullError,
    ForkedEnvError,
    LMDBCorruptError,
    LMDBEnv,
    MapFullError,
    ReadersFullError,
)

__all__ = [
    "DiskFullError",
    "ForkedEnvError",
    "LMDBCorruptError",
    "LMDBEnv",
    "MapFullError",
    "ReadersFullError",
]
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

__all__ += [
    "BaseCheckpointSaver",
    "Checkpoint",
    "CheckpointMetadata",
    "CheckpointTuple",
    "InMemorySaver",
    "LMDBSaver",
    "MemorySaver",
    "SerdeError",
    "Serializer",
]
__all__ += [
    "AnnConfig",
    "BaseStore",
    "Embeddings",
    "GetOp",
    "HashEmbeddings",
    "InMemoryStore",
    "IndexConfig",
    "InvalidNamespaceError",
    "Item",
    "LMDBStore",
    "ListNamespacesOp",
    "MatchCondition",
    "PutOp",
    "SearchItem",
    "SearchOp",
    "TTLConfig",
    "VectorIndex",
    "ensure_embeddings",
]
