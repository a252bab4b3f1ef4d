"""LangGraph's ``langgraph.checkpoint.sqlite``: graphkit's embedded durable saver is
``graphkit.checkpoint.lmdb.LMDBSaver``, so asking this module for ``SqliteSaver`` says
how to switch (the module itself imports, for tools that walk the package)."""

from graphkit._replaced import replaced_names

__all__: list[str] = []

SWITCH = (
    "graphkit has no SQLite saver: its embedded durable saver stores checkpoints in LMDB. "
    "Replace `from langgraph.checkpoint.sqlite import SqliteSaver` (or `.aio` "
    "AsyncSqliteSaver) with `from graphkit.checkpoint.lmdb import LMDBSaver`, and "
    "`SqliteSaver.from_conn_string('checkpoints.sqlite')` with "
    "`LMDBSaver.from_conn_string('checkpoints')` (a directory; it serves invoke and ainvoke). "
    "Or keep the langgraph-checkpoint-sqlite package's own SqliteSaver (imported from "
    "langgraph.checkpoint.sqlite) and pass it to compile(checkpointer=...): graphkit runs "
    "on it for new threads. Checkpoints LangGraph wrote are not read."
)


__getattr__ = replaced_names(__name__, ("SqliteSaver",), SWITCH)
