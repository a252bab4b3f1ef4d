"""``astream_events``: LangChain's event stream of a run (graphkit.engine.run_events)."""

from __future__ import annotations

import contextlib
from typing import Any, TypedDict

import pytest

from graphkit.checkpoint.memory import InMemorySaver
from graphkit.errors import GraphkitError
from graphkit.func import entrypoint, task
from graphkit.graph import START, MessagesState, StateGraph
from graphkit.messages import AIMessage, AIMessageChunk
from graphkit.models import FakeChatModel
from graphkit.tools import tool
from graphkit.types import RetryPolicy


class S(TypedDict):
    x: int


async def events_of(graph: Any, given: Any, config: Any = None, **options: Any) -> list[Any]:
    return [e async for e in graph.astream_events(given, config, **options)]


def kinds(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(e["event"], e["name"]) for e in events]


def one_node(fn: Any, state: Any = S, name: str = "node", **compile: Any) -> Any:
    builder = StateGraph(state)
    builder.add_node(name, fn)
    builder.add_edge(START, name)
    return builder.compile(**compile)


def chat_graph(model: Any) -> Any:
    async def agent(state: MessagesState) -> dict[str, Any]:
        return {"messages": [await model.ainvoke(state["messages"])]}

    return one_node(agent, MessagesState, "agent")


async def test_every_node_event_carries_its_step_tag_and_langgraph_metadata() -> None:
    graph = one_node(lambda s: {"x": s["x"] + 1}, checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "t1"}, "tags": ["mine"], "metadata": {"user": "u"}}
    events = await events_of(graph, {"x": 1}, config)
    root, start, stream, end = events[0], events[1], events[2], events[3]
    assert root["tags"] == ["mine"] and root["parent_ids"] == []
    assert root["metadata"] == {"user": "u", "thread_id": "t1", "ls_integration": "langgraph"}
    assert start["tags"] == ["graph:step:1", "mine"]
    metadata = start["metadata"]
    assert (metadata["user"], metadata["thread_id"]) == ("u", "t1")
    assert metadata["langgraph_step"] == 1
    assert metadata["langgraph_node"] == "node"
    assert metadata["langgraph_triggers"] == ("branch:to:node",)
    assert metadata["langgraph_path"] == ("__pregel_pull", "node")
    assert metadata["langgraph_checkpoint_ns"].startswith("node:")
    assert start["parent_ids"] == [root["run_id"]]
    assert {stream["run_id"], end["run_id"]} == {start["run_id"]} != {root["run_id"]}
    assert stream["data"] == {"chunk": {"x": 2}}
    assert end["data"] == {"output": {"x": 2}, "input": {"x": 1}}


async def test_a_chat_model_streams_its_tokens_under_the_node_that_calls_it() -> None:
    model = FakeChatModel(responses=[AIMessage("hello big world", id="r1")])
    model.tags = ["fast"]
    events = await events_of(chat_graph(model), {"messages": [("user", "hi")]})
    model_events = [e for e in events if e["event"].startswith("on_chat_model")]
    start, *streams, end = model_events
    node = next(e for e in events if e["name"] == "agent")
    assert start["event"] == "on_chat_model_start" and start["name"] == "FakeChatModel"
    assert [m.content for m in start["data"]["input"]["messages"][0]] == ["hi"]
    assert all(isinstance(e["data"]["chunk"], AIMessageChunk) for e in streams)
    assert "".join(e["data"]["chunk"].content for e in streams) == "hello big world"
    assert end["event"] == "on_chat_model_end"
    assert isinstance(end["data"]["output"], AIMessage)
    assert end["data"]["output"].content == "hello big world"
    assert start["parent_ids"] == [events[0]["run_id"], node["run_id"]]
    assert start["tags"] == ["seq:step:1", "fast"]
    metadata = start["metadata"]
    assert metadata["langgraph_node"] == "agent"
    assert metadata["ls_integration"] == "langchain_chat_model"
    assert metadata["ls_model_type"] == "chat"
    assert metadata["checkpoint_ns"] == metadata["langgraph_checkpoint_ns"]


async def test_a_model_that_does_not_stream_reports_its_reply_as_one_chunk() -> None:
    model = FakeChatModel(responses=["all at once"])
    model.disable_streaming = True
    events = await events_of(chat_graph(model), {"messages": [("user", "hi")]})
    streams = [e for e in events if e["event"] == "on_chat_model_stream"]
    assert [e["data"]["chunk"].content for e in streams] == ["all at once"]


