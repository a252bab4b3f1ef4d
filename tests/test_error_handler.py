"""Error handlers: a node's failure (after its retries) runs its handler in its place."""

from __future__ import annotations

import asyncio
import operator
from typing import Annotated, Any, TypedDict
from unittest.mock import patch

import pytest

from graphkit.checkpoint.memory import InMemorySaver
from graphkit.errors import GraphCompileError, NodeError
from graphkit.graph import END, START, StateGraph
from graphkit.types import Command, RetryPolicy, Send, interrupt


class State(TypedDict):
    foo: str


class Log(TypedDict):
    log: Annotated[list[str], operator.add]


def fails(state: Any) -> Any:
    raise RuntimeError("boom")


def test_the_handler_gets_the_failure_and_its_update_replaces_the_node() -> None:
    seen: list[NodeError] = []

    def handler(state: State, error: NodeError) -> dict[str, str]:
        seen.append(error)
        return {"foo": "handled"}

    graph = (
        StateGraph(State).add_node("a", fails, error_handler=handler).add_edge(START, "a").compile()
    )
    assert graph.invoke({"foo": ""}) == {"foo": "handled"}
    assert seen[0].node == "a"
    assert isinstance(seen[0].error, RuntimeError)
    assert str(seen[0].error) == "boom"


def test_the_failed_node_edges_do_not_fire_but_the_handler_can_route() -> None:
    def after(state: Log) -> dict[str, list[str]]:
        return {"log": ["after"]}

    def route_on(state: Log) -> Command[Any]:
        return Command(update={"log": ["handled"]}, goto="after")

    plain = (
        StateGraph(Log)
        .add_node("a", fails, error_handler=lambda s: {"log": ["handled"]})
        .add_node("after", after)
        .add_edge(START, "a")
        .add_edge("a", "after")
        .compile()
    )
    assert plain.invoke({"log": []}) == {"log": ["handled"]}
    routing = (
        StateGraph(Log)
        .add_node("a", fails, error_handler=route_on)
        .add_node("after", after)
        .add_edge(START, "a")
        .compile()
    )
    assert routing.invoke({"log": []}) == {"log": ["handled", "after"]}


def test_the_updates_stream_shows_the_handler() -> None:
    graph = (
        StateGraph(State)
        .add_node("a", fails, error_handler=lambda s: {"foo": "ok"})
        .add_edge(START, "a")
        .compile()
    )
    assert list(graph.stream({"foo": ""})) == [{"__error_handler__a": {"foo": "ok"}}]


def test_retries_run_out_before_the_handler_runs() -> None:
    calls: list[str] = []

    def flaky(state: State) -> dict[str, str]:
        calls.append("node")
        raise ValueError("nope")

    def handler(state: State, error: NodeError) -> dict[str, str]:
        calls.append("handler")
        return {"foo": str(error.error)}

    policy = RetryPolicy(max_attempts=2, initial_interval=0, jitter=False, retry_on=ValueError)
    graph = (
        StateGraph(State)
        .add_node("a", flaky, retry_policy=policy, error_handler=handler)
        .add_edge(START, "a")
        .compile()
    )
    assert graph.invoke({"foo": ""}) == {"foo": "nope"}
    assert calls == ["node", "node", "handler"]


def test_a_failing_handler_fails_the_run() -> None:
    def broken(state: State) -> None:
        raise LookupError("handler broke")

    graph = StateGraph(State).add_node("a", fails, error_handler=broken).add_edge(START, "a")
    with pytest.raises(LookupError, match="handler broke"):
        graph.compile().invoke({"foo": ""})


def test_an_interrupt_is_not_a_failure() -> None:
    def asks(state: State) -> dict[str, str]:
        return {"foo": interrupt("?")}

    graph = (
        StateGraph(State)
        .add_node("a", asks, error_handler=lambda s: {"foo": "handled"})
        .add_node("b", lambda s: {})
        .add_edge(START, "a")
        .add_edge(START, "b")
        .compile(checkpointer=InMemorySaver())
    )
    config = {"configurable": {"thread_id": "t"}}
    assert "__interrupt__" in graph.invoke({"foo": ""}, config)
    assert graph.invoke(Command(resume="yes"), config) == {"foo": "yes"}


def test_the_error_parameter_is_found_by_its_annotation() -> None:
    def handler(state: State, err: NodeError, config: dict[str, Any]) -> dict[str, str]:
        return {"foo": f"{err.node}:{config['configurable']['thread_id']}"}

    graph = (
        StateGraph(State)
        .add_node("a", fails, error_handler=handler)
        .add_edge(START, "a")
        .compile(checkpointer=InMemorySaver())
    )
    assert graph.invoke({"foo": ""}, {"configurable": {"thread_id": "t7"}}) == {"foo": "a:t7"}


