"""graphkit.runtime: Runtime[Ctx], get_runtime(), context_schema, execution info, RunControl."""

from __future__ import annotations

import asyncio
import dataclasses
import operator
import threading
from typing import Annotated, Any, TypedDict

import pytest
from pydantic import BaseModel, ValidationError

from graphkit import END, START, RetryPolicy, StateGraph
from graphkit.checkpoint.memory import InMemorySaver
from graphkit.errors import GraphDrained, GraphkitError
from graphkit.func import entrypoint
from graphkit.runtime import (
    DEFAULT_RUNTIME,
    ExecutionInfo,
    RunControl,
    Runtime,
    ServerInfo,
    get_runtime,
)
from graphkit.store.memory import InMemoryStore


@dataclasses.dataclass
class Ctx:
    user: str
    level: int = 1


class State(TypedDict, total=False):
    out: str
    seen: list[str]


def one_node(fn: Any, *, context_schema: Any = None, checkpointer: Any = None) -> Any:
    builder = StateGraph(State, context_schema=context_schema)
    builder.add_node("node", fn)
    builder.add_edge(START, "node")
    builder.add_edge("node", END)
    return builder.compile(checkpointer=checkpointer)


def test_a_dict_context_is_coerced_to_the_dataclass_schema() -> None:
    def node(state: State, runtime: Runtime[Ctx]) -> State:
        return {"out": f"{runtime.context.user}/{runtime.context.level}"}

    graph = one_node(node, context_schema=Ctx)
    assert graph.invoke({}, context={"user": "ann"}) == {"out": "ann/1"}
    assert graph.invoke({}, context=Ctx("bob", 3)) == {"out": "bob/3"}


def test_the_context_schema_is_stategraphs_second_positional_argument() -> None:
    def node(state: State, runtime: Runtime[Ctx]) -> State:
        return {"out": runtime.context.user}

    builder = StateGraph(State, Ctx)
    builder.add_node("node", node)
    builder.add_edge(START, "node")
    assert builder.context_schema is Ctx
    assert builder.compile().invoke({}, context={"user": "cy"}) == {"out": "cy"}


def test_a_dataclass_context_with_wrong_keys_raises_type_error() -> None:
    graph = one_node(lambda s: {"out": "x"}, context_schema=Ctx)
    with pytest.raises(TypeError):
        graph.invoke({}, context={"level": 2})
    with pytest.raises(TypeError):
        graph.invoke({}, context={"user": "a", "nope": 1})


def test_a_pydantic_context_is_validated() -> None:
    class PCtx(BaseModel):
        user: str
        tags: list[str] = []

    def node(state: State, runtime: Runtime[PCtx]) -> State:
        return {"out": f"{runtime.context.user}{runtime.context.tags}"}

    graph = one_node(node, context_schema=PCtx)
    assert graph.invoke({}, context={"user": "a", "tags": ["x"]}) == {"out": "a['x']"}
    with pytest.raises(ValidationError):
        graph.invoke({}, context={"user": ["not", "a", "str"]})


def test_a_typeddict_context_stays_a_dict_and_none_stays_none() -> None:
    class TCtx(TypedDict):
        user: str

    seen: list[Any] = []
    graph = one_node(lambda s, runtime: seen.append(runtime.context), context_schema=TCtx)
    graph.invoke({}, context={"user": "a"})
    graph.invoke({})
    assert seen == [{"user": "a"}, None]


def test_get_runtime_inside_a_node_and_outside_a_run() -> None:
    store = InMemoryStore()

    def node(state: State) -> State:
        runtime = get_runtime(Ctx)
        assert runtime.store is store
        return {"out": runtime.context.user}

    builder = StateGraph(State, context_schema=Ctx)
    builder.add_node("node", node)
    builder.add_edge(START, "node")
    assert builder.compile(store=store).invoke({}, context=Ctx("z")) == {"out": "z"}
    with pytest.raises(RuntimeError, match="outside a running graph"):
        get_runtime()


async def test_context_reaches_async_nodes_and_astream() -> None:
    async def node(state: State, runtime: Runtime[Ctx]) -> State:
        await asyncio.sleep(0)
        return {"out": runtime.context.user}

    graph = one_node(node, context_schema=Ctx)
    assert await graph.ainvoke({}, context={"user": "async"}) == {"out": "async"}
    chunks = [c async for c in graph.astream({}, context={"user": "s"})]
    assert chunks == [{"node": {"out": "s"}}]


