"""Drawing a compiled graph: Graphviz DOT, mermaid, plain text, SVG (our own layout, or
Graphviz's ``dot`` when installed) and PNG (through ``dot``).

``compiled.get_graph(xray=False)`` returns a :class:`DrawableGraph`. It holds the
structure as a ``networkx.DiGraph`` (``.nx``) plus what the DiGraph cannot say on
its own: which sources route dynamically (a conditional edge without a path map,
a node returning ``Send``/``Command`` to undeclared targets), which edges form a
join, and, with ``xray``, the inner graph of every subgraph node.

The drawing conventions, the same in every format:

* START and END are terminals (ovals, or small dots inside a subgraph cluster).
* plain edges are solid; conditional edges are dashed and carry their label when it
  differs from the target's name; ``Command`` destinations are dashed with a ``vee``
  arrowhead.
* a join (``add_edge([a, b], c)``) goes through a small black join point: c runs
  when all of a and b have run.
* dynamic routing (targets unknown until run time) is drawn dotted to every node it
  could reach, labelled ``Send`` or ``Command`` when the code says which; past
  ``dynamic_edge_limit`` candidates it is one dotted edge to a note "any node".
* with ``xray``, a subgraph node becomes a ``cluster_`` block holding its inner graph.

We write DOT ourselves (no pydot/pygraphviz): every node name is quoted and
escaped, so any name (quotes, backslashes, spaces, newlines, unicode) is valid.

>>> from typing import TypedDict
>>> from graphkit import StateGraph, START, END
>>> class S(TypedDict):
...     x: int
>>> b = StateGraph(S)
>>> _ = b.add_node("a", lambda s: s).add_edge(START, "a").add_edge("a", END)
>>> b.compile().get_graph().print_ascii()
(START)
  ──> a
[a]
  ──> END
(END)
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

import networkx as nx

from graphkit._flat_graph import flat_graph
from graphkit._mermaid import to_mermaid
from graphkit.constants import END, START
from graphkit.errors import ConfigError, GraphkitError
from graphkit.node import may_route_dynamically, named_targets

if TYPE_CHECKING:
    from graphkit.engine.compiled import CompiledStateGraph

__all__ = [
    "DrawableGraph",
    "DynamicRoute",
    "GraphEdge",
    "GraphNode",
    "GraphvizError",
    "GraphvizNotFoundError",
]

Renderer = Literal["auto", "builtin", "dot"]
RENDERERS: tuple[Renderer, ...] = ("auto", "builtin", "dot")
"""Who draws SVG: graphkit's own layout, Graphviz's ``dot``, or dot when installed."""

DYNAMIC_EDGE_LIMIT = 12
"""Past this many candidate targets, dynamic routing is drawn as one edge to a note."""

_INSTALL_HINT = (
    "install Graphviz: `apt install graphviz` (Debian/Ubuntu), `brew install graphviz` "
    "(macOS), or see https://graphviz.org/download/"
)


class GraphvizNotFoundError(GraphkitError, RuntimeError):
    """Graphviz's ``dot`` program is not installed (needed for SVG/PNG only)."""


class GraphvizError(GraphkitError, RuntimeError):
    """``dot`` ran but failed; the message carries its first error line."""


class GraphNode(NamedTuple):
    """A node of ``get_graph().nodes``, with the fields of LangChain's ``Node``."""

    id: str
    """Its id (with ``xray``, a subgraph's inner node is ``"<node>:<inner>"``)."""
    name: str
    """The name it was added under."""
    data: Any
    """What runs: the name of the node's function (None for START and END)."""
    metadata: dict[str, Any] | None
    """What is shown under its name (user metadata, ``defer``, interrupts), if any."""


class GraphEdge(NamedTuple):
    """An edge of ``get_graph().edges``, with the fields of LangChain's ``Edge``."""

    source: str
    target: str
    data: Any = None
    """Its label (a path map key that differs from the target), if any."""
    conditional: bool = False
    """True for a conditional edge or a ``Command`` destination."""


@dataclass(slots=True, frozen=True)
class DynamicRoute:
    """A source whose targets are decided at run time."""

    source: str
    """The node (or START) that routes."""
    via: str
    """"Send", "Command" or "branch" (a path function without a path map)."""
    targets: tuple[str, ...] = ()
    """Nodes its code names (see ``named_targets``); empty: it may go anywhere."""


