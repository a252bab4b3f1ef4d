"""A node with no policy runs on the short path (``NodeTable.plain``): it must behave
exactly as the same node run through the retry loop and the executor."""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Annotated, Any, TypedDict

import pytest

from graphkit import END, START, Send, StateGraph
from graphkit.cache import InMemoryCache
from graphkit.checkpoint.memory import InMemorySaver
from graphkit.config import get_config
from graphkit.context import CURRENT_TASK
from graphkit.errors import InvalidUpdateError, NodeCancelledError
from graphkit.runtime import Runtime, get_runtime
from graphkit.types import CachePolicy, Command, RetryPolicy, TimeoutPolicy, interrupt


class Fan(TypedDict, total=False):
    items: list[int]
    out: Annotated[list[Any], operator.add]


class _Stop(BaseException):
    """Escapes a node's error handling (as KeyboardInterrupt would)."""


def _fan(work: Callable[..., Any], *, policy: bool, checkpointer: Any = None) -> Any:
    """``items`` sent to ``work``, one Send each; ``policy``: give ``work`` a retry policy
    that never retries, which takes the full path (retry loop, executor)."""
    builder = StateGraph(Fan)
    retry = RetryPolicy(max_attempts=1) if policy else None
    builder.add_node("work", work, retry_policy=retry)
    builder.add_conditional_edges(START, lambda s: [Send("work", i) for i in s["items"]])
    builder.add_edge("work", END)
    return builder.compile(checkpointer=checkpointer)


def test_only_nodes_without_policies_or_subgraphs_take_the_short_path() -> None:
    inner = StateGraph(Fan).add_node("x", lambda s: None).add_edge(START, "x").compile()
    builder = StateGraph(Fan)
    builder.add_node("plain", lambda s: None)
    builder.add_node("retried", lambda s: None, retry_policy=RetryPolicy())
    builder.add_node("cached", lambda s: None, cache_policy=CachePolicy())
    builder.add_node("handled", lambda s: None, error_handler=lambda s, error: None)
    builder.add_node("sub", inner)
    for name in ("plain", "retried", "cached", "handled", "sub"):
        builder.add_edge(START, name)
    nodes = builder.compile(cache=InMemoryCache()).tables.nodes
    plain = {name for name, node in nodes.items() if node.plain}
    assert plain == {"plain", "__error_handler__handled"}  # a handler has no handler


def test_only_plain_nodes_without_branches_in_a_keyed_state_record_their_dict_inline() -> None:
    builder = StateGraph(Fan)
    builder.add_node("direct", lambda s: {"out": [1]})
    builder.add_node("routed", lambda s: {"out": [2]})
    builder.add_node("retried", lambda s: {"out": [3]}, retry_policy=RetryPolicy())
    builder.add_edge(START, "direct")
    builder.add_edge(START, "retried")
    builder.add_conditional_edges("direct", lambda s: "routed")
    builder.add_edge("routed", END)
    graph = builder.compile()
    direct = {name for name, node in graph.tables.nodes.items() if node.direct}
    assert direct == {"routed"}  # "direct" has a conditional edge, "retried" a policy
    assert graph.invoke({"items": []})["out"] == [1, 3, 2]
    root = StateGraph(int).add_node("n", lambda s: s + 1).add_edge(START, "n").compile()
    assert not root.tables.nodes["n"].direct  # a root state's update is the value itself


def test_a_dict_with_an_unknown_key_from_a_direct_node_is_still_an_invalid_update() -> None:
    builder = StateGraph(Fan)
    builder.add_node("n", lambda s: {"out": [1], "typo": 2})
    builder.add_edge(START, "n")
    graph = builder.compile()
    assert graph.tables.nodes["n"].direct
    with pytest.raises(InvalidUpdateError, match="typo"):
        graph.invoke({"items": []})


@pytest.mark.parametrize("policy", [False, True], ids=["short path", "full path"])
def test_a_node_sees_its_task_config_and_first_attempt(policy: bool) -> None:
    seen: list[tuple[Any, ...]] = []

    def work(item: int, runtime: Runtime[Any]) -> dict[str, Any]:
        metadata = get_config()["metadata"]
        info = get_runtime().execution_info
        assert info == runtime.execution_info
        seen.append((metadata["langgraph_node"], metadata["langgraph_step"], info.node_attempt))
        assert info.node_first_attempt_time is not None
        assert info.task_id == CURRENT_TASK.get().id  # type: ignore[union-attr]
        assert "langgraph_task_id" not in metadata  # (LangGraph's node config has none)
        return {"out": [item]}

    assert _fan(work, policy=policy).invoke({"items": [1, 2]})["out"] == [1, 2]
    assert seen == [("work", 1, 1), ("work", 1, 1)]
    assert CURRENT_TASK.get() is None


