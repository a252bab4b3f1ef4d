"""stream/astream: values, updates, custom, debug, tasks, several modes at once."""

from __future__ import annotations

import asyncio
import operator
import threading
from typing import Annotated, Any, TypedDict

import pytest

from graphkit import START, Command, StateGraph, get_stream_writer


class State(TypedDict, total=False):
    x: int
    log: Annotated[list[str], operator.add]


def two_step() -> Any:
    builder = StateGraph(State)
    builder.add_node("a", lambda s: {"x": s["x"] + 1, "log": ["a"]})
    builder.add_node("b", lambda s: {"log": ["b"]})
    builder.add_edge(START, "a")
    builder.add_edge("a", "b")
    return builder.compile()


def test_values_stream_yields_state_after_input_and_each_step() -> None:
    chunks = list(two_step().stream({"x": 0}, stream_mode="values"))
    assert chunks == [
        {"x": 0, "log": []},
        {"x": 1, "log": ["a"]},
        {"x": 1, "log": ["a", "b"]},
    ]


def test_updates_is_the_default_stream_mode() -> None:
    assert list(two_step().stream({"x": 0})) == [
        {"a": {"x": 1, "log": ["a"]}},
        {"b": {"log": ["b"]}},
    ]


def test_several_modes_yield_mode_chunk_tuples() -> None:
    events = list(two_step().stream({"x": 0}, stream_mode=["updates", "values"]))
    assert [mode for mode, _ in events] == ["values", "updates", "values", "updates", "values"]


def test_custom_stream_receives_writer_output_while_node_runs() -> None:
    release = threading.Event()
    builder = StateGraph(State)

    def talk(state: State) -> dict[str, Any]:
        write = get_stream_writer()
        write("first")
        release.wait(5)  # the consumer must see "first" before the node returns
        write("second")
        return {"x": 1}

    builder.add_node(talk)
    builder.add_edge(START, "talk")
    seen = []
    for chunk in builder.compile().stream({"x": 0}, stream_mode="custom"):
        seen.append(chunk)
        if chunk == "first":
            release.set()
    assert seen == ["first", "second"]


def test_writer_parameter_is_injected() -> None:
    builder = StateGraph(State)

    def node(state: State, writer: Any) -> None:
        writer({"progress": 50})

    builder.add_node(node)
    builder.add_edge(START, "node")
    out = list(builder.compile().stream({"x": 0}, stream_mode=["custom", "updates"]))
    assert ("custom", {"progress": 50}) in out
    assert ("updates", {"node": None}) in out


def test_stream_writer_outside_streaming_is_a_no_op() -> None:
    builder = StateGraph(State)

    def node(state: State) -> dict[str, int]:
        get_stream_writer()("ignored")
        return {"x": 2}

    builder.add_node(node)
    builder.add_edge(START, "node")
    assert builder.compile().invoke({"x": 0})["x"] == 2


def test_debug_stream_reports_task_start_and_result() -> None:
    events = list(two_step().stream({"x": 0}, stream_mode="debug"))
    kinds = [(e["type"], e["payload"]["name"]) for e in events]
    assert kinds == [("task", "a"), ("task_result", "a"), ("task", "b"), ("task_result", "b")]
    assert events[1]["payload"]["result"] == {"x": 1, "log": ["a"]}  # writes by key
    assert [e["step"] for e in events] == [1, 1, 2, 2]  # LangGraph counts START as step 0


def test_debug_and_checkpoint_events_list_their_keys_in_langgraphs_order() -> None:
    # the order shows wherever events are printed or dumped to JSON
    from graphkit.checkpoint.memory import InMemorySaver

    builder = StateGraph(State)
    builder.add_node("a", lambda s: {"x": 1})
    builder.add_edge(START, "a")
    graph = builder.compile(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "t"}}
    events = list(graph.stream({"x": 0}, config, stream_mode=["debug", "checkpoints"]))
    assert {tuple(e) for mode, e in events if mode == "debug"} == {
        ("step", "timestamp", "type", "payload")
    }
    checkpoints = [e for mode, e in events if mode == "checkpoints"]
    assert {tuple(c) for c in checkpoints} == {
        ("config", "parent_config", "values", "metadata", "next", "tasks")
    }


