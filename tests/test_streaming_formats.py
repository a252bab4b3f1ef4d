"""Stream output as LangGraph shapes it: messages/tools modes, version="v2", print_mode,
debug/tasks/checkpoints payloads, metadata keys, and the invoke/stream keywords."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

import pytest

from graphkit import END, START, Command, StateGraph, interrupt
from graphkit.checkpoint.memory import InMemorySaver
from graphkit.config import get_stream_writer
from graphkit.func import entrypoint, task
from graphkit.messages import AIMessage, HumanMessage, MessagesState, ToolMessage
from graphkit.models.fake import FakeChatModel
from graphkit.tools import tool
from graphkit.types import GraphOutput


class State(TypedDict, total=False):
    x: int
    log: Annotated[list[str], operator.add]


def messages_graph(*nodes: Any) -> Any:
    builder = StateGraph(MessagesState)
    previous = START
    for node in nodes:
        builder.add_node(node)
        builder.add_edge(previous, node.__name__)
        previous = node.__name__
    return builder.compile()


# ----------------------------------------------------------------------------- messages
def test_messages_mode_streams_messages_that_nodes_return_with_langgraph_metadata() -> None:
    def plain(state: MessagesState) -> dict[str, Any]:
        return {"messages": HumanMessage("foo")}

    def command(state: MessagesState) -> Command[Any]:
        return Command(update={"messages": [AIMessage("bar", id="b")]})

    def command_list(state: MessagesState) -> list[Command[Any]]:
        return [Command(update={"messages": [ToolMessage("baz", tool_call_id="c")]})]

    chunks = list(
        messages_graph(plain, command, command_list).stream(
            {"messages": []}, {"metadata": {"who": "me"}}, stream_mode="messages"
        )
    )
    assert [m.content for m, _ in chunks] == ["foo", "bar", "baz"]
    assert all(m.id for m, _ in chunks)  # a message without an id gets one
    meta = chunks[1][1]
    assert {k: v for k, v in meta.items() if k != "langgraph_checkpoint_ns"} == {
        "who": "me",
        "ls_integration": "langgraph",
        "langgraph_step": 2,
        "langgraph_node": "command",
        "langgraph_triggers": ("branch:to:command",),
        "langgraph_path": ("__pregel_pull", "command"),
    }
    assert meta["langgraph_checkpoint_ns"].startswith("command:")


def test_messages_a_node_received_or_streamed_before_are_not_streamed_again() -> None:
    model = FakeChatModel(["one two"])

    def echo(state: MessagesState) -> dict[str, Any]:
        return {"messages": state["messages"]}  # all of them came in as input

    def call(state: MessagesState) -> dict[str, Any]:
        return {"messages": [model.invoke(state["messages"])]}  # streamed as tokens

    chunks = list(
        messages_graph(echo, call).stream({"messages": [("user", "hi")]}, stream_mode="messages")
    )
    assert [(type(m).__name__, m.content) for m, _ in chunks] == [
        ("AIMessageChunk", "one"),
        ("AIMessageChunk", " two"),
    ]


def test_configurable_ids_propagate_to_chunk_metadata_but_other_keys_do_not() -> None:
    def node(state: MessagesState) -> dict[str, Any]:
        return {"messages": HumanMessage("hello")}

    config = {"configurable": {"thread_id": "t", "run_id": "r", "assistant_id": "a", "secret": "s"}}
    ((_, meta),) = messages_graph(node).stream({"messages": []}, config, stream_mode="messages")
    assert (meta["thread_id"], meta["run_id"], meta["assistant_id"]) == ("t", "r", "a")
    assert "secret" not in meta


def test_subgraph_messages_stream_inside_it_only_with_subgraphs_true() -> None:
    def respond(state: MessagesState) -> dict[str, Any]:
        return {"messages": [AIMessage("hi there", id="ai1")]}

    parent = StateGraph(MessagesState)
    parent.add_node("sub", messages_graph(respond))
    parent.add_edge(START, "sub")
    graph = parent.compile()
    flat = list(graph.stream({"messages": []}, stream_mode="messages"))
    nested = list(graph.stream({"messages": []}, stream_mode="messages", subgraphs=True))
    # without subgraphs=True the subgraph node's output streams as the parent node's
    assert [(m.id, meta["langgraph_node"]) for m, meta in flat] == [("ai1", "sub")]
    ((namespace, (message, meta)),) = nested
    assert namespace[0].startswith("sub:") and meta["langgraph_node"] == "respond"
    assert message.id == "ai1" and meta["checkpoint_ns"] == namespace[0]


def test_chunks_streamed_inside_a_task_name_the_task() -> None:
    model = FakeChatModel(["a b"])

    @task
    def call_model(prompt: str) -> str:
        return model.invoke(prompt).text

    @entrypoint()
    def workflow(prompt: str) -> str:
        return call_model(prompt).result()

    chunks = list(workflow.stream("hi", stream_mode="messages"))
    assert [m.content for m, _ in chunks] == ["a", " b"]
    assert {meta["langgraph_node"] for _, meta in chunks} == {"call_model"}
    assert chunks[0][1]["langgraph_triggers"] == ("__pregel_push",)


# ----------------------------------------------------------------------------- tools
@tool
def echo(text: str) -> str:
    """Echo the text."""
    return text


@tool
def broken(text: str) -> str:
    """Always fails."""
    raise ValueError(f"bad {text}")


def test_tools_mode_streams_the_life_of_each_tool_call() -> None:
    def node(state: MessagesState) -> dict[str, Any]:
        echo.invoke({"text": "done"}, tool_call_id="call-1")
        with pytest.raises(ValueError):
            broken.invoke({"text": "x"})
        return {}

    events = list(messages_graph(node).stream({"messages": []}, stream_mode="tools"))
    answer = ToolMessage(content="done", name="echo", tool_call_id="call-1")
    assert events[:2] == [  # a call with an id ends with its answer, as LangChain's tools do
        {
            "event": "tool-started",
            "tool_call_id": "call-1",
            "tool_name": "echo",
            "input": {"text": "done"},
        },
        {"event": "tool-finished", "tool_call_id": "call-1", "output": answer},
    ]
    assert [e["event"] for e in events[2:]] == ["tool-started", "tool-error"]
    assert (
        events[3]["message"] == "bad x" and events[2]["tool_call_id"] == events[3]["tool_call_id"]
    )


async def test_tools_mode_for_async_tools_and_nothing_when_not_streamed() -> None:
    @tool
    async def shout(text: str) -> str:
        """Upper-case."""
        return text.upper()

    async def node(state: MessagesState) -> dict[str, Any]:
        await shout.ainvoke({"text": "hey"})
        return {}

    graph = messages_graph(node)
    events = [e async for e in graph.astream({"messages": []}, stream_mode="tools")]
    assert [(e["event"], e.get("output")) for e in events] == [
        ("tool-started", None),
        ("tool-finished", "HEY"),
    ]
    assert [c async for c in graph.astream({"messages": []}, stream_mode="updates")] == [
        {"node": None}  # it wrote no key: None, as in LangGraph
    ]


# ----------------------------------------------------------------------------- v2 / print
def interrupting_graph() -> Any:
    def ask(state: State) -> State:
        return {"x": interrupt("how many?")}

    builder = StateGraph(State)
    builder.add_node("first", lambda s: {"log": ["first"]})
    builder.add_node("ask", ask)
    builder.add_edge(START, "first")
    builder.add_edge("first", "ask")
    builder.add_edge("ask", END)
    return builder.compile(checkpointer=InMemorySaver())


def test_version_v2_yields_typed_parts_and_invoke_returns_graph_output() -> None:
    graph = interrupting_graph()
    config = {"configurable": {"thread_id": "v2"}}
    parts = list(graph.stream({"log": []}, config, stream_mode=["updates", "values"], version="v2"))
    assert [p["type"] for p in parts] == ["values", "updates", "values", "updates", "values"]
    assert all(p["ns"] == () for p in parts)
    last = parts[-1]
    assert "__interrupt__" not in last["data"] and last["data"]["log"] == ["first"]
    assert [i.value for i in last["interrupts"]] == ["how many?"]
    out = graph.invoke(Command(resume=3), config, version="v2")
    assert out == GraphOutput({"x": 3, "log": ["first"]}, ())
    paused = interrupting_graph().invoke({"log": []}, config, version="v2")
    assert paused.value == {"log": ["first"]} and len(paused.interrupts) == 1


def test_a_resumed_run_streams_the_state_it_starts_from() -> None:
    graph = interrupting_graph()
    config = {"configurable": {"thread_id": "r"}}
    graph.invoke({"log": []}, config)
    values = list(graph.stream(Command(resume=1), config, stream_mode="values"))
    assert values == [{"log": ["first"]}, {"x": 1, "log": ["first"]}]


def test_print_mode_and_debug_print_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    builder = StateGraph(State)
    builder.add_node("a", lambda s: {"x": 1})
    builder.add_edge(START, "a")
    graph = builder.compile()
    assert graph.invoke({"x": 0}, print_mode="updates") == {"x": 1, "log": []}
    assert capsys.readouterr().out == "\033[1m[updates]\033[0m {'a': {'x': 1}}\n"
    assert list(graph.stream({"x": 0}, stream_mode="updates", debug=True)) == [{"a": {"x": 1}}]
    printed = capsys.readouterr().out.splitlines()
    assert [line.split("\033[0m")[0] for line in printed] == [
        "\033[1m[values]",
        "\033[1m[updates]",
        "\033[1m[values]",
    ]


def test_invoke_with_a_list_of_stream_modes_returns_mode_chunk_pairs() -> None:
    builder = StateGraph(State)
    builder.add_node("a", lambda s: {"x": 1})
    builder.add_edge(START, "a")
    out = builder.compile().invoke({"x": 0}, stream_mode=["updates", "values"])
    assert out == [
        ("values", {"x": 0, "log": []}),
        ("updates", {"a": {"x": 1}}),
        ("values", {"x": 1, "log": []}),
    ]


def test_unknown_keywords_and_versions_are_refused_with_the_accepted_ones() -> None:
    builder = StateGraph(State)
    builder.add_node("a", lambda s: {"x": 1})
    builder.add_edge(START, "a")
    graph = builder.compile()
    with pytest.raises(TypeError, match="print_mode"):
        graph.invoke({"x": 0}, colour="red")
    with pytest.raises(ValueError, match="v1"):
        list(graph.stream({"x": 0}, version="v3"))


def test_thread_id_at_the_top_level_of_the_config_is_the_thread() -> None:
    builder = StateGraph(State)
    builder.add_node("a", lambda s: {"x": s["x"] + 1})
    builder.add_edge(START, "a")
    graph = builder.compile(checkpointer=InMemorySaver())
    assert graph.invoke({"x": 1}, {"thread_id": "top"}) == {"x": 2, "log": []}
    assert graph.get_state({"configurable": {"thread_id": "top"}}).values["x"] == 2


def test_call_time_interrupt_before_and_output_keys() -> None:
    builder = StateGraph(State)
    builder.add_node("a", lambda s: {"x": 1, "log": ["a"]})
    builder.add_node("b", lambda s: {"x": 2})
    builder.add_edge(START, "a")
    builder.add_edge("a", "b")
    graph = builder.compile(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "ib"}}
    assert graph.invoke({"x": 0}, config, interrupt_before=["b"], output_keys=["x"]) == {"x": 1}
    assert graph.get_state(config).next == ("b",)
    with pytest.raises(ValueError, match="unknown node 'zz'"):
        graph.invoke(None, config, interrupt_before=["zz"])


# ----------------------------------------------------------------------------- payloads
def test_tasks_mode_payloads_as_langgraph() -> None:
    builder = StateGraph(State)
    builder.add_node("a", lambda s: {"x": 1, "log": ["a"]}, metadata={"team": "core"})
    builder.add_edge(START, "a")
    start, result = builder.compile().stream({"x": 0}, {"tags": ["t"]}, stream_mode="tasks")
    assert start == {
        "id": start["id"],
        "name": "a",
        "input": {"x": 0, "log": []},
        "triggers": ("branch:to:a",),
        "metadata": {"team": "core", "tags": ["t"]},
    }
    assert result == {
        "id": start["id"],
        "name": "a",
        "error": None,
        "result": {"x": 1, "log": ["a"]},
        "interrupts": [],
    }


@pytest.mark.parametrize("mode", ["tasks", "debug"])
def test_a_failing_task_streams_its_exception_before_it_is_raised(mode: str) -> None:
    def failing(state: State) -> State:
        raise ValueError("boom")

    builder = StateGraph(State)
    builder.add_node("failing", failing)
    builder.add_edge(START, "failing")
    errors = []
    with pytest.raises(ValueError, match="boom"):
        for chunk in builder.compile().stream({"x": 0}, stream_mode=mode):
            payload = chunk["payload"] if mode == "debug" else chunk
            if "error" in payload:
                errors.append(payload["error"])
    assert [type(e) for e in errors] == [ValueError]


def test_checkpoints_mode_lists_next_and_its_tasks_as_state_history_does() -> None:
    graph = interrupting_graph()
    config = {"configurable": {"thread_id": "cp"}}
    events = list(graph.stream({"log": []}, config, stream_mode="checkpoints"))
    history = list(graph.get_state_history(config))
    assert len(events) == len(history)
    for event, snap in zip(reversed(events), history, strict=True):
        assert event["next"] == list(snap.next)
        assert [t["id"] for t in event["tasks"]] == [t.id for t in snap.tasks]
        assert event["config"] == snap.config


@pytest.mark.parametrize("how", ["command_resume", "none_after_breakpoint", "command_goto"])
def test_a_run_going_on_from_the_threads_checkpoint_reports_it_first(how: str) -> None:
    """As LangGraph: resuming streams the loaded checkpoint (with what runs next) before
    the first task; in ``debug`` as a "checkpoint" event of that checkpoint's step."""
    graph = interrupting_graph()
    if how == "none_after_breakpoint":
        graph = graph.builder.compile(checkpointer=InMemorySaver(), interrupt_before=["ask"])
    config = {"configurable": {"thread_id": how}}
    graph.invoke({"log": []}, config)
    paused = graph.get_state(config)
    command: Any = {
        "command_resume": Command(resume=3),
        "none_after_breakpoint": None,
        "command_goto": Command(goto="first"),
    }[how]
    if how == "none_after_breakpoint":
        graph.update_state(config, {"x": 3})
        paused = graph.get_state(config)
    events = list(graph.stream(command, config, stream_mode=["checkpoints", "tasks", "debug"]))
    mode, first = events[0]
    assert mode == "checkpoints"
    assert first["config"] == paused.config and first["values"] == paused.values
    expected_next = ["ask", "first"] if how == "command_goto" else ["ask"]
    assert sorted(first["next"]) == expected_next
    debug = [e for m, e in events if m == "debug"]
    assert debug[0]["type"] == "checkpoint" and debug[0]["step"] == paused.metadata["step"]
    assert debug[0]["payload"]["config"] == paused.config
    assert sum(1 for m, e in events if m == "checkpoints" and e["config"] == paused.config) == 1


