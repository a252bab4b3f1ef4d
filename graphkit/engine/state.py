"""The state API of a thread: ``get_state``, its history, ``update_state`` (snapshots).

Reads go straight to the saver and turn checkpoints into ``StateSnapshot``s;
``update_state`` is a short run (``Run.update``) that takes the update as its
input, so it saves exactly as a run does. Persistence itself is ``checkpoints.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from graphkit.constants import INTERRUPT
from graphkit.engine.checkpoints import ERROR, ROUTES, SPECIAL
from graphkit.engine.frontier import planned
from graphkit.engine.loop import Run, merge_writes
from graphkit.engine.task import Write
from graphkit.errors import InvalidUpdateError
from graphkit.stores.checkpoint.base import BaseCheckpointSaver, CheckpointTuple
from graphkit.types import Interrupt, PregelTask, StateSnapshot

if TYPE_CHECKING:
    from graphkit.engine.compiled import CompiledStateGraph


def _saver(graph: CompiledStateGraph) -> BaseCheckpointSaver:
    if graph.checkpointer is None:
        raise ValueError(
            "This graph has no checkpointer, so it keeps no thread state: "
            "compile(checkpointer=InMemorySaver()) (or LMDBSaver(path))."
        )
    return graph.checkpointer


def snapshot(
    graph: CompiledStateGraph, found: CheckpointTuple, *, live: bool = False
) -> StateSnapshot:
    """A saved checkpoint as a ``StateSnapshot``.

    ``live`` (the thread's current state, as ``get_state`` without a checkpoint_id
    shows it): when the step paused at an ``interrupt()`` or failed, the values
    include the writes of the step's tasks that already finished and ``next`` leaves
    those tasks out, as in LangGraph. Otherwise the snapshot is the record of the
    step's start.
    """
    values = found.checkpoint["channel_values"]
    state_keys = graph.tables.state.keys
    frontier = found.checkpoint.get("frontier") or {}
    errors: dict[str, str] = {}
    interrupts: dict[str, list[Interrupt]] = {}
    results: dict[str, dict[str, Any]] = {}
    for task_id, channel, value in found.pending_writes:
        if channel == ERROR:
            errors[task_id] = value
        elif channel == INTERRUPT:
            interrupts.setdefault(task_id, []).extend(value)
        elif channel not in SPECIAL:
            results.setdefault(task_id, {})[channel] = value
    step = int(found.metadata.get("step", -1)) + 1
    tasks: list[PregelTask] = []
    names, sends = planned(frontier)
    for name in names:
        tasks.append(
            _snapshot_task(f"{step}:{name}", name, ("pull", name), errors, interrupts, results)
        )
    for index, node in enumerate(sends):
        tasks.append(
            _snapshot_task(f"{step}:~{index}", node, ("push", index), errors, interrupts, results)
        )
    finished: set[str] = set()
    if live and (interrupts or errors):
        finished = {task_id for task_id, channel, _ in found.pending_writes if channel == ROUTES}
        done_writes: dict[str, list[Write]] = {}
        for task_id, channel, value in found.pending_writes:
            if task_id in finished and channel not in SPECIAL:
                done_writes.setdefault(task_id, []).append((channel, value))
        writers = [(t.name, done_writes[t.id]) for t in tasks if t.id in done_writes]
        if writers:
            try:
                values = {**values, **merge_writes(values, graph.tables, writers)}
            except InvalidUpdateError:  # the writes conflict: show the step's start
                finished = set()
    return StateSnapshot(
        values={k: values[k] for k in state_keys if k in values},
        next=tuple(t.name for t in tasks if t.id not in finished),
        config=found.config,
        metadata=dict(found.metadata),
        created_at=found.checkpoint["ts"],
        parent_config=found.parent_config,
        tasks=tuple(tasks),
        interrupts=tuple(i for t in tasks for i in t.interrupts),
    )


def _snapshot_task(
    task_id: str,
    name: str,
    path: tuple[Any, ...],
    errors: dict[str, str],
    interrupts: dict[str, list[Interrupt]],
    results: dict[str, dict[str, Any]],
) -> PregelTask:
    error = errors.get(task_id)
    return PregelTask(
        id=task_id,
        name=name,
        path=path,
        error=RuntimeError(error) if error is not None else None,
        interrupts=tuple(interrupts.get(task_id, ())),
        result=results.get(task_id),
    )


def get_state(graph: CompiledStateGraph, config: dict[str, Any]) -> StateSnapshot:
    """The snapshot of a thread's latest (or named) checkpoint; empty for a new thread."""
    saver = _saver(graph)
    found = saver.get_tuple(config)
    if found is None:
        return StateSnapshot(
            values={}, next=(), config=config, metadata=None, created_at=None, parent_config=None
        )
    live = not (config.get("configurable") or {}).get("checkpoint_id")
    return snapshot(graph, found, live=live)


def get_state_history(
    graph: CompiledStateGraph,
    config: dict[str, Any],
    *,
    filter: dict[str, Any] | None,
    before: dict[str, Any] | None,
    limit: int | None,
) -> Iterator[StateSnapshot]:
    """Snapshots of a thread, newest first."""
    saver = _saver(graph)
    for found in saver.list(config, filter=filter, before=before, limit=limit):
        yield snapshot(graph, found)


def update_state(
    graph: CompiledStateGraph, config: dict[str, Any], values: Any, as_node: str | None
) -> dict[str, Any]:
    """Apply ``values`` through the reducers as if ``as_node`` wrote them; save a checkpoint."""
    _saver(graph)
    return Run(graph, {**config, "durability": "sync"}).update(values, as_node)
