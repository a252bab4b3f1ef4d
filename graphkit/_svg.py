"""graphkit's own SVG drawing of a :class:`~graphkit.draw.DrawableGraph`: no Graphviz needed.

A layered layout, top to bottom, in the conventions of the other formats (see
:mod:`graphkit.draw`): nodes go in layers by their longest distance from START
over forward edges (END last), are ordered in each layer by the mean position of
their neighbours (a few sweeps down and up), and sit as close to their parents'
centre as their neighbours allow. Forward edges are curves from the bottom of a
box to the top of the next; edges back up (loops) run along the right side; a
self-loop is a small arc on the box's right. With xray, a subgraph is laid out on
its own and drawn as a dashed cluster, sized to hold it, in the outer layout.

Deterministic: the same graph always gives the same bytes.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

import networkx as nx

from graphkit.constants import END

if TYPE_CHECKING:
    from graphkit.draw import DrawableGraph

FONT = 'font-family="Helvetica, Arial, sans-serif"'
FONT_SIZE = 13
CHAR_WIDTH = 7.4
"""Approximate advance of one character at FONT_SIZE (wide East Asian ones count twice)."""
NODE_HEIGHT = 34.0
H_GAP = 28.0
V_GAP = 46.0
MARGIN = 16.0
PAD = 14.0
"""Space between a cluster's border and its inner layout."""
TITLE = 18.0
"""Height of a cluster's title line."""
FILL = {"node": "#f2f0ff", "subgraph": "#f2f0ff", "start": "#d8f5d0", "end": "#bfb6fc"}
DASH = {"edge": "", "join": "", "conditional": "6,4", "command": "6,4", "dynamic": "2,3"}


@dataclass(slots=True)
class _Box:
    """A drawn node: its size, and (after layout) its centre."""

    label: str
    kind: str
    """"node", "subgraph", "start", "end", "join", "note" or "cluster"."""
    w: float
    h: float
    dashed: bool = False
    inner: _Layout | None = None
    """A cluster's own layout (xray)."""
    layer: int = 0
    x: float = 0.0
    y: float = 0.0

    @property
    def left(self) -> float:
        return self.x - self.w / 2

    @property
    def right(self) -> float:
        return self.x + self.w / 2

    @property
    def top(self) -> float:
        return self.y - self.h / 2

    @property
    def bottom(self) -> float:
        return self.y + self.h / 2


@dataclass(slots=True)
class _Line:
    source: str
    target: str
    style: str
    """"edge", "conditional", "command", "dynamic" or "join" (into a join point)."""
    label: str = ""


@dataclass(slots=True)
class _Layout:
    boxes: dict[str, _Box] = field(default_factory=dict)
    lines: list[_Line] = field(default_factory=list)
    width: float = 0.0
    height: float = 0.0


def render_svg(graph: DrawableGraph) -> str:
    """The SVG document of ``graph``, laid out by graphkit (no Graphviz)."""
    layout = _layout(graph, inner=False)
    width, height = layout.width + 2 * MARGIN, layout.height + 2 * MARGIN
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}">',
        f"<title>{_text(graph.name)}</title>",
        "<defs>",
        '<marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" '
        'markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        'fill="#333"/></marker>',
        '<marker id="vee" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="9" '
        'markerHeight="9" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 L4,5 z" '
        'fill="#333"/></marker>',
        "</defs>",
        '<rect width="100%" height="100%" fill="white"/>',
        f'<g transform="translate({MARGIN:.0f},{MARGIN:.0f})">',
    ]
    parts.extend(_draw(layout))
    parts += ["</g>", "</svg>"]
    return "\n".join(parts) + "\n"


# ---------------------------------------------------------------------- layout
def _layout(graph: DrawableGraph, *, inner: bool) -> _Layout:
    layout = _Layout(_boxes(graph, inner), _lines(graph))
    _assign_layers(layout)
    rows = _order(layout)
    _place(layout, rows)
    return layout


def _boxes(graph: DrawableGraph, inner: bool) -> dict[str, _Box]:
    from graphkit.draw import _note_id, _one_line

    boxes: dict[str, _Box] = {}
    for name, data in graph.nx.nodes(data=True):
        kind = data.get("kind", "node")
        if name in graph.subgraphs:
            sub = _layout(graph.subgraphs[name], inner=True)
            width = max(sub.width, _width(name)) + 2 * PAD
            boxes[name] = _Box(name, "cluster", width, sub.height + 2 * PAD + TITLE, inner=sub)
        elif kind in ("start", "end"):
            label = "START" if kind == "start" else "END"
            size = (12.0, 12.0) if inner else (_width(label) + 24, NODE_HEIGHT)
            boxes[name] = _Box(label, kind, *size)
        else:
            label = _one_line(name)
            kind = "subgraph" if kind == "subgraph" else "node"
            boxes[name] = _Box(
                label, kind, _width(label) + 24, NODE_HEIGHT, dashed=bool(data.get("defer"))
            )
    for index in range(len(graph.joins)):
        boxes[f"join:{index}"] = _Box("join", "join", 10.0, 10.0)
    for source in graph._notes():
        label = "any node (dynamic)"
        boxes[_note_id(source)] = _Box(label, "note", _width(label) + 24, NODE_HEIGHT)
    return boxes


