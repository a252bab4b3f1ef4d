"""Value filters and index paths against a straightforward reference implementation."""

from __future__ import annotations

import operator
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from graphkit.stores.store._values import matches, texts_at_path

REFERENCE_OPS = {
    "$eq": operator.eq,
    "$ne": operator.ne,
    "$gt": operator.gt,
    "$gte": operator.ge,
    "$lt": operator.lt,
    "$lte": operator.le,
}

scalars = st.one_of(st.integers(-5, 5), st.sampled_from(["a", "b", "c"]), st.booleans(), st.none())
values = st.fixed_dictionaries(
    {},
    optional={"x": scalars, "y": scalars, "n": st.fixed_dictionaries({}, optional={"z": scalars})},
)
conditions = st.one_of(
    scalars,
    st.dictionaries(st.sampled_from(sorted(REFERENCE_OPS)), scalars, min_size=1, max_size=3),
)
filters = st.dictionaries(st.sampled_from(["x", "y", "n.z"]), conditions, max_size=3)


def reference(value: dict[str, Any], flt: dict[str, Any]) -> bool:
    """Every condition must hold; a missing field satisfies only $ne; unorderable pairs fail."""
    for field, cond in flt.items():
        obj: Any = value
        present = True
        for part in field.split("."):
            if isinstance(obj, dict) and part in obj:
                obj = obj[part]
            else:
                present = False
                break
        ops = cond if isinstance(cond, dict) else {"$eq": cond}
        for op, expected in ops.items():
            if not present:
                if op != "$ne":
                    return False
                continue
            try:
                if not REFERENCE_OPS[op](obj, expected):
                    return False
            except TypeError:
                return False
    return True


@given(value=values, flt=filters)
def test_filter_matches_reference(value: dict[str, Any], flt: dict[str, Any]) -> None:
    assert matches(value, flt) == reference(value, flt)


def test_index_paths() -> None:
    value = {"title": "T", "tags": ["a", "b"], "meta": {"k": 1, "j": [2]}, "none": None}
    assert texts_at_path(value, "title") == [("title", "T")]
    assert texts_at_path(value, "tags[*]") == [("tags[0]", "a"), ("tags[1]", "b")]
    assert texts_at_path(value, "tags[-1]") == [("tags[1]", "b")]
    assert texts_at_path(value, "meta.k") == [("meta.k", "1")]
    assert texts_at_path(value, "meta.*") == [("meta.k", "1"), ("meta.j", "[2]")]
    assert texts_at_path(value, "missing.path") == []
    assert texts_at_path(value, "none") == []
    assert texts_at_path({"b": 1, "a": "x"}, "$") == [("$", '{"a": "x", "b": 1}')]
