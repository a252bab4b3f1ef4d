"""Retry policies: one implementation for graph nodes and ``@task`` calls (sync and async)."""

from __future__ import annotations

import asyncio
import operator
from typing import Annotated, Any, TypedDict
from unittest.mock import Mock, patch

import httpx
import pytest

from graphkit.checkpoint.memory import InMemorySaver
from graphkit.context import CURRENT_TASK
from graphkit.engine.retry import arun_with_retry, as_retry_policies, retry_wait, run_with_retry
from graphkit.errors import (
    GraphInterrupt,
    NodeCancelledError,
    NodeTimeoutError,
    ParentCommand,
    PolicyError,
)
from graphkit.func import entrypoint, task
from graphkit.graph import END, START, StateGraph
from graphkit.graph.message import MessagesState, push_message
from graphkit.messages import AIMessage
from graphkit.types import Command, RetryPolicy, default_retry_on, interrupt

FAST = RetryPolicy(initial_interval=0, jitter=False)


class State(TypedDict):
    foo: str


def _status_error(code: int) -> httpx.HTTPStatusError:
    response = Mock()
    response.status_code = code
    return httpx.HTTPStatusError("status", request=Mock(), response=response)


# ----------------------------------------------------------------------------- the policy
def test_retry_policy_defaults_match_langgraph() -> None:
    policy = RetryPolicy()
    assert (policy.initial_interval, policy.backoff_factor, policy.max_interval) == (0.5, 2.0, 128)
    assert (policy.max_attempts, policy.jitter, policy.retry_on) == (3, True, default_retry_on)


def test_default_retry_on_retries_transient_errors_only() -> None:
    assert default_retry_on(ConnectionError("refused"))
    assert default_retry_on(NodeTimeoutError("n", 1.0, kind="run", run_timeout=0.5))
    assert default_retry_on(_status_error(503))
    assert not default_retry_on(_status_error(404))
    assert not default_retry_on(_status_error(429))
    for error in (
        ValueError(),
        TypeError(),
        KeyError(),
        RuntimeError(),
        OSError(),
        StopIteration(),
    ):
        assert not default_retry_on(error)

    class Custom(Exception):
        pass

    assert default_retry_on(Custom())


def test_default_retry_on_requests_errors_by_status() -> None:
    requests = pytest.importorskip("requests")
    error = requests.HTTPError("bad gateway")
    error.response = Mock(status_code=502)
    assert default_retry_on(error)
    error.response = Mock(status_code=400)
    assert not default_retry_on(error)
    error.response = None
    assert default_retry_on(error)


def test_retry_on_accepts_a_class_a_sequence_or_a_predicate() -> None:
    assert RetryPolicy(retry_on=ValueError).should_retry(UnicodeError())
    assert not RetryPolicy(retry_on=ValueError).should_retry(TypeError())
    assert RetryPolicy(retry_on=(KeyError, ValueError)).should_retry(KeyError())
    assert not RetryPolicy(retry_on=()).should_retry(ValueError())
    assert RetryPolicy(retry_on=lambda e: "again" in str(e)).should_retry(ValueError("again"))


def test_retry_on_of_another_kind_is_a_policy_error() -> None:
    with pytest.raises(PolicyError, match="retry_on must be an Exception class"):
        RetryPolicy(retry_on=123).should_retry(ValueError())  # type: ignore[arg-type]
    with pytest.raises(PolicyError, match="max_attempts must be >= 1"):
        RetryPolicy(max_attempts=0)


def test_wait_backs_off_caps_at_max_interval_and_adds_jitter() -> None:
    policy = RetryPolicy(initial_interval=1, backoff_factor=3, max_interval=5, jitter=False)
    assert [policy.wait(n) for n in (1, 2, 3)] == [1, 3, 5]
    with patch("random.uniform", return_value=0.25) as uniform:
        assert RetryPolicy(initial_interval=1).wait(1) == 1.25
    uniform.assert_called_with(0, 1)


