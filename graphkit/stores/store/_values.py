"""Pure functions over stored values: value filters and the text at an index path."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from graphkit.constants import MISSING
from graphkit.errors import InvalidStoreQueryError

if TYPE_CHECKING:
    from graphkit.stores.store.base import MatchCondition

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "$eq": lambda a, b: a == b,
    "$ne": lambda a, b: a != b,
    "$gt": lambda a, b: a > b,
    "$gte": lambda a, b: a >= b,
    "$lt": lambda a, b: a < b,
    "$lte": lambda a, b: a <= b,
}


def check_filter(filter: dict[str, Any] | None) -> None:
    """Raise ``ValueError`` naming an unknown ``$`` operator (before anything runs)."""
    if filter is not None and not isinstance(filter, dict):
        raise InvalidStoreQueryError(
            f"filter must be a dict of field paths to values or {{'$op': value}} conditions, "
            f"got {type(filter).__name__}: write e.g. {{'kind': 'note', 'score': {{'$gt': 3}}}}."
        )
    for field, cond in (filter or {}).items():
        if not isinstance(field, str):
            raise InvalidStoreQueryError(f"Filter keys must be field paths (str), got {field!r}.")
        if isinstance(cond, dict) and any(str(k).startswith("$") for k in cond):
            unknown = [k for k in cond if k not in _OPS]
            if unknown:
                raise InvalidStoreQueryError(
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
        elif actual is MISSING or actual != cond:
            return False
    return True


def _apply(op: str, actual: Any, expected: Any) -> bool:
    if actual is MISSING:
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
            return MISSING
    return current


def _is_int(text: str) -> bool:
    return text.lstrip("-").isdigit()


# -- index paths -------------------------------------------------------------------------------
# A path is dot-separated segments; a segment is a field name, "*" (every value of a dict or
# element of a list) or "{p1,p2}" (several sub-paths), followed by any number of "[i]" / "[*]".
# "$" or "" is the whole value. Parsed once per distinct path (cached), walked per value.

_Step = tuple[str, Any]
"""("key", name) | ("any", None) | ("index", int) | ("all", None) | ("alts", [[steps], ...])."""

_INDEX = re.compile(r"\[\s*(\*|-?\d+)\s*\]")
_NAME = re.compile(r"[^.\[\]{},]+")


class _BadPath(ValueError):
    """A path that does not parse (get_text_at_path treats it as matching nothing)."""


@lru_cache(maxsize=1024)
def _parse(path: str) -> tuple[_Step, ...]:
    steps, end = _parse_seq(path, 0, top=True)
    if end != len(path):
        raise _BadPath(path)
    return tuple(steps)


def _parse_seq(path: str, i: int, *, top: bool) -> tuple[list[_Step], int]:
    """Parse segments from ``i`` until the end (top level) or an unnested ',' / '}'."""
    steps: list[_Step] = []
    n = len(path)
    while i < n:
        c = path[i]
        if c == ".":
            i += 1
            continue
        if c in ",}":
            if top:
                raise _BadPath(path)
            break
        if c == "{":
            alts: list[list[_Step]] = []
            i += 1
            while True:
                alt, i = _parse_seq(path, i, top=False)
                if not alt:
                    raise _BadPath(path)
                alts.append(alt)
                if i >= n:
                    raise _BadPath(path)  # unclosed brace
                if path[i] == "}":
                    i += 1
                    break
                i += 1  # ','
            steps.append(("alts", alts))
        elif c == "[":
            pass  # an index right after '.' or at the start: handled below
        else:
            m = _NAME.match(path, i)
            if m is None:
                raise _BadPath(path)
            name = m.group(0).strip()
            if not name:
                raise _BadPath(path)
            steps.append(("any", None) if name == "*" else ("key", name))
            i = m.end()
        while i < n and path[i] == "[":
            m = _INDEX.match(path, i)
            if m is None:
                raise _BadPath(path)
            idx = m.group(1)
            steps.append(("all", None) if idx == "*" else ("index", int(idx)))
            i = m.end()
        if i < n and path[i] not in ".,}":
            raise _BadPath(path)
    return steps, i


def check_path(path: object) -> None:
    """Raise ``ValueError`` for an index path we cannot parse (at config / put time)."""
    if not isinstance(path, str) or not path:
        raise InvalidStoreQueryError(f"Index field paths must be non-empty strings, got {path!r}.")
    if path == "$":
        return
    try:
        steps = _parse(path)
    except _BadPath:
        steps = ()
    if not steps:
        raise InvalidStoreQueryError(
            f"Cannot parse index field path {path!r}: use '$' (whole value), dotted "
            "fields 'a.b', list elements 'tags[*]' or 'tags[0]', '*' for any key, and "
            "'{a,b.c}' for several fields."
        )


def texts_at_path(value: Any, path: str) -> list[tuple[str, str]]:
    """(concrete path, text) pairs for an index path; empty when the field is absent.

    The one walker behind both indexing and :func:`get_text_at_path`. ``None`` values
    give no text; a path that does not parse matches nothing.

    >>> texts_at_path({"tags": ["a", "b"], "x": {"y": 1}}, "tags[*]")
    [('tags[0]', 'a'), ('tags[1]', 'b')]
    >>> texts_at_path({"x": {"y": 1}, "n": "a"}, "{x.y,n}")
    [('x.y', '1'), ('n', 'a')]
    """
    if value is None:
        return []
    if path in ("$", ""):
        return [("$", _text(value))]
    try:
        steps = _parse(path)
    except _BadPath:
        return []
    if not steps:
        return [("$", _text(value))]
    return [(where, _text(obj)) for where, obj in _walk([("", value)], steps) if obj is not None]


def get_text_at_path(obj: Any, path: str) -> list[str]:
    """The texts an index path selects in ``obj`` (LangGraph's ``get_text_at_path``).

    ``"$"`` or ``""`` is the whole value as sorted JSON; ``"a.b"``, ``"a[0]"``,
    ``"a[-1]"``, ``"a[*]"``, ``"a.*"`` and ``"{a,b.c}"`` select parts; strings are
    returned as they are, other values as JSON or ``str()``. Missing fields, ``None``
    and paths that do not parse give ``[]``.

    >>> get_text_at_path({"items": [{"v": "x"}, {"v": "y"}]}, "items[*].v")
    ['x', 'y']
    """
    return [text for _, text in texts_at_path(obj, path)]


def _walk(found: list[tuple[str, Any]], steps: Sequence[_Step]) -> list[tuple[str, Any]]:
    for kind, arg in steps:
        nxt: list[tuple[str, Any]] = []
        for where, obj in found:
            if kind == "alts":
                for alt in arg:
                    nxt.extend(_walk([(where, obj)], alt))
            elif kind in ("index", "all"):
                if not isinstance(obj, list):
                    continue
                if kind == "all":
                    nxt.extend((f"{where}[{i}]", v) for i, v in enumerate(obj))
                elif -len(obj) <= arg < len(obj):
                    i = arg % len(obj)
                    nxt.append((f"{where}[{i}]", obj[i]))
            elif isinstance(obj, Mapping):
                sep = "." if where else ""
                if kind == "any":
                    nxt.extend((f"{where}{sep}{k}", v) for k, v in obj.items())
                elif arg in obj:
                    nxt.append((f"{where}{sep}{arg}", obj[arg]))
            elif kind == "any" and isinstance(obj, list):
                nxt.extend((f"{where}[{i}]", v) for i, v in enumerate(obj))
        found = nxt
    return found


_SIMPLE = re.compile(r"[^.\[\]*{},]+")


@lru_cache(maxsize=1024)
def is_simple_path(path: str) -> bool:
    """Whether an index path is one top-level field name (no dots, brackets, braces, '*')."""
    return path != "$" and _SIMPLE.fullmatch(path) is not None and path.strip() == path


def text_of(obj: Any) -> str:
    """The text embedded for a field value: strings as is, dicts/lists as sorted JSON."""
    return _text(obj)


def _json_default(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return dict(obj)
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    return str(obj)


def _text(obj: Any) -> str:
    if isinstance(obj, str):
        return obj
    if isinstance(obj, (dict, list, Mapping)):
        return json.dumps(obj, sort_keys=True, ensure_ascii=False, default=_json_default)
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
