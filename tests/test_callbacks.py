"""LangChain callback handlers in ``config["callbacks"]`` (graphkit.engine.callbacks)."""

from __future__ import annotations

import asyncio
import logging
import operator
import uuid
from typing import Annotated, Any, TypedDict

import pytest

from graphkit.checkpoint.memory import InMemorySaver
from graphkit.func import entrypoint, task
from graphkit.graph import END, START, MessagesState, StateGraph
from graphkit.messages import AIMessage, HumanMessage
from graphkit.models import FakeChatModel
from graphkit.prebuilt import create_react_agent
from graphkit.tools import tool
from graphkit.types import Command, RunnableConfig, interrupt

callbacks = pytest.importorskip("langchain_core.callbacks")
lc_messages = pytest.importorskip("langchain_core.messages")
lc_outputs = pytest.importorskip("langchain_core.outputs")


class S(TypedDict):
    x: int


class Recorder(callbacks.BaseCallbackHandler):  # type: ignore[misc]
    """Records each call: (method, run, parent run, details), runs named r0, r1, ..."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str | None, dict[str, Any]]] = []
        self.ids: dict[uuid.UUID, str] = {}
        self.raw: list[tuple[str, Any, dict[str, Any]]] = []

    def _id(self, run_id: uuid.UUID | None) -> str | None:
        return None if run_id is None else self.ids.setdefault(run_id, f"r{len(self.ids)}")

    def _record(self, method: str, first: Any, kwargs: dict[str, Any], **details: Any) -> None:
        run = self._id(kwargs["run_id"])
        assert run is not None
        self.raw.append((method, first, kwargs))
        self.calls.append((method, run, self._id(kwargs.get("parent_run_id")), details))

    def on_chain_start(self, serialized: Any, inputs: Any, **kwargs: Any) -> None:
        meta = kwargs.get("metadata") or {}
        self._record(
            "chain_start",
            inputs,
            kwargs,
            name=kwargs.get("name"),
            tags=kwargs.get("tags"),
            node=meta.get("langgraph_node"),
            step=meta.get("langgraph_step"),
        )

    def on_chain_end(self, outputs: Any, **kwargs: Any) -> None:
        self._record("chain_end", outputs, kwargs)

    def on_chain_error(self, error: BaseException, **kwargs: Any) -> None:
        self._record("chain_error", error, kwargs, error=type(error).__name__)

    def on_chat_model_start(self, serialized: Any, messages: Any, **kwargs: Any) -> None:
        self._record("chat_model_start", messages, kwargs)

    def on_llm_new_token(self, token: str, **kwargs: Any) -> None:
        self._record("llm_new_token", token, kwargs, token=token)

    def on_llm_end(self, response: Any, **kwargs: Any) -> None:
        self._record("llm_end", response, kwargs)

    def on_tool_start(self, serialized: Any, input_str: str, **kwargs: Any) -> None:
        self._record("tool_start", input_str, {**kwargs, "serialized": serialized})

    def on_tool_end(self, output: Any, **kwargs: Any) -> None:
        self._record("tool_end", output, kwargs)

    def names(self) -> list[tuple[str, str | None]]:
        return [(c[0], c[3].get("name")) for c in self.calls]

    def tree(self) -> list[tuple[str, str, str | None]]:
        return [(c[0], c[1], c[2]) for c in self.calls]


class AsyncRecorder(callbacks.AsyncCallbackHandler):  # type: ignore[misc]
    """An async handler: its methods are awaited (each yields to the loop once)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str | None]] = []

    async def on_chain_start(self, serialized: Any, inputs: Any, **kwargs: Any) -> None:
        await asyncio.sleep(0)
        self.calls.append(("chain_start", kwargs.get("name")))

    async def on_chain_end(self, outputs: Any, **kwargs: Any) -> None:
        await asyncio.sleep(0)
        self.calls.append(("chain_end", None))


