"""Drawing: DOT valid per Graphviz for every graph shape, mermaid structure, ascii coverage."""

from __future__ import annotations

import itertools
import operator
import re
import shutil
import subprocess
from collections.abc import Callable
from typing import Annotated, Any, Literal, TypedDict

import pytest

from graphkit import END, START, Command, CompiledStateGraph, Send, StateGraph
from graphkit.draw import DrawableGraph, GraphvizNotFoundError, _q

HAS_DOT = shutil.which("dot") is not None
needs_dot = pytest.mark.skipif(
    not HAS_DOT, reason="Graphviz `dot` is not installed (apt install graphviz) - CI installs it"
)


class State(TypedDict):
    x: int
    log: Annotated[list[str], operator.add]


def _noop(state: State) -> dict[str, Any]:
    return {}


def chain() -> CompiledStateGraph:
    b = StateGraph(State)
    b.add_sequence([("a", _noop), ("b", _noop), ("c", _noop)])
    b.add_edge(START, "a")
    b.add_edge("c", END)
    return b.compile()


def branch_with_map() -> CompiledStateGraph:
    b = StateGraph(State)
    b.add_node("agent", _noop)
    b.add_node("tools", _noop)
    b.add_edge(START, "agent")
    b.add_conditional_edges(
        "agent", lambda s: "call" if s["x"] else "done", {"call": "tools", "done": END}
    )
    b.add_edge("tools", "agent")
    return b.compile()


def branch_without_map() -> CompiledStateGraph:
    b = StateGraph(State)
    b.add_node("inc", _noop)
    b.add_edge(START, "inc")
    b.add_conditional_edges("inc", lambda s: "inc" if s["x"] < 3 else END)
    return b.compile()


def join() -> CompiledStateGraph:
    b = StateGraph(State)
    for name in ("fetch", "left", "right", "merge"):
        b.add_node(name, _noop)
    b.add_edge(START, "fetch")
    b.add_edge("fetch", "left")
    b.add_edge("fetch", "right")
    b.add_edge(["left", "right"], "merge")
    b.add_edge("merge", END)
    return b.compile()


def send_fanout() -> CompiledStateGraph:
    b = StateGraph(State)
    b.add_node("work", _noop)
    b.add_conditional_edges(START, lambda s: [Send("work", s) for _ in range(3)])
    b.add_edge("work", END)
    return b.compile()


def command_destinations() -> CompiledStateGraph:
    def router(state: State) -> Command[Literal["yes", "no"]]:
        return Command(goto="yes")

    b = StateGraph(State)
    b.add_node("router", router)
    b.add_node("yes", _noop)
    b.add_node("no", _noop)
    b.add_edge(START, "router")
    b.add_edge("yes", END)
    b.add_edge("no", END)
    return b.compile()


def subgraph() -> CompiledStateGraph:
    inner = join()
    b = StateGraph(State)
    b.add_node("prepare", _noop)
    b.add_node("inner", inner)
    b.add_node("finish", _noop)
    b.add_edge(START, "prepare")
    b.add_edge("prepare", "inner")
    b.add_edge("inner", "finish")
    b.add_edge("finish", END)
    return b.compile()


WEIRD = ['say "hi"', "back\\slash", "trailing\\", "two\nlines", "naïve café ☕", "a b", "end"]


def weird_names() -> CompiledStateGraph:
    b = StateGraph(State)
    for name in WEIRD:
        b.add_node(name, _noop)
    b.add_edge(START, WEIRD[0])
    for a, c in itertools.pairwise(WEIRD):
        b.add_edge(a, c)
    b.add_conditional_edges(WEIRD[-1], lambda s: END, {'label "q"\\': END})
    return b.compile()


GRAPHS: dict[str, Callable[[], CompiledStateGraph]] = {
    "chain": chain,
    "branch_with_map": branch_with_map,
    "branch_without_map": branch_without_map,
    "join": join,
    "send_fanout": send_fanout,
    "command_destinations": command_destinations,
    "subgraph": subgraph,
    "weird_names": weird_names,
}


def _dot_accepts(source: str) -> str:
    proc = subprocess.run(["dot", "-Tsvg"], input=source.encode(), capture_output=True, check=False)
    assert proc.returncode == 0, proc.stderr.decode()
    assert not proc.stderr, proc.stderr.decode()  # no warnings either
    return proc.stdout.decode()


@needs_dot
@pytest.mark.parametrize("name", sorted(GRAPHS))
@pytest.mark.parametrize("xray", [False, True])
def test_every_graph_is_valid_dot(name: str, xray: bool) -> None:
    _dot_accepts(GRAPHS[name]().get_graph(xray=xray).to_dot())


