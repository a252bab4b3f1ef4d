"""`graphkit threads|history|state|store` against a postgresql:// URL."""

from __future__ import annotations

import json
from typing import TypedDict

import pytest
from pg_server import fresh_schema

from graphkit import END, START, StateGraph
from graphkit.checkpoint.postgres import PostgresSaver
from graphkit.cli import main
from graphkit.store.postgres import PostgresStore


class Counter(TypedDict):
    x: int


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def db(pg_url: str) -> str:
    """A schema with two threads ('a' run twice, 'b' once) and a small memory store."""
    url = fresh_schema(pg_url, "cli")
    builder = StateGraph(Counter)
    builder.add_node("inc", lambda s: {"x": s["x"] + 1})
    builder.add_edge(START, "inc")
    builder.add_edge("inc", END)
    with PostgresSaver.from_conn_string(url) as saver:
        saver.setup()
        graph = builder.compile(checkpointer=saver)
        graph.invoke({"x": 1}, {"configurable": {"thread_id": "a"}})
        graph.invoke({"x": 10}, {"configurable": {"thread_id": "a"}})
        graph.invoke({"x": 5}, {"configurable": {"thread_id": "b"}})
    with PostgresStore.from_conn_string(url, index={"dims": 64}) as store:
        store.setup()
        store.put(("memories", "1"), "name", {"data": "Username is Bob"})
        store.put(("memories", "1"), "food", {"data": "Likes pizza with olives"})
        store.put(("docs",), "readme", {"data": "graphkit draws graphs"})
    return url


def test_threads_history_state_on_a_url(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "threads", db, "--json")
    assert code == 0
    assert {r["thread_id"]: r["checkpoints"] for r in json.loads(out)} == {"a": 6, "b": 3}
    code, out, _ = run(capsys, "history", db, "a", "--json")
    rows = json.loads(out)
    assert [r["step"] for r in rows] == [4, 3, 2, 1, 0, -1]
    code, out, _ = run(capsys, "state", db, "a")
    assert code == 0 and "  x: 11" in out
    code, out, _ = run(capsys, "state", db, "a", "--checkpoint", rows[3]["checkpoint_id"], "--json")
    assert json.loads(out)["values"] == {"x": 2}


def test_store_on_a_url(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "store", db, "namespaces", "--json")
    assert code == 0
    assert [r["namespace"] for r in json.loads(out)] == [["docs"], ["memories", "1"]]
    code, out, _ = run(
        capsys, "store", db, "search", "memories/1", "--query", "what is my name", "--json"
    )
    assert code == 0
    assert json.loads(out)[0]["value"] == {"data": "Username is Bob"}


def test_a_database_without_tables_is_a_usage_error(
    pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = fresh_schema(pg_url, "cli_empty")
    code, _, err = run(capsys, "threads", empty)
    assert code == 2 and "holds no checkpoints" in err and ".setup()" in err
    code, _, err = run(capsys, "store", empty, "namespaces")
    assert code == 2 and "holds no memory store" in err


def test_an_unreachable_server_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(
        capsys, "threads", "postgresql://u:secret@/db?host=/nonexistent&connect_timeout=1"
    )
    assert code == 2 and "cannot reach" in err and "secret" not in err
