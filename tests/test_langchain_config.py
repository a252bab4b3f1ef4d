"""LangChain's current config is the running task's config (``engine.langchain_config``):
what reads it, where, and what it reads as outside a task."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from typing import Any, TypedDict

import pytest
from langchain_core import messages as lc
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.runnables import ConfigurableField, RunnableConfig, RunnableLambda
from langchain_core.runnables.config import ensure_config, var_child_runnable_config

from graphkit.graph import START, MessagesState, StateGraph
from graphkit.types import RetryPolicy, Send

CONFIG: RunnableConfig = {"configurable": {"user": "ada"}, "tags": ["run-tag"]}


class Counter(TypedDict):
    n: int


class State(TypedDict):
    x: str


def _user(value: Any, config: RunnableConfig) -> Any:
    return config["configurable"].get("user")


USER = RunnableLambda(_user)
"""Called without a config: the user LangChain's current config names."""


def _one_node(node: Any, **options: Any) -> Any:
    builder = StateGraph(State)
    builder.add_node("work", node, **options)
    builder.add_edge(START, "work")
    return builder.compile()


def test_a_node_with_a_retry_policy_passes_its_config_on() -> None:
    attempts: list[Any] = []

    def work(state: State) -> Any:
        attempts.append(USER.invoke(state["x"]))
        if len(attempts) == 1:
            raise ConnectionError("once")
        return {"x": attempts[-1]}

    graph = _one_node(work, retry_policy=RetryPolicy(initial_interval=0, jitter=False))
    assert graph.invoke({"x": "q"}, CONFIG) == {"x": "ada"}
    assert attempts == ["ada", "ada"]


def test_sync_and_async_tasks_of_an_async_step_each_read_their_own_config() -> None:
    seen: list[tuple[str, Any]] = []

    def sync_work(x: str) -> Any:
        seen.append((ensure_config()["metadata"]["langgraph_node"], USER.invoke(x)))
        return {}

    async def async_work(x: str) -> Any:
        seen.append((ensure_config()["metadata"]["langgraph_node"], await USER.ainvoke(x)))
        return {}

    builder = StateGraph(State)
    builder.add_node("sync_work", sync_work)
    builder.add_node("async_work", async_work)
    builder.add_conditional_edges(
        START, lambda s: [Send(n, str(i)) for i in range(2) for n in ("sync_work", "async_work")]
    )
    asyncio.run(builder.compile().ainvoke({"x": "q"}, CONFIG))
    assert sorted(seen) == [("async_work", "ada")] * 2 + [("sync_work", "ada")] * 2


def test_outside_its_tasks_a_run_leaves_the_callers_config_as_it_was() -> None:
    caller: RunnableConfig = {"configurable": {"user": "caller"}}
    graph = _one_node(lambda s: {"x": USER.invoke(s["x"])})
    token = var_child_runnable_config.set(caller)
    try:
        between = [USER.invoke("") for _ in graph.stream({"x": "q"}, CONFIG, stream_mode="values")]
        assert graph.invoke({"x": "q"}, CONFIG) == {"x": "ada"}
        assert var_child_runnable_config.get() is caller
    finally:
        var_child_runnable_config.reset(token)
    assert between == ["caller", "caller"]
    assert var_child_runnable_config.get() is None


def test_the_config_reads_as_a_mapping_every_way_langchain_code_may_read_it() -> None:
    seen: list[Any] = []

    def work(state: State) -> Any:
        current = var_child_runnable_config.get()
        assert current is not None
        whole = dict(current)
        seen.append(whole == {**current} == current.copy())  # type: ignore[attr-defined]
        seen.append((current["configurable"]["user"], len(current) == len(whole)))
        seen.append(("metadata" in current, sorted(current) == sorted(whole)))
        return {}

    _one_node(work).invoke({"x": "q"}, CONFIG)
    assert seen == [True, ("ada", True), (True, True)]


def test_a_configurable_model_streams_its_tokens_and_picks_as_the_config_says() -> None:
    model = GenericFakeChatModel(messages=iter([lc.AIMessage("from a")]))
    other = GenericFakeChatModel(messages=iter([lc.AIMessage("from b b")]))
    chosen = model.configurable_alternatives(ConfigurableField(id="model"), b=other)
    builder = StateGraph(MessagesState)
    builder.add_node("agent", lambda s: {"messages": [chosen.invoke(s["messages"])]})
    builder.add_edge(START, "agent")
    parts = builder.compile().stream(
        {"messages": [("user", "hi")]}, {"configurable": {"model": "b"}}, stream_mode="messages"
    )
    assert [m.content for m, _ in parts] == ["from", " ", "b", " ", "b"]


def test_a_process_without_langchain_core_does_not_import_it() -> None:
    code = (
        "import sys\n"
        "from typing import TypedDict\n"
        "from graphkit.graph import START, StateGraph\n"
        "class S(TypedDict):\n    x: int\n"
        "b = StateGraph(S); b.add_node('n', lambda s: {'x': 1}); b.add_edge(START, 'n')\n"
        "g = b.compile()\n"
        "assert g.invoke({'x': 0}, {'configurable': {'u': 1}}) == {'x': 1}\n"
        "assert list(g.stream({'x': 0}, stream_mode='messages')) == []\n"
        "print('langchain_core' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_stand_in_module_named_langchain_core_is_not_langchain(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Only LangChain's own package switches the LangChain paths on: a module a test
    harness registers under its name (with none of its classes) leaves runs as they are."""
    import types

    from graphkit._langchain import langchain_loaded

    assert langchain_loaded()
    aliased = types.ModuleType("langchain_core")
    aliased.__file__ = "<a stand-in>"  # (a test harness's alias names no file)
    monkeypatch.setitem(sys.modules, "langchain_core", aliased)
    assert not langchain_loaded()
    monkeypatch.setitem(sys.modules, "langchain_core", types.ModuleType("langchain_core"))
    assert not langchain_loaded()
    builder = StateGraph(Counter)
    builder.add_node("add", lambda s: {"n": s["n"] + 1})
    builder.add_edge(START, "add")
    graph = builder.compile()
    assert graph.invoke({"n": 1}) == {"n": 2}
    assert list(graph.stream({"n": 1}, stream_mode="messages")) == []
    monkeypatch.undo()
    assert langchain_loaded()


def test_a_tasks_langchain_calls_nest_under_the_callers_langsmith_run() -> None:
    """A run reporting to nothing gives its tasks a callback manager (``dispatch_custom_event``
    needs its parent run): under a LangSmith run the caller is inside (``@traceable``),
    LangChain then nests what it traces there, as it did without graphkit's manager."""
    from langchain_core.callbacks.manager import CallbackManager
    from langsmith.run_helpers import tracing_context
    from langsmith.run_trees import RunTree

    parents: list[Any] = []

    def work(state: State) -> Any:
        callbacks = ensure_config()["callbacks"]
        parents.append(CallbackManager.configure(inheritable_callbacks=callbacks).parent_run_id)
        return {}

    graph = _one_node(work)
    outer = RunTree(name="outer", run_type="chain")
    with tracing_context(parent=outer, enabled=False):  # (nothing is sent anywhere)
        graph.invoke({"x": "q"})
    graph.invoke({"x": "q"})
    assert parents[0] == outer.id
    assert parents[1] is not None and parents[1] != outer.id  # (a run of its own)
