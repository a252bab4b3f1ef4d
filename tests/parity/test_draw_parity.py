"""Drawings that must be the same text on graphkit and LangGraph.

``draw_mermaid()`` (with and without styles) and the edge list of ``to_json()`` of
one builder function, built with each framework. The only deliberate difference
(a node named after a mermaid keyword) has its own test in tests/test_draw.py.
"""

from __future__ import annotations

import operator
from typing import Annotated, Any, Literal, TypedDict

import pytest

from tests.parity.conftest import Lib


class S(TypedDict):
    x: Annotated[list[str], operator.add]


def _noop(state: Any) -> dict[str, Any]:
    return {}


def chain(lib: Lib) -> Any:
    b = lib.StateGraph(S)
    b.add_node("a", _noop)
    b.add_node("b", _noop)
    b.add_edge(lib.START, "a")
    b.add_edge("a", "b")
    return b.compile()


def labelled_loop_with_interrupts(lib: Lib) -> Any:
    b = lib.StateGraph(S)
    b.add_node("Zed", _noop)  # an upper-case name sorts before __start__
    b.add_node("b", _noop)
    b.add_edge(lib.START, "b")
    words = "go to zed now please, with more than nine words to wrap it"
    b.add_conditional_edges("b", lambda s: "Zed", {words: "Zed", "stop": lib.END})
    b.add_edge("Zed", "b")
    return b.compile(interrupt_before=["Zed"], interrupt_after=["Zed", "b"])


def join_metadata_defer(lib: Lib) -> Any:
    b = lib.StateGraph(S)
    b.add_node("a", _noop, metadata={"k": "v", "n": 3, "skip": {"nested": 1}})
    b.add_node("b", _noop, defer=True)
    b.add_node("c", _noop)
    b.add_edge(lib.START, "a")
    b.add_edge(lib.START, "c")
    b.add_edge(["a", "c"], "b")
    b.add_edge("b", lib.END)
    return b.compile()


def command_destinations(lib: Lib) -> Any:
    def route(state: Any) -> Any:
        return lib.Command(goto="a")

    # set as an object: a string annotation naming `lib` would not resolve
    route.__annotations__["return"] = lib.Command[Literal["a", "__end__"]]

    b = lib.StateGraph(S)
    b.add_node("a", _noop)
    b.add_node("route", route)
    b.add_edge(lib.START, "route")
    return b.compile()


def branch_from_start(lib: Lib) -> Any:
    b = lib.StateGraph(S)
    b.add_node("a", _noop)
    b.add_node("b", _noop)
    b.add_conditional_edges(lib.START, lambda s: ["a", "b"], ["a", "b"])
    b.add_edge("a", lib.END)
    return b.compile()


def odd_names(lib: Lib) -> Any:
    b = lib.StateGraph(S)
    b.add_node("weird name (x)", _noop)
    b.add_node('say "hi" #1', _noop)
    b.add_edge(lib.START, "weird name (x)")
    b.add_edge("weird name (x)", 'say "hi" #1')
    return b.compile()


def _inner(lib: Lib) -> Any:
    c = lib.StateGraph(S)
    c.add_node("c1", _noop)
    c.add_node("c2", _noop)
    c.add_edge(lib.START, "c1")
    c.add_conditional_edges("c1", lambda s: "c2", {"0": "c2", "1": lib.END})
    c.add_edge("c2", "c1")
    return c.compile()


def nested(lib: Lib) -> Any:
    p = lib.StateGraph(S)
    p.add_node("p1", _noop)
    p.add_node("mid", _inner(lib))
    p.add_edge(lib.START, "p1")
    p.add_conditional_edges("p1", lambda s: "mid", ["mid", lib.END])
    p.add_edge("mid", "p1")
    g = lib.StateGraph(S)
    g.add_node("top", p.compile())
    g.add_node("sink", _noop)
    g.add_edge(lib.START, "top")
    g.add_edge("top", "sink")
    return g.compile()


GRAPHS = [
    chain,
    labelled_loop_with_interrupts,
    join_metadata_defer,
    command_destinations,
    branch_from_start,
    odd_names,
    nested,
]


@pytest.mark.parametrize("build", GRAPHS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("xray", [False, True, 1])
def test_mermaid_is_langgraphs_text(build: Any, xray: Any, gk: Lib, lg: Lib) -> None:
    ours, theirs = build(gk).get_graph(xray=xray), build(lg).get_graph(xray=xray)
    assert ours.draw_mermaid() == theirs.draw_mermaid()
    assert ours.draw_mermaid(with_styles=False) == theirs.draw_mermaid(with_styles=False)


@pytest.mark.parametrize("build", GRAPHS, ids=lambda f: f.__name__)
def test_json_edges_and_node_ids_are_langgraphs(build: Any, gk: Lib, lg: Lib) -> None:
    ours, theirs = (
        build(gk).get_graph(xray=True).to_json(),
        build(lg).get_graph(xray=True).to_json(),
    )
    assert ours["edges"] == theirs["edges"]
    assert [n["id"] for n in ours["nodes"]] == [n["id"] for n in theirs["nodes"]]
    assert [n.get("metadata") for n in ours["nodes"]] == [
        n.get("metadata") for n in theirs["nodes"]
    ]
