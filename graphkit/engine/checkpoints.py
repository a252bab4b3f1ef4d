"""Where the runtime meets a checkpoint saver: load a thread, save each step, snapshots.

A checkpoint holds the channel values (stored by the saver once per version, and
for growing lists only the appended part), the channel versions, and the
*frontier*: the nodes, sends, deferred nodes and join progress of the next step.
Pending writes keep the results of tasks that finished in a step that failed or
paused, so resuming runs only what did not finish.
"""

from __future__ import annotations

import operator
import queue
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from graphkit.constants import INTERRUPT, START
from graphkit.engine.task import Task, Write, update_writes
from graphkit.errors import InvalidUpdateError
from graphkit.schema import ROOT
from graphkit.stores.checkpoint.base import (
    BaseCheckpointSaver,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    new_checkpoint_id,
    thread_of,
)
from graphkit.types import Interrupt, PregelTask, Send, StateSnapshot

if TYPE_CHECKING:
    from graphkit.engine.compiled import CompiledStateGraph
    from graphkit.engine.loop import Run

ROUTES = "__routes__"
ERROR = "__error__"
RESUME = "__resume__"
CACHE = "__cache__"
_SPECIAL = frozenset({ROUTES, ERROR, RESUME, INTERRUPT, CACHE})
DURABILITY = ("sync", "async", "exit")


