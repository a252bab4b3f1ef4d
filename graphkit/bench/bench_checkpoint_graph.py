"""Graph-level checkpointing: whole graphs run with a durable saver, graphkit vs LangGraph.

graphkit runs with ``LMDBSaver``, LangGraph with ``SqliteSaver`` (the durable
saver it ships), both with ``durability="sync"`` (each checkpoint is written
before the next step starts) and default fsync settings. Every timed run of a
run-the-graph workload uses a new thread id, so runs do not grow one thread.

* ``ckpt_chain``: the 100-node chain, one checkpoint per step.
* ``ckpt_loop``: the 1000-step counting loop.
* ``ckpt_chain_async`` / ``ckpt_loop_async``: the same with ``durability="async"``
  (LangGraph's default): saves run beside the next steps; graphkit's writer commits
  everything queued in one LMDB transaction (one fsync for many steps).
* ``ckpt_wide``: the 500-key state, 50 steps changing 3 keys each; its metrics
  report the bytes on disk after one run (LMDB pages in use vs the SQLite file).
* ``ckpt_get_state_10k`` / ``ckpt_history_10k``: ``get_state`` and
  ``get_state_history(limit=10)`` on a thread with 10,000 checkpoints (built once,
  in setup, by a 10,000-step loop).

Run: ``graphkit bench --only checkpoint_graph`` (or one workload by name).
"""

from __future__ import annotations

import functools
import itertools
import os
import sqlite3
from collections.abc import Callable
from typing import Any

from graphkit.bench.bench_engine import (
    CHAIN_LENGTH,
    LOOP_STEPS,
    WIDE_KEYS,
    WIDE_START,
    WIDE_STEPS,
    chain_graph,
    loop_graph,
    wide_graph,
)
from graphkit.bench.harness import Workload, scratch_dir

DEEP_THREAD = 10_000
"""Checkpoints in the thread that get_state / get_state_history read."""

_threads = itertools.count()


# ---------------------------------------------------------------- savers
def _saver(kind: str, directory: str | None = None, *, fast_setup: bool = False) -> Any:
    """A fresh durable saver in its own directory: LMDBSaver or LangGraph's SqliteSaver."""
    directory = directory or scratch_dir(f"bench-ckpt-{kind}-")
    if kind == "graphkit":
        from graphkit.stores.checkpoint import LMDBSaver

        return LMDBSaver(directory, sync=not fast_setup)
    from langgraph.checkpoint.sqlite import SqliteSaver

    conn = sqlite3.connect(os.path.join(directory, "checkpoints.sqlite"), check_same_thread=False)
    if fast_setup:
        conn.execute("PRAGMA synchronous=OFF")
    return SqliteSaver(conn)


def _run(
    graph: Any, start: dict[str, Any], limit: int, durability: str = "sync"
) -> Callable[[], object]:
    """A timed run: the graph on a new thread, checkpointing every step."""

    def run() -> object:
        config = {"configurable": {"thread_id": f"t{next(_threads)}"}, "recursion_limit": limit}
        return graph.invoke(start, config, durability=durability)

    return run


# ------------------------------------------------------------- workloads
def _langgraph_lmdb_saver() -> Any:
    """LangGraph with the third-party ``langgraph-checkpoint-lmdb`` saver (default fsync)."""
    import lmdb
    from langgraph_checkpoint_lmdb import LMDBSaver as LangGraphLMDBSaver

    directory = scratch_dir("bench-ckpt-lg-lmdb-")
    return LangGraphLMDBSaver(lmdb.open(directory, map_size=1 << 32, max_dbs=16))


def chain(kind: str, durability: str = "sync", saver: Any = None) -> Callable[[], object]:
    """The 100-node chain, checkpointed after every step."""
    saver = saver if saver is not None else _saver(kind)
    return _run(chain_graph(kind, saver), {"x": 0}, CHAIN_LENGTH + 10, durability)


def loop(kind: str, durability: str = "sync", saver: Any = None) -> Callable[[], object]:
    """The 1000-step loop, checkpointed after every step."""
    saver = saver if saver is not None else _saver(kind)
    return _run(loop_graph(kind, saver), {"x": 0}, LOOP_STEPS + 10, durability)


