"""Parity: a saver's API called directly, as a migration script or a custom saver's test
written for LangGraph calls it, answers as LangGraph's savers do (found by probe14's
differential runs). Each test runs on graphkit's three savers and, where LangGraph
has the same call, on LangGraph's ``InMemorySaver`` beside it."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from graphkit.checkpoint.base import BaseCheckpointSaver, CheckpointTuple, empty_checkpoint

lg_base = pytest.importorskip("langgraph.checkpoint.base")
lg_memory = pytest.importorskip("langgraph.checkpoint.memory")


def thread(name: str, **more: str) -> dict[str, Any]:
    return {"configurable": {"thread_id": name, "checkpoint_ns": "", **more}}


def put_one(saver: Any, name: str, make_empty: Any, value: int = 1) -> Any:
    """A hand-made checkpoint holding ``x`` (versions from the saver, as LangGraph's
    ``put`` docs show), put on thread ``name``; returns the config ``put`` gave back."""
    checkpoint = make_empty()
    version = saver.get_next_version(None, None)
    checkpoint["channel_values"] = {"x": value}
    checkpoint["channel_versions"] = {"x": version}
    metadata = {"source": "input", "step": -1, "parents": {}}
    return saver.put(thread(name), checkpoint, metadata, {"x": version})


def test_checkpoint_tuple_unpacks_indexes_and_replaces_as_langgraphs(
    saver: BaseCheckpointSaver,
) -> None:
    theirs = lg_memory.InMemorySaver()
    for each, make_empty in ((saver, empty_checkpoint), (theirs, lg_base.empty_checkpoint)):
        put_one(each, "t", make_empty)
    ours_found, their_found = saver.get_tuple(thread("t")), theirs.get_tuple(thread("t"))
    assert ours_found is not None and their_found is not None
    for found in (ours_found, their_found):
        config, checkpoint, metadata, parent_config, pending_writes = found
        assert (config, checkpoint, metadata) == (found[0], found[1], found[2])
        assert (parent_config, pending_writes) == (found[3], found[4])
        assert found.checkpoint["channel_values"] == {"x": 1}
        assert isinstance(found, tuple) and len(found) == 5
        assert found._replace(metadata={"step": 9}).metadata == {"step": 9}
    assert list(ours_found._asdict()) == list(their_found._asdict())
    assert ours_found.metadata == their_found.metadata
    assert (ours_found.parent_config, ours_found.pending_writes) == (None, [])


def test_checkpoint_tuple_from_three_fields_defaults_as_langgraphs() -> None:
    ours = CheckpointTuple(thread("t"), empty_checkpoint(), {})
    theirs = lg_base.CheckpointTuple(thread("t"), lg_base.empty_checkpoint(), {})
    assert (ours.parent_config, ours.pending_writes) == (theirs.parent_config, None)
    assert CheckpointTuple._fields == lg_base.CheckpointTuple._fields


@pytest.mark.parametrize("how", ["positional", "keyword"])
def test_put_writes_takes_langgraphs_task_path(saver: BaseCheckpointSaver, how: str) -> None:
    """LangGraph's fourth argument is the task's path (a string); passed positionally it
    made the thread unreadable (a str filed where an int was)."""
    theirs = lg_memory.InMemorySaver()
    got = []
    for each, make_empty in ((saver, empty_checkpoint), (theirs, lg_base.empty_checkpoint)):
        config = put_one(each, "t", make_empty)
        each.put_writes(config, [("x", 10), ("y", "hi")], "task-a")
        if how == "positional":
            each.put_writes(config, [("z", 3)], "task-b", "~__pregel_pull, node")
        else:
            each.put_writes(config, [("z", 3)], "task-b", task_path="~__pregel_pull, node")
        found = each.get_tuple(config)
        assert found is not None
        got.append(sorted(found.pending_writes or []))
    assert got[0] == got[1] == [("task-a", "x", 10), ("task-a", "y", "hi"), ("task-b", "z", 3)]


def test_async_put_writes_takes_langgraphs_task_path(saver: BaseCheckpointSaver) -> None:
    async def main() -> list[Any]:
        config = put_one(saver, "t", empty_checkpoint)
        await saver.aput_writes(config, [("z", 3)], "task-b", task_path="a|b")
        found = await saver.aget_tuple(config)
        assert found is not None
        return found.pending_writes or []

    assert asyncio.run(main()) == [("task-b", "z", 3)]


def test_put_writes_refuses_a_task_path_of_another_type(saver: BaseCheckpointSaver) -> None:
    config = put_one(saver, "t", empty_checkpoint)
    with pytest.raises(ValueError, match="task path"):
        saver.put_writes(config, [("z", 3)], "task-b", 1.5)  # type: ignore[arg-type]


def history(saver: BaseCheckpointSaver, name: str) -> list[Any]:
    return [
        t.checkpoint["channel_values"] for t in saver.list({"configurable": {"thread_id": name}})
    ]


def three_checkpoints(saver: BaseCheckpointSaver, name: str) -> None:
    config: Any = thread(name)
    for value in (1, 2, 3):
        checkpoint = empty_checkpoint()
        checkpoint["channel_values"] = {"x": value}
        checkpoint["channel_versions"] = {"x": value}
        config = saver.put(config, checkpoint, {"step": value}, {"x": value})


def test_prune_takes_langgraphs_strategy(saver: BaseCheckpointSaver) -> None:
    """``prune(thread_ids, strategy=...)`` as LangGraph's savers: "keep_latest" keeps the
    newest checkpoint of each namespace, "delete" removes the threads' checkpoints."""
    for name in ("keep", "gone", "other"):
        three_checkpoints(saver, name)
    saver.prune(["keep"], strategy="keep_latest")
    saver.prune(["gone"], strategy="delete")
    assert history(saver, "keep") == [{"x": 3}]
    assert history(saver, "gone") == []
    assert len(history(saver, "other")) == 3
    saver.prune(["other"])  # the default strategy, as LangGraph's
    assert history(saver, "other") == [{"x": 3}]
    with pytest.raises(ValueError, match="not a strategy"):
        saver.prune(["other"], strategy="oldest")
    asyncio.run(saver.aprune(["other"], strategy="delete"))
    assert history(saver, "other") == []
