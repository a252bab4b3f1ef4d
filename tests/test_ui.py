"""graphkit.graph.ui: UI messages pushed by nodes, streamed and merged into the state."""

from __future__ import annotations

from typing import Annotated, Any

import pytest
from typing_extensions import TypedDict

from graphkit.errors import InvalidUpdateError, RunContextError
from graphkit.graph import START, StateGraph
from graphkit.graph.ui import (
    AnyUIMessage,
    UIMessage,
    delete_ui_message,
    push_ui_message,
    ui_message_reducer,
)


class State(TypedDict, total=False):
    ui: Annotated[list[AnyUIMessage], ui_message_reducer]


def _ui(id: str, props: dict[str, Any], merge: bool = False) -> UIMessage:
    return {"type": "ui", "id": id, "name": "card", "props": props, "metadata": {"merge": merge}}


def test_a_pushed_ui_message_streams_as_custom_and_lands_in_the_state() -> None:
    def first(state: State) -> dict[str, Any]:
        push_ui_message("card", {"title": "a"}, id="c1", metadata={"extra": 1},
                        message={"id": "m1"})  # fmt: skip
        push_ui_message("card", {"body": "b"}, id="c1", merge=True)
        push_ui_message("chart", {}, id="c2")
        return {}

    def second(state: State) -> dict[str, Any]:
        delete_ui_message("c2")
        return {}

    builder = StateGraph(State).add_node(first).add_node(second)
    graph = builder.add_edge(START, "first").add_edge("first", "second").compile()
    parts = list(graph.stream({}, stream_mode=["custom", "values"]))
    custom = [chunk for mode, chunk in parts if mode == "custom"]
    assert [(c["type"], c["id"]) for c in custom] == [
        ("ui", "c1"), ("ui", "c1"), ("ui", "c2"), ("remove-ui", "c2")
    ]  # fmt: skip
    assert custom[0]["metadata"]["extra"] == 1 and custom[0]["metadata"]["message_id"] == "m1"
    final = [chunk for mode, chunk in parts if mode == "values"][-1]
    assert [(m["id"], m["props"]) for m in final["ui"]] == [("c1", {"title": "a", "body": "b"})]


def test_state_key_none_only_streams() -> None:
    def node(state: State) -> dict[str, Any]:
        push_ui_message("card", {}, id="x", state_key=None)
        return {}

    graph = StateGraph(State).add_node(node).add_edge(START, "node").compile()
    assert not graph.invoke({}).get("ui")


def test_pushing_outside_a_run_says_where_to_call_it() -> None:
    with pytest.raises(RunContextError, match="inside a node"):
        push_ui_message("card", {})


def test_the_reducer_replaces_merges_and_removes_by_id() -> None:
    assert ui_message_reducer([_ui("1", {"a": 1})], _ui("1", {"b": 2})) == [_ui("1", {"b": 2})]
    merged = ui_message_reducer([_ui("1", {"a": 1})], [_ui("1", {"b": 2}, merge=True)])
    assert merged[0]["props"] == {"a": 1, "b": 2}
    kept = ui_message_reducer(_ui("1", {}), [{"type": "remove-ui", "id": "1"}, _ui("2", {})])
    assert [m["id"] for m in kept] == ["2"]


def test_removing_an_unknown_ui_message_is_an_error() -> None:
    with pytest.raises(InvalidUpdateError, match="'9'"):
        ui_message_reducer([], {"type": "remove-ui", "id": "9"})
