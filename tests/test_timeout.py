"""Timeouts of node and task attempts: run and idle limits, heartbeats, retries."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta
from typing import Any, TypedDict

import pytest

from graphkit.checkpoint.memory import InMemorySaver
from graphkit.engine.timeout import run_timed
from graphkit.errors import NodeTimeoutError, PolicyError
from graphkit.func import entrypoint, task
from graphkit.graph import END, START, StateGraph
from graphkit.runtime import Runtime
from graphkit.types import Command, RetryPolicy, Send, TimeoutPolicy, interrupt


class State(TypedDict):
    x: int


def _graph(fn: Any, **policies: Any) -> Any:
    return StateGraph(State).add_node("node", fn, **policies).add_edge(START, "node").compile()


# ----------------------------------------------------------------------------- the policy
def test_coerce_turns_numbers_and_timedeltas_into_run_timeouts() -> None:
    assert TimeoutPolicy.coerce(None) is None
    assert TimeoutPolicy.coerce(2) == TimeoutPolicy(run_timeout=2.0)
    assert TimeoutPolicy.coerce(timedelta(milliseconds=250)) == TimeoutPolicy(run_timeout=0.25)
    policy = TimeoutPolicy.coerce(TimeoutPolicy(idle_timeout=timedelta(seconds=1)))
    assert policy == TimeoutPolicy(idle_timeout=1.0)
    assert TimeoutPolicy.coerce(policy) is policy


@pytest.mark.parametrize("bad", [0, -1, timedelta(0)])
def test_a_timeout_that_is_not_positive_fails_where_it_is_given(bad: Any) -> None:
    with pytest.raises(PolicyError, match="greater than 0"):
        TimeoutPolicy.coerce(bad)
    with pytest.raises(PolicyError, match="greater than 0"):
        task(timeout=bad)
    with pytest.raises(PolicyError, match="greater than 0"):
        entrypoint(timeout=bad)
    with pytest.raises(PolicyError, match="greater than 0"):
        Send("node", {}, timeout=bad)
    with pytest.raises(PolicyError, match="greater than 0"):
        StateGraph(State).add_node("node", lambda s: s, timeout=bad)


def test_refresh_on_must_be_auto_or_heartbeat() -> None:
    with pytest.raises(PolicyError, match="refresh_on"):
        TimeoutPolicy.coerce(TimeoutPolicy(idle_timeout=1, refresh_on="sometimes"))  # type: ignore[arg-type]


def test_send_keeps_its_timeout_and_shows_it_only_when_set() -> None:
    assert repr(Send("a", 1)) == "Send(node='a', arg=1)"
    assert Send("a", 1, timeout=2).timeout == TimeoutPolicy(run_timeout=2.0)
    assert "timeout=" in repr(Send("a", 1, timeout=2))


def test_timeouts_are_refused_on_sync_functions() -> None:
    def plain(state: State) -> State:
        return state

    builder = StateGraph(State).add_node("node", plain, timeout=TimeoutPolicy(idle_timeout=1))
    with pytest.raises(PolicyError, match="only supported for async nodes"):
        builder.add_edge(START, "node").compile()
    with pytest.raises(PolicyError, match="only supported for async"):
        task(timeout=1)(lambda x: x)
    with pytest.raises(PolicyError, match="only supported for async"):
        entrypoint(timeout=1)(lambda x: x)


# ----------------------------------------------------------------------------- limits
async def test_run_timeout_is_not_refreshed_by_heartbeats() -> None:
    async def busy(state: State, runtime: Runtime) -> State:
        while True:
            runtime.heartbeat()
            await asyncio.sleep(0.01)

    with pytest.raises(NodeTimeoutError) as info:
        await _graph(busy, timeout=TimeoutPolicy(run_timeout=0.05, idle_timeout=1)).ainvoke(
            {"x": 1}
        )
    error = info.value
    assert (error.node, error.kind, error.timeout) == ("node", "run", 0.05)
    assert (error.run_timeout, error.idle_timeout) == (0.05, 1.0)


async def test_idle_timeout_fires_without_progress() -> None:
    async def stuck(state: State) -> State:
        await asyncio.sleep(1)
        return state

    with pytest.raises(NodeTimeoutError) as info:
        await _graph(stuck, timeout=TimeoutPolicy(idle_timeout=0.05)).ainvoke({"x": 1})
    assert info.value.kind == "idle"
    assert "idle timeout" in str(info.value)


async def test_heartbeats_keep_an_idle_timeout_from_firing() -> None:
    async def steady(state: State, runtime: Runtime) -> State:
        for _ in range(4):
            await asyncio.sleep(0.04)
            runtime.heartbeat()
        return {"x": state["x"] + 1}

    graph = _graph(steady, timeout=TimeoutPolicy(idle_timeout=0.1))
    assert await graph.ainvoke({"x": 1}) == {"x": 2}


async def test_streamed_chunks_are_progress_unless_only_heartbeats_count() -> None:
    async def chatty(state: State, writer: Any) -> State:
        for _ in range(4):
            await asyncio.sleep(0.04)
            writer("tick")
        return {"x": 2}

    auto = _graph(chatty, timeout=TimeoutPolicy(idle_timeout=0.1))
    chunks = [c async for c in auto.astream({"x": 1}, stream_mode="custom")]
    assert chunks == ["tick"] * 4
    strict = _graph(chatty, timeout=TimeoutPolicy(idle_timeout=0.1, refresh_on="heartbeat"))
    with pytest.raises(NodeTimeoutError):
        async for _ in strict.astream({"x": 1}, stream_mode="custom"):
            pass


async def test_a_timed_out_attempt_cannot_swallow_its_cancellation() -> None:
    async def stubborn() -> str:
        try:
            await asyncio.sleep(1)
        except asyncio.CancelledError:
            return "late"
        return "never"

    with pytest.raises(NodeTimeoutError):
        await run_timed("stubborn", TimeoutPolicy(idle_timeout=0.05), stubborn)


async def test_an_error_of_the_attempt_passes_through_unchanged() -> None:
    async def inner_timeout() -> None:
        raise asyncio.TimeoutError("inner")

    with pytest.raises(asyncio.TimeoutError, match="inner"):
        await run_timed("n", TimeoutPolicy(run_timeout=1), inner_timeout)


async def test_timeouts_compose_with_retries() -> None:
    attempts: list[int] = []

    async def flaky(state: State) -> State:
        attempts.append(1)
        if len(attempts) < 2:
            await asyncio.sleep(1)
        return {"x": state["x"] + 1}

    graph = _graph(
        flaky,
        timeout=TimeoutPolicy(idle_timeout=0.1),
        retry_policy=RetryPolicy(initial_interval=0, jitter=False, retry_on=NodeTimeoutError),
    )
    assert await graph.ainvoke({"x": 0}) == {"x": 1}
    assert len(attempts) == 2


async def test_a_send_timeout_overrides_the_node_timeout() -> None:
    async def slow(state: State) -> State:
        await asyncio.sleep(0.3)
        return {"x": state["x"] + 1}

    graph = (
        StateGraph(State)
        .add_node("slow", slow, timeout=TimeoutPolicy(idle_timeout=5))
        .add_conditional_edges(START, lambda s: [Send("slow", s, timeout=0.05)])
        .add_edge("slow", END)
        .compile()
    )
    with pytest.raises(NodeTimeoutError) as info:
        await graph.ainvoke({"x": 1})
    assert (info.value.node, info.value.kind, info.value.run_timeout) == ("slow", "run", 0.05)


# ----------------------------------------------------------------------------- functional API
async def test_task_timeout_fails_the_workflow() -> None:
    @task(timeout=TimeoutPolicy(idle_timeout=0.05))
    async def slow_task(x: int) -> int:
        await asyncio.sleep(0.5)
        return x

    @entrypoint()
    async def workflow(x: int) -> int:
        return await slow_task(x)

    with pytest.raises(NodeTimeoutError) as info:
        await workflow.ainvoke(1)
    assert info.value.node == "slow_task"


async def test_task_arguments_named_timeout_reach_the_function() -> None:
    @task(timeout=1.0)
    async def echo(*, timeout: int) -> int:
        return timeout

    @entrypoint()
    async def workflow(x: int) -> int:
        return await echo(timeout=x)

    assert await workflow.ainvoke(5) == 5


async def test_entrypoint_timeout_leaves_started_sync_tasks_running() -> None:
    child_ran = threading.Event()

    @task
    def child(x: int) -> int:
        child_ran.set()
        return x

    @entrypoint(timeout=TimeoutPolicy(idle_timeout=0.05))
    async def workflow(x: int) -> int:
        child(x)
        await asyncio.sleep(0.3)
        return x

    with pytest.raises(NodeTimeoutError):
        await workflow.ainvoke(1)
    assert child_ran.wait(1)


def test_a_timed_subgraph_node_needs_an_async_run() -> None:
    inner = StateGraph(State).add_node("i", lambda s: s).add_edge(START, "i").compile()
    graph = StateGraph(State).add_node("sub", inner, timeout=1).add_edge(START, "sub").compile()
    with pytest.raises(PolicyError, match="ainvoke"):
        graph.invoke({"x": 1})


async def test_a_timed_subgraph_node_runs_under_ainvoke() -> None:
    inner = StateGraph(State).add_node("i", lambda s: {"x": 2}).add_edge(START, "i").compile()
    graph = StateGraph(State).add_node("sub", inner, timeout=1).add_edge(START, "sub").compile()
    assert await graph.ainvoke({"x": 1}) == {"x": 2}


async def test_steps_of_a_timed_subgraph_count_as_progress() -> None:
    async def step(state: State) -> State:
        await asyncio.sleep(0.06)
        return {"x": state["x"] + 1}

    inner = (
        StateGraph(State)
        .add_node("a", step)
        .add_node("b", step)
        .add_node("c", step)
        .add_edge(START, "a")
        .add_edge("a", "b")
        .add_edge("b", "c")
        .compile()
    )
    idle = TimeoutPolicy(idle_timeout=0.15)
    graph = StateGraph(State).add_node("sub", inner, timeout=idle).add_edge(START, "sub").compile()
    assert await graph.ainvoke({"x": 0}) == {"x": 3}
    strict = TimeoutPolicy(idle_timeout=0.15, refresh_on="heartbeat")
    graph = (
        StateGraph(State).add_node("sub", inner, timeout=strict).add_edge(START, "sub").compile()
    )
    with pytest.raises(NodeTimeoutError):
        await graph.ainvoke({"x": 0})


async def test_finished_tasks_count_as_progress_of_a_timed_workflow() -> None:
    @task
    async def step(x: int) -> int:
        await asyncio.sleep(0.06)
        return x + 1

    @entrypoint(timeout=TimeoutPolicy(idle_timeout=0.15))
    async def workflow(x: int) -> int:
        for _ in range(3):
            x = await step(x)
        return x

    assert await workflow.ainvoke(0) == 3


async def test_an_interrupt_in_a_timed_node_pauses_and_resumes() -> None:
    async def ask(state: State) -> State:
        await asyncio.sleep(0)
        return {"x": int(interrupt("how many?"))}

    graph = (
        StateGraph(State)
        .add_node("ask", ask, timeout=TimeoutPolicy(run_timeout=1))
        .add_edge(START, "ask")
        .compile(checkpointer=InMemorySaver())
    )
    config = {"configurable": {"thread_id": "t"}}
    assert "__interrupt__" in await graph.ainvoke({"x": 0}, config)
    assert await graph.ainvoke(Command(resume="3"), config) == {"x": 3}