async def test_a_sync_node_calling_a_model_reports_it_too() -> None:
    model = FakeChatModel(responses=["a b"])

    def agent(state: MessagesState) -> dict[str, Any]:
        return {"messages": [model.invoke(state["messages"])]}

    events = await events_of(one_node(agent, MessagesState, "agent"), {"messages": []})
    assert [k for k, _ in kinds(events) if "chat_model" in k] == [
        "on_chat_model_start",
        "on_chat_model_stream",
        "on_chat_model_stream",
        "on_chat_model_end",
    ]


async def test_a_tool_reports_its_start_end_and_error_under_its_node() -> None:
    @tool
    def divide(a: int, b: int) -> float:
        """Divide a by b."""
        return a / b

    async def calc(s: S) -> dict[str, Any]:
        value = await divide.ainvoke({"a": 6, "b": 3})
        with contextlib.suppress(ZeroDivisionError):
            await divide.ainvoke({"a": 1, "b": 0})
        return {"x": int(value)}

    events = await events_of(one_node(calc, name="calc"), {"x": 1})
    tools = [e for e in events if e["event"].startswith("on_tool")]
    assert kinds(tools) == [
        ("on_tool_start", "divide"),
        ("on_tool_end", "divide"),
        ("on_tool_start", "divide"),
        ("on_tool_error", "divide"),
    ]
    assert tools[0]["data"] == {"input": {"a": 6, "b": 3}}
    assert tools[1]["data"] == {"output": 2.0, "input": {"a": 6, "b": 3}}
    assert isinstance(tools[3]["data"]["error"], ZeroDivisionError)
    assert tools[3]["data"]["input"] == {"a": 1, "b": 0}
    node = events[1]
    assert all(t["parent_ids"] == [events[0]["run_id"], node["run_id"]] for t in tools)
    assert tools[0]["metadata"]["langgraph_node"] == "calc"


async def test_a_subgraph_node_nests_a_graph_run_and_its_nodes_under_the_node() -> None:
    inner = one_node(lambda s: {"x": s["x"] * 10}, name="inner")
    events = await events_of(one_node(inner, name="child"), {"x": 1})
    assert kinds(events) == [
        ("on_chain_start", "LangGraph"),
        ("on_chain_start", "child"),
        ("on_chain_start", "LangGraph"),
        ("on_chain_start", "inner"),
        ("on_chain_stream", "inner"),
        ("on_chain_end", "inner"),
        ("on_chain_end", "LangGraph"),
        ("on_chain_stream", "child"),
        ("on_chain_end", "child"),
        ("on_chain_stream", "LangGraph"),
        ("on_chain_end", "LangGraph"),
    ]
    root, child, nested, inner_start = events[0], events[1], events[2], events[3]
    assert nested["parent_ids"] == [root["run_id"], child["run_id"]]
    assert inner_start["parent_ids"] == [root["run_id"], child["run_id"], nested["run_id"]]
    assert nested["tags"] == ["seq:step:1"]
    assert inner_start["metadata"]["checkpoint_ns"] == child["metadata"]["langgraph_checkpoint_ns"]
    assert events[6]["data"] == {"output": {"x": 10}, "input": {"x": 1}}


async def test_a_graph_invoked_inside_a_node_is_a_run_under_that_node() -> None:
    inner = one_node(lambda s: {"x": s["x"] + 1}, name="inner")
    inner.name = "helper"

    async def outer(s: S) -> Any:
        return await inner.ainvoke(s)

    events = await events_of(one_node(outer, name="outer"), {"x": 1})
    helper = next(e for e in events if e["name"] == "helper")
    assert helper["parent_ids"] == [events[0]["run_id"], events[1]["run_id"]]
    assert len(next(e for e in events if e["name"] == "inner")["parent_ids"]) == 3


async def test_an_interrupted_node_starts_and_the_root_streams_the_interrupt() -> None:
    from graphkit.types import Command, interrupt

    graph = one_node(
        lambda s: {"x": interrupt("how many?")}, name="ask", checkpointer=InMemorySaver()
    )
    config = {"configurable": {"thread_id": "t"}}
    events = await events_of(graph, {"x": 1}, config)
    assert kinds(events) == [
        ("on_chain_start", "LangGraph"),
        ("on_chain_start", "ask"),
        ("on_chain_stream", "LangGraph"),
        ("on_chain_end", "LangGraph"),
    ]
    assert [i.value for i in events[2]["data"]["chunk"]["__interrupt__"]] == ["how many?"]
    assert events[-1]["data"] == {"output": {"x": 1}}
    resumed = await events_of(graph, Command(resume=5), config)
    assert resumed[-1]["data"] == {"output": {"x": 5}}
    assert ("on_chain_end", "ask") in kinds(resumed)


