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
import dataclasses
import itertools
import logging
import operator
import queue
import threading
import time
import weakref
from collections.abc import (
    AsyncGenerator,
    Awaitable,
    Callable,
    Iterator,
    Mapping,
    Sequence,
)
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import aclosing
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from graphkit import _message_index
from graphkit.constants import CONFIG_KEY_NODE_FINISHED, END, INTERRUPT, MISSING, START
from graphkit.context import CURRENT_TASK, RunContext, RunScope, TaskContext, new_run_context
from graphkit.engine import in_place
from graphkit.engine.async_saves import AwaitedSaves
from graphkit.engine.checkpoints import CheckpointSession, Restored, Saved, restore_task
from graphkit.engine.events import (
    DONE,
    Event,
    EventSink,
    Namespace,
    checkpoint_payload,
    debug_event,
    task_result_payload,
    task_start_payload,
)
from graphkit.engine.executor import LOCAL, resolve_executor
from graphkit.engine.frontier import Frontier, pull_task_id, push_task_id
from graphkit.engine.merge import cleared_keys, merge_writes
from graphkit.engine.output_keys import OutputKeys
from graphkit.engine.results import WroteRecord, record_writes
from graphkit.engine.tables import GraphTables, NodeTable, in_channel_order
from graphkit.engine.task import (
    Task,
    Write,
    arun_task,
    planned_sends,
    planned_task,
    resolve_branch,
    run_task,
    update_writes,
)
from graphkit.engine.threads import Batch
from graphkit.errors import (
    ConfigError,
    EmptyInputError,
    ErrorCode,
    GraphDrained,
    GraphRecursionError,
    InvalidStateError,
    InvalidUpdateError,
    ParentCommand,
    RunContextError,
    StepTimeoutError,
    add_context,
    create_error_message,
    is_invalid_resume,
)
from graphkit.schema import ROOT
from graphkit.stores.checkpoint.base import (
    awaits_natively,
    missing_for_sync_runs,
    not_implemented,
)
from graphkit.types import Command, Interrupt, RunnableConfig, Send, StateUpdate

if TYPE_CHECKING:
    from graphkit.engine.compiled import CompiledStateGraph
    from graphkit.engine.langchain_config import TaskConfigs
    from graphkit.stores.checkpoint.base import BaseCheckpointSaver

DEFAULT_RECURSION_LIMIT = 10_007
"""Steps a run may take without ``recursion_limit`` in its config: LangGraph 1.x's
default, so ``RemainingSteps`` reads the same in both (10006 in the first step)."""
COPY = "__copy__"
"""``update_state(config, None, as_node=COPY)`` saves a copy of the checkpoint (a fork)."""
INPUT = "__input__"
"""``update_state(config, values, as_node=INPUT)`` saves an input checkpoint, as
``invoke(values)`` would before taking its input."""
KEEP_FINISHED_AFTER = 0.02
"""Seconds a step of several tasks runs before each task's writes are saved as it
finishes (a quicker step's checkpoint follows at once; a slower one's tasks, model or
tool calls, are worth not running again after a crash)."""


def _steps_left(ref: weakref.ref[Run]) -> Callable[[], int]:
    """``RunContext.steps_left`` of a run. The context holds the run by weak reference:
    a run would otherwise be a reference cycle (run -> context -> this -> run), freed
    only by a collection, and keep its state (a long history) alive till then."""

    def steps_left() -> int:
        return _alive(ref).steps_left

    return steps_left


def _read_state(ref: weakref.ref[Run]) -> Callable[[], Any]:
    """``RunContext.read_state`` of a run (by weak reference, as ``_steps_left``)."""

    def read_state() -> Any:
        run = _alive(ref)
        return run.tables.start.make_input(run.values)

    return read_state


def _invalid_input(node: str, step: int) -> str:
    return (
        f"Before node {node!r} ran at step {step}: the state does not fit its schema. A "
        "node (or update_state) wrote the value shown above; fix that write, or widen "
        "the field's type."
    )


def _alive(ref: weakref.ref[Run]) -> Run:
    run = ref()
    if run is None:
        raise RunContextError(
            "the run this context belongs to has finished: read the state or the steps "
            "left while the node runs, not after"
        )
    return run


def _parents_of(task: TaskContext, ns: str) -> dict[str, str]:
    """The checkpoint each graph enclosing a subgraph (namespace ``ns``, run in ``task``)
    runs its current step from, by that graph's namespace: the subgraph's checkpoint
    metadata ``parents`` (``{"": root's, "child:id": child's}``), as LangGraph's."""
    found: list[tuple[str, str]] = []  # (nearest first)
    parts = ns.split("|")
    run: RunContext | None = task.run
    for depth in range(len(parts) - 1, -1, -1):
        if run is None:
            break
        checkpoint_id = run.checkpoint_id() if run.checkpoint_id is not None else None
        if checkpoint_id:
            found.append(("|".join(parts[:depth]), checkpoint_id))
        run = run.parent_task.run if run.parent_task is not None else None
    return dict(reversed(found))  # the root's first, as LangGraph lists them


