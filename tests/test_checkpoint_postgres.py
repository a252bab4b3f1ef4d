"""PostgresSaver beyond the shared suite: workers racing on one thread, dropped
connections, a restarted server, schema migrations, and the public module paths."""

from __future__ import annotations

import asyncio
import itertools
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from checkpoint_conformance import Conversation, cfg, ckpt
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from graphkit.checkpoint.postgres import (
    CheckpointConflictError,
    PostgresConnectionError,
    PostgresSaver,
)
from graphkit.errors import GraphkitError, InvalidArgumentError
from graphkit.stores._postgres import migrate
from graphkit.stores.checkpoint.postgres import MIGRATIONS, name_in, name_out

HERE = Path(__file__).parent


@pytest.fixture
def url(pg_clean: str) -> str:
    return pg_clean


@pytest.fixture
def two(url: str) -> Iterator[tuple[PostgresSaver, PostgresSaver]]:
    with PostgresSaver.from_conn_string(url) as a, PostgresSaver.from_conn_string(url) as b:
        yield a, b


def _chain_has_no_fork(url: str, thread: str) -> None:
    with psycopg.connect(url) as conn:
        forks = conn.execute(
            "SELECT parent_id, count(*) FROM graphkit_checkpoints WHERE thread_id = %s "
            "AND checkpoint_ns = '' GROUP BY parent_id HAVING count(*) > 1",
            (thread,),
        ).fetchall()
    assert forks == []


# ------------------------------------------------------------- two workers
def test_second_worker_on_the_same_parent_gets_a_conflict_naming_the_thread(
    two: tuple[PostgresSaver, PostgresSaver], url: str
) -> None:
    a, b = two
    base = a.put(cfg("chat"), ckpt({"n": 0}, {"n": 1}), {"step": 0}, {"n": 1})
    assert a.get_tuple(cfg("chat")) is not None  # both workers load the thread's head
    assert b.get_tuple(cfg("chat")) is not None
    won = a.put(base, ckpt({"n": 1}, {"n": 2}), {"step": 1}, {"n": 2})
    with pytest.raises(CheckpointConflictError, match="thread 'chat'.*another worker") as err:
        b.put(base, ckpt({"n": -1}, {"n": 3}), {"step": 1}, {"n": 3})
    assert isinstance(err.value, GraphkitError)
    assert won["configurable"]["checkpoint_id"] in str(err.value)
    # Nothing lost, nothing forked: the winner's step is the head; the loser stored nothing.
    assert [t.metadata["step"] for t in a.list(cfg("chat"))] == [1, 0]
    _chain_has_no_fork(url, "chat")
    # The loser reloads and continues from the new head.
    head = b.get_tuple(cfg("chat"))
    assert head is not None and head.checkpoint["channel_values"] == {"n": 1}
    b.put(head.config, ckpt({"n": 2}, {"n": 4}), {"step": 2}, {"n": 4})
    assert [t.metadata["step"] for t in a.list(cfg("chat"))] == [2, 1, 0]


def test_two_workers_starting_a_new_thread_conflict(
    two: tuple[PostgresSaver, PostgresSaver],
) -> None:
    a, b = two
    assert a.get_tuple(cfg("new")) is None and b.get_tuple(cfg("new")) is None
    a.put(cfg("new"), ckpt({"n": 0}, {"n": 1}), {}, {"n": 1})
    with pytest.raises(CheckpointConflictError, match="'new'.*was empty"):
        b.put(cfg("new"), ckpt({"n": 9}, {"n": 1}), {}, {"n": 1})
    assert len(list(a.list(cfg("new")))) == 1


def test_a_conflict_inside_a_batch_stores_none_of_the_batch(
    two: tuple[PostgresSaver, PostgresSaver],
) -> None:
    """A ``put_batch`` (durability='async') sends its checkpoints in one pipeline: a
    conflict on the first rolls back the whole batch, the ones built on it included."""
    a, b = two
    base = a.put(cfg("pb"), ckpt({"n": 0}, {"n": 1}), {}, {"n": 1})
    a.get_tuple(cfg("pb"))
    b.get_tuple(cfg("pb"))
    won = a.put(base, ckpt({"n": 1}, {"n": 2}), {}, {"n": 2})
    first = ckpt({"n": -1}, {"n": 3})
    after_first = cfg("pb", checkpoint_id=first["id"])
    batch = [
        (base, first, {"step": 1}, {"n": 3}),
        (after_first, ckpt({"n": -2}, {"n": 4}), {"step": 2}, {"n": 4}),
    ]
    with pytest.raises(CheckpointConflictError, match="'pb'"):
        b.put_batch(batch)
    ids = [t.config["configurable"]["checkpoint_id"] for t in a.list(cfg("pb"))]
    assert ids == [won["configurable"]["checkpoint_id"], base["configurable"]["checkpoint_id"]]


