"""Checkpoint data under attack: damaged bytes are reported (never returned as data), a
thread deleted mid-run stays usable, odd keys work, and a big value is stored once."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, TypedDict

import pytest

from graphkit.checkpoint.base import BaseCheckpointSaver
from graphkit.checkpoint.lmdb import LMDBSaver
from graphkit.checkpoint.memory import InMemorySaver
from graphkit.engine.frontier import ran_names
from graphkit.graph import END, START, StateGraph
from graphkit.messages import AIMessage, HumanMessage, add_messages
from graphkit.stores.checkpoint import _codec as codec
from graphkit.stores.checkpoint.base import CheckpointCorruptError, empty_checkpoint


class Chat(TypedDict, total=False):
    messages: Annotated[list[Any], add_messages]
    notes: str
    count: int
    topic: str


def _chat_graph(saver: BaseCheckpointSaver, on_step: Any = None) -> Any:
    def reply(state: Chat) -> Chat:
        if on_step is not None:
            on_step(state)
        n = state.get("count", 0) + 1
        return {"messages": [AIMessage(content=f"reply {n}")], "count": n, "notes": "n" * n}

    def route(state: Chat) -> str:
        return END if state["count"] % 3 == 0 else "reply"

    builder = StateGraph(Chat)
    builder.add_node("reply", reply)
    builder.add_edge(START, "reply")
    builder.add_conditional_edges("reply", route)
    return builder.compile(checkpointer=saver)


@pytest.fixture(params=["memory", "lmdb"])
def saver(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BaseCheckpointSaver]:
    if request.param == "memory":
        yield InMemorySaver()
    else:
        with LMDBSaver(tmp_path / "db") as found:
            yield found


def _cfg(thread: Any) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread}}


# --------------------------------------------------------------- checksums
def _raw_values(saver: LMDBSaver) -> list[tuple[Any, bytes, bytes]]:
    out = []
    with saver.env.read() as txn:
        for db in saver._dbs():
            out += [(db, key, value) for key, value in txn.cursor(db=db)]
    return out


def _put_raw(saver: LMDBSaver, db: Any, key: bytes, value: bytes) -> None:
    saver.env.write(lambda txn: txn.put(key, value, db=db))


def _read_everything(saver: LMDBSaver, threads: list[str]) -> list[Any]:
    out = []
    for thread in threads:
        for item in saver.list(_cfg(thread)):
            out.append((item.checkpoint["channel_values"], item.metadata, item.pending_writes))
    return out


def test_random_corruption_is_reported_never_returned_as_data(tmp_path: Path) -> None:
    with LMDBSaver(tmp_path / "db") as saver:
        graph = _chat_graph(saver)
        threads = [f"t{i}" for i in range(3)]
        for thread in threads:
            graph.invoke({"messages": [HumanMessage(content="hi")]}, _cfg(thread))
            graph.invoke({"messages": [HumanMessage(content="again")]}, _cfg(thread))
        truth = _read_everything(saver, threads)
        rng = random.Random(5)
        values = _raw_values(saver)
        wrong = 0
        for _ in range(150):
            db, key, value = rng.choice(values)
            damaged = bytearray(value)
            for _ in range(rng.randint(1, 3)):
                damaged[rng.randrange(len(damaged))] ^= 1 << rng.randrange(8)
            _put_raw(saver, db, key, bytes(damaged))
            saver._lists.clear()
            try:
                got = _read_everything(saver, threads)
            except CheckpointCorruptError as exc:
                assert "checksum mismatch" in str(exc)
                assert "thread 't" in str(exc) and "checkpoint " in str(exc)
            else:
                wrong += got != truth
            _put_raw(saver, db, key, value)
        assert wrong == 0, f"{wrong} corruptions returned wrong data silently"
        assert _read_everything(saver, threads) == truth


def test_a_store_written_before_checksums_still_reads_and_writes(tmp_path: Path) -> None:
    path = tmp_path / "old"
    with LMDBSaver(path) as saver:  # make it look like an older store: no marker, no sums
        marker = saver.env.db("ckpt_format")
        saver.env.write(lambda txn: txn.delete(b"checksums", db=marker))
        saver._sums = False
        _chat_graph(saver).invoke({"messages": [HumanMessage(content="old")]}, _cfg("t"))
    with LMDBSaver(path) as saver:
        assert saver._sums is False
        graph = _chat_graph(saver)
        assert len(graph.get_state(_cfg("t")).values["messages"]) == 4
        graph.invoke({"messages": [HumanMessage(content="new")]}, _cfg("t"))
        assert len(graph.get_state(_cfg("t")).values["messages"]) == 8


def test_checksum_error_names_thread_checkpoint_and_part(tmp_path: Path) -> None:
    with LMDBSaver(tmp_path / "db") as saver:
        _chat_graph(saver).invoke({"messages": [HumanMessage(content="hi")]}, _cfg("chat-9"))
        latest = saver.get_tuple(_cfg("chat-9"))
        assert latest is not None
        key = saver.env.db("ckpt_checkpoints")  # the record, its metadata in it
        with saver.env.read() as txn:
            k, v = next(iter(txn.cursor(db=key)))
        saver.env.write(lambda txn: txn.put(k, v[:-1] + bytes([v[-1] ^ 1]), db=key))
        with pytest.raises(CheckpointCorruptError, match="'chat-9'.*record.*checksum"):
            list(saver.list(_cfg("chat-9")))
        with pytest.raises(CheckpointCorruptError, match="'chat-9'.*record.*checksum"):
            list(saver.list(_cfg("chat-9"), filter={"source": "loop"}))


# --------------------------------------------------- delete during a run
def test_delete_thread_during_a_run_does_not_brick_the_thread(
    saver: BaseCheckpointSaver,
) -> None:
    deleted = threading.Event()

    def on_step(state: Chat) -> None:
        if state.get("count") == 1 and not deleted.is_set():
            saver.delete_thread("t")
            deleted.set()

    graph = _chat_graph(saver, on_step)
    graph.invoke({"messages": [HumanMessage(content="hi")], "topic": "kept"}, _cfg("t"))
    assert deleted.is_set()
    state = graph.get_state(_cfg("t"))  # readable: the run started the thread afresh
    assert state.values["count"] == 3
    assert state.values["topic"] == "kept"  # a value the run did not change since
    assert [m.content for m in state.values["messages"]][-1] == "reply 3"
    graph.invoke({"messages": [HumanMessage(content="more")]}, _cfg("t"))
    state = graph.get_state(_cfg("t"))
    assert state.values["count"] == 6
    for item in saver.list(_cfg("t")):  # every checkpoint left reads
        # (the input checkpoint, step -1, and taking the input, step 0, come before count)
        assert "count" in item.checkpoint["channel_values"] or item.metadata["step"] <= 0


def test_delete_thread_from_another_thread_while_runs_go_on(saver: BaseCheckpointSaver) -> None:
    graph = _chat_graph(saver)
    stop = threading.Event()

    def deleter() -> None:
        while not stop.is_set():
            saver.delete_thread("busy")

    worker = threading.Thread(target=deleter)
    worker.start()
    try:
        for _ in range(15):
            graph.invoke({"messages": [HumanMessage(content="x")], "topic": "t"}, _cfg("busy"))
            assert graph.get_state(_cfg("busy")).values.get("topic") in (None, "t")
    finally:
        stop.set()
        worker.join()
    graph.invoke({"messages": [HumanMessage(content="x")]}, _cfg("busy"))
    assert graph.get_state(_cfg("busy")).values["count"] % 3 == 0


# ------------------------------------------------------------- big values
def test_a_large_state_value_is_stored_once(tmp_path: Path) -> None:
    class Doc(TypedDict):
        text: str

    builder = StateGraph(Doc)
    builder.add_node("write", lambda state: {"text": "x" * 2_000_000})
    builder.add_edge(START, "write")
    builder.add_edge("write", END)
    with LMDBSaver(tmp_path / "db") as saver:
        graph = builder.compile(checkpointer=saver)
        graph.invoke({"text": ""}, _cfg("doc"))
        used = saver.disk_usage()
        assert used < 3_000_000, f"{used} bytes on disk for a 2 MB value"
        latest = graph.get_state(_cfg("doc"))
        assert latest.values == {"text": "x" * 2_000_000}
        assert "writes" not in latest.metadata  # LangGraph 1.x's metadata: not stored twice
        found = saver.get_tuple(_cfg("doc"))
        assert found is not None and ran_names(found.checkpoint["frontier"]) == ["write"]


def test_metadata_writes_round_trip_in_memory_too() -> None:
    saver = InMemorySaver()
    ckpt = empty_checkpoint()
    big = ["item"] * 100
    ckpt["channel_values"] = {"items": big}
    ckpt["channel_versions"] = {"items": 1}
    meta: Any = {"source": "loop", "step": 1, "writes": {"node": {"items": big, "n": 1}}}
    saver.put(_cfg("m"), ckpt, meta, {"items": 1})
    found = saver.get_tuple(_cfg("m"))
    assert found is not None and found.metadata == meta
    stored = saver._threads["m"][""].checkpoints[ckpt["id"]][1]
    assert len(stored) < 100, "the list was stored again inside the metadata"


def test_channel_ref_in_user_metadata_elsewhere_is_left_alone() -> None:
    saver = InMemorySaver()
    ckpt = empty_checkpoint()
    meta: Any = {"source": "loop", "step": 1, "writes": None, "other": {"items": [1, 2]}}
    saver.put(_cfg("m"), ckpt, meta, {})
    found = saver.get_tuple(_cfg("m"))
    assert found is not None and found.metadata == meta


def test_seal_and_unseal_round_trip() -> None:
    data = b"\xc1\x01payload"
    assert codec.unseal(codec.seal(data), str) == data
    with pytest.raises(CheckpointCorruptError):
        codec.unseal(b"abc", lambda: "somewhere")


# ------------------------------------------------------------ odd keys
_ODD_IDS = [
    "x" * 480,
    "x" * 485,
    "y" * 490,
    "é" * 3000,
    "\ud800 lone surrogate",
    "nul\x00inside" * 40,
    "\x00\x02looks-hashed",
]


@pytest.mark.parametrize("thread_id", _ODD_IDS)
def test_any_thread_id_works_identically_in_every_saver(
    saver: BaseCheckpointSaver, thread_id: str
) -> None:
    from graphkit.types import Command, interrupt

    class S(TypedDict):
        x: int

    def ask(state: S) -> S:
        return {"x": state["x"] + interrupt("how many?")}

    builder = StateGraph(S)
    builder.add_node("ask", ask)
    builder.add_edge(START, "ask")
    builder.add_edge("ask", END)
    graph = builder.compile(checkpointer=saver)
    config = _cfg(thread_id)
    graph.invoke({"x": 1}, config)
    assert graph.get_state(config).next == ("ask",)  # interrupt() survived the key
    assert graph.invoke(Command(resume=4), config) == {"x": 5}
    history = list(graph.get_state_history(config))
    assert history[0].values.get("x") == 5
    listed = {c.config["configurable"]["thread_id"] for c in saver.list(None)}
    assert thread_id in listed
    saver.delete_thread(thread_id)
    assert saver.get_tuple(config) is None


def test_long_namespace_channel_and_task_ids_round_trip(saver: BaseCheckpointSaver) -> None:
    ns = "|".join(f"node{i}:{'0' * 36}" for i in range(12))  # 12 levels of subgraphs
    channel = "c" * 600
    config = {"configurable": {"thread_id": "t" * 300, "checkpoint_ns": ns}}
    ckpt = empty_checkpoint()
    ckpt["channel_values"] = {channel: "value", "short": 1}
    ckpt["channel_versions"] = {channel: 1, "short": 1}
    stored = saver.put(config, ckpt, {"step": 1}, {channel: 1, "short": 1})
    task = "task-" + "k" * 700
    saver.put_writes(stored, [(channel, "pending")], task)
    found = saver.get_tuple(config)
    assert found is not None
    assert found.checkpoint["channel_values"] == {channel: "value", "short": 1}
    assert found.pending_writes == [(task, channel, "pending")]
    assert found.config["configurable"]["checkpoint_ns"] == ns
    everything = list(saver.list(None))
    assert [c.config["configurable"]["checkpoint_ns"] for c in everything] == [ns]
    saver.copy_thread("t" * 300, "u" * 400)
    copied = saver.get_tuple({"configurable": {"thread_id": "u" * 400, "checkpoint_ns": ns}})
    assert copied is not None and copied.pending_writes == found.pending_writes
    assert {c.config["configurable"]["thread_id"] for c in saver.list(None)} == {
        "t" * 300,
        "u" * 400,
    }
    saver.prune(["t" * 300], keep_latest=1)
    assert saver.get_tuple(config) is not None


def test_keys_that_fitted_before_keep_their_encoding() -> None:
    """Stores written before long keys were hashed stay readable: short components are
    encoded exactly as they always were."""
    from graphkit.stores.checkpoint.lmdb import enc

    assert enc("thread-1") == b"thread-1\x00\x01"
    assert enc("a\x00b") == b"a\x00\xffb\x00\x01"
    assert enc("n" * 190) == b"n" * 190 + b"\x00\x01"
    assert enc("n" * 191)[:2] == b"\x00\x02"


def test_too_deep_state_is_refused_by_every_saver_naming_channel_and_depth(
    saver: BaseCheckpointSaver,
) -> None:
    import dataclasses

    from graphkit.stores.serde import MAX_DEPTH, SerdeError, register

    @dataclasses.dataclass
    class Node:
        next: Any = None

    register(Node, "tests.hardening:Node")
    chain: Any = None
    for _ in range(250):
        chain = Node(chain)
    ckpt = empty_checkpoint()
    ckpt["channel_values"] = {"tree": chain}
    ckpt["channel_versions"] = {"tree": 1}
    with pytest.raises(SerdeError, match=f"channel 'tree'.*MAX_DEPTH={MAX_DEPTH}"):
        saver.put(_cfg("deep"), ckpt, {}, {"tree": 1})
    assert saver.get_tuple(_cfg("deep")) is None
    assert list(saver.list(None)) == []
