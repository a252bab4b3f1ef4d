"""What a running node can reach without being handed it: config, store, stream writer.

The runtime sets one ``TaskContext`` per task in a context variable; the public
functions below read it. Outside a run they raise a clear error instead of
returning None.
"""

from __future__ import annotations

from collections.abc import Callable, Container
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class RunContext:
    """What every task of one run shares."""

    config: dict[str, Any]
    """The run's config, as passed to invoke/stream."""
    store: Any = None
    """The long-term memory store given to ``compile(store=...)``."""
    emit: Callable[[str, Any], None] | None = None
    """Sends ``(mode, chunk)`` to the stream consumer; None when nobody listens."""
    modes: frozenset[str] = frozenset()
    """Stream modes the consumer asked for."""
    has_checkpointer: bool = False
    """interrupt() needs one to resume later."""
    namespace: tuple[str, ...] = ()
    """Where this run sits: () at the top, one entry per enclosing subgraph node."""
    push: Callable[[tuple[tuple[str, ...], str, Any]], None] | None = None
    """Delivers a finished ``(namespace, mode, chunk)`` event (used by subgraphs)."""
    parent_task: TaskContext | None = None
    """For a subgraph's run: the parent's task it runs in."""
    saver: Any = None
    """The checkpoint saver this run saves to (subgraphs inherit it); None: none."""
    answers: dict[str, Any] = field(default_factory=dict)
    """``Command(resume=...)`` answers of this invocation, by interrupt id (shared
    with the subgraphs' runs: an answer goes to whichever run owns that interrupt)."""
    channels: Container[str] = ()
    """The state channels of this run's graph (a subgraph node's output keeps these)."""
    rerun: set[str] = field(default_factory=set)
    """Ids of this step's tasks that run again after a pause or failure (their
    subgraphs go on from their own checkpoints)."""
    steps_left: Callable[[], int] | None = None
    """Steps this run may still take, counting the running one (``RemainingSteps``)."""
    read_state: Callable[[], Any] | None = None
    """The graph state as of this step (for code handed no state, e.g. a ``Send``'s task)."""


@dataclass(slots=True)
class TaskContext:
    """One running task: its node, step and interrupt bookkeeping."""

    run: RunContext
    node: str
    step: int
    task_id: str
    path: tuple[Any, ...] = ()
    resume: list[Any] = field(default_factory=list)
    """Resume values for this task's interrupts, in the order they were raised."""
    interrupt_count: int = 0
    """How many ``interrupt()`` calls this attempt has made so far."""
    cache: dict[str, Any] = field(default_factory=dict)
    """Saved with a paused or failed task and given back when it runs again
    (the functional API keeps finished ``@task`` results here)."""
    subgraph_calls: int = 0
    """How many graphs this task has run inside itself (each gets its own namespace)."""

    def interrupt_owner(self) -> TaskContext:
        """The task whose checkpoint keeps this task's interrupts.

        This task itself when its run saves checkpoints; inside a subgraph that keeps
        none (``checkpointer=False``), the nearest enclosing task whose run does.
        """
        owner = self
        while owner.run.saver is None and owner.run.parent_task is not None:
            owner = owner.run.parent_task
        return owner

    def interrupt_id(self, index: int) -> str:
        """The id of this task's ``index``-th ``interrupt()``: unique within the thread."""
        return "|".join((*self.run.namespace, f"{self.task_id}#{index}"))

    def config(self) -> dict[str, Any]:
        """The run config plus where we are (LangGraph's ``langgraph_*`` metadata keys)."""
        run_config = self.run.config
        metadata = dict(run_config.get("metadata") or {})
        metadata.update(
            langgraph_node=self.node,
            langgraph_step=self.step,
            langgraph_triggers=self.path,
            langgraph_task_id=self.task_id,
        )
        return {**run_config, "metadata": metadata}

    def stream_metadata(self) -> dict[str, Any]:
        """Metadata that goes with chunks streamed from this task."""
        return {
            "langgraph_node": self.node,
            "langgraph_step": self.step,
            "langgraph_task_id": self.task_id,
        }


CURRENT_TASK: ContextVar[TaskContext | None] = ContextVar("graphkit_task", default=None)


def current_task(what: str) -> TaskContext:
    """The running task; ``what`` names the caller for the error outside a run."""
    task = CURRENT_TASK.get()
    if task is None:
        raise RuntimeError(
            f"{what} was called outside a running graph. Call it from inside a node "
            "or task function while the graph runs (invoke/stream)."
        )
    return task


def get_config() -> dict[str, Any]:
    """The config of the run, from inside a node (with ``langgraph_node`` metadata)."""
    return current_task("get_config()").config()


def get_store() -> Any:
    """The store passed to ``compile(store=...)`` or ``entrypoint(store=...)``."""
    task = current_task("get_store()")
    if task.run.store is None:
        raise RuntimeError(
            "get_store() found no store: pass one with compile(store=InMemoryStore()) "
            "or entrypoint(store=...)."
        )
    return task.run.store


def _noop_writer(chunk: Any) -> None:
    """A stream writer when nobody streams "custom": writes go nowhere."""


def get_stream_writer() -> Callable[[Any], None]:
    """A function that sends anything to ``stream_mode="custom"`` consumers."""
    task = current_task("get_stream_writer()")
    return _writer_for(task)


def _writer_for(task: TaskContext) -> Callable[[Any], None]:
    emit = task.run.emit
    if emit is None or "custom" not in task.run.modes:
        return _noop_writer

    def write(chunk: Any) -> None:
        emit("custom", chunk)

    return write


def messages_streaming_active() -> bool:
    """True when the running graph streams ``"messages"``: chat models then stream tokens."""
    task = CURRENT_TASK.get()
    return task is not None and task.run.emit is not None and "messages" in task.run.modes


def emit_message_chunk(chunk: Any) -> None:
    """Send one token chunk to ``stream_mode="messages"`` as ``(chunk, metadata)``."""
    task = CURRENT_TASK.get()
    if task is None or task.run.emit is None or "messages" not in task.run.modes:
        return
    task.run.emit("messages", (chunk, task.stream_metadata()))


@dataclass(slots=True)
class Runtime:
    """What a node asking for a ``runtime`` parameter receives."""

    store: Any = None
    """The memory store, if the graph has one."""
    stream_writer: Callable[[Any], None] = _noop_writer
    """Writes to ``stream_mode="custom"``."""
    context: Any = None
    """The ``context`` entry of the run config, if any."""
