"""The benchmark harness: run a workload's graphkit and LangGraph versions alternately.

A workload module exposes ``WORKLOADS: list[Workload]``. Each side is a *setup*
function returning the callable to time (so building graphs, opening stores and
warming caches stay outside the measurement). The harness alternates the two
sides for several repetitions, so machine noise hits both, and reports the
median and minimum of each plus the ratio of medians (LangGraph / graphkit:
above 1 means graphkit is faster).

Non-time measurements (bytes on disk, recall) are reported through ``metrics``.
"""

from __future__ import annotations

import atexit
import gc
import importlib
import json
import os
import pkgutil
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

Setup = Callable[[], Callable[[], object]]
Progress = Callable[[int, int, str, str], None]
"""``progress(done, total, workload, detail)``: ``done`` of ``total`` workloads finished,
``workload`` is running and ``detail`` says which part (setup, a sample, metrics)."""


@dataclass(slots=True)
class Workload:
    """One piece of work measured in both frameworks."""

    name: str
    """Short unique name, used by ``--only``."""
    description: str
    """What one timed run does."""
    graphkit: Setup
    """Builds the graphkit version; returns the callable to time."""
    langgraph: Setup | None = None
    """Builds the LangGraph version, or None when there is no counterpart."""
    units: int = 1
    """How many units (steps, items, ...) one run processes, for per-unit times."""
    unit: str = "run"
    """Name of the unit, e.g. "step"."""
    repeat: int = 7
    """Timed repetitions per side (``--quick`` uses 3)."""
    metrics: Callable[[bool], dict[str, tuple[float, float | None]]] | None = None
    """Optional extra numbers: name -> (graphkit value, LangGraph value or None)."""


@dataclass(slots=True)
class Result:
    """What one workload measured. Times are seconds per run."""

    name: str
    description: str
    unit: str
    units: int
    graphkit_median: float
    graphkit_min: float
    langgraph_median: float | None = None
    langgraph_min: float | None = None
    metrics: dict[str, tuple[float, float | None]] = field(default_factory=dict)
    error: str | None = None
    seconds: float = 0.0
    """Wall time the workload took, setup and metrics included."""

    @property
    def ratio(self) -> float | None:
        """LangGraph median / graphkit median (above 1: graphkit is faster)."""
        if self.langgraph_median is None or self.graphkit_median <= 0:
            return None
        return self.langgraph_median / self.graphkit_median


_scratch_root: list[str] = []


def scratch_dir(prefix: str) -> str:
    """A fresh directory for a workload's files, removed when the process exits.

    Every directory lives under one root per process (``graphkit-bench-*`` in the
    temporary directory), so a benchmark run leaves nothing behind, however many
    savers and stores its workloads open.
    """
    if not _scratch_root:
        _scratch_root.append(tempfile.mkdtemp(prefix="graphkit-bench-"))
    return tempfile.mkdtemp(prefix=prefix, dir=_scratch_root[0])


def _remove_scratch() -> None:
    for root in _scratch_root:
        shutil.rmtree(root, ignore_errors=True)


# Registered on import, before any workload module registers its own exit hook
# (closing its stores), so the directories go last.
atexit.register(_remove_scratch)


def langgraph_available() -> bool:
    """True when LangGraph is importable (it is a dev dependency, used only here)."""
    try:
        importlib.import_module("langgraph")
    except ImportError:
        return False
    return True


QUICK = frozenset(
    {
        "chain",
        "fanout",
        "wide",
        "get_state_wide",
        "ckpt_chain_async",
        "saver_memory",
        "saver_lmdb_nosync",
        "history_step_1000",
        "get_state_1000",
        "compile_100",
        "react_agent",
        "store_search_memory_1k",
        "store_search_lmdb_1k",
        "store_put_batch_memory",
    }
)
"""What ``--quick`` runs: the light workloads of each area (engine, checkpoints, history,
compile, agent, store), under a minute on 2 shared cores. A full run measures all."""