def routed() -> Any:
    def a(s: S) -> dict[str, Any]:
        return {"x": s["x"] + 1}

    def b(s: S) -> dict[str, Any]:
        return {"x": s["x"] * 2}

    def route(s: S) -> str:
        return "b" if s["x"] < 5 else END

    builder = StateGraph(S).add_node("a", a).add_node("b", b)
    builder.add_edge(START, "a").add_conditional_edges("a", route).add_edge("b", END)
    return builder.compile()


ROUTED_TREE = [
    ("chain_start", "r0", None),
    ("chain_start", "r1", "r0"),
    ("chain_start", "r2", "r1"),
    ("chain_end", "r2", "r1"),
    ("chain_end", "r1", "r0"),
    ("chain_start", "r3", "r0"),
    ("chain_end", "r3", "r0"),
    ("chain_end", "r0", None),
]


def test_invoke_calls_the_handlers_for_the_graph_its_nodes_and_routing_functions() -> None:
    handler = Recorder()
    out = routed().invoke({"x": 1}, {"callbacks": [handler], "tags": ["T"]})
    assert out == {"x": 4}
    assert handler.tree() == ROUTED_TREE
    starts = [c[3] for c in handler.calls if c[0] == "chain_start"]
    assert [(s["name"], s["tags"], s["node"], s["step"]) for s in starts] == [
        ("LangGraph", ["T"], None, None),
        ("a", ["graph:step:1", "T"], "a", 1),
        ("route", ["seq:step:3", "T"], "a", 1),
        ("b", ["graph:step:2", "T"], "b", 2),
    ]
    assert handler.raw[0][1] == {"x": 1}  # the root's input
    assert [r[1] for r in handler.raw if r[0] == "chain_end"] == ["b", {"x": 2}, {"x": 4}, {"x": 4}]


def test_stream_and_astream_call_the_handlers_too() -> None:
    handler = Recorder()
    chunks = list(routed().stream({"x": 1}, {"callbacks": [handler]}))
    assert chunks == [{"a": {"x": 2}}, {"b": {"x": 4}}]
    assert handler.tree() == ROUTED_TREE

    async def run() -> list[Any]:
        return [c async for c in routed().astream({"x": 1}, {"callbacks": [handler]})]

    handler.calls.clear()
    handler.ids.clear()
    assert asyncio.run(run()) == chunks
    assert handler.tree() == ROUTED_TREE


def test_async_handlers_are_awaited_in_async_runs_and_run_in_sync_ones() -> None:
    expected = [
        ("chain_start", "LangGraph"),
        ("chain_start", "a"),
        ("chain_start", "route"),
        ("chain_end", None),
        ("chain_end", None),
        ("chain_start", "b"),
        ("chain_end", None),
        ("chain_end", None),
    ]
    handler = AsyncRecorder()
    asyncio.run(routed().ainvoke({"x": 1}, {"callbacks": [handler]}))
    assert handler.calls == expected
    handler = AsyncRecorder()
    routed().invoke({"x": 1}, {"callbacks": [handler]})
    assert handler.calls == expected


def test_a_node_error_is_reported_on_the_node_and_the_graph() -> None:
    def boom(s: S) -> dict[str, Any]:
        raise ValueError("boom")

    graph = StateGraph(S).add_node("boom", boom).add_edge(START, "boom").compile()
    handler = Recorder()
    with pytest.raises(ValueError, match="boom"):
        graph.invoke({"x": 1}, {"callbacks": [handler]})
    assert [(c[0], c[1], c[3].get("error")) for c in handler.calls] == [
        ("chain_start", "r0", None),
        ("chain_start", "r1", None),
        ("chain_error", "r1", "ValueError"),
        ("chain_error", "r0", "ValueError"),
    ]


