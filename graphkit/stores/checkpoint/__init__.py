"""Checkpoint persistence: the saver interface (:mod:`.base`) and its two savers.

The whole contract lives in :mod:`graphkit.stores.checkpoint.base`; users import
these names from LangGraph's paths, ``graphkit.checkpoint.base`` / ``.memory`` / ``.lmdb``.
"""

from graphkit.stores.checkpoint.base import (
    BaseCheckpointSaver,
    Checkpoint,
    CheckpointCorruptError,
    CheckpointMetadata,
    CheckpointTuple,
    RunnableConfig,
    empty_checkpoint,
    new_checkpoint_id,
)
from graphkit.stores.checkpoint.lmdb import LMDBSaver
from graphkit.stores.checkpoint.memory import InMemorySaver, MemorySaver

__all__ = [
    "BaseCheckpointSaver",
    "Checkpoint",
    "CheckpointCorruptError",
    "CheckpointMetadata",
    "CheckpointTuple",
    "InMemorySaver",
    "LMDBSaver",
    "MemorySaver",
    "RunnableConfig",
    "empty_checkpoint",
    "new_checkpoint_id",
]
