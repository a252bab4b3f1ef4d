"""Graphs with a checkpointer: threads, snapshots, history, update_state, time travel,
fault tolerance, durability modes. Every test runs on each saver (the ``saver`` fixture)."""

from __future__ import annotations

import operator
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Annotated, Any, TypedDict

import pytest

from graphkit import END, START, Command, Send, StateGraph
from graphkit.stores import LMDBSaver
from graphkit.stores.checkpoint import BaseCheckpointSaver
from graphkit.types import Durability


class State(TypedDict, total=False):
    x: int
    log: Annotated[list[str], operator.add]


def cfg(thread: str = "t1", **extra: Any) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread, **extra}}


def counter_graph(saver: BaseCheckpointSaver, calls: list[str] | None = None) -> Any:
    def add(state: State) -> dict[str, Any]:
        if calls is not None:
            calls.append("add")
        return {"x": state.get("x", 0) + 1, "log": [f"add{state.get('x', 0)}"]}

    builder = StateGraph(State)
    builder.add_node(add)
    builder.add_node("done", lambda s: {"log": ["done"]})
    builder.add_edge(START, "add")
    builder.add_edge("add", "done")
    return builder.compile(checkpointer=saver)


def test_thread_continues_from_its_last_state(saver: BaseCheckpointSaver) -> None:
    graph = counter_graph(saver)
    assert graph.invoke({"x": 0}, cfg()) == {"x": 1, "log": ["add0", "done"]}
    assert graph.invoke({"log": ["again"]}, cfg()) == {
        "x": 2,
        "log": ["add0", "done", "again", "add1", "done"],
    }
    assert graph.invoke({"x": 10}, cfg("other"))["x"] == 11


def test_configurable_scalars_are_checkpoint_metadata_to_filter_by(
    saver: BaseCheckpointSaver,
) -> None:
    graph = counter_graph(saver)
    configurable = {"user_id": "u\x001", "tries": 2, "beta": True, "opts": {"a": 1}, 5: "five"}
    config = {
        "configurable": {"thread_id": "t1", "__secret": "s", **configurable},
        "metadata": {"tries": "from metadata"},
    }
    graph.invoke({"x": 0}, config)
    graph.invoke({"x": 0}, cfg("t2", user_id="u2"))
    history = list(graph.get_state_history(cfg()))
    assert len(history) == 4
    for snapshot in history:
        shown = {k: v for k, v in snapshot.metadata.items() if k not in ("source", "step")}
        assert shown == {"user_id": "u1", "tries": "from metadata", "beta": True, "parents": {}}
    mine = list(saver.list(None, filter={"user_id": "u1"}))
    assert {c.config["configurable"]["thread_id"] for c in mine} == {"t1"} and len(mine) == 4
    assert len(list(saver.list(None, filter={"user_id": "u2", "source": "input"}))) == 1


def test_checkpoint_metadata_lists_its_own_keys_first_as_langgraph_does(
    saver: BaseCheckpointSaver,
) -> None:
    graph = counter_graph(saver)
    graph.invoke({"x": 0}, {"configurable": {"thread_id": "t1"}, "metadata": {"run": "a"}})
    for snapshot in graph.get_state_history(cfg()):
        assert list(snapshot.metadata) == ["source", "step", "parents", "run"]


def test_missing_thread_id_is_a_clear_error(saver: BaseCheckpointSaver) -> None:
    with pytest.raises(ValueError, match="needs a thread.*thread_id"):
        counter_graph(saver).invoke({"x": 0})


def test_get_state_snapshot_fields(saver: BaseCheckpointSaver) -> None:
    graph = counter_graph(saver)
    graph.invoke({"x": 0}, cfg())
    snap = graph.get_state(cfg())
    assert snap.values == {"x": 1, "log": ["add0", "done"]}
    assert snap.next == ()
    assert snap.metadata is not None
    assert snap.metadata["source"] == "loop" and snap.metadata["step"] == 2
    # LangGraph 1.x's metadata: what the step wrote is in the values, not stored twice
    assert snap.metadata == {"source": "loop", "step": 2, "parents": {}}
    assert snap.config["configurable"]["checkpoint_id"]
    assert snap.parent_config is not None and snap.created_at
    empty = graph.get_state(cfg("never"))
    assert empty.values == {} and empty.next == ()


def test_history_of_a_config_naming_a_checkpoint_is_that_checkpoint(
    saver: BaseCheckpointSaver,
) -> None:
    # As LangGraph's savers list a config with a checkpoint_id: only that checkpoint.
    graph = counter_graph(saver)
    graph.invoke({"x": 0}, cfg())
    middle = list(graph.get_state_history(cfg()))[1]
    named = list(graph.get_state_history(middle.config))
    assert [(h.config, h.next, h.tasks[0].result) for h in named] == [
        (middle.config, ("done",), {"log": ["done"]})
    ]
    assert list(graph.get_state_history(middle.config, filter={"source": "input"})) == []
    assert list(graph.get_state_history(middle.config, limit=0)) == []
    assert list(graph.get_state_history(middle.config, before=middle.config)) == []


