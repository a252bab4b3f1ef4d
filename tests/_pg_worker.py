"""A worker process for tests/test_checkpoint_postgres.py: runs one thread's graph N times.

Usage: python tests/_pg_worker.py URL THREAD NAME RUNS
Prints one JSON line: {"ok": [...messages of runs that finished], "conflicts": n}.
"""

from __future__ import annotations

import json
import operator
import sys
import time
from typing import Annotated, Any, TypedDict

from graphkit import START, StateGraph
from graphkit.checkpoint.postgres import CheckpointConflictError, PostgresSaver


class State(TypedDict, total=False):
    log: Annotated[list[str], operator.add]
    steps: int


def build(saver: PostgresSaver) -> Any:
    def step(state: State) -> dict[str, Any]:
        time.sleep(0.002)
        return {"steps": state.get("steps", 0) + 1}

    builder = StateGraph(State)
    builder.add_node("a", step)
    builder.add_node("b", step)
    builder.add_edge(START, "a")
    builder.add_edge("a", "b")
    return builder.compile(checkpointer=saver)


def main(url: str, thread: str, name: str, runs: int) -> None:
    ok: list[str] = []
    conflicts = 0
    with PostgresSaver.from_conn_string(url) as saver:
        graph = build(saver)
        for i in range(runs):
            message = f"{name}-{i}"
            try:
                graph.invoke({"log": [message]}, {"configurable": {"thread_id": thread}})
                ok.append(message)
            except CheckpointConflictError as exc:
                assert thread in str(exc)
                conflicts += 1
    print(json.dumps({"ok": ok, "conflicts": conflicts}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]))
