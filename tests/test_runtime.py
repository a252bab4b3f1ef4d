"""Running graphs: supersteps, routing, reducers, errors, retries, async, batch."""

from __future__ import annotations

import asyncio
import dataclasses
import operator
import threading
import time
from typing import Annotated, Any, TypedDict

import pytest
from pydantic import BaseModel

from graphkit import (
    END,
    START,
    Command,
    EmptyInputError,
    GraphRecursionError,
    InvalidUpdateError,
    Overwrite,
    RetryPolicy,
    Send,
    StateGraph,
    get_config,
)
from graphkit.checkpoint.memory import InMemorySaver
from graphkit.config import RunnableConfig
from graphkit.stores.serde import register


class State(TypedDict, total=False):
    x: int
    log: Annotated[list[str], operator.add]


def writer(name: str) -> Any:
    def node(state: State) -> dict[str, Any]:
        return {"log": [name]}

    node.__name__ = name
    return node


def test_parallel_branches_join_and_reducer_order_is_by_node_name() -> None:
    builder = StateGraph(State)
    for name in ("a", "c", "b", "d"):
        builder.add_node(name, writer(name))
    builder.add_edge(START, "a")
    builder.add_edge("a", "c")
    builder.add_edge("a", "b")
    builder.add_edge(["b", "c"], "d")
    assert builder.compile().invoke({"x": 1}) == {"x": 1, "log": ["a", "b", "c", "d"]}


def test_join_waits_for_sources_that_finish_in_different_steps() -> None:
    builder = StateGraph(State)
    for name in ("a", "b", "b2", "j"):
        builder.add_node(name, writer(name))
    builder.add_edge(START, "a")
    builder.add_edge(START, "b")
    builder.add_edge("b", "b2")
    builder.add_edge(["a", "b2"], "j")
    assert builder.compile().invoke({})["log"] == ["a", "b", "b2", "j"]


def test_plain_fan_in_runs_target_once_per_step() -> None:
    builder = StateGraph(State)
    for name in ("a", "b", "c"):
        builder.add_node(name, writer(name))
    builder.add_edge(START, "a")
    builder.add_edge(START, "b")
    builder.add_edge("a", "c")
    builder.add_edge("b", "c")
    assert builder.compile().invoke({})["log"] == ["a", "b", "c"]


def test_conditional_edges_with_path_map_list_and_end() -> None:
    builder = StateGraph(State)
    for name in ("a", "left", "right"):
        builder.add_node(name, writer(name))
    builder.add_edge(START, "a")
    builder.add_conditional_edges(
        "a",
        lambda s: ["L", "R"] if s["x"] > 0 else "stop",
        {"L": "left", "R": "right", "stop": END},
    )
    graph = builder.compile()
    assert graph.invoke({"x": 1})["log"] == ["a", "left", "right"]
    assert graph.invoke({"x": 0})["log"] == ["a"]


def test_branch_sees_the_state_with_its_node_update_applied() -> None:
    builder = StateGraph(State)
    builder.add_node("inc", lambda s: {"x": s["x"] + 1})
    builder.add_edge(START, "inc")
    builder.add_conditional_edges("inc", lambda s: "inc" if s["x"] < 5 else END)
    assert builder.compile().invoke({"x": 0}) == {"x": 5, "log": []}


def test_send_fans_out_with_per_task_input() -> None:
    class Fan(TypedDict):
        items: list[int]
        out: Annotated[list[int], operator.add]

    builder = StateGraph(Fan)
    builder.add_node("square", lambda n: {"out": [n * n]})
    builder.add_conditional_edges(START, lambda s: [Send("square", i) for i in s["items"]])
    assert builder.compile().invoke({"items": [3, 1, 2]})["out"] == [9, 1, 4]


def test_command_updates_and_routes() -> None:
    builder = StateGraph(State)

    def decide(state: State) -> Command[Any]:
        return Command(update={"log": ["decide"]}, goto=["b", Send("c", {"log": []})])

    builder.add_node(decide)
    builder.add_node("b", writer("b"))
    builder.add_node("c", writer("c"))
    builder.add_edge(START, "decide")
    assert builder.compile().invoke({})["log"] == ["decide", "b", "c"]


