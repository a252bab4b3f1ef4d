"""Human in the loop: interrupt(), Command(resume=...), interrupt_before/after."""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Annotated, Any, TypedDict

import pytest
import typing_extensions

from graphkit import START, Command, Interrupt, StateGraph, interrupt
from graphkit.checkpoint.memory import InMemorySaver
from graphkit.errors import (
    GraphBubbleUp,
    GraphInterrupt,
    InvalidUpdateError,
    NodeConfigError,
    NodeInterrupt,
    ParentCommand,
    UnknownInterruptError,
    is_invalid_resume,
)
from graphkit.stores.checkpoint import BaseCheckpointSaver
from graphkit.types import Durability


class State(TypedDict, total=False):
    draft: str
    log: Annotated[list[str], operator.add]


CFG = {"configurable": {"thread_id": "h"}}


def review_graph(calls: list[str], saver: BaseCheckpointSaver) -> Any:
    def write(state: State) -> dict[str, Any]:
        calls.append("write")
        return {"draft": "v1"}

    def review(state: State) -> dict[str, Any]:
        calls.append("review")
        verdict = interrupt({"question": "approve?", "draft": state["draft"]})
        note = interrupt("any note?")
        return {"log": [f"{verdict}:{note}"]}

    builder = StateGraph(State)
    builder.add_node(write)
    builder.add_node(review)
    builder.add_edge(START, "write")
    builder.add_edge("write", "review")
    return builder.compile(checkpointer=saver)


def test_interrupt_pauses_and_resume_returns_answers_in_order(saver: BaseCheckpointSaver) -> None:
    calls: list[str] = []
    graph = review_graph(calls, saver)
    out = graph.invoke({"log": []}, CFG)
    (pending,) = out["__interrupt__"]
    assert isinstance(pending, Interrupt)
    assert pending.value == {"question": "approve?", "draft": "v1"}
    snap = graph.get_state(CFG)
    assert snap.next == ("review",) and snap.interrupts == (pending,)
    second = graph.invoke(Command(resume="yes"), CFG)
    assert second["__interrupt__"][0].value == "any note?"
    final = graph.invoke(Command(resume="ship it"), CFG)
    assert final == {"draft": "v1", "log": ["yes:ship it"]}
    assert calls == ["write", "review", "review", "review"]  # write never re-runs
    assert graph.get_state(CFG).next == ()


def test_interrupt_updates_stream_chunk(saver: BaseCheckpointSaver) -> None:
    graph = review_graph([], saver)
    chunks = list(graph.stream({"log": []}, CFG))
    assert chunks[-1] == {
        "__interrupt__": (
            Interrupt(
                {"question": "approve?", "draft": "v1"}, id=chunks[-1]["__interrupt__"][0].id
            ),
        )
    }


def test_resume_when_not_paused_is_a_clear_error(saver: BaseCheckpointSaver) -> None:
    graph = review_graph([], saver)
    with pytest.raises(Exception, match="paused thread|not paused"):
        graph.invoke(Command(resume="x"), {"configurable": {"thread_id": "new"}})


def test_interrupt_without_checkpointer_stops_the_run_and_resuming_says_what_to_do() -> None:
    """As LangGraph: the run stops and reports the interrupt (a graph deployed where the
    server adds the checkpointer runs so locally); only resuming needs a checkpointer."""
    builder = StateGraph(State)
    builder.add_node("ask", lambda s: {"draft": interrupt("?")})
    builder.add_node("after", lambda s: {"log": ["after"]})
    builder.add_edge(START, "ask")
    builder.add_edge("ask", "after")
    graph = builder.compile()
    out = graph.invoke({"log": []})
    assert [i.value for i in out["__interrupt__"]] == ["?"]
    assert out["log"] == []
    assert [list(c) for c in graph.stream({"log": []})] == [["__interrupt__"]]
    with pytest.raises(RuntimeError, match=r"needs a checkpointer: compile with one"):
        graph.invoke(Command(resume="x"))


