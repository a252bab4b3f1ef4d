"""AsyncPostgresStore: :class:`PostgresStore` for asyncio programs.

Its ``abatch`` (and so ``aput``, ``asearch``, ...) runs the database work in a worker
thread (``_blocking_writes``), and ``setup`` and ``from_conn_string`` are awaitable.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from graphkit.stores.store.base import Op, Result
from graphkit.stores.store.postgres_store import PoolConfig, PostgresStore, pool_kwargs

__all__ = ["AsyncPostgresStore"]


class AsyncPostgresStore(PostgresStore):
    """:class:`PostgresStore` with ``await``-able ``setup`` and an async ``from_conn_string``."""

    @classmethod
    @asynccontextmanager
    async def from_conn_string(  # type: ignore[override]
        cls,
        conn_string: str,
        *,
        pipeline: bool = False,
        pool_config: PoolConfig | dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[AsyncPostgresStore]:
        """A store on a new connection pool to ``conn_string``, closed on exit."""
        store = await asyncio.to_thread(cls, conn_string, **pool_kwargs(pool_config), **kwargs)
        try:
            yield store
        finally:
            await asyncio.to_thread(store.close)

    async def setup(self) -> None:  # type: ignore[override]
        """Create or migrate the tables (idempotent; safe from many workers at once)."""
        await asyncio.to_thread(PostgresStore.setup, self)

    async def start_ttl_sweeper(  # type: ignore[override]
        self, sweep_interval_minutes: float | None = None
    ) -> asyncio.Future[None]:
        """:meth:`PostgresStore.start_ttl_sweeper`, awaited as LangGraph's async store's
        is: the future completes when the sweeper stops."""
        return asyncio.wrap_future(PostgresStore.start_ttl_sweeper(self, sweep_interval_minutes))

    async def stop_ttl_sweeper(self, timeout: float | None = None) -> bool:  # type: ignore[override]
        """Stop the sweeper :meth:`start_ttl_sweeper` started; True if there was one."""
        return self._stop_sweeper()

    async def abatch(self, ops: Any) -> list[Result]:
        """Async :meth:`batch`: every batch reads the database, so all run in a thread."""
        ops_list: list[Op] = list(ops)
        plan = self._plan(ops_list)
        doc_vecs, query_vecs = await self._embed_async(plan)
        return await asyncio.to_thread(self._run, ops_list, plan, doc_vecs, query_vecs)