def paused_in_a_subgraph() -> Any:
    """A graph whose subgraph node "child" asks "how many?" (into ``x``)."""

    def ask(state: State) -> State:
        return {"x": interrupt("how many?")}

    inner = StateGraph(State).add_node("ask", ask).add_edge(START, "ask")
    outer = StateGraph(State).add_node("child", inner.compile()).add_edge(START, "child")
    return outer.compile(checkpointer=InMemorySaver())


def test_a_resumed_subgraph_reports_its_own_loaded_checkpoint() -> None:
    graph = paused_in_a_subgraph()
    config = {"configurable": {"thread_id": "sub"}}
    graph.invoke({"log": []}, config)
    chunks = list(
        graph.stream(Command(resume=4), config, stream_mode="checkpoints", subgraphs=True)
    )
    shown = [
        ([n.partition(":")[0] for n in ns], e["next"], e["values"].get("x")) for ns, e in chunks
    ]
    assert shown == [
        ([], ["child"], None),
        (["child"], ["ask"], None),
        (["child"], [], 4),
        ([], [], 4),
    ]


def test_a_resumed_subgraph_streams_the_state_it_starts_from() -> None:
    # As LangGraph's: the subgraph's values stream starts with its loaded state.
    graph = paused_in_a_subgraph()
    config = {"configurable": {"thread_id": "sub-values"}}
    graph.invoke({"log": ["in"]}, config)
    chunks = list(graph.stream(Command(resume=4), config, stream_mode="values", subgraphs=True))
    assert [([n.partition(":")[0] for n in ns], v) for ns, v in chunks] == [
        ([], {"log": ["in"]}),
        (["child"], {"log": ["in"]}),
        (["child"], {"x": 4, "log": ["in"]}),
        ([], {"x": 4, "log": ["in", "in"]}),
    ]