async def test_a_failing_node_starts_then_its_error_propagates() -> None:
    def boom(s: S) -> dict[str, Any]:
        raise KeyError("nope")

    seen: list[Any] = []
    with pytest.raises(KeyError, match="nope"):
        async for ev in one_node(boom, name="boom").astream_events({"x": 1}):
            seen.append(ev)
    assert kinds(seen) == [("on_chain_start", "LangGraph"), ("on_chain_start", "boom")]


async def test_each_retried_attempt_is_its_own_run() -> None:
    attempts: list[int] = []

    def flaky(s: S) -> dict[str, Any]:
        attempts.append(1)
        if len(attempts) < 2:
            raise ValueError("once")
        return {"x": 2}

    builder = StateGraph(S)
    builder.add_node(
        "flaky",
        flaky,
        retry_policy=RetryPolicy(initial_interval=0, jitter=False, retry_on=ValueError),
    )
    builder.add_edge(START, "flaky")
    events = await events_of(builder.compile(), {"x": 1})
    starts = [e for e in events if e["event"] == "on_chain_start" and e["name"] == "flaky"]
    ends = [e for e in events if e["event"] == "on_chain_end" and e["name"] == "flaky"]
    assert len(starts) == 2 and len(ends) == 1
    assert starts[0]["run_id"] != starts[1]["run_id"] == ends[0]["run_id"]


async def test_a_workflow_reports_its_tasks_under_its_own_run() -> None:
    @task
    async def double(n: int) -> int:
        return n * 2

    @entrypoint(checkpointer=InMemorySaver())
    async def workflow(n: int) -> int:
        return await double(n) + 1

    events = await events_of(workflow, 3, {"configurable": {"thread_id": "w"}})
    call = next(e for e in events if e["name"] == "double")
    own = next(e for e in events if e["name"] == "workflow")
    assert call["tags"] == ["seq:step:1"] and own["tags"] == ["graph:step:0"]
    assert call["parent_ids"] == [events[0]["run_id"], own["run_id"]]
    assert call["metadata"]["langgraph_path"] == (
        "__pregel_push",
        ("__pregel_pull", "workflow"),
        0,
        True,
    )
    assert own["metadata"]["langgraph_triggers"] == ("__start__",)
    assert events[-1]["data"] == {"output": 7}


async def test_filters_keep_events_by_name_type_and_tag() -> None:
    model = FakeChatModel(responses=["x y"], cycle=True)
    graph = chat_graph(model)
    given = {"messages": [("user", "hi")]}
    only_model = await events_of(graph, given, include_types=["chat_model"])
    assert {e["event"] for e in only_model} == {
        "on_chat_model_start",
        "on_chat_model_stream",
        "on_chat_model_end",
    }
    by_tag = await events_of(graph, given, include_tags=["graph:step:1"])
    assert {e["name"] for e in by_tag} == {"agent"}
    no_root = await events_of(graph, given, exclude_names=["LangGraph"])
    assert "LangGraph" not in {e["name"] for e in no_root} and no_root
    either = await events_of(graph, given, include_names=["agent"], include_types=["chat_model"])
    assert {e["name"] for e in either} == {"agent", "FakeChatModel"}


async def test_a_filter_given_as_one_string_is_an_error_naming_the_fix() -> None:
    graph = one_node(lambda s: s)
    with pytest.raises(GraphkitError, match=r"include_names=\['node'\]"):
        await events_of(graph, {"x": 1}, include_names="node")


async def test_an_unknown_version_is_an_error_naming_v2() -> None:
    with pytest.raises(ValueError, match="'v2'"):
        await events_of(one_node(lambda s: s), {"x": 1}, version="v3")


async def test_version_v1_reports_no_parent_ids() -> None:
    events = await events_of(one_node(lambda s: {"x": 2}), {"x": 1}, version="v1")
    assert [e["parent_ids"] for e in events] == [[]] * len(events)
    assert events[0]["metadata"] == {}


