"""A step's writes merge through each key's reducer, in task order, as if one by one."""

from __future__ import annotations

import functools
import operator
from typing import Annotated, Any, TypedDict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis_budget import examples

from graphkit import START, Send, StateGraph
from graphkit.engine.merge import merge_writes
from graphkit.types import Overwrite


class State(TypedDict, total=False):
    items: list[Any]
    out: Annotated[list[Any], operator.add]


def _tables() -> Any:
    builder = StateGraph(State).add_node("n", lambda s: None).add_edge(START, "n")
    return builder.compile().tables


writes = st.lists(st.lists(st.integers() | st.text(max_size=3), max_size=4), max_size=12)


@settings(max_examples=examples(200))
@given(start=st.lists(st.integers(), max_size=4), pending=writes)
def test_list_writes_added_together_equal_adding_them_one_by_one(
    start: list[Any], pending: list[list[Any]]
) -> None:
    writers = [(f"t{i}", [("out", value)]) for i, value in enumerate(pending)]
    values = {"out": start}
    merged = merge_writes(values, _tables(), writers)
    if not pending:
        assert merged == {}
        return
    assert merged == {"out": functools.reduce(operator.add, pending, start)}
    assert merged["out"] is not start and values == {"out": start}  # a new list
    for value in pending:  # the writes themselves are not changed
        assert merged["out"] is not value


def test_a_write_that_is_not_a_list_fails_as_the_reducer_does() -> None:
    writers = [("a", [("out", [1])]), ("b", [("out", (2,))])]
    with pytest.raises(TypeError) as info:
        merge_writes({"out": []}, _tables(), writers)
    assert "While merging writes of ['a', 'b'] into key 'out'" in info.value.__notes__


def test_an_overwrite_among_list_writes_sets_the_value() -> None:
    writers = [("a", [("out", [1])]), ("b", [("out", Overwrite([9]))]), ("c", [("out", [3])])]
    assert merge_writes({"out": [0]}, _tables(), writers) == {"out": [9]}


def test_a_fanout_joins_its_results_in_send_order() -> None:
    builder = StateGraph(State)
    builder.add_node("work", lambda item: {"out": [item, -item]})
    builder.add_conditional_edges(START, lambda s: [Send("work", i) for i in s["items"]])
    graph = builder.compile()
    assert graph.invoke({"items": [1, 2, 3], "out": [0]})["out"] == [0, 1, -1, 2, -2, 3, -3]


@pytest.mark.parametrize(
    ("value", "merged"),
    [
        ([1, 2], [1, 2]),
        (Overwrite([7]), [7]),
        ({"__overwrite__": [8]}, [8]),
        ({"a": 1}, {"a": 1}),
        (None, None),
    ],
)
def test_one_write_to_a_key_without_reducer_is_its_value(value: Any, merged: Any) -> None:
    assert merge_writes({"items": [0]}, _tables(), [("n", [("items", value)])]) == {"items": merged}


def test_one_write_to_a_reducer_key_goes_through_the_reducer() -> None:
    assert merge_writes({"out": [0]}, _tables(), [("n", [("out", [1])])]) == {"out": [0, 1]}
