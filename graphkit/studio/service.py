"""What the studio page asks for, answered through graphkit's public API.

:class:`Studio` holds one compiled graph (with its checkpoint saver and memory
store) and turns each request of the page into plain JSON-able data: the graph's
layout, the threads, a thread's history (paged from the saver, never loaded
whole), one checkpoint with its diff against its parent, the store's namespaces
and items. Runs, resumes and forks go through ``stream``, ``Command(resume=...)``
and ``update_state`` in a background thread each; their events are kept on a
:class:`Run` that any number of readers follow (the server streams them as
server-sent events). Nothing here speaks HTTP: :mod:`graphkit.studio.server` does.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from graphkit.cli import _jsonable
from graphkit.engine.frontier import ran_names
from graphkit.errors import GraphkitError
from graphkit.types import Command

__all__ = ["BadRequest", "Conflict", "NotFound", "Run", "Studio", "StudioError", "diff_values"]

PAGE_LIMIT = 200
"""The most rows one page of threads, history or store items may ask for."""

KEEP_RUNS = 100
"""Finished runs whose events are kept for replay (the oldest go first)."""


class StudioError(GraphkitError):
    """A request the studio cannot serve; ``status`` is its HTTP status."""

    status = 400


class BadRequest(StudioError, ValueError):
    """Malformed or invalid input (bad JSON, a state edit the schema refuses): HTTP 400."""


class NotFound(StudioError, LookupError):
    """An unknown thread, checkpoint or run: HTTP 404."""

    status = 404


class Conflict(StudioError, RuntimeError):
    """The thread is busy with another run: HTTP 409."""

    status = 409


@dataclass(slots=True)
class Run:
    """One run started from the page, and the events it has produced so far."""

    id: str
    """Random id the page follows the run by."""
    thread_id: str
    """The thread it runs on."""
    kind: str
    """"run", "resume" or "fork"."""
    events: list[dict[str, Any]] = field(default_factory=list)
    """Every event so far, oldest first (``{"event": name, "data": ...}``)."""
    done: bool = False
    """True once the run ended (finished, paused, or failed)."""
    changed: threading.Condition = field(default_factory=threading.Condition)
    """Notified on each new event and at the end."""

    def emit(self, event: str, data: Any) -> None:
        """Add an event and wake the readers."""
        with self.changed:
            self.events.append({"event": event, "data": data})
            self.changed.notify_all()

    def finish(self) -> None:
        """Mark the run ended and wake the readers."""
        with self.changed:
            self.done = True
            self.changed.notify_all()

    def follow(
        self, start: int = 0, *, timeout: float = 15.0
    ) -> Iterator[tuple[int, dict[str, Any] | None]]:
        """``(index, event)`` from ``start`` on, waiting for new ones until the run ends;
        ``(index, None)`` after ``timeout`` seconds of quiet (a chance to send a keep-alive)."""
        index = start
        while True:
            with self.changed:
                if index >= len(self.events) and not self.done:
                    self.changed.wait(timeout)
                batch = self.events[index:]
                ended = self.done
            if not batch:
                if ended:
                    return
                yield index, None
            for event in batch:
                yield index, event
                index += 1


class Studio:
    """The studio's model: a compiled graph with a checkpoint saver, maybe a store.

    >>> from typing import TypedDict
    >>> from graphkit import StateGraph, START
    >>> from graphkit.checkpoint.memory import InMemorySaver
    >>> class S(TypedDict):
    ...     n: int
    >>> graph = (StateGraph(S).add_node("inc", lambda s: {"n": s["n"] + 1})
    ...          .add_edge(START, "inc").compile(checkpointer=InMemorySaver()))
    >>> studio = Studio(graph)
    >>> run = studio.start_run("t1", {"n": 1})
    >>> studio.wait(run.id)
    >>> [t["status"] for t in studio.threads()["threads"]]
    ['done']
    """

    def __init__(self, graph: Any, *, checkpointer: Any = None, store: Any = None) -> None:
        from graphkit.checkpoint.memory import InMemorySaver

        update: dict[str, Any] = {}
        if checkpointer is not None:
            update["checkpointer"] = checkpointer
        elif graph.saver is None:
            update["checkpointer"] = InMemorySaver()
        if store is not None:
            update["store"] = store
        self.graph = graph.copy(update) if update else graph
        """The graph, bound to the saver and store the studio shows."""
        self.saver = self.graph.saver
        """Where the threads live."""
        self.store = self.graph.store
        """The memory store (None when the graph has none)."""
        self._runs: dict[str, Run] = {}
        self._active: dict[str, Run] = {}
        self._lock = threading.Lock()
        self._workers: list[threading.Thread] = []

    # ---------------------------------------------------------------- graph
    def info(self) -> dict[str, Any]:
        """The graph's name, layout (subgraphs opened) and node names; what the page has."""
        drawable = self.graph.get_graph(xray=True)
        return {
            "name": self.graph.name,
            "layout": drawable.layout(),
            "nodes": list(self.graph.builder.nodes),
            "reducers": sorted(self.graph.tables.reducers),
            "saver": type(self.saver).__name__,
            "store": type(self.store).__name__ if self.store is not None else None,
            "search": bool(getattr(self.store, "index_config", None)),
        }

    # -------------------------------------------------------------- threads
    def threads(self, search: str = "", offset: int = 0, limit: int = 50) -> dict[str, Any]:
        """A page of threads, newest activity first, ``search`` matching their ids."""
        limit = _page_limit(limit)
        rows = self.saver.list_threads()
        if search:
            rows = [r for r in rows if search.lower() in r.thread_id.lower()]
        page = rows[max(offset, 0) : max(offset, 0) + limit]
        return {"total": len(rows), "threads": [self._thread_row(r) for r in page]}

    def _thread_row(self, row: Any) -> dict[str, Any]:
        state = self.graph.get_state(_config(row.thread_id))
        step = (state.metadata or {}).get("step")
        return {
            "thread_id": row.thread_id,
            "checkpoints": row.checkpoints,
            "step": step,
            "updated": row.latest_time,
            "status": self._status(row.thread_id, state),
            "next": list(state.next),
        }

    def _status(self, thread_id: str, state: Any) -> str:
        """running, paused (an interrupt waits), failed (a task raised), done, or ready
        (next nodes are set, e.g. after a state edit)."""
        if thread_id in self._active:
            return "running"
        if state.interrupts:
            return "paused"
        if any(task.error for task in state.tasks):
            return "failed"
        return "ready" if state.next else "done"

    def _ran(self, state: Any) -> list[str]:
        """The nodes whose writes made this checkpoint (its frontier record says)."""
        found = self.saver.get_tuple(state.config)
        if found is None:
            return []
        return ran_names(found.checkpoint.get("frontier"), found.metadata)

    # -------------------------------------------------------------- history
    def history(self, thread_id: str, before: str | None = None, limit: int = 50) -> dict[str, Any]:
        """One page of a thread's checkpoints, newest first (``before``: a checkpoint id,
        the last one of the previous page). ``more`` says whether older ones remain."""
        limit = _page_limit(limit)
        if before:
            _check_id(before)
        config = _config(thread_id)
        before_config = _config(thread_id, before) if before else None
        snapshots = list(
            self.graph.get_state_history(config, before=before_config, limit=limit + 1)
        )
        if not snapshots and not before:
            raise NotFound(f"no thread {thread_id!r}: pick one from the threads list")
        latest = self.graph.get_state(config)
        return {
            "thread_id": thread_id,
            "status": self._status(thread_id, latest),
            "latest_id": latest.config["configurable"].get("checkpoint_id"),
            "checkpoints": [_timeline_row(s, self._ran(s)) for s in snapshots[:limit]],
            "more": len(snapshots) > limit,
        }

    def _parent(self, snapshot: Any) -> Any:
        """The snapshot of ``snapshot``'s parent checkpoint (None for the first)."""
        if snapshot.parent_config is None:
            return None
        return self.graph.get_state(snapshot.parent_config)

    def checkpoint(self, thread_id: str, checkpoint_id: str | None = None) -> dict[str, Any]:
        """One checkpoint in full: values, the diff against its parent, what ran in its
        step and what each node wrote, the next nodes and the pending interrupts."""
        if checkpoint_id is not None:
            _check_id(checkpoint_id)
        state = self.graph.get_state(_config(thread_id))
        if checkpoint_id is not None and state.config["configurable"].get("checkpoint_id") != (
            checkpoint_id
        ):  # an older one: its record (the latest shows what is still pending now)
            state = self.graph.get_state(_config(thread_id, checkpoint_id))
        if not state.metadata and not state.values and state.parent_config is None:
            raise NotFound(f"thread {thread_id!r} has no checkpoint {checkpoint_id or '(latest)'}")
        parent = self._parent(state)
        parent_values: Any = parent.values if parent is not None else {}
        meta = state.metadata or {}
        return _timeline_row(state, self._ran(state)) | {
            "values": _jsonable(state.values),
            "diff": diff_values(_jsonable(parent_values), _jsonable(state.values)),
            "writes": _jsonable(_step_writes(state, parent)),
            "metadata": _jsonable(meta),
            "tasks": [
                {
                    "id": task.id,
                    "name": task.name,
                    "error": None if task.error is None else str(task.error),
                    "interrupts": [_interrupt(i) for i in task.interrupts],
                }
                for task in state.tasks
            ],
            "interrupts": [_interrupt(i) for i in state.interrupts],
        }

    # ---------------------------------------------------------------- steer
    def start_run(self, thread_id: str, input: Any, checkpoint_id: str | None = None) -> Run:
        """Run the graph on ``thread_id`` from ``input`` (None: go on from the checkpoint)."""
        if input is not None and not isinstance(input, dict):
            raise BadRequest("input must be a JSON object of state keys (or null to run on)")
        if checkpoint_id is not None:
            self._existing(thread_id, checkpoint_id)
        return self._launch("run", thread_id, input, _config(thread_id, checkpoint_id))

    def resume(self, thread_id: str, value: Any, interrupt_id: str | None = None) -> Run:
        """Answer the thread's pending interrupt (``interrupt_id`` picks one of several)."""
        state = self.graph.get_state(_config(thread_id))
        pending = {i.id for i in state.interrupts}
        if not pending:
            raise BadRequest(f"thread {thread_id!r} has no pending interrupt to resume")
        if interrupt_id is not None and interrupt_id not in pending:
            raise BadRequest(
                f"thread {thread_id!r} has no pending interrupt {interrupt_id!r} "
                f"(pending: {', '.join(sorted(pending))})"
            )
        resume = {interrupt_id: value} if interrupt_id is not None else value
        return self._launch("resume", thread_id, Command(resume=resume), _config(thread_id))

    def fork(
        self,
        thread_id: str,
        checkpoint_id: str,
        values: Any,
        as_node: str | None = None,
        run: bool = True,
    ) -> dict[str, Any]:
        """Edit the state at a checkpoint (a new checkpoint branching off it: a fork) and,
        with ``run``, run on from there. The edit is checked before anything is saved."""
        if values is not None and not isinstance(values, dict):
            raise BadRequest("values must be a JSON object of state keys to write")
        if as_node is not None and as_node not in self.graph.builder.nodes:
            raise BadRequest(
                f"as_node {as_node!r} is not a node of the graph "
                f"(nodes: {', '.join(self.graph.builder.nodes)})"
            )
        self._existing(thread_id, checkpoint_id)
        with self._lock:
            self._check_idle(thread_id)
            try:
                config = self.graph.update_state(_config(thread_id, checkpoint_id), values, as_node)
            except (GraphkitError, ValueError, TypeError) as exc:
                raise BadRequest(f"the state edit was refused: {exc}") from None
        new_id = config["configurable"]["checkpoint_id"]
        out: dict[str, Any] = {"checkpoint_id": new_id, "run": None}
        if run:
            out["run"] = self._launch("fork", thread_id, None, _config(thread_id, new_id)).id
        return out

    def run(self, run_id: str) -> Run:
        """A run started from this studio."""
        found = self._runs.get(run_id)
        if found is None:
            raise NotFound(f"no run {run_id!r} (runs live as long as the studio process)")
        return found

    def wait(self, run_id: str, timeout: float | None = None) -> None:
        """Block until the run ended."""
        run = self.run(run_id)
        with run.changed:
            run.changed.wait_for(lambda: run.done, timeout)

    def close(self, timeout: float = 5.0) -> None:
        """Wait for the runs still going (up to ``timeout`` seconds each)."""
        for worker in list(self._workers):
            worker.join(timeout)

    def _existing(self, thread_id: str, checkpoint_id: str) -> None:
        _check_id(checkpoint_id)
        found = self.saver.get_tuple(_config(thread_id, checkpoint_id))
        if found is None:
            raise NotFound(f"thread {thread_id!r} has no checkpoint {checkpoint_id}")

    def _check_idle(self, thread_id: str) -> None:
        if thread_id in self._active:
            raise Conflict(f"thread {thread_id!r} is running: wait for its run to end")

    def _launch(self, kind: str, thread_id: str, input: Any, config: dict[str, Any]) -> Run:
        if not thread_id:
            raise BadRequest("thread_id must not be empty")
        with self._lock:
            self._check_idle(thread_id)
            run = Run(uuid.uuid4().hex, thread_id, kind)
            finished = [r for r in self._runs.values() if r.done]
            for old in finished[: max(0, len(finished) - KEEP_RUNS + 1)]:
                del self._runs[old.id]
            self._runs[run.id] = run
            self._active[thread_id] = run
        worker = threading.Thread(
            target=self._execute, args=(run, input, config), name=f"studio-{kind}", daemon=True
        )
        self._workers = [w for w in self._workers if w.is_alive()] + [worker]
        worker.start()
        return run

    def _execute(self, run: Run, input: Any, config: dict[str, Any]) -> None:
        """Stream the run, turning its events into the page's; always ends the run."""
        run.emit("start", {"run_id": run.id, "thread_id": run.thread_id, "kind": run.kind})
        try:
            for namespace, mode, chunk in self.graph.stream(
                input,
                config,
                stream_mode=["debug", "updates", "custom", "messages"],
                subgraphs=True,
            ):
                for event in _page_events(namespace, mode, chunk):
                    run.emit(*event)
            state = self.graph.get_state(_config(run.thread_id))
            run.emit(
                "end",
                {
                    "status": "paused" if state.interrupts else "done",
                    "interrupts": [_interrupt(i) for i in state.interrupts],
                    "checkpoint_id": state.config["configurable"].get("checkpoint_id"),
                },
            )
        except Exception as exc:  # the page shows it; the studio stays up
            run.emit("end", {"status": "failed", "error": f"{type(exc).__name__}: {exc}"})
        finally:
            with self._lock:
                self._active.pop(run.thread_id, None)
            run.finish()

    # ---------------------------------------------------------------- store
    def namespaces(self, limit: int = 1000) -> dict[str, Any]:
        """Every namespace of the store (the page draws them as a tree)."""
        if self.store is None:
            return {"namespaces": [], "store": None}
        found = self.store.list_namespaces(limit=max(1, min(limit, 10_000)))
        return {"namespaces": [list(ns) for ns in found], "store": type(self.store).__name__}

    def items(
        self, namespace: list[str], query: str | None = None, limit: int = 20, offset: int = 0
    ) -> dict[str, Any]:
        """Items under ``namespace``; with ``query``, ranked by semantic similarity (scores)."""
        if self.store is None:
            raise NotFound("the graph has no memory store (start the studio with --store PATH)")
        if not all(isinstance(label, str) and label for label in namespace):
            raise BadRequest("namespace must be a list of non-empty strings")
        if query and not getattr(self.store, "index_config", None):
            raise BadRequest("the store has no vector index: semantic search is off")
        found = self.store.search(
            tuple(namespace), query=query or None, limit=_page_limit(limit), offset=max(offset, 0)
        )
        return {
            "items": [
                {
                    "namespace": list(item.namespace),
                    "key": item.key,
                    "value": _jsonable(item.value),
                    "score": item.score,
                    "updated_at": item.updated_at.isoformat(),
                }
                for item in found
            ]
        }