def test_parallel_interrupts_resume_by_id(saver: BaseCheckpointSaver) -> None:
    builder = StateGraph(State)
    builder.add_node("a", lambda s: {"log": [f"a={interrupt('A?')}"]})
    builder.add_node("b", lambda s: {"log": [f"b={interrupt('B?')}"]})
    builder.add_edge(START, "a")
    builder.add_edge(START, "b")
    graph = builder.compile(checkpointer=saver)
    out = graph.invoke({}, CFG)
    ids = {i.value: i.id for i in out["__interrupt__"]}
    assert set(ids) == {"A?", "B?"}
    with pytest.raises(UnknownInterruptError, match="multiple pending interrupts") as refused:
        graph.invoke(Command(resume="x"), CFG)
    assert refused.value.reason == "ambiguous"
    assert refused.value.pending_ids == tuple(sorted(ids.values()))
    with pytest.raises(
        UnknownInterruptError, match="already-consumed interrupt: 0:zzz#0"
    ) as unknown:
        graph.invoke(Command(resume={ids["A?"]: 1, "0:zzz#0": 2}), CFG)
    assert unknown.value.interrupt_ids == ("0:zzz#0",)
    final = graph.invoke(Command(resume={ids["A?"]: 1, ids["B?"]: 2}), CFG)
    assert final["log"] == ["a=1", "b=2"]


def test_interrupt_before_and_after(saver: BaseCheckpointSaver) -> None:
    calls: list[str] = []

    def node(name: str) -> Any:
        def run(state: State) -> dict[str, Any]:
            calls.append(name)
            return {"log": [name]}

        return run

    builder = StateGraph(State)
    for name in ("a", "b", "c"):
        builder.add_node(name, node(name))
    builder.add_edge(START, "a")
    builder.add_edge("a", "b")
    builder.add_edge("b", "c")
    graph = builder.compile(checkpointer=saver, interrupt_before=["b"], interrupt_after=["b"])
    assert graph.invoke({}, CFG)["log"] == ["a"]
    assert graph.get_state(CFG).next == ("b",)
    assert graph.invoke(None, CFG)["log"] == ["a", "b"]
    assert graph.get_state(CFG).next == ("c",)
    assert graph.invoke(None, CFG)["log"] == ["a", "b", "c"]
    assert calls == ["a", "b", "c"]


def test_update_state_while_paused_then_resume(saver: BaseCheckpointSaver) -> None:
    builder = StateGraph(State)
    builder.add_node("draft_it", lambda s: {"draft": "rough"})
    builder.add_node("publish", lambda s: {"log": [f"published {s['draft']}"]})
    builder.add_edge(START, "draft_it")
    builder.add_edge("draft_it", "publish")
    graph = builder.compile(checkpointer=saver, interrupt_before=["publish"])
    graph.invoke({}, CFG)
    graph.update_state(CFG, {"draft": "polished"})
    assert graph.get_state(CFG).next == ("publish",)
    assert graph.invoke(None, CFG)["log"] == ["published polished"]


