"""PostgreSQL checkpoints (LangGraph's ``langgraph.checkpoint.postgres``); needs ``graphkit[postgres]``."""

from graphkit.stores._postgres import PostgresConnectionError
from graphkit.stores.checkpoint.postgres import CheckpointConflictError, PostgresSaver

__all__ = ["CheckpointConflictError", "PostgresConnectionError", "PostgresSaver"]
