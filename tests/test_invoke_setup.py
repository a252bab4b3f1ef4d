"""What one invoke sets up before its first step: its config, scope and Run.

The setup is shared as far as it can be (a fresh run's defaults live on the ``Run``
class, an empty config skips the merging), so these tests check that nothing a run
owns is shared with another run: concurrent invokes of one compiled graph stay
apart, and what a call passes (config, context, recursion limit, store) still
reaches its nodes.
"""

from __future__ import annotations

import asyncio
import itertools
import operator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Annotated, Any, TypedDict

import pytest

from graphkit import END, START, Send, StateGraph
from graphkit.config import get_config
from graphkit.constants import CONFIG_KEY_NODE_FINISHED
from graphkit.context import RunScope
from graphkit.engine.loop import Run
from graphkit.errors import ConfigError, GraphRecursionError
from graphkit.graph.message import MessagesState
from graphkit.runtime import Runtime
from graphkit.store.memory import InMemoryStore
from graphkit.types import RunnableConfig


class Count(TypedDict):
    x: int
    seen: str


class Fan(TypedDict):
    items: list[int]
    results: Annotated[list[int], operator.add]


def _seen_config(state: Count) -> dict[str, Any]:
    config = get_config()
    user = config.get("configurable", {}).get("user", "-")
    config.setdefault("metadata", {})["touched"] = True  # a node changing its config
    return {"x": state["x"] + 1, "seen": f"{user}:{state['x']}"}


def _chain(length: int = 2) -> Any:
    builder = StateGraph(Count)
    names = [f"n{i}" for i in range(length)]
    for name in names:
        builder.add_node(name, _seen_config)
    builder.add_edge(START, names[0])
    for a, b in itertools.pairwise(names):
        builder.add_edge(a, b)
    builder.add_edge(names[-1], END)
    return builder.compile()


def _fanout() -> Any:
    builder = StateGraph(Fan)
    builder.add_node("work", lambda item: {"results": [item * 2]})
    builder.add_conditional_edges(START, lambda s: [Send("work", i) for i in s["items"]])
    builder.add_edge("work", END)
    return builder.compile()


def test_concurrent_invokes_from_threads_keep_their_own_input_and_config() -> None:
    graph = _chain()

    def one(i: int) -> tuple[int, dict[str, Any]]:
        config = {"configurable": {"user": f"u{i}"}} if i % 2 else None
        return i, graph.invoke({"x": i, "seen": ""}, config)

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(one, range(200)))
    for i, out in results:
        user = f"u{i}" if i % 2 else "-"
        assert out == {"x": i + 2, "seen": f"{user}:{i + 1}"}


def test_concurrent_fanouts_from_threads_each_join_their_own_sends() -> None:
    graph = _fanout()

    def one(i: int) -> list[int]:
        return graph.invoke({"items": list(range(i % 7 + 1))})["results"]

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(one, range(120)))
    assert results == [[2 * k for k in range(i % 7 + 1)] for i in range(120)]


async def test_concurrent_ainvokes_keep_their_own_input_and_config() -> None:
    graph = _chain()
    configs = [{"configurable": {"user": f"u{i}"}} if i % 2 else None for i in range(50)]
    outs = await asyncio.gather(
        *(graph.ainvoke({"x": i, "seen": ""}, c) for i, c in enumerate(configs))
    )
    for i, out in enumerate(outs):
        user = f"u{i}" if i % 2 else "-"
        assert out == {"x": i + 2, "seen": f"{user}:{i + 1}"}


def test_a_node_changing_its_config_leaves_the_next_invoke_alone() -> None:
    seen: list[dict[str, Any]] = []

    def node(state: Count) -> dict[str, int]:
        config = get_config()
        seen.append(dict(config.get("metadata") or {}))
        config.setdefault("metadata", {})["touched"] = True
        return {"x": state["x"] + 1}

    builder = StateGraph(Count)
    builder.add_node("a", node)
    builder.add_edge(START, "a")
    builder.add_edge("a", END)
    graph = builder.compile()
    graph.invoke({"x": 0})
    graph.invoke({"x": 0})
    passed: RunnableConfig = {"metadata": {"m": 1}}
    graph.invoke({"x": 0}, passed)
    assert not any(s.get("touched") for s in seen)
    assert passed == {"metadata": {"m": 1}}  # the caller's config is not changed either


def test_config_of_each_call_reaches_the_nodes_with_the_bound_config_under_it() -> None:
    got: list[dict[str, Any]] = []

    def node(state: Count) -> dict[str, int]:
        config = get_config()
        got.append(
            {
                "configurable": dict(config.get("configurable") or {}),
                "tags": list(config.get("tags") or []),
                "callbacks": config.get("callbacks"),
            }
        )
        return {"x": state["x"] + 1}

    builder = StateGraph(Count)
    builder.add_node("a", node)
    builder.add_edge(START, "a")
    builder.add_edge("a", END)
    graph = builder.compile().with_config({"configurable": {"bound": 1}, "tags": ["b"]})
    graph.invoke({"x": 0})
    graph.invoke({"x": 0}, {"configurable": {"user": "u"}, "tags": ["t"], "callbacks": []})
    graph.invoke({"x": 0})
    # (the task adds its own keys, checkpoint_ns...: the given ones are all there)
    assert got[0]["configurable"].items() >= {"bound": 1}.items()
    assert (got[0]["tags"], got[0]["callbacks"]) == (["b"], None)
    assert got[1]["configurable"].items() >= {"bound": 1, "user": "u"}.items()
    assert (got[1]["tags"], got[1]["callbacks"]) == (["b", "t"], [])
    assert "user" not in got[2]["configurable"]  # a later call without it does not see it