@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_ascii_lists_every_node(name: str) -> None:
    graph = GRAPHS[name]().get_graph()
    text = graph.draw_ascii()
    for node in graph.nx.nodes:
        one_line = node.replace("\n", "\\n")
        shown = {START: "(START)", END: "(END)"}.get(node, f"[{one_line}]")
        assert shown in text


def test_get_graph_holds_the_networkx_digraph() -> None:
    compiled = chain()
    drawable = compiled.get_graph()
    assert isinstance(drawable, DrawableGraph)
    assert list(drawable.nx.edges) == list(compiled.nx.edges)
    assert drawable.nx is not compiled.nx  # a copy: drawing never alters the graph
    assert list(drawable.nodes) == [START, "a", "b", "c", END]


def test_dot_styles_terminals_conditional_and_join() -> None:
    dot = branch_with_map().get_graph().to_dot()
    assert '"__start__" [label="START", shape=oval' in dot
    assert '"__end__" [label="END", shape=oval' in dot
    assert '"agent" -> "tools" [style=dashed, label="call"];' in dot
    assert '"agent" -> "__end__" [style=dashed, label="done"];' in dot
    assert '"tools" -> "agent";' in dot
    joined = join().get_graph().to_dot()
    assert '"join:0" [shape=point' in joined
    assert '"left" -> "join:0" [arrowhead=none];' in joined
    assert '"right" -> "join:0" [arrowhead=none];' in joined
    assert '"join:0" -> "merge";' in joined


def test_dynamic_routes_are_dotted_to_every_candidate() -> None:
    dot = send_fanout().get_graph().to_dot()
    assert '"__start__" -> "work" [style=dotted' in dot
    assert 'label="Send"' in dot
    loop = branch_without_map().get_graph().to_dot()
    assert '"inc" -> "inc" [style=dotted' in loop
    assert '"inc" -> "__end__" [style=dotted' in loop


def test_many_dynamic_targets_collapse_into_a_note() -> None:
    b = StateGraph(State)
    names = [f"n{i}" for i in range(20)]
    for name in names:
        b.add_node(name, _noop)
    b.add_conditional_edges(START, lambda s: s["next"])  # targets come from data
    drawable = b.compile().get_graph()
    dot = drawable.to_dot()
    assert dot.count("style=dotted") == 1
    assert '"__start__" -> "note:__start__"' in dot
    assert "··> any node" in drawable.draw_ascii()
    if HAS_DOT:
        _dot_accepts(dot)


def test_dynamic_routes_go_only_to_nodes_the_code_names() -> None:
    b = StateGraph(State)
    for name in ("plan", "worker", "other"):
        b.add_node(name, _noop)
    b.add_edge(START, "plan")
    b.add_conditional_edges("plan", lambda s: [Send("worker", i) for i in range(3)])
    b.add_conditional_edges("other", lambda s: END)
    dot = b.compile().get_graph().to_dot()
    assert '"plan" -> "worker" [style=dotted' in dot
    assert '"plan" -> "other"' not in dot
    assert '"other" -> "__end__" [style=dotted' in dot


def test_command_destinations_are_drawn() -> None:
    dot = command_destinations().get_graph().to_dot()
    assert '"router" -> "yes" [style=dashed, arrowhead=vee];' in dot
    assert '"router" -> "no" [style=dashed, arrowhead=vee];' in dot


def test_xray_draws_subgraph_as_cluster() -> None:
    compiled = subgraph()
    flat = compiled.get_graph().to_dot()
    assert "cluster_" not in flat
    assert '"inner" [label="inner", peripheries=2];' in flat
    dot = compiled.get_graph(xray=True).to_dot()
    assert 'subgraph "cluster_inner" {' in dot
    assert '"inner:merge" [label="merge"];' in dot
    assert '"prepare" -> "inner:__start__";' in dot
    assert '"inner:__end__" -> "finish";' in dot
    assert '"inner:left" -> "inner:join:0" [arrowhead=none];' in dot


def test_xray_depth_limits_nesting() -> None:
    b = StateGraph(State)
    b.add_node("outer", subgraph())
    b.add_edge(START, "outer")
    compiled = b.compile()
    assert compiled.get_graph(xray=1).to_dot().count("subgraph ") == 1
    assert compiled.get_graph(xray=True).to_dot().count("subgraph ") == 2
    if HAS_DOT:
        _dot_accepts(compiled.get_graph(xray=True).to_dot())


def test_weird_names_are_escaped() -> None:
    dot = weird_names().get_graph().to_dot()
    assert '"say \\"hi\\""' in dot
    assert '"back\\\\slash"' in dot
    assert '"trailing\\\\"' in dot
    assert '"two\\nlines"' in dot
    assert '"naïve café ☕"' in dot


@needs_dot
def test_weird_names_render_as_given() -> None:
    svg = weird_names().get_graph().draw_svg()
    for text in ("say &quot;hi&quot;", "back\\slash", "trailing\\", "naïve café ☕", "a b"):
        assert text in svg
    assert "two" in svg and "lines" in svg


