"""The tasks a snapshot shows: their order in ``next``/``tasks`` and their paths, as
LangGraph shows them (``Send``s first, paths spelled ``__pregel_push``/``__pregel_pull``),
while a step's writes still merge in plan order (named nodes sorted, then sends).
A step's tasks also start (and stream their start) Sends first, as in LangGraph."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

from graphkit import START, Command, CompiledStateGraph, StateGraph, interrupt
from graphkit.stores.checkpoint import BaseCheckpointSaver
from graphkit.types import RunnableConfig, Send


class Log(TypedDict):
    log: Annotated[list[str], operator.add]


def _graph(saver: BaseCheckpointSaver, *, pause: bool) -> CompiledStateGraph[Any, Any, Any, Any]:
    """``a`` routes to ``m`` and ``c`` by name (declared m before c) and sends to ``z``
    and ``b``; with ``pause``, the run stops before them, else ``z`` asks a question."""

    def a(state: Log) -> Log:
        return {"log": ["a"]}

    def route(state: Log) -> list[Send | str]:
        return [Send("z", 1), "m", Send("b", 2), "c"]

    def z(arg: int) -> Log:
        return {"log": [f"z{arg}" if pause else f"z{arg}:{interrupt('why?')}"]}

    def b(arg: int) -> Log:
        return {"log": [f"b{arg}"]}

    def m(state: Log) -> Log:
        return {"log": ["m"]}

    def c(state: Log) -> Log:
        return {"log": ["c"]}

    builder = StateGraph(Log)
    for node in (a, b, z, m, c):
        builder.add_node(node)
    builder.add_edge(START, "a")
    builder.add_conditional_edges("a", route, ["b", "z", "m", "c"])
    before = ["b", "z", "m", "c"] if pause else None
    return builder.compile(checkpointer=saver, interrupt_before=before)


SHOWN = [
    ("2:~0", "z", ("__pregel_push", 0, False)),
    ("2:~1", "b", ("__pregel_push", 1, False)),
    ("2:m", "m", ("__pregel_pull", "m")),
    ("2:c", "c", ("__pregel_pull", "c")),
]
"""Sends in order, then the named nodes in the order the graph declares them."""


def test_snapshot_shows_sends_first_with_langgraph_paths(saver: BaseCheckpointSaver) -> None:
    graph = _graph(saver, pause=True)
    config: RunnableConfig = {"configurable": {"thread_id": "t"}}
    graph.invoke({"log": []}, config)
    state = graph.get_state(config)
    assert state.next == ("z", "b", "m", "c")
    assert [(t.id, t.name, t.path) for t in state.tasks] == SHOWN
    history = list(graph.get_state_history(config))
    assert [(t.id, t.name, t.path) for t in history[0].tasks] == SHOWN
    assert history[1].tasks[0].path == ("__pregel_pull", "a")
    assert history[-1].tasks[0].path == ("__pregel_pull", START)
    # the writes merge in plan order: named nodes sorted, then the sends in order
    assert graph.invoke(None, config) == {"log": ["a", "c", "m", "z1", "b2"]}


def test_paused_snapshot_keeps_plan_order_for_finished_writes(
    saver: BaseCheckpointSaver,
) -> None:
    graph = _graph(saver, pause=False)
    config: RunnableConfig = {"configurable": {"thread_id": "t"}}
    graph.invoke({"log": []}, config)
    state = graph.get_state(config)
    assert state.values == {"log": ["a", "c", "m", "b2"]}
    assert state.next == ("z",)
    assert [(t.id, t.name, t.path) for t in state.tasks] == SHOWN
    assert [bool(t.interrupts) for t in state.tasks] == [True, False, False, False]
    assert [t.result for t in state.tasks] == [
        None,
        {"log": ["b2"]},
        {"log": ["m"]},
        {"log": ["c"]},
    ]
    assert graph.invoke(Command(resume="ok"), config) == {"log": ["a", "c", "m", "z1:ok", "b2"]}


def test_debug_checkpoint_lists_sends_first_then_sorted_names() -> None:
    from graphkit.checkpoint.memory import InMemorySaver

    graph = _graph(InMemorySaver(), pause=True)
    config: RunnableConfig = {"configurable": {"thread_id": "t"}}
    payloads = [
        chunk["payload"]
        for chunk in graph.stream({"log": []}, config, stream_mode="debug")
        if chunk["type"] == "checkpoint"
    ]
    last = payloads[-1]
    assert last["next"] == ["z", "b", "c", "m"]
    assert [t["id"] for t in last["tasks"]] == ["2:~0", "2:~1", "2:c", "2:m"]


def test_send_task_metadata_path_is_langgraphs() -> None:
    seen: list[tuple[Any, ...]] = []

    def a(state: Log) -> Log:
        return {"log": ["a"]}

    def b(arg: Log, config: RunnableConfig) -> Log:
        metadata = config.get("metadata") or {}
        seen.append((metadata["langgraph_path"], metadata["langgraph_triggers"]))
        return {"log": ["b"]}

    builder = StateGraph(Log)
    builder.add_node(a)
    builder.add_node(b)
    builder.add_edge(START, "a")
    builder.add_conditional_edges("a", lambda s: [Send("b", {"log": []})], ["b"])
    builder.compile().invoke({"log": []})
    assert seen == [(("__pregel_push", 0, False), ("__pregel_push",))]


def _started(chunks: list[dict[str, Any]]) -> list[str]:
    return [chunk["name"] for chunk in chunks if "input" in chunk]


def test_sends_start_first_but_merge_after_named_nodes() -> None:
    from graphkit.checkpoint.memory import InMemorySaver

    graph = _graph(InMemorySaver(), pause=True)
    config: RunnableConfig = {"configurable": {"thread_id": "t"}}
    graph.invoke({"log": []}, config)
    chunks = list(graph.stream(None, config, stream_mode="tasks"))
    assert _started(chunks) == ["z", "b", "c", "m"]
    assert graph.get_state(config).values == {"log": ["a", "c", "m", "z1", "b2"]}


async def test_sends_start_first_async() -> None:
    from graphkit.checkpoint.memory import InMemorySaver

    graph = _graph(InMemorySaver(), pause=True)
    config: RunnableConfig = {"configurable": {"thread_id": "t"}}
    await graph.ainvoke({"log": []}, config)
    chunks = [chunk async for chunk in graph.astream(None, config, stream_mode="tasks")]
    assert _started(chunks) == ["z", "b", "c", "m"]
    assert (await graph.aget_state(config)).values == {"log": ["a", "c", "m", "z1", "b2"]}
