"""A run stopped from outside in the middle of a step (its stream closed, its coroutine
cancelled) keeps what the step's finished tasks wrote: the thread's state shows it, and a
resume runs only the tasks that had not finished (as LangGraph keeps each task's writes
as it finishes). A web server whose client disconnects mid-stream is the common case."""

from __future__ import annotations

import asyncio
import operator
import threading
import time
from pathlib import Path
from typing import Annotated, Any, TypedDict

import pytest

from graphkit import START, StateGraph
from graphkit.checkpoint.lmdb import LMDBSaver
from graphkit.stores.checkpoint import BaseCheckpointSaver


class Log(TypedDict, total=False):
    log: Annotated[list[str], operator.add]


def thread(name: str = "t") -> dict[str, Any]:
    return {"configurable": {"thread_id": name}}


class TwoBranches:
    """START -> quick and slow in one step, then both -> after. ``slow`` waits for
    ``release`` (sync) or sleeps until cancelled (async); calls are counted."""

    def __init__(self, saver: BaseCheckpointSaver, *, is_async: bool = False) -> None:
        self.calls: list[str] = []
        self.release = threading.Event()
        builder = StateGraph(Log)
        if is_async:
            builder.add_node("quick", self._aquick)
            builder.add_node("slow", self._aslow)
        else:
            builder.add_node("quick", self._quick)
            builder.add_node("slow", self._slow)
        builder.add_node("after", self._after)
        builder.add_edge(START, "quick")
        builder.add_edge(START, "slow")
        builder.add_edge(["quick", "slow"], "after")
        self.graph = builder.compile(checkpointer=saver)

    def _quick(self, state: Log) -> Log:
        self.calls.append("quick")
        return {"log": ["quick"]}

    def _slow(self, state: Log) -> Log:
        self.calls.append("slow")
        self.release.wait(5)
        return {"log": ["slow"]}

    async def _aquick(self, state: Log) -> Log:
        return self._quick(state)

    async def _aslow(self, state: Log) -> Log:
        self.calls.append("slow")
        if not self.release.is_set():
            await asyncio.sleep(30)
        return {"log": ["slow"]}

    def _after(self, state: Log) -> Log:
        self.calls.append("after")
        return {"log": ["after"]}

    def assert_kept_then_resumed(self) -> None:
        """``quick`` is kept; a resume runs ``slow`` and ``after`` only."""
        state = self.graph.get_state(thread())
        assert (state.values, state.next) == ({"log": ["quick"]}, ("slow",))
        self.release.set()
        self.calls.clear()
        assert self.graph.invoke(None, thread()) == {"log": ["quick", "slow", "after"]}
        assert self.calls == ["slow", "after"]

    async def aassert_kept_then_resumed(self) -> None:
        """Async ``assert_kept_then_resumed``."""
        state = await self.graph.aget_state(thread())
        assert (state.values, state.next) == ({"log": ["quick"]}, ("slow",))
        self.release.set()
        self.calls.clear()
        assert await self.graph.ainvoke(None, thread()) == {"log": ["quick", "slow", "after"]}
        assert self.calls == ["slow", "after"]


@pytest.mark.parametrize("durability", ["sync", "async", "exit"])
def test_a_closed_stream_keeps_the_tasks_that_finished(
    saver: BaseCheckpointSaver, durability: str
) -> None:
    branches = TwoBranches(saver)
    graph = branches.graph
    stream = graph.stream({"log": []}, thread(), durability=durability)
    assert next(stream) == {"quick": {"log": ["quick"]}}
    stream.close()  # the consumer went away while ``slow`` still runs
    state = graph.get_state(thread())
    assert (state.values, state.next) == ({"log": ["quick"]}, ("slow",))
    branches.release.set()  # (what it does after is the next test's)


@pytest.mark.parametrize("durability", ["sync", "async", "exit"])
async def test_a_closed_async_stream_keeps_the_tasks_that_finished(
    saver: BaseCheckpointSaver, durability: str
) -> None:
    branches = TwoBranches(saver, is_async=True)
    stream = branches.graph.astream({"log": []}, thread(), durability=durability)
    assert await stream.__anext__() == {"quick": {"log": ["quick"]}}
    await stream.aclose()
    await branches.aassert_kept_then_resumed()


async def test_a_cancelled_ainvoke_keeps_the_tasks_that_finished(
    saver: BaseCheckpointSaver,
) -> None:
    branches = TwoBranches(saver, is_async=True)
    run = asyncio.create_task(branches.graph.ainvoke({"log": []}, thread()))
    while "quick" not in branches.calls or "slow" not in branches.calls:
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)  # (quick's writes are in once it returned)
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run
    await branches.aassert_kept_then_resumed()


