"""Savers written for LangGraph (``langgraph-checkpoint-sqlite``'s sync and async
SQLite savers, ``langgraph-checkpoint-postgres``'s ``PostgresSaver`` on a real server,
LangGraph's ``InMemorySaver``) as graphkit checkpointers: threads pause,
resume, keep history and time-travel; what they store is graphkit's bytes; LangGraph's
own threads and damaged rows are refused with errors, never a crash."""

from __future__ import annotations

import asyncio
import sqlite3
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from graphkit import START, StateGraph
from graphkit.errors import InvalidCheckpointerError
from graphkit.graph.message import MessagesState
from graphkit.messages import AIMessage
from graphkit.stores.checkpoint import CheckpointCorruptError
from graphkit.stores.checkpoint.foreign import ForeignSaver, wrap_foreign_saver
from graphkit.types import Command, interrupt

sqlite_saver = pytest.importorskip("langgraph.checkpoint.sqlite")
sqlite_aio = pytest.importorskip("langgraph.checkpoint.sqlite.aio")
lg_memory = pytest.importorskip("langgraph.checkpoint.memory")


def thread(name: str = "t") -> dict[str, Any]:
    return {"configurable": {"thread_id": name}}


def asking_agent(checkpointer: Any) -> Any:
    """Asks once (an interrupt), then answers each turn with the answer it got."""

    def agent(state: MessagesState) -> dict[str, Any]:
        answer = interrupt("ok?") if len(state["messages"]) < 3 else "later"
        return {"messages": [AIMessage(f"reply {answer}")]}

    builder = StateGraph(MessagesState)
    builder.add_node("agent", agent)
    builder.add_edge(START, "agent")
    return builder.compile(checkpointer=checkpointer)


@pytest.fixture(params=["sqlite", "langgraph-memory", "postgres"])
def foreign(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    if request.param == "sqlite":
        connection = sqlite3.connect(tmp_path / "lg.db", check_same_thread=False)
        yield sqlite_saver.SqliteSaver(connection)
        connection.close()
    elif request.param == "postgres":  # langgraph-checkpoint-postgres on a real server
        lg_postgres = pytest.importorskip("langgraph.checkpoint.postgres")
        url = request.getfixturevalue("pg_url")
        with lg_postgres.PostgresSaver.from_conn_string(url) as saver:
            saver.setup()
            with saver.conn.cursor() as cursor:
                cursor.execute("TRUNCATE checkpoints, checkpoint_blobs, checkpoint_writes")
            yield saver
    else:
        yield lg_memory.InMemorySaver()


def test_a_thread_pauses_resumes_and_keeps_its_history(foreign: Any) -> None:
    graph = asking_agent(foreign)
    assert graph.checkpointer is foreign
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # (no "unregistered type" warning from its serializer)
        paused = graph.invoke({"messages": [("user", "hi")]}, thread())
        assert [i.value for i in paused["__interrupt__"]] == ["ok?"]
        done = graph.invoke(Command(resume="yes"), thread())
        assert [m.content for m in done["messages"]] == ["hi", "reply yes"]
        again = graph.invoke({"messages": [("user", "more")]}, thread())
    assert [m.content for m in again["messages"]][-1] == "reply later"
    history = list(graph.get_state_history(thread()))
    assert [h.metadata["step"] for h in history] == [4, 3, 2, 1, 0, -1]
    first_turn = next(h for h in history if h.metadata["step"] == 1 and not h.next)
    forked = graph.invoke({"messages": [("user", "fork")]}, first_turn.config)
    assert [m.content for m in forked["messages"]] == ["hi", "reply yes", "fork", "reply later"]
    assert list(graph.checkpointer.list(None, filter={"step": -1}))


def test_the_foreign_saver_stores_graphkits_bytes(foreign: Any) -> None:
    graph = asking_agent(foreign)
    graph.invoke({"messages": [("user", "hi")]}, thread())
    graph.invoke(Command(resume="yes"), thread())
    stored = foreign.get_tuple(thread())
    assert all(type(v) is bytes for v in stored.checkpoint["channel_values"].values())
    assert isinstance(stored.checkpoint["graphkit"], str)


async def test_an_async_only_saver_serves_async_runs(tmp_path: Path) -> None:
    async with sqlite_aio.AsyncSqliteSaver.from_conn_string(str(tmp_path / "a.db")) as saver:
        graph = asking_agent(saver)
        paused = await graph.ainvoke({"messages": [("user", "hi")]}, thread())
        assert [i.value for i in paused["__interrupt__"]] == ["ok?"]
        done = await graph.ainvoke(Command(resume="yes"), thread())
        assert [m.content for m in done["messages"]] == ["hi", "reply yes"]
        state = await graph.aget_state(thread())
        assert (len(state.values["messages"]), state.next) == (2, ())


def test_a_thread_langgraph_wrote_is_refused_with_a_clear_error(foreign: Any) -> None:
    lg_graph = pytest.importorskip("langgraph.graph")
    builder = lg_graph.StateGraph(lg_graph.MessagesState)
    builder.add_node("agent", lambda s: {"messages": [("ai", "from langgraph")]})
    builder.add_edge(lg_graph.START, "agent")
    builder.compile(checkpointer=foreign).invoke({"messages": [("user", "hi")]}, thread("old"))
    graph = asking_agent(foreign)
    with pytest.raises(InvalidCheckpointerError, match="'old' holds checkpoints that LangGraph"):
        graph.invoke({"messages": [("user", "hi")]}, thread("old"))
    with pytest.raises(InvalidCheckpointerError, match="Start a new thread"):
        graph.get_state(thread("old"))
    graph.invoke({"messages": [("user", "hi")]}, thread("new"))  # other threads still work


@pytest.mark.parametrize("damage", ["mark", "value", "writes"])
def test_a_damaged_row_is_a_corrupt_checkpoint_not_a_crash(damage: str) -> None:
    class Tampering(lg_memory.InMemorySaver):  # type: ignore[misc]
        def get_tuple(self, config: Any) -> Any:
            found = super().get_tuple(config)
            if found is None:
                return None
            checkpoint = dict(found.checkpoint)
            if damage == "mark":
                checkpoint["graphkit"] = "%%% not base64"
            elif damage == "value":
                checkpoint["channel_values"] = {"messages": b"\xc1\x01\xff\xff"}
            writes = [(t, c, b"junk") for t, c, _ in found.pending_writes] or [("t", "x", 5)]
            pending = writes if damage == "writes" else found.pending_writes
            return found._replace(checkpoint=checkpoint, pending_writes=pending)

    graph = asking_agent(Tampering())
    graph.invoke({"messages": [("user", "hi")]}, thread())
    with pytest.raises(CheckpointCorruptError, match="thread 't'.*cannot be read"):
        graph.get_state(thread())


def test_what_is_not_a_saver_is_refused_at_compile() -> None:
    class NoWrites:
        def get_tuple(self, config: Any) -> None:
            return None

    with pytest.raises(InvalidCheckpointerError, match="lacks the methods"):
        asking_agent(NoWrites())
    wrapped = wrap_foreign_saver(lg_memory.InMemorySaver())
    assert isinstance(wrapped, ForeignSaver)  # both sides: it has sync and async methods
    assert asyncio.run(wrapped.aget_tuple(thread())) is None