def test_command_to_unknown_node_names_node_and_target() -> None:
    builder = StateGraph(State)
    builder.add_node("a", lambda s: Command(goto="nowhere"))
    builder.add_edge(START, "a")
    with pytest.raises(InvalidUpdateError, match="'a' routed to unknown node 'nowhere'"):
        builder.compile().invoke({})


def test_two_writes_to_last_value_key_name_key_and_nodes() -> None:
    builder = StateGraph(State)
    builder.add_node("a", lambda s: {"x": 1})
    builder.add_node("b", lambda s: {"x": 2})
    builder.add_edge(START, "a")
    builder.add_edge(START, "b")
    with pytest.raises(InvalidUpdateError, match=r"At key 'x': written by \['a', 'b'\]"):
        builder.compile().invoke({})


def test_recursion_limit_names_limit_and_fix() -> None:
    builder = StateGraph(State)
    builder.add_node("spin", lambda s: {"x": s["x"] + 1})
    builder.add_edge(START, "spin")
    builder.add_edge("spin", "spin")
    with pytest.raises(GraphRecursionError, match="Recursion limit of 7.*recursion_limit"):
        builder.compile().invoke({"x": 0}, {"recursion_limit": 7})


def test_recursion_limit_counts_the_input_step_as_langgraph_does() -> None:
    builder = StateGraph(State)
    builder.add_node("inc", lambda s: {"x": s["x"] + 1})
    builder.add_edge(START, "inc")
    builder.add_conditional_edges("inc", lambda s: "inc" if s["x"] < 10 else END)
    graph = builder.compile()
    assert graph.invoke({"x": 0}, {"recursion_limit": 11})["x"] == 10  # 10 node steps
    with pytest.raises(GraphRecursionError):
        graph.invoke({"x": 0}, {"recursion_limit": 10})


def test_input_key_no_schema_declares_is_rejected_before_running() -> None:
    ran: list[str] = []
    builder = StateGraph(State)
    builder.add_node("a", lambda s: ran.append("a"))
    builder.add_edge(START, "a")
    with pytest.raises(InvalidUpdateError, match="Input key 'y' is not a key of this graph"):
        builder.compile().invoke({"y": 1})
    assert ran == []


def test_non_dict_input_is_rejected() -> None:
    builder = StateGraph(State)
    builder.add_node("a", writer("a"))
    builder.add_edge(START, "a")
    with pytest.raises(InvalidUpdateError, match="must be a dict"):
        builder.compile().invoke(42)


def test_node_returning_non_dict_names_the_node() -> None:
    builder = StateGraph(State)
    builder.add_node("bad", lambda s: "oops")
    builder.add_edge(START, "bad")
    with pytest.raises(InvalidUpdateError, match="Node 'bad' returned str"):
        builder.compile().invoke({})


def test_node_writing_unknown_key_names_node_and_key() -> None:
    builder = StateGraph(State)
    builder.add_node("bad", lambda s: {"typo": 1})
    builder.add_edge(START, "bad")
    with pytest.raises(InvalidUpdateError, match="Node 'bad' wrote key 'typo'"):
        builder.compile().invoke({})


def test_node_exception_keeps_type_and_names_node() -> None:
    builder = StateGraph(State)
    builder.add_node("a", writer("a"))

    def explode(state: State) -> None:
        raise KeyError("inner")

    builder.add_node(explode)
    builder.add_edge(START, "a")
    builder.add_edge("a", "explode")
    with pytest.raises(KeyError) as info:
        builder.compile().invoke({})
    assert any("'explode'" in note for note in info.value.__notes__)


