"""PostgresSaver against langgraph-checkpoint-postgres (and LMDB), on one server.

Both savers write to the same PostgreSQL server, each in a schema of its own:
``$GRAPHKIT_TEST_PG_URL`` if set, else a throwaway server started for the run
(``tests/pg_server.py``: a temp dir, a unix socket, ``fsync=off``, so the numbers
are CPU and round trips, not disk).

Run from the repository root (it needs ``tests/pg_server.py``, so it is not one of
the packaged ``graphkit bench`` workloads)::

    .venv/bin/python -m benchmarks.bench_postgres           # everything below
    .venv/bin/python -m benchmarks.bench_postgres --store   # only the store search
    .venv/bin/python -m benchmarks.bench_postgres --steps   # only the per-step costs

- per step, ``durability="sync"``: one run of a 100-node chain on a fresh thread (101
  checkpoints), and 10 turns of a checkpointed ReAct loop on one thread (human message,
  agent calls a tool, tool answers, agent answers: 1 KB each); graphkit's
  PostgresSaver, langgraph-checkpoint-postgres, and graphkit's LMDBSaver for scale;
  wall time and CPU time of this process plus the server's processes (medians of the
  rounds; CPU is the steadier figure on a machine shared with other jobs, but it
  leaves out waiting on the socket);
- table space after 1,000 turns appending 1 KB each;
- steps/s of 1, 8 and 32 concurrent conversations spread over 4 worker processes;
- ``--store``: search latency and recall@10 over 50,000 memories while another
  process writes (and whether the reader then finds every write).
"""

from __future__ import annotations

import atexit
import itertools
import json
import operator
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypedDict

ROOT = Path(__file__).resolve().parent.parent
CHAIN = 100
TURNS = 10
ROUNDS = 5
SHAPES = (("chain", CHAIN + 1), ("react", TURNS * 4))
"""Per-step workloads and the checkpoints one run of each saves."""
_server: Any = None
_ids = itertools.count()


def server_url() -> str:
    """The server to use (started on first call, stopped at exit)."""
    global _server
    url = os.environ.get("GRAPHKIT_TEST_PG_URL")
    if url:
        return url
    if _server is None:
        sys.path.insert(0, str(ROOT / "tests"))
        from pg_server import start

        _server = start()
        atexit.register(_server.stop)
    return str(_server.url)


def schema_url(name: str, *, fresh: bool = False) -> str:
    """A URL whose ``search_path`` is schema ``name`` (created if missing; dropped and
    created anew with ``fresh``)."""
    import psycopg

    url = server_url()
    with psycopg.connect(url, autocommit=True) as conn:
        if fresh:
            conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{name}"')
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3D{name}"


class ChainState(TypedDict):
    x: int


class ChatState(TypedDict, total=False):
    messages: Annotated[list[dict[str, str]], operator.add]


def _kb(role: str) -> dict[str, str]:
    return {"role": role, "content": secrets.token_hex(512)}  # 1 KB, incompressible


def _chain(state_graph: Any, start: Any, saver: Any) -> Any:
    builder = state_graph(ChainState)
    for i in range(CHAIN):
        builder.add_node(f"n{i}", lambda s: {"x": s["x"] + 1})
    builder.add_edge(start, "n0")
    for i in range(CHAIN - 1):
        builder.add_edge(f"n{i}", f"n{i + 1}")
    return builder.compile(checkpointer=saver)


def _react(state_graph: Any, start: Any, end: Any, saver: Any) -> Any:
    def agent(state: ChatState) -> dict[str, Any]:
        last = state["messages"][-1]["role"]
        return {"messages": [_kb("ai-call" if last == "human" else "ai")]}

    def route(state: ChatState) -> str:
        return "tools" if state["messages"][-1]["role"] == "ai-call" else end

    builder = state_graph(ChatState)
    builder.add_node("agent", agent)
    builder.add_node("tools", lambda s: {"messages": [_kb("tool")]})
    builder.add_edge(start, "agent")
    builder.add_conditional_edges("agent", route)
    builder.add_edge("tools", "agent")
    return builder.compile(checkpointer=saver)


