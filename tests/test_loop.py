"""The superstep loop's bookkeeping (graphkit.engine.loop): what a run leaves behind."""

from __future__ import annotations

import asyncio
import contextvars
import gc
import operator
from collections.abc import Callable, Iterator
from typing import Annotated, Any, TypedDict

import pytest

from graphkit import END, START, Send, StateGraph
from graphkit.checkpoint.memory import InMemorySaver
from graphkit.context import CURRENT_TASK


class State(TypedDict):
    x: int
    results: Annotated[list[int], operator.add]


def _fan_out(*, saver: Any = None, subgraph: bool = False) -> Any:
    """START -> a -> three Sends to w; ``a`` is a compiled subgraph when asked."""
    builder = StateGraph(State)
    if subgraph:
        inner = StateGraph(State)
        inner.add_node("i", lambda s: {"results": [100]})
        inner.add_edge(START, "i")
        inner.add_edge("i", END)
        builder.add_node("a", inner.compile())
    else:
        builder.add_node("a", lambda s: {"x": s["x"] + 1})
    builder.add_node("w", lambda v: {"results": [v]})
    builder.add_edge(START, "a")
    builder.add_conditional_edges("a", lambda s: [Send("w", i) for i in range(3)])
    builder.add_edge("w", END)
    return builder.compile(checkpointer=saver)


CALLS: dict[str, Callable[[Any, dict[str, Any]], object]] = {
    "invoke": lambda g, cfg: g.invoke({"x": 1}, cfg),
    "stream": lambda g, cfg: list(g.stream({"x": 1}, cfg, stream_mode=["updates", "values"])),
    "ainvoke": lambda g, cfg: asyncio.run(g.ainvoke({"x": 1}, cfg)),
}


@pytest.fixture
def no_gc() -> Iterator[None]:
    """The collector off: what a run frees, it frees by reference counting alone."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


@pytest.mark.parametrize("call", sorted(CALLS))
@pytest.mark.parametrize("kind", ["plain", "checkpointer", "subgraph"])
def test_a_run_leaves_no_reference_cycle_for_the_collector(
    kind: str, call: str, no_gc: None
) -> None:
    # A cycle per run (the run's context holding the run) makes every invoke garbage
    # that only a collection frees: a fan-out of quick tasks then collects every few
    # runs, and with the collector paused memory grows by each run's whole state.
    saver = InMemorySaver() if kind == "checkpointer" else None
    graph = _fan_out(saver=saver, subgraph=kind == "subgraph")
    config = {"configurable": {"thread_id": "t"}} if saver is not None else {}
    for _ in range(3):  # warm: first-use caches are not the run's garbage
        CALLS[call](graph, config)
    gc.collect()
    out = CALLS[call](graph, config)
    assert out  # the run did run
    assert gc.collect() == 0


def test_send_task_ids_and_paths_are_the_spelled_ones_inside_and_past_the_kept_table() -> None:
    from graphkit.engine.frontier import (
        KEPT_SENDS,
        KEPT_STEPS,
        push_paths,
        push_task_id,
        push_task_ids,
    )

    for step, count in [(0, 1), (1, 10), (1, 3), (1, 25), (KEPT_STEPS - 1, 5)]:
        ids = push_task_ids(step, count)
        assert len(ids) >= count
        assert list(ids[:count]) == [push_task_id(step, i) for i in range(count)]
        assert ids[count - 1] == f"{step}:~{count - 1}"
    for step, count in [(KEPT_STEPS, 3), (2, KEPT_SENDS + 1)]:  # past the table: made anew
        assert list(push_task_ids(step, count)) == [push_task_id(step, i) for i in range(count)]
    for count in (1, 10, KEPT_SENDS, KEPT_SENDS + 2):
        assert list(push_paths(count)[:count]) == [("push", i) for i in range(count)]


def test_send_task_ids_planned_from_many_threads_at_once_are_right() -> None:
    from concurrent.futures import ThreadPoolExecutor

    from graphkit.engine.frontier import push_task_id, push_task_ids

    def grow(count: int) -> bool:
        ids = push_task_ids(7, count)
        return list(ids[:count]) == [push_task_id(7, i) for i in range(count)]

    with ThreadPoolExecutor(8) as pool:
        assert all(pool.map(grow, [1 + (i * 37) % 500 for i in range(400)]))


CALLER_VAR: contextvars.ContextVar[str] = contextvars.ContextVar("CALLER_VAR", default="unset")


@pytest.mark.parametrize("streamed", [False, True])
def test_a_fan_outs_tasks_see_the_callers_context_and_do_not_change_it(streamed: bool) -> None:
    # As in LangGraph, a context variable a task sets stays out of the caller's context
    # (a step's tasks run in a copy of it).
    def work(i: int) -> dict[str, Any]:
        seen = CALLER_VAR.get()
        CALLER_VAR.set(f"task {i}")
        return {"results": [0 if seen == "caller" else 1]}

    builder = StateGraph(State)
    builder.add_node("w", work)
    builder.add_conditional_edges(START, lambda s: [Send("w", i) for i in range(4)])
    builder.add_edge("w", END)
    graph = builder.compile()
    token = CALLER_VAR.set("caller")
    try:
        if streamed:
            chunks = list(graph.stream({"x": 0}, stream_mode="updates"))
            assert len(chunks) == 4
        else:
            assert graph.invoke({"x": 0})["results"][0] == 0  # the first saw the caller's
        assert CALLER_VAR.get() == "caller"
        assert CURRENT_TASK.get() is None
    finally:
        CALLER_VAR.reset(token)
