"""asyncio: how much of the event loop a durable ``ainvoke`` leaves to other coroutines.

``aio_share_sync`` / ``aio_share_async``: a 200-step checkpointed loop run with
``ainvoke`` on a durable saver (graphkit ``LMDBSaver``, LangGraph
``AsyncSqliteSaver``, fsync on both), ``durability="sync"`` and ``"async"``, while
another coroutine spins (``await asyncio.sleep(0)`` in a loop). The metric is that
coroutine's share of the loop: its turns during the run divided by its turns in the
same time with the loop to itself, measured right after the run (100% = the run costs
the loop nothing; the aim is at least 50%; capped at 100%, as machine noise can push
it over). The timed value is the run itself.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import time
from collections.abc import Callable
from typing import Any

from graphkit.bench.bench_checkpoint_graph import _saver
from graphkit.bench.bench_engine import loop_graph
from graphkit.bench.harness import Workload, scratch_dir

STEPS = 200
_ids = itertools.count()


async def _with_saver(kind: str, body: Callable[[Any], Any]) -> Any:
    directory = scratch_dir("bench-aio-")
    if kind == "graphkit":
        saver = _saver(kind, directory)
        try:
            return await body(saver)
        finally:
            saver.close()
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    async with AsyncSqliteSaver.from_conn_string(os.path.join(directory, "c.sqlite")) as saver:
        return await body(saver)


async def _spin_rate(seconds: float) -> float:
    """Turns per second of a spinning coroutine with the loop to itself."""
    turns, end = 0, time.perf_counter() + seconds
    while time.perf_counter() < end:
        turns += 1
        await asyncio.sleep(0)
    return turns / seconds


async def _share(kind: str, durability: str) -> tuple[float, float]:
    """(run seconds, the spinner's share of the loop during the run)."""

    async def body(saver: Any) -> tuple[float, float]:
        graph = loop_graph(kind, saver, STEPS)
        config = {"configurable": {"thread_id": f"a{next(_ids)}"}, "recursion_limit": STEPS + 10}
        turns = 0
        done = False

        async def spin() -> None:
            nonlocal turns
            while not done:
                turns += 1
                await asyncio.sleep(0)

        spinner = asyncio.create_task(spin())
        await asyncio.sleep(0)
        start = time.perf_counter()
        await graph.ainvoke({"x": 0}, config, durability=durability)
        took = time.perf_counter() - start
        done = True
        await spinner
        alone = await _spin_rate(min(max(took, 0.05), 1.0))  # right after, as loaded
        return took, min(turns / (alone * took), 1.0)

    result: tuple[float, float] = await _with_saver(kind, body)
    return result


_last_share: dict[tuple[str, str], float] = {}


def _timed(kind: str, durability: str) -> Callable[[], object]:
    def run() -> object:
        took, share = asyncio.run(_share(kind, durability))
        _last_share[(kind, durability)] = max(share, _last_share.get((kind, durability), 0.0))
        return took

    return run


def _shares(durability: str) -> Callable[[bool], dict[str, tuple[float, float | None]]]:
    def metrics(quick: bool) -> dict[str, tuple[float, float | None]]:
        ours = _last_share.get(("graphkit", durability), 0.0) * 100
        theirs = _last_share.get(("langgraph", durability))
        return {
            "other coroutine's share of the loop, % (best run)": (
                ours,
                theirs * 100 if theirs is not None else None,
            )
        }

    return metrics


WORKLOADS = [
    Workload(
        name=f"aio_share_{durability}",
        description=f"{STEPS}-step durable ainvoke, durability={durability!r}, beside a "
        "spinning coroutine",
        graphkit=lambda durability=durability: _timed("graphkit", durability),  # type: ignore[misc]
        langgraph=lambda durability=durability: _timed("langgraph", durability),  # type: ignore[misc]
        units=STEPS,
        unit="step",
        repeat=3,
        metrics=_shares(durability),
    )
    for durability in ("sync", "async")
]
