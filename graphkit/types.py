"""Public value types: RunnableConfig, Send, Command, Interrupt, Overwrite, StateSnapshot,
and the node policies RetryPolicy, TimeoutPolicy and CachePolicy."""

from __future__ import annotations

import random
import sys
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import (
    TYPE_CHECKING,
    Any,
    ClassVar,
    Generic,
    Literal,
    NamedTuple,
    TypeAlias,
    TypeVar,
    Union,
)

from typing_extensions import TypedDict

# The types of version="v2" stream items, under LangGraph's names (re-exported).
# isort: off
from graphkit._stream_parts import (
    CheckpointPayload as CheckpointPayload,
    CheckpointStreamPart as CheckpointStreamPart,
    CheckpointTask as CheckpointTask,
    CustomStreamPart as CustomStreamPart,
    DebugPayload as DebugPayload,
    DebugStreamPart as DebugStreamPart,
    MessagesStreamPart as MessagesStreamPart,
    StreamPart as StreamPart,
    TaskPayload as TaskPayload,
    TaskResultPayload as TaskResultPayload,
    TasksStreamPart as TasksStreamPart,
    UpdatesStreamPart as UpdatesStreamPart,
    ValuesStreamPart as ValuesStreamPart,
)

# isort: on
from graphkit.warnings import LangGraphDeprecatedSinceV10

if TYPE_CHECKING:
    from graphkit.stores.checkpoint.base import BaseCheckpointSaver

N = TypeVar("N")
T = TypeVar("T")

StreamMode = Literal[
    "values", "updates", "custom", "debug", "messages", "checkpoints", "tasks", "tools"
]
Durability = Literal["sync", "async", "exit"]
All = Literal["*"]
"""``interrupt_before`` / ``interrupt_after`` = ``"*"``: every node."""
StreamWriter: TypeAlias = Callable[[Any], None]
"""The type of a node's ``writer`` parameter: call it with a chunk to stream it in
``custom`` mode (as ``get_stream_writer()`` returns)."""
Checkpointer: TypeAlias = Union[bool, "BaseCheckpointSaver", None]
"""What ``compile(checkpointer=...)`` takes: a saver, or for a subgraph True / False / None."""


class RunnableConfig(TypedDict, total=False):
    """The config of a run, as LangChain's ``RunnableConfig``: every key optional.

    ``configurable`` holds the thread (``thread_id``, ``checkpoint_ns``,
    ``checkpoint_id``) and any values nodes read; the other keys tune the run.
    """

    configurable: dict[str, Any]
    """``thread_id``, ``checkpoint_ns``, ``checkpoint_id``, ``checkpoint_map`` and user values."""
    tags: list[str]
    metadata: dict[str, Any]
    """Copied into each checkpoint's metadata."""
    callbacks: Any
    run_name: str
    run_id: Any
    max_concurrency: int | None
    """How many tasks of one step run at once (None: no limit)."""
    recursion_limit: int
    """How many supersteps a run may take before ``GraphRecursionError`` (default 25)."""
    durability: Durability
    executor: Any


@dataclass(slots=True, repr=False, init=False)
class Send:
    """Run ``node`` in the next step with ``arg`` as its whole input (map-reduce fan-out).

    Return a list of these from a conditional edge to start one task per item:

    >>> [Send("grade", {"doc": d}) for d in ("a", "b")][1]
    Send(node='grade', arg={'doc': 'b'})

    Equal when node, arg and timeout are; hashable when its arg is. Its fields can be
    set, as LangGraph's (not frozen: a fan-out builds one per item, and a frozen
    class's constructor costs twice a plain one's).
    """

    node: str
    """The node to run."""
    arg: Any
    """Its input, instead of the graph state."""
    timeout: TimeoutPolicy | None
    """A timeout for this one task, instead of the node's own."""

    def __init__(
        self,
        node: str,
        arg: Any,
        *,
        timeout: float | timedelta | TimeoutPolicy | None = None,
    ) -> None:
        """``timeout``: seconds, a ``timedelta`` or a ``TimeoutPolicy`` (a number is a
        ``run_timeout``); only async nodes take one."""
        self.node = node
        self.arg = arg
        self.timeout = None if timeout is None else TimeoutPolicy.coerce(timeout)

    def __hash__(self) -> int:
        return hash((self.node, self.arg, self.timeout))

    def __repr__(self) -> str:
        if self.timeout is None:
            return f"Send(node={self.node!r}, arg={self.arg!r})"
        return f"Send(node={self.node!r}, arg={self.arg!r}, timeout={self.timeout!r})"