class Run:
    """State, frontier and bookkeeping of one invocation."""

    # What every run starts with, kept on the class: a run sets only what it changes
    # (an invoke builds one Run, and each attribute it sets costs)
    step = -1
    """Number of the last completed step (-1: before the input)."""
    steps_run = 0
    skip_interrupt_before = False
    interrupts: Sequence[Interrupt] = ()
    """The interrupts a paused run stopped at (a new list when it pauses)."""
    drained: str | None = None
    """Why the run stopped early at a ``RunControl`` drain request, if it did."""
    paused = False
    """True when the run stopped before its end (interrupt, interrupt_before/after)."""
    replaying = False
    """Replaying a named checkpoint: paused tasks run afresh (no saved answers)."""
    restored: Mapping[str, list[Write]] = MappingProxyType({})
    """Pending writes of the loaded checkpoint, by task id (used by the next plan;
    replaced, never changed in place)."""
    resumes: Mapping[str, list[Any]] = MappingProxyType({})
    """Answers for the ``interrupt()`` calls of paused tasks, by task id (replaced,
    never changed in place)."""
    picked: OutputKeys | None = None
    """The call's ``output_keys``: what ``values``/``updates`` chunks show."""
    source: str | None = None
    """The loaded checkpoint's ``source`` ("input", "loop", "update", "fork")."""
    parent_id: str | None = None
    """The loaded checkpoint's parent id."""
    loaded_checkpoint: Saved | None = None
    """The loaded checkpoint, as the ``checkpoints`` stream reports it."""
    _pool: ThreadPoolExecutor | None = None
    enter_step: Callable[[], object] | None = None
    """Called in the context a live step's tasks run in, before they start (a graph
    run inside a node, streaming ``"messages"`` live: ``langchain_tokens.tap_tokens``),
    or None."""
    tapped_here = False
    langchain_configs: TaskConfigs | None = None
    """LangChain's current config while the run iterates (in a process that imported
    langchain_core: ``graphkit.engine.langchain_config``), or None."""
    """A graph a node streams itself with ``"messages"``: its steps run in the node's
    context, which ``stream``/``astream`` give the token tap while they iterate."""
    loop: asyncio.AbstractEventLoop | None = None
    """An async run's event loop, while its start runs in a worker thread (awaited
    savers, async routing from START): async conditional edges are awaited on it."""

    def __init__(
        self,
        graph: CompiledStateGraph[Any, Any, Any, Any],
        config: RunnableConfig,
        saver: BaseCheckpointSaver | None = None,
        modes: frozenset[str] = frozenset(),
        live: bool = False,
        namespace: Namespace = (),
        forward: Callable[[Event], None] | None = None,
        parent_task: TaskContext | None = None,
        scope: RunScope | None = None,
    ) -> None:
        # (the arguments are positional where the engine builds one per invoke: a class
        # called with keywords builds a dict first)
        self.graph = graph
        tables = self.tables = graph.tables
        self.config = config
        tee = False
        if parent_task is None:
            outer = None
            store = graph.store
            has_checkpointer = saver is not None
            answers: dict[str, Any] = {}
            as_of = None
            scope = scope or RunScope()
            stream_root = namespace
            cache = tables.cache or None
            executor = graph.executor or None
        else:
            outer = parent_task.run
            # a graph a node streams itself, under a caller streaming subgraphs=True, also
            # makes the caller's modes for it (its own consumer gets only its own)
            tee = _tees_to(outer) and forward is None and bool(modes)
            own_modes = modes
            if tee:
                modes = modes | outer.modes
            store = graph.store if graph.store is not None else outer.store
            has_checkpointer = saver is not None or outer.has_checkpointer
            answers = outer.answers
            as_of = outer.as_of
            scope = scope or outer.scope
            stream_root = namespace if forward is None else outer.stream_root
            cache = tables.cache or outer.cache
            executor = graph.executor or outer.executor
        self.modes = modes
        self.live = live
        """Every step streams while its nodes run (``custom``, ``messages``, ...)."""
        self.live_when_parallel = bool(modes) and bool(modes & _DONE_MODES)
        """A step of several tasks streams each one's ``updates`` as it finishes."""
        self.values: dict[str, Any] = {}
        self.partial = True
        """``values`` may lack a channel: a write may add a key (kept in schema order)."""
        self.continuing = False
        """The run goes on with its saved step (``invoke(None)``): the next plan is that
        step's, whose subgraph tasks go on from their own checkpoints."""
        joins = tables.joins
        self.frontier = (
            Frontier({}, [], {}, [set() for _ in joins]) if joins else Frontier({}, [], {}, [])
        )
        """What runs next (``Frontier.empty``, written out)."""
        self.asked: dict[str, list[Interrupt]] = {}
        """Interrupts that restored tasks had raised (kept with them when they finish)."""
        self.limit = (
            _recursion_limit(config["recursion_limit"])
            if "recursion_limit" in config
            else DEFAULT_RECURSION_LIMIT
        )
        self.step_timeout = graph.step_timeout
        """Seconds a step may take (the graph's ``step_timeout``), or None."""
        configurable = config.get("configurable")
        self.node_finished: Callable[[str], object] | None = (
            configurable.get(CONFIG_KEY_NODE_FINISHED) if configurable else None
        )
        """Called with each node's name when it finishes (LangGraph's config key)."""
        self.step_budget = self.limit + 1
        """``RemainingSteps`` of the run's first step; as in LangGraph, a step still
        runs with none left, and the run stops with ``GraphRecursionError`` after it.
        New input counts as two of the ``recursion_limit`` steps (``_start_input``):
        LangGraph counts its input step, and a run going on from a checkpoint (a
        resume) starts with ``recursion_limit + 1`` steps left."""
        # A subgraph's own consumer (a node iterating its stream) sees its events
        # as top-level ones; forwarded to the parent's stream they carry the namespace.
        sink = self.sink = EventSink(  # modes, live, namespace, forward (positional)
            modes,
            (live or self.live_when_parallel) and forward is None,
            namespace if forward is not None else (),
            forward,
        )
        # the session first: it checks the config's thread before anything reads it
        cp = CheckpointSession(saver, config) if saver is not None else None
        if cp is not None:
            cp.report_held = "checkpoints" in modes or "debug" in modes
            cp.untracked = graph.tables.untracked
        self.cp: CheckpointSession | None = cp
        me = weakref.ref(self)
        self.ctx = new_run_context(  # every field, in order
            config,
            store,
            sink.emit if modes else None,  # emit
            modes,
            has_checkpointer,
            namespace,
            sink.push,  # push
            parent_task,
            saver,
            answers,
            tables.channels,
            as_of,
            set(),  # rerun
            _steps_left(me),  # steps_left
            _read_state(me),  # read_state
            scope,
            None,  # checkpoint_id (set below)
            stream_root,
            cache,
            # (no executor named anywhere: the local one, without a call)
            resolve_executor(config, executor)
            if executor is not None or "executor" in config
            else LOCAL,
        )
        if tee:
            assert outer is not None and outer.push is not None
            sink.tee(outer.push, namespace, outer.modes, own_modes)
        self.in_place = in_place.ENABLED and not has_checkpointer
        """Merges may append to a history in place (``graphkit.engine.in_place``): never
        with a checkpointer here or up the call chain (a saver keeps what it stored)."""
        if cp is not None:
            self.ctx.checkpoint_id = lambda: cp.config["configurable"].get("checkpoint_id", "")
            if parent_task is not None:
                cp.parents = _parents_of(parent_task, cp.ns)
        elif outer is not None:
            self.ctx.checkpoint_id = outer.checkpoint_id

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

    def hand_out(self, output: Any) -> None:
        """``output``'s histories go to the caller, who may pass them back (a run
        without a checkpointer takes the whole history): their index is kept for that
        (``_message_index.hand_out``)."""
        if type(output) is not dict:
            return
        reducers = self.tables.reducers
        for key, value in output.items():
            if type(value) is list and reducers.get(key) is in_place.REDUCER:
                _message_index.hand_out(value)

    def _values_chunk(self) -> Any:
        """A ``values`` chunk: the state (``_stream_values``), or the call's
        ``output_keys`` of it."""
        picked = self.picked
        if picked is not None:
            return picked.values(self.values, self.tables)
        view = self.tables.nested_view
        if view is not None and self.ctx.parent_task is not None:
            return view("values", self.values)
        return self._stream_values()

    def _paused_chunk(self, interrupts: tuple[Interrupt, ...]) -> Any:
        """The ``values`` chunk of a pause: the state with the interrupts."""
        if self.picked is not None:
            return self.picked.paused(self.values, interrupts, self.tables)
        shown = {} if self.tables.root else self._stream_values()
        return {**shown, INTERRUPT: interrupts}

    def _stream_values(self) -> Any:
        """A ``values`` chunk: every channel, private ones included (as LangGraph streams);
        for a root state, the root value.

        ``invoke`` returns only the output schema's keys (see ``output``).
        """
        values = self.values
        if self.tables.root:
            return self.tables.shown_output(values.get(ROOT))
        return self.tables.shown({k: values[k] for k in self.tables.channels if k in values})

    # ---------------------------------------------------------------- input
    def start(self, input: Any, *, resuming: bool = False) -> None:
        """Take the run's input: fresh input, ``None`` (resume) or a ``Command``.

        ``resuming``: a subgraph whose parent task runs again after a pause or failure
        goes on from its own checkpoint (its input is the one it already had).
        """
        if self.cp is not None and self.ctx.parent_task is not None:
            self._start_nested(input, resuming)
            return
        if self.cp is not None:
            self._load()
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
            named = (self.config.get("configurable") or {}).get("checkpoint_id")
            if named:
                self._replay()
            elif self.source == "update":
                # going on from an edit: stateful subgraphs see their state as of
                # the checkpoint that was edited, not what later branches saved
                self.ctx.as_of = self.parent_id
            self._take_saved_input()
            self.skip_interrupt_before = True
            if not self.replaying:
                self.continuing = True
                self._report_loaded()
        else:
            self._start_input(input)
            return
        if self.cp is not None and self.cp.loaded and "values" in self.modes:
            self._emit("values", self._values_chunk())  # where a resumed run starts from

    def _report_loaded(self) -> None:
        """A run that goes on from the thread's checkpoint reports it first in the
        ``checkpoints``/``debug`` streams, with what runs next, as LangGraph does (a
        replay reports the fork it saves instead)."""
        loaded = self.loaded_checkpoint
        if "checkpoints" not in self.modes and "debug" not in self.modes:
            return  # nobody looks: no record to build
        if loaded is not None and self.cp is not None:
            record = self.frontier.to_record()
            self._report([dataclasses.replace(loaded, frontier=record)], self.cp.interrupted)

    def _replay(self) -> None:
        """invoke(None) with a config naming a checkpoint replays it, as LangGraph: its
        step runs again, paused tasks ask again instead of taking the answers they got
        then, and finished ones run again. An earlier checkpoint is replayed on a new
        branch (``_fork_for_replay``); the thread's latest one in place."""
        assert self.cp is not None
        if not self.cp.at_latest():
            self._fork_for_replay()
            return
        self.replaying = True
        self.restored = {}
        # stateful subgraphs see their state as of the checkpoint replayed (of the
        # checkpoint that was edited, for an edit), not what its step saved since
        loaded = self.cp.config["configurable"].get("checkpoint_id")
        self.ctx.as_of = self.parent_id if self.source == "update" else loaded

    def _fork_for_replay(self) -> None:
        """Replay an earlier checkpoint on a new branch: a copy of it (source "fork")
        becomes the thread's latest, and its step runs again (see ``_replay``)."""
        assert self.cp is not None
        self.replaying = True
        self.ctx.as_of = self.cp.config["configurable"].get("checkpoint_id")
        self.restored = {}
        self.step += 1
        self._save("fork")

    def _start_nested(self, input: Any, resuming: bool) -> None:
        """A subgraph with checkpoints: go on where it paused, or take its input.

        A subgraph compiled with ``checkpointer=True`` keeps its state across the
        parent's invocations, so it always loads it first. Time travel into it (its
        config names a checkpoint: see ``nested_run``) replays from that checkpoint.
        """
        assert self.cp is not None
        if self.cp.config["configurable"].get("checkpoint_id"):  # time travel into it
            self._load()
            if self.loaded:
                # answering its questions (Command(resume=...) with its config) goes on
                # from its latest checkpoint; otherwise the named checkpoint is replayed
                if not (self.ctx.answers and self.cp.at_latest()):
                    self._replay()
                self._take_saved_input()
                self.skip_interrupt_before = True
                return
        stateful = self.graph.checkpointer is True
        if resuming or stateful:
            ran = self.cp.ns in self.ctx.scope.stateful_ran
            self._load(before=self.ctx.as_of if stateful and not ran else None)
        if stateful:
            self.ctx.scope.stateful_ran.add(self.cp.ns)
        if resuming and self.loaded and (not stateful or self._paused_inside()):
            self._take_saved_input()
            self.skip_interrupt_before = True
            self.continuing = not self.replaying
            self._report_loaded()
            if "values" in self.modes:  # where it goes on from, as a resumed graph shows
                self._emit("values", self._values_chunk())
            return
        self._start_input(input)

    def _paused_inside(self) -> bool:
        """The loaded checkpoint stopped before the end (an interrupt, error or stop)."""
        frontier = self.frontier
        return bool(self.restored or frontier.pending or frontier.sends or frontier.deferred)

    def _load(self, before: str | None = None) -> None:
        """Apply the thread's checkpoint (if it has one) to this run (``before``: the
        newest one older than that checkpoint id)."""
        assert self.cp is not None
        known = {*self.tables.nodes, START}  # an input checkpoint's next is START
        found = self.cp.load(known=known, joins=len(self.tables.joins), before=before)
        if found is not None:
            self._restore_from(found)

    def _restore_from(self, found: Restored) -> None:
        if found.frontier.langchain:
            self.tables.inherit_langchain(found.frontier.langchain)
        self.values = found.values
        self._order_keys()
        self.step = found.step
        self.frontier = found.frontier
        self.restored = found.writes
        self.resumes = found.resumes
        self.source = found.metadata.get("source")
        self.parent_id = found.parent_id
        self.loaded_checkpoint = found.saved

    @property
    def loaded(self) -> bool:
        """True when the run goes on from a saved checkpoint."""
        return self.cp is not None and self.cp.loaded

    def _init_channels(self) -> None:
        """A new thread: reducer channels start at their initial values (``[]``...)."""
        cp = self.cp
        if cp is not None and cp.loaded:
            return
        values = self.values
        for key, make in self.tables.initial.items():
            values[key] = make()
        if cp is not None:
            cp.mark_changed(self.tables.initial)

    def _start_input(self, input: Any) -> None:
        writes = self.graph.input_writes(input)
        self._init_channels()
        cp = self.cp
        if cp is not None:  # (without one, the run starts from its fresh frontier)
            # Deferred nodes and join progress stay: a deferred node still waiting, and a
            # join's sources seen in earlier runs of the thread, still count after new
            # input (as LangGraph's channels persist across invocations).
            self.frontier.clear_triggers()
            self.restored = {}
            if cp.loaded:
                self.step += 1
        self.step_budget = self.limit - 1  # (the input's step, and the step resumes add)
        if cp is not None and not self.tables.direct_input:
            # The input checkpoint, as LangGraph's: the state before the input, and
            # the input as what runs next (a replay from here takes it again).
            self.frontier.pending = {START: None}
            self.frontier.input = dict(writes)
            self._save("input", (), hold=True)  # committed with step 0's, saved next
            self.frontier.pending = {}
            self.frontier.input = None
        self._take_input(writes)

    def _take_input(self, writes: list[Write]) -> None:
        """Apply the input (step 0 of an invocation) and trigger what follows START."""
        self._apply([(START, writes)])
        self.route_after(self.tables.start)
        if self.tables.direct_input:  # the input checkpoint is this one
            self._save("input", ())
            return
        self.step += 1
        if "values" in self.modes and self._wrote_any(writes):
            self._emit("values", self._values_chunk())
        if self.cp is not None:
            self._save("loop", (START,))

    def _take_saved_input(self) -> None:
        """Going on from an input checkpoint (a replay, or a run stopped right after
        saving it): take the input it holds."""
        if START in self.frontier.pending:
            del self.frontier.pending[START]
            saved, self.frontier.input = self.frontier.input or {}, None
            self._take_input(list(saved.items()))

    def update(self, supersteps: Sequence[Sequence[tuple[Any, str | None]]]) -> RunnableConfig:
        """``update_state``/``bulk_update_state``: each superstep's ``(values, as_node)``
        updates are applied together as those nodes' writes, one checkpoint per
        superstep; returns the config of the last.

        The same path as a run's input: load the thread, apply the writes through the
        reducers, route after the nodes and save. ``as_node="__copy__"`` saves a copy
        of the checkpoint (a fork); ``as_node=END`` applies the values and ends there.
        """
        cp = self.cp
        assert cp is not None
        if not supersteps:
            raise InvalidUpdateError("No supersteps provided: pass [[StateUpdate(...)], ...].")
        if any(not updates for updates in supersteps):
            raise InvalidUpdateError("No updates provided in a superstep: each needs one.")
        self._load()
        self._init_channels()
        for updates in supersteps:
            self._update_step(list(updates))
        self.close()
        return cp.config

    def _update_step(self, updates: list[tuple[Any, str | None]]) -> None:
        names = [as_node for _, as_node in updates]
        if len(updates) > 1 and {None, END, COPY, INPUT} & set(names):
            raise InvalidUpdateError(
                "Several updates in one superstep each need as_node (a node, not "
                f"{END!r}, {COPY!r} or {INPUT!r}); got {names}."
            )
        self.restored = {}
        if names == [INPUT]:  # as if invoked with this input: the input checkpoint
            writes = self.graph.input_writes(updates[0][0])
            if self.loaded or self.step > -1:
                self.step += 1
            self.frontier.clear_triggers()
            self.frontier.pending = {START: None}
            self.frontier.input = dict(writes)
            self._save("input", ())
            return
        self.step += 1
        if names == [COPY]:  # a fork: the same state and next, as a new checkpoint
            self._fork_beside()
            then = updates[0][0]
            if isinstance(then, list) and then and all(isinstance(u, StateUpdate) for u in then):
                # copy and update in one go: the updates are the fork's next superstep
                self._update_step([(u[0], u[1] if len(u) > 1 else None) for u in then])
            return
        writers: list[tuple[str, list[Write]]] = []
        gotos: list[Send | str] = []  # a Command as the update also routes, as from a node
        for values, as_node in updates:
            name = as_node if as_node is not None else self._last_writer()
            if name not in (START, END) and name not in self.tables.nodes:
                raise InvalidUpdateError(
                    f"update_state(as_node={name!r}): no such node. Known nodes: "
                    f"{sorted(self.tables.nodes)} (or START, END, {COPY!r}, {INPUT!r})."
                )
            if isinstance(values, Command):
                gotos.extend(values.goto_list())
                values = values.update
            writes = update_writes(values, name, self.tables) if values is not None else []
            writers.append((name, writes))
        ids = self._planned_ids([name for name, _ in writers])
        before = self._written_before(writers)
        self._apply(writers)
        wrote = record_writes(
            [(i, w) for i, (_, w) in zip(ids, writers, strict=True)],
            self.values,
            before,
            self.tables.output_key_set,
        )
        # The update is a step of its own: it stands for the nodes it names (they no
        # longer run) and what their edges lead to runs next. Of what was due before,
        # only a fired join's target stays (LangGraph's barrier channels keep it; an
        # edge's or a route's trigger lasts one step). As END: nothing stays due.
        written = {name for name, _ in writers}
        joined = set() if END in written else {t for _, t in self.tables.joins} - written
        pending = {n: None for n in self.frontier.pending if n in joined}
        self.frontier = Frontier(pending=pending, sends=[], deferred={}, joins=self.frontier.joins)
        for name, _ in writers:
            if name != END:
                self.route_after(self.tables.start if name == START else self.tables.nodes[name])
        for target in gotos:
            if isinstance(target, Send):
                self.frontier.sends.append(target)
            else:
                self._trigger(target)
        self._save("update", tuple(dict.fromkeys(name for name, _ in writers)), wrote)

    def _fork_beside(self) -> None:
        """Save the copy that ``as_node=COPY`` makes as a sibling of the checkpoint it
        copies (same parent, as LangGraph's): a new branch from the same point."""
        cp = self.cp
        assert cp is not None
        copied = cp.config["configurable"]
        parent = {k: v for k, v in copied.items() if k != "checkpoint_id"}
        if self.parent_id is not None:
            parent["checkpoint_id"] = self.parent_id
        cp.config = {**cp.config, "configurable": parent}
        self.step -= 1  # the copy's step is the copied checkpoint's
        self._save("fork")

    def _planned_ids(self, names: list[str]) -> list[str]:
        """The ids of the planned tasks that updates as ``names`` stand for (each the
        first of its node not yet taken: by name, then its sends), as the snapshot of
        the checkpoint before them lists them; ``"{step}:{name}"`` for any other."""
        free = [(pull_task_id(self.step, n), n) for n in self.frontier.pending]
        free += [(push_task_id(self.step, i), s.node) for i, s in enumerate(self.frontier.sends)]
        ids = []
        for name in names:
            found = next((t for t in free if t[1] == name), None)
            if found is None:
                ids.append(pull_task_id(self.step, name))
            else:
                free.remove(found)
                ids.append(found[0])
        return ids

    def _last_writer(self) -> str:
        """The node ``update_state`` writes as when not told: the last step's only writer."""
        writers = [n for n in self.frontier.ran if n in self.tables.nodes]
        if not writers:
            return START
        if len(set(writers)) == 1:
            return writers[0]
        raise InvalidUpdateError(
            f"update_state() cannot tell which node the update comes from: the last step ran "
            f"{sorted(set(writers))}. Pass as_node='...'."
        )

    def _save(
        self,
        source: str,
        ran: tuple[str, ...] | None = None,
        wrote: WroteRecord | None = None,
        *,
        hold: bool = False,
    ) -> None:
        """Save a checkpoint; ``ran``: the nodes whose writes made it (None: a copy,
        they stay those of the checkpoint it copies); ``wrote``: what each task of the
        step wrote (``graphkit.engine.results``), the parent's task results."""
        if self.cp is None:
            return
        if ran is not None:
            self.frontier.ran = ran
        self.frontier.wrote = wrote
        if self.tables.langchain:
            self.frontier.langchain = tuple(sorted(self.tables.langchain))
        saved = self.cp.save(source, self.values, self.step, self.frontier, hold=hold)
        if saved:  # (only when a stream shows checkpoints: no call otherwise)
            self._report(saved)

    def _written_before(self, writers: list[tuple[str, list[Write]]]) -> dict[str, Any]:
        """The values before a step of the channels its ``writers`` write."""
        values = self.values
        if len(writers) == 1 and len(writers[0][1]) == 1:  # the common step: one write
            key = writers[0][1][0][0]
            return {key: values.get(key, MISSING)}
        return {key: values.get(key, MISSING) for _, ws in writers for key, _ in ws}

    def _report(
        self, saved: list[Saved], interrupts: Mapping[str, list[Interrupt]] = MappingProxyType({})
    ) -> None:
        """``checkpoints``/``debug`` events for checkpoints just written (or the one
        loaded, with its tasks' open ``interrupts``)."""
        if not saved or ("checkpoints" not in self.modes and "debug" not in self.modes):
            return
        for item in saved:
            values = self._stream_values()
            event = checkpoint_payload(item, values, self.frontier, self.tables, interrupts)
            self._emit("checkpoints", event)
            step = item.metadata.get("step")
            self._emit("debug", debug_event("checkpoint", step, event, item.ts))

    def _start_command(self, command: Command[Any]) -> None:
        if self.loaded:  # a Command goes on from where the thread stopped, breakpoint included
            self.skip_interrupt_before = True
        if command.resume is not None:
            if self.cp is None:  # (a RuntimeError, as LangGraph raises here)
                raise RunContextError(
                    "Command(resume=...) needs a checkpointer: compile with one "
                    "(compile(checkpointer=InMemorySaver())) and pass the config of a thread "
                    "that stopped at interrupt()."
                )
            if not self.cp.loaded:
                raise EmptyInputError(
                    "Command(resume=...) needs a paused thread: compile with a checkpointer "
                    "and pass the config of a thread that stopped at interrupt()."
                )
            answers = self.cp.answers(command.resume)
            if not answers and not self._paused_inside():
                raise EmptyInputError(
                    f"Command(resume=...) was given, but thread {self.cp.thread_id!r} is not "
                    "paused (at an interrupt() or interrupt_before/after). Invoke it with an "
                    "input instead."
                )
            self.ctx.answers.update(answers)
            if len(answers) == 1 and next(iter(answers.values())) is command.resume:
                # one value, not a map of ids: also the answer of the next interrupt()
                # asked, as in LangGraph, if the open one was superseded (not restored)
                scope = self.ctx.scope
                scope.open_answer, scope.open_answer_for = [command.resume], next(iter(answers))
            elif not answers:  # nothing open: the next interrupt() asked takes it
                self.ctx.scope.open_answer.append(command.resume)
            self.skip_interrupt_before = True
        if command.update is not None:
            writes = update_writes(command.update, START, self.tables)
            self._apply([(START, writes)])
            self._save("input", (START,))
        goto = command.goto_list()
        for target in goto:
            if isinstance(target, Send):
                self.frontier.sends.append(target)
            else:
                self._trigger(target)
        if self.loaded and command.update is None and (goto or command.resume is not None):
            self._report_loaded()

    def route_after(self, node: NodeTable) -> None:
        """Trigger what follows ``node`` without running it (START, update_state's as_node)."""
        routes: list[Any] = []
        if node.branches:
            ctx = TaskContext(self.ctx, node.name, self.step, pull_task_id(self.step, node.name))
            token = CURRENT_TASK.set(ctx)
            try:
                for branch, reader in zip(node.branches, node.branch_inputs, strict=True):
                    call = branch.call
                    if not call.takes_state:
                        result = call.fn()
                    elif reader.managed:
                        result = call.fn(reader.make(self.values, self.steps_left))
                    else:
                        result = call.fn(reader.make(self.values))
                    if type(result) not in _NOT_AWAITED and asyncio.iscoroutine(result):
                        result = _await_here(result, branch.name, node.name, self.loop)
                    routes.extend(resolve_branch(branch, result, self.tables))
            finally:
                CURRENT_TASK.reset(token)
        self._advance((_Routed(node, routes),))

    def _trigger(self, name: str) -> None:
        if name == END:
            return
        node = self.tables.nodes[name]
        if node.defer:
            self.frontier.deferred[name] = None
        else:
            self.frontier.pending[name] = None

    # ---------------------------------------------------------------- plan
    def plan(self) -> list[Task]:
        """Tasks of the next step, in write order (triggered by name, then sends)."""
        frontier = self.frontier
        names = frontier.pending
        if not names and not frontier.sends:
            if not frontier.deferred:
                return []
            names, frontier.deferred = frontier.deferred, {}
        else:
            frontier.pending = {}
        sends = frontier.sends
        if sends:
            frontier.sends = []
        nodes = self.tables.nodes
        values = self.values
        run = self.ctx
        step = self.step + 1
        tasks: list[Task] = []
        try:
            for name in sorted(names) if len(names) > 1 else names:
                node = nodes[name]
                tasks.append(
                    planned_task(
                        run,
                        step,
                        node,
                        node.make_input(values, self.steps_left)
                        if node.managed
                        else node.make_input(values),
                        ("pull", name),
                        pull_task_id(step, name),
                        None,
                    )
                )
        except InvalidStateError as exc:
            add_context(exc, _invalid_input(name, step))
            raise
        if sends:
            planned_sends(tasks, run, step, nodes, sends)
        if self.restored or self.continuing:
            self._restore(tasks)
        elif (
            len(tasks) == 1 and self.in_place and (run.emit is None or not run.streams("messages"))
        ):
            # (the messages stream reads the task's input after its branches merged)
            tasks[0].alone = True
        return tasks

    def _restore(self, tasks: list[Task]) -> None:
        """Tasks that finished before a pause keep their results; paused ones get answers.

        A paused task gets the answers it had, plus this invocation's answers to its
        own open ``interrupt()`` (those of a subgraph inside it go to the subgraph's run).
        """
        answers = self.ctx.answers
        prefix = "|".join((*self.ctx.namespace, ""))
        for task in tasks:
            writes = self.restored.get(task.id)
            if writes is None:
                continue
            resume = [] if self.replaying else list(self.resumes.get(task.id, []))
            own = f"{prefix}{task.id}#"
            for channel, value in writes:
                if channel == INTERRUPT:
                    self.asked[task.id] = list(value)
                    given = [
                        i.id
                        for i in value
                        if i.id in answers and i.id.startswith(own) and "|" not in i.id[len(own) :]
                    ]
                    resume.extend(answers[i] for i in given)
                    if self.ctx.scope.open_answer_for in given:  # used up by its interrupt
                        self.ctx.scope.open_answer.clear()
            restore_task(task, writes, resume)
            if not task.done and not self.replaying:
                self.ctx.rerun.add(task.id)
        self.restored = {}
        if self.continuing:  # the saved step goes on: a subgraph task resumes its own
            self.continuing = False  # checkpoint (one stopped from outside saved no writes)
            self.ctx.rerun.update(t.id for t in tasks if not t.done)

    @property
    def steps_left(self) -> int:
        """Steps this run may still take, counting the running one (``RemainingSteps``)."""
        return self.step_budget - self.steps_run

    def check_before(self, tasks: list[Task]) -> bool:
        """Enforce the recursion limit; True when ``interrupt_before`` stops the run here,
        or when nothing is left to run (``tasks`` empty)."""
        if self.steps_run > self.step_budget:
            # (a run whose last step had no steps left fails even if it is done, as
            # LangGraph's: the limit is crossed either way)
            raise GraphRecursionError(
                create_error_message(
                    message=f"Recursion limit of {self.limit} reached without hitting a stop "
                    f"condition{f' (next: {[t.node.name for t in tasks]})' if tasks else ''}. If "
                    "the graph should run longer, raise it: invoke(..., {'recursion_limit': N}); "
                    "otherwise check the loop's exit condition.",
                    error_code=ErrorCode.GRAPH_RECURSION_LIMIT,
                )
            )
        if not tasks:
            return True
        before = self.tables.interrupt_before
        if (
            before
            and not self.skip_interrupt_before
            and ("*" in before or any(t.node.name in before for t in tasks))
        ):
            self._put_back(tasks)
            self._stop_statically("interrupt_before")
            return True
        if self.skip_interrupt_before:
            self.skip_interrupt_before = False
        control = self.ctx.scope.control
        if control is not None and control.drain_requested and not self.ctx.namespace:
            self._put_back(tasks)
            self.drained = control.drain_reason
            return True
        return False

    def _stop_statically(self, which: str) -> None:
        """``interrupt_before``/``interrupt_after`` stop the run: it is paused."""
        if self.cp is None and not self.ctx.has_checkpointer:
            raise EmptyInputError(
                f"{which} stops the run here to resume it later, which needs a "
                "checkpointer: compile(checkpointer=InMemorySaver(), ...)."
            )
        self.paused = True
        if self.ctx.parent_task is None:  # a subgraph's pause shows as its parent's
            self._emit("updates", {INTERRUPT: ()})

    def _put_back(self, tasks: list[Task]) -> None:
        """Return planned tasks to the frontier (the run stops before them)."""
        frontier = self.frontier
        for task in tasks:
            if task.path[0] == "push":
                frontier.sends.append(Send(task.node.name, task.input, timeout=task.timeout))
            elif task.node.defer:
                frontier.deferred[task.node.name] = None
            else:
                frontier.pending[task.node.name] = None

    # ---------------------------------------------------------------- execute
    def _live_step(self, tasks: list[Task]) -> bool:
        """Whether this step's events reach the consumer while its tasks run."""
        return self.live or (self.live_when_parallel and len(tasks) > 1)

    def execute(self, tasks: list[Task]) -> None:
        """Run the step's tasks on this thread, one after another; helper threads join
        when a task stalls it (``graphkit.engine.threads``)."""
        if len(tasks) == 1:  # a step of one task (a chain): nothing to stream per task
            if not tasks[0].done:
                run_task(tasks[0], self.values, self.tables)
            return
        todo = [t for t in tasks if not t.done]
        if not todo:
            return
        values, tables = self.values, self.tables
        done = self.when_done(tasks)  # a step of several tasks (one returned above)
        if len(todo) == 1:
            run_task(todo[0], values, tables)
            done(todo[0])
            return
        # The caller's thread runs the tasks one after another; helper threads join
        # only when it stalls on one (see graphkit.engine.threads). Each thread runs
        # them in a context copy of its own (run_task's ``scratch``).

        def one(task: Task) -> None:
            run_task(task, values, tables, True)
            done(task)

        helpers = min(len(todo), self.workers) - 1  # besides the caller's thread
        if done is _ignore:  # a step nobody streams from: no done() to call
            batch: Batch[Task] = _QuietBatch(todo, _ignore, self.pool, helpers, values, tables)
        else:
            batch = Batch(todo, one, self.pool, helpers)
        contextvars.copy_context().run(batch.run)

    def execute_within(self, tasks: list[Task], timeout: float) -> None:
        """``execute`` in a worker thread, waited for at most ``timeout`` seconds (the
        graph's ``step_timeout``): past it the run stops with ``StepTimeoutError``, and
        the tasks finish in their threads with their results dropped (a thread cannot
        be stopped; LangGraph leaves them running too)."""
        finished = threading.Event()
        escaped: list[BaseException] = []

        def step_thread() -> None:
            try:
                self.execute(tasks)
            except BaseException as exc:  # a ParentCommand...: raised in the caller
                escaped.append(exc)
            finally:
                finished.set()

        self.pool().submit(contextvars.copy_context().run, step_thread)
        if not finished.wait(timeout):
            raise self._step_timed_out(tasks, timeout)
        if escaped:
            raise escaped[0]

    def _step_timed_out(self, tasks: list[Task], timeout: float) -> StepTimeoutError:
        """The error of a step past ``step_timeout``, once the tasks that finished in it
        are saved as pending writes (a resume does not run them again; those still
        running are left out: their threads may still be writing them)."""
        finished = [t for t in tasks if t.done and t.error is None]
        if self.cp is not None and finished:
            self._report(self.cp.save_pending(finished, self.asked))
        running = [t.name for t in tasks if not t.done and t.error is None]
        return StepTimeoutError(tasks[0].step, timeout, running)

    def execute_live(self, tasks: list[Task]) -> Iterator[Event]:
        """Run the step's tasks in a worker thread (helpers join when it stalls, as in
        ``execute``), yielding what they stream while they run."""
        todo = [t for t in tasks if not t.done]
        if not todo:
            return
        q = self.sink.queue
        assert q is not None
        values, tables = self.values, self.tables
        done = self.when_done(tasks) if len(tasks) > 1 else _ignore
        escaped: list[BaseException] = []
        stopped = False  # the caller closed the stream: tasks still running finish alone

        def one(task: Task) -> None:  # in the step thread's context copy, or a helper's
            try:
                run_task(task, values, tables, True)
                done(task)
                if stopped:
                    self._keep_late(task, tasks)
            except BaseException as exc:  # a ParentCommand...: raised in the caller
                escaped.append(exc)

        enter = self.enter_step

        def step_thread() -> None:
            try:
                if enter is not None:
                    enter()
                Batch(todo, one, self.pool, min(len(todo), self.workers) - 1).run()
            except BaseException as exc:  # pragma: no cover - one() keeps its own
                escaped.append(exc)
            finally:
                q.put(DONE)

        self.pool().submit(contextvars.copy_context().run, step_thread)
        timeout = self.step_timeout
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            while True:
                if deadline is None:
                    item = q.get()
                else:
                    try:
                        item = q.get(timeout=max(0.0, deadline - time.monotonic()))
                    except queue.Empty:
                        assert timeout is not None
                        raise self._step_timed_out(todo, timeout) from None
                if item is DONE:
                    break
                yield item
        except GeneratorExit:  # (threads cannot be stopped: what they finish is kept)
            stopped = True
            raise
        if escaped:
            raise escaped[0]

    async def aexecute(self, tasks: list[Task]) -> None:
        """Run the step's tasks concurrently on the event loop (sync ones in threads)."""
        todo = [t for t in tasks if not t.done]
        if not todo:
            return
        values, tables = self.values, self.tables
        saves: list[Future[None]] = []
        done = self.when_done(tasks, saves) if len(tasks) > 1 else _ignore
        if len(todo) == 1:
            one = arun_task(todo[0], values, tables)
            await (one if self.step_timeout is None else self._within_step_timeout(one, todo))
            done(todo[0])
            return
        loop = asyncio.get_running_loop()
        pool = self.pool()

        async def on_loop(task: Task) -> None:
            await arun_task(task, values, tables)
            done(task)

        def in_thread(task: Task) -> None:
            run_task(task, values, tables)
            done(task)

        def start(task: Task) -> Awaitable[None]:
            if task.node.runs_on_loop:
                return on_loop(task)
            ctx = contextvars.copy_context()
            return loop.run_in_executor(pool, ctx.run, in_thread, task)

        limit = self.config.get("max_concurrency")
        if limit:  # async nodes too: at most `limit` of the step's tasks at once
            gate = asyncio.Semaphore(limit)

            async def gated(task: Task) -> None:
                async with gate:
                    await start(task)

            runs: list[Awaitable[None]] = [gated(t) for t in todo]
        else:
            runs = [start(t) for t in todo]
        try:
            step = run_until_failure(runs, todo)
            await (step if self.step_timeout is None else self._within_step_timeout(step, todo))
        except BaseException:  # the step's error is the one to raise
            await asyncio.gather(*map(asyncio.wrap_future, saves), return_exceptions=True)
            raise
        for save in saves:  # what finished tasks wrote, kept while the step ran
            await asyncio.wrap_future(save)

    async def _within_step_timeout(self, step: Awaitable[None], tasks: list[Task]) -> None:
        """Await ``step``; past the graph's ``step_timeout`` cancel it (its async tasks
        with it) and raise ``StepTimeoutError``."""
        timeout = self.step_timeout
        assert timeout is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            await asyncio.wait_for(step, timeout)
        except asyncio.TimeoutError:
            if loop.time() < deadline:  # a task's own TimeoutError, not the limit's
                raise
            raise self._step_timed_out(tasks, timeout) from None

    def when_done(
        self, tasks: list[Task], saves: list[Future[None]] | None = None
    ) -> Callable[[Task], None]:
        """What to call as each task of a step of several finishes: stream it
        (``stream_when_done``) and, in a slow step, save its writes (``keep_when_done``;
        with ``saves``, in a worker thread, its future appended there)."""
        stream = self.stream_when_done(tasks)
        keep = self.keep_when_done(tasks, saves)
        if keep is None:
            return stream
        if stream is _ignore:
            return keep

        def both(task: Task) -> None:
            stream(task)
            keep(task)

        return both

    def keep_when_done(
        self, tasks: list[Task], saves: list[Future[None]] | None = None
    ) -> Callable[[Task], None] | None:
        """For a step of several tasks that is still running ``KEEP_FINISHED_AFTER``
        seconds after it started: save each task's writes as it finishes (as pending
        writes of the step's checkpoint, as LangGraph does for every task), so a crash
        or kill before the step ends does not run the finished ones again on resume.
        Quick steps skip it (their checkpoint follows at once); so does the task that
        finishes last, and ``durability="exit"``, which saves nothing before the end.
        ``saves``: save in a worker thread and append the future there (on an event
        loop, which must not wait on the disk)."""
        cp = self.cp
        if cp is None or cp.durability == "exit":
            return None
        started = time.monotonic()
        finished = itertools.count(1)
        running = sum(1 for t in tasks if not t.done)
        asked = self.asked
        loop = asyncio.get_running_loop() if cp.awaited is not None else None

        def keep(task: Task) -> None:
            last = next(finished) >= running
            if (
                not last
                and task.done
                and task.error is None
                and time.monotonic() - started >= KEEP_FINISHED_AFTER
            ):
                # found by identity (a slow step only): Task compares by value, and
                # its input may be anything
                index = next(i for i, t in enumerate(tasks) if t is task)
                if saves is None:
                    cp.keep_finished(task, index, asked)
                elif loop is not None:  # a saver awaited: queued and started on the loop
                    loop.call_soon_threadsafe(cp.keep_finished, task, index, asked)
                else:
                    saves.append(self.pool().submit(cp.keep_finished, task, index, asked))

        return keep

    def stream_when_done(self, tasks: list[Task]) -> Callable[[Task], None]:
        """For a step of several tasks: stream each task's ``updates`` chunk (and its
        ``debug``/``tasks`` result) as soon as it finishes, those restored from a
        checkpoint first (marked cached), so a fast task's update comes before a slow
        one's subgraph events, as in LangGraph. Returns what to call when a task finishes."""
        modes = self.modes
        if "updates" not in modes and "debug" not in modes and "tasks" not in modes:
            return _ignore
        step = self.step + 1

        def finished(task: Task) -> None:
            if task.done and task.error is None:
                if "updates" in modes:
                    self._emit_update(task)
                self._emit_debug_results([task], step)
                task.streamed = True

        for task in tasks:
            if task.done:
                finished(task)
        return finished

    @property
    def workers(self) -> int:
        """Worker threads for parallel sync tasks (``max_concurrency`` in config)."""
        return int(self.config.get("max_concurrency") or self.ctx.executor.workers)

    def pool(self) -> ThreadPoolExecutor:
        """Worker threads: the executor's (shared by runs), or the run's own with
        ``max_concurrency``."""
        if self._pool is None:
            if self.config.get("max_concurrency"):
                self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="graphkit")
            else:
                return self.ctx.executor.pool()
        return self._pool

    # ---------------------------------------------------------------- finish
    def finish(self, tasks: list[Task]) -> bool:
        """Apply the step at the barrier. Returns True when the run must stop here."""
        if self.node_finished is not None:
            for task in tasks:
                if task.done and task.error is None:
                    self.node_finished(task.node.name)
        one = tasks[0] if len(tasks) == 1 else None
        if one is not None:  # a step of one task (a chain's)
            if one.error is not None or not one.done:
                return self._stop_unfinished(tasks)
            writers = [(one.node.name, one.writes)]
        else:  # (checked and listed in one pass)
            writers = []
            for task in tasks:
                if task.error is not None or not task.done:
                    return self._stop_unfinished(tasks)
                writers.append((task.node.name, task.writes))
        if "updates" in self.modes:  # streamed before the barrier, as LangGraph does
            for task in tasks:
                if not task.streamed:
                    self._emit_update(task)
        cp = self.cp
        before = self._written_before(writers) if cp is not None else None
        if one is None:
            # (only a step's only task appends in place, ``Task.alone``: nothing of a
            # step of several to take back)
            merged = _merged_by_one(tasks)
        elif one.merged is None:
            merged = None  # nothing merged before the barrier: nothing to take back
        else:
            merged = _merged_by_one(tasks)
            if merged is None:
                self._take_back(tasks)
        self._apply(writers, merged, tasks)
        self._advance(tasks)
        self.step += 1
        self.steps_run += 1
        if self.modes:
            self._emit_step(tasks)
        if cp is not None:
            assert before is not None
            wrote = record_writes(
                [(t.id, t.writes) for t in tasks], self.values, before, self.tables.output_key_set
            )
            self._save("loop", tuple([name for name, _ in writers]), wrote)
        after = self.tables.interrupt_after
        if after and ("*" in after or any(t.node.name in after for t in tasks)):
            self._stop_statically("interrupt_after")
            return True
        return False

    def _stop_unfinished(self, tasks: list[Task]) -> bool:
        """A step some of whose tasks failed or paused: save what finished, then raise
        the first error, or pause the run (True)."""
        self._take_back(tasks)
        failed = [t for t in tasks if t.error is not None]
        # Not done and no error: it paused (a subgraph stopped by interrupt_before
        # pauses its parent's task without an interrupt value).
        paused = [t for t in tasks if not t.done and t.error is None]
        if self.cp is not None:
            self._report(self.cp.save_pending(tasks, self.asked))
        if "updates" in self.modes:  # the tasks that did finish still stream
            for task in tasks:
                if task.done and not task.streamed:
                    self._emit_update(task)
        if failed:
            self._emit_debug_results(tasks, self.step + 1)
            error = failed[0].error
            assert error is not None
            raise error
        self.interrupts = [i for t in paused for i in t.interrupts]
        self.paused = True
        nested = self.ctx.parent_task is not None
        for task in paused:  # per paused task, as LangGraph streams them
            if nested and not task.interrupts:
                continue  # a static stop further down shows at the top graph only
            self._emit("updates", {INTERRUPT: tuple(task.interrupts)})
            if "values" in self.modes and task.interrupts:  # not for a paused subgraph
                self._emit("values", self._paused_chunk(tuple(task.interrupts)))
        # an interrupted task's result is its interrupts (LangGraph streams it too, after)
        self._emit_debug_results([t for t in paused if t.interrupts], self.step + 1)
        self._show_finished(tasks)
        return True

    def _emit_update(self, task: Task) -> None:
        """The ``updates`` chunk of a task; one restored from a checkpoint says so. The
        update of graphkit's own node (a prebuilt agent's, a subgraph) shows the keys that
        speak LangChain as LangChain's, as a node written for LangGraph returns them."""
        update = task.update
        view = self.tables.nested_view
        if view is not None and self.ctx.parent_task is not None:
            update = view("updates", update)
        if self.picked is not None:
            update = self.picked.update(task.writes, self.tables)
        elif self.tables.langchain and not task.node.shown_langchain and type(update) is dict:
            update = self.tables.shown(update)
        if not update and type(update) is dict and not self.tables.root:
            update = None  # no key written: LangGraph streams None
        if task.restored:
            self._emit("updates", {task.node.name: update, "__metadata__": {"cached": True}})
        else:
            self._emit("updates", {task.node.name: update})

    def _show_finished(self, tasks: list[Task]) -> None:
        """At a pause, the output shows the writes of the step's tasks that finished.

        The checkpoint keeps them as pending writes (they are applied for real when
        the step completes on resume); the output, like LangGraph's, already shows
        them, with one more ``values`` chunk when they touch the output.
        """
        finished = [(t.node.name, t.writes) for t in tasks if t.done and t.writes]
        if not finished:
            return
        # A new dict: the saved checkpoint keeps the step's start, and these writes
        # are not the checkpoint's changes.
        self.values = {**self.values, **merge_writes(self.values, self.tables, finished)}
        if any(self._wrote_any(w) for _, w in finished):
            self._emit("values", self._values_chunk())

    def _take_back(self, tasks: list[Task]) -> None:
        """The step's values as they were before its tasks' branches appended to their
        histories in place (``Task.merged``), when that merge is not the one the step
        applies (a pause, an error, writes added after it): a copy of each history's
        part from before (the grown list may be held by what the branches kept)."""
        for task in tasks:
            merged = task.merged
            if merged is not None and merged[2]:
                for key, grown, size in merged[2]:
                    if self.values.get(key) is grown:
                        self.values[key] = grown[:size]
                task.merged = None

    def _advance(self, tasks: Sequence[Task | _Routed]) -> None:
        """Trigger what the step's tasks lead to: edges, routes, completed joins.

        A join counts the step's sources together (a set, as LangGraph's barrier
        channel): two sources finishing in one step complete it once, and neither
        is carried over to its next round.
        """
        fed: set[int] | None = None  # (made for the first join fed: most steps feed none)
        frontier = self.frontier
        joins = frontier.joins
        nodes = self.tables.nodes
        for task in tasks:
            node = task.node
            if node.leads:
                for target in node.edges:  # _trigger, written out (edges never name END)
                    if nodes[target].defer:
                        frontier.deferred[target] = None
                    else:
                        frontier.pending[target] = None
                if node.joins:
                    if fed is None:
                        fed = set()
                    for index in node.joins:
                        joins[index].add(node.name)
                        fed.add(index)
            if task.routes:
                sends = frontier.sends
                for route in task.routes:
                    if type(route) is Send:
                        sends.append(route)
                    else:
                        self._trigger(route)  # type: ignore[arg-type]
        if fed is None:
            return
        for index in sorted(fed):
            seen = joins[index]
            sources, target = self.tables.joins[index]
            if seen >= sources:
                seen.clear()
                self._trigger(target)

    def _apply(
        self,
        writers: list[tuple[str, list[Write]]],
        merged: dict[str, Any] | None = None,
        tasks: list[Task] | None = None,
    ) -> None:
        """Merge all writes of a step into the state; all or nothing.

        ``merged``: these writes already merged onto the current values (see
        ``_merged_by_one``). ``tasks``: the step's, whose inputs may hold the values'
        histories (a history only they hold may grow in place: ``merge_writes``).
        """
        if merged is None:
            owners = tasks if self.in_place else None
            new = merge_writes(self.values, self.tables, writers, owners)
        else:
            new = merged
        if self.tables.one_step:
            self._clear_unwritten(new)
        if not new:
            return
        values = self.values
        if self.partial:
            size = len(values)
            values.update(new)
            if len(values) != size:  # a key's first write: keep the schema's order
                self._order_keys()
        else:
            values.update(new)
        if self.cp is not None:
            self.cp.mark_changed(new)

    def _order_keys(self) -> None:
        """Put the values' keys in the schemas' order (nodes see them so, as in
        LangGraph), and note whether a key can still be added."""
        values, channels = self.values, self.tables.channels
        if len(values) > 1:
            ordered = in_channel_order(values, channels)
            if ordered is not None:
                values.clear()
                values.update(ordered)
        self.partial = len(values) < len(channels)

    def _clear_unwritten(self, new: dict[str, Any]) -> None:
        """Clear the keys lasting one step that this step does not write (LangGraph's
        ``Topic``, ``EphemeralValue``, ``AnyValue``)."""
        cleared = cleared_keys(self.values, self.tables, new)
        for key in cleared:
            del self.values[key]
        if cleared:
            self.partial = True
        if cleared and self.cp is not None:
            self.cp.forget(cleared)

    def _emit_step(self, tasks: list[Task]) -> None:
        modes = self.modes
        if "debug" in modes or "tasks" in modes:
            self._emit_debug_results(tasks, self.step)
        if "values" in modes and any(self._wrote_any(t.writes) for t in tasks):
            self._emit("values", self._values_chunk())

    def _wrote_any(self, writes: list[Write]) -> bool:
        """True when ``writes`` write a channel (one of the call's ``output_keys``, if
        given): only then is a ``values`` chunk due.

        Like LangGraph, a step whose nodes wrote nothing (they all returned None,
        say) streams no ``values`` chunk.
        """
        picked = self.picked
        return bool(writes) if picked is None else picked.wrote(writes)

    def emit_debug_starts(self, tasks: list[Task]) -> bool:
        """``debug``/``tasks`` events for tasks about to run; True when there were
        some (the caller delivers them before the tasks run, as LangGraph does)."""
        if "debug" not in self.modes and "tasks" not in self.modes:
            return False
        for task in tasks:
            payload = task_start_payload(task, self.config)
            self._emit("tasks", payload)
            self._emit("debug", debug_event("task", self.step + 1, payload))
        return True

    def _emit_debug_results(self, tasks: list[Task], step: int) -> None:
        """``debug``/``tasks`` events for the step's finished (or failed) tasks.

        ``step`` counts as LangGraph's (step 0 takes the input; nodes run from 1).
        """
        if "debug" not in self.modes and "tasks" not in self.modes:
            return
        for task in tasks:
            if task.streamed:
                continue
            payload = task_result_payload(task)
            self._emit("tasks", payload)
            self._emit("debug", debug_event("task_result", step, payload))

    def close(self, *, failed: bool = False) -> None:
        """End of run: last save for ``durability="exit"``, stop threads.

        With ``exit``, a subgraph that ran to its end saves nothing (as in LangGraph):
        its parent's task result is what a resume needs. One that paused or ``failed``
        saves, to go on from there; so does one compiled with ``checkpointer=True``
        (its state outlives the task).
        """
        try:
            if self.cp is not None:
                if (
                    self.cp.durability == "exit"
                    and self.ctx.parent_task is not None
                    and not (failed or self.paused or self.graph.checkpointer is True)
                ):
                    self.cp.drop_held()
                self._report(self.cp.close())
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=False)
                self._pool = None

    def _keep_stopped(self, tasks: list[Task]) -> None:
        """The run was stopped from outside in the middle of a step (its stream closed,
        its coroutine cancelled, Ctrl-C): keep what the step's finished tasks wrote, so
        a resume does not run them again (LangGraph keeps each task's writes as it
        finishes). A save failing now is logged: the stop is what the caller sees."""
        if self.cp is None:
            return
        try:
            self._report(self.cp.save_stopped(tasks, self.asked))
        except Exception:
            logging.getLogger("graphkit").exception(
                "keeping the finished tasks of a stopped run failed (the stop follows)"
            )

    def _keep_late(self, task: Task, tasks: list[Task]) -> None:
        """A sync task that finished after its stream was closed (its thread ran on):
        keep its writes too, as LangGraph does, so a later resume skips it (not with
        ``durability="exit"``, which saved what the run had when it stopped)."""
        cp = self.cp
        if cp is None or cp.durability == "exit" or not task.done or task.error is not None:
            return
        try:
            index = next(i for i, t in enumerate(tasks) if t is task)
            cp.keep_finished(task, index, self.asked)
        except Exception:
            logging.getLogger("graphkit").exception(
                "keeping the writes of a task that finished after its run stopped failed"
            )

    def close_after_error(self) -> None:
        """A run that raises still saves what it reached (``async`` queue, ``exit`` hold-back).

        The run's own error is the one the caller sees; a save failing now is logged.
        """
        try:
            self.close(failed=True)
        except Exception:
            logging.getLogger("graphkit").exception(
                "saving the last checkpoint of a failed run failed too (the run's error follows)"
            )

    # ---------------------------------------------------------------- drivers
    def iterate(self, input: Any, *, resuming: bool = False) -> Iterator[Event]:
        """Run to the end (or an interrupt), yielding ``(mode, chunk)`` events."""
        configs = self.langchain_configs
        token = None if configs is None else configs.enter()
        try:
            yield from self._iterate(input, resuming)
        except ParentCommand as pc:
            if self.ctx.parent_task is not None:
                raise
            raise _no_parent(pc) from None
        finally:
            if configs is not None:
                configs.leave(token)
        if self.drained is not None:
            raise GraphDrained(self.drained)

    def _iterate(self, input: Any, resuming: bool) -> Iterator[Event]:
        if self.cp is not None:
            missing = missing_for_sync_runs(self.cp.saver)
            if missing:  # a saver with only async methods: say so before anything runs
                raise not_implemented(self.cp.saver, missing[0])
        sink = self.sink
        drain = sink.drain  # (bound once: drained after every step)
        running: list[Task] | None = None  # the tasks of a step under way
        try:
            self.start(input, resuming=resuming)
            yield from drain()
            while True:
                tasks = self.plan()
                if self.check_before(tasks):
                    break
                started = run_order(tasks) if len(tasks) > 1 else tasks
                if self.modes and self.emit_debug_starts(started):
                    yield from drain()
                running = tasks
                if sink.queue is not None and self._live_step(started):
                    yield from self.execute_live(started)
                elif self.step_timeout is not None:
                    self.execute_within(started, self.step_timeout)
                else:
                    self.execute(started)
                running = None
                try:
                    stop = self.finish(tasks)
                finally:  # what the failed step streamed is delivered before its error
                    # (sink.drain's "nothing", without the call: most steps stream none)
                    if sink.buffer or sink.queue is not None or sink.aqueue is not None:
                        yield from drain()
                if stop:
                    break
            self.close()
            yield from drain()
        except BaseException as stopped:
            if running is not None and not isinstance(stopped, Exception):
                self._keep_stopped(running)
            self.close_after_error()
            raise
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=False)

    async def aiterate(self, input: Any, *, resuming: bool = False) -> AsyncGenerator[Event, None]:
        """The async twin of ``iterate``."""
        configs = self.langchain_configs
        token = None if configs is None else configs.enter()
        try:
            async with aclosing(self._aiterate(input, resuming)) as events:  # (closed with this)
                async for event in events:
                    yield event
        except ParentCommand as pc:
            if self.ctx.parent_task is not None:
                raise
            raise _no_parent(pc) from None
        finally:
            if configs is not None:
                configs.leave(token)
        if self.drained is not None:
            raise GraphDrained(self.drained)

    async def _aiterate(self, input: Any, resuming: bool) -> AsyncGenerator[Event, None]:
        if self.sink.forward is None:
            self.sink.use_event_loop()
        cp = self.cp
        awaited = None
        running: list[Task] | None = None  # the tasks of a step under way
        if cp is not None:
            if awaits_natively(cp.saver):  # its async methods, awaited on the loop
                cp.await_saver(asyncio.get_running_loop())
                awaited = cp.awaited
            else:  # sync saves commit in a worker thread: the loop stays free
                cp.defer_sync = cp.durability == "sync" and cp.saver.waits_on_io
        try:
            if awaited is not None or self.tables.start_awaits:
                # (in a worker thread, with the loop free to await what start awaits)
                self.loop = asyncio.get_running_loop()
                try:
                    await self._astart(input, resuming)
                finally:
                    self.loop = None
            else:
                self.start(input, resuming=resuming)
            if awaited is not None:
                await awaited.settle()
            elif cp is not None and cp.deferred:
                await asyncio.to_thread(cp.commit_deferred)
            for event in self.drain():
                yield event
            while True:
                tasks = self.plan()
                if self.check_before(tasks):
                    break
                started = run_order(tasks)
                if self.emit_debug_starts(started):
                    for event in self.drain():
                        yield event
                running = tasks
                if self._live_step(started):
                    # (closed with this run: a consumer that stops early stops the step's
                    # tasks now, a subgraph's keeping what its finished tasks wrote)
                    async with aclosing(self._aexecute_live(started)) as live:
                        async for event in live:
                            yield event
                else:
                    await self.aexecute(started)
                running = None
                try:
                    stop = self.finish(tasks)
                    if awaited is not None:
                        await awaited.settle()
                    elif cp is not None and cp.deferred:
                        await asyncio.to_thread(cp.commit_deferred)
                finally:  # what the failed step streamed is delivered before its error
                    for event in self.drain():
                        yield event
                if stop:
                    break
                await asyncio.sleep(0)  # one superstep at a time: other coroutines run between
            if awaited is not None:
                try:
                    self.close()
                finally:
                    await awaited.finish()
            elif self.cp is not None:
                await asyncio.to_thread(self.close)
            else:
                self.close()
            for event in self.drain():
                yield event
        except BaseException as stopped:
            if running is not None and not isinstance(stopped, Exception):
                self._keep_stopped(running)
            self.close_after_error()
            if awaited is not None:
                await _finish_after_error(awaited)
            raise
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=False)

    async def _astart(self, input: Any, resuming: bool) -> None:
        """``start`` in a worker thread (it loads through the event loop: the saver's
        async methods); a cancelled run lets it finish first (its saves are then queued
        for the run's last ones)."""
        started = asyncio.ensure_future(asyncio.to_thread(self.start, input, resuming=resuming))
        try:
            await asyncio.shield(started)
        except asyncio.CancelledError:
            await asyncio.wait([started])
            raise

    async def _entered(self, step: Awaitable[None]) -> None:
        """``step`` after ``enter_step`` (in the step's own asyncio task's context)."""
        assert self.enter_step is not None
        self.enter_step()
        await step

    async def _aexecute_live(self, tasks: list[Task]) -> AsyncGenerator[Event, None]:
        aq = self.sink.aqueue
        if aq is None:  # a subgraph: events go straight to the parent
            await self.aexecute(tasks)
            return
        step = self.aexecute(tasks)
        running = asyncio.ensure_future(step if self.enter_step is None else self._entered(step))
        getter: asyncio.Future[Event] | None = None
        try:
            while True:
                getter = asyncio.ensure_future(aq.get())
                done, _ = await asyncio.wait({running, getter}, return_when=asyncio.FIRST_COMPLETED)
                if getter in done:
                    yield getter.result()
                    while not aq.empty():  # a burst (a run's start, stream and end): no wait each
                        yield aq.get_nowait()
                    continue
                break
            while not aq.empty():
                yield aq.get_nowait()
            await running
        finally:  # cancelled, or the consumer stopped: the step's tasks stop first
            if getter is not None and not getter.done():
                getter.cancel()
            if not running.done():
                running.cancel()
                await asyncio.wait([running])