def _graphkit_saver(kind: str, schema: str = "bench_gk") -> Any:
    """A graphkit saver; PostgreSQL ones in a new, empty ``schema`` (earlier runs on
    the same server leave nothing behind to slow either side)."""
    if kind == "lmdb":
        from graphkit.bench.harness import scratch_dir
        from graphkit.checkpoint.lmdb import LMDBSaver

        return LMDBSaver(scratch_dir("bench-pg-lmdb-"))
    from graphkit.checkpoint.postgres import PostgresSaver

    saver = PostgresSaver(schema_url(schema, fresh=True))
    saver.setup()
    return saver


def _langgraph_saver(schema: str = "bench_lg") -> Any:
    import psycopg
    from langgraph.checkpoint.postgres import PostgresSaver as LGSaver
    from psycopg.rows import dict_row

    conn = psycopg.connect(
        schema_url(schema, fresh=True), autocommit=True, prepare_threshold=0, row_factory=dict_row
    )
    saver = LGSaver(conn)
    saver.setup()
    return saver


def _gk_graph(kind: str, shape: str) -> Any:
    from graphkit import END, START, StateGraph

    saver = _graphkit_saver(kind, f"bench_gk_{shape}")
    return (
        _chain(StateGraph, START, saver)
        if shape == "chain"
        else _react(StateGraph, START, END, saver)
    )


def _lg_graph(shape: str) -> Any:
    from langgraph.graph import END, START, StateGraph

    saver = _langgraph_saver(f"bench_lg_{shape}")
    return (
        _chain(StateGraph, START, saver)
        if shape == "chain"
        else _react(StateGraph, START, END, saver)
    )


def _chain_run(graph: Any) -> Callable[[], object]:
    def run() -> object:
        config = {"configurable": {"thread_id": f"chain-{next(_ids)}"}}
        return graph.invoke({"x": 0}, config, durability="sync")

    return run


def _react_run(graph: Any) -> Callable[[], object]:
    def run() -> object:
        config = {"configurable": {"thread_id": f"react-{next(_ids)}"}}
        for _ in range(TURNS):
            graph.invoke({"messages": [_kb("human")]}, config, durability="sync")
        return None

    return run


def _has_langgraph_postgres() -> bool:
    try:
        import langgraph.checkpoint.postgres  # noqa: F401
    except ImportError:
        return False
    return True


_LG = _has_langgraph_postgres()