def discover(only: Iterable[str] | None = None, *, quick: bool = False) -> list[Workload]:
    """All workloads of ``graphkit/bench/bench_*.py``, optionally only those named.

    ``quick`` keeps only the :data:`QUICK` ones, except those ``only`` names.
    """
    from graphkit import bench

    wanted = set(only or ())
    found: list[Workload] = []
    for info in sorted(pkgutil.iter_modules(bench.__path__), key=lambda m: m.name):
        if not info.name.startswith("bench_"):
            continue
        module = importlib.import_module(f"graphkit.bench.{info.name}")
        for workload in getattr(module, "WORKLOADS", []):
            in_module = not wanted or info.name[6:] in wanted
            if workload.name in wanted or (in_module and (workload.name in QUICK or not quick)):
                found.append(workload)
    return found


MIN_SAMPLE_SECONDS = 0.02
"""A timed sample repeats a fast call until it lasts about this long: a single call
of a few microseconds would measure the allocator refilling after ``gc.collect()``."""


def _calls_per_sample(fn: Callable[[], object]) -> int:
    """How many calls make one sample of at least ``MIN_SAMPLE_SECONDS``."""
    start = time.perf_counter()
    fn()
    once = time.perf_counter() - start
    return max(1, min(10_000, int(MIN_SAMPLE_SECONDS / max(once, 1e-7))))


def _warm_up(fn: Callable[[], object]) -> int:
    """Run ``fn`` once untimed; return how many calls make one sample. A slow first run
    (10 samples' worth) needs no second run to tell: one call per sample."""
    start = time.perf_counter()
    fn()
    if time.perf_counter() - start >= 10 * MIN_SAMPLE_SECONDS:
        return 1
    return _calls_per_sample(fn)


GC_SAMPLE_CALLS = 4
"""Calls a sample makes at least with the collector on (``--gc``): a full collection
that comes every other call or so is then averaged in, not missed or caught whole.
Not a longer sample than that: some workloads grow their state call by call (a chat
turn adds to its thread)."""


def _time_sample(
    fn: Callable[[], object],
    calls: int,
    timer: Callable[[], float] = time.perf_counter,
    collect: bool = False,
) -> float:
    """Seconds per call, over ``calls`` back-to-back calls (GC paused, unless ``collect``:
    then the collector runs as it would in a program, collections included in the time)."""
    if collect:
        start = timer()
        for _ in range(calls):
            fn()
        return (timer() - start) / calls
    gc.collect()
    gc.disable()
    try:
        start = timer()
        for _ in range(calls):
            fn()
        return (timer() - start) / calls
    finally:
        gc.enable()


def _no_tick(detail: str) -> None:
    pass


def measure(
    workload: Workload,
    *,
    quick: bool = False,
    with_langgraph: bool = True,
    tick: Callable[[str], None] = _no_tick,
    cpu: bool = False,
    collect: bool = False,
) -> Result:
    """Run one workload: warm up each side, then alternate timed samples.

    Runs that take less than ``MIN_SAMPLE_SECONDS`` are repeated within a sample and
    reported per call. Workloads whose runs must not repeat (each run needs fresh
    state) do their own setup inside the timed callable. ``tick`` hears which part
    is running (for a progress line). ``cpu``: measure the process's CPU time (all its
    threads) instead of wall time: steadier on a shared machine, but time spent waiting
    (on fsync, on other processes) is not counted. ``collect``: keep the cyclic garbage
    collector on (``GC_SAMPLE_CALLS`` calls per sample at least), as a program runs.
    """
    timer = time.process_time if cpu else time.perf_counter
    repeat = 3 if quick else workload.repeat
    tick("graphkit setup")
    ours = workload.graphkit()
    theirs = None
    if workload.langgraph and with_langgraph:
        tick("LangGraph setup")
        theirs = workload.langgraph()
    tick("warm-up")
    ours_calls = _warm_up(ours)
    theirs_calls = _warm_up(theirs) if theirs is not None else 1
    if collect:
        ours_calls = max(ours_calls, GC_SAMPLE_CALLS)
        theirs_calls = max(theirs_calls, GC_SAMPLE_CALLS)
    ours_times: list[float] = []
    theirs_times: list[float] = []
    for i in range(repeat):
        tick(f"sample {i + 1}/{repeat}")
        ours_times.append(_time_sample(ours, ours_calls, timer, collect))
        if theirs is not None:
            theirs_times.append(_time_sample(theirs, theirs_calls, timer, collect))
    result = Result(
        name=workload.name,
        description=workload.description,
        unit=workload.unit,
        units=workload.units,
        graphkit_median=statistics.median(ours_times),
        graphkit_min=min(ours_times),
    )
    if theirs_times:
        result.langgraph_median = statistics.median(theirs_times)
        result.langgraph_min = min(theirs_times)
    if workload.metrics is not None:
        tick("extra metrics")
        result.metrics = workload.metrics(quick)
    return result


