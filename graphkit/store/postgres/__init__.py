"""The memory store in PostgreSQL (LangGraph's ``langgraph.store.postgres``); needs
``graphkit[postgres]``."""

from graphkit.stores.store.postgres_store import PostgresStore

__all__ = ["PostgresStore"]
