"""Exceptions raised by graphkit. Every message says what happened and how to fix it."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import sys
import warnings
from dataclasses import dataclass
from enum import Enum
from typing import Any, Literal

from pydantic import ValidationError

from graphkit.warnings import LangGraphDeprecatedSinceV10


class GraphkitError(Exception):
    """Base class of graphkit's own errors."""


class ErrorCode(Enum):
    """LangGraph's troubleshooting codes: each names a page of its error guide, which
    applies to graphkit too (``create_error_message`` links it)."""

    GRAPH_RECURSION_LIMIT = "GRAPH_RECURSION_LIMIT"
    INVALID_CONCURRENT_GRAPH_UPDATE = "INVALID_CONCURRENT_GRAPH_UPDATE"
    INVALID_GRAPH_NODE_RETURN_VALUE = "INVALID_GRAPH_NODE_RETURN_VALUE"
    MULTIPLE_SUBGRAPHS = "MULTIPLE_SUBGRAPHS"
    INVALID_CHAT_HISTORY = "INVALID_CHAT_HISTORY"


ERROR_GUIDE = "https://docs.langchain.com/oss/python/langgraph/errors/"
"""Where the troubleshooting page of each ``ErrorCode`` lives."""


def create_error_message(*, message: str, error_code: ErrorCode) -> str:
    """``message`` followed by the link to ``error_code``'s troubleshooting page.

    >>> text = create_error_message(message="Too deep.", error_code=ErrorCode.GRAPH_RECURSION_LIMIT)
    >>> text.splitlines()[1]
    'For troubleshooting, visit: https://docs.langchain.com/oss/python/langgraph/errors/GRAPH_RECURSION_LIMIT'
    """
    return f"{message}\nFor troubleshooting, visit: {ERROR_GUIDE}{error_code.value}"


class EmptyChannelError(GraphkitError, LookupError):
    """A state key (channel) was read before anything was written to it.

    graphkit's nodes never see this (a key not yet written is absent from their
    state); it exists under LangGraph's name for code that catches it."""


class TaskNotFound(GraphkitError, LookupError):
    """An executor was asked for a task it does not know (LangGraph's distributed
    mode); graphkit raises it under LangGraph's name."""


class GraphCompileError(GraphkitError, ValueError):
    """The graph is malformed; raised by ``compile()`` before anything runs."""


class InvalidCheckpointerError(GraphCompileError, TypeError):
    """``compile(checkpointer=...)`` got something that is not a checkpoint saver."""


class ConfigError(GraphkitError, ValueError):
    """A run's or saver's config is malformed or lacks what it needs (a thread id)."""


class InvalidUpdateError(GraphkitError, ValueError):
    """A node (or input) wrote something the state cannot take."""


class EmptyInputError(GraphkitError, ValueError):
    """A run was started with no input and there is nothing to resume."""


class GraphRecursionError(GraphkitError, RecursionError):
    """The run took more supersteps than ``recursion_limit`` allows."""


class NodeConfigError(GraphkitError, TypeError):
    """A node, branch or reducer function has an unusable signature."""


class InvalidReducerError(NodeConfigError, ValueError):
    """A state key's reducer cannot be called as ``reducer(current, update)``."""


class UnknownInterruptError(GraphkitError, ValueError, RuntimeError):
    """A ``Command(resume=...)`` does not match the thread's open interrupts.

    Raised before anything is written, so the open interrupts can still be answered.
    """

    def __init__(
        self,
        message: str,
        *,
        reason: str,
        interrupt_ids: tuple[str, ...] = (),
        pending_ids: tuple[str, ...] = (),
    ) -> None:
        super().__init__(message)
        self.reason = reason
        """"not_pending" (ids that are not open), "empty_map" or "ambiguous"."""
        self.interrupt_ids = tuple(interrupt_ids)
        """The ids given that are not open."""
        self.pending_ids = tuple(pending_ids)
        """The ids of the interrupts still waiting for an answer."""


class InvalidCallError(GraphkitError, TypeError):
    """A call got an argument of a kind it does not take, or was made in a way it does
    not support (an unknown keyword, a sync call on an async-only graph)."""