def test_failed_step_leaves_state_of_last_completed_step() -> None:
    from graphkit.stores import InMemorySaver

    builder = StateGraph(State)
    builder.add_node("a", writer("a"))
    builder.add_node("b", writer("b"))
    builder.add_node("boom", lambda s: 1 / 0)
    builder.add_edge(START, "a")
    builder.add_edge("a", "b")
    builder.add_edge("a", "boom")
    graph = builder.compile(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "t"}}
    with pytest.raises(ZeroDivisionError):
        graph.invoke({}, config)
    live = graph.get_state(config)
    # The saved checkpoint is the last completed step; "b" finished in the failed
    # step, so (as in LangGraph) the live view shows its write as pending.
    assert graph.get_state(live.config).values["log"] == ["a"]
    assert live.values["log"] == ["a", "b"] and live.next == ("boom",)


def test_get_config_inside_node_has_node_metadata() -> None:
    seen: dict[str, Any] = {}
    builder = StateGraph(State)

    def look(state: State, config: dict[str, Any]) -> None:
        seen["param"] = config["metadata"]["langgraph_node"]
        seen["ctx"] = get_config()["metadata"]["langgraph_step"]
        seen["tag"] = config["tags"]

    builder.add_node(look)
    builder.add_edge(START, "look")
    builder.compile().invoke({}, {"tags": ["t1"]})
    assert seen == {"param": "look", "ctx": 1, "tag": ["t1"]}  # LangGraph's step numbers


def test_get_config_outside_a_run_is_a_clear_error() -> None:
    with pytest.raises(RuntimeError, match="outside a running graph"):
        get_config()


def test_retry_policy_retries_then_succeeds() -> None:
    attempts: list[int] = []

    def flaky(state: State) -> dict[str, Any]:
        attempts.append(1)
        if len(attempts) < 3:
            raise ConnectionError("transient")
        return {"x": len(attempts)}

    builder = StateGraph(State)
    builder.add_node("flaky", flaky, retry_policy=RetryPolicy(initial_interval=0.001, jitter=False))
    builder.add_edge(START, "flaky")
    assert builder.compile().invoke({})["x"] == 3


def test_retry_policy_gives_up_after_max_attempts_and_skips_other_errors() -> None:
    attempts: list[int] = []

    def always(state: State) -> None:
        attempts.append(1)
        raise ConnectionError("down")

    builder = StateGraph(State)
    builder.add_node(
        "always",
        always,
        retry_policy=RetryPolicy(
            max_attempts=2, initial_interval=0.001, jitter=False, retry_on=ConnectionError
        ),
    )
    builder.add_edge(START, "always")
    with pytest.raises(ConnectionError):
        builder.compile().invoke({})
    assert len(attempts) == 2
    assert not RetryPolicy().should_retry(ValueError("bug"))


def test_deferred_node_runs_after_all_other_work() -> None:
    builder = StateGraph(State)
    for name in ("a", "b", "b2", "b3"):
        builder.add_node(name, writer(name))
    builder.add_node("final", writer("final"), defer=True)
    builder.add_edge(START, "a")
    builder.add_edge(START, "b")
    builder.add_edge("b", "b2")
    builder.add_edge("b2", "b3")
    builder.add_edge("a", "final")
    builder.add_edge("b3", "final")
    assert builder.compile().invoke({})["log"] == ["a", "b", "b2", "b3", "final"]


def test_overwrite_bypasses_the_reducer() -> None:
    builder = StateGraph(State)
    builder.add_node("a", writer("a"))
    builder.add_node("reset", lambda s: {"log": Overwrite(["fresh"])})
    builder.add_edge(START, "a")
    builder.add_edge("a", "reset")
    assert builder.compile().invoke({"log": ["old"]})["log"] == ["fresh"]


def test_input_and_output_schemas_filter_and_private_keys_flow_between_nodes() -> None:
    class In(TypedDict):
        question: str

    class Out(TypedDict):
        answer: str

    class Overall(In, Out):
        pass

    class Private(TypedDict):
        scratch: str

    def think(state: In) -> Private:
        return {"scratch": state["question"].upper()}

    def reply(state: Private) -> Out:
        return {"answer": state["scratch"] + "!"}

    builder = StateGraph(Overall, input_schema=In, output_schema=Out)
    builder.add_node(think)
    builder.add_node(reply)
    builder.add_edge(START, "think")
    builder.add_edge("think", "reply")
    graph = builder.compile()
    assert graph.invoke({"question": "hi"}) == {"answer": "HI!"}
    # a state key outside the input schema is dropped from the input, as in LangGraph
    assert graph.invoke({"question": "hi", "answer": "x", "scratch": "y"}) == {"answer": "HI!"}
    with pytest.raises(InvalidUpdateError, match="'typo' is not a key of this graph's state"):
        graph.invoke({"question": "hi", "typo": "x"})