def test_unknown_stream_mode_is_rejected() -> None:
    with pytest.raises(ValueError, match="Unknown stream_mode"):
        list(two_step().stream({"x": 0}, stream_mode="everything"))  # type: ignore[arg-type]


async def test_astream_custom_from_async_node() -> None:
    builder = StateGraph(State)

    async def node(state: State) -> dict[str, int]:
        get_stream_writer()("tick")
        return {"x": 5}

    builder.add_node(node)
    builder.add_edge(START, "node")
    graph = builder.compile()
    events = [e async for e in graph.astream({"x": 0}, stream_mode=["custom", "values"])]
    assert events == [
        ("values", {"x": 0, "log": []}),
        ("custom", "tick"),
        ("values", {"x": 5, "log": []}),
    ]


def test_compile_debug_prints_updates_and_values_to_stdout(
    capsys: pytest.CaptureFixture[str],
) -> None:
    builder = StateGraph(State)
    builder.add_node("a", lambda s: {"x": 1})
    builder.add_edge(START, "a")
    assert builder.compile(debug=True).invoke({"x": 0})["x"] == 1
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "\033[1m[values]\033[0m {'x': 0, 'log': []}",
        "\033[1m[updates]\033[0m {'a': {'x': 1}}",
        "\033[1m[values]\033[0m {'x': 1, 'log': []}",
    ]


def test_subgraph_events_stream_with_namespaces() -> None:
    inner = StateGraph(State)

    def deep(state: State) -> dict[str, Any]:
        get_stream_writer()("from inside")
        return {"log": ["deep"]}

    inner.add_node(deep)
    inner.add_edge(START, "deep")
    outer = StateGraph(State)
    outer.add_node("sub", inner.compile())
    outer.add_edge(START, "sub")
    graph = outer.compile()
    plain = list(graph.stream({"x": 0}, stream_mode=["updates", "custom"]))
    assert ("custom", "from inside") not in plain
    assert plain[-1] == ("updates", {"sub": {"x": 0, "log": ["deep"]}})
    nested = list(graph.stream({"x": 0}, stream_mode=["updates", "custom"], subgraphs=True))
    inner_events = [(ns, mode, chunk) for ns, mode, chunk in nested if ns]
    assert [mode for _, mode, _ in inner_events] == ["custom", "updates"]
    assert inner_events[0][0][0].startswith("sub:")
    assert nested[-1] == ((), "updates", {"sub": {"x": 0, "log": ["deep"]}})


async def test_subgraph_events_stream_async() -> None:
    inner = StateGraph(State)
    inner.add_node("deep", lambda s: {"log": ["deep"]})
    inner.add_edge(START, "deep")
    outer = StateGraph(State)
    outer.add_node("sub", inner.compile())
    outer.add_edge(START, "sub")
    events = [e async for e in outer.compile().astream({"x": 0}, subgraphs=True)]
    assert [ns != () for ns, _ in events] == [True, False]


def test_values_stream_skips_a_step_that_writes_no_output_key() -> None:
    builder = StateGraph(State)
    builder.add_node("quiet", lambda s: None)
    builder.add_node("loud", lambda s: {"log": ["loud"]})
    builder.add_edge(START, "quiet")
    builder.add_edge("quiet", "loud")
    events = list(builder.compile().stream({"x": 0}, stream_mode=["updates", "values"]))
    # LangGraph's rule: a values chunk only after writes to an output key.
    assert events == [
        ("values", {"x": 0, "log": []}),
        ("updates", {"quiet": None}),
        ("updates", {"loud": {"log": ["loud"]}}),
        ("values", {"x": 0, "log": ["loud"]}),
    ]


