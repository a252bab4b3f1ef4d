"""``langgraph.channels.named_barrier_value``: see ``graphkit.channels.base``."""

from graphkit.channels.base import NamedBarrierValue, NamedBarrierValueAfterFinish

__all__ = ["NamedBarrierValue", "NamedBarrierValueAfterFinish"]