def test_get_state_shows_private_keys_as_langgraph_does() -> None:
    class Overall(TypedDict):
        question: str

    class Private(TypedDict):
        scratch: str

    def think(state: Overall) -> Private:
        return {"scratch": state["question"].upper()}

    builder = StateGraph(Overall)
    builder.add_node(think)
    builder.add_edge(START, "think")
    graph = builder.compile(checkpointer=InMemorySaver())
    config: RunnableConfig = {"configurable": {"thread_id": "t"}}
    graph.invoke({"question": "hi"}, config)
    assert graph.get_state(config).values == {"question": "hi", "scratch": "HI"}
    newest = next(iter(graph.get_state_history(config)))
    assert newest.values == {"question": "hi", "scratch": "HI"}


def test_nodes_see_state_keys_in_schema_order_as_langgraph_does() -> None:
    class Ordered(TypedDict, total=False):
        a: int
        b: int
        log: Annotated[list[str], operator.add]
        c: int

    seen: list[list[str]] = []

    def first(state: Ordered) -> dict[str, Any]:
        seen.append(list(state))
        return {"c": 1, "a": 5}

    def second(state: Ordered) -> dict[str, Any]:
        seen.append(list(state))
        return {}

    builder = StateGraph(Ordered)
    builder.add_node(first)
    builder.add_node(second)
    builder.add_edge(START, "first")
    builder.add_edge("first", "second")
    graph = builder.compile(checkpointer=InMemorySaver())
    config: RunnableConfig = {"configurable": {"thread_id": "t"}}
    graph.invoke({"c": 3, "b": 1}, config)  # input and writes in another order
    graph.invoke({"b": 2}, config)  # from the saved thread
    assert seen == [["b", "log", "c"], ["a", "b", "log", "c"]] + [["a", "b", "log", "c"]] * 2


def test_pydantic_node_may_return_a_model_instance() -> None:
    class PState(BaseModel):
        a: int = 0
        b: str | None = None

    builder = StateGraph(PState)
    builder.add_node("n", lambda s: PState(a=s.a + 1))
    builder.add_edge(START, "n")
    assert builder.compile().invoke(PState(a=1)) == {"a": 2}


def test_dataclass_state() -> None:
    @dataclasses.dataclass
    class DState:
        name: str
        greeting: str = ""

    builder = StateGraph(DState)
    builder.add_node("greet", lambda s: {"greeting": f"hi {s.name}"})
    builder.add_edge(START, "greet")
    assert builder.compile().invoke({"name": "bo"}) == {"name": "bo", "greeting": "hi bo"}


def test_sync_nodes_of_one_step_run_in_parallel_threads() -> None:
    barrier = threading.Barrier(2, timeout=5)

    def meet(name: str) -> Any:
        def node(state: State) -> dict[str, Any]:
            barrier.wait()  # deadlocks (then times out) unless both run at once
            return {"log": [name]}

        return node

    builder = StateGraph(State)
    builder.add_node("a", meet("a"))
    builder.add_node("b", meet("b"))
    builder.add_edge(START, "a")
    builder.add_edge(START, "b")
    assert builder.compile().invoke({})["log"] == ["a", "b"]


def test_blocking_sends_all_run_at_once_and_quick_ones_all_run() -> None:
    width = 6  # within the default worker count (cpus + 4) plus the caller's thread
    barrier = threading.Barrier(width, timeout=10)

    class Fan(TypedDict):
        items: list[int]
        out: Annotated[list[int], operator.add]

    def wait_for_all(item: int) -> dict[str, Any]:
        barrier.wait()  # breaks (then raises) unless every task is in flight together
        return {"out": [item]}

    def double(item: int) -> dict[str, Any]:
        return {"out": [item * 2]}

    for node, expected in ((wait_for_all, list(range(width))), (double, [0, 2, 4, 6, 8, 10])):
        builder = StateGraph(Fan)
        builder.add_node("work", node)
        builder.add_conditional_edges(START, lambda s: [Send("work", i) for i in s["items"]])
        graph = builder.compile()
        assert graph.invoke({"items": list(range(width))})["out"] == expected


