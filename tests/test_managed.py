"""Managed values: RemainingSteps and IsLastStep, computed by the engine per step."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from pydantic import BaseModel
from typing_extensions import TypedDict

from graphkit import END, START, InvalidUpdateError, StateGraph
from graphkit.checkpoint.memory import InMemorySaver
from graphkit.managed import IsLastStep, RemainingSteps, remaining_steps


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


def test_without_a_limit_the_first_step_has_langgraphs_default_left() -> None:
    seen: list[int] = []

    def a(state: State) -> dict[str, Any]:
        seen.append(state["remaining_steps"])
        return {}

    StateGraph(State).add_node(a).add_edge(START, "a").compile().invoke({"n": 0})
    assert seen == [10_006]


def test_remaining_steps_outside_a_run_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="outside a running graph"):
        remaining_steps()


class Loop(TypedDict):
    n: int
    remaining_steps: RemainingSteps
    last: IsLastStep


def test_nodes_and_edges_see_the_values_and_a_loop_stops_at_its_last_step() -> None:
    seen: list[tuple[str, int, bool, int]] = []

    def work(state: Loop) -> dict[str, Any]:
        seen.append(("node", state["remaining_steps"], state["last"], remaining_steps()))
        return {"n": state["n"] + 1}

    def again(state: Loop) -> str:
        seen.append(("edge", state["remaining_steps"], state["last"], remaining_steps()))
        return END if state["last"] else "work"

    builder = StateGraph(Loop).add_node("work", work).add_edge(START, "work")
    graph = builder.add_conditional_edges("work", again).compile()
    assert graph.invoke({"n": 0}, {"recursion_limit": 4}) == {"n": 3}  # no recursion error
    assert seen == [
        ("node", 3, False, 3),
        ("edge", 3, False, 3),
        ("node", 2, False, 2),
        ("edge", 2, False, 2),
        ("node", 1, True, 1),
        ("edge", 1, True, 1),
    ]


def test_managed_keys_are_neither_input_nor_written_nor_stored() -> None:
    def work(state: Loop) -> dict[str, Any]:
        return {"n": state["n"] + 1, "remaining_steps": 99, "last": True}

    graph = (
        StateGraph(Loop)
        .add_node("work", work)
        .add_edge(START, "work")
        .add_edge("work", END)
        .compile(checkpointer=InMemorySaver())
    )
    cfg: Any = {"configurable": {"thread_id": "t"}, "recursion_limit": 9}
    out = graph.invoke({"n": 0, "remaining_steps": 50, "last": True}, cfg)
    assert out == {"n": 1}
    assert graph.get_state(cfg).values == {"n": 1}
    assert all(set(s.values) <= {"n"} for s in graph.get_state_history(cfg))
    chunks = list(graph.stream({"n": 5}, cfg, stream_mode=["values", "updates"]))
    assert ("updates", {"work": {"n": 6}}) in chunks
    assert all("remaining_steps" not in str(c) for c in chunks)


def test_a_write_to_a_managed_key_is_dropped_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def work(state: Loop) -> dict[str, Any]:
        return {"n": 1, "remaining_steps": 99}

    graph = StateGraph(Loop).add_node("work", work).add_edge(START, "work").compile()
    with caplog.at_level("WARNING", logger="graphkit"):
        assert graph.invoke({"n": 0}) == {"n": 1}
    warned = [r.getMessage() for r in caplog.records if r.name == "graphkit"]
    assert warned == [
        "Node 'work' wrote managed key 'remaining_steps' (the engine computes "
        "its value), ignoring it."
    ]


def test_a_state_object_returned_whole_does_not_warn_of_its_managed_field(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def work(state: Model) -> Model:
        return Model(n=state.n + 1, remaining_steps=state.remaining_steps)

    graph = StateGraph(Model).add_node("work", work).add_edge(START, "work").compile()
    with caplog.at_level("WARNING", logger="graphkit"):
        assert graph.invoke({"n": 0}) == {"n": 1}
    assert not [r for r in caplog.records if r.name == "graphkit"]


def test_a_typo_beside_a_managed_key_still_raises() -> None:
    def work(state: Loop) -> dict[str, Any]:
        return {"remaining_steps": 1, "nn": 2}

    graph = StateGraph(Loop).add_node("work", work).add_edge(START, "work").compile()
    with pytest.raises(InvalidUpdateError, match="'nn'"):
        graph.invoke({"n": 0})


class Model(BaseModel):
    n: int
    remaining_steps: RemainingSteps = 25


@dataclass
class Data:
    n: int
    last: IsLastStep = False


def test_pydantic_and_dataclass_states_get_the_values_not_their_defaults() -> None:
    got: list[Any] = []

    def model_node(state: Model) -> dict[str, Any]:
        got.append(state.remaining_steps)
        return {"n": state.n + 1}

    def data_node(state: Data) -> dict[str, Any]:
        got.append(state.last)
        return {"n": state.n + 1}

    model = StateGraph(Model).add_node("m", model_node).add_edge(START, "m").compile()
    assert model.invoke({"n": 1}, {"recursion_limit": 7}) == {"n": 2}
    data = StateGraph(Data).add_node("d", data_node).add_edge(START, "d").compile()
    assert data.invoke({"n": 1}, {"recursion_limit": 2}) == {"n": 2}
    assert got == [6, True]


def test_a_subgraph_counts_its_own_steps_and_its_parents_keys_stay_out() -> None:
    inner_seen: list[int] = []

    def inner_node(state: Loop) -> dict[str, Any]:
        inner_seen.append(state["remaining_steps"])
        return {"n": state["n"] + 10}

    inner = StateGraph(Loop).add_node("i", inner_node).add_edge(START, "i").compile()

    class Outer(TypedDict):
        n: int
        remaining_steps: RemainingSteps

    outer = StateGraph(Outer).add_node("sub", inner).add_edge(START, "sub").compile()
    assert outer.invoke({"n": 1}, {"recursion_limit": 6}) == {"n": 11}
    assert inner_seen == [5]


def test_a_not_required_managed_key_is_still_computed_for_nodes() -> None:
    from typing_extensions import NotRequired

    class Optional(TypedDict):
        n: int
        remaining_steps: NotRequired[RemainingSteps]

    seen: list[int] = []

    def node(state: Optional) -> dict[str, Any]:
        seen.append(state["remaining_steps"])
        return {"n": 1}

    graph = StateGraph(Optional).add_node("node", node).add_edge(START, "node")
    assert graph.compile().invoke({"n": 0}, {"recursion_limit": 5}) == {"n": 1}
    assert seen == [4]
