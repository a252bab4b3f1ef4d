"""LangGraph's ``langgraph.checkpoint.sqlite.aio``: see ``graphkit.checkpoint.sqlite``."""

from typing import Any

from graphkit.checkpoint.sqlite import replaced

__all__: list[str] = []


def __getattr__(name: str) -> Any:
    return replaced(__name__, name, ("AsyncSqliteSaver",))
