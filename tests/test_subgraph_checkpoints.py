"""Subgraphs keep their own checkpoints, under their own namespace in the parent's saver.

Each test runs on every saver and durability mode (``tests/conftest.py``).
"""

from __future__ import annotations

import operator
import uuid
from typing import Annotated, Any, TypedDict

import pytest

from graphkit import START, Command, StateGraph, interrupt
from graphkit.errors import InvalidUpdateError, UnknownInterruptError
from graphkit.stores.checkpoint import BaseCheckpointSaver
from graphkit.types import Durability, StateSnapshot


class State(TypedDict, total=False):
    log: Annotated[list[str], operator.add]


class Inner(TypedDict, total=False):
    log: Annotated[list[str], operator.add]
    private: str


def cfg() -> dict[str, Any]:
    return {"configurable": {"thread_id": str(uuid.uuid4())}}


def ask_graph(calls: list[str], **compile_kwargs: Any) -> Any:
    """prepare -> ask (interrupts) -> finish."""

    def prepare(state: Inner) -> dict[str, Any]:
        calls.append("prepare")
        return {"log": ["prepared"], "private": "inner only"}

    def ask(state: Inner) -> dict[str, Any]:
        calls.append("ask")
        return {"log": [f"answer={interrupt('go on?')}"]}

    def finish(state: Inner) -> dict[str, Any]:
        calls.append("finish")
        return {"log": ["finished"]}

    return (
        StateGraph(Inner)
        .add_node("prepare", prepare)
        .add_node("ask", ask)
        .add_node("finish", finish)
        .add_edge(START, "prepare")
        .add_edge("prepare", "ask")
        .add_edge("ask", "finish")
        .compile(**compile_kwargs)
    )


def parent_of(child: Any, saver: BaseCheckpointSaver, name: str = "child") -> Any:
    return (
        StateGraph(State)
        .add_node(name, child)
        .add_node("after", lambda s: {"log": ["after"]})
        .add_edge(START, name)
        .add_edge(name, "after")
        .compile(checkpointer=saver)
    )


def test_interrupt_in_a_subgraph_resumes_inside_it_without_rerunning_finished_nodes(
    saver: BaseCheckpointSaver, durability: Durability
) -> None:
    calls: list[str] = []
    graph = parent_of(ask_graph(calls), saver)
    config = cfg()
    paused = graph.invoke({"log": []}, config, durability=durability)
    assert [i.value for i in paused["__interrupt__"]] == ["go on?"]
    assert calls == ["prepare", "ask"]
    final = graph.invoke(Command(resume="yes"), config, durability=durability)
    assert final == {"log": ["prepared", "answer=yes", "finished", "after"]}
    assert calls == ["prepare", "ask", "ask", "finish"]
    assert "private" not in graph.get_state(config).values  # the subgraph's own key


def test_subgraph_checkpoints_live_under_the_task_namespace(
    saver: BaseCheckpointSaver, durability: Durability
) -> None:
    graph = parent_of(ask_graph([]), saver)
    config = cfg()
    graph.invoke({"log": []}, config, durability=durability)
    state = graph.get_state(config)
    (task,) = state.tasks
    assert task.name == "child"
    ns = f"child:{task.id}"
    assert task.state == {
        "configurable": {"thread_id": config["configurable"]["thread_id"], "checkpoint_ns": ns}
    }
    inner = graph.get_state(task.state)
    assert inner.values == {"log": ["prepared"], "private": "inner only"}
    assert inner.next == ("ask",)
    assert inner.config["configurable"]["checkpoint_ns"] == ns
    assert [i.value for i in inner.interrupts] == ["go on?"]
    # the parent's own history holds only the parent's checkpoints
    assert {s.config["configurable"]["checkpoint_ns"] for s in graph.get_state_history(config)} == {
        ""
    }


def test_get_state_with_subgraphs_nests_the_subgraph_snapshot(
    saver: BaseCheckpointSaver, durability: Durability
) -> None:
    graph = parent_of(parent_of(ask_graph([]), None, name="grandchild"), saver)  # type: ignore[arg-type]
    config = cfg()
    out = graph.invoke({"log": []}, config, durability=durability)
    (interrupt_,) = out["__interrupt__"]
    state = graph.get_state(config, subgraphs=True)
    child = state.tasks[0].state
    assert isinstance(child, StateSnapshot)
    grandchild = child.tasks[0].state
    assert isinstance(grandchild, StateSnapshot)
    assert grandchild.next == ("ask",)
    assert grandchild.interrupts == (interrupt_,)
    ns = grandchild.config["configurable"]["checkpoint_ns"]
    assert ns.startswith("child:") and "|grandchild:" in ns
    final = graph.invoke(Command(resume={interrupt_.id: "deep"}), config, durability=durability)
    assert final["log"] == ["prepared", "answer=deep", "finished", "after", "after"]