class InvalidArgumentError(GraphkitError, ValueError):
    """An argument's value is not one the call accepts (a ``version``, a
    ``stream_mode``, a ``tool_choice``); the message lists the accepted ones."""


class SyncCallOnLoopError(GraphkitError, asyncio.InvalidStateError):
    """A sync call that would wait on the event loop it is made from (an async store's
    ``get``/``put``... from that loop's thread): await its async twin instead. An
    ``asyncio.InvalidStateError``, as LangGraph raises there."""


class RunContextError(GraphkitError, RuntimeError):
    """A function that needs a running graph (or something the run lacks: a store, a
    checkpointer, a step counter) was called where there is none."""


class InvalidMessageError(GraphkitError, ValueError, TypeError):
    """A value cannot be read as a chat message, or a message update cannot apply
    (e.g. deleting an id the history does not hold)."""


class InvalidToolError(GraphkitError, TypeError, ValueError):
    """Something given as a tool cannot be one (no function to run, no name)."""


class ToolCallError(GraphkitError, ValueError):
    """A tool call cannot run as asked: the state lacks what the tool needs, or its
    ``Command`` does not answer the call."""


class MissingStateKeyError(ToolCallError, KeyError):
    """A tool asked for a state key (``InjectedState("key")``) the state does not have."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class PolicyError(GraphkitError, ValueError):
    """A retry, timeout or cache policy (or where it is used) is invalid."""


class NodeTimeoutError(GraphkitError):
    """An attempt of a node or task ran past its ``TimeoutPolicy``.

    Not a builtin ``TimeoutError`` (an ``OSError``), so the default ``RetryPolicy``
    retries it. ``run_timeout`` and ``idle_timeout`` are the configured limits
    (None when not set); ``kind`` and ``timeout`` say which one fired.
    """

    def __init__(
        self,
        node: str,
        elapsed: float,
        *,
        kind: Literal["idle", "run"],
        idle_timeout: float | None = None,
        run_timeout: float | None = None,
    ) -> None:
        limit = idle_timeout if kind == "idle" else run_timeout
        if kind not in ("idle", "run") or limit is None:
            raise PolicyError(f"NodeTimeoutError(kind={kind!r}) needs {kind}_timeout set.")
        what = (
            f"its idle timeout of {limit:.3f}s without making progress"
            if kind == "idle"
            else f"its run timeout of {limit:.3f}s"
        )
        super().__init__(
            f"Node {node!r} exceeded {what} (elapsed: {elapsed:.3f}s). Raise the limit in "
            "its TimeoutPolicy, or call runtime.heartbeat() while it makes progress."
        )
        self.node = node
        """The node (or task) that timed out."""
        self.elapsed = elapsed
        """Seconds the attempt ran."""
        self.kind = kind
        """Which limit fired: ``"idle"`` or ``"run"``."""
        self.timeout: float = limit
        """The limit that fired, in seconds."""
        self.idle_timeout = idle_timeout
        self.run_timeout = run_timeout


if sys.version_info >= (3, 11):
    _Timeout = TimeoutError
else:

    class _Timeout(TimeoutError, asyncio.TimeoutError, concurrent.futures.TimeoutError):
        """Before 3.11, asyncio's and concurrent.futures' TimeoutError are classes of their own."""


class StepTimeoutError(GraphkitError, _Timeout):
    """A step ran past the graph's ``step_timeout``: the run stops with this error.

    A ``TimeoutError`` (also asyncio's), as LangGraph raises. Async tasks still running
    are cancelled; sync tasks finish in their threads and their results are dropped.
    """

    def __init__(self, step: int, timeout: float, running: list[str]) -> None:
        super().__init__(
            f"Step {step} did not finish within the graph's step_timeout of {timeout:g}s "
            f"(still running: {', '.join(repr(n) for n in running) or 'nothing'}). Raise "
            "graph.step_timeout (None waits without a limit), or give the slow node a limit "
            "of its own: add_node(..., timeout=TimeoutPolicy(run_timeout=...))."
        )
        self.step = step
        """The step that timed out."""
        self.timeout = timeout
        """The limit, in seconds."""
        self.running = running
        """Names of the tasks that had not finished."""


class NodeCancelledError(GraphkitError):
    """A node's own code raised ``asyncio.CancelledError``: the run fails (it is not
    a cancellation of the run, which stays a ``CancelledError``)."""

    def __init__(self, node: str, message: str | None = None) -> None:
        super().__init__(
            message
            or f"Node {node!r} raised asyncio.CancelledError itself. Raise another exception "
            "to fail the node, or return normally."
        )
        self.node = node


@dataclass(frozen=True, slots=True)
class NodeError:
    """What an ``error_handler`` gets about the failure it handles.

    The handler asks for it with a parameter annotated ``NodeError`` (or named
    ``error``)::

        def handler(state: State, error: NodeError) -> dict:
            return {"status": f"{error.node} failed: {error.error}"}
    """

    node: str
    """Name of the node that failed."""
    error: BaseException
    """What it raised (after its retries). After a resume from a checkpoint: an
    exception of the same builtin type and message (else ``RestoredError``)."""


class RestoredError(GraphkitError):
    """An exception read back from a checkpoint whose type is not a builtin.

    ``type_name`` is the original class's name; ``str()`` its message.
    """

    def __init__(self, type_name: str, message: str) -> None:
        super().__init__(message)
        self.type_name = type_name


class GraphBubbleUp(GraphkitError):
    """What a node lets through to the engine: an interrupt (``GraphInterrupt``) or a
    hand-off to the parent graph (``ParentCommand``). A node that catches every
    exception re-raises these (``except GraphBubbleUp: raise``), as with LangGraph."""


class GraphInterrupt(GraphBubbleUp):
    """Raised inside a node by ``interrupt()`` to pause the run for human input."""

    def __init__(self, interrupts: tuple[Any, ...] = ()) -> None:
        super().__init__(interrupts)
        self.interrupts = interrupts


class NodeInterrupt(GraphInterrupt):
    """Raised by a node to pause the run with ``value`` (LangGraph's older way, which it
    deprecates: prefer ``interrupt(value)``). Resuming runs the node again from its
    start; a resume value is not passed to it."""

    def __init__(self, value: Any, id: str | None = None) -> None:
        from graphkit.types import Interrupt

        warnings.warn(
            "NodeInterrupt is deprecated (as in LangGraph): call graphkit.types.interrupt(value) "
            "in the node instead, which also returns the resume value.",
            LangGraphDeprecatedSinceV10,
            stacklevel=2,
        )
        super().__init__((Interrupt(value=value, id=id or ""),))


class ResumeValidationError(ValidationError):
    """The answer given with ``Command(resume=...)`` does not fit the interrupt's
    ``response_schema``. The run fails without saving, so the same interrupt can be
    answered again; tool error handling never turns it into a message.

    A ``pydantic.ValidationError`` (``except ValidationError`` catches it).
    """


class InvalidInputError(ValidationError, InvalidUpdateError):
    """A run's input does not fit its pydantic input schema. Both a
    ``pydantic.ValidationError`` (as LangGraph raises) and an ``InvalidUpdateError``;
    the message lists each field's problem."""