def test_subgraph_nodes_get_the_parent_runs_context() -> None:
    def inner(state: State, runtime: Runtime[Ctx]) -> State:
        return {"seen": [f"inner:{runtime.context.user}"]}

    sub = StateGraph(State, context_schema=Ctx)
    sub.add_node("inner", inner)
    sub.add_edge(START, "inner")
    parent = StateGraph(State, context_schema=Ctx)
    parent.add_node("sub", sub.compile())
    parent.add_edge(START, "sub")
    assert parent.compile().invoke({}, context={"user": "p"}) == {"seen": ["inner:p"]}


def test_runtime_merge_override_and_patch() -> None:
    control = RunControl()
    first = Runtime(context=Ctx("a"), control=control)
    merged = first.merge(Runtime(context=None, previous=0))
    assert merged.context == Ctx("a") and merged.control is control and merged.previous == 0
    assert first.merge(Runtime(context=Ctx("b"))).context == Ctx("b")
    assert first.override(context=Ctx("c")).context == Ctx("c")
    assert first.context == Ctx("a")  # override copies
    with pytest.raises(RuntimeError, match="execution_info"):
        first.patch_execution_info(node_attempt=2)
    info = ExecutionInfo(checkpoint_id="c", checkpoint_ns="n", task_id="t")
    patched = Runtime(execution_info=info).patch_execution_info(node_attempt=2)
    assert patched.execution_info is not None and patched.execution_info.node_attempt == 2
    assert info.node_attempt == 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        info.task_id = "x"  # type: ignore[misc]
    assert DEFAULT_RUNTIME.context is None and DEFAULT_RUNTIME.drain_requested is False


def test_execution_info_names_thread_task_namespace_and_attempt() -> None:
    infos: list[ExecutionInfo] = []

    def flaky(state: State, runtime: Runtime) -> State:
        assert runtime.execution_info is not None
        infos.append(runtime.execution_info)
        if len(infos) < 3:
            raise ValueError("again")
        return {"out": "ok"}

    builder = StateGraph(State)
    builder.add_node(
        "flaky",
        flaky,
        retry_policy=RetryPolicy(initial_interval=0.0, jitter=False, retry_on=ValueError),
    )
    builder.add_edge(START, "flaky")
    graph = builder.compile(checkpointer=InMemorySaver())
    graph.invoke({}, {"configurable": {"thread_id": "t1"}, "run_id": "r1"})
    assert [i.node_attempt for i in infos] == [1, 2, 3]
    assert len({i.node_first_attempt_time for i in infos}) == 1
    assert isinstance(infos[0].node_first_attempt_time, float)
    info = infos[0]
    assert (info.thread_id, info.run_id) == ("t1", "r1")
    assert info.checkpoint_ns == f"flaky:{info.task_id}"
    assert info.checkpoint_id  # the checkpoint the step started from


def test_execution_info_without_checkpointer_has_no_thread_and_subgraphs_nest() -> None:
    infos: dict[str, ExecutionInfo] = {}

    def record(name: str) -> Any:
        def node(state: State, runtime: Runtime) -> None:
            assert runtime.execution_info is not None
            infos[name] = runtime.execution_info

        return node

    sub = StateGraph(State)
    sub.add_node("inner", record("inner"))
    sub.add_edge(START, "inner")
    parent = StateGraph(State)
    parent.add_node("outer", record("outer"))
    parent.add_node("sub", sub.compile())
    parent.add_edge(START, "outer")
    parent.add_edge("outer", "sub")
    parent.compile().invoke({}, {"configurable": {"thread_id": "ignored"}})
    assert infos["outer"].thread_id is None
    assert "|" not in infos["outer"].checkpoint_ns
    assert infos["inner"].checkpoint_ns.startswith("sub:")
    assert f"|inner:{infos['inner'].task_id}" in infos["inner"].checkpoint_ns


def test_server_info_comes_from_assistant_and_graph_ids() -> None:
    seen: list[ServerInfo | None] = []
    graph = one_node(lambda s, runtime: seen.append(runtime.server_info))
    graph.invoke({}, {"configurable": {"assistant_id": "a1", "graph_id": "g1"}})
    graph.invoke({})
    assert seen == [ServerInfo("a1", "g1"), None]


