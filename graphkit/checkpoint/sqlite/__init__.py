"""LangGraph's ``langgraph.checkpoint.sqlite``: graphkit's embedded durable saver is
``graphkit.checkpoint.lmdb.LMDBSaver``, so importing this module says how to switch."""

from graphkit.errors import ReplacedModuleError

raise ReplacedModuleError(
    "graphkit has no SQLite saver: its embedded durable saver stores checkpoints in LMDB. "
    "Replace `from langgraph.checkpoint.sqlite import SqliteSaver` (or `.aio` "
    "AsyncSqliteSaver) with `from graphkit.checkpoint.lmdb import LMDBSaver`, and "
    "`SqliteSaver.from_conn_string('checkpoints.sqlite')` with "
    "`LMDBSaver.from_conn_string('checkpoints')` (a directory; it serves invoke and ainvoke). "
    "Checkpoints already in a SQLite file are not read."
)