def test_a_batch_of_steps_is_stored_whole_and_in_order(url: str) -> None:
    with PostgresSaver.from_conn_string(url) as saver:
        talk = Conversation(saver, "b")
        talk.step("m0")
        saver.get_tuple(cfg("b"))
        _two_steps(talk, "m1", "m2")
        history = list(saver.list(cfg("b")))
        assert [t.checkpoint["channel_values"]["messages"] for t in history] == [
            ["m0", "m1", "m2"],
            ["m0", "m1"],
            ["m0"],
        ]
        assert history[0].parent_config == history[1].config


def test_a_deliberate_fork_from_an_older_checkpoint_is_not_a_conflict(
    two: tuple[PostgresSaver, PostgresSaver],
) -> None:
    a, b = two
    talk = Conversation(a, "f")
    first = talk.step("m0")
    talk.step("m1")
    chosen = b.get_tuple(cfg("f", checkpoint_id=first))  # time travel: an explicit id
    assert chosen is not None
    b.put(chosen.config, ckpt({"messages": ["other"]}, {"messages": 9}), {}, {"messages": 9})
    assert len(list(a.list(cfg("f")))) == 3


def test_conflict_check_can_be_turned_off(url: str) -> None:
    with (
        PostgresSaver.from_conn_string(url, check_conflicts=False) as a,
        PostgresSaver.from_conn_string(url, check_conflicts=False) as b,
    ):
        base = a.put(cfg("x"), ckpt({}, {}), {}, {})
        a.get_tuple(cfg("x"))
        b.get_tuple(cfg("x"))
        a.put(base, ckpt({}, {}), {}, {})
        b.put(base, ckpt({}, {}), {}, {})  # forks silently, as asked
        assert len(list(a.list(cfg("x")))) == 3


def test_retrying_a_put_that_committed_is_not_a_conflict(
    two: tuple[PostgresSaver, PostgresSaver],
) -> None:
    a, _ = two
    base = a.put(cfg("r"), ckpt({"n": 0}, {"n": 1}), {}, {"n": 1})
    a.get_tuple(cfg("r"))
    again = ckpt({"n": 1}, {"n": 2})
    a.put(base, again, {}, {"n": 2})
    a.get_tuple(cfg("r", checkpoint_id=base["configurable"]["checkpoint_id"]))
    a._heads[("r", "")] = base["configurable"]["checkpoint_id"]  # as before the first try
    a.put(base, again, {}, {"n": 2})  # same id: an idempotent retry
    assert len(list(a.list(cfg("r")))) == 2


def _run_workers(url: str, thread: str, workers: int, runs: int) -> list[dict[str, Any]]:
    procs = [
        subprocess.Popen(
            [sys.executable, str(HERE / "_pg_worker.py"), url, thread, f"w{i}", str(runs)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(workers)
    ]
    results = []
    for proc in procs:
        out, _ = proc.communicate(timeout=300)
        assert proc.returncode == 0, out
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def _check_worker_history(url: str, thread: str, results: list[dict[str, Any]]) -> None:
    _chain_has_no_fork(url, thread)
    with PostgresSaver.from_conn_string(url) as saver:
        latest = saver.get_tuple(cfg(thread))
        assert latest is not None
        log = latest.checkpoint["channel_values"]["log"]
        history = list(saver.list(cfg(thread)))
    # One linear history: each checkpoint's parent is the next older one.
    for newer, older in itertools.pairwise(history):
        assert newer.parent_config == older.config
    for result in results:
        for message in result["ok"]:
            assert message in log  # every finished run's input is in the thread
    assert len(log) == len(set(log))


@pytest.mark.slow  # make test keeps a process racing in test_store_postgres.py
def test_worker_processes_racing_on_one_thread_never_fork_it(url: str) -> None:
    results = _run_workers(url, "race", workers=2, runs=4)
    _check_worker_history(url, "race", results)


@pytest.mark.slow
def test_many_worker_processes_racing_on_one_thread_never_fork_it(url: str) -> None:
    results = _run_workers(url, "race-big", workers=6, runs=40)
    assert sum(r["conflicts"] for r in results) > 0  # they did collide
    _check_worker_history(url, "race-big", results)


# ----------------------------------------------------------------- faults
def _terminate(url: str, pid: int) -> None:
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))


