"""``stream_mode="messages"`` of LangChain chat models that nodes call themselves, on
graphkit and on LangGraph: the same chunk sequences, classes, ids and metadata.

Both sides run the same LangChain fake models (``GenericFakeChatModel``,
``FakeListChatModel``, ``FakeMessagesListChatModel`` and a tool-calling fake) in the
same graphs; only what differs by design is normalised: task ids in namespaces, and the
ids LangChain draws per call (chunks of one call must share one, ``lc_run--`` prefixed).
"""

from __future__ import annotations

import asyncio
import importlib
import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.fake_chat_models import (
    FakeListChatModel,
    FakeMessagesListChatModel,
    GenericFakeChatModel,
)
from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnableConfig, RunnableLambda
from langchain_core.tools import tool

from tests.parity.conftest import Lib

CONFIG = {
    "configurable": {"thread_id": "t1", "user_id": "u1"},
    "tags": ["run-tag"],
    "metadata": {"team": "a"},
}


class ToolCallingFake(BaseChatModel):
    """Replies in turn; streams each reply's words, then one chunk per tool call."""

    replies: list[AIMessage]
    turn: int = 0

    @property
    def _llm_type(self) -> str:
        return "tool-calling-fake"

    def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
        return self

    def _next(self) -> AIMessage:
        reply = self.replies[self.turn % len(self.replies)]
        self.turn += 1
        return reply

    def _generate(self, messages: Any, stop: Any = None, run_manager: Any = None, **kw: Any) -> Any:
        return ChatResult(generations=[ChatGeneration(message=self._next())])

    def _stream(
        self, messages: Any, stop: Any = None, run_manager: Any = None, **kw: Any
    ) -> Iterator[ChatGenerationChunk]:
        reply = self._next()
        pieces = [AIMessageChunk(content=w) for w in str(reply.content).split(" ") if w]
        for n, call in enumerate(reply.tool_calls):
            part = {"name": call["name"], "args": json.dumps(call["args"]), "id": call["id"]}
            pieces.append(AIMessageChunk(content="", tool_call_chunks=[{**part, "index": n}]))
        for piece in pieces:
            chunk = ChatGenerationChunk(message=piece)
            if run_manager:
                run_manager.on_llm_new_token(str(piece.content), chunk=chunk)
            yield chunk


@tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


def _generic(text: str = "hello there world", **kwargs: Any) -> GenericFakeChatModel:
    return GenericFakeChatModel(messages=iter([AIMessage(content=text)]), **kwargs)


def _agent_model() -> ToolCallingFake:
    call = {"name": "get_weather", "args": {"city": "sf"}, "id": "call-1"}
    return ToolCallingFake(replies=[AIMessage("let me see", tool_calls=[call]), AIMessage("sunny")])


# -- normalising ---------------------------------------------------------------------

_TASK_ID = re.compile(r":[^|]*")


def _ns(value: str) -> str:
    """A namespace without its task ids (they differ by design)."""
    return _TASK_ID.sub("", value)


def _shown(items: list[Any]) -> list[tuple[Any, ...]]:
    """Each streamed part as comparable data: namespace, class, content, tool call
    chunks, id (LangChain's per-call ids by order of appearance) and metadata."""
    ids: dict[str, str] = {}
    out = []
    for item in items:
        ns, (message, metadata) = (
            item if len(item) == 2 and isinstance(item[0], tuple) else ((), item)
        )
        shown_id = message.id
        if isinstance(shown_id, str) and shown_id.startswith("lc_run--"):
            shown_id = ids.setdefault(shown_id, f"lc_run#{len(ids)}")
        elif shown_id is not None and shown_id not in ("f1",):
            shown_id = "generated"
        meta = {k: v for k, v in metadata.items() if k != "lc_versions"}
        for key in ("checkpoint_ns", "langgraph_checkpoint_ns"):
            if key in meta:
                meta[key] = _ns(meta[key])
        out.append(
            (
                tuple(_ns(s) for s in ns),
                type(message).__module__.split(".")[0],
                type(message).__name__,
                message.content,
                getattr(message, "tool_call_chunks", None),
                shown_id,
                meta,
            )
        )
    return out


def _by_message(items: list[Any]) -> list[Any]:
    """Parts of model calls that ran at once (their chunks interleave as the threads
    go): each call's parts together, in order, the calls by their whole text."""
    texts: dict[Any, str] = {}
    for message, _ in items:
        texts[message.id] = texts.get(message.id, "") + str(message.content)
    return sorted(items, key=lambda item: texts[item[0].id])