def test_a_node_that_writes_nothing_streams_a_none_update_as_langgraph_does() -> None:
    builder = StateGraph(State)
    builder.add_node("empty", lambda s: {})
    builder.add_node("jump", lambda s: Command(goto="last"))
    builder.add_node("last", lambda s: {"x": 1})
    builder.add_edge(START, "empty")
    builder.add_edge("empty", "jump")
    events = list(builder.compile().stream({"x": 0}))
    assert events == [{"empty": None}, {"jump": None}, {"last": {"x": 1}}]


def test_updates_of_a_step_that_fails_at_the_barrier_stream_before_the_error() -> None:
    from graphkit import InvalidUpdateError

    builder = StateGraph(State)
    builder.add_node("a", lambda s: {"x": 1})
    builder.add_node("b", lambda s: {"x": 2})
    builder.add_edge(START, "a")
    builder.add_edge(START, "b")
    seen: list[Any] = []
    with pytest.raises(InvalidUpdateError, match="'x'"):
        for chunk in builder.compile().stream({"x": 0}, stream_mode="updates"):
            seen.append(chunk)
    assert seen == [{"a": {"x": 1}}, {"b": {"x": 2}}]


def test_values_stream_shows_every_channel_but_invoke_only_the_output_schema() -> None:
    class Out(TypedDict, total=False):
        log: Annotated[list[str], operator.add]

    builder = StateGraph(State, output_schema=Out)
    builder.add_node("a", lambda s: {"log": ["a"], "x": 1})
    builder.add_node("b", lambda s: {"x": 2})
    builder.add_edge(START, "a")
    builder.add_edge("a", "b")
    graph = builder.compile()
    # As in LangGraph: values chunks carry all channels, and a step writing only a
    # key outside the output schema still streams one.
    assert list(graph.stream({"log": []}, stream_mode="values")) == [
        {"log": []},
        {"log": ["a"], "x": 1},
        {"log": ["a"], "x": 2},
    ]
    assert graph.invoke({"log": []}) == {"log": ["a"]}


def test_a_node_returning_a_state_object_streams_its_update_as_a_dict() -> None:
    from pydantic import BaseModel

    class Model(BaseModel):
        x: int = 0
        log: Annotated[list[str], operator.add] = []

    builder = StateGraph(Model)
    builder.add_node("a", lambda s: Model(x=5, log=["a"]))
    builder.add_edge(START, "a")
    assert list(builder.compile().stream({"x": 1})) == [{"a": {"x": 5, "log": ["a"]}}]


def test_invoke_with_another_stream_mode_returns_its_chunks() -> None:
    graph = two_step()
    assert graph.invoke({"x": 0}, stream_mode="updates") == [
        {"a": {"x": 1, "log": ["a"]}},
        {"b": {"log": ["b"]}},
    ]
    chunks = asyncio.run(graph.ainvoke({"x": 0}, stream_mode="updates"))
    assert [next(iter(c)) for c in chunks] == ["a", "b"]


# ------------------------------------------- updates of a step with several tasks
def _fast_and_slow(gate: threading.Event) -> Any:
    """START -> fast and slow in one step; slow waits until fast's update is out."""
    inner = StateGraph(State)
    inner.add_node("inside", lambda s: gate.wait(5) and {"log": ["inside"]})
    inner.add_edge(START, "inside")
    builder = StateGraph(State)
    builder.add_node("fast", lambda s: {"log": ["fast"]})
    builder.add_node("slow", inner.compile())
    builder.add_edge(START, "fast")
    builder.add_edge(START, "slow")
    return builder.compile()


def test_each_task_of_a_step_streams_its_update_when_it_finishes() -> None:
    gate = threading.Event()
    seen: list[Any] = []
    # "custom" makes the stream live: the consumer sees each event as it happens
    for ns, _, chunk in _fast_and_slow(gate).stream(
        {}, stream_mode=["updates", "custom"], subgraphs=True
    ):
        seen.append((ns, chunk))
        if "fast" in chunk:
            gate.set()  # the slow task's subgraph finishes only after this arrives
    names = [next(iter(chunk)) for _, chunk in seen]
    assert names == ["fast", "inside", "slow"]
    assert seen[1][0][0].startswith("slow:")


