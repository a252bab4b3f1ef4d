"""LangGraph's ``langgraph.cache.sqlite``: graphkit has no SQLite node cache; asking
for ``SqliteCache`` says what to use instead."""

from graphkit._replaced import replaced_names

__all__: list[str] = []

__getattr__ = replaced_names(
    __name__,
    ("SqliteCache",),
    "graphkit has no SqliteCache: cache node results with "
    "graphkit.cache.memory.InMemoryCache (compile(cache=InMemoryCache())), or implement "
    "graphkit.cache.base.BaseCache over a store of your own to keep them across processes.",
)
