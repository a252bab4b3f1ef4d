"""DrawableGraph.layout(): boxes that never overlap, clusters that hold their subgraph,
edges that start and end on their nodes, for the graph shapes the drawings cover."""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Annotated, Any, TypedDict

import pytest
import studio_graph

from graphkit import END, START, CompiledStateGraph, Send, StateGraph


class State(TypedDict, total=False):
    x: int
    log: Annotated[list[str], operator.add]


def _noop(state: State) -> dict[str, Any]:
    return {}


def loop() -> CompiledStateGraph:
    b = StateGraph(State).add_node("agent", _noop).add_node("tools", _noop)
    b.add_edge(START, "agent").add_edge("tools", "agent")
    b.add_conditional_edges(
        "agent", lambda s: "go" if s["x"] else "stop", {"go": "tools", "stop": END}
    )
    return b.compile()


def fan_and_join() -> CompiledStateGraph:
    b = StateGraph(State)
    for name in ("a", "b", "c", "d"):
        b.add_node(name, _noop)
    b.add_edge(START, "a").add_edge(START, "b").add_edge(["a", "b"], "c").add_edge("c", "d")
    b.add_edge("d", END)
    return b.compile()


def sends() -> CompiledStateGraph:
    b = StateGraph(State).add_node("worker", _noop)
    b.add_conditional_edges(START, lambda s: [Send("worker", s)])
    return b.compile()


def nested() -> CompiledStateGraph:
    return studio_graph.build()


SHAPES: dict[str, Callable[[], CompiledStateGraph]] = {
    "loop": loop,
    "fan_and_join": fan_and_join,
    "sends": sends,
    "nested": nested,
}


def boxes(placed: dict[str, Any]) -> dict[str, tuple[float, float, float, float]]:
    return {n["id"]: (n["x"], n["y"], n["w"], n["h"]) for n in placed["nodes"]}


def overlap(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def on_border(point: list[float], box: tuple[float, float, float, float]) -> bool:
    x, y, w, h = box
    inside = x - 1e-6 <= point[0] <= x + w + 1e-6 and y - 1e-6 <= point[1] <= y + h + 1e-6
    edge = min(abs(point[0] - x), abs(point[0] - x - w), abs(point[1] - y), abs(point[1] - y - h))
    return inside and edge < 1e-6


@pytest.mark.parametrize("shape", SHAPES)
def test_nodes_never_overlap_and_fit_the_drawing(shape: str) -> None:
    placed = SHAPES[shape]().get_graph(xray=True).layout()
    found = list(boxes(placed).values())
    for i, a in enumerate(found):
        assert a[0] >= 0 and a[1] >= 0
        assert a[0] + a[2] <= placed["width"] + 1e-6 and a[1] + a[3] <= placed["height"] + 1e-6
        assert not any(overlap(a, b) for b in found[i + 1 :])


@pytest.mark.parametrize("shape", SHAPES)
def test_edges_run_from_their_source_box_to_their_target_box(shape: str) -> None:
    placed = SHAPES[shape]().get_graph(xray=True).layout()
    where = boxes(placed)
    assert placed["edges"]
    for edge in placed["edges"]:
        assert on_border(edge["points"][0], where[edge["source"]]), edge
        assert on_border(edge["points"][-1], where[edge["target"]]), edge


def test_layers_go_down_from_start_and_loops_come_back_up_the_side() -> None:
    placed = loop().get_graph().layout()
    where = boxes(placed)
    assert where[START][1] < where["agent"][1] < where["tools"][1] < where[END][1]
    back = next(e for e in placed["edges"] if (e["source"], e["target"]) == ("tools", "agent"))
    assert len(back["points"]) == 4
    assert back["points"][1][0] > max(where["tools"][0] + where["tools"][2], where["agent"][0])
    styles = {(e["source"], e["target"]): e["style"] for e in placed["edges"]}
    assert styles[("agent", "tools")] == "conditional"
    assert styles[(START, "agent")] == "edge"
    labels = {(e["source"], e["target"]): e["label"] for e in placed["edges"]}
    assert labels[("agent", "tools")] == "go" and labels[("agent", END)] == "stop"


def test_a_join_is_drawn_from_each_source_and_sends_are_dynamic() -> None:
    styles = {
        (e["source"], e["target"]): e["style"] for e in fan_and_join().get_graph().layout()["edges"]
    }
    assert styles[("a", "c")] == styles[("b", "c")] == "join"
    dynamic = [e for e in sends().get_graph().layout()["edges"] if e["style"] == "dynamic"]
    assert [(e["source"], e["target"], e["label"]) for e in dynamic] == [(START, "worker", "Send")]


def test_an_opened_subgraph_is_a_cluster_around_its_own_nodes() -> None:
    placed = nested().get_graph(xray=True).layout()
    (cluster,) = placed["clusters"]
    assert cluster["id"] == "research"
    box = (cluster["x"], cluster["y"], cluster["w"], cluster["h"])
    inner = [n for n in placed["nodes"] if n["id"].startswith("research:")]
    assert {n["name"] for n in inner} == {START, "search", "summarize", END}
    for node in inner:
        assert box[0] < node["x"] and node["x"] + node["w"] < box[0] + box[2]
        assert box[1] < node["y"] and node["y"] + node["h"] < box[1] + box[3]
    targets = {e["target"] for e in placed["edges"] if e["source"] == "plan"}
    assert "research:__start__" in targets  # edges into a cluster meet its START
    closed = nested().get_graph().layout()
    assert closed["clusters"] == []
    assert {n["kind"] for n in closed["nodes"] if n["id"] == "research"} == {"subgraph"}


def test_crossings_are_cut_by_ordering_each_layer() -> None:
    b = StateGraph(State)
    # declared so that layers in declaration order cross: a -> a2, b -> b2, b2 first
    for name in ("a", "b", "b2", "a2"):
        b.add_node(name, _noop)
    b.add_node("z", _noop)
    b.add_edge(START, "a").add_edge(START, "b").add_edge("b", "b2").add_edge("a", "a2")
    b.add_edge("a2", "z").add_edge("b2", "z").add_edge("z", END)
    where = boxes(b.compile().get_graph().layout())
    assert (where["a"][0] < where["b"][0]) == (where["a2"][0] < where["b2"][0])
