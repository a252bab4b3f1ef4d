"""One task of a superstep: call a node, turn what it returned into writes and routes.

A task never touches the shared state: it reads the step's input values and
returns ``writes`` (key, value) and ``routes`` (node names and ``Send``s). The loop
applies all tasks' writes together at the end of the step.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from time import time as _now
from typing import TYPE_CHECKING, Any

from graphkit._langchain import for_langchain, langchain_hint
from graphkit.cache.base import digest
from graphkit.constants import END
from graphkit.context import (
    CURRENT_TASK,
    PROGRESS,
    RunContext,
    TaskContext,
    emit_messages,
    report_progress,
)
from graphkit.engine import in_place
from graphkit.engine.events import message_ids, node_output_messages
from graphkit.engine.executor import LOCAL, kwargs_for
from graphkit.engine.frontier import push_paths, push_task_ids
from graphkit.engine.merge import merge_writes
from graphkit.engine.retry import NOT_FAILURES, arun_with_retry, run_with_retry
from graphkit.engine.tables import GraphTables, NodeTable
from graphkit.errors import (
    GraphInterrupt,
    InvalidUpdateError,
    NodeCancelledError,
    NodeError,
    ParentCommand,
    PolicyError,
    RestoredError,
    add_context,
)
from graphkit.node import ERROR_PARAM, BranchDef
from graphkit.schema import ROOT, update_from_object
from graphkit.types import Command, Send, TimeoutPolicy

_logger = logging.getLogger("graphkit")

if TYPE_CHECKING:
    from graphkit.engine.run_events import EventsExecutor, RunEvents

Write = tuple[str, Any]
Grown = tuple[str, list[Any], int]
"""(key, history, its length before): a history a task's merge appended to in place."""
Route = str | Send


@dataclass(slots=True, init=False, kw_only=True)
class Task(TaskContext):
    """A node to run in this step, with its input, and later its result.

    It is also the task's ``TaskContext`` (what ``CURRENT_TASK`` holds while it runs):
    a fan-out makes one per ``Send``, and one object per task costs half what two do.
    """

    node: NodeTable
    """What runs."""
    input: Any
    """The state object (or a ``Send``'s argument)."""
    writes: list[Write] = field(default_factory=list)
    routes: Sequence[Route] = ()
    """Where its branches and ``Command.goto`` route (a new list once there are any:
    most tasks route nowhere, and a fan-out makes one task per ``Send``)."""
    update: Any = None
    """What the node returned as its update (for ``updates`` streams)."""
    error: BaseException | None = None
    interrupts: tuple[Any, ...] = ()
    done: bool = False
    """True once it succeeded (or its writes were restored from a checkpoint)."""
    restored: bool = False
    """True when its writes came from a checkpoint's pending writes or from the cache
    (it did not run)."""
    timeout: TimeoutPolicy | None = None
    """The ``Send``'s own timeout, overriding the node's."""
    merged: tuple[int, dict[str, Any], tuple[Grown, ...]] | None = None
    """(how many writes, the keys they change merged onto the step's values, the
    histories that merge appended to in place), kept by ``with_own_writes``: the
    barrier reuses it when this task is the step's only writer (one reducer pass, and
    its branches' ``Send`` args hold the very channel values)."""
    streamed: bool = False
    """Its ``updates`` chunk is out already (see ``Run.stream_when_done``)."""
    alone: bool = False
    """The only task of its step, in a run that may append to histories in place
    (``graphkit.engine.in_place``): its branches' merge may do so (set by ``Run.plan``)."""

    def __init__(
        self,
        run: RunContext,
        step: int,
        node: NodeTable,
        input: Any,
        path: tuple[str, str | int],
        id: str,
        timeout: TimeoutPolicy | None = None,
    ) -> None:
        # written out: see planned_task (which the engine uses)
        TaskContext.__init__(self, run, node.name, step, id, path)
        self.node = node
        self.input = input
        self.writes = []
        self.routes = ()
        self.update = None
        self.error = None
        self.interrupts = ()
        self.done = False
        self.restored = False
        self.timeout = timeout
        self.merged = None
        self.streamed = False
        self.alone = False

    def shown_triggers(self) -> tuple[str, ...] | None:
        """Its node's ``triggers`` (``TaskContext.shown_triggers``)."""
        return self.node.triggers


