"""A graph's structure as LangGraph lays it out: flat node ids, ordered edges.

``get_graph().draw_mermaid()`` and ``get_graph().to_json()`` give the same text and
the same JSON order as LangGraph's, so a migrated project's drawings (and its
snapshot tests of them) do not change. LangGraph's layout, which this module
reproduces from our compiled structure:

* nodes: START, then every node in the order it was added, then END;
* edges: every declared edge, conditional-edge destination (labelled with its path
  map key when that differs from the target), ``Command`` destination and join
  source, sorted by (source, target); one edge per pair, the first in that order.
  A plain edge to END is not listed there: instead every node no edge leaves gets an
  edge to END, after the others;
* with ``xray``, a subgraph node is replaced by its inner graph, ids prefixed with
  ``"<node>:"``; the inner START (END) is dropped when it has one edge and what is
  left still has a single entry (exit), and the outer edges are re-pointed to that
  entry and exit.

Dynamic routes (``Send``, a path function without a path map) are not edges here,
as in LangGraph; ``to_dot()`` and ``draw_ascii()`` show them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from graphkit.constants import END

if TYPE_CHECKING:
    from graphkit.draw import DrawableGraph

__all__ = ["FlatEdge", "FlatGraph", "flat_graph"]


@dataclass(frozen=True, slots=True)
class FlatEdge:
    """One drawn edge: ``label`` is None unless it differs from the target's name."""

    source: str
    target: str
    label: str | None = None
    conditional: bool = False


@dataclass(slots=True)
class FlatGraph:
    """Node ids (with their metadata) and edges, in drawing order."""

    nodes: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Node id -> metadata shown under its name (interrupts, ``defer``, user metadata)."""
    names: dict[str, str] = field(default_factory=dict)
    """Node id -> the name it was added under (for a subgraph's inner node, its own name)."""
    edges: list[FlatEdge] = field(default_factory=list)

    def add_edge(self, edge: FlatEdge) -> None:
        """Add ``edge`` unless the pair already has one (the first one wins)."""
        if any(e.source == edge.source and e.target == edge.target for e in self.edges):
            return
        if edge.target == END and END not in self.nodes:
            self.nodes[END] = {}
            self.names[END] = END
        self.edges.append(edge)

    def first_node(self, exclude: str | None = None) -> str | None:
        """The one node no edge enters (edges from ``exclude`` ignored), else None."""
        targets = {e.target for e in self.edges if e.source != exclude}
        found = [n for n in self.nodes if n != exclude and n not in targets]
        return found[0] if len(found) == 1 else None

    def last_node(self, exclude: str | None = None) -> str | None:
        """The one node no edge leaves (edges into ``exclude`` ignored), else None."""
        sources = {e.source for e in self.edges if e.target != exclude}
        found = [n for n in self.nodes if n != exclude and n not in sources]
        return found[0] if len(found) == 1 else None

    def _trim(self) -> None:
        """Drop the entry and exit terminals where one edge uses them and a single
        entry/exit remains without them."""
        first = self.first_node()
        if (
            first is not None
            and self.first_node(exclude=first) is not None
            and sum(e.source == first for e in self.edges) == 1
        ):
            self._remove(first)
        last = self.last_node()
        if (
            last is not None
            and self.last_node(exclude=last) is not None
            and sum(e.target == last for e in self.edges) == 1
        ):
            self._remove(last)

    def _remove(self, node: str) -> None:
        del self.nodes[node]
        del self.names[node]
        self.edges = [e for e in self.edges if node not in (e.source, e.target)]

    def _inline(self, name: str, inner: FlatGraph) -> None:
        """Replace node ``name`` by ``inner``, its ids prefixed ``name:``."""
        inner._trim()
        first, last = inner.first_node(), inner.last_node()
        del self.nodes[name]
        del self.names[name]
        for node, metadata in inner.nodes.items():
            self.nodes[f"{name}:{node}"] = metadata
            self.names[f"{name}:{node}"] = inner.names[node]
        self.edges.extend(
            FlatEdge(f"{name}:{e.source}", f"{name}:{e.target}", e.label, e.conditional)
            for e in inner.edges
        )
        self.edges = [
            FlatEdge(
                f"{name}:{last}" if e.source == name else e.source,
                f"{name}:{first}" if e.target == name else e.target,
                e.label,
                e.conditional,
            )
            for e in self.edges
        ]


def flat_graph(drawable: DrawableGraph) -> FlatGraph:
    """``drawable`` (and, with xray, its subgraphs) in LangGraph's layout."""
    flat = FlatGraph()
    for name, data in drawable.nx.nodes(data=True):
        if data.get("kind") != "end":
            flat.nodes[name] = _metadata(drawable, name, data)
            flat.names[name] = name
    found = sorted(_declared_edges(drawable))
    for source, target, conditional, label in found:
        shown = label if label not in ("", target) else None
        flat.add_edge(FlatEdge(source, target, shown, conditional))
    termini = {t for _, t, _, _ in found if t != END} - {s for s, _, _, _ in found}
    for source in sorted(termini):
        flat.add_edge(FlatEdge(source, END))
    for name, sub in drawable.subgraphs.items():
        inner = flat_graph(sub)
        if len(inner.nodes) > 1 and name in flat.nodes and inner.first_node() and inner.last_node():
            flat._inline(name, inner)
    return flat


def _declared_edges(drawable: DrawableGraph) -> set[tuple[str, str, bool, str]]:
    """(source, target, conditional, label) of every edge LangGraph would find."""
    found: set[tuple[str, str, bool, str]] = set()
    for source, target, data in drawable.nx.edges(data=True):
        kinds = data.get("kinds") or [data.get("kind", "edge")]
        if ("edge" in kinds and target != END) or "join" in kinds:
            found.add((source, target, False, ""))
        if "conditional" in kinds or "command" in kinds:
            found.update((source, target, True, label) for label in data.get("labels") or [""])
    return found


def _metadata(drawable: DrawableGraph, name: str, data: dict[str, Any]) -> dict[str, Any]:
    """What LangGraph lists under a node's name: its metadata, then ``defer``,
    ``__interrupt`` and ``__tools`` (the tools of a ToolNode)."""
    shown = dict(data.get("metadata") or {})
    if data.get("defer"):
        shown["defer"] = True
    shown.update(drawable.annotations.get(name, {}))
    return shown
