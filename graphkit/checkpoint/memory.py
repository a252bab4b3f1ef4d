"""``langgraph.checkpoint.memory``: the in-process saver (``MemorySaver`` is its old name)."""

from graphkit.stores.checkpoint.base import WRITES_IDX_MAP
from graphkit.stores.checkpoint.memory import InMemorySaver, MemorySaver

__all__ = ["WRITES_IDX_MAP", "InMemorySaver", "MemorySaver"]
