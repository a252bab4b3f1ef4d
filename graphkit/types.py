"""Public value types: Send, Command, Interrupt, RetryPolicy, Overwrite, StateSnapshot."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, Literal, NamedTuple, TypeVar

N = TypeVar("N")

StreamMode = Literal["values", "updates", "custom", "debug", "messages", "checkpoints", "tasks"]
Durability = Literal["sync", "async", "exit"]


@dataclass(frozen=True, slots=True)
class Send:
    """Run ``node`` in the next step with ``arg`` as its whole input (map-reduce fan-out).

    Return a list of these from a conditional edge to start one task per item:

    >>> [Send("grade", {"doc": d}) for d in ("a", "b")][1]
    Send(node='grade', arg={'doc': 'b'})
    """

    node: str
    """The node to run."""
    arg: Any
    """Its input, instead of the graph state."""


@dataclass(frozen=True, slots=True)
class Interrupt:
    """A pause requested by ``interrupt(value)``; resume with ``Command(resume=...)``."""

    value: Any
    """What the node handed to the human (a question, a draft...)."""
    id: str = ""
    """Stable id of this interrupt, to resume several at once by id."""


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


def _default_retry_on(exc: Exception) -> bool:
    """Retry errors that are usually transient; never programming errors."""
    if isinstance(
        exc,
        (
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
        ),
    ):
        return isinstance(exc, (ConnectionError, TimeoutError))
    status = getattr(getattr(exc, "response", None), "status_code", None)
    if isinstance(status, int):
        return status == 429 or status >= 500
    return True


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How to retry a failing node: exponential backoff with optional jitter."""

    initial_interval: float = 0.5
    """Seconds before the first retry."""
    backoff_factor: float = 2.0
    """Each wait is the previous one times this."""
    max_interval: float = 128.0
    """No wait is longer than this many seconds."""
    max_attempts: int = 3
    """Attempts in all, the first one included."""
    jitter: bool = True
    """Add up to 1 s of random wait, so parallel retries spread out."""
    retry_on: type[Exception] | Sequence[type[Exception]] | Callable[[Exception], bool] = (
        _default_retry_on
    )
    """Exception types to retry, or a predicate deciding per exception."""

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"RetryPolicy.max_attempts must be >= 1, got {self.max_attempts}")

    def should_retry(self, exc: Exception) -> bool:
        """True when ``exc`` is one this policy retries."""
        if isinstance(self.retry_on, type):
            return isinstance(exc, self.retry_on)
        if isinstance(self.retry_on, Sequence):
            return isinstance(exc, tuple(self.retry_on))
        return bool(self.retry_on(exc))

    def wait(self, attempt: int) -> float:
        """Seconds to sleep after failed attempt number ``attempt`` (1-based)."""
        interval = min(
            self.max_interval, self.initial_interval * self.backoff_factor ** (attempt - 1)
        )
        return interval + (random.uniform(0, 1) if self.jitter else 0.0)


@dataclass(frozen=True, slots=True)
class PregelTask:
    """A task of a snapshot: what runs (or failed, or paused) in the next step."""

    id: str
    name: str
    path: tuple[Any, ...] = ()
    error: Exception | None = None
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


@dataclass(frozen=True, slots=True)
class StateSnapshot:
    """A thread's state at one checkpoint, as ``get_state`` returns it."""

    values: Any
    """The state values (the output schema's keys)."""
    next: tuple[str, ...]
    """Nodes that run in the next step; empty when the run is finished."""
    config: dict[str, Any]
    """Config that points at this checkpoint (has ``checkpoint_id``)."""
    metadata: dict[str, Any] | None
    """source (input/loop/update/fork), step, writes, and the run's metadata."""
    created_at: str | None
    """When the checkpoint was saved (ISO-8601)."""
    parent_config: dict[str, Any] | None
    """Config of the checkpoint before this one, if any."""
    tasks: tuple[PregelTask, ...] = field(default_factory=tuple)
    """The next step's tasks, with errors and interrupts of a failed or paused step."""
    interrupts: tuple[Interrupt, ...] = field(default_factory=tuple)
    """Interrupts waiting for a resume value."""


def interrupt(value: Any) -> Any:
    """Pause the run here and hand ``value`` to a human; return their answer on resume.

    The first time it is reached, the run stops (``invoke`` output holds
    ``__interrupt__``); ``invoke(Command(resume=answer), config)`` re-runs the node
    and this call returns ``answer``. Needs a checkpointer.
    """
    from graphkit.context import current_task
    from graphkit.errors import GraphInterrupt

    task = current_task("interrupt()")
    if not task.run.has_checkpointer:
        raise RuntimeError(
            "interrupt() needs a checkpointer to resume the run later: "
            "compile(checkpointer=InMemorySaver()) and pass a thread_id in the config."
        )
    owner = task.interrupt_owner()
    index = owner.interrupt_count
    owner.interrupt_count += 1
    if index < len(owner.resume):
        return owner.resume[index]
    raise GraphInterrupt((Interrupt(value, id=owner.interrupt_id(index)),))


def _register_with_serializer() -> None:
    """Let checkpoints hold Send, Command and Interrupt (decoded only because registered)."""
    from graphkit.stores.serde import register

    for cls in (Send, Interrupt, Command, Overwrite):
        register(cls)


_register_with_serializer()