def test_an_interrupt_is_a_node_error_and_the_graph_ends_with_its_state() -> None:
    def ask(s: S) -> dict[str, Any]:
        return {"x": interrupt("how many?")}

    graph = StateGraph(S).add_node("ask", ask).add_edge(START, "ask").compile(InMemorySaver())
    handler = Recorder()
    config: RunnableConfig = {"callbacks": [handler], "configurable": {"thread_id": "t"}}
    graph.invoke({"x": 1}, config)
    assert [(c[0], c[3].get("error")) for c in handler.calls] == [
        ("chain_start", None),
        ("chain_start", None),
        ("chain_error", "GraphInterrupt"),
        ("chain_end", None),
    ]
    assert handler.raw[-1][1] == {"x": 1}  # (no __interrupt__ key)
    resumed = Recorder()
    graph.invoke(Command(resume=7), {**config, "callbacks": [resumed]})
    assert resumed.names()[-2:] == [("chain_end", None), ("chain_end", None)]
    assert resumed.raw[-1][1] == {"x": 7}


def test_the_config_run_id_and_run_name_name_the_root_run() -> None:
    handler = Recorder()
    run_id = uuid.uuid4()
    routed().invoke({"x": 9}, {"callbacks": [handler], "run_id": run_id, "run_name": "mine"})
    assert handler.raw[0][2]["run_id"] == run_id
    assert handler.calls[0][3]["name"] == "mine"


def test_a_subgraph_reports_under_its_node() -> None:
    def inner(s: S) -> dict[str, Any]:
        return {"x": s["x"] + 10}

    sub = StateGraph(S).add_node("inner", inner).add_edge(START, "inner").compile()
    graph = StateGraph(S).add_node("sub", sub).add_edge(START, "sub").compile()
    handler = Recorder()
    graph.invoke({"x": 1}, {"callbacks": [handler]})
    assert [(c[0], c[3].get("name"), c[1], c[2]) for c in handler.calls] == [
        ("chain_start", "LangGraph", "r0", None),
        ("chain_start", "sub", "r1", "r0"),
        ("chain_start", "LangGraph", "r2", "r1"),
        ("chain_start", "inner", "r3", "r2"),
        ("chain_end", None, "r3", "r2"),
        ("chain_end", None, "r2", "r1"),
        ("chain_end", None, "r1", "r0"),
        ("chain_end", None, "r0", None),
    ]


def test_a_workflow_reports_its_input_return_value_and_task_calls() -> None:
    @task
    def double(n: int) -> int:
        return n * 2

    @entrypoint()
    def workflow(n: int) -> int:
        return double(n).result() + 1

    handler = Recorder()
    assert workflow.invoke(3, {"callbacks": [handler]}) == 7
    assert [(c[0], c[3].get("name"), c[1], c[2]) for c in handler.calls] == [
        ("chain_start", "LangGraph", "r0", None),
        ("chain_start", "workflow", "r1", "r0"),
        ("chain_start", "double", "r2", "r1"),
        ("chain_end", None, "r2", "r1"),
        ("chain_end", None, "r1", "r0"),
        ("chain_end", None, "r0", None),
    ]
    assert [r[1] for r in handler.raw] == [3, 3, {"n": 3}, 6, 7, 7]


