"""graphkit.channels: LangGraph's channel classes declare how a state key merges writes."""

from __future__ import annotations

import operator
import threading
from typing import Annotated, Any

import pytest
from pydantic import BaseModel
from typing_extensions import TypedDict

from graphkit import START, StateGraph
from graphkit.channels import (
    AnyValue,
    BaseChannel,
    BinaryOperatorAggregate,
    DeltaChannel,
    EphemeralValue,
    LastValue,
    LastValueAfterFinish,
    NamedBarrierValue,
    Topic,
    UntrackedValue,
)
from graphkit.checkpoint.memory import InMemorySaver
from graphkit.errors import GraphCompileError, GraphkitError, InvalidUpdateError
from graphkit.types import Send


def _seen(state: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in state.items() if k != "log"}


def _chain(state: type, *nodes: Any) -> Any:
    """A graph running ``nodes`` one after another."""
    builder = StateGraph(state)
    previous = START
    for node in nodes:
        builder.add_node(node)
        builder.add_edge(previous, node.__name__)
        previous = node.__name__
    return builder


class OneStep(TypedDict, total=False):
    topic: Annotated[list[str], Topic(str)]
    any: Annotated[int, AnyValue(int)]
    ephemeral: Annotated[str, EphemeralValue(str)]
    kept: Annotated[list[str], Topic(str, accumulate=True)]
    log: Annotated[list[dict[str, Any]], operator.add]


def test_one_step_keys_hold_the_previous_steps_writes_and_clear_when_unwritten() -> None:
    def a(state: OneStep) -> dict[str, Any]:
        return {"topic": "a", "any": 1, "ephemeral": "from a", "kept": ["a1", "a2"],
                "log": [_seen(state)]}  # fmt: skip

    def b(state: OneStep) -> dict[str, Any]:
        return {"topic": ["b1", "b2"], "kept": "b", "log": [_seen(state)]}

    def c(state: OneStep) -> dict[str, Any]:
        return {"log": [_seen(state)]}

    out = _chain(OneStep, a, b, c).compile().invoke({"topic": ["x", "y"]})
    log = out.pop("log")
    assert log[0]["topic"] == ["x", "y"]  # the input is the first step's writes
    assert {k: log[1][k] for k in ("topic", "any", "ephemeral", "kept")} == {
        "topic": ["a"], "any": 1, "ephemeral": "from a", "kept": ["a1", "a2"]
    }  # fmt: skip
    assert log[2] == {"topic": ["b1", "b2"], "kept": ["a1", "a2", "b"]}
    assert out == {"kept": ["a1", "a2", "b"]}  # c wrote none of the one-step keys


class Parallel(TypedDict, total=False):
    any: Annotated[int, AnyValue(int)]
    topic: Annotated[list[int], Topic(int)]
    guarded: Annotated[int, EphemeralValue(int)]
    unguarded: Annotated[int, EphemeralValue(int, guard=False)]


def _fan_out(**writes: dict[str, Any]) -> Any:
    builder = StateGraph(Parallel)
    for name, update in writes.items():
        builder.add_node(name, lambda _s, update=update: update)
        builder.add_edge(START, name)
    return builder.compile()


def test_parallel_writes_any_value_keeps_the_last_topic_keeps_all() -> None:
    graph = _fan_out(x={"any": 1, "topic": 1, "unguarded": 1}, y={"any": 2, "topic": [2, 3],
                     "unguarded": 2})  # fmt: skip
    assert graph.invoke({}) == {"any": 2, "topic": [1, 2, 3], "unguarded": 2}


def test_a_guarded_ephemeral_value_takes_one_write_per_step() -> None:
    graph = _fan_out(x={"guarded": 1}, y={"guarded": 2})
    with pytest.raises(InvalidUpdateError, match="'guarded'"):
        graph.invoke({})


def test_binary_operator_aggregate_and_last_value_as_annotations() -> None:
    class State(TypedDict, total=False):
        total: Annotated[int, BinaryOperatorAggregate(int, operator.add)]
        names: Annotated[list[str], BinaryOperatorAggregate(list, operator.add)]
        last: Annotated[int, LastValue(int)]
        bare: Annotated[int, LastValue]  # a class gets the key's type

    def a(state: State) -> dict[str, Any]:
        return {"total": 2, "names": ["a"], "last": 1, "bare": 7}

    out = _chain(State, a).compile().invoke({"total": 1, "names": ["in"]})
    assert out == {"total": 3, "names": ["in", "a"], "last": 1, "bare": 7}


def test_a_last_value_key_rejects_two_writes_in_one_step() -> None:
    class State(TypedDict, total=False):
        v: Annotated[int, LastValue(int)]

    builder = StateGraph(State).add_node("x", lambda s: {"v": 1}).add_node("y", lambda s: {"v": 2})
    graph = builder.add_edge(START, "x").add_edge(START, "y").compile()
    with pytest.raises(InvalidUpdateError, match="INVALID_CONCURRENT_GRAPH_UPDATE"):
        graph.invoke({})