def test_history_is_newest_first_with_filter_and_limit(saver: BaseCheckpointSaver) -> None:
    graph = counter_graph(saver)
    graph.invoke({"x": 0}, cfg())
    history = list(graph.get_state_history(cfg()))
    assert [(h.metadata["source"], h.metadata["step"], h.next) for h in history] == [
        ("loop", 2, ()),
        ("loop", 1, ("done",)),
        ("loop", 0, ("add",)),
        ("input", -1, ("__start__",)),  # as LangGraph: the state before the input
    ]
    assert [h.values.get("x") for h in history] == [1, 1, 0, None]
    assert history[-1].tasks[0].result == {"x": 0}  # the input, what runs next
    assert len(list(graph.get_state_history(cfg(), limit=2))) == 2
    only_input = list(graph.get_state_history(cfg(), filter={"source": "input"}))
    assert [h.metadata["step"] for h in only_input] == [-1]
    before = list(graph.get_state_history(cfg(), before=history[0].config))
    assert [h.metadata["step"] for h in before] == [1, 0, -1]


def test_replay_from_the_input_checkpoint_takes_the_input_again(
    saver: BaseCheckpointSaver, durability: Durability
) -> None:
    calls: list[str] = []
    graph = counter_graph(saver, calls)
    graph.invoke({"x": 3}, cfg(), durability="sync")
    first = list(graph.get_state_history(cfg()))[-1]
    assert first.next == ("__start__",)
    assert graph.invoke(None, first.config, durability=durability) == {
        "x": 4,
        "log": ["add3", "done"],
    }
    assert calls == ["add", "add"]


def test_update_state_goes_through_reducers_and_sets_next(saver: BaseCheckpointSaver) -> None:
    graph = counter_graph(saver)
    graph.invoke({"x": 0}, cfg())
    graph.update_state(cfg(), {"log": ["edited"], "x": 5}, as_node="add")
    snap = graph.get_state(cfg())
    assert snap.values == {"x": 5, "log": ["add0", "done", "edited"]}
    assert snap.next == ("done",)
    assert snap.metadata is not None and snap.metadata["source"] == "update"
    assert graph.invoke(None, cfg())["log"][-1] == "done"


def test_update_state_without_as_node_uses_last_writer(saver: BaseCheckpointSaver) -> None:
    graph = counter_graph(saver)
    graph.invoke({"x": 0}, cfg())
    graph.update_state(cfg(), {"x": 9})
    assert graph.get_state(cfg()).next == ()  # "done" wrote last; it leads to END


def test_update_state_unknown_node_is_rejected(saver: BaseCheckpointSaver) -> None:
    graph = counter_graph(saver)
    graph.invoke({"x": 0}, cfg())
    with pytest.raises(ValueError, match="no such node"):
        graph.update_state(cfg(), {"x": 1}, as_node="ghost")


def test_time_travel_forks_and_keeps_old_branch(saver: BaseCheckpointSaver) -> None:
    calls: list[str] = []
    graph = counter_graph(saver, calls)
    graph.invoke({"x": 0}, cfg())
    history = list(graph.get_state_history(cfg()))
    before_done = next(h for h in history if h.next == ("done",))
    calls.clear()
    out = graph.invoke(None, before_done.config)
    assert out == {"x": 1, "log": ["add0", "done"]}
    assert calls == []  # replay starts after "add": it is not run again
    new_history = list(graph.get_state_history(cfg()))
    assert len(new_history) == len(history) + 2  # the fork (a copy), then the step
    fork = new_history[1]
    assert fork.metadata is not None and fork.metadata["source"] == "fork"
    assert (fork.values, fork.next) == (before_done.values, before_done.next)
    assert fork.parent_config == before_done.config
    # the old branch's checkpoints are untouched
    old_ids = {h.config["configurable"]["checkpoint_id"] for h in history}
    assert old_ids <= {h.config["configurable"]["checkpoint_id"] for h in new_history}


def test_fork_with_update_state_on_an_old_checkpoint(saver: BaseCheckpointSaver) -> None:
    graph = counter_graph(saver)
    graph.invoke({"x": 0}, cfg())
    first = list(graph.get_state_history(cfg()))[-1]
    fork_config = graph.update_state(first.config, {"x": 100})
    assert graph.invoke(None, fork_config)["x"] == 101


def test_failed_parallel_step_resumes_only_the_failed_node(saver: BaseCheckpointSaver) -> None:
    calls: list[str] = []
    broken = {"on": True}

    def ok(state: State) -> dict[str, Any]:
        calls.append("ok")
        return {"log": ["ok"]}

    def flaky(state: State) -> dict[str, Any]:
        calls.append("flaky")
        if broken["on"]:
            raise RuntimeError("down")
        return {"log": ["flaky"]}

    builder = StateGraph(State)
    builder.add_node(ok)
    builder.add_node(flaky)
    builder.add_node("join", lambda s: {"log": ["join"]})
    builder.add_edge(START, "ok")
    builder.add_edge(START, "flaky")
    builder.add_edge(["ok", "flaky"], "join")
    graph = builder.compile(checkpointer=saver)
    with pytest.raises(RuntimeError, match="down"):
        graph.invoke({"x": 0}, cfg())
    snap = graph.get_state(cfg())
    assert snap.next == ("flaky",)  # as LangGraph: "ok" finished, its write shows
    assert snap.values["log"] == ["ok"]
    errors = {t.name: t.error for t in snap.tasks}
    assert errors["ok"] is None and "down" in str(errors["flaky"])
    broken["on"] = False
    calls.clear()
    assert graph.invoke(None, cfg())["log"] == ["flaky", "ok", "join"]
    assert calls == ["flaky"]


def test_invoke_none_on_new_thread_is_a_clear_error(saver: BaseCheckpointSaver) -> None:
    from graphkit import EmptyInputError

    with pytest.raises(EmptyInputError, match="has no checkpoint yet"):
        counter_graph(saver).invoke(None, cfg("fresh"))