def test_pause_shows_the_writes_of_the_tasks_of_the_step_that_finished(
    saver: BaseCheckpointSaver,
) -> None:
    builder = StateGraph(State)
    builder.add_node("done", lambda s: {"log": ["done"]})
    builder.add_node("ask", lambda s: {"log": [f"ask={interrupt('?')}"]})
    builder.add_node("after", lambda s: {"log": ["after"]})
    builder.add_edge(START, "done")
    builder.add_edge(START, "ask")
    builder.add_edge(["done", "ask"], "after")
    graph = builder.compile(checkpointer=saver)
    chunks = list(graph.stream({"log": []}, CFG, stream_mode=["updates", "values"]))
    # As in LangGraph: the finished task streams; the interrupt streams as an update and
    # as the step's values plus __interrupt__; a last values chunk has the finished
    # task's writes; get_state shows them too.
    assert [mode for mode, _ in chunks] == ["values", "updates", "updates", "values", "values"]
    assert chunks[1] == ("updates", {"done": {"log": ["done"]}})
    (pending,) = chunks[2][1]["__interrupt__"]
    assert pending.value == "?"
    assert chunks[3] == ("values", {"log": [], "__interrupt__": (pending,)})
    assert chunks[-1] == ("values", {"log": ["done"]})
    snap = graph.get_state(CFG)
    assert snap.values == {"log": ["done"]}
    assert snap.next == ("ask",)
    # as in LangGraph, get_state lists named nodes in the order the graph declares them
    assert [t.name for t in snap.tasks] == ["done", "ask"]
    assert graph.invoke(Command(resume="y"), CFG) == {"log": ["ask=y", "done", "after"]}


def test_each_paused_task_streams_its_own_interrupt_chunk(saver: BaseCheckpointSaver) -> None:
    builder = StateGraph(State)
    builder.add_node("a", lambda s: {"log": [f"a={interrupt('A?')}"]})
    builder.add_node("b", lambda s: {"log": [f"b={interrupt('B?')}"]})
    builder.add_edge(START, "a")
    builder.add_edge(START, "b")
    graph = builder.compile(checkpointer=saver)
    chunks = list(graph.stream({"log": []}, CFG))
    assert [[i.value for i in c["__interrupt__"]] for c in chunks] == [["A?"], ["B?"]]


def test_interrupt_inside_a_subgraph_pauses_the_parent_thread(saver: BaseCheckpointSaver) -> None:
    calls: list[str] = []

    def prepare(state: State) -> dict[str, Any]:
        calls.append("prepare")
        return {"draft": "inner draft"}

    def approve(state: State) -> dict[str, Any]:
        calls.append("approve")
        answer = interrupt(f"approve {state['draft']}?")
        return {"log": [f"approved={answer}"]}

    inner = StateGraph(State)
    inner.add_node(prepare)
    inner.add_node(approve)
    inner.add_edge(START, "prepare")
    inner.add_edge("prepare", "approve")
    outer = StateGraph(State)
    outer.add_node("sub", inner.compile())
    outer.add_node("after", lambda s: {"log": ["after"]})
    outer.add_edge(START, "sub")
    outer.add_edge("sub", "after")
    graph = outer.compile(checkpointer=saver)
    paused = graph.invoke({"log": []}, CFG)
    assert paused["__interrupt__"][0].value == "approve inner draft?"
    assert graph.get_state(CFG).next == ("sub",)
    final = graph.invoke(Command(resume="yes"), CFG)
    assert final["log"][-2:] == ["approved=yes", "after"]
    # the resume goes on inside the subgraph: "prepare", which finished, does not run again
    assert calls == ["prepare", "approve", "approve"]


def test_answered_interrupt_leaves_the_live_state_but_stays_in_the_record(
    saver: BaseCheckpointSaver, durability: Durability
) -> None:
    calls: list[str] = []

    def ask(name: str) -> Any:
        def node(state: State) -> dict[str, Any]:
            calls.append(name)
            return {"log": [f"{name}={interrupt(name.upper())}"]}

        return node

    graph = (
        StateGraph(State)
        .add_node("a", ask("a"))
        .add_node("b", ask("b"))
        .add_edge(START, "a")
        .add_edge(START, "b")
        .compile(checkpointer=saver)
    )
    config = {"configurable": {"thread_id": "record"}}
    out = graph.invoke({"log": []}, config, durability=durability)
    ids = {i.value: i.id for i in out["__interrupt__"]}
    graph.invoke(Command(resume={ids["A"]: "yes"}), config, durability=durability)
    live = graph.get_state(config)
    assert [i.value for i in live.interrupts] == ["B"]
    assert live.next == ("b",)
    record = graph.get_state(live.config)  # the same checkpoint, by id
    assert [i.value for i in record.interrupts] == ["A", "B"]
    final = graph.invoke(Command(resume={ids["B"]: "ok"}), config, durability=durability)
    assert sorted(final["log"]) == ["a=yes", "b=ok"]
    assert sorted(calls) == ["a", "a", "b", "b", "b"]  # "a" did not run again for B