@pytest.mark.parametrize("durability", ["sync", "async"])  # ("exit": no parent id yet)
def test_subgraph_checkpoints_name_the_checkpoints_their_parents_run_from(
    saver: BaseCheckpointSaver, durability: Durability
) -> None:
    # metadata["parents"], as LangGraph's: each enclosing graph's checkpoint, by namespace
    graph = parent_of(parent_of(ask_graph([]), None, name="grandchild"), saver)  # type: ignore[arg-type]
    config = cfg()
    graph.invoke({"log": []}, config, durability=durability)
    state = graph.get_state(config, subgraphs=True)
    child = state.tasks[0].state
    assert isinstance(child, StateSnapshot)
    grandchild = child.tasks[0].state
    assert isinstance(grandchild, StateSnapshot)
    root_id = state.config["configurable"]["checkpoint_id"]
    child_ns = child.config["configurable"]["checkpoint_ns"]
    assert state.metadata is not None and state.metadata["parents"] == {}
    assert child.metadata is not None and child.metadata["parents"] == {"": root_id}
    assert grandchild.metadata is not None
    assert grandchild.metadata["parents"] == {
        "": root_id,
        child_ns: child.config["configurable"]["checkpoint_id"],
    }


def test_a_subgraphs_streamed_checkpoints_carry_the_map_that_reaches_them(
    saver: BaseCheckpointSaver,
) -> None:
    graph = parent_of(ask_graph([]), saver)
    config = cfg()
    events = list(graph.stream({"log": []}, config, stream_mode="checkpoints", subgraphs=True))
    inner = [e for ns, e in events if ns]
    assert inner and not any(
        "checkpoint_map" in e["config"]["configurable"] for ns, e in events if not ns
    )
    for event in inner:
        own = event["config"]["configurable"]
        # LangGraph's: each enclosing graph's checkpoint (metadata parents) and its own
        assert own["checkpoint_map"] == {
            **event["metadata"]["parents"],
            own["checkpoint_ns"]: own["checkpoint_id"],
        }
    last = inner[-1]  # (paused at ask): the config reads that checkpoint back
    assert graph.get_state(last["config"]).values == last["values"]


def test_get_subgraphs_by_namespace_and_recursively() -> None:
    leaf = ask_graph([])
    middle = StateGraph(State).add_node("leaf", leaf).add_edge(START, "leaf").compile()
    top = (
        StateGraph(State)
        .add_node("middle", middle)
        .add_node("leaf_like", leaf)
        .add_edge(START, "middle")
        .add_edge("middle", "leaf_like")
        .compile()
    )
    assert list(top.get_subgraphs()) == [("middle", middle), ("leaf_like", leaf)]
    assert list(top.get_subgraphs(recurse=True)) == [
        ("middle", middle),
        ("middle|leaf", leaf),
        ("leaf_like", leaf),
    ]
    assert list(top.get_subgraphs(namespace="middle|leaf", recurse=True)) == [("middle|leaf", leaf)]
    assert list(top.get_subgraphs(namespace="leaf")) == []


def test_update_state_on_a_paused_subgraph_then_resume(
    saver: BaseCheckpointSaver, durability: Durability
) -> None:
    calls: list[str] = []
    graph = parent_of(ask_graph(calls), saver)
    config = cfg()
    graph.invoke({"log": []}, config, durability=durability)
    sub_config = graph.get_state(config).tasks[0].state
    graph.update_state(sub_config, {"log": ["edited"]}, as_node="ask")
    assert graph.get_state(sub_config).next == ("finish",)
    final = graph.invoke(None, config, durability=durability)
    assert final["log"] == ["prepared", "edited", "finished", "after"]
    assert calls == ["prepare", "ask", "finish"]  # "ask" was answered by the update