def test_quote_escapes_control_characters() -> None:
    assert _q("a\x00b") == '"a\\\\x00b"'
    assert _q("a\r\nb") == '"a\\nb"'


def test_mermaid_structure() -> None:
    text = branch_with_map().get_graph().draw_mermaid()
    assert text.splitlines() == [
        "---",
        "config:",
        "  flowchart:",
        "    curve: linear",
        "---",
        "graph TD;",
        "\t__start__([<p>__start__</p>]):::first",
        "\tagent(agent)",
        "\ttools(tools)",
        "\t__end__([<p>__end__</p>]):::last",
        "\t__start__ --> agent;",
        "\tagent -. &nbsp;done&nbsp; .-> __end__;",
        "\tagent -. &nbsp;call&nbsp; .-> tools;",
        "\ttools --> agent;",
        "\tclassDef default fill:#f2f0ff,line-height:1.2",
        "\tclassDef first fill-opacity:0",
        "\tclassDef last fill:#bfb6fc",
    ]


def test_mermaid_options() -> None:
    drawable = chain().get_graph()
    text = drawable.draw_mermaid(
        curve_style="basis",
        node_colors={"first": "fill:#000"},
        frontmatter_config={"config": {"theme": "neutral", "themeVariables": {"a": "#e2e2e2"}}},
    )
    assert text.startswith(
        "---\nconfig:\n  flowchart:\n    curve: basis\n  theme: neutral\n"
        "  themeVariables:\n    a: '#e2e2e2'\n---\n"
    )
    assert "\tclassDef first fill:#000\n" in text
    assert "\tclassDef last fill:#bfb6fc\n" in text


def test_mermaid_ids_are_safe_and_labels_escaped() -> None:
    text = weird_names().get_graph().draw_mermaid()
    for line in text.splitlines():
        if "-->" in line or "-.->" in line or ".->" in line:
            source, target = re.findall(r"^\t(\S+) .* (\S+);$", line)[0]
            assert re.fullmatch(r"[A-Za-z0-9_\\-]+", source), line
            assert re.fullmatch(r"[A-Za-z0-9_\\-]+", target), line
    assert '\tsay\\20\\22hi\\22(say "hi")' in text  # ids spell odd characters in hex
    assert "\tnaïve café ☕" not in text and "\tna\\efve\\20caf\\e9\\20\\2615(" in text
    # a node named after a mermaid keyword would end the chart: its id is spelled in hex
    assert "\t\\65nd(end)" in text and "\tend(" not in text
    assert "-. &nbsp;label #quot;q#quot;\\&nbsp; .->" in text  # a quote would end the label


def test_mermaid_subgraph_blocks_with_xray() -> None:
    text = subgraph().get_graph(xray=True).draw_mermaid(with_styles=False)
    assert text.splitlines() == [
        "graph TD;",
        "\t__start__ --> prepare;",
        # the inner START and END go: one edge each, and fetch/merge are the entry/exit
        "\tinner\\3amerge --> finish;",
        "\tprepare --> inner\\3afetch;",
        "\tfinish --> __end__;",
        "\tsubgraph inner",
        "\tinner\\3afetch --> inner\\3aleft;",
        "\tinner\\3afetch --> inner\\3aright;",
        "\tinner\\3aleft --> inner\\3amerge;",
        "\tinner\\3aright --> inner\\3amerge;",
        "\tend",
    ]


@needs_dot
def test_svg_and_png_render(tmp_path: Any) -> None:
    drawable = join().get_graph()
    assert drawable.draw_svg().lstrip().startswith("<?xml")
    out = tmp_path / "g.png"
    data = drawable.draw_png(str(out))
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert out.read_bytes() == data


def test_missing_graphviz_names_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(GraphvizNotFoundError, match="apt install graphviz"):
        chain().get_graph().draw_png()
    with pytest.raises(GraphvizNotFoundError, match="apt install graphviz"):
        chain().get_graph().draw_svg(renderer="dot")


def test_to_json_lists_nodes_and_edges_in_langchains_shape() -> None:
    builder = StateGraph(State)
    builder.add_node("a", _noop)
    builder.add_node("b", _noop)
    builder.add_edge(START, "a")
    builder.add_conditional_edges("a", lambda s: "b", {"go": "b", "stop": END})
    found = builder.compile().get_graph().to_json()
    assert [n["id"] for n in found["nodes"]] == [START, "a", "b", END]
    assert found["nodes"][-1] == {"id": END}
    assert found["nodes"][1]["type"] == "runnable"
    assert found["nodes"][1]["data"]["name"] == "a"
    assert found["edges"] == [  # LangGraph's order: sorted, then the edges to END
        {"source": START, "target": "a"},
        {"source": "a", "target": END, "data": "stop", "conditional": True},
        {"source": "a", "target": "b", "data": "go", "conditional": True},
        {"source": "b", "target": END},
    ]


