"""Code written for LangGraph reads LangChain messages from a graph that was given them.

A program moving from LangGraph keeps ``from langchain_core.messages import AIMessage``
and routes with ``isinstance(state["messages"][-1], AIMessage)``. graphkit's channels
hold graphkit's messages, but once LangChain's come in (the input, a node, a tool, a
LangChain model), everything user code reads shows LangChain's: nodes, conditional
edges, outputs, streams, ``get_state`` and its history, subgraphs. These tests use
LangChain's real classes and fake chat models.
"""

from __future__ import annotations

import asyncio
import itertools
import operator
from typing import Annotated, Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from langchain_core import messages as lc
from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
from langchain_core.messages import AnyMessage as LangChainAnyMessage
from langchain_core.tools import tool as lc_tool
from typing_extensions import TypedDict

import graphkit._langchain_view as view_module
import graphkit.stores.checkpoint._codec as codec_module
from graphkit import messages as gk
from graphkit._langchain import from_langchain_message, to_langchain_message
from graphkit.checkpoint.memory import InMemorySaver
from graphkit.graph import END, START, MessagesState, StateGraph, add_messages
from graphkit.prebuilt import ToolNode, create_react_agent, tools_condition
from graphkit.types import Send


class LangChainTyped(TypedDict):
    messages: Annotated[list[LangChainAnyMessage], add_messages]


class Untyped(TypedDict):
    messages: Annotated[list, add_messages]  # type: ignore[type-arg]


def _routing_graph(schema: Any, seen: list[Any], checkpointer: Any = None) -> Any:
    """agent -> (isinstance routing) -> tools -> agent, as LangGraph tutorials write it
    (its code names LangChain's messages: it shows them from the start)."""

    def agent(state: Any) -> dict[str, Any]:
        seen.append(("agent", [type(m) for m in state["messages"]]))
        if isinstance(state["messages"][-1], lc.ToolMessage):
            return {"messages": [lc.AIMessage("done")]}
        call = {"name": "t", "args": {}, "id": "c1"}
        return {"messages": [lc.AIMessage("", tool_calls=[call])]}

    def tools(state: Any) -> dict[str, Any]:
        return {"messages": [lc.ToolMessage("result", tool_call_id="c1")]}

    def route(state: Any) -> str:
        last = state["messages"][-1]
        seen.append(("route", type(last)))
        return "tools" if isinstance(last, lc.AIMessage) and last.tool_calls else END

    builder = StateGraph(schema)
    builder.add_node("agent", agent)
    builder.add_node("tools", tools)
    builder.add_edge(START, "agent")
    builder.add_conditional_edges("agent", route, ["tools", END])
    builder.add_edge("tools", "agent")
    return builder.compile(checkpointer=checkpointer)


@pytest.mark.parametrize("schema", [MessagesState, LangChainTyped, Untyped])
def test_isinstance_routing_on_langchain_messages_routes_as_in_langgraph(schema: Any) -> None:
    seen: list[Any] = []
    out = _routing_graph(schema, seen).invoke({"messages": [lc.HumanMessage("hi")]})
    assert [type(m) for m in out["messages"]] == [
        lc.HumanMessage,
        lc.AIMessage,
        lc.ToolMessage,
        lc.AIMessage,
    ]
    assert seen == [
        ("agent", [lc.HumanMessage]),
        ("route", lc.AIMessage),
        ("agent", [lc.HumanMessage, lc.AIMessage, lc.ToolMessage]),
        ("route", lc.AIMessage),
    ]


def _langchain_reply(text: str) -> Any:
    return lc.AIMessage(text)


def _last_type(state: Any) -> str:
    return type(state["messages"][-1]).__module__.split(".")[0]


def _quiet_graph(seen: list[str], checkpointer: Any = None) -> Any:
    """A graph whose code names nothing of LangChain's, whose node returns a LangChain
    message (from a helper): its key speaks LangChain once one was written."""

    def agent(state: MessagesState) -> dict[str, Any]:
        seen.append(_last_type(state))
        return {"messages": [_langchain_reply("ok")]}

    def route(state: MessagesState) -> str:
        seen.append(_last_type(state))
        return END

    builder = StateGraph(MessagesState)
    builder.add_node("agent", agent)
    builder.add_edge(START, "agent")
    builder.add_conditional_edges("agent", route, [END])
    return builder.compile(checkpointer=checkpointer)


def test_the_first_langchain_message_a_node_writes_is_seen_by_its_own_routing() -> None:
    seen: list[str] = []
    graph = _quiet_graph(seen)
    assert not graph.tables.langchain
    out = graph.invoke({"messages": [("user", "hi")]})
    assert seen == ["graphkit", "langchain_core"]  # nothing LangChain's before the write
    assert [type(m) for m in out["messages"]] == [lc.HumanMessage, lc.AIMessage]


def test_code_naming_langchain_messages_or_models_shows_them_from_the_start() -> None:
    seen: list[Any] = []
    graph = _routing_graph(MessagesState, seen)
    assert graph.tables.langchain == {"messages"}
    graph.invoke({"messages": [("user", "hi")]})
    assert seen[0] == ("agent", [lc.HumanMessage])


def test_a_schema_naming_langchain_messages_shows_them_from_the_start() -> None:
    seen: list[Any] = []
    _routing_graph(LangChainTyped, seen).invoke({"messages": [("user", "hi")]})
    assert seen[0] == ("agent", [lc.HumanMessage])