async def test_each_task_of_a_step_streams_its_update_when_it_finishes_async() -> None:
    gate = threading.Event()
    seen: list[str] = []
    stream = _fast_and_slow(gate).astream({}, stream_mode=["updates", "custom"], subgraphs=True)
    async for _, _, chunk in stream:
        seen.append(next(iter(chunk)))
        if "fast" in chunk:
            gate.set()
    assert seen == ["fast", "inside", "slow"]


def test_a_static_breakpoint_streams_an_empty_interrupt_update() -> None:
    from graphkit.checkpoint.memory import InMemorySaver

    graph = (
        StateGraph(State)
        .add_node("a", lambda s: {"log": ["a"]})
        .add_node("b", lambda s: {"log": ["b"]})
        .add_edge(START, "a")
        .add_edge("a", "b")
    )
    for pause in ({"interrupt_before": ["b"]}, {"interrupt_after": ["a"]}):
        app = graph.compile(checkpointer=InMemorySaver(), **pause)
        config = {"configurable": {"thread_id": "t"}}
        assert list(app.stream({"log": []}, config)) == [
            {"a": {"log": ["a"]}},
            {"__interrupt__": ()},
        ]
        assert list(
            app.stream({"log": []}, {"configurable": {"thread_id": "v"}}, stream_mode="values")
        ) == [
            {"log": []},
            {"log": ["a"]},
        ]  # values streams no interrupt chunk for a breakpoint
        assert list(app.stream(None, config)) == [{"b": {"log": ["b"]}}]


def test_an_update_of_key_value_pairs_streams_as_a_dict_or_one_dict_per_write() -> None:
    class Log(TypedDict):
        foo: Annotated[str, lambda a, b: f"{a}|{b}" if a else b]
        bar: str

    def repeats(_: Log) -> Command[Any]:
        return Command(update=[("foo", "one.0"), ("foo", "one.1")])

    def distinct(_: Log) -> list[tuple[str, str]]:
        return [("foo", "two"), ("bar", "b")]

    builder = StateGraph(Log)
    builder.add_node("repeats", repeats)
    builder.add_node("distinct", distinct)
    builder.add_edge(START, "repeats")
    builder.add_edge("repeats", "distinct")
    chunks = list(builder.compile().stream({"foo": "in"}, stream_mode="updates"))
    assert chunks == [
        {"repeats": [{"foo": "one.0"}, {"foo": "one.1"}]},
        {"distinct": {"foo": "two", "bar": "b"}},
    ]


def _two_nodes(
    release: threading.Event, finished: list[str], first: str, second: str, *, parallel: bool
) -> tuple[Any, Any]:
    """``first`` and ``second`` (which waits for ``release``, at most 5 s), in one step
    from START (``parallel``) or one after the other; returns the graph and its state."""

    class S(TypedDict):
        log: Annotated[list[str], operator.add]

    def quick(state: S) -> dict[str, list[str]]:
        finished.append(first)
        return {"log": [first]}

    def blocked(state: S) -> dict[str, list[str]]:
        release.wait(5)
        finished.append(second)
        return {"log": [second]}

    builder = StateGraph(S)
    builder.add_node(first, quick)
    builder.add_node(second, blocked)
    builder.add_edge(START, first)
    builder.add_edge(START if parallel else first, second)
    return builder.compile(), S


def _fast_and_blocked(release: threading.Event, finished: list[str]) -> Any:
    """START -> fast and slow in one step; slow waits for ``release``."""
    return _two_nodes(release, finished, "fast", "slow", parallel=True)[0]


@pytest.mark.parametrize("mode", ["updates", "tasks", "debug"])
def test_a_finished_task_streams_while_its_step_still_runs(mode: str) -> None:
    release, finished = threading.Event(), []
    graph = _fast_and_blocked(release, finished)
    seen_while_slow_ran: list[Any] = []
    for chunk in graph.stream({"log": []}, stream_mode=mode):
        if "slow" not in finished:
            seen_while_slow_ran.append(chunk)
            if "fast" in str(chunk) and ("result" in str(chunk) or mode == "updates"):
                release.set()
    release.set()
    assert any("fast" in str(c) for c in seen_while_slow_ran)
    assert finished == ["fast", "slow"]