def test_to_json_with_xray_prefixes_the_subgraph_nodes() -> None:
    inner = StateGraph(State)
    inner.add_node("leaf", _noop)
    inner.add_edge(START, "leaf")
    outer = StateGraph(State)
    outer.add_node("sub", inner.compile())
    outer.add_edge(START, "sub")
    graph = outer.compile()
    ids = [n["id"] for n in graph.get_graph(xray=True).to_json()["nodes"]]
    assert "sub:leaf" in ids
    assert "sub:leaf" not in [n["id"] for n in graph.get_graph().to_json()["nodes"]]


def test_draw_mermaid_without_styles_has_no_front_matter_or_classes() -> None:
    text = chain().get_graph().draw_mermaid(with_styles=False)
    assert text.startswith("graph TD;\n")
    assert "classDef" not in text
    assert "---" not in chain().get_graph().draw_mermaid(with_styles=False)
    assert chain().get_graph().draw_mermaid().startswith("---\n")


def test_draw_mermaid_png_without_graphviz_says_what_to_call(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(GraphvizNotFoundError, match=r"draw_mermaid\(\)"):
        chain().get_graph().draw_mermaid_png()


@needs_dot
def test_draw_mermaid_png_renders_offline(tmp_path: Any) -> None:
    target = tmp_path / "graph.png"
    data = chain().get_graph().draw_mermaid_png(output_file_path=str(target))
    assert data.startswith(b"\x89PNG") and target.read_bytes() == data


def test_input_and_output_jsonschema_of_a_graph() -> None:
    class In(TypedDict):
        question: str

    class Out(TypedDict):
        answer: str

    class Overall(In, Out):
        pass

    builder = StateGraph(Overall, input_schema=In, output_schema=Out)
    builder.add_node("a", lambda s: {"answer": "x"})
    builder.add_edge(START, "a")
    graph = builder.compile()
    assert graph.get_input_jsonschema()["properties"] == {
        "question": {"title": "Question", "type": "string"}
    }
    assert graph.get_output_jsonschema()["required"] == ["answer"]


def test_jsonschema_of_a_dataclass_state_treats_optional_fields_as_optional() -> None:
    import dataclasses

    @dataclasses.dataclass
    class DC:
        need: str
        maybe: int | None
        given: int = 3

    builder = StateGraph(DC)
    builder.add_node("a", lambda s: None)
    builder.add_edge(START, "a")
    found = builder.compile().get_input_jsonschema()
    assert set(found["properties"]) == {"need", "maybe", "given"}
    assert found["required"] == ["need"]


def test_jsonschema_of_a_root_state_is_its_type() -> None:
    builder: StateGraph[Any] = StateGraph(list[int])  # type: ignore[arg-type]
    builder.add_node("a", lambda s: s)
    builder.add_edge(START, "a")
    assert builder.compile().get_input_jsonschema() == {
        "type": "array",
        "items": {"type": "integer"},
        "title": "LangGraphInput",
    }


def test_with_config_binds_config_and_copy_is_independent() -> None:
    seen: list[Any] = []

    def look(state: State, config: Any) -> None:
        seen.append(config.get("configurable", {}).get("user"))

    builder = StateGraph(State)
    builder.add_node("look", look)
    builder.add_edge(START, "look")
    graph = builder.compile()
    bound = graph.with_config({"configurable": {"user": "ada"}})
    bound.invoke({"x": 1})
    bound.invoke({"x": 1}, {"configurable": {"user": "bob"}})
    graph.invoke({"x": 1})
    assert seen == ["ada", "bob", None]
    renamed = graph.copy({"name": "other"})
    assert (renamed.name, graph.name) == ("other", "LangGraph")


def test_nodes_and_edges_have_langchains_graph_fields() -> None:
    drawable = branch_with_map().get_graph()
    assert list(drawable.nodes) == [START, "agent", "tools", END]
    agent = drawable.nodes["agent"]
    assert (agent.id, agent.name, agent.data) == ("agent", "agent", "_noop")
    assert [(e.source, e.target, e.data, e.conditional) for e in drawable.edges] == [
        (START, "agent", None, False),
        ("agent", END, "done", True),
        ("agent", "tools", "call", True),
        ("tools", "agent", None, False),
    ]
    assert [tuple(e) for e in drawable.edges] == [
        (e["source"], e["target"], e.get("data"), e.get("conditional", False))
        for e in drawable.to_json()["edges"]
    ]
    first, last = drawable.first_node(), drawable.last_node()
    assert first is not None and first.id == START
    assert last is not None and last.id == END
