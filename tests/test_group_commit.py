"""Runs with durability="sync" on one saver share commits, and each still waits for its own."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, TypedDict

import pytest

from graphkit import END, START, StateGraph
from graphkit.checkpoint.lmdb import LMDBSaver
from graphkit.checkpoint.memory import InMemorySaver
from graphkit.engine.group_commit import GroupCommit


class Count(TypedDict):
    n: int


def loop_graph(saver: Any, steps: int) -> Any:
    builder = StateGraph(Count)
    builder.add_node("inc", lambda s: {"n": s["n"] + 1})
    builder.add_edge(START, "inc")
    builder.add_conditional_edges("inc", lambda s: "inc" if s["n"] < steps else END, ["inc", END])
    return builder.compile(checkpointer=saver)


@pytest.fixture
def count_commits(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Call it once the saver is set up: from then on, LMDB write transactions are counted."""
    from graphkit.stores._lmdb import LMDBEnv

    commits: list[int] = []
    original = LMDBEnv.write

    def counting(self: LMDBEnv, fn: Any, *args: Any) -> Any:
        commits.append(1)
        return original(self, fn, *args)

    def start() -> list[int]:
        monkeypatch.setattr(LMDBEnv, "write", counting)
        return commits

    return start


def test_concurrent_sync_runs_share_transactions_and_lose_nothing(
    tmp_path: Path, count_commits: Any
) -> None:
    runs, steps = 8, 30
    with LMDBSaver(tmp_path / "db") as saver:
        graph = loop_graph(saver, steps)
        commits = count_commits()
        threads = [
            threading.Thread(
                target=graph.invoke,
                args=({"n": 0}, {"configurable": {"thread_id": f"t{i}"}}),
                kwargs={"durability": "sync"},
            )
            for i in range(runs)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for i in range(runs):
            config = {"configurable": {"thread_id": f"t{i}"}}
            history = list(saver.list(config))
            assert len(history) == steps + 2  # the input checkpoint, taking it, each step
            assert [h.metadata["step"] for h in history] == list(range(steps, -2, -1))
            assert graph.get_state(config).values == {"n": steps}
    assert len(commits) < runs * (steps + 1)  # some commits carried several runs' steps


class GatedSaver(InMemorySaver):
    """Blocks its first put until released; refuses checkpoints of thread "bad"."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.first = True
        self.batches: list[int] = []

    def put(self, config: Any, checkpoint: Any, metadata: Any, new_versions: Any) -> Any:
        if self.first:
            self.first = False
            self.gate.wait(5)
        if config["configurable"]["thread_id"] == "bad":
            raise ValueError("this checkpoint cannot be stored")
        return super().put(config, checkpoint, metadata, new_versions)

    def put_batch(self, items: Any) -> Any:
        self.batches.append(len(items))
        return super().put_batch(items)


def _item(thread: str) -> Any:
    from graphkit.stores.checkpoint.base import empty_checkpoint

    config = {"configurable": {"thread_id": thread, "checkpoint_ns": ""}}
    return (config, empty_checkpoint(), {}, {})


def test_a_failing_checkpoint_in_a_shared_commit_fails_only_its_run() -> None:
    saver = GatedSaver()
    group = GroupCommit(saver)
    outcome: dict[str, str] = {}

    def save(thread: str) -> None:
        try:
            group.put(_item(thread))
            outcome[thread] = "saved"
        except ValueError as exc:
            outcome[thread] = str(exc)

    first = threading.Thread(target=save, args=("first",))
    first.start()
    while not group.in_flight:  # "first" holds the commit; the next two queue behind it
        threading.Event().wait(0.001)
    queued = [threading.Thread(target=save, args=(t,)) for t in ("good", "bad")]
    for t in queued:
        t.start()
    while len(group.queue) < 2:
        threading.Event().wait(0.001)
    saver.gate.set()
    for t in (first, *queued):
        t.join(5)
    assert saver.batches == [2]  # "good" and "bad" went together, in one batch
    assert outcome == {"first": "saved", "good": "saved", "bad": "this checkpoint cannot be stored"}
    assert saver.get_tuple({"configurable": {"thread_id": "good"}}) is not None
    assert saver.get_tuple({"configurable": {"thread_id": "bad"}}) is None


def test_async_runs_share_commits_and_each_waits_only_for_its_own(
    tmp_path: Path, count_commits: Any
) -> None:
    import asyncio

    runs, steps = 8, 30
    with LMDBSaver(tmp_path / "db") as saver:
        graph = loop_graph(saver, steps)
        commits = count_commits()

        async def all_runs() -> list[Any]:
            return await asyncio.gather(
                *(
                    graph.ainvoke({"n": 0}, {"configurable": {"thread_id": f"a{i}"}})
                    for i in range(runs)
                )
            )

        assert asyncio.run(all_runs()) == [{"n": steps}] * runs
        for i in range(runs):  # everything is on disk when ainvoke returns
            history = list(saver.list({"configurable": {"thread_id": f"a{i}"}}))
            assert len(history) == steps + 2
    assert len(commits) < runs * (steps + 2)


def test_the_background_committer_thread_ends_when_idle(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    from graphkit.engine import group_commit

    monkeypatch.setattr(group_commit, "IDLE_SECONDS", 0.05)
    saver = InMemorySaver()
    group = group_commit.committer(saver)
    group.wait(group.submit(_item("t")))
    assert group._committer is not None
    deadline = time.monotonic() + 5
    while group._committer is not None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert group._committer is None
    group.wait(group.submit(_item("u")))  # a later save starts a new one
    assert saver.get_tuple({"configurable": {"thread_id": "u"}}) is not None


@pytest.mark.parametrize("durability", ["sync", "async"])
def test_a_saver_without_disk_sync_saves_inline_on_the_run_thread(
    tmp_path: Path, durability: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    saver = LMDBSaver(tmp_path, sync=False)
    assert not saver.waits_on_io and LMDBSaver(tmp_path / "synced").waits_on_io
    threads: set[str] = set()
    original = LMDBSaver._write_prepared

    def recording(self: LMDBSaver, txn: Any, item: Any) -> Any:
        threads.add(threading.current_thread().name)
        return original(self, txn, item)

    monkeypatch.setattr(LMDBSaver, "_write_prepared", recording)  # put and put_batch
    config: Any = {"configurable": {"thread_id": "t"}}
    assert loop_graph(saver, 5).invoke({"n": 0}, config, durability=durability) == {"n": 5}
    assert threads == {threading.current_thread().name}
    assert len(list(saver.list(config))) == 7
