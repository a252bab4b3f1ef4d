"""``langgraph.store.base``: the store interface, its items and operations."""

from graphkit.stores.embeddings import Embeddings, ensure_embeddings
from graphkit.stores.store.base import *  # noqa: F403  (the public path of the same names)
from graphkit.stores.store.base import __all__ as __all__

__all__ = [*__all__, "Embeddings", "ensure_embeddings"]
