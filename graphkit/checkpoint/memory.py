"""``langgraph.checkpoint.memory``: the in-process saver (``MemorySaver`` is its old name)."""

from graphkit.stores.checkpoint.memory import InMemorySaver, MemorySaver

__all__ = ["InMemorySaver", "MemorySaver"]
