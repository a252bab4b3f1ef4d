"""In-place appends to a run's history (``graphkit.engine.in_place``) are seen by nobody.

Each scenario runs twice, with in-place appends allowed and with them off, and must
give the same output and the same observations: what nodes, branches and stream
consumers kept (the state, the list, chunks, task inputs) never changes after they
kept it, and the caller's input list is never touched. A spy counts the appends made
in place, so that the scenarios where they must happen (nothing else holds the list)
prove the path is taken, and those where something holds it prove it is not.
"""

from __future__ import annotations

import asyncio
import itertools
import operator
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Annotated, Any

import pytest
from typing_extensions import TypedDict

from graphkit import END, START, MessagesState, StateGraph, _message_index
from graphkit.checkpoint.memory import InMemorySaver
from graphkit.engine import in_place
from graphkit.errors import GraphkitError
from graphkit.graph.message import push_message
from graphkit.messages import AIMessage, BaseMessage, HumanMessage, add_messages
from graphkit.types import Command, RetryPolicy, Send, interrupt

STEPS = 6


def _history(n: int = 5) -> list[BaseMessage]:
    return [HumanMessage(content=f"m{i}", id=f"h{i}") for i in range(n)]


def _frozen(messages: Any, ident: bool = True) -> list[Any]:
    """What a holder sees in a list: each message's id and content (and identity), in order."""
    return [(m.id, m.content, id(m)) if ident else (m.id, m.content) for m in messages]