def planned_task(
    run: RunContext,
    step: int,
    node: NodeTable,
    input: Any,
    path: tuple[str, str | int],
    id: str,
    timeout: TimeoutPolicy | None,
) -> Task:
    """``Task(run, step, node, input, path, id, timeout)``, built without calling the
    class: a plan makes one per ``Send``, and the class call (the type's call, then
    ``__init__`` with its defaults in frames of their own) costs about a thousand
    instructions more. Sets every field ``Task.__init__`` sets (a test compares the two)."""
    task = _new_object(Task)
    task.run = run
    task.name = node.name
    task.step = step
    task.id = id
    task.path = path
    task.resume = ()
    task.interrupt_count = 0
    task.cache = {}
    task.attempt = 1
    task.pushed = None
    task.first_attempt_time = None
    task.subgraph_calls = 0
    task.node = node
    task.input = input
    task.writes = []
    task.routes = ()
    task.update = None
    task.error = None
    task.interrupts = ()
    task.done = False
    task.restored = False
    task.timeout = timeout
    task.merged = None
    task.streamed = False
    task.alone = False
    return task


def planned_sends(
    tasks: list[Task],
    run: RunContext,
    step: int,
    nodes: Mapping[str, NodeTable],
    sends: Sequence[Send],
) -> None:
    """Append a task per ``Send`` of ``step`` to ``tasks``: ``planned_task`` for each,
    written out in the loop (a call per task is 2% of a fan-out of quick tasks; a
    test checks they match ``Task.__init__`` too)."""
    ids, paths = push_task_ids(step, len(sends)), push_paths(len(sends))
    new = _new_object
    append = tasks.append
    for index, send in enumerate(sends):
        node = nodes[send.node]
        task = new(Task)
        task.run = run
        task.name = node.name
        task.step = step
        task.id = ids[index]
        task.path = paths[index]
        task.resume = ()
        task.interrupt_count = 0
        task.cache = {}
        task.attempt = 1
        task.pushed = None
        task.first_attempt_time = None
        task.subgraph_calls = 0
        task.node = node
        task.input = send.arg
        task.writes = []
        task.routes = ()
        task.update = None
        task.error = None
        task.interrupts = ()
        task.done = False
        task.restored = False
        task.timeout = send.timeout
        task.merged = None
        task.streamed = False
        task.alone = False
        append(task)


_new_object = object.__new__
# Bound once: a method of an imported name (``CURRENT_TASK.set(...)``) is looked up
# as a module attribute would be, making a bound method object per call.
_set_task = CURRENT_TASK.set
_reset_task = CURRENT_TASK.reset
_progress_hook = PROGRESS.get
_call_here = LOCAL.call


class task_scope:
    """Make ``task`` the current task; record an interrupt or error instead of raising.

    A class rather than ``@contextmanager``: it runs once per task, and a generator
    based context manager costs about a microsecond more.
    """

    __slots__ = ("task", "token")

    def __init__(self, task: Task) -> None:
        self.task = task

    def __enter__(self) -> Task:
        self.token = _set_task(self.task)
        return self.task

    def __exit__(self, kind: Any, exc: Any, tb: Any) -> bool:
        _reset_task(self.token)
        report_progress()  # a subgraph's finished task is progress of the node around it
        return exc is not None and _settle(self.task, exc)


def _settle(task: Task, exc: BaseException) -> bool:
    """Record what a task raised as its interrupt or error; False when it must propagate
    (a ``Command.PARENT`` or a ``BaseException`` that is not an ``Exception``)."""
    if isinstance(exc, ParentCommand) or not isinstance(exc, Exception):
        return False
    if isinstance(exc, GraphInterrupt):
        task.interrupts = exc.interrupts
    else:
        add_context(exc, f"During task {task.node.name!r} at step {task.step}")
        hint = langchain_hint(exc)
        if hint is not None:
            add_context(exc, hint)
        task.error = exc
    return True


