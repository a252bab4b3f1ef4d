"""AsyncPostgresSaver: :class:`PostgresSaver` for asyncio programs.

Same tables, same behaviour; the async methods run the saver's database work in
worker threads over a connection pool (a pool of ``pool_size`` connections, so that
many conversations save at once), so the event loop never waits on the network.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from graphkit.stores.checkpoint.postgres import PostgresSaver

__all__ = ["AsyncPostgresSaver"]


class AsyncPostgresSaver(PostgresSaver):
    """:class:`PostgresSaver` with ``await``-able ``setup`` and an async ``from_conn_string``.

    ``conn``: a ``postgresql://`` URL, a psycopg ``Connection`` / ``ConnectionPool``,
    or, as LangGraph's takes, a psycopg ``AsyncConnection`` or psycopg_pool
    ``AsyncConnectionPool`` (its conninfo is reused for a pool of this saver's own).
    """

    @classmethod
    @asynccontextmanager
    async def from_conn_string(  # type: ignore[override]
        cls, conn_string: str, *, pipeline: bool = False, **kwargs: Any
    ) -> AsyncIterator[AsyncPostgresSaver]:
        """A saver on a new connection pool to ``conn_string``, closed on exit."""
        saver = await asyncio.to_thread(cls, conn_string, **kwargs)
        try:
            yield saver
        finally:
            await asyncio.to_thread(saver.close)

    async def setup(self) -> None:  # type: ignore[override]
        """Create or migrate the tables (idempotent; safe from many workers at once)."""
        await asyncio.to_thread(PostgresSaver.setup, self)
