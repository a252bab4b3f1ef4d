"""Mermaid flowchart text of a :class:`~graphkit._flat_graph.FlatGraph`, in the
format LangGraph's ``draw_mermaid`` writes (same lines, same order).

Ids keep ``[A-Za-z0-9_-]`` and spell any other character as ``\\<hex>`` (so ``a:b``
is ``a\\3ab``), which makes every name a valid, unique id. Two deliberate
differences, both where LangGraph's text would break the chart: an id that is a
mermaid keyword (``end``, ``graph``, ...) has its first letter spelled in hex too,
and a ``"`` in an edge label is written ``#quot;``.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import Any

from graphkit._flat_graph import FlatEdge, FlatGraph
from graphkit.errors import GraphCompileError

__all__ = ["NODE_STYLES", "to_mermaid"]

NODE_STYLES = {
    "default": "fill:#f2f0ff,line-height:1.2",
    "first": "fill-opacity:0",
    "last": "fill:#bfb6fc",
}
"""The ``classDef`` of ordinary nodes, the entry node and the exit node."""

_ID_CHARS = frozenset(string.ascii_letters + string.digits + "_-")
_KEYWORDS = frozenset(
    {"end", "graph", "subgraph", "flowchart", "style", "class", "classdef", "click"}
    | {"linkstyle", "direction", "default"}
)
_MARKDOWN = ("*", "_", "`")
_LABEL_ESCAPES = {
    "[": "#91;",
    "]": "#93;",
    "(": "#40;",
    ")": "#41;",
    "{": "#123;",
    "}": "#125;",
    '"': "#quot;",
    "<": "#60;",
    ">": "#62;",
    "|": "#124;",
}


def to_mermaid(
    flat: FlatGraph,
    *,
    with_styles: bool = True,
    curve_style: str = "linear",
    node_styles: Mapping[str, str] | None = None,
    wrap_label_n_words: int = 9,
    frontmatter_config: Mapping[str, Any] | None = None,
) -> str:
    """The chart: front matter and node lines only ``with_styles``; then the edges,
    grouped into ``subgraph`` blocks by their shared id prefix; then the class styles."""
    first, last = flat.first_node(), flat.last_node()
    out: list[str] = []
    if with_styles:
        out += ["---", *_yaml(_front_matter(frontmatter_config, curve_style)), "---"]
    out.append("graph TD;")

    def node_line(node: str) -> str:
        label = _node_label(flat.names[node], flat.nodes[node])
        if node == first:
            return f"\t{safe_id(node)}([{label}]):::first"
        if node == last:
            return f"\t{safe_id(node)}([{label}]):::last"
        return f"\t{safe_id(node)}({label})"

    inner: dict[str, list[str]] = {}
    for node in flat.nodes:
        if ":" in node:
            inner.setdefault(node.rsplit(":", 1)[0], []).append(node)
        elif with_styles:
            out.append(node_line(node))

    groups: dict[str, list[FlatEdge]] = {}
    for edge in flat.edges:
        groups.setdefault(_shared_prefix(edge), []).append(edge)
    seen: set[str] = set()

    def block(prefix: str, edges: list[FlatEdge]) -> None:
        self_loop = len(edges) == 1 and edges[0].source == edges[0].target
        opened = bool(prefix) and not self_loop
        if opened:
            name = prefix.rsplit(":", 1)[-1]
            if name in seen:
                raise GraphCompileError(
                    f"Two subgraph nodes are named {name!r}; give each subgraph node a "
                    "unique name so the drawing can tell them apart."
                )
            seen.add(name)
            out.append(f"\tsubgraph {name}")
            if with_styles:
                out.extend(node_line(n) for n in inner.get(prefix, []))
        out.extend(_edge_line(e, wrap_label_n_words) for e in edges)
        for nested, nested_edges in groups.items():
            if nested.startswith(prefix + ":") and ":" not in nested[len(prefix) + 1 :]:
                block(nested, nested_edges)
        if opened:
            out.append("\tend")

    block("", groups.get("", []))
    for prefix, edges in groups.items():
        if prefix and ":" not in prefix:
            block(prefix, edges)
            seen.add(prefix)
    if with_styles:
        for prefix, nodes in inner.items():
            if ":" not in prefix and prefix not in seen:
                out += [f"\tsubgraph {prefix}", *(node_line(n) for n in nodes), "\tend"]
                seen.add(prefix)
        styles = {**NODE_STYLES, **(node_styles or {})}
        out += [f"\tclassDef {name} {style}" for name, style in styles.items()]
    return "\n".join(out) + "\n"


def safe_id(node: str) -> str:
    """A mermaid id for ``node``: unique, and valid whatever the name holds."""
    spelled = "".join(ch if ch in _ID_CHARS else f"\\{ord(ch):x}" for ch in node)
    if node.lower() in _KEYWORDS:
        spelled = f"\\{ord(node[0]):x}{spelled[1:]}"
    return spelled


def _shared_prefix(edge: FlatEdge) -> str:
    """The id parts source and target share, position by position (their block)."""
    parts = zip(edge.source.split(":"), edge.target.split(":"), strict=False)
    return ":".join(a for a, b in parts if a == b)


def _node_label(name: str, metadata: Mapping[str, Any]) -> str:
    shown = name.rsplit(":", 1)[-1]
    if shown.startswith(_MARKDOWN) and shown.endswith(_MARKDOWN):
        shown = f"<p>{shown}</p>"
    lines = [
        _escape(f"{key} = {text}")
        for key, value in metadata.items()
        if (text := _metadata_text(value)) is not None
    ]
    if lines:
        shown += "<hr/><small><em>" + "\n".join(lines) + "</em></small>"
    return shown


def _metadata_text(value: Any) -> str | None:
    """Scalars and flat collections of scalars are shown; anything else is left out."""
    scalars = (str, int, float, bool)
    if isinstance(value, scalars):
        return str(value)
    if isinstance(value, (list, tuple, set)) and all(isinstance(v, scalars) for v in value):
        items = [str(v) for v in value]
        return ", ".join(sorted(items) if isinstance(value, set) else items)
    return None


def _escape(text: str) -> str:
    text = text.replace("#", "#35;")
    for ch, entity in _LABEL_ESCAPES.items():
        text = text.replace(ch, entity)
    return text


def _edge_line(edge: FlatEdge, wrap: int) -> str:
    if edge.label is None:
        arrow = " -.-> " if edge.conditional else " --> "
    else:
        label = edge.label.replace('"', "#quot;")
        words = label.split()
        if len(words) > wrap:
            lines = (" ".join(words[i : i + wrap]) for i in range(0, len(words), wrap))
            label = "&nbsp<br>&nbsp".join(lines)
        arrow = (
            f" -. &nbsp;{label}&nbsp; .-> " if edge.conditional else f" -- &nbsp;{label}&nbsp; --> "
        )
    return f"\t{safe_id(edge.source)}{arrow}{safe_id(edge.target)};"


def _front_matter(config: Mapping[str, Any] | None, curve_style: str) -> dict[str, Any]:
    given = dict(config or {})
    inner = dict(given.get("config") or {})
    inner["flowchart"] = {**dict(inner.get("flowchart") or {}), "curve": curve_style}
    given["config"] = inner
    return given


def _yaml(value: Mapping[str, Any], indent: str = "") -> list[str]:
    """Block YAML of nested mappings of scalars, keys sorted (as PyYAML dumps them)."""
    lines: list[str] = []
    for key in sorted(value, key=str):
        item = value[key]
        if isinstance(item, Mapping):
            lines.append(f"{indent}{key}:")
            lines += _yaml(item, indent + "  ")
        else:
            lines.append(f"{indent}{key}: {_yaml_scalar(item)}")
    return lines


def _yaml_scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    text = str(value)
    plain = text and text[0].isalnum() and all(ch.isalnum() or ch in "-_. " for ch in text)
    return text if plain else "'" + text.replace("'", "''") + "'"
