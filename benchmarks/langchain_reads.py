"""Reads of a saved thread by code that speaks LangChain's messages: best of N calls.

The ``lc_*`` workloads of ``graphkit bench`` report medians beside LangGraph; this
script takes the best of ``N`` calls of graphkit alone, with only public API, so that
a checkout from before a change runs it too (``PYTHONPATH``). A one-node chat graph
written for LangGraph (its node returns ``langchain_core`` messages) and an in-memory
saver; a thread of ``n`` messages, the last 10 of them from 5 turns. Process CPU,
collector paused:

    python benchmarks/langchain_reads.py 10000 5     # n, N
    PYTHONPATH=/path/to/other/checkout python benchmarks/langchain_reads.py 10000 5
"""

from __future__ import annotations

import gc
import itertools
import sys
import time
from collections.abc import Callable
from typing import Any

from langchain_core.messages import AIMessage, HumanMessage

from graphkit import END, START, MessagesState, StateGraph
from graphkit.checkpoint.memory import InMemorySaver


def _thread(n: int) -> tuple[Any, dict[str, Any]]:
    counter = itertools.count()

    def reply(state: Any) -> dict[str, Any]:
        return {"messages": [AIMessage(content="ok", id=f"a{next(counter)}")]}

    builder = StateGraph(MessagesState)
    builder.add_node("reply", reply)
    builder.add_edge(START, "reply")
    builder.add_edge("reply", END)
    graph: Any = builder.compile(checkpointer=InMemorySaver())
    config: Any = {"configurable": {"thread_id": "long"}}
    history = [HumanMessage(content=f"message {i}", id=f"h{i}") for i in range(max(n - 10, 0))]
    graph.invoke({"messages": history}, config)
    for turn in range(5):
        graph.invoke({"messages": [HumanMessage(content="more", id=f"m{turn}")]}, config)
    return graph, config


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
    graph, config = _thread(n)
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
