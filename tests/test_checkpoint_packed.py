"""LMDBSaver's records: an LMDB directory written before the packed record format
(metadata in its own database, tests/fixtures/lmdb_unpacked, made by
tests/fixtures/make_lmdb_unpacked.py) still reads, lists, filters, resumes and prunes."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from fixtures.make_lmdb_unpacked import graph as fixture_graph  # the graph that wrote it

from graphkit.checkpoint.lmdb import LMDBSaver
from graphkit.stores.checkpoint.base import CheckpointCorruptError
from graphkit.types import Command

FIXTURE = Path(__file__).parent / "fixtures" / "lmdb_unpacked"
CFG: Any = {"configurable": {"thread_id": "chat"}}


def _old_store(tmp_path: Path) -> Path:
    path = tmp_path / "old"
    path.mkdir()
    shutil.copy(FIXTURE / "data.mdb", path / "data.mdb")
    return path


def test_a_store_written_before_packed_records_reads_as_it_was_written(tmp_path: Path) -> None:
    with LMDBSaver(_old_store(tmp_path)) as saver:
        graph = fixture_graph(saver)
        state = graph.get_state(CFG)
        assert state.next == ("ask",)
        assert state.values["count"] == 25
        assert {f"k{i}" for i in range(10)} <= state.values.keys()
        assert state.values["k5"] == 25 and state.values["k4"] == 24
        contents = [m.content for m in state.values["messages"]]
        assert len(contents) == 28
        assert contents[:3] == ["hi", "reply 1", "reply 2"]
        assert contents[12:15] == ["reply 12", "again", "reply 13"]
        assert contents[-3:] == ["reply 24", "ask me", "reply 25"]
        assert state.metadata is not None and state.metadata["run"] == "third"
        assert [i.value for t in state.tasks for i in t.interrupts] == ["name?"]
        history = list(graph.get_state_history(CFG))
        assert len(history) == 31
        assert [(h.values["count"], h.metadata["source"], h.next) for h in history[:5]] == [
            (25, "loop", ("ask",)),
            (24, "loop", ("reply",)),
            (24, "input", ("__start__",)),
            (24, "loop", ()),
            (23, "loop", ("reply",)),
        ]


def test_an_old_stores_metadata_filters_and_newest_first_order_hold(tmp_path: Path) -> None:
    with LMDBSaver(_old_store(tmp_path)) as saver:
        runs = [t.metadata.get("run") for t in saver.list(CFG)]
        assert runs == ["third"] * 3 + ["second"] * 14 + ["first"] * 14
        second = list(saver.list(CFG, filter={"run": "second"}))
        assert len(second) == 14 and all(t.metadata["run"] == "second" for t in second)
        everywhere = list(saver.list(None, filter={"run": "first", "step": -1}))
        assert [t.metadata["source"] for t in everywhere] == ["input"]


def test_an_old_store_resumes_and_mixes_old_and_new_records(tmp_path: Path) -> None:
    path = _old_store(tmp_path)
    with LMDBSaver(path) as saver:
        graph = fixture_graph(saver)
        graph.invoke(Command(resume="Ann"), {**CFG, "metadata": {"run": "fourth"}})
    with LMDBSaver(path) as saver:  # reopened: what the new records hold is on disk
        graph = fixture_graph(saver)
        state = graph.get_state(CFG)
        assert state.next == ()
        assert state.values["messages"][-1].content == "hello Ann"
        assert len(state.values["messages"]) == 29 and state.values["k5"] == 25
        assert state.metadata is not None and state.metadata["run"] == "fourth"
        assert len(list(saver.list(CFG, filter={"run": "fourth"}))) == 1
        assert len(list(saver.list(CFG, filter={"run": "first"}))) == 14
        assert len(list(graph.get_state_history(CFG))) == 32
        saver.prune(["chat"], keep_latest=2)
        kept = list(graph.get_state_history(CFG))
        assert [h.metadata["run"] for h in kept] == ["fourth", "third"]
        assert kept[0].values["messages"][-1].content == "hello Ann"
        assert kept[1].values["count"] == 25 and len(kept[1].values["messages"]) == 28


def test_damaged_metadata_of_an_old_record_is_reported_by_listings(tmp_path: Path) -> None:
    with LMDBSaver(_old_store(tmp_path)) as saver:
        db = saver.env.db("ckpt_metadata")
        with saver.env.read() as txn:
            key, value = next(iter(txn.cursor(db=db)))
        saver.env.write(lambda txn: txn.put(key, value[:-1] + bytes([value[-1] ^ 1]), db=db))
        with pytest.raises(CheckpointCorruptError, match="'chat'.*metadata.*checksum"):
            list(saver.list(CFG))
        with pytest.raises(CheckpointCorruptError, match="'chat'.*metadata.*checksum"):
            list(saver.list(CFG, filter={"run": "first"}))


def test_new_records_hold_their_metadata_and_leave_the_old_database_alone(
    tmp_path: Path,
) -> None:
    with LMDBSaver(tmp_path / "new") as saver:
        fixture_graph(saver).invoke({"count": 0}, {**CFG, "metadata": {"run": "only"}})
        with saver.env.read() as txn:
            assert txn.cursor(db=saver.env.db("ckpt_metadata")).first() is False
        runs = [t.metadata.get("run") for t in saver.list(CFG, filter={"run": "only"})]
        assert runs == ["only"] * 14  # every checkpoint of the run
        assert [t.metadata["step"] for t in saver.list(None, filter={"step": 3})] == [3]
