"""Checkpoint persistence: the saver interface (:mod:`.base`) and its two savers.

The whole contract lives in :mod:`graphkit.stores.checkpoint.base`; users import
these names from LangGraph's paths, ``graphkit.checkpoint.base`` / ``.memory`` / ``.lmdb``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

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
from graphkit.stores.checkpoint.memory import InMemorySaver, MemorySaver

if TYPE_CHECKING:
    from graphkit.stores.checkpoint.lmdb import LMDBSaver

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


def __getattr__(name: str) -> Any:
    """``LMDBSaver`` is imported on first use: lmdb is not loaded for in-memory users."""
    if name == "LMDBSaver":
        from graphkit.stores.checkpoint.lmdb import LMDBSaver

        return LMDBSaver
    raise AttributeError(f"module 'graphkit.stores.checkpoint' has no attribute {name!r}")
