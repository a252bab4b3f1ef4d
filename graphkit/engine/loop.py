"""The superstep loop: plan the triggered tasks, run them, apply their writes together.

One ``Run`` is one invoke/stream call. Each step:

1. **plan**: the nodes triggered by the previous step (plus ``Send`` packets) become
   tasks; deferred nodes run only when nothing else is pending;
2. **execute**: one task runs inline; several run in threads (sync) or as asyncio
   tasks (async);
3. **finish**: all writes are applied at the barrier, triggered nodes by name then
   sends by index, so the result never depends on which task finished first;
   edges, joins and routes give the next step's triggers; the checkpointer (if any)
   saves the step.

The loop reads only the precomputed ``GraphTables``.
"""

from __future__ import annotations

import asyncio
import contextvars
import os
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from graphkit.constants import END, INTERRUPT, START
from graphkit.context import CURRENT_TASK, RunContext, TaskContext
from graphkit.engine.events import DONE, Event, EventSink, Namespace
from graphkit.engine.tables import GraphTables, NodeTable
from graphkit.engine.task import (
    Task,
    Write,
    arun_task,
    resolve_branch,
    run_task,
    update_writes,
)
from graphkit.errors import (
    EmptyInputError,
    GraphRecursionError,
    InvalidUpdateError,
    ParentCommand,
    add_context,
)
from graphkit.schema import ROOT, validation_message
from graphkit.types import Command, Interrupt, Overwrite, Send

if TYPE_CHECKING:
    from graphkit.engine.checkpoints import CheckpointSession
    from graphkit.engine.compiled import CompiledStateGraph

DEFAULT_RECURSION_LIMIT = 10_000
_DEFAULT_WORKERS = min(32, (os.cpu_count() or 1) + 4)


class _Missing:
    __slots__ = ()


MISSING: Any = _Missing()


