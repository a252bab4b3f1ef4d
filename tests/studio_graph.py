"""The graph the studio tests serve: a conditional branch, a subgraph, a loop back,
an interrupt, and a memory store with a vector index. Build it fresh per test."""

from __future__ import annotations

import operator
import threading
from typing import Annotated, Any, TypedDict

from graphkit import END, START, StateGraph, interrupt
from graphkit.checkpoint.memory import InMemorySaver
from graphkit.models.fake import FakeChatModel
from graphkit.store.memory import InMemoryStore
from graphkit.stores.embeddings import HashEmbeddings


class State(TypedDict, total=False):
    topic: str
    notes: Annotated[list[str], operator.add]
    rounds: int
    verdict: str


class Inner(TypedDict, total=False):
    topic: str
    notes: Annotated[list[str], operator.add]


GATE = threading.Event()
"""A run on topic "wait" holds in research:search until this is set (to see it live)."""


def search(state: Inner) -> dict[str, Any]:
    if state.get("topic") == "wait":
        GATE.wait(10)
    return {"notes": [f"found {state.get('topic', '?')}"]}


MODEL = FakeChatModel(responses=["the summary"], cycle=True)
"""Its tokens stream to the studio's live event log."""


def summarize(state: Inner) -> dict[str, Any]:
    MODEL.invoke(state.get("topic", ""))
    return {"notes": ["summary"]}


def plan(state: State) -> dict[str, Any]:
    if state.get("topic") == "boom":
        raise RuntimeError("the planner exploded")
    return {"rounds": state.get("rounds", 0) + 1}


def route(state: State) -> str:
    return "research" if state.get("rounds", 0) < 2 else "review"


def review(state: State) -> dict[str, Any]:
    verdict = interrupt({"question": "publish?", "notes": state.get("notes", [])})
    return {"verdict": str(verdict)}


def build(checkpointer: Any = None, store: Any = None) -> Any:
    """The compiled graph (a fresh in-memory saver and store unless given)."""
    inner = StateGraph(Inner)
    inner.add_node(search).add_node(summarize)
    inner.add_edge(START, "search").add_edge("search", "summarize").add_edge("summarize", END)
    builder = StateGraph(State)
    builder.add_node(plan)
    builder.add_node("research", inner.compile())
    builder.add_node(review)
    builder.add_edge(START, "plan")
    builder.add_conditional_edges("plan", route, {"research": "research", "review": "review"})
    builder.add_edge("research", "plan")
    builder.add_edge("review", END)
    if store is None:
        store = InMemoryStore(index={"dims": 64, "embed": HashEmbeddings(64)})
        store.put(("memories", "alice"), "food", {"text": "Alice likes pizza"})
        store.put(("memories", "alice"), "pet", {"text": "Alice has a cat named Tom"})
        store.put(("memories", "bob"), "food", {"text": "Bob is vegetarian"})
    return builder.compile(checkpointer=checkpointer or InMemorySaver(), store=store)


graph = build()
