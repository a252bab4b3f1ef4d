"""``copy_on_read=False``: savers share decoded messages between reads instead of copying.

A chat server on long threads opts in to make a turn and a ``get_state`` cost O(new
messages) instead of O(history). These tests pin what that shares (the messages, never
the lists), that runs behave exactly as with copies as long as nothing is changed in
place, and that what is stored never changes whatever a caller does.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graphkit import END, START, AIMessage, HumanMessage, MessagesState, StateGraph
from graphkit.checkpoint.lmdb import LMDBSaver
from graphkit.checkpoint.memory import InMemorySaver
from graphkit.errors import SharedReadChangedError
from graphkit.messages import RemoveMessage
from graphkit.stores.checkpoint import BaseCheckpointSaver


def _chat(saver: BaseCheckpointSaver) -> Any:
    """One node that answers each human message, and rewrites ``fix me`` messages by id."""
    counter = itertools.count()

    def reply(state: MessagesState) -> dict[str, Any]:
        last = state["messages"][-1]
        updates: list[Any] = [AIMessage(content=f"re: {last.content}", id=f"a{next(counter)}")]
        for message in state["messages"]:
            if message.content == "fix me":
                updates.append(message.model_copy(update={"content": "fixed"}))
            if message.content == "drop me":
                updates.append(RemoveMessage(id=message.id))
        return {"messages": updates}

    builder = StateGraph(MessagesState)
    builder.add_node("reply", reply)
    builder.add_edge(START, "reply")
    builder.add_edge("reply", END)
    return builder.compile(checkpointer=saver)


def _turns(graph: Any, thread: str, texts: list[str]) -> list[list[str]]:
    config = {"configurable": {"thread_id": thread}}
    seen = []
    for i, text in enumerate(texts):
        out = graph.invoke({"messages": [HumanMessage(content=text, id=f"h{i}")]}, config)
        seen.append([m.content for m in out["messages"]])
    return seen


TEXTS = ["hi", "fix me", "drop me", "more", "again", "and again"]


@pytest.mark.parametrize("kind", ["memory", "lmdb"])
def test_a_shared_saver_runs_a_conversation_as_a_copying_one(kind: str, tmp_path: Path) -> None:
    def make(copy_on_read: bool) -> BaseCheckpointSaver:
        if kind == "memory":
            return InMemorySaver(copy_on_read=copy_on_read)
        return LMDBSaver(tmp_path / str(copy_on_read), sync=False, copy_on_read=copy_on_read)

    copying, sharing = make(True), make(False)
    assert _turns(_chat(sharing), "t", TEXTS) == _turns(_chat(copying), "t", TEXTS)
    config = {"configurable": {"thread_id": "t"}}
    shared_history = [s.values["messages"] for s in _chat(sharing).get_state_history(config)]
    copied_history = [s.values["messages"] for s in _chat(copying).get_state_history(config)]
    assert shared_history == copied_history
    assert "fixed" in [m.content for m in shared_history[0]]
    assert "drop me" not in [m.content for m in shared_history[0]]


def test_reads_share_messages_but_each_gets_its_own_list() -> None:
    """Shared once the thread's history is an append chain (the third turn on)."""
    graph = _chat(InMemorySaver(copy_on_read=False))
    config = {"configurable": {"thread_id": "t"}}
    texts = _turns(graph, "t", ["one", "two", "three"])[-1]
    first, second = (graph.get_state(config).values["messages"] for _ in range(2))
    assert [m.content for m in first] == [m.content for m in second] == texts
    assert first is not second
    assert all(a is b for a, b in zip(first, second, strict=True))
    first.append(HumanMessage(content="mine"))
    first.pop(0)
    assert [m.content for m in graph.get_state(config).values["messages"]] == texts


def test_a_copying_saver_hands_out_fresh_messages() -> None:
    graph = _chat(InMemorySaver())
    config = {"configurable": {"thread_id": "t"}}
    _turns(graph, "t", ["one", "two", "three"])
    first, second, third = (graph.get_state(config).values["messages"] for _ in range(3))
    assert first == second == third
    assert not any(a is b for a, b in zip(second, third, strict=True))