# ------------------------------------------------------------------ helpers
def diff_values(before: Any, after: Any) -> list[dict[str, Any]]:
    """What changed from ``before`` to ``after`` (state dicts), key by key.

    Each change is ``{"key", "change", "before", "after"}`` with change added,
    removed, changed, or appended (a list that grew at its end: ``"appended"``
    holds the new items).

    >>> diff_values({"a": 1, "m": [1]}, {"a": 2, "m": [1, 2], "b": 0})
    [{'key': 'a', 'change': 'changed', 'before': 1, 'after': 2}, {'key': 'b', 'change': 'added', 'before': None, 'after': 0}, {'key': 'm', 'change': 'appended', 'before': [1], 'after': [1, 2], 'appended': [2]}]
    """
    before = before if isinstance(before, dict) else {}
    after = after if isinstance(after, dict) else {}
    out: list[dict[str, Any]] = []
    for key in sorted(set(before) | set(after), key=str):
        old, new = before.get(key), after.get(key)
        if key not in after:
            out.append({"key": key, "change": "removed", "before": old, "after": None})
        elif key not in before:
            out.append({"key": key, "change": "added", "before": None, "after": new})
        elif old != new:
            change: dict[str, Any] = {"key": key, "change": "changed", "before": old, "after": new}
            if isinstance(old, list) and isinstance(new, list) and new[: len(old)] == old:
                change |= {"change": "appended", "appended": new[len(old) :]}
            out.append(change)
    return out


