"""Async memory store in PostgreSQL (LangGraph's ``langgraph.store.postgres.aio``)."""

from graphkit.stores.store.postgres_aio import AsyncPostgresStore

__all__ = ["AsyncPostgresStore"]
