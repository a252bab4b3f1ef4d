"""Property: parallel writes merge the same way whatever order the branches finish in."""

from __future__ import annotations

import operator
import time
from typing import Annotated, Any, TypedDict

from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis_budget import examples

from graphkit import START, Send, StateGraph


def merge_dicts(left: dict[str, int], right: dict[str, int]) -> dict[str, int]:
    return {**left, **right}


class State(TypedDict, total=False):
    items: Annotated[list[int], operator.add]
    total: Annotated[int, operator.add]
    seen: Annotated[dict[str, int], merge_dicts]


def branch_graph(values: list[int], delays: list[float]) -> Any:
    builder = StateGraph(State)
    names = [f"n{i:02d}" for i in range(len(values))]
    for name, value, delay in zip(names, values, delays, strict=False):

        def node(
            state: State, value: int = value, delay: float = delay, name: str = name
        ) -> dict[str, Any]:
            time.sleep(delay)
            return {"items": [value], "total": value, "seen": {name: value, "last": value}}

        builder.add_node(name, node)
        builder.add_edge(START, name)
    return builder.compile()


branches = st.lists(st.integers(-1000, 1000), min_size=1, max_size=6)


@settings(max_examples=examples(25))
@given(values=branches, data=st.data())
def test_parallel_branch_writes_do_not_depend_on_finish_order(
    values: list[int], data: st.DataObject
) -> None:
    delay = st.sampled_from([0.0, 0.0005, 0.002])
    first = data.draw(st.lists(delay, min_size=len(values), max_size=len(values)))
    second = list(reversed(first))
    out_a = branch_graph(values, first).invoke({})
    out_b = branch_graph(values, second).invoke({})
    assert out_a == out_b
    assert out_a["items"] == values  # node names sort like their index
    assert out_a["total"] == sum(values)
    assert out_a["seen"]["last"] == values[-1]


@settings(max_examples=examples(25))
@given(values=st.lists(st.integers(0, 100), max_size=30), data=st.data())
def test_send_results_follow_send_order_not_finish_order(
    values: list[int], data: st.DataObject
) -> None:
    delays = data.draw(
        st.lists(st.sampled_from([0.0, 0.001]), min_size=len(values), max_size=len(values))
    )

    class Fan(TypedDict, total=False):
        out: Annotated[list[int], operator.add]

    def work(arg: tuple[int, float]) -> dict[str, list[int]]:
        time.sleep(arg[1])
        return {"out": [arg[0]]}

    builder = StateGraph(Fan)
    builder.add_node("work", work)
    builder.add_conditional_edges(
        START, lambda s: [Send("work", pair) for pair in zip(values, delays, strict=False)]
    )
    assert builder.compile().invoke({})["out"] == values