def _config(thread_id: str, checkpoint_id: str | None = None) -> dict[str, Any]:
    configurable = {"thread_id": thread_id, "checkpoint_ns": ""}
    if checkpoint_id:
        configurable["checkpoint_id"] = checkpoint_id
    return {"configurable": configurable}


def _check_id(checkpoint_id: str) -> None:
    try:
        uuid.UUID(checkpoint_id)
    except (ValueError, TypeError, AttributeError):
        raise BadRequest(f"{checkpoint_id!r} is not a checkpoint id (like 01a2...-...)") from None


def _page_limit(limit: int) -> int:
    return max(1, min(int(limit), PAGE_LIMIT))


def _step_writes(state: Any, parent: Any) -> dict[str, Any]:
    """What each node wrote in the step that saved ``state``, where the saver kept it.

    A step runs the tasks its parent checkpoint planned; the parent's snapshot shows
    their writes as its tasks' results (the diff against the parent shows the merged
    effect). An input checkpoint shows its input; a state edit (source update or fork)
    shows none, its diff says what changed. Checkpoints whose metadata carries
    ``writes`` (older versions) use them as they are.
    """
    meta = state.metadata or {}
    if meta.get("writes"):
        return dict(meta["writes"])
    source = meta.get("source")
    if source == "input":
        return {t.name: t.result for t in state.tasks if t.result is not None}
    if parent is None or source in ("update", "fork"):
        return {}
    writes: dict[str, Any] = {}
    for task in parent.tasks:
        if task.result is not None:
            key, n = task.name, 2
            while key in writes:  # the same node sent several times (Send): each run
                key, n = f"{task.name} ({n})", n + 1
            writes[key] = task.result
    return writes


