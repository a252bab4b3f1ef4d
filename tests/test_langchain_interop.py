"""LangChain objects in graphkit: messages, chat models and tools from ``langchain_*``.

Code moving from LangGraph keeps LangChain pieces (``langchain_core`` messages, a
``langchain-*`` chat model for a provider graphkit has no adapter for, LangChain
tools). These tests use LangChain's real classes: its fake chat models, its ``@tool``,
and ``langchain_openai.ChatOpenAI`` over the OpenAI SDK at the HTTP transport (the
scripted server of ``tests/_http.py``), never a stand-in of our own code.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import types
from collections.abc import Iterator
from typing import Annotated, Any

import pytest
from _http import FixtureServer
from hypothesis import given
from hypothesis import strategies as st
from langchain_core import messages as lc
from langchain_core.language_models.fake_chat_models import (
    FakeMessagesListChatModel,
    GenericFakeChatModel,
)
from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder
from langchain_core.runnables import RunnableConfig, RunnableLambda
from langchain_core.tools import InjectedToolCallId, ToolException
from langchain_core.tools import tool as lc_tool
from langchain_openai import ChatOpenAI as LangChainOpenAI
from pydantic import BaseModel
from typing_extensions import TypedDict

from graphkit import AIMessage, HumanMessage, ToolMessage
from graphkit._langchain import from_langchain_message, to_langchain_message
from graphkit.checkpoint.lmdb import LMDBSaver
from graphkit.errors import InvalidArgumentError, InvalidInputError, InvalidMessageError
from graphkit.graph import START, MessagesState, StateGraph, add_messages
from graphkit.messages import (
    REMOVE_ALL_MESSAGES,
    AIMessageChunk,
    SystemMessage,
    convert_to_messages,
    history_reducer,
    to_langchain_messages,
)
from graphkit.models import (
    FakeChatModel,
    LangChainChatModel,
    MissingProviderPackageError,
    init_chat_model,
)
from graphkit.prebuilt import (
    InjectedState,
    InjectedStore,
    ToolNode,
    ToolRuntime,
    ValidationNode,
    create_react_agent,
)
from graphkit.store.memory import InMemoryStore
from graphkit.tools import convert_to_tool
from graphkit.types import Command


class ToolCallingFake(GenericFakeChatModel):
    """LangChain's streaming fake with ``bind_tools`` (its base class refuses it): records
    what it was bound with, as a provider's model would send it."""

    bindings: list[tuple[list[dict[str, Any]], dict[str, Any]]] = []  # noqa: RUF012

    def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
        self.bindings.append((list(tools), kwargs))
        return self


def _fake(*replies: lc.AIMessage) -> ToolCallingFake:
    fake = ToolCallingFake(messages=iter(replies))
    fake.bindings = []
    return fake


@lc_tool
def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


# -- messages ---------------------------------------------------------------------


def test_a_history_turns_langchain_messages_into_graphkit_ones() -> None:
    """What a key declared with ``add_messages`` merges with (``history_reducer``) keeps
    graphkit's messages: the engine shows LangChain's view to code that speaks LangChain."""
    call = {"name": "add", "args": {"a": 1, "b": 2}, "id": "c1", "type": "tool_call"}
    usage = {"input_tokens": 3, "output_tokens": 4, "total_tokens": 7}
    merged = history_reducer(
        [lc.SystemMessage("be brief", id="s")],
        [
            lc.HumanMessage("hi", id="h", name="ann"),
            lc.AIMessage("", id="a", tool_calls=[call], usage_metadata=usage),
            lc.ToolMessage("3", tool_call_id="c1", id="t", status="error", artifact={"x": 1}),
            lc.ChatMessage("from the dev", role="developer", id="d"),
            lc.HumanMessageChunk("piece", id="p"),
        ],
    )
    assert [type(m) for m in merged] == [
        SystemMessage,
        HumanMessage,
        AIMessage,
        ToolMessage,
        SystemMessage,
        HumanMessage,
    ]
    assert [m.id for m in merged] == ["s", "h", "a", "t", "d", "p"]
    human, ai, tool = merged[1], merged[2], merged[3]
    assert (human.content, human.name) == ("hi", "ann")
    assert isinstance(ai, AIMessage) and ai.tool_calls == [call] and ai.usage == usage
    assert isinstance(tool, ToolMessage)
    assert (tool.tool_call_id, tool.status, tool.artifact) == ("c1", "error", {"x": 1})


