"""``output_keys=`` on invoke/stream: graphkit returns and streams what LangGraph does.

One key as a string gives bare values, a list gives dicts; ``values`` chunks come only
from steps that wrote a picked key; ``updates`` show only the picked writes; pauses and
resumes, ``version="v2"`` and the async calls agree too.
"""

from __future__ import annotations

import asyncio
import operator
from typing import Annotated, Any, TypedDict

import pytest

from tests.parity.conftest import Lib, plain

KEYS: list[Any] = ["a", ["a"], "b", ["b", "c"], "c", ["a", "b", "c"], []]


class State(TypedDict, total=False):
    a: int
    b: Annotated[list[str], operator.add]
    c: str


def _chain(lib: Lib, checkpointer: Any = None) -> Any:
    """one writes a, two appends to b, quiet writes nothing, three writes c and a."""
    builder = lib.StateGraph(State)
    builder.add_node("one", lambda s: {"a": s.get("a", 0) + 1})
    builder.add_node("two", lambda s: {"b": [str(s["a"])]})
    builder.add_node("quiet", lambda s: None)
    builder.add_node("three", lambda s: {"c": "done", "a": 10})
    builder.add_edge(lib.START, "one")
    builder.add_edge("one", "two")
    builder.add_edge("two", "quiet")
    builder.add_edge("quiet", "three")
    return builder.compile(checkpointer=checkpointer)


def _pausing(lib: Lib) -> Any:
    """one writes a; then ``ask`` (interrupts, then writes c) and ``side`` (appends to b)
    run in one step."""

    def ask(state: State) -> dict[str, Any]:
        return {"c": lib.interrupt("q?")}

    builder = lib.StateGraph(State)
    builder.add_node("one", lambda s: {"a": s.get("a", 0) + 1})
    builder.add_node("ask", ask)
    builder.add_node("side", lambda s: {"b": ["p"]})
    builder.add_edge(lib.START, "one")
    builder.add_edge("one", "ask")
    builder.add_edge("one", "side")
    return builder.compile(checkpointer=lib.InMemorySaver())


def _twice(lib: Lib) -> Any:
    """A node whose two Commands write b twice and a once."""

    def twice(state: State) -> list[Any]:
        return [lib.Command(update={"b": ["x"]}), lib.Command(update={"b": ["y"], "a": 5})]

    builder = lib.StateGraph(State)
    builder.add_node("twice", twice)
    builder.add_edge(lib.START, "twice")
    return builder.compile()


@pytest.mark.parametrize("keys", KEYS, ids=repr)
def test_invoke_and_streams_of_a_run(keys: Any, gk: Lib, lg: Lib) -> None:
    def observe(lib: Lib) -> Any:
        app = _chain(lib)
        return [
            app.invoke({"a": 1}, output_keys=keys),
            list(app.stream({"a": 1}, stream_mode="values", output_keys=keys)),
            list(app.stream({"a": 1}, stream_mode="updates", output_keys=keys)),
            list(app.stream({"a": 1}, stream_mode=["values", "updates"], output_keys=keys)),
            app.invoke({"a": 1}, stream_mode="updates", output_keys=keys),
            _comparable(app.invoke({"a": 1}, output_keys=keys, version="v2")),
            app.batch([{"a": 1}, {"a": 5}], output_keys=keys),
            asyncio.run(app.ainvoke({"a": 1}, output_keys=keys)),
        ]

    assert plain(observe(gk)) == plain(observe(lg))