class Run:
    """State, frontier and bookkeeping of one invocation."""

    def __init__(
        self,
        graph: CompiledStateGraph,
        config: dict[str, Any],
        *,
        modes: frozenset[str] = frozenset(),
        live: bool = False,
        namespace: Namespace = (),
        forward: Callable[[Event], None] | None = None,
        parent_task: TaskContext | None = None,
    ) -> None:
        self.graph = graph
        self.tables = graph.tables
        self.config = config
        self.modes = modes
        self.live = live
        self.values: dict[str, Any] = {}
        self.step = -1
        """Number of the last completed step (-1: before the input)."""
        self.steps_run = 0
        self.pending: dict[str, None] = {}
        self.sends: list[Send] = []
        self.deferred: dict[str, None] = {}
        self.joins: list[set[str]] = [set() for _ in self.tables.joins]
        self.skip_interrupt_before = False
        self.interrupts: list[Interrupt] = []
        self.restored: dict[str, list[Write]] = {}
        self.resumes: dict[str, list[Any]] = {}
        self.limit = int(config.get("recursion_limit", DEFAULT_RECURSION_LIMIT))
        self.step_budget = self.limit
        """Node steps this run may take: as in LangGraph, taking new input counts as
        one of the ``recursion_limit`` steps (set in ``_start_input``)."""
        self.sink = EventSink(
            modes, live=live and forward is None, namespace=namespace, forward=forward
        )
        self._pool: ThreadPoolExecutor | None = None
        self.ctx = RunContext(
            config,
            graph.store,
            self.sink.emit if modes else None,
            modes,
            has_checkpointer=graph.checkpointer is not None
            or (parent_task is not None and parent_task.run.has_checkpointer),
            namespace=namespace,
            push=self.sink.push,
            parent_task=parent_task,
        )
        self.cp: CheckpointSession | None = None
        if graph.checkpointer is not None:
            from graphkit.engine.checkpoints import CheckpointSession

            self.cp = CheckpointSession(self, graph.checkpointer, config)

    # ---------------------------------------------------------------- events
    def _emit(self, mode: str, chunk: Any) -> None:
        self.sink.emit(mode, chunk)

    def drain(self) -> Iterator[Event]:
        """Events delivered since the last drain, in order."""
        return self.sink.drain()

    def output(self) -> Any:
        """The output schema's keys of the current state (plus pending interrupts); for a
        root state, the root value."""
        values = self.values
        if self.tables.root:  # paused: only the interrupts, as LangGraph returns
            return {INTERRUPT: list(self.interrupts)} if self.interrupts else values.get(ROOT)
        out = {k: values[k] for k in self.tables.output_keys if k in values}
        if self.interrupts:
            out[INTERRUPT] = list(self.interrupts)
        return out

    def _stream_values(self) -> Any:
        """A ``values`` chunk: every channel, private ones included (as LangGraph streams);
        for a root state, the root value.

        ``invoke`` returns only the output schema's keys (see ``output``).
        """
        values = self.values
        if self.tables.root:
            return values.get(ROOT)
        return {k: values[k] for k in self.tables.channels if k in values}

    # ---------------------------------------------------------------- input
    def start(self, input: Any) -> None:
        """Take the run's input: fresh input, ``None`` (resume) or a ``Command``."""
        if self.cp is not None:
            self.cp.load()
        elif input is None:
            raise EmptyInputError(
                "invoke(None) resumes a thread, but this graph has no checkpointer. "
                "Pass the input state, or compile(checkpointer=...) to resume threads."
            )
        if isinstance(input, Command):
            self._start_command(input)
        elif input is None:
            if self.cp is None or not self.cp.loaded:
                raise EmptyInputError(
                    "invoke(None) resumes a thread, but thread "
                    f"{self.cp.thread_id if self.cp else None!r} has no checkpoint yet. "
                    "Start it with an input state."
                )
            self.skip_interrupt_before = True
        else:
            self._start_input(input)

    def _start_input(self, input: Any) -> None:
        writes = self.graph.input_writes(input)
        if self.cp is None or not self.cp.loaded:
            for key, make in self.tables.initial.items():
                self.values[key] = make()
            if self.cp is not None:
                self.cp.changed.update(self.tables.initial)
        self.pending.clear()
        self.sends.clear()
        # Deferred nodes and join progress stay: a deferred node still waiting, and a
        # join's sources seen in earlier runs of the thread, still count after new input
        # (as LangGraph's channels persist across invocations).
        self.restored = {}
        if self.cp is not None and self.cp.loaded:
            self.step += 1
        self.step_budget = self.limit - 1
        self._apply([(START, writes)])
        self.route_after(self.tables.start)
        if self._wrote_any(writes):
            self._emit("values", self._stream_values())
        if self.cp is not None:
            self.cp.save("input", {START: dict(writes)})

    def _start_command(self, command: Command[Any]) -> None:
        if command.resume is not None:
            if self.cp is None or not self.cp.loaded:
                raise EmptyInputError(
                    "Command(resume=...) needs a paused thread: compile with a checkpointer "
                    "and pass the config of a thread that stopped at interrupt()."
                )
            self.cp.resume_with(command.resume)
            self.skip_interrupt_before = True
        if command.update is not None:
            writes = update_writes(command.update, START, self.tables)
            self._apply([(START, writes)])
            if self.cp is not None:
                self.cp.save("input", {START: dict(writes)})
        for target in command.goto_list():
            if isinstance(target, Send):
                self.sends.append(target)
            else:
                self._trigger(target)

    def route_after(self, node: NodeTable) -> None:
        """Trigger what follows ``node`` without running it (START, update_state's as_node)."""
        routes: list[Any] = []
        if node.branches:
            from graphkit.context import TaskContext

            ctx = TaskContext(self.ctx, node.name, self.step, f"{self.step}:{node.name}")
            token = CURRENT_TASK.set(ctx)
            try:
                for branch, reader in zip(node.branches, node.branch_inputs, strict=True):
                    call = branch.call
                    result = call.fn(reader.make(self.values)) if call.takes_state else call.fn()
                    if asyncio.iscoroutine(result):
                        result.close()
                        raise InvalidUpdateError(
                            f"The conditional edge {branch.name!r} from {node.name!r} is "
                            "async; only nodes' own edges may be async. Make it a plain function."
                        )
                    routes.extend(resolve_branch(branch, result, self.tables))
            finally:
                CURRENT_TASK.reset(token)
        self._advance([Task(node, None, ("pull", node.name), "", routes=routes)])

    def _trigger(self, name: str) -> None:
        if name == END:
            return
        node = self.tables.nodes[name]
        if node.defer:
            self.deferred[name] = None
        else:
            self.pending[name] = None

    # ---------------------------------------------------------------- plan
    def plan(self) -> list[Task]:
        """Tasks of the next step, in write order (triggered by name, then sends)."""
        names = self.pending
        if not names and not self.sends:
            if not self.deferred:
                return []
            names, self.deferred = self.deferred, {}
        else:
            self.pending = {}
        sends, self.sends = self.sends, []
        nodes = self.tables.nodes
        values = self.values
        step = self.step + 1
        tasks: list[Task] = []
        for name in sorted(names) if len(names) > 1 else names:
            node = nodes[name]
            tasks.append(Task(node, node.make_input(values), ("pull", name), f"{step}:{name}"))
        for index, send in enumerate(sends):
            tasks.append(Task(nodes[send.node], send.arg, ("push", index), f"{step}:~{index}"))
        if self.restored:
            self._restore(tasks)
        return tasks

    def _restore(self, tasks: list[Task]) -> None:
        from graphkit.engine.checkpoints import restore_task

        for task in tasks:
            writes = self.restored.get(task.id)
            if writes is not None:
                restore_task(task, writes, self.resumes)
        self.restored = {}

    def check_before(self, tasks: list[Task]) -> bool:
        """Enforce the recursion limit; True when ``interrupt_before`` stops the run here."""
        if self.steps_run >= self.step_budget:
            raise GraphRecursionError(
                f"Recursion limit of {self.limit} reached without hitting a stop condition "
                f"(next: {[t.node.name for t in tasks]}). If the graph should run longer, "
                "raise it: invoke(..., {'recursion_limit': N}); otherwise check the loop's "
                "exit condition."
            )
        before = self.tables.interrupt_before
        if (
            before
            and not self.skip_interrupt_before
            and ("*" in before or any(t.node.name in before for t in tasks))
        ):
            self._put_back(tasks)
            return True
        self.skip_interrupt_before = False
        return False

    def _put_back(self, tasks: list[Task]) -> None:
        """Return planned tasks to the frontier (the run stops before them)."""
        for task in tasks:
            if task.path[0] == "push":
                self.sends.append(Send(task.node.name, task.input))
            elif task.node.defer:
                self.deferred[task.node.name] = None
            else:
                self.pending[task.node.name] = None

    # ---------------------------------------------------------------- execute
    def execute(self, tasks: list[Task]) -> None:
        """Run the step's tasks: inline when one, in threads when several."""
        todo = [t for t in tasks if not t.done]
        if not todo:
            return
        run, step, values, tables = self.ctx, self.step + 1, self.values, self.tables
        if len(todo) == 1:
            run_task(todo[0], run, step, values, tables)
            return
        # A few workers pull tasks from one shared iterator (the caller's thread is one
        # of them): far cheaper than a future per task when a step has many tasks.
        pending = iter(todo)
        context = contextvars.copy_context

        def work() -> None:
            for task in pending:
                run_task(task, run, step, values, tables)

        pool = self.pool()
        helpers = min(len(todo) - 1, self.workers)
        futures: list[Future[None]] = [pool.submit(context().run, work) for _ in range(helpers)]
        work()
        for future in futures:
            if not future.cancel():  # never started: nothing left for it to do
                future.result()

    def execute_live(self, tasks: list[Task]) -> Iterator[Event]:
        """Run tasks in threads, yielding what they stream while they run."""
        todo = [t for t in tasks if not t.done]
        q = self.sink.queue
        assert q is not None
        pool = self.pool()
        run, step, values, tables = self.ctx, self.step + 1, self.values, self.tables

        def one(task: Task) -> None:
            try:
                run_task(task, run, step, values, tables)
            finally:
                q.put(DONE)

        for task in todo:
            pool.submit(contextvars.copy_context().run, one, task)
        remaining = len(todo)
        while remaining:
            item = q.get()
            if item is DONE:
                remaining -= 1
            else:
                yield item

    async def aexecute(self, tasks: list[Task]) -> None:
        """Run the step's tasks concurrently on the event loop (sync ones in threads)."""
        todo = [t for t in tasks if not t.done]
        if not todo:
            return
        run, step, values, tables = self.ctx, self.step + 1, self.values, self.tables
        if len(todo) == 1:
            await arun_task(todo[0], run, step, values, tables)
            return
        loop = asyncio.get_running_loop()
        pool = self.pool()
        aws: list[Awaitable[None]] = []
        for task in todo:
            if (
                task.node.call.is_async
                or (task.node.branches and any(b.call.is_async for b in task.node.branches))
                or task.node.subgraph is not None
            ):
                aws.append(arun_task(task, run, step, values, tables))
            else:
                ctx = contextvars.copy_context()
                aws.append(
                    loop.run_in_executor(pool, ctx.run, run_task, task, run, step, values, tables)
                )
        await asyncio.gather(*aws)

    @property
    def workers(self) -> int:
        """Worker threads for parallel sync tasks (``max_concurrency`` in config)."""
        return int(self.config.get("max_concurrency") or _DEFAULT_WORKERS)

    def pool(self) -> ThreadPoolExecutor:
        """Worker threads: shared by all runs, or the run's own with ``max_concurrency``."""
        if self._pool is None:
            if self.config.get("max_concurrency"):
                self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="graphkit")
            else:
                return shared_pool()
        return self._pool

    # ---------------------------------------------------------------- finish
    def finish(self, tasks: list[Task]) -> bool:
        """Apply the step at the barrier. Returns True when the run must stop here."""
        failed = [t for t in tasks if t.error is not None]
        paused = [t for t in tasks if t.interrupts]
        if failed or paused:
            if self.cp is not None:
                self.cp.save_pending(tasks)
            if "updates" in self.modes:  # the tasks that did finish still stream
                for task in tasks:
                    if task.done:
                        self._emit_update(task)
            if failed:
                self._emit_debug_results(tasks, self.step + 1)
                error = failed[0].error
                assert error is not None
                raise error
            self.interrupts = [i for t in paused for i in t.interrupts]
            for task in paused:  # per paused task, as LangGraph streams them
                self._emit("updates", {INTERRUPT: tuple(task.interrupts)})
                if "values" in self.modes:
                    shown = {} if self.tables.root else self._stream_values()
                    self._emit("values", {**shown, INTERRUPT: tuple(task.interrupts)})
            self._show_finished(tasks)
            return True
        if "updates" in self.modes:  # streamed before the barrier, as LangGraph does
            for task in tasks:
                self._emit_update(task)
        self._apply([(t.node.name, t.writes) for t in tasks])
        self._advance(tasks)
        self.step += 1
        self.steps_run += 1
        if self.modes:
            self._emit_step(tasks)
        if self.cp is not None:
            self.cp.save("loop", {t.node.name: t.update for t in tasks})
        after = self.tables.interrupt_after
        return bool(after) and ("*" in after or any(t.node.name in after for t in tasks))

    def _emit_update(self, task: Task) -> None:
        """The ``updates`` chunk of a task; one restored from a checkpoint says so."""
        if task.restored:
            self._emit("updates", {task.node.name: task.update, "__metadata__": {"cached": True}})
        else:
            self._emit("updates", {task.node.name: task.update})

    def _show_finished(self, tasks: list[Task]) -> None:
        """At a pause, the output shows the writes of the step's tasks that finished.

        The checkpoint keeps them as pending writes (they are applied for real when
        the step completes on resume); the output, like LangGraph's, already shows
        them, with one more ``values`` chunk when they touch the output.
        """
        finished = [(t.node.name, t.writes) for t in tasks if t.done and t.writes]
        if not finished:
            return
        self.values = dict(self.values)  # the saved checkpoint keeps the step's start
        cp, self.cp = self.cp, None  # these writes are not the checkpoint's changes
        try:
            self._apply(finished)
        finally:
            self.cp = cp
        if any(self._wrote_any(w) for _, w in finished):
            self._emit("values", self._stream_values())

    def _advance(self, tasks: list[Task]) -> None:
        """Trigger what the step's tasks lead to: edges, routes, completed joins.

        A join counts the step's sources together (a set, as LangGraph's barrier
        channel): two sources finishing in one step complete it once, and neither
        is carried over to its next round.
        """
        fed: set[int] = set()
        for task in tasks:
            node = task.node
            for target in node.edges:
                self._trigger(target)
            for index in node.joins:
                self.joins[index].add(node.name)
                fed.add(index)
            for route in task.routes:
                if type(route) is Send:
                    self.sends.append(route)
                else:
                    self._trigger(route)  # type: ignore[arg-type]
        for index in sorted(fed):
            seen = self.joins[index]
            sources, target = self.tables.joins[index]
            if seen >= sources:
                seen.clear()
                self._trigger(target)

    def _apply(self, writers: list[tuple[str, list[Write]]]) -> None:
        """Merge all writes of a step into the state; all or nothing."""
        new = merge_writes(self.values, self.tables, writers)
        if not new:
            return
        self.values.update(new)
        if self.cp is not None:
            self.cp.changed.update(new)

    def _emit_step(self, tasks: list[Task]) -> None:
        modes = self.modes
        if "debug" in modes or "tasks" in modes:
            self._emit_debug_results(tasks, self.step)
        if "values" in modes and any(self._wrote_any(t.writes) for t in tasks):
            self._emit("values", self._stream_values())

    @staticmethod
    def _wrote_any(writes: list[Write]) -> bool:
        """True when ``writes`` write a channel: only then is a ``values`` chunk due.

        Like LangGraph, a step whose nodes wrote nothing (they all returned None,
        say) streams no ``values`` chunk.
        """
        return bool(writes)

    def emit_debug_starts(self, tasks: list[Task]) -> None:
        """``debug``/``tasks`` events for tasks about to run."""
        if "debug" not in self.modes and "tasks" not in self.modes:
            return
        for task in tasks:
            payload = {
                "id": task.id,
                "name": task.node.name,
                "input": task.input,
                "triggers": (task.path[0],),
            }
            self._emit("tasks", payload)
            self._emit(
                "debug",
                {"type": "task", "timestamp": _now(), "step": self.step + 1, "payload": payload},
            )

    def _emit_debug_results(self, tasks: list[Task], step: int) -> None:
        if "debug" not in self.modes and "tasks" not in self.modes:
            return
        for task in tasks:
            payload = {
                "id": task.id,
                "name": task.node.name,
                "error": repr(task.error) if task.error else None,
                "result": list(task.writes),
                "interrupts": list(task.interrupts),
            }
            self._emit("tasks", payload)
            self._emit(
                "debug",
                {"type": "task_result", "timestamp": _now(), "step": step, "payload": payload},
            )

    def close(self) -> None:
        """End of run: last save for ``durability="exit"``, stop threads."""
        try:
            if self.cp is not None:
                self.cp.close()
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=False)
                self._pool = None

    # ---------------------------------------------------------------- drivers
    def iterate(self, input: Any) -> Iterator[Event]:
        """Run to the end (or an interrupt), yielding ``(mode, chunk)`` events."""
        with _parent_command_guard(self.graph):
            yield from self._iterate(input)

    def _iterate(self, input: Any) -> Iterator[Event]:
        try:
            self.start(input)
            yield from self.drain()
            while True:
                tasks = self.plan()
                if not tasks or self.check_before(tasks):
                    break
                self.emit_debug_starts(tasks)
                if self.sink.queue is not None:
                    yield from self.execute_live(tasks)
                else:
                    self.execute(tasks)
                try:
                    stop = self.finish(tasks)
                finally:  # what the failed step streamed is delivered before its error
                    yield from self.drain()
                if stop:
                    break
            self.close()
            yield from self.drain()
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=False)

    async def aiterate(self, input: Any) -> AsyncIterator[Event]:
        """The async twin of ``iterate``."""
        with _parent_command_guard(self.graph):
            async for event in self._aiterate(input):
                yield event

    async def _aiterate(self, input: Any) -> AsyncIterator[Event]:
        if self.sink.forward is None:
            self.sink.use_event_loop()
        try:
            self.start(input)
            for event in self.drain():
                yield event
            while True:
                tasks = self.plan()
                if not tasks or self.check_before(tasks):
                    break
                self.emit_debug_starts(tasks)
                if self.live:
                    async for event in self._aexecute_live(tasks):
                        yield event
                else:
                    await self.aexecute(tasks)
                try:
                    stop = self.finish(tasks)
                finally:  # what the failed step streamed is delivered before its error
                    for event in self.drain():
                        yield event
                if stop:
                    break
            await asyncio.to_thread(self.close) if self.cp is not None else self.close()
            for event in self.drain():
                yield event
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=False)

    async def _aexecute_live(self, tasks: list[Task]) -> AsyncIterator[Event]:
        aq = self.sink.aqueue
        if aq is None:  # a subgraph: events go straight to the parent
            await self.aexecute(tasks)
            return
        running = asyncio.ensure_future(self.aexecute(tasks))
        while True:
            getter = asyncio.ensure_future(aq.get())
            done, _ = await asyncio.wait({running, getter}, return_when=asyncio.FIRST_COMPLETED)
            if getter in done:
                yield getter.result()
                continue
            getter.cancel()
            break
        while not aq.empty():
            yield aq.get_nowait()
        await running