def _lines(graph: DrawableGraph) -> list[_Line]:
    lines: list[_Line] = []
    for index, (sources, target) in enumerate(graph.joins):
        lines.extend(_Line(source, f"join:{index}", "join") for source in sources)
        lines.append(_Line(f"join:{index}", target, "edge"))
    lines.extend(_Line(e.source, e.target, e.style, e.label) for e in graph._edges())
    return lines


def _assign_layers(layout: _Layout) -> None:
    """Longest distance from START over forward edges (DFS order); END below everything."""
    g = nx.DiGraph()
    g.add_nodes_from(layout.boxes)
    # declared edges first: they decide the DFS order; dynamic routes only add to it
    g.add_edges_from((ln.source, ln.target) for ln in layout.lines if ln.style != "dynamic")
    g.add_edges_from((ln.source, ln.target) for ln in layout.lines if ln.style == "dynamic")
    order = {n: i for i, n in enumerate(nx.dfs_preorder_nodes(g))}
    dag = nx.DiGraph()
    dag.add_nodes_from(g.nodes)
    dag.add_edges_from((u, v) for u, v in g.edges if order[u] < order[v])
    for name in nx.topological_sort(dag):
        box = layout.boxes[name]
        for succ in dag.successors(name):
            target = layout.boxes[succ]
            target.layer = max(target.layer, box.layer + 1)
    for name, box in layout.boxes.items():
        if name.startswith("note:"):  # a note hangs below the node it belongs to
            box.layer = layout.boxes[name[5:]].layer + 1
    if END in layout.boxes:
        others = [b.layer for n, b in layout.boxes.items() if n != END]
        layout.boxes[END].layer = max(others, default=0) + 1


def _order(layout: _Layout) -> list[list[str]]:
    """Each layer's boxes, ordered by the mean position of their neighbours."""
    depth = max((b.layer for b in layout.boxes.values()), default=0) + 1
    rows: list[list[str]] = [[] for _ in range(depth)]
    for name, box in layout.boxes.items():
        rows[box.layer].append(name)
    up: dict[str, list[str]] = {n: [] for n in layout.boxes}
    down: dict[str, list[str]] = {n: [] for n in layout.boxes}
    for line in layout.lines:
        if line.source == line.target:
            continue
        if layout.boxes[line.source].layer < layout.boxes[line.target].layer:
            up[line.target].append(line.source)
            down[line.source].append(line.target)
    for _ in range(3):
        for neighbours, sweep in ((up, rows), (down, rows[::-1])):
            position = {n: i for row in rows for i, n in enumerate(row)}
            for row in sweep:
                row.sort(key=lambda name: _barycenter(name, neighbours[name], position))
                position.update({n: i for i, n in enumerate(row)})
    return rows


def _barycenter(name: str, near: list[str], position: dict[str, int]) -> float:
    """Mean position of ``near`` (``name``'s own when it has no neighbours there)."""
    if not near:
        return float(position[name])
    return sum(position[n] for n in near) / len(near)


def _place(layout: _Layout, rows: list[list[str]]) -> None:
    """Coordinates: rows top to bottom; in a row, each box near its parents' centre."""
    boxes = layout.boxes
    parents: dict[str, list[str]] = {n: [] for n in boxes}
    for line in layout.lines:
        if boxes[line.source].layer < boxes[line.target].layer:
            parents[line.target].append(line.source)
    y = 0.0
    for row in rows:
        height = max((boxes[n].h for n in row), default=0.0)
        wanted = []
        for name in row:
            near = parents[name]
            wanted.append(sum(boxes[p].x for p in near) / len(near) if near else None)
        xs: list[float] = []
        for i, name in enumerate(row):
            goal = wanted[i]
            if xs:
                lowest = xs[-1] + boxes[row[i - 1]].w / 2 + H_GAP + boxes[name].w / 2
                xs.append(lowest if goal is None else max(goal, lowest))
            else:
                xs.append(0.0 if goal is None else goal)
        shifts = [w - x for w, x in zip(wanted, xs, strict=True) if w is not None]
        shift = sum(shifts) / len(shifts) if shifts else -sum(xs) / max(len(xs), 1)
        for name, x in zip(row, xs, strict=True):
            boxes[name].x = x + shift
            boxes[name].y = y + height / 2
        y += height + V_GAP
    detours = [ln for ln in layout.lines if _detours(layout, ln)]
    room = (
        (30.0 + 14.0 * len(detours) + max(_width(ln.label) for ln in detours) / 2)
        if detours
        else 0.0
    )
    left = min((b.left for b in boxes.values()), default=0.0)
    for box in boxes.values():
        box.x += room - left
    loops = sum(1 for ln in layout.lines if _is_back(layout, ln))
    labels = max((_width(ln.label) for ln in layout.lines if _is_back(layout, ln)), default=0)
    layout.width = max((b.right for b in boxes.values()), default=0.0)
    layout.width += (30.0 + 14.0 * loops + labels / 2) if loops else 0.0
    layout.height = max(y - V_GAP, 0.0)


