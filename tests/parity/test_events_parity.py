"""``astream_events``: the same programs on graphkit and LangGraph give the same event
sequence: (event, name, tags, the ``langgraph_*`` metadata keys, parent depth).

Task ids (and so ``langgraph_checkpoint_ns``) differ by design and are not compared;
the fake chat models split their replies into different tokens, so consecutive
``on_chat_model_stream`` events count as one.
"""

from __future__ import annotations

import asyncio
import operator
from typing import Annotated, Any, TypedDict

import pytest

from tests.parity.conftest import Lib

Shape = tuple[str, str, tuple[str, ...], tuple[tuple[str, Any], ...], int]

SAME_NAME = {"GenericFakeChatModel": "FakeChatModel"}
"""The fake chat models' class names (their run names) differ by design."""

COMPARED_KEYS = ("langgraph_step", "langgraph_node", "langgraph_triggers", "langgraph_path")


def shapes(events: list[dict[str, Any]]) -> list[Shape]:
    """What the tests compare of each event, in order (one stream event per model run)."""
    out: list[Shape] = []
    for ev in events:
        metadata = tuple((k, ev["metadata"][k]) for k in COMPARED_KEYS if k in ev["metadata"])
        name = SAME_NAME.get(ev["name"], ev["name"])
        shape = (ev["event"], name, tuple(ev["tags"]), metadata, len(ev["parent_ids"]))
        if ev["event"] == "on_chat_model_stream" and out and out[-1] == shape:
            continue
        out.append(shape)
    return out


def collect(graph: Any, given: Any, config: Any = None, **options: Any) -> list[dict[str, Any]]:
    async def run() -> list[dict[str, Any]]:
        return [e async for e in graph.astream_events(given, config, **options)]

    return asyncio.run(run())


def collect_until_error(graph: Any, given: Any) -> tuple[list[dict[str, Any]], str]:
    events: list[dict[str, Any]] = []

    async def run() -> None:
        async for e in graph.astream_events(given):
            events.append(e)

    try:
        asyncio.run(run())
    except Exception as exc:  # the node's error, after the events that came before it
        return events, str(exc)
    raise AssertionError("the run did not fail")


class S(TypedDict):
    x: int


class Fan(TypedDict):
    xs: Annotated[list[int], operator.add]


def chain(lib: Lib) -> Any:
    async def a(s: S) -> dict[str, Any]:
        return {"x": s["x"] + 1}

    def b(s: S) -> None:
        return None

    builder = lib.StateGraph(S)
    builder.add_node("a", a)
    builder.add_node("b", b)
    builder.add_edge(lib.START, "a")
    builder.add_edge("a", "b")
    return builder.compile()


def subgraphs(lib: Lib) -> Any:
    async def inner(s: S) -> dict[str, Any]:
        return {"x": s["x"] + 1}

    sub_builder = lib.StateGraph(S)
    sub_builder.add_node("inner", inner)
    sub_builder.add_edge(lib.START, "inner")
    sub = sub_builder.compile()

    async def calls(s: S) -> Any:
        return await sub.ainvoke(s)

    builder = lib.StateGraph(S)
    builder.add_node("child", sub)
    builder.add_node("calls", calls)
    builder.add_edge(lib.START, "child")
    builder.add_edge("child", "calls")
    return builder.compile()


def model(lib: Lib) -> Any:
    if lib.name == "langgraph":
        from langchain_core.language_models.fake_chat_models import GenericFakeChatModel

        chat: Any = GenericFakeChatModel(messages=iter(["hello world"]))
    else:
        from graphkit.models import FakeChatModel

        chat = FakeChatModel(responses=["hello world"])

    async def agent(s: Any) -> dict[str, Any]:
        return {"messages": [await chat.ainvoke(s["messages"])]}

    builder = lib.StateGraph(lib.MessagesState)
    builder.add_node("agent", agent)
    builder.add_edge(lib.START, "agent")
    return builder.compile()


def a_tool(lib: Lib) -> Any:
    if lib.name == "langgraph":
        from langchain_core.tools import tool
    else:
        from graphkit.tools import tool

    @tool
    def add(a: int, b: int) -> int:
        """Add two numbers."""
        return a + b

    async def calc(s: S) -> dict[str, Any]:
        return {"x": await add.ainvoke({"a": s["x"], "b": 2})}

    builder = lib.StateGraph(S)
    builder.add_node("calc", calc)
    builder.add_edge(lib.START, "calc")
    return builder.compile()


