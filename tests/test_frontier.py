"""The frontier's stored record (graphkit.engine.frontier): what it keeps, and that
records written before empty parts were left out still read the same."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from graphkit.engine.frontier import Frontier, next_names, planned, planned_tasks
from graphkit.types import Send

_NODES = ["a", "b", "c", "d"]
_names = st.lists(st.sampled_from(_NODES), unique=True, max_size=3)


@st.composite
def frontiers(draw: st.DrawFn) -> Frontier:
    joins = draw(st.integers(0, 2))
    return Frontier(
        pending=dict.fromkeys(draw(_names)),
        sends=[Send(n, {"i": i}) for i, n in enumerate(draw(st.lists(st.sampled_from(_NODES))))],
        deferred=dict.fromkeys(draw(_names)),
        joins=[set(draw(_names)) for _ in range(joins)],
        ran=tuple(draw(_names)),
        input=draw(st.none() | st.just({"x": 1})),
        wrote=draw(st.none() | st.just({"1:a": [["x", "="]]})),
    )


def _older_form(record: dict[str, Any]) -> dict[str, Any]:
    """The record as it was stored before empty parts were left out."""
    return {"sends": [], "deferred": [], "joins": [], **record}


@given(frontiers())
def test_a_frontier_comes_back_from_its_record_in_either_form(frontier: Frontier) -> None:
    record = frontier.to_record()
    joins = len(frontier.joins)
    known = set(_NODES)
    assert Frontier.from_record(record, known=known, joins=joins) == frontier
    older = _older_form(record)
    assert Frontier.from_record(older, known=known, joins=joins) == frontier
    assert next_names(older) == next_names(record)
    assert planned(older) == planned(record)
    assert planned_tasks(older, 3) == planned_tasks(record, 3)


def test_a_record_leaves_out_the_parts_that_are_empty() -> None:
    frontier = Frontier.empty(joins=2)
    frontier.pending["a"] = None
    assert frontier.to_record() == {"nodes": ["a"]}
    frontier.joins[1].add("b")
    frontier.sends.append(Send("c", 1))
    assert frontier.to_record() == {
        "nodes": ["a"],
        "sends": [["c", 1]],
        "joins": [[], ["b"]],
    }