def test_a_finished_task_streams_while_its_step_still_runs_in_astream() -> None:
    release, finished = threading.Event(), []
    graph = _fast_and_blocked(release, finished)

    async def consume() -> list[Any]:
        early = []
        async for chunk in graph.astream({"log": []}, stream_mode="updates"):
            if "slow" not in finished:
                early.append(chunk)
                release.set()
        return early

    try:
        early = asyncio.run(consume())
    finally:
        release.set()
    assert early == [{"fast": {"log": ["fast"]}}]
    assert finished == ["fast", "slow"]


def _child_graph(release: threading.Event, finished: list[str]) -> tuple[Any, Any]:
    """START -> a -> b; b waits for ``release``."""
    return _two_nodes(release, finished, "a", "b", parallel=False)


@pytest.mark.parametrize("how", ["subgraph_node", "node_streams_the_child"])
def test_subgraph_updates_reach_a_subgraphs_stream_while_the_subgraph_runs(how: str) -> None:
    release, finished = threading.Event(), []
    child, S = _child_graph(release, finished)
    own_chunks: list[Any] = []

    def streams_child(state: Any) -> dict[str, Any]:
        for chunk in child.stream(state, stream_mode="values"):
            own_chunks.append(chunk)
        return {"log": ["parent"]}

    builder = StateGraph(S)
    builder.add_node("child", child if how == "subgraph_node" else streams_child)
    builder.add_edge(START, "child")
    early = []
    try:
        for namespace, chunk in builder.compile().stream({"log": []}, subgraphs=True):
            if "b" not in finished:
                early.append((len(namespace), chunk))
                release.set()
    finally:
        release.set()
    assert early == [(1, {"a": {"log": ["a"]}})]
    if how == "node_streams_the_child":  # its own consumer still gets only what it asked
        assert own_chunks == [{"log": []}, {"log": ["a"]}, {"log": ["a", "b"]}]


def test_subgraph_updates_reach_an_astream_of_subgraphs_while_the_subgraph_runs() -> None:
    release, finished = threading.Event(), []
    child, S = _child_graph(release, finished)
    builder = StateGraph(S)
    builder.add_node("child", child)
    builder.add_edge(START, "child")
    graph = builder.compile()

    async def consume() -> list[Any]:
        early = []
        async for namespace, chunk in graph.astream({"log": []}, subgraphs=True):
            if "b" not in finished:
                early.append((len(namespace), chunk))
                release.set()
        return early

    try:
        assert asyncio.run(consume()) == [(1, {"a": {"log": ["a"]}})]
    finally:
        release.set()


def asking_graph() -> Any:
    """One node that asks ``how many?`` with ``interrupt()``, checkpointed in memory."""
    from graphkit.checkpoint.memory import InMemorySaver
    from graphkit.types import interrupt

    class S(TypedDict):
        x: int

    builder = StateGraph(S)
    builder.add_node("ask", lambda s: {"x": interrupt("how many?")})
    builder.add_edge(START, "ask")
    return builder.compile(checkpointer=InMemorySaver())


@pytest.mark.parametrize("mode", ["tasks", "debug"])
def test_an_interrupted_task_streams_a_result_holding_its_interrupt(mode: str) -> None:
    graph = asking_graph()
    chunks = list(graph.stream({"x": 1}, {"configurable": {"thread_id": "t"}}, stream_mode=mode))
    payloads = [c if mode == "tasks" else c["payload"] for c in chunks]
    results = [p for p in payloads if "interrupts" in p]
    assert len(results) == 1
    assert results[0]["name"] == "ask" and results[0]["result"] == {}
    assert [i["value"] for i in results[0]["interrupts"]] == ["how many?"]