def test_a_graph_fed_only_graphkit_messages_keeps_graphkit_messages() -> None:
    seen: list[Any] = []

    def reply(state: MessagesState) -> dict[str, Any]:
        seen.extend(type(m) for m in state["messages"])
        return {"messages": [gk.AIMessage("ok")]}

    builder = StateGraph(MessagesState)
    builder.add_node("reply", reply)
    builder.add_edge(START, "reply")
    graph = builder.compile(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "t"}}
    out = graph.invoke({"messages": [("user", "hi")]}, config)
    assert seen == [gk.HumanMessage]
    assert [type(m) for m in out["messages"]] == [gk.HumanMessage, gk.AIMessage]
    state = graph.get_state(config)
    assert [type(m) for m in state.values["messages"]] == [gk.HumanMessage, gk.AIMessage]
    assert not graph.tables.langchain


def test_outputs_streams_and_snapshots_show_langchain_messages_with_their_ids() -> None:
    saver = InMemorySaver()
    graph = _routing_graph(MessagesState, [], saver)
    config = {"configurable": {"thread_id": "t"}}
    chunks = list(
        graph.stream({"messages": [lc.HumanMessage("hi", id="h1")]}, config, stream_mode="values")
    )
    assert all(isinstance(m, lc.BaseMessage) for c in chunks for m in c["messages"])
    state = graph.get_state(config)
    assert [type(m) for m in state.values["messages"]] == [
        lc.HumanMessage,
        lc.AIMessage,
        lc.ToolMessage,
        lc.AIMessage,
    ]
    assert state.values["messages"][0].id == "h1"
    assert state.values["messages"][1].tool_calls[0]["id"] == "c1"
    for snapshot in graph.get_state_history(config):
        assert all(isinstance(m, lc.BaseMessage) for m in snapshot.values.get("messages", []))
    # what the saver keeps is graphkit's (its format is unchanged)
    stored = saver.get_tuple(config)
    assert stored is not None
    assert all(
        isinstance(m, gk.BaseMessage) for m in stored.checkpoint["channel_values"]["messages"]
    )


def test_updates_show_the_message_a_node_returned_with_the_id_it_was_given() -> None:
    graph = _routing_graph(MessagesState, [], InMemorySaver())
    config = {"configurable": {"thread_id": "t"}}
    updates = list(graph.stream({"messages": [lc.HumanMessage("hi")]}, config))
    first = updates[0]["agent"]["messages"][0]
    assert isinstance(first, lc.AIMessage) and first.id is not None
    assert graph.get_state(config).values["messages"][1].id == first.id


def test_a_node_returning_an_edited_langchain_message_replaces_it_by_id() -> None:
    def ask(state: MessagesState) -> dict[str, Any]:
        return {"messages": [lc.AIMessage("draft", id="a1", response_metadata={"m": 1})]}

    def edit(state: MessagesState) -> dict[str, Any]:
        last = state["messages"][-1]
        assert isinstance(last, lc.AIMessage)
        return {"messages": [last.model_copy(update={"content": "final"})]}

    builder = StateGraph(MessagesState)
    builder.add_node("ask", ask)
    builder.add_node("edit", edit)
    builder.add_edge(START, "ask")
    builder.add_edge("ask", "edit")
    out = builder.compile().invoke({"messages": [lc.HumanMessage("hi", id="h")]})
    assert [(type(m), m.id, m.content) for m in out["messages"]] == [
        (lc.HumanMessage, "h", "hi"),
        (lc.AIMessage, "a1", "final"),
    ]
    assert out["messages"][1].response_metadata == {"m": 1}


def test_the_mark_is_sticky_for_later_runs_of_the_graph() -> None:
    seen: list[Any] = []
    graph = _routing_graph(MessagesState, seen, InMemorySaver())
    config = {"configurable": {"thread_id": "t"}}
    graph.invoke({"messages": [lc.HumanMessage("hi")]}, config)
    seen.clear()
    graph.invoke({"messages": [("user", "again")]}, config)
    assert seen[0][1][-1] is lc.HumanMessage


def test_react_loop_with_langchain_fake_model_and_tool_node() -> None:
    @lc_tool
    def add(a: int, b: int) -> int:
        """Add two numbers."""
        return a + b

    model = FakeMessagesListChatModel(
        responses=[
            lc.AIMessage("", tool_calls=[{"name": "add", "args": {"a": 1, "b": 2}, "id": "c1"}]),
            lc.AIMessage("3"),
        ]
    )
    routed: list[str] = []

    def agent(state: MessagesState) -> dict[str, Any]:
        return {"messages": [model.invoke(state["messages"])]}  # LangChain's model

    def route(state: MessagesState) -> str:
        last = state["messages"][-1]
        routed.append("tools" if isinstance(last, lc.AIMessage) and last.tool_calls else END)
        return routed[-1]

    builder = StateGraph(MessagesState)
    builder.add_node("agent", agent)
    builder.add_node("tools", ToolNode([add]))
    builder.add_edge(START, "agent")
    builder.add_conditional_edges("agent", route, ["tools", END])
    builder.add_edge("tools", "agent")
    out = builder.compile().invoke({"messages": [lc.HumanMessage("1+2?")]})
    assert routed == ["tools", END]
    assert [type(m) for m in out["messages"]] == [
        lc.HumanMessage,
        lc.AIMessage,
        lc.ToolMessage,
        lc.AIMessage,
    ]
    assert out["messages"][2].content == "3" and out["messages"][2].tool_call_id == "c1"