class CheckpointSession:
    """Checkpointing for one run: what was loaded, what changed, when to save."""

    def __init__(self, run: Run, saver: BaseCheckpointSaver, config: dict[str, Any]) -> None:
        configurable = config.get("configurable") or {}
        if not configurable.get("thread_id"):
            raise ValueError(
                "This graph has a checkpointer, so each run needs a thread: pass "
                "config={'configurable': {'thread_id': 'some-id'}}."
            )
        self.thread_id, self.ns, _ = thread_of(config)
        self.run = run
        self.saver = saver
        self.config: dict[str, Any] = {"configurable": dict(configurable)}
        self.durability = config.get("durability", "sync")
        if self.durability not in DURABILITY:
            raise ValueError(f"durability must be one of {DURABILITY}, got {self.durability!r}.")
        self.user_metadata = dict(config.get("metadata") or {})
        self.loaded = False
        self.versions: dict[str, int] = {}
        self.saved_values: dict[str, Any] = {}
        """Each channel's value as of the last save (to spot what changed and what grew)."""
        self.changed: set[str] = set()
        """Channels written since the last save (the loop adds to it)."""
        self.last_version = 0
        self.interrupted: dict[str, list[Interrupt]] = {}
        self.resumes: dict[str, list[Any]] = {}
        self._unsaved: tuple[str, dict[str, Any] | None] | None = None
        self._background: BackgroundWriter | None = None

    # ---------------------------------------------------------------- load
    def load(self) -> None:
        """Restore the thread's latest checkpoint (or the one ``checkpoint_id`` names)."""
        found = self.saver.get_tuple(self.config)
        if found is None:
            if self.config["configurable"].get("checkpoint_id"):
                raise ValueError(
                    f"Thread {self.thread_id!r} has no checkpoint "
                    f"{self.config['configurable']['checkpoint_id']!r}."
                )
            return
        self.loaded = True
        restore_run(self.run, found)
        self.config = found.config
        self.versions = dict(found.checkpoint["channel_versions"])
        self.last_version = max(self.versions.values(), default=0)
        self.saved_values = dict(self.run.values)
        for task_id, channel, value in found.pending_writes:
            if channel == INTERRUPT:
                self.interrupted.setdefault(task_id, []).extend(value)
            elif channel == RESUME:
                self.resumes[task_id] = list(value)
        self.run.resumes = self.resumes

    def resume_with(self, value: Any) -> None:
        """Hand ``Command(resume=value)`` to the paused task(s)."""
        if not self.interrupted:
            raise InvalidUpdateError(
                f"Command(resume=...) was given, but thread {self.thread_id!r} is not paused "
                "at an interrupt(). Invoke it with an input instead."
            )
        by_id = {i.id: (task_id, i) for task_id, items in self.interrupted.items() for i in items}
        if isinstance(value, dict) and value and all(k in by_id for k in value):
            for interrupt_id, answer in value.items():
                self.resumes.setdefault(by_id[interrupt_id][0], []).append(answer)
            return
        if len(by_id) > 1:
            raise InvalidUpdateError(
                f"Thread {self.thread_id!r} has {len(by_id)} open interrupts; resume them by "
                f"id: Command(resume={{interrupt_id: value, ...}}) with ids {sorted(by_id)}."
            )
        ((task_id, _),) = by_id.values()
        self.resumes.setdefault(task_id, []).append(value)

    # ---------------------------------------------------------------- save
    def save(self, source: str, writes: dict[str, Any] | None) -> None:
        """Save the run's state as a new checkpoint (now, in background, or at exit)."""
        if self.durability == "exit":
            self._unsaved = (source, writes)
            return
        self._put(source, writes)

    def _put(self, source: str, writes: dict[str, Any] | None) -> None:
        run = self.run
        checkpoint, new_versions = self._checkpoint()
        metadata: CheckpointMetadata = {
            **self.user_metadata,
            "source": source,
            "step": run.step,
            "writes": writes,
            "parents": {},
        }
        parent = self.config
        new_config = {
            "configurable": {
                "thread_id": self.thread_id,
                "checkpoint_ns": self.ns,
                "checkpoint_id": checkpoint["id"],
            }
        }
        self.config = new_config
        self.interrupted = {}
        if self.durability == "async":
            if self._background is None:
                self._background = BackgroundWriter(self.saver)
            self._background.submit((parent, checkpoint, metadata, new_versions))
        else:
            self.saver.put(parent, checkpoint, metadata, new_versions)
        if "checkpoints" in run.modes or "debug" in run.modes:
            event = {
                "config": new_config,
                "parent_config": parent,
                "metadata": metadata,
                "values": run.output(),
                "next": next_names(checkpoint["frontier"]),
            }
            run._emit("checkpoints", event)
            run._emit(
                "debug",
                {
                    "type": "checkpoint",
                    "timestamp": checkpoint["ts"],
                    "step": run.step,
                    "payload": event,
                },
            )

    def _checkpoint(self) -> tuple[Checkpoint, dict[str, int]]:
        """The checkpoint of the run's state now; new versions only for changed channels."""
        run = self.run
        values = run.values
        saved = self.saved_values
        version = max(self.last_version + 1, time.time_ns() // 1000)
        self.last_version = version
        new_versions: dict[str, int] = {}
        appends: dict[str, list[int]] = {}
        changed, self.changed = self.changed, set()
        for key in changed:
            value = values[key]
            old = saved.get(key, _ABSENT)
            if old is value:
                continue
            if (
                type(value) is list
                and type(old) is list
                and key in self.versions
                and len(value) > len(old)
                and all(map(operator.is_, old, value))
            ):
                appends[key] = [self.versions[key], len(old)]
            new_versions[key] = version
            saved[key] = value
        self.versions.update(new_versions)
        # A background save must not see later steps' changes; a synchronous one is
        # done with these dicts before the run goes on.
        background = self.durability == "async"
        checkpoint = Checkpoint(
            v=1,
            id=new_checkpoint_id(),
            ts=datetime.now(timezone.utc).isoformat(),
            channel_values=dict(values) if background else values,
            channel_versions=dict(self.versions) if background else self.versions,
            frontier=frontier_of(run),
            channel_appends=appends,
        )
        return checkpoint, new_versions

    def save_pending(self, tasks: list[Task]) -> None:
        """Keep the results of a failed or paused step so a resume skips what finished."""
        self.flush()
        for index, task in enumerate(tasks):
            writes: list[Write]
            if task.error is not None:
                writes = [(ERROR, repr(task.error))]
            elif task.interrupts:
                writes = [(INTERRUPT, list(task.interrupts)), (RESUME, list(task.resume))]
            elif task.done and not task.restored:
                writes = [*task.writes, (ROUTES, list(task.routes))]
            else:
                continue
            if task.cache and not task.done:
                writes.append((CACHE, task.cache))
            self.saver.put_writes(self.config, writes, task.id, index)

    def flush(self) -> None:
        """Make sure everything saved so far is on disk before going on."""
        if self._unsaved is not None:
            source, writes = self._unsaved
            self._unsaved = None
            self._put(source, writes)
        if self._background is not None:
            self._background.wait()

    def close(self) -> None:
        """End of run: save what ``exit`` durability held back, wait for background saves."""
        try:
            self.flush()
        finally:
            if self._background is not None:
                self._background.stop()
                self._background = None


_ABSENT: Any = object()

SaveItem = tuple[dict[str, Any], Checkpoint, CheckpointMetadata, dict[str, int]]


class BackgroundWriter:
    """Saves checkpoints on a thread of its own for ``durability="async"``.

    Whatever queued up while the previous save was being written goes to the saver
    in one ``put_batch``: for LMDB one transaction, one disk sync, for many steps.
    """

    def __init__(self, saver: BaseCheckpointSaver) -> None:
        self.saver = saver
        self.queue: queue.SimpleQueue[SaveItem | None] = queue.SimpleQueue()
        self.idle = threading.Condition()
        self.outstanding = 0
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._loop, name="graphkit-save", daemon=True)
        self.thread.start()

    def submit(self, item: SaveItem) -> None:
        """Queue one checkpoint (raises the error of an earlier failed save, if any)."""
        self._raise()
        with self.idle:
            self.outstanding += 1
        self.queue.put(item)

    def wait(self) -> None:
        """Block until everything queued is saved; raise a save's error here."""
        with self.idle:
            self.idle.wait_for(lambda: self.outstanding == 0)
        self._raise()

    def stop(self) -> None:
        """Finish the queue and end the thread."""
        self.queue.put(None)
        self.thread.join()

    def _raise(self) -> None:
        if self.error is not None:
            error, self.error = self.error, None
            raise error

    def _loop(self) -> None:
        while True:
            item = self.queue.get()
            if item is None:
                return
            batch = [item]
            while not self.queue.empty():
                more = self.queue.get_nowait()
                if more is None:
                    self.queue.put(None)
                    break
                batch.append(more)
            try:
                self.saver.put_batch(batch)
            except BaseException as exc:
                self.error = exc
            with self.idle:
                self.outstanding -= len(batch)
                self.idle.notify_all()


