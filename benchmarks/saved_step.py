"""A step inside a checkpointed run, on a long thread: its cost beyond the run's start.

A chat turn (``chat_turn_N``) is one step per ``invoke``: it pays for loading the
thread and handing the caller its state, both O(history). An agent loop takes many
steps per ``invoke``; what each of them costs is ``(T(1 + k steps) - T(1 step)) / k``,
measured here with each side's in-memory checkpointer on a thread of ``n`` messages.
Every run forks from the same checkpoint, so the history does not grow between runs.
Process CPU, best of 15 runs each of 1 and of 1 + STEPS steps (alternated in three
rounds), collector paused:

    python benchmarks/saved_step.py 10000        # graphkit
    python benchmarks/saved_step.py 10000 lg     # LangGraph, the same graph
"""

from __future__ import annotations

import gc
import itertools
import sys
import time
from typing import Any

STEPS = 100
"""Steps the long run takes beyond the short one."""


def _graph(lang: bool, counter: itertools.count[int], limit: list[int]) -> Any:
    if lang:
        from langchain_core.messages import AIMessage
        from langgraph.checkpoint.memory import InMemorySaver
        from langgraph.graph import END, MessagesState, StateGraph
    else:
        from graphkit import END, AIMessage, MessagesState, StateGraph  # type: ignore[assignment]
        from graphkit.checkpoint.memory import InMemorySaver  # type: ignore[assignment]

    def speak(state: Any) -> dict[str, Any]:
        return {"messages": [AIMessage(content="ok", id=f"a{next(counter)}")]}

    def again(state: Any) -> str:
        return "speak" if len(state["messages"]) < limit[0] else END

    builder = StateGraph(MessagesState)
    builder.add_node("speak", speak)
    builder.set_entry_point("speak")
    builder.add_conditional_edges("speak", again, ["speak", END])
    return builder.compile(checkpointer=InMemorySaver())


def main(argv: list[str]) -> None:
    """``argv``: history length, then ``lg`` to measure LangGraph."""
    size, lang = int(argv[0]), argv[1:2] == ["lg"]
    if lang:
        from langchain_core.messages import HumanMessage
    else:
        from graphkit import HumanMessage  # type: ignore[assignment]
    counter, limit = itertools.count(), [size]
    graph = _graph(lang, counter, limit)
    thread = {"configurable": {"thread_id": "long"}}
    history = [HumanMessage(content=f"message {i}", id=f"h{i}") for i in range(size - 1)]
    graph.invoke({"messages": history}, thread)
    start = graph.get_state(thread).config

    def run(steps: int) -> None:
        limit[0] = size + 1 + steps  # the question, then one answer per step
        question = HumanMessage(content="next", id=f"q{next(counter)}")
        out = graph.invoke({"messages": [question]}, {**start, "recursion_limit": 1000})
        assert len(out["messages"]) == limit[0]

    gc.disable()
    best = {1: float("inf"), 1 + STEPS: float("inf")}
    for _ in range(3):
        for steps in best:
            for _ in range(5):
                before = time.process_time()
                run(steps)
                best[steps] = min(best[steps], time.process_time() - before)
    step = (best[1 + STEPS] - best[1]) / STEPS
    side = "langgraph" if lang else "graphkit"
    print(
        f"{side} {size}: one-step run {best[1] * 1e3:.2f} ms, each further step {step * 1e6:.0f} us"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
