"""graphkit's persistence: checkpoint savers and the long-term memory store.

``stores`` never imports graphkit's runtime, so a saver or store can be used (and
tested) on its own.
"""

from stores._lmdb import LMDBEnv, MapFullError

__all__ = ["LMDBEnv", "MapFullError"]
from stores.checkpoint import (
    BaseCheckpointSaver,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    InMemorySaver,
    LMDBSaver,
    MemorySaver,
)
from stores.serde import SerdeError, Serializer

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
