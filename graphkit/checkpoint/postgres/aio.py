"""Async PostgreSQL checkpoints (LangGraph's ``langgraph.checkpoint.postgres.aio``)."""

from graphkit.stores.checkpoint.postgres_aio import AsyncPostgresSaver

__all__ = ["AsyncPostgresSaver"]
