"""The one retry implementation: graph nodes and ``@task`` calls both run through it.

``run_with_retry`` (sync) and ``arun_with_retry`` (async) call an attempt until it
succeeds or no ``RetryPolicy`` retries its exception. They never retry an
``interrupt()`` (``GraphInterrupt``) or a ``Command.PARENT`` (``ParentCommand``):
those are not failures. The async one also applies a ``TimeoutPolicy`` to each
attempt (see ``graphkit.engine.timeout``) and turns a ``CancelledError`` raised by
the node's own code into ``NodeCancelledError``.

>>> calls = []
>>> def flaky() -> str:
...     calls.append(1)
...     if len(calls) < 3:
...         raise ConnectionError("down")
...     return "ok"
>>> run_with_retry("fetch", (RetryPolicy(initial_interval=0, jitter=False),), flaky)
'ok'
>>> len(calls)
3
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from graphkit.context import TaskContext
from graphkit.errors import GraphInterrupt, NodeCancelledError, ParentCommand
from graphkit.types import RetryPolicy, TimeoutPolicy

T = TypeVar("T")


NOT_FAILURES = (GraphInterrupt, ParentCommand)
"""Exceptions that stop an attempt without failing it: never retried or handled."""


def as_retry_policies(
    policy: RetryPolicy | Sequence[RetryPolicy] | None,
) -> tuple[RetryPolicy, ...]:
    """``retry_policy=`` as given to ``add_node``/``@task``: one policy, several, or None."""
    if policy is None:
        return ()
    if isinstance(policy, RetryPolicy):
        return (policy,)
    return tuple(policy)


def retry_wait(policies: tuple[RetryPolicy, ...], exc: Exception, attempt: int) -> float | None:
    """Seconds to wait before attempt ``attempt + 1`` after ``exc``, or None to give up.

    The first policy whose ``retry_on`` matches decides; ``GraphInterrupt`` and
    ``ParentCommand`` are never retried.
    """
    if isinstance(exc, NOT_FAILURES):
        return None
    for policy in policies:
        if policy.should_retry(exc):
            return policy.wait(attempt) if attempt < policy.max_attempts else None
    return None


def run_with_retry(
    name: str,
    policies: tuple[RetryPolicy, ...],
    attempt: Callable[[], T],
    ctx: TaskContext | None = None,
) -> T:
    """Call ``attempt()`` until it returns, retrying what ``policies`` allow.

    ``name`` (the node or task) goes into ``NodeCancelledError``. ``ctx``, the node's
    task, learns each attempt's number (and its interrupt count restarts). The wait
    between attempts is ``time.sleep``.
    """
    first = time.time()
    number = 0
    while True:
        number += 1
        if ctx is not None:
            _start_attempt(ctx, number, first)
        try:
            return attempt()
        except asyncio.CancelledError as exc:  # a sync body has no event loop to cancel it
            raise NodeCancelledError(name) from exc
        except Exception as exc:
            wait = retry_wait(policies, exc, number) if policies else None
            if wait is None:
                raise
            time.sleep(wait)


async def arun_with_retry(
    name: str,
    policies: tuple[RetryPolicy, ...],
    timeout: TimeoutPolicy | None,
    attempt: Callable[[], Awaitable[T]],
    ctx: TaskContext | None = None,
) -> T:
    """Await ``attempt()`` until it returns, retrying what ``policies`` allow.

    With ``timeout``, each attempt is limited by it (``NodeTimeoutError``, which the
    default policy retries). A ``CancelledError`` the attempt raised by itself
    becomes ``NodeCancelledError``; a cancellation of the caller stays one.
    """
    from graphkit.engine.timeout import run_timed

    first = time.time()
    number = 0
    while True:
        number += 1
        if ctx is not None:
            _start_attempt(ctx, number, first)
        try:
            if timeout is None:
                return await attempt()
            return await run_timed(name, timeout, attempt)
        except asyncio.CancelledError as exc:
            if _cancelled_from_outside():
                raise
            raise NodeCancelledError(name) from exc
        except Exception as exc:
            wait = retry_wait(policies, exc, number) if policies else None
            if wait is None:
                raise
            await asyncio.sleep(wait)


def _start_attempt(ctx: TaskContext, number: int, first: float) -> None:
    ctx.attempt = number
    ctx.first_attempt_time = first
    ctx.interrupt_count = 0  # a retry asks its interrupt() questions again, in order
    ctx.pushed = None  # what a failed attempt pushed (push_message) is not written


def _cancelled_from_outside() -> bool:
    """True when the running asyncio task was cancelled (not a node raising it).

    Python 3.10 cannot tell the two apart: there every ``CancelledError`` counts
    as a cancellation of the run.
    """
    task = asyncio.current_task()
    cancelling = getattr(task, "cancelling", None)
    return cancelling is None or cancelling() > 0