class _QuietBatch(Batch[Task]):
    """A step's batch whose tasks have nothing to call when done (nobody streams
    from the step): each runs with ``run_task`` straight from the loop, without a
    function in between (a call per task is 2% of a fan-out of quick tasks)."""

    __slots__ = ("tables", "values")

    def __init__(
        self,
        tasks: Sequence[Task],
        run_one: Callable[[Task], None],
        pool: Callable[[], ThreadPoolExecutor],
        most: int,
        values: dict[str, Any],
        tables: GraphTables,
    ) -> None:
        Batch.__init__(self, tasks, run_one, pool, most)
        self.values = values
        self.tables = tables

    def _work(self, *, helper: bool) -> None:  # Batch._work, calling run_task itself
        values, tables = self.values, self.tables
        for task in self.pending:
            if helper:
                self.ask()
            run_task(task, values, tables, True)


class _Routed:
    """A node and where its branches route, for ``Run._advance`` (as a ``Task`` has
    them): what ``route_after`` hands it for a node it does not run."""

    __slots__ = ("node", "routes")

    def __init__(self, node: NodeTable, routes: list[Any]) -> None:
        self.node = node
        self.routes = routes


def _await_here(
    coroutine: Any, branch: str, node: str, loop: asyncio.AbstractEventLoop | None = None
) -> Any:
    """The result of an async conditional edge evaluated outside a step (from START, or
    for ``update_state(as_node=...)``): awaited on the async run's ``loop`` when this is
    its start's worker thread (the edge may use what that loop owns), else run on a loop
    of its own, which this thread has when it runs no loop (``aupdate_state`` runs in a
    worker thread)."""
    try:
        running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if loop is not None and running is None:
        return asyncio.run_coroutine_threadsafe(coroutine, loop).result()
    if running is None:
        return asyncio.run(coroutine)
    coroutine.close()
    raise InvalidUpdateError(
        f"The conditional edge {branch!r} from {node!r} is async and was reached "
        "from code running on an event loop without awaiting it: use the async method "
        "(ainvoke/aupdate_state), or make the edge a plain function."
    )