# ----------------------------------------------------------------------------- sync
def run_task(
    task: Task, values: dict[str, Any], tables: GraphTables, scratch: bool = False
) -> None:
    """Run one task to completion, recording its writes, routes, interrupt or error.

    A node with no policy (``NodeTable.plain``) run here takes the short path below:
    one attempt, no cache or handler, so no retry loop or executor in between (it
    behaves as ``_run_with_policies`` does for it). A task with a ``CachePolicy``
    replays a cached result instead; one that fails with an error handler runs the
    handler in its place. ``values``: the step's values (what its branches read).

    ``scratch``: the caller runs its tasks in a context copy of its own, which it
    drops afterwards (a step's batch: ``Run.execute``), so a task that finishes
    leaves its ``CURRENT_TASK`` set there instead of unsetting it: one context
    variable write per task instead of two. The next task sets its own.
    """
    node = task.node
    run = task.run
    if not node.plain or task.timeout is not None or run.executor is not LOCAL:
        _run_with_policies(task, values, tables)
        return
    task.first_attempt_time = _now()
    token = _set_task(task)
    try:
        call = node.call
        try:
            if call.inject or not call.takes_state:
                output = _call_here(node.name, call, task.input, task)
            else:
                fn = (
                    call.fn
                )  # (an attribute, then a call: ``call.fn(...)`` is looked up as a method)
                output = fn(task.input)
        except ParentCommand as pc:
            output = _own_command(pc)
        except asyncio.CancelledError as exc:  # a sync body has no event loop to cancel it
            raise NodeCancelledError(node.name) from exc
        if node.direct and type(output) is dict and tables.channel_set.issuperset(output):
            task.update = output  # record_output's common case, inline (NodeTable.direct)
            task.writes.extend(output.items())
            task.done = True
        else:
            record_output(task, output, values, tables)
        if task.pushed is not None or run.emit is not None:
            _finish_output(task, output)
    except BaseException as exc:
        _reset_task(token)
        report_progress()
        if not _settle(task, exc):
            raise
        return
    if not scratch:
        _reset_task(token)
    if _progress_hook() is not None:  # report_progress(), inline: once per task
        report_progress()


def _run_with_policies(task: Task, values: dict[str, Any], tables: GraphTables) -> None:
    """``run_task`` through the retry loop, the cache, the executor and the error handler."""
    run = task.run
    with task_scope(task):
        failure = _restored_failure(task) if task.cache else None
        if failure is None:
            if task.timeout is not None or task.node.timeout is not None:
                raise _sync_timeout_error(task.node.name)
            key = _cache_key(task, run) if task.node.cache_policy is not None else None
            if key is not None and _replay(task, run.cache.get([key]).get(key)):
                return
            try:
                output = run_with_retry(
                    task.node.name,
                    task.node.retry,
                    partial(_call_node, task),
                    task,
                )
            except Exception as exc:
                failure = _hand_over(task, exc)
            else:
                record_output(task, output, values, tables)
                _finish_output(task, output)
                if key is not None:
                    run.cache.set(_entry(task, key))
                return
        handler = task.node
        output = run_with_retry(
            handler.name,
            handler.retry,
            partial(_call_handler, task, failure),
            task,
        )
        record_output(task, output, values, tables)
        _finish_output(task, output)


def _finish_output(task: Task, output: Any) -> None:
    """After a node's return is recorded: its ``push_message`` writes, its messages."""
    if task.pushed:  # push_message() writes come first, as they were made first
        task.writes[:0] = task.pushed
    run = task.run
    if run.emit is not None:
        if run.streams("messages"):
            stream_output_messages(task, output)
        if "events" in run.modes:
            _node_done(task)


def _call_node(task: Task) -> Any:
    return _call(task.node, task.input, task)


def _call(node: NodeTable, state: Any, ctx: TaskContext) -> Any:
    if node.subgraph is not None:
        if node.langchain:  # its input holds graphkit's messages: it shows them as these
            node.subgraph.tables.inherit_langchain(node.langchain)
        chain = _subgraph_chain(node, state, ctx)
        try:
            output = node.subgraph._run_as_node(state, ctx)
        except BaseException as exc:
            if chain is not None:
                chain[1].failed(exc)
            raise
        if chain is not None:
            chain[0].returned(chain[1], output)
        return subgraph_update(node, output)
    try:
        return ctx.run.executor.call(node.name, node.call, state, ctx)
    except ParentCommand as pc:
        return _own_command(pc)


