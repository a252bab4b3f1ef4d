"""``langgraph.channels.any_value``: see ``graphkit.channels.base``."""

from graphkit.channels.base import AnyValue

__all__ = ["AnyValue"]