async def _finish_after_error(awaited: AwaitedSaves) -> None:
    """A failed (or cancelled) run still finishes its saves, shielded; the run's own
    error is the one the caller sees, and a save failing now is logged."""
    try:
        await awaited.finish()
    except BaseException:
        logging.getLogger("graphkit").exception(
            "saving the last checkpoint of a failed run failed too (the run's error follows)"
        )


async def run_until_failure(aws: list[Awaitable[None]], tasks: list[Task]) -> None:
    """Await a step's tasks; once one fails, cancel the others (the step fails anyway).

    A sync task already running in a thread finishes there; its result is dropped.
    An invalid ``interrupt()`` answer cancels nothing: the other answered tasks finish
    and keep their writes, so a resume with a corrected answer does not run them (and
    their side effects) again.
    """
    pending = {asyncio.ensure_future(aw) for aw in aws}
    try:
        while pending:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for future in done:
                future.result()  # an exception that escaped its task (ParentCommand...)
            if any(t.error is not None and not is_invalid_resume(t.error) for t in tasks):
                break
    finally:
        for future in pending:
            future.cancel()
        if pending:
            await asyncio.wait(pending)


_NOT_AWAITED = frozenset({list, tuple, str, Send, type(None)})
"""Types a conditional edge returns that are surely no coroutine (checked in short)."""