def _stream(
    graph: Any, given: Any, config: Any = None, *, at_once: bool = False, **options: Any
) -> list[tuple[Any, ...]]:
    """The ``messages`` stream of ``graph`` shown (``at_once``: its models run at once)."""
    config = CONFIG if config is None else config
    parts = list(graph.stream(given, config, stream_mode="messages", **options))
    return _shown(_by_message(parts) if at_once else parts)


def _astream(graph: Any, given: Any, *, at_once: bool = False, **options: Any) -> list[Any]:
    async def collect() -> list[Any]:
        return [p async for p in graph.astream(given, CONFIG, stream_mode="messages", **options)]

    parts = asyncio.run(collect())
    return _shown(_by_message(parts) if at_once else parts)


def _one_node(lib: Lib, node: Callable[..., Any]) -> Any:
    builder = lib.StateGraph(lib.MessagesState)
    builder.add_node("agent", node)
    builder.add_edge(lib.START, "agent")
    return builder.compile()


HI = {"messages": [("user", "hi")]}


def _prebuilt(lib: Lib) -> Any:
    return importlib.import_module(f"{lib.name}.prebuilt")


# -- the cases -------------------------------------------------------------------------


def node_invoking(lib: Lib) -> list[Any]:
    model = _generic(tags=["model-tag"])
    return _stream(_one_node(lib, lambda s: {"messages": [model.invoke(s["messages"])]}), HI)


def node_invoking_with_its_config(lib: Lib) -> list[Any]:
    model = _generic()

    def agent(state: Any, config: RunnableConfig) -> Any:
        return {"messages": [model.invoke(state["messages"], config)]}

    return _stream(_one_node(lib, agent), HI)


def async_node_invoking(lib: Lib) -> list[Any]:
    model = _generic()

    async def agent(state: Any) -> Any:
        return {"messages": [await model.ainvoke(state["messages"])]}

    return _astream(_one_node(lib, agent), HI)


def node_streaming(lib: Lib) -> list[Any]:
    model = _generic()

    def agent(state: Any) -> Any:
        merged = None
        for chunk in model.stream(state["messages"]):
            merged = chunk if merged is None else merged + chunk
        return {"messages": [merged]}

    return _stream(_one_node(lib, agent), HI)


def _async_streaming_node(model: Any) -> Callable[..., Any]:
    """An async node that streams ``model``'s reply and returns it whole."""

    async def agent(state: Any) -> Any:
        merged = None
        async for chunk in model.astream(state["messages"]):
            merged = chunk if merged is None else merged + chunk
        return {"messages": [merged]}

    return agent


def async_node_streaming(lib: Lib) -> list[Any]:
    return _astream(_one_node(lib, _async_streaming_node(_generic())), HI)


def node_batching(lib: Lib) -> list[Any]:
    model = FakeListChatModel(responses=["ab", "cd"])

    def agent(state: Any) -> Any:
        return {"messages": model.batch([state["messages"], state["messages"]])}

    return _stream(_one_node(lib, agent), HI, at_once=True)


def async_node_batching(lib: Lib) -> list[Any]:
    model = FakeListChatModel(responses=["ab", "cd"])

    async def agent(state: Any) -> Any:
        return {"messages": await model.abatch([state["messages"], state["messages"]])}

    return _astream(_one_node(lib, agent), HI, at_once=True)


def model_that_does_not_stream(lib: Lib) -> list[Any]:
    model = FakeMessagesListChatModel(responses=[AIMessage("whole")])
    return _stream(_one_node(lib, lambda s: {"messages": [model.invoke(s["messages"])]}), HI)


def model_tagged_nostream(lib: Lib) -> list[Any]:
    model = _generic(tags=["nostream"])
    return _stream(_one_node(lib, lambda s: {"messages": [model.invoke(s["messages"])]}), HI)


def _subgraph_parent(lib: Lib, node: Callable[..., Any]) -> Any:
    builder = lib.StateGraph(lib.MessagesState)
    builder.add_node("sub", _one_node(lib, node))
    builder.add_edge(lib.START, "sub")
    return builder.compile()


def subgraph_streamed(lib: Lib) -> list[Any]:
    model = _generic()
    graph = _subgraph_parent(lib, lambda s: {"messages": [model.invoke(s["messages"])]})
    return _stream(graph, HI, subgraphs=True)


