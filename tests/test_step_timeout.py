"""``graph.step_timeout``: a step that runs past it stops the run with
``StepTimeoutError`` (a ``TimeoutError``, also asyncio's), on every driver."""

from __future__ import annotations

import asyncio
import operator
import threading
from typing import Annotated, Any, TypedDict

import pytest

from graphkit import StepTimeoutError
from graphkit.checkpoint.memory import InMemorySaver
from graphkit.errors import ConfigError
from graphkit.graph import END, START, StateGraph
from graphkit.types import Command


class State(TypedDict, total=False):
    log: Annotated[list[str], operator.add]


def _parallel(slow: Any, fast: Any, checkpointer: Any = None) -> Any:
    builder = StateGraph(State)
    builder.add_node("slow", slow)
    builder.add_node("fast", fast)
    builder.add_edge(START, "slow")
    builder.add_edge(START, "fast")
    return builder.compile(checkpointer=checkpointer)


def test_async_stream_stops_at_the_limit_cancels_the_slow_task_and_keeps_what_streamed() -> None:
    cancelled = asyncio.Event()

    async def slow(state: State) -> State:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return {"log": ["slow"]}

    async def fast(state: State) -> State:
        return {"log": ["fast"]}

    graph = _parallel(slow, fast)
    graph.step_timeout = 0.3

    async def main() -> list[Any]:
        chunks: list[Any] = []
        with pytest.raises(asyncio.TimeoutError) as caught:
            async for chunk in graph.astream({"log": []}, stream_mode="updates"):
                chunks.append(chunk)
                await asyncio.sleep(0.5)  # a consumer slower than the limit changes nothing
        assert isinstance(caught.value, StepTimeoutError)
        assert isinstance(caught.value, TimeoutError)
        assert caught.value.running == ["slow"] and caught.value.timeout == 0.3
        assert "step_timeout of 0.3s" in str(caught.value) and "'slow'" in str(caught.value)
        assert cancelled.is_set()
        return chunks

    assert asyncio.run(main()) == [{"fast": {"log": ["fast"]}}]


def test_ainvoke_of_one_slow_task_stops_at_the_limit() -> None:
    async def slow(state: State) -> State:
        await asyncio.sleep(30)
        return {}

    builder = StateGraph(State)
    builder.add_node("slow", slow)
    builder.add_edge(START, "slow")
    graph = builder.compile()
    graph.step_timeout = 0.2
    with pytest.raises(StepTimeoutError, match="'slow'") as caught:
        asyncio.run(graph.ainvoke({"log": []}))
    assert caught.value.step == 1


def test_a_tasks_own_timeout_error_is_its_error_not_the_steps() -> None:
    async def own(state: State) -> State:
        raise TimeoutError("the model API timed out")

    builder = StateGraph(State)
    builder.add_node("own", own)
    builder.add_edge(START, "own")
    graph = builder.compile()
    graph.step_timeout = 30
    with pytest.raises(TimeoutError, match="model API") as caught:
        asyncio.run(graph.ainvoke({"log": []}))
    assert not isinstance(caught.value, StepTimeoutError)


@pytest.mark.parametrize("stream_mode", [None, "updates", "custom"])
def test_sync_runs_return_at_the_limit_while_the_node_still_runs(stream_mode: str | None) -> None:
    release = threading.Event()
    finished = threading.Event()

    def slow(state: State) -> State:
        release.wait(30)
        finished.set()
        return {"log": ["slow"]}

    def fast(state: State) -> State:
        return {"log": ["fast"]}

    graph = _parallel(slow, fast)
    graph.step_timeout = 0.2
    try:
        with pytest.raises(StepTimeoutError) as caught:
            if stream_mode is None:
                graph.invoke({"log": []})
            else:
                list(graph.stream({"log": []}, stream_mode=stream_mode))
        assert not finished.is_set()  # the caller got the error while the node ran
        assert caught.value.running == ["slow"]
    finally:
        release.set()
    assert finished.wait(10)


@pytest.mark.parametrize("run", ["invoke", "ainvoke"])
def test_steps_within_the_limit_run_as_without_one(run: str) -> None:
    def fast(state: State) -> State:
        return {"log": ["fast"]}

    async def afast(state: State) -> State:
        return {"log": ["afast"]}

    def other(state: State) -> State:
        return {"log": ["afast"]}

    second = afast if run == "ainvoke" else other  # invoke runs sync nodes only
    limited = _parallel(fast, second, InMemorySaver())
    limited.step_timeout = 10
    unlimited = _parallel(fast, second, InMemorySaver())
    cfg: Any = {"configurable": {"thread_id": "t"}}
    if run == "invoke":
        assert limited.invoke({"log": []}, cfg) == unlimited.invoke({"log": []}, cfg)
    else:
        got = asyncio.run(limited.ainvoke({"log": []}, cfg))
        assert got == asyncio.run(unlimited.ainvoke({"log": []}, cfg))
    assert sorted(limited.get_state(cfg).values["log"]) == ["afast", "fast"]


