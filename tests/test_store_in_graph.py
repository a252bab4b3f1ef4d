"""The memory store reaches nodes: a ``store`` parameter, ``get_store()``, shared by threads."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypedDict

import pytest

from graphkit import START, StateGraph, get_store
from graphkit.stores import InMemorySaver, InMemoryStore, LMDBSaver, LMDBStore
from graphkit.stores.embeddings import HashEmbeddings


class State(TypedDict, total=False):
    user: str
    text: str
    found: list[str]


def memory_graph(checkpointer: Any, store: Any) -> Any:
    def remember(state: State, store: Any) -> None:
        if state["text"].startswith("remember "):
            store.put(("memories", state["user"]), "fact", {"text": state["text"][9:]})

    def recall(state: State) -> dict[str, Any]:
        hits = get_store().search(("memories", state["user"]), query=state["text"], limit=3)
        return {"found": [h.value["text"] for h in hits]}

    builder = StateGraph(State)
    builder.add_node(remember)
    builder.add_node(recall)
    builder.add_edge(START, "remember")
    builder.add_edge("remember", "recall")
    return builder.compile(checkpointer=checkpointer, store=store)


def test_store_is_shared_across_threads_and_scoped_by_namespace() -> None:
    graph = memory_graph(InMemorySaver(), InMemoryStore())
    graph.invoke(
        {"user": "1", "text": "remember my name is Bob"}, {"configurable": {"thread_id": "a"}}
    )
    out = graph.invoke(
        {"user": "1", "text": "what is my name"}, {"configurable": {"thread_id": "b"}}
    )
    assert out["found"] == ["my name is Bob"]
    other = graph.invoke(
        {"user": "2", "text": "what is my name"}, {"configurable": {"thread_id": "c"}}
    )
    assert other["found"] == []


def test_lmdb_saver_and_store_share_one_directory(tmp_path: Path) -> None:
    index = {"dims": 64, "embed": HashEmbeddings(dims=64), "fields": ["text"]}
    with LMDBSaver(tmp_path / "db") as saver, LMDBStore(tmp_path / "db", index=index) as store:
        graph = memory_graph(saver, store)
        graph.invoke(
            {"user": "1", "text": "remember I like tea"}, {"configurable": {"thread_id": "a"}}
        )
    with LMDBSaver(tmp_path / "db") as saver, LMDBStore(tmp_path / "db", index=index) as store:
        graph = memory_graph(saver, store)
        out = graph.invoke(
            {"user": "1", "text": "what do I like to drink, tea?"},
            {"configurable": {"thread_id": "b"}},
        )
        assert out["found"] == ["I like tea"]
        assert graph.get_state({"configurable": {"thread_id": "a"}}).values["text"]


def test_get_store_without_a_store_says_how_to_add_one() -> None:
    builder = StateGraph(State)
    builder.add_node("n", lambda s: get_store())
    builder.add_edge(START, "n")
    with pytest.raises(RuntimeError, match=r"compile\(store="):
        builder.compile().invoke({})