def test_add_messages_called_directly_with_langchain_messages_returns_langchains() -> None:
    """As LangGraph's: the given objects kept (an id given in place), shorthand and
    graphkit messages converted, removals by id."""
    first, second = lc.HumanMessage("hi"), lc.AIMessage("yo", id="2")
    merged = add_messages([first], [second, ("user", "more"), HumanMessage("gk", id="4")])
    assert merged[0] is first and first.id is not None
    assert merged[1] is second
    assert [type(m) for m in merged] == [
        lc.HumanMessage,
        lc.AIMessage,
        lc.HumanMessage,
        lc.HumanMessage,
    ]
    assert [m.content for m in merged] == ["hi", "yo", "more", "gk"]
    kept = add_messages(merged, [lc.RemoveMessage(id="2"), lc.AIMessage("new", id="4")])
    assert [(m.content, m.id) for m in kept] == [
        ("hi", first.id),
        ("more", merged[2].id),
        ("new", "4"),
    ]
    cleared = add_messages(kept, [lc.RemoveMessage(id=REMOVE_ALL_MESSAGES), lc.AIMessage("z")])
    assert [type(m) for m in cleared] == [lc.AIMessage]
    with pytest.raises(InvalidMessageError, match="doesn't exist"):
        add_messages(kept, lc.RemoveMessage(id="gone"))


def test_a_reducer_wrapping_add_messages_keeps_langchains_across_turns(tmp_path: Any) -> None:
    """A custom reducer written for LangGraph (the last three messages) gets and gives
    LangChain's messages; the history survives a checkpoint and a reopened saver."""

    def last_three(left: Any, right: Any) -> Any:
        return add_messages(left, right)[-3:]

    class State(TypedDict):
        messages: Annotated[list[lc.AnyMessage], last_three]

    seen: list[list[type]] = []

    def reply(state: State) -> dict[str, Any]:
        seen.append([type(m) for m in state["messages"]])
        return {"messages": [lc.AIMessage(f"re: {state['messages'][-1].content}")]}

    builder = StateGraph(State).add_node(reply).add_edge(START, "reply")
    config: Any = {"configurable": {"thread_id": "t"}}
    with LMDBSaver(tmp_path) as saver:
        graph = builder.compile(checkpointer=saver)
        for text in ("a", "b"):
            out = graph.invoke({"messages": [lc.HumanMessage(text)]}, config)
    assert [m.content for m in out["messages"]] == ["re: a", "b", "re: b"]
    assert all(isinstance(m, lc.BaseMessage) for m in out["messages"])
    assert seen == [[lc.HumanMessage], [lc.HumanMessage, lc.AIMessage, lc.HumanMessage]]
    with LMDBSaver(tmp_path) as saver:
        values = builder.compile(checkpointer=saver).get_state(config).values
    assert [(type(m), m.content) for m in values["messages"]] == [
        (lc.AIMessage, "re: a"),
        (lc.HumanMessage, "b"),
        (lc.AIMessage, "re: b"),
    ]


def test_a_langchain_remove_message_removes_by_id() -> None:
    history = add_messages([], [lc.HumanMessage("a", id="1"), lc.HumanMessage("b", id="2")])
    assert [m.id for m in add_messages(history, [lc.RemoveMessage(id="1")])] == ["2"]


def test_one_langchain_message_converts_as_one_message() -> None:
    assert [m.content for m in convert_to_messages(lc.HumanMessage("solo"))] == ["solo"]


def test_a_langchain_message_kind_graphkit_lacks_is_refused_by_name() -> None:
    with pytest.raises(InvalidMessageError, match="FunctionMessage.*'function'"):
        convert_to_messages([lc.FunctionMessage("x", name="f")])


_ids = st.none() | st.text(min_size=1, max_size=8)
_texts = st.text(max_size=20)
_calls = st.lists(
    st.builds(
        lambda name, x, i: {"name": name, "args": {"x": x}, "id": i, "type": "tool_call"},
        st.text(min_size=1, max_size=5),
        st.integers(),
        st.text(min_size=1, max_size=5),
    ),
    max_size=2,
)
_graphkit_messages = st.one_of(
    st.builds(HumanMessage, _texts, id=_ids, name=st.none() | _texts),
    st.builds(SystemMessage, _texts, id=_ids),
    st.builds(AIMessage, _texts, id=_ids, tool_calls=_calls),
    st.builds(ToolMessage, _texts, id=_ids, tool_call_id=st.text(min_size=1, max_size=5)),
)


@given(_graphkit_messages)
def test_messages_round_trip_through_langchain_unchanged(message: Any) -> None:
    there = to_langchain_message(message)
    assert there.type == message.type and there.content == message.content
    assert from_langchain_message(there) == message


