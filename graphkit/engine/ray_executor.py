"""``RayExecutor``: run a superstep's tasks as Ray tasks (``pip install 'graphkit[ray]'``).

Each attempt of a selected node's (or ``@task``'s) function is one Ray task. What it
needs travels with it, through Ray's serialization: the function, its input, the
run config and a copy of its task's context (so ``get_config()``,
``get_stream_writer()``, ``interrupt()``, ``get_runtime()`` and ``RemainingSteps``
work there). What comes back is its return value or exception, the events it
streamed (delivered to the caller's stream in the order it made them, when the
attempt returns), its ``push_message`` writes and its interrupt bookkeeping. The
engine does everything else here, as for a local task: retries, timeouts, cache,
writes at the barrier in task order, branches, error handlers. So a run's result
is the same on Ray as locally, whatever order the workers finish in.

Ray's own task retries are off: a task that raises or whose worker dies is retried
by the node's ``RetryPolicy`` (a dead worker is ``WorkerLostError``, a
``ConnectionError`` the default policy retries).
"""

from __future__ import annotations

import asyncio
import contextvars
import pickle
import threading
import traceback
from collections.abc import Callable, Collection, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, cast

try:
    import ray
    import ray.exceptions
    from ray import cloudpickle
except ImportError as exc:  # pragma: no cover - depends on the environment
    from graphkit._extras import missing_extra

    raise missing_extra("RayExecutor", "ray") from exc

from graphkit.context import (
    CURRENT_CALL,
    CURRENT_TASK,
    RunContext,
    RunScope,
    TaskContext,
    count_interrupts,
)
from graphkit.engine.executor import LOCAL
from graphkit.errors import (
    GraphInterrupt,
    ParentCommand,
    RemoteStoreError,
    UnshippableError,
    WorkerLostError,
    add_context,
)
from graphkit.node import CallSpec
from graphkit.stores.store.lmdb_store import LMDBStore
from graphkit.stores.store.memory import InMemoryStore
from graphkit.types import RunnableConfig

NOT_SHIPPED_CONFIG = ("executor", "callbacks")
"""Config keys that stay in the caller's process (they act here, not in the task)."""

_LOST = (
    ray.exceptions.WorkerCrashedError,
    ray.exceptions.NodeDiedError,
    ray.exceptions.LocalRayletDiedError,
    ray.exceptions.OutOfMemoryError,
    ray.exceptions.ObjectLostError,
)


class RayExecutor:
    """Run tasks' functions as Ray tasks: ``compile(executor=RayExecutor())``.

    Args:
        nodes: names of the nodes and ``@task``s that run on Ray; the others run
            here. ``None`` (the default): every function node and ``@task``
            (subgraph nodes and an entrypoint's own function always run here).
        address: the Ray cluster to connect to when Ray is not initialized yet
            (``None``: Ray's default, a local instance).
        init: more keyword arguments for ``ray.init`` (used with ``address``).
        options: Ray task options for every task (``num_cpus``, ``resources``,
            ``runtime_env``, ...); ``max_retries`` is always 0 (retry policies retry).
        workers: how many tasks of one step may be in flight at once (each waits
            in a thread of this process).

    Per call: ``graph.invoke(input, {"executor": RayExecutor(...)})``.
    """

    def __init__(
        self,
        nodes: Collection[str] | None = None,
        *,
        address: str | None = None,
        init: dict[str, Any] | None = None,
        options: dict[str, Any] | None = None,
        workers: int = 256,
    ) -> None:
        self.nodes = frozenset(nodes) if nodes is not None else None
        self.address = address
        self.init = dict(init or {})
        self.options = {**(options or {}), "max_retries": 0}
        self.workers = workers
        self._remote = _REMOTE_ATTEMPT.options(**self.options)
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        nodes = sorted(self.nodes) if self.nodes is not None else "all"
        return f"RayExecutor(nodes={nodes}, address={self.address!r})"

    # ------------------------------------------------------------------ Executor
    def pool(self) -> ThreadPoolExecutor:
        """Threads a step's tasks wait in (threads start on first use)."""
        if self._pool is None:
            with self._lock:
                if self._pool is None:
                    self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="graphkit-ray")
        return self._pool

    def call(self, name: str, spec: CallSpec, state: Any, ctx: TaskContext | None) -> Any:
        """Run the attempt on Ray (or here, for a node not selected) and wait for it."""
        if ctx is None or not self.sends(name, spec, ctx):
            return LOCAL.call(name, spec, state, ctx)
        job = _job(name, spec, state, ctx)
        ref = self._submit(job)
        try:
            outcome: _Outcome = ray.get(ref)
        except ray.exceptions.RayError as exc:
            raise _failure(name, exc) from None
        return outcome.settle(job, ctx)

    async def acall(self, name: str, spec: CallSpec, state: Any, ctx: TaskContext | None) -> Any:
        """Run the attempt on Ray and await it; cancelling (a timeout) cancels the Ray task."""
        if ctx is None or not self.sends(name, spec, ctx):
            return await LOCAL.acall(name, spec, state, ctx)
        job = _job(name, spec, state, ctx)
        ref = self._submit(job)
        try:
            outcome: _Outcome = await ref
        except asyncio.CancelledError:
            ray.cancel(ref, recursive=True)
            raise
        except ray.exceptions.RayError as exc:
            raise _failure(name, exc) from None
        return outcome.settle(job, ctx)

    # ------------------------------------------------------------------ choices
    def sends(self, name: str, spec: CallSpec, ctx: TaskContext) -> bool:
        """True when this attempt runs on Ray.

        Not an entrypoint's own function (its ``@task`` calls go instead), and not a
        task whose ``interrupt()`` answers belong to an enclosing task (a node of a
        subgraph without its own checkpoints): those run here.
        """
        if self.nodes is not None:
            if name not in self.nodes:
                return False
        elif _is_workflow_body(spec.fn):
            return False
        return ctx.interrupt_owner() is ctx

    def _submit(self, job: _Job) -> Any:
        if not ray.is_initialized():
            with self._lock:
                if not ray.is_initialized():
                    ray.init(address=self.address, **self.init)
        try:
            return self._remote.remote(job)
        except Exception as exc:  # Ray could not serialize the job
            raise unshippable(job, exc) from exc


