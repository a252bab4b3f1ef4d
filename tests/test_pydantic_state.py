"""Pydantic states as LangGraph runs them: channels keep the values as written, and
each reader (a node, a conditional edge) gets the model built from them with
validation, so the model's validators run for every reader."""

from __future__ import annotations

import dataclasses
import operator
import uuid
from pathlib import Path
from typing import Annotated, Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis_budget import examples
from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from graphkit import START, InvalidUpdateError, Overwrite, Send, StateGraph
from graphkit.checkpoint.base import BaseCheckpointSaver
from graphkit.checkpoint.memory import InMemorySaver
from graphkit.errors import InvalidInputError, InvalidStateError
from graphkit.managed import RemainingSteps
from graphkit.stores.checkpoint import LMDBSaver


class Inner(BaseModel):
    yo: int


class State(BaseModel):
    name: str
    inner: Inner | None = None
    uid: uuid.UUID | None = None
    ids: frozenset[int] = frozenset()
    items: Annotated[list[str], operator.add] = []
    marked: int = 13

    @field_validator("name", mode="after")
    @classmethod
    def _prefix(cls, value: str) -> str:
        return "V" + value

    @model_validator(mode="before")
    @classmethod
    def _mark(cls, values: Any) -> Any:
        return values | {"marked": 392} if isinstance(values, dict) else values


UID = "00000000-0000-0000-0000-000000000007"


def _two_nodes(seen: list[State]) -> StateGraph[Any, Any, Any, Any]:
    def a(state: State) -> dict[str, Any]:
        seen.append(state)
        return {"items": ["a"], "inner": {"yo": "2"}}

    def b(state: State) -> dict[str, Any]:
        seen.append(state)
        return {"name": "x"}

    builder = StateGraph(State)
    builder.add_node("a", a)
    builder.add_node("b", b)
    builder.add_edge(START, "a")
    builder.add_edge("a", "b")
    return builder


def test_outputs_hold_the_values_as_written_not_coerced() -> None:
    graph = _two_nodes([]).compile()
    given = {"name": "J", "inner": {"yo": 1}, "uid": UID, "ids": [1, 2]}
    out = graph.invoke(given)
    assert out == {"name": "x", "inner": {"yo": "2"}, "uid": UID, "ids": [1, 2], "items": ["a"]}
    first = next(iter(graph.stream(given, stream_mode="values")))
    assert first == {"name": "J", "inner": {"yo": 1}, "uid": UID, "ids": [1, 2], "items": []}


def test_every_node_gets_the_model_validated_from_the_raw_values() -> None:
    seen: list[State] = []
    _two_nodes(seen).compile().invoke({"name": "J", "inner": {"yo": 1}, "uid": UID})
    assert [s.marked for s in seen] == [392, 392]  # the model validator ran for each
    assert [s.name for s in seen] == ["VJ", "VJ"]  # from the raw 'J' each time, not 'VVJ'
    assert seen[1].inner == Inner(yo=2)
    assert seen[0].uid == uuid.UUID(UID)


def test_a_conditional_edge_gets_the_validated_model() -> None:
    routed: list[State] = []

    def route(state: State) -> str:
        routed.append(state)
        return "b"

    builder = StateGraph(State)
    builder.add_node("a", lambda s: {"inner": {"yo": "5"}})
    builder.add_node("b", lambda s: {"items": [s.name]})
    builder.add_edge(START, "a")
    builder.add_conditional_edges("a", route, ["b"])
    out = builder.compile().invoke({"name": "J"})
    assert out == {"name": "J", "inner": {"yo": "5"}, "items": ["VJ"]}
    assert routed[0].inner == Inner(yo=5) and routed[0].marked == 392


def test_send_and_command_payloads_pass_as_given() -> None:
    got: list[Any] = []

    def fan(state: State) -> list[Send]:
        return [Send("w", {"name": "raw"}), Send("w", State(name="obj"))]

    def w(arg: Any) -> dict[str, Any]:
        got.append(arg)
        return {"items": ["w"]}

    builder = StateGraph(State)
    builder.add_node("w", w)
    builder.add_conditional_edges(START, fan, ["w"])
    builder.compile().invoke({"name": "J"})
    assert got == [{"name": "raw"}, State(name="obj")]


def test_an_invalid_write_raises_where_it_is_read_naming_the_reader() -> None:
    builder = StateGraph(State)
    builder.add_node("bad", lambda s: {"inner": {"yo": "many"}})
    builder.add_node("reader", lambda s: {"items": ["never"]})
    builder.add_edge(START, "bad")
    builder.add_edge("bad", "reader")
    with pytest.raises(InvalidStateError, match="inner.yo") as caught:
        builder.compile().invoke({"name": "J"})
    assert isinstance(caught.value, ValidationError)  # as LangGraph raises
    assert isinstance(caught.value, InvalidUpdateError)
    assert "Before node 'reader' ran at step 2" in "\n".join(caught.value.__notes__)


