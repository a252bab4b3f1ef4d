"""The superstep loop's bookkeeping (graphkit.engine.loop): what a run leaves behind."""

from __future__ import annotations

import asyncio
import gc
import operator
from collections.abc import Callable, Iterator
from typing import Annotated, Any, TypedDict

import pytest

from graphkit import END, START, Send, StateGraph
from graphkit.checkpoint.memory import InMemorySaver
from graphkit.context import CURRENT_TASK, TaskContext
from graphkit.managed import remaining_steps


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


def test_remaining_steps_are_counted_while_the_run_lasts_and_zero_after() -> None:
    kept: list[TaskContext] = []

    def node(state: State) -> dict[str, Any]:
        task = CURRENT_TASK.get()
        assert task is not None
        kept.append(task)
        return {"x": remaining_steps()}

    builder = StateGraph(State)
    builder.add_node("n", node)
    builder.add_edge(START, "n")
    builder.add_edge("n", END)
    out = builder.compile().invoke({"x": 0}, {"recursion_limit": 7})
    assert out["x"] == 6  # the input took one step
    # a context kept past its run reads a finished run: no steps left, no state
    steps_left, read_state = kept[0].run.steps_left, kept[0].run.read_state
    assert steps_left is not None and read_state is not None
    assert steps_left() == 0
    assert read_state() == {}