@dataclass(frozen=True, slots=True)
class Interrupt:
    """A pause requested by ``interrupt(value)``; resume with ``Command(resume=...)``."""

    value: Any
    """What the node handed to the human (a question, a draft...)."""
    id: str = ""
    """Stable id of this interrupt, to resume several at once by id."""
    response_schema: dict[str, Any] | None = None
    """The JSON schema the answer must fit (``interrupt(..., response_schema=...)``),
    for whoever builds the form that asks; None when any answer goes."""

    @property
    def interrupt_id(self) -> str:
        """LangGraph's deprecated name of ``id`` (warns, as LangGraph does)."""
        warnings.warn(
            LangGraphDeprecatedSinceV10("`interrupt_id` is deprecated. Use `id` instead."),
            stacklevel=2,
        )
        return self.id


@dataclass(frozen=True, slots=True)
class Command(Generic[N]):
    """Update the state and choose where to go next, from inside a node.

    As a node's return value: ``Command(update={"x": 1}, goto="b")``. As the input
    of ``invoke`` on a paused thread: ``Command(resume="yes")``.
    """

    graph: str | None = None
    """None: this graph. ``Command.PARENT``: the graph that holds this subgraph."""
    update: Any = None
    """A partial state update, as a node would return it."""
    resume: Any = None
    """The value ``interrupt()`` returns when the run resumes (or ``{interrupt_id: value}``)."""
    goto: Send | str | Sequence[Send | str] = ()
    """Node name(s) or ``Send``(s) to run next."""

    PARENT: ClassVar[str] = "__parent__"

    def __repr__(self) -> str:
        """Only the fields that are set, as LangGraph shows a Command."""
        shown = [
            f"{name}={value!r}"
            for name in ("graph", "update", "resume", "goto")
            if (value := getattr(self, name)) is not None and value != ()
        ]
        return f"Command({', '.join(shown)})"

    def goto_list(self) -> list[Send | str]:
        """``goto`` as a list."""
        if isinstance(self.goto, (str, Send)):
            return [self.goto]
        return list(self.goto)


@dataclass(frozen=True, slots=True)
class Overwrite:
    """Write ``value`` to a reducer key as is, bypassing its reducer."""

    value: Any
    """The new value of the key."""


def default_retry_on(exc: Exception) -> bool:
    """Whether the default ``RetryPolicy`` retries ``exc``: transient failures only.

    Connection errors and HTTP 5xx responses (httpx, requests) are retried;
    programming errors (``ValueError``, ``TypeError``, ``KeyError``...) and other
    ``OSError``s are not; any other exception (``NodeTimeoutError`` included) is.
    """
    if isinstance(exc, ConnectionError):
        return True
    status = _http_error_status(exc)
    if status is not None:
        return status == -1 or 500 <= status < 600
    return not isinstance(exc, _NOT_RETRIED)


_NOT_RETRIED = (
    ValueError,
    TypeError,
    ArithmeticError,
    ImportError,
    LookupError,
    NameError,
    SyntaxError,
    RuntimeError,
    ReferenceError,
    StopIteration,
    StopAsyncIteration,
    OSError,
)