def test_a_message_changed_in_place_is_never_stored(tmp_path: Path) -> None:
    """The contract's edge: a change in place is seen by reads while the saver keeps the
    message, but never reaches disk; reopening reads what was stored."""
    path = tmp_path / "db"
    config = {"configurable": {"thread_id": "t"}}
    with LMDBSaver(path, sync=False, copy_on_read=False) as saver:
        graph = _chat(saver)
        _turns(graph, "t", ["one", "two", "three"])
        for _ in range(2):  # kept decoded from the second read on
            got = graph.get_state(config).values["messages"]
        got[0].content = "changed in place"
        assert graph.get_state(config).values["messages"][0].content == "changed in place"
    with LMDBSaver(path, copy_on_read=False) as reopened:
        stored = _chat(reopened).get_state(config).values["messages"]
    assert [m.content for m in stored] == ["one", "re: one", "two", "re: two", "three", "re: three"]


def test_the_check_names_a_message_changed_in_place(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRAPHKIT_CHECK_SHARED_READS", "1")
    graph = _chat(InMemorySaver(copy_on_read=False))
    config = {"configurable": {"thread_id": "talk"}}
    _turns(graph, "talk", ["one", "two", "three"])
    got = graph.get_state(config).values["messages"]
    assert graph.get_state(config).values["messages"] == got  # unchanged: reads pass
    got[2].additional_kwargs["note"] = "edited"
    with pytest.raises(
        SharedReadChangedError,
        match=r"element 2 of 'messages' in thread 'talk'.*'h1'.*copy_on_read=True",
    ):
        graph.get_state(config)
    assert graph.get_state(config).values["messages"][2].additional_kwargs == {}  # re-read
    got = graph.get_state(config).values["messages"]
    got[0].content = "edited"
    with pytest.raises(SharedReadChangedError, match="element 0"):  # a run reads the same way
        graph.invoke({"messages": [HumanMessage(content="four", id="h3")]}, config)
    out = graph.invoke({"messages": [HumanMessage(content="four", id="h3")]}, config)
    assert out["messages"][0].content == "one"


def test_without_the_check_a_change_in_place_is_not_looked_for() -> None:
    graph = _chat(InMemorySaver(copy_on_read=False))
    config = {"configurable": {"thread_id": "talk"}}
    _turns(graph, "talk", ["one", "two", "three"])
    got = graph.get_state(config).values["messages"]
    got[2].additional_kwargs["note"] = "edited"
    assert graph.get_state(config).values["messages"][2].additional_kwargs == {"note": "edited"}


_op = st.one_of(
    st.tuples(st.just("say"), st.integers(0, 3)),
    st.tuples(st.just("edit"), st.integers(0, 50)),
    st.tuples(st.just("remove"), st.integers(0, 50)),
    st.tuples(st.just("fork"), st.integers(0, 50)),
    st.tuples(st.just("read"), st.integers(0, 10)),
)


def _apply(graph: Any, op: tuple[str, int], serial: int) -> object:
    """One caller action on thread ``t``; what the caller sees of it."""
    kind, n = op
    config: dict[str, Any] = {"configurable": {"thread_id": "t"}}
    state = graph.get_state(config).values.get("messages", [])
    if kind == "read":
        snapshots = list(graph.get_state_history(config, limit=n + 1))
        return [[m.content for m in s.values.get("messages", [])] for s in snapshots]
    if kind == "fork":
        history = list(graph.get_state_history(config))
        if history:
            config = history[n % len(history)].config
    if kind in ("edit", "remove") and state:
        target = state[n % len(state)]
        if kind == "edit":
            new: Any = target.model_copy(update={"content": f"edit {serial}"})
        else:
            new = RemoveMessage(id=target.id)
    else:
        new = HumanMessage(content=f"say {serial}", id=f"s{serial}")
    out = graph.invoke({"messages": [new]}, config)
    return [(type(m).__name__, m.id, m.content) for m in out["messages"]]


@settings(max_examples=40, deadline=None)
@given(st.lists(_op, min_size=1, max_size=14))
def test_shared_and_copied_reads_see_the_same_conversations(ops: list[tuple[str, int]]) -> None:
    """Whatever callers do short of changing messages in place (turns, edits and removals
    by id, forks from earlier checkpoints, history reads), a sharing saver answers as a
    copying one."""
    copying = _chat(InMemorySaver(snapshot_every=3))
    sharing = _chat(InMemorySaver(snapshot_every=3, copy_on_read=False))
    for serial, op in enumerate(ops):
        assert _apply(sharing, op, serial) == _apply(copying, op, serial)