def _node_done(task: Task) -> None:
    """``astream_events``: the node's kept stream and end events (after its branches')."""
    from graphkit.engine.run_events import events_of

    events = events_of(task)
    if events is not None:
        events.node_done(task)


def _subgraph_chain(
    node: NodeTable, state: Any, ctx: TaskContext
) -> tuple[EventsExecutor, RunEvents] | None:
    """A subgraph node's own chain run, when the run streams ``astream_events`` (other
    nodes report theirs through ``EventsExecutor``, which a subgraph does not use)."""
    from graphkit.engine.run_events import events_of  # (it subclasses the loop's Run)

    events = events_of(ctx)
    return None if events is None else (events, events.task_run(ctx, node.name, None, state))


def _own_command(pc: ParentCommand) -> Command[Any]:
    """A graph invoked inside this node sent ``Command.PARENT``: it is this node's Command."""
    from graphkit.engine.compiled import _for_parent

    return _for_parent(pc.command)


def subgraph_update(node: NodeTable, output: Any) -> Any:
    """A subgraph's output as its node's update: only the keys the parent's state has.

    A ``Command`` it raised for the parent passes unchanged (its update is checked as
    any node's); an output with no shared key is no update at all.
    """
    keep = node.output_keys
    if keep is None or not isinstance(output, dict):
        return output
    return {k: v for k, v in output.items() if k in keep} or None


def _call_handler(task: Task, failure: NodeError) -> Any:
    call = task.node.call
    kwargs = _handler_kwargs(call.inject, failure, task)
    return call.fn(task.input, **kwargs) if call.takes_state else call.fn(**kwargs)


def _handler_kwargs(
    inject: tuple[str, ...], failure: NodeError, ctx: TaskContext
) -> dict[str, Any]:
    kwargs = kwargs_for(tuple(n for n in inject if n != ERROR_PARAM), ctx)
    if ERROR_PARAM in inject:
        kwargs[ERROR_PARAM] = failure
    return kwargs


def _sync_timeout_error(node: str) -> PolicyError:
    return PolicyError(
        f"Node {node!r} has a timeout, which only async runs can enforce (they cancel the "
        "attempt on the event loop). Run the graph with ainvoke/astream, or remove the timeout."
    )


# ----------------------------------------------------------------------------- async
async def arun_task(task: Task, values: dict[str, Any], tables: GraphTables) -> None:
    """``run_task`` for the async runtime: awaits async nodes and branches."""
    run = task.run
    with task_scope(task):
        failure = _restored_failure(task)
        if failure is None:
            key = _cache_key(task, run)
            if key is not None and _replay(task, (await run.cache.aget([key])).get(key)):
                return
            try:
                output = await arun_with_retry(
                    task.node.name,
                    task.node.retry,
                    _timeout_of(task.node, task.timeout),
                    partial(_acall_node, task),
                    task,
                )
            except Exception as exc:
                failure = _hand_over(task, exc)
            else:
                await arecord_output(task, output, values, tables)
                _finish_output(task, output)
                if key is not None:
                    await run.cache.aset(_entry(task, key))
                return
        handler = task.node
        output = await arun_with_retry(
            handler.name,
            handler.retry,
            _timeout_of(handler, None),
            partial(_acall_handler, task, failure),
            task,
        )
        await arecord_output(task, output, values, tables)
        _finish_output(task, output)


def _timeout_of(node: NodeTable, own: TimeoutPolicy | None) -> TimeoutPolicy | None:
    """The task's own timeout (a ``Send``'s), else the node's; only async nodes and
    subgraphs take one."""
    timeout = own if own is not None else node.timeout
    if timeout is not None and not node.runs_on_loop:
        raise _sync_timeout_error(node.name)
    return timeout


async def _acall_node(task: Task) -> Any:
    node = task.node
    if node.subgraph is not None:
        if node.langchain:  # (as in ``_call``)
            node.subgraph.tables.inherit_langchain(node.langchain)
        chain = _subgraph_chain(node, task.input, task)
        try:
            output = await node.subgraph._arun_as_node(task.input, task)
        except BaseException as exc:
            if chain is not None:
                chain[1].failed(exc)
            raise
        if chain is not None:
            chain[0].returned(chain[1], output)
        return subgraph_update(node, output)
    try:
        return await task.run.executor.acall(node.name, node.call, task.input, task)
    except ParentCommand as pc:
        return _own_command(pc)