def _http_error_status(exc: Exception) -> int | None:
    """The status of an httpx/requests HTTP error (-1: requests error without a response).

    None when ``exc`` is neither; neither library is imported for this.
    """
    httpx = sys.modules.get("httpx")
    if httpx is not None and isinstance(exc, httpx.HTTPStatusError):
        return int(exc.response.status_code)
    requests = sys.modules.get("requests")
    if requests is not None and isinstance(exc, requests.HTTPError):
        response = exc.response
        return -1 if response is None else int(response.status_code)
    return None


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How to retry a failing node or task: exponential backoff with optional jitter.

    Fields, defaults and order as LangGraph's ``RetryPolicy``:

    >>> RetryPolicy(max_attempts=5).wait(3, jitter=0.0)
    2.0
    """

    initial_interval: float = 0.5
    """Seconds before the first retry."""
    backoff_factor: float = 2.0
    """Each wait is the previous one times this."""
    max_interval: float = 128.0
    """No wait (before jitter) is longer than this many seconds."""
    max_attempts: int = 3
    """Attempts in all, the first one included."""
    jitter: bool = True
    """Add ``random.uniform(0, 1)`` seconds to each wait, so parallel retries spread out."""
    retry_on: type[Exception] | Sequence[type[Exception]] | Callable[[Exception], bool] = (
        default_retry_on
    )
    """Exception types to retry, or a predicate deciding per exception."""

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            from graphkit.errors import PolicyError

            raise PolicyError(
                f"RetryPolicy.max_attempts must be >= 1 (it counts the first attempt), "
                f"got {self.max_attempts}."
            )

    def should_retry(self, exc: Exception) -> bool:
        """True when ``exc`` is one this policy retries."""
        retry_on = self.retry_on
        if isinstance(retry_on, type) and issubclass(retry_on, BaseException):
            return isinstance(exc, retry_on)
        if isinstance(retry_on, Sequence) and not isinstance(retry_on, str):
            return isinstance(exc, tuple(retry_on))
        if callable(retry_on):
            return bool(retry_on(exc))  # type: ignore[call-arg]
        from graphkit.errors import PolicyError

        raise PolicyError(
            "RetryPolicy.retry_on must be an Exception class, a list or tuple of Exception "
            f"classes, or a callable taking the exception; got {retry_on!r}."
        )

    def wait(self, attempt: int, *, jitter: float | None = None) -> float:
        """Seconds to sleep after failed attempt number ``attempt`` (1-based).

        ``jitter`` overrides the random part (for tests); it is only added when
        the policy's ``jitter`` is on.
        """
        interval = min(
            self.max_interval, self.initial_interval * self.backoff_factor ** (attempt - 1)
        )
        if not self.jitter:
            return interval
        return interval + (random.uniform(0, 1) if jitter is None else jitter)


def _timeout_seconds(value: float | timedelta | None, field: str) -> float | None:
    if value is None:
        return None
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    if not seconds > 0:
        from graphkit.errors import PolicyError

        raise PolicyError(
            f"{field} must be greater than 0 seconds, got {value!r}. "
            "Pass a positive number of seconds or a timedelta, or None for no limit."
        )
    return seconds


@dataclass(frozen=True, slots=True, kw_only=True)
class TimeoutPolicy:
    """Time limits for each attempt of an async node or task.

    A timed-out attempt is cancelled and raises ``NodeTimeoutError``; the retry
    policy then decides whether to try again (the default one does).

    >>> TimeoutPolicy.coerce(timedelta(milliseconds=250))
    TimeoutPolicy(run_timeout=0.25, idle_timeout=None, refresh_on='auto')

    Timeouts rely on asyncio cancellation: a node blocking the event loop
    (``time.sleep``, CPU-bound work) is only stopped once it yields.
    """

    run_timeout: float | timedelta | None = None
    """Hard wall-clock cap, in seconds, for one attempt; never refreshed."""
    idle_timeout: float | timedelta | None = None
    """Longest time, in seconds, an attempt may go without progress."""
    refresh_on: Literal["auto", "heartbeat"] = "auto"
    """What counts as progress for ``idle_timeout``: ``"auto"``, anything the task
    streams (``writer``, message chunks) and ``runtime.heartbeat()``;
    ``"heartbeat"``, only ``runtime.heartbeat()``."""

    @classmethod
    def coerce(cls, value: float | timedelta | TimeoutPolicy | None) -> TimeoutPolicy | None:
        """Normalize a timeout (seconds, ``timedelta`` or policy) to a policy in float seconds.

        A number or ``timedelta`` is a ``run_timeout``. Raises ``PolicyError`` (a
        ``ValueError``) for a timeout that is not positive.
        """
        if value is None:
            return None
        if not isinstance(value, TimeoutPolicy):
            value = cls(run_timeout=value)
        elif _is_coerced(value):
            return value
        if value.refresh_on not in ("auto", "heartbeat"):
            from graphkit.errors import PolicyError

            raise PolicyError(
                f"TimeoutPolicy.refresh_on must be 'auto' or 'heartbeat', got {value.refresh_on!r}."
            )
        run = _timeout_seconds(value.run_timeout, "run_timeout")
        idle = _timeout_seconds(value.idle_timeout, "idle_timeout")
        if run is None and idle is None:
            return None
        return cls(run_timeout=run, idle_timeout=idle, refresh_on=value.refresh_on)


def _is_coerced(policy: TimeoutPolicy) -> bool:
    run, idle = policy.run_timeout, policy.idle_timeout
    return (
        policy.refresh_on in ("auto", "heartbeat")
        and (run is None or (type(run) is float and run > 0))
        and (idle is None or (type(idle) is float and idle > 0))
        and (run is not None or idle is not None)
    )


def default_cache_key(*args: Any, **kwargs: Any) -> str | bytes:
    """The default ``CachePolicy.key_func``: the pickled input (dicts in key order)."""
    import pickle

    return pickle.dumps((_freeze(args), _freeze(kwargs)), protocol=5, fix_imports=False)


def _freeze(obj: Any) -> Any:
    """A value that pickles the same for equal inputs (dict and set order ignored)."""
    if isinstance(obj, dict):
        return tuple(sorted(((k, _freeze(v)) for k, v in obj.items()), key=lambda kv: repr(kv[0])))
    if isinstance(obj, (list, tuple)):
        return tuple(_freeze(v) for v in obj)
    if isinstance(obj, (set, frozenset)):
        return tuple(sorted((_freeze(v) for v in obj), key=repr))
    return obj


KeyFuncT = TypeVar("KeyFuncT", bound=Callable[..., "str | bytes"])


@dataclass(frozen=True, slots=True, kw_only=True)
class CachePolicy(Generic[KeyFuncT]):
    """Cache a node's (or task's) result: equal input, no new run, same writes.

    Needs a cache: ``compile(cache=InMemoryCache())`` or ``entrypoint(cache=...)``.
    """

    key_func: KeyFuncT = default_cache_key  # type: ignore[assignment]
    """Makes the cache key from the node's input (task: its arguments)."""
    ttl: int | None = None
    """Seconds an entry lives; None: until the cache is cleared."""


