"""``langgraph.channels.topic``: see ``graphkit.channels.base``."""

from graphkit.channels.base import Topic

__all__ = ["Topic"]
