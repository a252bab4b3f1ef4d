"""Closing savers and their LMDB environment while other threads use them, twice, after
use, at exit, across fork: never a hang, a crash, or a checkpoint silently lost.

Each race is made deterministic with events: a commit or read is held at a known point
while ``close()`` runs in another thread, and the test goes on once ``close`` waits
(seen through the condition or lock it waits on). The timeouts (``SAFETY``) on joins
and on held points only turn a regression (a deadlock) into a failure, and a failed
test into one that still ends, instead of a hung suite.
"""

from __future__ import annotations

import functools
import gc
import os
import random
import signal
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypedDict

import pytest

from graphkit import END, START, StateGraph
from graphkit.checkpoint.lmdb import LMDBSaver
from graphkit.engine import group_commit
from graphkit.errors import SaverClosedError, StoreClosedError
from graphkit.stores._lmdb import (
    CloseInTransactionError,
    EnvClosedError,
    ForkedEnvError,
    LMDBEnv,
)
from graphkit.stores.checkpoint.base import BaseCheckpointSaver, empty_checkpoint

SAFETY = 60  # seconds before a join gives up: a deadlock fails instead of hanging


class Steps(TypedDict):
    n: int


def counter(saver: BaseCheckpointSaver, steps: int = 3) -> Any:
    builder = StateGraph(Steps)
    builder.add_node("inc", lambda s: {"n": s["n"] + 1})
    builder.add_edge(START, "inc")
    builder.add_conditional_edges("inc", lambda s: "inc" if s["n"] < steps else END, ["inc", END])
    return builder.compile(checkpointer=saver)


def cfg(thread: str = "t") -> Any:
    return {"configurable": {"thread_id": thread}}


def put_one(saver: BaseCheckpointSaver, thread: str = "t", n: int = 1) -> Any:
    ckpt = empty_checkpoint()
    ckpt["channel_values"], ckpt["channel_versions"] = {"n": n}, {"n": 1}
    return saver.put(cfg(thread), ckpt, {"step": n}, {"n": 1})


class Watch:
    """Says when each thread named in ``who`` starts waiting on its owner (``arrived``;
    ``waiting``: the first name's)."""

    def __init__(self, *who: str) -> None:
        self.arrived = {name: threading.Event() for name in who}
        self.waiting = self.arrived[who[0]]

    def seen(self) -> None:
        found = self.arrived.get(threading.current_thread().name)
        if found is not None:
            found.set()


class Signalling(threading.Condition):
    """A condition that says when the thread named ``who`` starts waiting on it."""

    def __init__(self, *who: str, lock: Any = None) -> None:
        super().__init__(lock)
        self.watch = Watch(*who)
        self.waiting = self.watch.waiting

    def wait(self, timeout: float | None = None) -> bool:
        self.watch.seen()
        return super().wait(timeout)


class SignallingEvent(threading.Event):
    """An event that says when the thread named ``who`` starts waiting on it."""

    def __init__(self, who: str) -> None:
        super().__init__()
        self.watch = Watch(who)
        self.waiting = self.watch.waiting

    def wait(self, timeout: float | None = None) -> bool:
        self.watch.seen()
        return super().wait(timeout)


def start(target: Callable[[], Any], name: str, errors: list[BaseException]) -> threading.Thread:
    def run() -> None:
        try:
            target()
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    return thread


def joined(*threads: threading.Thread) -> None:
    for thread in threads:
        thread.join(SAFETY)
        assert not thread.is_alive(), f"{thread.name} is stuck (a deadlock)"


# ------------------------------------------------------------- the environment
@pytest.fixture
def env(tmp_path: Path) -> Iterator[LMDBEnv]:
    made = LMDBEnv(tmp_path / "env")
    yield made
    made.close()


