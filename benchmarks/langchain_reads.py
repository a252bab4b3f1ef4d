"""Reads of a saved thread by code that speaks LangChain's messages: best of N calls.

The ``lc_*`` workloads of ``graphkit bench`` report medians beside LangGraph; this
script takes the best of ``N`` calls of graphkit alone, on the same thread
(``bench_history._thread``: a one-node chat graph whose node returns ``langchain_core``
messages, an in-memory saver, ``n`` messages, the last 10 of them from 5 turns), so
that an older checkout runs it too (``PYTHONPATH``; before session 13 that node counted
as graphkit's own and read graphkit's messages: a turn's one view was then built for
its output instead). Process CPU, collector paused:

    python benchmarks/langchain_reads.py 10000 5     # n, N
    PYTHONPATH=/path/to/other/checkout python benchmarks/langchain_reads.py 10000 5
"""

from __future__ import annotations

import gc
import itertools
import sys
import time
from collections.abc import Callable

from langchain_core.messages import HumanMessage

from graphkit.bench.bench_history import _thread


def _best(work: Callable[[], object], calls: int) -> float:
    """Best process CPU time of ``work()`` over ``calls``, in milliseconds."""
    best = float("inf")
    for _ in range(calls):
        start = time.process_time()
        work()
        best = min(best, time.process_time() - start)
    return best * 1e3


def main() -> None:
    n, calls = int(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 7
    graph, config, _ = _thread(n, False, False, True)
    turns = itertools.count()

    def history() -> object:
        return list(graph.get_state_history(config, limit=10))

    def turn() -> object:
        message = HumanMessage(content="next", id=f"t{next(turns)}")
        return graph.invoke({"messages": [message]}, config)

    history()
    gc.disable()
    for name, work in (
        ("history10", history),
        ("get_state", lambda: graph.get_state(config)),
        ("turn", turn),
    ):
        print(f"{name}_{n}: {_best(work, calls):.3f} ms", end="  ")
    print()


if __name__ == "__main__":
    main()
