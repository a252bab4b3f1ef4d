"""A root state: ``StateGraph(T)`` for a type without fields is one value, not a dict.

Nodes receive the value and return the new value (merged by the reducer of
``Annotated[T, reducer]``); the run's input, its output, its streams and its
snapshots are that value itself.
"""

from __future__ import annotations

import asyncio
import operator
from typing import Annotated, Any

import pytest

from graphkit import END, START, Command, Send, StateGraph
from graphkit.checkpoint.memory import InMemorySaver
from graphkit.errors import InvalidReducerError


def appending() -> StateGraph[Any]:
    builder: StateGraph[Any] = StateGraph(Annotated[list, operator.add])  # type: ignore[arg-type]
    builder.add_node("a", lambda value: ["a"])
    builder.add_node("b", lambda value: [f"b saw {len(value)}"])
    builder.add_edge(START, "a")
    builder.add_edge("a", "b")
    return builder


def test_root_state_with_reducer_merges_each_node_return_into_the_value() -> None:
    assert appending().compile().invoke(["in"]) == ["in", "a", "b saw 2"]


def test_root_state_streams_the_value_and_each_node_return() -> None:
    chunks = list(appending().compile().stream(["in"], stream_mode=["values", "updates"]))
    assert chunks == [
        ("values", ["in"]),
        ("updates", {"a": ["a"]}),
        ("values", ["in", "a"]),
        ("updates", {"b": ["b saw 2"]}),
        ("values", ["in", "a", "b saw 2"]),
    ]


def test_root_state_without_reducer_keeps_the_last_value() -> None:
    builder: StateGraph[Any] = StateGraph(list[str])  # type: ignore[arg-type]
    builder.add_node("a", lambda value: [*value, "a"])
    builder.add_edge(START, "a")
    assert builder.compile().invoke(["x"]) == ["x", "a"]


def test_root_state_of_a_scalar_and_a_node_returning_none() -> None:
    builder: StateGraph[int] = StateGraph(int)
    builder.add_node("inc", lambda n: n + 1)
    builder.add_node("idle", lambda n: None)
    builder.add_edge(START, "inc")
    builder.add_edge("inc", "idle")
    graph = builder.compile()
    assert graph.invoke(1) == 2
    assert list(graph.stream(1)) == [{"inc": 2}, {"idle": None}]


def test_root_state_with_checkpointer_snapshot_and_update_state() -> None:
    graph = appending().compile(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "root"}}
    graph.invoke(["in"], config)
    assert graph.get_state(config).values == ["in", "a", "b saw 2"]
    graph.update_state(config, ["manual"])
    assert graph.get_state(config).values == ["in", "a", "b saw 2", "manual"]
    assert graph.invoke(["again"], config)[-3:] == ["again", "a", "b saw 6"]


def test_root_state_list_of_commands_and_values_applies_in_order() -> None:
    builder: StateGraph[Any] = StateGraph(Annotated[str, operator.add])  # type: ignore[arg-type]
    builder.add_node("a", lambda s: [Command(update="1"), "2", Command(update="3")])
    builder.add_edge(START, "a")
    graph = builder.compile()
    assert graph.invoke("") == "123"
    assert list(graph.stream("")) == [{"a": ["1", "2", "3"]}]


def test_root_state_branch_and_send_receive_the_value() -> None:
    builder: StateGraph[Any] = StateGraph(Annotated[list, operator.add])  # type: ignore[arg-type]
    builder.add_node("fan", lambda value: None)
    builder.add_node("work", lambda item: [item * 10])
    builder.add_edge(START, "fan")
    builder.add_conditional_edges("fan", lambda value: [Send("work", x) for x in value])
    assert builder.compile().invoke([1, 2]) == [1, 2, 10, 20]


def test_root_state_async_run() -> None:
    async def double(value: list[int]) -> list[int]:
        return list(value)

    builder: StateGraph[Any] = StateGraph(Annotated[list, operator.add])  # type: ignore[arg-type]
    builder.add_node("double", double)
    builder.add_edge(START, "double")
    builder.add_edge("double", END)
    assert asyncio.run(builder.compile().ainvoke([1])) == [1, 1]


def test_root_state_subgraph_node_passes_the_value_through() -> None:
    inner: StateGraph[Any] = StateGraph(Annotated[list, operator.add])  # type: ignore[arg-type]
    inner.add_node("inner", lambda value: ["inner"])
    inner.add_edge(START, "inner")
    outer: StateGraph[Any] = StateGraph(Annotated[list, operator.add])  # type: ignore[arg-type]
    outer.add_node("sub", inner.compile())
    outer.add_edge(START, "sub")
    # the subgraph returns its whole value, which the parent's reducer appends
    assert outer.compile().invoke(["x"]) == ["x", "x", "inner"]


def test_plain_class_with_annotations_is_a_dict_state() -> None:
    class Plain:
        info: Annotated[list[str], operator.add]

    seen: list[Any] = []
    builder: StateGraph[Plain] = StateGraph(Plain)
    builder.add_node("a", lambda s: seen.append(s) or {"info": ["x"]})
    builder.add_edge(START, "a")
    assert builder.compile().invoke({"info": ["y"]}) == {"info": ["y", "x"]}
    assert seen == [{"info": ["y"]}]


def test_root_state_reducer_is_checked() -> None:
    with pytest.raises(InvalidReducerError, match="Invalid reducer of key '__root__'"):
        StateGraph(Annotated[list, lambda only: only])  # type: ignore[arg-type]


def test_root_state_paused_run_returns_only_the_interrupts() -> None:
    from graphkit.types import interrupt

    builder: StateGraph[Any] = StateGraph(Annotated[list, operator.add])  # type: ignore[arg-type]
    builder.add_node("ask", lambda value: [interrupt("name?")])
    builder.add_edge(START, "ask")
    graph = builder.compile(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "ask"}}
    paused = graph.invoke(["hi"], config)
    assert [i.value for i in paused["__interrupt__"]] == ["name?"]
    assert graph.invoke(Command(resume="Ada"), config) == ["hi", "Ada"]
