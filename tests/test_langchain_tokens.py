"""graphkit.engine.langchain_tokens: the tokens of LangChain chat models a node calls
itself reach ``stream_mode="messages"``; runs that do not stream messages are untouched.

(Chunk sequences and metadata against LangGraph: tests/parity/test_langchain_tokens_parity.py.)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from langchain_core import messages as lc
from langchain_core.language_models.fake_chat_models import (
    FakeListChatModel,
    GenericFakeChatModel,
)
from langchain_core.runnables.config import ensure_config, var_child_runnable_config

from graphkit.engine.langchain_tokens import TOKEN_TAP
from graphkit.graph import START, MessagesState, StateGraph
from graphkit.types import RetryPolicy

HI = {"messages": [("user", "hi")]}


def _generic(text: str = "one two", **kwargs: Any) -> GenericFakeChatModel:
    return GenericFakeChatModel(messages=iter([lc.AIMessage(text)]), **kwargs)


def _graph(node: Any, **node_options: Any) -> Any:
    builder = StateGraph(MessagesState)
    builder.add_node("agent", node, **node_options)
    builder.add_edge(START, "agent")
    return builder.compile()


class NoStreamingAllowed(GenericFakeChatModel):
    """Fails if asked to stream: proves a call was not streamed."""

    def _stream(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
        raise AssertionError("this model was streamed")


def test_a_run_that_does_not_stream_messages_leaves_langchain_models_unstreamed() -> None:
    model = NoStreamingAllowed(messages=iter([lc.AIMessage("a"), lc.AIMessage("b")]))
    seen: list[Any] = []

    def agent(state: MessagesState) -> Any:
        seen.append(ensure_config()["callbacks"])
        return {"messages": [model.invoke(state["messages"])]}

    graph = _graph(agent)
    assert graph.invoke(HI)["messages"][-1].content == "a"
    assert list(graph.stream(HI, stream_mode=["values", "updates", "custom"]))
    # no callback handler was put in LangChain's config (a manager of none, as LangGraph's)
    assert [c.handlers for c in seen] == [[], []]


def test_the_stream_consumer_does_not_run_under_the_tap() -> None:
    model = _generic()
    graph = _graph(lambda s: {"messages": [model.invoke(s["messages"])]})
    inside_loop = [ensure_config() for _ in graph.stream(HI, stream_mode="messages")]
    assert inside_loop and all(c["callbacks"] is None for c in inside_loop)
    assert var_child_runnable_config.get() is None  # (put back once the stream ended)


def test_a_model_tagged_langsmith_nostream_is_left_out() -> None:
    model = _generic(tags=["langsmith:nostream"])
    graph = _graph(lambda s: {"messages": [model.invoke(s["messages"])]})
    parts = list(graph.stream(HI, stream_mode="messages"))
    assert [(type(m).__name__, m.content) for m, _ in parts] == [("AIMessage", "one two")]


def test_each_model_call_streams_under_its_own_id_and_its_reply_is_not_sent_again() -> None:
    first, second = _generic("a b"), _generic("c")

    def agent(state: MessagesState) -> Any:
        return {"messages": [first.invoke(state["messages"]), second.invoke(state["messages"])]}

    parts = list(_graph(agent).stream(HI, stream_mode="messages"))
    assert [m.content for m, _ in parts] == ["a", " ", "b", "c"]
    assert all(type(m).__name__ == "AIMessageChunk" for m, _ in parts)
    ids = [m.id for m, _ in parts]
    assert ids[0] == ids[1] == ids[2] != ids[3] and ids[0].startswith("lc_run--")


def test_a_reply_the_node_did_not_get_from_the_model_still_streams_whole() -> None:
    model = _generic("a b")

    def agent(state: MessagesState) -> Any:
        reply = model.invoke(state["messages"])
        return {"messages": [reply, lc.AIMessage("added by the node", id="n1")]}

    parts = list(_graph(agent).stream(HI, stream_mode="messages"))
    assert [(type(m).__name__, m.content) for m, _ in parts] == [
        ("AIMessageChunk", "a"),
        ("AIMessageChunk", " "),
        ("AIMessageChunk", "b"),
        ("AIMessage", "added by the node"),
    ]


def test_a_model_with_streaming_disabled_sends_its_reply_once_whole() -> None:
    model = _generic("a b", disable_streaming=True)
    parts = list(
        _graph(lambda s: {"messages": [model.invoke(s["messages"])]}).stream(
            HI, stream_mode="messages"
        )
    )
    assert [(type(m).__name__, m.content) for m, _ in parts] == [("AIMessage", "a b")]
    assert parts[0][1]["ls_provider"] == "genericfakechatmodel"


def test_tokens_come_before_the_nodes_update() -> None:
    model = _generic("a b")
    graph = _graph(lambda s: {"messages": [model.invoke(s["messages"])]})
    modes = [mode for mode, _ in graph.stream(HI, stream_mode=["updates", "messages"])]
    assert modes == ["messages", "messages", "messages", "updates"]


def test_a_failed_model_call_is_forgotten_and_the_retry_streams() -> None:
    model = FakeListChatModel(responses=["ok"], error_on_chunk_number=0)
    attempts: list[int] = []

    def agent(state: MessagesState) -> Any:
        attempts.append(1)
        if len(attempts) == 2:
            model.error_on_chunk_number = None
        return {"messages": [model.invoke(state["messages"])]}

    graph = _graph(agent, retry_policy=RetryPolicy(max_attempts=2, initial_interval=0))
    parts = list(graph.stream(HI, stream_mode="messages"))
    assert [m.content for m, _ in parts] == ["o", "k"] and len(attempts) == 2
    assert TOKEN_TAP.models == {}


def test_a_graph_a_node_streams_itself_gets_its_models_tokens() -> None:
    model = _generic("x y")
    inner = _graph(lambda s: {"messages": [model.invoke(s["messages"])]})
    got: list[str] = []

    def outer(state: MessagesState) -> Any:
        got.extend(m.content for m, _ in inner.stream(state, stream_mode="messages"))
        return {}

    builder = StateGraph(MessagesState)
    builder.add_node("outer", outer)
    builder.add_edge(START, "outer")
    builder.compile().invoke(HI)
    assert got == ["x", " ", "y"]


def test_a_stream_with_no_langchain_model_streams_as_before() -> None:
    from graphkit import AIMessage

    graph = _graph(lambda s: {"messages": [AIMessage("plain", id="p1")]})
    parts = list(graph.stream(HI, stream_mode="messages"))
    assert [(type(m).__module__, m.content) for m, _ in parts] == [("graphkit.messages", "plain")]


def test_astream_events_with_callbacks_streams_the_model_to_the_handlers() -> None:
    import asyncio

    from langchain_core.callbacks import BaseCallbackHandler

    class Tokens(BaseCallbackHandler):
        def __init__(self) -> None:
            self.tokens: list[str] = []

        def on_llm_new_token(self, token: str, **kwargs: Any) -> None:
            self.tokens.append(token)

    handler = Tokens()
    model = _generic("a b")
    graph = _graph(lambda s: {"messages": [model.invoke(s["messages"])]})

    async def run() -> None:
        async for _ in graph.astream_events(HI, {"callbacks": [handler]}, version="v2"):
            pass

    asyncio.run(run())
    assert handler.tokens == ["a", " ", "b"]  # (as in LangGraph: each once)
