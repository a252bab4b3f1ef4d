"""LangChain callback handlers: the same programs on graphkit and LangGraph make the same
calls: (method, name, parent's position, tags, ``langgraph_*`` metadata, what it got),
on sync and async runs.

Interrupt ids differ by design: a ``GraphInterrupt`` compares by its class.
"""

from __future__ import annotations

import asyncio
import operator
from typing import Annotated, Any, TypedDict

import pytest

from tests.parity.conftest import Lib, plain

callbacks = pytest.importorskip("langchain_core.callbacks")

KEYS = ("langgraph_step", "langgraph_node", "langgraph_triggers", "langgraph_path")


class Calls(callbacks.BaseCallbackHandler):  # type: ignore[misc]
    """Each call as a comparable tuple; a run is named by the position of its start."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.order: dict[Any, int] = {}

    def _at(self, run_id: Any) -> int | None:
        return None if run_id is None else self.order.setdefault(run_id, len(self.order))

    def _add(self, method: str, value: Any, kw: dict[str, Any]) -> None:
        meta = kw.get("metadata") or {}
        if isinstance(value, BaseException):
            seen: Any = type(value).__name__
        elif type(value).__name__ == "Command":
            seen = repr(value)
        else:
            seen = plain(value)
        self.calls.append(
            (
                method,
                kw.get("name"),
                self._at(kw["run_id"]),
                self._at(kw.get("parent_run_id")),
                tuple(kw.get("tags") or ()),
                tuple((k, meta[k]) for k in KEYS if k in meta),
                seen,
            )
        )

    def on_chain_start(self, serialized: Any, inputs: Any, **kw: Any) -> None:
        self._add("chain_start", inputs, kw)

    def on_chain_end(self, outputs: Any, **kw: Any) -> None:
        self._add("chain_end", outputs, kw)

    def on_chain_error(self, error: BaseException, **kw: Any) -> None:
        self._add("chain_error", error, kw)


class S(TypedDict):
    x: int


class F(TypedDict):
    items: Annotated[list[str], operator.add]


def routed(lib: Lib) -> Any:
    def a(s: S) -> dict[str, Any]:
        return {"x": s["x"] + 1}

    def b(s: S) -> dict[str, Any]:
        return {"x": s["x"] * 2}

    def route(s: S) -> str:
        return "b" if s["x"] < 5 else lib.END

    builder = lib.StateGraph(S)
    builder.add_node("a", a)
    builder.add_node("b", b)
    builder.add_edge(lib.START, "a")
    builder.add_conditional_edges("a", route)
    builder.add_edge("b", lib.END)
    return builder.compile()


def commands_and_sends(lib: Lib) -> Any:
    def first(s: F) -> Any:
        return lib.Command(update={"items": ["first"]}, goto=[lib.Send("each", "p")])

    def each(item: str) -> dict[str, Any]:
        return {"items": [item]}

    def last(s: F) -> dict[str, Any]:
        return {"items": ["last"]}

    builder = lib.StateGraph(F)
    builder.add_node("first", first, destinations=("each",))
    builder.add_node("each", each)
    builder.add_node("last", last)
    builder.add_edge(lib.START, "first")
    builder.add_edge("each", "last")
    return builder.compile()


def nested(lib: Lib) -> Any:
    def inner(s: S) -> dict[str, Any]:
        return {"x": s["x"] + 10}

    sub = lib.StateGraph(S)
    sub.add_node("inner", inner)
    sub.add_edge(lib.START, "inner")
    builder = lib.StateGraph(S)
    builder.add_node("sub", sub.compile())
    builder.add_edge(lib.START, "sub")
    return builder.compile()


def failing(lib: Lib) -> Any:
    def boom(s: S) -> dict[str, Any]:
        raise ValueError("boom")

    builder = lib.StateGraph(S)
    builder.add_node("boom", boom)
    builder.add_edge(lib.START, "boom")
    return builder.compile()


def failing_route(lib: Lib) -> Any:
    def a(s: S) -> dict[str, Any]:
        return {"x": 2}

    def route(s: S) -> str:
        raise ValueError("no route")

    builder = lib.StateGraph(S)
    builder.add_node("a", a)
    builder.add_edge(lib.START, "a")
    builder.add_conditional_edges("a", route, ["a", lib.END])
    return builder.compile()


def workflow(lib: Lib) -> Any:
    @lib.task
    def double(n: int) -> int:
        return n * 2

    @lib.entrypoint()
    def flow(n: int) -> int:
        return double(n).result() + 1

    return flow


CASES = {
    "routed": (routed, {"x": 1}),
    "commands_and_sends": (commands_and_sends, {"items": []}),
    "nested": (nested, {"x": 1}),
    "failing": (failing, {"x": 1}),
    "failing_route": (failing_route, {"x": 1}),
    "workflow": (workflow, 3),
}


def calls_of(lib: Lib, case: str, mode: str) -> list[tuple[Any, ...]]:
    make, given = CASES[case]
    graph = make(lib)
    handler = Calls()
    config = {"callbacks": [handler], "tags": ["T"], "metadata": {"user": "u"}}
    try:
        if mode == "invoke":
            graph.invoke(given, config)
        elif mode == "stream":
            list(graph.stream(given, config))
        else:
            asyncio.run(graph.ainvoke(given, config))
    except ValueError:
        pass
    return handler.calls


@pytest.mark.parametrize("mode", ["invoke", "stream", "ainvoke"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_handlers_see_the_same_calls(gk: Lib, lg: Lib, case: str, mode: str) -> None:
    assert calls_of(gk, case, mode) == calls_of(lg, case, mode)


def run_twice(graph: Any, given: Any, resume: Any, config: Any, mode: str) -> None:
    """Invoke, then resume, sync or async."""
    if mode == "invoke":
        graph.invoke(given, config)
        graph.invoke(resume, config)
        return

    async def both() -> None:
        await graph.ainvoke(given, config)
        await graph.ainvoke(resume, config)

    asyncio.run(both())


@pytest.mark.parametrize("mode", ["invoke", "ainvoke"])
def test_an_interrupt_and_its_resume_make_the_same_calls(gk: Lib, lg: Lib, mode: str) -> None:
    def seen(lib: Lib) -> list[tuple[Any, ...]]:
        def ask(s: S) -> dict[str, Any]:
            return {"x": lib.interrupt("how many?")}

        builder = lib.StateGraph(S)
        builder.add_node("ask", ask)
        builder.add_edge(lib.START, "ask")
        graph = builder.compile(checkpointer=lib.InMemorySaver())
        handler = Calls()
        config = {"callbacks": [handler], "configurable": {"thread_id": "t"}}
        run_twice(graph, {"x": 1}, lib.Command(resume=7), config, mode)
        return handler.calls

    assert seen(gk) == seen(lg)


@pytest.mark.parametrize("mode", ["invoke", "ainvoke"])
def test_an_interrupt_in_a_subgraph_is_an_error_of_each_run_up_to_the_root(
    gk: Lib, lg: Lib, mode: str
) -> None:
    def seen(lib: Lib) -> list[tuple[Any, ...]]:
        def ask(s: S) -> dict[str, Any]:
            return {"x": lib.interrupt("how many?")}

        sub = lib.StateGraph(S)
        sub.add_node("ask", ask)
        sub.add_edge(lib.START, "ask")
        builder = lib.StateGraph(S)
        builder.add_node("sub", sub.compile())
        builder.add_edge(lib.START, "sub")
        graph = builder.compile(checkpointer=lib.InMemorySaver())
        handler = Calls()
        config = {"callbacks": [handler], "configurable": {"thread_id": "t"}}
        run_twice(graph, {"x": 1}, lib.Command(resume=7), config, mode)
        return handler.calls

    assert seen(gk) == seen(lg)
