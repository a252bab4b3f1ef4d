"""A compiled subgraph used as a node: which parent keys it reads, which it hands back.

It reads the parent keys its input schema shares and returns only the keys of its
output that the parent's state has; its private keys never reach the parent.
"""

from __future__ import annotations

import asyncio
from typing import Any, TypedDict

import pytest
from pydantic import BaseModel

from graphkit import START, InvalidUpdateError, StateGraph
from graphkit.checkpoint.memory import InMemorySaver


class Parent(TypedDict):
    foo: str


class Sub(TypedDict):
    foo: str
    bar: str


def sub_1(state: Sub) -> dict[str, Any]:
    return {"bar": "bar"}


def sub_2(state: Sub) -> dict[str, Any]:
    return {"foo": state["foo"] + state["bar"]}


def subgraph(**schemas: Any) -> Any:
    builder = StateGraph(Sub, **schemas)
    builder.add_node(sub_1)
    builder.add_node(sub_2)
    builder.add_edge(START, "sub_1")
    builder.add_edge("sub_1", "sub_2")
    return builder.compile()


def documented_example(checkpointer: Any = None) -> Any:
    """LangGraph's how-to: parent {foo}, subgraph {foo, bar} added as a node."""
    builder = StateGraph(Parent)
    builder.add_node("node_1", lambda s: {"foo": "hi! " + s["foo"]})
    builder.add_node("node_2", subgraph())
    builder.add_edge(START, "node_1")
    builder.add_edge("node_1", "node_2")
    return builder.compile(checkpointer=checkpointer)


def test_subgraph_private_key_stays_in_the_subgraph() -> None:
    assert documented_example().invoke({"foo": "foo"}) == {"foo": "hi! foobar"}


def test_subgraph_private_key_stays_private_in_async_runs() -> None:
    result = asyncio.run(documented_example().ainvoke({"foo": "foo"}))
    assert result == {"foo": "hi! foobar"}


def test_subgraph_updates_stream_shows_only_the_shared_keys() -> None:
    chunks = list(documented_example().stream({"foo": "x"}, subgraphs=True))
    inner = [chunk for ns, chunk in chunks if ns]
    outer = [chunk for ns, chunk in chunks if not ns]
    assert inner == [{"sub_1": {"bar": "bar"}}, {"sub_2": {"foo": "hi! xbar"}}]
    assert outer == [{"node_1": {"foo": "hi! x"}}, {"node_2": {"foo": "hi! xbar"}}]


def test_subgraph_values_stream_shows_private_keys_only_under_its_namespace() -> None:
    chunks = list(documented_example().stream({"foo": "x"}, stream_mode="values", subgraphs=True))
    assert [c for ns, c in chunks if not ns] == [
        {"foo": "x"},
        {"foo": "hi! x"},
        {"foo": "hi! xbar"},
    ]
    assert [c for ns, c in chunks if ns][-1] == {"foo": "hi! xbar", "bar": "bar"}


def test_subgraph_private_key_is_not_saved_in_the_parent_checkpoint() -> None:
    graph = documented_example(InMemorySaver())
    config = {"configurable": {"thread_id": "1"}}
    assert graph.invoke({"foo": "x"}, config) == {"foo": "hi! xbar"}
    assert graph.get_state(config).values == {"foo": "hi! xbar"}
    # a second run of the thread starts the subgraph's private key afresh
    assert graph.invoke({"foo": "y"}, config) == {"foo": "hi! ybar"}


def test_parent_key_the_subgraph_lacks_is_not_passed_and_kept() -> None:
    class Wide(TypedDict):
        foo: str
        extra: int

    seen: list[dict[str, Any]] = []

    def look(state: Sub) -> None:
        seen.append(dict(state))

    inner = StateGraph(Sub)
    inner.add_node(look)
    inner.add_node(sub_1)
    inner.add_edge(START, "look")
    inner.add_edge("look", "sub_1")
    builder = StateGraph(Wide)
    builder.add_node("sub", inner.compile())
    builder.add_edge(START, "sub")
    assert builder.compile().invoke({"foo": "a", "extra": 3}) == {"foo": "a", "extra": 3}
    assert seen == [{"foo": "a"}]


def test_subgraph_output_schema_limits_what_the_parent_gets() -> None:
    class OnlyBar(TypedDict):
        bar: str

    class Both(TypedDict):
        foo: str
        bar: str

    builder = StateGraph(Both)
    builder.add_node("sub", subgraph(output_schema=OnlyBar))
    builder.add_edge(START, "sub")
    graph = builder.compile()
    # sub_2 changed foo inside the subgraph, but foo is not in its output schema
    assert graph.invoke({"foo": "a"}) == {"foo": "a", "bar": "bar"}
    assert list(graph.stream({"foo": "a"})) == [{"sub": {"bar": "bar"}}]


def test_subgraph_output_without_a_shared_key_is_no_update() -> None:
    class Elsewhere(TypedDict):
        bar: str

    builder = StateGraph(Parent)
    builder.add_node("sub", subgraph(output_schema=Elsewhere))
    builder.add_edge(START, "sub")
    assert list(builder.compile().stream({"foo": "a"})) == [{"sub": None}]


def test_nested_two_levels_each_keeps_its_private_keys() -> None:
    class Middle(TypedDict):
        foo: str
        mid: str

    middle = StateGraph(Middle)
    middle.add_node("mark", lambda s: {"mid": "m"})
    middle.add_node("inner", subgraph())
    middle.add_node("join", lambda s: {"foo": s["foo"] + "|" + s["mid"]})
    middle.add_edge(START, "mark")
    middle.add_edge("mark", "inner")
    middle.add_edge("inner", "join")
    builder = StateGraph(Parent)
    builder.add_node("outer", middle.compile())
    builder.add_edge(START, "outer")
    graph = builder.compile(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "nested"}}
    assert graph.invoke({"foo": "x"}, config) == {"foo": "xbar|m"}
    assert graph.get_state(config).values == {"foo": "xbar|m"}
    namespaces = {len(ns) for ns, _ in graph.stream({"foo": "x"}, config, subgraphs=True)}
    assert namespaces == {0, 1, 2}


def test_pydantic_parent_state_passes_only_shared_fields() -> None:
    class PState(BaseModel):
        foo: str
        count: int = 0

    builder = StateGraph(PState)
    builder.add_node("sub", subgraph())
    builder.add_edge(START, "sub")
    assert builder.compile().invoke({"foo": "p", "count": 2}) == {"foo": "pbar", "count": 2}


def test_a_function_node_writing_an_unknown_key_still_raises() -> None:
    builder = StateGraph(Parent)
    builder.add_node("typo", lambda s: {"fooo": 1})
    builder.add_edge(START, "typo")
    with pytest.raises(InvalidUpdateError, match="wrote key 'fooo'.*LangGraph drops"):
        builder.compile().invoke({"foo": "a"})
