"""Long conversations: how a step's cost grows with the message history.

Three shapes, each at 10, 1,000 and 10,000 messages of history, both frameworks:

- ``history_step_N``: one run of 50 steps that each append one message to a history of
  N (a loop node, no checkpointer): the reducer's cost per appended message.
- ``chat_turn_N``: one chat turn (one human message in, one AI message out) on a thread
  that already holds N messages, with each side's in-memory checkpointer: what a chat
  server pays per request as a conversation grows.
- ``get_state_N`` / ``history10_N``: ``get_state`` and ``get_state_history(limit=10)``
  of that thread.
- ``chat_turn_shared_N`` / ``get_state_shared_N``: the same with graphkit's saver made
  with ``copy_on_read=False`` (reads share the saver's decoded messages instead of
  copying them); LangGraph's side is its usual saver, which has no such option.
- ``lc_chat_turn_N``, ``lc_get_state_N`` (and ``_shared_``), ``lc_history10_N``: the same for code kept from
  LangGraph that speaks ``langchain_core`` messages (graphkit's side shows its readers
  LangChain's messages: ``graphkit._langchain_view``); LangGraph's side is the same as
  in ``chat_turn_N`` (LangChain's messages are its own).

A flat row across N is the aim; the ratio column says how far each side is from it.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from graphkit.bench.harness import Workload

SIZES = (10, 1_000, 10_000)
STEPS = 50


def _history(human: Callable[..., Any], n: int) -> list[Any]:
    return [human(content=f"message {i}", id=f"h{i}") for i in range(n)]


def _loop_graph(state_graph: Any, messages_state: Any, ai: Callable[..., Any], end: str) -> Any:
    counter = itertools.count()

    def speak(state: Any) -> dict[str, Any]:
        return {"messages": [ai(content="ok", id=f"a{next(counter)}")]}

    def again(state: Any) -> str:
        return (
            "speak"
            if state["messages"][-1].id != "stop" and len(state["messages"]) < LIMIT[0]
            else end
        )

    builder = state_graph(messages_state)
    builder.add_node("speak", speak)
    builder.set_entry_point("speak")
    builder.add_conditional_edges("speak", again, ["speak", end])
    return builder.compile()


LIMIT = [0]


def _history_step(n: int, *, lang: bool) -> Callable[[], object]:
    if lang:
        from langchain_core.messages import AIMessage, HumanMessage
        from langgraph.graph import END, MessagesState, StateGraph
    else:
        from graphkit import END, AIMessage, HumanMessage, MessagesState, StateGraph  # type: ignore[assignment]
    graph = _loop_graph(StateGraph, MessagesState, AIMessage, END)
    history = _history(HumanMessage, n)

    def run() -> object:
        LIMIT[0] = n + STEPS
        out = graph.invoke({"messages": history}, {"recursion_limit": STEPS + 10})
        assert len(out["messages"]) == n + STEPS
        return out

    return run


def _chat_graph(lang: bool, shared: bool = False, speaks: bool = False) -> tuple[Any, Any, Any]:
    """A one-node chat graph; ``speaks``: graphkit's, with LangChain's messages."""
    if lang:
        from langchain_core.messages import AIMessage, HumanMessage
        from langgraph.checkpoint.memory import InMemorySaver
        from langgraph.graph import END, START, MessagesState, StateGraph
    else:
        from graphkit import END, START, AIMessage, HumanMessage, MessagesState, StateGraph  # type: ignore[assignment]
        from graphkit.checkpoint.memory import InMemorySaver  # type: ignore[assignment]

        if speaks:
            from langchain_core.messages import AIMessage, HumanMessage
    counter = itertools.count()

    def reply(state: Any) -> dict[str, Any]:
        return {"messages": [AIMessage(content="ok", id=f"a{next(counter)}")]}

    builder = StateGraph(MessagesState)
    builder.add_node("reply", reply)
    builder.add_edge(START, "reply")
    builder.add_edge("reply", END)
    saver = InMemorySaver(copy_on_read=False) if shared else InMemorySaver()  # type: ignore[call-arg]
    return builder.compile(checkpointer=saver), HumanMessage, AIMessage


def _thread(
    n: int, lang: bool, shared: bool = False, speaks: bool = False
) -> tuple[Any, dict[str, Any], Any]:
    """A thread holding ``n`` messages, the last 10 of them from 5 turns (>= 10 checkpoints)."""
    graph, human, _ = _chat_graph(lang, shared, speaks)
    config = {"configurable": {"thread_id": "long"}}
    graph.invoke({"messages": _history(human, max(n - 10, 0))}, config)
    for turn in range(5):
        graph.invoke({"messages": [human(content="more", id=f"m{turn}")]}, config)
    return graph, config, human


def _chat_turn(
    n: int, *, lang: bool, shared: bool = False, speaks: bool = False
) -> Callable[[], object]:
    graph, config, human = _thread(n, lang, shared, speaks)
    turns = itertools.count()

    def run() -> object:
        return graph.invoke({"messages": [human(content="next", id=f"t{next(turns)}")]}, config)

    return run


def _get_state(
    n: int, *, lang: bool, shared: bool = False, speaks: bool = False
) -> Callable[[], object]:
    graph, config, _ = _thread(n, lang, shared, speaks)
    return lambda: graph.get_state(config)


def _speaking(build: Callable[..., Callable[[], object]]) -> Callable[..., Callable[[], object]]:
    """``build`` of graphkit's side speaking LangChain (LangGraph's side as it is)."""

    def speaking(n: int, *, lang: bool, shared: bool = False) -> Callable[[], object]:
        run = build(n, lang=lang, shared=shared, speaks=not lang)
        if not lang:  # the readers do get LangChain's messages
            from langchain_core.messages import BaseMessage

            shown: Any = run()
            if isinstance(shown, list):  # (a history: its newest snapshot)
                shown = shown[0]
            values = shown if isinstance(shown, dict) else shown.values  # (a StateSnapshot)
            assert isinstance(values["messages"][-1], BaseMessage)
        return run

    return speaking


def _history10(
    n: int, *, lang: bool, shared: bool = False, speaks: bool = False
) -> Callable[[], object]:
    graph, config, _ = _thread(n, lang, shared, speaks)

    def run() -> object:
        states = list(graph.get_state_history(config, limit=10))
        assert len(states) == 10
        return states

    return run


def _pair(
    name: str,
    description: str,
    build: Callable[..., Callable[[], object]],
    n: int,
    shared: bool = False,
    **kw: Any,
) -> Workload:
    return Workload(
        name=f"{name}_shared_{n}" if shared else f"{name}_{n}",
        description=description.format(n=n),
        graphkit=lambda: build(n, lang=False, **({"shared": True} if shared else {})),
        langgraph=lambda: build(n, lang=True),
        **kw,
    )


WORKLOADS: list[Workload] = []
for _n in SIZES:
    WORKLOADS += [
        _pair(
            "history_step",
            "50 steps each appending one message to a {n}-message history (no checkpointer)",
            _history_step,
            _n,
            units=STEPS,
            unit="step",
        ),
        _pair(
            "chat_turn",
            "one chat turn on a thread holding {n} messages (in-memory checkpointer)",
            _chat_turn,
            _n,
            unit="turn",
        ),
        _pair("get_state", "get_state of a {n}-message thread", _get_state, _n, unit="call"),
        _pair(
            "chat_turn",
            "one chat turn on a thread holding {n} messages (graphkit: copy_on_read=False)",
            _chat_turn,
            _n,
            shared=True,
            unit="turn",
        ),
        _pair(
            "get_state",
            "get_state of a {n}-message thread (graphkit: copy_on_read=False)",
            _get_state,
            _n,
            shared=True,
            unit="call",
        ),
        _pair(
            "lc_chat_turn",
            "one chat turn on a thread holding {n} messages, code speaking LangChain's messages",
            _speaking(_chat_turn),
            _n,
            unit="turn",
        ),
        _pair(
            "lc_get_state",
            "get_state of a {n}-message thread, code speaking LangChain's messages",
            _speaking(_get_state),
            _n,
            unit="call",
        ),
        _pair(
            "lc_chat_turn",
            "one chat turn on a thread holding {n} messages, code speaking LangChain's "
            "messages (graphkit: copy_on_read=False)",
            _speaking(_chat_turn),
            _n,
            shared=True,
            unit="turn",
        ),
        _pair(
            "lc_get_state",
            "get_state of a {n}-message thread, code speaking LangChain's messages "
            "(graphkit: copy_on_read=False)",
            _speaking(_get_state),
            _n,
            shared=True,
            unit="call",
        ),
        _pair(
            "history10",
            "get_state_history(limit=10) of a {n}-message thread",
            _history10,
            _n,
            unit="call",
        ),
        _pair(
            "lc_history10",
            "get_state_history(limit=10) of a {n}-message thread, code speaking LangChain's "
            "messages",
            _speaking(_history10),
            _n,
            unit="call",
        ),
    ]