def _kill_after_first_write(saver: PostgresSaver, url: str) -> threading.Event:
    """Make the saver's connection die inside its next transaction, after one write."""
    killed = threading.Event()
    original = saver._write

    def write_then_die(c: Any, item: Any) -> Any:
        outcome = original(c, item)  # written inside the transaction, not committed
        if not killed.is_set():
            killed.set()
            _terminate(url, c.info.backend_pid)
        return outcome

    saver._write = write_then_die  # type: ignore[method-assign]
    return killed


def _two_steps(talk: Conversation, *words: str) -> None:
    """Two checkpoints in one put_batch (one transaction), as durability='async' saves."""
    items = []
    config, messages, version = talk.config, list(talk.messages), talk.version
    for word in words:
        version += 1
        appends = {"messages": [version - 1, len(messages)]} if version > 1 else {}
        messages = [*messages, word]
        made = ckpt({"messages": messages}, {"messages": version}, appends)
        items.append((config, made, {"step": version}, {"messages": version}))
        config = {"configurable": {**config["configurable"], "checkpoint_id": made["id"]}}
    talk.saver.put_batch(items)
    talk.config, talk.messages, talk.version = config, messages, version
    talk.history.append((items[-1][1]["id"], list(messages)))


def test_connection_killed_mid_transaction_keeps_commits(url: str) -> None:
    conn = psycopg.connect(url, autocommit=True)
    saver = PostgresSaver(conn)
    talk = Conversation(saver, "k")
    for turn in range(5):
        talk.step(f"m{turn}")
    committed = list(talk.history)
    killed = _kill_after_first_write(saver, url)
    # A caller's own connection cannot be reopened: a clear error, nothing half-written.
    with pytest.raises(PostgresConnectionError, match="nothing after the last commit"):
        _two_steps(talk, "lost 1", "lost 2")
    assert killed.is_set()
    with PostgresSaver.from_conn_string(url) as fresh:
        ids = [t.checkpoint["id"] for t in fresh.list(cfg("k"))]
        assert ids == [cid for cid, _ in reversed(committed)]  # neither of the two
        for cid, messages in committed:
            found = fresh.get(cfg("k", checkpoint_id=cid))
            assert found is not None and found["channel_values"]["messages"] == messages
        # and the run resumes from the last committed checkpoint
        resumed = Conversation(fresh, "k")
        resumed.config = cfg("k", checkpoint_id=committed[-1][0])
        resumed.messages, resumed.version = committed[-1][1], 5
        resumed.step("m5")
        latest = fresh.get(cfg("k"))
        assert latest is not None and latest["channel_values"]["messages"][-1] == "m5"
    conn.close()


def test_a_pool_replaces_the_killed_connection_and_the_batch_goes_through(url: str) -> None:
    with PostgresSaver.from_conn_string(url) as saver:
        talk = Conversation(saver, "p")
        talk.step("m0")
        killed = _kill_after_first_write(saver, url)
        _two_steps(talk, "m1", "m2")  # retried once, whole, on a new connection
        assert killed.is_set()
        found = saver.get(cfg("p"))
        assert found is not None and found["channel_values"]["messages"] == ["m0", "m1", "m2"]
        assert len(list(saver.list(cfg("p")))) == 3


def test_every_connection_killed_between_steps_the_run_goes_on(url: str) -> None:
    pool = ConnectionPool(url, min_size=2, max_size=2, kwargs={"autocommit": True}, open=True)
    with PostgresSaver(pool) as saver:
        talk = Conversation(saver, "s")
        talk.step("m0")
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE pid <> pg_backend_pid() AND datname = current_database() "
                "AND backend_type = 'client backend'"
            )
        talk.step("m1")  # as after a server restart: every pooled connection was broken
        found = saver.get(cfg("s"))
        assert found is not None and found["channel_values"]["messages"] == ["m0", "m1"]
    pool.close()