@pytest.mark.parametrize("kind", ["write", "read"])
def test_close_waits_for_a_transaction_of_another_thread(env: LMDBEnv, kind: str) -> None:
    """Closing LMDB under another thread's write transaction hung in C (the suite's hang
    in ``LMDBEnv.close``) and lost the write; under a read it failed the read."""
    db = env.db("data")
    env.write(lambda txn: txn.put(b"k", b"before", db=db))
    inside, release = threading.Event(), threading.Event()
    seen: list[Any] = []
    errors: list[BaseException] = []

    def write(txn: Any) -> None:
        inside.set()
        release.wait(SAFETY)
        txn.put(b"k", b"written", db=db)

    def read() -> None:
        with env.read() as txn:
            inside.set()
            release.wait(SAFETY)
            seen.append(txn.get(b"k", db=db))

    user = start((lambda: env.write(write)) if kind == "write" else read, "user", errors)
    assert inside.wait(SAFETY)
    env._guard._cond = waits = Signalling("closer", lock=threading.Lock())
    closer = start(env.close, "closer", errors)
    assert waits.waiting.wait(SAFETY), "close() did not wait for the open transaction"
    assert closer.is_alive()
    release.set()
    joined(user, closer)
    assert errors == []
    assert seen == ([] if kind == "write" else [b"before"])
    with pytest.raises(EnvClosedError, match="was closed"):
        env.write(lambda txn: None)
    with pytest.raises(EnvClosedError, match="open a new one"), env.read():
        pass
    with LMDBEnv(env.path) as again:
        data = again.db("data")
        with again.read() as txn:
            assert txn.get(b"k", db=data) == (b"written" if kind == "write" else b"before")


def close_while_reading(
    env: LMDBEnv, errors: list[BaseException]
) -> tuple[threading.Event, tuple[threading.Thread, threading.Thread]]:
    """A thread holds a read of ``env`` open while another closes ``env``; returns once
    the close waits for the read: (the event that ends the read, (holder, closer))."""
    inside, release = threading.Event(), threading.Event()

    def hold() -> None:
        with env.read():
            inside.set()
            release.wait(SAFETY)

    holder = start(hold, "holder", errors)
    assert inside.wait(SAFETY)
    env._guard._cond = waits = Signalling("closer", lock=threading.Lock())
    closer = start(env.close, "closer", errors)
    assert waits.waiting.wait(SAFETY), "close() did not wait for the open read"
    return release, (holder, closer)


def test_a_transaction_waiting_for_the_close_gets_a_clear_error(env: LMDBEnv) -> None:
    db = env.db("data")
    errors: list[BaseException] = []
    release, (holder, closer) = close_while_reading(env, errors)
    late_errors: list[BaseException] = []
    late = start(lambda: env.write(lambda txn: txn.put(b"x", b"y", db=db)), "late", late_errors)
    release.set()
    joined(holder, closer, late)
    assert errors == []
    # It began before the close took the map (and wrote), or waited and was refused.
    assert late_errors == [] or isinstance(late_errors[0], EnvClosedError), late_errors


def test_closing_inside_a_transaction_of_the_same_thread_says_so(env: LMDBEnv) -> None:
    db = env.db("data")
    with env.read(), pytest.raises(CloseInTransactionError, match="end the transaction"):
        env.close()
    env.write(lambda txn: txn.put(b"k", b"v", db=db))  # nothing was released


def test_closing_an_environment_twice_does_nothing_more(tmp_path: Path) -> None:
    env = LMDBEnv.open(tmp_path / "env")
    env.close()
    env.close()
    with pytest.raises(EnvClosedError, match="was closed"):
        env.acquire()
    with LMDBEnv.open(tmp_path / "env") as again:  # a new one, not the closed one
        assert again is not env
        again.write(lambda txn: None)


def test_opening_while_a_close_waits_blocks_only_that_path(tmp_path: Path) -> None:
    """The last close waits for other threads' transactions; meanwhile other paths open
    at once, and an open of the same path waits for the close, then opens it anew."""
    env = LMDBEnv.open(tmp_path / "a")
    env._gone = gone = SignallingEvent("opener")
    errors: list[BaseException] = []
    release, (holder, closer) = close_while_reading(env, errors)
    other: list[LMDBEnv] = []
    opener_b = start(lambda: other.append(LMDBEnv.open(tmp_path / "b")), "b", errors)
    joined(opener_b)  # not held up by the close of another path
    reopened: list[LMDBEnv] = []
    opener = start(lambda: reopened.append(LMDBEnv.open(tmp_path / "a")), "opener", errors)
    assert gone.waiting.wait(SAFETY)  # the same path waits for the close
    release.set()
    joined(holder, closer, opener)
    assert errors == []
    assert reopened[0] is not env
    reopened[0].write(lambda txn: None)
    reopened[0].close()
    other[0].close()