def test_replaying_an_earlier_checkpoint_asks_again(
    saver: BaseCheckpointSaver, durability: Durability
) -> None:
    graph = (
        StateGraph(State)
        .add_node("review", lambda s: {"log": [f"{interrupt('first?')}/{interrupt('second?')}"]})
        .add_edge(START, "review")
        .compile(checkpointer=saver)
    )
    config = {"configurable": {"thread_id": "replay"}}
    graph.invoke({"log": []}, config, durability=durability)
    graph.invoke(Command(resume="1"), config, durability=durability)
    assert graph.invoke(Command(resume="2"), config, durability=durability)["log"] == ["1/2"]
    before = [s for s in graph.get_state_history(config) if s.next == ("review",)][-1]
    replayed = graph.invoke(None, before.config, durability=durability)
    assert [i.value for i in replayed["__interrupt__"]] == ["first?"]


def test_response_schema_validates_the_answer_and_a_bad_one_keeps_the_interrupt(
    saver: BaseCheckpointSaver,
) -> None:
    from pydantic import BaseModel, ValidationError

    from graphkit.errors import ResumeValidationError

    class Answer(BaseModel):
        count: int

    class S(TypedDict, total=False):
        got: int

    def ask(state: S) -> S:
        return {"got": interrupt("how many?", response_schema=Answer).count}

    graph = StateGraph(S).add_node("ask", ask).add_edge(START, "ask")
    graph = graph.compile(checkpointer=saver)
    config = {"configurable": {"thread_id": "rs"}}
    graph.invoke({}, config)
    with pytest.raises(ResumeValidationError) as info:
        graph.invoke(Command(resume={"count": "many"}), config)
    assert isinstance(info.value, ValidationError)
    assert is_invalid_resume(info.value)
    with pytest.raises(ValidationError) as other:
        Answer.model_validate({"count": "many"})
    assert not is_invalid_resume(other.value)  # only a resume that did not fit counts
    assert len(graph.get_state(config).interrupts) == 1
    assert graph.invoke(Command(resume={"count": "3"}), config) == {"got": 3}


@dataclass
class _Approval:
    approved: bool


class _ApprovalDict(typing_extensions.TypedDict):  # pydantic needs this one before 3.12
    approved: bool


_RAW = {"type": "object", "properties": {"approved": {"type": "boolean"}}}


@pytest.mark.parametrize(
    ("schema", "answer"),
    [
        (None, {"approved": "yes", "extra": 1}),
        (_RAW, {"approved": "yes", "extra": 1}),  # a JSON schema is shown, not enforced
        (_ApprovalDict, {"approved": True}),
        (_Approval, _Approval(approved=True)),
    ],
    ids=["none", "json_schema", "typeddict", "dataclass"],
)
def test_an_interrupt_shows_its_response_schema_as_json_schema(
    schema: Any, answer: Any, saver: BaseCheckpointSaver
) -> None:
    class S(TypedDict, total=False):
        got: Any

    def ask(state: S) -> S:
        return {"got": interrupt("approve?", response_schema=schema)}

    graph = StateGraph(S).add_node("ask", ask).add_edge(START, "ask")
    graph = graph.compile(checkpointer=saver)
    config = {"configurable": {"thread_id": "js"}}
    [shown] = graph.invoke({}, config)["__interrupt__"]
    if schema is None or isinstance(schema, dict):
        assert shown.response_schema == schema
    else:
        assert shown.response_schema["properties"]["approved"]["type"] == "boolean"
        assert shown.response_schema["required"] == ["approved"]
    assert graph.get_state(config).interrupts == (shown,)
    resume = {"approved": "yes", "extra": 1} if schema in (None, _RAW) else {"approved": True}
    assert graph.invoke(Command(resume=resume), config) == {"got": answer}


