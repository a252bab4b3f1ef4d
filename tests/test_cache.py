"""Node and task caches: ``CachePolicy`` with ``compile(cache=...)`` / ``entrypoint(cache=...)``."""

from __future__ import annotations

import time
from typing import Any, TypedDict
from unittest.mock import patch

import pytest

from graphkit.cache import BaseCache, InMemoryCache
from graphkit.cache.base import digest
from graphkit.checkpoint.memory import InMemorySaver
from graphkit.errors import PolicyError
from graphkit.func import entrypoint, task
from graphkit.graph import END, START, StateGraph
from graphkit.types import CachePolicy, Command, default_cache_key, interrupt


class State(TypedDict, total=False):
    query: str
    answer: str


# ----------------------------------------------------------------------------- the cache
def test_in_memory_cache_gets_what_was_set_and_clears_by_namespace() -> None:
    cache: InMemoryCache[Any] = InMemoryCache()
    cache.set({(("a",), "k"): ([1, {"x": 2}], None), (("b",), "k"): ("b", None)})
    assert cache.get([(("a",), "k"), (("a",), "missing")]) == {(("a",), "k"): [1, {"x": 2}]}
    cache.clear([("a",)])
    assert cache.get([(("a",), "k"), (("b",), "k")]) == {(("b",), "k"): "b"}
    cache.clear()
    assert cache.get([(("b",), "k")]) == {}


def test_in_memory_cache_entries_expire_after_their_ttl() -> None:
    cache: InMemoryCache[Any] = InMemoryCache()
    cache.set({(("a",), "k"): ("v", 10)})
    assert cache.get([(("a",), "k")])
    with patch("time.time", return_value=time.time() + 11):
        assert cache.get([(("a",), "k")]) == {}


async def test_async_cache_methods_default_to_the_sync_ones() -> None:
    cache: InMemoryCache[Any] = InMemoryCache()
    await cache.aset({(("a",), "k"): ("v", None)})
    assert await cache.aget([(("a",), "k")]) == {(("a",), "k"): "v"}
    await cache.aclear()
    assert await cache.aget([(("a",), "k")]) == {}


def test_default_key_ignores_dict_order_and_digest_is_stable() -> None:
    assert default_cache_key({"a": 1, "b": 2}) == default_cache_key({"b": 2, "a": 1})
    assert default_cache_key({"a": 1}) != default_cache_key({"a": 2})
    assert digest("x") == digest(b"x") and len(digest("x")) == 32


# ----------------------------------------------------------------------------- nodes
def _graph(cache: BaseCache[Any] | None, policy: CachePolicy[Any] | None = None) -> Any:
    """A graph whose cached node ``rewrite`` records its inputs in ``graph.calls``."""
    calls: list[str] = []

    def rewrite(state: State) -> dict[str, str]:
        calls.append(state["query"])
        return {"query": f"q: {state['query']}"}

    graph = (
        StateGraph(State)
        .add_node("rewrite", rewrite, cache_policy=policy or CachePolicy())
        .add_node("respond", lambda s: {"answer": s["query"].upper()})
        .add_edge(START, "rewrite")
        .add_edge("rewrite", "respond")
        .add_edge("respond", END)
        .compile(cache=cache)
    )
    graph.calls = calls  # type: ignore[attr-defined]
    return graph


def test_a_cached_node_runs_once_per_input_and_replays_its_writes() -> None:
    graph = _graph(InMemoryCache())
    first = graph.invoke({"query": "sf"})
    assert graph.invoke({"query": "sf"}) == first == {"query": "q: sf", "answer": "Q: SF"}
    graph.invoke({"query": "nyc"})
    assert graph.calls == ["sf", "nyc"]


def test_a_replayed_node_says_so_in_the_updates_stream() -> None:
    graph = _graph(InMemoryCache())
    graph.invoke({"query": "sf"})
    assert list(graph.stream({"query": "sf"})) == [
        {"rewrite": {"query": "q: sf"}, "__metadata__": {"cached": True}},
        {"respond": {"answer": "Q: SF"}},
    ]


def test_clear_cache_makes_nodes_run_again() -> None:
    graph = _graph(InMemoryCache())
    graph.invoke({"query": "sf"})
    graph.clear_cache()
    graph.invoke({"query": "sf"})
    assert graph.calls == ["sf", "sf"]
    with pytest.raises(PolicyError, match="unknown node"):
        graph.clear_cache(["nope"])


async def test_aclear_cache_and_async_runs_use_the_cache_too() -> None:
    graph = _graph(InMemoryCache())
    await graph.ainvoke({"query": "sf"})
    await graph.ainvoke({"query": "sf"})
    await graph.aclear_cache(["rewrite"])
    await graph.ainvoke({"query": "sf"})
    assert graph.calls == ["sf", "sf"]


def test_without_a_cache_the_policy_does_nothing() -> None:
    graph = _graph(None)
    graph.invoke({"query": "sf"})
    graph.invoke({"query": "sf"})
    assert graph.calls == ["sf", "sf"]
    with pytest.raises(PolicyError, match="no cache"):
        graph.clear_cache()