def test_an_invalid_last_write_is_returned_as_langgraph_does() -> None:
    builder = StateGraph(State)
    builder.add_node("bad", lambda s: {"inner": {"yo": "many"}})
    builder.add_edge(START, "bad")
    assert builder.compile().invoke({"name": "J"})["inner"] == {"yo": "many"}


def test_invalid_input_raises_before_anything_is_saved() -> None:
    saver = InMemorySaver()
    graph = _two_nodes([]).compile(checkpointer=saver)
    config = {"configurable": {"thread_id": "t"}}
    with pytest.raises(InvalidInputError, match="yo"):
        graph.invoke({"name": "J", "inner": {"yo": "x"}}, config)
    assert saver.get_tuple(config) is None  # LangGraph saves it, then fails at the node


def test_defaults_are_not_written() -> None:
    builder = StateGraph(State)
    builder.add_node("n", lambda s: None)
    builder.add_edge(START, "n")
    # (a reducer key starts from its type's empty value, as LangGraph's channel does)
    assert builder.compile().invoke({"name": "J"}) == {"name": "J", "items": []}


def test_reducers_and_overwrite_keep_what_nodes_wrote() -> None:
    class Log(BaseModel):
        log: Annotated[list[Inner], operator.add] = []

    seen: list[Log] = []

    def grow(state: Log) -> dict[str, Any]:
        seen.append(state)
        return {"log": [{"yo": "1"}]}

    def reset(state: Log) -> dict[str, Any]:
        seen.append(state)
        return {"log": Overwrite([{"yo": "9"}])}

    builder = StateGraph(Log)
    builder.add_node("grow", grow)
    builder.add_node("reset", reset)
    builder.add_edge(START, "grow")
    builder.add_edge("grow", "reset")
    assert builder.compile().invoke({"log": [{"yo": 0}]}) == {"log": [{"yo": "9"}]}
    assert seen[1].log == [Inner(yo=0), Inner(yo=1)]


def test_remaining_steps_in_a_pydantic_state_passes_its_validators() -> None:
    class Steps(BaseModel):
        n: int = 0
        remaining_steps: RemainingSteps = Field(default=25, ge=0)

    got: list[int] = []

    def node(state: Steps) -> dict[str, Any]:
        got.append(state.remaining_steps)
        return {"n": state.n + 1}

    graph = StateGraph(Steps).add_node("n", node).add_edge(START, "n").compile()
    assert graph.invoke({"n": "1"}, {"recursion_limit": 5}) == {"n": 2}
    assert got == [4]


def test_a_subgraph_node_gets_the_parents_validated_model() -> None:
    class Sub(BaseModel):
        name: str
        marked: int = 0

    sub_seen: list[Sub] = []

    def sub_node(state: Sub) -> dict[str, Any]:
        sub_seen.append(state)
        return {"name": state.name + "!"}

    sub = StateGraph(Sub).add_node("s", sub_node).add_edge(START, "s").compile()
    builder = StateGraph(State)
    builder.add_node("sub", sub)
    builder.add_edge(START, "sub")
    out = builder.compile().invoke({"name": "J", "items": ["x"]})
    # the parent's model (validators run: 'VJ', 392) gives the subgraph its fields
    assert sub_seen == [Sub(name="VJ", marked=392)]
    assert out == {"name": "VJ!", "marked": 392, "items": ["x"]}


def test_a_state_object_as_input_drops_fields_the_input_schema_lacks() -> None:
    class Small(BaseModel):
        name: str

    graph = StateGraph(Small).add_node("n", lambda s: None).add_edge(START, "n").compile()
    assert graph.invoke(State(name="J", items=["x"])) == {"name": "VJ"}
    with pytest.raises(InvalidUpdateError, match="'items' is not a key"):
        graph.invoke({"name": "J", "items": ["x"]})  # a dict's unknown key: a typo


@pytest.mark.parametrize("kind", ["memory", "lmdb"])
def test_raw_values_round_trip_through_checkpoints(kind: str, tmp_path: Path) -> None:
    saver: BaseCheckpointSaver = (
        InMemorySaver() if kind == "memory" else LMDBSaver(tmp_path / "ckpt")
    )
    seen: list[State] = []
    builder = _two_nodes(seen)
    graph = builder.compile(checkpointer=saver, interrupt_before=["b"])
    config = {"configurable": {"thread_id": kind}}
    graph.invoke({"name": "J", "uid": UID, "ids": [3]}, config)
    values = graph.get_state(config).values
    assert values == {"name": "J", "uid": UID, "ids": [3], "items": ["a"], "inner": {"yo": "2"}}
    reopened = builder.compile(
        checkpointer=saver if kind == "memory" else LMDBSaver(tmp_path / "ckpt")
    )
    out = reopened.invoke(None, config)
    assert out["inner"] == {"yo": "2"} and out["name"] == "x"
    assert seen[-1].inner == Inner(yo=2) and seen[-1].ids == frozenset({3})