def test_langchain_messages_in_a_durable_thread_read_back_as_langchain_messages(
    tmp_path: Any,
) -> None:
    def reply(state: MessagesState) -> dict[str, Any]:
        return {"messages": [lc.AIMessage(f"seen {len(state['messages'])}")]}

    builder = StateGraph(MessagesState)
    builder.add_node("reply", reply)
    builder.add_edge(START, "reply")
    config = {"configurable": {"thread_id": "t"}}
    with LMDBSaver(str(tmp_path)) as saver:
        builder.compile(checkpointer=saver).invoke({"messages": [lc.HumanMessage("hi")]}, config)
    with LMDBSaver(str(tmp_path)) as saver:
        values = builder.compile(checkpointer=saver).get_state(config).values
        stored = saver.get_tuple(config)
    assert [(type(m), m.text) for m in values["messages"]] == [  # as LangGraph's
        (lc.HumanMessage, "hi"),
        (lc.AIMessage, "seen 1"),
    ]
    assert stored is not None  # the saver keeps graphkit's (its format is unchanged)
    assert [type(m) for m in stored.checkpoint["channel_values"]["messages"]] == [
        HumanMessage,
        AIMessage,
    ]


# -- chat models ------------------------------------------------------------------


def test_a_wrapped_model_takes_and_returns_graphkit_messages() -> None:
    model = LangChainChatModel(FakeMessagesListChatModel(responses=[lc.AIMessage("hello")]))
    reply = model.invoke([SystemMessage("be nice"), HumanMessage("hi")])
    assert isinstance(reply, AIMessage) and reply.content == "hello"
    assert model.provider == "fakemessageslistchatmodel"


def test_wrapping_something_else_is_refused() -> None:
    with pytest.raises(InvalidArgumentError, match="wraps a LangChain chat model, got FakeList"):
        LangChainChatModel(type("FakeList", (), {})())


def test_a_wrapped_model_streams_tokens_into_the_messages_mode() -> None:
    model = LangChainChatModel(GenericFakeChatModel(messages=iter([lc.AIMessage("one two")])))

    def agent(state: MessagesState) -> dict[str, Any]:
        return {"messages": [model.invoke(state["messages"])]}

    builder = StateGraph(MessagesState)
    builder.add_node("agent", agent)
    builder.add_edge(START, "agent")
    chunks = list(builder.compile().stream({"messages": [("user", "hi")]}, stream_mode="messages"))
    assert "".join(c.content for c, _ in chunks) == "one two"
    assert len(chunks) > 1 and all(isinstance(c, AIMessageChunk) for c, _ in chunks)
    assert {meta["langgraph_node"] for _, meta in chunks} == {"agent"}
    assert {meta["ls_provider"] for _, meta in chunks} == {"genericfakechatmodel"}


def _one_model_node_graph(node: Any) -> Any:
    return StateGraph(MessagesState).add_node("agent", node).add_edge(START, "agent").compile()


def test_a_langchain_model_a_node_calls_streams_its_tokens() -> None:
    # The quickstart: a node calls a LangChain model itself, the caller streams "messages".
    model = GenericFakeChatModel(messages=iter([lc.AIMessage("one two", id="m1")] * 2))

    def agent(state: MessagesState) -> dict[str, Any]:
        return {"messages": [model.invoke(state["messages"])]}

    def agent_with_config(state: MessagesState, config: RunnableConfig) -> dict[str, Any]:
        return {"messages": [model.invoke(state["messages"], config)]}

    for node in (agent, agent_with_config):
        graph = _one_model_node_graph(node)
        chunks = list(graph.stream({"messages": [("user", "hi")]}, stream_mode="messages"))
        assert [c.content for c, _ in chunks] == ["one", " ", "two"]  # tokens, then no repeat
        assert all(isinstance(c, lc.AIMessageChunk) for c, _ in chunks)
        assert {(m["langgraph_node"], m["ls_provider"]) for _, m in chunks} == {
            ("agent", "genericfakechatmodel")
        }


async def test_a_langchain_model_a_node_awaits_streams_its_tokens() -> None:
    model = GenericFakeChatModel(messages=iter([lc.AIMessage("a b")]))

    async def agent(state: MessagesState) -> dict[str, Any]:
        return {"messages": [await model.ainvoke(state["messages"])]}

    graph = _one_model_node_graph(agent)
    stream = graph.astream({"messages": [("user", "hi")]}, stream_mode="messages")
    assert [c.content async for c, _ in stream] == ["a", " ", "b"]


