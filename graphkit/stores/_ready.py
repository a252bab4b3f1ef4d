"""What the embedded stores' ``setup()`` returns: nothing to wait for, awaitable.

LMDB needs no setup, but code written for LangGraph's SQLite savers and stores calls
``saver.setup()`` (``SqliteSaver``, ``SqliteStore``) or ``await saver.setup()``
(``AsyncSqliteSaver``, ``AsyncSqliteStore``), and ``LMDBSaver``/``LMDBStore`` stand for
both: returning :data:`READY` lets either spelling run.

>>> import asyncio
>>> asyncio.run(_await(READY)) is None
True
"""

from __future__ import annotations

from collections.abc import Generator


class Ready:
    """An awaitable that is already done (awaiting it gives None)."""

    __slots__ = ()

    def __await__(self) -> Generator[None, None, None]:
        return
        yield  # (a generator that finishes at once)

    def __repr__(self) -> str:
        return "READY"


READY = Ready()
"""The one :class:`Ready`."""


async def _await(ready: Ready) -> None:
    return await ready
