"""The builder and compile(): validation errors, the networkx graph, precomputed tables."""

from __future__ import annotations

import itertools
import operator
from typing import Annotated, Any, Literal, TypedDict

import networkx as nx
import pytest

from graphkit import (
    END,
    START,
    Command,
    GraphCompileError,
    InvalidUpdateError,
    NodeConfigError,
    Overwrite,
    Send,
    StateGraph,
)
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


def test_duplicate_node_is_rejected() -> None:
    builder = StateGraph(State)
    builder.add_node("a", noop)
    with pytest.raises(GraphCompileError, match="already in the graph"):
        builder.add_node("a", noop)


def test_node_may_share_its_name_with_a_state_key_as_in_langgraph() -> None:
    builder = StateGraph(State)
    builder.add_node("x", lambda s: {"x": s["x"] + 1, "log": ["x"]})
    builder.add_edge(START, "x")
    graph = builder.compile()
    assert graph.invoke({"x": 1}) == {"x": 2, "log": ["x"]}
    assert list(graph.stream({"x": 1})) == [{"x": {"x": 2, "log": ["x"]}}]


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


def test_node_that_invokes_a_compiled_graph_counts_as_dynamic() -> None:
    # the inner graph may send the parent elsewhere with Command(graph=Command.PARENT)
    inner = StateGraph(State)
    inner.add_node("jump", lambda s: Command(graph=Command.PARENT, goto="landing"))
    inner.add_edge(START, "jump")
    child = inner.compile()

    def caller(state: State) -> None:
        child.invoke(state)

    builder = StateGraph(State)
    builder.add_node(caller)
    builder.add_node("landing", lambda s: {"log": ["landed"]})
    builder.add_edge(START, "caller")
    assert builder.compile().invoke({"x": 1}) == {"x": 1, "log": ["landed"]}


def test_reducer_that_takes_one_argument_is_rejected_with_its_key() -> None:
    def bad(x: list[int]) -> list[int]:
        return x

    class Bad(TypedDict):
        items: Annotated[list[int], bad]

    with pytest.raises(NodeConfigError, match="key 'items'.*two arguments"):
        StateGraph(Bad)


def test_input_schema_must_have_fields() -> None:
    with pytest.raises(GraphCompileError, match="input_schema must be a TypedDict"):
        StateGraph(State, input_schema=int)


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


def test_add_node_names_a_compiled_graph_after_its_name() -> None:
    # How a multi-agent graph adds its agents: add_node(create_react_agent(..., name=...)).
    class Turns(TypedDict):
        turns: str

    def agent(name: str) -> Any:
        sub = StateGraph(Turns).add_node("work", lambda s: {"turns": s["turns"] + name})
        return sub.add_edge(START, "work").compile(name=name)

    builder = StateGraph(Turns).add_node(agent("alice")).add_node(agent("bob"))
    graph = builder.add_edge(START, "alice").add_edge("alice", "bob").compile()
    assert list(builder.nodes) == ["alice", "bob"]
    assert graph.invoke({"turns": ">"}) == {"turns": ">alicebob"}


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


def test_path_function_annotated_with_a_schema_reads_only_its_keys() -> None:
    class Route(TypedDict):
        hint: str

    seen: list[dict[str, object]] = []

    def route(state: Route) -> str:
        seen.append(dict(state))
        return "b" if state["hint"] == "go" else END

    builder = StateGraph(State)
    builder.add_node("a", lambda s: {"hint": "go"})
    builder.add_node("b", lambda s: {"log": ["b"]})
    builder.add_edge(START, "a")
    builder.add_conditional_edges("a", route)
    assert builder.compile().invoke({"x": 1}) == {"x": 1, "log": ["b"]}
    assert seen == [{"hint": "go"}]  # its own schema's keys, the node's write applied


def test_path_function_sees_what_its_source_node_reads_by_default() -> None:
    class Narrow(TypedDict):
        x: int

    seen: list[dict[str, object]] = []

    def narrow(state: Narrow) -> dict[str, int]:
        return {"x": state["x"] + 1}

    def route(state: Any) -> str:  # no schema of its own: the source node's view
        seen.append(dict(state))
        return END

    builder = StateGraph(State)
    builder.add_node(narrow)
    builder.add_edge(START, "narrow")
    builder.add_conditional_edges("narrow", route)
    builder.compile().invoke({"x": 1, "log": ["start"]})
    assert seen == [{"x": 2}]


def test_list_of_updates_applies_in_order_and_streams_as_a_list() -> None:
    class Text(TypedDict):
        text: Annotated[str, operator.add]

    builder = StateGraph(Text)
    builder.add_node("a", lambda s: [Command(update={"text": "1"}), {"text": "2"}])
    builder.add_edge(START, "a")
    graph = builder.compile()
    assert graph.invoke({"text": ""}) == {"text": "12"}
    assert list(graph.stream({"text": ""})) == [{"a": [{"text": "1"}, {"text": "2"}]}]


def test_command_repr_shows_only_the_fields_set() -> None:
    assert repr(Command(goto=Send("b", 3))) == "Command(goto=Send(node='b', arg=3))"