def test_key_func_and_ttl_decide_what_is_a_hit() -> None:
    by_length = CachePolicy(key_func=lambda state: str(len(state["query"])), ttl=60)
    graph = _graph(InMemoryCache(), by_length)
    graph.invoke({"query": "sf"})
    assert graph.invoke({"query": "la"})["query"] == "q: sf"  # same key: the cached writes
    with patch("time.time", return_value=time.time() + 61):
        assert graph.invoke({"query": "la"})["query"] == "q: la"
    assert graph.calls == ["sf", "la"]


def test_a_cached_command_replays_its_routes() -> None:
    calls: list[int] = []

    def pick(state: State) -> Command[Any]:
        calls.append(1)
        return Command(update={"query": "picked"}, goto="respond")

    graph = (
        StateGraph(State)
        .add_node("pick", pick, cache_policy=CachePolicy(), destinations=("respond",))
        .add_node("respond", lambda s: {"answer": "done"})
        .add_edge(START, "pick")
        .compile(cache=InMemoryCache())
    )
    assert graph.invoke({"query": "x"}) == graph.invoke({"query": "x"})
    assert graph.invoke({"query": "x"})["answer"] == "done"
    assert calls == [1]


def test_set_node_defaults_caches_every_node() -> None:
    calls: list[str] = []

    def node(state: State) -> dict[str, str]:
        calls.append("run")
        return {"answer": "a"}

    graph = (
        StateGraph(State)
        .set_node_defaults(cache_policy=CachePolicy())
        .add_node("n", node)
        .add_edge(START, "n")
        .compile(cache=InMemoryCache())
    )
    graph.invoke({"query": "x"})
    graph.invoke({"query": "x"})
    assert calls == ["run"]


# ----------------------------------------------------------------------------- tasks
def test_cached_tasks_survive_threads_and_clear_per_task() -> None:
    counter: list[int] = []
    cache: InMemoryCache[Any] = InMemoryCache()

    @task(cache_policy=CachePolicy())
    def double(x: int) -> int:
        counter.append(x)
        return 2 * x

    @entrypoint(checkpointer=InMemorySaver(), cache=cache)
    def workflow(xs: list[int]) -> list[Any]:
        out: list[Any] = []
        for x in xs:
            out += [double(x).result(), interrupt(x)]
        return out

    def run(thread: str) -> Any:
        config = {"configurable": {"thread_id": thread}}
        workflow.invoke([1, 1, 2], config)
        workflow.invoke(Command(resume="a"), config)
        workflow.invoke(Command(resume="b"), config)
        return workflow.invoke(Command(resume="c"), config)

    assert run("1") == [2, "a", 2, "b", 4, "c"]
    assert counter == [1, 2]
    assert run("2") == [2, "a", 2, "b", 4, "c"]
    assert counter == [1, 2]
    double.clear_cache(cache)
    run("3")
    assert counter == [1, 2, 1, 2]


async def test_async_cached_task() -> None:
    counter: list[int] = []
    cache: InMemoryCache[Any] = InMemoryCache()

    @task(cache_policy=CachePolicy())
    async def double(x: int) -> int:
        counter.append(x)
        return 2 * x

    @entrypoint(cache=cache)
    async def workflow(x: int) -> int:
        return await double(x) + await double(x)

    assert await workflow.ainvoke(3) == 12
    assert counter == [3]
    await double.aclear_cache(cache)
    assert await workflow.ainvoke(3) == 12
    assert counter == [3, 3]


# ----------------------------------------------------------------------------- import paths
@pytest.mark.parametrize(
    ("module", "names"),
    [
        ("graphkit.cache.base", ["BaseCache"]),
        ("graphkit.cache.memory", ["InMemoryCache"]),
        ("graphkit.types", ["CachePolicy", "TimeoutPolicy", "RetryPolicy", "default_retry_on"]),
        ("graphkit.errors", ["NodeError", "NodeTimeoutError", "NodeCancelledError"]),
        ("graphkit", ["CachePolicy", "TimeoutPolicy", "NodeError", "NodeTimeoutError"]),
    ],
)
def test_policy_names_sit_at_langgraphs_paths(module: str, names: list[str]) -> None:
    import importlib

    loaded = importlib.import_module(module)
    assert all(hasattr(loaded, name) for name in names)


def test_a_task_the_cache_answers_is_marked_cached_in_updates() -> None:
    @task(cache_policy=CachePolicy())
    def double(n: int) -> int:
        return n * 2

    @entrypoint(cache=InMemoryCache())
    def workflow(n: int) -> int:
        return double(n).result()

    assert list(workflow.stream(2)) == [{"double": 4}, {"workflow": 4}]
    assert list(workflow.stream(2)) == [
        {"double": 4, "__metadata__": {"cached": True}},
        {"workflow": 4},
    ]


async def test_an_async_task_the_cache_answers_is_marked_cached_in_updates() -> None:
    @task(cache_policy=CachePolicy())
    async def double(n: int) -> int:
        return n * 2

    @entrypoint(cache=InMemoryCache())
    async def workflow(n: int) -> int:
        return await double(n)

    assert [c async for c in workflow.astream(2)] == [{"double": 4}, {"workflow": 4}]
    assert [c async for c in workflow.astream(2)] == [
        {"double": 4, "__metadata__": {"cached": True}},
        {"workflow": 4},
    ]
