"""``add_messages`` called directly with LangChain's messages (a custom reducer that
wraps it, a unit test of one) answers as LangGraph's: LangChain's messages, the given
objects kept, ids given in place, replacements and removals by id.

Each example runs both functions on equal, separate inputs and compares what comes
back: classes, contents, ids (a generated id by where it was generated), and which
output is which given object."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis_budget import examples

from graphkit import messages as gm

lc = pytest.importorskip("langchain_core.messages", reason="langchain-core is not installed")
lg_message = pytest.importorskip("langgraph.graph.message", reason="LangGraph is not installed")

_IDS = st.sampled_from([None, "a", "b", "c", "d"])
_TEXT = st.sampled_from(["hi", "there", "", "x y"])


@st.composite
def _given(draw: st.DrawFn) -> Any:
    """One item a side may hold: a LangChain message (maybe without id), a remove, or
    the shorthand forms LangGraph coerces (a string, a (role, text) tuple, a dict)."""
    kind = draw(
        st.sampled_from(["human", "ai", "system", "tool", "remove", "str", "tuple", "dict"])
    )
    text, id_ = draw(_TEXT), draw(_IDS)
    if kind == "human":
        return lc.HumanMessage(text, id=id_)
    if kind == "ai":
        return lc.AIMessage(text, id=id_)
    if kind == "system":
        return lc.SystemMessage(text, id=id_)
    if kind == "tool":
        return lc.ToolMessage(text, tool_call_id="call", id=id_)
    if kind == "remove":
        return lc.RemoveMessage(id=draw(st.sampled_from(["a", "b", gm.REMOVE_ALL_MESSAGES])))
    if kind == "str":
        return text
    if kind == "tuple":
        return ("user", text)
    return {"role": "assistant", "content": text}


_SIDE = st.one_of(st.lists(_given(), max_size=5), _given())


def _outcome(add: Any, left: Any, right: Any) -> Any:
    """What ``add(left, right)`` gives, in a form both libraries' answers compare in."""
    given = [*(left if isinstance(left, list) else [left])]
    given += right if isinstance(right, list) else [right]
    before = [getattr(m, "id", "-") for m in given]
    try:
        merged = add(left, right)
    except ValueError as exc:  # graphkit's InvalidMessageError is a ValueError too
        return ("error", "doesn't exist" in str(exc))
    made: dict[str, int] = {}
    rows = []
    for message in merged:
        at = next((i for i, g in enumerate(given) if g is message), None)
        if message.id in {"a", "b", "c", "d"}:
            shown_id = message.id
        else:
            shown_id = f"new{made.setdefault(message.id, len(made))}"
        rows.append(
            (type(message).__module__, type(message).__name__, message.content, shown_id, at)
        )
    named = [
        getattr(m, "id", "-") is not None for m, b in zip(given, before, strict=True) if b is None
    ]
    return rows, named


@settings(max_examples=examples(400), deadline=None)
@given(left=_SIDE, right=_SIDE)
def test_a_direct_call_answers_as_langgraphs(left: Any, right: Any) -> None:
    assume(any(_is_langchain(x) for x in _items(left) + _items(right)))
    ours = _outcome(gm.add_messages, copy.deepcopy(left), copy.deepcopy(right))
    theirs = _outcome(lg_message.add_messages, copy.deepcopy(left), copy.deepcopy(right))
    assert ours == theirs


def _items(side: Any) -> list[Any]:
    return side if isinstance(side, list) else [side]


def _is_langchain(item: Any) -> bool:
    return isinstance(item, lc.BaseMessage)


def test_graphkit_messages_on_one_side_become_langchains() -> None:
    """A history graphkit holds and a LangChain message written to it (what a custom
    reducer wrapping ``add_messages`` gets from the engine) merge into LangChain's."""
    history = [gm.HumanMessage("hi", id="1"), gm.AIMessage("yo", id="2")]
    update = lc.AIMessage("better", id="2")
    merged = gm.add_messages(history, update)
    assert [type(m) for m in merged] == [lc.HumanMessage, lc.AIMessage]
    assert merged[1] is update
    assert [(m.id, m.content) for m in merged] == [("1", "hi"), ("2", "better")]
    assert merged == lg_message.add_messages(
        [lc.HumanMessage("hi", id="1"), lc.AIMessage("yo", id="2")], update
    )


def test_openai_format_of_a_direct_call_matches_langgraphs() -> None:
    content = [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]
    ours = gm.add_messages([], [lc.HumanMessage(content, id="m")], format="langchain-openai")
    theirs = lg_message.add_messages(
        [], [lc.HumanMessage(content, id="m")], format="langchain-openai"
    )
    assert [(type(m), m.content) for m in ours] == [(type(m), m.content) for m in theirs]
