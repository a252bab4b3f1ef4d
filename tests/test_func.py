"""The functional API: @entrypoint workflows of @task calls."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import Any, TypedDict

import pytest

from graphkit import END, START, Command, StateGraph, get_store, interrupt
from graphkit.func import entrypoint, task
from graphkit.stores import InMemoryStore
from graphkit.stores.checkpoint import BaseCheckpointSaver


def cfg(thread: str = "w") -> dict[str, Any]:
    return {"configurable": {"thread_id": thread}}


def test_tasks_run_in_parallel_and_results_combine() -> None:
    barrier = threading.Barrier(2, timeout=5)

    @task
    def meet(x: int) -> int:
        barrier.wait()  # both calls must be running at once
        return x * 10

    @entrypoint()
    def workflow(numbers: list[int]) -> int:
        futures = [meet(n) for n in numbers]
        return sum(f.result() for f in futures)

    assert workflow.invoke([1, 2]) == 30


def test_previous_carries_the_last_saved_value_of_the_thread(saver: BaseCheckpointSaver) -> None:
    @entrypoint(checkpointer=saver)
    def counter(step: int, *, previous: int | None = None) -> Any:
        total = (previous or 0) + step
        return entrypoint.final(value=f"total={total}", save=total)

    assert counter.invoke(2, cfg()) == "total=2"
    assert counter.invoke(5, cfg()) == "total=7"
    assert counter.invoke(1, cfg("other")) == "total=1"


def test_interrupt_resume_does_not_rerun_finished_tasks(saver: BaseCheckpointSaver) -> None:
    runs: list[str] = []

    @task
    def draft(topic: str) -> str:
        runs.append("draft")
        return f"essay on {topic}"

    @entrypoint(checkpointer=saver)
    def review(topic: str) -> dict[str, Any]:
        text = draft(topic).result()
        verdict = interrupt({"essay": text})
        return {"essay": text, "verdict": verdict}

    paused = review.invoke("cats", cfg())
    assert paused["__interrupt__"][0].value == {"essay": "essay on cats"}
    assert review.invoke(Command(resume="good"), cfg()) == {
        "essay": "essay on cats",
        "verdict": "good",
    }
    assert runs == ["draft"]


def test_store_reaches_entrypoint_and_tasks() -> None:
    store = InMemoryStore()

    @task
    def remember(fact: str) -> None:
        get_store().put(("facts",), "1", {"text": fact})

    @entrypoint(store=store)
    def workflow(fact: str, *, store: Any) -> str:
        remember(fact).result()
        item = store.get(("facts",), "1")
        return str(item.value["text"])

    assert workflow.invoke("sky is blue") == "sky is blue"


def test_stream_updates_and_custom() -> None:
    @entrypoint()
    def workflow(x: int, *, writer: Any) -> int:
        writer("half way")
        return x + 1

    assert list(workflow.stream(1)) == [{"workflow": 2}]
    assert list(workflow.stream(1, stream_mode=["custom", "values"])) == [
        ("custom", "half way"),
        ("values", 2),
    ]


async def test_async_entrypoint_awaits_tasks_concurrently() -> None:
    started = asyncio.Event()

    @task
    async def first() -> str:
        started.set()
        return "a"

    @task
    async def second() -> str:
        await asyncio.wait_for(started.wait(), 5)
        return "b"

    @entrypoint()
    async def workflow(prefix: str) -> str:
        b, a = second(), first()  # second waits for first: only concurrent runs finish
        return prefix + (await a) + (await b)

    assert await workflow.ainvoke(">") == ">ab"


async def test_async_entrypoint_with_input() -> None:
    @task
    async def twice(x: int) -> int:
        await asyncio.sleep(0)
        return 2 * x

    @entrypoint()
    async def workflow(xs: list[int]) -> list[int]:
        return list(await asyncio.gather(*(twice(x) for x in xs)))

    assert await workflow.ainvoke([1, 2, 3]) == [2, 4, 6]


def test_task_outside_workflow_runs_directly_and_errors_propagate() -> None:
    @task
    def boom() -> None:
        raise ValueError("bad")

    @task
    def one() -> int:
        return 1

    assert one().result() == 1
    with pytest.raises(ValueError, match="bad"):
        boom().result()


def adder(saver: BaseCheckpointSaver) -> Any:
    @task
    def double(x: int) -> int:
        return 2 * x

    @entrypoint(checkpointer=saver)
    def workflow(n: int, *, previous: int | None = None) -> int:
        return double(n).result() + (previous or 0)

    return workflow


def test_values_stream_yields_only_this_runs_return_value(saver: BaseCheckpointSaver) -> None:
    workflow = adder(saver)
    workflow.invoke(1, cfg())  # the thread now holds 2
    assert list(workflow.stream(2, cfg(), stream_mode="values")) == [6]


def test_updates_stream_shows_each_task_result_then_the_return_value(
    saver: BaseCheckpointSaver,
) -> None:
    workflow = adder(saver)
    assert list(workflow.stream(3, cfg())) == [{"double": 6}, {"workflow": 6}]
    assert list(workflow.stream(1, cfg(), stream_mode=["updates", "values"])) == [
        ("updates", {"double": 2}),
        ("updates", {"workflow": 8}),
        ("values", 8),
    ]


def test_async_task_results_stream_too() -> None:
    @task
    async def slow(x: int) -> int:
        await asyncio.sleep(0)
        return x + 1

    @entrypoint()
    async def workflow(x: int) -> int:
        return await slow(x)

    async def collect() -> list[Any]:
        return [c async for c in workflow.astream(1)]

    assert asyncio.run(collect()) == [{"slow": 2}, {"workflow": 2}]


def test_paused_workflow_streams_the_interrupt_and_resumed_task_results(
    saver: BaseCheckpointSaver,
) -> None:
    @task
    def ask(question: str) -> str:
        return str(interrupt(question))

    @task
    def shout(text: str) -> str:
        return text.upper()

    @entrypoint(checkpointer=saver)
    def workflow(text: str) -> str:
        return shout(text).result() + ask("name?").result()

    first = list(workflow.stream("hi ", cfg(), stream_mode=["updates", "values"]))
    assert first[0] == ("updates", {"shout": "HI "})
    assert [mode for mode, _ in first[1:]] == ["updates", "values"]
    assert all("__interrupt__" in chunk for _, chunk in first[1:])
    assert workflow.get_state(cfg()).values is None  # nothing returned yet
    resumed = list(workflow.stream(Command(resume="bob"), cfg()))
    assert resumed == [{"ask": "bob"}, {"workflow": "HI bob"}]  # shout is not re-run


def test_get_state_values_is_the_return_value_without_internals(saver: BaseCheckpointSaver) -> None:
    workflow = adder(saver)
    workflow.invoke(5, cfg())
    assert workflow.get_state(cfg()).values == 10
    assert next(s.values for s in workflow.get_state_history(cfg())) == 10
    assert asyncio.run(workflow.aget_state(cfg())).values == 10


def test_update_state_sets_the_value_and_the_next_previous(saver: BaseCheckpointSaver) -> None:
    workflow = adder(saver)
    workflow.update_state(cfg(), 100)
    assert workflow.get_state(cfg()).values == 100
    assert workflow.invoke(1, cfg()) == 102
    asyncio.run(workflow.aupdate_state(cfg(), entrypoint.final(value=0, save=1)))
    assert workflow.get_state(cfg()).values == 0
    assert workflow.invoke(1, cfg()) == 3


def test_with_config_binds_config_to_every_run(saver: BaseCheckpointSaver) -> None:
    workflow = adder(saver).with_config({"configurable": {"thread_id": "bound"}})
    assert workflow.invoke(1) == 2
    assert workflow.invoke(1) == 4  # same thread: previous carried over
    assert workflow.get_state({}).values == 4


def test_entrypoint_final_can_annotate_the_return_type(saver: BaseCheckpointSaver) -> None:
    @entrypoint(checkpointer=saver)
    def log(msg: str, *, previous: list[str] | None = None) -> entrypoint.final[int, list[str]]:
        seen = [*(previous or []), msg]
        return entrypoint.final(value=len(seen), save=seen)

    assert log.invoke("a", cfg()) == 1
    assert log.invoke("b", cfg()) == 2


def test_entrypoint_rejects_generators() -> None:
    with pytest.raises(NotImplementedError, match="cannot wrap the generator"):

        @entrypoint()
        def gen(x: int) -> Any:
            yield x


def test_task_results_stream_while_the_workflow_still_runs() -> None:
    release = threading.Event()

    @task
    def first() -> str:
        return "first"

    @task
    def second() -> str:
        assert release.wait(5)  # only set once "first" reached the consumer
        return "second"

    @entrypoint()
    def workflow(x: int) -> str:
        return first().result() + second().result()

    seen: list[Any] = []
    for chunk in workflow.stream(1):
        seen.append(chunk)
        release.set()
    assert seen == [{"first": "first"}, {"second": "second"}, {"workflow": "firstsecond"}]


def test_task_named_after_the_function_behind_a_partial() -> None:
    import functools

    def tag(label: str, text: str) -> str:
        return f"{text}|{label}"

    labelled = task(functools.partial(tag, "x"))

    @entrypoint()
    def workflow(text: str) -> str:
        return labelled(text).result()

    assert list(workflow.stream("a")) == [{"tag": "a|x"}, {"workflow": "a|x"}]


async def test_sync_workflow_streamed_async_keeps_task_order() -> None:
    @task
    def up(text: str) -> str:
        return text.upper()

    @entrypoint()
    def workflow(text: str) -> str:
        return up(text).result() + "!"

    assert [c async for c in workflow.astream("a")] == [{"up": "A"}, {"workflow": "A!"}]


def test_workflow_jsonschema_follows_its_annotations() -> None:
    @entrypoint()
    def count(words: list[str], *, previous: Any = None) -> entrypoint.final[int, list[str]]:
        return entrypoint.final(value=len(words), save=words)

    assert count.get_input_jsonschema() == {
        "type": "array",
        "items": {"type": "string"},
        "title": "LangGraphInput",
    }
    assert count.get_output_jsonschema() == {"type": "integer", "title": "LangGraphOutput"}


def test_second_call_of_an_interrupting_task_gets_its_own_answer(
    saver: BaseCheckpointSaver,
) -> None:
    @task
    def ask(question: str) -> str:
        return str(interrupt(question))

    @entrypoint(checkpointer=saver)
    def workflow(x: str) -> str:
        return ask("first?").result() + ask("second?").result()

    paused = workflow.invoke("go", cfg())
    assert [i.value for i in paused["__interrupt__"]] == ["first?"]
    paused = workflow.invoke(Command(resume="a"), cfg())
    assert [i.value for i in paused["__interrupt__"]] == ["second?"]
    assert workflow.invoke(Command(resume="b"), cfg()) == "ab"


def test_context_and_bare_final_jsonschemas() -> None:
    from typing import TypedDict

    class Context(TypedDict):
        model: str

    @entrypoint(context_schema=Context)
    def workflow(x: Any, *, previous: Any = None) -> entrypoint.final:  # type: ignore[type-arg]
        return entrypoint.final(value=x, save=x)

    assert workflow.get_output_jsonschema() == {"title": "LangGraphOutput"}
    assert workflow.get_context_jsonschema()["properties"] == {
        "model": {"title": "Model", "type": "string"}
    }


async def test_cancelling_an_async_task_call_cancels_its_body(saver: BaseCheckpointSaver) -> None:
    started, cancelled = [], []

    @task
    async def slow(n: int) -> int:
        started.append(n)
        try:
            await asyncio.sleep(5)
        except asyncio.CancelledError:
            cancelled.append(n)
            raise
        return n

    @task
    async def quick(n: int) -> int:
        return n * 10

    @entrypoint(checkpointer=saver)
    async def workflow(n: int) -> list[Any]:
        doomed, kept = slow(n), quick(n)
        await asyncio.sleep(0.05)
        assert doomed.cancel()
        await asyncio.sleep(0.01)  # the task sees its cancellation at its next await
        assert doomed.cancelled() and doomed.done()
        return [await kept, kept.cancel()]

    out = await workflow.ainvoke(2, {"configurable": {"thread_id": "c"}})
    assert out == [20, False]  # a finished call cannot be cancelled
    assert started == [2] and cancelled == [2]


async def test_a_workflow_streams_langchain_events(saver: BaseCheckpointSaver) -> None:
    @task
    async def double(n: int) -> int:
        return n * 2

    @entrypoint(checkpointer=saver)
    async def workflow(n: int) -> int:
        return await double(n) + 1

    events = [e async for e in workflow.astream_events(3, {"configurable": {"thread_id": "e"}})]
    assert [(e["event"], e["name"]) for e in events] == [
        ("on_chain_start", "LangGraph"),
        ("on_chain_start", "workflow"),
        ("on_chain_start", "double"),
        ("on_chain_stream", "double"),
        ("on_chain_end", "double"),
        ("on_chain_stream", "workflow"),
        ("on_chain_stream", "LangGraph"),  # the call's update, behind its events (as LangGraph)
        ("on_chain_end", "workflow"),
        ("on_chain_stream", "LangGraph"),
        ("on_chain_end", "LangGraph"),
    ]
    assert events[0]["data"] == {"input": 3}
    assert events[1]["data"] == {"input": 3}
    assert events[2]["data"] == {"input": {"n": 3}}
    assert events[4]["data"] == {"output": 6, "input": {"n": 3}}
    assert events[7]["data"] == {"output": 7, "input": 3}
    root = events[0]["run_id"]
    chunks = [e["data"]["chunk"] for e in events if e["run_id"] == root and "chunk" in e["data"]]
    assert chunks == [{"double": 6}, {"workflow": 7}]
    assert events[-1]["data"] == {"output": 7}
    assert [len(e["parent_ids"]) for e in events] == [0, 1, 2, 2, 2, 1, 0, 1, 0, 0]
    assert events[1]["tags"] == ["graph:step:0"] and events[2]["tags"] == ["seq:step:1"]


def test_a_workflows_history_and_streams_have_langgraphs_layout() -> None:
    """The entrypoint runs at step 0 after an input checkpoint that already holds the
    input; snapshots, history, checkpoints and tasks show the workflow's values (its
    return value), not the graph behind it."""
    from graphkit.checkpoint.memory import InMemorySaver

    @task
    def double(x: int) -> int:
        return 2 * x

    @entrypoint(checkpointer=InMemorySaver())
    def wf(n: int) -> int:
        return double(n).result() + 1

    config = {"configurable": {"thread_id": "layout"}}
    checkpoints = list(wf.stream(3, config, stream_mode="checkpoints"))
    assert [(c["metadata"]["source"], c["metadata"]["step"]) for c in checkpoints] == [
        ("input", -1),
        ("loop", 0),
    ]
    assert [(c["values"], c["next"]) for c in checkpoints] == [(None, ["wf"]), (7, [])]
    history = list(wf.get_state_history(config))
    assert [(h.values, h.next, h.metadata["step"]) for h in history] == [
        (7, (), 0),
        (None, ("wf",), -1),
    ]
    assert [(t.name, t.result) for t in history[1].tasks] == [("wf", 7)]
    tasks = list(wf.stream(4, {"configurable": {"thread_id": "t2"}}, stream_mode="tasks"))
    assert [{k: t.get(k) for k in ("name", "input", "triggers", "result")} for t in tasks] == [
        {"name": "wf", "input": 4, "triggers": ("__start__",), "result": None},
        {"name": "double", "input": ((4,), {}), "triggers": ("__pregel_push",), "result": None},
        {"name": "double", "input": None, "triggers": None, "result": {"__return__": 8}},
        {"name": "wf", "input": None, "triggers": None, "result": {"__end__": 9}},
    ]
    # a second run on the thread: its input checkpoint shows the last return value
    wf.invoke(5, config)
    assert [
        (h.values, h.metadata["source"], h.metadata["step"]) for h in wf.get_state_history(config)
    ][:2] == [
        (11, "loop", 2),
        (7, "input", 1),
    ]
    # replaying from the first input checkpoint runs the entrypoint again on its input
    assert wf.invoke(None, history[1].config) == 7


def test_task_calls_stream_their_start_and_result_in_tasks_and_debug() -> None:
    @task
    def double(x: int) -> int:
        return 2 * x

    @task
    def broken(x: int) -> int:
        raise KeyError(x)

    @entrypoint()
    def wf(n: int) -> int:
        value = double(n).result()
        with contextlib.suppress(KeyError):
            broken(n).result()
        return value

    events = list(wf.stream(3, stream_mode="tasks"))
    calls = [e for e in events if e["name"] != "wf"]
    assert [(e["name"], e.get("input"), e.get("triggers")) for e in calls[::2]] == [
        ("double", ((3,), {}), ("__pregel_push",)),
        ("broken", ((3,), {}), ("__pregel_push",)),
    ]
    assert calls[1]["result"] == {"__return__": 6} and calls[1]["error"] is None
    assert isinstance(calls[3]["error"], KeyError) and calls[3]["result"] == {}
    assert calls[0]["id"] == calls[1]["id"] != calls[2]["id"] == calls[3]["id"]
    debug = [e for e in wf.stream(3, stream_mode="debug") if e["payload"].get("name") == "double"]
    assert [(e["type"], e["step"]) for e in debug] == [("task", 0), ("task_result", 0)]


def test_on_resume_a_saved_call_streams_its_start_but_not_its_result_again() -> None:
    """As LangGraph: the resumed run first reports the loaded checkpoint (its task with
    the open interrupt), then each call again; only calls that really run end."""
    from graphkit.checkpoint.memory import InMemorySaver

    ran: list[int] = []

    @task
    def double(x: int) -> int:
        ran.append(x)
        return 2 * x

    @entrypoint(checkpointer=InMemorySaver())
    def wf(n: int) -> int:
        value = double(n).result()
        return value + interrupt("add?")

    config = {"configurable": {"thread_id": "r"}}
    wf.invoke(3, config)
    events = list(wf.stream(Command(resume=1), config, stream_mode="debug"))
    first = events[0]
    assert first["type"] == "checkpoint"
    (paused_task,) = first["payload"]["tasks"]
    assert [i["value"] for i in paused_task["interrupts"]] == ["add?"]
    doubles = [e["type"] for e in events if e["payload"].get("name") == "double"]
    assert doubles == ["task"] and ran == [3]
    assert events[-1]["type"] == "checkpoint" and events[-1]["payload"]["values"] == 7


def test_a_subgraphs_checkpoints_in_a_workflows_stream_keep_their_own_values() -> None:
    from graphkit.checkpoint.memory import InMemorySaver

    class S(TypedDict):
        x: int

    builder = StateGraph(S)
    builder.add_node("inc", lambda s: {"x": s["x"] + 1})
    builder.add_edge(START, "inc")
    inner = builder.compile()

    @entrypoint(checkpointer=InMemorySaver())
    def wf(n: int) -> int:
        return inner.invoke({"x": n})["x"]

    config = {"configurable": {"thread_id": "sub"}}
    chunks = list(wf.stream(1, config, stream_mode="checkpoints", subgraphs=True))
    assert [(bool(ns), c["values"], c["next"]) for ns, c in chunks] == [
        (False, None, ["wf"]),
        (True, {}, ["__start__"]),
        (True, {"x": 1}, ["inc"]),
        (True, {"x": 2}, []),
        (False, 2, []),
    ]


def test_a_task_still_running_when_the_entrypoint_pauses_is_saved_not_run_again() -> None:
    from graphkit.checkpoint.memory import InMemorySaver

    release = threading.Event()
    calls: list[str] = []

    @task
    def slow(x: str) -> str:
        release.wait(10)
        calls.append("slow")
        return x + "slow"

    @entrypoint(checkpointer=InMemorySaver())
    def flow(x: str) -> str:
        pending = slow(x)
        threading.Timer(0.05, release.set).start()  # finishes after the pause below
        answer = interrupt("answer?")
        return str(pending.result()) + answer

    cfg: Any = {"configurable": {"thread_id": "t"}}
    assert "__interrupt__" in flow.invoke("a", cfg)
    assert calls == ["slow"]  # the step waited for it, and kept its result
    assert flow.invoke(Command(resume="!"), cfg) == "aslow!"
    assert calls == ["slow"]


def test_an_async_task_still_running_when_the_entrypoint_pauses_is_saved() -> None:
    from graphkit.checkpoint.memory import InMemorySaver

    calls: list[str] = []

    @task
    async def slow(x: str) -> str:
        await asyncio.sleep(0.05)
        calls.append("slow")
        return x + "slow"

    @entrypoint(checkpointer=InMemorySaver())
    async def flow(x: str) -> str:
        pending = slow(x)
        answer = interrupt("answer?")
        return str(await pending) + answer

    async def main() -> None:
        cfg: Any = {"configurable": {"thread_id": "t"}}
        assert "__interrupt__" in await flow.ainvoke("a", cfg)
        assert calls == ["slow"]
        assert await flow.ainvoke(Command(resume="!"), cfg) == "aslow!"
        assert calls == ["slow"]

    asyncio.run(main())


def test_a_task_the_entrypoint_never_awaits_finishes_before_the_run_returns() -> None:
    done: list[int] = []

    @task
    def side_effect(n: int) -> int:
        threading.Event().wait(0.05)
        done.append(n)
        return n

    @entrypoint()
    def flow(n: int) -> int:
        side_effect(n)
        return n

    assert flow.invoke(3) == 3
    assert done == [3]


def test_interrupt_answers_used_by_nested_task_calls_are_replayed_exactly() -> None:
    from graphkit.checkpoint.memory import InMemorySaver

    runs: list[str] = []

    @task
    def inner() -> str:
        runs.append("inner")
        return str(interrupt("inner?"))

    @task
    def outer() -> str:
        runs.append("outer")
        return "outer:" + inner().result()

    @entrypoint(checkpointer=InMemorySaver())
    def flow(_: Any) -> str:
        first = outer().result()
        second = interrupt("flow?")
        return f"{first} {second}"

    cfg: Any = {"configurable": {"thread_id": "t"}}
    asked = flow.invoke("go", cfg)["__interrupt__"]
    assert [i.value for i in asked] == ["inner?"]
    asked = flow.invoke(Command(resume="A"), cfg)["__interrupt__"]
    assert [i.value for i in asked] == ["flow?"]  # not "inner?" again, not a third question
    assert flow.invoke(Command(resume="B"), cfg) == "outer:A B"
    assert runs.count("outer") == 2 and runs.count("inner") == 2  # ran until paused, then once


def test_an_entrypoint_is_drawn_as_langgraph_draws_it() -> None:
    @entrypoint()
    def essay(topic: str) -> str:
        return topic

    drawn = essay.get_graph().to_json()
    assert [n["id"] for n in drawn["nodes"]] == ["essay", START, END]
    assert drawn["edges"] == [
        {"source": START, "target": "essay"},
        {"source": "essay", "target": END, "conditional": True},
    ]
    assert "essay -.-> __end__;" in essay.get_graph().draw_mermaid()


def test_a_workflow_is_a_node_of_a_graph_and_pauses_and_resumes_there(
    saver: BaseCheckpointSaver,
) -> None:
    class S(TypedDict):
        x: int

    @entrypoint()
    def scaled(state: dict[str, int]) -> dict[str, int]:
        answer = interrupt(f"scale {state['x']}?")
        return {"x": state["x"] * answer}

    builder = StateGraph(S)
    builder.add_node("scale", scaled)
    builder.add_node(scaled)  # unnamed: LangGraph's name for an entrypoint's graph
    builder.add_edge(START, "scale")
    builder.add_edge("scale", "LangGraph")
    graph = builder.compile(checkpointer=saver)
    paused = graph.invoke({"x": 2}, cfg("node"))
    assert [i.value for i in paused["__interrupt__"]] == ["scale 2?"]
    assert graph.invoke(Command(resume=10), cfg("node"))["__interrupt__"][0].value == "scale 20?"
    assert graph.invoke(Command(resume=3), cfg("node")) == {"x": 60}


def test_an_async_workflow_is_a_node_of_an_async_graph() -> None:
    class S(TypedDict):
        x: int

    @entrypoint()
    async def plus(state: dict[str, int]) -> dict[str, int]:
        await asyncio.sleep(0)
        return {"x": state["x"] + 1}

    builder = StateGraph(S)
    builder.add_node("plus", plus)
    builder.add_edge(START, "plus")
    assert asyncio.run(builder.compile().ainvoke({"x": 1})) == {"x": 2}


def test_a_workflow_has_the_graph_api_of_langgraphs_entrypoint(
    saver: BaseCheckpointSaver,
) -> None:
    store = InMemoryStore()

    @entrypoint(checkpointer=saver, store=store)
    def counter(step: int, *, previous: int | None = None) -> int:
        return (previous or 0) + step

    assert counter.name == "LangGraph"
    assert (counter.get_name(), counter.get_name("input")) == ("LangGraph", "LangGraphInput")
    assert counter.checkpointer is saver and counter.store is store
    assert list(counter.nodes) == ["counter"] and counter.stream_mode == "updates"
    assert list(counter.get_subgraphs()) == []
    assert sorted(asyncio.run(counter.aget_graph()).nodes) == ["__end__", "__start__", "counter"]
    assert counter.copy({"config": {"tags": ["t"]}}).config == {"tags": ["t"]}
    assert counter.config == {}
    counter.invoke(1, cfg("bulk"))
    counter.bulk_update_state(cfg("bulk"), [[(5, None)], [(7, None)]])
    assert counter.get_state(cfg("bulk")).values == 7
    assert counter.invoke(1, cfg("bulk")) == 8  # ``previous`` is the last value recorded
    assert list(counter.stream(2, cfg("bulk"))) == [{"counter": 10}]