@pytest.mark.parametrize("durability", ["sync", "async", "exit"])
def test_tasks_that_finished_before_the_limit_are_kept_and_not_run_again(durability: str) -> None:
    release = threading.Event()
    runs: list[str] = []

    def slow(state: State) -> State:
        runs.append("slow")
        if runs.count("slow") == 1:
            release.wait(30)
        return {"log": ["slow"]}

    def fast(state: State) -> State:
        runs.append("fast")
        return {"log": ["fast"]}

    graph = _parallel(slow, fast, InMemorySaver())
    graph.step_timeout = 0.2
    cfg: Any = {"configurable": {"thread_id": "t"}}
    try:
        with pytest.raises(StepTimeoutError):
            graph.invoke({"log": []}, cfg, durability=durability)
    finally:
        release.set()
    graph.step_timeout = None
    assert sorted(graph.invoke(None, cfg, durability=durability)["log"]) == ["fast", "slow"]
    assert runs.count("fast") == 1  # kept from the timed-out step
    assert runs.count("slow") == 2


def test_a_timed_out_thread_keeps_its_last_step_and_resumes_with_a_larger_limit() -> None:
    release = threading.Event()
    calls: list[str] = []

    def first(state: State) -> State:
        return {"log": ["first"]}

    def slow(state: State) -> State:
        calls.append("slow")
        if len(calls) == 1:
            release.wait(30)
        return {"log": ["slow"]}

    builder = StateGraph(State)
    builder.add_node("first", first)
    builder.add_node("slow", slow)
    builder.add_edge(START, "first")
    builder.add_edge("first", "slow")
    builder.add_edge("slow", END)
    graph = builder.compile(checkpointer=InMemorySaver())
    graph.step_timeout = 0.2
    cfg: Any = {"configurable": {"thread_id": "t"}}
    try:
        with pytest.raises(StepTimeoutError):
            graph.invoke({"log": []}, cfg, durability="sync")
        snapshot = graph.get_state(cfg)
        assert snapshot.values["log"] == ["first"] and snapshot.next == ("slow",)
    finally:
        release.set()
    graph.step_timeout = None
    assert graph.invoke(None, cfg)["log"] == ["first", "slow"]


def test_each_graph_limits_its_own_steps_and_parent_commands_still_reach_the_parent() -> None:
    def child(state: State) -> Command[Any]:
        return Command(graph=Command.PARENT, goto="after", update={"log": ["child"]})

    sub_builder = StateGraph(State)
    sub_builder.add_node("child", child)
    sub_builder.add_edge(START, "child")
    sub = sub_builder.compile()
    sub.step_timeout = 5

    def after(state: State) -> State:
        return {"log": ["after"]}

    builder = StateGraph(State)
    builder.add_node("sub", sub, destinations=("after",))
    builder.add_node("after", after)
    builder.add_edge(START, "sub")
    graph = builder.compile(checkpointer=InMemorySaver())
    graph.step_timeout = 5
    cfg: Any = {"configurable": {"thread_id": "t"}}
    assert graph.invoke({"log": ["in"]}, cfg)["log"] == ["in", "child", "after"]
    assert asyncio.run(graph.ainvoke({"log": ["in"]}, {"configurable": {"thread_id": "a"}})) == {
        "log": ["in", "child", "after"]
    }

    async def slow(state: State) -> State:
        await asyncio.sleep(30)
        return {}

    inner_builder = StateGraph(State)
    inner_builder.add_node("slow", slow)
    inner_builder.add_edge(START, "slow")
    inner = inner_builder.compile()
    inner.step_timeout = 0.2
    outer_builder = StateGraph(State)
    outer_builder.add_node("inner", inner)
    outer_builder.add_edge(START, "inner")
    with pytest.raises(StepTimeoutError, match="'slow'"):  # the subgraph's limit
        asyncio.run(outer_builder.compile().ainvoke({"log": []}))


@pytest.mark.parametrize("bad", [0, -1, float("inf"), float("nan"), "1", True])
def test_a_bad_limit_is_refused_when_set(bad: Any) -> None:
    builder = StateGraph(State)
    builder.add_node("n", lambda s: {})
    builder.add_edge(START, "n")
    graph = builder.compile()
    with pytest.raises(ConfigError, match="step_timeout must be a positive number"):
        graph.step_timeout = bad
    assert graph.step_timeout is None
    graph.step_timeout = 2
    assert graph.step_timeout == 2.0
    assert graph.with_config(recursion_limit=5).step_timeout == 2.0
    assert graph.copy().step_timeout == 2.0
    graph.step_timeout = None
    assert graph.step_timeout is None


def test_an_entrypoint_is_limited_as_one_step() -> None:
    from graphkit.func import entrypoint

    @entrypoint()
    async def slow(value: int) -> int:
        await asyncio.sleep(30)
        return value

    slow.step_timeout = 0.2
    assert slow.graph.step_timeout == 0.2
    with pytest.raises(StepTimeoutError, match="'slow'"):
        asyncio.run(slow.ainvoke(1))

    @entrypoint()
    def quick(value: int) -> int:
        return value + 1

    quick.step_timeout = 5
    assert quick.invoke(1) == 2