@dataclass(frozen=True, slots=True)
class PregelTask:
    """A task of a snapshot: what runs (or failed, or paused) in the next step."""

    id: str
    name: str
    path: tuple[Any, ...] = ()
    error: Exception | str | None = None
    """What the task raised: the exception while it runs, its ``repr`` in a saved
    checkpoint's snapshot (as LangGraph)."""
    interrupts: tuple[Interrupt, ...] = ()
    state: Any = None
    """For a subgraph's task: its ``StateSnapshot`` (``get_state(subgraphs=True)``),
    else the config of its namespace."""
    result: Any = None


class StateUpdate(NamedTuple):
    """One update of ``bulk_update_state``: ``values`` written as ``as_node``."""

    values: dict[str, Any] | None
    as_node: str | None = None
    task_id: str | None = None


class StateSnapshot(NamedTuple):
    """A thread's state at one checkpoint, as ``get_state`` returns it.

    A named tuple, as LangGraph's: fields by name, unpacking, ``_replace``.
    """

    values: Any
    """The state values (the output schema's keys)."""
    next: tuple[str, ...]
    """Nodes that run in the next step; empty when the run is finished."""
    config: RunnableConfig
    """Config that points at this checkpoint (has ``checkpoint_id``)."""
    metadata: dict[str, Any] | None
    """source (input/loop/update/fork), step, writes, and the run's metadata."""
    created_at: str | None
    """When the checkpoint was saved (ISO-8601)."""
    parent_config: RunnableConfig | None
    """Config of the checkpoint before this one, if any."""
    tasks: tuple[PregelTask, ...] = ()
    """The next step's tasks, with errors and interrupts of a failed or paused step."""
    interrupts: tuple[Interrupt, ...] = ()
    """Interrupts waiting for a resume value."""