def test_new_input_and_replay_do_not_report_the_loaded_checkpoint() -> None:
    graph = interrupting_graph()
    config = {"configurable": {"thread_id": "fresh"}}
    graph.invoke({"log": []}, config)
    graph.invoke(Command(resume=1), config)
    latest = graph.get_state(config).config
    events = list(graph.stream({"log": []}, config, stream_mode="checkpoints"))
    assert latest not in [e["config"] for e in events]
    assert events[0]["metadata"]["source"] == "input"
    earlier = list(graph.get_state_history(config))[-2].config  # before "first" ran
    replayed = list(graph.stream(None, earlier, stream_mode="checkpoints"))
    assert replayed[0]["metadata"]["source"] == "fork"
    assert earlier not in [e["config"] for e in replayed]


# ----------------------------------------------------------------------------- push_message
def test_push_message_streams_at_once_and_writes_the_state_key() -> None:
    from graphkit.graph.message import push_message

    def node(state: MessagesState) -> dict[str, Any]:
        push_message(AIMessage("partial", id="p1"))
        push_message(AIMessage("only streamed", id="p2"), state_key=None)
        return {"messages": [AIMessage("final", id="f1")]}

    graph = messages_graph(node)
    streamed = [m.id for m, _ in graph.stream({"messages": []}, stream_mode="messages")]
    assert streamed == ["p1", "p2", "f1"]
    assert [m.id for m in graph.invoke({"messages": []})["messages"]] == ["p1", "f1"]