def test_an_unreachable_server_is_a_clear_error() -> None:
    with pytest.raises(PostgresConnectionError, match="connection failed"):
        saver = PostgresSaver(
            ConnectionPool(
                "postgresql://nobody@/nowhere?host=/nonexistent-dir",
                min_size=0,
                max_size=1,
                timeout=0.5,
                open=True,
            )
        )
        saver.get_tuple(cfg())


@pytest.mark.parametrize(
    "conninfo", ["postgresql://me:s3cret@h/%zz", "postgresql://me:s3cret@a b/c", "zzz"]
)
def test_a_malformed_url_is_a_clear_error_that_does_not_echo_the_password(
    conninfo: str,
) -> None:
    from graphkit.store.postgres import PostgresStore

    for opener in (PostgresSaver.from_conn_string, PostgresStore.from_conn_string):
        with pytest.raises(InvalidArgumentError, match="connection string is malformed") as info:
            opener(conninfo).__enter__()  # was psycopg.ProgrammingError: invalid percent-encoded
        assert "s3cret" not in str(info.value) and "postgresql://user:" in str(info.value)


def test_stored_bytes_never_run_code(url: str) -> None:
    with PostgresSaver.from_conn_string(url) as saver:
        saver.put(cfg("evil"), ckpt({"a": 1}, {"a": 1}), {}, {"a": 1})
        payload = b"F\x80\x04\x95cos\nsystem\n(S'touch /tmp/pwned'\ntR."  # a pickle
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(
                "UPDATE graphkit_blobs SET blob = %s WHERE thread_id = 'evil'", (payload,)
            )
        with pytest.raises(GraphkitError):
            saver.get(cfg("evil"))
    assert not Path("/tmp/pwned").exists()


# ------------------------------------------------------------ schema, names
def test_setup_from_many_workers_at_once_migrates_once(url: str) -> None:
    errors: list[BaseException] = []

    def setup() -> None:
        try:
            with PostgresSaver.from_conn_string(url) as saver:
                saver.setup()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=setup) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT version FROM graphkit_migrations WHERE component = 'checkpoints' "
            "ORDER BY version"
        ).fetchall()
    assert rows == [(v + 1,) for v in range(len(MIGRATIONS))]  # each applied once


def test_migrations_apply_in_order_and_only_once(url: str) -> None:
    steps = [
        "CREATE TABLE graphkit_test_m (a int)",
        "ALTER TABLE graphkit_test_m ADD COLUMN b int; INSERT INTO graphkit_test_m VALUES (1, 2)",
    ]
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS graphkit_test_m")
        conn.execute("DELETE FROM graphkit_migrations WHERE component = 'test'")
        with conn.transaction():
            assert migrate(conn, "test", steps[:1]) == 1
        with conn.transaction():
            assert migrate(conn, "test", steps) == 2
        with conn.transaction():
            assert migrate(conn, "test", steps) == 2  # nothing left to do
        assert conn.execute("SELECT * FROM graphkit_test_m").fetchall() == [(1, 2)]
        conn.execute("DROP TABLE graphkit_test_m")


@pytest.mark.parametrize("name", ["plain", "a\x00b", "\ud800 lone", "\uffffx", "ünï"])
def test_any_thread_name_round_trips(name: str) -> None:
    assert name_out(name_in(name)) == name
    assert "\x00" not in name_in(name)


def test_bad_connection_argument_says_what_to_pass() -> None:
    with pytest.raises(TypeError, match="psycopg Connection.*URL"):
        PostgresSaver(42)


def test_list_threads_reads_no_values(url: str) -> None:
    with PostgresSaver.from_conn_string(url) as saver:
        Conversation(saver, "one").step("x")
        Conversation(saver, "two\x00").step("y")
        assert {r.thread_id for r in saver.list_threads()} == {"one", "two\x00"}


# ------------------------------------------------------------------- async
async def test_async_saver_runs_a_graph(url: str) -> None:
    from _pg_worker import build

    from graphkit.checkpoint.postgres.aio import AsyncPostgresSaver

    async with AsyncPostgresSaver.from_conn_string(url) as saver:
        await saver.setup()
        graph = build(saver)
        config = {"configurable": {"thread_id": "async"}}
        await graph.ainvoke({"log": ["a"]}, config)
        out = await graph.ainvoke({"log": ["b"]}, config)
        assert out == {"log": ["a", "b"], "steps": 4}
        assert [t.thread_id for t in await saver.alist_threads()] == ["async"]


