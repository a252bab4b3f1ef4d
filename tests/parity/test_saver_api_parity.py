"""Parity: a saver's API called directly, as a migration script or a custom saver's test
written for LangGraph calls it, answers as LangGraph's savers do (found by probe14's
differential runs). Each test runs on graphkit's three savers and, where LangGraph
has the same call, on LangGraph's ``InMemorySaver`` beside it."""

from __future__ import annotations

import asyncio
import importlib
from pathlib import Path
from typing import Any, TypedDict

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


def langgraph_shaped(values: dict[str, Any], version: int) -> dict[str, Any]:
    """A checkpoint as code written for LangGraph's savers builds it: LangGraph's keys
    (``versions_seen``, ``updated_channels``...), none of the ones graphkit adds."""
    theirs = lg_base.empty_checkpoint()
    theirs["id"] = empty_checkpoint()["id"]  # (ours: time-ordered after every earlier id)
    theirs["channel_values"] = dict(values)
    theirs["channel_versions"] = dict.fromkeys(values, version)
    return dict(theirs)


def test_put_takes_a_checkpoint_built_for_langgraphs_savers(saver: BaseCheckpointSaver) -> None:
    """It lacked graphkit's ``frontier``/``channel_appends``: a KeyError from inside
    the saver. Stored as a checkpoint with nothing left to run, a graph goes on from it."""
    first = langgraph_shaped({"n": 1}, 1)
    config = saver.put(thread("t"), first, {"source": "input", "step": -1}, {"n": 1})  # type: ignore[arg-type]
    second = langgraph_shaped({"n": 2}, 2)
    config = saver.put(config, second, {"source": "loop", "step": 0}, {"n": 2})  # type: ignore[arg-type]
    found = saver.get_tuple(thread("t"))
    assert found is not None and found.checkpoint["channel_values"] == {"n": 2}
    assert found.parent_config is not None
    assert "frontier" not in first  # the caller's dict is left as it was
    graph = counter_graph("graphkit", saver)
    assert graph.get_state(thread("t")).values == {"n": 2}
    assert graph.invoke({"n": 5}, thread("t")) == {"n": 6}


def test_put_of_a_checkpoint_without_versions_says_what_to_do(saver: BaseCheckpointSaver) -> None:
    """LangGraph's ``put`` docstring example: a checkpoint without ``channel_versions``.
    LangGraph's ``InMemorySaver`` stores it and then fails every read of the thread with
    a KeyError; ours refuses it up front, naming what is missing."""
    theirs = lg_memory.InMemorySaver()
    example = {"ts": "2024-05-04T06:32:42.235444+00:00", "id": empty_checkpoint()["id"]}
    example["channel_values"] = {"key": "value"}
    metadata = {"source": "input", "step": 1}
    theirs.put(thread("1"), example, metadata, {})
    with pytest.raises(KeyError):
        theirs.get_tuple(thread("1"))
    with pytest.raises(ValueError, match="has no 'channel_versions'.*empty_checkpoint"):
        saver.put(thread("1"), example, metadata, {})  # type: ignore[arg-type]
    assert saver.get_tuple(thread("1")) is None


def test_langgraphs_string_versions_are_refused_naming_get_next_version(
    saver: BaseCheckpointSaver,
) -> None:
    version = lg_memory.InMemorySaver().get_next_version(None, None)
    checkpoint = langgraph_shaped({"n": 1}, 1)
    checkpoint["channel_versions"] = {"n": version}
    with pytest.raises(ValueError, match="get_next_version"):
        saver.put(thread("t"), checkpoint, {}, {"n": version})  # type: ignore[arg-type]


def counter_graph(lib: str, checkpointer: Any) -> Any:
    """A one-node graph adding 1 to ``n``, built from ``lib``'s classes."""
    graph_module = importlib.import_module(f"{lib}.graph")

    class State(TypedDict):
        n: int

    builder = graph_module.StateGraph(State)
    builder.add_node("inc", lambda state: {"n": state["n"] + 1})
    builder.add_edge(graph_module.START, "inc")
    return builder.compile(checkpointer=checkpointer)