class InvalidStateError(ValidationError, InvalidUpdateError):
    """The state does not fit its pydantic schema where a node or a conditional edge
    reads it: a node (or ``update_state``) wrote a value the schema rejects. Channels
    keep values as written and each reader validates them, as in LangGraph, so this
    is raised before the reader runs; a note names it. Both a
    ``pydantic.ValidationError`` (as LangGraph raises) and an ``InvalidUpdateError``."""


def revalidation_error(
    kind: type[ValidationError], title: str, exc: ValidationError
) -> ValidationError:
    """``exc``'s errors as ``kind`` (``InvalidInputError``, ``InvalidStateError``),
    titled ``title``; ``exc`` itself when pydantic cannot rebuild them (a custom error
    type it does not know)."""
    details: Any = exc.errors()
    try:
        return kind.from_exception_data(title, details)
    except Exception:
        return exc


def is_invalid_resume(error: BaseException) -> bool:
    """Whether ``error`` is an answer that did not fit an interrupt's ``response_schema``
    (so the interrupt is still open and can be answered again), as opposed to any other
    validation error.

    >>> is_invalid_resume(ValueError("nope"))
    False
    """
    return isinstance(error, ResumeValidationError)


class GraphDrained(GraphkitError):
    """The run stopped between steps because its ``RunControl`` asked it to drain.

    The finished steps are saved: resume the thread with ``invoke(None, config)``.
    """

    def __init__(self, reason: str = "shutdown") -> None:
        super().__init__(
            f"Graph drained: {reason}. The run stopped between steps and its progress is "
            "saved; resume it with invoke(None, config) on the same thread."
        )
        self.reason = reason


