"""Annotations that name something local to a function resolve (``from __future__ import
annotations`` makes them strings), for schemas, nodes, tools and error handlers alike."""

from __future__ import annotations

import dataclasses
import operator
from typing import Annotated, Any

import pytest
from pydantic import BaseModel
from typing_extensions import TypedDict

from graphkit import START, StateGraph, tool
from graphkit._hints import hints_or_empty, resolve_hints
from graphkit.schema import state_fields, update_from_object


def test_a_state_schema_naming_a_local_reducer_compiles() -> None:
    def concat(a: list[str], b: list[str]) -> list[str]:
        return a + b

    class State(TypedDict):
        log: Annotated[list[str], concat]

    builder = StateGraph(State)
    builder.add_node("a", lambda s: {"log": ["a"]})
    builder.add_edge(START, "a")
    assert builder.compile().invoke({"log": ["start"]}) == {"log": ["start", "a"]}


def test_a_tool_whose_argument_type_is_local_resolves() -> None:
    class Point(BaseModel):
        x: int
        y: int

    @tool
    def norm(point: Point) -> int:
        """Manhattan norm of a point."""
        return abs(point.x) + abs(point.y)

    assert norm.invoke({"point": {"x": 3, "y": -4}}) == 7


def test_a_name_that_resolves_nowhere_raises_its_name_error() -> None:
    def f(x: Nowhere) -> None:  # type: ignore[name-defined]  # noqa: F821
        return None

    with pytest.raises(NameError, match="Nowhere"):
        resolve_hints(f)
    assert hints_or_empty(f) == {}


def test_state_fields_reads_models_and_dataclasses_and_nothing_else() -> None:
    class Model(BaseModel):
        a: int = 1
        b: str | None = None

    @dataclasses.dataclass
    class Data:
        a: int = 1
        b: str | None = None

    assert state_fields(Model()) == {"a": 1, "b": None}
    assert state_fields(Data()) == {"a": 1, "b": None}
    assert state_fields(Data) is None
    assert state_fields({"a": 1}) is None


def test_an_update_object_drops_unset_none_fields_but_keeps_explicit_ones() -> None:
    class Model(BaseModel):
        a: int = 1
        b: str | None = None
        c: Annotated[list[Any], operator.add] = []

    assert update_from_object(Model(a=2), "n") == {"a": 2, "c": []}
    assert update_from_object(Model(b=None), "n") == {"a": 1, "b": None, "c": []}