def test_an_open_database_is_handed_out_without_the_environment_lock(env: LMDBEnv) -> None:
    """``db()`` holds the lock while it waits for LMDB's writer lock (opening a new
    database); a thread inside a write asking for an open database must not wait for
    that lock, or the two wait for each other."""
    db = env.db("data")
    got: list[Any] = []
    errors: list[BaseException] = []
    with env._lock:  # as a thread opening a new database while this one writes holds it
        writer = start(lambda: env.write(lambda txn: got.append(env.db("data"))), "w", errors)
        writer.join(SAFETY)
        assert not writer.is_alive(), "a write asking for an open database waited for the lock"
    assert errors == [] and got == [db]


# ------------------------------------------------------------------- the saver
def test_a_closed_saver_says_so_even_when_its_environment_is_shared(tmp_path: Path) -> None:
    env = LMDBEnv.open(tmp_path / "db")  # shared with a store, say: stays open
    saver = LMDBSaver(env=env)
    config = put_one(saver)
    saver.close()
    saver.close()  # twice: nothing more
    for use in (
        lambda: put_one(saver, n=2),
        lambda: saver.put_batch([]),
        lambda: saver.put_writes(config, [("n", 1)], "task"),
        lambda: saver.get_tuple(config),
        lambda: list(saver.list(cfg())),
        lambda: saver.writer(cfg()),
        lambda: counter(saver).invoke({"n": 0}, cfg("other")),
    ):
        with pytest.raises(SaverClosedError, match="LMDBSaver was closed"):
            use()
    with env.read() as txn:  # the environment itself is still open for its other users
        assert txn.get(b"ckpt_checkpoints") is not None
    env.close()


def test_a_saver_that_fails_to_open_keeps_no_reference_to_its_environment(
    tmp_path: Path,
) -> None:
    from graphkit.store.lmdb import LMDBStore

    LMDBStore(tmp_path / "db").close()  # a store alone: no checkpoint databases
    env = LMDBEnv(tmp_path / "db", readonly=True)
    with pytest.raises(LookupError, match="ckpt_checkpoints"):
        LMDBSaver(env=env)
    env.close()  # the last reference: the failed saver kept none
    with pytest.raises(EnvClosedError), env.read():
        pass
    with pytest.raises(EnvClosedError, match="was closed"):
        LMDBSaver(env=env)


def test_a_saver_whose_environment_closed_raises_a_saver_closed_error(tmp_path: Path) -> None:
    saver = LMDBSaver(tmp_path / "db")
    put_one(saver)
    saver.env.close()  # (its own reference: as if closed behind its back)
    with pytest.raises(SaverClosedError, match="was closed"):
        saver.get_tuple(cfg())
    with pytest.raises(StoreClosedError):  # the same error, for a store's user
        put_one(saver, n=2)


def test_a_history_read_lazily_stops_with_a_clear_error_once_closed(tmp_path: Path) -> None:
    saver = LMDBSaver(tmp_path / "db")
    graph = counter(saver, steps=80)  # more checkpoints than one page of list()
    graph.invoke({"n": 0}, cfg())
    history = graph.get_state_history(cfg())
    first = next(history)
    assert first.values == {"n": 80}
    saver.close()
    with pytest.raises(SaverClosedError, match="was closed"):
        list(history)


def test_close_waits_for_a_history_page_being_read(tmp_path: Path) -> None:
    saver = LMDBSaver(tmp_path / "db")
    counter(saver, steps=5).invoke({"n": 0}, cfg())
    inside, release = threading.Event(), threading.Event()
    match = saver._match

    def held(*args: Any, **kwargs: Any) -> Any:
        inside.set()
        release.wait(SAFETY)
        return match(*args, **kwargs)

    saver._match = held  # type: ignore[method-assign]
    read: list[Any] = []
    errors: list[BaseException] = []
    reader = start(lambda: read.extend(saver.list(cfg())), "reader", errors)
    assert inside.wait(SAFETY)
    saver.env._guard._cond = waits = Signalling("closer", lock=threading.Lock())
    closer = start(saver.close, "closer", errors)
    assert waits.waiting.wait(SAFETY)
    release.set()
    joined(reader, closer)
    assert errors == []
    assert [t.metadata["step"] for t in read] == [5, 4, 3, 2, 1, 0, -1]