class Kept:
    """What a scenario's holders kept, with what each looked like when kept."""

    def __init__(self) -> None:
        self.items: list[tuple[Any, Any]] = []

    def keep(self, value: Any) -> None:
        self.items.append((value, self.look(value, True)))

    @staticmethod
    def look(value: Any, ident: bool = False) -> Any:
        """``value`` frozen: message lists by id and content (and, with ``ident``,
        by identity: a holder sees the very objects it was handed)."""
        if isinstance(value, list) and all(isinstance(m, BaseMessage) for m in value):
            return _frozen(value, ident)
        if isinstance(value, dict):
            return {k: Kept.look(v, ident) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [Kept.look(v, ident) for v in value]
        if isinstance(value, BaseMessage):
            return (value.id, value.content)
        return repr(value) if ident else type(value).__name__

    def unchanged(self) -> bool:
        return all(self.look(value, True) == seen for value, seen in self.items)

    def seen(self) -> list[Any]:
        return [self.look(value) for value, _ in self.items]


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many merges appended in place (one entry per such merge: the length after)."""
    grown: list[int] = []
    real = _message_index.extend

    def extend(messages: list[Any], appended: list[Any], ids: list[Any]) -> bool:
        done = real(messages, appended, ids)
        if done:
            grown.append(len(messages))
        return done

    monkeypatch.setattr(_message_index, "extend", extend)
    return grown


def both(
    monkeypatch: pytest.MonkeyPatch, scenario: Callable[[Kept], Any]
) -> tuple[Any, Kept, Any, Kept]:
    """Run ``scenario`` with in-place appends off, then on; its output and keepings."""
    with monkeypatch.context() as off:
        off.setattr(in_place, "ENABLED", False)
        kept_off = Kept()
        out_off = scenario(kept_off)
    kept_on = Kept()
    out_on = scenario(kept_on)
    return Kept.look(out_off), kept_off, Kept.look(out_on), kept_on


def _same(monkeypatch: pytest.MonkeyPatch, scenario: Callable[[Kept], Any]) -> Kept:
    out_off, kept_off, out_on, kept_on = both(monkeypatch, scenario)
    assert out_on == out_off
    assert kept_on.seen() == kept_off.seen()
    assert kept_on.unchanged(), "something kept by a holder changed after it was kept"
    assert kept_off.unchanged()
    return kept_on


def _loop(
    speak: Callable[[MessagesState], Any],
    route: Callable[[MessagesState], Any] | None = None,
    checkpointer: Any = None,
) -> Any:
    """A node appending one message per step, looping STEPS times (a conditional edge)."""

    def again(state: MessagesState) -> str:
        return "speak" if sum(isinstance(m, AIMessage) for m in state["messages"]) < STEPS else END

    builder = StateGraph(MessagesState)
    builder.add_node("speak", speak)
    builder.add_edge(START, "speak")
    builder.add_conditional_edges("speak", route or again, ["speak", END])
    return builder.compile(checkpointer=checkpointer)


def _speaker(kept: Kept | None = None, what: str = "") -> Callable[[MessagesState], Any]:
    counter = itertools.count()

    def speak(state: MessagesState) -> dict[str, Any]:
        n = next(counter)
        if kept is not None and n == 2:
            kept.keep(state["messages"] if what == "list" else state)
        return {"messages": [AIMessage(content=f"a{n}", id=f"a{n}")]}

    return speak


# ------------------------------------------------------------------ the path is used
def test_a_loop_nothing_else_holds_appends_in_place(spy: list[int]) -> None:
    history = _history()
    before = _frozen(history)
    out = _loop(_speaker()).invoke({"messages": history})
    assert [m.id for m in out["messages"]] == [*(m.id for m in history)] + [
        f"a{i}" for i in range(STEPS)
    ]
    assert spy == list(range(6, 6 + STEPS))  # every step, on one list
    assert _frozen(history) == before  # the caller's list is its own


def test_a_chain_of_plain_edges_appends_in_place_at_the_barrier(spy: list[int]) -> None:
    builder = StateGraph(MessagesState)
    names = ["a", "b", "c"]
    for name in names:
        builder.add_node(name, lambda s, n=name: {"messages": [AIMessage(content=n, id=n)]})
    builder.add_edge(START, "a")
    builder.add_edge("a", "b")
    builder.add_edge("b", "c")
    out = builder.compile().invoke({"messages": _history(3)})
    assert [m.id for m in out["messages"]] == ["h0", "h1", "h2", "a", "b", "c"]
    assert spy == [4, 5, 6]


def test_the_proof_counts_every_holder() -> None:
    class Holder:
        __slots__ = ("input",)

        def __init__(self, input: Any) -> None:
            self.input = input

    def private(extra: str) -> bool:
        history: list[Any] = []
        _message_index.remember(history, _message_index.HistoryIndex([]))
        values = {"messages": history}
        tasks = [Holder({"messages": history}), Holder({"other": 1}), Holder(history)]
        if extra == "task list":
            tasks = tasks[:2]
        kept: Any = {
            "list": history,
            "dict": tasks[0].input,
            "values": None,
            "task list": None,
            "": None,
        }[extra]
        if extra == "values":
            values = {"messages": history, "again": history}
        del history
        with _message_index._lock:
            found = in_place._private(values, "messages", tasks) is not None
        del kept
        return found

    # a task whose input IS the list (a root state) is a holder the proof does not count
    assert not private("")
    assert private("task list")
    assert not private("list")
    assert not private("dict")
    assert not private("values")


# ------------------------------------------------------------------ nodes keep things
@pytest.mark.parametrize("what", ["list", "state"])
def test_what_a_node_kept_never_changes(
    monkeypatch: pytest.MonkeyPatch, spy: list[int], what: str
) -> None:
    kept = _same(
        monkeypatch, lambda kept: _loop(_speaker(kept, what)).invoke({"messages": _history()})
    )
    (seen,) = kept.seen()
    messages = seen if what == "list" else seen["messages"]
    assert len(messages) == 5 + 2  # the step's input, never grown after
    assert spy, "the steps before the node kept the list still grow it in place"


def test_what_a_branch_kept_never_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    def scenario(kept: Kept) -> Any:
        def route(state: MessagesState) -> str:
            kept.keep(state)
            kept.keep(state["messages"])
            ais = sum(isinstance(m, AIMessage) for m in state["messages"])
            return "speak" if ais < STEPS else END

        return _loop(_speaker(), route).invoke({"messages": _history()})

    kept = _same(monkeypatch, scenario)
    lengths = [len(seen) for seen in kept.seen()[1::2]]
    assert lengths == list(range(6, 6 + STEPS))


def test_a_node_that_mutates_its_state_list_behaves_as_before(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def scenario(kept: Kept) -> Any:
        counter = itertools.count()

        def speak(state: MessagesState) -> dict[str, Any]:
            n = next(counter)
            if n == 1:
                state["messages"].append(AIMessage(content="sneaky", id="sneaky"))
            if n == 3:
                state["messages"].pop(0)
            return {"messages": [AIMessage(content=f"a{n}", id=f"a{n}")]}

        return _loop(speak).invoke({"messages": _history()})

    _same(monkeypatch, scenario)


def test_the_callers_input_list_is_never_changed(monkeypatch: pytest.MonkeyPatch) -> None:
    def scenario(kept: Kept) -> Any:
        history = _history()
        kept.keep(history)
        graph = _loop(_speaker())
        graph.invoke({"messages": history})
        return graph.invoke({"messages": history})  # the same list again

    _same(monkeypatch, scenario)


def test_a_node_returning_its_state_list_writes_it_as_before(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def scenario(kept: Kept) -> Any:
        counter = itertools.count()

        def speak(state: MessagesState) -> dict[str, Any]:
            n = next(counter)
            return {"messages": [*state["messages"], AIMessage(content=f"a{n}", id=f"a{n}")]}

        return _loop(speak).invoke({"messages": _history()})

    _same(monkeypatch, scenario)


# ------------------------------------------------------------------ stream consumers
@pytest.mark.parametrize(
    "modes", [["values"], ["updates"], ["debug"], ["tasks", "values"], ["messages"]]
)
def test_chunks_a_consumer_keeps_never_change(
    monkeypatch: pytest.MonkeyPatch, modes: list[str]
) -> None:
    def scenario(kept: Kept) -> Any:
        graph = _loop(_speaker())
        for chunk in graph.stream({"messages": _history()}, stream_mode=modes):
            kept.keep(chunk)
        return None

    kept = _same(monkeypatch, scenario)
    assert kept.items


def test_updates_chunks_do_not_hold_the_history_values_chunks_do(spy: list[int]) -> None:
    graph = _loop(_speaker())
    updates = list(graph.stream({"messages": _history()}, stream_mode="updates"))
    assert len(updates) == STEPS
    assert spy == list(range(6, 6 + STEPS))  # an update holds the node's messages only
    spy.clear()
    lengths = [
        len(c["messages"]) for c in graph.stream({"messages": _history()}, stream_mode="values")
    ]
    assert lengths == list(range(5, 6 + STEPS))
    assert not spy  # the consumer holds the last chunk while the next step runs


# ------------------------------------------------------------------ steps of several tasks
class Fan(TypedDict):
    messages: Annotated[list[Any], add_messages]
    log: Annotated[list[str], operator.add]


def _fan(kept: Kept, keep: str) -> Any:
    def start(state: Fan) -> dict[str, Any]:
        return {"messages": [AIMessage(content="go", id="go")]}

    def worker(name: str) -> Callable[[Fan], dict[str, Any]]:
        def work(state: Fan) -> dict[str, Any]:
            if keep == name:
                kept.keep(state)
                kept.keep(state["messages"])
            return {"messages": [AIMessage(content=name, id=name)], "log": [name]}

        return work

    def join(state: Fan) -> dict[str, Any]:
        kept.keep(list(state["messages"]))
        return {"messages": [AIMessage(content="done", id="done")]}

    builder = StateGraph(Fan)
    builder.add_node("start", start)
    for name in ("x", "y", "z"):
        builder.add_node(name, worker(name))
        builder.add_edge("start", name)
        builder.add_edge(name, "join")
    builder.add_node("join", join)
    builder.add_edge(START, "start")
    return builder.compile().invoke({"messages": _history(3)})


@pytest.mark.parametrize("keep", ["", "x", "z"])
def test_parallel_branches_appending_in_one_step(
    monkeypatch: pytest.MonkeyPatch, spy: list[int], keep: str
) -> None:
    _same(monkeypatch, lambda kept: _fan(kept, keep))
    if not keep:  # the fan-out's step appends three messages at once, in task order
        assert 7 in spy


def test_sends_carrying_the_state_see_their_own_history(monkeypatch: pytest.MonkeyPatch) -> None:
    def scenario(kept: Kept) -> Any:
        def start(state: MessagesState) -> dict[str, Any]:
            return {"messages": [AIMessage(content="go", id="go")]}

        def fan(state: MessagesState) -> list[Send]:
            return [Send("work", state), Send("work", {"messages": state["messages"]})]

        counter = itertools.count()

        def work(state: MessagesState) -> dict[str, Any]:
            kept.keep(state)
            n = next(counter)
            return {"messages": [AIMessage(content=f"w{n}", id=f"w{n}")]}

        builder = StateGraph(MessagesState)
        builder.add_node("start", start)
        builder.add_node("work", work)
        builder.add_edge(START, "start")
        builder.add_conditional_edges("start", fan, ["work"])
        return builder.compile().invoke({"messages": _history(2)})

    _same(monkeypatch, scenario)


def test_command_goto_and_update_from_a_looping_node(monkeypatch: pytest.MonkeyPatch) -> None:
    def scenario(kept: Kept) -> Any:
        counter = itertools.count()

        def speak(state: MessagesState) -> Command[Any]:
            n = next(counter)
            kept.keep(state["messages"]) if n == 1 else None
            goto = "speak" if n < STEPS else END
            return Command(update={"messages": [AIMessage(content=f"a{n}", id=f"a{n}")]}, goto=goto)

        builder = StateGraph(MessagesState)
        builder.add_node("speak", speak, destinations=("speak", END))
        builder.add_edge(START, "speak")
        return builder.compile().invoke({"messages": _history()})

    _same(monkeypatch, scenario)


# ------------------------------------------------------------------ the step is taken back
def test_push_message_from_a_branch_keeps_the_order_of_writes(
    monkeypatch: pytest.MonkeyPatch, spy: list[int]
) -> None:
    def scenario(kept: Kept) -> Any:
        def route(state: MessagesState) -> str:
            kept.keep([m.id for m in state["messages"]])  # not the list: it may grow
            ais = sum(isinstance(m, AIMessage) for m in state["messages"])
            if ais == 2:
                push_message(AIMessage(content="pushed", id=f"p{ais}"))
            return "speak" if ais < STEPS else END

        return _loop(_speaker(), route).invoke({"messages": _history()})

    _same(monkeypatch, scenario)
    assert 7 in spy  # the step grew in place, then was taken back


def test_a_branch_that_fails_after_growing_the_history(
    monkeypatch: pytest.MonkeyPatch, spy: list[int]
) -> None:
    def scenario(kept: Kept) -> Any:
        def route(state: MessagesState) -> str:
            kept.keep([m.id for m in state["messages"]])  # not the list: it may grow
            if len(state["messages"]) == 8:
                raise ValueError("route failed")
            return "speak"

        with pytest.raises(ValueError, match="route failed"):
            _loop(_speaker(), route).invoke({"messages": _history()})
        return None

    _same(monkeypatch, scenario)
    assert 8 in spy  # the step grew in place, then was taken back


def test_an_interrupt_in_a_branch_without_a_checkpointer(
    monkeypatch: pytest.MonkeyPatch, spy: list[int]
) -> None:
    def scenario(kept: Kept) -> Any:
        def route(state: MessagesState) -> str:
            kept.keep([m.id for m in state["messages"]])  # not the list: it may grow
            if len(state["messages"]) == 8:
                interrupt("stop here")
            return "speak"

        try:
            return _loop(_speaker(), route).invoke({"messages": _history()})
        except GraphkitError as exc:
            return type(exc).__name__

    _same(monkeypatch, scenario)
    assert 8 in spy  # the step grew in place, then was taken back


# ------------------------------------------------------------------ retries, subgraphs, async
def test_a_retried_node_gets_the_same_input_each_attempt(
    monkeypatch: pytest.MonkeyPatch, spy: list[int]
) -> None:
    def scenario(kept: Kept) -> Any:
        attempts = itertools.count()
        counter = itertools.count()

        def speak(state: MessagesState) -> dict[str, Any]:
            kept.keep(state)
            if next(attempts) % 2 == 0:
                raise ConnectionError("flaky")
            n = next(counter)
            return {"messages": [AIMessage(content=f"a{n}", id=f"a{n}")]}

        def again(state: MessagesState) -> str:
            return "speak" if len(state["messages"]) < 5 + STEPS else END

        builder = StateGraph(MessagesState)
        builder.add_node("speak", speak, retry_policy=RetryPolicy(initial_interval=0, jitter=False))
        builder.add_edge(START, "speak")
        builder.add_conditional_edges("speak", again, ["speak", END])
        return builder.compile().invoke({"messages": _history()})

    _same(monkeypatch, scenario)
    assert not spy  # every attempt's state is kept: nothing may grow in place


def test_a_subgraph_without_a_checkpointer(monkeypatch: pytest.MonkeyPatch) -> None:
    def scenario(kept: Kept) -> Any:
        inner = _loop(_speaker(kept, "list"))

        def outer_node(state: MessagesState) -> dict[str, Any]:
            kept.keep(state["messages"])
            out = inner.invoke({"messages": state["messages"]})
            kept.keep(state["messages"])
            return {"messages": out["messages"][-1:]}

        builder = StateGraph(MessagesState)
        builder.add_node("outer", outer_node)
        builder.add_node("sub", inner)
        builder.add_edge(START, "outer")
        builder.add_edge("outer", "sub")
        return builder.compile().invoke({"messages": _history()})

    _same(monkeypatch, scenario)


def test_async_runs_grow_in_place_as_sync_ones(
    monkeypatch: pytest.MonkeyPatch, spy: list[int]
) -> None:
    def scenario(kept: Kept) -> Any:
        return asyncio.run(_loop(_speaker(kept, "state")).ainvoke({"messages": _history()}))

    _same(monkeypatch, scenario)
    assert spy


# ------------------------------------------------------------------ checkpointers
@pytest.mark.parametrize("which", ["memory", "lmdb"])
def test_each_checkpoint_keeps_its_own_history(tmp_path: Path, spy: list[int], which: str) -> None:
    from graphkit.checkpoint.lmdb import LMDBSaver

    saver = InMemorySaver() if which == "memory" else LMDBSaver(tmp_path / "db")
    graph = _loop(_speaker(), checkpointer=saver)
    config = {"configurable": {"thread_id": "t"}}
    graph.invoke({"messages": _history()}, config)
    graph.invoke({"messages": [HumanMessage(content="more", id="more")]}, config)
    lengths = [len(s.values["messages"]) for s in graph.get_state_history(config)]
    assert not spy  # a saver keeps what it stored: never in place
    assert lengths[0] == 5 + STEPS + 1 + 1  # one more turn of one step (STEPS reached)
    assert lengths == sorted(lengths, reverse=True)
    assert lengths[-1] == 0
    if which == "lmdb":
        saver.close()


def test_an_interrupt_and_resume_with_a_checkpointer(monkeypatch: pytest.MonkeyPatch) -> None:
    def scenario(kept: Kept) -> Any:
        def route(state: MessagesState) -> str:
            kept.keep(state["messages"])
            if len(state["messages"]) == 8:
                kept.keep(interrupt("go on?"))
            return "speak" if len(state["messages"]) < 5 + STEPS else END

        graph = _loop(_speaker(), route, checkpointer=InMemorySaver())
        config = {"configurable": {"thread_id": "t"}}
        first = graph.invoke({"messages": _history()}, config)
        second = graph.invoke(Command(resume="yes"), config)
        states = [len(s.values["messages"]) for s in graph.get_state_history(config)]
        return first, second, states

    _same(monkeypatch, scenario)


def test_a_subgraph_under_a_checkpointed_parent_never_grows_in_place(spy: list[int]) -> None:
    inner = _loop(_speaker())
    builder = StateGraph(MessagesState)
    builder.add_node("sub", inner)
    builder.add_edge(START, "sub")
    graph = builder.compile(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "t"}}
    out = graph.invoke({"messages": _history()}, config)
    assert len(out["messages"]) == 5 + STEPS
    assert not spy


def test_a_retried_node_that_keeps_nothing(monkeypatch: pytest.MonkeyPatch, spy: list[int]) -> None:
    def scenario(kept: Kept) -> Any:
        attempts = itertools.count()
        counter = itertools.count()

        def speak(state: MessagesState) -> dict[str, Any]:
            kept.keep([m.id for m in state["messages"]])
            if next(attempts) % 2 == 0:
                raise ConnectionError("flaky")
            n = next(counter)
            return {"messages": [AIMessage(content=f"a{n}", id=f"a{n}")]}

        builder = StateGraph(MessagesState)
        builder.add_node("speak", speak, retry_policy=RetryPolicy(initial_interval=0, jitter=False))
        builder.add_edge(START, "speak")
        builder.add_conditional_edges(
            "speak", lambda s: "speak" if len(s["messages"]) < 5 + STEPS else END, ["speak", END]
        )
        return builder.compile().invoke({"messages": _history()})

    kept = _same(monkeypatch, scenario)
    seen = kept.seen()
    assert seen[0::2] == seen[1::2]  # each retry saw what the failed attempt saw
    assert spy


def test_threads_running_one_graph_on_one_input(spy: list[int]) -> None:
    history = _history(50)
    before = _frozen(history)
    graph = _loop(_speaker())

    def run(_: int) -> list[Any]:
        out = graph.invoke({"messages": history})
        return [m.id for m in out["messages"]]

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(run, range(16)))
    assert all(len(r) == 50 + STEPS and r[:50] == [m.id for m in history] for r in results)
    assert _frozen(history) == before


def test_free_threaded_builds_never_append_in_place(monkeypatch: pytest.MonkeyPatch) -> None:
    assert in_place._gil()  # this build has the GIL (CI's)
    monkeypatch.setattr(in_place.sys, "_is_gil_enabled", lambda: False, raising=False)
    assert not in_place._gil()


def test_a_pydantic_state_merges_as_before(monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic import BaseModel

    class Chat(BaseModel):
        messages: Annotated[list[Any], add_messages] = []

    def scenario(kept: Kept) -> Any:
        counter = itertools.count()

        def speak(state: Chat) -> dict[str, Any]:
            kept.keep(state.messages) if next(counter) == 1 else None
            return {"messages": [AIMessage(content="a", id=f"a{len(state.messages)}")]}

        builder = StateGraph(Chat)
        builder.add_node("speak", speak)
        builder.add_edge(START, "speak")
        builder.add_conditional_edges(
            "speak", lambda s: "speak" if len(s.messages) < 5 + STEPS else END, ["speak", END]
        )
        return builder.compile().invoke({"messages": _history()})

    _same(monkeypatch, scenario)


def test_a_chat_loop_passing_the_output_back_merges_as_before(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without a checkpointer a caller passes the history back each turn, often the
    output it got with its next message appended, sometimes changed in place: the
    index kept for it is used only where it still holds."""

    def scenario(kept: Kept) -> Any:
        counter = itertools.count()

        def reply(state: MessagesState) -> dict[str, Any]:
            n = next(counter)
            return {
                "messages": [
                    AIMessage(content=f"r{n}", id=f"r{n}"),
                    HumanMessage(content="edit", id="h1") if n == 3 else AIMessage("x", id=f"x{n}"),
                ]
            }

        builder = StateGraph(MessagesState)
        builder.add_node("reply", reply)
        builder.add_edge(START, "reply")
        graph = builder.compile()
        state: Any = {"messages": _history()}
        for turn in range(8):
            messages = state["messages"]
            messages.append(HumanMessage(content=f"q{turn}", id=f"q{turn}"))
            if turn == 4:  # the caller replaces a message in place
                messages[2] = HumanMessage(content="swapped", id="s2")
            if turn == 5:  # and one with the id of a message it had
                messages[3] = HumanMessage(content="again", id="h0")
            if turn == 6:
                state = {"messages": list(messages)}  # a new list of the same messages
            state = graph.invoke(state)
            kept.keep([(m.id, m.content) for m in state["messages"]])
        return state

    kept = _same(monkeypatch, scenario)
    last = kept.items[-1][0]
    # a reply replaced h1; the caller's second "h0" replaced its first, in place
    assert len(last) == 5 + 8 * 3 - 2 == len({i for i, _ in last})
    assert last[:3] == [("h0", "again"), ("h1", "edit"), ("s2", "swapped")]


def test_outputs_the_caller_dropped_are_forgotten() -> None:
    import gc

    graph = _loop(_speaker())
    for n in range(30):
        history = [HumanMessage(content="m", id=f"n{n}-{i}") for i in range(5)]
        graph.invoke({"messages": history})
        del history
        gc.collect()
    add_messages([], [HumanMessage(content="x", id="x")])  # a sweep
    _message_index.remember([], _message_index.HistoryIndex([]))
    assert len(_message_index._given) <= 2
    held = [e for e in _message_index._known.values() if e.messages and e.messages[0].id[0] == "n"]
    assert len(held) <= 2 * _message_index._SWEEP