@pytest.mark.parametrize("policy", [False, True], ids=["short path", "full path"])
def test_a_running_task_is_its_own_context_and_shows_it_as_a_task_context_did(
    policy: bool,
) -> None:
    # One object per task: CURRENT_TASK holds the planned Task itself, and what user
    # code reads through it (config, runtime, stream writer) is the task's.
    from graphkit.config import get_stream_writer
    from graphkit.context import TaskContext
    from graphkit.engine.task import Task

    seen: list[Any] = []

    def work(item: int) -> dict[str, Any]:
        task = CURRENT_TASK.get()
        assert isinstance(task, Task) and isinstance(task, TaskContext)
        config = get_config()
        metadata = config["metadata"]
        info = get_runtime().execution_info
        assert (task.name, task.step) == ("work", metadata["langgraph_step"])
        assert metadata["langgraph_path"] == ("__pregel_push", item, False)
        assert config["configurable"]["checkpoint_ns"] == f"work:{task.id}"
        assert (info.task_id, info.checkpoint_ns) == (task.id, f"work:{task.id}")
        assert task.input == item and task.node.name == "work" and task.attempt == 1
        get_stream_writer()({"item": item})
        seen.append(task)
        return {"out": [item]}

    chunks = list(_fan(work, policy=policy).stream({"items": [0, 1]}, stream_mode="custom"))
    assert chunks == [{"item": 0}, {"item": 1}]
    assert [t.id for t in seen] == ["1:~0", "1:~1"] and all(t.done for t in seen)
    assert CURRENT_TASK.get() is None


@pytest.mark.parametrize("policy", [False, True], ids=["short path", "full path"])
def test_an_error_says_which_task_failed_and_where(policy: bool) -> None:
    def work(item: int) -> dict[str, Any]:
        if item == 1:
            raise ValueError("bad item")
        return {"out": [item]}

    with pytest.raises(ValueError, match="bad item") as info:
        _fan(work, policy=policy).invoke({"items": [0, 1, 2]})
    assert "During task 'work' at step 1" in info.value.__notes__
    assert CURRENT_TASK.get() is None


@pytest.mark.parametrize("policy", [False, True], ids=["short path", "full path"])
def test_a_base_exception_reaches_the_caller_unchanged(policy: bool) -> None:
    def work(item: int) -> dict[str, Any]:
        if item == 1:
            raise _Stop("stop")
        return {"out": [item]}

    with pytest.raises(_Stop) as info:
        _fan(work, policy=policy).invoke({"items": [0, 1, 2]})
    assert not getattr(info.value, "__notes__", None)  # not recorded as a task's error
    assert CURRENT_TASK.get() is None


@pytest.mark.parametrize("policy", [False, True], ids=["short path", "full path"])
def test_a_sync_node_raising_cancelled_error_fails_as_cancelled(policy: bool) -> None:
    import asyncio

    def work(item: int) -> dict[str, Any]:
        raise asyncio.CancelledError("mine")

    with pytest.raises(NodeCancelledError) as info:
        _fan(work, policy=policy).invoke({"items": [0]})
    assert info.value.node == "work"


@pytest.mark.parametrize("policy", [False, True], ids=["short path", "full path"])
def test_a_command_for_a_parent_the_top_graph_lacks_is_an_invalid_update(policy: bool) -> None:
    def work(item: int) -> Command[Any]:
        return Command(graph=Command.PARENT, update={"out": [item]})

    with pytest.raises(InvalidUpdateError, match="not running as a subgraph"):
        _fan(work, policy=policy).invoke({"items": [0]})


