"""Where a run's stream events go, and how they get back to the consumer.

An event is ``(namespace, mode, chunk)``: the namespace is ``()`` for the graph the
user called and ``("node:task_id", ...)`` for events of subgraphs running inside
it. A sink buffers events between steps, or, when nodes stream while they run
(``custom``/``messages``), hands them over through a thread-safe queue (sync) or
an asyncio queue (async). A subgraph's sink forwards straight to its parent's.
"""

from __future__ import annotations

import asyncio
import dataclasses
import queue
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime, timezone
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from graphkit.constants import INTERRUPT
from graphkit.context import langgraph_path
from graphkit.engine.frontier import shown_tasks
from graphkit.schema import state_fields

if TYPE_CHECKING:
    from graphkit.engine.checkpoints import Saved
    from graphkit.engine.frontier import Frontier
    from graphkit.engine.tables import GraphTables
    from graphkit.engine.task import Task
    from graphkit.types import RunnableConfig

Namespace = tuple[str, ...]
Event = tuple[Namespace, str, Any]

DONE: Any = object()
"""Put on the live queue when a task finishes (never yielded as an event)."""


class EventSink:
    """Collects one run's events for the consumer (or forwards them to a parent run)."""

    def __init__(
        self,
        modes: frozenset[str],
        live: bool = False,
        namespace: Namespace = (),
        forward: Callable[[Event], None] | None = None,
    ) -> None:
        self.modes = modes
        self.namespace = namespace
        self.forward = forward
        self.buffer: list[Event] = []
        self.queue: queue.SimpleQueue[Any] | None = queue.SimpleQueue() if live else None
        self.aqueue: asyncio.Queue[Any] | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.loop_thread = 0

    def use_event_loop(self) -> None:
        """Deliver through an asyncio queue of the running loop (for astream)."""
        self.loop = asyncio.get_running_loop()
        self.loop_thread = threading.get_ident()
        self.aqueue = asyncio.Queue()
        self.queue = None

    def emit(self, mode: str, chunk: Any) -> None:
        """An event of this run, if its mode was asked for."""
        if mode in self.modes:
            self.push((self.namespace, mode, chunk))

    def tee(
        self,
        push: Callable[[Event], None],
        namespace: Namespace,
        modes: frozenset[str],
        own_modes: frozenset[str],
    ) -> None:
        """Also deliver this sink's events of ``modes`` through ``push``, under ``namespace``;
        this sink's own consumer keeps getting only ``own_modes``.

        A graph a node streams itself reaches its own consumer; a parent stream that
        takes subgraph events (``subgraphs=True``) gets them too, in the parent's modes,
        as in LangGraph.
        """
        self._tee = (push, namespace, modes, own_modes)

    _tee: tuple[Callable[[Event], None], Namespace, frozenset[str], frozenset[str]] | None = None

    def push(self, event: Event) -> None:
        """Deliver an event (this run's or a subgraph's); safe from any thread."""
        if self._tee is not None:
            push, namespace, modes, own_modes = self._tee
            if event[1] in modes:
                push((namespace + event[0], event[1], event[2]))
            if event[1] not in own_modes:
                return
        if self.forward is not None:
            self.forward(event)
        elif self.aqueue is not None and self.loop is not None:
            if threading.get_ident() == self.loop_thread:
                self.aqueue.put_nowait(event)
            else:
                self.loop.call_soon_threadsafe(self.aqueue.put_nowait, event)
        elif self.queue is not None:
            self.queue.put(event)
        else:
            self.buffer.append(event)

    def drain(self) -> Iterator[Event]:
        """Events delivered since the last drain, in order."""
        if self.queue is None and self.aqueue is None:  # between steps: a list, no generator
            if not self.buffer:
                return _NOTHING
            events, self.buffer = self.buffer, []
            return iter(events)
        return self._drain_queues()

    def _drain_queues(self) -> Iterator[Event]:
        if self.queue is not None:
            while not self.queue.empty():
                item = self.queue.get_nowait()
                if item is not DONE:
                    yield item
        if self.aqueue is not None:
            while not self.aqueue.empty():
                yield self.aqueue.get_nowait()
        if self.buffer:
            events, self.buffer = self.buffer, []
            yield from events