def test_tools_condition_routes_langchain_messages_too() -> None:
    call = {"name": "t", "args": {}, "id": "c"}
    assert tools_condition({"messages": [lc.AIMessage("", tool_calls=[call])]}) == "tools"
    assert tools_condition({"messages": [lc.AIMessage("no")]}) == END


def test_a_prebuilt_agent_given_langchain_messages_answers_with_them() -> None:
    @lc_tool
    def add(a: int, b: int) -> int:
        """Add two numbers."""
        return a + b

    class Model(FakeMessagesListChatModel):
        def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
            return self

    model = Model(
        responses=[
            lc.AIMessage("", tool_calls=[{"name": "add", "args": {"a": 1, "b": 2}, "id": "c1"}]),
            lc.AIMessage("3"),
        ]
    )
    agent = create_react_agent(model, [add])
    out = agent.invoke({"messages": [lc.HumanMessage("1+2?")]})
    assert [type(m) for m in out["messages"]] == [
        lc.HumanMessage,
        lc.AIMessage,
        lc.ToolMessage,
        lc.AIMessage,
    ]


def test_send_args_and_subgraphs_see_langchain_messages() -> None:
    seen: list[Any] = []

    def inner(state: MessagesState) -> dict[str, Any]:
        seen.append(("inner", type(state["messages"][-1])))
        return {"messages": [gk.AIMessage("from inside")]}

    sub = StateGraph(MessagesState)
    sub.add_node("inner", inner)
    sub.add_edge(START, "inner")

    def fan(state: MessagesState) -> list[Send]:
        return [Send("worker", {"messages": state["messages"]})]

    def worker(arg: dict[str, Any]) -> dict[str, Any]:
        seen.append(("worker", type(arg["messages"][-1])))
        return {}

    builder = StateGraph(MessagesState)
    builder.add_node("sub", sub.compile())
    builder.add_node("worker", worker)
    builder.add_conditional_edges(START, fan, ["worker"])
    builder.add_edge("worker", "sub")
    out = builder.compile().invoke({"messages": [lc.HumanMessage("hi")]})
    assert seen == [("worker", lc.HumanMessage), ("inner", lc.HumanMessage)]
    assert [type(m) for m in out["messages"]] == [lc.HumanMessage, lc.AIMessage]


def test_async_runs_show_langchain_messages() -> None:
    seen: list[Any] = []

    async def reply(state: MessagesState) -> dict[str, Any]:
        seen.append(type(state["messages"][-1]))
        return {"messages": [lc.AIMessage("ok")]}

    builder = StateGraph(MessagesState)
    builder.add_node("reply", reply)
    builder.add_edge(START, "reply")
    out = asyncio.run(builder.compile().ainvoke({"messages": [lc.HumanMessage("hi")]}))
    assert seen == [lc.HumanMessage]
    assert [type(m) for m in out["messages"]] == [lc.HumanMessage, lc.AIMessage]