def test_a_subgraph_failure_reaches_the_parent_handler() -> None:
    inner = StateGraph(State).add_node("inner", fails).add_edge(START, "inner").compile()

    def handler(state: State, error: NodeError) -> dict[str, str]:
        return {"foo": f"handled {error.node}"}

    graph = StateGraph(State).add_node("sub", inner, error_handler=handler).add_edge(START, "sub")
    assert graph.compile().invoke({"foo": ""}) == {"foo": "handled sub"}


async def test_async_nodes_and_handlers() -> None:
    async def afails(state: State) -> None:
        raise RuntimeError("async boom")

    async def handler(state: State, error: NodeError) -> dict[str, str]:
        return {"foo": str(error.error)}

    graph = (
        StateGraph(State)
        .add_node("a", afails, error_handler=handler)
        .add_edge(START, "a")
        .compile()
    )
    assert await graph.ainvoke({"foo": ""}) == {"foo": "async boom"}


def test_resume_after_a_handler_crash_runs_the_handler_not_the_node() -> None:
    calls = {"node": 0, "handler": 0}
    errors: list[NodeError] = []
    crash = [True]

    def node(state: State) -> None:
        calls["node"] += 1
        raise RuntimeError("boom")

    def handler(state: State, error: NodeError) -> dict[str, str]:
        calls["handler"] += 1
        errors.append(error)
        if crash[0]:
            raise OSError("handler crash")
        return {"foo": "recovered"}

    graph = (
        StateGraph(State)
        .add_node("a", node, error_handler=handler)
        .add_edge(START, "a")
        .compile(checkpointer=InMemorySaver())
    )
    config = {"configurable": {"thread_id": "t"}}
    with pytest.raises(OSError, match="handler crash"):
        graph.invoke({"foo": ""}, config)
    crash[0] = False
    assert graph.invoke(None, config) == {"foo": "recovered"}
    assert calls == {"node": 1, "handler": 2}
    assert errors[1].node == "a"
    assert type(errors[1].error) is RuntimeError  # a builtin type comes back as itself
    assert str(errors[1].error) == "boom"


# ----------------------------------------------------------------------------- defaults
def test_set_node_defaults_gives_every_node_the_handler_unless_it_has_one() -> None:
    handled: list[str] = []

    def default(state: Log, error: NodeError) -> dict[str, list[str]]:
        handled.append(error.node)
        return {"log": [f"default:{error.node}"]}

    graph = (
        StateGraph(Log)
        .add_node("a", fails)
        .add_node("b", fails, error_handler=lambda s: {"log": ["own:b"]})
        .add_edge(START, "a")
        .add_edge(START, "b")
        .set_node_defaults(error_handler=default)  # after add_node: still applies
        .compile()
    )
    assert sorted(graph.invoke({"log": []})["log"]) == ["default:a", "own:b"]
    assert handled == ["a"]


def test_a_failing_own_handler_is_not_caught_by_the_default_one() -> None:
    def broken(state: State) -> None:
        raise LookupError("own handler broke")

    graph = (
        StateGraph(State)
        .set_node_defaults(error_handler=lambda s: {"foo": "default"})
        .add_node("a", fails, error_handler=broken)
        .add_edge(START, "a")
        .compile()
    )
    with pytest.raises(LookupError, match="own handler broke"):
        graph.invoke({"foo": ""})


def test_default_retry_policy_applies_unless_the_node_has_its_own() -> None:
    calls: list[str] = []

    def flaky(state: State) -> dict[str, str]:
        calls.append("x")
        if len(calls) < 3:
            raise ValueError("again")
        return {"foo": "ok"}

    builder = StateGraph(State).set_node_defaults(
        retry_policy=RetryPolicy(max_attempts=3, initial_interval=0.01, retry_on=ValueError)
    )
    graph = builder.add_node("a", flaky).add_edge(START, "a").compile()
    with patch("time.sleep"):
        assert graph.invoke({"foo": ""}) == {"foo": "ok"}
    calls.clear()
    own = RetryPolicy(max_attempts=1, retry_on=ValueError)
    single = (
        StateGraph(State)
        .set_node_defaults(retry_policy=RetryPolicy(max_attempts=5, retry_on=ValueError))
        .add_node("a", flaky, retry_policy=own)
        .add_edge(START, "a")
        .add_edge("a", END)
        .compile()
    )
    with pytest.raises(ValueError):
        single.invoke({"foo": ""})
    assert calls == ["x"]


