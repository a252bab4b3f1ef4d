"""Send fan-out on local threads versus ``RayExecutor``: where Ray pays and where not.

Run it from a checkout with Ray installed (``pip install -e '.[dev]'``)::

    python -m benchmarks.ray_fanout            # 3 repetitions, median reported
    python -m benchmarks.ray_fanout --quick    # 1 repetition, fewer cases

Workloads (one graph: START fans out N ``Send`` packets to a ``work`` node):

- ``cpu``: each task does about T ms of pure-Python CPU work (a loop calibrated on
  this machine first). Local threads share one GIL, so they take about N * T; Ray
  workers are processes, so they can use every core Ray was given.
- ``trivial``: each task returns at once; the difference per task is the overhead
  Ray adds (serializing the job, scheduling it, sending the result back).

Ray is started here with ``num_cpus`` = this machine's cores and warmed up (its
worker processes started) before anything is timed. Its workers run at normal
priority here (``RAY_worker_niceness=0``): Ray starts them at nice 15, which on a
machine shared with other busy processes starves them (a dedicated cluster does not
care), and the local threads they are compared with run at nice 0. Not part of ``graphkit bench``
(which compares graphkit with LangGraph): this compares two executors of graphkit.
"""

from __future__ import annotations

import argparse
import operator
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Annotated, Any, TypedDict

from graphkit import START, Send, StateGraph
from graphkit.executor import RayExecutor

LOOP = {"n": 10_000}
"""Iterations of ``burn`` per millisecond of CPU (set by ``calibrate``)."""


class Fan(TypedDict):
    sizes: list[int]
    out: Annotated[list[int], operator.add]


def burn(iterations: int) -> int:
    """Pure-Python CPU work (holds the GIL throughout)."""
    total = 0
    for i in range(iterations):
        total += i * i % 7
    return total


def work(iterations: int) -> dict[str, Any]:
    return {"out": [burn(iterations)]}


def calibrate() -> None:
    """Set ``LOOP["n"]`` to the iterations of ``burn`` that take 1 ms here."""
    n = 200_000
    best = min(_timed(lambda: burn(n)) for _ in range(5))
    LOOP["n"] = int(n / (best * 1000))


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def fan_graph(executor: Any) -> Any:
    builder = StateGraph(Fan)
    builder.add_node("work", work)
    builder.add_conditional_edges(START, lambda s: [Send("work", n) for n in s["sizes"]])
    return builder.compile(executor=executor)


def measure(graph: Any, width: int, ms: float, repeat: int) -> float:
    """Median seconds of one run of ``width`` tasks of ``ms`` each."""
    state = {"sizes": [int(LOOP["n"] * ms)] * width, "out": []}
    graph.invoke(state)  # warm-up (Ray: workers started, function shipped)
    return statistics.median(_timed(lambda: graph.invoke(state)) for _ in range(repeat))


def main(argv: list[str] | None = None) -> None:
    import ray
    from ray import cloudpickle

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 repetition, fewer cases")
    args = parser.parse_args(argv)
    repeat = 1 if args.quick else 3
    cpus = os.cpu_count() or 1
    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # run as a script too
    os.environ.setdefault("RAY_worker_niceness", "0")  # as the local threads (see above)
    ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False)
    calibrate()
    local, remote = fan_graph(None), fan_graph(RayExecutor())
    print(f"{cpus} CPUs, load average {os.getloadavg()[0]:.1f}, Python {sys.version.split()[0]}")
    print(f"ray {ray.__version__}; {LOOP['n']} loop iterations per ms of CPU")
    print(f"{'workload':<24} {'local':>10} {'ray':>10} {'speedup':>8}")
    cases = [(200, 20.0), (50, 20.0), (200, 5.0), (20, 100.0)]
    if args.quick:
        cases = cases[:1]
    for width, ms in cases:
        lo = measure(local, width, ms, repeat)
        rm = measure(remote, width, ms, repeat)
        print(f"{f'cpu {width} x {ms:g} ms':<24} {lo:>9.2f}s {rm:>9.2f}s {lo / rm:>7.2f}x")
    lo = measure(local, 200, 0.0, repeat)
    rm = measure(remote, 200, 0.0, repeat)
    print(f"{'trivial 200':<24} {lo * 1e3:>8.1f}ms {rm * 1e3:>8.1f}ms {lo / rm:>7.2f}x")
    print(f"  Ray overhead per task: {(rm - lo) / 200 * 1e6:,.0f} us")
    ray.shutdown()


if __name__ == "__main__":
    main()