def test_blocking_sends_get_helpers_after_the_overseer_has_gone_idle() -> None:
    """Quick fan-outs run on the caller's thread; the overseer thread that brings helpers
    to a stalled step sleeps when no step runs, and a blocking step wakes it."""
    from graphkit.engine import threads

    class Fan(TypedDict):
        items: list[int]
        out: Annotated[list[int], operator.add]

    barrier = threading.Barrier(3, timeout=10)

    def wait_for_all(item: int) -> dict[str, Any]:
        barrier.wait()
        return {"out": [item]}

    builder = StateGraph(Fan)
    builder.add_node("work", wait_for_all)
    builder.add_conditional_edges(START, lambda s: [Send("work", i) for i in s["items"]])
    graph = builder.compile()
    for _ in range(2):
        deadline = time.monotonic() + 5
        while not threads.OVERSEER.parked and time.monotonic() < deadline:
            time.sleep(threads.PERIOD * threads.LINGER / 4)
        assert threads.OVERSEER.parked
        assert graph.invoke({"items": [0, 1, 2]})["out"] == [0, 1, 2]


def test_the_overseer_parks_while_every_task_of_a_long_step_is_under_way() -> None:
    """Once all of a step's tasks have started there is no helper to bring: the overseer
    stops looking at the step (no wake-up every millisecond during a long LLM call)."""
    from graphkit.engine import threads

    class Fan(TypedDict):
        out: Annotated[list[int], operator.add]

    release = threading.Event()
    started = threading.Barrier(4, timeout=10)

    def blocked(item: int) -> dict[str, Any]:
        started.wait()
        release.wait(10)
        return {"out": [item]}

    builder = StateGraph(Fan)
    builder.add_node("work", blocked)
    builder.add_conditional_edges(START, lambda s: [Send("work", i) for i in range(3)])
    graph = builder.compile()
    runner = threading.Thread(target=lambda: graph.invoke({"out": []}))
    runner.start()
    try:
        started.wait()  # all three tasks are running
        deadline = time.monotonic() + 5
        while not threads.OVERSEER.parked and time.monotonic() < deadline:
            time.sleep(threads.PERIOD * threads.LINGER / 4)
        assert threads.OVERSEER.parked and not threads.OVERSEER.batches
    finally:
        release.set()
        runner.join(10)


async def test_async_nodes_run_concurrently_and_sync_invoke_is_refused() -> None:
    events = {"a": asyncio.Event(), "b": asyncio.Event()}

    def meet(me: str, other: str) -> Any:
        async def node(state: State) -> dict[str, Any]:
            events[me].set()
            await asyncio.wait_for(events[other].wait(), 5)
            return {"log": [me]}

        return node

    builder = StateGraph(State)
    builder.add_node("a", meet("a", "b"))
    builder.add_node("b", meet("b", "a"))
    builder.add_edge(START, "a")
    builder.add_edge(START, "b")
    graph = builder.compile()
    assert (await graph.ainvoke({}))["log"] == ["a", "b"]
    with pytest.raises(TypeError, match="can only run with ainvoke"):
        graph.invoke({})


async def test_ainvoke_mixes_sync_and_async_nodes_and_astream_updates() -> None:
    async def slow(state: State) -> dict[str, Any]:
        await asyncio.sleep(0)
        return {"log": ["slow"]}

    builder = StateGraph(State)
    builder.add_node(slow)
    builder.add_node("fast", writer("fast"))
    builder.add_node("after", writer("after"))
    builder.add_edge(START, "slow")
    builder.add_edge(START, "fast")
    builder.add_edge(["slow", "fast"], "after")
    graph = builder.compile()
    chunks = [c async for c in graph.astream({})]
    # the two parallel tasks stream as each finishes (either may be first); "after" waits
    assert sorted(chunks[:2], key=str) == [{"fast": {"log": ["fast"]}}, {"slow": {"log": ["slow"]}}]
    assert chunks[2:] == [{"after": {"log": ["after"]}}]


