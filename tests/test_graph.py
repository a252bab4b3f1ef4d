"""The builder and compile(): validation errors, the networkx graph, precomputed tables."""

from __future__ import annotations

import itertools
import operator
from typing import Annotated, Literal, TypedDict

import networkx as nx
import pytest

from graphkit import END, START, Command, GraphCompileError, NodeConfigError, Send, StateGraph
from graphkit.errors import EmptyInputError


class State(TypedDict):
    x: int
    log: Annotated[list[str], operator.add]


def noop(state: State) -> None:
    return None


def chain(*names: str) -> StateGraph[State]:
    builder = StateGraph(State)
    for name in names:
        builder.add_node(name, noop)
    builder.add_edge(START, names[0])
    for a, b in itertools.pairwise(names):
        builder.add_edge(a, b)
    return builder


def test_compiled_graph_holds_networkx_digraph_with_kinds_and_labels() -> None:
    builder = chain("a", "b")
    builder.add_node("c", noop)
    builder.add_node("d", noop)
    builder.add_conditional_edges("b", lambda s: "c", {"go": "c", "stop": END})
    builder.add_edge(["a", "c"], "d")
    g = builder.compile().get_graph().nx
    assert isinstance(g, nx.DiGraph)
    assert set(g.nodes) == {START, END, "a", "b", "c", "d"}
    assert g.nodes[START]["kind"] == "start" and g.nodes[END]["kind"] == "end"
    assert g.nodes["a"]["function"] == "noop"
    assert g.edges["a", "b"]["kind"] == "edge"
    assert g.edges["b", "c"]["kind"] == "conditional"
    assert g.edges["b", "c"]["labels"] == ["go"]
    assert g.edges["b", END]["labels"] == ["stop"]
    assert g.edges["c", "d"]["kind"] == "join" and g.edges["a", "d"]["join"] == 0


def test_edge_to_unknown_node_is_named_at_compile() -> None:
    builder = chain("a")
    builder.add_edge("a", "missing")
    with pytest.raises(GraphCompileError, match=r"unknown node 'missing'.*add_node\('missing'"):
        builder.compile()


def test_edge_from_unknown_node_is_named_at_compile() -> None:
    builder = chain("a")
    builder.add_edge("ghost", "a")
    with pytest.raises(GraphCompileError, match="'ghost' -> 'a'.*unknown node 'ghost'"):
        builder.compile()


def test_path_map_with_unknown_target_is_an_error() -> None:
    builder = chain("a")
    builder.add_conditional_edges("a", lambda s: "x", {"x": "nowhere"})
    with pytest.raises(GraphCompileError, match="label 'x'.*unknown node 'nowhere'"):
        builder.compile()


@pytest.mark.parametrize("name", [START, END])
def test_reserved_node_names_are_rejected(name: str) -> None:
    with pytest.raises(GraphCompileError, match="reserved"):
        StateGraph(State).add_node(name, noop)


@pytest.mark.parametrize("name", ["a|b", "a:b"])
def test_node_names_with_internal_separators_are_rejected(name: str) -> None:
    with pytest.raises(GraphCompileError, match="reserves"):
        StateGraph(State).add_node(name, noop)


def test_duplicate_node_and_node_named_like_a_key_are_rejected() -> None:
    builder = StateGraph(State)
    builder.add_node("a", noop)
    with pytest.raises(GraphCompileError, match="already in the graph"):
        builder.add_node("a", noop)
    with pytest.raises(GraphCompileError, match="also a state key"):
        builder.add_node("x", noop)


def test_graph_without_entry_point_says_how_to_add_one() -> None:
    builder = StateGraph(State)
    builder.add_node("a", noop)
    with pytest.raises(GraphCompileError, match=r"no entry point: add an edge from START"):
        builder.compile()


def test_unreachable_node_is_an_error() -> None:
    builder = chain("a")
    builder.add_node("orphan", noop)
    with pytest.raises(GraphCompileError, match="'orphan' can never run"):
        builder.compile()


def test_unreachable_node_is_fine_when_a_dynamic_branch_could_reach_it() -> None:
    builder = chain("a")
    builder.add_node("maybe", noop)
    builder.add_conditional_edges("a", lambda s: "maybe")
    builder.compile()