def subgraph_not_streamed(lib: Lib) -> list[Any]:
    model = _generic()
    graph = _subgraph_parent(lib, lambda s: {"messages": [model.invoke(s["messages"])]})
    return _stream(graph, HI)


def async_subgraph_streamed(lib: Lib) -> list[Any]:
    model = _generic()

    async def agent(state: Any) -> Any:
        return {"messages": [await model.ainvoke(state["messages"])]}

    return _astream(_subgraph_parent(lib, agent), HI, subgraphs=True)


def task_invoking(lib: Lib) -> list[Any]:
    model = _generic()

    @lib.task
    def ask(text: str) -> Any:
        return model.invoke(text)

    @lib.entrypoint()
    def workflow(text: str) -> Any:
        return ask(text).result()

    return _stream(workflow, "hi")


def entrypoint_invoking(lib: Lib) -> list[Any]:
    model = _generic()

    @lib.entrypoint()
    def workflow(text: str) -> Any:
        return model.invoke(text)

    return _stream(workflow, "hi")


def tool_invoking(lib: Lib) -> list[Any]:
    inner = _generic("from the tool")

    @tool
    def ask(question: str) -> str:
        """Ask the model."""
        return str(inner.invoke(question).content)

    call = {"name": "ask", "args": {"question": "q"}, "id": "call-1"}
    builder = lib.StateGraph(lib.MessagesState)
    builder.add_node("agent", lambda s: {"messages": [AIMessage("", id="f1", tool_calls=[call])]})
    builder.add_node("tools", _prebuilt(lib).ToolNode([ask]))
    builder.add_edge(lib.START, "agent")
    builder.add_edge("agent", "tools")
    return _stream(builder.compile(), HI)


def chain_as_node(lib: Lib) -> list[Any]:
    prompt = ChatPromptTemplate.from_messages(
        [("system", "be brief"), ("placeholder", "{messages}")]
    )
    chain = prompt | _generic() | RunnableLambda(lambda reply: {"messages": [reply]})
    return _stream(_one_node(lib, chain), HI)


def react_agent(lib: Lib) -> list[Any]:
    agent = _prebuilt(lib).create_react_agent(_agent_model(), [get_weather])
    return _stream(agent, HI)


def async_react_agent(lib: Lib) -> list[Any]:
    agent = _prebuilt(lib).create_react_agent(_agent_model(), [get_weather])
    return _astream(agent, HI)


def react_agent_with_a_model_that_does_not_stream(lib: Lib) -> list[Any]:
    class NotStreaming(FakeMessagesListChatModel):
        def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
            return self

    call = {"name": "get_weather", "args": {"city": "sf"}, "id": "call-1"}
    model = NotStreaming(responses=[AIMessage("", tool_calls=[call]), AIMessage("sunny")])
    return _stream(_prebuilt(lib).create_react_agent(model, [get_weather]), HI)


class _Tokens(BaseCallbackHandler):
    def __init__(self) -> None:
        self.tokens: list[str] = []

    def on_llm_new_token(self, token: str, **kwargs: Any) -> None:
        self.tokens.append(token)


def with_callbacks(lib: Lib) -> tuple[list[Any], list[str]]:
    handler = _Tokens()
    one, two = _generic("a b"), _generic("c d")

    def first(state: Any) -> Any:
        return {"messages": [one.invoke(state["messages"])]}

    def second(state: Any, config: RunnableConfig) -> Any:
        return {"messages": [two.invoke(state["messages"], config)]}

    builder = lib.StateGraph(lib.MessagesState)
    builder.add_node("first", first)
    builder.add_node("second", second)
    builder.add_edge(lib.START, "first")
    builder.add_edge("first", "second")
    parts = _stream(builder.compile(), HI, {**CONFIG, "callbacks": [handler]})
    return parts, handler.tokens


def async_with_callbacks(lib: Lib) -> tuple[list[Any], list[str]]:
    handler = _Tokens()
    one, two = _generic("a b"), _generic("c d")

    async def first(state: Any) -> Any:
        return {"messages": [await one.ainvoke(state["messages"])]}

    async def second(state: Any, config: RunnableConfig) -> Any:
        return {"messages": [await two.ainvoke(state["messages"], config)]}

    builder = lib.StateGraph(lib.MessagesState)
    builder.add_node("first", first)
    builder.add_node("second", second)
    builder.add_edge(lib.START, "first")
    builder.add_edge("first", "second")
    graph = builder.compile()

    async def collect() -> list[Any]:
        config = {**CONFIG, "callbacks": [handler]}
        return [p async for p in graph.astream(HI, config, stream_mode="messages")]

    return _shown(asyncio.run(collect())), handler.tokens


