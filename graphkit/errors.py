"""Exceptions raised by graphkit. Every message says what happened and how to fix it."""

from __future__ import annotations

import contextlib
from typing import Any


class GraphkitError(Exception):
    """Base class of graphkit's own errors."""


class GraphCompileError(GraphkitError, ValueError):
    """The graph is malformed; raised by ``compile()`` before anything runs."""


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


class GraphInterrupt(GraphkitError):
    """Raised inside a node by ``interrupt()`` to pause the run for human input."""

    def __init__(self, interrupts: tuple[Any, ...] = ()) -> None:
        super().__init__(interrupts)
        self.interrupts = interrupts


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


class ParentCommand(GraphkitError):
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