@pytest.mark.parametrize("keys", KEYS, ids=repr)
def test_pause_and_resume(keys: Any, gk: Lib, lg: Lib) -> None:
    def observe(lib: Lib) -> Any:
        app = _pausing(lib)
        seen: list[Any] = []
        for kind, thread in (("stream", "s"), ("invoke", "i"), ("v2", "v")):
            config = {"configurable": {"thread_id": thread}}
            if kind == "stream":
                seen.append(
                    list(app.stream({"a": 1}, config, stream_mode="values", output_keys=keys))
                )
                resume = app.stream(
                    lib.Command(resume="y"), config, stream_mode="values", output_keys=keys
                )
                seen.append(list(resume))
            else:
                version = "v2" if kind == "v2" else "v1"
                seen.append(app.invoke({"a": 1}, config, output_keys=keys, version=version))
                seen.append(
                    app.invoke(lib.Command(resume="y"), config, output_keys=keys, version=version)
                )
                seen.append(app.invoke(None, config, output_keys=keys, version=version))
        return [_comparable(s) for s in seen]

    assert plain(observe(gk)) == plain(observe(lg))


def _comparable(value: Any) -> Any:
    """A ``GraphOutput`` as its (value, interrupts) pair."""
    if type(value).__name__ == "GraphOutput":
        return ("GraphOutput", value.value, list(value.interrupts))
    return value


@pytest.mark.parametrize("keys", ["b", ["b"], ["a", "b"], "a", "c", None], ids=repr)
def test_a_node_that_writes_a_key_twice(keys: Any, gk: Lib, lg: Lib) -> None:
    def observe(lib: Lib) -> Any:
        app = _twice(lib)
        return [
            list(app.stream({}, stream_mode="updates", output_keys=keys)),
            list(app.stream({}, stream_mode="values", output_keys=keys)),
            app.invoke({}, output_keys=keys),
        ]

    assert plain(observe(gk)) == plain(observe(lg))


def test_a_key_the_state_lacks_is_refused_before_the_run(gk: Lib, lg: Lib) -> None:
    ran: list[str] = []
    for lib in (gk, lg):
        builder = lib.StateGraph(State)
        builder.add_node("one", lambda s: ran.append("one") or {"a": 1})
        builder.add_edge(lib.START, "one")
        app = builder.compile()
        for keys in ("zz", ["a", "zz"]):
            with pytest.raises(ValueError, match="zz"):
                app.invoke({"a": 1}, output_keys=keys)
            with pytest.raises(ValueError, match="zz"):
                list(app.stream({"a": 1}, output_keys=keys))
        assert ran == []


def test_none_options_mean_the_defaults(gk: Lib, lg: Lib) -> None:
    def observe(lib: Lib) -> Any:
        app = _chain(lib)
        nones = dict.fromkeys(("interrupt_before", "interrupt_after", "output_keys", "context"))
        return app.invoke({"a": 1}, **nones), list(app.stream({"a": 1}, **nones))

    assert plain(observe(gk)) == plain(observe(lg))


def test_langchain_messages_and_subgraph_streams(gk: Lib, lg: Lib) -> None:
    """Picked keys that hold LangChain messages show LangChain's classes; a subgraph's
    own chunks (``subgraphs=True``) are not picked: output_keys is the caller's graph's."""
    messages = pytest.importorskip("langchain_core.messages")

    def kinds(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: kinds(v) for k, v in value.items()}
        if isinstance(value, list):
            return [kinds(v) for v in value]
        return f"{type(value).__module__.split('.')[0]}.{type(value).__name__}"

    def observe(lib: Lib) -> Any:
        def agent(state: Any) -> dict[str, Any]:
            return {"messages": [messages.AIMessage("hi")]}

        inner = lib.StateGraph(lib.MessagesState)
        inner.add_node("agent", agent)
        inner.add_edge(lib.START, "agent")
        outer = lib.StateGraph(lib.MessagesState)
        outer.add_node("sub", inner.compile())
        outer.add_edge(lib.START, "sub")
        app = outer.compile()
        given = {"messages": [messages.HumanMessage("x")]}
        streamed = app.stream(
            given, stream_mode=["values", "updates"], output_keys="messages", subgraphs=True
        )
        return [
            kinds(app.invoke(given, output_keys="messages")),
            [(bool(ns), mode, kinds(chunk)) for ns, mode, chunk in streamed],
        ]

    assert observe(gk) == observe(lg)