def test_a_handler_error_is_logged_unless_it_asks_to_raise(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Broken(callbacks.BaseCallbackHandler):  # type: ignore[misc]
        def on_chain_start(self, *args: Any, **kwargs: Any) -> None:
            raise RuntimeError("handler bug")

    with caplog.at_level(logging.WARNING):
        assert routed().invoke({"x": 1}, {"callbacks": [Broken()]}) == {"x": 4}
    assert "handler bug" in caplog.text

    class Strict(Broken):
        raise_error = True

    with pytest.raises(RuntimeError, match="handler bug"):
        routed().invoke({"x": 1}, {"callbacks": [Strict()]})


def test_a_callback_manager_and_with_config_callbacks_are_called() -> None:
    handler = Recorder()
    manager = callbacks.CallbackManager(handlers=[handler], inheritable_handlers=[handler])
    routed().invoke({"x": 1}, {"callbacks": manager})
    assert handler.tree() == ROUTED_TREE
    bound = Recorder()
    routed().with_config(callbacks=[bound]).invoke({"x": 1})
    assert bound.tree() == ROUTED_TREE


def test_a_langchain_runnable_called_in_a_node_reports_under_the_node() -> None:
    from langchain_core.runnables import RunnableLambda

    plus_one = RunnableLambda(lambda x: x + 1, name="plus_one")

    def node(s: S, config: RunnableConfig) -> dict[str, Any]:
        return {"x": plus_one.invoke(s["x"], config)}

    async def anode(s: S, config: RunnableConfig) -> dict[str, Any]:
        return {"x": await plus_one.ainvoke(s["x"], config)}

    def without_config(s: S) -> dict[str, Any]:  # (LangChain's current config is the node's)
        return {"x": plus_one.invoke(s["x"])}

    expected = [
        ("chain_start", "LangGraph", "r0", None),
        ("chain_start", "node", "r1", "r0"),
        ("chain_start", "plus_one", "r2", "r1"),
        ("chain_end", None, "r2", "r1"),
        ("chain_end", None, "r1", "r0"),
        ("chain_end", None, "r0", None),
    ]
    for fn in (node, anode, without_config):
        graph = StateGraph(S).add_node("node", fn).add_edge(START, "node").compile()
        handler = Recorder()
        asyncio.run(graph.ainvoke({"x": 1}, {"callbacks": [handler]}))
        assert [(c[0], c[3].get("name"), c[1], c[2]) for c in handler.calls] == expected
        if fn is not anode:
            handler = Recorder()
            graph.invoke({"x": 1}, {"callbacks": [handler]})
            assert [(c[0], c[3].get("name"), c[1], c[2]) for c in handler.calls] == expected
            assert handler.calls[2][3]["tags"] == ["seq:step:1"]


@tool
def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


def agent_model() -> FakeChatModel:
    call = {"name": "add", "args": {"a": 1, "b": 2}, "id": "c1", "type": "tool_call"}
    return FakeChatModel(responses=[AIMessage("", tool_calls=[call]), "three"])


def test_chat_models_and_tools_report_with_langchain_messages() -> None:
    handler = Recorder()
    agent = create_react_agent(agent_model(), [add])
    agent.invoke({"messages": [HumanMessage("hi")]}, {"callbacks": [handler]})
    methods = [c[0] for c in handler.calls if not c[0].startswith("chain")]
    assert methods == [
        "chat_model_start",
        "llm_end",
        "tool_start",
        "tool_end",
        "chat_model_start",
        "llm_end",
    ]  # (invoke does not stream: no tokens, as in LangChain)
    start = next(r for r in handler.raw if r[0] == "chat_model_start")
    assert isinstance(start[1][0][0], lc_messages.HumanMessage)
    assert start[2]["invocation_params"]["model"] == start[2]["metadata"]["ls_model_name"]
    end = next(r for r in handler.raw if r[0] == "llm_end")
    assert isinstance(end[1], lc_outputs.LLMResult)
    assert end[1].generations[0][0].message.tool_calls[0]["name"] == "add"
    tool_start = next(r for r in handler.raw if r[0] == "tool_start")
    assert (tool_start[2]["inputs"], tool_start[2]["tool_call_id"]) == ({"a": 1, "b": 2}, "c1")
    assert tool_start[2]["serialized"] == {"name": "add", "description": "Add two numbers."}
    tool_end = next(r for r in handler.raw if r[0] == "tool_end")
    assert isinstance(tool_end[1], lc_messages.ToolMessage) and tool_end[1].content == "3"
    # each model and tool call is under its node's run
    node_of = {c[1]: c[3]["name"] for c in handler.calls if c[0] == "chain_start"}
    under = [node_of[c[2]] for c in handler.calls if c[0] in ("chat_model_start", "tool_start")]
    assert under == ["agent", "tools", "agent"]
    root_end = handler.raw[-1][1]
    assert all(isinstance(m, lc_messages.BaseMessage) for m in root_end["messages"])


def test_streamed_tokens_reach_on_llm_new_token() -> None:
    handler = Recorder()

    def call(state: MessagesState) -> dict[str, Any]:
        return {"messages": [FakeChatModel(responses=["hello there"]).invoke(state["messages"])]}

    graph = StateGraph(MessagesState).add_node("call", call).add_edge(START, "call").compile()
    list(
        graph.stream(
            {"messages": [HumanMessage("hi")]}, {"callbacks": [handler]}, stream_mode="messages"
        )
    )
    tokens = "".join(c[3]["token"] for c in handler.calls if c[0] == "llm_new_token")
    assert tokens == "hello there"


def test_astream_events_with_callbacks_feeds_both_with_the_same_runs() -> None:
    handler = Recorder()

    def boom(s: S) -> dict[str, Any]:
        raise ValueError("boom")

    async def run(graph: Any) -> list[dict[str, Any]]:
        return [e async for e in graph.astream_events({"x": 1}, {"callbacks": [handler]})]

    events = asyncio.run(run(routed()))
    started = [e["run_id"] for e in events if e["event"] == "on_chain_start"]
    assert [str(r[2]["run_id"]) for r in handler.raw if r[0] == "chain_start"] == started
    failing = StateGraph(S).add_node("boom", boom).add_edge(START, "boom").compile()
    with pytest.raises(ValueError):
        asyncio.run(run(failing))
    assert handler.calls[-1][0] == "chain_error"


def test_a_run_without_callbacks_is_a_plain_run() -> None:
    from graphkit.engine.callbacks import TracedRun
    from graphkit.engine.loop import Run

    graph = routed()
    run = graph._prepare({"tags": ["x"]}, "values", "v1", {})[0]
    assert type(run) is Run
    run = graph._prepare({"callbacks": [Recorder()]}, "values", "v1", {})[0]
    assert isinstance(run, TracedRun)


def test_a_langchain_chat_model_and_tool_in_a_graph_report_once() -> None:
    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
    from langchain_core.tools import tool as lc_tool

    class Scripted(GenericFakeChatModel):  # type: ignore[misc]
        def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
            return self

    @lc_tool
    def times(a: int, b: int) -> int:
        """Multiply two numbers."""
        return a * b

    call = {"name": "times", "args": {"a": 2, "b": 3}, "id": "c1", "type": "tool_call"}
    replies = [lc_messages.AIMessage("on it", tool_calls=[call]), lc_messages.AIMessage("6")]
    agent = create_react_agent(Scripted(messages=iter(replies)), [times])
    handler = Recorder()
    agent.invoke({"messages": [HumanMessage("2*3?")]}, {"callbacks": [handler]})
    methods = [c[0] for c in handler.calls if not c[0].startswith("chain")]
    assert methods == [
        "chat_model_start",
        "llm_end",
        "tool_start",
        "tool_end",
        "chat_model_start",
        "llm_end",
    ]


def test_a_langchain_tracer_builds_the_run_tree_on_sync_and_async_runs() -> None:
    from langchain_core.runnables import RunnableLambda
    from langchain_core.tracers import BaseTracer

    class Tree(BaseTracer):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.roots: list[Any] = []

        def _persist_run(self, run: Any) -> None:
            self.roots.append(run)

    def shape(run: Any) -> Any:
        children = sorted((shape(c) for c in run.child_runs), key=repr)
        return (run.name, run.run_type, children) if children else (run.name, run.run_type)

    shout = RunnableLambda(lambda text: text.upper(), name="shout")

    class T(TypedDict):
        items: Annotated[list[str], operator.add]

    def left(s: T) -> dict[str, Any]:
        return {"items": [shout.invoke("l")]}

    async def right(s: T) -> dict[str, Any]:
        return {"items": [await shout.ainvoke("r")]}

    def sync_right(s: T) -> dict[str, Any]:
        return {"items": [shout.invoke("r")]}

    expected = (
        "LangGraph",
        "chain",
        [
            ("left", "chain", [("shout", "chain")]),
            ("right", "chain", [("shout", "chain")]),
        ],
    )
    for fn in (sync_right, right):
        builder = StateGraph(T).add_node("left", left).add_node("right", fn)
        graph = builder.add_edge(START, "left").add_edge(START, "right").compile()
        tracer = Tree()
        asyncio.run(graph.ainvoke({"items": []}, {"callbacks": [tracer]}))
        assert [shape(r) for r in tracer.roots] == [expected]
        if fn is sync_right:
            tracer = Tree()
            graph.invoke({"items": []}, {"callbacks": [tracer]})
            assert [shape(r) for r in tracer.roots] == [expected]


def test_with_config_callbacks_and_a_call_manager_both_see_the_run() -> None:
    bound, called = Recorder(), Recorder()
    manager = callbacks.CallbackManager(handlers=[called], inheritable_handlers=[called])
    routed().with_config(callbacks=[bound]).invoke({"x": 1}, {"callbacks": manager})
    assert bound.tree() == called.tree() == ROUTED_TREE


def test_langsmith_tracing_from_the_environment_reports_each_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import langchain_core.tracers.langchain as lc_tracers
    import langsmith.utils

    class FakeLangSmith(Recorder):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__()
            made.append(self)

    made: list[FakeLangSmith] = []
    monkeypatch.setattr(lc_tracers, "LangChainTracer", FakeLangSmith)
    monkeypatch.setenv("LANGSMITH_TRACING", "true")
    langsmith.utils.get_env_var.cache_clear()
    try:
        graph = routed()  # (compiled with tracing on)
        assert graph.invoke({"x": 1}) == {"x": 4}
    finally:
        monkeypatch.delenv("LANGSMITH_TRACING")
        langsmith.utils.get_env_var.cache_clear()
    assert len(made) == 1 and made[0].tree() == ROUTED_TREE
    assert routed().invoke({"x": 1}) == {"x": 4}  # (compiled with it off: a plain run)
    assert len(made) == 1


def test_astream_events_root_run_takes_the_config_run_id() -> None:
    run_id = uuid.uuid4()

    async def first() -> dict[str, Any]:
        async for ev in routed().astream_events({"x": 1}, {"run_id": run_id}):
            return ev
        raise AssertionError("no events")

    assert asyncio.run(first())["run_id"] == str(run_id)


def test_an_async_handler_that_asks_to_raise_fails_an_async_run() -> None:
    class Strict(callbacks.AsyncCallbackHandler):  # type: ignore[misc]
        raise_error = True

        async def on_chain_start(self, *args: Any, **kwargs: Any) -> None:
            if kwargs.get("name") == "b":
                raise RuntimeError("strict handler")

    with pytest.raises(RuntimeError, match="strict handler"):
        asyncio.run(routed().ainvoke({"x": 1}, {"callbacks": [Strict()]}))


def test_a_failing_chat_model_reports_on_llm_error_then_its_node_and_graph_fail() -> None:
    seen: list[str] = []

    class Errors(callbacks.BaseCallbackHandler):  # type: ignore[misc]
        def on_chat_model_start(self, *args: Any, **kwargs: Any) -> None:
            seen.append("chat_model_start")

        def on_llm_error(self, error: BaseException, **kwargs: Any) -> None:
            seen.append(f"llm_error {error}")

        def on_chain_error(self, error: BaseException, **kwargs: Any) -> None:
            seen.append(f"chain_error {kwargs.get('parent_run_id') is None}")

    model = FakeChatModel(responses=[RuntimeError("provider down")])

    def call(state: MessagesState) -> dict[str, Any]:
        return {"messages": [model.invoke(state["messages"])]}

    graph = StateGraph(MessagesState).add_node("call", call).add_edge(START, "call").compile()
    with pytest.raises(RuntimeError, match="provider down"):
        graph.invoke({"messages": [HumanMessage("hi")]}, {"callbacks": [Errors()]})
    streamed = list(seen)
    seen.clear()
    model = FakeChatModel(responses=[RuntimeError("provider down")])  # (streamed: same)
    with pytest.raises(RuntimeError, match="provider down"):
        list(
            graph.stream(
                {"messages": [HumanMessage("hi")]},
                {"callbacks": [Errors()]},
                stream_mode="messages",
            )
        )
    assert (
        seen
        == streamed
        == [
            "chat_model_start",
            "llm_error provider down",
            "chain_error False",
            "chain_error True",
        ]
    )