def test_batch_and_abatch_keep_input_order() -> None:
    builder = StateGraph(State)
    builder.add_node("double", lambda s: {"x": s["x"] * 2})
    builder.add_edge(START, "double")
    graph = builder.compile()
    assert [o["x"] for o in graph.batch([{"x": i} for i in range(5)])] == [0, 2, 4, 6, 8]
    results = asyncio.run(graph.abatch([{"x": 1}, {"x": "a"}, {"x": 3}]))
    assert [r["x"] for r in results] == [2, "aa", 6]


def test_batch_return_exceptions() -> None:
    builder = StateGraph(State)
    builder.add_node("inv", lambda s: {"x": 1 // s["x"]})
    builder.add_edge(START, "inv")
    out = builder.compile().batch([{"x": 1}, {"x": 0}], return_exceptions=True)
    assert out[0]["x"] == 1 and isinstance(out[1], ZeroDivisionError)


def test_invoke_none_without_checkpointer_is_a_clear_error() -> None:
    builder = StateGraph(State)
    builder.add_node("a", writer("a"))
    builder.add_edge(START, "a")
    with pytest.raises(EmptyInputError, match="no checkpointer"):
        builder.compile().invoke(None)


def test_node_may_take_no_arguments_and_return_none() -> None:
    calls: list[int] = []
    builder = StateGraph(State)
    builder.add_node("tick", lambda: calls.append(1))
    builder.add_edge(START, "tick")
    assert builder.compile().invoke({"x": 3}) == {"x": 3, "log": []}
    assert calls == [1]


def test_subgraph_as_a_node() -> None:
    inner = StateGraph(State)
    inner.add_node("i1", writer("i1"))
    inner.add_node("i2", writer("i2"))
    inner.add_edge(START, "i1")
    inner.add_edge("i1", "i2")
    outer = StateGraph(State)
    outer.add_node("before", writer("before"))
    outer.add_node("sub", inner.compile())
    outer.add_edge(START, "before")
    outer.add_edge("before", "sub")
    # The subgraph returns its whole state; the outer reducer appends it.
    assert outer.compile().invoke({})["log"] == ["before", "before", "i1", "i2"]


def test_many_parallel_tasks_all_complete() -> None:
    class Fan(TypedDict):
        out: Annotated[list[int], operator.add]

    def work(n: int) -> dict[str, list[int]]:
        time.sleep(0.001)
        return {"out": [n]}

    builder = StateGraph(Fan)
    builder.add_node("work", work)
    builder.add_conditional_edges(START, lambda s: [Send("work", i) for i in range(200)])
    assert builder.compile().invoke({})["out"] == list(range(200))


def test_command_parent_routes_in_the_parent_graph() -> None:
    inner = StateGraph(State)
    inner.add_node(
        "escalate",
        lambda s: Command(graph=Command.PARENT, goto="handler", update={"log": ["escalated"]}),
    )
    inner.add_edge(START, "escalate")
    outer = StateGraph(State)
    outer.add_node("sub", inner.compile())
    outer.add_node("handler", writer("handler"))
    outer.add_edge(START, "sub")
    assert outer.compile().invoke({})["log"] == ["escalated", "handler"]


def test_command_parent_in_a_top_level_graph_is_a_clear_error() -> None:
    builder = StateGraph(State)
    builder.add_node("a", lambda s: Command(graph=Command.PARENT, goto="a"))
    builder.add_edge(START, "a")
    with pytest.raises(InvalidUpdateError, match="not running as a subgraph"):
        builder.compile().invoke({})


def test_join_sources_finishing_in_one_step_complete_it_once() -> None:
    # q runs alone, then p and q together: the join fires once and q's second run is
    # not carried into another round (LangGraph's barrier is a set), so when r leads
    # back to p, p alone does not fire the join again.
    class Log(TypedDict, total=False):
        log: Annotated[list[str], operator.add]

    builder = StateGraph(Log)
    for name in ("p", "q", "hop", "r"):
        builder.add_node(name, lambda s, name=name: {"log": [name]})
    builder.add_edge(START, "q")
    builder.add_edge(START, "hop")
    builder.add_edge("hop", "p")
    builder.add_edge("hop", "q")
    builder.add_edge(["p", "q"], "r")
    builder.add_edge("r", "p")
    assert builder.compile().invoke({"log": []})["log"] == ["hop", "q", "p", "q", "r", "p"]


def test_pydantic_defaults_are_not_written_as_input() -> None:
    class PState(BaseModel):
        name: str
        mood: str = "calm"

    builder = StateGraph(PState)
    seen: list[str] = []

    def look(state: PState) -> None:
        seen.append(state.mood)  # the node still sees the default

    builder.add_node(look)
    builder.add_edge(START, "look")
    assert builder.compile().invoke({"name": "ann"}) == {"name": "ann"}
    assert seen == ["calm"]


def test_pydantic_input_may_leave_out_a_reducer_key_it_starts_empty() -> None:
    from pydantic import BaseModel

    class Notes(BaseModel):
        items: Annotated[list[str], operator.add]
        title: str = ""

    builder = StateGraph(Notes)
    builder.add_node("add", lambda s: {"items": [f"{len(s.items)}"]})
    builder.add_edge(START, "add")
    assert builder.compile().invoke({"title": "t"}) == {"items": ["0"], "title": "t"}


class _Marker:
    """Something a state can hold, a saver store and a weak reference watch."""


register(_Marker, "tests.test_runtime:_Marker")


class _HeldState(TypedDict):
    held: Any


def _drop_result(graph: Any, how: str, config: dict[str, Any]) -> None:
    if how == "invoke":
        graph.invoke({"held": None}, config)
    elif how == "stream":
        list(graph.stream({"held": None}, config, stream_mode=["values", "updates", "debug"]))
    else:
        asyncio.run(graph.ainvoke({"held": None}, config))


@pytest.mark.parametrize("saver", [None, "memory"])
@pytest.mark.parametrize("how", ["invoke", "stream", "ainvoke"])
def test_a_finished_run_frees_its_state_without_a_cyclic_collection(
    saver: str | None, how: str
) -> None:
    """A run is no reference cycle (its context reaches it by weak reference): when
    ``invoke`` returns and the caller drops the output, the state goes at once, not at
    the next collection (a long history would otherwise pile up till then)."""
    import gc
    import weakref

    from graphkit.checkpoint.memory import InMemorySaver

    watched: list[weakref.ref[_Marker]] = []

    def make(state: _HeldState) -> dict[str, Any]:
        marker = _Marker()
        watched.append(weakref.ref(marker))
        return {"held": marker}

    builder = StateGraph(_HeldState)
    builder.add_node("make", make)
    builder.add_edge(START, "make")
    graph = builder.compile(checkpointer=InMemorySaver() if saver else None)
    config = {"configurable": {"thread_id": "t"}}
    _drop_result(graph, how, config)  # warm: the first run may make lasting objects
    gc.collect()
    gc.disable()
    try:
        _drop_result(graph, how, config)
        assert len(watched) == 2 and watched[1]() is None
    finally:
        gc.enable()


def test_the_state_reader_of_a_finished_run_says_the_run_is_over() -> None:
    from graphkit.context import CURRENT_TASK
    from graphkit.errors import RunContextError

    kept: list[Any] = []

    def node(state: State) -> dict[str, Any]:
        run = CURRENT_TASK.get().run
        assert run.read_state is not None and run.steps_left is not None
        assert run.read_state()["x"] == 1 and run.steps_left() > 0
        kept.append(run)
        return {"log": ["n"]}

    builder = StateGraph(State)
    builder.add_node("n", node)
    builder.add_edge(START, "n")
    builder.compile().invoke({"x": 1})
    assert kept[0].read_state is not None
    with pytest.raises(RunContextError, match="has finished"):
        kept[0].read_state()
