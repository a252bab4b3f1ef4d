"""Raw checkpoint saver throughput: put + get_tuple per step of a growing chat thread.

Each timed run starts a fresh thread and takes ``STEPS`` steps; a step appends two
~200-byte messages to ``messages``, bumps ``step``, and leaves ``CONSTANT_KEYS`` other
keys alone (the runtime passes only the changed channels in ``new_versions``). Then it
reads the latest checkpoint back, as resuming a run does.

Compared: graphkit's LMDBSaver / InMemorySaver against LangGraph's SqliteSaver /
InMemorySaver, and LMDBSaver against the physical limit: the same bytes written to
bare LMDB, one transaction per step, then read back.

Three workloads, each side by side with its LangGraph counterpart: LMDBSaver (fsync)
vs SqliteSaver (its default, also durable), LMDBSaver(sync=False) vs SqliteSaver with
``PRAGMA synchronous=OFF``, and InMemorySaver vs LangGraph's InMemorySaver. The LMDB
rows also report bare LMDB writes of the same bytes with the same fsync setting.

Run: ``.venv/bin/python -m graphkit.bench.harness --quick saver`` (the table) or
``.venv/bin/python -m graphkit.bench.bench_saver`` (every saver, one line each).
"""

from __future__ import annotations

import datetime as dt
import itertools
import sqlite3
import statistics
from collections.abc import Callable, Iterator
from typing import Any

from graphkit.bench.harness import Workload, _time_sample, scratch_dir

STEPS = 200
CONSTANT_KEYS = 10
_threads = itertools.count()


def _message(step: int, role: str) -> dict[str, str]:
    return {"role": role, "content": (f"{role} {step}: " + "lorem ipsum dolor sit " * 9)[:200]}


def _constant() -> dict[str, Any]:
    return {f"k{i}": {"value": i, "label": f"key {i}"} for i in range(CONSTANT_KEYS)}


def _chat_steps() -> Iterator[tuple[int, dict[str, Any], dict[str, int], dict[str, int]]]:
    """The ``STEPS`` steps of one chat thread: (step, channel values, a copy of the
    channel versions, new_versions: the channels the step changed)."""
    values: dict[str, Any] = {**_constant(), "messages": [], "step": 0}
    versions = dict.fromkeys(values, 1)
    new_versions = dict(versions)
    for step in range(STEPS):
        yield step, values, dict(versions), new_versions
        values = {
            **values,
            "messages": [*values["messages"], _message(step, "user"), _message(step, "ai")],
            "step": step + 1,
        }
        versions["messages"] += 1
        versions["step"] += 1
        new_versions = {"messages": versions["messages"], "step": versions["step"]}


def _graphkit(saver: Any) -> Callable[[], object]:
    """One run of the workload against a graphkit saver."""
    from graphkit.stores.checkpoint import empty_checkpoint

    def run() -> None:
        config: dict[str, Any] = {"configurable": {"thread_id": f"gk-{next(_threads)}"}}
        base_len = 0
        for step, values, versions, new_versions in _chat_steps():
            checkpoint = empty_checkpoint()
            checkpoint["channel_values"] = values
            checkpoint["channel_versions"] = versions
            if step:
                checkpoint["channel_appends"] = {"messages": [versions["messages"] - 1, base_len]}
            config = saver.put(config, checkpoint, {"source": "loop", "step": step}, new_versions)
            saver.get_tuple(config)
            base_len = len(values["messages"])

    return run


def _langgraph(saver: Any) -> Callable[[], object]:
    """The same run against a LangGraph saver (its checkpoint format)."""
    from langgraph.checkpoint.base import empty_checkpoint

    def run() -> None:
        config: dict[str, Any] = {
            "configurable": {"thread_id": f"lg-{next(_threads)}", "checkpoint_ns": ""}
        }
        for step, values, versions, new_versions in _chat_steps():
            checkpoint = empty_checkpoint()
            checkpoint["channel_values"] = dict(values)
            checkpoint["channel_versions"] = versions  # type: ignore[typeddict-item]
            config = saver.put(config, checkpoint, {"source": "loop", "step": step}, new_versions)
            saver.get_tuple(config)

    return run


def lmdb_saver(sync: bool = True) -> Callable[[], object]:
    from graphkit.stores.checkpoint import LMDBSaver

    return _graphkit(LMDBSaver(scratch_dir("bench-lmdb-"), sync=sync))


def memory_saver() -> Callable[[], object]:
    from graphkit.stores.checkpoint import InMemorySaver

    return _graphkit(InMemorySaver())


def sqlite_saver(sync: bool = True) -> Callable[[], object]:
    from langgraph.checkpoint.sqlite import SqliteSaver

    path = scratch_dir("bench-sqlite-") + "/db.sqlite"
    conn = sqlite3.connect(path, check_same_thread=False)
    if not sync:
        conn.execute("PRAGMA synchronous=OFF")
    return _langgraph(SqliteSaver(conn))


def langgraph_memory_saver() -> Callable[[], object]:
    from langgraph.checkpoint.memory import InMemorySaver

    return _langgraph(InMemorySaver())