class Gate:
    """Holds the first commit of a saver (its ``put``/``put_batch``) until released."""

    def __init__(self, saver: BaseCheckpointSaver) -> None:
        self.entered, self.release = threading.Event(), threading.Event()
        self.first = True
        for name in ("put", "put_batch"):
            setattr(saver, name, self.wrap(getattr(saver, name)))

    def wrap(self, method: Callable[..., Any]) -> Callable[..., Any]:
        def gated(*args: Any, **kwargs: Any) -> Any:
            if self.first and threading.current_thread().name == "graphkit-commit":
                self.first = False
                self.entered.set()
                self.release.wait(SAFETY)
            return method(*args, **kwargs)

        return gated


@pytest.fixture(params=["lmdb", "postgres"])
def open_saver(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], Any]:
    """Opens the same durable saver again each call (``with ... as saver``)."""
    if request.param == "lmdb":
        return lambda: LMDBSaver(tmp_path / "ckpt")
    from graphkit.checkpoint.postgres import PostgresSaver

    url = request.getfixturevalue("pg_clean")
    return lambda: PostgresSaver.from_conn_string(url)


def test_close_commits_what_async_runs_queued(open_saver: Callable[[], Any]) -> None:
    """``durability="async"`` runs queue checkpoints for the saver's background committer;
    closing the saver meanwhile closed the database under them (LMDB: the commit failed
    on a closed environment, the run lost its checkpoints)."""
    errors: list[BaseException] = []
    with open_saver() as saver:
        gate = Gate(saver)
        group = group_commit.committer(saver)
        group.cond = waits = Signalling("closer")
        graph = counter(saver, steps=4)
        run = start(lambda: graph.invoke({"n": 0}, cfg(), durability="async"), "run", errors)
        assert gate.entered.wait(SAFETY)
        closer = start(lambda: saver.__exit__(None, None, None), "closer", errors)  # `with` exit
        assert waits.waiting.wait(SAFETY), "close() did not wait for the queued checkpoints"
        gate.release.set()
        joined(run, closer)
        assert errors == []
    with open_saver() as again:
        steps = [t.metadata["step"] for t in again.list(cfg())]
    assert steps == [4, 3, 2, 1, 0, -1]


@pytest.mark.parametrize("sync", [True, False])
def test_closing_under_concurrent_runs_only_ever_fails_them_clearly(
    tmp_path: Path, sync: bool
) -> None:
    """Runs of every durability (and history reads) in several threads while the saver
    closes at varied moments: each run finishes or raises SaverClosedError; nothing
    hangs, crashes or raises another error, and the file reopens. (Main hung here.)"""
    rng = random.Random(14)
    for round_ in range(6):
        path = tmp_path / f"db{round_}"
        saver = LMDBSaver(path, sync=sync)
        graph = counter(saver, steps=20)
        errors: list[BaseException] = []

        def run(i: int, graph: Any = graph) -> None:
            for durability in ("sync", "async", "exit"):
                config = cfg(f"t{i}-{durability}")
                try:
                    graph.invoke({"n": 0}, config, durability=durability)
                    list(graph.get_state_history(config))
                except SaverClosedError:
                    return

        runs = [start(functools.partial(run, i), f"run{i}", errors) for i in range(4)]
        for _ in range(rng.randrange(200)):  # a varied moment to close at
            next(iter(saver.list(None, limit=1)), None)
        saver.close()
        joined(*runs)
        assert errors == []
        with LMDBSaver(path) as again:
            again.list_threads()


def test_a_durable_saver_used_after_close_says_so(open_saver: Callable[[], Any]) -> None:
    """(PostgreSQL: it said the connection failed and to retry when the server is back.)"""
    with open_saver() as saver:
        config = put_one(saver)
    saver.close()  # twice: nothing more
    for use in (
        lambda: put_one(saver, n=2),
        lambda: saver.put_writes(config, [("n", 1)], "task"),
        lambda: saver.get_tuple(config),
        lambda: list(saver.list(cfg())),
        lambda: counter(saver).invoke({"n": 0}, cfg("other")),
    ):
        with pytest.raises(SaverClosedError, match="closed"):
            use()


