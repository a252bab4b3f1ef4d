"""``langgraph.channels.ephemeral_value``: see ``graphkit.channels.base``."""

from graphkit.channels.base import EphemeralValue

__all__ = ["EphemeralValue"]