async def test_a_langchain_model_a_node_calls_reports_its_call_in_astream_events() -> None:
    model = GenericFakeChatModel(messages=iter([lc.AIMessage("a b")]))
    graph = _one_model_node_graph(lambda s: {"messages": [model.invoke(s["messages"])]})
    events = [e async for e in graph.astream_events({"messages": [("user", "hi")]})]
    node = next(e for e in events if e["event"] == "on_chain_start" and e["name"] == "agent")
    calls = [e for e in events if "chat_model" in e["event"]]
    kinds = [e["event"].removeprefix("on_chat_model_") for e in calls]
    assert kinds == ["start", "stream", "stream", "stream", "end"]
    assert {e["name"] for e in calls} == {"GenericFakeChatModel"}
    assert all(e["parent_ids"][-1] == node["run_id"] for e in calls)
    assert [e["data"]["chunk"].content for e in calls[1:4]] == ["a", " ", "b"]
    assert calls[-1]["data"]["output"].content == "a b"
    assert calls[0]["metadata"]["langgraph_node"] == "agent"


def test_a_langchain_model_a_task_calls_streams_each_token_once() -> None:
    from graphkit.func import entrypoint, task

    model = GenericFakeChatModel(messages=iter([lc.AIMessage("a b")]))

    @task
    def ask(question: str) -> str:
        return str(model.invoke(question).content)

    @entrypoint()
    def workflow(question: str) -> str:
        return ask(question).result()

    chunks = list(workflow.stream("hi", stream_mode="messages"))
    assert [(c.content, meta["langgraph_node"]) for c, meta in chunks] == [
        ("a", "ask"),
        (" ", "ask"),
        ("b", "ask"),
    ]


def test_a_langchain_model_tagged_nostream_sends_its_whole_reply() -> None:
    model = GenericFakeChatModel(messages=iter([lc.AIMessage("a b")])).with_config(
        tags=["nostream"]
    )
    graph = _one_model_node_graph(lambda s: {"messages": [model.invoke(s["messages"])]})
    chunks = list(graph.stream({"messages": [("user", "hi")]}, stream_mode="messages"))
    assert [c.content for c, _ in chunks] == ["a b"]


async def test_a_wrapped_model_streams_asynchronously() -> None:
    model = LangChainChatModel(GenericFakeChatModel(messages=iter([lc.AIMessage("a b c")])))
    pieces = [chunk async for chunk in model.astream("hi")]
    assert "".join(str(p.content) for p in pieces) == "a b c"
    assert all(isinstance(p, AIMessageChunk) for p in pieces)


def test_an_unwrapped_langchain_model_in_a_node_gets_langchain_messages() -> None:
    raw = FakeMessagesListChatModel(responses=[lc.AIMessage("x")])

    def agent(state: MessagesState) -> dict[str, Any]:  # as LangGraph's quickstart
        return {"messages": [raw.invoke(state["messages"])]}

    builder = StateGraph(MessagesState)
    builder.add_node("agent", agent)
    builder.add_edge(START, "agent")
    out = builder.compile().invoke({"messages": [("user", "hi")]})
    assert [type(m) for m in out["messages"]] == [lc.HumanMessage, lc.AIMessage]


def test_a_langchain_model_the_code_does_not_name_fails_with_the_fix() -> None:
    models = {"chat": FakeMessagesListChatModel(responses=[lc.AIMessage("x")])}

    def agent(state: MessagesState) -> dict[str, Any]:  # (reached through a dict)
        return {"messages": [models["chat"].invoke(state["messages"])]}

    builder = StateGraph(MessagesState)
    builder.add_node("agent", agent)
    builder.add_edge(START, "agent")
    with pytest.raises(NotImplementedError) as caught:
        builder.compile().invoke({"messages": [("user", "hi")]})
    assert any("LangChainChatModel(model)" in note for note in caught.value.__notes__)


# -- tools and agents ---------------------------------------------------------------


def test_a_langchain_tool_becomes_a_graphkit_tool() -> None:
    converted = convert_to_tool(add)
    assert (converted.name, converted.description) == ("add", "Add two numbers.")
    assert converted.schema["required"] == ["a", "b"]
    assert converted.invoke({"a": 2, "b": 5}) == 7


def test_tool_node_runs_langchain_tools() -> None:
    call = {"name": "add", "args": {"a": 2, "b": 3}, "id": "c1", "type": "tool_call"}
    out = ToolNode([add]).invoke({"messages": [AIMessage("", tool_calls=[call])]})
    assert [(m.content, m.tool_call_id) for m in out["messages"]] == [("5", "c1")]


def _agent_replies() -> tuple[lc.AIMessage, lc.AIMessage]:
    call = {"name": "add", "args": {"a": 2, "b": 3}, "id": "c1", "type": "tool_call"}
    return lc.AIMessage("", tool_calls=[call]), lc.AIMessage("it is 5")


def test_create_react_agent_with_a_langchain_model_and_tool() -> None:
    fake = _fake(*_agent_replies())
    result = create_react_agent(fake, [add]).invoke({"messages": [("user", "2+3?")]})
    assert [(m.type, m.text) for m in result["messages"]] == [
        ("human", "2+3?"),
        ("ai", ""),
        ("tool", "5"),
        ("ai", "it is 5"),
    ]
    (tools, options), *_ = fake.bindings
    assert [t["function"]["name"] for t in tools] == ["add"] and options == {}
    assert tools[0]["function"]["parameters"]["required"] == ["a", "b"]


