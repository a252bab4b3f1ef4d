"""Embeddings for the memory store's semantic search.

``Embeddings`` is the protocol a store index accepts (``embed_documents`` /
``embed_query``, async variants optional); ``HashEmbeddings`` works offline with no
model. API-backed ones are in :mod:`graphkit.models`.
"""

from graphkit.stores.embeddings import Embeddings, HashEmbeddings

__all__ = ["Embeddings", "HashEmbeddings"]