def test_the_first_matching_policy_decides() -> None:
    policies = as_retry_policies(
        [RetryPolicy(retry_on=KeyError, max_attempts=2), RetryPolicy(retry_on=Exception)]
    )
    assert retry_wait(policies, KeyError(), 1) is not None
    assert retry_wait(policies, KeyError(), 2) is None
    assert retry_wait(policies, ValueError(), 2) is not None


def test_interrupts_and_parent_commands_are_never_retried() -> None:
    everything = (RetryPolicy(retry_on=Exception, max_attempts=5),)
    for exc in (GraphInterrupt(()), ParentCommand(Command(graph=Command.PARENT))):
        calls: list[int] = []

        def attempt(exc: Exception = exc, calls: list[int] = calls) -> None:
            calls.append(1)
            raise exc

        with pytest.raises(type(exc)):
            run_with_retry("n", everything, attempt)
        assert calls == [1]


# ----------------------------------------------------------------------------- nodes
def test_node_retries_with_backoff_and_sees_its_attempt_number() -> None:
    attempts: list[int] = []

    def flaky(state: State) -> dict[str, str]:
        ctx = CURRENT_TASK.get()
        assert ctx is not None
        attempts.append(ctx.attempt)
        if len(attempts) < 3:
            raise ValueError("not yet")
        return {"foo": "ok"}

    policy = RetryPolicy(initial_interval=0.01, jitter=False, retry_on=ValueError)
    graph = (
        StateGraph(State).add_node("flaky", flaky, retry_policy=policy).add_edge(START, "flaky")
    ).compile()
    with patch("time.sleep") as sleep:
        assert graph.invoke({"foo": ""}) == {"foo": "ok"}
    assert attempts == [1, 2, 3]
    assert [c.args[0] for c in sleep.call_args_list] == [0.01, 0.02]


def test_node_gives_up_after_max_attempts_with_the_last_error() -> None:
    calls: list[int] = []

    def broken(state: State) -> dict[str, str]:
        calls.append(1)
        raise ValueError(f"failure {len(calls)}")

    policy = RetryPolicy(max_attempts=2, initial_interval=0, jitter=False, retry_on=ValueError)
    graph = (
        StateGraph(State).add_node("broken", broken, retry_policy=policy).add_edge(START, "broken")
    ).compile()
    with pytest.raises(ValueError, match="failure 2"):
        graph.invoke({"foo": ""})


def test_an_interrupting_node_with_retries_runs_once_per_invoke() -> None:
    calls: list[int] = []

    def ask(state: State) -> dict[str, str]:
        calls.append(1)
        return {"foo": interrupt("name?")}

    graph = (
        StateGraph(State)
        .add_node("ask", ask, retry_policy=RetryPolicy(retry_on=Exception, max_attempts=3))
        .add_edge(START, "ask")
        .compile(checkpointer=InMemorySaver())
    )
    config = {"configurable": {"thread_id": "t"}}
    graph.invoke({"foo": ""}, config)
    assert calls == [1]
    assert graph.invoke(Command(resume="Ada"), config) == {"foo": "Ada"}


def test_sync_node_raising_cancelled_error_fails_as_node_cancelled() -> None:
    def cancels(state: State) -> None:
        raise asyncio.CancelledError("mine")

    graph = StateGraph(State).add_node("cancels", cancels).add_edge(START, "cancels").compile()
    with pytest.raises(NodeCancelledError) as info:
        graph.invoke({"foo": ""})
    assert info.value.node == "cancels"
    assert isinstance(info.value.__cause__, asyncio.CancelledError)