def machine() -> dict[str, Any]:
    """The hardware and software a run was measured on."""
    info: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
    }
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        from importlib.metadata import version

        info["langgraph"] = version("langgraph")
    except Exception:
        info["langgraph"] = None
    return info


def format_time(seconds: float | None) -> str:
    """A duration with a readable unit."""
    if seconds is None:
        return "-"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.2f} {unit}"
    return f"{seconds / 1e-9:.0f} ns"


def format_table(results: list[Result]) -> str:
    """A plain-text table: one row per workload, then one per extra metric."""
    header = ("workload", "graphkit", "LangGraph", "ratio", "per unit (gk)")
    rows = [header]
    for r in results:
        if r.error:
            rows.append((r.name, "error", r.error[:40], "", ""))
            continue
        per_unit = r.graphkit_median / r.units if r.units else r.graphkit_median
        rows.append(
            (
                r.name,
                format_time(r.graphkit_median),
                format_time(r.langgraph_median),
                f"{r.ratio:.1f}x" if r.ratio else "-",
                f"{format_time(per_unit)}/{r.unit}",
            )
        )
        for key, (ours, theirs) in r.metrics.items():
            ratio = f"{theirs / ours:.1f}x" if theirs and ours else "-"
            rows.append(
                (f"  {key}", f"{ours:,.4g}", f"{theirs:,.4g}" if theirs else "-", ratio, "")
            )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def run(
    workloads: list[Workload],
    *,
    quick: bool = False,
    json_path: str | None = None,
    progress: Progress | None = None,
    cpu: bool = False,
    collect: bool = False,
) -> list[Result]:
    """Measure every workload; optionally write the results as JSON. ``cpu``: process CPU
    time instead of wall time; ``collect``: the garbage collector on (see ``measure``)."""
    with_langgraph = langgraph_available()
    results: list[Result] = []
    total = len(workloads)
    for i, workload in enumerate(workloads):

        def tick(detail: str, i: int = i, name: str = workload.name) -> None:
            if progress:
                progress(i, total, name, detail)

        start = time.perf_counter()
        try:
            result = measure(
                workload,
                quick=quick,
                with_langgraph=with_langgraph,
                tick=tick,
                cpu=cpu,
                collect=collect,
            )
        except Exception as exc:  # one broken workload must not hide the others
            result = Result(
                workload.name,
                workload.description,
                workload.unit,
                workload.units,
                0.0,
                0.0,
                error=f"{type(exc).__name__}: {exc}",
            )
        result.seconds = time.perf_counter() - start
        results.append(result)
    if progress:
        progress(total, total, "", "done")
    if json_path:
        payload = {
            "machine": machine(),
            "timer": "process CPU" if cpu else "wall",
            "gc": "on" if collect else "paused",
            "results": [asdict(r) | {"ratio": r.ratio} for r in results],
        }
        with open(json_path, "w") as fh:
            json.dump(payload, fh, indent=2)
    return results


def main(argv: list[str] | None = None) -> int:
    """``python -m graphkit.bench.harness [--quick] [NAME ...]``."""
    args = sys.argv[1:] if argv is None else argv
    quick = "--quick" in args
    names = [a for a in args if not a.startswith("--")]
    results = run(discover(names or None, quick=quick), quick=quick)
    print(format_table(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
