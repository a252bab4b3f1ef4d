"""An async run shares the event loop: other coroutines run between its supersteps."""

from __future__ import annotations

import asyncio
from typing import TypedDict

from graphkit import END, START, StateGraph
from graphkit.checkpoint.memory import InMemorySaver


class Count(TypedDict):
    n: int


def spin_graph(steps: int) -> StateGraph[Count]:
    builder = StateGraph(Count)
    builder.add_node("inc", lambda s: {"n": s["n"] + 1})
    builder.add_edge(START, "inc")
    builder.add_conditional_edges("inc", lambda s: "inc" if s["n"] < steps else END, ["inc", END])
    return builder


async def test_other_coroutines_run_during_a_long_ainvoke() -> None:
    steps = 200
    graph = spin_graph(steps).compile(checkpointer=InMemorySaver())
    ticks = 0
    done = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    out = await graph.ainvoke(
        {"n": 0}, {"configurable": {"thread_id": "t"}, "recursion_limit": 500}
    )
    done.set()
    await task
    assert out == {"n": steps}
    assert ticks >= steps  # at least one turn of the other coroutine per superstep


async def test_concurrent_ainvokes_interleave_their_steps() -> None:
    graph = spin_graph(50).compile()
    order: list[str] = []

    def traced(name: str) -> StateGraph[Count]:
        builder = StateGraph(Count)

        def inc(state: Count) -> Count:
            order.append(name)
            return {"n": state["n"] + 1}

        builder.add_node("inc", inc)
        builder.add_edge(START, "inc")
        builder.add_conditional_edges("inc", lambda s: "inc" if s["n"] < 50 else END, ["inc", END])
        return builder

    a, b = traced("a").compile(), traced("b").compile()
    await asyncio.gather(a.ainvoke({"n": 0}), b.ainvoke({"n": 0}), graph.ainvoke({"n": 0}))
    first_b = order.index("b")
    assert first_b < order.count("a")  # b started before a finished: they took turns
