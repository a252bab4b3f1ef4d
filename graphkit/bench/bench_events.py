"""Tracing workloads: ``astream_events`` and LangChain callback handlers on a short chain."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from graphkit.bench.bench_engine import ChainState, _step, chain_graph
from graphkit.bench.harness import Workload

EVENTS_CHAIN = 10


async def _astep(state: ChainState) -> dict[str, int]:
    return {"x": state["x"] + 1}


def _chain(kind: str, node: Callable[..., Any]) -> Any:
    """``EVENTS_CHAIN`` nodes in a row, each adding one to ``x``."""
    return chain_graph(kind, length=EVENTS_CHAIN, node=node)


def astream_events(kind: str) -> Callable[[], object]:
    """An async 10-node chain's ``astream_events`` (v2), every event consumed."""
    graph = _chain(kind, _astep)

    async def consume() -> int:
        return len([e async for e in graph.astream_events({"x": 0}, version="v2")])

    return lambda: asyncio.run(consume())


def callbacks(kind: str) -> Callable[[], object]:
    """A 10-node chain's ``invoke`` with a LangChain callback handler that records
    each run's start and end."""
    from langchain_core.callbacks import BaseCallbackHandler

    class Counting(BaseCallbackHandler):
        def __init__(self) -> None:
            self.calls = 0

        def on_chain_start(self, *args: Any, **kwargs: Any) -> None:
            self.calls += 1

        def on_chain_end(self, *args: Any, **kwargs: Any) -> None:
            self.calls += 1

    graph = _chain(kind, _step)
    handler = Counting()
    config = {"callbacks": [handler]}
    return lambda: graph.invoke({"x": 0}, config)


WORKLOADS = [
    Workload(
        "astream_events",
        f"astream_events of a {EVENTS_CHAIN}-node async chain, every event consumed",
        lambda: astream_events("graphkit"),
        lambda: astream_events("langgraph"),
        units=EVENTS_CHAIN,
        unit="step",
    ),
    Workload(
        "callbacks",
        f"invoke of a {EVENTS_CHAIN}-node chain with a LangChain callback handler",
        lambda: callbacks("graphkit"),
        lambda: callbacks("langgraph"),
        units=EVENTS_CHAIN,
        unit="step",
    ),
]