def bare_lmdb(sync: bool = True) -> Callable[[], object]:
    """The physical limit: the bytes LMDBSaver writes per step, in one bare transaction each.

    Per step: the record (metadata packed in, as LMDBSaver stores it), the two new blobs
    (appended messages as a delta, the step counter), written with one ``put`` each in
    one write transaction, then read back in one read transaction. Everything is
    encoded beforehand.
    """
    import lmdb

    from graphkit.stores.serde import default_serializer as serde

    path = scratch_dir("bench-bare-")
    env = lmdb.open(path, map_size=1 << 30, max_dbs=4, sync=sync, metasync=sync)
    db = env.open_db(b"bare")
    versions = {**dict.fromkeys(_constant(), 1), "messages": 1, "step": 1}
    steps = []
    for step in range(STEPS):
        meta = {"source": "loop", "step": step}
        now = dt.datetime.now(dt.timezone.utc).isoformat()
        record = serde.dumps([1, now, versions, {}, "x" * 36, meta])
        delta = b"D" + bytes(40) + serde.dumps([_message(step, "user"), _message(step, "ai")])
        counter = b"F" + serde.dumps(step)
        steps.append([record, delta, counter])
    runs = itertools.count()

    def run() -> None:
        prefix = f"{next(runs)}".encode()
        for step, items in enumerate(steps):
            keys = [prefix + b"/%d/%d" % (step, i) for i in range(len(items))]
            with env.begin(write=True) as txn:
                for key, value in zip(keys, items, strict=True):
                    txn.put(key, value, db=db)
            with env.begin() as txn:
                for key in keys:
                    txn.get(key, db=db)

    return run


def _per_step(setup: Callable[[], Callable[[], object]], repeat: int) -> float:
    """Median seconds per step over ``repeat`` runs (after one warm-up run; GC off while
    timing, as the harness does)."""
    run = setup()
    run()
    return statistics.median(_time_sample(run, 1) for _ in range(repeat)) / STEPS


def _vs_bare(sync: bool) -> Callable[[bool], dict[str, tuple[float, float | None]]]:
    """Metrics: LMDBSaver against bare LMDB writes of the same bytes (same fsync setting)."""

    def metrics(quick: bool) -> dict[str, tuple[float, float | None]]:
        repeat = 3 if quick else 5
        ours = _per_step(lambda: lmdb_saver(sync), repeat)
        bare = _per_step(lambda: bare_lmdb(sync), repeat)
        return {
            "LMDBSaver us/step": (ours * 1e6, None),
            "bare LMDB us/step (same bytes)": (bare * 1e6, None),
            "LMDBSaver / bare LMDB": (ours / bare, None),
        }

    return metrics


WORKLOADS = [
    Workload(
        name="saver_lmdb_sync",
        description=f"{STEPS} chat steps, put + get_tuple each, fsync per commit: "
        "LMDBSaver vs LangGraph SqliteSaver (both durable by default)",
        graphkit=lmdb_saver,
        langgraph=sqlite_saver,
        units=STEPS,
        unit="step",
        repeat=5,
        metrics=_vs_bare(True),
    ),
    Workload(
        name="saver_lmdb_nosync",
        description=f"{STEPS} chat steps, put + get_tuple each, no fsync: "
        "LMDBSaver(sync=False) vs SqliteSaver with PRAGMA synchronous=OFF",
        graphkit=lambda: lmdb_saver(sync=False),
        langgraph=lambda: sqlite_saver(sync=False),
        units=STEPS,
        unit="step",
        repeat=5,
        metrics=_vs_bare(False),
    ),
    Workload(
        name="saver_memory",
        description=f"{STEPS} chat steps, put + get_tuple each: InMemorySaver vs LangGraph InMemorySaver",
        graphkit=memory_saver,
        langgraph=langgraph_memory_saver,
        units=STEPS,
        unit="step",
        repeat=5,
    ),
]


def main() -> None:
    """Print per-step times of every saver and of bare LMDB."""
    rows: list[tuple[str, Callable[[], Callable[[], object]]]] = [
        ("graphkit LMDBSaver (no fsync)", lambda: lmdb_saver(sync=False)),
        ("bare LMDB, same bytes (no fsync)", lambda: bare_lmdb(sync=False)),
        ("LangGraph SqliteSaver (sync=OFF)", lambda: sqlite_saver(sync=False)),
        ("graphkit LMDBSaver (fsync)", lmdb_saver),
        ("bare LMDB, same bytes (fsync)", bare_lmdb),
        ("LangGraph SqliteSaver (default)", sqlite_saver),
        ("graphkit InMemorySaver", memory_saver),
        ("LangGraph InMemorySaver", langgraph_memory_saver),
    ]
    print(f"{STEPS} steps per run, each put + get_tuple; median of 5 runs")
    for name, setup in rows:
        per_step = _per_step(setup, 5)
        print(f"  {name:32s} {per_step * 1e6:9.1f} us/step  {1 / per_step:9.0f} steps/s")


if __name__ == "__main__":
    main()