def test_durability_modes(saver: BaseCheckpointSaver, durability: str) -> None:
    graph = counter_graph(saver)
    graph.invoke({"x": 0}, cfg(), durability=durability)
    history = list(graph.get_state_history(cfg()))
    expected = 1 if durability == "exit" else 4
    assert len(history) == expected
    assert history[0].values == {"x": 1, "log": ["add0", "done"]}


def test_bad_durability_is_rejected(saver: BaseCheckpointSaver) -> None:
    with pytest.raises(ValueError, match="durability must be one of"):
        counter_graph(saver).invoke({"x": 0}, cfg(), durability="never")


def test_checkpoints_stream_mode(saver: BaseCheckpointSaver) -> None:
    events = list(counter_graph(saver).stream({"x": 0}, cfg(), stream_mode="checkpoints"))
    assert [e["metadata"]["step"] for e in events] == [-1, 0, 1, 2]
    assert events[-1]["values"] == {"x": 1, "log": ["add0", "done"]}
    assert events[0]["next"] == ["__start__"]  # a list, as LangGraph streams it
    assert events[1]["next"] == ["add"]
    assert events[1]["tasks"] == [{"id": "1:add", "name": "add", "interrupts": (), "state": None}]


def test_only_changed_channels_get_new_versions(saver: BaseCheckpointSaver) -> None:
    graph = counter_graph(saver)
    graph.invoke({"x": 0}, cfg())
    history = list(graph.get_state_history(cfg()))
    newest, middle = (saver.get_tuple(h.config) for h in history[:2])
    assert newest is not None and middle is not None
    v_new, v_mid = newest.checkpoint["channel_versions"], middle.checkpoint["channel_versions"]
    assert v_new["x"] == v_mid["x"]  # "done" did not write x
    assert v_new["log"] > v_mid["log"]


