"""The runtime's writer handle (``saver.writer(config)``): what it stores is exactly what
``put`` stores, it refuses a closed saver, and a saver whose ``put`` is overridden
still sees every save."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graphkit.errors import SaverClosedError
from graphkit.graph import END, START, StateGraph
from graphkit.stores.checkpoint import InMemorySaver, LMDBSaver
from graphkit.stores.checkpoint.base import (
    BaseCheckpointSaver,
    Checkpoint,
    CheckpointMetadata,
    CheckpointWriter,
    RunnableConfig,
    make_config,
    new_checkpoint_id,
)

Step = tuple[Checkpoint, CheckpointMetadata, dict[str, int]]

_DBS = ("ckpt_checkpoints", "ckpt_metadata", "ckpt_blobs", "ckpt_writes", "ckpt_names")


def _steps(changes: list[dict[str, Any]], wide: bool) -> list[Step]:
    """A run's checkpoints: each step sets some channels (a list channel only grows,
    with the append hint the runtime gives); ``wide``: 10 more channels, so version
    maps are stored as deltas."""
    values: dict[str, Any] = {f"k{i}": i for i in range(10)} if wide else {}
    versions = dict.fromkeys(values, 1)
    steps: list[Step] = []
    version = 1
    new: dict[str, int] = dict(versions)
    appends: dict[str, list[int]] = {}
    for at, change in enumerate([{}, *changes]):
        version += 1
        for channel, value in change.items():
            old = values.get(channel)
            if type(value) is list and type(old) is list:
                appends[channel] = [versions[channel], len(old)]
                value = old + value
            values[channel] = value
            versions[channel] = new[channel] = version
        checkpoint: Checkpoint = {
            "v": 1,
            "id": new_checkpoint_id(),
            "ts": f"2026-11-26T00:00:{at:02d}+00:00",
            "channel_values": dict(values),
            "channel_versions": dict(versions),
            "frontier": {"nodes": ["n"], "ran": ["n"], "wrote": {f"{at}:n": [["x", "="]]}},
            "channel_appends": appends,
        }
        steps.append((checkpoint, {"source": "loop", "step": at, "parents": {}}, new))
        new, appends = {}, {}
    return steps


def _by_put(saver: BaseCheckpointSaver, steps: list[Step], thread: str) -> None:
    config: RunnableConfig = {"configurable": {"thread_id": thread, "checkpoint_ns": ""}}
    for checkpoint, metadata, new_versions in steps:
        config = saver.put(config, checkpoint, metadata, new_versions)


def _by_writer(saver: BaseCheckpointSaver, steps: list[Step], thread: str) -> None:
    config: RunnableConfig = {"configurable": {"thread_id": thread, "checkpoint_ns": ""}}
    writer = saver.writer(config)
    for checkpoint, metadata, new_versions in steps:
        writer.put(config, checkpoint, metadata, new_versions)
        config = make_config(thread, "", checkpoint["id"])


def _lmdb_contents(saver: LMDBSaver) -> dict[str, list[tuple[bytes, bytes]]]:
    with saver.env.read() as txn:
        return {name: list(txn.cursor(db=saver.env.db(name))) for name in _DBS}


def _memory_contents(saver: InMemorySaver) -> Any:
    return {
        thread: {ns: (space.ids, space.checkpoints, space.blobs) for ns, space in spaces.items()}
        for thread, spaces in saver._threads.items()
    }


_CHANGE = st.dictionaries(
    st.sampled_from(["x", "msgs", "k3", "doc"]),
    st.one_of(
        st.integers(-5, 5),
        st.lists(st.fixed_dictionaries({"text": st.text(max_size=8)}), max_size=3),
        st.dictionaries(st.text(max_size=3), st.integers(), max_size=3),
    ),
    max_size=3,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(changes=st.lists(_CHANGE, max_size=12), wide=st.booleans(), long_name=st.booleans())
def test_lmdb_writer_stores_the_same_bytes_as_put(
    tmp_path_factory: pytest.TempPathFactory,
    changes: list[dict[str, Any]],
    wide: bool,
    long_name: bool,
) -> None:
    steps = _steps(changes, wide)
    thread = "t" * 300 if long_name else "t"  # a long thread id is hashed in keys
    with (
        LMDBSaver(tmp_path_factory.mktemp("put"), sync=False) as by_put,
        LMDBSaver(tmp_path_factory.mktemp("writer"), sync=False) as by_writer,
    ):
        _by_put(by_put, steps, thread)
        _by_writer(by_writer, steps, thread)
        assert _lmdb_contents(by_writer) == _lmdb_contents(by_put)
        if steps:
            config = {"configurable": {"thread_id": thread}}
            got = by_writer.get_tuple(config)
            assert got is not None
            assert got.checkpoint["channel_values"] == steps[-1][0]["channel_values"]


@settings(max_examples=25, deadline=None)
@given(changes=st.lists(_CHANGE, max_size=12), wide=st.booleans())
def test_memory_writer_stores_the_same_bytes_as_put(
    changes: list[dict[str, Any]], wide: bool
) -> None:
    steps = _steps(changes, wide)
    by_put, by_writer = InMemorySaver(), InMemorySaver()
    _by_put(by_put, steps, "t")
    _by_writer(by_writer, steps, "t")
    assert _memory_contents(by_writer) == _memory_contents(by_put)


def test_a_writer_of_a_closed_lmdb_saver_says_so(tmp_path: Path) -> None:
    saver = LMDBSaver(tmp_path, sync=False)
    config: RunnableConfig = {"configurable": {"thread_id": "t", "checkpoint_ns": ""}}
    writer = saver.writer(config)
    checkpoint, metadata, new_versions = _steps([{"x": 1}], wide=False)[0]
    writer.put(config, checkpoint, metadata, new_versions)
    saver.close()
    with pytest.raises(SaverClosedError, match="LMDBSaver was closed"):
        writer.put(config, *_steps([{"x": 2}], wide=False)[0])
    with pytest.raises(SaverClosedError, match="keep the saver open"):
        saver.writer(config)


def test_a_writer_after_a_thread_was_deleted_stores_a_checkpoint_that_stands_alone(
    tmp_path: Path,
) -> None:
    with LMDBSaver(tmp_path, sync=False) as saver:
        steps = _steps([{"x": 1, "msgs": [{"text": "a"}]}, {"msgs": [{"text": "b"}]}], False)
        config: RunnableConfig = {"configurable": {"thread_id": "t", "checkpoint_ns": ""}}
        writer = saver.writer(config)
        for checkpoint, metadata, new_versions in steps[:-1]:
            writer.put(config, checkpoint, metadata, new_versions)
            config = make_config("t", "", checkpoint["id"])
        saver.delete_thread("t")
        writer.put(config, *steps[-1])
        got = saver.get_tuple({"configurable": {"thread_id": "t"}})
        assert got is not None
        assert got.checkpoint["channel_values"] == {"x": 1, "msgs": [{"text": "a"}, {"text": "b"}]}


class _CountingSaver(LMDBSaver):
    """A subclass that wraps ``put``: the runtime must call it for every checkpoint."""

    puts = 0

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: dict[str, int],
    ) -> RunnableConfig:
        self.puts += 1
        return super().put(config, checkpoint, metadata, new_versions)


def _counter_graph(saver: BaseCheckpointSaver) -> Any:
    def inc(state: dict[str, int]) -> dict[str, int]:
        return {"x": state["x"] + 1}

    builder: StateGraph[Any] = StateGraph(dict)
    builder.add_node("inc", inc)
    builder.add_edge(START, "inc")
    builder.add_conditional_edges("inc", lambda s: "inc" if s["x"] < 5 else END)
    return builder.compile(checkpointer=saver)


def test_a_saver_whose_put_is_overridden_sees_every_save(tmp_path: Path) -> None:
    with _CountingSaver(tmp_path, sync=False) as saver:
        assert type(saver.writer({"configurable": {"thread_id": "t"}})) is CheckpointWriter
        graph = _counter_graph(saver)
        config: RunnableConfig = {"configurable": {"thread_id": "t"}}
        assert graph.invoke({"x": 0}, config, durability="sync") == {"x": 5}
        assert saver.puts == len(list(saver.list(config))) == 7


@pytest.mark.parametrize("kind", ["lmdb", "memory"])
def test_runs_saved_through_writers_read_back_whole(tmp_path: Path, kind: str) -> None:
    saver: BaseCheckpointSaver = (
        LMDBSaver(tmp_path, sync=False) if kind == "lmdb" else InMemorySaver()
    )
    assert type(saver.writer({"configurable": {"thread_id": "t"}})) is not CheckpointWriter
    graph = _counter_graph(saver)
    config: RunnableConfig = {"configurable": {"thread_id": "t"}}
    graph.invoke({"x": 0}, config)
    history = list(graph.get_state_history(config))
    assert [h.values for h in history[:-1]] == [{"x": x} for x in (5, 4, 3, 2, 1, 0)]
    assert [h.metadata["step"] for h in history] == [5, 4, 3, 2, 1, 0, -1]
    parents = [h.parent_config["configurable"]["checkpoint_id"] for h in history[:-1]]
    assert parents == [h.config["configurable"]["checkpoint_id"] for h in history[1:]]
    saver.close()


def _fixed_steps() -> list[Step]:
    """40 checkpoints with fixed ids and times: an int, a growing list (appends), a dict
    or None, and 10 more channels some steps change (version maps stored as deltas)."""
    import uuid

    values: dict[str, Any] = {f"k{i}": i for i in range(10)}
    versions = dict.fromkeys(values, 1)
    steps: list[Step] = []
    new: dict[str, int] = dict(versions)
    appends: dict[str, list[int]] = {}
    for at in range(40):
        change: dict[str, Any] = {
            "x": at,
            "msgs": [{"text": f"m{at}"}],
            "doc": {"a": at} if at % 3 else None,
        }
        if at % 7 == 3:
            change[f"k{at % 10}"] = -at
        for channel, value in change.items():
            old = values.get(channel)
            if type(value) is list and type(old) is list:
                appends[channel] = [versions[channel], len(old)]
                value = old + value
            values[channel] = value
            versions[channel] = new[channel] = at + 2
        raw = (0x01A218B22E6B << 80) | (0x7 << 76) | (0b10 << 62) | at
        checkpoint: Checkpoint = {
            "v": 1,
            "id": str(uuid.UUID(int=raw)),
            "ts": f"2026-11-26T00:00:{at:02d}+00:00",
            "channel_values": dict(values),
            "channel_versions": dict(versions),
            "frontier": {"nodes": ["n"], "ran": ["n"], "wrote": {f"{at}:n": [["x", "="]]}},
            "channel_appends": appends,
        }
        steps.append((checkpoint, {"source": "loop", "step": at, "parents": {}}, new))
        new, appends = {}, {}
    return steps


@pytest.mark.parametrize("how", ["put", "writer"])
def test_lmdb_stores_the_bytes_it_always_stored(tmp_path: Path, how: str) -> None:
    """The stored format does not drift: fixed checkpoints (a short and a hashed long
    thread id) give the bytes the code of session 8 (commit 48571d6) wrote, whether
    saved through ``put`` or a writer."""
    import hashlib

    digest = hashlib.sha256()
    for thread in ("t", "t" * 300):
        with LMDBSaver(tmp_path / thread[:8] / how, sync=False) as saver:
            (_by_put if how == "put" else _by_writer)(saver, _fixed_steps(), thread)
            for name, items in _lmdb_contents(saver).items():
                for key, value in items:
                    digest.update(name.encode() + key + value)
    want = "23f7793d18aeddc59ce99fa7a14e6ca1f921a80c872f953b6e2ab47cec4c9362"
    assert digest.hexdigest() == want