def frontier_of(run: Run) -> dict[str, Any]:
    """What runs next, as stored in a checkpoint."""
    return {
        "nodes": list(run.pending),
        "sends": [[s.node, s.arg] for s in run.sends],
        "deferred": list(run.deferred),
        "joins": [sorted(seen) for seen in run.joins],
    }


def next_names(frontier: dict[str, Any]) -> tuple[str, ...]:
    """Node names of the next step (what ``StateSnapshot.next`` shows)."""
    nodes = frontier.get("nodes") or []
    sends = [s[0] for s in frontier.get("sends") or []]
    names = sorted(nodes) + sends
    if not names:
        names = sorted(frontier.get("deferred") or [])
    return tuple(names)


def restore_run(run: Run, found: CheckpointTuple) -> None:
    """Put a checkpoint's values, step and frontier back into a run."""
    checkpoint = found.checkpoint
    run.values = dict(checkpoint["channel_values"])
    run.step = int(found.metadata.get("step", -1))
    frontier = checkpoint.get("frontier") or {}
    nodes = run.tables.nodes
    run.pending = {n: None for n in frontier.get("nodes", []) if n in nodes}
    run.sends = [Send(node, arg) for node, arg in frontier.get("sends", []) if node in nodes]
    run.deferred = {n: None for n in frontier.get("deferred", []) if n in nodes}
    joins = frontier.get("joins") or []
    run.joins = [set(joins[i]) if i < len(joins) else set() for i in range(len(run.tables.joins))]
    restored: dict[str, list[Write]] = {}
    for task_id, channel, value in found.pending_writes:
        restored.setdefault(task_id, []).append((channel, value))
    run.restored = restored