@pytest.mark.parametrize("policy", [False, True], ids=["short path", "full path"])
def test_an_interrupt_pauses_the_task_and_a_resume_answers_it(policy: bool) -> None:
    def work(item: int) -> dict[str, Any]:
        if item == 1:
            return {"out": [interrupt("which?")]}
        return {"out": [item]}

    graph = _fan(work, policy=policy, checkpointer=InMemorySaver())
    config: Any = {"configurable": {"thread_id": "t"}}
    paused = graph.invoke({"items": [0, 1]}, config)
    assert [i.value for i in paused["__interrupt__"]] == ["which?"]
    assert graph.invoke(Command(resume="this one"), config)["out"] == [0, "this one"]


@pytest.mark.parametrize("policy", [False, True], ids=["short path", "full path"])
def test_a_command_routes_and_updates_as_returned(policy: bool) -> None:
    class Chain(TypedDict, total=False):
        log: Annotated[list[str], operator.add]

    retry = RetryPolicy(max_attempts=1) if policy else None
    builder = StateGraph(Chain)
    builder.add_node("a", lambda s: Command(update={"log": ["a"]}, goto="b"), retry_policy=retry)
    builder.add_node("b", lambda s: {"log": ["b"]}, retry_policy=retry)
    builder.add_edge(START, "a")
    graph = builder.compile()
    assert graph.invoke({"log": []}) == {"log": ["a", "b"]}
    assert list(graph.stream({"log": []})) == [{"a": {"log": ["a"]}}, {"b": {"log": ["b"]}}]


def _all_slots(obj: Any) -> dict[str, Any]:
    """Every slot of a slotted instance, its base classes' included."""
    names = [n for cls in type(obj).__mro__ for n in getattr(cls, "__slots__", ())]
    return {name: getattr(obj, name) for name in names}


def test_the_fast_constructors_set_every_field_the_class_sets() -> None:
    # planned_task and planned_sends build tasks without calling the class (the hot
    # path); a field added to Task.__init__ or TaskContext.__init__ but not to them
    # fails here.
    from graphkit.context import RunContext
    from graphkit.engine.task import Task, planned_sends, planned_task

    run = RunContext({})
    path = ("push", 3)
    node = _fan(lambda i: None, policy=False).tables.nodes["work"]
    task_by_class = Task(run, 4, node, {"x": 1}, path, "4:~3", None)
    task_fast = planned_task(run, 4, node, {"x": 1}, path, "4:~3", None)
    assert _all_slots(task_fast) == _all_slots(task_by_class)
    assert len(_all_slots(task_fast)) == 25  # the context's 12 fields and the task's 13
    other = planned_task(run, 4, node, 1, path, "i", None)
    assert task_fast.writes is not other.writes  # own lists
    assert task_fast.cache is not other.cache
    timeout = TimeoutPolicy(run_timeout=2)
    sent: list[Task] = []
    planned_sends(
        sent, run, 4, {"work": node}, [Send("work", {"x": 1}), Send("work", 2, timeout=2)]
    )
    assert _all_slots(sent[0]) == _all_slots(Task(run, 4, node, {"x": 1}, ("push", 0), "4:~0"))
    assert _all_slots(sent[1]) == _all_slots(Task(run, 4, node, 2, ("push", 1), "4:~1", timeout))
    assert sent[0].writes is not sent[1].writes and sent[0].cache is not sent[1].cache


def test_run_scope_written_out_init_matches_its_fields() -> None:
    # RunScope.__init__ is written out (one per invoke); each field gets its default
    # and every container is its own.
    from dataclasses import fields

    from graphkit.context import RunScope

    a, b = RunScope(), RunScope()
    assert [f.name for f in fields(RunScope)] == list(RunScope.__slots__)
    assert _all_slots(a) == {
        "context": None,
        "control": None,
        "thread_id": None,
        "run_id": None,
        "server_info": None,
        "metadata": {},
        "subgraphs": False,
        "seen_messages": set(),
        "stateful_ran": set(),
        "replay_targets": {},
        "open_answer": [],
        "open_answer_for": None,
    }
    assert a.metadata is not b.metadata and a.seen_messages is not b.seen_messages
    assert a.stateful_ran is not b.stateful_ran and a.replay_targets is not b.replay_targets
    assert a.open_answer is not b.open_answer
    given = RunScope(1, None, "t", "r", None, {"m": 1}, True, {"x"}, {"ns"}, {"ns": "c"})
    assert [getattr(given, f.name) for f in fields(RunScope)] == [
        1,
        None,
        "t",
        "r",
        None,
        {"m": 1},
        True,
        {"x"},
        {"ns"},
        {"ns": "c"},
        [],
        None,
    ]