def routed(lib: Lib) -> Any:
    def a(s: S) -> dict[str, Any]:
        return {"x": s["x"] + 1}

    def route(s: S) -> str:
        return "b" if s["x"] < 3 else lib.END

    async def again(s: S) -> list[str]:
        return ["a"]

    builder = lib.StateGraph(S)
    builder.add_node("a", a)
    builder.add_node("b", lambda s: {"x": s["x"] + 1})
    builder.add_edge(lib.START, "a")
    builder.add_conditional_edges("a", route, ["b", lib.END])
    builder.add_conditional_edges("b", again)
    builder.add_conditional_edges("b", lambda s: lib.END)
    return builder.compile()


def test_routing_functions_report_under_their_node_before_its_end(gk: Lib, lg: Lib) -> None:
    ours, theirs = collect(routed(gk), {"x": 1}), collect(routed(lg), {"x": 1})
    assert shapes(ours) == shapes(theirs)
    assert [e["data"] for e in ours] == [e["data"] for e in theirs]


def test_a_routed_subgraph_node_reports_its_route_before_its_end(gk: Lib, lg: Lib) -> None:
    def build(lib: Lib) -> Any:
        inner = lib.StateGraph(S)
        inner.add_node("inner", lambda s: {"x": s["x"] + 1})
        inner.add_edge(lib.START, "inner")
        builder = lib.StateGraph(S)
        builder.add_node("child", inner.compile())
        builder.add_edge(lib.START, "child")
        builder.add_conditional_edges("child", lambda s: lib.END)
        return builder.compile()

    ours, theirs = collect(build(gk), {"x": 1}), collect(build(lg), {"x": 1})
    assert shapes(ours) == shapes(theirs)
    assert [e["data"] for e in ours] == [e["data"] for e in theirs]


def test_a_chain_reports_the_graph_and_each_node_as_langgraph(gk: Lib, lg: Lib) -> None:
    ours, theirs = collect(chain(gk), {"x": 1}), collect(chain(lg), {"x": 1})
    assert shapes(ours) == shapes(theirs)
    assert [e["data"] for e in ours] == [e["data"] for e in theirs]


def test_config_tags_and_metadata_reach_every_event_as_in_langgraph(gk: Lib, lg: Lib) -> None:
    config = {"tags": ["mine"], "metadata": {"user": "u1"}}
    ours, theirs = collect(chain(gk), {"x": 1}, config), collect(chain(lg), {"x": 1}, config)
    assert shapes(ours) == shapes(theirs)
    assert [e["metadata"]["user"] for e in ours] == [e["metadata"]["user"] for e in theirs]


def test_subgraphs_nest_under_their_node_as_in_langgraph(gk: Lib, lg: Lib) -> None:
    ours, theirs = collect(subgraphs(gk), {"x": 1}), collect(subgraphs(lg), {"x": 1})
    assert shapes(ours) == shapes(theirs)
    assert [e["data"] for e in ours] == [e["data"] for e in theirs]


def test_a_chat_model_reports_start_tokens_and_end_under_its_node(gk: Lib, lg: Lib) -> None:
    given = {"messages": [("user", "hi")]}
    ours, theirs = collect(model(gk), given), collect(model(lg), given)
    assert shapes(ours) == shapes(theirs)
    tokens = "".join(
        e["data"]["chunk"].content for e in ours if e["event"] == "on_chat_model_stream"
    )
    assert tokens == "hello world"


def test_a_tool_reports_start_and_end_under_its_node(gk: Lib, lg: Lib) -> None:
    ours, theirs = collect(a_tool(gk), {"x": 1}), collect(a_tool(lg), {"x": 1})
    assert shapes(ours) == shapes(theirs)
    tool_data = [e["data"] for e in ours if e["event"].startswith("on_tool")]
    assert tool_data == [e["data"] for e in theirs if e["event"].startswith("on_tool")]


def test_an_interrupt_ends_the_node_without_an_end_event_as_in_langgraph(gk: Lib, lg: Lib) -> None:
    def build(lib: Lib) -> Any:
        async def ask(s: S) -> dict[str, Any]:
            return {"x": lib.interrupt("how many?")}

        builder = lib.StateGraph(S)
        builder.add_node("ask", ask)
        builder.add_edge(lib.START, "ask")
        return builder.compile(checkpointer=lib.InMemorySaver())

    def both(lib: Lib) -> list[list[dict[str, Any]]]:
        graph, config = build(lib), {"configurable": {"thread_id": "t"}}
        return [collect(graph, {"x": 1}, config), collect(graph, lib.Command(resume=5), config)]

    (paused, resumed), (lg_paused, lg_resumed) = both(gk), both(lg)
    assert shapes(paused) == shapes(lg_paused)
    assert shapes(resumed) == shapes(lg_resumed)
    assert paused[-1]["data"] == lg_paused[-1]["data"] == {"output": {"x": 1}}


