"""Long histories with the garbage collector on: best and mean process CPU per call.

``graphkit bench`` pauses the collector while it times (``--gc`` keeps it on); this
prints both the best call and the mean of ``calls`` back-to-back calls, collector on,
for one workload of ``graphkit/bench/bench_history.py`` at one history length. The
gap between the two is what collections cost a program. Run it from outside the
checkout with ``PYTHONPATH=<another checkout>`` to measure that code instead:

    python benchmarks/history_gc.py turn 10000 30   # a chat turn on a 10k-message thread
    python benchmarks/history_gc.py state 10000 30  # get_state of that thread
    python benchmarks/history_gc.py step 10000 30   # 50 steps appending to a 10k history
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

from graphkit.bench.bench_history import _chat_turn, _get_state, _history_step

WORKLOADS: dict[str, Callable[..., Callable[[], object]]] = {
    "step": _history_step,
    "turn": _chat_turn,
    "state": _get_state,
}


def main(argv: list[str]) -> None:
    """``argv``: workload (step, turn, state), history length, calls (default 30)."""
    which, size = argv[0], int(argv[1])
    calls = int(argv[2]) if len(argv) > 2 else 30
    call = WORKLOADS[which](size, lang=False)
    call()  # warm-up
    best, start = float("inf"), time.process_time()
    for _ in range(calls):
        before = time.process_time()
        call()
        best = min(best, time.process_time() - before)
    mean = (time.process_time() - start) / calls
    print(f"{which} {size}: best {best * 1e3:.2f} ms, mean {mean * 1e3:.2f} ms (collector on)")


if __name__ == "__main__":
    main(sys.argv[1:])