def test_two_threads_closing_a_saver_at_once_release_one_reference(tmp_path: Path) -> None:
    env = LMDBEnv.open(tmp_path / "db")  # another user of the environment keeps it
    saver = LMDBSaver(env=env)
    gate = Gate(saver)
    group_commit.committer(saver).cond = waits = Signalling("closer", "second")
    saver._close_lock = lock = SignallingLock("second")  # type: ignore[assignment]
    errors: list[BaseException] = []
    run = start(lambda: counter(saver).invoke({"n": 0}, cfg(), durability="async"), "run", errors)
    assert gate.entered.wait(SAFETY)  # a commit in flight: the first close waits for it
    closer = start(saver.close, "closer", errors)
    assert waits.waiting.wait(SAFETY)
    second = start(saver.close, "second", errors)
    # The second waits for the first (or, as it did, for the commit in flight too).
    assert lock.waiting.wait(SAFETY) or waits.watch.arrived["second"].is_set()
    gate.release.set()
    joined(run, closer, second)
    assert errors == []
    env.write(lambda txn: None)  # still open for its other user
    env.close()


def test_a_saver_closed_by_its_own_commit_fails_the_run_instead_of_hanging(
    tmp_path: Path,
) -> None:
    """(A wrapper that closes its saver on a fatal error, inside ``put``: the close
    waited for the commit in flight, its own.)"""
    saver = LMDBSaver(tmp_path / "db")
    for name in ("put", "put_batch"):
        method = getattr(saver, name)

        def closing(*args: Any, method: Callable[..., Any] = method) -> Any:
            saver.close()
            return method(*args)

        setattr(saver, name, closing)
    errors: list[BaseException] = []
    graph = counter(saver)
    run = start(lambda: graph.invoke({"n": 0}, cfg(), durability="async"), "run", errors)
    joined(run)
    assert len(errors) == 1 and isinstance(errors[0], SaverClosedError), errors


def test_a_run_that_queues_after_close_gets_a_clear_error(tmp_path: Path) -> None:
    saver = LMDBSaver(tmp_path / "db")
    saver.close()
    slot = group_commit.committer(saver).submit((cfg(), empty_checkpoint(), {}, {}))
    group_commit.committer(saver).wait(slot)
    assert isinstance(slot.error, SaverClosedError)


