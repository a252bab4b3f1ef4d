"""Savers written as LangGraph's: any subset of methods, and async ones awaited by async runs."""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections.abc import AsyncIterator, Sequence
from typing import Any, TypedDict

import pytest

from graphkit.checkpoint.base import (
    WRITES_IDX_MAP,
    BaseCheckpointSaver,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    get_checkpoint_id,
)
from graphkit.checkpoint.memory import InMemorySaver
from graphkit.engine import loop as loop_module
from graphkit.engine.async_saves import LoopSaver
from graphkit.errors import GraphkitError, RunContextError, SaverNotImplementedError
from graphkit.graph import END, START, StateGraph
from graphkit.stores.checkpoint.base import awaits_natively, missing_for_sync_runs
from graphkit.types import Command, RunnableConfig, interrupt


class DictSaver(BaseCheckpointSaver):
    """An async-only saver over a dict, written as one for LangGraph is (on an async
    database driver): values go through ``serde.dumps_typed``."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[tuple[str, str], list[tuple[RunnableConfig, Any, Any, Any]]] = {}
        """(config, typed checkpoint, typed metadata, parent config) per thread and ns."""
        self.writes: dict[tuple[str, str, str], dict[str, list[tuple[int, str, Any]]]] = {}
        self.calls: list[str] = []
        self.threads: set[int] = set()

    def _note(self, name: str) -> None:
        self.calls.append(name)
        self.threads.add(threading.get_ident())

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        self._note("aget_tuple")
        await asyncio.sleep(0)
        conf = config["configurable"]
        rows = self.rows.get((conf["thread_id"], conf.get("checkpoint_ns", "")), [])
        wanted = get_checkpoint_id(config)
        for row in reversed(rows):
            if wanted is None or row[0]["configurable"]["checkpoint_id"] == wanted:
                return self._tuple(row)
        return None

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        self._note("alist")
        assert config is not None
        conf = config["configurable"]
        rows = list(reversed(self.rows.get((conf["thread_id"], conf["checkpoint_ns"]), [])))
        if before is not None:
            bound = get_checkpoint_id(before)
            rows = [r for r in rows if r[0]["configurable"]["checkpoint_id"] < bound]
        for row in rows[:limit]:
            found = self._tuple(row)
            if all(found.metadata.get(k) == v for k, v in (filter or {}).items()):
                yield found

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        self._note("aput")
        await asyncio.sleep(0)
        conf = config["configurable"]
        key = (conf["thread_id"], conf.get("checkpoint_ns", ""))
        new: RunnableConfig = {
            "configurable": {
                "thread_id": key[0],
                "checkpoint_ns": key[1],
                "checkpoint_id": checkpoint["id"],
            }
        }
        parent = {"configurable": dict(conf)} if get_checkpoint_id(config) else None
        typed = self.serde.dumps_typed({**checkpoint, "channel_appends": {}})
        self.rows.setdefault(key, []).append((new, typed, self.serde.dumps_typed(metadata), parent))
        return new

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_index: int = 0,
    ) -> None:
        self._note("aput_writes")
        conf = config["configurable"]
        key = (conf["thread_id"], conf.get("checkpoint_ns", ""), conf["checkpoint_id"])
        self.writes.setdefault(key, {})[task_id] = [
            (WRITES_IDX_MAP.get(c, task_index), c, self.serde.dumps_typed(v)) for c, v in writes
        ]

    def _tuple(self, row: tuple[RunnableConfig, Any, Any, Any]) -> CheckpointTuple:
        config, typed, metadata, parent = row
        conf = config["configurable"]
        key = (conf["thread_id"], conf["checkpoint_ns"], conf["checkpoint_id"])
        pending = [
            (task_id, channel, self.serde.loads_typed(value))
            for task_id, task in self.writes.get(key, {}).items()
            for _, channel, value in task
        ]
        checkpoint = self.serde.loads_typed(typed)
        return CheckpointTuple(
            config, checkpoint, self.serde.loads_typed(metadata), parent, pending
        )

    def saved(self, thread: str, ns: str = "") -> list[CheckpointTuple]:
        return [self._tuple(row) for row in self.rows.get((thread, ns), [])]

    @property
    def checkpoints(self) -> dict[tuple[str, str], Any]:
        return self.rows


def add(a: list[str], b: list[str]) -> list[str]:
    return a + b


class Steps(TypedDict, total=False):
    steps: Any
    answer: str


def chain(saver: BaseCheckpointSaver | bool | None, *names: str, sync: bool = False) -> Any:
    from typing import Annotated

    class S(TypedDict, total=False):
        steps: Annotated[list[str], add]
        answer: str

    builder = StateGraph(S)
    for name in names:
        builder.add_node(name, _sync_step(name) if sync else _step(name))
    builder.add_edge(START, names[0])
    for a, b in itertools.pairwise(names):
        builder.add_edge(a, b)
    builder.add_edge(names[-1], END)
    return builder.compile(checkpointer=saver)


def _step(name: str) -> Any:
    async def step(state: dict[str, Any]) -> dict[str, Any]:
        return {"steps": [name]}

    return step


def _sync_step(name: str) -> Any:
    def step(state: dict[str, Any]) -> dict[str, Any]:
        return {"steps": [name]}

    return step


def thread(name: str = "t") -> RunnableConfig:
    return {"configurable": {"thread_id": name}}


# ------------------------------------------------------------------ the base class
def test_a_saver_with_no_methods_can_be_made_and_names_what_it_lacks() -> None:
    saver = BaseCheckpointSaver()
    with pytest.raises(SaverNotImplementedError, match=r"does not implement put\(\)") as info:
        saver.put(thread(), {}, {}, {})  # type: ignore[typeddict-item]
    assert isinstance(info.value, NotImplementedError) and isinstance(info.value, GraphkitError)
    with pytest.raises(SaverNotImplementedError, match=r"get_tuple, list, put and put_writes"):
        saver.get_tuple(thread())
    for call in (
        lambda: saver.list(None),
        lambda: saver.put_writes(thread(), [], "task"),
        lambda: saver.delete_thread("t"),
        lambda: saver.copy_thread("a", "b"),
        lambda: saver.prune(["t"]),
    ):
        with pytest.raises(SaverNotImplementedError):
            call()


async def test_async_twins_of_missing_sync_methods_name_both() -> None:
    saver = BaseCheckpointSaver()
    with pytest.raises(SaverNotImplementedError, match=r"neither aput\(\) nor put\(\)"):
        await saver.aput(thread(), {}, {}, {})  # type: ignore[typeddict-item]
    with pytest.raises(SaverNotImplementedError, match=r"neither aget_tuple\(\) nor get_tuple"):
        await saver.aget_tuple(thread())
    with pytest.raises(SaverNotImplementedError, match=r"neither alist\(\) nor list\(\)"):
        [item async for item in saver.alist(None)]
    with pytest.raises(SaverNotImplementedError, match="adelete_thread"):
        await saver.adelete_thread("t")


def test_a_sync_call_on_an_async_only_saver_points_to_the_async_api() -> None:
    saver = DictSaver()
    with pytest.raises(SaverNotImplementedError, match=r"only its async twin aput\(\).*ainvoke"):
        saver.put(thread(), {}, {}, {})  # type: ignore[typeddict-item]
    assert missing_for_sync_runs(saver) == ("get_tuple", "put", "put_writes")
    assert missing_for_sync_runs(InMemorySaver()) == ()


def test_which_savers_are_awaited() -> None:
    class OnlyAput(InMemorySaver):
        async def aput(self, *args: Any) -> RunnableConfig:
            return await super().aput(*args)

    class OnlyAlist(InMemorySaver):
        async def alist(self, *args: Any, **kwargs: Any) -> AsyncIterator[CheckpointTuple]:
            async for item in super().alist(*args, **kwargs):
                yield item

    assert awaits_natively(DictSaver()) and awaits_natively(OnlyAput())
    assert awaits_natively(OnlyAlist())
    assert not awaits_natively(InMemorySaver())


async def test_the_sync_twins_of_a_sync_saver_still_run_in_a_thread() -> None:
    saver = InMemorySaver()
    graph = chain(saver, "a")
    await graph.ainvoke({"steps": []}, thread())
    found = await saver.aget_tuple(thread())
    assert found is not None and found.checkpoint["channel_values"]["steps"] == ["a"]


# ------------------------------------------------------------------ async runs
@pytest.mark.parametrize("durability", ["sync", "async", "exit"])
async def test_an_async_only_saver_serves_async_runs(durability: str) -> None:
    saver = DictSaver()
    graph = chain(saver, "a", "b")
    out = await graph.ainvoke({"steps": []}, thread(), durability=durability)
    assert out == {"steps": ["a", "b"]}
    saved = saver.saved("t")  # all on "disk" when ainvoke returns
    assert len(saved) == (1 if durability == "exit" else 4)
    assert saved[-1].checkpoint["channel_values"]["steps"] == ["a", "b"]
    out = await graph.ainvoke({"steps": ["x"]}, thread(), durability=durability)
    assert out == {"steps": ["a", "b", "x", "a", "b"]}
    assert "aget_tuple" in saver.calls and "aput" in saver.calls
    assert threading.get_ident() in saver.threads  # awaited on the loop, not in threads


async def test_astream_on_an_async_only_saver_yields_each_step() -> None:
    saver = DictSaver()
    graph = chain(saver, "a", "b")
    chunks = [c async for c in graph.astream({"steps": []}, thread(), stream_mode="updates")]
    assert chunks == [{"a": {"steps": ["a"]}}, {"b": {"steps": ["b"]}}]
    assert len(saver.saved("t")) == 4


async def test_state_api_of_an_async_only_saver() -> None:
    saver = DictSaver()
    graph = chain(saver, "a", "b")
    await graph.ainvoke({"steps": []}, thread())
    state = await graph.aget_state(thread())
    assert state.values == {"steps": ["a", "b"]} and state.next == ()
    history = [s async for s in graph.aget_state_history(thread())]
    assert [s.metadata["step"] for s in history] == [2, 1, 0, -1]
    config = await graph.aupdate_state(thread(), {"steps": ["edit"]}, as_node="b")
    assert (
        config["configurable"]["checkpoint_id"]
        == saver.saved("t")[-1].config["configurable"]["checkpoint_id"]
    )
    assert (await graph.aget_state(thread())).values == {"steps": ["a", "b", "edit"]}
    await graph.abulk_update_state(thread(), [[({"steps": ["bulk"]}, "a")]])
    assert (await graph.aget_state(thread())).values["steps"][-1] == "bulk"
    past = history[1].config
    assert (await graph.aget_state(past)).values == {"steps": ["a"]}


async def test_sync_calls_on_an_async_only_saver_fail_before_any_node_runs() -> None:
    ran: list[str] = []

    def node(state: dict[str, Any]) -> dict[str, Any]:
        ran.append("node")
        return {"answer": "x"}

    builder = StateGraph(Steps)
    builder.add_node("node", node)
    builder.add_edge(START, "node")
    graph = builder.compile(checkpointer=DictSaver())
    with pytest.raises(SaverNotImplementedError, match=r"DictSaver does not implement get_tuple"):
        await asyncio.to_thread(graph.invoke, {"answer": ""}, thread())
    with pytest.raises(SaverNotImplementedError, match="ainvoke"):
        await asyncio.to_thread(lambda: list(graph.stream({"answer": ""}, thread())))
    with pytest.raises(SaverNotImplementedError, match="aget_state"):
        await asyncio.to_thread(graph.get_state, thread())
    assert ran == []


async def test_interrupt_and_resume_through_async_methods() -> None:
    saver = DictSaver()

    def ask(state: dict[str, Any]) -> dict[str, Any]:
        return {"answer": interrupt("name?")}

    builder = StateGraph(Steps)
    builder.add_node("ask", ask)
    builder.add_edge(START, "ask")
    graph = builder.compile(checkpointer=saver)
    out: Any = await graph.ainvoke({"answer": ""}, thread())
    assert out["__interrupt__"][0].value == "name?"
    assert "aput_writes" in saver.calls
    state = await graph.aget_state(thread())
    assert state.next == ("ask",) and state.interrupts[0].value == "name?"
    out = await graph.ainvoke(Command(resume="Ada"), thread())
    assert out == {"answer": "Ada"}


async def test_a_failed_step_keeps_what_finished_and_resumes_from_it() -> None:
    saver = DictSaver()
    runs: list[str] = []
    fail = [True]

    async def good(state: dict[str, Any]) -> dict[str, Any]:
        runs.append("good")
        return {"steps": ["good"]}

    async def bad(state: dict[str, Any]) -> dict[str, Any]:
        runs.append("bad")
        if fail[0]:
            raise ValueError("boom")
        return {"steps": ["bad"]}

    from typing import Annotated

    class S(TypedDict, total=False):
        steps: Annotated[list[str], add]

    builder = StateGraph(S)
    builder.add_node("good", good)
    builder.add_node("bad", bad)
    builder.add_edge(START, "good")
    builder.add_edge(START, "bad")
    graph = builder.compile(checkpointer=saver)
    with pytest.raises(ValueError, match="boom"):
        await graph.ainvoke({"steps": []}, thread())
    fail[0] = False
    out = await graph.ainvoke(None, thread())
    assert sorted(out["steps"]) == ["bad", "good"]
    assert runs.count("good") == 1  # its writes were kept through aput_writes


async def test_a_slow_step_keeps_each_task_as_it_finishes(monkeypatch: Any) -> None:
    monkeypatch.setattr(loop_module, "KEEP_FINISHED_AFTER", 0.0)
    saver = DictSaver()
    kept_during_step: list[int] = []

    async def quick(state: dict[str, Any]) -> dict[str, Any]:
        return {"steps": ["quick"]}

    async def slow(state: dict[str, Any]) -> dict[str, Any]:
        for _ in range(500):  # (up to 5 s on a busy machine)
            if saver.calls.count("aput_writes"):
                break
            await asyncio.sleep(0.01)
        kept_during_step.append(saver.calls.count("aput_writes"))
        return {"steps": ["slow"]}

    from typing import Annotated

    class S(TypedDict, total=False):
        steps: Annotated[list[str], add]

    builder = StateGraph(S)
    builder.add_node("quick", quick)
    builder.add_node("slow", slow)
    builder.add_edge(START, "quick")
    builder.add_edge(START, "slow")
    graph = builder.compile(checkpointer=saver)
    out = await graph.ainvoke({"steps": []}, thread(), durability="sync")
    assert sorted(out["steps"]) == ["quick", "slow"]
    assert kept_during_step == [1]  # the quick task's writes were saved while slow ran


# ------------------------------------------------------------------ slow, failing, cancelled
class SlowPut(InMemorySaver):
    """Our memory saver with a slow ``aput`` (an async saver on a slow network)."""

    def __init__(self, delay: float = 0.3, fail: bool = False) -> None:
        super().__init__()
        self.delay = delay
        self.fail = fail
        self.log: list[str] = []

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: dict[str, int],
    ) -> RunnableConfig:
        self.log.append("start")
        try:
            await asyncio.sleep(self.delay)
            if self.fail:
                raise ConnectionError("database went away")
            return await super().aput(config, checkpoint, metadata, new_versions)
        finally:
            self.log.append("end")


def sleeper(saver: BaseCheckpointSaver, seconds: float) -> Any:
    async def wait(state: dict[str, Any]) -> dict[str, Any]:
        await asyncio.sleep(seconds)
        return {"answer": "done"}

    builder = StateGraph(Steps)
    builder.add_node("wait", wait)
    builder.add_edge(START, "wait")
    return builder.compile(checkpointer=saver)


@pytest.mark.parametrize("durability", ["sync", "async", "exit"])
async def test_a_cancelled_run_finishes_its_save(durability: str) -> None:
    saver = SlowPut(delay=0.2)
    graph = sleeper(saver, 5)
    task = asyncio.create_task(graph.ainvoke({"answer": ""}, thread(), durability=durability))
    await asyncio.sleep(0.3 if durability != "exit" else 0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert saver.log and saver.log.count("start") == saver.log.count("end")
    found = saver.get_tuple(thread())
    assert found is not None and found.metadata["step"] in (-1, 0)  # before the node ran


async def test_a_run_cancelled_during_a_save_still_completes_it() -> None:
    saver = SlowPut(delay=0.3)
    graph = sleeper(saver, 0)
    task = asyncio.create_task(graph.ainvoke({"answer": ""}, thread(), durability="sync"))
    while not saver.log:  # until inside the input checkpoint's aput
        await asyncio.sleep(0.01)
    assert saver.log == ["start"]
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert saver.log[:2] == ["start", "end"]  # (and the step-0 checkpoint queued after it)
    assert saver.log.count("start") == saver.log.count("end") == len(list(saver.list(thread())))


async def test_a_cancelled_stream_finishes_its_save() -> None:
    saver = SlowPut(delay=0.2)
    graph = sleeper(saver, 5)
    stream = graph.astream({"answer": ""}, thread(), durability="exit")
    task = asyncio.create_task(stream.__anext__())
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert saver.log == ["start", "end"]


@pytest.mark.parametrize("durability", ["sync", "async", "exit"])
async def test_an_error_from_aput_fails_the_run(durability: str) -> None:
    saver = SlowPut(delay=0, fail=True)
    graph = sleeper(saver, 0)
    with pytest.raises(ConnectionError, match="database went away"):
        await graph.ainvoke({"answer": ""}, thread(), durability=durability)


async def test_a_node_error_wins_over_a_failing_save(caplog: Any) -> None:
    saver = SlowPut(delay=0, fail=True)

    async def broken(state: dict[str, Any]) -> dict[str, Any]:
        raise KeyError("node")

    builder = StateGraph(Steps)
    builder.add_node("broken", broken)
    builder.add_edge(START, "broken")
    graph = builder.compile(checkpointer=saver)
    with pytest.raises(KeyError, match="node"):
        await graph.ainvoke({"answer": ""}, thread(), durability="exit")
    assert "database went away" in caplog.text


async def test_a_saver_overriding_only_aput_gets_every_checkpoint() -> None:
    saver = SlowPut(delay=0)
    graph = chain(saver, "a", "b", sync=True)
    await graph.ainvoke({"steps": []}, thread(), durability="async")
    assert saver.log.count("start") == len(list(saver.list(thread()))) == 4
    graph.invoke({"steps": []}, thread("sync"))  # a sync run keeps the sync methods
    assert saver.log.count("start") == 4 and len(list(saver.list(thread("sync")))) == 4


# ------------------------------------------------------------------ subgraphs
async def test_a_stateful_subgraph_on_an_async_only_saver() -> None:
    saver = DictSaver()
    from typing import Annotated

    class S(TypedDict, total=False):
        steps: Annotated[list[str], add]

    inner = StateGraph(S)
    inner.add_node("count", _step("inner"))
    inner.add_edge(START, "count")
    sub = inner.compile(checkpointer=True)

    async def call_sub(state: dict[str, Any]) -> dict[str, Any]:
        out = await sub.ainvoke({"steps": ["in"]})
        return {"steps": [str(len(out["steps"]))]}

    outer = StateGraph(S)
    outer.add_node("call", call_sub)
    outer.add_edge(START, "call")
    graph = outer.compile(checkpointer=saver)
    assert await graph.ainvoke({"steps": []}, thread()) == {"steps": ["2"]}
    assert await graph.ainvoke({"steps": []}, thread()) == {"steps": ["2", "4"]}
    spaces = {ns for (t, ns) in saver.checkpoints if t == "t"}
    assert "" in spaces and len(spaces) == 2  # the subgraph kept its own namespace


# ------------------------------------------------------------------ the loop's face
async def test_the_loop_face_refuses_calls_on_the_loop_thread() -> None:
    face = LoopSaver(DictSaver(), asyncio.get_running_loop())
    with pytest.raises(RunContextError, match="async API"):
        face.get_tuple(thread())
    assert await asyncio.to_thread(face.get_tuple, thread()) is None


# ------------------------------------------------------------------ overriding put
class FailingPut(InMemorySaver):
    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: dict[str, int],
    ) -> RunnableConfig:
        raise ValueError("faulty put")


@pytest.mark.parametrize("durability", ["sync", "async", "exit"])
def test_a_subclass_that_overrides_put_has_it_called(durability: str) -> None:
    graph = chain(FailingPut(), "a", sync=True)
    with pytest.raises(ValueError, match="faulty put"):
        graph.invoke({"steps": []}, thread(), durability=durability)


def test_group_commits_call_a_subclass_put_for_each_checkpoint(tmp_path: Any) -> None:
    from graphkit.checkpoint.lmdb import LMDBSaver
    from graphkit.stores.checkpoint.base import stands_for_put

    puts: list[str] = []

    class Counted(LMDBSaver):
        def put(
            self,
            config: RunnableConfig,
            checkpoint: Checkpoint,
            metadata: CheckpointMetadata,
            new_versions: dict[str, int],
        ) -> RunnableConfig:
            puts.append(checkpoint["id"])
            return super().put(config, checkpoint, metadata, new_versions)

    with Counted(str(tmp_path / "db")) as saver:
        assert not stands_for_put(saver, "put_batch") and not stands_for_put(saver, "writer")
        with LMDBSaver(str(tmp_path / "other")) as plain:
            assert stands_for_put(plain, "put_batch") and stands_for_put(plain, "writer")
        graph = chain(saver, "a", "b", "c", sync=True)
        graph.invoke({"steps": []}, thread(), durability="async")
        assert len(puts) == len(list(saver.list(thread()))) == 5


async def test_a_cancelled_live_stream_stops_its_nodes_before_saving() -> None:
    log: list[str] = []

    class Logged(SlowPut):
        async def aput(self, *args: Any) -> RunnableConfig:
            log.append("aput.start")
            try:
                return await super().aput(*args)
            finally:
                log.append("aput.end")

    async def wait(state: dict[str, Any]) -> dict[str, Any]:
        log.append("node.start")
        try:
            await asyncio.sleep(5)
        finally:
            log.append("node.end")
        return {"answer": "done"}

    builder = StateGraph(Steps)
    builder.add_node("wait", wait)
    builder.add_edge(START, "wait")
    graph = builder.compile(checkpointer=Logged(delay=0.05))
    stream = graph.astream({"answer": ""}, thread(), stream_mode="custom", durability="exit")
    task = asyncio.ensure_future(stream.__anext__())
    while not log:
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert log == ["node.start", "node.end", "aput.start", "aput.end"]