def test_a_run_that_is_not_asked_for_events_makes_none() -> None:
    """Only astream_events wraps a run's executor: a plain stream's models stay quiet and
    its nodes run through the local executor."""
    from graphkit.engine.executor import LOCAL
    from graphkit.engine.run_events import events_active

    seen: list[Any] = []

    def node(s: S) -> dict[str, Any]:
        from graphkit.context import CURRENT_TASK

        task = CURRENT_TASK.get()
        assert task is not None
        seen.append((events_active(), task.run.executor is LOCAL))
        return {"x": 2}

    def route(s: S) -> str:
        return "__end__"

    builder = StateGraph(S)
    builder.add_node("node", node)
    builder.add_edge(START, "node")
    builder.add_conditional_edges("node", route)
    graph = builder.compile()
    list(graph.stream({"x": 1}, stream_mode=["updates", "messages", "custom"]))
    graph.invoke({"x": 1})
    assert seen == [(False, True), (False, True)]
    assert graph.tables.nodes["node"].branches[0].call.fn is route  # not wrapped for events


def test_compiled_graphs_are_named_langgraph_unless_named() -> None:
    graph = one_node(lambda s: s)
    assert graph.name == "LangGraph"
    builder = StateGraph(S)
    builder.add_node("n", lambda s: s)
    builder.add_edge(START, "n")
    assert builder.compile(name="mine").name == "mine"


async def test_a_react_agent_reports_its_model_route_and_tool_under_their_nodes() -> None:
    from graphkit.prebuilt import create_react_agent

    @tool
    def add(a: int, b: int) -> int:
        """Add two numbers."""
        return a + b

    call = {"name": "add", "args": {"a": 1, "b": 2}, "id": "c1"}
    model = FakeChatModel(responses=[AIMessage("", tool_calls=[call]), AIMessage("three")])
    agent = create_react_agent(model, [add])
    events = await events_of(agent, {"messages": [("user", "1+2?")]})
    shown = [
        (e["event"], e["name"], e["metadata"].get("langgraph_node"), len(e["parent_ids"]))
        for e in events
        if e["event"] != "on_chat_model_stream" and e["name"] != "LangGraph"
    ]
    agent_step = [
        ("on_chain_start", "agent", "agent", 1),
        ("on_chat_model_start", "FakeChatModel", "agent", 2),
        ("on_chat_model_end", "FakeChatModel", "agent", 2),
        ("on_chain_start", "should_continue", "agent", 2),
        ("on_chain_end", "should_continue", "agent", 2),
        ("on_chain_stream", "agent", "agent", 1),
        ("on_chain_end", "agent", "agent", 1),
    ]
    assert shown == [
        *agent_step,
        ("on_chain_start", "tools", "tools", 1),
        ("on_tool_start", "add", "tools", 2),
        ("on_tool_end", "add", "tools", 2),
        ("on_chain_stream", "tools", "tools", 1),
        ("on_chain_end", "tools", "tools", 1),
        *agent_step,
    ]
    from graphkit.messages import ToolMessage

    (end,) = [e for e in events if e["event"] == "on_tool_end"]
    answer = end["data"]["output"]  # a tool run for a tool call answers with its message
    assert isinstance(answer, ToolMessage)
    assert (answer.content, answer.name, answer.tool_call_id) == ("3", "add", "c1")
    assert end["data"]["input"] == {"a": 1, "b": 2}


async def test_a_graph_a_node_streams_events_of_reports_each_run_once() -> None:
    inner = one_node(lambda s: {"x": s["x"] + 1}, name="inner")
    seen: list[list[tuple[str, str]]] = []

    async def outer(s: S) -> dict[str, Any]:
        seen.append(kinds(await events_of(inner, s)))
        return {"x": 5}

    await events_of(one_node(outer, name="outer"), {"x": 1})
    assert seen == [
        [
            ("on_chain_start", "LangGraph"),
            ("on_chain_start", "inner"),
            ("on_chain_stream", "inner"),
            ("on_chain_end", "inner"),
            ("on_chain_stream", "LangGraph"),
            ("on_chain_end", "LangGraph"),
        ]
    ]


async def test_a_configs_run_name_names_the_root_run_only() -> None:
    graph = one_node(lambda s: {"x": 2}, name="node")
    events = await events_of(graph, {"x": 1}, {"run_name": "my_agent"})
    assert [e["name"] for e in events] == [
        "my_agent",
        "node",
        "node",
        "node",
        "my_agent",
        "my_agent",
    ]
