"""What ``invoke``, ``get_state`` and ``get_state_history`` return is the caller's own,
on every saver: changing it (message fields, nested dicts and lists, the list itself)
changes no later read and no stored checkpoint. Savers keep a history read more than
once decoded and hand out copies; these tests read each thread several times so that
the copies, not only first decodes, are what the caller mutates.
"""

from __future__ import annotations

import itertools
from typing import Any

from graphkit import START, MessagesState, StateGraph, _message_index
from graphkit.messages import AIMessage, BaseMessage, HumanMessage, RemoveMessage, tool_call
from graphkit.stores.checkpoint import BaseCheckpointSaver


def _chat(saver: BaseCheckpointSaver) -> Any:
    turns = itertools.count()

    def reply(state: MessagesState) -> dict[str, Any]:
        n = next(turns)
        return {
            "messages": [
                AIMessage(
                    content=[{"type": "text", "text": f"reply {n}"}],
                    id=f"a{n}",
                    tool_calls=[tool_call("look", {"q": [n]}, f"c{n}")],
                    additional_kwargs={"trace": {"n": [n]}},
                )
            ]
        }

    builder = StateGraph(MessagesState)
    builder.add_node("reply", reply)
    builder.add_edge(START, "reply")
    return builder.compile(checkpointer=saver)


def _cfg(thread: str = "t") -> dict[str, Any]:
    return {"configurable": {"thread_id": thread}}


def _human(n: int) -> HumanMessage:
    return HumanMessage(content=f"turn {n}", id=f"h{n}", additional_kwargs={"tags": [n]})


def _pristine(messages: list[BaseMessage]) -> list[tuple[Any, ...]]:
    """Everything a caller could change, frozen for comparison (fields_set included)."""
    return [(type(m), repr(m.__dict__), sorted(m.model_fields_set)) for m in messages]


def _vandalize(messages: list[BaseMessage]) -> None:
    """Change every kind of thing a caller can reach in a returned history."""
    for m in messages:
        m.content = "changed" if isinstance(m.content, str) else [*m.content, {"x": 1}]
        if isinstance(m.content, list) and m.content and isinstance(m.content[0], dict):
            m.content[0]["text"] = "changed"
        m.name = "changed"  # also adds 'name' to the message's fields_set
        m.model_fields_set.add("id")
        m.additional_kwargs.setdefault("tags", []).append("changed")
        m.additional_kwargs.setdefault("trace", {"n": []})["n"].append("changed")
        m.response_metadata["changed"] = True  # an empty dict when read
        if isinstance(m, AIMessage):
            m.tool_calls[0]["args"]["q"].append("changed")
            m.tool_calls.append(tool_call("extra", {}, "x"))
            m.invalid_tool_calls.append({"name": "bad", "args": "", "id": "y", "error": None})
    messages.append(HumanMessage(content="extra", id="extra"))
    del messages[0]


def _run(graph: Any, turns: int) -> list[BaseMessage]:
    out: dict[str, Any] = {}
    for n in range(turns):
        out = graph.invoke({"messages": [_human(n)]}, _cfg())
    messages: list[BaseMessage] = out["messages"]
    return messages


def test_changing_what_invoke_returned_changes_no_later_read(saver: BaseCheckpointSaver) -> None:
    graph = _chat(saver)
    expected = _pristine(_run(graph, 3))
    for turn in range(3, 7):  # each turn reads the history again, from a saver's copies
        before = _pristine(graph.get_state(_cfg()).values["messages"])
        out = graph.invoke({"messages": [_human(turn)]}, _cfg())["messages"]
        assert before == expected
        assert _pristine(out[: len(expected)]) == expected
        expected = _pristine(out)
        _vandalize(out)
    assert _pristine(graph.get_state(_cfg()).values["messages"]) == expected


def test_changing_a_snapshot_changes_no_later_read_or_run(saver: BaseCheckpointSaver) -> None:
    graph = _chat(saver)
    expected = _pristine(_run(graph, 3))
    for _ in range(3):
        snapshot = graph.get_state(_cfg())
        assert _pristine(snapshot.values["messages"]) == expected
        _vandalize(snapshot.values["messages"])
        for old in graph.get_state_history(_cfg(), limit=3):
            _vandalize(old.values["messages"])
    latest = graph.get_state(_cfg()).values["messages"]
    assert _pristine(latest) == expected
    history = list(graph.get_state_history(_cfg(), limit=3))
    assert _pristine(history[0].values["messages"]) == expected
    assert _pristine(history[1].values["messages"]) == expected[:-1]
    out = graph.invoke({"messages": [_human(9)]}, _cfg())["messages"]
    assert _pristine(out[: len(expected)]) == expected


def test_add_messages_on_a_history_read_from_a_saver_replaces_and_removes_by_id(
    saver: BaseCheckpointSaver,
) -> None:
    """Savers hand out a read history with its id index: add_messages then appends,
    replaces and removes exactly as on a history it built itself."""
    graph = _chat(saver)
    _run(graph, 3)
    state = graph.get_state(_cfg()).values["messages"]
    state = graph.get_state(_cfg()).values["messages"]  # a copy of the kept decode
    assert _message_index.lookup(state) is not None
    out = graph.invoke({"messages": [HumanMessage(content="again", id="h1")]}, _cfg())
    ids = [m.id for m in out["messages"]]
    assert ids == ["h0", "a0", "h1", "a1", "h2", "a2", "a3"]
    assert out["messages"][2].content == "again"
    out = graph.invoke({"messages": [RemoveMessage(id="h0"), _human(7)]}, _cfg())
    assert [m.id for m in out["messages"]] == [*ids[1:], "h7", "a4"]