def test_push_message_needs_an_id_and_a_known_key() -> None:
    from graphkit.graph.message import push_message

    def no_id(state: MessagesState) -> None:
        push_message(AIMessage("x"))

    def bad_key(state: MessagesState) -> None:
        push_message(AIMessage("x", id="1"), state_key="nope")

    with pytest.raises(ValueError, match="Message ID is required"):
        messages_graph(no_id).invoke({"messages": []})
    with pytest.raises(ValueError, match="no key 'nope'"):
        messages_graph(bad_key).invoke({"messages": []})
    with pytest.raises(RuntimeError, match="outside a running graph"):
        push_message(AIMessage("x", id="1"))


def test_a_subgraphs_pushed_message_streams_under_its_namespace_only_with_subgraphs() -> None:
    from graphkit.graph.message import push_message

    def push(state: MessagesState) -> dict[str, Any]:
        push_message(AIMessage("hi", id="pushed"), state_key=None)
        return {}

    parent = StateGraph(MessagesState)
    parent.add_node("sub", messages_graph(push))
    parent.add_edge(START, "sub")
    graph = parent.compile()
    flat = list(graph.stream({"messages": []}, stream_mode="messages", version="v2"))
    nested = list(
        graph.stream({"messages": []}, stream_mode="messages", subgraphs=True, version="v2")
    )
    assert flat == []
    assert [tuple(s.split(":")[0] for s in p["ns"]) for p in nested] == [("sub",)]


