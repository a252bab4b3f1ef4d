"""``langgraph.cache``: where node and task results are cached (see ``CachePolicy``).

``BaseCache`` (in ``graphkit.cache.base``) is the interface; ``InMemoryCache``
(``graphkit.cache.memory``) keeps entries in the process.
"""

from graphkit.cache.base import BaseCache
from graphkit.cache.memory import InMemoryCache

__all__ = ["BaseCache", "InMemoryCache"]