_DONE_MODES = frozenset({"updates", "tasks", "debug"})
"""Modes with a chunk per finished task (streamed as each task of a step finishes)."""


def _recursion_limit(value: Any) -> int:
    """The config's ``recursion_limit``: a whole number of steps, at least 1."""
    try:
        limit = operator.index(value)
    except TypeError:
        limit = 0
    if limit < 1 or isinstance(value, bool):
        raise ConfigError(
            f"recursion_limit must be a whole number of steps, at least 1; got {value!r}. "
            f"Pass e.g. invoke(..., {{'recursion_limit': 50}}) (the default is "
            f"{DEFAULT_RECURSION_LIMIT})."
        )
    return limit


def _no_parent(pc: ParentCommand) -> InvalidUpdateError:
    """A ``Command.PARENT`` that reaches the top graph has no parent to go to."""
    return InvalidUpdateError(
        f"A node returned Command(graph=Command.PARENT, ...) ({pc.command!r:.100}) but "
        "the graph is not running as a subgraph. Use Command(goto=...) instead."
    )


def _tees_to(outer: RunContext | None) -> bool:
    """True when a graph a task of ``outer`` streams itself also streams to ``outer``'s
    consumer: one that takes subgraph events (``subgraphs=True``)."""
    return (
        outer is not None
        and outer.emit is not None
        and outer.push is not None
        and outer.scope.subgraphs
    )


def _merged_by_one(tasks: list[Task]) -> dict[str, Any] | None:
    """The step's writes already merged, when one task alone wrote and its branches
    merged exactly those writes onto the step's values (``Task.merged``); else None."""
    found: Task | None = None
    for task in tasks:
        if task.writes:
            if found is not None:  # two writers
                return None
            found = task
    if found is None:
        return None
    task = found
    merged = task.merged
    if merged is None or task.restored or merged[0] != len(task.writes):
        return None
    return merged[1]


def run_order(tasks: list[Task]) -> list[Task]:
    """A step's tasks in the order they start (and stream), as in LangGraph: the
    ``Send``s first, then the nodes triggered by name. Their writes still merge in plan
    order (named nodes, then sends), which ``finish`` keeps."""
    if len(tasks) < 2 or tasks[0].path[0] == "push" or tasks[-1].path[0] == "pull":
        return tasks
    first = next(i for i, task in enumerate(tasks) if task.path[0] == "push")
    return tasks[first:] + tasks[:first]


def _ignore(task: Task) -> None:
    """The ``stream_when_done`` of a step that streams no ``updates``."""
