"""``langgraph.utils.config``: LangGraph's legacy path of ``get_config`` and ``get_store``
(older code imports them from here; ``graphkit.config`` is their home)."""

from graphkit.context import get_config, get_store

__all__ = ["get_config", "get_store"]