def test_a_response_schema_pydantic_cannot_describe_is_a_clear_error(
    saver: BaseCheckpointSaver,
) -> None:
    class S(TypedDict, total=False):
        got: Any

    def ask(state: S) -> S:
        return {"got": interrupt("?", response_schema=object())}

    graph = StateGraph(S).add_node("ask", ask).add_edge(START, "ask")
    with pytest.raises(NodeConfigError, match="response_schema=.*JSON schema"):
        graph.compile(checkpointer=saver).invoke({}, {"configurable": {"thread_id": "x"}})


def _two_questions(saver: BaseCheckpointSaver) -> Any:
    class S(TypedDict, total=False):
        log: Annotated[list[str], operator.add]

    return (
        StateGraph(S)
        .add_node("a", lambda s: {"log": [f"a:{interrupt('a?')}"]})
        .add_node("b", lambda s: {"log": [f"b:{interrupt('b?')}"]})
        .add_edge(START, "a")
        .add_edge(START, "b")
        .compile(checkpointer=saver)
    )


def test_an_empty_resume_map_is_refused_naming_the_open_ids(saver: BaseCheckpointSaver) -> None:
    graph = _two_questions(saver)
    config = {"configurable": {"thread_id": "empty"}}
    graph.invoke({"log": []}, config)
    open_ids = tuple(sorted(i.id for i in graph.get_state(config).interrupts))
    with pytest.raises(UnknownInterruptError, match="names no interrupt") as refused:
        graph.invoke(Command(resume={}), config)
    assert (refused.value.reason, refused.value.pending_ids) == ("empty_map", open_ids)
    assert len(graph.get_state(config).interrupts) == 2  # nothing was consumed


def test_a_task_that_fails_after_its_answer_asks_again(saver: BaseCheckpointSaver) -> None:
    failures = ["once"]

    class S(TypedDict, total=False):
        log: Annotated[list[str], operator.add]

    def ask(state: S) -> S:
        answer = interrupt("approve?")
        if failures:
            failures.pop()
            raise ValueError("failed after the answer")
        return {"log": [f"answered:{answer}"]}

    graph = StateGraph(S).add_node("ask", ask).add_edge(START, "ask").compile(checkpointer=saver)
    config = {"configurable": {"thread_id": "fail"}}
    graph.invoke({"log": []}, config)
    (card,) = graph.get_state(config).interrupts
    with pytest.raises(ValueError, match="failed after the answer"):
        graph.invoke(Command(resume={card.id: "first"}), config)
    assert graph.get_state(config).interrupts == (card,)  # still open
    assert graph.invoke(Command(resume={card.id: "second"}), config) == {"log": ["answered:second"]}


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (Command(goto=["b"]), "in|a|b|b"),  # b joins a's step, then runs again after a
        (Command(update={"log": ["edited"]}), "in|edited|a|b"),
    ],
    ids=["goto", "update"],
)
def test_a_command_goes_on_past_the_breakpoint_it_stopped_at(
    command: Any, expected: str, saver: BaseCheckpointSaver
) -> None:
    class S(TypedDict, total=False):
        log: Annotated[list[str], operator.add]

    graph = (
        StateGraph(S)
        .add_node("a", lambda s: {"log": ["a"]})
        .add_node("b", lambda s: {"log": ["b"]})
        .add_edge(START, "a")
        .add_edge("a", "b")
        .compile(checkpointer=saver, interrupt_before=["a"])
    )
    config = {"configurable": {"thread_id": "bp"}}
    assert graph.invoke({"log": ["in"]}, config) == {"log": ["in"]}
    assert "|".join(graph.invoke(command, config)["log"]) == expected


