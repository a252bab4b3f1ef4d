"""``langgraph.channels.untracked_value``: see ``graphkit.channels.base``."""

from graphkit.channels.base import UntrackedValue

__all__ = ["UntrackedValue"]