def merge_writes(
    values: dict[str, Any], tables: GraphTables, writers: list[tuple[str, list[Write]]]
) -> dict[str, Any]:
    """The keys that ``writers``' writes change, merged through the reducers, in order.

    Raises ``InvalidUpdateError`` when a key without a reducer gets two writes, or a
    pydantic state rejects a value. ``values`` itself is not changed.
    """
    grouped: dict[str, list[Any]] = {}
    for _, writes in writers:
        for key, value in writes:
            found = grouped.get(key)
            if found is None:
                grouped[key] = [value]
            else:
                found.append(value)
    if not grouped:
        return {}
    reducers = tables.reducers
    validating = tables.validating
    new: dict[str, Any] = {}
    for key, pending in grouped.items():
        reducer = reducers.get(key)
        try:
            if reducer is None:
                if len(pending) > 1:
                    raise _conflict(key, writers)
                value = pending[0]
                new[key] = value.value if type(value) is Overwrite else value
            else:
                current = values.get(key, MISSING)
                for value in pending:
                    if type(value) is Overwrite:
                        current = value.value
                    elif current is MISSING:
                        current = value
                    else:
                        current = reducer(current, value)
                new[key] = current
            if validating is not None and key in validating.channels:
                new[key] = _validate(validating, key, new[key], writers)
        except InvalidUpdateError:
            raise
        except Exception as exc:
            names = [n for n, w in writers if any(k == key for k, _ in w)]
            add_context(exc, f"While merging writes of {names} into key {key!r}")
            raise
    return new