def metadata_after_run(lib: str, saver: Any, metadata: dict[str, Any]) -> dict[str, Any]:
    graph = counter_graph(lib, saver)
    config = {"configurable": {"thread_id": "t", "user_id": "u1", "extra": [1]}}
    graph.invoke({"n": 0}, {**config, "metadata": metadata})
    found = saver.get_tuple({"configurable": {"thread_id": "t"}})
    assert found is not None
    return dict(found.metadata)


def test_run_metadata_keeps_what_langgraphs_keeps(saver: BaseCheckpointSaver) -> None:
    """A run's ``config["metadata"]`` reaches checkpoint metadata as in LangGraph: strings
    (without NULs), numbers and bools; not objects, lists, None, the thread's own keys or
    ``__``-prefixed ones. An object there failed the run's first save (unserializable)."""

    class Handle:
        pass

    metadata = {"tag": "a\x00b", "n": 3, "ok": True, "obj": Handle(), "items": ["x"]}
    metadata |= {"none": None, "thread_id": "other", "langgraph_step": 9, "__private": 1}
    ours = metadata_after_run("graphkit", saver, metadata)
    theirs = metadata_after_run("langgraph", lg_memory.InMemorySaver(), metadata)
    assert ours == theirs
    assert {k: ours[k] for k in ("tag", "n", "ok", "user_id")} == {
        "tag": "ab",
        "n": 3,
        "ok": True,
        "user_id": "u1",
    }


def run_as_sqlite_users_do(lib: str, sync_saver: Any, async_saver: Any) -> list[Any]:
    """The SQLite savers' documented spellings: ``with ... as saver: saver.setup()`` and
    ``async with ... as saver: await saver.setup()``; a second opening sees the thread."""
    config = {"configurable": {"thread_id": "t"}}
    with sync_saver() as saver:
        saver.setup()
        first = counter_graph(lib, saver).invoke({"n": 1}, config)["n"]

    async def main() -> list[int]:
        async with async_saver() as saver:
            await saver.setup()
            graph = counter_graph(lib, saver)
            kept = (await graph.aget_state(config)).values["n"]
            return [kept, (await graph.ainvoke({"n": 5}, config))["n"]]

    return [first, *asyncio.run(main())]


def test_lmdb_saver_opens_as_langgraphs_sqlite_savers(tmp_path: Path) -> None:
    """``LMDBSaver.from_conn_string`` stands for ``SqliteSaver``'s and
    ``AsyncSqliteSaver``'s: ``setup()`` (awaited or not) and ``async with`` work too."""
    from graphkit.checkpoint.lmdb import LMDBSaver

    sqlite = pytest.importorskip("langgraph.checkpoint.sqlite")
    sqlite_aio = pytest.importorskip("langgraph.checkpoint.sqlite.aio")
    db, directory = str(tmp_path / "lg.db"), tmp_path / "gk"
    theirs = run_as_sqlite_users_do(
        "langgraph",
        lambda: sqlite.SqliteSaver.from_conn_string(db),
        lambda: sqlite_aio.AsyncSqliteSaver.from_conn_string(db),
    )
    ours = run_as_sqlite_users_do(
        "graphkit",
        lambda: LMDBSaver.from_conn_string(directory),
        lambda: LMDBSaver.from_conn_string(directory),
    )
    assert ours == theirs == [2, 2, 6]


def test_lmdb_store_opens_as_langgraphs_sqlite_stores(tmp_path: Path) -> None:
    from graphkit.store.lmdb import LMDBStore

    sqlite_store = pytest.importorskip("langgraph.store.sqlite")
    sqlite_store_aio = pytest.importorskip("langgraph.store.sqlite.aio")

    def use(sync_store: Any, async_store: Any) -> list[Any]:
        with sync_store() as store:
            store.setup()
            store.put(("n",), "k", {"v": 1})

        async def main() -> Any:
            async with async_store() as store:
                await store.setup()
                return (await store.aget(("n",), "k")).value

        return [asyncio.run(main())]

    db, directory = str(tmp_path / "lg.db"), tmp_path / "gk"
    theirs = use(
        lambda: sqlite_store.SqliteStore.from_conn_string(db),
        lambda: sqlite_store_aio.AsyncSqliteStore.from_conn_string(db),
    )
    ours = use(
        lambda: LMDBStore.from_conn_string(directory),
        lambda: LMDBStore.from_conn_string(directory),
    )
    assert ours == theirs == [{"v": 1}]


