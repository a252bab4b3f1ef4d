"""``langgraph.runtime``: what a node receives as its ``runtime`` argument.

A node (or ``@entrypoint``/``@task`` function) that takes a parameter named
``runtime`` gets a ``Runtime``: the run's ``context`` (the static dependencies
passed as ``invoke(..., context=...)``), the ``store``, the custom
``stream_writer``, the functional API's ``previous`` value and
``execution_info`` about this very attempt. ``get_runtime()`` returns the same
object from anywhere inside a running node::

    @dataclass
    class Ctx:
        user_id: str

    def greet(state: State, runtime: Runtime[Ctx]) -> dict[str, str]:
        return {"reply": f"hello {runtime.context.user_id}"}

    graph = StateGraph(State, context_schema=Ctx).add_node(greet)...compile()
    graph.invoke({...}, context={"user_id": "u1"})  # a dict is coerced to Ctx
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Generic, TypeVar

from typing_extensions import is_typeddict

from graphkit.errors import RunContextError

__all__ = [
    "DEFAULT_RUNTIME",
    "ExecutionInfo",
    "RunControl",
    "Runtime",
    "ServerInfo",
    "coerce_context",
    "get_runtime",
]

ContextT = TypeVar("ContextT")


@dataclass(frozen=True, slots=True)
class ExecutionInfo:
    """Read-only facts about the running node attempt."""

    checkpoint_id: str
    """The checkpoint the step runs from ("" before the thread has one)."""
    checkpoint_ns: str
    """The task's namespace: ``"node:task_id"``, nested ones joined by ``"|"``."""
    task_id: str
    """The running task's id."""
    thread_id: str | None = None
    """The thread, or None when the graph runs without a checkpointer."""
    run_id: str | None = None
    """``config["run_id"]``, if the caller gave one."""
    node_attempt: int = 1
    """1 for the first attempt, 2 for the first retry, and so on."""
    node_first_attempt_time: float | None = None
    """Unix time (seconds) of the first attempt."""

    def patch(self, **overrides: Any) -> ExecutionInfo:
        """A copy with the given fields replaced."""
        return replace(self, **overrides)


@dataclass(frozen=True, slots=True)
class ServerInfo:
    """Who runs the graph on a server (``assistant_id``/``graph_id`` in ``configurable``)."""

    assistant_id: str
    """The assistant's id."""
    graph_id: str
    """The graph's id."""
    user: Any = None
    """The authenticated user (``configurable["langgraph_auth_user"]``), if any."""


class RunControl:
    """Ask a run to stop cleanly between steps: ``invoke(..., control=RunControl())``.

    After ``request_drain()`` (from any thread), the run finishes the step in
    progress, saves it, and raises ``GraphDrained``; the thread resumes later
    with ``invoke(None, config)``. One control serves one run.
    """

    __slots__ = ("_drain_reason",)

    def __init__(self) -> None:
        self._drain_reason: str | None = None

    def request_drain(self, reason: str = "shutdown") -> None:
        """Stop the run at the end of its current step, for ``reason``."""
        self._drain_reason = reason

    @property
    def drain_requested(self) -> bool:
        """True once ``request_drain`` was called."""
        return self._drain_reason is not None

    @property
    def drain_reason(self) -> str | None:
        """The reason given to ``request_drain``, or None."""
        return self._drain_reason


def _no_op_stream_writer(chunk: Any) -> None:
    """A stream writer when nobody streams "custom": writes go nowhere."""


def _no_op_heartbeat() -> None:
    """Progress signal outside an idle-timed attempt: nothing to record."""


@dataclass(slots=True)
class Runtime(Generic[ContextT]):
    """Run-scoped context and utilities, given to a node asking for ``runtime``.

    ``Runtime`` holds no ``config``: take a ``config`` parameter for that.
    """

    context: ContextT = field(default=None)  # type: ignore[assignment]
    """The run's static context (``invoke(..., context=...)``), coerced to ``context_schema``."""
    store: Any = None
    """The memory store of the graph, if any."""
    stream_writer: Callable[[Any], None] = _no_op_stream_writer
    """Writes to ``stream_mode="custom"`` (a no-op when nobody streams it)."""
    heartbeat: Callable[[], None] = _no_op_heartbeat
    """Records progress of a long node (for idle timeouts)."""
    previous: Any = None
    """Functional API: what the last run of this thread returned (or saved)."""
    execution_info: ExecutionInfo | None = None
    """Facts about the running attempt; None outside a node."""
    server_info: ServerInfo | None = None
    """Set when the config names an ``assistant_id`` and ``graph_id``."""
    control: RunControl | None = None
    """The run's ``RunControl`` (for cooperative draining), if one was given."""

    def merge(self, other: Runtime[ContextT]) -> Runtime[ContextT]:
        """``other``'s values where it has them (truthy / not the default), else ours."""
        return Runtime(
            context=other.context or self.context,
            store=other.store or self.store,
            stream_writer=self.stream_writer
            if other.stream_writer is _no_op_stream_writer
            else other.stream_writer,
            heartbeat=self.heartbeat if other.heartbeat is _no_op_heartbeat else other.heartbeat,
            previous=self.previous if other.previous is None else other.previous,
            execution_info=other.execution_info or self.execution_info,
            server_info=other.server_info or self.server_info,
            control=other.control or self.control,
        )

    def override(self, **overrides: Any) -> Runtime[ContextT]:
        """A copy with the given fields replaced."""
        return replace(self, **overrides)

    def patch_execution_info(self, **overrides: Any) -> Runtime[ContextT]:
        """A copy whose ``execution_info`` has the given fields replaced."""
        if self.execution_info is None:
            raise RunContextError(
                "patch_execution_info() needs an execution_info, and this Runtime has none "
                "(it is only set inside a running node)."
            )
        return replace(self, execution_info=self.execution_info.patch(**overrides))

    @property
    def drain_requested(self) -> bool:
        """True when the run's ``RunControl`` asked it to drain."""
        return self.control is not None and self.control.drain_requested

    @property
    def drain_reason(self) -> str | None:
        """Why the run was asked to drain, if it was."""
        return self.control.drain_reason if self.control is not None else None


DEFAULT_RUNTIME: Runtime[Any] = Runtime()
"""The runtime of nothing: no context, no store, no-op writer and heartbeat."""


def get_runtime(context_schema: type[ContextT] | None = None) -> Runtime[ContextT]:
    """The ``Runtime`` of the running node (``context_schema`` only types the result).

    Raises ``RuntimeError`` outside a running graph.
    """
    from graphkit.context import current_task

    return current_task("get_runtime()").runtime()


def coerce_context(schema: Any, context: Any) -> Any:
    """``context`` as an instance of ``schema``: a dict becomes the dataclass or model.

    A TypedDict schema keeps the dict. A dataclass raises ``TypeError`` on missing or
    unknown keys; a pydantic model raises its ``ValidationError``.
    """
    if schema is None or context is None or not isinstance(context, dict):
        return context
    if is_typeddict(schema):
        return context
    if dataclasses.is_dataclass(schema) and isinstance(schema, type):
        return schema(**context)
    validate = getattr(schema, "model_validate", None)
    if validate is not None:
        return validate(context)
    return context
