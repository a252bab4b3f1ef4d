"""Compile cost as the graph grows: a chain of 100, 1,000 and 10,000 nodes.

One timed run builds nothing: the builder is made in setup, and the run is
``compile()`` alone (validation, the networkx graph, the runtime tables). A flat
per-node time across sizes means compile is linear in node count.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypedDict

from graphkit.bench.harness import Workload

SIZES = (100, 1_000, 10_000)


class State(TypedDict):
    x: int


def _step(state: State) -> dict[str, Any]:
    return {"x": state["x"] + 1}


def _builder(n: int, lang: bool) -> Any:
    if lang:
        from langgraph.graph import END, START, StateGraph
    else:
        from graphkit import END, START, StateGraph  # type: ignore[assignment]
    builder = StateGraph(State)
    for i in range(n):
        builder.add_node(f"n{i}", _step)
    builder.add_edge(START, "n0")
    for i in range(n - 1):
        builder.add_edge(f"n{i}", f"n{i + 1}")
    builder.add_edge(f"n{n - 1}", END)
    return builder


def _compile(n: int, *, lang: bool) -> Callable[[], object]:
    builder = _builder(n, lang)
    return builder.compile


WORKLOADS = [
    Workload(
        name=f"compile_{n}",
        description=f"compile() of a {n}-node chain",
        graphkit=lambda n=n: _compile(n, lang=False),  # type: ignore[misc]
        langgraph=lambda n=n: _compile(n, lang=True),  # type: ignore[misc]
        units=n,
        unit="node",
        repeat=5 if n < 10_000 else 3,
    )
    for n in SIZES
]