async def test_an_async_connection_pool_is_used_through_its_conninfo(url: str) -> None:
    """Given psycopg_pool's AsyncConnectionPool (as LangGraph's async saver takes), the
    saver and the store open pools of their own to the same server."""
    from psycopg_pool import AsyncConnectionPool

    from graphkit.checkpoint.postgres.aio import AsyncPostgresSaver
    from graphkit.store.postgres.aio import AsyncPostgresStore

    pool = AsyncConnectionPool(url, open=False)
    saver, store = AsyncPostgresSaver(pool), AsyncPostgresStore(pool)
    try:
        await saver.setup()
        await store.setup()
        Conversation(saver, "pooled").step("x")
        assert [t.thread_id for t in await saver.alist_threads()] == ["pooled"]
        await store.aput(("n",), "k", {"v": 1})
        found = await store.aget(("n",), "k")
        assert found is not None and found.value == {"v": 1}
    finally:
        saver.close()
        store.close()


# ------------------------------------------------------- slow fault drills
_KILLED_RUN = """
import sys, time
sys.path.insert(0, {tests!r})
from _pg_worker import build
from graphkit import START, StateGraph
from graphkit.checkpoint.postgres import PostgresSaver
from typing import Annotated, TypedDict
import operator

class S(TypedDict, total=False):
    log: Annotated[list[str], operator.add]

def slow(state):
    n = len(state.get("log", []))
    if n == 3:
        print("mid-step", flush=True)
        time.sleep(60)  # SIGKILLed here, inside the fourth superstep
    return {{"log": [f"s{{n}}"]}}

builder = StateGraph(S)
for i in range(6):
    builder.add_node(f"n{{i}}", slow)
builder.add_edge(START, "n0")
for i in range(5):
    builder.add_edge(f"n{{i}}", f"n{{i + 1}}")
with PostgresSaver.from_conn_string({url!r}) as saver:
    graph = builder.compile(checkpointer=saver)
    graph.invoke({{"log": []}}, {{"configurable": {{"thread_id": "killed"}}}}, durability="sync")
"""


@pytest.mark.slow
def test_a_worker_sigkilled_mid_superstep_leaves_its_steps_and_the_run_resumes(url: str) -> None:
    import signal

    proc = subprocess.Popen(
        [sys.executable, "-c", _KILLED_RUN.format(tests=str(HERE), url=url)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "mid-step"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    with PostgresSaver.from_conn_string(url) as saver:
        latest = saver.get_tuple(cfg("killed"))
        assert latest is not None
        assert latest.checkpoint["channel_values"]["log"] == ["s0", "s1", "s2"]
        _chain_has_no_fork(url, "killed")
        # Another worker picks the thread up where it stopped (the node no longer sleeps).
        from typing import Annotated, TypedDict

        from graphkit import START, StateGraph

        class S(TypedDict, total=False):
            log: Annotated[list[str], __import__("operator").add]

        builder = StateGraph(S)
        for i in range(6):
            builder.add_node(f"n{i}", lambda s: {"log": [f"s{len(s.get('log', []))}"]})
        builder.add_edge(START, "n0")
        for i in range(5):
            builder.add_edge(f"n{i}", f"n{i + 1}")
        graph = builder.compile(checkpointer=saver)
        out = graph.invoke(None, {"configurable": {"thread_id": "killed"}})
        assert out["log"] == ["s0", "s1", "s2", "s3", "s4", "s5"]


@pytest.mark.slow
def test_the_server_restarting_between_two_steps_loses_nothing(url: str) -> None:
    from pg_server import bin_dir

    home = url.split("host=")[1].split("&")[0] if "host=/tmp/gk-pg-" in url else None
    data = Path(home) / "data" if home is not None else None
    if home is None or data is None or not data.exists() or bin_dir() is None:
        pytest.skip("needs the throwaway server this session started")
    from pg_server import _run, _server_user

    with PostgresSaver.from_conn_string(url) as saver:
        talk = Conversation(saver, "restart")
        for turn in range(3):
            talk.step(f"m{turn}")
        pg_ctl = str(bin_dir() / "pg_ctl")  # type: ignore[operator]
        log = str(Path(home) / "log")
        _run([pg_ctl, "-D", str(data), "-l", log, "-m", "fast", "-w", "restart"], _server_user())
        talk.step("after restart")  # the pool's connections died with the server
        found = saver.get(cfg("restart"))
        assert found is not None
        assert found["channel_values"]["messages"] == ["m0", "m1", "m2", "after restart"]


def test_langgraph_style_from_conn_string(url: str) -> None:
    with PostgresSaver.from_conn_string(url, pipeline=True, pool_size=2) as saver:
        assert saver.conn.max_size == 2
        saver.put(cfg("lg"), ckpt({"a": 1}, {"a": 1}), {}, {"a": 1})
        assert saver.get(cfg("lg")) is not None


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE graphkit_checkpoints SET channels = ARRAY['a', 'zz'] WHERE thread_id = 't'",
        "UPDATE graphkit_checkpoints SET versions = ARRAY[1, 2]::bigint[] WHERE thread_id = 't'",
    ],
)
def test_a_row_whose_channels_and_versions_differ_is_named_as_corrupt(url: str, sql: str) -> None:
    from graphkit.stores.checkpoint.base import CheckpointCorruptError

    with PostgresSaver.from_conn_string(url) as saver:
        saver.put(cfg("t"), ckpt({"a": 1}, {"a": 1}), {}, {"a": 1})
        saver.put(cfg("ok"), ckpt({"a": 2}, {"a": 1}), {}, {"a": 1})
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(sql)
        with pytest.raises(CheckpointCorruptError, match="'t'.*channels .* and versions"):
            saver.get_tuple(cfg("t"))  # was ValueError: zip() argument 2 is shorter...
        found = saver.get_tuple(cfg("ok"))
        assert found is not None and found.checkpoint["channel_values"] == {"a": 2}
        saver.delete_thread("t")
        assert saver.get_tuple(cfg("t")) is None