async def test_an_invalid_answer_lets_the_other_answered_tasks_finish_once(
    saver: BaseCheckpointSaver,
) -> None:
    import asyncio

    from pydantic import BaseModel, ValidationError

    class Decision(BaseModel):
        approved: bool

    sent: list[str] = []

    async def send(state: State) -> dict[str, Any]:
        interrupt("send?", response_schema=Decision)
        sent.append("email")
        await asyncio.sleep(0.05)  # still running when the other task fails
        return {"log": ["sent"]}

    async def check(state: State) -> dict[str, Any]:
        interrupt("check?", response_schema=Decision)
        return {"log": ["checked"]}

    builder = StateGraph(State)
    builder.add_node("send", send)
    builder.add_node("check", check)
    builder.add_edge(START, "send")
    builder.add_edge(START, "check")
    graph = builder.compile(checkpointer=saver)
    await graph.ainvoke({"log": []}, CFG)
    ids = {i.value: i.id for i in (await graph.aget_state(CFG)).interrupts}
    bad = {ids["send?"]: {"approved": True}, ids["check?"]: {"approved": "nope"}}
    with pytest.raises(ValidationError):
        await graph.ainvoke(Command(resume=bad), CFG)
    assert [i.value for i in (await graph.aget_state(CFG)).interrupts] == ["check?"]
    out = await graph.ainvoke(Command(resume={ids["check?"]: {"approved": True}}), CFG)
    assert sorted(out["log"]) == ["checked", "sent"]
    assert sent == ["email"]  # send finished once, and its writes were kept


async def test_aupdate_state_as_a_node_with_an_async_conditional_edge(
    saver: BaseCheckpointSaver,
) -> None:
    async def route(state: State) -> str:
        return "b" if state.get("draft") == "go" else "__end__"

    builder = StateGraph(State)
    builder.add_node("a", lambda s: {"log": ["a"]})
    builder.add_node("b", lambda s: {"log": ["b"]})
    builder.add_edge(START, "a")
    builder.add_conditional_edges("a", route, ["b", "__end__"])
    graph = builder.compile(checkpointer=saver, interrupt_after=["a"])
    await graph.ainvoke({"log": []}, CFG)
    await graph.aupdate_state(CFG, {"draft": "go"}, as_node="a")
    assert (await graph.aget_state(CFG)).next == ("b",)
    assert (await graph.ainvoke(None, CFG))["log"] == ["a", "b"]


async def test_sync_update_state_on_a_running_loop_refuses_an_async_edge_by_name(
    saver: BaseCheckpointSaver,
) -> None:
    async def route(state: State) -> str:
        return "__end__"

    builder = StateGraph(State)
    builder.add_node("a", lambda s: {"log": ["a"]})
    builder.add_edge(START, "a")
    builder.add_conditional_edges("a", route, ["__end__"])
    graph = builder.compile(checkpointer=saver, interrupt_after=["a"])
    await graph.ainvoke({"log": []}, CFG)
    with pytest.raises(InvalidUpdateError, match="'route' from 'a' is async.*aupdate_state"):
        graph.update_state(CFG, {"draft": "x"}, as_node="a")  # on this test's event loop


def test_naming_the_latest_checkpoint_replays_it_and_the_thread_alone_resumes_it(
    saver: BaseCheckpointSaver,
) -> None:
    """As LangGraph: ``invoke(None, config)`` goes on with the answers given so far, while
    a config naming the checkpoint (``get_state(...).config``) replays its step even when
    it is the latest: every question is asked again."""
    graph = _two_questions(saver)
    config = {"configurable": {"thread_id": "replay-latest"}}
    first = graph.invoke({"log": []}, config)
    a = next(i for i in first["__interrupt__"] if i.value == "a?")
    graph.invoke(Command(resume={a.id: "yes"}), config)
    resumed = graph.invoke(None, config)
    assert [i.value for i in resumed["__interrupt__"]] == ["b?"]
    replayed = graph.invoke(None, graph.get_state(config).config)
    assert sorted(i.value for i in replayed["__interrupt__"]) == ["a?", "b?"]