def test_send_compares_and_hashes_by_its_fields_and_can_be_changed_as_langgraphs() -> None:
    from graphkit.stores.serde import Serializer

    a, b = Send("n", {"x": 1}), Send("n", {"x": 1})
    assert a == b and a != Send("n", {"x": 2}) and a != Send("n", {"x": 1}, timeout=2)
    assert hash(Send("n", 1)) == hash(Send("n", 1)) == hash(("n", 1, None))
    assert len({Send("n", 1), Send("n", 1), Send("m", 1)}) == 2
    b.arg = {"x": 2}  # not frozen, as LangGraph's Send
    assert b.arg == {"x": 2} and a != b
    serde = Serializer()
    sends = [Send("n", {"x": 1}), Send("m", 2, timeout=3)]
    # stored as before (a dataclass record): these bytes were written when Send was frozen
    before = bytes.fromhex(
        "c10192c72e0f92b367726170686b69742e74797065733a53656e6483a46e6f6465a16ea3617267"
        "81a17801a774696d656f7574c0c77f0f92b367726170686b69742e74797065733a53656e6483a4"
        "6e6f6465a16da361726702a774696d656f7574c7520f92bc67726170686b69742e74797065733a"
        "54696d656f7574506f6c69637983ab72756e5f74696d656f7574cb4008000000000000ac69646c"
        "655f74696d656f7574c0aa726566726573685f6f6ea46175746f"
    )
    assert serde.loads(before) == sends and serde.dumps(sends) == before


def test_node_table_copy_replaces_fields() -> None:
    graph = chain("a").compile()
    node = graph.nodes["a"]
    assert node.copy({"defer": True}).defer is True
    assert node.copy().name == "a" and node.defer is False


def _fan_out_with(b_writes: object, c_writes: object) -> StateGraph[State]:
    builder = StateGraph(State)
    builder.add_node("a", lambda s: {"log": ["a"]})
    builder.add_node("b", lambda s: {"log": b_writes})
    builder.add_node("c", lambda s: {"log": c_writes})
    builder.add_node("d", lambda s: {"log": ["d"]})
    builder.add_edge(START, "a")
    builder.add_edge("a", "b")
    builder.add_edge("a", "c")
    builder.add_edge(["b", "c"], "d")
    return builder


@pytest.mark.parametrize("overwrite", [Overwrite(["b"]), {"__overwrite__": ["b"]}])
def test_overwrite_in_a_step_drops_the_steps_other_writes(overwrite: object) -> None:
    graph = _fan_out_with(overwrite, ["c"]).compile()
    assert graph.invoke({"x": 0, "log": ["start"]})["log"] == ["b", "d"]


def test_two_overwrites_in_one_step_are_refused() -> None:
    graph = _fan_out_with(Overwrite(["b"]), Overwrite(["c"])).compile()
    with pytest.raises(InvalidUpdateError, match="only one Overwrite value per super-step"):
        graph.invoke({"x": 0, "log": []})


def test_builder_nodes_expose_their_function_by_langgraphs_names() -> None:
    class Counter:
        calls = 0

        def __call__(self, state: dict[str, Any]) -> dict[str, Any]:
            self.calls += 1
            return {}

    counter = Counter()
    builder = StateGraph(dict).add_node("count", counter).add_edge(START, "count")
    builder.compile().invoke({})
    assert builder.nodes["count"].runnable.func is counter
    assert counter.calls == 1


def test_a_checkpointer_that_is_not_a_saver_is_a_type_error_naming_it() -> None:
    from graphkit.errors import InvalidCheckpointerError

    builder = StateGraph(dict).add_node("a", lambda s: {}).add_edge(START, "a")
    with pytest.raises(TypeError, match="Invalid checkpointer provided: 'lmdb'") as info:
        builder.compile(checkpointer="lmdb")  # type: ignore[arg-type]
    assert isinstance(info.value, InvalidCheckpointerError)
    assert isinstance(info.value, GraphCompileError)
    assert "LMDBSaver(path)" in str(info.value)


def test_only_a_command_return_annotation_declares_where_a_node_goes() -> None:
    def to_b(state: Any) -> Command[Literal["b"]]:
        return Command(goto="b", update=["a"])

    def returns_a_literal(state: Any) -> list[Literal["b"]]:  # its value, not a route
        return ["b"]

    builder = StateGraph(Annotated[list, operator.add])
    builder.add_node("a", to_b)
    builder.add_node("b", returns_a_literal)
    builder.add_edge(START, "a")
    g = builder.compile().get_graph().nx
    assert g.edges["a", "b"]["kind"] == "command"
    assert not g.has_edge("b", "b")
    drawing = builder.compile().get_graph().draw_mermaid()
    assert "\tb --> __end__;" in drawing and "b -.-> b" not in drawing
    assert builder.compile().invoke([]) == ["a", "b"]


def test_get_name_is_the_graph_name_with_a_runnables_suffix_rules() -> None:
    builder = StateGraph(State)
    builder.add_node("a", lambda state: {})
    builder.add_edge(START, "a")
    assert builder.compile().get_name() == "LangGraph"
    assert builder.compile().get_name("input") == "LangGraphInput"
    assert builder.compile(name="agent").get_name("Input") == "agent_input"
    assert builder.compile(name="agent").get_name(name="other") == "other"
