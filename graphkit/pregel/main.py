"""``langgraph.pregel.main``: see ``graphkit.pregel`` (no low-level Pregel API)."""

from graphkit._replaced import replaced_names
from graphkit.pregel import USE_THE_BUILDER

__all__: list[str] = []

__getattr__ = replaced_names(__name__, ("NodeBuilder", "Pregel"), USE_THE_BUILDER)