def test_update_state_on_a_namespace_without_a_declared_subgraph_raises(
    saver: BaseCheckpointSaver,
) -> None:
    graph = parent_of(ask_graph([]), saver)
    config = cfg()
    graph.invoke({"log": []}, config)
    bad = {"configurable": {**config["configurable"], "checkpoint_ns": "after:1:after"}}
    with pytest.raises(InvalidUpdateError, match="Subgraph after not found"):
        graph.update_state(bad, {"log": ["x"]})


def test_history_of_a_subgraph_namespace(saver: BaseCheckpointSaver) -> None:
    graph = parent_of(ask_graph([]), saver)
    config = cfg()
    graph.invoke({"log": []}, config)
    graph.invoke(Command(resume="ok"), config)
    ns = next(
        s.tasks[0].state["configurable"]["checkpoint_ns"]
        for s in graph.get_state_history(config)
        if s.tasks and s.tasks[0].name == "child"
    )
    sub_config = {"configurable": {**config["configurable"], "checkpoint_ns": ns}}
    history = list(graph.get_state_history(sub_config))
    assert {s.config["configurable"]["checkpoint_ns"] for s in history} == {ns}
    assert [s.values["log"] for s in history] == [
        ["prepared", "answer=ok", "finished"],
        ["prepared", "answer=ok"],
        ["prepared"],
        [],
        [],  # the subgraph's input checkpoint: its state before the input
    ]


def test_stream_with_subgraphs_names_each_namespace_as_its_checkpoints(
    saver: BaseCheckpointSaver,
) -> None:
    graph = parent_of(ask_graph([]), saver)
    config = cfg()
    events = list(graph.stream({"log": []}, config, subgraphs=True))
    namespaces = {ns for ns, _ in events}
    task = graph.get_state(config).tasks[0]
    assert namespaces == {(), (f"child:{task.id}",)}
    assert (
        ("child:" + task.id,),
        {"prepare": {"log": ["prepared"], "private": "inner only"}},
    ) in events


def test_a_graph_invoked_inside_a_node_resumes_inside_and_starts_afresh_next_time(
    saver: BaseCheckpointSaver, durability: Durability
) -> None:
    calls: list[str] = []
    inner = ask_graph(calls)
    seen: list[list[str]] = []

    def call_inner(state: State) -> dict[str, Any]:
        out = inner.invoke({"log": [f"call{len(seen)}"]})
        seen.append(out["log"])
        return {"log": [out["log"][-1]]}

    graph = parent_of(call_inner, saver)
    config = cfg()
    for _ in range(2):
        assert "__interrupt__" in graph.invoke({"log": []}, config, durability=durability)
        graph.invoke(Command(resume="y"), config, durability=durability)
    assert seen == [
        ["call0", "prepared", "answer=y", "finished"],
        ["call1", "prepared", "answer=y", "finished"],
    ]
    assert calls == ["prepare", "ask", "ask", "finish"] * 2


def test_checkpointer_true_keeps_the_subgraph_state_across_invocations(
    saver: BaseCheckpointSaver, durability: Durability
) -> None:
    def echo(state: State) -> dict[str, Any]:
        return {"log": [f"echo:{state['log'][-1]}"]}

    stateful = (
        StateGraph(State).add_node("echo", echo).add_edge(START, "echo").compile(checkpointer=True)
    )
    seen: list[list[str]] = []

    def call(state: State) -> dict[str, Any]:
        seen.append(stateful.invoke({"log": [f"m{len(seen)}"]})["log"])
        return {}

    graph = parent_of(call, saver)
    config = cfg()
    graph.invoke({"log": []}, config, durability=durability)
    graph.invoke({"log": []}, config, durability=durability)
    assert seen == [
        ["m0", "echo:m0"],
        ["m0", "echo:m0", "m1", "echo:m1"],
    ]


def test_checkpointer_false_reruns_the_subgraph_from_its_start(
    saver: BaseCheckpointSaver,
) -> None:
    calls: list[str] = []
    graph = parent_of(ask_graph(calls, checkpointer=False), saver)
    config = cfg()
    graph.invoke({"log": []}, config)
    final = graph.invoke(Command(resume="again"), config)
    assert final["log"] == ["prepared", "answer=again", "finished", "after"]
    assert calls == ["prepare", "ask", "prepare", "ask", "finish"]
    assert graph.get_state(config).tasks == ()
    assert (
        list(
            graph.get_state_history(
                {"configurable": {**config["configurable"], "checkpoint_ns": "child"}}
            )
        )
        == []
    )