def wide(kind: str) -> Callable[[], object]:
    """The 500-key state, 50 steps updating 3 keys each, checkpointed after every step."""
    return _run(wide_graph(kind, _saver(kind)), WIDE_START, WIDE_STEPS + 10)


def wide_bytes(quick: bool) -> dict[str, tuple[float, float | None]]:
    """Bytes on disk after one 50-step run of the wide state, in a fresh directory each."""
    found: dict[str, float] = {}
    for kind in ("graphkit", "langgraph"):
        directory = scratch_dir(f"bench-ckpt-bytes-{kind}-")
        saver = _saver(kind, directory)
        _run(wide_graph(kind, saver), WIDE_START, WIDE_STEPS + 10)()
        if kind == "graphkit":
            found[kind] = float(saver.disk_usage())
            saver.close()
        else:
            saver.conn.commit()
            found[kind] = float(_files_size(directory))
            saver.conn.close()
    kib = {kind: size / 1024 for kind, size in found.items()}
    return {
        f"KiB on disk after {WIDE_STEPS} steps (LMDB vs SQLite)": (
            kib["graphkit"],
            kib["langgraph"],
        ),
        "KiB per step": (kib["graphkit"] / WIDE_STEPS, kib["langgraph"] / WIDE_STEPS),
    }


def _files_size(directory: str) -> int:
    """Total size of the files in ``directory`` (the SQLite db plus any -wal/-journal)."""
    return sum(os.path.getsize(os.path.join(directory, f)) for f in os.listdir(directory))


@functools.cache
def _deep_thread(kind: str) -> tuple[Any, dict[str, Any]]:
    """A graph and the config of a thread with DEEP_THREAD checkpoints (built once)."""
    saver = _saver(kind, fast_setup=True)
    # The frameworks take a different number of checkpoints around a loop: measure the
    # overhead on a 3-step run, then size the loop to land on DEEP_THREAD exactly.
    probe = {"configurable": {"thread_id": "probe"}}
    loop_graph(kind, saver, 3).invoke({"x": 0}, probe, durability="sync")
    overhead = sum(1 for _ in saver.list(probe)) - 3
    steps = DEEP_THREAD - overhead
    graph = loop_graph(kind, saver, steps)
    config = {"configurable": {"thread_id": "deep"}, "recursion_limit": steps + 10}
    graph.invoke({"x": 0}, config, durability="sync")
    return graph, {"configurable": {"thread_id": "deep"}}


def get_state(kind: str) -> Callable[[], object]:
    """``get_state`` of a thread with 10,000 checkpoints."""
    graph, config = _deep_thread(kind)
    return lambda: graph.get_state(config)


def history(kind: str) -> Callable[[], object]:
    """``get_state_history(limit=10)`` of a thread with 10,000 checkpoints."""
    graph, config = _deep_thread(kind)
    return lambda: list(graph.get_state_history(config, limit=10))


def deep_thread_size(quick: bool) -> dict[str, tuple[float, float | None]]:
    """How many checkpoints the deep thread really has (checks the setup)."""
    counts = []
    for kind in ("graphkit", "langgraph"):
        graph, config = _deep_thread(kind)
        counts.append(float(sum(1 for _ in graph.checkpointer.list(config))))
    return {"checkpoints in the thread": (counts[0], counts[1])}


def checkpoint_cpu(quick: bool) -> dict[str, tuple[float, float | None]]:
    """CPU per step that checkpointing adds, without disk syncs: the 1000-step loop with
    a no-sync saver (LMDB ``sync=False``; SQLite ``synchronous=OFF``) minus the same loop
    without a checkpointer, in process CPU time (min of several runs)."""
    import time

    found: dict[str, float] = {}
    for kind in ("graphkit", "langgraph"):
        costs = []
        for saver in (None, _saver(kind, fast_setup=True)):
            graph = loop_graph(kind, saver)
            run = _run(graph, {"x": 0}, LOOP_STEPS + 10)
            if saver is None:
                config = {"recursion_limit": LOOP_STEPS + 10}
                run = functools.partial(graph.invoke, {"x": 0}, config)
            run()
            best = float("inf")
            for _ in range(3 if quick else 7):
                start = time.process_time()
                run()
                best = min(best, time.process_time() - start)
            costs.append(best)
        found[kind] = (costs[1] - costs[0]) / LOOP_STEPS * 1e6
    return {"checkpoint CPU us/step (no fsync)": (found["graphkit"], found["langgraph"])}