def test_recursion_limit_of_a_call_still_stops_the_run() -> None:
    graph = _chain(3)
    with pytest.raises(GraphRecursionError, match="Recursion limit of 3"):
        graph.invoke({"x": 0, "seen": ""}, {"recursion_limit": 3})
    assert graph.invoke({"x": 0, "seen": ""}, {"recursion_limit": 4})["x"] == 3
    assert graph.invoke({"x": 0, "seen": ""})["x"] == 3  # the default limit again


@pytest.mark.parametrize("limit", [0, -3, 2.5, "10", True, None])
def test_a_recursion_limit_that_is_not_a_positive_whole_number_is_refused(limit: Any) -> None:
    graph = _chain(3)
    with pytest.raises(ConfigError, match=f"recursion_limit must be .* got {limit!r}"):
        graph.invoke({"x": 0, "seen": ""}, {"recursion_limit": limit})


def test_context_and_store_still_reach_the_nodes() -> None:
    @dataclass
    class Ctx:
        user: str

    store = InMemoryStore()
    store.put(("users",), "ann", {"name": "Ann"})

    def node(state: Count, runtime: Runtime[Ctx]) -> dict[str, Any]:
        assert runtime.store is not None
        item = runtime.store.get(("users",), runtime.context.user)
        assert item is not None
        return {"seen": item.value["name"]}

    builder = StateGraph(Count, context_schema=Ctx)
    builder.add_node("a", node)
    builder.add_edge(START, "a")
    builder.add_edge("a", END)
    graph = builder.compile(store=store)
    assert graph.invoke({"x": 0}, context=Ctx(user="ann"))["seen"] == "Ann"
    assert graph.invoke({"x": 0}, context={"user": "ann"})["seen"] == "Ann"


def test_node_finished_callback_of_the_config_is_called_per_node() -> None:
    finished: list[str] = []
    graph = _chain(2)
    graph.invoke(
        {"x": 0, "seen": ""}, {"configurable": {CONFIG_KEY_NODE_FINISHED: finished.append}}
    )
    assert finished == ["n0", "n1"]


def test_scope_of_an_empty_config_is_a_fresh_empty_one_per_run() -> None:
    a = RunScope.for_run({}, "ctx", None, True, True)
    b = RunScope.for_run({}, "ctx", None, True, True)
    assert (a.context, a.thread_id, a.run_id, a.server_info, a.subgraphs) == (
        "ctx",
        None,
        None,
        None,
        True,
    )
    assert a.metadata == {} and a.replay_targets == {} and a.seen_messages == set()
    assert a.metadata is not b.metadata and a.seen_messages is not b.seen_messages
    full = RunScope.for_run({"run_id": "r", "configurable": {"thread_id": "t"}}, None, None, True)
    assert (full.thread_id, full.run_id, full.metadata) == ("t", "r", {"thread_id": "t"})


def test_a_run_keeps_few_attributes_of_its_own() -> None:
    """A fresh run's defaults live on the class: CPython shares one key table among
    a class's instances only up to 30 attributes, and past it every attribute read
    and method call on the run takes the slow path (about a tenth more per invoke).
    A run that goes through its steps stays well under that."""
    graph = _chain(2)
    run = Run(graph, {})
    for _ in run.iterate({"x": 0, "seen": ""}):
        pass
    assert run.output() == {"x": 2, "seen": "-:1"}
    assert len(vars(run)) <= 24, sorted(vars(run))


def test_histories_are_known_at_compile_time() -> None:
    builder = StateGraph(MessagesState)
    builder.add_node("a", lambda s: {"messages": [("ai", "hi")]})
    builder.add_edge(START, "a")
    assert builder.compile().tables.histories
    assert not _fanout().tables.histories
    out = builder.compile().invoke({"messages": [("user", "hello")]})
    assert [m.content for m in out["messages"]] == ["hello", "hi"]


def test_new_run_context_sets_every_field_the_class_sets() -> None:
    # Run builds its context without calling the class (once per invoke); a field added
    # to RunContext.__init__ but not to new_run_context fails here.
    from dataclasses import fields

    from graphkit.context import RunContext, new_run_context
    from graphkit.engine.executor import LOCAL

    args: list[Any] = [{"c": 1}, "store", print, frozenset({"updates"}), True, ("ns",)]
    args += [print, None, "saver", {"a": 1}, ("x",), "cp", {"r"}, len, repr, RunScope()]
    args += [str, ("root",), "cache", LOCAL]
    by_class, fast = RunContext(*args), new_run_context(*args)
    names = [f.name for f in fields(RunContext)]
    assert names == list(RunContext.__slots__)
    assert [getattr(fast, n) for n in names] == [getattr(by_class, n) for n in names] == args


def test_a_node_config_carries_the_callbacks_it_was_given_when_they_are_not_handlers() -> None:
    seen: list[Any] = []

    def node(state: dict[str, Any], config: RunnableConfig) -> dict[str, Any]:
        seen.append(config.get("callbacks"))
        return {}

    graph = StateGraph(Count).add_node("node", node).add_edge(START, "node").compile()
    graph.invoke({"x": 0}, {"callbacks": []})  # (none: a plain run)
    assert seen == [[]]
