"""Pure functions over stored values: value filters and the text at an index path."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from graphkit.stores.store.base import MatchCondition

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "$eq": lambda a, b: a == b,
    "$ne": lambda a, b: a != b,
    "$gt": lambda a, b: a > b,
    "$gte": lambda a, b: a >= b,
    "$lt": lambda a, b: a < b,
    "$lte": lambda a, b: a <= b,
}
_MISSING = object()


def check_filter(filter: dict[str, Any] | None) -> None:
    """Raise ``ValueError`` naming an unknown ``$`` operator (before anything runs)."""
    for field, cond in (filter or {}).items():
        if not isinstance(field, str):
            raise ValueError(f"Filter keys must be field paths (str), got {field!r}.")
        if isinstance(cond, dict) and any(str(k).startswith("$") for k in cond):
            unknown = [k for k in cond if k not in _OPS]
            if unknown:
                raise ValueError(
                    f"Unknown filter operator(s) {unknown} on {field!r}; supported: {sorted(_OPS)}."
                )


def matches(value: dict[str, Any], filter: dict[str, Any] | None) -> bool:
    """Whether ``value`` satisfies every condition of ``filter``.

    ``{"a.b": 1}`` compares the nested field exactly; ``{"n": {"$gte": 2, "$lt": 5}}``
    applies each operator. A missing field fails every condition except ``$ne``;
    values that cannot be ordered (e.g. str vs int) fail comparisons.

    >>> matches({"user": {"age": 30}}, {"user.age": {"$gt": 18}})
    True
    """
    if not filter:
        return True
    for field, cond in filter.items():
        actual = field_value(value, field)
        if isinstance(cond, dict) and cond and all(str(k).startswith("$") for k in cond):
            for op, expected in cond.items():
                if not _apply(op, actual, expected):
                    return False
        elif actual is _MISSING or actual != cond:
            return False
    return True


def _apply(op: str, actual: Any, expected: Any) -> bool:
    if actual is _MISSING:
        return op == "$ne"
    try:
        return bool(_OPS[op](actual, expected))
    except TypeError:
        return False


def field_value(value: Any, path: str) -> Any:
    """The value at a dotted path, or the module's missing sentinel."""
    if isinstance(value, dict) and path in value:  # a literal key containing dots
        return value[path]
    current = value
    for part in path.split("."):
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif (
            isinstance(current, list)
            and _is_int(part)
            and -len(current) <= int(part) < len(current)
        ):
            current = current[int(part)]
        else:
            return _MISSING
    return current


def _is_int(text: str) -> bool:
    return text.lstrip("-").isdigit()


_TOKEN = re.compile(r"\[(\*|-?\d+)\]|([^.\[\]]+)")


def check_path(path: object) -> None:
    """Raise ``ValueError`` for an index path we cannot parse."""
    if not isinstance(path, str) or not path:
        raise ValueError(f"Index field paths must be non-empty strings, got {path!r}.")
    if path == "$":
        return
    rebuilt = "".join(m.group(0) for m in _TOKEN.finditer(path.replace(".", "")))
    if rebuilt != path.replace(".", "") or path.startswith(".") or path.endswith("."):
        raise ValueError(
            f"Cannot parse index field path {path!r}: use '$' (whole value), dotted "
            "fields 'a.b', list elements 'tags[*]' or 'tags[0]', and '*' for any key."
        )


def texts_at_path(value: dict[str, Any], path: str) -> list[tuple[str, str]]:
    """(concrete path, text) pairs for an index path; empty when the field is absent.

    >>> texts_at_path({"tags": ["a", "b"], "x": {"y": 1}}, "tags[*]")
    [('tags[0]', 'a'), ('tags[1]', 'b')]
    >>> texts_at_path({"x": {"y": 1}}, "x.y")
    [('x.y', '1')]
    """
    if path == "$":
        return [("$", _text(value))]
    tokens = [(m.group(1), m.group(2)) for m in _TOKEN.finditer(path)]
    found: list[tuple[str, Any]] = [("", value)]
    for index, name in tokens:
        nxt: list[tuple[str, Any]] = []
        for where, obj in found:
            if index is not None:
                if not isinstance(obj, list):
                    continue
                if index == "*":
                    nxt.extend((f"{where}[{i}]", v) for i, v in enumerate(obj))
                elif -len(obj) <= int(index) < len(obj):
                    i = int(index) % len(obj)
                    nxt.append((f"{where}[{i}]", obj[i]))
            elif isinstance(obj, dict):
                sep = "." if where else ""
                if name == "*":
                    nxt.extend((f"{where}{sep}{k}", v) for k, v in obj.items())
                elif name in obj:
                    nxt.append((f"{where}{sep}{name}", obj[name]))
        found = nxt
    return [(where, _text(obj)) for where, obj in found if obj is not None]


_SIMPLE = re.compile(r"[^.\[\]*]+")


@lru_cache(maxsize=1024)
def is_simple_path(path: str) -> bool:
    """Whether an index path is one top-level field name (no dots, brackets, or '*')."""
    return path != "$" and _SIMPLE.fullmatch(path) is not None


def text_of(obj: Any) -> str:
    """The text embedded for a field value: strings as is, dicts/lists as sorted JSON."""
    return _text(obj)


def _text(obj: Any) -> str:
    if isinstance(obj, str):
        return obj
    if isinstance(obj, (dict, list)):
        return json.dumps(obj, sort_keys=True, ensure_ascii=False)
    return str(obj)


def namespace_matches(ns: tuple[str, ...], conditions: tuple[MatchCondition, ...] | None) -> bool:
    """Whether ``ns`` satisfies every prefix/suffix condition ("*" matches any label)."""
    for cond in conditions or ():
        path = cond.path
        if len(path) > len(ns):
            return False
        part = ns[: len(path)] if cond.match_type == "prefix" else ns[len(ns) - len(path) :]
        if not all(p == "*" or p == label for p, label in zip(path, part, strict=True)):
            return False
    return True