def interrupt(value: Any, *, response_schema: Any = None) -> Any:
    """Pause the run here and hand ``value`` to a human; return their answer on resume.

    The first time it is reached, the run stops (``invoke`` output holds
    ``__interrupt__``); ``invoke(Command(resume=answer), config)`` re-runs the node
    and this call returns ``answer``. Resuming needs a checkpointer; without one the run
    still stops and reports the interrupt (as in LangGraph), but cannot go on.

    With ``response_schema`` (a pydantic model or any type pydantic validates: a
    TypedDict, a dataclass...), the answer is validated and returned as that type; an
    answer that does not fit raises ``ResumeValidationError`` and the interrupt stays
    open. A dict is taken as a JSON schema: shown on the ``Interrupt``, not enforced.
    The ``Interrupt`` carries the schema as JSON schema either way.
    """
    from graphkit.context import count_interrupts, current_task
    from graphkit.errors import GraphInterrupt

    task = current_task("interrupt()")
    owner = task.interrupt_owner()
    index = owner.interrupt_count
    owner.interrupt_count += 1
    count_interrupts(1)
    if index >= len(owner.resume) and task.run.scope.open_answer:
        owner.resume = (*owner.resume, task.run.scope.open_answer.pop())
    if index < len(owner.resume):
        answer = owner.resume[index]
        if response_schema is None or isinstance(response_schema, dict):
            return answer
        return _validated_answer(answer, response_schema)
    schema = _json_schema(response_schema)
    raise GraphInterrupt((Interrupt(value, id=owner.interrupt_id(index), response_schema=schema),))


def _json_schema(schema: Any) -> dict[str, Any] | None:
    """The JSON schema of an interrupt's ``response_schema`` (a dict is one already)."""
    if schema is None or isinstance(schema, dict):
        return schema
    from pydantic import TypeAdapter

    try:
        return TypeAdapter(schema).json_schema()
    except Exception as exc:
        from graphkit.errors import NodeConfigError

        raise NodeConfigError(
            f"interrupt(response_schema={schema!r}): pydantic cannot make a JSON schema of it "
            f"({exc}). Pass a pydantic model, TypedDict, dataclass or a JSON schema dict."
        ) from None


def _validated_answer(answer: Any, schema: Any) -> Any:
    from pydantic import TypeAdapter, ValidationError

    from graphkit.errors import ResumeValidationError

    try:
        return TypeAdapter(schema).validate_python(answer)
    except ValidationError as exc:
        details: Any = exc.errors()
        raise ResumeValidationError.from_exception_data(exc.title, details) from None


def _register_with_serializer() -> None:
    """Let checkpoints hold Send, Command and Interrupt (decoded only because registered)."""
    from graphkit.stores.serde import register

    for cls in (Send, Interrupt, Command, Overwrite, TimeoutPolicy):
        register(cls)


_register_with_serializer()


@dataclass(frozen=True, slots=True)
class GraphOutput(Generic[T]):
    """What ``invoke(..., version="v2")`` returns: the output and the open interrupts."""

    value: T
    """The graph's output state."""
    interrupts: tuple[Interrupt, ...] = ()
    """The interrupts the run stopped at (empty when it finished)."""
