"""Where a task's function runs: the ``Executor`` seam between the engine and user code.

The engine does a task's bookkeeping itself (its scope, retries, timeouts, cache,
writes, branches, error handler) and hands an executor only the attempt: call
this node's (or ``@task``'s) function with this input in this task's context, and
return what it returned or raise what it raised. ``LocalExecutor`` calls it right
here; ``graphkit.executor.RayExecutor`` runs it as a Ray task on a cluster. Because
the writes still come back to the loop and are applied at the barrier in task
order, a run's result never depends on the executor.

An executor also says how many of a step's tasks may wait at once in this process
(``workers``) and lends the threads they wait in (``pool``): local tasks compute in
those threads, remote ones only wait there.

>>> from graphkit.node import inspect_callable
>>> LOCAL.call("double", inspect_callable(lambda x: 2 * x, "double"), 21, None)
42
"""

from __future__ import annotations

import asyncio
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from graphkit.context import TaskContext
    from graphkit.node import CallSpec
    from graphkit.types import RunnableConfig

DEFAULT_WORKERS = min(32, (os.cpu_count() or 1) + 4)
"""Threads for a step's parallel sync tasks when the run sets no ``max_concurrency``."""


@runtime_checkable
class Executor(Protocol):
    """Runs one attempt of a node's or ``@task``'s function.

    ``call`` and ``acall`` get the function's ``CallSpec`` (what to inject, whether it
    takes the state), its input (``state``; a ``@task``'s spec takes none) and the
    running task's context (``None`` outside a run). They return the function's
    return value or raise its exception, exactly as a local call would: retry
    policies, timeouts and error handlers act on that. ``ParentCommand`` and
    ``GraphInterrupt`` pass through unchanged.
    """

    workers: int
    """How many of a step's tasks may run (or wait) at once in this process."""

    def pool(self) -> ThreadPoolExecutor:
        """Threads a step's parallel sync tasks (and ``@task`` calls) run or wait in."""
        ...

    def call(self, name: str, spec: CallSpec, state: Any, ctx: TaskContext | None) -> Any:
        """Run ``spec``'s function once, blocking until it returns."""
        ...

    async def acall(self, name: str, spec: CallSpec, state: Any, ctx: TaskContext | None) -> Any:
        """Run ``spec``'s function once from the event loop."""
        ...


class LocalExecutor:
    """The default: functions run in this process (sync ones in threads, async ones on
    the event loop)."""

    workers = DEFAULT_WORKERS

    def pool(self) -> ThreadPoolExecutor:
        """The process-wide pool (threads start on first use)."""
        return _shared_pool or shared_pool()

    def call(self, name: str, spec: CallSpec, state: Any, ctx: TaskContext | None) -> Any:
        """Call the function here, with its injected arguments."""
        if spec.inject:
            assert ctx is not None
            kwargs = kwargs_for(spec.inject, ctx)
            return spec.fn(state, **kwargs) if spec.takes_state else spec.fn(**kwargs)
        return spec.fn(state) if spec.takes_state else spec.fn()

    async def acall(self, name: str, spec: CallSpec, state: Any, ctx: TaskContext | None) -> Any:
        """Await an async function on this loop; run a sync one in a worker thread."""
        if not spec.is_async and spec.afn is None:  # off the event loop, as LangGraph
            return await asyncio.to_thread(self.call, name, spec, state, ctx)
        fn = spec.afn or spec.fn
        kwargs = kwargs_for(spec.inject, ctx) if spec.inject and ctx is not None else {}
        return await (fn(state, **kwargs) if spec.takes_state else fn(**kwargs))

    def __repr__(self) -> str:
        return "LocalExecutor()"


_shared_pool: ThreadPoolExecutor | None = None
_shared_lock = threading.Lock()


def shared_pool() -> ThreadPoolExecutor:
    """The process-wide pool for parallel sync tasks (threads start on first use)."""
    global _shared_pool
    if _shared_pool is None:
        with _shared_lock:
            if _shared_pool is None:
                _shared_pool = ThreadPoolExecutor(DEFAULT_WORKERS, thread_name_prefix="graphkit")
    return _shared_pool


LOCAL = LocalExecutor()
"""The executor of runs that name none."""


def kwargs_for(call_inject: tuple[str, ...], ctx: TaskContext) -> dict[str, Any]:
    """Extra keyword arguments a function asked for by name."""
    from graphkit.context import _writer_for

    out: dict[str, Any] = {}
    for name in call_inject:
        if name == "config":
            out[name] = ctx.config()
        elif name == "store":
            out[name] = ctx.run.store
        elif name == "writer":
            out[name] = _writer_for(ctx)
        elif name == "runtime":
            out[name] = ctx.runtime()
        elif name == "previous":
            out[name] = None
    return out


def resolve_executor(config: RunnableConfig, graph_executor: Executor | None) -> Executor:
    """The run's executor: ``config["executor"]``, else the graph's (a subgraph without
    one: its parent run's), else ``LOCAL``.

    Raises ``ConfigError`` for something that is not an executor.
    """
    chosen = config.get("executor") or graph_executor
    if chosen is None:
        return LOCAL
    if not isinstance(chosen, Executor):
        from graphkit.errors import ConfigError

        raise ConfigError(
            f"executor must be an Executor (LocalExecutor(), RayExecutor(...)), got "
            f"{chosen!r}. Pass compile(executor=...) or config={{'executor': ...}}."
        )
    return chosen