def _validate(schema: Any, key: str, value: Any, writers: list[tuple[str, list[Write]]]) -> Any:
    from pydantic import ValidationError

    try:
        return schema.validate(key, value)
    except ValidationError as exc:
        names = [n for n, w in writers if any(k == key for k, _ in w)]
        raise InvalidUpdateError(
            f"Invalid value for key {key!r} written by {names}: {validation_message(exc)}. "
            f"The state schema {schema.name} declares it as "
            f"{schema.channels[key].annotation!r}."
        ) from exc


def _conflict(key: str, writers: list[tuple[str, list[Write]]]) -> InvalidUpdateError:
    names = [n for n, w in writers if any(k == key for k, _ in w)]
    return InvalidUpdateError(
        f"At key {key!r}: written by {names} in the same step, but it keeps only one "
        "value. Give it a reducer to merge parallel writes, e.g. "
        f"`{key}: Annotated[list, operator.add]`, or write it from one node per step."
    )


@contextmanager
def _parent_command_guard(graph: CompiledStateGraph) -> Iterator[None]:
    """A ``Command.PARENT`` that reaches the top graph has no parent to go to."""
    try:
        yield
    except ParentCommand as pc:
        if graph._is_subgraph or CURRENT_TASK.get() is not None:
            raise  # to the node running this graph (as a subgraph, or inside its function)
        raise InvalidUpdateError(
            f"A node returned Command(graph=Command.PARENT, ...) ({pc.command!r:.100}) but "
            "the graph is not running as a subgraph. Use Command(goto=...) instead."
        ) from None


_shared_pool: ThreadPoolExecutor | None = None
_shared_lock = threading.Lock()


def shared_pool() -> ThreadPoolExecutor:
    """The process-wide pool for parallel sync tasks (threads start on first use)."""
    global _shared_pool
    if _shared_pool is None:
        with _shared_lock:
            if _shared_pool is None:
                _shared_pool = ThreadPoolExecutor(_DEFAULT_WORKERS, thread_name_prefix="graphkit")
    return _shared_pool


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()
