"""Checkpoint ids and timestamps (graphkit.stores.checkpoint.base)."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from graphkit.stores.checkpoint.base import utc_timestamp


@given(st.integers(0, 4_000_000_000_000_000), st.booleans())
def test_utc_timestamp_is_the_isoformat_of_that_instant(unix_us: int, whole: bool) -> None:
    if whole:
        unix_us -= unix_us % 1_000_000
    second, micro = divmod(unix_us, 1_000_000)
    want = dt.datetime.fromtimestamp(second, dt.timezone.utc).replace(microsecond=micro)
    assert utc_timestamp(unix_us) == want.isoformat()
    assert dt.datetime.fromisoformat(utc_timestamp(unix_us)) == want


def test_a_checkpoint_ts_is_utc_now() -> None:
    from typing_extensions import TypedDict

    from graphkit import END, START, StateGraph
    from graphkit.checkpoint.memory import InMemorySaver

    class S(TypedDict):
        x: int

    builder = StateGraph(S)
    builder.add_node("a", lambda s: {"x": 1})
    builder.add_edge(START, "a")
    builder.add_edge("a", END)
    graph = builder.compile(checkpointer=InMemorySaver())
    before = dt.datetime.now(dt.timezone.utc)
    config = {"configurable": {"thread_id": "t"}}
    graph.invoke({"x": 0}, config)
    ts = dt.datetime.fromisoformat(graph.get_state(config).created_at)
    assert before - dt.timedelta(seconds=1) <= ts <= dt.datetime.now(dt.timezone.utc)