def test_a_pause_streams_its_interrupt_update_before_the_tasks_result() -> None:
    graph = asking_graph()
    config = {"configurable": {"thread_id": "t"}}
    modes = ["updates", "values", "tasks"]
    chunks = [m for m, _ in graph.stream({"x": 1}, config, stream_mode=modes)]  # type: ignore[arg-type]
    # LangGraph's order: the interrupt, the paused state, then the task's result
    assert chunks == ["values", "tasks", "updates", "values", "tasks"]


class _Stop(BaseException):
    """Escapes a node's error handling (as KeyboardInterrupt would)."""


@pytest.mark.parametrize("mode", ["updates", "custom"])
def test_an_exception_escaping_a_task_of_a_live_step_reaches_the_caller(mode: str) -> None:
    """It was lost in the worker thread and the run reported a pause."""

    class S(TypedDict):
        log: Annotated[list[str], operator.add]

    def stop(state: S) -> dict[str, list[str]]:
        raise _Stop("stop the run")

    builder = StateGraph(S)
    builder.add_node("fine", lambda s: {"log": ["fine"]})
    builder.add_node("stop", stop)
    builder.add_edge(START, "fine")
    builder.add_edge(START, "stop")
    graph = builder.compile()
    with pytest.raises(_Stop, match="stop the run"):
        list(graph.stream({"log": []}, stream_mode=mode))
    with pytest.raises(_Stop, match="stop the run"):
        graph.invoke({"log": []})


@pytest.mark.parametrize("static", [True, False])
def test_a_pause_two_levels_down_shows_where_langgraph_shows_it(static: bool) -> None:
    """``interrupt()`` shows as ``__interrupt__`` at every level on the way up; a static
    ``interrupt_before`` inside a subgraph only at the top graph (as LangGraph)."""
    from graphkit import interrupt
    from graphkit.checkpoint.memory import InMemorySaver

    class S(TypedDict):
        x: str

    def ask(state: S) -> dict[str, Any]:
        return {"x": state["x"] + interrupt("more?")}

    grandchild = StateGraph(S)
    grandchild.add_node("first", lambda s: {"x": s["x"] + "1"})
    grandchild.add_node("ask", (lambda s: {"x": s["x"]}) if static else ask)
    grandchild.add_edge(START, "first")
    grandchild.add_edge("first", "ask")
    child = StateGraph(S)
    child.add_node("inner", grandchild.compile(interrupt_before=["ask"] if static else None))
    child.add_edge(START, "inner")
    top = StateGraph(S)
    top.add_node("child", child.compile())
    top.add_edge(START, "child")
    graph = top.compile(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "t"}}
    pauses = [
        len(namespace)
        for namespace, chunk in graph.stream({"x": ""}, config, subgraphs=True)
        if "__interrupt__" in chunk
    ]
    assert pauses == ([0] if static else [2, 1, 0])


def _recording_graph(ran: list[str]) -> Any:
    def node(name: str) -> Any:
        def run(state: State) -> dict[str, Any]:
            ran.append(name)
            return {"log": [name]}

        return run

    builder = StateGraph(State)
    builder.add_node("a", node("a"))
    builder.add_node("b", node("b"))
    builder.add_edge(START, "a")
    builder.add_edge("a", "b")
    return builder.compile()


@pytest.mark.parametrize("mode", ["tasks", "debug"])
def test_task_start_events_arrive_before_the_task_runs(mode: str) -> None:
    ran: list[str] = []
    seen: list[tuple[str, list[str]]] = []
    for chunk in _recording_graph(ran).stream({"x": 0}, stream_mode=mode):
        payload = chunk["payload"] if mode == "debug" else chunk
        if "input" in payload:  # a task start
            seen.append((payload["name"], list(ran)))
    assert seen == [("a", []), ("b", ["a"])]


def test_task_start_events_arrive_before_the_task_runs_async() -> None:
    ran: list[str] = []

    async def consume() -> list[tuple[str, list[str]]]:
        seen = []
        async for chunk in _recording_graph(ran).astream({"x": 0}, stream_mode="tasks"):
            if "input" in chunk:
                seen.append((chunk["name"], list(ran)))
        return seen

    assert asyncio.run(consume()) == [("a", []), ("b", ["a"])]
