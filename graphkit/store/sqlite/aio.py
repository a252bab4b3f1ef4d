"""LangGraph's ``langgraph.store.sqlite.aio``: see ``graphkit.store.sqlite``."""

from graphkit._replaced import replaced_names
from graphkit.store.sqlite import SWITCH

__all__: list[str] = []

__getattr__ = replaced_names(__name__, ("AsyncSqliteStore",), SWITCH)
