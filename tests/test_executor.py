"""The executor seam: every attempt of a node's or @task's function goes through the
run's executor (compile's, or the call's config), and the default is local."""

from __future__ import annotations

import asyncio
import operator
from concurrent.futures import ThreadPoolExecutor
from typing import Annotated, Any, TypedDict

import pytest

from graphkit import START, RetryPolicy, Send, StateGraph, entrypoint, task
from graphkit.context import TaskContext
from graphkit.errors import ConfigError, GraphCompileError
from graphkit.executor import LOCAL, Executor, LocalExecutor
from graphkit.node import CallSpec


class Recording:
    """An executor that runs everything locally and records each attempt's name."""

    workers = 4

    def __init__(self) -> None:
        self.calls: list[str] = []
        self._pool = ThreadPoolExecutor(4)

    def pool(self) -> ThreadPoolExecutor:
        return self._pool

    def call(self, name: str, spec: CallSpec, state: Any, ctx: TaskContext | None) -> Any:
        self.calls.append(name)
        return LOCAL.call(name, spec, state, ctx)

    async def acall(self, name: str, spec: CallSpec, state: Any, ctx: TaskContext | None) -> Any:
        self.calls.append(name)
        return await LOCAL.acall(name, spec, state, ctx)


class Fan(TypedDict):
    items: list[int]
    out: Annotated[list[int], operator.add]


def fan_graph(executor: Any = None, **node: Any) -> Any:
    builder = StateGraph(Fan)
    builder.add_node("double", lambda x: {"out": [2 * x]}, **node)
    builder.add_conditional_edges(START, lambda s: [Send("double", i) for i in s["items"]])
    return builder.compile(executor=executor)


def test_a_custom_executor_satisfies_the_protocol() -> None:
    assert isinstance(Recording(), Executor)
    assert isinstance(LocalExecutor(), Executor)


def test_every_send_task_goes_through_the_compiled_executor() -> None:
    recording = Recording()
    out = fan_graph(recording).invoke({"items": [1, 2, 3], "out": []})
    assert out["out"] == [2, 4, 6]
    assert recording.calls == ["double"] * 3


def test_the_call_config_executor_wins_over_the_compiled_one() -> None:
    compiled, per_call = Recording(), Recording()
    fan_graph(compiled).invoke({"items": [1], "out": []}, {"executor": per_call})
    assert (compiled.calls, per_call.calls) == ([], ["double"])


def test_async_runs_await_the_executor() -> None:
    recording = Recording()
    out = asyncio.run(fan_graph(recording).ainvoke({"items": [5, 6], "out": []}))
    assert out["out"] == [10, 12]
    assert recording.calls == ["double", "double"]


def test_each_retry_is_one_attempt_through_the_executor() -> None:
    attempts: list[int] = []

    def flaky(x: int) -> dict[str, Any]:
        attempts.append(x)
        if len(attempts) < 3:
            raise ConnectionError("down")
        return {"out": [x]}

    recording = Recording()
    builder = StateGraph(Fan)
    builder.add_node("flaky", flaky, retry_policy=RetryPolicy(initial_interval=0, jitter=False))
    builder.add_conditional_edges(START, lambda s: [Send("flaky", i) for i in s["items"]])
    assert builder.compile(executor=recording).invoke({"items": [9], "out": []})["out"] == [9]
    assert recording.calls == ["flaky"] * 3


@task
def inc(x: int) -> int:
    return x + 1


def test_functional_task_calls_go_through_the_executor_but_not_the_workflow() -> None:
    recording = Recording()

    @entrypoint(executor=recording)
    def workflow(numbers: list[int]) -> list[int]:
        return [f.result() for f in [inc(n) for n in numbers]]

    assert workflow.invoke([1, 2]) == [2, 3]
    assert recording.calls.count("inc") == 2
    # the entrypoint's own function is a node of its one-node graph: it goes through too,
    # and an executor decides whether to run it elsewhere (RayExecutor keeps it here)
    assert recording.calls.count("workflow") == 1


def test_a_non_executor_is_refused_at_compile_and_per_call() -> None:
    with pytest.raises(GraphCompileError, match="takes an executor"):
        fan_graph("ray")
    with pytest.raises(ConfigError, match="executor must be an Executor"):
        fan_graph().invoke({"items": [1], "out": []}, {"executor": "ray"})


class Inner(TypedDict):
    x: int


def test_a_subgraph_without_its_own_executor_uses_its_parents() -> None:
    inner = StateGraph(Inner)
    inner.add_node("deep", lambda s: {"x": s["x"] + 1})
    inner.add_edge(START, "deep")
    outer = StateGraph(Inner)
    outer.add_node("sub", inner.compile())
    outer.add_edge(START, "sub")
    recording = Recording()
    assert outer.compile(executor=recording).invoke({"x": 1}) == {"x": 2}
    assert recording.calls == ["deep"]  # the subgraph node itself runs here, around it