def test_create_react_agent_with_a_langchain_model_asynchronously() -> None:
    agent = create_react_agent(_fake(*_agent_replies()), [add])
    result = asyncio.run(agent.ainvoke({"messages": [("user", "2+3?")]}))
    assert [m.text for m in result["messages"]][-2:] == ["5", "it is 5"]


def test_a_model_name_for_a_provider_without_its_package_names_the_package(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "langchain_ollama", None)  # not installed
    with pytest.raises(MissingProviderPackageError, match="pip install langchain-ollama"):
        create_react_agent("ollama:llama3.2", [add])


def test_init_chat_model_wraps_the_langchain_provider_class(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    made: list[dict[str, Any]] = []

    class ChatOllama(FakeMessagesListChatModel):
        def __init__(self, **kwargs: Any) -> None:
            made.append(kwargs)
            super().__init__(responses=[lc.AIMessage("from ollama")])

    package = types.ModuleType("langchain_ollama")
    package.ChatOllama = ChatOllama  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "langchain_ollama", package)
    model = init_chat_model("ollama:llama3.2", temperature=0)
    assert isinstance(model, LangChainChatModel)
    assert made == [{"model": "llama3.2", "temperature": 0}]
    assert model.invoke("hi").content == "from ollama"


# -- a real provider package over HTTP ------------------------------------------------


class OpenAIServer(FixtureServer):
    def model(self) -> LangChainChatModel:
        return LangChainChatModel(
            LangChainOpenAI(model="gpt-4o-mini", api_key="test-key", **self.http_clients())
        )