def test_handler_node_names_must_be_free() -> None:
    builder = (
        StateGraph(State)
        .set_node_defaults(error_handler=lambda s: s)
        .add_node("__default_error_handler__", lambda s: s)
        .add_edge(START, "__default_error_handler__")
    )
    with pytest.raises(GraphCompileError, match="__default_error_handler__"):
        builder.compile()
    taken = StateGraph(State).add_node("__error_handler__a", lambda s: s)
    with pytest.raises(GraphCompileError, match="__error_handler__a"):
        taken.add_node("a", fails, error_handler=lambda s: s)


def test_compiling_twice_keeps_the_builder_unchanged() -> None:
    builder = (
        StateGraph(State)
        .set_node_defaults(error_handler=lambda s: {"foo": "x"})
        .add_node("a", fails)
        .add_edge(START, "a")
    )
    assert builder.compile().invoke({"foo": ""}) == builder.compile().invoke({"foo": ""})
    assert "__default_error_handler__" not in builder.nodes


async def test_an_async_handler_of_a_sync_node_runs_in_a_parallel_step() -> None:
    async def handler(state: Log, error: NodeError) -> dict[str, list[str]]:
        return {"log": [f"handled {error.node}"]}

    graph = (
        StateGraph(Log)
        .add_node("a", fails, error_handler=handler)
        .add_node("b", lambda s: {"log": ["b"]})
        .add_edge(START, "a")
        .add_edge(START, "b")
        .compile()
    )
    assert sorted((await graph.ainvoke({"log": []}))["log"]) == ["b", "handled a"]


async def test_a_send_timeout_limits_the_node_not_its_handler() -> None:
    async def slow(state: State) -> None:
        await asyncio.sleep(1)

    async def patient_handler(state: State, error: NodeError) -> dict[str, str]:
        await asyncio.sleep(0.1)  # longer than the Send's timeout
        return {"foo": type(error.error).__name__}

    graph = (
        StateGraph(State)
        .add_node("slow", slow, error_handler=patient_handler)
        .add_conditional_edges(START, lambda s: [Send("slow", s, timeout=0.05)])
        .compile()
    )
    assert await graph.ainvoke({"foo": ""}) == {"foo": "NodeTimeoutError"}


# ----------------------------------------------------------------------------- unhandled failures
async def test_an_unhandled_failure_cancels_the_async_siblings_of_its_step() -> None:
    cancelled = asyncio.Event()

    async def slow(state: State) -> None:
        try:
            await asyncio.sleep(5)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    async def bad(state: State) -> None:
        raise ValueError("bad")

    graph = (
        StateGraph(State)
        .add_node("slow", slow)
        .add_node("bad", bad)
        .add_edge(START, "slow")
        .add_edge(START, "bad")
        .compile()
    )
    with pytest.raises(ValueError, match="bad"):
        await asyncio.wait_for(graph.ainvoke({"foo": ""}), 2)
    assert cancelled.is_set()


async def test_a_handled_failure_lets_its_siblings_finish() -> None:
    async def slow(state: Log) -> dict[str, list[str]]:
        await asyncio.sleep(0.05)
        return {"log": ["slow"]}

    async def bad(state: Log) -> None:
        raise ValueError("bad")

    graph = (
        StateGraph(Log)
        .add_node("slow", slow)
        .add_node("bad", bad, error_handler=lambda s: {"log": ["handled"]})
        .add_edge(START, "slow")
        .add_edge(START, "bad")
        .compile()
    )
    assert sorted((await graph.ainvoke({"log": []}))["log"]) == ["handled", "slow"]


def test_a_handled_failure_restored_at_resume_keeps_the_handler_routing() -> None:
    """A sibling paused the step: on resume the handled task is not re-run, and the
    failed node's own edges still do not fire."""

    def asks(state: Log) -> dict[str, list[str]]:
        return {"log": [interrupt("?")]}

    calls: list[str] = []

    def handler(state: Log) -> dict[str, list[str]]:
        calls.append("handler")
        return {"log": ["handled"]}

    graph = (
        StateGraph(Log)
        .add_node("a", fails, error_handler=handler)
        .add_node("after_a", lambda s: {"log": ["after_a"]})
        .add_node("ask", asks)
        .add_edge(START, "a")
        .add_edge(START, "ask")
        .add_edge("a", "after_a")
        .compile(checkpointer=InMemorySaver())
    )
    config = {"configurable": {"thread_id": "t"}}
    graph.invoke({"log": []}, config)
    chunks = list(graph.stream(Command(resume="x"), config))
    assert sorted(graph.get_state(config).values["log"]) == ["handled", "x"]
    assert "__error_handler__a" in chunks[0]
    assert calls == ["handler"]