def _timeline_row(state: Any, ran: list[str]) -> dict[str, Any]:
    """What the timeline shows of a checkpoint (no values: those come one at a time)."""
    meta = state.metadata or {}
    parent = (state.parent_config or {}).get("configurable", {}).get("checkpoint_id")
    return {
        "checkpoint_id": state.config["configurable"]["checkpoint_id"],
        "parent_id": parent,
        "step": meta.get("step"),
        "source": meta.get("source"),
        "created_at": state.created_at,
        "ran": ran,
        "next": list(state.next),
        "interrupts": len(state.interrupts),
        "error": any(task.error for task in state.tasks),
    }


def _interrupt(item: Any) -> dict[str, Any]:
    return {"id": item.id, "value": _jsonable(item.value)}


def _node_path(namespace: tuple[str, ...], name: str) -> str:
    """The layout id of a node running at ``namespace`` ("outer:inner" in a cluster)."""
    return ":".join([*(part.split(":")[0] for part in namespace), name])


def _page_events(namespace: tuple[str, ...], mode: str, chunk: Any) -> Iterator[tuple[str, Any]]:
    """The page's events for one stream event: a task starting or ending (to light up
    its node), a checkpoint saved, a node's update, what a node streamed (custom), a
    chat model's tokens (messages)."""
    if mode == "custom":  # also what makes the stream live: events come as they happen
        where = ":".join(part.split(":")[0] for part in namespace)
        yield "custom", {"namespace": where, "data": _jsonable(chunk)}
        return
    if mode == "messages":  # a chat model's tokens (or a node's returned messages)
        message, meta = chunk
        content = getattr(message, "content", "")
        yield (
            "message",
            {
                "node": _node_path(namespace, str((meta or {}).get("langgraph_node", ""))),
                "id": getattr(message, "id", None),
                "type": getattr(message, "type", ""),
                "text": content if isinstance(content, str) else _jsonable(content),
            },
        )
        return
    if mode == "updates":
        for node, update in (chunk or {}).items():
            if node == "__interrupt__":
                yield "interrupt", {"interrupts": [_interrupt(i) for i in update]}
            else:
                yield "update", {"node": _node_path(namespace, node), "update": _jsonable(update)}
        return
    kind, payload = chunk.get("type"), chunk.get("payload") or {}
    if kind == "task":
        yield "task", {"node": _node_path(namespace, payload["name"]), "step": chunk["step"]}
    elif kind == "task_result":
        yield (
            "task_result",
            {
                "node": _node_path(namespace, payload["name"]),
                "step": chunk["step"],
                "error": None if payload.get("error") is None else str(payload["error"]),
            },
        )
    elif kind == "checkpoint" and not namespace:
        yield (
            "checkpoint",
            {
                "checkpoint_id": payload["config"]["configurable"]["checkpoint_id"],
                "step": chunk["step"],
                "next": list(payload.get("next") or ()),
            },
        )