def _is_workflow_body(fn: Callable[..., Any]) -> bool:
    from graphkit.func import Workflow

    return isinstance(getattr(fn, "__self__", None), Workflow)


def _failure(name: str, exc: BaseException) -> BaseException:
    """What a failed ``ray.get`` means for the node."""
    if isinstance(exc, _LOST):
        lost = WorkerLostError(
            f"The Ray worker running {name!r} died before it returned "
            f"({type(exc).__name__}). The default RetryPolicy retries this; give the node "
            "a retry_policy to retry it, or find why the worker died (memory, a crash in "
            "native code, a killed process)."
        )
        lost.__cause__ = exc
        return lost
    if isinstance(exc, ray.exceptions.RaySystemError) or isinstance(
        getattr(exc, "cause", None), ImportError
    ):
        first = str(getattr(exc, "cause", None) or exc).splitlines()[0]
        return UnshippableError(
            f"The Ray worker could not load {name!r}: {first}. Workers import a function "
            "by its module: make the module importable there (ray.init(runtime_env="
            "{'py_modules': [module]}) or a working_dir), or send it by value with "
            "ray.cloudpickle.register_pickle_by_value(module)."
        )
    if isinstance(exc, ray.exceptions.RayTaskError):
        cause = getattr(exc, "cause", None)
        if isinstance(cause, (pickle.PicklingError, TypeError, AttributeError)):
            return UnshippableError(
                f"Node {name!r} ran on Ray, but its result could not be sent back: {cause}. "
                "Return values that pickle, or keep the node local: RayExecutor(nodes=[...])."
            )
        if isinstance(cause, BaseException):
            return cause
    return exc


