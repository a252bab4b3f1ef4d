"""A LangChain runnable a node calls without a config sees the node's config, as in
LangGraph: LangChain's current config (``var_child_runnable_config``) is the running
task's config in nodes, ``@task`` calls, tools run by ``ToolNode`` and subgraphs, and
``get_config()`` shows what LangGraph's does (its keys; task ids aside)."""

from __future__ import annotations

import asyncio
import re
from typing import Any, TypedDict

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.messages import AIMessage
from langchain_core.runnables import ConfigurableField, RunnableConfig, RunnableLambda
from langchain_core.tools import tool

from tests.parity.conftest import Lib

CONFIG: RunnableConfig = {
    "configurable": {"user": "ada", "model": "b", "thread_id": "t1"},
    "tags": ["run-tag"],
    "metadata": {"team": "blue"},
    "recursion_limit": 30,
}
_IDS = re.compile(r":[0-9a-f-]{36}|:\d+:[\w~#]+|:\w+#\d+|:\d+")


class State(TypedDict):
    x: str


def _seen(config: RunnableConfig) -> dict[str, Any]:
    """What a LangChain runnable reads of its config, task ids taken out."""
    metadata = config.get("metadata") or {}
    return {
        "user": config["configurable"].get("user"),
        "checkpoint_ns": _IDS.sub("", str(config["configurable"].get("checkpoint_ns"))),
        "tags": [t for t in config.get("tags", []) if not t.startswith("seq:step")],
        "recursion_limit": config.get("recursion_limit"),
        "metadata": {k: _IDS.sub("", str(v)) for k, v in metadata.items()},
    }


def _read(value: Any, config: RunnableConfig) -> dict[str, Any]:
    return _seen(config)


READER = RunnableLambda(_read)
"""Called without a config: it reads LangChain's current one."""

MODEL = FakeListChatModel(responses=["from a"]).configurable_alternatives(
    ConfigurableField(id="model"), default_key="a", b=FakeListChatModel(responses=["from b"])
)


def _one_node(lib: Lib, node: Any) -> Any:
    builder = lib.StateGraph(State)
    builder.add_node("work", node)
    builder.add_edge(lib.START, "work")
    return builder.compile()


def node_reads(lib: Lib) -> Any:
    seen: list[Any] = []
    _one_node(lib, lambda s: seen.append(READER.invoke(s["x"])) or {}).invoke({"x": "q"}, CONFIG)
    return seen


def node_streams(lib: Lib) -> Any:
    seen: list[Any] = []
    graph = _one_node(lib, lambda s: seen.append(READER.invoke(s["x"])) or {})
    assert list(graph.stream({"x": "q"}, CONFIG, stream_mode="updates"))
    return seen


def async_node_reads(lib: Lib) -> Any:
    seen: list[Any] = []

    async def work(state: State) -> Any:
        seen.append(await READER.ainvoke(state["x"]))
        return {}

    asyncio.run(_one_node(lib, work).ainvoke({"x": "q"}, CONFIG))
    return seen


def model_alternative(lib: Lib) -> Any:
    graph = _one_node(lib, lambda s: {"x": MODEL.invoke(s["x"]).content})
    return [graph.invoke({"x": "q"}, CONFIG), graph.invoke({"x": "q"})]


def async_model_alternative(lib: Lib) -> Any:
    async def work(state: State) -> Any:
        return {"x": (await MODEL.ainvoke(state["x"])).content}

    return asyncio.run(_one_node(lib, work).ainvoke({"x": "q"}, CONFIG))


def sends_read_their_own(lib: Lib) -> Any:
    seen: list[Any] = []
    builder = lib.StateGraph(State)
    builder.add_node("fan", lambda s: {})
    builder.add_node("each", lambda x: seen.append(READER.invoke(x)) or {})
    builder.add_edge(lib.START, "fan")
    builder.add_conditional_edges("fan", lambda s: [lib.Send("each", str(i)) for i in range(3)])
    builder.compile().invoke({"x": "q"}, CONFIG)
    return sorted(seen, key=str)


def task_reads(lib: Lib) -> Any:
    @lib.task
    def ask(text: str) -> Any:
        return READER.invoke(text)

    @lib.entrypoint()
    def workflow(text: str) -> Any:
        return [ask(text).result(), READER.invoke(text)]

    return workflow.invoke("q", CONFIG)


def subgraph_reads(lib: Lib) -> Any:
    seen: list[Any] = []
    inner = _one_node(lib, lambda s: seen.append(READER.invoke(s["x"])) or {})
    _one_node(lib, inner).invoke({"x": "q"}, CONFIG)
    return seen


def tool_reads(lib: Lib) -> Any:
    from importlib import import_module

    tool_node = import_module(f"{lib.name}.prebuilt").ToolNode

    @tool
    def lookup(question: str) -> str:
        """Look it up."""
        return repr(READER.invoke(question))

    calls = [{"name": "lookup", "args": {"question": q}, "id": q} for q in ("a", "b")]
    builder = lib.StateGraph(lib.MessagesState)
    builder.add_node("tools", tool_node([lookup]))
    builder.add_edge(lib.START, "tools")
    out = builder.compile().invoke({"messages": [AIMessage("", tool_calls=calls)]}, CONFIG)
    return [m.content for m in out["messages"][1:]]


def get_config_shown(lib: Lib) -> Any:
    seen: list[Any] = []

    def work(state: State) -> Any:
        config = lib.get_config()
        seen.append((sorted(config), _seen(config)))
        return {}

    inner = _one_node(lib, work)
    _one_node(lib, work).invoke({"x": "q"}, CONFIG)
    _one_node(lib, inner).invoke({"x": "q"}, CONFIG)
    return seen


CASES = [
    node_reads,
    node_streams,
    async_node_reads,
    model_alternative,
    async_model_alternative,
    sends_read_their_own,
    task_reads,
    subgraph_reads,
    tool_reads,
    get_config_shown,
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.__name__)
def test_langchain_runnables_in_a_node_see_its_config_as_in_langgraph(
    case: Any, gk: Lib, lg: Lib
) -> None:
    theirs = case(lg)
    assert theirs, "LangGraph returned nothing: the case tests nothing"
    assert case(gk) == theirs