class ParentCommand(GraphBubbleUp):
    """Carries a ``Command(graph=Command.PARENT)`` out of a subgraph."""

    def __init__(self, command: Any) -> None:
        super().__init__(command)
        self.command = command


def add_context(exc: BaseException, message: str) -> None:
    """Attach where an exception happened (node, step) without changing its type."""
    if hasattr(exc, "add_note"):
        exc.add_note(message)
    else:  # Python 3.10
        notes = getattr(exc, "__notes__", None)
        if notes is None:
            with contextlib.suppress(AttributeError):
                exc.__notes__ = [message]  # type: ignore[attr-defined]
        else:
            notes.append(message)


class MissingExtraError(GraphkitError, ImportError):
    """A feature needs an optional dependency that is not installed; the message names
    the extra that installs it (``pip install 'graphkit[anthropic]'``)."""


class ReplacedModuleError(GraphkitError, ImportError):
    """A LangGraph module graphkit does not have because another of its modules does
    that job; the message names the replacement and how to switch."""


class WorkerLostError(GraphkitError, ConnectionError):
    """The process running a task elsewhere (a Ray worker) died, or its host went away,
    before the task returned. A ``ConnectionError``: the default ``RetryPolicy``
    retries it, as any policy whose ``retry_on`` matches it."""


class UnshippableError(GraphkitError, TypeError):
    """A task's function, input, config or store cannot be sent to another process
    (it cannot be serialized); the message names the node and the value."""


class SharedReadChangedError(GraphkitError, RuntimeError):
    """A message a saver shares between reads (``copy_on_read=False``) was changed in
    place; raised by reads when ``GRAPHKIT_CHECK_SHARED_READS=1`` checks for it."""


class InvalidCheckpointError(GraphkitError, ValueError):
    """A checkpoint given to a saver contradicts itself (its channel versions)."""


class StoreError(GraphkitError):
    """Base of the errors the long-term memory stores raise (``except StoreError``)."""


class InvalidStoreQueryError(StoreError, ValueError):
    """A store filter or index field path that cannot be read; the message shows the
    accepted forms."""


class InvalidStoreConfigError(StoreError, ValueError, TypeError):
    """A store's ``index`` or ``ttl`` configuration is invalid (its ``embed``,
    ``dims``...), or does not match what the store on disk holds."""


class InvalidStoreRequestError(StoreError, ValueError, TypeError):
    """A store call's arguments are invalid: a value that is not a dict, an unknown op,
    negative paging, a bad ``ttl`` or ``match_type``."""


class InvalidEmbeddingError(StoreError, ValueError):
    """An embedding function returned vectors the index cannot take (wrong length or
    count, NaN or infinite values, not numbers)."""


class DuplicateLabelError(StoreError, KeyError):
    """A vector label is already in the index (remove it first)."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class StoreClosedError(StoreError, RuntimeError):
    """The store was closed; open a new one."""


class SaverClosedError(GraphkitError, RuntimeError):
    """A checkpoint saver (or a writer handle made from it) was used after ``close()``."""


class SaverNotImplementedError(GraphkitError, NotImplementedError):
    """A checkpoint saver was asked for a method its class does not implement (a saver
    may implement any subset of ``BaseCheckpointSaver``'s methods, as with LangGraph):
    the message names the method and what to implement or call instead."""


class StoreNotImplementedError(StoreError, NotImplementedError):
    """A store was asked for what its class does not do: ``ttl=`` on a store whose
    ``supports_ttl`` is False (as LangGraph raises)."""


class StoreFormatError(StoreError, RuntimeError):
    """A store on disk is in a format this version cannot read (written by a newer
    graphkit): the message names the format and the fix."""


class RemoteStoreError(StoreError, RuntimeError):
    """A task running in another process used a store that lives only in the caller's
    process (``InMemoryStore``, ``LMDBStore``): use a shared store, or run it locally."""