def test_a_failing_node_starts_then_the_error_propagates_as_in_langgraph(gk: Lib, lg: Lib) -> None:
    def build(lib: Lib) -> Any:
        async def boom(s: S) -> dict[str, Any]:
            raise ValueError("boom")

        builder = lib.StateGraph(S)
        builder.add_node("boom", boom)
        builder.add_edge(lib.START, "boom")
        return builder.compile()

    (ours, error), (theirs, lg_error) = (
        collect_until_error(build(gk), {"x": 1}),
        (collect_until_error(build(lg), {"x": 1})),
    )
    assert shapes(ours) == shapes(theirs)
    assert "boom" in error and "boom" in lg_error


@pytest.mark.parametrize("pause", [0.0, 0.01])
def test_a_workflow_reports_its_tasks_as_langgraph(gk: Lib, lg: Lib, pause: float) -> None:
    """With or without a pause after a call, its update reaches the root where
    LangGraph's does (right after the call, or after its caller's stream event)."""

    def build(lib: Lib) -> Any:
        @lib.task()
        async def double(n: int) -> int:
            await asyncio.sleep(pause)
            return n * 2

        @lib.entrypoint(checkpointer=lib.InMemorySaver())
        async def workflow(n: int) -> str:
            await double(n)
            if pause:
                await asyncio.sleep(pause)
            return "done"

        return workflow

    config = {"configurable": {"thread_id": "1"}}
    ours, theirs = collect(build(gk), 1, config), collect(build(lg), 1, config)
    assert shapes(ours) == shapes(theirs)
    assert [e["data"] for e in ours] == [e["data"] for e in theirs]


def test_filters_keep_what_langchain_keeps(gk: Lib, lg: Lib) -> None:
    given = {"messages": [("user", "hi")]}
    for options in (
        {"include_types": ["chat_model"]},
        {"include_names": ["agent"], "exclude_types": ["chain"]},
        {"include_tags": ["graph:step:1"]},
        {"exclude_names": ["LangGraph"]},
    ):
        ours = collect(model(gk), given, None, **options)
        theirs = collect(model(lg), given, None, **options)
        assert shapes(ours) == shapes(theirs), options


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_version_v1_has_no_parent_ids_and_an_empty_root_metadata(gk: Lib, lg: Lib) -> None:
    ours = collect(subgraphs(gk), {"x": 1}, None, version="v1")
    assert all(e["parent_ids"] == [] for e in ours)
    assert [e["metadata"] for e in ours if e["name"] == "LangGraph" and not e["tags"]] == [{}] * 4


def test_the_default_graph_name_is_langgraphs(gk: Lib, lg: Lib) -> None:
    assert chain(gk).name == chain(lg).name == "LangGraph"


def test_sends_report_one_run_per_task_as_in_langgraph(gk: Lib, lg: Lib) -> None:
    def build(lib: Lib) -> Any:
        async def fan(s: Fan) -> dict[str, Any]:
            return {}

        async def work(arg: dict[str, int]) -> dict[str, Any]:
            await asyncio.sleep(0.01 * arg["i"])  # they finish in order
            return {"xs": [arg["i"]]}

        def spread(s: Fan) -> list[Any]:
            return [lib.Send("work", {"i": i}) for i in range(3)]

        builder = lib.StateGraph(Fan)
        builder.add_node("fan", fan)
        builder.add_node("work", work)
        builder.add_edge(lib.START, "fan")
        builder.add_conditional_edges("fan", spread, ["work"])
        return builder.compile()

    ours, theirs = collect(build(gk), {"xs": []}), collect(build(lg), {"xs": []})
    # (concurrent tasks: the interleaving of their events is timing, not compared)
    assert sorted(shapes(ours), key=repr) == sorted(shapes(theirs), key=repr)
    assert ours[-1]["data"] == theirs[-1]["data"] == {"output": {"xs": [0, 1, 2]}}


def test_an_interrupt_inside_a_subgraph_pauses_and_resumes_as_in_langgraph(
    gk: Lib, lg: Lib
) -> None:
    def both(lib: Lib) -> list[list[Shape]]:
        async def ask(s: S) -> dict[str, Any]:
            return {"x": lib.interrupt("how many?")}

        inner = lib.StateGraph(S)
        inner.add_node("ask", ask)
        inner.add_edge(lib.START, "ask")
        builder = lib.StateGraph(S)
        builder.add_node("child", inner.compile())
        builder.add_edge(lib.START, "child")
        graph = builder.compile(checkpointer=lib.InMemorySaver())
        config = {"configurable": {"thread_id": "t"}}
        return [
            shapes(collect(graph, {"x": 1}, config)),
            shapes(collect(graph, lib.Command(resume=7), config)),
        ]

    assert both(gk) == both(lg)