def test_checkpoints_of_a_subgraph_node_name_where_its_own_checkpoints_live() -> None:
    inner = StateGraph(State)
    inner.add_node("work", lambda s: {"log": ["work"]})
    inner.add_edge(START, "work")
    outer = StateGraph(State)
    outer.add_node("sub", inner.compile())
    outer.add_edge(START, "sub")
    graph = outer.compile(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "sub-cp"}}
    events = list(graph.stream({"log": []}, config, stream_mode="checkpoints"))
    history = list(graph.get_state_history(config))
    assert events[0]["parent_config"] is None  # a thread's first checkpoint has no parent
    for event, snap in zip(reversed(events), history, strict=True):
        assert [t["state"] for t in event["tasks"]] == [t.state for t in snap.tasks]
        assert event["parent_config"] == snap.parent_config
    assert [t["name"] for t in events[0]["tasks"]] == ["__start__"]  # the input checkpoint
    (sub_task,) = events[1]["tasks"]
    assert sub_task["state"]["configurable"]["checkpoint_ns"].startswith("sub:")


def test_a_graph_streamed_inside_a_node_also_reaches_a_parent_streaming_subgraphs() -> None:
    from graphkit.graph.message import push_message

    def push(state: MessagesState) -> dict[str, Any]:
        push_message(AIMessage("hi", id="pushed"), state_key=None)
        return {}

    pushing = messages_graph(push)
    received: list[str] = []

    def node(state: MessagesState) -> dict[str, Any]:
        received.extend(m.id for m, _ in pushing.stream({"messages": []}, stream_mode="messages"))
        return {}

    graph = messages_graph(node)
    assert list(graph.stream({"messages": []}, stream_mode="messages")) == []
    assert received == ["pushed"]
    parts = list(graph.stream({"messages": []}, stream_mode="messages", subgraphs=True))
    assert [tuple(s.split(":")[0] for s in ns) for ns, _ in parts] == [("node",)]
    assert received == ["pushed", "pushed"]