def test_an_overwrite_in_the_input_is_validated_as_the_value_it_sets() -> None:
    builder = StateGraph(State)
    builder.add_node("n", lambda s: {"items": [s.items[0]]})
    builder.add_edge(START, "n")
    graph = builder.compile()
    assert graph.invoke({"name": "J", "items": Overwrite(["z"])})["items"] == ["z", "z"]
    assert graph.invoke({"name": "J", "items": {"__overwrite__": ["y"]}})["items"] == ["y", "y"]
    with pytest.raises(InvalidInputError, match="items"):
        graph.invoke({"name": "J", "items": Overwrite([1])})


def test_a_subgraph_of_a_pydantic_parent_gets_no_unset_none_fields() -> None:
    class Parent(BaseModel):
        name: str
        opt: int | None = None
        m: int = 5

    class Child(BaseModel):
        name: str
        opt: int | None = None
        m: int = 7

    child = StateGraph(Child).add_node("c", lambda s: None).add_edge(START, "c").compile()
    parent = StateGraph(Parent).add_node("child", child).add_edge(START, "child").compile()
    # the parent's model gives its fields (the default m=5 too), except None left unset
    assert parent.invoke({"name": "J"}) == {"name": "J", "m": 5}


class Typed(BaseModel):
    n: int
    ids: frozenset[int] = frozenset()
    inner: Inner | None = None


_INT = st.integers(-(10**6), 10**6)
_AS_GIVEN = st.one_of(_INT, _INT.map(str))  # "12" is a valid int, kept as the str
_TYPED_INPUT = st.fixed_dictionaries(
    {"n": _AS_GIVEN},
    optional={
        "ids": st.lists(_INT, max_size=5).flatmap(lambda xs: st.sampled_from([xs, tuple(xs)])),
        "inner": st.one_of(st.none(), st.fixed_dictionaries({"yo": _AS_GIVEN})),
    },
)


@settings(max_examples=examples(100), deadline=None)
@given(given_input=_TYPED_INPUT)
def test_any_valid_input_is_kept_as_given_and_read_as_the_model_validates_it(
    given_input: dict[str, Any],
) -> None:
    seen: list[Typed] = []
    graph = (
        StateGraph(Typed)
        .add_node("n", lambda s: seen.append(s))
        .add_edge(START, "n")
        .compile(checkpointer=InMemorySaver())
    )
    config = {"configurable": {"thread_id": "p"}}
    assert graph.invoke(given_input, config) == given_input
    assert graph.get_state(config).values == given_input
    assert seen == [Typed.model_validate(given_input)]


def test_a_dataclass_object_gives_all_its_fields_none_included() -> None:
    @dataclasses.dataclass
    class Data:
        name: str = "d"
        opt: int | None = 3

    builder = StateGraph(Data)
    builder.add_node("n", lambda s: Data(name="x", opt=None))
    builder.add_edge(START, "n")
    graph = builder.compile()
    assert list(graph.stream({"name": "J", "opt": 1})) == [{"n": {"name": "x", "opt": None}}]
    assert graph.invoke(Data(name="I", opt=None)) == {"name": "x", "opt": None}


def test_a_model_object_gives_a_none_that_replaces_a_default() -> None:
    class Model(BaseModel):
        name: str = "p"
        opt: int | None = 3
        unset: int | None = None

    builder = StateGraph(Model)
    made = Model.model_construct(_fields_set={"name"}, name="x", opt=None)
    builder.add_node("n", lambda s: made)
    builder.add_edge(START, "n")
    # opt (None, default 3) is written though not in model_fields_set; unset is not
    assert builder.compile().invoke({"name": "J", "opt": 1}) == {"name": "x", "opt": None}


def test_a_subgraph_node_gets_the_parents_dataclass_object() -> None:
    @dataclasses.dataclass
    class Parent:
        name: str
        opt: int | None = None
        m: int = 5

        def __post_init__(self) -> None:
            self.m += 1

    @dataclasses.dataclass
    class Child:
        name: str
        opt: int | None = None
        m: int = 7

    child = StateGraph(Child).add_node("c", lambda s: None).add_edge(START, "c").compile()
    parent = StateGraph(Parent).add_node("child", child).add_edge(START, "child").compile()
    assert parent.invoke({"name": "J"}) == {"name": "J", "opt": None, "m": 6}