@pytest.fixture(autouse=True)
def no_env_key(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    yield


def test_langchain_openai_sends_graphkit_history_and_tools_on_the_wire() -> None:
    server = OpenAIServer((200, "openai_chat_tool_calls.json"))

    def get_weather(location: str) -> str:
        """Get the current weather."""
        return "sunny"

    model = server.model().bind_tools([get_weather], tool_choice="any")
    history = [
        SystemMessage("Be nice."),
        HumanMessage("weather?"),
        AIMessage("", tool_calls=[{"name": "get_weather", "args": {"location": "X"}, "id": "c0"}]),
        ToolMessage("rainy", tool_call_id="c0"),
    ]
    reply = model.invoke(history)
    assert [(c["name"], c["args"]) for c in reply.tool_calls] == [
        ("get_weather", {"location": "Boston, MA"}),
        ("get_weather", {"location": "Paris"}),
    ]
    assert reply.usage is not None and reply.usage["total_tokens"] > 0
    sent = server.requests[0]
    assert [m["role"] for m in sent["messages"]] == ["system", "user", "assistant", "tool"]
    assert sent["messages"][2]["tool_calls"][0]["function"]["name"] == "get_weather"
    assert sent["messages"][3] == {"role": "tool", "content": "rainy", "tool_call_id": "c0"}
    assert sent["tool_choice"] == "required"
    assert sent["tools"][0]["function"]["name"] == "get_weather"
    assert sent["tools"][0]["function"]["parameters"]["required"] == ["location"]


def test_langchain_openai_streams_a_tool_call_through_the_wrapper() -> None:
    server = OpenAIServer((200, "openai_chat_stream_tool_calls.sse"))
    chunks = list(server.model().stream("weather in Paris?"))
    merged = chunks[0]
    for chunk in chunks[1:]:
        merged = merged + chunk
    assert merged.content == "Let me check."
    assert [c["name"] for c in merged.tool_calls] == ["get_weather"]
    assert server.requests[0]["stream"] is True


def test_an_agent_keeps_the_tools_a_langchain_model_was_bound_to() -> None:
    server = OpenAIServer((200, "openai_chat_tool_calls.json"), (200, "openai_chat_text.json"))
    prebound = LangChainOpenAI(
        model="gpt-4o-mini", api_key="test-key", **server.http_clients()
    ).bind_tools([add], tool_choice="any")
    result = create_react_agent(prebound, [add]).invoke({"messages": [("user", "hi")]})
    assert result["messages"][-1].text == "Hello! How can I assist you today?"
    first, second = server.requests
    assert [t["function"]["name"] for t in first["tools"]] == ["add"]
    assert first["tool_choice"] == "required"
    # the model asked for a tool the agent does not have: the error went back to it
    assert second["messages"][-1]["role"] == "tool"
    assert "get_weather" in second["messages"][-1]["content"]


def test_a_langchain_tool_gets_its_injected_tool_call_id() -> None:
    @lc_tool
    def echo(text: str, call_id: Annotated[str, InjectedToolCallId]) -> str:
        """Echo the text with the id of the call."""
        return f"{text} ({call_id})"

    assert "call_id" not in convert_to_tool(echo).schema["properties"]
    call = {"name": "echo", "args": {"text": "hi"}, "id": "c7", "type": "tool_call"}
    out = ToolNode([echo]).invoke({"messages": [AIMessage("", tool_calls=[call])]})
    (message,) = out["messages"]
    assert isinstance(message, ToolMessage)
    assert (message.content, message.tool_call_id) == ("hi (c7)", "c7")


# -- runnables as nodes ----------------------------------------------------------------


def _prompt_and_model(reply: str) -> Any:
    prompt = ChatPromptTemplate.from_messages(
        [("system", "be nice"), MessagesPlaceholder("messages")]
    )
    return prompt | FakeMessagesListChatModel(responses=[lc.AIMessage(reply)])


def test_a_langchain_chain_is_a_node_and_sees_langchain_messages() -> None:
    seen: list[Any] = []

    def note(state: dict[str, Any]) -> dict[str, Any]:
        seen.extend(state["messages"])
        return {}

    chain = RunnableLambda(note) | {"messages": lambda _: [lc.AIMessage("from the chain")]}
    builder = StateGraph(MessagesState)
    builder.add_node("chain", chain)
    builder.add_edge(START, "chain")
    out = builder.compile().invoke({"messages": [("user", "hi")]})
    assert [type(m) for m in seen] == [lc.HumanMessage]
    # the chain wrote LangChain messages: the key speaks LangChain from then on
    assert [(type(m), m.text) for m in out["messages"]] == [
        (lc.HumanMessage, "hi"),
        (lc.AIMessage, "from the chain"),
    ]


def test_a_runnable_node_gets_the_run_config_and_is_named_after_the_runnable() -> None:
    def read(state: dict[str, Any], config: Any) -> dict[str, Any]:
        return {"x": state["x"] + config["configurable"]["step_by"]}

    class State(TypedDict):
        x: int

    builder = StateGraph(State)
    builder.add_node(RunnableLambda(read, name="reader"))
    builder.add_edge(START, "reader")
    graph = builder.compile()
    assert graph.invoke({"x": 1}, {"configurable": {"step_by": 5}}) == {"x": 6}
    assert asyncio.run(graph.ainvoke({"x": 1}, {"configurable": {"step_by": 2}})) == {"x": 3}


def _graph_of(node: Any) -> Any:
    builder = StateGraph(MessagesState)
    builder.add_node("n", node)
    builder.add_edge(START, "n")
    return builder.compile()


def test_a_chain_called_in_a_node_takes_converted_messages() -> None:
    chain = _prompt_and_model("fine")

    def node(state: MessagesState) -> dict[str, Any]:
        return {"messages": [chain.invoke({"messages": to_langchain_messages(state["messages"])})]}

    out = _graph_of(node).invoke({"messages": [("user", "hi")]})
    assert [(type(m), m.text) for m in out["messages"]] == [  # as LangGraph's (see below)
        (lc.HumanMessage, "hi"),
        (lc.AIMessage, "fine"),
    ]


def test_a_chain_given_graphkit_messages_fails_with_the_fix() -> None:
    chains = [_prompt_and_model("fine")]

    def node(state: MessagesState) -> dict[str, Any]:  # (the code names no chain)
        return {"messages": [chains[0].invoke({"messages": state["messages"]})]}

    with pytest.raises(NotImplementedError) as caught:
        _graph_of(node).invoke({"messages": [("user", "hi")]})
    assert any("to_langchain_messages" in note for note in caught.value.__notes__)


# -- pydantic states declared with LangChain's message types ------------------------


class LangChainTypedState(BaseModel):
    messages: Annotated[list[lc.AnyMessage], add_messages] = []
    turns: int = 0


def test_a_pydantic_state_of_langchain_messages_gives_nodes_langchain_messages() -> None:
    seen: list[list[type]] = []

    def reply(state: LangChainTypedState) -> dict[str, Any]:
        seen.append([type(m) for m in state.messages])
        return {"messages": [lc.AIMessage(f"turn {state.turns}")], "turns": state.turns + 1}

    builder = StateGraph(LangChainTypedState)
    builder.add_node("a", reply)
    builder.add_node("b", reply)
    builder.add_edge(START, "a")
    builder.add_edge("a", "b")
    out = builder.compile().invoke({"messages": [("user", "hi")]})
    assert seen == [[lc.HumanMessage], [lc.HumanMessage, lc.AIMessage]]
    assert [(type(m), m.text) for m in out["messages"]] == [
        (lc.HumanMessage, "hi"),
        (lc.AIMessage, "turn 0"),
        (lc.AIMessage, "turn 1"),
    ]


def test_a_pydantic_state_of_langchain_messages_still_refuses_bad_input() -> None:
    builder = StateGraph(LangChainTypedState)
    builder.add_node("a", lambda state: {})
    builder.add_edge(START, "a")
    with pytest.raises(InvalidInputError, match="turns"):
        builder.compile().invoke({"messages": [("user", "hi")], "turns": "many"})


class NonStreamingFake(FakeMessagesListChatModel):
    """A LangChain model without its own streaming: its ``stream`` yields the whole reply."""

    def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
        return self


def test_an_agent_streams_messages_from_a_langchain_model_that_does_not_stream() -> None:
    fake = NonStreamingFake(responses=_agent_replies())
    agent = create_react_agent(fake, [add])
    parts = list(agent.stream({"messages": [("user", "2+3?")]}, stream_mode="messages"))
    assert [(type(m).__name__, m.text) for m, _ in parts] == [  # (LangGraph's, whole)
        ("AIMessage", ""),
        ("ToolMessage", "5"),
        ("AIMessage", "it is 5"),
    ]
    assert parts[0][0].tool_calls[0]["name"] == "add"


# -- agents written for LangGraph with LangChain tools, prompts and models -------------


def _call(name: str, args: dict[str, Any], call_id: str = "c1") -> lc.AIMessage:
    return lc.AIMessage("", tool_calls=[{"name": name, "args": args, "id": call_id}])


class _UserState(MessagesState):
    user: str


def test_a_langchain_tool_returning_a_command_updates_the_state() -> None:
    @lc_tool
    def set_user(name: str, tool_call_id: Annotated[str, InjectedToolCallId]) -> Command[Any]:
        """Remember the user's name."""
        answer = lc.ToolMessage("saved", tool_call_id=tool_call_id)
        return Command(update={"user": name, "messages": [answer]})

    fake = NonStreamingFake(responses=[_call("set_user", {"name": "ann"}), lc.AIMessage("ok")])
    out = create_react_agent(fake, [set_user], state_schema=_UserState).invoke(
        {"messages": [("user", "I am ann")], "user": ""}
    )
    assert out["user"] == "ann"
    assert [(m.type, m.text) for m in out["messages"][2:]] == [("tool", "saved"), ("ai", "ok")]


def test_a_langchain_tool_gets_graphkit_state_and_store_injected() -> None:
    @lc_tool
    def greet(
        greeting: str,
        user: Annotated[str, InjectedState("user")],
        store: Annotated[Any, InjectedStore()],
    ) -> str:
        """Greet the user."""
        return f"{greeting} {user} ({store.get(('n',), 'k').value['v']})"

    assert set(convert_to_tool(greet).schema["properties"]) == {"greeting"}
    store = InMemoryStore()
    store.put(("n",), "k", {"v": 7})
    fake = NonStreamingFake(responses=[_call("greet", {"greeting": "hi"}), lc.AIMessage("ok")])
    agent = create_react_agent(fake, [greet], state_schema=_UserState, store=store)
    out = agent.invoke({"messages": [("user", "hello")], "user": "bo"})
    assert out["messages"][2].text == "hi bo (7)"


def test_langchain_leaves_graphkit_injected_parameters_out_of_what_a_model_sees() -> None:
    # A custom agent binds its tools itself (llm.bind_tools(tools)): LangChain builds the
    # schema, and must not ask the model for the state, the store or the runtime.
    from langchain_core.utils.function_calling import convert_to_openai_tool

    @lc_tool
    def lookup(
        query: str,
        state: Annotated[dict[str, Any], InjectedState],
        user: Annotated[str, InjectedState("user")],
        store: Annotated[Any, InjectedStore()],
        runtime: ToolRuntime,
    ) -> str:
        """Look something up."""
        return query

    assert list(lookup.tool_call_schema.model_json_schema()["properties"]) == ["query"]
    assert convert_to_openai_tool(lookup)["function"]["parameters"]["required"] == ["query"]


def test_graphkit_imported_before_langchain_still_hides_its_injected_parameters() -> None:
    # LangChain's classes become the markers' bases when langchain_core is imported.
    program = textwrap.dedent(
        '''
        from typing import Annotated
        from graphkit.prebuilt import InjectedState, ToolRuntime
        from langchain_core.tools import tool
        import langchain_core.tools.base as base

        @tool
        def lookup(query: str, state: Annotated[dict, InjectedState], rt: ToolRuntime) -> str:
            """Look something up."""
            return query

        print(list(lookup.tool_call_schema.model_json_schema()["properties"]))
        print(type(base.__loader__).__name__)
        '''
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.split() == ["['query']", "SourceFileLoader"]


def test_a_langchain_content_and_artifact_tool_keeps_its_artifact() -> None:
    @lc_tool(response_format="content_and_artifact")
    def rows(n: int) -> tuple[str, list[int]]:
        """Fetch rows."""
        return f"{n} rows", list(range(n))

    out = ToolNode([rows]).invoke({"messages": [_call("rows", {"n": 2})]})
    assert (out["messages"][0].content, out["messages"][0].artifact) == ("2 rows", [0, 1])


def test_a_langchain_tool_handling_its_own_errors_answers_with_an_error_status() -> None:
    @lc_tool
    def fragile(x: int) -> str:
        """Fails."""
        raise ToolException("no")

    fragile.handle_tool_error = "handled by the tool"

    out = ToolNode([fragile]).invoke({"messages": [_call("fragile", {"x": 1})]})
    answer = out["messages"][0]
    assert (answer.content, answer.status) == ("handled by the tool", "error")


def test_tool_and_validation_nodes_take_langchain_messages() -> None:
    class Point(BaseModel):
        x: int

    out = ToolNode([add]).invoke({"messages": [_call("add", {"a": 1, "b": 2})]})
    assert out["messages"][0].text == "3"
    [checked] = ValidationNode([Point]).invoke([_call("Point", {"x": 1})])
    assert checked.tool_call_id == "c1" and "error" not in checked.additional_kwargs


class RecordingFake(NonStreamingFake):
    """Records the messages each call was sent."""

    seen: list[Any] = []  # noqa: RUF012

    def _generate(self, messages: Any, *args: Any, **kwargs: Any) -> Any:
        self.seen.append(messages)
        return super()._generate(messages, *args, **kwargs)


@pytest.mark.parametrize(
    ("prompt", "first"),
    [
        (lc.SystemMessage("as a message"), "as a message"),
        (
            ChatPromptTemplate.from_messages(
                [("system", "from the template"), MessagesPlaceholder("messages")]
            ),
            "from the template",
        ),
    ],
)
def test_langchain_prompts_message_and_template(prompt: Any, first: str) -> None:
    fake = RecordingFake(responses=[lc.AIMessage("ok")], seen=[])
    create_react_agent(fake, [], prompt=prompt).invoke({"messages": [("user", "hi")]})
    assert [m.content for m in fake.seen[0]] == [first, "hi"]


def test_a_prompt_function_may_take_the_config_and_the_store() -> None:
    store = InMemoryStore()
    store.put(("users",), "u1", {"name": "Alice"})

    def prompt(state: dict[str, Any], config: Any, *, store: Any) -> list[Any]:
        user = config["configurable"]["user_id"]
        name = store.get(("users",), user).value["name"]
        return [lc.SystemMessage(f"User is {name}"), *state["messages"]]

    model = FakeChatModel(["ok"])
    agent = create_react_agent(model, [], prompt=prompt, store=store)
    agent.invoke({"messages": [("user", "hi")]}, {"configurable": {"user_id": "u1"}})
    assert model.calls[0][0].content == "User is Alice"


def test_a_structured_response_uses_the_langchain_models_own_structured_output() -> None:
    class Answer(BaseModel):
        value: int

    class StructuredFake(NonStreamingFake):
        def with_structured_output(self, schema: Any, **kwargs: Any) -> Any:
            return RunnableLambda(lambda _: schema(value=42))

    fake = StructuredFake(responses=[lc.AIMessage("it is 42")])
    out = create_react_agent(fake, [], response_format=Answer).invoke({"messages": [("user", "q")]})
    assert out["structured_response"] == Answer(value=42)


MCP_SERVER = {"type": "mcp", "server_label": "docs", "server_url": "https://mcp.example/sse"}


def test_provider_built_in_tools_go_to_the_langchain_model_as_they_are() -> None:
    fake = _fake(lc.AIMessage("searched"))
    agent = create_react_agent(fake, [add, MCP_SERVER])
    assert agent.invoke({"messages": [("user", "q")]})["messages"][-1].text == "searched"
    (tools, _), *_ = fake.bindings
    assert [t.get("function", {}).get("name") for t in tools[:1]] == ["add"]
    assert tools[1:] == [MCP_SERVER]


def test_a_langchain_model_bound_to_the_same_tools_and_a_built_in_one_is_accepted() -> None:
    bound = NonStreamingFake(responses=[lc.AIMessage("ok")]).bind(
        tools=[{"type": "function", "function": {"name": "add"}}, MCP_SERVER]
    )
    agent = create_react_agent(bound, [add, MCP_SERVER])
    assert agent.invoke({"messages": [("user", "q")]})["messages"][-1].text == "ok"