async def _acall_handler(task: Task, failure: NodeError) -> Any:
    result = _call_handler(task, failure)
    return await result if task.node.call.is_async else result


# ----------------------------------------------------------------------------- error handlers
FAILURE_KEY = "__node_error__"
"""Where a task keeps (node, error type, message) of the failure its handler handles, in
``Task.cache``: saved with the task, so a resume runs the handler, not the node again."""


def _hand_over(task: Task, exc: Exception) -> NodeError:
    """Route a failed task to its node's error handler; re-raise when there is none."""
    handler = task.node.error_handler
    if handler is None or isinstance(exc, NOT_FAILURES):
        raise exc
    add_context(exc, f"Handled by {handler.name!r}")
    failure = NodeError(task.node.name, exc)
    task.cache[FAILURE_KEY] = (task.node.name, type(exc).__name__, str(exc))
    task.node = handler
    task.name = handler.name
    return failure


def handled_failure(task: Task) -> bool:
    """True when the task's writes are its node's error handler's (saved with it)."""
    return FAILURE_KEY in task.cache


def adopt_handler(task: Task) -> None:
    """A task restored with a handled failure is the handler's: its name, no node edges."""
    handler = task.node.error_handler
    if handled_failure(task) and handler is not None:
        task.node = handler


def _restored_failure(task: Task) -> NodeError | None:
    """The failure this task's handler must handle, when a resume finds one saved.

    The task then runs its node's error handler, not the node (which failed before).
    """
    saved = task.cache.get(FAILURE_KEY) if task.cache else None
    if saved is None or task.node.error_handler is None:
        return None
    node, type_name, message = saved
    adopt_handler(task)
    return NodeError(node, restored_error(type_name, message))


def restored_error(type_name: str, message: str) -> BaseException:
    """An exception read back from a checkpoint: the builtin type if it is one."""
    import builtins

    cls = getattr(builtins, type_name, None)
    if isinstance(cls, type) and issubclass(cls, Exception):
        try:
            return cls(message)
        except Exception:  # a builtin that needs other arguments
            pass
    return RestoredError(type_name, message)


# ----------------------------------------------------------------------------- cache
def _cache_key(task: Task, run: RunContext) -> tuple[tuple[str, ...], str] | None:
    """The cache entry of this task's input, or None when it is not cached."""
    policy = task.node.cache_policy
    if policy is None or run.cache is None:
        return None
    return task.node.cache_ns, digest(policy.key_func(task.input))


def _replay(task: Task, entry: Any) -> bool:
    """Give the task a cached result (as if it ran); False when there is none."""
    if entry is None:
        return False
    writes, routes, update = entry
    task.writes = [(k, v) for k, v in writes]
    task.routes = list(routes)
    task.update = update
    task.done = task.restored = True
    return True


def _entry(task: Task, key: tuple[tuple[str, ...], str]) -> dict[Any, Any]:
    policy = task.node.cache_policy
    assert policy is not None
    return {key: ((task.writes, task.routes, task.update), policy.ttl)}


# ----------------------------------------------------------------------------- output
def stream_output_messages(task: Task, output: Any) -> None:
    """``stream_mode="messages"``: the messages a node returned that were not streamed
    before (as token chunks, say) and that no streamed node received as input (as
    LangGraph, a message a node was handed counts as seen for the whole stream). Where
    they speak LangChain (``_speaks_langchain``) they show as LangChain's, as every
    other reader sees them."""
    messages = node_output_messages(output)
    seen = task.run.scope.seen_messages
    seen.update(message_ids(task.input))
    if messages:
        emit_messages(task, messages, for_langchain if _speaks_langchain(task.node) else None)


def _speaks_langchain(node: NodeTable) -> bool:
    """Whether the messages ``node`` returns show as LangChain's: its graph's keys speak
    LangChain, or (a subgraph node) its subgraph's do."""
    if node.langchain:
        return True
    return node.subgraph is not None and bool(node.subgraph.tables.langchain)


