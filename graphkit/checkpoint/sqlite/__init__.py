"""LangGraph's ``langgraph.checkpoint.sqlite``: graphkit's embedded durable saver is
``graphkit.checkpoint.lmdb.LMDBSaver``, so asking this module for ``SqliteSaver`` says
how to switch (the module itself imports, for tools that walk the package)."""

from typing import Any

from graphkit.errors import ReplacedModuleError

__all__: list[str] = []

_SWITCH = (
    "graphkit has no SQLite saver: its embedded durable saver stores checkpoints in LMDB. "
    "Replace `from langgraph.checkpoint.sqlite import SqliteSaver` (or `.aio` "
    "AsyncSqliteSaver) with `from graphkit.checkpoint.lmdb import LMDBSaver`, and "
    "`SqliteSaver.from_conn_string('checkpoints.sqlite')` with "
    "`LMDBSaver.from_conn_string('checkpoints')` (a directory; it serves invoke and ainvoke). "
    "Checkpoints already in a SQLite file are not read."
)


def replaced(module: str, name: str, replaced_names: tuple[str, ...]) -> Any:
    """A module ``__getattr__`` for LangGraph's SQLite savers: names them with the way to
    switch, any other name is missing as usual."""
    if name in replaced_names:
        raise ReplacedModuleError(_SWITCH)
    raise AttributeError(f"module {module!r} has no attribute {name!r}")


def __getattr__(name: str) -> Any:
    return replaced(__name__, name, ("SqliteSaver",))