def _run_twice(tmp_path: Path, script: str) -> tuple[str, str]:
    """What ``script`` prints run as ``prog.py first``, then in a new process as
    ``prog.py again`` (their stdout)."""
    path = tmp_path / "prog.py"
    path.write_text(script)
    outputs = []
    for arg in ("first", "again"):
        proc = subprocess.run([sys.executable, str(path), arg], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        outputs.append(proc.stdout)
    return outputs[0], outputs[1]


def test_user_state_types_survive_a_new_process(tmp_path: Path) -> None:
    """Pydantic state saved by one process is read by another (types are registered at compile)."""
    script = textwrap.dedent(f"""
        import sys
        from pydantic import BaseModel
        from graphkit import StateGraph, START
        from graphkit.stores import LMDBSaver

        class Point(BaseModel):
            x: int
            y: int

        class S(BaseModel):
            points: list[Point] = []

        b = StateGraph(S)
        b.add_node("add", lambda s: {{"points": s.points + [Point(x=len(s.points), y=1)]}})
        b.add_edge(START, "add")
        g = b.compile(checkpointer=LMDBSaver({str(tmp_path / "db")!r}))
        out = g.invoke({{}} if sys.argv[1] == "first" else None, {{"configurable": {{"thread_id": "p"}}}})
        print(repr(g.get_state({{"configurable": {{"thread_id": "p"}}}}).values["points"]))
    """)
    _, second = _run_twice(tmp_path, script)
    assert second.strip() == "[Point(x=0, y=1)]"


def test_types_nested_in_state_types_survive_a_new_process(tmp_path: Path) -> None:
    """Classes reached through a state type's fields (forward references, future
    annotations, TypedDict values, named tuples, pydantic.v1 models) are registered at
    compile too."""
    script = textwrap.dedent(f"""
        from __future__ import annotations
        import dataclasses, enum, sys
        from typing import NamedTuple, Optional, TypedDict
        import pydantic.v1
        from graphkit import StateGraph, START
        from graphkit.stores import LMDBSaver

        class Color(enum.Enum):
            RED = "red"

        @dataclasses.dataclass
        class Wrap:
            leaf: Leaf

        @dataclasses.dataclass
        class Leaf:
            color: Color

        class Pair(NamedTuple):
            a: int
            b: int

        class Item(TypedDict):
            pair: Pair

        class Old(pydantic.v1.BaseModel):
            color: Color

        class S(TypedDict, total=False):
            wrap: Optional[Wrap]
            item: Item
            old: Old

        b = StateGraph(S)
        b.add_node("w", lambda s: {{
            "wrap": Wrap(Leaf(Color.RED)), "item": {{"pair": Pair(1, 2)}}, "old": Old(color="red")
        }})
        b.add_edge(START, "w")
        g = b.compile(checkpointer=LMDBSaver({str(tmp_path / "db")!r}))
        config = {{"configurable": {{"thread_id": "p"}}}}
        if sys.argv[1] == "first":
            g.invoke({{}}, config)
        print(repr(g.get_state(config).values))
    """)
    first, second = _run_twice(tmp_path, script)
    assert second.strip() == first.strip()
    assert "Leaf(color=<Color.RED: 'red'>)" in second
    assert "Pair(a=1, b=2)" in second
    assert "'old': Old(color=<Color.RED: 'red'>)" in second


def test_langchain_messages_under_any_keys_survive_a_new_process(tmp_path: Path) -> None:
    """LangChain's messages and Documents load in any process, as LangGraph's savers
    allow them, without a schema naming them."""
    script = textwrap.dedent(f"""
        import sys
        from typing import Any, TypedDict
        from graphkit import StateGraph, START
        from graphkit.stores import LMDBSaver

        class S(TypedDict, total=False):
            last: Any
            extra: dict[str, Any]

        def node(state):
            from langchain_core.documents import Document
            from langchain_core.messages import AIMessage, HumanMessage
            return {{"last": AIMessage("yo", id="a1"),
                     "extra": {{"hist": [HumanMessage("q", id="h1")], "doc": Document("d")}}}}

        b = StateGraph(S)
        b.add_node("node", node)
        b.add_edge(START, "node")
        g = b.compile(checkpointer=LMDBSaver({str(tmp_path / "db")!r}))
        config = {{"configurable": {{"thread_id": "p"}}}}
        if sys.argv[1] == "first":
            g.invoke({{}}, config)
        values = g.get_state(config).values
        print(type(values["last"]).__name__, values["last"].content,
              type(values["extra"]["hist"][0]).__name__, type(values["extra"]["doc"]).__name__)
    """)
    _, second = _run_twice(tmp_path, script)
    assert second.split() == ["AIMessage", "yo", "HumanMessage", "Document"]


def test_a_state_value_that_cannot_be_saved_raises_type_error(saver: BaseCheckpointSaver) -> None:
    class Loose(TypedDict, total=False):
        x: int
        v: Any

    builder = StateGraph(Loose)
    builder.add_node("a", lambda s: {"v": 1j})
    builder.add_edge(START, "a")
    graph = builder.compile(checkpointer=saver)
    with pytest.raises(TypeError, match="channel 'v'.*complex is not a supported type"):
        graph.invoke({"x": 1}, cfg())
    assert graph.get_state(cfg()).next == ("a",)  # the failed step is not saved


def test_end_routes_leave_nothing_next(saver: BaseCheckpointSaver) -> None:
    builder = StateGraph(State)
    builder.add_node("a", lambda s: {"x": 1})
    builder.add_edge(START, "a")
    builder.add_conditional_edges("a", lambda s: END)
    graph = builder.compile(checkpointer=saver)
    graph.invoke({}, cfg())
    assert graph.get_state(cfg()).next == ()


def test_command_input_updates_and_jumps_to_a_node(saver: BaseCheckpointSaver) -> None:
    graph = counter_graph(saver)
    graph.invoke({"x": 0}, cfg())
    out = graph.invoke(Command(update={"log": ["manual"]}, goto="done"), cfg())
    assert out["log"] == ["add0", "done", "manual", "done"]


def test_command_as_a_fresh_threads_first_input_applies_once_and_runs_only_its_goto(
    saver: BaseCheckpointSaver,
) -> None:
    # On purpose unlike LangGraph, which also runs START's edges here (it feeds the
    # Command itself to START) and so applies the update twice: ["manual", "manual", ...].
    graph = counter_graph(saver)
    out = graph.invoke(Command(update={"log": ["manual"]}, goto="done"), cfg("fresh"))
    assert out == {"log": ["manual", "done"]}


@pytest.mark.slow  # 1,000 turns on disk
def test_long_conversation_disk_grows_with_bytes_written_not_quadratically(tmp_path: Path) -> None:
    from graphkit import MessagesState
    from graphkit.messages import AIMessage

    def reply(state: MessagesState) -> dict[str, Any]:
        return {"messages": [AIMessage(content="ok " * 60)]}

    builder = StateGraph(MessagesState)
    builder.add_node(reply)
    builder.add_edge(START, "reply")
    turns = 300
    with LMDBSaver(tmp_path / "chat") as saver:
        graph = builder.compile(checkpointer=saver)
        before = saver.disk_usage()
        for turn in range(turns):
            graph.invoke({"messages": [("user", f"question {turn} " * 10)]}, cfg("chat"))
        used = saver.disk_usage() - before
        state = graph.get_state(cfg("chat")).values["messages"]
    assert len(state) == 2 * turns
    per_turn = len(saver.serde.dumps(state)) / turns  # bytes one turn adds to the list
    quadratic = per_turn * turns * (turns + 1)  # every checkpoint holding the whole list
    assert used < 12 * per_turn * turns  # linear in what was written
    assert used * 20 < quadratic


@pytest.mark.parametrize("steps", [1, 50])
def test_async_durability_saves_every_step_in_order(saver: BaseCheckpointSaver, steps: int) -> None:
    builder = StateGraph(State)
    builder.add_node("inc", lambda s: {"x": s["x"] + 1})
    builder.add_edge(START, "inc")
    builder.add_conditional_edges("inc", lambda s: "inc" if s["x"] < steps else END)
    graph = builder.compile(checkpointer=saver)
    graph.invoke({"x": 0}, cfg(), durability="async")
    history = list(graph.get_state_history(cfg()))
    assert [h.values.get("x") for h in history] == [*range(steps, -1, -1), None]
    assert all(h.parent_config == history[i + 1].config for i, h in enumerate(history[:-1]))


def test_join_progress_carries_over_to_the_next_run_of_the_thread(
    saver: BaseCheckpointSaver,
) -> None:
    builder = StateGraph(State)
    builder.add_node("p", lambda s: {"log": ["p"]})
    builder.add_node("q", lambda s: {"log": ["q"]})
    builder.add_node("r", lambda s: {"log": ["r"]})
    builder.add_conditional_edges(START, lambda s: "q" if s["log"][-1] == "go" else "p", ["p", "q"])
    builder.add_edge(["p", "q"], "r")
    graph = builder.compile(checkpointer=saver)
    assert graph.invoke({"log": ["in"]}, cfg())["log"] == ["in", "p"]
    # p ran in the first run: q alone now completes the join (as in LangGraph).
    assert graph.invoke({"log": ["go"]}, cfg())["log"] == ["in", "p", "go", "q", "r"]


def test_deferred_node_still_pending_runs_after_new_input(saver: BaseCheckpointSaver) -> None:
    from graphkit import GraphRecursionError

    builder = StateGraph(State)
    builder.add_node("a", lambda s: {"log": ["a"]})
    builder.add_node("slow", lambda s: {"log": ["slow"], "x": s["x"] - 1})
    builder.add_node("final", lambda s: {"log": ["final"]}, defer=True)
    builder.add_conditional_edges(START, lambda s: ["a", "slow"] if s["x"] > 0 else ["slow"])
    builder.add_edge("a", "final")
    builder.add_conditional_edges("slow", lambda s: "slow" if s["x"] > 0 else END)
    graph = builder.compile(checkpointer=saver)
    with pytest.raises(GraphRecursionError):  # stops while "final" still waits
        graph.invoke({"x": 100}, {**cfg(), "recursion_limit": 3})
    out = graph.invoke({"x": 0}, cfg())  # new input that does not lead to "a"
    assert out["log"][-2:] == ["slow", "final"]


def test_one_lmdb_write_transaction_per_superstep(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from graphkit.stores._lmdb import LMDBEnv

    commits: list[int] = []
    original = LMDBEnv.write

    def counting(self: LMDBEnv, fn: Any, *args: Any) -> Any:
        commits.append(1)
        return original(self, fn, *args)

    builder = StateGraph(State)
    for name in ("a", "b", "c"):  # three parallel writers per step, two steps
        builder.add_node(name, lambda s, name=name: {"log": [name]})
        builder.add_edge(START, name)
    builder.add_node("d", lambda s: {"x": 1})
    builder.add_edge(["a", "b", "c"], "d")
    with LMDBSaver(tmp_path / "db") as saver:
        graph = builder.compile(checkpointer=saver)
        monkeypatch.setattr(LMDBEnv, "write", counting)
        graph.invoke({"x": 0}, cfg(), durability="sync")
    # the input checkpoint and the input applied (one transaction: no node runs between
    # them), then one per superstep
    assert len(commits) == 3


async def test_async_state_apis(saver: BaseCheckpointSaver) -> None:
    graph = counter_graph(saver)
    await graph.ainvoke({"x": 0}, cfg())
    snap = await graph.aget_state(cfg())
    assert snap.values == {"x": 1, "log": ["add0", "done"]}
    steps = [h.metadata["step"] async for h in graph.aget_state_history(cfg(), limit=2)]
    assert steps == [2, 1]
    await graph.aupdate_state(cfg(), {"x": 7}, as_node="add")
    assert (await graph.aget_state(cfg())).next == ("done",)


def test_default_durability_saves_every_step_before_invoke_returns(tmp_path: Path) -> None:
    """The default is LangGraph's "async"; still, a SIGKILL right after return loses nothing."""
    script = f"""
import os, signal
from typing import TypedDict
from graphkit import END, START, StateGraph
from graphkit.checkpoint.lmdb import LMDBSaver

class S(TypedDict):
    x: int

b = StateGraph(S)
b.add_node("inc", lambda s: {{"x": s["x"] + 1}})
b.add_edge(START, "inc")
b.add_conditional_edges("inc", lambda s: "inc" if s["x"] < 200 else END, ["inc", END])
graph = b.compile(checkpointer=LMDBSaver({str(tmp_path)!r}))
graph.invoke({{"x": 0}}, {{"configurable": {{"thread_id": "t"}}}})
os.kill(os.getpid(), signal.SIGKILL)
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    from graphkit.checkpoint.lmdb import LMDBSaver

    saver = LMDBSaver(str(tmp_path))
    try:
        config = {"configurable": {"thread_id": "t"}}
        latest = saver.get_tuple(config)
        assert latest is not None
        assert latest.checkpoint["channel_values"]["x"] == 200
        assert len(list(saver.list(config))) == 202  # the input, taking it, 200 steps
    finally:
        saver.close()


@pytest.mark.parametrize("durability", ["sync", "async", "exit"])
@pytest.mark.parametrize("failure", ["node_raises", "recursion_limit"])
def test_a_failing_run_keeps_every_step_it_finished(
    saver: BaseCheckpointSaver, durability: str, failure: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever the durability, the steps before the error are saved when invoke raises."""
    import time

    from graphkit import GraphRecursionError

    put_batch = saver.put_batch

    def slow_put_batch(items: Any) -> Any:  # the background writer lags well behind the run
        time.sleep(0.05)
        return put_batch(items)

    monkeypatch.setattr(saver, "put_batch", slow_put_batch)
    builder = StateGraph(State)
    builder.add_node("a", lambda s: {"log": ["a"]})
    builder.add_node("b", lambda s: {"log": ["b"]})

    def boom(state: State) -> dict[str, Any]:
        raise RuntimeError("boom")

    builder.add_node("boom", boom)
    builder.add_edge(START, "a")
    builder.add_edge("a", "b")
    builder.add_edge("b", "boom")
    graph = builder.compile(checkpointer=saver)
    limit = 2 if failure == "recursion_limit" else 25  # (2: a and b run, as in LangGraph)
    with pytest.raises(GraphRecursionError if failure == "recursion_limit" else RuntimeError):
        graph.invoke({"log": []}, {**cfg(), "recursion_limit": limit}, durability=durability)
    state = graph.get_state(cfg())
    assert state.values["log"] == ["a", "b"]
    assert state.next == ("boom",)


def test_bulk_update_state_saves_one_checkpoint_per_superstep(
    saver: BaseCheckpointSaver,
) -> None:
    from graphkit.errors import InvalidUpdateError
    from graphkit.types import StateUpdate

    graph = counter_graph(saver)
    config = graph.bulk_update_state(
        cfg("bulk"),
        [
            [StateUpdate({"x": 1}, "__input__")],
            [StateUpdate({"x": 1}, START)],
            [StateUpdate({"x": 2, "log": ["a"]}, "add"), StateUpdate({"log": ["b"]}, "done")],
        ],
    )
    history = list(graph.get_state_history(cfg("bulk")))
    assert [(h.metadata["source"], h.metadata["step"], h.next) for h in history] == [
        ("update", 1, ("done",)),
        ("update", 0, ("add",)),
        ("input", -1, ("__start__",)),
    ]
    assert graph.get_state(config).values == {"x": 2, "log": ["a", "b"]}
    with pytest.raises(InvalidUpdateError, match="No supersteps"):
        graph.bulk_update_state(cfg("bulk"), [])
    with pytest.raises(InvalidUpdateError, match="No updates"):
        graph.bulk_update_state(cfg("bulk"), [[]])
    with pytest.raises(InvalidUpdateError, match="each need as_node"):
        graph.bulk_update_state(cfg("bulk"), [[StateUpdate({"x": 1}), StateUpdate({"x": 2})]])


def test_update_state_copy_forks_and_end_stops(saver: BaseCheckpointSaver) -> None:
    graph = counter_graph(saver)
    graph.invoke({"x": 0}, cfg())
    start = next(h for h in graph.get_state_history(cfg()) if h.next == ("add",))
    fork = graph.get_state(graph.update_state(start.config, None, as_node="__copy__"))
    assert fork.metadata is not None and fork.metadata["source"] == "fork"
    assert (fork.values, fork.next) == (start.values, start.next)
    ended = graph.get_state(graph.update_state(fork.config, {"x": 9}, as_node=END))
    assert (ended.values["x"], ended.next) == (9, ())
    assert ended.metadata is not None and ended.metadata["source"] == "update"


def test_update_state_with_a_command_applies_its_update_and_its_sends(
    saver: BaseCheckpointSaver,
) -> None:
    class Fan(TypedDict, total=False):
        foo: str
        done: Annotated[list[int], operator.add]

    graph = (
        StateGraph(Fan)
        .add_node("map", lambda s: {}, destinations=("task",))
        .add_node("task", lambda arg: {"done": [arg["index"]]})
        .add_edge(START, "map")
        .compile(checkpointer=saver)
    )
    config = {"configurable": {"thread_id": "cmd"}}
    graph.update_state(config, {"foo": "in"}, as_node="__input__")
    sends = [Send("task", {"index": i}) for i in range(3)]
    graph.update_state(config, Command(update={"foo": "map"}, goto=sends), as_node="map")
    state = graph.get_state(config)
    assert state.values == {"foo": "map", "done": []}
    assert state.next == ("task", "task", "task")
    assert graph.invoke(None, config) == {"foo": "map", "done": [0, 1, 2]}


def test_update_state_as_one_node_keeps_the_other_nodes_already_due(
    saver: BaseCheckpointSaver,
) -> None:
    class Docs(TypedDict, total=False):
        docs: Annotated[list[str], operator.add]
        answer: str

    graph = (
        StateGraph(Docs)
        .add_node("one", lambda s: {"docs": ["d1"]})
        .add_node("two", lambda s: {"docs": ["d2"]})
        .add_node("qa", lambda s: {"answer": ",".join(s["docs"])})
        .add_edge(START, "one")
        .add_edge(START, "two")
        .add_edge(["one", "two"], "qa")
        .compile(checkpointer=saver, interrupt_before=["qa"])
    )
    config = cfg("due")
    graph.invoke({"docs": []}, config)
    assert graph.get_state(config).next == ("qa",)
    graph.update_state(config, {"docs": ["d5"]}, as_node="one")
    assert graph.get_state(config).next == ("qa",)  # the join already fired: qa still runs
    assert graph.invoke(None, config)["answer"] == "d1,d2,d5"
    graph.update_state(config, {"docs": ["late"]}, as_node="qa")  # stands for qa: it ends
    assert graph.get_state(config).next == ()


def test_a_custom_saver_may_leave_out_parent_config_and_pending_writes() -> None:
    """A saver written against LangGraph builds ``CheckpointTuple(config, checkpoint,
    metadata)``; the graph still runs and resumes from it."""
    from graphkit.stores import InMemorySaver
    from graphkit.stores.checkpoint import CheckpointTuple

    class ThreeFieldSaver(InMemorySaver):
        def get_tuple(self, config: Any) -> CheckpointTuple | None:
            found = super().get_tuple(config)
            if found is None:
                return None
            return CheckpointTuple(found.config, found.checkpoint, found.metadata)

    builder = StateGraph(Annotated[int, operator.add])
    builder.add_node("inc", lambda n: 1)
    builder.add_edge(START, "inc")
    graph = builder.compile(checkpointer=ThreeFieldSaver())
    config = {"configurable": {"thread_id": "t"}}
    assert graph.invoke(1, config) == 2
    assert graph.invoke(1, config) == 4
    snapshot = graph.get_state(config)
    assert snapshot.values == 4 and snapshot.parent_config is None


@pytest.mark.parametrize("mode", ["checkpoints", "debug"])
def test_exit_durability_streams_every_steps_checkpoint_and_saves_the_last(
    saver: BaseCheckpointSaver, mode: str
) -> None:
    """As LangGraph: each step's checkpoint is streamed (its parent: the last one saved);
    only the last is saved, under the id it was streamed with."""

    class S(TypedDict):
        x: int

    builder = StateGraph(S)
    builder.add_node("n", lambda s: {"x": s["x"] + 1})
    builder.add_node("m", lambda s: {"x": s["x"] + 1})
    builder.add_edge(START, "n")
    builder.add_edge("n", "m")
    graph = builder.compile(checkpointer=saver)
    config = {"configurable": {"thread_id": "exit"}}
    for run in range(2):
        before = graph.get_state(config).config if run else None
        chunks = list(graph.stream({"x": 1}, config, stream_mode=mode, durability="exit"))
        if mode == "debug":
            chunks = [c["payload"] for c in chunks if c["type"] == "checkpoint"]
        steps = [c["metadata"]["step"] for c in chunks]
        assert steps == [4 * run - 1, 4 * run, 4 * run + 1, 4 * run + 2]
        assert [c["next"] for c in chunks] == [["__start__"], ["n"], ["m"], []]
        assert all(c["parent_config"] == before for c in chunks)
        ids = [c["config"]["configurable"]["checkpoint_id"] for c in chunks]
        assert len(set(ids)) == 4
        saved = graph.get_state(config)
        assert saved.config["configurable"]["checkpoint_id"] == ids[-1]
        assert saved.values == {"x": 3}
    assert len(list(graph.get_state_history(config))) == 2


def test_exit_durability_without_a_checkpoint_stream_saves_once(
    saver: BaseCheckpointSaver,
) -> None:
    class S(TypedDict):
        x: int

    builder = StateGraph(S)
    builder.add_node("n", lambda s: {"x": s["x"] + 1})
    builder.add_edge(START, "n")
    graph = builder.compile(checkpointer=saver)
    config = {"configurable": {"thread_id": "exit-quiet"}}
    assert list(graph.stream({"x": 1}, config, stream_mode="updates", durability="exit")) == [
        {"n": {"x": 2}}
    ]
    assert [h.metadata["step"] for h in graph.get_state_history(config)] == [1]


# --------------------------------------------------------------- finished tasks of a slow step
class Parallel(TypedDict, total=False):
    done: Annotated[list[str], operator.add]


def _parallel_graph(saver: Any, quick: float, slow: float, *, as_async: bool = False) -> Any:
    """Two nodes in one step: ``quick`` finishes first, ``slow`` later (seconds)."""
    import asyncio

    def sleeper(name: str, seconds: float) -> Any:
        if as_async:

            async def node(state: Parallel) -> Parallel:
                await asyncio.sleep(seconds)
                return {"done": [name]}

            return node

        def sync_node(state: Parallel) -> Parallel:
            time.sleep(seconds)
            return {"done": [name]}

        return sync_node

    builder = StateGraph(Parallel)
    builder.add_node("quick", sleeper("quick", quick))
    builder.add_node("slow", sleeper("slow", slow))
    builder.add_edge(START, "quick")
    builder.add_edge(START, "slow")
    return builder.compile(checkpointer=saver)


def _kept_writes(graph: Any, config: dict[str, Any]) -> dict[str, list[Any]]:
    """Pending writes (by task name) of the checkpoint the parallel step ran after."""
    before_step = next(s for s in graph.get_state_history(config) if "quick" in s.next)
    found = graph.checkpointer.get_tuple(before_step.config)
    names = {t.id: t.name for t in before_step.tasks}
    kept: dict[str, list[Any]] = {}
    for task_id, channel, value in found.pending_writes:
        kept.setdefault(names[task_id], []).append((channel, value))
    return kept


@pytest.mark.parametrize("as_async", [False, True])
def test_a_slow_steps_finished_task_is_saved_before_the_step_ends(
    saver: BaseCheckpointSaver, as_async: bool
) -> None:
    """As LangGraph saves each task's writes when it finishes: a crash before the step's
    checkpoint then does not run it again. Only the task that finished while the step
    was still running (and after ``KEEP_FINISHED_AFTER``) is kept this way."""
    import asyncio

    graph = _parallel_graph(saver, quick=0.05, slow=0.3, as_async=as_async)
    config = cfg("slow-step")
    if as_async:
        out = asyncio.run(graph.ainvoke({"done": []}, config))
    else:
        out = graph.invoke({"done": []}, config)
    assert sorted(out["done"]) == ["quick", "slow"]
    kept = _kept_writes(graph, config)
    assert list(kept) == ["quick"]
    assert ("done", ["quick"]) in kept["quick"]


def test_a_quick_steps_tasks_and_exit_durability_keep_nothing_early(
    saver: BaseCheckpointSaver,
) -> None:
    quick = _parallel_graph(saver, quick=0, slow=0.001)
    config = cfg("quick-step")
    quick.invoke({"done": []}, config)
    assert _kept_writes(quick, config) == {}
    slow_exit = _parallel_graph(saver, quick=0.05, slow=0.3)
    config = cfg("exit")
    slow_exit.invoke({"done": []}, config, durability="exit")
    assert list(slow_exit.checkpointer.list(config))  # the run's one checkpoint
    assert not any(t.pending_writes for t in slow_exit.checkpointer.list(config))


def test_sigkill_in_a_slow_step_does_not_run_its_finished_task_again(tmp_path: Path) -> None:
    log = tmp_path / "ran.log"
    script = textwrap.dedent(
        f"""
        import os, sys, time
        from typing import Annotated, TypedDict
        import operator
        from graphkit import START, StateGraph
        from graphkit.checkpoint.lmdb import LMDBSaver

        class S(TypedDict, total=False):
            done: Annotated[list[str], operator.add]

        def note(text):
            with open({str(log)!r}, "a") as f:
                f.write(text + "\\n")

        def quick(state):
            time.sleep(0.05)
            note("quick")
            return {{"done": ["quick"]}}

        def slow(state):
            note("slow")
            if sys.argv[1] == "first":
                time.sleep(60)  # SIGKILLed here
            return {{"done": ["slow"]}}

        b = StateGraph(S)
        b.add_node("quick", quick)
        b.add_node("slow", slow)
        b.add_edge(START, "quick")
        b.add_edge(START, "slow")
        graph = b.compile(checkpointer=LMDBSaver({str(tmp_path / "db")!r}))
        config = {{"configurable": {{"thread_id": "t"}}}}
        if sys.argv[1] == "first":
            graph.invoke({{"done": []}}, config, durability="sync")
        else:
            print(sorted(graph.invoke(None, config)["done"]))
        """
    )
    first = subprocess.Popen([sys.executable, "-c", script, "first"], stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while "quick" not in (log.read_text() if log.exists() else ""):
        assert first.poll() is None, first.stderr.read() if first.stderr else ""
        assert time.monotonic() < deadline
        time.sleep(0.02)
    time.sleep(0.5)  # the quick task's writes are committed by now
    first.send_signal(signal.SIGKILL)
    first.wait()
    resumed = subprocess.run(
        [sys.executable, "-c", script, "again"], capture_output=True, text=True, timeout=120
    )
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout.strip() == "['quick', 'slow']"
    assert log.read_text().splitlines().count("quick") == 1  # not run again


class Mutable(TypedDict, total=False):
    items: list[str]
    meta: dict[str, int]
    n: int


def test_a_value_a_node_changed_in_place_and_wrote_back_is_saved(
    saver: BaseCheckpointSaver, durability: Durability
) -> None:
    """A node that changes a list or dict of the state in place and returns that very
    object wrote it (as in LangGraph): its checkpoint holds the change, though the
    object is the one saved before. (It used to be taken as unchanged and not saved.)
    With ``durability="async"`` the step before may be saved after the next node changed
    the shared object, as in LangGraph; ``"exit"`` saves only the last step."""

    def first(state: Mutable) -> dict[str, Any]:
        return {"items": ["a"], "meta": {"k": 1}, "n": 1}

    def second(state: Mutable) -> dict[str, Any]:
        state["items"].append("b")
        state["meta"]["k"] = 2
        return {"items": state["items"], "meta": state["meta"], "n": 2}

    builder = StateGraph(Mutable)
    builder.add_node("first", first)
    builder.add_node("second", second)
    builder.add_edge(START, "first")
    builder.add_edge("first", "second")
    builder.add_edge("second", END)
    graph = builder.compile(checkpointer=saver)
    out = graph.invoke({"items": [], "meta": {}, "n": 0}, cfg(), durability=durability)
    assert out == {"items": ["a", "b"], "meta": {"k": 2}, "n": 2}
    assert graph.get_state(cfg()).values == out
    history = [s.values for s in graph.get_state_history(cfg())]
    assert history[0] == out
    if durability == "sync":  # saved before the next node ran (async races it, as LangGraph)
        assert history[1] == {"items": ["a"], "meta": {"k": 1}, "n": 1}


def test_update_state_as_another_node_replaces_what_was_due(saver: BaseCheckpointSaver) -> None:
    # Paused before "tools", the user answers as "agent" instead: the update is a step
    # of its own, so next is what follows "agent", and "tools" (due through an edge,
    # which triggers for one step only) no longer runs, as in LangGraph.
    graph = (
        StateGraph(State)
        .add_node("agent", lambda s: {"log": ["agent"]})
        .add_node("tools", lambda s: {"log": ["tools"]})
        .add_node("review", lambda s: {"log": ["review"]})
        .add_edge(START, "agent")
        .add_edge("agent", "tools")
        .add_edge("tools", "review")
        .compile(checkpointer=saver, interrupt_before=["tools"])
    )
    graph.invoke({"log": []}, cfg("as-tools"))
    graph.update_state(cfg("as-tools"), {"log": ["answered"]}, as_node="tools")
    assert graph.get_state(cfg("as-tools")).next == ("review",)

    graph.invoke({"log": []}, cfg("as-review"))
    graph.update_state(cfg("as-review"), {"log": ["final"]}, as_node="review")
    assert graph.get_state(cfg("as-review")).next == ()
    assert graph.invoke(None, cfg("as-review")) == {"log": ["agent", "final"]}

    graph.invoke({"log": []}, cfg("as-agent"))
    graph.update_state(cfg("as-agent"), {"log": ["again"]}, as_node="agent")
    assert graph.get_state(cfg("as-agent")).next == ("tools",)