def test_close_ends_the_idle_committer_and_keeps_every_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The committer idles ``IDLE_SECONDS`` after its last commit: close ends it then."""
    monkeypatch.setattr(group_commit, "IDLE_SECONDS", 3600.0)
    saver = LMDBSaver(tmp_path / "db")
    counter(saver).invoke({"n": 0}, cfg(), durability="async")
    committer = group_commit.committer(saver)._committer
    assert committer is not None and committer.is_alive()  # idle, for IDLE_SECONDS
    saver.close()
    committer.join(SAFETY)
    assert not committer.is_alive()
    with LMDBSaver(tmp_path / "db") as again:
        assert again.get_tuple(cfg()).metadata["step"] == 3  # type: ignore[union-attr]


def test_a_saver_collected_with_a_live_committer_keeps_every_step(tmp_path: Path) -> None:
    saver = LMDBSaver(tmp_path / "db")
    counter(saver).invoke({"n": 0}, cfg(), durability="async")
    committer = group_commit.committer(saver)._committer
    assert committer is not None
    del saver
    gc.collect()
    committer.join(SAFETY)  # it ends on its own, with nothing to commit
    assert not committer.is_alive()
    with LMDBSaver(tmp_path / "db") as again:
        assert [t.metadata["step"] for t in again.list(cfg())] == [3, 2, 1, 0, -1]


# ------------------------------------------------------------ processes: exit, fork
PREAMBLE = textwrap.dedent(
    """
    import sys, time
    from typing import TypedDict
    from graphkit import END, START, StateGraph
    from graphkit.checkpoint.lmdb import LMDBSaver

    class S(TypedDict):
        n: int

    def graph(saver, steps=5):
        b = StateGraph(S)
        b.add_node("inc", lambda s: {"n": s["n"] + 1})
        b.add_edge(START, "inc")
        b.add_conditional_edges("inc", lambda s: "inc" if s["n"] < steps else END, ["inc", END])
        return b.compile(checkpointer=saver)

    config = {"configurable": {"thread_id": "t"}}
    """
)
"""What each script run in a process of its own starts with (argv[1]: the saver's path)."""


def script_args(tmp_path: Path, body: str) -> list[str]:
    return [sys.executable, "-c", PREAMBLE + textwrap.dedent(body), str(tmp_path / "db")]


def run_script(tmp_path: Path, body: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        script_args(tmp_path, body), capture_output=True, text=True, timeout=SAFETY
    )


def steps_on_disk(tmp_path: Path) -> list[int]:
    with LMDBSaver(tmp_path / "db") as saver:
        return [t.metadata["step"] for t in saver.list(cfg())]


def test_a_process_that_exits_after_invoke_has_every_step_on_disk(tmp_path: Path) -> None:
    done = run_script(
        tmp_path,
        """
        saver = LMDBSaver(sys.argv[1])
        graph(saver).invoke({"n": 0}, config, durability="async")
        """,
    )
    assert done.returncode == 0, done.stderr
    assert steps_on_disk(tmp_path) == [5, 4, 3, 2, 1, 0, -1]


def test_a_process_killed_after_invoke_returned_has_every_step_on_disk(tmp_path: Path) -> None:
    body = """
        saver = LMDBSaver(sys.argv[1])
        graph(saver).invoke({"n": 0}, config, durability="async")
        print("returned", flush=True)
        time.sleep(600)
        """
    child = subprocess.Popen(script_args(tmp_path, body), stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "returned"
    child.send_signal(signal.SIGKILL)
    child.wait(SAFETY)
    assert steps_on_disk(tmp_path) == [5, 4, 3, 2, 1, 0, -1]


def test_exit_commits_the_checkpoints_an_abandoned_stream_queued(tmp_path: Path) -> None:
    """A stream left unfinished at exit: its steps so far were queued for the daemon
    committer, which the interpreter stops at exit; the exit commits them first."""
    done = run_script(
        tmp_path,
        """
        saver = LMDBSaver(sys.argv[1])
        slow = saver.put_batch

        def put_batch(items):  # a commit slower than the exit (a busy disk)
            time.sleep(0.2)
            return slow(items)

        saver.put_batch = put_batch
        saver.put = lambda *item: put_batch([item])[0]
        stream = graph(saver).stream({"n": 0}, config, durability="async")
        for _ in range(3):
            next(stream)
        print("left", flush=True)
        """,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "left"
    assert steps_on_disk(tmp_path)[-4:] == [2, 1, 0, -1]


def test_use_after_close_never_crashes_the_process(tmp_path: Path) -> None:
    """LMDB handles used after their environment closed can crash the process in C:
    every use of a closed saver's handles (kept databases, a half-read history, the
    environment itself) must raise instead."""
    done = run_script(
        tmp_path,
        """
        saver = LMDBSaver(sys.argv[1])
        graph(saver, steps=80).invoke({"n": 0}, config)
        env, db = saver.env, saver._checkpoints
        raw = env.env
        history = saver.list(config)
        next(history)
        kept = raw.begin(db=db)  # a raw transaction and cursor the guard knows nothing of
        cursor = kept.cursor()
        cursor.first()
        saver.close()
        uses = {
            "kept txn": lambda: kept.get(cursor.key()),
            "kept cursor": lambda: (cursor.next(), cursor.value()),
            "history": lambda: list(history),
            "get": lambda: saver.get_tuple(config),
            "write": lambda: env.write(lambda txn: txn.put(b"k", b"v", db=db)),
            "read": lambda: env.read().__enter__(),
            "db": lambda: env.db("ckpt_new"),
            "raw begin": lambda: raw.begin(db=db).get(b"k"),
            "raw info": lambda: raw.info(),
        }
        for name, use in uses.items():
            try:
                use()
                print(name, "no error")
            except Exception as exc:
                print(name, type(exc).__name__)
        """,
    )
    assert done.returncode == 0, done.stderr
    lines = dict(line.split(" ", 1) for line in done.stdout.strip().splitlines())
    assert "no error" not in lines.values(), lines
    for name in ("history", "get", "write", "read", "db"):
        assert lines[name] in ("SaverClosedError", "EnvClosedError"), lines


def test_a_forked_child_using_its_parents_saver_gets_a_clear_error(tmp_path: Path) -> None:
    if not hasattr(os, "fork"):
        pytest.skip("needs fork()")
    saver = LMDBSaver(tmp_path / "db")
    graph = counter(saver)
    graph.invoke({"n": 0}, cfg("parent"))
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report, then leave without running the parent's atexit
        results = []
        for durability in ("sync", "async"):
            try:
                graph.invoke({"n": 0}, cfg(f"child-{durability}"), durability=durability)
                results.append("no error")
            except ForkedEnvError as exc:
                results.append("ForkedEnvError" if "fork" in str(exc) else str(exc))
            except BaseException as exc:
                results.append(f"{type(exc).__name__}: {exc}")
        saver.close()  # must not close the parent's environment
        os.write(write, "|".join(results).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        outcome = pipe.read()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert outcome == "ForkedEnvError|ForkedEnvError", outcome
    graph.invoke({"n": 0}, cfg("parent-again"))  # the parent's file and saver are intact
    assert saver.get_tuple(cfg("parent")).metadata["step"] == 3  # type: ignore[union-attr]
    assert [t.metadata["step"] for t in saver.list(cfg("parent-again"))] == [3, 2, 1, 0, -1]
    assert saver.get_tuple(cfg("child-sync")) is None
    saver.close()


# ------------------------------------------------------------------- the store
def store_index() -> Any:
    """An index whose graph is built from 50 rows (an ``IndexConfig``)."""
    return {"dims": 8, "embed": "hash", "fields": ["text"], "ann": {"exact_threshold": 50}}


def fill_store(store: Any, n: int) -> None:
    from graphkit.store.base import PutOp

    store.batch([PutOp(("docs",), f"k{i}", {"text": f"text {i}"}) for i in range(n)])


class SignallingLock:
    """A lock that says when the thread named ``who`` comes to take it."""

    def __init__(self, who: str) -> None:
        self.lock = threading.Lock()
        self.watch = Watch(who)
        self.waiting = self.watch.waiting

    def __enter__(self) -> None:
        self.watch.seen()
        self.lock.acquire()

    def __exit__(self, *exc: object) -> None:
        self.lock.release()


def reopened_without_rebuild(path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from graphkit.store.lmdb import LMDBStore

    caplog.clear()
    with caplog.at_level("INFO", logger="stores"), LMDBStore(path, index=store_index()) as store:
        assert store.vectors is not None
        store.vectors.wait_graph()
        assert store.vectors.has_graph and len(store.vectors) == 100
        assert store.get(("docs",), "k7").value == {"text": "text 7"}  # type: ignore[union-attr]
    assert not [r for r in caplog.records if "rebuilding" in r.message]


def test_store_close_during_a_background_build_saves_the_built_graph(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from graphkit.store.lmdb import LMDBStore
    from graphkit.stores.index import VectorIndex

    entered, release = threading.Event(), threading.Event()
    new_graph = VectorIndex._new_graph

    def held(self: VectorIndex, n: int) -> Any:
        entered.set()
        release.wait(SAFETY)
        return new_graph(self, n)

    monkeypatch.setattr(VectorIndex, "_new_graph", held)
    store = LMDBStore(tmp_path, index=store_index())
    fill_store(store, 100)  # past the threshold: the build thread starts
    assert entered.wait(SAFETY) and store.vectors is not None
    build = store.vectors._build
    assert build is not None
    build.done = done = SignallingEvent("closer")  # (the thread sets it when built)
    errors: list[BaseException] = []
    closer = start(store.close, "closer", errors)
    assert done.waiting.wait(SAFETY), "close() did not wait for the build"
    release.set()
    joined(closer)
    assert errors == []
    with pytest.raises(StoreClosedError):
        store.get(("docs",), "k1")
    monkeypatch.undo()
    reopened_without_rebuild(tmp_path, caplog)


def test_store_close_during_a_background_graph_save_waits_for_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from graphkit.store.lmdb import LMDBStore

    store = LMDBStore(tmp_path, index=store_index())
    fill_store(store, 100)
    assert store.vectors is not None
    store.vectors.wait_graph()
    entered, release = threading.Event(), threading.Event()
    commit_graph = store._commit_graph

    def held(*args: Any) -> bytes:
        entered.set()
        release.wait(SAFETY)
        return commit_graph(*args)

    store._commit_graph = held  # type: ignore[method-assign,assignment]
    store._save_lock = save_lock = SignallingLock("closer")  # type: ignore[assignment]
    errors: list[BaseException] = []
    autosave = start(store._autosave_of(store.vectors), "stores-index-insert", errors)
    assert entered.wait(SAFETY)  # the save holds the lock, in its publish
    closer = start(store.close, "closer", errors)
    assert save_lock.waiting.wait(SAFETY)
    release.set()
    joined(autosave, closer)
    assert errors == []
    reopened_without_rebuild(tmp_path, caplog)
