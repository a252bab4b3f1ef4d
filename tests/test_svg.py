"""graphkit's own SVG layout: valid XML for every graph shape, labels as given, boxes that
do not overlap, layers top to bottom, and no Graphviz needed."""

from __future__ import annotations

import re
import shutil
import xml.etree.ElementTree as ET
from typing import Any, TypedDict

import pytest

from graphkit import END, START, StateGraph
from graphkit.draw import GraphvizNotFoundError
from graphkit.errors import ConfigError
from tests.test_draw import (
    branch_with_map,
    branch_without_map,
    chain,
    command_destinations,
    join,
    send_fanout,
    subgraph,
    weird_names,
)

SVG = "{http://www.w3.org/2000/svg}"
SHAPES = {
    "chain": chain,
    "branch_with_map": branch_with_map,
    "branch_without_map": branch_without_map,
    "join": join,
    "send_fanout": send_fanout,
    "command_destinations": command_destinations,
    "subgraph": subgraph,
    "weird_names": weird_names,
}


class S(TypedDict):
    x: int


def _noop(state: S) -> dict[str, Any]:
    return {}


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg.encode("utf-8"))


def boxes(root: ET.Element) -> dict[str, tuple[float, float, float, float]]:
    """Label -> (x, y, w, h) of every top-level node box."""
    out = {}
    for group in root.iter(f"{SVG}g"):
        if (group.get("class") or "").startswith("node"):
            rect = group.find(f"{SVG}rect")
            text = group.find(f"{SVG}text")
            assert rect is not None and text is not None and text.text
            out[text.text] = tuple(float(rect.get(k) or 0) for k in ("x", "y", "width", "height"))
    return out


@pytest.mark.parametrize("shape", sorted(SHAPES))
@pytest.mark.parametrize("xray", [False, True])
def test_every_shape_draws_valid_svg_without_graphviz(
    shape: str, xray: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    drawable = SHAPES[shape]().get_graph(xray=xray)
    svg = drawable.draw_svg()  # auto: no dot here, so graphkit's own layout
    root = parse(svg)
    assert root.tag == f"{SVG}svg"
    width, height = float(root.get("width") or 0), float(root.get("height") or 0)
    assert width > 0 and height > 0
    drawn_edges = root.findall(f".//{SVG}path[@class]")
    assert len(drawn_edges) >= len(drawable.nx.edges)
    for d in (p.get("d") or "" for p in drawn_edges):
        numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", d)]
        assert all(-1 <= n <= max(width, height) for n in numbers), d
    assert drawable.draw_svg(renderer="builtin") == svg  # deterministic


def test_labels_are_the_names_as_given() -> None:
    texts = {t.text for t in parse(weird_names().get_graph().draw_svg(renderer="builtin")).iter()}
    for name in ('say "hi"', "back\\slash", "trailing\\", "naïve café ☕", "a b", "two\\nlines"):
        assert name in texts


def test_names_xml_cannot_carry_are_spelled_out() -> None:
    b = StateGraph(S)
    b.add_node("bell\x07 and \ud800 <tag> & amp", _noop)
    b.add_edge(START, "bell\x07 and \ud800 <tag> & amp")
    svg = b.compile().get_graph().draw_svg(renderer="builtin")
    texts = {t.text for t in parse(svg).iter()}
    assert "bell\\x07 and \\ud800 <tag> & amp" in texts


def test_a_chain_runs_top_to_bottom_in_one_column() -> None:
    found = boxes(parse(chain().get_graph().draw_svg(renderer="builtin")))
    order = sorted(found, key=lambda label: found[label][1])
    assert order[0] == "START" and order[-1] == "END"
    centres = {round(x + w / 2) for x, _, w, _ in found.values()}
    assert len(centres) == 1


def test_boxes_of_a_fan_out_do_not_overlap() -> None:
    b = StateGraph(S)
    names = [f"worker_{i}" for i in range(12)]
    b.add_node("plan", _noop)
    b.add_edge(START, "plan")
    for name in names:
        b.add_node(name, _noop)
        b.add_edge("plan", name)
    b.add_node("reduce", _noop)
    b.add_edge(names, "reduce")
    b.add_conditional_edges("reduce", lambda s: "plan", {"again": "plan", "stop": END})
    found = list(boxes(parse(b.compile().get_graph().draw_svg(renderer="builtin"))).values())
    assert len(found) == 16
    for i, (x1, y1, w1, h1) in enumerate(found):
        for x2, y2, w2, h2 in found[i + 1 :]:
            apart = x1 + w1 <= x2 or x2 + w2 <= x1 or y1 + h1 <= y2 or y2 + h2 <= y1
            assert apart


def test_subgraphs_open_as_clusters_with_xray() -> None:
    root = parse(subgraph().get_graph(xray=True).draw_svg(renderer="builtin"))
    clusters = [g for g in root.iter(f"{SVG}g") if g.get("class") == "cluster"]
    assert len(clusters) == 1
    inner = {t.text for t in clusters[0].iter(f"{SVG}text")}
    assert {"inner", "fetch", "merge"} <= inner


def test_the_dot_renderer_needs_graphviz(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(GraphvizNotFoundError, match="apt install graphviz"):
        chain().get_graph().draw_svg(renderer="dot")


def test_an_unknown_renderer_is_refused() -> None:
    with pytest.raises(ConfigError, match="auto, builtin, dot"):
        chain().get_graph().draw_svg(renderer="cairo")  # type: ignore[arg-type]
