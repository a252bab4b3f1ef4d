"""The LangChain pieces a program moved from LangGraph keeps: custom events dispatched in
nodes, runnables as nodes, a compiled graph inside LangChain chains, tools and schema
introspection. The same program runs on graphkit and on LangGraph, with the same result.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator
from typing import Annotated, Any, TypedDict

import pytest

from tests.parity.conftest import Lib
from tests.parity.test_events_parity import collect, shapes

callbacks = pytest.importorskip("langchain_core.callbacks")
from langchain_core.documents import Document  # noqa: E402
from langchain_core.retrievers import BaseRetriever  # noqa: E402
from langchain_core.runnables import RunnableConfig  # noqa: E402
from langchain_core.tools import InjectedToolArg, InjectedToolCallId  # noqa: E402


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


def test_a_graph_without_a_context_schema_has_none_as_in_langgraph(gk: Lib, lg: Lib) -> None:
    for lib in (gk, lg):

        @lib.entrypoint()
        def flow(n: int) -> int:
            return n

        assert single(lib, lambda s: s).get_context_jsonschema() is None
        assert flow.get_context_jsonschema() is None


def tool_calls_seen(lib: Lib) -> list[tuple[Any, ...]]:
    """What a handler's tool calls get: method, name, keywords, the output's content."""
    from langchain_core.messages import AIMessage
    from langchain_core.tools import tool

    @tool
    def weather(city: str) -> str:
        """The weather in a city."""
        return f"sunny in {city}"

    class Tools(callbacks.BaseCallbackHandler):  # type: ignore[misc]
        def __init__(self) -> None:
            self.seen: list[tuple[Any, ...]] = []

        def on_tool_start(self, serialized: Any, input_str: str, **kw: Any) -> None:
            self.seen.append(("start", serialized["name"], kw.get("name"), kw.get("color")))

        def on_tool_end(self, output: Any, **kw: Any) -> None:
            self.seen.append(("end", output.content, kw.get("name"), kw.get("color")))

    handler = Tools()
    call = {"name": "weather", "args": {"city": "Paris"}, "id": "c1", "type": "tool_call"}
    builder = lib.StateGraph(lib.MessagesState)
    builder.add_node("tools", lib.ToolNode([weather]))
    builder.add_edge(lib.START, "tools")
    given = {"messages": [AIMessage("", tool_calls=[call])]}
    builder.compile().invoke(given, {"callbacks": [handler]})
    return handler.seen


def test_handlers_see_a_tools_end_named_as_in_langgraph(gk: Lib, lg: Lib) -> None:
    gk_tools = Lib(gk.name, _with_tool_node(gk, "graphkit"))
    lg_tools = Lib(lg.name, _with_tool_node(lg, "langgraph"))
    seen = tool_calls_seen(gk_tools)
    assert seen == tool_calls_seen(lg_tools)
    assert seen[-1] == ("end", "sunny in Paris", "weather", "green")


def _with_tool_node(lib: Lib, root: str) -> Any:
    import importlib
    from types import SimpleNamespace

    prebuilt = importlib.import_module(f"{root}.prebuilt")
    return SimpleNamespace(**vars(lib.ns), ToolNode=prebuilt.ToolNode)


def looks_up(q: str, secret: Annotated[str, InjectedToolArg]) -> str:
    """Looks up q."""
    return f"{q}:{secret}"


def injected_arg_answer(lib: Lib) -> tuple[str, str]:
    """What ``ToolNode`` answers a call of a tool whose ``InjectedToolArg`` nothing gives."""
    from langchain_core.messages import AIMessage
    from langchain_core.tools import tool

    lookup = tool(looks_up)
    call = {"name": "looks_up", "args": {"q": "x"}, "id": "c1", "type": "tool_call"}
    builder = lib.StateGraph(lib.MessagesState)
    builder.add_node("tools", lib.ToolNode([lookup]))
    builder.add_edge(lib.START, "tools")
    out = builder.compile().invoke({"messages": [AIMessage("", tool_calls=[call])]})
    answer = out["messages"][-1]
    return answer.status, answer.content


def test_a_tool_missing_an_injected_argument_answers_an_error_as_in_langgraph(
    gk: Lib, lg: Lib
) -> None:
    status, content = injected_arg_answer(Lib(gk.name, _with_tool_node(gk, "graphkit")))
    assert (status, content) == injected_arg_answer(Lib(lg.name, _with_tool_node(lg, "langgraph")))
    assert status == "error" and "secret: Field required" in content


@pytest.fixture(scope="module")
def tool_and_lambda() -> tuple[Any, Any]:
    from langchain_core.runnables import RunnableLambda
    from langchain_core.tools import tool

    @tool
    def add_one(x: int) -> int:
        """Adds one."""
        return x + 1

    return add_one, RunnableLambda(lambda v: v * 2, name="double")


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_langchain_runnables_a_node_calls_stream_their_events_as_in_langgraph(
    gk: Lib, lg: Lib, tool_and_lambda: tuple[Any, Any], is_async: bool
) -> None:
    add_one, double = tool_and_lambda

    def node(s: S) -> dict[str, Any]:
        return {"x": double.invoke(add_one.invoke({"x": s["x"]}))}

    async def anode(s: S) -> dict[str, Any]:
        return {"x": await double.ainvoke(await add_one.ainvoke({"x": s["x"]}))}

    def events(lib: Lib) -> list[Any]:
        found = collect(single(lib, anode if is_async else node), {"x": 1}, {"tags": ["T"]})
        return shapes(found)

    ours = events(gk)
    assert ours == events(lg)
    assert ("on_tool_start", "add_one") in [shape[:2] for shape in ours]


def sequence_node(lib: Lib) -> Any:
    """A graph whose node is a ``prompt | model | function`` chain."""
    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
    from langchain_core.messages import AIMessage
    from langchain_core.prompts import ChatPromptTemplate

    prompt = ChatPromptTemplate.from_messages(
        [("system", "be nice"), ("placeholder", "{messages}")]
    )
    model = GenericFakeChatModel(messages=iter([AIMessage("hi there", id="m1")]))
    builder = lib.StateGraph(lib.MessagesState)
    builder.add_node("agent", prompt | model | (lambda m: {"messages": [m]}))
    builder.add_edge(lib.START, "agent")
    return builder.compile()


HEY = {"messages": [("user", "hey")]}


def test_a_sequence_node_runs_its_steps_under_the_node_as_in_langgraph(gk: Lib, lg: Lib) -> None:
    from tests.parity.test_callbacks_parity import Calls

    def calls(lib: Lib) -> list[tuple[Any, ...]]:
        handler = Calls()
        sequence_node(lib).invoke(HEY, {"callbacks": [handler]})
        return [call[:6] for call in handler.calls]  # (not what each got: messages differ)

    ours = calls(gk)
    assert ours == calls(lg)
    assert "RunnableSequence" not in [call[1] for call in ours]

    def events(lib: Lib) -> list[Any]:  # (LangGraph streams the steps: their order differs)
        found = collect(sequence_node(lib), HEY)
        return sorted(s for s in shapes(found) if not s[0].endswith("_stream"))

    assert events(gk) == events(lg)

    def tags(lib: Lib) -> list[Any]:
        chunks = sequence_node(lib).stream(HEY, stream_mode="messages")
        return [meta.get("tags") for _, meta in chunks]

    assert tags(gk) == tags(lg)


RUN_ID = "12345678-1234-5678-1234-567812345678"


def calling_a_lambda(lib: Lib) -> Any:
    """A graph whose nodes call a LangChain ``RunnableLambda``, with their config and
    without one."""
    from langchain_core.runnables import RunnableLambda

    lam = RunnableLambda(lambda v: v + 1)

    def with_config(s: S, config: RunnableConfig) -> dict[str, Any]:
        return {"x": lam.invoke(s["x"], config)}

    def without(s: S) -> dict[str, Any]:
        return {"x": lam.invoke(s["x"])}

    builder = lib.StateGraph(S)
    builder.add_node("with_config", with_config)
    builder.add_node("without", without)
    builder.add_edge(lib.START, "with_config")
    builder.add_edge("with_config", "without")
    return builder.compile()


def test_a_runs_name_and_id_stay_the_runs_as_in_langgraph(gk: Lib, lg: Lib) -> None:
    import uuid

    from tests.parity.test_callbacks_parity import Calls

    def calls(lib: Lib) -> tuple[list[tuple[Any, ...]], list[Any]]:
        handler = Calls()
        config = {"callbacks": [handler], "run_name": "MyRun", "run_id": uuid.UUID(RUN_ID)}
        calling_a_lambda(lib).invoke({"x": 1}, config)
        return handler.calls, list(handler.order)

    ours, ids = calls(gk)
    assert ours == calls(lg)[0]
    assert [c[1] for c in ours if c[0] == "chain_start"] == [
        "MyRun", "with_config", "RunnableLambda", "without", "RunnableLambda"
    ]  # fmt: skip
    assert ids[0] == uuid.UUID(RUN_ID) and len(set(ids)) == len(ids) == 5

    def events(lib: Lib) -> list[Any]:
        found = collect(calling_a_lambda(lib), {"x": 1}, {"run_name": "MyRun", "run_id": RUN_ID})
        return [(e["event"], e["name"], e["run_id"] == RUN_ID) for e in found]

    assert events(gk) == events(lg)


def test_a_graph_a_node_runs_takes_its_with_config_name_and_tags_as_in_langgraph(
    gk: Lib, lg: Lib
) -> None:
    from tests.parity.test_callbacks_parity import Calls

    def calls(lib: Lib) -> list[tuple[Any, ...]]:
        inner = single(lib, lambda s: {"x": s["x"] + 1}).with_config(
            run_name="renamed", tags=["inner-tag"]
        )
        builder = lib.StateGraph(S)
        builder.add_node("outer", lambda s: inner.invoke(s))
        builder.add_edge(lib.START, "outer")
        handler = Calls()
        builder.compile().invoke({"x": 1}, {"callbacks": [handler], "run_name": "MyRun"})
        return [call[:5] for call in handler.calls]  # (not the metadata: task ids differ)

    ours = calls(gk)
    assert ours == calls(lg)
    assert ("chain_start", "renamed", 2, 1, ("seq:step:1", "inner-tag")) in ours


@pytest.mark.parametrize("keys", ["x", ["x"]], ids=["one", "list"])
def test_the_roots_end_shows_the_picked_output_keys_as_in_langgraph(
    gk: Lib, lg: Lib, keys: Any
) -> None:
    from tests.parity.test_callbacks_parity import Calls

    def calls(lib: Lib) -> list[tuple[Any, ...]]:
        handler = Calls()
        graph = single(lib, lambda s: {"x": s["x"] + 1})
        assert graph.invoke({"x": 1}, {"callbacks": [handler]}, output_keys=keys) in (2, {"x": 2})
        return handler.calls

    ours = calls(gk)
    assert ours == calls(lg)
    assert ours[-1][-1] == (2 if keys == "x" else {"x": 2})


@dataclasses.dataclass
class Ctx:
    user_id: str
    depth: int = 2


def test_the_config_schema_is_langgraphs_deprecated_one(gk: Lib, lg: Lib) -> None:
    import warnings

    def schemas(lib: Lib) -> list[Any]:
        builder = lib.StateGraph(S, context_schema=Ctx)
        builder.add_node("n", lambda s: s)
        builder.add_edge(lib.START, "n")
        graph = builder.compile()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            found = [
                graph.config_schema().model_json_schema(),
                graph.get_config_jsonschema(),
                graph.get_config_jsonschema(include=["tags", "recursion_limit"]),
                single(lib, lambda s: s).get_config_jsonschema(),
            ]
        return [found, [type(w.message).__name__ for w in caught]]

    ours = schemas(gk)
    assert ours == schemas(lg)
    assert ours[0][0]["properties"]["configurable"] == {"$ref": "#/$defs/Ctx", "default": None}
    assert ours[1] == ["LangGraphDeprecatedSinceV10"] * 4


def searches(q: str) -> tuple[str, dict[str, Any]]:
    """Searches."""
    return f"found {q}", {"hits": [1, 2]}


def tool_calling(lib: Lib) -> Any:
    """A node writing LangChain's messages (so the graph speaks LangChain) that asks a
    ``content_and_artifact`` tool, which ``ToolNode`` runs."""
    import importlib

    from langchain_core.messages import AIMessage
    from langchain_core.tools import tool

    search = tool(searches, response_format="content_and_artifact")
    call = {"name": "searches", "args": {"q": "x"}, "id": "c1", "type": "tool_call"}
    prebuilt = importlib.import_module(f"{lib.name}.prebuilt")
    builder = lib.StateGraph(lib.MessagesState)
    builder.add_node("agent", lambda s: {"messages": [AIMessage("", tool_calls=[call], id="a1")]})
    builder.add_node("tools", prebuilt.ToolNode([search]))
    builder.add_edge(lib.START, "agent")
    builder.add_edge("agent", "tools")
    return builder.compile()


def payload_types(lib: Lib) -> list[tuple[Any, ...]]:
    """Each event's payloads: their last message's library and class, and its artifact."""
    found = []
    for e in collect(tool_calling(lib), HEY):
        for key, value in e["data"].items():
            if isinstance(value, dict) and isinstance(value.get("messages"), list):
                value = value["messages"][-1]
            if hasattr(value, "content"):
                library = type(value).__module__.split(".")[0]
                artifact = getattr(value, "artifact", None)
                found.append((e["event"], e["name"], key, library, type(value).__name__, artifact))
    return found


def test_events_of_a_graph_speaking_langchain_carry_its_messages_as_in_langgraph(
    gk: Lib, lg: Lib
) -> None:
    ours = payload_types(gk)
    assert ours == payload_types(lg)
    assert (
        "on_tool_end",
        "searches",
        "output",
        "langchain_core",
        "ToolMessage",
        {"hits": [1, 2]},
    ) in ours


def test_events_streamed_with_callbacks_show_what_a_node_runs_as_in_langgraph(
    gk: Lib, lg: Lib, tool_and_lambda: tuple[Any, Any]
) -> None:
    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
    from langchain_core.messages import AIMessage

    from tests.parity.test_callbacks_parity import Calls

    add_one, double = tool_and_lambda

    def both(lib: Lib) -> tuple[list[Any], list[Any]]:
        model = GenericFakeChatModel(messages=iter([AIMessage("hi there", id="m1")]))

        async def agent(s: Any) -> dict[str, Any]:
            await callbacks.adispatch_custom_event("progress", {"p": 1})
            count = await double.ainvoke(await add_one.ainvoke({"x": 1}))
            return {"messages": [await model.ainvoke(s["messages"]), ("ai", str(count))]}

        builder = lib.StateGraph(lib.MessagesState)
        builder.add_node("agent", agent)
        builder.add_edge(lib.START, "agent")
        handler = Calls()
        found = collect(builder.compile(), HEY, {"callbacks": [handler]})
        return shapes(found), handler.calls

    ours = both(gk)
    assert ours[0] == both(lg)[0]
    assert [call[:6] for call in ours[1]] == [call[:6] for call in both(lg)[1]]
    kinds = {shape[0] for shape in ours[0]}
    assert {"on_chat_model_stream", "on_tool_end", "on_custom_event"} <= kinds


class Wide(TypedDict):
    q: str
    n: int | None


def test_the_output_schema_model_leaves_every_key_optional_as_in_langgraph(
    gk: Lib, lg: Lib
) -> None:
    def output(lib: Lib) -> tuple[dict[str, Any], Any]:
        builder = lib.StateGraph(Wide)
        builder.add_node("n", lambda s: {})
        builder.add_edge(lib.START, "n")
        model = builder.compile().get_output_schema()
        return model.model_json_schema(), model.model_validate({}).model_dump()

    ours = output(gk)
    assert ours == output(lg)
    assert ours[1] == {"q": None, "n": None}


def test_runs_nested_in_a_nodes_langchain_runs_carry_langchains_tags(gk: Lib, lg: Lib) -> None:
    from langchain_core.runnables import RunnableBranch, RunnableLambda, RunnableParallel

    branch = RunnableBranch(
        (lambda s: s["x"] > 5, RunnableLambda(lambda s: {"x": 1})),
        RunnableLambda(lambda s: {"x": 0}),
    )
    parallel = RunnableParallel(a=lambda s: s["x"], b=lambda s: s["x"] * 2)

    def events(lib: Lib, node: Any) -> list[Any]:  # (parallel runs end in either order)
        return sorted(
            s for s in shapes(collect(single(lib, node), {"x": 1})) if "_stream" not in s[0]
        )

    assert events(gk, branch) == events(lg, branch)
    piped = parallel | RunnableLambda(lambda d: {"x": d["a"] + d["b"]})
    ours = events(gk, piped)
    assert ours == events(lg, piped)
    assert ("on_chain_start", "RunnableLambda", ("map:key:a",)) in [s[:3] for s in ours]


def test_a_graph_a_sync_node_invokes_streams_events_as_in_langgraph(gk: Lib, lg: Lib) -> None:
    def events(lib: Lib) -> list[Any]:
        inner = single(lib, lambda s: {"x": s["x"] + 1})
        named = inner.with_config(run_name="renamed", tags=["inner-tag"])

        def calls(s: S, config: RunnableConfig) -> Any:
            return inner.invoke(s, config)

        builder = lib.StateGraph(S)
        builder.add_node("sub", inner)
        builder.add_node("calls", calls)
        builder.add_node("named", lambda s: named.invoke(s))
        builder.add_edge(lib.START, "sub")
        builder.add_edge("sub", "calls")
        builder.add_edge("calls", "named")
        return shapes(collect(builder.compile(), {"x": 1}))

    ours = events(gk)
    assert ours == events(lg)
    assert ("on_chain_start", "renamed", ("seq:step:1", "inner-tag")) in [s[:3] for s in ours]


# -- what a tool run by ToolNode runs inside itself ----------------------------------


class Inside(callbacks.BaseCallbackHandler):  # type: ignore[misc]
    """``Calls``, with the tool, custom event, retriever and chat model calls too."""

    def __init__(self) -> None:
        from tests.parity.test_callbacks_parity import Calls

        self.calls_of = Calls()

    @property
    def calls(self) -> list[tuple[Any, ...]]:
        """The calls; what one got as its ``repr`` when it holds a ``Command`` (each
        library has its own class)."""
        return [
            (*call[:-1], repr(call[-1])) if "Command(" in repr(call[-1]) else call
            for call in self.calls_of.calls
        ]

    def on_chain_start(self, serialized: Any, inputs: Any, **kw: Any) -> None:
        self.calls_of.on_chain_start(serialized, inputs, **kw)

    def on_chain_end(self, outputs: Any, **kw: Any) -> None:
        self.calls_of.on_chain_end(outputs, **kw)

    def on_chain_error(self, error: BaseException, **kw: Any) -> None:
        self.calls_of.on_chain_error(error, **kw)

    def on_tool_start(self, serialized: Any, input_str: str, **kw: Any) -> None:
        given = (serialized["name"], input_str, kw.get("inputs"), kw.get("tool_call_id"))
        self.calls_of._add("tool_start", given, kw)

    def on_tool_end(self, output: Any, **kw: Any) -> None:
        self.calls_of._add("tool_end", output, kw)

    def on_tool_error(self, error: BaseException, **kw: Any) -> None:
        self.calls_of._add("tool_error", error, kw)

    def on_custom_event(self, name: str, data: Any, **kw: Any) -> None:
        self.calls_of._add("custom_event", (name, data), kw)

    def on_retriever_start(self, serialized: Any, query: str, **kw: Any) -> None:
        self.calls_of._add("retriever_start", query, kw)

    def on_retriever_end(self, documents: Any, **kw: Any) -> None:
        self.calls_of._add("retriever_end", [d.page_content for d in documents], kw)

    def on_chat_model_start(self, serialized: Any, messages: Any, **kw: Any) -> None:
        self.calls_of._add("chat_model_start", messages, kw)

    def on_llm_end(self, response: Any, **kw: Any) -> None:
        self.calls_of._add("llm_end", response.generations[0][0].message, kw)


class Docs(BaseRetriever):  # type: ignore[misc]
    """A retriever: one document about the query."""

    def _get_relevant_documents(self, query: str, *, run_manager: Any = None) -> Any:
        return [Document(page_content=f"doc about {query}")]


def _inner_chain() -> Any:
    from langchain_core.runnables import RunnableLambda

    return RunnableLambda(lambda x: x * 2).with_config(run_name="inner_chain")


def _failing(x: int) -> int:
    raise ValueError("inner boom")


def inner_tools(lib: Lib) -> dict[str, Any]:
    """LangChain tools of each kind graphkit runs, each running something inside itself:
    a custom event and a chain; a chat model; a retriever; a chain that raises."""
    import importlib

    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
    from langchain_core.messages import AIMessage, ToolMessage
    from langchain_core.runnables import RunnableLambda
    from langchain_core.tools import ToolException, tool

    inner = _inner_chain()
    prebuilt = importlib.import_module(f"{lib.name}.prebuilt")

    @tool
    def plain_tool(x: int) -> int:
        """Plain."""
        callbacks.dispatch_custom_event("progress", {"x": x})
        return inner.invoke(x)  # type: ignore[no-any-return]

    @tool(response_format="content_and_artifact")
    def artifact_tool(x: int) -> tuple[str, dict[str, int]]:
        """Artifact."""
        callbacks.dispatch_custom_event("progress", {"x": x})
        return str(inner.invoke(x)), {"raw": x}

    @tool
    def call_id_tool(x: int, tool_call_id: Annotated[str, InjectedToolCallId]) -> str:
        """Call id."""
        callbacks.dispatch_custom_event("progress", {"x": x})
        return f"{tool_call_id}:{inner.invoke(x)}"

    @tool
    def command_tool(x: int, tool_call_id: Annotated[str, InjectedToolCallId]) -> Any:
        """Command."""
        callbacks.dispatch_custom_event("progress", {"x": x})
        answer = ToolMessage(str(inner.invoke(x)), tool_call_id=tool_call_id, id="t1")
        return lib.Command(update={"messages": [answer]})

    @tool
    def handling_tool(x: int) -> int:
        """Handles its errors."""
        callbacks.dispatch_custom_event("progress", {"x": x})
        inner.invoke(x)
        raise ToolException("no luck")

    handling_tool.handle_tool_error = True

    def state_tool(x: int, state: Any) -> int:
        """Reads the state."""
        callbacks.dispatch_custom_event("progress", {"n": len(state["messages"])})
        return inner.invoke(x)  # type: ignore[no-any-return]

    injected = Annotated[dict[str, Any], prebuilt.InjectedState]  # (the library's marker)
    state_tool.__annotations__ = {"x": int, "state": injected, "return": int}

    @tool
    async def async_tool(x: int) -> int:
        """Async."""
        await callbacks.adispatch_custom_event("progress", {"x": x})
        return await inner.ainvoke(x)  # type: ignore[no-any-return]

    @tool
    def model_tool(x: int) -> str:
        """Asks a chat model."""
        model = GenericFakeChatModel(messages=iter([AIMessage("hello world there", id="m1")]))
        return str(model.invoke(f"x is {x}").content)

    @tool
    def retriever_tool(x: int) -> str:
        """Retrieves."""
        return str(Docs().invoke(str(x))[0].page_content)

    @tool
    def failing_tool(x: int) -> int:
        """Runs a chain that raises."""
        return RunnableLambda(_failing).with_config(run_name="failing").invoke(x)  # type: ignore[no-any-return]

    sub = single(lib, lambda s: {"x": s["x"] + 1})

    @tool
    def graph_tool(x: int, tool_call_id: Annotated[str, InjectedToolCallId]) -> int:
        """Runs a graph (a tool graphkit reports itself: it takes the call's id)."""
        return sub.invoke({"x": x})["x"]  # type: ignore[no-any-return]

    @tool
    def invoked_graph_tool(x: int) -> int:
        """Runs a graph (a tool graphkit runs through its ``invoke``)."""
        return sub.invoke({"x": x})["x"]  # type: ignore[no-any-return]

    found = [
        graph_tool,
        invoked_graph_tool,
        plain_tool, artifact_tool, call_id_tool, command_tool, handling_tool, tool(state_tool),
        async_tool, model_tool, retriever_tool, failing_tool,
    ]  # fmt: skip
    return {t.name: t for t in found}


def tool_graph(lib: Lib, name: str) -> Any:
    """A graph whose ``ToolNode`` runs one call of the tool ``name`` (tool errors handled)."""
    import importlib

    prebuilt = importlib.import_module(f"{lib.name}.prebuilt")
    builder = lib.StateGraph(lib.MessagesState)
    node = prebuilt.ToolNode([inner_tools(lib)[name]], handle_tool_errors=True)
    builder.add_node("tools", node)
    builder.add_edge(lib.START, "tools")
    return builder.compile()


def tool_call(name: str) -> dict[str, Any]:
    from langchain_core.messages import AIMessage

    call = {"name": name, "args": {"x": 2}, "id": "c1", "type": "tool_call"}
    return {"messages": [AIMessage("", tool_calls=[call], id="a1")]}


def nested(events: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """Each event as the tests compare it: ``shapes``, with the position of its run and
    its parents' (in order of first appearance) and what it carries."""
    from tests.parity.conftest import plain

    at: dict[str, int] = {}
    found = []
    for ev in events:
        (shape,) = shapes([ev])
        at.setdefault(ev["run_id"], len(at))
        data = {
            k: type(v).__name__ if isinstance(v, BaseException) else plain(v)
            for k, v in ev["data"].items()
            if k != "chunk"
        }
        parents = [at.get(p) for p in ev["parent_ids"]]
        found.append((*shape, at[ev["run_id"]], parents, repr(data)))
    return found


def tool_run_calls(lib: Lib, name: str, how: str) -> list[tuple[Any, ...]]:
    """What a handler given in the config sees of a ToolNode's call of the tool ``name``,
    in a sync or async run."""
    handler = Inside()
    graph, given = tool_graph(lib, name), tool_call(name)
    config = {"callbacks": [handler], "tags": ["T"]}
    if how == "sync":
        graph.invoke(given, config)
    else:
        asyncio.run(graph.ainvoke(given, config))
    return handler.calls


def tool_run_events(lib: Lib, name: str, with_handler: bool = False) -> list[Any]:
    """``astream_events`` (v2) of a ToolNode's call of the tool ``name`` (with a handler
    given in the config too: its calls after the events)."""
    handler = Inside()
    config: dict[str, Any] = {"tags": ["T"]}
    if with_handler:
        config["callbacks"] = [handler]
    found = collect(tool_graph(lib, name), tool_call(name), config, version="v2")
    return [*nested(found), *handler.calls]


@pytest.fixture
def tool_libs(gk: Lib, lg: Lib) -> tuple[Lib, Lib]:
    """graphkit's and LangGraph's names, with their ``ToolNode``."""
    ours = Lib(gk.name, _with_tool_node(gk, "graphkit"))
    return ours, Lib(lg.name, _with_tool_node(lg, "langgraph"))


DIRECT_OR_NOT = [
    "plain_tool",
    "artifact_tool",
    "call_id_tool",
    "command_tool",
    "handling_tool",
    "state_tool",
]
"""Tools graphkit runs through LangChain's ``invoke`` and tools it runs the function of."""


@pytest.mark.parametrize("how", ["sync", "async"])
@pytest.mark.parametrize("name", DIRECT_OR_NOT)
def test_what_a_tool_runs_reports_under_its_run_to_handlers_as_in_langgraph(
    tool_libs: tuple[Lib, Lib], name: str, how: str
) -> None:
    gk_tools, lg_tools = tool_libs
    ours = tool_run_calls(gk_tools, name, how)
    assert ours == tool_run_calls(lg_tools, name, how)
    methods = [call[0] for call in ours]
    assert methods.count("tool_start") == 1 and methods.count("custom_event") == 1
    tool_run = next(call[2] for call in ours if call[0] == "tool_start")
    inner = next(call for call in ours if call[1] == "inner_chain")
    assert inner[3] == tool_run and inner[4] == ("T",)  # (under the tool, its tags only)


@pytest.mark.parametrize("name", [*DIRECT_OR_NOT, "async_tool"])
def test_what_a_tool_runs_streams_its_events_under_the_tool_as_in_langgraph(
    tool_libs: tuple[Lib, Lib], name: str
) -> None:
    gk_tools, lg_tools = tool_libs
    ours = tool_run_events(gk_tools, name)
    assert ours == tool_run_events(lg_tools, name)
    kinds = [event[0] for event in ours]
    assert kinds.count("on_tool_start") == 1 and "on_custom_event" in kinds
    tool_run = next(event[5] for event in ours if event[0] == "on_tool_start")
    custom = next(event for event in ours if event[0] == "on_custom_event")
    inner = next(event for event in ours if event[1] == "inner_chain")
    assert custom[5] == tool_run and inner[6][-1] == tool_run


@pytest.mark.parametrize("name", ["plain_tool", "command_tool", "async_tool"])
def test_a_tools_inner_runs_go_to_events_and_handlers_at_once_as_in_langgraph(
    tool_libs: tuple[Lib, Lib], name: str
) -> None:
    gk_tools, lg_tools = tool_libs
    ours = tool_run_events(gk_tools, name, with_handler=True)
    assert ours == tool_run_events(lg_tools, name, with_handler=True)
    assert [call[0] for call in ours].count("tool_start") == 1


def both_ways(
    tool_libs: tuple[Lib, Lib], name: str
) -> Iterator[tuple[str, list[tuple[Any, ...]], list[tuple[Any, ...]], int]]:
    """For a sync and an async run of a ToolNode's call of the tool ``name``: how, what
    graphkit's and LangGraph's handlers saw, and the position of graphkit's tool run."""
    for how in ("sync", "async"):
        ours = tool_run_calls(tool_libs[0], name, how)
        tool_run = next(call[2] for call in ours if call[0] == "tool_start")
        yield how, ours, tool_run_calls(tool_libs[1], name, how), tool_run


@pytest.mark.parametrize("name", ["model_tool", "retriever_tool", "failing_tool"])
def test_a_model_retriever_or_error_inside_a_tool_reports_under_it_as_in_langgraph(
    tool_libs: tuple[Lib, Lib], name: str
) -> None:
    gk_tools, lg_tools = tool_libs
    for _how, ours, theirs, tool_run in both_ways(tool_libs, name):
        assert ours == theirs
        assert [call[0] for call in ours if call[3] == tool_run] == {
            "model_tool": ["chat_model_start", "llm_end"],
            "retriever_tool": ["retriever_start", "retriever_end"],
            "failing_tool": ["chain_start", "chain_error"],
        }[name]
    events = tool_run_events(gk_tools, name)
    assert events == tool_run_events(lg_tools, name)
    assert tool_run_events(gk_tools, name, with_handler=True) == tool_run_events(
        lg_tools, name, with_handler=True
    )


def test_a_chat_model_inside_a_tool_streams_its_tokens_once_as_in_langgraph(
    tool_libs: tuple[Lib, Lib],
) -> None:
    def tokens(lib: Lib, config: Any) -> list[Any]:
        chunks = tool_graph(lib, "model_tool").stream(
            tool_call("model_tool"), config, stream_mode="messages"
        )
        return [(type(m).__name__, m.content, meta["langgraph_node"]) for m, meta in chunks]

    gk_tools, lg_tools = tool_libs
    for config in (None, {"callbacks": [Inside()]}):
        ours = tokens(gk_tools, config)
        assert ours == tokens(lg_tools, config)
        assert "".join(c[1] for c in ours if c[0] == "AIMessageChunk") == "hello world there"


def test_a_retriever_a_node_calls_streams_its_events_as_in_langgraph(gk: Lib, lg: Lib) -> None:
    def finds(s: S) -> dict[str, Any]:
        return {"x": len(Docs().invoke(str(s["x"])))}

    ours = nested(collect(single(gk, finds), {"x": 1}, {"tags": ["T"]}))
    assert ours == nested(collect(single(lg, finds), {"x": 1}, {"tags": ["T"]}))
    assert ("on_retriever_end", "Docs") in [event[:2] for event in ours]


@pytest.mark.parametrize("name", ["graph_tool", "invoked_graph_tool"])
def test_a_graph_a_tool_invokes_reports_under_the_tool_as_in_langgraph(
    tool_libs: tuple[Lib, Lib], name: str
) -> None:
    gk_tools, lg_tools = tool_libs
    for how, ours, theirs, tool_run in both_ways(tool_libs, name):
        if how == "async" and name == "invoked_graph_tool":
            # (an async run's handlers hear of the graph, which graphkit reports, after
            # the tool's end, which LangChain reports: the same calls, in another order)
            assert sorted(map(repr, ours)) == sorted(map(repr, theirs))
        else:
            assert ours == theirs
        graph_run = next(call for call in ours if call[0] == "chain_start" and call[3] == tool_run)
        assert graph_run[1] == "LangGraph" and graph_run[4] == ("T",)
    assert tool_run_events(gk_tools, name) == tool_run_events(lg_tools, name)


def tools_stream(lib: Lib, name: str) -> list[tuple[Any, ...]]:
    """``stream_mode="tools"`` of a ToolNode's call of the tool ``name`` in a run that
    reports to no handler: each event, with what its output is."""
    found = []
    for event in tool_graph(lib, name).stream(tool_call(name), stream_mode="tools"):
        output = event.get("output")
        fields = ("content", "tool_call_id", "name", "artifact", "status")
        shown = {f: getattr(output, f) for f in fields if hasattr(output, f)}
        kind = type(output)
        library = kind.__module__.split(".")[0].replace("graphkit", "langgraph")
        found.append((event["event"], event["tool_call_id"], kind.__name__, library, shown))
    return found


@pytest.mark.parametrize("name", [*DIRECT_OR_NOT, "async_tool"])
def test_a_tool_calls_stream_ends_with_its_tool_message_as_in_langgraph(
    tool_libs: tuple[Lib, Lib], name: str
) -> None:
    gk_tools, lg_tools = tool_libs
    ours = tools_stream(gk_tools, name)
    assert ours == tools_stream(lg_tools, name)
    assert ours[-1][0] in ("tool-finished", "tool-error")
