"""A step's sync tasks run on the step's own thread; a helper (and its pool) comes only
when a task stalls it."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from graphkit.engine.threads import Batch


def test_a_batch_of_quick_tasks_runs_on_its_own_thread_without_asking_for_a_pool() -> None:
    ran: list[tuple[int, int]] = []

    def no_pool() -> ThreadPoolExecutor:
        raise AssertionError("a quick batch asked for a pool")

    Batch(list(range(20)), lambda i: ran.append((i, threading.get_ident())), no_pool, 4).run()
    assert ran == [(i, threading.get_ident()) for i in range(20)]


def test_a_stalled_batch_gets_a_helper_from_the_pool_it_asks_for() -> None:
    asked: list[int] = []
    both = threading.Barrier(2, timeout=10)
    threads: set[int] = set()

    def run_one(i: int) -> None:
        threads.add(threading.get_ident())
        both.wait()  # breaks (then raises) unless a second thread runs the other task

    with ThreadPoolExecutor(2) as pool:

        def lend() -> ThreadPoolExecutor:
            asked.append(1)
            return pool

        Batch([0, 1], run_one, lend, 1).run()
    assert asked == [1] and len(threads) == 2


def test_a_streamed_step_delivers_a_quick_update_while_an_earlier_task_blocks() -> None:
    """A live step runs its tasks in a worker (helpers join when it stalls): the caller's
    thread stays free to yield each update as it comes, whatever the task order."""
    import operator
    from typing import Annotated, Any, TypedDict

    from graphkit import START, StateGraph

    class S(TypedDict):
        log: Annotated[list[str], operator.add]

    release = threading.Event()

    def a_blocked(state: S) -> dict[str, Any]:  # first in the step's order
        assert release.wait(10), "the quick task's update never reached the caller"
        return {"log": ["blocked"]}

    builder = StateGraph(S)
    builder.add_node("a_blocked", a_blocked)
    builder.add_node("b_quick", lambda s: {"log": ["quick"]})
    builder.add_edge(START, "a_blocked")
    builder.add_edge(START, "b_quick")
    chunks = []
    for chunk in builder.compile().stream({"log": []}, stream_mode="updates"):
        chunks.append(chunk)
        if "b_quick" in chunk:
            release.set()
    assert chunks == [{"b_quick": {"log": ["quick"]}}, {"a_blocked": {"log": ["blocked"]}}]
