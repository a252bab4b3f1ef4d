"""``config["max_concurrency"]`` bounds how many of a step's tasks run at once: sync
nodes (worker threads), async nodes (on the event loop) and a mix of both."""

from __future__ import annotations

import asyncio
import operator
import threading
import time
from typing import Annotated, Any, TypedDict

import pytest

from graphkit import START, Send, StateGraph
from graphkit.errors import ConfigError


class State(TypedDict):
    items: Annotated[list[int], operator.add]


class Gauge:
    """Counts tasks running at once; remembers the most seen."""

    def __init__(self) -> None:
        self.now = 0
        self.most = 0
        self._lock = threading.Lock()

    def enter(self) -> None:
        with self._lock:
            self.now += 1
            self.most = max(self.most, self.now)

    def leave(self) -> None:
        with self._lock:
            self.now -= 1


def _fan_out(gauge: Gauge, width: int, *, async_nodes: bool, mixed: bool = False) -> Any:
    def work_sync(n: int) -> dict[str, list[int]]:
        gauge.enter()
        time.sleep(0.01)
        gauge.leave()
        return {"items": [n]}

    async def work_async(n: int) -> dict[str, list[int]]:
        gauge.enter()
        await asyncio.sleep(0.01)
        gauge.leave()
        return {"items": [n]}

    builder = StateGraph(State)
    builder.add_node("a", work_async if async_nodes else work_sync)
    targets = ["a"]
    if mixed:  # every other task a sync node in a worker thread
        builder.add_node("b", work_sync)
        targets.append("b")

    def spread(state: State) -> list[Send]:
        return [Send(targets[i % len(targets)], i) for i in range(width)]

    builder.add_conditional_edges(START, spread, targets)
    return builder.compile()


@pytest.mark.parametrize("limit", [1, 3])
@pytest.mark.parametrize("kind", ["async", "mixed"])
def test_ainvoke_runs_at_most_max_concurrency_tasks_at_once(kind: str, limit: int) -> None:
    gauge = Gauge()
    graph = _fan_out(gauge, 12, async_nodes=True, mixed=kind == "mixed")
    out = asyncio.run(graph.ainvoke({"items": []}, {"max_concurrency": limit}))
    assert sorted(out["items"]) == list(range(12))
    assert gauge.most == limit
    assert gauge.now == 0


def test_without_a_limit_async_tasks_all_run_at_once() -> None:
    gauge = Gauge()
    graph = _fan_out(gauge, 12, async_nodes=True)
    asyncio.run(graph.ainvoke({"items": []}))
    assert gauge.most == 12


@pytest.mark.parametrize("limit", [1, 2])
def test_invoke_runs_at_most_max_concurrency_sync_tasks_at_once(limit: int) -> None:
    gauge = Gauge()
    graph = _fan_out(gauge, 8, async_nodes=False)
    out = graph.invoke({"items": []}, {"max_concurrency": limit})
    assert sorted(out["items"]) == list(range(8))
    assert gauge.most <= limit
    assert gauge.now == 0


@pytest.mark.parametrize("bad", [0, -1, 2.5, "4", True])
def test_a_bad_max_concurrency_is_refused_before_anything_runs(bad: object) -> None:
    gauge = Gauge()
    graph = _fan_out(gauge, 2, async_nodes=False)
    with pytest.raises(ConfigError, match="max_concurrency.*positive int"):
        graph.invoke({"items": []}, {"max_concurrency": bad})  # type: ignore[typeddict-item]
    assert gauge.most == 0