def test_interrupt_before_inside_a_subgraph_pauses_the_parent(
    saver: BaseCheckpointSaver, durability: Durability
) -> None:
    inner = (
        StateGraph(State)
        .add_node("p", lambda s: {"log": ["p"]})
        .add_node("q", lambda s: {"log": ["q"]})
        .add_edge(START, "p")
        .add_edge("p", "q")
        .compile(interrupt_before=["q"])
    )
    graph = parent_of(inner, saver)
    config = cfg()
    assert graph.invoke({"log": []}, config, durability=durability) == {"log": []}
    state = graph.get_state(config, subgraphs=True)
    assert state.next == ("child",)
    assert state.tasks[0].state.next == ("q",)
    final = graph.invoke(None, config, durability=durability)
    assert final == {"log": ["p", "q", "after"]}


def test_parallel_subgraphs_resume_by_id_and_refuse_a_plain_answer(
    saver: BaseCheckpointSaver, durability: Durability
) -> None:
    calls: list[str] = []
    graph = (
        StateGraph(State)
        .add_node("one", ask_graph(calls))
        .add_node("two", ask_graph(calls))
        .add_edge(START, "one")
        .add_edge(START, "two")
        .compile(checkpointer=saver)
    )
    config = cfg()
    out = graph.invoke({"log": []}, config, durability=durability)
    first, second = out["__interrupt__"]
    with pytest.raises(UnknownInterruptError, match="multiple pending interrupts"):
        graph.invoke(Command(resume="both?"), config, durability=durability)
    out = graph.invoke(Command(resume={first.id: "1"}), config, durability=durability)
    assert out["__interrupt__"] == [second]
    final = graph.invoke(Command(resume={second.id: "2"}), config, durability=durability)
    assert sorted(final["log"]) == sorted(
        ["prepared", "answer=1", "finished", "prepared", "answer=2", "finished"]
    )
    assert calls.count("prepare") == 2  # neither subgraph ran its first node again


def test_command_parent_from_a_nested_subgraph(saver: BaseCheckpointSaver) -> None:
    def jump(state: State) -> Command[Any]:
        return Command(graph=Command.PARENT, goto="elsewhere", update={"log": ["jumped"]})

    leaf = StateGraph(State).add_node("jump", jump).add_edge(START, "jump").compile()
    middle = (
        StateGraph(State)
        .add_node("leaf", leaf)
        .add_node("elsewhere", lambda s: {"log": ["middle elsewhere"]})
        .add_edge(START, "leaf")
        .compile()
    )
    graph = (
        StateGraph(State)
        .add_node("middle", middle)
        .add_edge(START, "middle")
        .compile(checkpointer=saver)
    )
    assert graph.invoke({"log": []}, cfg())["log"] == ["jumped", "middle elsewhere"]


def test_replaying_the_parent_gives_a_stateful_subgraph_its_state_of_that_time(
    saver: BaseCheckpointSaver,
) -> None:
    seen: list[list[str]] = []

    def step(state: State) -> dict[str, Any]:
        seen.append(list(state["log"]))
        return {"log": ["s"]}

    sub = (
        StateGraph(State).add_node("step", step).add_edge(START, "step").compile(checkpointer=True)
    )
    graph = (
        StateGraph(Inner)
        .add_node("first", lambda s: {"private": "p"})
        .add_node("sub", sub)
        .add_edge(START, "first")
        .add_edge("first", "sub")
        .compile(checkpointer=saver)
    )
    config = cfg()
    graph.invoke({"log": []}, config, durability="sync")
    graph.invoke({"log": []}, config, durability="sync")
    assert len(seen[1]) > len(seen[0])  # the subgraph kept its state
    first_run = [s for s in graph.get_state_history(config) if s.next == ("sub",)][-1]
    seen.clear()
    graph.invoke(None, first_run.config)
    assert seen == [[]]  # as it was then: nothing yet


# ------------------------------------------------ time travel into a subgraph
def _stateful_asker(calls: list[str]) -> Any:
    """A checkpointer=True subgraph: prepare -> ask (interrupts) -> finish."""
    return ask_graph(calls, checkpointer=True)