_NOTHING: Iterator[Event] = iter(())
"""An exhausted iterator: what an empty drain returns (it stays exhausted)."""


# ------------------------------------------------------------------ messages mode
def _is_message(value: Any) -> bool:
    """A graphkit message, or LangChain's (a node written for LangGraph returns those)."""
    from graphkit._langchain import is_langchain_message
    from graphkit.messages import BaseMessage

    return isinstance(value, BaseMessage) or is_langchain_message(value)


def _values_of(obj: Any) -> list[Any]:
    """Top-level values of a node's update: a dict's values, a model's fields."""
    if isinstance(obj, dict):
        return list(obj.values())
    fields = state_fields(obj)
    return list(fields.values()) if fields is not None else []


def messages_in(update: Any) -> list[Any]:
    """The messages an update holds: itself, a list of them, or those in its values."""
    if _is_message(update):
        return [update]
    if isinstance(update, (list, tuple)):
        return [m for m in update if _is_message(m)]
    found: list[Any] = []
    for value in _values_of(update):
        if _is_message(value):
            found.append(value)
        elif isinstance(value, (list, tuple)):
            found.extend(m for m in value if _is_message(m))
    return found


def node_output_messages(output: Any) -> list[Any]:
    """The messages a node returned, looking into ``Command`` updates (as LangGraph)."""
    from graphkit.types import Command

    if isinstance(output, Command):
        return messages_in(output.update)
    if isinstance(output, (list, tuple)) and any(isinstance(o, Command) for o in output):
        found: list[Any] = []
        for item in output:
            found.extend(messages_in(item.update if isinstance(item, Command) else item))
        return found
    return messages_in(output)


def message_ids(state: Any) -> set[str]:
    """Ids of the messages a node received (they are not streamed as its output)."""
    return {m.id for m in messages_in(state) if m.id is not None}


# ------------------------------------------------------------------ output shape
def stream_part(event: Event, version: str, single: bool, subgraphs: bool) -> Any:
    """One event as ``stream()`` yields it.

    ``version="v2"``: ``{"type": mode, "ns": namespace, "data": chunk}`` (``values``
    parts also carry ``"interrupts"``). ``"v1"``: the chunk, ``(mode, chunk)`` for
    several modes, prefixed by the namespace with ``subgraphs=True``.
    """
    namespace, mode, chunk = event
    if version == "v2":
        if mode == "values":
            interrupts: Any = ()
            if isinstance(chunk, dict) and INTERRUPT in chunk:
                chunk = dict(chunk)
                interrupts = chunk.pop(INTERRUPT)
            return {"type": mode, "ns": namespace, "data": chunk, "interrupts": interrupts}
        return {"type": mode, "ns": namespace, "data": chunk}
    if subgraphs:
        return (namespace, chunk) if single else (namespace, mode, chunk)
    return chunk if single else (mode, chunk)


def print_event(event: Event, subgraphs: bool) -> None:
    """Print an event of a ``print_mode`` (or ``debug=True``) to stdout, as LangGraph."""
    namespace, mode, chunk = event
    if subgraphs and namespace:
        print(f"\033[1m[{mode}]\033[0m \033[1;30;33m[graph={namespace}]\033[0m {chunk!r}")
    else:
        print(f"\033[1m[{mode}]\033[0m {chunk!r}")


# ------------------------------------------------------------------ tasks / debug payloads
def debug_event(
    kind: str, step: int | None, payload: dict[str, Any], timestamp: str | None = None
) -> dict[str, Any]:
    """A ``debug`` chunk (``kind`` "checkpoint", "task" or "task_result"), at ``timestamp``
    (a checkpoint's) or now; its keys in LangGraph's order, as printed or dumped."""
    return {
        "step": step,
        "timestamp": timestamp or datetime.now(timezone.utc).isoformat(),
        "type": kind,
        "payload": payload,
    }