def parallel_nodes(lib: Lib) -> list[Any]:
    first, second = _generic("one two"), _generic("three four")
    builder = lib.StateGraph(lib.MessagesState)
    builder.add_node("a", lambda s: {"messages": [first.invoke(s["messages"])]})
    builder.add_node("b", lambda s: {"messages": [second.invoke(s["messages"])]})
    builder.add_edge(lib.START, "a")
    builder.add_edge(lib.START, "b")
    return _stream(builder.compile(), HI, at_once=True)


def sends_invoking(lib: Lib) -> list[Any]:
    models = {"x": _generic("x1 x2"), "y": _generic("y1 y2")}

    def ask(packet: dict[str, Any]) -> Any:
        return {"messages": [models[packet["topic"]].invoke(packet["topic"])]}

    builder = lib.StateGraph(lib.MessagesState)
    builder.add_node("ask", ask)
    builder.add_conditional_edges(
        lib.START, lambda s: [lib.Send("ask", {"topic": t}) for t in ("x", "y")]
    )
    return _stream(builder.compile(), HI, at_once=True)


def version_2_parts(lib: Lib) -> list[Any]:
    model = _generic()
    graph = _one_node(lib, lambda s: {"messages": [model.invoke(s["messages"])]})
    parts = graph.stream(HI, CONFIG, stream_mode="messages", version="v2")
    return [(p["type"], p["ns"], *_shown([p["data"]])) for p in parts]


CASES = [
    node_invoking,
    node_invoking_with_its_config,
    async_node_invoking,
    node_streaming,
    async_node_streaming,
    node_batching,
    async_node_batching,
    model_that_does_not_stream,
    model_tagged_nostream,
    subgraph_streamed,
    subgraph_not_streamed,
    async_subgraph_streamed,
    task_invoking,
    entrypoint_invoking,
    tool_invoking,
    chain_as_node,
    react_agent,
    async_react_agent,
    react_agent_with_a_model_that_does_not_stream,
    with_callbacks,
    async_with_callbacks,
    parallel_nodes,
    sends_invoking,
    version_2_parts,
]


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.__name__)
def test_langchain_model_tokens_stream_as_in_langgraph(case: Any, gk: Lib, lg: Lib) -> None:
    ours, theirs = case(gk), case(lg)
    assert theirs, "LangGraph streamed nothing: the case tests nothing"
    assert ours == theirs


# -- astream_events ---------------------------------------------------------------------


def _model_events(graph: Any, given: Any) -> list[tuple[Any, ...]]:
    """The ``on_chat_model_*`` events of ``astream_events``, as comparable data."""

    async def collect() -> list[dict[str, Any]]:
        return [e async for e in graph.astream_events(given, CONFIG, version="v2")]

    out = []
    for ev in asyncio.run(collect()):
        if "chat_model" not in ev["event"]:
            continue
        meta = {k: v for k, v in ev["metadata"].items() if k != "lc_versions"}
        for key in ("checkpoint_ns", "langgraph_checkpoint_ns"):
            meta[key] = _ns(meta[key])
        data = {
            k: (type(v).__name__, v.content) if hasattr(v, "content") else repr(type(v))
            for k, v in ev["data"].items()
        }
        out.append((ev["event"], ev["name"], ev["tags"], len(ev["parent_ids"]), meta, data))
    return out


def events_of_a_node_invoking(lib: Lib) -> list[Any]:
    model = _generic(tags=["model-tag"])
    return _model_events(_one_node(lib, lambda s: {"messages": [model.invoke(s["messages"])]}), HI)


def events_of_an_async_node_streaming(lib: Lib) -> list[Any]:
    return _model_events(_one_node(lib, _async_streaming_node(_generic())), HI)


@pytest.mark.parametrize(
    "case", [events_of_a_node_invoking, events_of_an_async_node_streaming], ids=lambda c: c.__name__
)
def test_langchain_models_report_to_astream_events_as_in_langgraph(
    case: Any, gk: Lib, lg: Lib
) -> None:
    ours, theirs = case(gk), case(lg)
    assert theirs, "LangGraph reported no model events: the case tests nothing"
    assert ours == theirs
