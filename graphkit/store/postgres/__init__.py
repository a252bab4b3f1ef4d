"""The memory store in PostgreSQL (LangGraph's ``langgraph.store.postgres``); needs
``graphkit[postgres]``."""

from graphkit.stores.store.postgres_aio import AsyncPostgresStore
from graphkit.stores.store.postgres_store import PoolConfig, PostgresStore

__all__ = ["AsyncPostgresStore", "PoolConfig", "PostgresStore"]
