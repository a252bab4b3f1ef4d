"""Task results in snapshots: each snapshot's tasks show what they wrote once their
step ran (``PregelTask.result``), read from the references the next checkpoint keeps
(``graphkit.engine.results``). Each graph test runs on every saver."""

from __future__ import annotations

import operator
import uuid
from typing import Annotated, Any, TypedDict

from graphkit import END, START, Command, Send, StateGraph, interrupt
from graphkit.engine.results import read_results, record_writes
from graphkit.messages import AIMessage, HumanMessage, add_messages
from graphkit.stores.checkpoint import BaseCheckpointSaver
from graphkit.types import StateSnapshot, StateUpdate


class State(TypedDict, total=False):
    log: Annotated[list[str], operator.add]
    total: Annotated[int, operator.add]
    last: str


def cfg() -> dict[str, Any]:
    return {"configurable": {"thread_id": str(uuid.uuid4())}}


def tasks_of(snapshot: StateSnapshot) -> list[tuple[str, Any]]:
    return [(t.name, t.result) for t in snapshot.tasks]


def chain(saver: BaseCheckpointSaver) -> Any:
    builder = StateGraph(State)
    builder.add_node("a", lambda s: {"log": ["a"], "total": 1, "last": "a"})
    builder.add_node("b", lambda s: {"log": ["b1", "b2"], "total": 10})
    builder.add_node("quiet", lambda s: None)
    builder.add_edge(START, "a")
    builder.add_edge("a", "b")
    builder.add_edge("b", "quiet")
    return builder.compile(checkpointer=saver)


# --------------------------------------------------------------------- history
def test_history_shows_what_each_task_of_a_completed_step_wrote(
    saver: BaseCheckpointSaver,
) -> None:
    graph, config = chain(saver), cfg()
    graph.invoke({"log": ["in"]}, config)
    graph.invoke({"log": ["again"]}, config)
    history = list(graph.get_state_history(config))
    assert [tasks_of(s) for s in history[:5]] == [
        [],
        [("quiet", {})],  # it ran and wrote nothing
        [("b", {"log": ["b1", "b2"], "total": 10})],  # an append and an increment
        [("a", {"log": ["a"], "total": 1, "last": "a"})],
        [("__start__", {"log": ["again"]})],
    ]
    assert tasks_of(history[-2]) == [("a", {"log": ["a"], "total": 1, "last": "a"})]


def test_get_state_of_an_older_checkpoint_shows_its_tasks_results(
    saver: BaseCheckpointSaver,
) -> None:
    graph, config = chain(saver), cfg()
    graph.invoke({"log": ["in"]}, config)
    history = list(graph.get_state_history(config))
    older = graph.get_state(history[2].config)
    assert tasks_of(older) == [("b", {"log": ["b1", "b2"], "total": 10})]
    # a page of history that starts further back finds them too
    page = list(graph.get_state_history(config, before=history[1].config, limit=1))
    assert tasks_of(page[0]) == [("b", {"log": ["b1", "b2"], "total": 10})]
    assert graph.get_state(config).tasks == ()  # the latest: nothing ran after it


def test_each_sent_task_shows_its_own_result(saver: BaseCheckpointSaver) -> None:
    def fan(state: State) -> list[Send]:
        return [Send("work", {"last": w}) for w in ("x", "y", "z")]

    builder = StateGraph(State)
    builder.add_node("work", lambda s: {"log": [s["last"] * 2]})
    builder.add_conditional_edges(START, fan)
    builder.add_edge("work", END)
    graph, config = builder.compile(checkpointer=saver), cfg()
    graph.invoke({}, config)
    fanned = next(s for s in graph.get_state_history(config) if len(s.tasks) == 3)
    assert tasks_of(fanned) == [
        ("work", {"log": ["xx"]}),
        ("work", {"log": ["yy"]}),
        ("work", {"log": ["zz"]}),
    ]


def test_a_channel_written_twice_by_one_task_shows_each_write(
    saver: BaseCheckpointSaver,
) -> None:
    builder = StateGraph(State)
    builder.add_node("twice", lambda s: Command(update=[("log", ["1"]), ("log", ["2"])]))
    builder.add_edge(START, "twice")
    graph, config = builder.compile(checkpointer=saver), cfg()
    graph.invoke({}, config)
    history = list(graph.get_state_history(config))
    assert tasks_of(history[1]) == [("twice", {"log": {"$writes": [["1"], ["2"]]}})]


