"""``langgraph.store.memory``: the in-process memory store."""

from graphkit.stores.store.memory import InMemoryStore

__all__ = ["InMemoryStore"]
