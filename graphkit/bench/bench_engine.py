"""Engine workloads without a checkpointer: per-step overhead of the superstep loop."""

from __future__ import annotations

import itertools
import operator
from collections.abc import Callable
from typing import Annotated, Any, TypedDict

from graphkit.bench.harness import Workload

CHAIN_LENGTH = 100
LOOP_STEPS = 1000
FANOUT = 100
WIDE_KEYS = 500
WIDE_STEPS = 50


class ChainState(TypedDict):
    x: int


class FanState(TypedDict):
    items: list[int]
    results: Annotated[list[int], operator.add]


WideState = TypedDict(  # type: ignore[misc]
    "WideState", {f"k{i}": int for i in range(WIDE_KEYS)} | {"step": int}
)


def _step(state: ChainState) -> dict[str, int]:
    return {"x": state["x"] + 1}


def _double(item: int) -> dict[str, list[int]]:
    return {"results": [item * 2]}


def _wide_update(state: dict[str, int]) -> dict[str, int]:
    step = state["step"]
    return {"step": step + 1, f"k{step % WIDE_KEYS}": step, f"k{(step * 7) % WIDE_KEYS}": step}


def _api(kind: str) -> tuple[Any, Any, Any, Any]:
    if kind == "graphkit":
        from graphkit import END, START, Send, StateGraph
    else:
        from langgraph.graph import END, START, StateGraph  # type: ignore[assignment]
        from langgraph.types import Send  # type: ignore[assignment]
    return StateGraph, START, END, Send


WIDE_START = {f"k{i}": 0 for i in range(WIDE_KEYS)} | {"step": 0}
"""The wide graph's input: every key 0."""


# -------------------------------------------------- graphs (shared with bench_checkpoint_graph)
def chain_graph(
    kind: str,
    checkpointer: Any = None,
    *,
    length: int = CHAIN_LENGTH,
    node: Callable[..., Any] | None = None,
) -> Any:
    """``length`` nodes in a row (100 by default), each adding one to ``x`` (``node``:
    the function each runs, ``_step`` by default)."""
    StateGraph, START, END, _ = _api(kind)
    builder = StateGraph(ChainState)
    names = [f"n{i}" for i in range(length)]
    for name in names:
        builder.add_node(name, node or _step)
    builder.add_edge(START, names[0])
    for a, b in itertools.pairwise(names):
        builder.add_edge(a, b)
    builder.add_edge(names[-1], END)
    return builder.compile(checkpointer=checkpointer)


def loop_graph(kind: str, checkpointer: Any = None, steps: int = LOOP_STEPS) -> Any:
    """One node adding one to ``x``, looping through a conditional edge until ``x == steps``."""
    return _self_loop(kind, ChainState, "inc", _step, "x", steps, checkpointer)


def wide_graph(kind: str, checkpointer: Any = None) -> Any:
    """The 500-key state: one node updating three keys per step, for WIDE_STEPS steps."""
    return _self_loop(kind, WideState, "update", _wide_update, "step", WIDE_STEPS, checkpointer)


def _self_loop(
    kind: str,
    schema: Any,
    name: str,
    node: Callable[..., Any],
    counter: str,
    steps: int,
    checkpointer: Any,
) -> Any:
    """A graph of one node that runs again while ``state[counter] < steps``."""
    StateGraph, START, END, _ = _api(kind)
    builder = StateGraph(schema)
    builder.add_node(name, node)
    builder.add_edge(START, name)
    builder.add_conditional_edges(name, lambda s: name if s[counter] < steps else END)
    return builder.compile(checkpointer=checkpointer)


# ------------------------------------------------------------- workloads
def chain(kind: str) -> Callable[[], object]:
    """100 nodes in a row, each adding one."""
    graph = chain_graph(kind)
    return lambda: graph.invoke({"x": 0})


def loop(kind: str) -> Callable[[], object]:
    """One node looping through a conditional edge 1000 times."""
    graph = loop_graph(kind)
    config = {"recursion_limit": LOOP_STEPS + 10}
    return lambda: graph.invoke({"x": 0}, config)


def fanout(kind: str, width: int = FANOUT, *, streamed: bool = False) -> Callable[[], object]:
    """``width`` Sends in one step, joined with a list reducer (``streamed``: each task's
    update streamed as it finishes, which runs the step live)."""
    StateGraph, START, END, Send = _api(kind)
    builder = StateGraph(FanState)
    builder.add_node("work", _double)
    builder.add_conditional_edges(START, lambda s: [Send("work", i) for i in s["items"]])
    builder.add_edge("work", END)
    graph = builder.compile()
    items = list(range(width))
    if streamed:
        return lambda: list(graph.stream({"items": items}, stream_mode="updates"))
    return lambda: graph.invoke({"items": items})


def wide(kind: str) -> Callable[[], object]:
    """500-key state, 50 steps, each updating three keys."""
    graph = wide_graph(kind)
    return lambda: graph.invoke(WIDE_START)


def get_state_wide(kind: str) -> Callable[[], object]:
    """``get_state`` of a thread of the 500-key state after one run (in-memory saver):
    a read of hundreds of small channels."""
    if kind == "langgraph":
        from langgraph.checkpoint.memory import InMemorySaver
    else:
        from graphkit.checkpoint.memory import InMemorySaver  # type: ignore[assignment]
    graph = wide_graph(kind, InMemorySaver())
    config = {"configurable": {"thread_id": "wide"}}
    graph.invoke(WIDE_START, config)
    return lambda: graph.get_state(config)


WORKLOADS = [
    Workload(
        "chain",
        f"{CHAIN_LENGTH}-node sequential chain",
        lambda: chain("graphkit"),
        lambda: chain("langgraph"),
        units=CHAIN_LENGTH,
        unit="step",
    ),
    Workload(
        "loop",
        f"{LOOP_STEPS}-step counting loop via a conditional edge",
        lambda: loop("graphkit"),
        lambda: loop("langgraph"),
        units=LOOP_STEPS,
        unit="step",
    ),
    Workload(
        "fanout",
        f"{FANOUT}-way Send fan-out joined by a list reducer",
        lambda: fanout("graphkit"),
        lambda: fanout("langgraph"),
        units=FANOUT,
        unit="task",
    ),
    Workload(
        "fanout_10",
        "10-way Send fan-out joined by a list reducer (small fan-outs: thread hand-off)",
        lambda: fanout("graphkit", 10),
        lambda: fanout("langgraph", 10),
        units=10,
        unit="task",
    ),
    Workload(
        "fanout_10_stream",
        "10-way Send fan-out, stream_mode='updates' (each update as its task finishes)",
        lambda: fanout("graphkit", 10, streamed=True),
        lambda: fanout("langgraph", 10, streamed=True),
        units=10,
        unit="task",
    ),
    Workload(
        "wide",
        f"{WIDE_KEYS}-key state, {WIDE_STEPS} steps updating 3 keys",
        lambda: wide("graphkit"),
        lambda: wide("langgraph"),
        units=WIDE_STEPS,
        unit="step",
    ),
    Workload(
        "get_state_wide",
        f"get_state of a {WIDE_KEYS}-key state's thread (in-memory saver)",
        lambda: get_state_wide("graphkit"),
        lambda: get_state_wide("langgraph"),
        unit="call",
    ),
]
