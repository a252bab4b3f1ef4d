"""Async conditional edges from START in async runs: awaited on the caller's event loop."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, TypedDict

import pytest

from graphkit import END, START, StateGraph
from graphkit.checkpoint.lmdb import LMDBSaver
from graphkit.checkpoint.memory import InMemorySaver
from graphkit.errors import InvalidCallError


class State(TypedDict):
    x: int
    route: str


def _graph(route: Any, **compile_options: Any) -> Any:
    builder = StateGraph(State)
    builder.add_node("a", lambda s: {"x": s["x"] + 1})
    builder.add_node("b", lambda s: {"x": s["x"] * 10})
    builder.add_conditional_edges(START, route, ["a", "b"])
    builder.add_edge("a", END)
    builder.add_edge("b", END)
    return builder.compile(**compile_options)


async def test_an_async_router_from_start_is_awaited_on_the_callers_loop() -> None:
    """The router may await what the caller's loop owns (a future made on it)."""
    loop = asyncio.get_running_loop()
    seen: list[asyncio.AbstractEventLoop] = []

    async def route(state: State) -> str:
        seen.append(asyncio.get_running_loop())
        answer: asyncio.Future[str] = loop.create_future()
        loop.call_soon(answer.set_result, state["route"])
        return await answer

    graph = _graph(route)
    assert await graph.ainvoke({"x": 1, "route": "a"}) == {"x": 2, "route": "a"}
    assert await graph.ainvoke({"x": 1, "route": "b"}) == {"x": 10, "route": "b"}
    chunks = [c async for c in graph.astream({"x": 1, "route": "b"}, stream_mode="updates")]
    assert chunks == [{"b": {"x": 10}}]
    assert seen == [loop, loop, loop]


@pytest.mark.parametrize("durability", ["sync", "async", "exit"])
async def test_an_async_router_from_start_with_a_saver(tmp_path: Path, durability: str) -> None:
    async def route(state: State) -> str:
        await asyncio.sleep(0)
        return state["route"]

    config = {"configurable": {"thread_id": "t"}}
    with LMDBSaver(tmp_path / "db") as saver:
        graph = _graph(route, checkpointer=saver)
        out = await graph.ainvoke({"x": 1, "route": "a"}, config, durability=durability)
        assert out == {"x": 2, "route": "a"}
        out = await graph.ainvoke({"x": 5, "route": "b"}, config, durability=durability)
        assert out == {"x": 50, "route": "b"}
        history = [s.metadata["step"] async for s in graph.aget_state_history(config)]
    assert history[0] > 0 and (await _reopened(tmp_path, route, config)) == {"x": 50, "route": "b"}


async def _reopened(path: Path, route: Any, config: dict[str, Any]) -> Any:
    with LMDBSaver(path / "db") as saver:
        return (await _graph(route, checkpointer=saver).aget_state(config)).values


async def test_an_async_router_from_start_that_raises_fails_the_run() -> None:
    async def route(state: State) -> str:
        raise LookupError("no route for this one")

    with pytest.raises(LookupError, match="no route"):
        await _graph(route, checkpointer=InMemorySaver()).ainvoke(
            {"x": 1, "route": "a"}, {"configurable": {"thread_id": "t"}}
        )


def test_a_sync_run_of_a_graph_routing_async_says_to_use_ainvoke() -> None:
    async def route(state: State) -> str:
        return "a"

    with pytest.raises(InvalidCallError, match="ainvoke"):
        _graph(route).invoke({"x": 1, "route": "a"})