def test_a_step_stopped_before_any_task_finished_keeps_nothing(
    saver: BaseCheckpointSaver,
) -> None:
    branches = TwoBranches(saver)
    graph = branches.graph
    stream = graph.stream({"log": []}, thread(), stream_mode="debug")
    assert next(stream)["type"] == "checkpoint"  # before the step's tasks run
    stream.close()
    state = graph.get_state(thread())
    assert (state.values, state.next) == ({"log": []}, ("quick", "slow"))


def test_what_a_stopped_step_kept_is_on_disk(tmp_path: Path) -> None:
    with LMDBSaver(tmp_path / "ckpt") as saver:
        branches = TwoBranches(saver)
        stream = branches.graph.stream({"log": []}, thread())
        next(stream)
        stream.close()
        state = branches.graph.get_state(thread())
        assert (state.values, state.next) == ({"log": ["quick"]}, ("slow",))
        branches.release.set()
        deadline = time.monotonic() + 5
        while branches.graph.get_state(thread()).next:  # until the late task is kept
            assert time.monotonic() < deadline
            time.sleep(0.01)
    with LMDBSaver(tmp_path / "ckpt") as reopened:
        again = TwoBranches(reopened)
        state = again.graph.get_state(thread())
        assert (state.values, state.next) == ({"log": ["quick", "slow"]}, ())
        assert again.graph.invoke(None, thread()) == {"log": ["quick", "slow", "after"]}
        assert again.calls == ["after"]


async def test_a_closed_traced_or_event_stream_keeps_the_tasks_that_finished() -> None:
    """The same through the runs that wrap the engine's: LangChain callbacks
    (``engine.callbacks``) and ``astream_events``."""
    callbacks = pytest.importorskip("langchain_core.callbacks")
    from graphkit.checkpoint.memory import InMemorySaver

    traced = TwoBranches(InMemorySaver(), is_async=True)
    config = {**thread(), "callbacks": [callbacks.BaseCallbackHandler()]}
    stream = traced.graph.astream({"log": []}, config)
    assert await stream.__anext__() == {"quick": {"log": ["quick"]}}
    await stream.aclose()
    await traced.aassert_kept_then_resumed()

    evented = TwoBranches(InMemorySaver(), is_async=True)
    events = evented.graph.astream_events({"log": []}, thread())
    async for event in events:
        if event["event"] == "on_chain_end" and event["name"] == "quick":
            break
    await events.aclose()
    await evented.aassert_kept_then_resumed()


@pytest.mark.parametrize("durability", ["sync", "async", "exit"])
def test_a_sync_task_that_finishes_after_its_stream_closed_is_kept_too(
    saver: BaseCheckpointSaver, durability: str
) -> None:
    """A worker thread cannot be stopped: what it finishes after the stream closed is
    kept as well (not with ``exit``, which keeps what the run had when it stopped)."""
    branches = TwoBranches(saver)
    graph = branches.graph
    stream = graph.stream({"log": []}, thread(), durability=durability)
    next(stream)
    stream.close()
    branches.release.set()
    kept = ("quick", "slow") if durability != "exit" else ("quick",)
    deadline = time.monotonic() + 5
    while len(graph.get_state(thread()).values["log"]) < len(kept):
        assert time.monotonic() < deadline, "the late task's writes never came"
        time.sleep(0.01)
    state = graph.get_state(thread())
    assert state.values == {"log": list(kept)}
    assert state.next == () if durability != "exit" else ("slow",)
    branches.calls.clear()
    assert graph.invoke(None, thread()) == {"log": ["quick", "slow", "after"]}
    assert branches.calls == (["after"] if durability != "exit" else ["slow", "after"])


async def test_a_subgraph_stopped_mid_step_resumes_without_running_its_finished_tasks(
    saver: BaseCheckpointSaver,
) -> None:
    branches = TwoBranches(saver, is_async=True)
    inner = branches.graph.builder.compile()  # the same nodes, as a subgraph
    outer = StateGraph(Log)
    outer.add_node("sub", inner)
    outer.add_edge(START, "sub")
    graph = outer.compile(checkpointer=saver)
    stream = graph.astream({"log": []}, thread(), subgraphs=True)
    namespace, chunk = await stream.__anext__()
    assert chunk == {"quick": {"log": ["quick"]}} and namespace != ()
    await stream.aclose()  # the client went away while the subgraph's ``slow`` runs
    # kept by the time aclose() returns (a client that reconnects at once resumes it)
    state = await graph.aget_state(thread(), subgraphs=True)
    assert state.tasks[0].state.next == ("slow",)  # type: ignore[union-attr]
    branches.release.set()
    branches.calls.clear()
    assert await graph.ainvoke(None, thread()) == {"log": ["quick", "slow", "after"]}
    assert branches.calls == ["slow", "after"]  # ``quick`` is not run again