# ---------------------------------------------------------------------- the job
@dataclass(slots=True)
class _StoreOutOfReach:
    """Stands for a store that lives only in the caller's process: any use raises."""

    kind: str

    def __getattr__(self, name: str) -> Any:
        raise RemoteStoreError(
            f"This task runs on a Ray worker, but the graph's store is an in-process "
            f"{self.kind} that it cannot reach (its reads would be empty and its writes "
            "lost). Use a store shared between processes (e.g. a PostgreSQL store), or "
            "keep the nodes that use the store local: RayExecutor(nodes=[...])."
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (_StoreOutOfReach, (self.kind,))


def _shipped_store(store: Any) -> Any:
    """The store as a remote task gets it: shared stores as they are, in-process ones
    as a stand-in that raises on use."""
    if isinstance(store, (InMemoryStore, LMDBStore)):
        return _StoreOutOfReach(type(store).__name__)
    return store


@dataclass(slots=True)
class _Job:
    """What one remote attempt gets: the function, its input and a copy of its task."""

    name: str
    fn: Callable[..., Any]
    is_async: bool
    takes_state: bool
    inject: tuple[str, ...]
    afn: Callable[..., Any] | None
    state: Any
    call: tuple[str, str] | None
    """``CURRENT_CALL`` (the ``@task`` call) when it is one."""
    # the task
    node: str
    step: int
    task_id: str
    path: tuple[Any, ...]
    resume: Sequence[Any]
    interrupt_count: int
    cache: dict[str, Any]
    attempt: int
    first_attempt_time: float | None
    # the run
    config: RunnableConfig
    store: Any
    modes: frozenset[str]
    namespace: tuple[str, ...]
    stream_root: tuple[str, ...]
    has_checkpointer: bool
    channels: frozenset[str]
    steps_left: int | None
    checkpoint_id: str
    scope: RunScope

    def context(self, emit: Callable[[str, Any], None]) -> TaskContext:
        """The task context the function runs in on the worker."""
        left, checkpoint_id = self.steps_left, self.checkpoint_id
        run = RunContext(
            self.config,
            self.store,
            emit if self.modes else None,
            self.modes,
            has_checkpointer=self.has_checkpointer,
            namespace=self.namespace,
            channels=self.channels,
            steps_left=(lambda: left) if left is not None else None,
            scope=self.scope,
            checkpoint_id=lambda: checkpoint_id,
            stream_root=self.stream_root,
        )
        return TaskContext(
            run,
            self.node,
            self.step,
            self.task_id,
            self.path,
            self.resume,
            interrupt_count=self.interrupt_count,
            cache=self.cache,
            attempt=self.attempt,
            first_attempt_time=self.first_attempt_time,
        )


def _job(name: str, spec: CallSpec, state: Any, ctx: TaskContext) -> _Job:
    run = ctx.run
    scope = run.scope
    call = CURRENT_CALL.get()
    return _Job(
        name,
        spec.fn,
        spec.is_async,
        spec.takes_state,
        spec.inject,
        spec.afn,
        state,
        call,
        ctx.name,
        ctx.step,
        ctx.id,
        ctx.path,
        ctx.resume,
        ctx.interrupt_count,
        ctx.cache if call is None else {},  # a @task call does not carry its workflow's
        ctx.attempt,
        ctx.first_attempt_time,
        cast(RunnableConfig, {k: v for k, v in run.config.items() if k not in NOT_SHIPPED_CONFIG}),
        _shipped_store(run.store),
        run.modes,
        run.namespace,
        run.stream_root,
        run.has_checkpointer,
        frozenset(run.channels)
        if isinstance(run.channels, (dict, set, frozenset))
        else frozenset(),
        run.steps_left() if run.steps_left is not None else None,
        run.checkpoint_id() if run.checkpoint_id is not None else "",
        RunScope(
            context=scope.context,
            thread_id=scope.thread_id,
            run_id=scope.run_id,
            server_info=scope.server_info,
            metadata=scope.metadata,
            subgraphs=scope.subgraphs,
        ),
    )


@dataclass(slots=True)
class _Outcome:
    """What a remote attempt sends back."""

    raised: bool
    value: Any
    """The return value, or the exception (``raised``)."""
    events: list[tuple[str, Any]] = field(default_factory=list)
    """``(mode, chunk)`` it streamed, in order."""
    interrupt_count: int = 0
    pushed: list[tuple[str, Any]] | None = None
    cache: dict[str, Any] = field(default_factory=dict)

    def settle(self, job: _Job, ctx: TaskContext) -> Any:
        """Deliver the attempt's events and bookkeeping to its task here; return its
        value or raise its exception."""
        run = ctx.run
        if self.events and run.emit is not None:
            seen = run.scope.seen_messages
            for mode, chunk in self.events:
                if mode == "messages" and getattr(chunk[0], "id", None) is not None:
                    seen.add(chunk[0].id)  # streamed token by token: not again whole
                run.emit(mode, chunk)
        ctx.interrupt_count += self.interrupt_count - job.interrupt_count
        count_interrupts(self.interrupt_count - job.interrupt_count)
        if self.pushed:
            ctx.pushed = [*(ctx.pushed or []), *self.pushed]
        if job.call is None and self.cache:
            ctx.cache.update(self.cache)
        if self.raised:
            raise self.value
        return self.value


# ---------------------------------------------------------------------- on the worker
def _attempt(job: _Job) -> _Outcome:
    """Run one attempt on a Ray worker, in a fresh context (workers run many tasks)."""
    return contextvars.copy_context().run(_attempt_here, job)


def _attempt_here(job: _Job) -> _Outcome:
    events: list[tuple[str, Any]] = []
    ctx = job.context(lambda mode, chunk: events.append((mode, chunk)))
    CURRENT_TASK.set(ctx)
    CURRENT_CALL.set(job.call)
    spec = CallSpec(job.fn, job.is_async, job.takes_state, job.inject, afn=job.afn)
    raised = False
    try:
        if job.is_async or job.afn is not None:
            value = asyncio.run(LOCAL.acall(job.name, spec, job.state, ctx))
        else:
            value = LOCAL.call(job.name, spec, job.state, ctx)
    except (GraphInterrupt, ParentCommand) as exc:
        raised, value = True, exc
    except Exception as exc:
        raised, value = True, _portable(exc)
    return _Outcome(raised, value, events, ctx.interrupt_count, ctx.pushed, ctx.cache)


def _portable(exc: Exception) -> Exception:
    """The exception as it can travel back: itself with the worker's traceback as a
    note, or (when it does not pickle) a builtin of the same type and message."""
    add_context(exc, "Raised on a Ray worker:\n" + "".join(traceback.format_exception(exc)))
    try:
        pickle.loads(cloudpickle.dumps(exc))
    except Exception:
        from graphkit.engine.task import restored_error

        copy = restored_error(type(exc).__name__, str(exc))
        copy.__notes__ = list(getattr(exc, "__notes__", []))  # type: ignore[attr-defined]
        return copy  # type: ignore[return-value]
    return exc


_REMOTE_ATTEMPT = ray.remote(max_retries=0)(_attempt)


# ---------------------------------------------------------------------- errors
def unshippable(job: _Job, exc: BaseException) -> UnshippableError:
    """An error naming the node and the value Ray could not serialize."""
    for label, value in _parts(job):
        why = _pickle_error(value)
        if why is None:
            continue
        label, value, why = _narrow(label, value, why)
        return UnshippableError(
            f"{_what(job)} cannot run on Ray: its {label} ({_short(value)}) cannot be "
            f"serialized ({why}). Make it picklable, create it inside the function instead "
            f"of passing it, or keep {job.name!r} local: RayExecutor(nodes=[...]) without it."
        )
    return UnshippableError(f"{_what(job)} cannot run on Ray: Ray could not serialize it: {exc}")


def _what(job: _Job) -> str:
    return f"Task {job.name!r}" if job.call is not None else f"Node {job.name!r}"


def _parts(job: _Job) -> Iterator[tuple[str, Any]]:
    yield "function", job.fn
    yield "input", job.state
    yield "config", job.config
    yield "context", job.scope.context
    yield "store", job.store
    yield "resume values", job.resume
    yield "cache", job.cache


def _pickle_error(value: Any) -> str | None:
    try:
        cloudpickle.dumps(value)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def _narrow(label: str, value: Any, why: str) -> tuple[str, Any, str]:
    """Go down to the innermost part that does not pickle: a key, item, attribute,
    argument or captured variable."""
    for _ in range(8):  # deep enough to name the culprit; never loops on a cycle
        for sub_label, sub in _children(label, value):
            sub_why = _pickle_error(sub)
            if sub_why is not None and sub is not value:
                label, value, why = sub_label, sub, sub_why
                break
        else:
            break
    return label, value, why


def _children(label: str, value: Any) -> Iterator[tuple[str, Any]]:
    import functools

    if isinstance(value, dict):
        for key, item in value.items():
            yield f"{label}[{key!r}]", item
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield f"{label}[{index}]", item
    elif isinstance(value, functools.partial):
        for index, item in enumerate(value.args):
            yield f"argument {index}", item
        for key, item in value.keywords.items():
            yield f"argument {key!r}", item
        yield label, value.func
    elif callable(value) and getattr(value, "__closure__", None):
        names = value.__code__.co_freevars
        for name, cell in zip(names, value.__closure__, strict=False):
            try:
                yield f"function's captured variable {name!r}", cell.cell_contents
            except ValueError:  # an empty cell
                continue
    elif hasattr(value, "__dict__") and not isinstance(value, type):
        for key, item in vars(value).items():
            yield f"{label}.{key}", item


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
