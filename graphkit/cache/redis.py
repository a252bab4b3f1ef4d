"""LangGraph's ``langgraph.cache.redis``: graphkit has no Redis node cache; asking for
``RedisCache`` says what to use instead."""

from graphkit._replaced import replaced_names

__all__: list[str] = []

__getattr__ = replaced_names(
    __name__,
    ("RedisCache",),
    "graphkit has no RedisCache: cache node results with "
    "graphkit.cache.memory.InMemoryCache (compile(cache=InMemoryCache())), or implement "
    "graphkit.cache.base.BaseCache over Redis to share them between processes.",
)