def test_messages_appended_by_a_node_are_its_result(saver: BaseCheckpointSaver) -> None:
    class Chat(TypedDict):
        messages: Annotated[list[Any], add_messages]

    builder = StateGraph(Chat)
    builder.add_node("agent", lambda s: {"messages": AIMessage("hello", id="ai1")})
    builder.add_edge(START, "agent")
    graph, config = builder.compile(checkpointer=saver), cfg()
    graph.invoke({"messages": [HumanMessage("hi", id="h1")]}, config)
    history = list(graph.get_state_history(config))
    ((name, result),) = tasks_of(history[1])
    assert name == "agent" and result["messages"].content == "hello"


def test_a_graph_whose_state_is_one_value_shows_the_write_itself(
    saver: BaseCheckpointSaver,
) -> None:
    builder = StateGraph(Annotated[list, operator.add])  # type: ignore[arg-type]
    builder.add_node("one", lambda s: ["1"])
    builder.add_edge(START, "one")
    graph, config = builder.compile(checkpointer=saver), cfg()
    graph.invoke(["0"], config)
    history = list(graph.get_state_history(config))
    assert tasks_of(history[1]) == [("one", ["1"])]
    assert tasks_of(history[2]) == [("__start__", ["0"])]


# ------------------------------------------------------------- updates and forks
def test_bulk_updates_show_as_the_results_of_the_tasks_they_stand_for(
    saver: BaseCheckpointSaver,
) -> None:
    graph, config = chain(saver), cfg()
    graph.bulk_update_state(
        config,
        [
            [StateUpdate({}, "__input__")],
            [StateUpdate({"log": ["in"]}, "__start__")],
            [StateUpdate({"log": ["A"], "last": "A"}, "a")],
        ],
    )
    history = list(graph.get_state_history(config))
    assert [tasks_of(s) for s in history] == [
        [("b", None)],  # not run yet
        [("a", {"log": ["A"], "last": "A"})],
        [("__start__", {"log": ["in"]})],
    ]


def test_a_fork_shows_the_newest_results_and_its_own_branch_its_own(
    saver: BaseCheckpointSaver,
) -> None:
    graph, config = chain(saver), cfg()
    graph.invoke({"log": ["in"]}, config)
    before_b = next(s for s in graph.get_state_history(config) if s.next == ("b",))
    forked = graph.update_state(before_b.config, {"log": ["B*"], "total": 5}, as_node="b")
    graph.invoke(None, forked)
    # the fork's update is the newest result of the task it stands for
    assert tasks_of(graph.get_state(before_b.config)) == [("b", {"log": ["B*"], "total": 5})]
    branch = list(graph.get_state_history(config))
    assert tasks_of(branch[1]) == [("quiet", {})]
    assert branch[0].values["log"] == ["in", "a", "B*"]


def test_a_replay_records_the_results_of_the_tasks_it_ran_again(
    saver: BaseCheckpointSaver,
) -> None:
    calls: list[str] = []

    def a(state: State) -> dict[str, Any]:
        calls.append("a")
        return {"log": [f"a{len(calls)}"]}

    builder = StateGraph(State)
    builder.add_node("a", a)
    builder.add_edge(START, "a")
    graph, config = builder.compile(checkpointer=saver), cfg()
    graph.invoke({}, config)
    before_a = next(s for s in graph.get_state_history(config) if s.next == ("a",))
    graph.invoke(None, before_a.config)  # replay: a runs again on a new branch
    assert calls == ["a", "a"]
    newest = list(graph.get_state_history(config))
    replayed = next(s for s in newest if s.next == ("a",))
    assert tasks_of(replayed) == [("a", {"log": ["a2"]})]
    assert tasks_of(graph.get_state(before_a.config)) == [("a", {"log": ["a1"]})]


# -------------------------------------------------------------------- subgraphs
def test_a_subgraph_task_shows_its_output_and_the_subgraph_its_own_tasks(
    saver: BaseCheckpointSaver,
) -> None:
    inner = StateGraph(State)
    inner.add_node("step", lambda s: {"log": ["inner"]})
    inner.add_node("ask", lambda s: {"last": interrupt("go?")})
    inner.add_edge(START, "step")
    inner.add_edge("step", "ask")
    builder = StateGraph(State)
    builder.add_node("sub", inner.compile())
    builder.add_node("after", lambda s: {"log": ["after"]})
    builder.add_edge(START, "sub")
    builder.add_edge("sub", "after")
    graph, config = builder.compile(checkpointer=saver), cfg()
    graph.invoke({"log": ["in"]}, config)
    paused = graph.get_state(config, subgraphs=True)
    sub_state = paused.tasks[0].state
    assert isinstance(sub_state, StateSnapshot)
    # (the subgraph's namespace, not its checkpoint: a config naming one lists it alone)
    inner = {k: v for k, v in sub_state.config["configurable"].items() if k != "checkpoint_id"}
    inner_history = list(graph.get_state_history({"configurable": inner}))
    assert ("step", {"log": ["inner"]}) in [r for s in inner_history for r in tasks_of(s)]
    graph.invoke(Command(resume="yes"), config)
    history = list(graph.get_state_history(config))
    ran_sub = next(s for s in history if s.next == ("sub",) and s.tasks[0].result)
    assert ran_sub.tasks[0].result == {"log": ["in", "inner"], "last": "yes", "total": 0}