def test_a_subgraph_snapshot_config_maps_every_enclosing_checkpoint(
    saver: BaseCheckpointSaver,
) -> None:
    calls: list[str] = []
    graph = parent_of(_stateful_asker(calls), saver)
    config = cfg()
    graph.invoke({"log": []}, config)
    parent = graph.get_state(config, subgraphs=True)
    sub = parent.tasks[0].state
    assert isinstance(sub, StateSnapshot)
    configurable = sub.config["configurable"]
    assert configurable["checkpoint_ns"] == "child"
    assert configurable["checkpoint_map"] == {
        "": parent.config["configurable"]["checkpoint_id"],
        "child": configurable["checkpoint_id"],
    }
    history = list(graph.get_state_history(sub.config))
    assert all(
        h.config["configurable"]["checkpoint_map"]
        == {
            "": configurable["checkpoint_map"][""],
            "child": h.config["configurable"]["checkpoint_id"],
        }
        for h in history
    )


def _answered_after_a_subgraph_question(
    saver: BaseCheckpointSaver,
) -> tuple[Any, dict[str, Any], dict[str, Any], list[str]]:
    """A parent whose stateful subgraph asked once and got its answer: the graph, the
    thread's config, the subgraph's snapshot config at the question, and the call log."""
    calls: list[str] = []
    graph = parent_of(_stateful_asker(calls), saver)
    config = cfg()
    graph.invoke({"log": []}, config)
    at_question = graph.get_state(config, subgraphs=True).tasks[0].state.config
    graph.invoke(Command(resume="yes"), config)
    return graph, config, at_question, calls


def test_invoking_the_parent_with_a_subgraph_config_replays_inside_the_subgraph(
    saver: BaseCheckpointSaver,
) -> None:
    graph, config, at_question, calls = _answered_after_a_subgraph_question(saver)
    assert graph.get_state(config).values["log"][-1] == "after"
    calls.clear()
    replayed = graph.invoke(None, at_question)
    assert calls == ["ask"]  # prepare finished before that checkpoint: it does not run
    assert [i.value for i in replayed["__interrupt__"]] == ["go on?"]
    assert graph.invoke(Command(resume="again"), config)["log"][-3:] == [
        "answer=again",
        "finished",
        "after",
    ]


def test_editing_a_subgraph_checkpoint_forks_it_and_runs_on_from_the_edit(
    saver: BaseCheckpointSaver,
) -> None:
    graph, config, at_question, calls = _answered_after_a_subgraph_question(saver)
    fork = graph.update_state(at_question, {"log": ["edited"]})
    mapping = fork["configurable"]["checkpoint_map"]
    assert mapping[""] == at_question["configurable"]["checkpoint_map"][""]
    assert (
        mapping["child"]
        == fork["configurable"]["checkpoint_id"]
        != at_question["configurable"]["checkpoint_id"]
    )
    calls.clear()
    graph.invoke(None, fork)
    assert calls == ["ask"]
    assert graph.invoke(Command(resume="ok"), config)["log"][-4:] == [
        "edited",
        "answer=ok",
        "finished",
        "after",
    ]


def test_a_stateful_subgraph_called_twice_in_a_replay_sees_its_first_call(
    saver: BaseCheckpointSaver,
) -> None:
    seen: list[int] = []

    def step(state: State) -> dict[str, Any]:
        seen.append(len(state["log"]))
        return {"log": ["s"]}

    class Loop(TypedDict, total=False):
        n: int

    sub = StateGraph(State).add_node("step", step).add_edge(START, "step")
    graph = (
        StateGraph(Loop)
        .add_node("inc", lambda s: {"n": s["n"] + 1})
        .add_node("sub", sub.compile(checkpointer=True))
        .add_edge(START, "inc")
        .add_edge("inc", "sub")
        .add_conditional_edges(
            "sub", lambda s: "inc" if s["n"] < 2 else "__end__", ["inc", "__end__"]
        )
        .compile(checkpointer=saver)
    )
    config = cfg()
    graph.invoke({"n": 0}, config)
    graph.invoke({"n": 0}, config)
    assert seen == [0, 1, 2, 3]
    start_of_second = next(
        s for s in graph.get_state_history(config) if s.next == ("inc",) and s.values["n"] == 0
    )
    seen.clear()
    graph.invoke(None, start_of_second.config)
    assert seen == [2, 3]  # as the second invocation saw it, then its own first call