def test_replaying_a_subgraphs_latest_checkpoint_asks_its_questions_again(
    saver: BaseCheckpointSaver,
) -> None:
    inner = _two_questions(saver).builder.compile(checkpointer=True)

    class Outer(TypedDict, total=False):
        log: Annotated[list[str], operator.add]

    graph = (
        StateGraph(Outer).add_node("sub", inner).add_edge(START, "sub").compile(checkpointer=saver)
    )
    config = {"configurable": {"thread_id": "replay-sub"}}
    first = graph.invoke({"log": []}, config)
    a = next(i for i in first["__interrupt__"] if i.value == "a?")
    graph.invoke(Command(resume={a.id: "yes"}), config)
    head = graph.get_state(config, subgraphs=True).tasks[0].state.config
    replayed = graph.invoke(None, head)
    assert sorted(i.value for i in replayed["__interrupt__"]) == ["a?", "b?"]


def test_answering_with_a_subgraphs_head_config_resumes_it(saver: BaseCheckpointSaver) -> None:
    """``Command(resume=...)`` with the config of a paused subgraph's latest checkpoint
    goes on from there (an answer, not a replay): the answered question is not asked
    again and the run finishes."""
    asked: list[str] = []

    class S(TypedDict, total=False):
        log: Annotated[list[str], operator.add]

    def ask(state: S) -> S:
        asked.append("ask")
        return {"log": [f"got:{interrupt('q?')}"]}

    inner = StateGraph(S).add_node("ask", ask).add_edge(START, "ask").compile(checkpointer=True)
    graph = StateGraph(S).add_node("sub", inner).add_edge(START, "sub").compile(checkpointer=saver)
    config = {"configurable": {"thread_id": "answer-sub"}}
    graph.invoke({"log": []}, config)
    head = graph.get_state(config, subgraphs=True).tasks[0].state.config
    final = graph.invoke(Command(resume="yes"), head)
    assert "__interrupt__" not in final and final["log"] == ["got:yes"]
    assert asked == ["ask", "ask"]  # once asking, once answered


def test_a_node_interrupt_pauses_with_its_value_and_resuming_reruns_the_node() -> None:
    class Small(TypedDict):
        x: int

    calls: list[int] = []

    def check(state: Small) -> dict[str, Any]:
        calls.append(state["x"])
        if state["x"] < 5:
            raise NodeInterrupt(f"{state['x']} is too small")
        return {"x": state["x"] * 10}

    graph = (
        StateGraph(Small)
        .add_node(check)
        .add_edge(START, "check")
        .compile(checkpointer=InMemorySaver())
    )
    config = {"configurable": {"thread_id": "node-interrupt"}}
    with pytest.warns(DeprecationWarning, match="interrupt\\(value\\)"):
        paused = graph.invoke({"x": 1}, config)
    assert [i.value for i in paused["__interrupt__"]] == ["1 is too small"]
    assert graph.get_state(config).next == ("check",)
    graph.update_state(config, {"x": 7})
    assert graph.invoke(None, config) == {"x": 70}
    assert calls == [1, 7]


def test_graph_bubble_up_is_what_a_catch_all_node_re_raises() -> None:
    assert issubclass(GraphInterrupt, GraphBubbleUp) and issubclass(ParentCommand, GraphBubbleUp)
    assert issubclass(NodeInterrupt, GraphInterrupt)

    class Small(TypedDict):
        x: int

    def guarded(state: Small) -> dict[str, Any]:
        try:
            answer = interrupt("how many?")
        except GraphBubbleUp:
            raise  # the pause goes to the engine
        except Exception:  # anything else is swallowed
            return {"x": -1}
        return {"x": answer}

    graph = (
        StateGraph(Small)
        .add_node(guarded)
        .add_edge(START, "guarded")
        .compile(checkpointer=InMemorySaver())
    )
    config = {"configurable": {"thread_id": "bubble"}}
    paused = graph.invoke({"x": 0}, config)
    assert [i.value for i in paused["__interrupt__"]] == ["how many?"]
    assert graph.invoke(Command(resume=3), config) == {"x": 3}


