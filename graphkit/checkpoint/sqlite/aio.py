"""LangGraph's ``langgraph.checkpoint.sqlite.aio``: see ``graphkit.checkpoint.sqlite``."""

from graphkit._replaced import replaced_names
from graphkit.checkpoint.sqlite import SWITCH

__all__: list[str] = []

__getattr__ = replaced_names(__name__, ("AsyncSqliteSaver",), SWITCH)