# ------------------------------------------------------------------ the record
def test_the_record_keeps_references_not_a_second_copy() -> None:
    big = ["x" * 1000]
    before = {"log": ["old"], "last": "a", "total": 1}
    after = {"log": ["old", *big], "last": "b", "total": 3}
    wrote = record_writes(
        [("1:n", [("log", big), ("last", after["last"]), ("total", 2)])], after, before
    )
    assert wrote == {"1:n": [["log", ["+", 1, 2]], ["last", "="], ["total", ["v", 2]]]}
    assert read_results(wrote, after) == {"1:n": {"log": big, "last": "b", "total": 2}}


def test_parallel_appends_are_found_in_task_order() -> None:
    one, two, three = ["1"], ["2a", "2b"], "3"
    after = {"log": ["old", *one, *two, three]}
    wrote = record_writes(
        [("a", [("log", one)]), ("b", [("log", two)]), ("c", [("log", three)])],
        after,
        {"log": ["old"]},
    )
    assert wrote == {
        "a": [["log", ["+", 1, 2]]],
        "b": [["log", ["+", 2, 4]]],
        "c": [["log", ["i", 4]]],
    }
    assert read_results(wrote, after) == {"a": {"log": one}, "b": {"log": two}, "c": {"log": "3"}}


def test_writes_a_reducer_changed_are_copied_and_other_keys_left_out() -> None:
    after = {"log": ["merged"], "last": "z"}
    wrote = record_writes(
        [("a", [("log", ["raw"]), ("private", 1)])], after, {"log": []}, keys=("log", "last")
    )
    assert wrote == {"a": [["log", ["v", ["raw"]]]]}


def test_a_saver_lists_the_children_of_a_checkpoint_newest_first(
    saver: BaseCheckpointSaver,
) -> None:
    graph, config = chain(saver), cfg()
    graph.invoke({"log": ["in"]}, config)
    before_b = next(s for s in graph.get_state_history(config) if s.next == ("b",))
    after_b = next(s for s in graph.get_state_history(config) if s.next == ("quiet",))
    forked = graph.update_state(before_b.config, {"log": ["B*"]}, as_node="b")
    children = saver.children(before_b.config)
    assert [c.config["configurable"]["checkpoint_id"] for c in children] == [
        forked["configurable"]["checkpoint_id"],
        after_b.config["configurable"]["checkpoint_id"],
    ]
    assert saver.children(forked) == []


def test_a_copy_is_a_sibling_and_updates_given_with_it_run_on_it(
    saver: BaseCheckpointSaver,
) -> None:
    graph, config = chain(saver), cfg()
    graph.invoke({"log": ["in"]}, config)
    before_b = next(s for s in graph.get_state_history(config) if s.next == ("b",))
    copied = graph.get_state(graph.update_state(before_b.config, None, as_node="__copy__"))
    assert copied.parent_config == before_b.parent_config  # a new branch, same point
    assert (copied.values, copied.next) == (before_b.values, before_b.next)
    assert copied.metadata is not None and copied.metadata["source"] == "fork"
    # copy and update in one go: the update is the copy's next step, as node b
    updated = graph.update_state(
        before_b.config, [StateUpdate({"log": ["B*"]}, "b")], as_node="__copy__"
    )
    after = graph.get_state(updated)
    assert after.values["log"] == ["in", "a", "B*"] and after.next == ("quiet",)
    fork = graph.get_state(after.parent_config)
    assert fork.metadata is not None and fork.metadata["source"] == "fork"
    assert tasks_of(fork) == [("b", {"log": ["B*"]})]


def test_one_task_writing_one_channel_is_recorded_like_any_step() -> None:
    big = ["y" * 500]
    after = {"log": ["old", *big], "last": "b", "total": 3}
    assert record_writes([("1:n", [("last", after["last"])])], after, {}) == {
        "1:n": [["last", "="]]
    }
    assert record_writes([("1:n", [("log", big)])], after, {"log": ["old"]}) == {
        "1:n": [["log", ["+", 1, 2]]]
    }
    assert record_writes([("1:n", [("total", 2)])], after, {"total": 1}) == {
        "1:n": [["total", ["v", 2]]]
    }
    assert record_writes([("1:n", [("last", "b")])], after, {}, keys=frozenset({"log"})) == {
        "1:n": []
    }
