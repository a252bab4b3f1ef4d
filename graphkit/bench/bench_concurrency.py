"""Many conversations at once: throughput on one durable saver as concurrency grows.

``conc_sync_N``: N conversations (OS threads), each a 20-step checkpointed loop with
``durability="sync"`` (every step on disk before the next), graphkit on one
``LMDBSaver`` against LangGraph on one ``SqliteSaver`` (WAL, fsync). With group
commit, concurrent steps share one disk sync, so graphkit's throughput should grow
with N while the disk is the bottleneck. ``conc_async_N``: the same conversations as
N asyncio tasks (also 64) with ``ainvoke`` and each side's default durability.

Per unit is the time per step across all conversations (inverse throughput).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import threading
from collections.abc import Callable
from typing import Any

from graphkit.bench.bench_checkpoint_graph import _saver
from graphkit.bench.bench_engine import loop_graph
from graphkit.bench.harness import Workload, scratch_dir

STEPS = 20
LEVELS = (1, 4, 16)
ASYNC_LEVELS = (*LEVELS, 64)
"""asyncio conversations are cheap to start: issue 12's aim is 64 at 4x the throughput of one."""
_ids = itertools.count()


def _threads(kind: str, n: int) -> Callable[[], object]:
    graph = loop_graph(kind, _saver(kind), STEPS)

    def one() -> None:
        config = {"configurable": {"thread_id": f"c{next(_ids)}"}, "recursion_limit": STEPS + 10}
        graph.invoke({"x": 0}, config, durability="sync")

    def run() -> object:
        workers = [threading.Thread(target=one) for _ in range(n)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        return n

    return run


def _asyncio(kind: str, n: int) -> Callable[[], object]:
    """N conversations as asyncio tasks; LangGraph gets its async SQLite saver."""
    directory = scratch_dir("bench-conc-")

    async def all_of() -> None:
        if kind == "graphkit":
            saver: Any = _saver(kind, directory)
            await _gather(loop_graph(kind, saver, STEPS), n)
            return
        from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

        path = os.path.join(directory, "checkpoints.sqlite")
        async with AsyncSqliteSaver.from_conn_string(path) as saver:
            await _gather(loop_graph(kind, saver, STEPS), n)

    return lambda: asyncio.run(all_of())


async def _gather(graph: Any, n: int) -> None:
    async def one() -> None:
        config = {"configurable": {"thread_id": f"a{next(_ids)}"}, "recursion_limit": STEPS + 10}
        await graph.ainvoke({"x": 0}, config)

    await asyncio.gather(*(one() for _ in range(n)))


def _workloads() -> list[Workload]:
    found = []
    for n in LEVELS:
        found.append(
            Workload(
                name=f"conc_sync_{n}",
                description=f"{n} threads x {STEPS}-step loop, durability='sync', one saver",
                graphkit=lambda n=n: _threads("graphkit", n),  # type: ignore[misc]
                langgraph=lambda n=n: _threads("langgraph", n),  # type: ignore[misc]
                units=n * STEPS,
                unit="step",
                repeat=3,
            )
        )
    for n in ASYNC_LEVELS:
        found.append(
            Workload(
                name=f"conc_async_{n}",
                description=f"{n} asyncio tasks x {STEPS}-step loop, default durability",
                graphkit=lambda n=n: _asyncio("graphkit", n),  # type: ignore[misc]
                langgraph=lambda n=n: _asyncio("langgraph", n),  # type: ignore[misc]
                units=n * STEPS,
                unit="step",
                repeat=3,
            )
        )
    return found


WORKLOADS: list[Any] = _workloads()
