"""``langgraph.store.base.batch``: a base store that batches concurrent async calls."""

from graphkit.stores.store.batch import AsyncBatchedBaseStore

__all__ = ["AsyncBatchedBaseStore"]
