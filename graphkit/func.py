"""The functional API: ``@entrypoint`` workflows made of ``@task`` calls.

Write a workflow as a plain function; graphkit still gives it threads,
checkpoints, streaming, ``interrupt()`` and the store::

    @task
    def double(x: int) -> int:
        return 2 * x

    @entrypoint(checkpointer=InMemorySaver())
    def workflow(numbers: list[int]) -> int:
        futures = [double(n) for n in numbers]   # run in parallel
        return sum(f.result() for f in futures)

    workflow.invoke([1, 2, 3], {"configurable": {"thread_id": "1"}})  # -> 12

An entrypoint compiles to a one-node graph: its input, its return value and the
value saved for the next run (``previous``) are channels, so everything a graph
offers works unchanged. Task results are remembered per run, so when a paused
workflow resumes, finished tasks return their saved results instead of running
again.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import copy
import functools
import inspect
import typing
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import aclosing
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any, Generic, Literal, TypedDict, TypeVar, cast

from graphkit._deprecated import renamed_kwargs
from graphkit._langchain_runnable import RunnableMethods
from graphkit.cache.base import BaseCache, cache_namespace, digest
from graphkit.config import merge_configs
from graphkit.constants import END, INTERRUPT, START
from graphkit.context import (
    CALL_INTERRUPTS,
    CURRENT_CALL,
    CURRENT_TASK,
    TaskContext,
    count_interrupts,
    langgraph_path,
    report_progress,
)
from graphkit.engine.compiled import graph_events, runnable_name
from graphkit.engine.events import debug_event
from graphkit.engine.executor import LOCAL, kwargs_for
from graphkit.engine.retry import arun_with_retry, as_retry_policies, run_with_retry
from graphkit.engine.run_events import EVENTS, ROOT_NAME, later
from graphkit.errors import GraphInterrupt, InvalidCallError, PolicyError
from graphkit.node import CallSpec, function_name, inspect_callable
from graphkit.schema import type_json_schema
from graphkit.types import (
    CachePolicy,
    RetryPolicy,
    RunnableConfig,
    StateSnapshot,
    StateUpdate,
    StreamMode,
    TimeoutPolicy,
)

T = TypeVar("T")
R = TypeVar("R")

INPUT, RETURN, PREVIOUS = "__input__", "__return__", "__previous__"
ASKED = "asked"
"""Key of ``TaskContext.cache``: per finished task call, the interrupt() answers it used."""


_in_flight: contextvars.ContextVar[list[Future[Any] | asyncio.Future[Any]] | None] = (
    contextvars.ContextVar("graphkit_task_calls", default=None)
)
"""The task calls the running entrypoint made (its call's context, and its tasks' copies)."""


def _wait_sync(calls: list[Future[Any] | asyncio.Future[Any]]) -> None:
    """Wait until every call in ``calls`` (which may grow meanwhile) has finished."""
    while pending := [c for c in calls if not c.done()]:
        concurrent.futures.wait(pending)  # type: ignore[arg-type]


async def _wait_async(calls: list[Future[Any] | asyncio.Future[Any]]) -> None:
    """``_wait_sync`` on the event loop (sync calls run in threads)."""
    while pending := [c for c in calls if not c.done()]:
        await asyncio.wait(
            [c if isinstance(c, asyncio.Future) else asyncio.wrap_future(c) for c in pending]
        )


class _EntryState(TypedDict, total=False):
    __input__: Any
    __return__: Any
    __previous__: Any


@dataclass(slots=True, eq=False)
class TaskFuture(Generic[T]):
    """The pending result of a ``@task`` call: ``.result()`` waits for it.

    In an async workflow, ``await`` it instead.
    """

    _future: Future[T] | asyncio.Future[T]

    def result(self, timeout: float | None = None) -> T:
        """Wait for the task and return its value (or raise its error)."""
        future = self._future
        if isinstance(future, asyncio.Future):
            raise InvalidCallError(
                "This task runs on the event loop: `await` it instead of .result()."
            )
        return future.result(timeout)

    def cancel(self) -> bool:
        """Cancel the call, as ``asyncio.Task.cancel``: an async task is cancelled where
        it awaits (its ``CancelledError`` propagates to whoever awaits it); a sync one
        only if it has not started. Returns False when it had already finished."""
        return self._future.cancel()

    def cancelled(self) -> bool:
        """True once the call was cancelled."""
        return self._future.cancelled()

    def done(self) -> bool:
        """True once the call finished: with a value, an error, or cancelled."""
        return self._future.done()

    def __await__(self) -> Any:
        future = self._future
        if isinstance(future, asyncio.Future):
            return future.__await__()
        return asyncio.wrap_future(future).__await__()


class Task(Generic[R]):
    """A function whose calls run concurrently inside an entrypoint and are checkpointed.

    Its calls go through the same retry (and, async, timeout) implementation as
    graph nodes: an ``interrupt()`` inside is never retried.
    """

    def __init__(
        self,
        fn: Callable[..., R],
        *,
        name: str | None = None,
        retry_policy: RetryPolicy | Sequence[RetryPolicy] | None = None,
        cache_policy: CachePolicy[Any] | None = None,
        timeout: float | timedelta | TimeoutPolicy | None = None,
    ) -> None:
        self.fn = fn
        self.name: str = name or _task_name(fn)
        self.retry_policy = retry_policy
        self.retry = as_retry_policies(retry_policy)
        self.cache_policy = cache_policy
        self.timeout = TimeoutPolicy.coerce(timeout)
        self.is_async = asyncio.iscoroutinefunction(fn)
        if self.timeout is not None and not self.is_async:
            raise PolicyError(
                f"@task {self.name!r} has a timeout, but timeouts are only supported for async "
                "nodes and tasks: make it `async def`, or remove the timeout."
            )
        self.cache_ns = cache_namespace("__task__", fn, self.name)
        functools.update_wrapper(self, fn)

    def __call__(self, *args: Any, **kwargs: Any) -> TaskFuture[R]:
        ctx = CURRENT_TASK.get()
        if ctx is None:  # outside a workflow: just run it
            done: Future[R] = Future()
            try:
                done.set_result(self._run_sync(args, kwargs, None, None)[0])
            except Exception as exc:
                done.set_exception(exc)
            return TaskFuture(done)
        index = ctx.cache.setdefault("__calls__", 0)
        ctx.cache["__calls__"] = index + 1
        key = f"{self.name}#{index}"
        results = ctx.cache.setdefault("results", {})
        # a call whose result was saved streams its start again on resume, not its
        # result (LangGraph's tasks/debug streams do the same)
        triggers, _ = langgraph_path(("push", key), self.name)
        self._stream_event(ctx, "task", key, {"input": (args, kwargs), "triggers": triggers})
        if key in results:
            # its interrupt() answers were used when it ran: the next call gets the next
            used = ctx.cache.get(ASKED, {}).get(key, 0)
            ctx.interrupt_owner().interrupt_count += used
            count_interrupts(used)
            cached: Future[R] = Future()
            cached.set_result(results[key])
            return TaskFuture(cached)
        cache = ctx.run.cache if self.cache_policy is not None else None
        call: Future[R] | asyncio.Future[R]
        if self.is_async:
            call = asyncio.ensure_future(
                self._streamed(self._run_async(args, kwargs, results, key, cache), key, ctx)
            )
        else:
            context = contextvars.copy_context()
            call = ctx.run.executor.pool().submit(
                context.run, self._run_and_keep, args, kwargs, results, key, cache, ctx
            )
        calls = _in_flight.get()
        if calls is not None:
            calls.append(call)
        return TaskFuture(call)

    def _run_and_keep(
        self,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        results: dict[str, Any],
        key: str,
        cache: BaseCache[Any] | None,
        ctx: TaskContext,
    ) -> R:
        CURRENT_CALL.set((str(self.name), key))  # this context is the call's own copy
        asked = _own_counter()
        try:
            value, cached = self._run_sync(args, kwargs, cache, ctx)
        except Exception as exc:
            self._stream_failure(exc, key, ctx)
            raise
        results[key] = value
        self._finished(value, key, asked[0], ctx, cached)
        return value

    async def _streamed(self, running: Awaitable[tuple[R, bool]], key: str, ctx: TaskContext) -> R:
        asked = _own_counter()  # this asyncio task's own context, where ``running`` runs
        try:
            value, cached = await running
        except Exception as exc:
            self._stream_failure(exc, key, ctx)
            raise
        self._finished(value, key, asked[0], ctx, cached)
        return value

    def _finished(self, value: Any, key: str, used: int, ctx: TaskContext, cached: bool) -> None:
        """Remember how many interrupt() answers the call used; stream its result."""
        if used:
            ctx.cache.setdefault(ASKED, {})[key] = used
        self._stream_result(value, key, ctx, cached)

    def _stream_result(self, value: Any, key: str, ctx: TaskContext, cached: bool) -> None:
        """A finished call streams ``{task name: result}`` in ``updates`` (marked
        ``"__metadata__": {"cached": True}`` when the cache answered it), and its result
        in ``tasks``/``debug``, as in LangGraph (a result restored on resume does not
        stream again)."""
        emit = ctx.run.emit
        if emit is not None and "updates" in ctx.run.modes:
            update: dict[str, Any] = {self.name: value}
            if cached:
                update["__metadata__"] = {"cached": True}
            if self.is_async and EVENTS in ctx.run.modes:
                later(emit, "updates", update)
            else:
                emit("updates", update)
        result: dict[str, Any] = {"error": None, "result": {RETURN: value}, "interrupts": []}
        self._stream_event(ctx, "task_result", key, result)

    def _stream_failure(self, error: Exception, key: str, ctx: TaskContext) -> None:
        """A failed call's ``tasks``/``debug`` result (an interrupt is not a failure)."""
        if not isinstance(error, GraphInterrupt):
            self._stream_event(
                ctx, "task_result", key, {"error": error, "result": {}, "interrupts": []}
            )

    def _stream_event(self, ctx: TaskContext, kind: str, key: str, fields: dict[str, Any]) -> None:
        """A call's ``tasks``/``debug`` event: a task pushed by the entrypoint, as LangGraph
        streams it (``kind`` "task" when it starts, "task_result" when it ends)."""
        emit, modes = ctx.run.emit, ctx.run.modes
        if emit is None or ("tasks" not in modes and "debug" not in modes):
            return
        payload = {"id": f"{ctx.id}|{key}", "name": self.name, **fields}
        if "tasks" in modes:
            emit("tasks", payload)
        if "debug" in modes:
            emit("debug", debug_event(kind, ctx.step, payload))

    def _run_sync(
        self,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        cache: BaseCache[Any] | None,
        ctx: TaskContext | None,
    ) -> tuple[R, bool]:
        """The call's value, and whether the cache gave it."""
        entry = self._cache_key(cache, args, kwargs)
        if cache is not None and entry is not None:
            found = cache.get([entry])
            if entry in found:
                return found[entry], True
        executor = ctx.run.executor if ctx is not None else LOCAL
        attempt = functools.partial(executor.call, self.name, self._spec(args, kwargs), None, ctx)
        value: R = run_with_retry(self.name, self.retry, attempt)
        report_progress()  # a finished task is progress of the (timed) workflow
        if cache is not None and entry is not None:
            cache.set({entry: (value, self._ttl())})
        return value, False

    async def _run_async(
        self,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        results: dict[str, Any],
        key: str,
        cache: BaseCache[Any] | None,
    ) -> tuple[R, bool]:
        """The call's value, and whether the cache gave it."""
        CURRENT_CALL.set((str(self.name), key))  # this asyncio task's own context
        entry = self._cache_key(cache, args, kwargs)
        if cache is not None and entry is not None:
            found = await cache.aget([entry])
            if entry in found:
                results[key] = found[entry]
                return found[entry], True
        ctx = CURRENT_TASK.get()
        executor = ctx.run.executor if ctx is not None else LOCAL
        call = functools.partial(executor.acall, self.name, self._spec(args, kwargs), None, ctx)
        value: R = await arun_with_retry(self.name, self.retry, self.timeout, call)
        report_progress()
        results[key] = value
        if cache is not None and entry is not None:
            await cache.aset({entry: (value, self._ttl())})
        return value, False

    def _spec(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> CallSpec:
        """One call of the task as an executor runs it: the function with its arguments."""
        return CallSpec(functools.partial(self.fn, *args, **kwargs), self.is_async, False, ())

    def _cache_key(
        self, cache: BaseCache[Any] | None, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[tuple[str, ...], str] | None:
        if cache is None or self.cache_policy is None:
            return None
        return self.cache_ns, digest(self.cache_policy.key_func(*args, **kwargs))

    def _ttl(self) -> int | None:
        return self.cache_policy.ttl if self.cache_policy is not None else None

    def clear_cache(self, cache: BaseCache[Any]) -> None:
        """Forget this task's cached results in ``cache``."""
        cache.clear([self.cache_ns])

    async def aclear_cache(self, cache: BaseCache[Any]) -> None:
        """Async ``clear_cache``."""
        await cache.aclear([self.cache_ns])


def _own_counter() -> list[int]:
    """A counter of the interrupt() answers the ``@task`` call running in this context
    uses (see ``CALL_INTERRUPTS``); the context must be the call's own copy."""
    counter = [0]
    CALL_INTERRUPTS.set((*CALL_INTERRUPTS.get(), counter))
    return counter


def _task_name(fn: Callable[..., Any]) -> str:
    """A task's default name: its function's (through ``functools.partial``)."""
    while isinstance(fn, functools.partial):
        fn = fn.func
    return function_name(fn)


def task(
    fn: Callable[..., R] | None = None,
    *,
    name: str | None = None,
    retry_policy: RetryPolicy | Sequence[RetryPolicy] | None = None,
    cache_policy: CachePolicy[Any] | None = None,
    timeout: float | timedelta | TimeoutPolicy | None = None,
    **legacy: Any,
) -> Any:
    """Make ``fn`` a task: calling it inside an entrypoint returns a ``TaskFuture``.

    ``retry_policy``, ``cache_policy`` (needs ``entrypoint(cache=...)``) and
    ``timeout`` (async tasks only) work as for graph nodes. A bad timeout raises
    here, before any function is decorated.
    """
    if legacy:
        retry_policy = retry_policy or renamed_kwargs("task()", legacy, "retry")["retry_policy"]
    timeout = TimeoutPolicy.coerce(timeout)

    def make(f: Callable[..., R]) -> Task[R]:
        return Task(
            f, name=name, retry_policy=retry_policy, cache_policy=cache_policy, timeout=timeout
        )

    return make if fn is None else make(fn)


@dataclass(frozen=True, slots=True)
class _Final(Generic[T, R]):
    """``entrypoint.final(value=..., save=...)``: return ``value``, save ``save``.

    Subscript it to annotate the entrypoint: ``-> entrypoint.final[int, list[str]]``.
    """

    value: T
    """What the caller gets."""
    save: R
    """What the next run of the thread gets as ``previous``."""


class entrypoint:
    """Turn a function into a workflow with ``invoke``/``stream`` and checkpoints.

    The function takes one input; it may also take ``previous`` (what the last run
    of this thread saved), ``store``, ``writer``, ``config`` and ``runtime`` by name.
    ``context_schema`` types ``invoke(..., context=...)`` (a dict is coerced to it).
    """

    def __init__(
        self,
        checkpointer: Any = None,
        store: Any = None,
        retry_policy: RetryPolicy | Sequence[RetryPolicy] | None = None,
        context_schema: type[Any] | None = None,
        *,
        cache: BaseCache[Any] | None = None,
        cache_policy: CachePolicy[Any] | None = None,
        timeout: float | timedelta | TimeoutPolicy | None = None,
        executor: Any = None,
        **legacy: Any,
    ) -> None:
        if legacy:
            old = renamed_kwargs("entrypoint()", legacy, "retry", "config_schema")
            retry_policy = retry_policy or old.get("retry_policy")
            context_schema = context_schema or old.get("context_schema")
        self.checkpointer = checkpointer
        self.store = store
        self.retry_policy = retry_policy
        self.context_schema = context_schema
        self.cache = cache
        """Where ``@task``s (and the entrypoint) with a ``CachePolicy`` keep results."""
        self.cache_policy = cache_policy
        self.timeout = TimeoutPolicy.coerce(timeout)
        """Limits of each run of the (async) workflow function; checked here, eagerly."""
        self.executor = executor
        """Where its ``@task`` calls run (e.g. ``graphkit.executor.RayExecutor()``); the
        workflow function itself always runs in this process."""

    final = _Final
    """Return ``entrypoint.final(value=..., save=...)`` to hand ``value`` to the caller
    but save ``save`` as the next run's ``previous``."""

    def __call__(self, fn: Callable[..., Any]) -> Workflow:
        if inspect.isgeneratorfunction(fn) or inspect.isasyncgenfunction(fn):
            raise NotImplementedError(
                f"@entrypoint cannot wrap the generator {getattr(fn, '__name__', fn)!r}: "
                "return the result instead, and stream partial results with "
                "get_stream_writer() (stream_mode='custom')."
            )
        if self.timeout is not None and not asyncio.iscoroutinefunction(fn):
            raise PolicyError(
                f"entrypoint(timeout=...) on {getattr(fn, '__name__', fn)!r}: timeouts are only "
                "supported for async nodes and workflows. Make it `async def`, or remove it."
            )
        return Workflow(
            fn,
            self.checkpointer,
            self.store,
            self.retry_policy,
            context_schema=self.context_schema,
            policies=self,
        )


class Workflow(RunnableMethods):
    """A compiled entrypoint: the one-node graph behind it, with the graph API (a
    LangChain runnable too, as a compiled graph is)."""

    def __init__(
        self,
        fn: Callable[..., Any],
        checkpointer: Any,
        store: Any,
        retry_policy: RetryPolicy | Sequence[RetryPolicy] | None,
        *,
        context_schema: type[Any] | None = None,
        policies: entrypoint | None = None,
    ) -> None:
        from graphkit.graph.state import StateGraph

        self.fn = fn
        self.node_name: str = getattr(fn, "__name__", "entrypoint")
        """The workflow's node: where its function runs (and how streams name it)."""
        self.name = ROOT_NAME
        """As LangGraph names an entrypoint's graph: ``"LangGraph"``."""
        call = inspect_callable(fn, f"entrypoint {self.node_name!r}")
        self._call = call
        builder: StateGraph[_EntryState, Any, Any, Any] = StateGraph(
            _EntryState, context_schema=context_schema
        )
        node = self._anode if call.is_async else self._node
        builder.add_node(
            self.node_name,
            node,
            retry_policy=retry_policy,
            cache_policy=policies.cache_policy if policies else None,
            timeout=policies.timeout if policies else None,
        )
        builder.add_edge(START, self.node_name)
        builder.add_edge(self.node_name, END)
        self.graph = builder.compile(
            checkpointer=checkpointer,
            store=store,
            name=self.node_name,
            cache=policies.cache if policies else None,
            executor=policies.executor if policies else None,
        )
        self.graph.live_modes = self.graph.live_modes | {"updates"}
        self.graph.root_run_name = ROOT_NAME
        self.graph.trace_view = self._trace_view
        self.graph.tables.direct_input = True
        self.graph.tables.nodes[self.node_name].triggers = (START,)
        self.graph.tables.nested_view = _nested_view
        self.config: RunnableConfig = {}
        """Config merged under each run's (see ``with_config``)."""
        self.__doc__ = fn.__doc__
        self.__wrapped__ = fn

    @property
    def step_timeout(self) -> float | None:
        """The graph's ``step_timeout`` (see ``CompiledStateGraph.step_timeout``): the
        entrypoint's call is one step, so this limits the whole call."""
        return self.graph.step_timeout

    @step_timeout.setter
    def step_timeout(self, seconds: float | None) -> None:
        self.graph.step_timeout = seconds

    # -- the node
    def _args(self, state: _EntryState) -> tuple[list[Any], dict[str, Any]]:
        ctx = CURRENT_TASK.get()
        assert ctx is not None
        ctx.cache["__calls__"] = 0
        inject = tuple(n for n in self._call.inject if n not in ("previous", "runtime"))
        kwargs = kwargs_for(inject, ctx) if inject else {}
        if "previous" in self._call.inject:
            kwargs["previous"] = state.get(PREVIOUS)
        if "runtime" in self._call.inject:
            kwargs["runtime"] = ctx.runtime(previous=state.get(PREVIOUS))
        args = [state.get(INPUT)] if self._call.takes_state else []
        return args, kwargs

    def _node(self, state: _EntryState) -> dict[str, Any]:
        """Call the entrypoint; once it returns or pauses (``interrupt()``), wait for the
        task calls it made that still run, as a step waits for all its tasks: a call
        that finishes is saved with the pause, so a resume does not run it again."""
        args, kwargs = self._args(state)
        calls: list[Future[Any] | asyncio.Future[Any]] = []
        token = _in_flight.set(calls)
        try:
            returned = self.fn(*args, **kwargs)
        except GraphInterrupt:
            _wait_sync(calls)
            raise
        finally:
            _in_flight.reset(token)
        _wait_sync(calls)
        return _returned(returned)

    async def _anode(self, state: _EntryState) -> dict[str, Any]:
        """Async ``_node``."""
        args, kwargs = self._args(state)
        calls: list[Future[Any] | asyncio.Future[Any]] = []
        token = _in_flight.set(calls)
        try:
            returned = await self.fn(*args, **kwargs)
        except GraphInterrupt:
            await _wait_async(calls)
            raise
        finally:
            _in_flight.reset(token)
        await _wait_async(calls)
        return _returned(returned)

    # -- running
    def _config(self, config: RunnableConfig | None) -> RunnableConfig | None:
        return merge_configs(self.config, config) if self.config else config

    def invoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Any:
        """Run the workflow; returns its return value (with ``__interrupt__`` info if paused)."""
        return _unwrap(self.graph.invoke(_wrap(input), self._config(config), **kwargs))

    async def ainvoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Any:
        """Async ``invoke``."""
        return _unwrap(await self.graph.ainvoke(_wrap(input), self._config(config), **kwargs))

    def batch(
        self, inputs: Sequence[Any], config: RunnableConfig | None = None, **kwargs: Any
    ) -> list[Any]:
        """``invoke`` each input, outputs in input order."""
        return [self.invoke(i, config, **kwargs) for i in inputs]

    async def abatch(
        self, inputs: Sequence[Any], config: RunnableConfig | None = None, **kwargs: Any
    ) -> list[Any]:
        """``ainvoke`` each input concurrently, outputs in input order."""
        return list(await asyncio.gather(*(self.ainvoke(i, config, **kwargs) for i in inputs)))

    def stream(
        self,
        input: Any,
        config: RunnableConfig | None = None,
        *,
        stream_mode: Any = None,
        subgraphs: bool = False,
        **kwargs: Any,
    ) -> Iterator[Any]:
        """Stream like a graph: ``updates`` yields ``{task name: result}`` per finished
        ``@task`` call, then ``{workflow name: return value}``; ``values`` yields the
        run's return value."""
        view = _StreamView(self.node_name, stream_mode, subgraphs)
        for item in self.graph.stream(
            _wrap(input),
            self._config(config),
            stream_mode=view.graph_modes,
            subgraphs=True,
            **kwargs,
        ):
            yield from view.items(item)

    async def astream(
        self,
        input: Any,
        config: RunnableConfig | None = None,
        *,
        stream_mode: Any = None,
        subgraphs: bool = False,
        **kwargs: Any,
    ) -> AsyncIterator[Any]:
        """Async ``stream``."""
        view = _StreamView(self.node_name, stream_mode, subgraphs)
        streamed = self.graph.astream(
            _wrap(input),
            self._config(config),
            stream_mode=view.graph_modes,
            subgraphs=True,
            **kwargs,
        )
        async with aclosing(
            cast(AsyncGenerator[Any, None], streamed)
        ) as items:  # (closed with this stream: see graph's)
            async for item in items:
                for shown in view.items(item):
                    yield shown

    async def astream_events(
        self,
        input: Any,
        config: RunnableConfig | None = None,
        *,
        version: Literal["v1", "v2"] = "v2",
        **kwargs: Any,
    ) -> AsyncIterator[dict[str, Any]]:
        """LangChain's event stream of a run, as LangGraph's: the root run (named
        ``"LangGraph"``, as LangGraph names an entrypoint's graph) with the input, one
        stream event per finished ``@task`` call and for the return value, its end
        with the return value; under it the workflow's own run (``graph:step:N``) and,
        under that, each ``@task`` call's (``seq:step:1``) and the models and tools
        they call. Options as ``CompiledStateGraph.astream_events``."""
        view = _StreamView(self.node_name, "updates", False)

        def shown(kind: str, payload: Any) -> Any:
            if kind == "output":
                return _unwrap(payload) if isinstance(payload, dict) else payload
            return next(iter(view.items(((), kind, payload))), payload)

        events = graph_events(
            self.graph, _wrap(input), self._config(config), version, kwargs, shown, ROOT_NAME
        )
        async with aclosing(events):  # (closed with this stream: see the graph's astream)
            async for event in events:
                if event["name"] == self.node_name and len(event["parent_ids"]) <= 1:
                    event = _workflow_event(event)  # its input and return value, as passed
                elif not event["parent_ids"] and event["event"] == "on_chain_start":
                    event = {**event, "data": {"input": input}}
                yield event

    def _trace_view(self, kind: str, value: Any) -> Any:
        """How callbacks see a run (``CompiledStateGraph.trace_view``): its input and
        return value as passed, as ``astream_events`` shows them."""
        if kind == "event":
            if value["name"] == self.node_name and len(value["parent_ids"]) <= 1:
                return _workflow_event(value)
            return value
        if not isinstance(value, dict):
            return value
        return value.get(INPUT) if kind == "input" else _unwrap(value)

    # -- state
    def get_state(self, config: RunnableConfig, *, subgraphs: bool = False) -> StateSnapshot:
        """The thread's snapshot; its ``values`` is the last return value."""
        return _snapshot(self.graph.get_state(self._config(config) or {}))

    async def aget_state(self, config: RunnableConfig, *, subgraphs: bool = False) -> StateSnapshot:
        """Async ``get_state``."""
        return _snapshot(await self.graph.aget_state(self._config(config) or {}))

    def get_state_history(self, config: RunnableConfig, **kwargs: Any) -> Iterator[StateSnapshot]:
        """The thread's snapshots, newest first."""
        for found in self.graph.get_state_history(self._config(config) or {}, **kwargs):
            yield _snapshot(found)

    async def aget_state_history(
        self, config: RunnableConfig, **kwargs: Any
    ) -> AsyncIterator[StateSnapshot]:
        """Async ``get_state_history``."""
        async for found in self.graph.aget_state_history(self._config(config) or {}, **kwargs):
            yield _snapshot(found)

    def update_state(
        self, config: RunnableConfig, values: Any, as_node: str | None = None
    ) -> RunnableConfig:
        """Record ``values`` as if the workflow had returned it: it becomes the snapshot's
        value and the next run's ``previous`` (an ``entrypoint.final`` splits the two)."""
        return self.graph.update_state(
            self._config(config) or {}, _returned(values), as_node or self.node_name
        )

    async def aupdate_state(
        self, config: RunnableConfig, values: Any, as_node: str | None = None
    ) -> RunnableConfig:
        """Async ``update_state``."""
        return await self.graph.aupdate_state(
            self._config(config) or {}, _returned(values), as_node or self.node_name
        )

    # -- configuration and introspection
    def with_config(self, config: RunnableConfig | None = None, **kwargs: Any) -> Workflow:
        """A copy of the workflow whose runs use ``config`` (merged under each call's)."""
        bound = copy.copy(self)
        bound.config = merge_configs(self.config, config, kwargs)
        return bound

    def get_name(self, suffix: str | None = None, *, name: str | None = None) -> str:
        """``"LangGraph"`` (as LangGraph names an entrypoint), as a LangChain runnable's
        ``get_name``: ``suffix`` is appended (``"LangGraphInput"``)."""
        return runnable_name(name or self.name, suffix)

    def copy(self, update: dict[str, Any] | None = None) -> Workflow:
        """A shallow copy, with attributes from ``update`` set on it."""
        duplicate = copy.copy(self)
        for key, value in (update or {}).items():
            setattr(duplicate, key, value)
        return duplicate

    @property
    def checkpointer(self) -> Any:
        """The saver given to ``entrypoint(checkpointer=...)``."""
        return self.graph.checkpointer

    @property
    def store(self) -> Any:
        """The store given to ``entrypoint(store=...)``."""
        return self.graph.store

    @property
    def context_schema(self) -> Any:
        """The schema of a run's ``context`` (``entrypoint(context_schema=...)``)."""
        return self.graph.context_schema

    @property
    def nodes(self) -> dict[str, Any]:
        """The workflow's one node (named after its function)."""
        return self.graph.nodes

    stream_mode: StreamMode = "updates"
    """``stream``'s default mode, as for a graph."""

    def get_subgraphs(
        self, *, namespace: str | None = None, recurse: bool = False
    ) -> Iterator[tuple[str, Any]]:
        """None: a workflow's ``@task`` calls are not subgraphs (as in LangGraph)."""
        return iter(())

    async def aget_subgraphs(
        self, *, namespace: str | None = None, recurse: bool = False
    ) -> AsyncIterator[tuple[str, Any]]:
        """Async ``get_subgraphs``."""
        for item in self.get_subgraphs(namespace=namespace, recurse=recurse):
            yield item

    def clear_cache(self, nodes: Sequence[str] | None = None) -> None:
        """Forget cached results (``entrypoint(cache=..., cache_policy=...)``)."""
        self.graph.clear_cache(nodes)

    async def aclear_cache(self, nodes: Sequence[str] | None = None) -> None:
        """Async ``clear_cache``."""
        await self.graph.aclear_cache(nodes)

    def bulk_update_state(
        self, config: RunnableConfig, supersteps: Sequence[Sequence[StateUpdate]]
    ) -> RunnableConfig:
        """``update_state`` for several supersteps, one checkpoint each."""
        return self.graph.bulk_update_state(self._config(config) or {}, self._steps(supersteps))

    async def abulk_update_state(
        self, config: RunnableConfig, supersteps: Sequence[Sequence[StateUpdate]]
    ) -> RunnableConfig:
        """Async ``bulk_update_state``."""
        steps = self._steps(supersteps)
        return await self.graph.abulk_update_state(self._config(config) or {}, steps)

    def _steps(self, supersteps: Sequence[Sequence[StateUpdate]]) -> list[list[StateUpdate]]:
        """Supersteps of values recorded as if the workflow had returned them."""
        return [
            [
                StateUpdate(_returned(u[0]), (u[1] if len(u) > 1 else None) or self.node_name)
                for u in step
            ]
            for step in supersteps
        ]

    def as_node(self) -> Callable[..., Any]:
        """The workflow as a node of another graph (``add_node(name, workflow)``), as
        LangGraph runs an entrypoint added as a node: the node's state is its input
        and its return value the node's update; it runs as that node's subgraph."""
        if self._call.is_async:

            async def arun(state: Any, config: RunnableConfig) -> Any:
                return await self.ainvoke(state, config)

            return arun

        def run(state: Any, config: RunnableConfig) -> Any:
            return self.invoke(state, config)

        return run

    async def aget_graph(self, config: RunnableConfig | None = None, **kwargs: Any) -> Any:
        """Async ``get_graph``."""
        return self.get_graph(config, **kwargs)

    def get_graph(self, config: RunnableConfig | None = None, **kwargs: Any) -> Any:
        """The one-node graph behind the workflow, drawn as LangGraph draws an
        entrypoint: its node first, and its edge to END conditional."""
        import networkx as nx

        drawable = self.graph.get_graph(config, **kwargs)
        old = drawable.nx
        redrawn = nx.DiGraph(**old.graph)
        redrawn.add_nodes_from((n, old.nodes[n]) for n in (self.node_name, START, END))
        redrawn.add_edges_from(old.edges(data=True))
        redrawn.edges[self.node_name, END]["kind"] = "conditional"
        drawable.nx = redrawn
        return drawable

    def get_input_jsonschema(self, config: RunnableConfig | None = None) -> dict[str, Any]:
        """The JSON schema of the workflow's input (its first parameter's type)."""
        return type_json_schema(self._call.first_param_annotation or Any, "LangGraphInput")

    def get_output_jsonschema(self, config: RunnableConfig | None = None) -> dict[str, Any]:
        """The JSON schema of its return value (``entrypoint.final[T, S]``: of ``T``)."""
        returned = self._call.return_annotation
        if typing.get_origin(returned) is _Final:
            returned = typing.get_args(returned)[0]
        elif returned is None or returned is _Final:  # a bare entrypoint.final: Any
            returned = Any
        return type_json_schema(returned, "LangGraphOutput")

    def get_context_jsonschema(self, config: RunnableConfig | None = None) -> dict[str, Any] | None:
        """The JSON schema of the run context (``entrypoint(context_schema=...)``), or
        None without one."""
        return self.graph.get_context_jsonschema(config)


def _nested_view(mode: str, chunk: Any) -> Any:
    """A workflow run inside another graph's node streams as LangGraph's entrypoint
    does: its node's update and its values are its return value."""
    if isinstance(chunk, dict) and RETURN in chunk:
        return chunk[RETURN]
    return chunk


class _StreamView:
    """Turns the stream of the graph behind a workflow into the workflow's stream.

    The graph is asked for ``updates`` in place of ``values``: a workflow's value is
    its return value, which its node's update carries, so a run streams its own
    value only (never the previous run's, which the state still holds at the start).
    """

    def __init__(self, name: str, stream_mode: Any, subgraphs: bool) -> None:
        requested = stream_mode or "updates"
        self.single = isinstance(requested, str)
        self.modes = frozenset([requested] if self.single else requested)
        graph_modes = set(self.modes)
        if "values" in graph_modes:
            graph_modes.discard("values")
            graph_modes.add("updates")
        self.graph_modes = sorted(graph_modes)
        self.name = name
        self.subgraphs = subgraphs

    def items(self, item: tuple[Any, str, Any]) -> Iterator[Any]:
        namespace, mode, chunk = item
        if namespace and not self.subgraphs and mode != "messages":
            return
        for shown_mode, shown in self._chunks(mode, chunk, root=not namespace):
            if shown_mode not in self.modes:
                continue
            if self.subgraphs:
                yield (namespace, shown) if self.single else (namespace, shown_mode, shown)
            else:
                yield shown if self.single else (shown_mode, shown)

    def _chunks(self, mode: str, chunk: Any, *, root: bool) -> Iterator[tuple[str, Any]]:
        """The workflow's chunks for one of the graph's (``root``: the workflow's own, not
        a subgraph's, whose payloads are shown as they are)."""
        if root and mode in ("checkpoints", "tasks") and isinstance(chunk, dict):
            yield mode, self._shown_payload(chunk)
            return
        if root and mode == "debug" and isinstance(chunk, dict) and "payload" in chunk:
            yield mode, {**chunk, "payload": self._shown_payload(chunk["payload"])}
            return
        if mode != "updates" or not isinstance(chunk, dict):
            yield mode, chunk
            return
        update = chunk.get(self.name)
        if isinstance(update, dict) and RETURN in update:  # the workflow returned
            yield "updates", {self.name: update[RETURN]}
            yield "values", update[RETURN]
        elif INTERRUPT in chunk:
            yield "updates", chunk
            yield "values", chunk
        else:  # a @task finished
            yield "updates", chunk

    def _shown_payload(self, payload: dict[str, Any]) -> dict[str, Any]:
        """A checkpoint or task payload as a workflow's: its value is the return value,
        the entrypoint's input is what was passed and its result ``{END: returned}``."""
        shown = dict(payload)
        if isinstance(shown.get("values"), dict):
            shown["values"] = shown["values"].get(RETURN)
        if shown.get("name") == self.name:
            if isinstance(shown.get("input"), dict) and INPUT in shown["input"]:
                shown["input"] = shown["input"][INPUT]
                shown["triggers"] = (START,)
            if isinstance(shown.get("result"), dict) and RETURN in shown["result"]:
                shown["result"] = {END: shown["result"][RETURN]}
        return shown


def _snapshot(found: StateSnapshot) -> StateSnapshot:
    """A snapshot of the graph behind a workflow: the return value as its values, and
    its entrypoint task's result the value it returned."""
    if found.metadata is None or not isinstance(found.values, dict):
        return found
    tasks = tuple(
        replace(t, result=t.result[RETURN])
        if isinstance(t.result, dict) and RETURN in t.result
        else t
        for t in found.tasks
    )
    return found._replace(values=found.values.get(RETURN), tasks=tasks)


def _workflow_event(event: dict[str, Any]) -> dict[str, Any]:
    """An event of the workflow's own run, with its input and return value as the
    caller sees them (the graph's node takes and returns state dicts)."""
    data = dict(event["data"])
    # (an entrypoint is triggered by the input itself, as LangGraph's)
    metadata = {**event["metadata"], "langgraph_triggers": (START,)}
    if isinstance(data.get("input"), dict):
        data["input"] = data["input"].get(INPUT)
    for key in ("chunk", "output"):
        if isinstance(data.get(key), dict) and RETURN in data[key]:
            data[key] = data[key][RETURN]
    return {**event, "data": data, "metadata": metadata}


def _wrap(input: Any) -> Any:
    from graphkit.types import Command

    if input is None or isinstance(input, Command):
        return input
    return {INPUT: input}


def _returned(result: Any) -> dict[str, Any]:
    if isinstance(result, _Final):
        return {RETURN: result.value, PREVIOUS: result.save}
    return {RETURN: result, PREVIOUS: result}


def _unwrap(output: dict[str, Any]) -> Any:
    if INTERRUPT in output:
        return {INTERRUPT: output[INTERRUPT]}
    return output.get(RETURN)
