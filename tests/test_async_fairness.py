"""An async run shares the event loop: other coroutines run between its supersteps."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any, TypedDict

import pytest

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


class DiskLikeSaver(InMemorySaver):
    """An in-memory saver whose ``put`` behaves like a disk sync: it blocks its thread.

    Each put waits until the ticker coroutine has made progress (up to a generous
    guard), and records whether it did: that is only possible when the put runs off
    the event loop's thread.
    """

    waits_on_io = True

    def __init__(self, ticks: list[int]) -> None:
        super().__init__()
        self.ticks = ticks
        self.loop_moved: list[bool] = []
        self.threads: set[int] = set()

    def put(self, *args: Any, **kwargs: Any) -> Any:
        self.threads.add(threading.get_ident())
        start = self.ticks[0]
        guard = time.monotonic() + (5 if all(self.loop_moved) else 0)  # fail fast
        while self.ticks[0] == start and time.monotonic() < guard:
            time.sleep(0.0005)
        self.loop_moved.append(self.ticks[0] > start)
        return super().put(*args, **kwargs)


@pytest.mark.parametrize("durability", ["sync", "async"])
async def test_durable_saves_leave_the_event_loop_to_other_coroutines(durability: str) -> None:
    ticks = [0]
    saver = DiskLikeSaver(ticks)
    graph = spin_graph(20).compile(checkpointer=saver)
    done = asyncio.Event()

    async def ticker() -> None:
        while not done.is_set():
            ticks[0] += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    config: Any = {"configurable": {"thread_id": "t"}, "durability": durability}
    out = await graph.ainvoke({"n": 0}, config)
    done.set()
    await task
    assert out == {"n": 20}
    assert threading.get_ident() not in saver.threads  # no save ran on the loop's thread
    assert saver.loop_moved and all(saver.loop_moved)  # the ticker ran during every save
    history = [s async for s in graph.aget_state_history(config)]
    assert len(history) == 22  # input, START's step, 20 steps: all saved on return
    assert history[-1].values == {} and history[-1].next == ("__start__",)
    assert [s.values["n"] for s in history[:-1]] == list(range(20, -1, -1))