def test_a_parent_edit_gives_a_stateful_subgraph_its_state_of_the_edited_checkpoint(
    saver: BaseCheckpointSaver,
) -> None:
    seen: list[int] = []

    class Trail(TypedDict, total=False):
        trail: Annotated[list[str], operator.add]  # the parent has no such key

    def step(state: Trail) -> dict[str, Any]:
        seen.append(len(state["trail"]))
        return {"trail": ["s"]}

    sub = StateGraph(Trail).add_node("step", step).add_edge(START, "step")
    graph = (
        StateGraph(Inner)
        .add_node("first", lambda s: {"private": "p"})
        .add_node("sub", sub.compile(checkpointer=True))
        .add_edge(START, "first")
        .add_edge("first", "sub")
        .compile(checkpointer=saver)
    )
    config = cfg()
    graph.invoke({"log": []}, config)
    graph.invoke({"log": []}, config)
    assert seen == [0, 1]
    before_second = next(s for s in graph.get_state_history(config) if s.next == ("sub",))
    fork = graph.update_state(before_second.config, {"private": "edited"})
    seen.clear()
    graph.invoke(None, fork)
    assert seen == [1]  # what it had after the first invocation, not after the second


def _namespaces(saver: BaseCheckpointSaver, config: dict[str, Any]) -> set[str]:
    return {t.config["configurable"]["checkpoint_ns"] for t in saver.list(config)}


@pytest.mark.parametrize("child_checkpointer", [None, True])
def test_with_exit_durability_a_subgraph_that_ran_to_its_end_saves_only_if_it_keeps_state(
    saver: BaseCheckpointSaver, child_checkpointer: bool | None
) -> None:
    """As LangGraph: under ``durability="exit"`` only the top graph's last checkpoint is
    saved, plus a subgraph's own when it paused (to resume inside it) or keeps its
    state across runs (``checkpointer=True``)."""
    inner = (
        StateGraph(Inner)
        .add_node("work", lambda s: {"log": ["worked"]})
        .add_edge(START, "work")
        .compile(checkpointer=child_checkpointer)
    )
    config = cfg()
    graph = parent_of(inner, saver)
    assert graph.invoke({"log": []}, config, durability="exit")["log"] == ["worked", "after"]
    expected = {"", "child"} if child_checkpointer else {""}
    assert _namespaces(saver, config) == expected
    assert (
        len([t for t in saver.list(config) if not t.config["configurable"]["checkpoint_ns"]]) == 1
    )


def test_with_exit_durability_a_paused_subgraph_saves_and_resumes_inside(
    saver: BaseCheckpointSaver,
) -> None:
    calls: list[str] = []
    graph = parent_of(ask_graph(calls), saver)
    config = cfg()
    graph.invoke({"log": []}, config, durability="exit")
    assert any(ns.startswith("child:") for ns in _namespaces(saver, config))
    final = graph.invoke(Command(resume="ok"), config, durability="exit")
    assert final["log"] == ["prepared", "answer=ok", "finished", "after"]
    assert calls == ["prepare", "ask", "ask", "finish"]


def test_a_subgraphs_history_configs_carry_the_map_its_streamed_checkpoints_show(
    saver: BaseCheckpointSaver,
) -> None:
    """``get_state_history`` of a subgraph namespace gives each checkpoint the config (and
    parent config) the ``checkpoints`` stream showed for it, ``checkpoint_map`` included,
    as LangGraph does: the map names the enclosing graph's checkpoint and the subgraph's."""
    inner = (
        StateGraph(Inner)
        .add_node("a", lambda s: {"log": ["a"]})
        .add_node("b", lambda s: {"log": ["b"]})
        .add_edge(START, "a")
        .add_edge("a", "b")
        .compile()
    )
    graph = (
        StateGraph(State).add_node("sub", inner).add_edge(START, "sub").compile(checkpointer=saver)
    )
    config = cfg()
    streamed: dict[str, list[dict[str, Any]]] = {}
    for ns, payload in graph.stream({"log": []}, config, stream_mode="checkpoints", subgraphs=True):
        streamed.setdefault("|".join(ns), []).append(payload)
    (sub_ns,) = [ns for ns in streamed if ns]
    history = list(
        graph.get_state_history(
            {**config, "configurable": {**config["configurable"], "checkpoint_ns": sub_ns}}
        )
    )[::-1]
    assert [s.config for s in history] == [p["config"] for p in streamed[sub_ns]]
    assert [s.parent_config for s in history] == [p["parent_config"] for p in streamed[sub_ns]]
    root_ids = {p["config"]["configurable"]["checkpoint_id"] for p in streamed[""]}
    for snap in history:
        mapping = snap.config["configurable"]["checkpoint_map"]
        assert mapping[sub_ns] == snap.config["configurable"]["checkpoint_id"]
        assert mapping[""] in root_ids
