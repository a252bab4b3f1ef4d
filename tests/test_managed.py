"""RemainingSteps: the steps a run may still take before recursion_limit."""

from __future__ import annotations

from typing import Any

import pytest
from typing_extensions import TypedDict

from graphkit import START, StateGraph
from graphkit.managed import RemainingSteps, remaining_steps


class State(TypedDict):
    n: int
    remaining_steps: RemainingSteps


def test_each_step_sees_one_fewer_and_taking_input_counts() -> None:
    seen: list[tuple[str, int]] = []

    def a(state: State) -> dict[str, Any]:
        seen.append(("a", remaining_steps()))
        return {"n": state["n"] + 1}

    def b(state: State) -> dict[str, Any]:
        seen.append(("b", remaining_steps()))
        return {"n": state["n"] + 1}

    graph = StateGraph(State).add_node(a).add_node(b).add_edge(START, "a").add_edge("a", "b")
    assert graph.compile().invoke({"n": 0}, {"recursion_limit": 5}) == {"n": 2}
    assert seen == [("a", 4), ("b", 3)]


def test_remaining_steps_outside_a_run_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="outside a running graph"):
        remaining_steps()