def _detours(layout: _Layout, line: _Line) -> bool:
    """True for an edge down past layers whose boxes stand in its straight way."""
    s, t = layout.boxes[line.source], layout.boxes[line.target]
    return t.layer > s.layer + 1 and _blocked(layout, s, t)


def _blocked(layout: _Layout, s: _Box, t: _Box) -> bool:
    """True when a box of a layer between ``s`` and ``t`` sits on the straight way down."""
    for box in layout.boxes.values():
        if s.layer < box.layer < t.layer:
            share = (box.y - s.bottom) / max(t.top - s.bottom, 1.0)
            x = s.x + (t.x - s.x) * share
            if box.left - 8 <= x <= box.right + 8:
                return True
    return False


def _is_back(layout: _Layout, line: _Line) -> bool:
    return layout.boxes[line.target].layer <= layout.boxes[line.source].layer


# ----------------------------------------------------------------------- draw
def _draw(layout: _Layout) -> list[str]:
    out: list[str] = []
    lanes = {"left": 0, "right": 0}
    for line in layout.lines:
        out.extend(_edge(layout, line, lanes))
    for box in layout.boxes.values():
        out.extend(_box(box))
    return out


def _edge(layout: _Layout, line: _Line, lanes: dict[str, int]) -> list[str]:
    """The path of one edge (and its label); ``lanes`` counts the side lanes taken."""
    s, t = layout.boxes[line.source], layout.boxes[line.target]
    if line.source == line.target:
        x, y = s.right, s.y
        d = f"M{x:.1f},{y - 7:.1f} C{x + 34:.1f},{y - 26:.1f} {x + 34:.1f},{y + 26:.1f} {x:.1f},{y + 7:.1f}"
        mid = (x + 26, y)
    elif _detours(layout, line):  # past the boxes of the layers in between, on their left
        lanes["left"] += 1
        between = [b for b in layout.boxes.values() if s.layer < b.layer < t.layer]
        side = min(b.left for b in between) - 16.0 - 14.0 * lanes["left"]
        sx, sy, tx, ty = s.x, s.bottom, t.x, t.top
        d = _orthogonal(
            [(sx, sy), (sx, sy + 12), (side, sy + 12), (side, ty - 12), (tx, ty - 12), (tx, ty)]
        )
        mid = (side - 4 - _width(line.label) / 2, (sy + ty) / 2)
    elif t.layer > s.layer:
        sx, sy, tx, ty = s.x, s.bottom, t.x, t.top
        bend = (ty - sy) / 2
        d = f"M{sx:.1f},{sy:.1f} C{sx:.1f},{sy + bend:.1f} {tx:.1f},{ty - bend:.1f} {tx:.1f},{ty:.1f}"
        mid = ((sx + tx) / 2, (sy + ty) / 2)
    elif t.layer == s.layer:
        left_to_right = t.x > s.x
        sx = s.right if left_to_right else s.left
        tx = t.left if left_to_right else t.right
        y = s.y
        d = f"M{sx:.1f},{y:.1f} C{sx:.1f},{y + 24:.1f} {tx:.1f},{y + 24:.1f} {tx:.1f},{y:.1f}"
        mid = ((sx + tx) / 2, y + 18)
    else:  # back up: along the right side of everything in between
        lanes["right"] += 1
        span = [b for b in layout.boxes.values() if t.layer <= b.layer <= s.layer]
        side = max(b.right for b in span) + 16.0 + 14.0 * lanes["right"]
        sx, sy, tx, ty = s.right, s.y, t.right, t.y
        d = _orthogonal([(sx, sy), (side, sy), (side, ty), (tx, ty)])
        mid = (side + 4 + _width(line.label) / 2, (sy + ty) / 2)
    attrs = 'fill="none" stroke="#333" stroke-width="1.2"'
    if line.style == "dynamic":
        attrs = 'fill="none" stroke="#777" stroke-width="1.2"'
    if DASH[line.style]:
        attrs += f' stroke-dasharray="{DASH[line.style]}"'
    if line.style != "join":
        attrs += f' marker-end="url(#{"vee" if line.style == "command" else "arrow"})"'
    out = [f'<path class="edge {line.style}" d="{d}" {attrs}/>']
    if line.label:
        out.append(
            f'<text x="{mid[0]:.1f}" y="{mid[1] + 4:.1f}" text-anchor="middle" {FONT} '
            f'font-size="11" fill="#333" stroke="white" stroke-width="3" '
            f'paint-order="stroke">{_text(line.label)}</text>'
        )
    return out