def task_start_payload(task: Task, config: RunnableConfig) -> dict[str, Any]:
    """A ``tasks`` event for a task about to run (the ``debug`` "task" payload)."""
    payload: dict[str, Any] = {
        "id": task.id,
        "name": task.node.name,
        "input": task.input,
        "triggers": langgraph_path(task.path, task.node.name)[0],
    }
    metadata = {
        **{k: v for k, v in (config.get("metadata") or {}).items() if not _internal_key(k)},
        **task.node.metadata,
    }
    if config.get("tags"):
        metadata["tags"] = list(config["tags"])
    if metadata:
        payload["metadata"] = metadata
    return payload


def _internal_key(key: str) -> bool:
    return key.startswith("langgraph_") or key in ("thread_id", "checkpoint_id", "checkpoint_ns")


def task_result_payload(task: Task) -> dict[str, Any]:
    """A ``tasks`` event for a finished task: its writes by key, error and interrupts.

    Several writes to one key show as ``{"$writes": [...]}``, as in LangGraph.
    """
    result: dict[str, Any] = {}
    for key, value in task.writes:
        if key in result:
            found = result[key]
            several = isinstance(found, dict) and isinstance(found.get("$writes"), list)
            result[key] = {"$writes": [*(found["$writes"] if several else [found]), value]}
        else:
            result[key] = value
    return {
        "id": task.id,
        "name": task.node.name,
        "error": task.error,
        "result": result,
        "interrupts": [_interrupt_dict(i) for i in task.interrupts],
    }


def _interrupt_dict(interrupt: Any) -> Any:
    if dataclasses.is_dataclass(interrupt) and not isinstance(interrupt, type):
        return {f.name: getattr(interrupt, f.name) for f in dataclasses.fields(interrupt)}
    return interrupt


def checkpoint_payload(
    saved: Saved,
    values: dict[str, Any],
    frontier: Frontier,
    tables: GraphTables,
    interrupts: Mapping[str, Sequence[Any]] = MappingProxyType({}),
) -> dict[str, Any]:
    """A ``checkpoints`` event (the ``debug`` "checkpoint" payload) for a checkpoint just
    written (or loaded: ``interrupts`` are its tasks' open ones, by task id): config,
    parent (None for a namespace's first), metadata, every channel's value, what runs
    next and its tasks, as ``get_state_history`` shows them (ids, and for a subgraph
    node the config of its own checkpoints as ``state``)."""
    step = int(saved.metadata.get("step", -1)) + 1
    planned = shown_tasks(frontier.to_record(), step)
    configurable = saved.config["configurable"]
    tasks = [
        {
            "id": task_id,
            "name": name,
            "interrupts": tuple(_interrupt_dict(i) for i in interrupts.get(task_id, ())),
            "state": _subgraph_state(tables, name, task_id, configurable),
        }
        for task_id, name, _ in planned
    ]
    config = saved.config
    parent: RunnableConfig | None = saved.parent_config
    if not (parent or {}).get("configurable", {}).get("checkpoint_id"):
        parent = None
    from graphkit.engine.nested import with_checkpoint_map  # (nested imports the loop)

    parents = saved.metadata.get("parents")  # a subgraph's: how to reach it
    config = with_checkpoint_map(config, None, parents)
    parent = with_checkpoint_map(parent, None, parents) if parent is not None else None
    return {
        "config": config,
        "parent_config": parent,
        "values": values,
        "metadata": saved.metadata,
        "next": list(saved.next),
        "tasks": tasks,
    }


def _subgraph_state(
    tables: GraphTables, name: str, task_id: str, configurable: dict[str, Any]
) -> dict[str, Any] | None:
    """For a subgraph node's task: the config that reads the subgraph's own checkpoints."""
    node = tables.nodes.get(name)
    if node is None or node.subgraph is None:
        return None
    from graphkit.engine.state import task_namespace

    namespace = task_namespace(configurable.get("checkpoint_ns") or "", node, task_id)
    return {"configurable": {"thread_id": configurable["thread_id"], "checkpoint_ns": namespace}}