# ----------------------------------------------------------------------------- drain
def chain(ran: list[str], control: RunControl | None = None, **compile_kw: Any) -> Any:
    def first(state: State) -> State:
        ran.append("first")
        if control is not None:
            control.request_drain("deploy")
        return {"seen": ["first"]}

    def second(state: State) -> State:
        ran.append("second")
        return {"seen": ["second"]}

    class S(TypedDict, total=False):
        seen: Annotated[list[str], operator.add]

    builder = StateGraph(S)
    builder.add_node("first_node", first)
    builder.add_node("second_node", second)
    builder.add_edge(START, "first_node")
    builder.add_edge("first_node", "second_node")
    return builder.compile(**compile_kw)


@pytest.mark.parametrize("durability", ["sync", "exit"])
def test_a_drained_run_stops_between_steps_and_resumes(durability: str) -> None:
    ran: list[str] = []
    control = RunControl()
    graph = chain(ran, control, checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "d"}}
    with pytest.raises(GraphDrained, match="deploy") as raised:
        graph.invoke({"seen": []}, config, control=control, durability=durability)
    assert raised.value.reason == "deploy" and isinstance(raised.value, GraphkitError)
    assert ran == ["first"]
    assert graph.get_state(config).next == ("second_node",)
    assert graph.invoke(None, config) == {"seen": ["first", "second"]}
    assert ran == ["first", "second"]


def test_a_pre_drained_control_runs_nothing_and_a_last_step_drain_finishes() -> None:
    ran: list[str] = []
    control = RunControl()
    control.request_drain("early")
    with pytest.raises(GraphDrained, match="early"):
        chain(ran).invoke({"seen": []}, control=control)
    assert ran == []
    late = RunControl()
    graph = one_node(lambda s: late.request_drain())
    assert graph.invoke({"out": "x"}, control=late) == {"out": "x"}
    assert late.drain_requested and late.drain_reason == "shutdown"


async def test_a_drain_from_another_thread_stops_an_async_run() -> None:
    control = RunControl()
    started = threading.Event()

    async def slow(state: State) -> State:
        started.set()
        await asyncio.sleep(0.05)
        return {"seen": ["slow"]}

    builder = StateGraph(State)
    builder.add_node("slow", slow)
    builder.add_node("after", lambda s: {"seen": ["after"]})
    builder.add_edge(START, "slow")
    builder.add_edge("slow", "after")
    threading.Thread(target=lambda: started.wait(5) and control.request_drain("sig")).start()
    with pytest.raises(GraphDrained, match="sig"):
        await builder.compile().ainvoke({"seen": []}, control=control)


def test_interrupt_before_wins_over_a_drain_at_the_same_step() -> None:
    ran: list[str] = []
    control = RunControl()
    graph = chain(ran, control, checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "b"}}
    out = graph.invoke({"seen": []}, config, control=control, interrupt_before=["second_node"])
    assert out == {"seen": ["first"]} and ran == ["first"]
    assert graph.get_state(config).next == ("second_node",)


# ----------------------------------------------------------------------------- functional API
def test_entrypoint_context_schema_and_runtime_previous() -> None:
    @entrypoint(checkpointer=InMemorySaver(), context_schema=Ctx)
    def count(step: int, runtime: Runtime[Ctx]) -> int:
        previous = runtime.previous or 0
        return previous + step * runtime.context.level

    config = {"configurable": {"thread_id": "e"}}
    assert count.invoke(1, config, context={"user": "u", "level": 10}) == 10
    assert count.invoke(2, config, context=Ctx("u", 1)) == 12


async def test_a_sync_node_under_ainvoke_runs_off_the_event_loop_thread() -> None:
    threads: list[int] = []
    graph = one_node(lambda s: threads.append(threading.get_ident()))
    await graph.ainvoke({})
    assert threads and threads[0] != threading.get_ident()


def test_a_state_snapshot_is_a_named_tuple_as_in_langgraph() -> None:
    from graphkit.types import StateSnapshot

    class S(TypedDict, total=False):
        x: int

    graph = (
        StateGraph(S)
        .add_node("inc", lambda s: {"x": s["x"] + 1})
        .add_edge(START, "inc")
        .compile(checkpointer=InMemorySaver())
    )
    config = {"configurable": {"thread_id": "nt"}}
    graph.invoke({"x": 1}, config)
    snap = graph.get_state(config)
    values, next_, *_rest, interrupts = snap
    assert (values, next_, interrupts) == ({"x": 2}, (), ())
    assert snap._replace(values={"x": 0}).values == {"x": 0} and snap.values == {"x": 2}
    assert snap._fields == StateSnapshot._fields and snap[0] is snap.values


