"""``langgraph.channels.binop``: see ``graphkit.channels.base``."""

from graphkit.channels.base import BinaryOperatorAggregate

__all__ = ["BinaryOperatorAggregate"]
