"""``langgraph.store.base.embed``: turning an embedding function into ``Embeddings``."""

from graphkit.stores.embeddings import AEmbeddingsFunc, EmbeddingsFunc, ensure_embeddings

__all__ = ["AEmbeddingsFunc", "EmbeddingsFunc", "ensure_embeddings"]