@dataclass(slots=True, frozen=True)
class _Edge:
    """One edge as drawn (after merging the kinds of one node pair)."""

    source: str
    target: str
    style: str
    """"edge", "conditional", "command", "join" (source -> join point), "dynamic"."""
    label: str = ""


@dataclass(slots=True)
class DrawableGraph:
    """A graph's structure, ready to draw: ``to_dot()``, ``draw_mermaid()``, ``draw_ascii()``,
    ``draw_svg()``, ``draw_png()``; the networkx DiGraph itself is ``.nx``."""

    nx: nx.DiGraph
    """Nodes START, END and each node (attr ``kind``); edges with ``kind``/``labels``."""
    name: str = "graph"
    """Shown as the DOT graph's name."""
    joins: list[tuple[tuple[str, ...], str]] = field(default_factory=list)
    """``(sources, target)`` per ``add_edge([...], target)``, in the builder's order."""
    dynamic: list[DynamicRoute] = field(default_factory=list)
    """Sources whose targets are only known at run time."""
    subgraphs: dict[str, DrawableGraph] = field(default_factory=dict)
    """With xray: node name -> the drawable inner graph of that subgraph node."""
    dynamic_edge_limit: int = DYNAMIC_EDGE_LIMIT
    """See :data:`DYNAMIC_EDGE_LIMIT`."""
    annotations: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Node -> what LangGraph shows under its name besides its metadata:
    ``__interrupt`` ("before", "after" or "before,after") and ``__tools`` (a ToolNode's)."""

    @classmethod
    def from_compiled(
        cls, graph: CompiledStateGraph[Any, Any, Any, Any], *, xray: bool | int = False
    ) -> DrawableGraph:
        """The drawable form of ``graph``; ``xray=True`` (or a depth) opens subgraphs."""
        builder = graph.builder
        joins = [(tuple(j.sources), j.target) for j in builder.joins]
        dynamic: list[DynamicRoute] = []
        known = {*builder.nodes, END}
        for source, branches in builder.branches.items():
            for branch in branches.values():
                if branch.path_map is None:
                    fn = branch.call.fn
                    via = "Send" if _mentions(fn, "Send") else "branch"
                    dynamic.append(DynamicRoute(source, via, named_targets(fn, known)))
        for node in builder.nodes.values():
            if (
                node.subgraph is None
                and node.destinations is None
                and may_route_dynamically(node.call.fn)
            ):
                fn = node.call.fn
                via = "Send" if _mentions(fn, "Send") else "Command"
                dynamic.append(DynamicRoute(node.name, via, named_targets(fn, known)))
        depth = _depth(xray)
        subgraphs: dict[str, DrawableGraph] = {}
        if depth > 0:
            inner_xray: bool | int = True if xray is True else depth - 1
            for node in builder.nodes.values():
                if node.subgraph is not None:
                    subgraphs[node.name] = cls.from_compiled(node.subgraph, xray=inner_xray)
        drawable = cls(graph.nx.copy(), graph.name, joins, _unique(dynamic), subgraphs)
        drawable.annotations = _annotations(graph)
        return drawable

    # ------------------------------------------------------------- structure
    @property
    def nodes(self) -> dict[str, GraphNode]:
        """Node id -> node, START first and END last, as LangGraph's ``graph.nodes``
        (the ids and order of ``to_json()``)."""
        flat = flat_graph(self)
        return {
            node_id: GraphNode(node_id, flat.names[node_id], self._function(node_id), meta or None)
            for node_id, meta in flat.nodes.items()
        }

    @property
    def edges(self) -> list[GraphEdge]:
        """The edges as LangGraph's ``graph.edges`` lists them (those of ``to_json()``;
        dynamic routes not included); each unpacks as ``source, target, data, conditional``."""
        return [
            GraphEdge(e.source, e.target, e.label, e.conditional) for e in flat_graph(self).edges
        ]

    def first_node(self) -> GraphNode | None:
        """The one node no edge enters (START, as LangChain's ``Graph.first_node``)."""
        found = flat_graph(self).first_node()
        return None if found is None else self.nodes[found]

    def last_node(self) -> GraphNode | None:
        """The one node no edge leaves (END, as LangChain's ``Graph.last_node``)."""
        found = flat_graph(self).last_node()
        return None if found is None else self.nodes[found]

    def _function(self, node_id: str) -> str | None:
        """The name of the function a (possibly ``sub:node``-prefixed) node id runs."""
        head, _, rest = node_id.partition(":")
        if rest and head in self.subgraphs:
            return self.subgraphs[head]._function(rest)
        return self.nx.nodes[node_id].get("function") if node_id in self.nx else None

    def _edges(self) -> list[_Edge]:
        """Every edge as drawn: declared ones merged per pair, joins, dynamic routes."""
        out: list[_Edge] = []
        for source, target, data in self.nx.edges(data=True):
            kinds = [k for k in data.get("kinds", [data.get("kind", "edge")]) if k != "join"]
            if not kinds:
                continue
            style = (
                "edge"
                if "edge" in kinds
                else ("conditional" if "conditional" in kinds else "command")
            )
            labels = [lb for lb in dict.fromkeys(data.get("labels") or []) if lb != target]
            out.append(_Edge(source, target, style, ", ".join(labels)))
        for route in self.dynamic:
            targets = self._dynamic_targets(route)
            label = "" if route.via == "branch" else route.via
            if len(targets) > self.dynamic_edge_limit:
                out.append(_Edge(route.source, _note_id(route.source), "dynamic", label))
            else:
                out.extend(_Edge(route.source, t, "dynamic", label) for t in targets)
        return out

    def _dynamic_targets(self, route: DynamicRoute) -> list[str]:
        """Where a dynamic route may go: the nodes its code names, else any node or END
        (not START); minus declared edges."""
        candidates = route.targets or [n for n in self.nx.nodes if n != START]
        return [n for n in candidates if not self.nx.has_edge(route.source, n)]

    def _notes(self) -> list[str]:
        """Sources with so many dynamic targets that they get a note instead."""
        return [
            r.source
            for r in self.dynamic
            if len(self._dynamic_targets(r)) > self.dynamic_edge_limit
        ]

    # ------------------------------------------------------------------- DOT
    def to_dot(self) -> str:
        """Graphviz DOT source (render with ``dot -Tsvg``, or :meth:`draw_svg`)."""
        lines = [
            f"digraph {_q(self.name)} {{",
            "\trankdir=TB;",
            '\tnode [shape=box, style="rounded,filled", fillcolor="#f2f0ff", fontname="Helvetica"];',
            '\tedge [fontname="Helvetica", fontsize=10];',
        ]
        lines.extend(self._dot_body("", "\t"))
        lines.append("}")
        return "\n".join(lines) + "\n"

    def _dot_body(self, prefix: str, indent: str) -> Iterator[str]:
        """Nodes, clusters and edges, node ids prefixed ``prefix`` (``"parent:"`` inside a cluster)."""
        inner = bool(prefix)
        for name, data in self.nx.nodes(data=True):
            node_id = _q(prefix + name)
            kind = data.get("kind", "node")
            if name in self.subgraphs:
                yield from self._dot_cluster(prefix, name, indent)
            elif kind == "start":
                yield (
                    f"{indent}{node_id} [shape=point, width=0.15, fillcolor=black];"
                    if inner
                    else f'{indent}{node_id} [label="START", shape=oval, fillcolor="#d8f5d0"];'
                )
            elif kind == "end":
                yield (
                    f'{indent}{node_id} [shape=doublecircle, label="", width=0.1, '
                    f"style=filled, fillcolor=black];"
                    if inner
                    else f'{indent}{node_id} [label="END", shape=oval, fillcolor="#bfb6fc"];'
                )
            else:
                extra = ", peripheries=2" if kind == "subgraph" else ""
                extra += ', style="rounded,filled,dashed"' if data.get("defer") else ""
                yield f"{indent}{node_id} [label={_q(name)}{extra}];"
        for index, (sources, target) in enumerate(self.joins):
            point = _q(f"{prefix}join:{index}")
            yield f'{indent}{point} [shape=point, width=0.12, fillcolor=black, xlabel="join"];'
            for source in sources:
                yield f"{indent}{self._dot_out(prefix, source)} -> {point} [arrowhead=none];"
            yield f"{indent}{point} -> {self._dot_in(prefix, target)};"
        for source in self._notes():
            yield (
                f'{indent}{_q(prefix + _note_id(source))} [shape=note, label="any node '
                f'(dynamic)", style=filled, fillcolor=white];'
            )
        for edge in self._edges():
            attrs = _DOT_STYLE[edge.style]
            if edge.label:
                attrs = f"{attrs}, label={_q(edge.label)}" if attrs else f"label={_q(edge.label)}"
            tail = self._dot_out(prefix, edge.source)
            head = (
                _q(prefix + edge.target)
                if edge.target.startswith("note:")
                else self._dot_in(prefix, edge.target)
            )
            yield f"{indent}{tail} -> {head}" + (f" [{attrs}];" if attrs else ";")

    def _dot_cluster(self, prefix: str, name: str, indent: str) -> Iterator[str]:
        yield f"{indent}subgraph {_q('cluster_' + prefix + name)} {{"
        yield (
            f'{indent}\tlabel={_q(name)}; style="rounded,dashed"; color="#7a6fd0"; '
            'fontname="Helvetica";'
        )
        yield from self.subgraphs[name]._dot_body(f"{prefix}{name}:", indent + "\t")
        yield f"{indent}}}"

    def _dot_in(self, prefix: str, name: str) -> str:
        """The DOT id an edge into ``name`` points at (a cluster's START when opened)."""
        return _q(f"{prefix}{name}:{START}" if name in self.subgraphs else prefix + name)

    def _dot_out(self, prefix: str, name: str) -> str:
        """The DOT id an edge out of ``name`` starts from (a cluster's END when opened)."""
        return _q(f"{prefix}{name}:{END}" if name in self.subgraphs else prefix + name)

    # --------------------------------------------------------------- mermaid
    def draw_mermaid(
        self,
        *,
        with_styles: bool = True,
        curve_style: Any = "linear",
        node_colors: Any = None,
        wrap_label_n_words: int = 9,
        frontmatter_config: dict[str, Any] | None = None,
    ) -> str:
        """Mermaid flowchart source, the same text LangGraph's ``draw_mermaid`` writes
        (see ``graphkit._flat_graph`` for the layout).

        ``with_styles=False`` leaves out the front matter, node lines and class styles;
        ``curve_style`` (a name or LangChain's ``CurveStyle``), ``node_colors`` (``default``,
        ``first``, ``last`` styles, as a mapping or an object with those attributes),
        ``wrap_label_n_words`` and ``frontmatter_config`` work as in LangGraph.
        """
        return to_mermaid(
            flat_graph(self),
            with_styles=with_styles,
            curve_style=str(getattr(curve_style, "value", curve_style)),
            node_styles=_node_styles(node_colors),
            wrap_label_n_words=wrap_label_n_words,
            frontmatter_config=frontmatter_config,
        )

    # ----------------------------------------------------------------- ascii
    def draw_ascii(self) -> str:
        """A plain-text drawing: nodes in layer order, each with its outgoing edges.

        ``──>`` edge, ``╌╌>`` conditional, ``=>>`` Command, ``··>`` dynamic (Send or a path
        function without a path map); joins read ``══> target (join: waits for a, b)``.
        """
        return "\n".join(self._ascii_lines("")) + "\n"

    def print_ascii(self) -> None:
        """Print :meth:`draw_ascii` (LangGraph's name)."""
        print(self.draw_ascii(), end="")

    def _ascii_lines(self, indent: str) -> Iterator[str]:
        outgoing: dict[str, list[str]] = {}
        for edge in self._edges():
            target = "any node" if edge.target.startswith("note:") else _terminal(edge.target)
            label = f"  ({edge.label})" if edge.label else ""
            outgoing.setdefault(edge.source, []).append(
                f"{_ASCII_ARROW[edge.style]} {_one_line(target)}{label}"
            )
        for sources, target in self.joins:
            waits = ", ".join(_one_line(s) for s in sources)
            for source in sources:
                outgoing.setdefault(source, []).append(
                    f"══> {_one_line(_terminal(target))}  (join: waits for {waits})"
                )
        for name in _layer_order(self.nx):
            kind = self.nx.nodes[name].get("kind", "node")
            if kind in ("start", "end"):
                yield f"{indent}({_terminal(name)})"
            elif name in self.subgraphs:
                yield f"{indent}[{_one_line(name)}] subgraph:"
                yield from self.subgraphs[name]._ascii_lines(indent + "  │ ")
            else:
                yield f"{indent}[{_one_line(name)}]"
            for line in outgoing.get(name, []):
                yield f"{indent}  {line}"

    # ------------------------------------------------------------------ JSON
    def to_json(self) -> dict[str, Any]:
        """The graph as ``{"nodes": [...], "edges": [...]}`` in LangChain's graph JSON
        shape and LangGraph's order (what ``Graph.to_json()`` gives for a LangGraph graph).

        Each node is ``{"id", "type": "runnable", "data": {"id": [...], "name"}}`` (END
        is just ``{"id"}``), plus ``"metadata"`` where it has some; each edge
        ``{"source", "target"}`` plus ``"data"`` (its label) and ``"conditional": true``
        where they apply. With ``xray`` a subgraph node is replaced by its nodes and
        edges, their ids prefixed with ``"<node>:"``. ``data.id`` names graphkit's own
        node function (LangGraph names its internal runnable class there).
        """
        flat = flat_graph(self)
        nodes: list[dict[str, Any]] = []
        for node_id, metadata in flat.nodes.items():
            name = flat.names[node_id]
            if name == END:
                nodes.append({"id": node_id})
                continue
            entry: dict[str, Any] = {
                "id": node_id,
                "type": "runnable",
                "data": {"id": self._runnable_id(node_id), "name": name},
            }
            if metadata:
                entry["metadata"] = metadata
            nodes.append(entry)
        edges: list[dict[str, Any]] = []
        for edge in flat.edges:
            item: dict[str, Any] = {"source": edge.source, "target": edge.target}
            if edge.label is not None:
                item["data"] = edge.label
            if edge.conditional:
                item["conditional"] = True
            edges.append(item)
        return {"nodes": nodes, "edges": edges}

    def _runnable_id(self, node_id: str) -> list[str]:
        """What runs a (possibly ``sub:node``-prefixed) node: its function's name, or
        the compiled-graph class for a subgraph node."""
        head, _, rest = node_id.partition(":")
        if rest and head in self.subgraphs:
            return self.subgraphs[head]._runnable_id(rest)
        data = self.nx.nodes[node_id]
        if data.get("kind") == "subgraph":
            return ["graphkit", "graph", "state", "CompiledStateGraph"]
        return ["graphkit", "node", str(data.get("function") or node_id)]

    # ---------------------------------------------------------------- layout
    def layout(self) -> dict[str, Any]:
        """Positions to draw the graph with anything that draws boxes and lines (the
        studio page draws SVG from them in the browser; no Graphviz needed).

        Nodes sit in the layers of :meth:`draw_ascii` (longest path from START), ordered
        within a layer to cut crossings; a subgraph opened by ``xray`` is a cluster box
        around its own layout. Returns ``{"width", "height", "nodes", "clusters",
        "edges"}``: a node is ``{"id", "name", "kind", "x", "y", "w", "h"}`` (x, y: its
        top-left corner; kind start, end, node, subgraph or note; ids inside a cluster
        are prefixed ``"<node>:"`` as in DOT), a cluster ``{"id", "name", "x", "y", "w",
        "h"}``, an edge ``{"source", "target", "style", "label", "points"}`` with style
        edge, conditional, command, join or dynamic and a polyline of ``[x, y]`` points.

        >>> from typing import TypedDict
        >>> from graphkit import StateGraph, START, END
        >>> class S(TypedDict):
        ...     x: int
        >>> b = StateGraph(S).add_node("a", lambda s: s).add_edge(START, "a").add_edge("a", END)
        >>> placed = b.compile().get_graph().layout()
        >>> [(n["id"], n["kind"]) for n in placed["nodes"]]
        [('__start__', 'start'), ('a', 'node'), ('__end__', 'end')]
        """
        return _place(self, "")

    # ---------------------------------------------------------- svg / png
    def draw_svg(self, *, renderer: Renderer = "auto") -> str:
        """SVG text. ``renderer="builtin"``: graphkit's own layered layout (no dependency);
        ``"dot"``: Graphviz's ``dot`` (raises GraphvizNotFoundError without it); ``"auto"``
        (the default): ``dot`` when it is installed, else the builtin layout."""
        if renderer not in RENDERERS:
            raise ConfigError(f"renderer={renderer!r}: use one of {', '.join(RENDERERS)}")
        if renderer == "builtin" or (renderer == "auto" and not graphviz_installed()):
            from graphkit._svg import render_svg

            return render_svg(self)
        return render_dot(self.to_dot(), "svg").decode("utf-8")

    def draw_mermaid_png(self, output_file_path: str | None = None, **options: Any) -> bytes:
        """PNG of the graph, rendered offline by Graphviz's ``dot`` from our own drawing
        (LangGraph sends the mermaid text to a web renderer instead; its styling
        ``options`` do not apply here). Without ``dot`` it raises
        ``GraphvizNotFoundError``: use ``draw_mermaid()`` for text any mermaid renderer
        takes, or install Graphviz."""
        return self.draw_png(output_file_path)

    def draw_png(self, output_file_path: str | None = None) -> bytes:
        """PNG bytes rendered by ``dot``; also written to ``output_file_path`` if given."""
        data = render_dot(self.to_dot(), "png")
        if output_file_path is not None:
            with open(output_file_path, "wb") as fh:
                fh.write(data)
        return data


def graphviz_installed() -> bool:
    """True when Graphviz's ``dot`` program is on PATH (needed for PNG only)."""
    return shutil.which("dot") is not None


def render_dot(source: str, fmt: str, *, timeout: float = 60.0) -> bytes:
    """Run ``dot -T<fmt>`` on ``source`` and return its output.

    Raises GraphvizNotFoundError naming the package to install when ``dot`` is
    missing, GraphvizError with dot's message when it rejects the input.
    """
    exe = shutil.which("dot")
    if exe is None:
        raise GraphvizNotFoundError(
            f"Drawing {fmt.upper()} needs Graphviz's `dot` program, which is not on PATH: "
            f"{_INSTALL_HINT}. (draw_svg(), to_dot(), draw_mermaid() and draw_ascii() work "
            "without it.)"
        )
    proc = subprocess.run(
        [exe, f"-T{fmt}"],
        input=source.encode("utf-8"),
        capture_output=True,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        message = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GraphvizError(
            f"dot -T{fmt} failed (exit {proc.returncode}): "
            f"{message[0] if message else 'no message'}"
        )
    return proc.stdout


# ---------------------------------------------------------------- helpers
_DOT_STYLE = {
    "edge": "",
    "conditional": "style=dashed",
    "command": "style=dashed, arrowhead=vee",
    "dynamic": 'style=dotted, color="#777777", constraint=false',
}
_ASCII_ARROW = {"edge": "──>", "conditional": "╌╌>", "command": "=>>", "dynamic": "··>"}
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def _q(text: str) -> str:
    """A DOT quoted string for any text.

    DOT keeps ``\\\\`` as is in IDs and turns it into one backslash in labels, so
    doubling backslashes keeps both valid; ``"`` is escaped, newlines become ``\\n``
    (a line break in labels) and other control characters their ``\\xNN`` spelling.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\\", "\\\\")
    text = _CONTROL.sub(lambda m: f"\\\\x{ord(m.group()):02x}", text)
    return '"' + text.replace('"', '\\"').replace("\n", "\\n") + '"'


def _one_line(text: str) -> str:
    """Text on one line: newlines shown as ``\\n``."""
    return text.replace("\r", "\\r").replace("\n", "\\n")


def _terminal(name: str) -> str:
    return {START: "START", END: "END"}.get(name, name)


def _note_id(source: str) -> str:
    # ":" is reserved in node names, so this can never collide with a user's node.
    return f"note:{source}"


def _annotations(graph: CompiledStateGraph[Any, Any, Any, Any]) -> dict[str, dict[str, Any]]:
    before, after = graph.tables.interrupt_before, graph.tables.interrupt_after
    out: dict[str, dict[str, Any]] = {}
    for node in graph.builder.nodes.values():
        notes: dict[str, Any] = {}
        where = ",".join(
            w for w, names in (("before", before), ("after", after)) if node.name in names
        )
        if where:
            notes["__interrupt"] = where
        tools = getattr(node.call.fn, "tools_by_name", None)
        if isinstance(tools, dict) and tools:
            notes["__tools"] = list(tools)
        if notes:
            out[node.name] = notes
    return out


def _node_styles(node_colors: Any) -> dict[str, str] | None:
    """LangChain's ``NodeStyles`` (or a mapping) as a ``classDef`` name -> style map."""
    if node_colors is None:
        return None
    if isinstance(node_colors, dict):
        return {str(k): str(v) for k, v in node_colors.items()}
    return {
        name: str(getattr(node_colors, name))
        for name in ("default", "first", "last")
        if hasattr(node_colors, name)
    }


def _layer_order(g: nx.DiGraph) -> list[str]:
    """Nodes by longest distance from START over forward edges (START first, END last)."""
    layer = _layers(g)
    position = {n: i for i, n in enumerate(g.nodes)}
    return sorted(g.nodes, key=lambda n: (layer[n], position[n]))


def _layers(g: nx.DiGraph) -> dict[str, int]:
    """Each node's layer: its longest distance from START over forward edges (edges that
    go down a depth-first walk from START; the others close loops), END in the last."""
    dag = nx.DiGraph()
    dag.add_nodes_from(g.nodes)
    order = {n: i for i, n in enumerate(nx.dfs_preorder_nodes(g, START))} if START in g else {}
    for u, v in g.edges:
        if order.get(u, len(order)) < order.get(v, len(order)):
            dag.add_edge(u, v)
    layer = dict.fromkeys(g.nodes, 0)
    for n in nx.topological_sort(dag):
        for succ in dag.successors(n):
            layer[succ] = max(layer[succ], layer[n] + 1)
    top = max(layer.values(), default=0) + 1
    if END in layer:
        layer[END] = top
    return layer


def _depth(xray: bool | int) -> int:
    if xray is True:
        return 1 << 30
    return max(int(xray or 0), 0)


def _mentions(fn: Any, name: str) -> bool:
    """True when ``fn``'s code refers to ``name`` (e.g. builds a ``Send``)."""
    target = getattr(fn, "__func__", fn)
    code = getattr(target, "__code__", None)
    if code is None:
        code = getattr(getattr(type(fn), "__call__", None), "__code__", None)  # noqa: B004
    if code is None:
        return False
    stack, seen = [code], []
    while stack:
        current = stack.pop()
        seen.extend(current.co_names)
        stack.extend(c for c in current.co_consts if hasattr(c, "co_names"))
    return name in seen


def _unique(routes: list[DynamicRoute]) -> list[DynamicRoute]:
    """One route per source (Send wins over Command over a plain branch)."""
    rank = {"Send": 0, "Command": 1, "branch": 2}
    best: dict[str, DynamicRoute] = {}
    for route in routes:
        if route.source not in best or rank[route.via] < rank[best[route.source].via]:
            best[route.source] = route
    return list(best.values())


# ------------------------------------------------------------------ layout
_GAP_X, _GAP_Y, _PAD, _LABEL = 28.0, 52.0, 14.0, 22.0


def _place(graph: DrawableGraph, prefix: str) -> dict[str, Any]:
    """:meth:`DrawableGraph.layout` of ``graph``, its ids prefixed ``prefix``."""
    inner = {n: _place(sub, f"{prefix}{n}:") for n, sub in graph.subgraphs.items()}
    layer = _layers(graph.nx)
    kinds = {n: str(d.get("kind", "node")) for n, d in graph.nx.nodes(data=True)}
    for source in graph._notes():
        layer[_note_id(source)], kinds[_note_id(source)] = layer[source] + 1, "note"
    drawn = [(e.source, e.target, e.style, e.label) for e in graph._edges()]
    drawn += [(s, target, "join", "") for sources, target in graph.joins for s in sources]
    rows = _ordered_rows(layer, drawn)
    size = {n: _node_size(n, kinds[n], inner.get(n), bool(prefix)) for n in layer}
    out: dict[str, Any] = {"nodes": [], "clusters": [], "edges": []}
    boxes: dict[str, tuple[float, float, float, float]] = {}
    y, width = 0.0, max(_row_width(row, size) for row in rows)
    for row in rows:
        x, height = (width - _row_width(row, size)) / 2, max(size[n][1] for n in row)
        for name in row:
            w, h = size[name]
            top = y + (height - h) / 2
            if name in inner:
                _merge_cluster(out, boxes, prefix + name, name, inner[name], x, top)
            else:
                boxes[prefix + name] = (x, top, w, h)
                out["nodes"].append(
                    {"id": prefix + name, "name": name, "kind": kinds[name]}
                    | dict(zip("xywh", (x, top, w, h), strict=True))
                )
            x += w + _GAP_X
        y += height + _GAP_Y
    loops = 0
    for source, target, style, label in drawn:
        tail = _port(boxes, prefix + source, END)
        head = _port(boxes, prefix + target, START)
        back = layer[target] <= layer[source]
        loops += back
        points = _edge_points(boxes[tail], boxes[head], width + 10.0 * loops if back else None)
        out["edges"].append(
            {"source": tail, "target": head, "style": style, "label": label, "points": points}
        )
    out["width"], out["height"] = width + 10.0 * loops + (10.0 if loops else 0.0), y - _GAP_Y
    return out


def _ordered_rows(layer: dict[str, int], edges: list[tuple[str, str, str, str]]) -> list[list[str]]:
    """Nodes per layer, each layer ordered by the mean place of its neighbours (a few
    sweeps down and up: the barycenter heuristic against crossings)."""
    rows: list[list[str]] = [[] for _ in range(max(layer.values(), default=0) + 1)]
    for name in layer:
        rows[layer[name]].append(name)
    rows = [row for row in rows if row]
    place = {n: i for row in rows for i, n in enumerate(row)}
    ups: dict[str, list[str]] = {}
    downs: dict[str, list[str]] = {}
    for source, target, _, _ in edges:
        if layer[source] < layer[target]:
            downs.setdefault(source, []).append(target)
            ups.setdefault(target, []).append(source)
    for _ in range(3):
        for sweep, near in ((rows[1:], ups), (rows[-2::-1], downs)):
            for row in sweep:
                row.sort(key=lambda n: _barycenter(near.get(n), place, place[n]))
                place.update({n: i for i, n in enumerate(row)})
    return rows


def _barycenter(neighbours: list[str] | None, place: dict[str, int], default: int) -> float:
    if not neighbours:
        return float(default)
    return sum(place[n] for n in neighbours) / len(neighbours)


def _node_size(
    name: str, kind: str, inner: dict[str, Any] | None, nested: bool
) -> tuple[float, float]:
    """A node's (width, height): a cluster wraps its layout, START/END are small inside one."""
    if inner is not None:
        return inner["width"] + 2 * _PAD, inner["height"] + 2 * _PAD + _LABEL
    if kind in ("start", "end"):
        return (14.0, 14.0) if nested else (64.0, 30.0)
    if kind == "note":
        return 132.0, 30.0
    return max(72.0, 7.5 * len(name) + 28.0), 36.0


def _row_width(row: list[str], size: dict[str, tuple[float, float]]) -> float:
    return sum(size[n][0] for n in row) + _GAP_X * (len(row) - 1)


def _merge_cluster(
    out: dict[str, Any],
    boxes: dict[str, tuple[float, float, float, float]],
    cluster_id: str,
    name: str,
    inner: dict[str, Any],
    x: float,
    y: float,
) -> None:
    """Put a subgraph's layout into its parent's at (x, y), framed by its cluster box."""
    w, h = inner["width"] + 2 * _PAD, inner["height"] + 2 * _PAD + _LABEL
    out["clusters"].append({"id": cluster_id, "name": name, "x": x, "y": y, "w": w, "h": h})
    boxes[cluster_id] = (x, y, w, h)
    dx, dy = x + _PAD, y + _PAD + _LABEL
    for cluster in inner["clusters"]:
        out["clusters"].append(cluster | {"x": cluster["x"] + dx, "y": cluster["y"] + dy})
    for node in inner["nodes"]:
        moved = node | {"x": node["x"] + dx, "y": node["y"] + dy}
        boxes[node["id"]] = (moved["x"], moved["y"], moved["w"], moved["h"])
        out["nodes"].append(moved)
    for edge in inner["edges"]:
        points = [[px + dx, py + dy] for px, py in edge["points"]]
        out["edges"].append(edge | {"points": points})


def _port(boxes: dict[str, Any], node_id: str, terminal: str) -> str:
    """Where an edge meets ``node_id``: its cluster's START (in) or END (out) if opened."""
    inside = f"{node_id}:{terminal}"
    return inside if inside in boxes else node_id


def _edge_points(
    tail: tuple[float, float, float, float],
    head: tuple[float, float, float, float],
    loop_x: float | None,
) -> list[list[float]]:
    """A forward edge goes from the tail's bottom to the head's top; an edge back up a
    loop (``loop_x``) leaves the tail's right side and comes round to the head's."""
    tx, ty, tw, th = tail
    hx, hy, hw, hh = head
    if loop_x is None:
        return [[tx + tw / 2, ty + th], [hx + hw / 2, hy]]
    return [
        [tx + tw, ty + th / 2],
        [loop_x, ty + th / 2],
        [loop_x, hy + hh / 2],
        [hx + hw, hy + hh / 2],
    ]