def test_a_message_any_streamed_node_received_is_not_streamed_again_by_another() -> None:
    def make(state: MessagesState) -> dict[str, Any]:
        return {"messages": [AIMessage("draft", id="d1")]}

    def relay(state: MessagesState) -> dict[str, Any]:
        return {"messages": [AIMessage("draft", id="d1"), AIMessage("new", id="n1")]}

    chunks = list(messages_graph(make, relay).stream({"messages": []}, stream_mode="messages"))
    assert [m.id for m, _ in chunks] == ["d1", "n1"]


async def test_astream_events_reports_the_graph_and_each_node() -> None:
    builder = StateGraph(State)
    builder.add_node("a", lambda s: {"x": s["x"] + 1})
    builder.add_edge(START, "a")
    graph = builder.compile()
    events = [e async for e in graph.astream_events({"x": 1}, version="v2")]
    assert [(e["event"], e["name"]) for e in events] == [
        ("on_chain_start", "LangGraph"),
        ("on_chain_start", "a"),
        ("on_chain_stream", "a"),
        ("on_chain_end", "a"),
        ("on_chain_stream", "LangGraph"),
        ("on_chain_end", "LangGraph"),
    ]
    assert events[3]["data"] == {"output": {"x": 2}, "input": {"x": 1, "log": []}}
    assert events[3]["parent_ids"] == [events[0]["run_id"]]
    assert events[-1]["data"] == {"output": {"x": 2, "log": []}}
    with pytest.raises(ValueError, match="v2"):
        _ = [e async for e in graph.astream_events({"x": 1}, version="v3")]  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- updates
class _Two(TypedDict):
    a: int
    items: Annotated[list[int], operator.add]


def _updates_of(node: Any) -> list[Any]:
    builder = StateGraph(_Two).add_node("node", node).add_edge(START, "node")
    return list(builder.compile().stream({"a": 0, "items": []}, stream_mode="updates"))


def test_a_list_of_commands_streams_as_one_dict_when_each_key_is_written_once() -> None:
    def node(state: _Two) -> list[Command[Any]]:
        return [Command(update={"a": 1}), Command(update={"items": [2]})]

    assert _updates_of(node) == [{"node": {"a": 1, "items": [2]}}]


def test_a_list_of_commands_streams_one_dict_per_write_when_a_key_repeats() -> None:
    def node(state: _Two) -> list[Command[Any]]:
        return [Command(update={"a": 1, "items": [1]}), Command(update={"items": [2]})]

    assert _updates_of(node) == [{"node": [{"a": 1}, {"items": [1]}, {"items": [2]}]}]


def test_v2_items_have_the_keys_their_stream_part_types_declare() -> None:
    from graphkit.types import (
        CheckpointStreamPart,
        CustomStreamPart,
        DebugStreamPart,
        TasksStreamPart,
        UpdatesStreamPart,
        ValuesStreamPart,
    )

    declared = {
        "values": ValuesStreamPart,
        "updates": UpdatesStreamPart,
        "custom": CustomStreamPart,
        "checkpoints": CheckpointStreamPart,
        "tasks": TasksStreamPart,
        "debug": DebugStreamPart,
    }

    class Small(TypedDict):
        x: int

    def node(state: Small) -> dict[str, Any]:
        get_stream_writer()("note")
        return {"x": state["x"] + 1}

    graph = (
        StateGraph(Small)
        .add_node(node)
        .add_edge(START, "node")
        .compile(checkpointer=InMemorySaver())
    )
    config = {"configurable": {"thread_id": "parts"}}
    seen = set()
    for part in graph.stream({"x": 0}, config, stream_mode=list(declared), version="v2"):
        assert set(part) == set(declared[part["type"]].__annotations__), part
        seen.add(part["type"])
    assert seen == set(declared)
