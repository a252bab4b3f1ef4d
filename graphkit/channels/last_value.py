"""``langgraph.channels.last_value``: see ``graphkit.channels.base``."""

from graphkit.channels.base import LastValue, LastValueAfterFinish

__all__ = ["LastValue", "LastValueAfterFinish"]