def _count_conversions(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The graphkit messages the view converts from now on (in order)."""
    converted: list[Any] = []
    real = view_module.to_langchain_message

    def counting(message: Any) -> Any:
        converted.append(message)
        return real(message)

    monkeypatch.setattr(view_module, "to_langchain_message", counting)
    return converted


def test_a_long_run_converts_each_message_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The view costs O(new messages) per step: the LangChain messages of earlier steps
    are reused (shared, as LangGraph shares message objects across a run's steps)."""
    converted = _count_conversions(monkeypatch)
    firsts: list[Any] = []

    def step(state: dict[str, Any]) -> dict[str, Any]:
        firsts.append(state["messages"][0])
        n = state["n"]
        return {"messages": [gk.AIMessage(f"m{n}", id=f"m{n}")], "n": n + 1}

    def again(state: dict[str, Any]) -> str:
        return "step" if state["n"] < 30 else END

    class State(TypedDict):
        messages: Annotated[list[LangChainAnyMessage], add_messages]
        n: int

    builder = StateGraph(State)
    builder.add_node("step", step)
    builder.add_edge(START, "step")
    builder.add_conditional_edges("step", again, ["step", END])
    out = builder.compile(checkpointer=InMemorySaver()).invoke(
        {"messages": [lc.HumanMessage("go", id="go")], "n": 0},
        {"configurable": {"thread_id": "t"}, "recursion_limit": 100},
    )
    assert len(out["messages"]) == 31
    assert sorted(m.id for m in converted) == sorted({m.id for m in out["messages"]})  # once
    assert all(first is firsts[0] for first in firsts)  # one object for the whole run


def test_readers_share_messages_but_each_gets_a_list_of_its_own() -> None:
    history = gk.add_messages([], [gk.HumanMessage("a", id="a"), gk.AIMessage("b", id="b")])
    first = view_module.langchain_view(history)
    second = view_module.langchain_view(history)
    assert second is not first and all(map(operator.is_, first, second))
    first.append(lc.HumanMessage("junk"))
    first[0] = lc.HumanMessage("replaced", id="a")
    again = view_module.langchain_view(history)
    assert [(m.id, m.content) for m in again] == [("a", "a"), ("b", "b")] and len(history) == 2
    grown = gk.add_messages(history, [gk.AIMessage("c", id="c")])
    assert [m.id for m in view_module.langchain_view(grown)] == ["a", "b", "c"]


def test_a_replaced_or_removed_message_shows_as_it_is_now() -> None:
    history = gk.add_messages([], [gk.HumanMessage(str(i), id=str(i)) for i in range(5)])
    before = view_module.langchain_view(history)
    changed = gk.add_messages(history, [gk.HumanMessage("new", id="2"), gk.RemoveMessage(id="0")])
    after = view_module.langchain_view(changed)
    assert [(m.id, m.content) for m in after] == [("1", "1"), ("2", "new"), ("3", "3"), ("4", "4")]
    assert after[0] is before[1] and after[2] is before[3]  # the unchanged ones are reused


def test_other_reducer_keys_are_left_alone() -> None:
    class State(TypedDict):
        messages: Annotated[list, add_messages]  # type: ignore[type-arg]
        log: Annotated[list[str], operator.add]

    def node(state: dict[str, Any]) -> dict[str, Any]:
        return {"messages": [lc.AIMessage("x")], "log": ["ran"]}

    builder = StateGraph(State)
    builder.add_node("node", node)
    builder.add_edge(START, "node")
    graph = builder.compile()
    out = graph.invoke({"messages": [], "log": []})
    assert out["log"] == ["ran"] and graph.tables.langchain == {"messages"}


_text = st.text(max_size=20)
_ids = st.text(alphabet="abcdef0123456789-", min_size=1, max_size=12)
_json = st.dictionaries(st.text(max_size=5), st.integers() | _text, max_size=3)
_calls = st.lists(
    st.builds(
        lambda n, i, a: {"name": n, "args": a, "id": i, "type": "tool_call"},
        st.text(min_size=1, max_size=8),
        _ids,
        _json,
    ),
    max_size=3,
)
_usage = st.none() | st.builds(
    lambda i, o: {"input_tokens": i, "output_tokens": o, "total_tokens": i + o},
    st.integers(0, 1000),
    st.integers(0, 1000),
)
_lc_messages = st.one_of(
    st.builds(lc.HumanMessage, content=_text, id=_ids, name=st.none() | _text),
    st.builds(lc.SystemMessage, content=_text, id=_ids, additional_kwargs=_json),
    st.builds(
        lc.AIMessage,
        content=_text,
        id=_ids,
        tool_calls=_calls,
        usage_metadata=_usage,
        response_metadata=_json,
        additional_kwargs=_json,
        name=st.none() | _text,
    ),
    st.builds(
        lc.ToolMessage,
        content=_text,
        tool_call_id=_ids,
        id=_ids,
        name=st.none() | _text,
        status=st.sampled_from(["success", "error"]),
        artifact=st.none() | _json,
    ),
)


@given(_lc_messages)
def test_langchain_messages_round_trip_exactly(message: Any) -> None:
    back = to_langchain_message(from_langchain_message(message))
    assert type(back) is type(message)
    assert back == message
    assert back.id == message.id


def test_a_thread_keeps_speaking_langchain_in_a_graph_compiled_anew() -> None:
    """Another process (here: the graph compiled again) loading the thread shows its
    messages as LangChain's before any LangChain message comes in there."""
    saver = InMemorySaver()
    config = {"configurable": {"thread_id": "t"}}
    _quiet_graph([], saver).invoke({"messages": [("user", "hi")]}, config)
    seen: list[str] = []
    fresh = _quiet_graph(seen, saver)
    assert not fresh.tables.langchain
    state = fresh.get_state(config)
    assert [type(m) for m in state.values["messages"]] == [lc.HumanMessage, lc.AIMessage]
    again = _quiet_graph(seen, saver)
    again.invoke({"messages": [("user", "more")]}, config)
    assert seen[0] == "langchain_core"


_MODEL = FakeMessagesListChatModel(responses=[lc.AIMessage("x")])


def test_code_that_names_langchain_is_recognised() -> None:
    from langchain_core.messages import AIMessage as LangChainAI

    from graphkit._langchain import code_speaks_langchain

    def by_class(state: Any) -> bool:
        return isinstance(state["messages"][-1], LangChainAI)  # a closure variable

    def by_module(state: Any) -> Any:
        return [m for m in state["messages"] if isinstance(m, lc.AIMessage)]  # nested code

    def by_model(state: Any) -> Any:
        return _MODEL.invoke(state["messages"])  # a global chat model

    def plain(state: Any) -> Any:
        return {"messages": [gk.AIMessage("ok")]}

    assert all(map(code_speaks_langchain, (by_class, by_module, by_model)))
    assert not code_speaks_langchain(plain)


def test_tool_node_answers_in_the_kind_of_messages_it_reads() -> None:
    @lc_tool
    def add(a: int, b: int) -> int:
        """Add two numbers."""
        return a + b

    node = ToolNode([add])
    call = {"name": "add", "args": {"a": 1, "b": 2}, "id": "c1"}
    out = node.invoke({"messages": [lc.AIMessage("", tool_calls=[call])]})
    assert [(type(m), m.content, m.tool_call_id) for m in out["messages"]] == [
        (lc.ToolMessage, "3", "c1")
    ]
    mine = node.invoke({"messages": [gk.AIMessage("", tool_calls=[call])]})
    assert [type(m) for m in mine["messages"]] == [gk.ToolMessage]
    both = node.invoke([lc.AIMessage("", tool_calls=[call])])
    assert [type(m) for m in both] == [lc.ToolMessage]


def test_a_tool_node_in_a_langchain_graph_streams_langchain_updates() -> None:
    @lc_tool
    def add(a: int, b: int) -> int:
        """Add two numbers."""
        return a + b

    call = {"name": "add", "args": {"a": 1, "b": 2}, "id": "c1"}
    builder = StateGraph(MessagesState)
    builder.add_node("tools", ToolNode([add]))
    builder.add_edge(START, "tools")
    updates = list(builder.compile().stream({"messages": [lc.AIMessage("", tool_calls=[call])]}))
    assert [type(m) for m in updates[0]["tools"]["messages"]] == [lc.ToolMessage]


def test_a_prompt_function_written_for_langchain_reads_langchain_messages() -> None:
    seen: list[Any] = []

    class Model(FakeMessagesListChatModel):
        def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
            return self

    def prompt(state: dict[str, Any]) -> Any:
        seen.append([type(m) for m in state["messages"]])
        return lc.SystemMessage("be brief") + state["messages"]  # a template, in LangChain

    agent = create_react_agent(Model(responses=[lc.AIMessage("ok")]), [], prompt=prompt)
    out = agent.invoke({"messages": [("user", "hi")]})
    assert seen == [[lc.HumanMessage]]
    assert [type(m) for m in out["messages"]] == [lc.HumanMessage, lc.AIMessage]


def test_the_messages_stream_carries_the_langchain_messages_a_node_returned() -> None:
    def reply(state: MessagesState) -> dict[str, Any]:
        return {"messages": [lc.AIMessage("hello")]}

    builder = StateGraph(MessagesState)
    builder.add_node("reply", reply)
    builder.add_edge(START, "reply")
    chunks = list(builder.compile().stream({"messages": [("user", "hi")]}, stream_mode="messages"))
    assert [(type(m), m.content) for m, _ in chunks] == [(lc.AIMessage, "hello")]


def test_a_history_handed_back_is_not_converted_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """A run without a checkpointer takes the whole history each turn: the LangChain
    messages of its last output turn back into the graphkit messages they show."""
    import graphkit.messages as messages_module

    converted: list[Any] = []
    real = messages_module.from_langchain_message

    def counting(message: Any) -> Any:
        converted.append(message.content)
        return real(message)

    monkeypatch.setattr(messages_module, "from_langchain_message", counting)

    def reply(state: MessagesState) -> dict[str, Any]:
        return {"messages": [lc.AIMessage(f"answer {len(state['messages'])}")]}

    builder = StateGraph(MessagesState)
    builder.add_node("reply", reply)
    builder.add_edge(START, "reply")
    graph = builder.compile()
    out = graph.invoke({"messages": [lc.HumanMessage("q0")]})
    for turn in range(1, 4):
        converted.clear()
        out = graph.invoke({"messages": [*out["messages"], lc.HumanMessage(f"q{turn}")]})
        assert converted == [f"q{turn}", f"answer {2 * turn + 1}"]  # the new ones only
    assert len(out["messages"]) == 8

    shown = out["messages"][-1]
    shown.content = "changed in place"  # no longer what it showed: converted anew
    again = graph.invoke({"messages": out["messages"]})
    assert again["messages"][7].content == "changed in place"


def test_interrupts_and_sends_carrying_langchain_messages_are_saved(tmp_path: Any) -> None:
    from graphkit.checkpoint.lmdb import LMDBSaver
    from graphkit.types import Command, interrupt

    def fan(state: MessagesState) -> list[Send]:
        return [Send("ask", {"messages": state["messages"]})]

    def ask(arg: dict[str, Any]) -> dict[str, Any]:
        answer = interrupt({"last": arg["messages"][-1]})
        return {"messages": [lc.AIMessage(f"got {answer}")]}

    builder = StateGraph(MessagesState)
    builder.add_node("ask", ask)
    builder.add_conditional_edges(START, fan, ["ask"])
    config = {"configurable": {"thread_id": "t"}}
    with LMDBSaver(str(tmp_path)) as saver:
        builder.compile(checkpointer=saver).invoke({"messages": [lc.HumanMessage("hi")]}, config)
    with LMDBSaver(str(tmp_path)) as saver:
        graph = builder.compile(checkpointer=saver)
        asked = graph.get_state(config).interrupts[0].value["last"]
        assert isinstance(asked, lc.HumanMessage) and asked.content == "hi"
        out = graph.invoke(Command(resume="yes"), config)
    assert [(type(m), m.content) for m in out["messages"]] == [
        (lc.HumanMessage, "hi"),
        (lc.AIMessage, "got yes"),
    ]


def test_a_pushed_langchain_message_streams_as_given_and_shows_in_values() -> None:
    from graphkit.graph.message import push_message

    def chat(state: MessagesState) -> None:
        push_message(lc.AIMessage("first", id="1"))

    builder = StateGraph(MessagesState)
    builder.add_node("chat", chat)
    builder.add_edge(START, "chat")
    pushed: list[Any] = []
    values: Any = None
    for mode, chunk in builder.compile().stream(
        {"messages": []}, stream_mode=["messages", "values"]
    ):
        if mode == "values":
            values = chunk
        else:
            pushed.append(chunk[0])
    assert values["messages"] == pushed and isinstance(pushed[0], lc.AIMessage)


# -- reads of a saved thread: isolation, identity, cost --------------------------------


def _chat_graph(saver: Any, seen: list[list[Any]] | None = None) -> Any:
    """One chat turn, written for LangGraph (its node names LangChain's messages)."""
    replies = itertools.count()

    def reply(state: MessagesState) -> dict[str, Any]:
        if seen is not None:
            seen.append(state["messages"])
        text = f"re: {state['messages'][-1].content}"
        return {"messages": [lc.AIMessage(text, id=f"reply-{next(replies)}")]}

    builder = StateGraph(MessagesState)
    builder.add_node("reply", reply)
    builder.add_edge(START, "reply")
    return builder.compile(checkpointer=saver)


def _shown(messages: list[Any]) -> list[tuple[type, Any, Any]]:
    return [(type(m), m.content, m.additional_kwargs) for m in messages]


@pytest.mark.parametrize("copy_on_read", [True, False])
def test_a_reader_changing_its_list_changes_no_other_read(copy_on_read: bool) -> None:
    seen: list[list[Any]] = []
    graph = _chat_graph(InMemorySaver(copy_on_read=copy_on_read), seen)
    config = {"configurable": {"thread_id": "t"}}
    out = graph.invoke({"messages": [lc.HumanMessage("hi", id="h")]}, config)
    out["messages"][0] = lc.HumanMessage("replaced", id="h")
    out["messages"].append(lc.HumanMessage("junk", id="j"))
    state = graph.get_state(config).values["messages"]
    assert [m.content for m in state] == ["hi", "re: hi"]
    state.reverse()
    state.pop()
    graph.invoke({"messages": [lc.HumanMessage("again", id="a")]}, config)
    assert [m.content for m in seen[-1]] == ["hi", "re: hi", "again"]
    assert [m.content for m in graph.get_state(config).values["messages"]] == [
        "hi",
        "re: hi",
        "again",
        "re: again",
    ]


def test_a_copying_saver_gives_each_read_fresh_langchain_messages() -> None:
    """As LangGraph's savers do: what one read changes in place, no other read sees."""
    seen: list[list[Any]] = []
    graph = _chat_graph(InMemorySaver(), seen)
    config = {"configurable": {"thread_id": "t"}}
    out = graph.invoke({"messages": [lc.HumanMessage("hi", id="h")]}, config)
    out["messages"][0].content = "changed"
    out["messages"][1].additional_kwargs["note"] = "changed"
    first = graph.get_state(config).values["messages"]
    second = graph.get_state(config).values["messages"]
    expected = [(lc.HumanMessage, "hi", {}), (lc.AIMessage, "re: hi", {})]
    assert _shown(first) == _shown(second) == expected
    assert not any(map(operator.is_, first, second))
    first[1].content = "changed too"
    graph.invoke({"messages": [lc.HumanMessage("again", id="a")]}, config)
    assert _shown(seen[-1]) == [*expected, (lc.HumanMessage, "again", {})]
    assert not any(map(operator.is_, seen[-1], first))


def test_a_sharing_saver_shares_messages_between_reads_but_not_lists() -> None:
    """``copy_on_read=False``: reads share the LangChain messages (O(new) per read), as
    they share the saver's own messages; each still gets a list of its own."""
    graph = _chat_graph(InMemorySaver(copy_on_read=False))
    config = {"configurable": {"thread_id": "t"}}
    history = [lc.HumanMessage(f"m{i}", id=f"m{i}") for i in range(50)]
    graph.invoke({"messages": history}, config)
    graph.invoke({"messages": [lc.HumanMessage("hi", id="h")]}, config)
    first = graph.get_state(config).values["messages"]
    second = graph.get_state(config).values["messages"]
    assert first is not second and all(map(operator.is_, first, second))
    graph.invoke({"messages": [lc.HumanMessage("again", id="a")]}, config)
    third = graph.get_state(config).values["messages"]
    assert len(third) == 55 and all(map(operator.is_, first, third[:53]))


@pytest.mark.parametrize("copy_on_read", [True, False])
def test_a_turn_on_a_long_thread_converts_only_its_new_messages(
    copy_on_read: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    converted = _count_conversions(monkeypatch)
    graph = _chat_graph(InMemorySaver(copy_on_read=copy_on_read))
    config = {"configurable": {"thread_id": "t"}}
    history = [lc.HumanMessage(f"m{i}", id=f"m{i}") for i in range(300)]
    graph.invoke({"messages": history}, config)
    for turn in range(3):
        converted.clear()
        graph.invoke({"messages": [lc.HumanMessage(f"q{turn}", id=f"q{turn}")]}, config)
        state = graph.get_state(config).values["messages"]
        assert sorted(m.content for m in converted) == [f"q{turn}", f"re: q{turn}"]
        assert len(state) == 303 + 2 * turn


def test_graphs_that_do_not_speak_langchain_never_build_a_view(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def fail(*args: Any) -> Any:
        raise AssertionError("a view was built")

    monkeypatch.setattr(view_module, "_history_view", fail)

    def reply(state: MessagesState) -> dict[str, Any]:
        return {"messages": [gk.AIMessage("ok")]}

    builder = StateGraph(MessagesState)
    builder.add_node("reply", reply)
    builder.add_edge(START, "reply")
    for saver in (InMemorySaver(), InMemorySaver(copy_on_read=False)):
        graph = builder.compile(checkpointer=saver)
        config = {"configurable": {"thread_id": "t"}}
        for turn in range(3):
            graph.invoke({"messages": [gk.HumanMessage(f"q{turn}")]}, config)
        assert len(graph.get_state(config).values["messages"]) == 6
        assert not graph.tables.langchain


_turns = st.lists(st.lists(_lc_messages, min_size=1, max_size=3), min_size=1, max_size=4)


@given(_turns)
def test_copying_and_sharing_savers_show_the_same_messages(turns: list[list[Any]]) -> None:
    """Whatever the turns (ids repeating: replaced messages), both savers' readers see
    LangChain's messages equal to the stored history converted afresh."""
    seen: dict[bool, list[list[Any]]] = {True: [], False: []}
    graphs = {c: _chat_graph(InMemorySaver(copy_on_read=c), seen[c]) for c in (True, False)}
    config = {"configurable": {"thread_id": "t"}}
    for turn in turns:
        outs = [graphs[c].invoke({"messages": turn}, config) for c in (True, False)]
        assert outs[0]["messages"] == outs[1]["messages"]
        for copy_on_read, graph in graphs.items():
            stored = graph.checkpointer.get_tuple(config).checkpoint["channel_values"]
            expected = [to_langchain_message(m) for m in stored["messages"]]
            assert graph.get_state(config).values["messages"] == expected
            read = seen[copy_on_read][-1]
            assert all(type(a) is type(b) for a, b in zip(expected, read, strict=False))
    assert seen[True] == seen[False]


def test_a_message_changed_inside_a_nested_field_and_handed_back_keeps_the_change() -> None:
    graph = _chat_graph(None)  # no checkpointer: the caller hands the history back
    out = graph.invoke({"messages": [lc.HumanMessage("q0", id="q0")]})
    for message in out["messages"]:
        message.additional_kwargs["note"] = "edited"
    again = graph.invoke({"messages": out["messages"]})
    assert [m.additional_kwargs for m in again["messages"][:2]] == [{"note": "edited"}] * 2


# -- a copying saver's reads for code speaking LangChain: no graphkit copy first ----------


def _copied_elements(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many elements each read copies from now on (the saver's ``_copies``)."""
    copied: list[int] = []
    real = codec_module._copies

    def counting(copiers: list[Any], elements: list[Any]) -> list[Any]:
        copied.append(len(elements))
        return real(copiers, elements)

    monkeypatch.setattr(codec_module, "_copies", counting)
    return copied


def _long_thread(graph: Any, count: int = 50) -> dict[str, Any]:
    config = {"configurable": {"thread_id": "t"}}
    history = [lc.HumanMessage(f"m{i}", id=f"m{i}") for i in range(count)]
    graph.invoke({"messages": history}, config)
    graph.invoke({"messages": [lc.HumanMessage("hi", id="h")]}, config)  # (read twice: kept)
    return config


@pytest.mark.parametrize("kind", ["memory", "lmdb"])
def test_turns_and_get_state_copy_no_message_the_view_converts(
    kind: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    """The view makes fresh LangChain messages of every message a read shows: the
    saver's graphkit copies of them, thrown away at once, are not made."""
    from graphkit.checkpoint.lmdb import LMDBSaver

    seen: list[list[Any]] = []
    saver = InMemorySaver() if kind == "memory" else LMDBSaver(str(tmp_path / "db"))
    graph = _chat_graph(saver, seen)
    config = _long_thread(graph)
    copied = _copied_elements(monkeypatch)
    out = graph.invoke({"messages": [lc.HumanMessage("again", id="a")]}, config)
    state = graph.get_state(config).values["messages"]
    assert copied == []
    assert len(state) == len(out["messages"]) == len(seen[-1]) + 1 == 55
    assert all(isinstance(m, lc.BaseMessage) for m in [*state, *out["messages"], *seen[-1]])


def test_a_graph_with_a_reader_of_graphkit_messages_keeps_copying_reads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``tools_condition`` (graphkit's own) reads graphkit's messages as they are: runs of
    its graph get the saver's copies, as before; ``get_state`` shows views alone."""
    builder = StateGraph(MessagesState)
    builder.add_node("reply", lambda state: {"messages": [lc.AIMessage("ok")]})
    builder.add_edge(START, "reply")
    builder.add_conditional_edges("reply", tools_condition, {"tools": "reply", END: END})
    graph = builder.compile(checkpointer=InMemorySaver())
    config = _long_thread(graph)
    assert graph.tables.converted_reads() == frozenset()
    assert graph.tables.converted_reads(run=False) == {"messages"}
    copied = _copied_elements(monkeypatch)
    graph.invoke({"messages": [lc.HumanMessage("again", id="a")]}, config)
    assert sum(copied) >= 50
    copied.clear()
    assert len(graph.get_state(config).values["messages"]) == 55 and copied == []


def _containers(value: Any, found: dict[int, Any]) -> dict[int, Any]:
    """Every mutable object reachable from ``value`` (messages, their ``__dict__`` and
    fields set, dicts, lists), by id (``found``: kept alive while the ids are compared)."""
    if isinstance(value, (lc.BaseMessage, gk.BaseMessage)):
        found[id(value)] = value
        found[id(value.__dict__)] = value.__dict__
        found[id(value.__pydantic_fields_set__)] = value.__pydantic_fields_set__
        for item in value.__dict__.values():
            _containers(item, found)
    elif isinstance(value, dict):
        found[id(value)] = value
        for item in value.values():
            _containers(item, found)
    elif isinstance(value, list):
        found[id(value)] = value
        for item in value:
            _containers(item, found)
    return found


def _scramble(value: Any) -> None:
    """Change everything reachable from ``value`` in place."""
    if isinstance(value, lc.BaseMessage):
        for item in list(value.__dict__.values()):
            _scramble(item)
        value.content = "scrambled"
    elif isinstance(value, dict):
        for item in list(value.values()):
            _scramble(item)
        value["scrambled"] = True
    elif isinstance(value, list):
        for item in list(value):
            _scramble(item)
        value.append("scrambled")


_blocks = st.lists(st.fixed_dictionaries({"type": st.just("text"), "text": _text}), max_size=2)
_nested_messages = st.one_of(
    st.builds(lc.HumanMessage, content=_text | _blocks, id=_ids, additional_kwargs=_json),
    st.builds(
        lc.AIMessage,
        content=_text | _blocks,
        id=_ids,
        tool_calls=_calls,
        response_metadata=_json,
        additional_kwargs=_json,
    ),
    st.builds(lc.ToolMessage, content=_text | _blocks, tool_call_id=_ids, id=_ids),
)


@given(st.lists(st.lists(_nested_messages, min_size=1, max_size=3), min_size=1, max_size=3))
def test_reads_share_nothing_mutable_with_the_saver_or_one_another(
    turns: list[list[Any]],
) -> None:
    """Whatever the messages (content blocks, tool calls, metadata), what a run's node,
    its output and each ``get_state`` get shares no mutable object with the messages
    the saver keeps or with another read; changing all of it in place changes nothing
    any later read shows."""
    saver = InMemorySaver()
    seen: list[list[Any]] = []
    graph = _chat_graph(saver, seen)
    config = {"configurable": {"thread_id": "t"}}
    for turn in turns:
        out = graph.invoke({"messages": turn}, config)
    stored = saver.get_tuple(config).checkpoint["channel_values"]["messages"]
    expected = [to_langchain_message(m) for m in stored]
    first = graph.get_state(config).values["messages"]
    second = graph.get_state(config).values["messages"]
    assert first == second == expected
    kept = _containers([e.decoded for e in saver._lists._entries.values()], {})
    reads = [_containers(read, {}) for read in (first, second, seen[-1] + out["messages"])]
    for one, read in enumerate(reads):
        assert not read.keys() & kept.keys()
        assert not any(read.keys() & other.keys() for other in reads[one + 1 :])
    for read in (first, seen[-1], out["messages"]):
        _scramble(read)
    assert graph.get_state(config).values["messages"] == expected
    graph.invoke({"messages": [lc.HumanMessage("next", id="next-turn")]}, config)
    assert seen[-1][: len(expected)] == expected


def test_runs_restoring_one_checkpoint_share_no_langchain_message(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two runs forked from one checkpoint restore the same messages the saver keeps
    (uncopied): each run's readers still get LangChain messages of their own."""
    seen: list[list[Any]] = []
    graph = _chat_graph(InMemorySaver(), seen)
    config = _long_thread(graph)
    fork = graph.get_state(config).config
    copied = _copied_elements(monkeypatch)
    graph.invoke({"messages": [lc.HumanMessage("one", id="one")]}, fork)
    seen[-1][0].content = "changed by the first fork"
    seen[-1][1].additional_kwargs["note"] = "changed by the first fork"
    graph.invoke({"messages": [lc.HumanMessage("two", id="two")]}, fork)
    first, second = seen[-2:]
    assert copied == [] and len(first) == len(second) == 54
    assert not any(map(operator.is_, first[:53], second[:53]))
    assert (second[0].content, second[1].additional_kwargs) == ("m0", {})
    assert second[-1].content == "two"


def test_get_state_messages_handed_back_are_copies_of_what_the_saver_keeps() -> None:
    saver = InMemorySaver()
    graph = _chat_graph(saver)
    config = _long_thread(graph)
    shown = graph.get_state(config).values["messages"]
    kept = saver._lists._entries["t", "", "messages"].decoded
    back = list(map(view_module.graphkit_source, shown))
    assert len(back) == len(kept) == 53
    assert back == kept and not any(map(operator.is_, back, kept))


def test_the_benchmarks_workloads_read_as_users_code() -> None:
    from graphkit.bench import bench_history
    from graphkit.engine.tables import reads_graphkit

    graph, _, _ = bench_history._chat_graph(lang=False, speaks=True)
    assert not reads_graphkit(graph.tables.nodes["reply"].call.fn)
    assert graph.tables.nodes["reply"].shown_langchain


def test_a_history_copies_no_message_and_its_results_are_the_callers_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``get_state_history`` reads the saver's messages uncopied (objects of the
    listing's own): its snapshots show LangChain's view of them, and a task's result
    that holds messages of a later checkpoint (a node that wrote graphkit's messages)
    gets copies, so changing them changes nothing the saver keeps."""
    saver = InMemorySaver()
    replies = itertools.count()

    def reply(state: MessagesState) -> dict[str, Any]:
        return {"messages": [gk.AIMessage("ok", id=f"r{next(replies)}", additional_kwargs={})]}

    builder = StateGraph(MessagesState)
    builder.add_node("reply", reply)
    builder.add_edge(START, "reply")
    graph = builder.compile(checkpointer=saver)
    config = _long_thread(graph)
    graph.invoke({"messages": [lc.HumanMessage("again", id="a")]}, config)
    copied = _copied_elements(monkeypatch)
    history = list(graph.get_state_history(config, limit=4))
    assert copied == [] and len(history[0].values["messages"]) == 55
    assert all(isinstance(m, lc.BaseMessage) for s in history for m in s.values["messages"])
    (result,) = [t.result for t in history[1].tasks if t.name == "reply"]
    (message,) = result["messages"]
    kept = saver._lists._entries["t", "", "messages"].decoded
    assert message == kept[54] and message is not kept[54]
    message.additional_kwargs["note"] = "changed"
    message.content = "changed"
    shown = graph.get_state(config).values["messages"][54]
    assert (shown.content, shown.additional_kwargs) == ("ok", {})
    assert kept[54].content == "ok" and kept[54].additional_kwargs == {}