def test_delta_channel_gets_each_steps_writes_in_a_batch() -> None:
    batches: list[list[str]] = []

    def extend(current: list[str], writes: list[str]) -> list[str]:
        batches.append(list(writes))
        return current + writes

    class State(TypedDict, total=False):
        items: Annotated[list[str], DeltaChannel(extend)]

    def a(state: State) -> dict[str, Any]:
        return {"items": "a"}

    out = _chain(State, a).compile().invoke({"items": "in"})
    assert out == {"items": ["in", "a"]}
    assert batches == [["in"], ["a"]]


def test_delta_channel_rejects_a_non_positive_snapshot_frequency() -> None:
    with pytest.raises(GraphCompileError, match="snapshot_frequency"):
        DeltaChannel(operator.add, snapshot_frequency=0)


def test_a_pydantic_state_declares_keys_with_channels() -> None:
    class State(BaseModel):
        total: Annotated[int, BinaryOperatorAggregate(int, operator.add)] = 0
        note: Annotated[str | None, EphemeralValue(str)] = None

    def a(state: State) -> dict[str, Any]:
        return {"total": 5, "note": "hi"}

    def b(state: State) -> dict[str, Any]:
        return {"total": 1 if state.note == "hi" else 100}

    assert _chain(State, a, b).compile().invoke({"total": 1}) == {"total": 7}


class Untracked(TypedDict, total=False):
    log: Annotated[list[str], operator.add]
    resource: Annotated[Any, UntrackedValue]


class Resource:
    """Not serializable: it holds a lock."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.lock = threading.Lock()


def test_an_untracked_value_is_in_the_run_but_never_in_a_checkpoint() -> None:
    def setup(state: Untracked) -> dict[str, Any]:
        return {"log": ["setup"], "resource": Resource("session")}

    def use(state: Untracked) -> dict[str, Any]:
        return {"log": [f"used {state['resource'].name}"], "resource": Resource("next")}

    builder = _chain(Untracked, setup)
    builder.add_node(use).add_conditional_edges("setup", lambda s: [Send("use", s)])
    graph = builder.compile(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "t"}}
    out = graph.invoke({}, config)
    assert out["log"] == ["setup", "used session"] and out["resource"].name == "next"
    assert graph.get_state(config).values == {"log": ["setup", "used session"]}
    assert all(
        "resource" not in c.checkpoint["channel_values"] for c in graph.checkpointer.list(config)
    )


def test_a_cleared_key_is_gone_from_the_saved_state_too() -> None:
    def a(state: OneStep) -> dict[str, Any]:
        return {"topic": "a"}

    def b(state: OneStep) -> dict[str, Any]:
        return {"log": [_seen(state)]}

    graph = _chain(OneStep, a, b).compile(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "t"}}
    graph.invoke({}, config)
    states = list(graph.get_state_history(config))
    assert states[0].values == {"log": [{"topic": ["a"]}]}
    assert states[1].values["topic"] == ["a"]  # after a: the value b saw


@pytest.mark.parametrize("channel", [NamedBarrierValue(str, {"a"}), LastValueAfterFinish(str)])
def test_langgraphs_edge_channels_cannot_declare_a_key(channel: BaseChannel[Any, Any, Any]) -> None:
    class State(TypedDict):
        x: Annotated[str, channel]

    with pytest.raises(GraphCompileError, match=r"add_edge\(\['a', 'b'\], 'c'\)"):
        StateGraph(State)


def test_a_channel_class_of_ones_own_says_to_use_a_reducer() -> None:
    class Custom(BaseChannel[int, int, int]):
        pass

    class State(TypedDict):
        x: Annotated[int, Custom(int)]

    with pytest.raises(GraphkitError, match="Declare the key with a reducer"):
        StateGraph(State)


def test_channels_compare_and_describe_their_types_as_langgraphs_do() -> None:
    assert Topic(str) == Topic(int) and Topic(str) != Topic(str, accumulate=True)
    assert EphemeralValue(int) != EphemeralValue(int, guard=False)
    assert BinaryOperatorAggregate(int, operator.add) != BinaryOperatorAggregate(int, operator.mul)
    assert LastValue(int).ValueType is int and LastValue(int).UpdateType is int
    assert Topic(str).UpdateType == str | list[str]
    assert BinaryOperatorAggregate(list[int], operator.add).typ is list


def test_a_pydantic_state_takes_a_topics_input_as_its_first_write() -> None:
    class State(BaseModel):
        events: Annotated[list[str], Topic(str, accumulate=True)] = []
        flash: Annotated[list[str], Topic(str)] = []

    def a(state: State) -> dict[str, Any]:
        return {"events": "a", "flash": "f"}

    def b(state: State) -> dict[str, Any]:
        return {"events": [f"b saw {state.flash}"]}

    out = _chain(State, a, b).compile().invoke({"events": "in"})
    assert out == {"events": ["in", "a", "b saw ['f']"]}