# ------------------------------------------------------------ standalone report
def _server_pids() -> list[int]:
    """The server's processes (postmaster and children), if it runs on this machine."""
    import psycopg

    try:
        with psycopg.connect(server_url(), autocommit=True) as conn:
            backend = int(conn.execute("SELECT pg_backend_pid()").fetchone()[0])
        postmaster = int(Path(f"/proc/{backend}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return []
    pids = [postmaster]
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == postmaster:
                pids.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return pids


def _cpu_seconds(server: list[int]) -> float:
    """CPU used so far by this process and by the ``server`` processes: on a machine
    shared with other jobs, a steadier figure than wall time (the server's from
    ``/proc/PID/schedstat``, in nanoseconds)."""
    total = time.process_time()
    for pid in server:
        try:
            total += int(Path(f"/proc/{pid}/schedstat").read_text().split()[0]) / 1e9
        except (OSError, ValueError, IndexError):
            continue  # ended meanwhile
    return total


def _per_step(run: Callable[[], object], steps: int, repeat: int = 3) -> tuple[float, float]:
    """(wall seconds, CPU seconds of client + server) per step, medians of ``repeat``."""
    run()  # warm up
    server = _server_pids()
    times, cpus = [], []
    for _ in range(repeat):
        cpu = _cpu_seconds(server)
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
        cpus.append(_cpu_seconds(server) - cpu)
    return sorted(times)[len(times) // 2] / steps, sorted(cpus)[len(cpus) // 2] / steps


def _table_bytes(url: str, tables: list[str]) -> int:
    import psycopg

    with psycopg.connect(url) as conn:
        return int(
            sum(
                conn.execute("SELECT pg_total_relation_size(%s)", (t,)).fetchone()[0]
                for t in tables
            )
        )


def table_space(turns: int = 1000) -> dict[str, int]:
    """Bytes of each saver's tables after ``turns`` turns appending 1 KB each."""
    from graphkit import END, START, StateGraph

    def build(state_graph: Any, start: Any, end: Any, saver: Any) -> Any:
        builder = state_graph(ChatState)
        builder.add_node("reply", lambda s: {"messages": [_kb("ai")]})
        builder.add_edge(start, "reply")
        builder.add_edge("reply", end)
        return builder.compile(checkpointer=saver)

    out: dict[str, int] = {}
    gk_url = schema_url("space_gk", fresh=True)
    from graphkit.checkpoint.postgres import PostgresSaver

    with PostgresSaver.from_conn_string(gk_url) as saver:
        saver.setup()
        saver.delete_thread("space")
        graph = build(StateGraph, START, END, saver)
        for _ in range(turns):
            graph.invoke({}, {"configurable": {"thread_id": "space"}}, durability="sync")
    out["graphkit"] = _table_bytes(
        gk_url, ["graphkit_checkpoints", "graphkit_blobs", "graphkit_writes"]
    )
    if _LG:
        from langgraph.graph import END as LEND
        from langgraph.graph import START as LSTART
        from langgraph.graph import StateGraph as LGraph

        lg_url = schema_url("space_lg", fresh=True)
        import psycopg
        from langgraph.checkpoint.postgres import PostgresSaver as LGSaver
        from psycopg.rows import dict_row

        with psycopg.connect(
            lg_url, autocommit=True, prepare_threshold=0, row_factory=dict_row
        ) as conn:
            saver = LGSaver(conn)
            saver.setup()
            saver.delete_thread("space")
            graph = build(LGraph, LSTART, LEND, saver)
            for _ in range(turns):
                graph.invoke({}, {"configurable": {"thread_id": "space"}}, durability="sync")
        out["langgraph"] = _table_bytes(
            lg_url, ["checkpoints", "checkpoint_blobs", "checkpoint_writes"]
        )
    return out


_WORKER = """
import json, sys, time, threading
sys.path.insert(0, {root!r})
from benchmarks.bench_postgres import _chain
from graphkit import START, StateGraph
from graphkit.checkpoint.postgres import PostgresSaver
url, worker, threads, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
steps = [0] * threads
with PostgresSaver(url) as saver:
    graph = _chain(StateGraph, START, saver)
    stop = time.monotonic() + seconds
    def conversation(i):
        n = 0
        while time.monotonic() < stop:
            graph.invoke({{"x": 0}}, {{"configurable": {{"thread_id": f"c-{{worker}}-{{i}}-{{n}}"}}}},
                         durability="sync")
            n += 1
            steps[i] += 101
    ts = [threading.Thread(target=conversation, args=(i,)) for i in range(threads)]
    [t.start() for t in ts]
    [t.join() for t in ts]
print(json.dumps(sum(steps)))
"""


def throughput(conversations: int, workers: int = 4, seconds: float = 10.0) -> float:
    """Steps/s of ``conversations`` concurrent conversations over ``workers`` processes."""
    url = schema_url("bench_gk")
    from graphkit.checkpoint.postgres import PostgresSaver

    with PostgresSaver(url) as saver:
        saver.setup()
    code = _WORKER.format(root=str(ROOT))
    per = [
        conversations // workers + (1 if i < conversations % workers else 0) for i in range(workers)
    ]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, url, str(i), str(n), str(seconds)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for i, n in enumerate(per)
        if n
    ]
    total = sum(json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in procs)
    return total / seconds


DIMS = 128


def _vectors(texts: list[str]) -> list[list[float]]:
    """A deterministic vector per text, clustered as real embeddings are (one of 500
    topics plus noise): stands in for a model. Uniform random vectors would be the
    worst case for any ANN index, unlike any embedding model's output."""
    import numpy as np

    out = []
    for text in texts:
        seed = int.from_bytes(text.encode()[-8:].rjust(8, b"\0"), "big") ^ len(text)
        center = np.random.default_rng(seed % 500 + 1_000_000).standard_normal(DIMS)
        noise = np.random.default_rng(seed).standard_normal(DIMS)
        out.append((center + 0.5 * noise).astype("float32").tolist())
    return out


_WRITER = """
import sys, time
sys.path.insert(0, {root!r})
from benchmarks.bench_postgres import _vectors, DIMS
from graphkit.store.postgres import PostgresStore
url, seconds = sys.argv[1], float(sys.argv[2])
n = 0
index = {{"dims": DIMS, "embed": _vectors, "fields": ["text"]}}
with PostgresStore(url, index=index, vector_cache=False, listen=False) as store:
    stop = time.monotonic() + seconds
    while time.monotonic() < stop:
        store.put(("other",), f"w{{n}}", {{"text": f"written {{n}} {{time.time()}}"}})
        n += 1
print(n)
"""


def store_search(items: int = 50_000, queries: int = 200) -> dict[str, float]:
    """Search latency and recall@10 over ``items`` memories while another process writes."""
    import numpy as np

    from graphkit.store.postgres import PostgresStore
    from graphkit.stores.store.base import PutOp

    sys.path.insert(0, str(ROOT / "tests"))
    from pg_server import fresh_schema

    url = fresh_schema(server_url(), "bench_store")
    index = {"dims": DIMS, "embed": _vectors, "fields": ["text"]}
    texts = [f"memory number {i}" for i in range(items)]
    with PostgresStore(url, index=index, listen=False) as loader:
        loader.setup()
        start = time.perf_counter()
        for at in range(0, items, 2000):
            loader.batch(
                [
                    PutOp(("items",), f"k{i}", {"text": texts[i]})
                    for i in range(at, min(at + 2000, items))
                ]
            )
        load_s = time.perf_counter() - start
    truth = np.asarray(_vectors(texts), dtype=np.float32)
    truth /= np.linalg.norm(truth, axis=1, keepdims=True)
    start = time.perf_counter()
    reader = PostgresStore(url, index=index)
    reader.search(("items",), query="warm up")
    open_s = time.perf_counter() - start
    writer = subprocess.Popen(
        [sys.executable, "-c", _WRITER.format(root=str(ROOT)), url, "15"],
        stdout=subprocess.PIPE,
        text=True,
    )
    time.sleep(2)
    latencies, hits = [], 0
    for q in range(queries):
        query = f"query {q}"
        qv = np.asarray(_vectors([query])[0], dtype=np.float32)
        want = {f"k{i}" for i in np.argsort(-(truth @ (qv / np.linalg.norm(qv))))[:10]}
        t = time.perf_counter()
        found = reader.search(("items",), query=query, limit=10)
        latencies.append(time.perf_counter() - t)
        hits += len(want & {item.key for item in found})
    written = writer.communicate()[0].strip()
    seen_other = len(reader.search(("other",), limit=100_000))
    reader.close()
    latencies.sort()
    return {
        "load_s": load_s,
        "open_s": open_s,
        "median_ms": latencies[len(latencies) // 2] * 1000,
        "p95_ms": latencies[int(len(latencies) * 0.95)] * 1000,
        "recall_at_10": hits / (10 * queries),
        "writer_puts": float(written or 0),
        "reader_saw": float(seen_other),
    }


def main() -> None:
    """Print every figure of this module (``--store``: only the store search;
    ``--steps``: only the per-step costs)."""
    print(f"server: {server_url()}")
    if "--store" in sys.argv:
        print("store search:", json.dumps(store_search(), indent=1), flush=True)
        return
    for shape, steps in SHAPES:
        make = _chain_run if shape == "chain" else _react_run
        runs = {"graphkit PostgresSaver": make(_gk_graph("pg", shape))}
        if _LG:
            runs["langgraph PostgresSaver"] = make(_lg_graph(shape))
        runs["graphkit LMDBSaver"] = make(_gk_graph("lmdb", shape))
        times: dict[str, list[float]] = {name: [] for name in runs}
        cpus: dict[str, list[float]] = {name: [] for name in runs}
        for _ in range(ROUNDS):  # alternate, so load on the machine hits every saver alike
            for name, run in runs.items():
                wall, cpu = _per_step(run, steps, repeat=1)
                times[name].append(wall)
                cpus[name].append(cpu)
        for label, got in (("wall", times), ("CPU client+server", cpus)):
            median = {name: sorted(t)[len(t) // 2] for name, t in got.items()}
            line = ", ".join(f"{name} {t * 1e6:.0f} us/step" for name, t in median.items())
            if _LG:
                ratio = median["langgraph PostgresSaver"] / median["graphkit PostgresSaver"]
                line += f" (langgraph / graphkit: {ratio:.1f}x)"
            print(f"{shape} ({label}): {line}", flush=True)
    if "--steps" in sys.argv:
        return
    space = table_space()
    print(
        "table space after 1,000 turns of 1 KB: "
        + ", ".join(f"{k} {v / 1e6:.1f} MB" for k, v in space.items())
        + (f" ({space['langgraph'] / space['graphkit']:.0f}x)" if "langgraph" in space else ""),
        flush=True,
    )
    for n in (1, 8, 32):
        print(f"{n:2} conversations / 4 processes: {throughput(n):8.0f} steps/s", flush=True)


if __name__ == "__main__":
    main()