def record_output(task: Task, output: Any, values: dict[str, Any], tables: GraphTables) -> None:
    """Turn a node's return value into the task's writes and routes, then run its branches."""
    _record_update(task, output, tables)
    node = task.node
    if node.branches:
        local = with_own_writes(task, values, tables)
        routes = list(task.routes)  # a Command's gotos come first
        for branch, reader in zip(node.branches, node.branch_inputs, strict=True):
            view = reader.make(local, _steps_left(task)) if reader.managed else reader.make(local)
            result = _call_branch(branch, view, task)
            routes.extend(resolve_branch(branch, result, tables))
        task.routes = routes
    task.done = True


def _steps_left(task: Task) -> int:
    """The steps left to the task's run, counting its step (for managed keys)."""
    steps_left = task.run.steps_left
    return steps_left() if steps_left is not None else 0


async def arecord_output(
    task: Task, output: Any, values: dict[str, Any], tables: GraphTables
) -> None:
    """``record_output`` that awaits async branch functions."""
    _record_update(task, output, tables)
    node = task.node
    if node.branches:
        local = with_own_writes(task, values, tables)
        routes = list(task.routes)  # a Command's gotos come first
        for branch, reader in zip(node.branches, node.branch_inputs, strict=True):
            view = reader.make(local, _steps_left(task)) if reader.managed else reader.make(local)
            result = _call_branch(branch, view, task)
            if asyncio.iscoroutine(result):
                result = await result
            routes.extend(resolve_branch(branch, result, tables))
        task.routes = routes
    task.done = True


def _record_update(task: Task, output: Any, tables: GraphTables) -> None:
    if output is None:
        return
    # the common case, in short: a dict of known keys
    if type(output) is dict and not tables.root and tables.channel_set.issuperset(output):
        task.update = output
        task.writes.extend(output.items())
        return
    name = task.node.name
    if isinstance(output, Command):
        items: Any = (output,)
    elif (
        isinstance(output, (list, tuple)) and output and any(isinstance(o, Command) for o in output)
    ):
        items = output
    else:
        writes = update_writes(output, name, tables)
        task.update = _shown(output, writes, tables)
        task.writes.extend(writes)
        return
    updates: list[Any] = []
    written: list[Write] = []
    routes = list(task.routes)
    for item in items:  # in order: later updates reduce onto earlier ones
        if not isinstance(item, Command):
            writes = update_writes(item, name, tables)
            updates.append(_shown(item, writes, tables))
            written.extend(writes)
            continue
        if item.graph == Command.PARENT:
            raise ParentCommand(item)
        if item.update is not None:
            writes = update_writes(item.update, name, tables)
            updates.append(_shown(item.update, writes, tables))
            written.extend(writes)
        for target in item.goto_list():
            routes.append(check_route(target, name, tables))
    task.routes = routes
    task.writes.extend(written)
    if len(updates) == 1 or (updates and tables.root):
        task.update = updates[0] if len(updates) == 1 else updates
    elif updates:  # several: streamed by their writes, as LangGraph does
        task.update = _shown(None, written, tables)


def _shown(output: Any, writes: list[Write], tables: GraphTables) -> Any:
    """How an update streams, as in LangGraph: a dict (or root value) as returned; a
    state object (pydantic/dataclass) or a list of ``(key, value)`` writes as the dict
    of its writes, or, when it writes one key more than once, as one dict per write.
    A managed key it wrote (and that was dropped) is left out."""
    if tables.root or (isinstance(output, dict) and len(output) == len(writes)):
        return output
    if isinstance(output, dict):
        return {key: value for key, value in output.items() if key not in tables.managed}
    if len({key for key, _ in writes}) < len(writes):
        return [{key: value} for key, value in writes]
    return dict(writes)


def update_writes(update: Any, node: str, tables: GraphTables) -> list[Write]:
    """Validate an update's keys against the state's channels; return it as writes.

    For a root state the update is the value written to the root channel. A managed
    key (``graphkit.managed``) holds the engine's value: a write to it is dropped, as
    in LangGraph.
    """
    if tables.root:
        return [(ROOT, update)]
    if isinstance(update, (list, tuple)) and all(
        isinstance(i, tuple) and len(i) == 2 for i in update
    ):
        items: list[Write] = list(update)
    else:
        items = list(update_from_object(update, node).items())
    channels = tables.channels
    managed = tables.managed
    for key, _ in items:
        if key not in channels and key not in managed:
            raise InvalidUpdateError(
                f"Node {node!r} wrote key {key!r}, which is not in the state schema. "
                f"Known keys: {sorted(channels)}. Add {key!r} to the state (or to a node's "
                "input_schema), or stop writing it (LangGraph drops such a key silently; "
                "graphkit raises because it is most often a typo)."
            )
    if managed and any(key in managed for key, _ in items):
        if isinstance(update, (dict, list, tuple)):  # not a state object: all its fields
            _warn_managed_writes(node, [key for key, _ in items if key in managed])
        return [item for item in items if item[0] not in managed]  # the engine's, as in LangGraph
    return items


