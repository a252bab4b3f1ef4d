"""Small atomic channel values are decoded once per process and shared by later reads
(``_codec._small_value``): reads stay exact, mutable and encrypted values are never
shared, and damaged bytes are still reported."""

from __future__ import annotations

import math
from typing import Any, TypedDict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis_budget import examples

from graphkit.checkpoint.memory import InMemorySaver
from graphkit.graph import END, START, StateGraph
from graphkit.stores.checkpoint import _codec
from graphkit.stores.checkpoint.base import BaseCheckpointSaver, CheckpointCorruptError
from graphkit.stores.serde import Serializer


class Wide(TypedDict, total=False):
    step: int
    flag: bool
    ratio: float
    label: str
    nothing: None
    items: list[int]
    table: dict[str, int]


def _graph(saver: BaseCheckpointSaver) -> Any:
    def node(state: Wide) -> dict[str, Any]:
        step = state.get("step", 0) + 1
        return {"step": step, "flag": step % 2 == 0, "ratio": step / 4, "label": f"s{step}"}

    builder = StateGraph(Wide)
    builder.add_node("node", node)
    builder.add_edge(START, "node")
    builder.add_edge("node", END)
    return builder.compile(checkpointer=saver)


def test_repeated_reads_of_atomic_values_are_exact_on_every_saver(
    saver: BaseCheckpointSaver,
) -> None:
    graph = _graph(saver)
    cfg: Any = {"configurable": {"thread_id": "wide"}}
    start = {"step": 0, "nothing": None, "items": [1], "table": {"a": 1}}
    seen: list[dict[str, Any]] = []
    for _ in range(3):
        graph.invoke(start if not seen else {"nothing": None}, cfg)
        first, again = graph.get_state(cfg).values, graph.get_state(cfg).values
        assert first == again
        seen.append(first)
    assert [(v["step"], v["flag"], v["ratio"], v["label"]) for v in seen] == [
        (1, False, 0.25, "s1"),
        (2, True, 0.5, "s2"),
        (3, False, 0.75, "s3"),
    ]
    assert all(type(v["flag"]) is bool and type(v["step"]) is int for v in seen)
    assert seen[-1]["nothing"] is None
    history = [s.values.get("step") for s in graph.get_state_history(cfg)]
    assert history[:3] == [3, 2, 2]  # newest first: each run's end, then its input


def test_mutable_small_values_are_never_shared_between_reads() -> None:
    graph = _graph(InMemorySaver())
    cfg: Any = {"configurable": {"thread_id": "t"}}
    graph.invoke({"step": 0, "items": [1], "table": {"a": 1}}, cfg)
    first = graph.get_state(cfg).values
    first["items"].append(2)
    first["table"]["b"] = 2
    again = graph.get_state(cfg).values
    assert again["items"] == [1] and again["table"] == {"a": 1}


def test_encrypted_blobs_are_not_remembered_and_still_read() -> None:
    class Xor:
        def encrypt(self, data: bytes) -> bytes:
            return bytes(b ^ 0x5A for b in data)

        def decrypt(self, data: bytes) -> bytes:
            return self.encrypt(data)

    _codec._atomic_values.clear()
    graph = _graph(InMemorySaver(serde=Serializer(cipher=Xor())))
    cfg: Any = {"configurable": {"thread_id": "t"}}
    graph.invoke({"step": 41}, cfg)
    assert graph.get_state(cfg).values["step"] == 42
    assert graph.get_state(cfg).values["label"] == "s42"
    assert _codec._atomic_values == {}


def test_a_damaged_small_blob_is_reported_not_served_from_memory() -> None:
    saver = InMemorySaver()
    graph = _graph(saver)
    cfg: Any = {"configurable": {"thread_id": "t"}}
    graph.invoke({"step": 6}, cfg)
    assert graph.get_state(cfg).values["step"] == 7  # remembered now
    blobs = saver._threads["t"][""].blobs
    key = max(k for k in blobs if k[0] == "step")
    assert blobs[key] in _codec._atomic_values
    blobs[key] = blobs[key][:3] + b"\xc1"  # a byte msgpack never writes
    with pytest.raises(CheckpointCorruptError, match="channel 'step'"):
        graph.get_state(cfg)


def test_the_memory_of_values_stays_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_codec, "_ATOMIC_VALUES_MAX", 8)
    _codec._atomic_values.clear()
    graph = _graph(InMemorySaver())
    for n in range(12):
        cfg: Any = {"configurable": {"thread_id": f"t{n}"}}
        graph.invoke({"step": n * 10}, cfg)
        assert graph.get_state(cfg).values["step"] == n * 10 + 1
        assert len(_codec._atomic_values) <= 8


atomic = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=True)
    | st.text(max_size=40)
)


@settings(max_examples=examples(200))
@given(st.lists(atomic, min_size=1, max_size=6))
def test_atomic_values_read_back_as_written_and_again(values: list[Any]) -> None:
    saver = InMemorySaver()
    channels = {f"c{i}": v for i, v in enumerate(values)}
    cfg: Any = {"configurable": {"thread_id": "p"}}
    from graphkit.stores.checkpoint import empty_checkpoint

    checkpoint = empty_checkpoint()
    checkpoint["channel_values"] = channels
    checkpoint["channel_versions"] = dict.fromkeys(channels, 1)
    saved = saver.put(cfg, checkpoint, {"source": "input", "step": -1}, dict.fromkeys(channels, 1))
    for _ in range(2):
        found = saver.get_tuple(saved)
        assert found is not None
        read = found.checkpoint["channel_values"]
        assert read.keys() == channels.keys()
        for name, value in channels.items():
            got = read[name]
            assert type(got) is type(value)
            assert got == value or (isinstance(value, float) and math.isnan(value))
