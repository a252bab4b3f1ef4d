"""Value filters and index paths against a straightforward reference implementation."""

from __future__ import annotations

import json
import operator
from collections import UserDict
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from graphkit.store.base import get_text_at_path
from graphkit.stores.store._values import check_path, matches, texts_at_path

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


NESTED = {
    "name": "n",
    "info": {"age": 25, "meta": {"a": "x", "b": "y"}},
    "items": [{"id": 1, "v": "one", "t": ["p", "q"]}, {"id": 2, "v": "two", "t": ["r"]}],
    "none": None,
    "zeros": [0, 0.0, "0"],
    "empty_list": [],
    "empty_dict": {},
}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("$", [json.dumps(NESTED, sort_keys=True)]),
        ("", [json.dumps(NESTED, sort_keys=True)]),
        ("name", ["n"]),
        ("info.age", ["25"]),
        ("items[-1].v", ["two"]),
        ("items[0].t[1]", ["q"]),
        ("items[*].v", ["one", "two"]),
        ("info.meta.*", ["x", "y"]),
        ("{name,info.age}", ["n", "25"]),
        ("{name, info.age}", ["n", "25"]),
        ("items[*].{id,v}", ["1", "one", "2", "two"]),
        ("items[*].t[*]", ["p", "q", "r"]),
        ("items.*.v", ["one", "two"]),  # '*' over a list is every element
        ("none", []),
        ("missing", []),
        ("items[9].v", []),
        ("empty_list", ["[]"]),
        ("empty_dict", ["{}"]),
        ("zeros[*]", ["0", "0.0", "0"]),
        # Paths that do not parse select nothing (a config path like these is refused).
        ("items[].v", []),
        ("items[abc].v", []),
        ("{unclosed", []),
        ("x[{bad}]", []),
        ("{}", []),
    ],
)
def test_get_text_at_path(path: str, expected: list[str]) -> None:
    assert get_text_at_path(NESTED, path) == expected
    assert [t for _, t in texts_at_path(NESTED, path)] == expected  # one walker for both


def test_get_text_at_path_takes_any_mapping_and_none() -> None:
    for mapping in (UserDict({"text": "s"}), MappingProxyType({"text": "s", "d": {1, 2}})):
        assert get_text_at_path(mapping, "text") == ["s"]
    assert get_text_at_path(UserDict({"text": "s"}), "$") == ['{"text": "s"}']
    assert get_text_at_path({"u": UserDict({"k": "ü"})}, "$") == ['{"u": {"k": "ü"}}']
    assert get_text_at_path(None, "a.b") == [] and get_text_at_path({}, "a.b") == []


def test_index_paths_with_alternatives_name_each_concrete_field() -> None:
    assert texts_at_path(NESTED, "items[*].{id,t[0]}") == [
        ("items[0].id", "1"),
        ("items[0].t[0]", "p"),
        ("items[1].id", "2"),
        ("items[1].t[0]", "r"),
    ]


@pytest.mark.parametrize("bad", ["items[].v", "{a", "a]", "{}", "a.{,b}", ""])
def test_check_path_refuses_what_does_not_parse(bad: str) -> None:
    with pytest.raises(ValueError, match="index field path|non-empty"):
        check_path(bad)
    for good in ("$", "a", "a.b[0]", "a[*].b", "{a,b.c}", "a.*", "x.{y,z[1]}"):
        check_path(good)


def test_store_indexes_fields_chosen_with_alternatives() -> None:
    from graphkit.stores import InMemoryStore

    store = InMemoryStore(index={"dims": 64, "embed": "hash", "fields": ["{title,body}"]})
    store.put(("d",), "a", {"title": "zebra stripes", "body": "savanna", "x": "pizza"})
    store.put(("d",), "b", {"title": "pizza oven", "body": "dough"})
    assert store.search(("d",), query="savanna", limit=1)[0].key == "a"
    assert store.search(("d",), query="pizza", limit=1)[0].key == "b"