async def test_async_node_raising_cancelled_error_fails_the_run() -> None:
    class Vals(TypedDict, total=False):
        vals: Annotated[list[str], operator.add]

    async def ok(state: Vals) -> dict[str, Any]:
        return {"vals": ["ok"]}

    async def boom(state: Vals) -> dict[str, Any]:
        raise asyncio.CancelledError("from the node")

    graph = (
        StateGraph(Vals)
        .add_node("ok", ok)
        .add_node("boom", boom)
        .add_edge(START, "ok")
        .add_edge(START, "boom")
        .add_edge("ok", END)
        .add_edge("boom", END)
        .compile()
    )
    with pytest.raises(NodeCancelledError) as info:
        await graph.ainvoke({"vals": []})
    assert info.value.node == "boom"


async def test_cancelling_the_caller_stays_a_cancellation() -> None:
    started = asyncio.Event()

    async def slow() -> None:
        started.set()
        await asyncio.sleep(10)

    runner = asyncio.ensure_future(arun_with_retry("slow", (), None, slow))
    await started.wait()
    runner.cancel()
    with pytest.raises(asyncio.CancelledError):  # not NodeCancelledError
        await runner


async def test_async_node_retries_through_the_same_implementation() -> None:
    calls: list[int] = []

    async def flaky(state: State) -> dict[str, str]:
        calls.append(1)
        if len(calls) < 2:
            raise ConnectionError("down")
        return {"foo": "ok"}

    graph = (
        StateGraph(State).add_node("flaky", flaky, retry_policy=FAST).add_edge(START, "flaky")
    ).compile()
    assert await graph.ainvoke({"foo": ""}) == {"foo": "ok"}
    assert len(calls) == 2


# ----------------------------------------------------------------------------- @task
def test_task_with_retries_pauses_on_interrupt_after_one_run() -> None:
    """The bug this implementation fixed: the task used to run 3 times before pausing."""
    runs: list[int] = []

    @task(retry_policy=RetryPolicy(retry_on=Exception, max_attempts=3))
    def ask(question: str) -> str:
        runs.append(1)
        return str(interrupt(question))

    @entrypoint(checkpointer=InMemorySaver())
    def workflow(x: int) -> str:
        return ask(f"q{x}").result()

    config = {"configurable": {"thread_id": "t"}}
    out = workflow.invoke(1, config)
    assert "__interrupt__" in out
    assert runs == [1]
    assert workflow.invoke(Command(resume="yes"), config) == "yes"


def test_task_retries_a_transient_error() -> None:
    calls: list[int] = []

    @task(retry_policy=FAST)
    def fetch(x: int) -> int:
        calls.append(x)
        if len(calls) < 3:
            raise ConnectionError("flaky")
        return x * 2

    @entrypoint()
    def workflow(x: int) -> int:
        return fetch(x).result()

    assert workflow.invoke(21) == 42
    assert calls == [21, 21, 21]


async def test_async_task_retries_and_gives_up_with_its_error() -> None:
    calls: list[int] = []

    @task(retry_policy=RetryPolicy(max_attempts=2, initial_interval=0, jitter=False))
    async def fetch(x: int) -> int:
        calls.append(x)
        raise ConnectionError(f"down {len(calls)}")

    @entrypoint()
    async def workflow(x: int) -> int:
        return await fetch(x)

    with pytest.raises(ConnectionError, match="down 2"):
        await workflow.ainvoke(1)
    assert calls == [1, 1]


def test_messages_pushed_by_a_failed_attempt_are_not_written() -> None:
    attempts: list[int] = []

    def flaky(state: MessagesState) -> dict[str, Any]:
        attempts.append(1)
        push_message(AIMessage(content=f"attempt {len(attempts)}", id=f"m{len(attempts)}"))
        if len(attempts) < 2:
            raise ConnectionError("retry me")
        return {}

    graph = (
        StateGraph(MessagesState)
        .add_node("flaky", flaky, retry_policy=FAST)
        .add_edge(START, "flaky")
        .compile()
    )
    messages = graph.invoke({"messages": []})["messages"]
    assert [m.content for m in messages] == ["attempt 2"]
