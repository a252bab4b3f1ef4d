"""Embeddings for the memory store's semantic search.

``Embeddings`` is the protocol a store index accepts (``embed_documents`` /
``embed_query``; async variants optional: a subclass that defines only the sync
methods inherits async ones that run them in a worker thread, as with LangChain's
``Embeddings``); ``HashEmbeddings`` works offline with no model. API-backed ones are in :mod:`graphkit.models`;
``init_embeddings("openai:text-embedding-3-small")`` builds one by name, as LangChain's.
"""

from graphkit.models.providers import init_embeddings
from graphkit.stores.embeddings import Embeddings, HashEmbeddings

__all__ = ["Embeddings", "HashEmbeddings", "init_embeddings"]