def _counter(checkpointer: Any) -> Any:
    from typing import TypedDict

    from graphkit import START, StateGraph

    class State(TypedDict):
        n: int

    builder = StateGraph(State)
    builder.add_node("inc", lambda state: {"n": state["n"] + 1})
    builder.add_edge(START, "inc")
    return builder.compile(checkpointer=checkpointer)


LANGGRAPH_CONNECTION = {"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row}
"""The connection settings LangGraph's docs tell its PostgreSQL users to pass."""


def test_connections_made_as_langgraphs_docs_say_work_and_keep_their_rows(url: str) -> None:
    """``row_factory=dict_row`` connections (what LangGraph's savers need) made every
    call fail with ``KeyError: 0``; the caller's connection still reads dicts after."""
    config = {"configurable": {"thread_id": "t"}}
    with psycopg.Connection.connect(url, **LANGGRAPH_CONNECTION) as conn:
        saver = PostgresSaver(conn)
        saver.setup()
        assert _counter(saver).invoke({"n": 1}, config) == {"n": 2}
        assert conn.execute("SELECT 1 AS one").fetchone() == {"one": 1}
    with ConnectionPool(url, min_size=1, max_size=2, kwargs=LANGGRAPH_CONNECTION) as pool:
        graph = _counter(PostgresSaver(pool))
        assert graph.get_state(config).values == {"n": 2}
        assert graph.invoke({"n": 5}, config) == {"n": 6}
        with pool.connection() as conn:
            assert conn.execute("SELECT 1 AS one").fetchone() == {"one": 1}


def test_async_saver_takes_an_async_connection_as_langgraphs_does(url: str) -> None:
    """``AsyncPostgresSaver(await AsyncConnection.connect(...))``, LangGraph's documented
    spelling, was refused: its conninfo now opens the saver's own pool."""
    from graphkit.checkpoint.postgres.aio import AsyncPostgresSaver

    async def main() -> Any:
        conn = await psycopg.AsyncConnection.connect(url, **LANGGRAPH_CONNECTION)
        async with conn:
            saver = AsyncPostgresSaver(conn)
            await saver.setup()
            try:
                config = {"configurable": {"thread_id": "a"}}
                return await _counter(saver).ainvoke({"n": 1}, config)
            finally:
                saver.close()

    assert asyncio.run(main()) == {"n": 2}