def test_node_finished_callback_hears_every_finished_node_in_subgraphs_too() -> None:
    from graphkit.checkpoint.memory import InMemorySaver
    from graphkit.constants import CONFIG_KEY_NODE_FINISHED
    from graphkit.types import Command, interrupt

    class S(TypedDict):
        x: str

    def grandchild_1(state: S) -> dict[str, str]:
        return {"x": state["x"] + "1"}

    def grandchild_2(state: S) -> dict[str, str]:
        return {"x": state["x"] + interrupt("more?")}

    inner = StateGraph(S)
    inner.add_node("grandchild_1", grandchild_1)
    inner.add_node("grandchild_2", grandchild_2)
    inner.add_edge(START, "grandchild_1")
    inner.add_edge("grandchild_1", "grandchild_2")
    outer = StateGraph(S)
    outer.add_node("parent_1", lambda s: {"x": "p"})
    outer.add_node("child", inner.compile())
    outer.add_edge(START, "parent_1")
    outer.add_edge("parent_1", "child")
    graph = outer.compile(checkpointer=InMemorySaver())
    finished: list[str] = []
    config = {"configurable": {"thread_id": "t", CONFIG_KEY_NODE_FINISHED: finished.append}}
    graph.invoke({"x": ""}, config)
    assert finished == ["parent_1", "grandchild_1"]  # grandchild_2 paused: not finished
    graph.invoke(Command(resume="2"), config)
    assert finished == ["parent_1", "grandchild_1", "grandchild_2", "child"]
    assert graph.get_state(config).values == {"x": "p12"}


@pytest.mark.parametrize("how", ["as_node", "invoked_in_a_node"])
def test_a_subgraph_node_sees_the_callers_configurable(how: str) -> None:
    from graphkit.config import get_config

    class S(TypedDict):
        seen: dict[str, Any]

    def look(state: S) -> dict[str, Any]:
        configurable = get_config()["configurable"]
        return {"seen": {k: configurable.get(k) for k in ("user_id", "thread_id", "extra")}}

    inner_builder = StateGraph(S)
    inner_builder.add_node("look", look)
    inner_builder.add_edge(START, "look")
    inner = inner_builder.compile()
    outer = StateGraph(S)
    if how == "as_node":
        outer.add_node("child", inner)
    else:
        outer.add_node("child", lambda s: inner.invoke(s, {"configurable": {"extra": 1}}))
    outer.add_edge(START, "child")
    config = {"configurable": {"thread_id": "t", "user_id": "u"}}
    out = outer.compile(checkpointer=InMemorySaver()).invoke({"seen": {}}, config)
    extra = 1 if how == "invoked_in_a_node" else None
    assert out["seen"] == {"user_id": "u", "thread_id": "t", "extra": extra}


def test_a_nodes_configurable_names_its_task_namespace_and_no_checkpoint() -> None:
    """As in LangGraph: ``checkpoint_ns`` is the task's namespace ("node:task_id", a
    subgraph's under its parent task's), ``checkpoint_id`` None even on a replay."""

    class S(TypedDict):
        seen: list[tuple[str, Any]]

    def look(state: S, config: Any) -> dict[str, Any]:
        configurable = config["configurable"]
        seen = (configurable["checkpoint_ns"], configurable["checkpoint_id"])
        return {"seen": [*state["seen"], seen]}

    inner_builder = StateGraph(S)
    inner_builder.add_node("inner", look)
    inner_builder.add_edge(START, "inner")
    outer = StateGraph(S)
    outer.add_node("top", look)
    outer.add_node("child", inner_builder.compile())
    outer.add_edge(START, "top")
    outer.add_edge("top", "child")
    graph = outer.compile(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "t"}}
    seen = graph.invoke({"seen": []}, config)["seen"]
    (top_ns, top_id), (inner_ns, inner_id) = seen
    assert top_id is None and inner_id is None
    assert top_ns.startswith("top:") and "|" not in top_ns
    child_ns, _, inner_segment = inner_ns.partition("|")
    assert child_ns.startswith("child:") and inner_segment.startswith("inner:")
    first = list(graph.get_state_history(config))[-2]  # the checkpoint before "top" ran
    replayed = graph.invoke(None, first.config)["seen"]
    assert [ns.partition(":")[0] for ns, _ in replayed] == ["top", "child"]
    assert all(cid is None for _, cid in replayed)