def restore_task(task: Task, writes: list[Write], resumes: dict[str, list[Any]]) -> None:
    """Give a planned task the results saved for it; it runs again only if it did not finish."""
    channels = {c for c, _ in writes}
    if channels & {ERROR, INTERRUPT}:
        task.resume = list(resumes.get(task.id, []))
        for channel, value in writes:
            if channel == CACHE:
                task.cache = dict(value)
        return
    task.writes = [(c, v) for c, v in writes if c not in _SPECIAL]
    for channel, value in writes:
        if channel == ROUTES:
            task.routes = list(value)
    task.update = dict(task.writes)
    task.done = True
    task.restored = True


# -------------------------------------------------------------------- public APIs
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
        elif channel not in _SPECIAL:
            results.setdefault(task_id, {})[channel] = value
    step = int(found.metadata.get("step", -1)) + 1
    tasks: list[PregelTask] = []
    names = sorted(frontier.get("nodes") or []) or (
        [] if frontier.get("sends") else sorted(frontier.get("deferred") or [])
    )
    for name in names:
        tasks.append(
            _snapshot_task(f"{step}:{name}", name, ("pull", name), errors, interrupts, results)
        )
    for index, (node, _arg) in enumerate(frontier.get("sends") or []):
        tasks.append(
            _snapshot_task(f"{step}:~{index}", node, ("push", index), errors, interrupts, results)
        )
    finished: set[str] = set()
    if live and (interrupts or errors):
        finished = {task_id for task_id, channel, _ in found.pending_writes if channel == ROUTES}
        done_writes: dict[str, list[Write]] = {}
        for task_id, channel, value in found.pending_writes:
            if task_id in finished and channel not in _SPECIAL:
                done_writes.setdefault(task_id, []).append((channel, value))
        writers = [(t.name, done_writes[t.id]) for t in tasks if t.id in done_writes]
        if writers:
            from graphkit.engine.loop import merge_writes

            try:
                values = {**values, **merge_writes(values, graph.tables, writers)}
            except InvalidUpdateError:  # the writes conflict: show the step's start
                finished = set()
    return StateSnapshot(
        values=values.get(ROOT)
        if graph.tables.root
        else {k: values[k] for k in state_keys if k in values},
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
    from graphkit.engine.loop import Run

    _saver(graph)
    run = Run(graph, {**config, "durability": "sync"})
    cp = run.cp
    assert cp is not None
    cp.load()
    if not cp.loaded:
        for key, make in graph.tables.initial.items():
            run.values[key] = make()
        cp.changed.update(graph.tables.initial)
    node_name = as_node if as_node is not None else _last_writer(graph, cp, run)
    if node_name != START and node_name not in graph.tables.nodes:
        raise InvalidUpdateError(
            f"update_state(as_node={node_name!r}): no such node. Known nodes: "
            f"{sorted(graph.tables.nodes)} (or START)."
        )
    node = graph.tables.start if node_name == START else graph.tables.nodes[node_name]
    writes = update_writes(values, node_name, graph.tables) if values is not None else []
    run._apply([(node_name, writes)])
    run.pending, run.sends, run.deferred = {}, [], {}
    run.restored = {}
    run.route_after(node)
    run.step += 1
    source = "fork" if values is None and as_node is None else "update"
    cp.save(source, {node_name: values})
    cp.close()
    return cp.config


def _last_writer(graph: CompiledStateGraph, cp: CheckpointSession, run: Run) -> str:
    if not cp.loaded:
        return START
    found = cp.saver.get_tuple(cp.config)
    writes = (found.metadata.get("writes") if found else None) or {}
    writers = [n for n in writes if n in graph.tables.nodes]
    if not writers:
        return START
    if len(set(writers)) == 1:
        return writers[0]
    raise InvalidUpdateError(
        f"update_state() cannot tell which node the update comes from: the last step ran "
        f"{sorted(set(writers))}. Pass as_node='...'."
    )
