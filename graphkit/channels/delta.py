"""``langgraph.channels.delta``: see ``graphkit.channels.base``."""

from graphkit.channels.base import DeltaChannel

__all__ = ["DeltaChannel"]
