"""The Runnable side of a compiled graph that tools built for LangGraph call: input and
output schemas as pydantic models, and batches yielded as their runs finish."""

from __future__ import annotations

import asyncio
import operator
from typing import Annotated, Any

import pytest
from pydantic import BaseModel, ValidationError
from typing_extensions import TypedDict

from graphkit import START, StateGraph


class State(TypedDict):
    x: int
    note: str


def _graph() -> Any:
    async def bump(state: State) -> dict[str, Any]:
        await asyncio.sleep(0.05 * state["x"])  # a larger x finishes later
        if state["x"] < 0:
            raise ValueError("negative")
        return {"x": state["x"] + 1}

    return StateGraph(State).add_node(bump).add_edge(START, "bump").compile()


def _sync_graph() -> Any:
    def bump(state: State) -> dict[str, Any]:
        if state["x"] < 0:
            raise ValueError("negative")
        return {"x": state["x"] + 1}

    return StateGraph(State).add_node(bump).add_edge(START, "bump").compile()


def test_the_input_schema_validates_and_describes_the_input() -> None:
    model = _graph().get_input_schema()
    assert model.__name__ == "LangGraphInput"
    assert model.model_validate({"x": 1, "note": "a"}).model_dump() == {"x": 1, "note": "a"}
    with pytest.raises(ValidationError, match="x"):
        model.model_validate({"x": "many", "note": "a"})
    assert model.model_json_schema()["required"] == ["x", "note"]
    assert _graph().output_schema.__name__ == "LangGraphOutput"


def test_a_pydantic_state_is_its_own_schema_and_a_root_state_a_root_model() -> None:
    class Model(BaseModel):
        x: int = 0

    graph = StateGraph(Model).add_node("n", lambda s: {}).add_edge(START, "n").compile()
    assert graph.input_schema is Model
    root = StateGraph(Annotated[list, operator.add])
    root.add_node("n", lambda s: [1]).add_edge(START, "n")
    assert root.compile().get_input_schema().model_validate([1, 2]).root == [1, 2]


def test_batch_as_completed_yields_every_index_with_its_output() -> None:
    inputs = [{"x": 3, "note": "a"}, {"x": 1, "note": "b"}, {"x": 2, "note": "c"}]
    found = dict(_sync_graph().batch_as_completed(inputs))
    assert found == {0: {"x": 4, "note": "a"}, 1: {"x": 2, "note": "b"}, 2: {"x": 3, "note": "c"}}


def test_batch_as_completed_returns_or_raises_errors() -> None:
    inputs = [{"x": 1, "note": "a"}, {"x": -1, "note": "b"}]
    found = dict(_sync_graph().batch_as_completed(inputs, return_exceptions=True))
    assert found[0] == {"x": 2, "note": "a"} and isinstance(found[1], ValueError)
    with pytest.raises(ValueError, match="negative"):
        list(_sync_graph().batch_as_completed(inputs))


async def test_abatch_as_completed_yields_runs_in_the_order_they_finish() -> None:
    inputs = [{"x": 6, "note": "slow"}, {"x": 1, "note": "fast"}, {"x": -1, "note": "bad"}]
    found = [item async for item in _graph().abatch_as_completed(inputs, return_exceptions=True)]
    assert [index for index, _ in found] == [2, 1, 0]
    assert isinstance(found[0][1], ValueError)
    assert found[1][1] == {"x": 2, "note": "fast"} and found[2][1] == {"x": 7, "note": "slow"}