def pending_channels(lib: str, saver: Any) -> list[list[str]]:
    """The channels of the pending writes of a thread paused at an interrupt, then of
    the same thread after one of the node's two questions was answered."""
    graph_module = importlib.import_module(f"{lib}.graph")
    types = importlib.import_module(f"{lib}.types")

    class State(TypedDict):
        x: int

    def ask(state: State) -> dict[str, int]:
        return {"x": state["x"] + types.interrupt("a?") + types.interrupt("b?")}

    builder = graph_module.StateGraph(State)
    builder.add_node("ask", ask)
    builder.add_edge(graph_module.START, "ask")
    graph = builder.compile(checkpointer=saver)
    config = {"configurable": {"thread_id": "t"}}
    seen = []
    for given in ({"x": 1}, types.Command(resume=10)):
        graph.invoke(given, config)
        found = saver.get_tuple(config)
        seen.append(sorted({channel for _, channel, _ in found.pending_writes}))
    return seen


def test_a_paused_threads_pending_writes_hold_its_interrupt(saver: BaseCheckpointSaver) -> None:
    """A task paused before any answer left a ``__resume__`` write (an empty list) beside
    its ``__interrupt__``: code reading pending writes took the thread for resumed."""
    theirs = pending_channels("langgraph", lg_memory.InMemorySaver())
    assert pending_channels("graphkit", saver) == theirs
    assert theirs == [["__interrupt__"], ["__interrupt__", "__resume__"]]


def test_serializer_protocol_is_checked_with_isinstance_as_langgraphs() -> None:
    """A saver written for LangGraph checks its ``serde`` with ``isinstance``: it raised
    TypeError (the protocol was not runtime-checkable)."""
    from graphkit.checkpoint.serde.base import SerializerProtocol
    from graphkit.checkpoint.serde.jsonplus import JsonPlusSerializer

    lg_serde = pytest.importorskip("langgraph.checkpoint.serde.base")
    for protocol in (SerializerProtocol, lg_serde.SerializerProtocol):
        assert isinstance(JsonPlusSerializer(), protocol)
        assert isinstance(BaseCheckpointSaver().serde, protocol)
        assert not isinstance(object(), protocol)


def test_a_saver_class_subscripts_its_version_type_as_langgraphs() -> None:
    """``class MySaver(BaseCheckpointSaver[str])``, as LangGraph's own savers are
    declared, raised TypeError at import (the class was not generic)."""

    class Ours(BaseCheckpointSaver[str]):
        pass

    class Theirs(lg_base.BaseCheckpointSaver[str]):  # type: ignore[misc]
        pass

    assert isinstance(Ours(), BaseCheckpointSaver) and isinstance(
        Theirs(), lg_base.BaseCheckpointSaver
    )
    assert BaseCheckpointSaver[int] is not None and lg_base.BaseCheckpointSaver[int] is not None


def test_get_checkpoint_metadata_merges_a_config_as_langgraphs() -> None:
    """Savers written for LangGraph call ``get_checkpoint_metadata`` (and the
    ``serializable`` one) in ``put``: an ImportError before."""
    from graphkit.checkpoint.base import (
        get_checkpoint_metadata,
        get_serializable_checkpoint_metadata,
    )

    config: Any = {
        "configurable": {"thread_id": "t", "user_id": "u\x001", "n": 2, "obj": [1], "__x": 1},
        "metadata": {"tag": "a", "step": 99, "nested": {"k": 1}, "checkpoint_ns": "x"},
    }
    metadata: Any = {"source": "loop", "step": 1, "parents": {}, "writes": {"n": 1}, "s": "a\x00"}
    for ours, theirs in (
        (get_checkpoint_metadata, lg_base.get_checkpoint_metadata),
        (get_serializable_checkpoint_metadata, lg_base.get_serializable_checkpoint_metadata),
    ):
        assert ours(config, dict(metadata)) == theirs(config, dict(metadata))
    assert get_checkpoint_metadata(config, metadata)["step"] == 1