class Text(TypedDict):
    text: str


def _asking_graph(**compile_kwargs: Any) -> Any:
    def ask(state: Text) -> dict[str, Any]:
        return {"text": state["text"] + interrupt("answer?")}

    def done(state: Text) -> dict[str, Any]:
        return {"text": state["text"] + "!"}

    builder = StateGraph(Text)
    builder.add_node("ask", ask)
    builder.add_node("done", done)
    builder.add_edge(START, "ask")
    builder.add_edge("ask", "done")
    return builder.compile(checkpointer=InMemorySaver(), **compile_kwargs)


def test_resume_after_update_state_answers_the_interrupt_asked_again() -> None:
    graph = _asking_graph()
    config = {"configurable": {"thread_id": "edit"}}
    graph.invoke({"text": "a"}, config)
    graph.update_state(config, {"text": "edited-"})  # the open interrupt is gone
    assert graph.invoke(Command(resume="z"), config) == {"text": "edited-z!"}


def test_resume_at_interrupt_before_answers_the_next_interrupt() -> None:
    graph = _asking_graph(interrupt_before=["ask"])
    config = {"configurable": {"thread_id": "before"}}
    graph.invoke({"text": "a"}, config)
    assert graph.get_state(config).next == ("ask",)
    assert graph.invoke(Command(resume="x"), config) == {"text": "ax!"}


def _asks_twice(**compile_options: Any) -> Any:
    """One node that asks two questions in a row and joins the answers."""

    def ask_twice(state: Text) -> dict[str, Any]:
        return {"text": interrupt("first?") + interrupt("second?")}

    builder = StateGraph(Text)
    builder.add_node("ask", ask_twice)
    builder.add_edge(START, "ask")
    return builder.compile(checkpointer=InMemorySaver(), **compile_options)


def test_an_answer_given_where_none_is_open_is_used_once() -> None:
    graph = _asks_twice(interrupt_before=["ask"])
    config = {"configurable": {"thread_id": "once"}}
    graph.invoke({"text": ""}, config)
    paused = graph.invoke(Command(resume="A"), config)
    assert [i.value for i in paused["__interrupt__"]] == ["second?"]
    assert graph.invoke(Command(resume="B"), config) == {"text": "AB"}


def test_resume_after_updating_a_paused_subgraph_answers_its_interrupt_asked_again() -> None:
    inner = StateGraph(Text)
    inner.add_node("draft", lambda state: {"text": state["text"] + "-drafted"})
    inner.add_node("ask", lambda state: {"text": state["text"] + "|" + interrupt("ok?")})
    inner.add_edge(START, "draft")
    inner.add_edge("draft", "ask")
    outer = StateGraph(Text)
    outer.add_node("sub", inner.compile())
    outer.add_edge(START, "sub")
    graph = outer.compile(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "sub-edit"}}
    graph.invoke({"text": "x"}, config)
    paused = graph.get_state(config, subgraphs=True).tasks[0].state
    graph.update_state(paused.config, {"text": "edited"})  # the subgraph asks again
    assert graph.invoke(Command(resume="yes"), config) == {"text": "edited|yes"}


def test_one_resume_value_answers_one_interrupt_of_a_node_that_asks_twice() -> None:
    graph = _asks_twice()
    config = {"configurable": {"thread_id": "twice"}}
    graph.invoke({"text": ""}, config)
    paused = graph.invoke(Command(resume="A"), config)
    assert [i.value for i in paused["__interrupt__"]] == ["second?"]
    assert graph.invoke(Command(resume="B"), config) == {"text": "AB"}