def _orthogonal(points: list[tuple[float, float]], radius: float = 8.0) -> str:
    """An SVG path through ``points`` (each turn a right angle) with rounded corners."""
    (x, y), *rest = points
    d = [f"M{x:.1f},{y:.1f}"]
    for (px, py), (cx, cy), (nx_, ny) in zip(points, points[1:], points[2:], strict=False):
        r = min(radius, abs(cx - px + cy - py) / 2, abs(nx_ - cx + ny - cy) / 2)
        bx = cx - r * _sign(cx - px)
        by = cy - r * _sign(cy - py)
        ax = cx + r * _sign(nx_ - cx)
        ay = cy + r * _sign(ny - cy)
        d.append(f"L{bx:.1f},{by:.1f} Q{cx:.1f},{cy:.1f} {ax:.1f},{ay:.1f}")
    x, y = rest[-1]
    d.append(f"L{x:.1f},{y:.1f}")
    return " ".join(d)


def _sign(value: float) -> float:
    return (value > 0) - (value < 0)


def _box(box: _Box) -> list[str]:
    x, y, w, h = box.left, box.top, box.w, box.h
    label = _text(box.label)
    text = (
        f'<text x="{box.x:.1f}" y="{box.y + 4.5:.1f}" text-anchor="middle" {FONT} '
        f'font-size="{FONT_SIZE}" fill="#111">{label}</text>'
    )
    if box.kind == "cluster":
        assert box.inner is not None
        out = [
            f'<g class="cluster"><rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" '
            'rx="8" fill="none" stroke="#7a6fd0" stroke-dasharray="6,4"/>',
            f'<text x="{x + 10:.1f}" y="{y + 15:.1f}" {FONT} font-size="{FONT_SIZE}" '
            f'fill="#4b3fa8">{label}</text>',
            f'<g transform="translate({x + (w - box.inner.width) / 2:.1f},{y + PAD + TITLE:.1f})">',
        ]
        return [*out, *_draw(box.inner), "</g></g>"]
    if box.kind == "join":
        return [
            f'<circle class="join" cx="{box.x:.1f}" cy="{box.y:.1f}" r="5" fill="#111"/>',
            f'<text x="{box.x + 9:.1f}" y="{box.y + 4:.1f}" {FONT} font-size="10" '
            'fill="#555">join</text>',
        ]
    if box.kind in ("start", "end") and w < 20:  # a subgraph's own start and end points
        ring = '" stroke="#111" stroke-width="3" fill="white' if box.kind == "end" else ""
        return [f'<circle class="{box.kind}" cx="{box.x:.1f}" cy="{box.y:.1f}" r="5{ring}"/>']
    rx = h / 2 if box.kind in ("start", "end") else 6
    fill = FILL.get(box.kind, "white")
    dash = ' stroke-dasharray="5,3"' if box.dashed else ""
    out = [
        f'<g class="node {box.kind}"><rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" '
        f'height="{h:.1f}" rx="{rx:.1f}" fill="{fill}" stroke="#333"{dash}/>'
    ]
    if box.kind == "subgraph":  # a subgraph node (not opened): a double border
        out.append(
            f'<rect x="{x + 3:.1f}" y="{y + 3:.1f}" width="{w - 6:.1f}" height="{h - 6:.1f}" '
            f'rx="{rx - 2:.1f}" fill="none" stroke="#333"/>'
        )
    return [*out, text, "</g>"]


# -------------------------------------------------------------------- helpers
def _width(text: str) -> float:
    wide = sum(1 for ch in text if unicodedata.east_asian_width(ch) in ("W", "F"))
    return (len(text) + wide) * CHAR_WIDTH


def _text(text: str) -> str:
    """Text as XML holds it: markup escaped, control characters and lone surrogates
    spelled out (XML 1.0 has no way to carry them)."""
    from graphkit.draw import _CONTROL, _one_line

    text = _one_line(text).replace("\t", " ")
    text = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return escape(text, {'"': "&quot;"})
