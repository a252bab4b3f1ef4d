"""LangGraph's ``langgraph.store.sqlite``: graphkit's embedded durable store is
``graphkit.store.lmdb.LMDBStore``, so asking this module for ``SqliteStore`` says how to
switch (the module itself imports, for tools that walk the package)."""

from graphkit._replaced import replaced_names

__all__: list[str] = []

SWITCH = (
    "graphkit has no SQLite store: its embedded durable store keeps items in LMDB. Replace "
    "`from langgraph.store.sqlite import {name}` with `from graphkit.store.lmdb import "
    "LMDBStore`, and `with {name}.from_conn_string('store.sqlite') as store:` with "
    "`with LMDBStore('store') as store:` (a directory; it serves sync and async calls, and "
    "takes the same index= and ttl=). Items already in a SQLite file are not read."
)

__getattr__ = replaced_names(__name__, ("AsyncSqliteStore", "SqliteStore"), SWITCH)
