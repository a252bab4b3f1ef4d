"""Instructions per checkpointed step (callgrind): deterministic, unlike timings on a
shared VM, so a change of a few percent in the save path shows.

Runs the 1000-step loop graph of ``graphkit bench`` with N and then 2N steps, each
inside a libc ``bsearch`` callback (ctypes), under ``valgrind --tool=callgrind``
collecting only inside ctypes' callback (``closure_fcn``); per step is
``(I(2N) - I(N)) / N``, so a run's fixed cost cancels out. Savers:

* ``lmdb``: ``LMDBSaver(sync=False)`` (the ``ckpt_loop_nosync`` workload's)
* ``memory``: ``InMemorySaver``
* ``null``: a saver whose writer stores nothing (the engine's share of a save)
* ``none``: no checkpointer (subtract it: what checkpointing adds)

Under valgrind a step takes milliseconds, so every checkpoint id and timestamp is
made in a new millisecond (at full speed ~10 steps share one): the id's and ``ts``'s
per-millisecond work counts in full here.

    python benchmarks/save_instructions.py lmdb 200
"""

from __future__ import annotations

import ctypes
import glob
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from typing import Any


def _saver(kind: str) -> Any:
    from graphkit.stores.checkpoint import InMemorySaver, LMDBSaver
    from graphkit.stores.checkpoint.base import (
        Checkpoint,
        CheckpointMetadata,
        CheckpointWriter,
        RunnableConfig,
    )

    class _Nothing(CheckpointWriter):
        def put(
            self,
            config: RunnableConfig,
            checkpoint: Checkpoint,
            metadata: CheckpointMetadata,
            new_versions: dict[str, int],
        ) -> None:
            return None

    class _Null(InMemorySaver):
        def writer(self, config: RunnableConfig) -> CheckpointWriter:
            return _Nothing(self)

    makers: dict[str, Callable[[], Any]] = {
        "lmdb": lambda: LMDBSaver(tempfile.mkdtemp(), sync=False),
        "memory": InMemorySaver,
        "null": _Null,
        "none": lambda: None,
    }
    return makers[kind]()


def _child(kind: str, steps: int) -> None:
    """Run N and 2N steps, each in a ctypes callback (what callgrind collects)."""
    from graphkit.bench.bench_engine import loop_graph

    saver = _saver(kind)
    threads = iter(range(1 << 30))

    def run(graph: Any, n: int) -> None:
        config: dict[str, Any] = {"recursion_limit": n + 10}
        if saver is None:
            graph.invoke({"x": 0}, config)
            return
        config["configurable"] = {"thread_id": f"t{next(threads)}"}
        graph.invoke({"x": 0}, config, durability="sync")

    libc = ctypes.CDLL(None)
    compare = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)
    libc.bsearch.restype = ctypes.c_void_p
    libc.bsearch.argtypes = [
        ctypes.c_void_p,
        ctypes.c_void_p,
        ctypes.c_size_t,
        ctypes.c_size_t,
        compare,
    ]
    key, items = ctypes.c_int(0), (ctypes.c_int * 1)(0)
    graphs = [(loop_graph("graphkit", saver, n), n) for n in (steps, 2 * steps)]
    for graph, n in graphs:
        run(graph, n)  # warm
    for graph, n in graphs:

        def counted(a: Any, b: Any, graph: Any = graph, n: int = n) -> int:
            run(graph, n)
            return 0

        libc.bsearch(ctypes.byref(key), items, 1, 4, compare(counted))


def main(argv: list[str]) -> None:
    """``argv``: saver kind (lmdb, memory, null, none), then N (default 200)."""
    if argv[:1] == ["--child"]:
        _child(argv[1], int(argv[2]))
        return
    kind, steps = argv[0], int(argv[1]) if len(argv) > 1 else 200
    out = os.path.join(tempfile.mkdtemp(), "cg")
    subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            "--collect-atstart=no",
            "--toggle-collect=closure_fcn",
            "--dump-after=closure_fcn",
            f"--callgrind-out-file={out}",
            sys.executable,
            __file__,
            "--child",
            kind,
            str(steps),
        ],
        check=True,
        capture_output=True,
    )
    totals = []
    for path in sorted(glob.glob(out + ".*"), key=lambda p: int(p.rsplit(".", 1)[1])):
        with open(path) as dump:
            totals += [int(line.split()[1]) for line in dump if line.startswith("totals:")]
    once, twice = totals[-2:]
    print(f"{kind}: {(twice - once) / steps:.0f} instructions per step (N={steps})")


if __name__ == "__main__":
    main(sys.argv[1:])
