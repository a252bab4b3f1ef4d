"""The LangChain pieces a program moved from LangGraph keeps: custom events dispatched in
nodes, runnables as nodes, a compiled graph inside LangChain chains, tools and schema
introspection. The same program runs on graphkit and on LangGraph, with the same result.
"""

from __future__ import annotations

import asyncio
from typing import Any, TypedDict

import pytest

from tests.parity.conftest import Lib
from tests.parity.test_events_parity import collect, shapes

callbacks = pytest.importorskip("langchain_core.callbacks")
from langchain_core.runnables import RunnableConfig  # noqa: E402


class S(TypedDict):
    x: int


def single(lib: Lib, node: Any) -> Any:
    builder = lib.StateGraph(S)
    builder.add_node("n", node)
    builder.add_edge(lib.START, "n")
    return builder.compile()


async def with_config(s: S, config: RunnableConfig) -> dict[str, Any]:
    await callbacks.adispatch_custom_event("progress", {"p": 1}, config=config)
    return {"x": s["x"] + 1}


async def without_config(s: S) -> dict[str, Any]:
    await callbacks.adispatch_custom_event("progress", {"p": 2})
    return {"x": s["x"] + 1}


def sync(s: S) -> dict[str, Any]:
    callbacks.dispatch_custom_event("progress", {"p": 3})
    return {"x": s["x"] + 1}


def dispatching(lib: Lib, how: str) -> Any:
    """A graph whose node sends custom events as LangChain's docs show: async with its
    config, async without one, or sync."""
    nodes = {"with_config": with_config, "without_config": without_config, "sync": sync}
    return single(lib, nodes[how])


HOWS = ["with_config", "without_config", "sync"]


@pytest.mark.parametrize("how", HOWS)
def test_a_custom_event_in_a_plain_run_goes_nowhere_as_in_langgraph(
    gk: Lib, lg: Lib, how: str
) -> None:
    for lib in (gk, lg):
        assert asyncio.run(dispatching(lib, how).ainvoke({"x": 1})) == {"x": 2}
    assert dispatching(gk, "sync").invoke({"x": 1}) == {"x": 2}


def custom_events(lib: Lib, how: str, **options: Any) -> list[tuple[Any, ...]]:
    events = collect(dispatching(lib, how), {"x": 1}, {"tags": ["T"]}, **options)
    return [
        (e["name"], e["data"], e["metadata"]["langgraph_node"], len(e["parent_ids"]))
        for e in events
        if e["event"] == "on_custom_event"
    ]


@pytest.mark.parametrize("how", HOWS)
def test_custom_events_stream_under_their_node_as_in_langgraph(gk: Lib, lg: Lib, how: str) -> None:
    events = collect(dispatching(gk, how), {"x": 1}, {"tags": ["T"]}, version="v2")
    assert shapes(events) == shapes(
        collect(dispatching(lg, how), {"x": 1}, {"tags": ["T"]}, version="v2")
    )
    assert custom_events(gk, how, version="v2") == custom_events(lg, how, version="v2")
    assert len(custom_events(gk, how, version="v2")) == 1


def test_custom_events_are_filtered_by_their_name_as_their_type(gk: Lib, lg: Lib) -> None:
    for options in (
        {"include_types": ["progress"]},
        {"exclude_types": ["progress"]},
        {"include_names": ["progress"]},
    ):
        found = [e[0] for e in custom_events(gk, "sync", version="v2", **options)]
        # (LangGraph's filtered stream adds the node's input to the event's data: not compared)
        assert found == [e[0] for e in custom_events(lg, "sync", version="v2", **options)]


def test_version_v1_streams_no_custom_events_as_in_langgraph(gk: Lib, lg: Lib) -> None:
    assert custom_events(gk, "sync", version="v1") == custom_events(lg, "sync", version="v1") == []


def compositions(lib: Lib) -> dict[str, Any]:
    """A graph (and an entrypoint) composed with LangChain runnables every way LangChain
    offers, and what each returns (an exception's class name where one is raised)."""
    from langchain_core.runnables import RunnableLambda, RunnableParallel, RunnablePassthrough

    calls = {"n": 0}

    def node(s: S) -> dict[str, Any]:
        calls["n"] += 1
        if s["x"] < 0 or calls["n"] == 1:  # (the first call fails: with_retry retries it)
            raise ValueError("negative" if s["x"] < 0 else "flaky")
        return {"x": s["x"] + 1}

    graph = single(lib, node)

    @lib.entrypoint()
    def flow(n: int) -> int:
        return n * 3

    times_ten = RunnableLambda(lambda out: out["x"] * 10)
    cases: dict[str, Any] = {
        "retry": lambda: graph.with_retry(stop_after_attempt=2).invoke({"x": 1}),
        "piped": lambda: (graph | times_ten).invoke({"x": 1}),
        "pipe": lambda: graph.pipe(times_ten, name="p").invoke({"x": 2}),
        "fed": lambda: (RunnableLambda(lambda n: {"x": n}) | graph).invoke(5),
        "assign": lambda: RunnablePassthrough.assign(out=graph).invoke({"x": 3}),
        "parallel": lambda: RunnableParallel(g=graph, same=RunnablePassthrough()).invoke({"x": 4}),
        "dict": lambda: (RunnableLambda(lambda n: {"x": n}) | {"g": graph}).invoke(6),
        "fallback": lambda: graph.with_fallbacks([RunnableLambda(lambda s: "fb")]).invoke(
            {"x": -1}
        ),
        "map": lambda: graph.map().invoke([{"x": 1}, {"x": 2}]),
        "bound": lambda: graph.bind(output_keys="x").invoke({"x": 1}),
        "typed": lambda: graph.with_types(input_type=dict).invoke({"x": 1}),
        "batch_chain": lambda: (graph | times_ten).batch(
            [{"x": 1}, {"x": -1}], return_exceptions=True
        ),
        "stream_chain": lambda: list((graph | RunnableLambda(lambda c: list(c))).stream({"x": 1})),
        "flow": lambda: (flow | RunnableLambda(lambda n: n + 1)).invoke(2),
        "into_flow": lambda: (RunnableLambda(lambda n: n + 1) | flow).invoke(2),
        "specs": lambda: graph.config_specs,
    }
    found: dict[str, Any] = {}
    for name, case in cases.items():
        try:
            found[name] = case()
        except Exception as exc:
            found[name] = type(exc).__name__
    found["batch_chain"] = [
        type(r).__name__ if isinstance(r, Exception) else r for r in found["batch_chain"]
    ]
    return found


def test_a_graph_composes_with_langchain_runnables_as_in_langgraph(gk: Lib, lg: Lib) -> None:
    ours = compositions(gk)
    assert ours == compositions(lg)
    assert ours["retry"] == {"x": 2} and ours["piped"] == 20 and ours["fallback"] == "fb"


def test_a_graph_in_a_chain_reports_under_the_chain_as_in_langgraph(gk: Lib, lg: Lib) -> None:
    from langchain_core.runnables import RunnableLambda

    from tests.parity.test_callbacks_parity import Calls

    def calls(lib: Lib) -> list[tuple[Any, ...]]:
        handler = Calls()
        graph = single(lib, lambda s: {"x": s["x"] + 1})
        chain = graph.with_retry(stop_after_attempt=2) | RunnableLambda(lambda out: out["x"])
        assert chain.invoke({"x": 1}, {"callbacks": [handler]}) == 2
        return handler.calls

    assert calls(gk) == calls(lg)