def test_unreachable_node_is_fine_when_a_node_can_return_command() -> None:
    builder = StateGraph(State)

    def router(state: State) -> Command[Literal["target"]]:
        return Command(goto="target")

    builder.add_node(router)
    builder.add_node("target", noop)
    builder.add_edge(START, "router")
    graph = builder.compile()
    assert graph.get_graph().nx.edges["router", "target"]["kind"] == "command"


def test_node_code_that_uses_send_counts_as_dynamic() -> None:
    builder = StateGraph(State)

    def fan(state: State) -> Command:  # type: ignore[type-arg]
        return Command(goto=[Send("worker", 1)])

    builder.add_node(fan)
    builder.add_node("worker", noop)
    builder.add_edge(START, "fan")
    builder.compile()


def test_reducer_that_takes_one_argument_is_rejected_with_its_key() -> None:
    def bad(x: list[int]) -> list[int]:
        return x

    class Bad(TypedDict):
        items: Annotated[list[int], bad]

    with pytest.raises(NodeConfigError, match="key 'items'.*two arguments"):
        StateGraph(Bad)


def test_state_schema_must_be_one_of_three_kinds() -> None:
    with pytest.raises(GraphCompileError, match="TypedDict, a pydantic BaseModel or a dataclass"):
        StateGraph(int)  # type: ignore[arg-type]


def test_interrupt_on_unknown_node_is_rejected() -> None:
    from graphkit.stores import InMemorySaver

    with pytest.raises(GraphCompileError, match="unknown node 'nope'"):
        chain("a").compile(checkpointer=InMemorySaver(), interrupt_before=["nope"])


def test_interrupts_without_any_checkpointer_fail_when_they_would_stop_the_run() -> None:
    # compiles: as a subgraph it would use its parent's checkpointer
    graph = chain("a").compile(interrupt_before=["a"])
    with pytest.raises(EmptyInputError, match="needs a checkpointer"):
        graph.invoke({"log": []})
    with pytest.raises(GraphCompileError, match="checkpointer=False"):
        chain("a").compile(interrupt_before=["a"], checkpointer=False)


def test_add_node_infers_name_and_add_sequence_chains() -> None:
    def first(state: State) -> dict[str, list[str]]:
        return {"log": ["first"]}

    def second(state: State) -> dict[str, list[str]]:
        return {"log": ["second"]}

    builder = StateGraph(State)
    builder.add_sequence([first, second])
    builder.set_entry_point("first")
    builder.set_finish_point("second")
    assert builder.compile().invoke({"x": 0}) == {"x": 0, "log": ["first", "second"]}


def test_add_node_requires_a_function() -> None:
    with pytest.raises(GraphCompileError, match="needs a function"):
        StateGraph(State).add_node("a")
    with pytest.raises(NodeConfigError, match="must be callable"):
        StateGraph(State).add_node("a", 42)  # type: ignore[arg-type]


def test_edges_into_start_or_out_of_end_are_rejected() -> None:
    builder = StateGraph(State)
    with pytest.raises(GraphCompileError, match="START cannot be the end"):
        builder.add_edge("a", START)
    with pytest.raises(GraphCompileError, match="END cannot be the start"):
        builder.add_edge(END, "a")


def test_tables_precompute_edges_joins_and_reducers() -> None:
    builder = chain("a", "b")
    builder.add_node("c", noop)
    builder.add_edge("a", "c")
    builder.add_edge(["b", "c"], END)
    tables = builder.compile().tables
    assert tables.start.edges == ("a",)
    assert tables.nodes["a"].edges == ("b", "c")
    assert tables.nodes["b"].joins == (0,) and tables.nodes["c"].joins == (0,)
    assert tables.reducers == {"log": operator.add}
    assert tables.initial["log"]() == []


def test_literal_return_annotation_of_path_becomes_path_map() -> None:
    builder = chain("a")
    builder.add_node("b", noop)

    def route(state: State) -> Literal["b", "__end__"]:
        return "b"

    builder.add_conditional_edges("a", route)
    g = builder.compile().get_graph().nx
    assert g.edges["a", "b"]["kind"] == "conditional"
    assert g.has_edge("a", END)


def test_compile_refuses_a_cache_that_is_not_a_base_cache() -> None:
    with pytest.raises(GraphCompileError, match="takes a cache such as"):
        chain("a").compile(cache=object())