WORKLOADS = [
    Workload(
        "ckpt_loop_nosync",
        f"{LOOP_STEPS}-step loop, no disk sync: LMDBSaver(sync=False) vs SqliteSaver "
        "(synchronous=OFF), durability='sync'",
        lambda: loop("graphkit", saver=_saver("graphkit", fast_setup=True)),
        lambda: loop("langgraph", saver=_saver("langgraph", fast_setup=True)),
        units=LOOP_STEPS,
        unit="step",
        repeat=5,
        metrics=checkpoint_cpu,
    ),
    Workload(
        "ckpt_chain",
        f"{CHAIN_LENGTH}-node chain, LMDBSaver vs SqliteSaver (sync)",
        lambda: chain("graphkit"),
        lambda: chain("langgraph"),
        units=CHAIN_LENGTH,
        unit="step",
        repeat=5,
    ),
    Workload(
        "ckpt_loop",
        f"{LOOP_STEPS}-step loop, LMDBSaver vs SqliteSaver (sync)",
        lambda: loop("graphkit"),
        lambda: loop("langgraph"),
        units=LOOP_STEPS,
        unit="step",
        repeat=3,
    ),
    Workload(
        "ckpt_chain_vs_lmdb",
        f"{CHAIN_LENGTH}-node chain, LMDBSaver vs LangGraph + langgraph-checkpoint-lmdb (sync)",
        lambda: chain("graphkit"),
        lambda: chain("langgraph", saver=_langgraph_lmdb_saver()),
        units=CHAIN_LENGTH,
        unit="step",
        repeat=5,
    ),
    Workload(
        "ckpt_loop_vs_lmdb",
        f"{LOOP_STEPS}-step loop, LMDBSaver vs LangGraph + langgraph-checkpoint-lmdb (sync)",
        lambda: loop("graphkit"),
        lambda: loop("langgraph", saver=_langgraph_lmdb_saver()),
        units=LOOP_STEPS,
        unit="step",
        repeat=3,
    ),
    Workload(
        "ckpt_chain_async",
        f"{CHAIN_LENGTH}-node chain, durability='async' (LangGraph's default) on both sides",
        lambda: chain("graphkit", "async"),
        lambda: chain("langgraph", "async"),
        units=CHAIN_LENGTH,
        unit="step",
        repeat=5,
    ),
    Workload(
        "ckpt_loop_async",
        f"{LOOP_STEPS}-step loop, durability='async' (LangGraph's default) on both sides",
        lambda: loop("graphkit", "async"),
        lambda: loop("langgraph", "async"),
        units=LOOP_STEPS,
        unit="step",
        repeat=3,
    ),
    Workload(
        "ckpt_wide",
        f"{WIDE_KEYS}-key state, {WIDE_STEPS} steps x 3 keys, LMDBSaver vs SqliteSaver (sync)",
        lambda: wide("graphkit"),
        lambda: wide("langgraph"),
        units=WIDE_STEPS,
        unit="step",
        repeat=5,
        metrics=wide_bytes,
    ),
    Workload(
        "ckpt_get_state_10k",
        f"get_state on a thread of {DEEP_THREAD:,} checkpoints",
        lambda: get_state("graphkit"),
        lambda: get_state("langgraph"),
        repeat=15,
        metrics=deep_thread_size,
    ),
    Workload(
        "ckpt_history_10k",
        f"get_state_history(limit=10) on a thread of {DEEP_THREAD:,} checkpoints",
        lambda: history("graphkit"),
        lambda: history("langgraph"),
        repeat=15,
    ),
]