def _warn_managed_writes(node: str, keys: list[str]) -> None:
    """Say that a node's writes to managed keys are dropped (LangGraph warns too)."""
    for key in keys:
        _logger.warning(
            "Node %r wrote managed key %r (the engine computes its value), ignoring it.",
            node,
            key,
        )


def check_route(target: Any, source: str, tables: GraphTables) -> Route:
    """A goto target must be a node, END or a Send to a node."""
    name = target.node if isinstance(target, Send) else target
    if name != END and name not in tables.nodes:
        raise InvalidUpdateError(
            f"Node {source!r} routed to unknown node {name!r}. Known nodes: {sorted(tables.nodes)}."
        )
    if isinstance(target, Send) and target.node == END:
        raise InvalidUpdateError(f"Node {source!r} sent to END; Send must target a node.")
    return target


def with_own_writes(task: Task, values: dict[str, Any], tables: GraphTables) -> dict[str, Any]:
    """The step's values with this task's own writes applied: what its branches see.

    The only task of its step (``Task.alone``) may append to a history of ``values``
    in place (``graphkit.engine.in_place``); ``Task.merged`` says which, so that the
    barrier can take the step back when it does not apply this merge as it is.
    """
    if not task.writes:
        return values
    if not task.alone:
        merged = merge_writes(values, tables, [(task.node.name, task.writes)])
        task.merged = (len(task.writes), merged, ())
        return {**values, **merged}
    reducers = tables.reducers
    sizes = {  # lengths only: holding a history here would keep it from growing in place
        k: len(values[k])
        for k, _ in task.writes
        if reducers.get(k) is in_place.REDUCER and type(values.get(k)) is list
    }
    merged = merge_writes(values, tables, [(task.node.name, task.writes)], (task,))
    grown = tuple(
        (k, merged[k], n)
        for k, n in sizes.items()
        if merged.get(k) is values[k] and len(values[k]) != n
    )
    task.merged = (len(task.writes), merged, grown)
    return {**values, **merged}


def _call_branch(branch: BranchDef, state: Any, ctx: TaskContext) -> Any:
    call = branch.call
    kwargs = kwargs_for(call.inject, ctx) if call.inject else {}
    return call.fn(state, **kwargs) if call.takes_state else call.fn(**kwargs)


def resolve_branch(branch: BranchDef, result: Any, tables: GraphTables) -> list[Route]:
    """Map what a path function returned to routes (labels through ``path_map``)."""
    items = result if isinstance(result, (list, tuple)) else [result]
    routes: list[Route] = []
    nodes = tables.nodes
    for item in items:
        if type(item) is Send and item.node in nodes:  # the common case, checked in short
            routes.append(item)
            continue
        if isinstance(item, Send):
            routes.append(check_route(item, branch.source, tables))
            continue
        target = _lookup(branch, item)
        if target == END:
            continue
        if target not in tables.nodes:
            raise InvalidUpdateError(
                f"The conditional edge {branch.name!r} from {branch.source!r} returned "
                f"{item!r}, which is not a node. Known nodes: {sorted(tables.nodes)}; "
                "return a node name, END, a Send, or a label of path_map."
            )
        routes.append(target)
    return routes


def _lookup(branch: BranchDef, label: Any) -> Any:
    path_map = branch.path_map
    if path_map is None:
        return label
    if not isinstance(label, Hashable) or label not in path_map:
        raise InvalidUpdateError(
            f"The conditional edge {branch.name!r} from {branch.source!r} returned {label!r}, "
            f"which is not a key of its path_map {sorted(map(str, path_map))}."
        )
    return path_map[label]
