"""The engine's task context: what a running node can reach without being handed it.

The loop sets one ``TaskContext`` per task in a context variable; the public
functions below (``get_config``, ``get_store``, ``get_stream_writer``) and
``graphkit.runtime.get_runtime`` read it. Outside a run they raise a clear error
instead of returning None. ``RunScope`` holds what one invoke/stream call shares
with the subgraphs inside it (context, control, thread, streamed message ids).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Container, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from graphkit.errors import InvalidArgumentError, InvalidMessageError, RunContextError
from graphkit.runtime import ExecutionInfo, RunControl, Runtime, ServerInfo, _no_op_stream_writer
from graphkit.stores.checkpoint.base import configurable_of

if TYPE_CHECKING:
    from graphkit.engine.executor import Executor
    from graphkit.stores.store.base import BaseStore
    from graphkit.types import RunnableConfig

# Configurable keys LangGraph copies into the metadata of streamed chunks.
_PROPAGATED = (
    "thread_id",
    "checkpoint_id",
    "checkpoint_ns",
    "task_id",
    "run_id",
    "assistant_id",
    "graph_id",
)


@dataclass(slots=True, init=False)
class RunScope:
    """What one invoke/stream call shares with every subgraph run inside it."""

    context: Any = None
    """``invoke(..., context=...)``, coerced to the graph's ``context_schema``."""
    control: RunControl | None = None
    """``invoke(..., control=...)``: asks the run to drain between steps."""
    thread_id: str | None = None
    """The thread, when the top graph has a checkpointer."""
    run_id: str | None = None
    """``config["run_id"]``, if given."""
    server_info: ServerInfo | None = None
    """Set when ``configurable`` names an ``assistant_id`` and a ``graph_id``."""
    metadata: dict[str, Any] = field(default_factory=dict)
    """Metadata every streamed chunk starts from: the config's ``metadata`` plus the
    configurable keys LangGraph propagates (``thread_id``, ``run_id``, ...)."""
    subgraphs: bool = False
    """``stream(subgraphs=True)``: subgraphs' ``messages``/``tools`` events stream too."""
    seen_messages: set[str] = field(default_factory=set)
    """Ids of messages already on the ``messages`` stream (each streams once)."""
    stateful_ran: set[str] = field(default_factory=set)
    """Namespaces of ``checkpointer=True`` subgraphs that already ran in this call
    (a later run of one goes on from what the earlier one saved)."""
    replay_targets: dict[str, str] = field(default_factory=dict)
    """Time travel into a subgraph: namespace -> the checkpoint its next run inside
    this call starts from (from a snapshot config's ``checkpoint_map``; used once)."""
    open_answer: list[Any] = field(default_factory=list)
    """``Command(resume=value)`` (one value, not a map of ids): the next ``interrupt()``
    this call asks without an answer, in any run, takes it (once), as in LangGraph;
    where no interrupt is open (after ``update_state``, at an ``interrupt_before``
    stop), or where the one open was superseded (its subgraph's state was updated)."""
    open_answer_for: str | None = None
    """The open interrupt's id ``open_answer`` was given for: restoring it uses the
    answer up (it is not taken twice)."""

    def __init__(
        self,
        context: Any = None,
        control: RunControl | None = None,
        thread_id: str | None = None,
        run_id: str | None = None,
        server_info: ServerInfo | None = None,
        metadata: dict[str, Any] | None = None,
        subgraphs: bool = False,
        seen_messages: set[str] | None = None,
        stateful_ran: set[str] | None = None,
        replay_targets: dict[str, str] | None = None,
    ) -> None:
        # written out: one per invoke, and the generated __init__ spends half its time
        # on the default-factory checks (for_run builds it positionally)
        self.context = context
        self.control = control
        self.thread_id = thread_id
        self.run_id = run_id
        self.server_info = server_info
        self.metadata = {} if metadata is None else metadata
        self.subgraphs = subgraphs
        self.seen_messages = set() if seen_messages is None else seen_messages
        self.stateful_ran = set() if stateful_ran is None else stateful_ran
        self.replay_targets = {} if replay_targets is None else replay_targets
        self.open_answer = []
        self.open_answer_for = None

    @classmethod
    def for_run(
        cls,
        config: RunnableConfig,
        context: Any = None,
        control: RunControl | None = None,
        has_checkpointer: bool = False,
        subgraphs: bool = False,
        replay_targets: dict[str, str] | None = None,
    ) -> RunScope:
        """The scope of a top-level run with this (already merged) ``config``
        (``replay_targets``: see the field; the arguments are positional in the engine,
        which calls this once per invoke)."""
        if not config:  # the common call: nothing in the config to share
            return cls(
                context, control, None, None, None, None, subgraphs, None, None, replay_targets
            )
        configurable = configurable_of(config)  # ConfigError unless a mapping
        metadata = dict(config.get("metadata") or {})
        server_info = None
        if configurable:
            for key in _PROPAGATED:
                value = configurable.get(key)
                if value is not None and key not in metadata:
                    metadata[key] = value
            if configurable.get("assistant_id") and configurable.get("graph_id"):
                server_info = ServerInfo(
                    configurable["assistant_id"],
                    configurable["graph_id"],
                    configurable.get("langgraph_auth_user"),
                )
        run_id = config.get("run_id")
        return cls(  # positional: a class called with keywords builds a dict first
            context,
            control,
            configurable.get("thread_id") if has_checkpointer else None,
            str(run_id) if run_id is not None else None,
            server_info,
            metadata,
            subgraphs,
            None,
            None,
            replay_targets,
        )


def _local_executor() -> Executor:
    from graphkit.engine.executor import LOCAL

    return LOCAL


@dataclass(slots=True, init=False)
class RunContext:
    """What every task of one run shares."""

    config: RunnableConfig
    """The run's config, as passed to invoke/stream."""
    store: Any = None
    """The long-term memory store given to ``compile(store=...)``."""
    emit: Callable[[str, Any], None] | None = None
    """Sends ``(mode, chunk)`` to the stream consumer; None when nobody listens."""
    modes: frozenset[str] = frozenset()
    """Stream modes the consumer asked for."""
    has_checkpointer: bool = False
    """interrupt() needs one to resume later."""
    namespace: tuple[str, ...] = ()
    """Where this run sits: () at the top, one entry per enclosing subgraph node."""
    push: Callable[[tuple[tuple[str, ...], str, Any]], None] | None = None
    """Delivers a finished ``(namespace, mode, chunk)`` event (used by subgraphs)."""
    parent_task: TaskContext | None = None
    """For a subgraph's run: the parent's task it runs in."""
    saver: Any = None
    """The checkpoint saver this run saves to (subgraphs inherit it); None: none."""
    answers: dict[str, Any] = field(default_factory=dict)
    """``Command(resume=...)`` answers of this invocation, by interrupt id (shared
    with the subgraphs' runs: an answer goes to whichever run owns that interrupt)."""
    channels: Container[str] = ()
    """The state channels of this run's graph (``push_message`` checks its key against them)."""
    as_of: str | None = None
    """Replaying from this checkpoint id: stateful subgraphs load their state as it
    was then (their newest checkpoint older than it)."""
    rerun: set[str] = field(default_factory=set)
    """Ids of this step's tasks that run again after a pause or failure (their
    subgraphs go on from their own checkpoints)."""
    steps_left: Callable[[], int] | None = None
    """Steps this run may still take, counting the running one (``RemainingSteps``)."""
    read_state: Callable[[], Any] | None = None
    """The graph state as of this step (for code handed no state, e.g. a ``Send``'s task)."""
    scope: RunScope = field(default_factory=RunScope)
    """What the whole invoke/stream call shares (context, control, thread, ...)."""
    checkpoint_id: Callable[[], str] | None = None
    """The id of the checkpoint the current step runs from (set with a checkpointer)."""
    stream_root: tuple[str, ...] = ()
    """The namespace of the run whose caller consumes this run's events (a graph a
    node streams itself is the root of its own stream)."""
    cache: Any = None
    """The ``BaseCache`` for nodes and tasks with a ``CachePolicy`` (None: no caching)."""
    executor: Executor = field(default_factory=_local_executor)
    """Where task functions run (``graphkit.engine.executor``); local unless chosen."""

    def __init__(
        self,
        config: RunnableConfig,
        store: Any = None,
        emit: Callable[[str, Any], None] | None = None,
        modes: frozenset[str] = frozenset(),
        has_checkpointer: bool = False,
        namespace: tuple[str, ...] = (),
        push: Callable[[tuple[tuple[str, ...], str, Any]], None] | None = None,
        parent_task: TaskContext | None = None,
        saver: Any = None,
        answers: dict[str, Any] | None = None,
        channels: Container[str] = (),
        as_of: str | None = None,
        rerun: set[str] | None = None,
        steps_left: Callable[[], int] | None = None,
        read_state: Callable[[], Any] | None = None,
        scope: RunScope | None = None,
        checkpoint_id: Callable[[], str] | None = None,
        stream_root: tuple[str, ...] = (),
        cache: Any = None,
        executor: Executor | None = None,
    ) -> None:
        # written out: one per run, and the generated __init__ spends half its time on
        # the default-factory checks (Run builds it positionally, as TaskContext)
        self.config = config
        self.store = store
        self.emit = emit
        self.modes = modes
        self.has_checkpointer = has_checkpointer
        self.namespace = namespace
        self.push = push
        self.parent_task = parent_task
        self.saver = saver
        self.answers = {} if answers is None else answers
        self.channels = channels
        self.as_of = as_of
        self.rerun = set() if rerun is None else rerun
        self.steps_left = steps_left
        self.read_state = read_state
        self.scope = RunScope() if scope is None else scope
        self.checkpoint_id = checkpoint_id
        self.stream_root = stream_root
        self.cache = cache
        self.executor = _local_executor() if executor is None else executor

    def streams(self, mode: str) -> bool:
        """True when the consumer takes ``mode`` events from this run.

        ``messages`` and ``tools`` events of a subgraph stream only with
        ``stream(subgraphs=True)``, as in LangGraph.
        """
        if self.emit is None or mode not in self.modes:
            return False
        if self.namespace == self.stream_root or mode not in _NESTED_FILTERED:
            return True
        return self.scope.subgraphs


_NESTED_FILTERED = frozenset({"messages", "tools"})


def new_run_context(
    config: RunnableConfig,
    store: Any,
    emit: Callable[[str, Any], None] | None,
    modes: frozenset[str],
    has_checkpointer: bool,
    namespace: tuple[str, ...],
    push: Callable[[tuple[tuple[str, ...], str, Any]], None] | None,
    parent_task: TaskContext | None,
    saver: Any,
    answers: dict[str, Any],
    channels: Container[str],
    as_of: str | None,
    rerun: set[str],
    steps_left: Callable[[], int] | None,
    read_state: Callable[[], Any] | None,
    scope: RunScope,
    checkpoint_id: Callable[[], str] | None,
    stream_root: tuple[str, ...],
    cache: Any,
    executor: Executor,
) -> RunContext:
    """``RunContext(...)`` with every field given, built without calling the class: a
    run makes one per invoke, and the class call (the type's call, then ``__init__``
    with its defaults) costs about a microsecond more. Sets every field
    ``RunContext.__init__`` sets (a test compares the two)."""
    ctx = _new_object(RunContext)
    ctx.config = config
    ctx.store = store
    ctx.emit = emit
    ctx.modes = modes
    ctx.has_checkpointer = has_checkpointer
    ctx.namespace = namespace
    ctx.push = push
    ctx.parent_task = parent_task
    ctx.saver = saver
    ctx.answers = answers
    ctx.channels = channels
    ctx.as_of = as_of
    ctx.rerun = rerun
    ctx.steps_left = steps_left
    ctx.read_state = read_state
    ctx.scope = scope
    ctx.checkpoint_id = checkpoint_id
    ctx.stream_root = stream_root
    ctx.cache = cache
    ctx.executor = executor
    return ctx


_new_object = object.__new__


@dataclass(slots=True, init=False)
class TaskContext:
    """One running task: its node, step and interrupt bookkeeping.

    What a node reaches through ``CURRENT_TASK`` (``get_config()``, ``interrupt()``,
    ``get_stream_writer()``, its ``Runtime``). A graph's task is its own context (the
    engine's ``Task`` is a ``TaskContext``): one object per task, not two.
    """

    run: RunContext = field(repr=False)
    """What every task of the run shares."""
    name: str
    """The node's name (its error handler's, once that took over)."""
    step: int
    """The step the task runs in (LangGraph's numbering: the first node step is 1)."""
    id: str
    """The task id: stable within a checkpoint (``"{step}:{node}"``, ``"{step}:~{i}"``)."""
    path: tuple[Any, ...] = ()
    """("pull", node name) for triggered nodes, ("push", index) for ``Send``s."""
    resume: Sequence[Any] = ()
    """Resume values for this task's interrupts, in the order they were raised."""
    interrupt_count: int = 0
    """How many ``interrupt()`` calls this attempt has made so far."""
    cache: dict[str, Any] = field(default_factory=dict)
    """Saved with a paused or failed task and given back when it runs again
    (the functional API keeps finished ``@task`` results here)."""
    attempt: int = 1
    """1 for the first attempt, 2 for the first retry, ..."""
    pushed: list[tuple[str, Any]] | None = None
    """Writes ``push_message`` made while the task ran (they come before its return's)."""
    first_attempt_time: float | None = None
    """Unix time of the first attempt."""
    subgraph_calls: int = 0
    """How many graphs this task has run inside itself (each gets its own namespace)."""

    def __init__(
        self,
        run: RunContext,
        name: str,
        step: int,
        id: str,
        path: tuple[Any, ...] = (),
        resume: Sequence[Any] = (),
        cache: dict[str, Any] | None = None,
        first_attempt_time: float | None = None,
        *,
        interrupt_count: int = 0,
        attempt: int = 1,
    ) -> None:
        # written out: the generated __init__ is a third slower (and callers pass
        # its arguments positionally: a class called with keywords builds a dict)
        self.run = run
        self.name = name
        self.step = step
        self.id = id
        self.path = path
        self.resume = resume
        self.interrupt_count = interrupt_count
        self.cache = {} if cache is None else cache
        self.attempt = attempt
        self.pushed = None
        self.first_attempt_time = first_attempt_time
        self.subgraph_calls = 0

    def interrupt_owner(self) -> TaskContext:
        """The task whose checkpoint keeps this task's interrupts.

        This task itself when its run saves checkpoints; inside a subgraph that keeps
        none (``checkpointer=False``), the nearest enclosing task whose run does.
        """
        owner = self
        while owner.run.saver is None and owner.run.parent_task is not None:
            owner = owner.run.parent_task
        return owner

    @property
    def checkpoint_ns(self) -> str:
        """This task's namespace: ``"node:task_id"`` under its run's namespace."""
        return "|".join((*self.run.namespace, f"{self.name}:{self.id}"))

    def interrupt_id(self, index: int) -> str:
        """The id of this task's ``index``-th ``interrupt()``: unique within the thread."""
        return "|".join((*self.run.namespace, f"{self.id}#{index}"))

    def config(self) -> RunnableConfig:
        """The run config plus where we are: LangGraph's ``langgraph_*`` metadata keys
        (inside a graph run by a node, also the outermost such node's ``checkpoint_ns``),
        and in ``configurable`` this task's ``checkpoint_ns`` (no ``checkpoint_id``: the
        task runs after the run's checkpoint, not in it), as a LangGraph node sees them."""
        run_config = self.run.config
        where = self._where()
        metadata = {**self.run.scope.metadata, **(run_config.get("metadata") or {})}
        metadata.update(where)
        namespace = self.run.namespace
        if namespace:  # (LangGraph's: the outermost node's, which its config passes down)
            metadata.setdefault("checkpoint_ns", namespace[0])
        configurable = {
            **(run_config.get("configurable") or {}),
            "checkpoint_ns": where["langgraph_checkpoint_ns"],
            "checkpoint_id": None,
        }
        config: RunnableConfig = {
            **run_config,
            "metadata": metadata,
            "configurable": configurable,
        }
        # the run's own name and id are not its tasks' (LangChain's child configs have
        # neither): a runnable a node calls with this config must not take them
        if "run_name" in config or "run_id" in config:
            config.pop("run_name", None)
            config.pop("run_id", None)
        given = run_config.get("callbacks")  # (always a key, as in LangGraph's node config)
        config["callbacks"] = _callbacks_under(self, given) if given else given
        return config

    def _where(self) -> dict[str, Any]:
        """LangGraph's ``langgraph_*`` keys for this task (inside a ``@task`` body, the
        task is the node, as in LangGraph). Steps count as LangGraph's: step 0 takes
        the input, the first node step is 1."""
        call = CURRENT_CALL.get()
        if call is not None:
            name, task_id = call
            namespace = f"{self.checkpoint_ns}|{name}:{task_id}"
            triggers, lg_path = call_path(self.path, task_id)
        else:
            name, namespace = self.name, self.checkpoint_ns
            triggers, lg_path = langgraph_path(self.path, name)
            triggers = self.shown_triggers() or triggers
        return {
            "langgraph_step": self.step,
            "langgraph_node": name,
            "langgraph_triggers": triggers,
            "langgraph_path": lg_path,
            "langgraph_checkpoint_ns": namespace,
        }

    def shown_triggers(self) -> tuple[str, ...] | None:
        """Its ``langgraph_triggers`` when not its edge channel's (``Task``: its node's
        ``triggers``)."""
        return None

    def stream_metadata(self) -> dict[str, Any]:
        """Metadata that goes with ``messages`` chunks streamed from this task."""
        metadata = {**self.run.scope.metadata, "ls_integration": "langgraph", **self._where()}
        if self.run.namespace:
            metadata["checkpoint_ns"] = "|".join(self.run.namespace)
        return metadata

    def execution_info(self) -> ExecutionInfo:
        """Facts about this attempt, for ``Runtime.execution_info``."""
        scope = self.run.scope
        checkpoint_id = self.run.checkpoint_id
        return ExecutionInfo(
            checkpoint_id=checkpoint_id() if checkpoint_id is not None else "",
            checkpoint_ns=self.checkpoint_ns,
            task_id=self.id,
            thread_id=scope.thread_id,
            run_id=scope.run_id,
            node_attempt=self.attempt,
            node_first_attempt_time=self.first_attempt_time,
        )

    def runtime(self, previous: Any = None) -> Runtime[Any]:
        """The ``Runtime`` a node of this task receives."""
        scope = self.run.scope
        return Runtime(
            context=scope.context,
            store=self.run.store,
            stream_writer=_writer_for(self),
            heartbeat=_heartbeat,
            previous=previous,
            execution_info=self.execution_info(),
            server_info=scope.server_info,
            control=scope.control,
        )


def langgraph_path(path: tuple[Any, ...], node: str) -> tuple[tuple[str, ...], tuple[Any, ...]]:
    """A task's ``(triggers, path)`` in LangGraph's spelling: a triggered node's edge
    channel ``branch:to:<node>``, or ``__pregel_push`` for a ``Send`` or ``@task`` call."""
    if path and path[0] == "push":
        return ("__pregel_push",), pregel_path(path)
    return (f"branch:to:{node}",), pregel_path(path)


def call_path(caller: tuple[Any, ...], call_id: str) -> tuple[tuple[str, ...], tuple[Any, ...]]:
    """A functional ``@task`` call's ``(triggers, path)`` in LangGraph's spelling: pushed
    by the task whose path is ``caller``, the ``index``-th call it made (``call_id`` is
    ``"name#index"``): ``("__pregel_push", caller's path, index, True)``.

    >>> call_path(("pull", "wf"), "double#2")
    (('__pregel_push',), ('__pregel_push', ('__pregel_pull', 'wf'), 2, True))
    """
    index = call_id.rpartition("#")[2]
    where: tuple[Any, ...] = pregel_path(caller) if caller else ()
    return ("__pregel_push",), (
        "__pregel_push",
        where,
        int(index) if index.isdigit() else index,
        True,
    )


def pregel_path(path: tuple[Any, ...]) -> tuple[Any, ...]:
    """A task's path in LangGraph's spelling (``PregelTask.path``, ``langgraph_path``):
    ``("__pregel_pull", node)`` for a triggered node, ``("__pregel_push", index, False)``
    for the ``index``-th ``Send`` of a step, ``("__pregel_push", call id)`` for a
    ``@task`` call. The only place that spells one.

    >>> pregel_path(("pull", "a")), pregel_path(("push", 2))
    (('__pregel_pull', 'a'), ('__pregel_push', 2, False))
    """
    kind, where = path
    if kind == "pull":
        return ("__pregel_pull", where)
    return ("__pregel_push", where, False) if type(where) is int else ("__pregel_push", where)


CURRENT_TASK: ContextVar[TaskContext | None] = ContextVar("graphkit_task", default=None)
CURRENT_CALL: ContextVar[tuple[str, str] | None] = ContextVar("graphkit_call", default=None)
"""``(name, call id)`` of the functional API ``@task`` whose body runs here, if any."""
CALL_INTERRUPTS: ContextVar[tuple[list[int], ...]] = ContextVar(
    "graphkit_call_interrupts", default=()
)
"""One counter per ``@task`` call running here (outermost first): the ``interrupt()``
answers it used, its nested calls' included. Concurrent calls and the entrypoint
count apart, so a call served from its saved result on resume skips exactly its own."""


def count_interrupts(used: int) -> None:
    """Add ``used`` interrupt() answers to every ``@task`` call running here."""
    for counter in CALL_INTERRUPTS.get():
        counter[0] += used


PROGRESS: ContextVar[Callable[[bool], None] | None] = ContextVar("graphkit_progress", default=None)
"""The idle-timeout clock of the running attempt, if it has one (called with
``heartbeat=True`` for ``runtime.heartbeat()``, False for other progress)."""


def report_progress(heartbeat: bool = False) -> None:
    """Tell the running attempt's idle timeout that it made progress (no-op without one)."""
    hook = PROGRESS.get()
    if hook is not None:
        hook(heartbeat)


def _heartbeat() -> None:
    """``Runtime.heartbeat`` inside a node: refreshes its attempt's idle timeout."""
    report_progress(heartbeat=True)


def current_task(what: str) -> TaskContext:
    """The running task; ``what`` names the caller for the error outside a run."""
    task = CURRENT_TASK.get()
    if task is None:
        raise RunContextError(
            f"{what} was called outside a running graph. Call it from inside a node "
            "or task function while the graph runs (invoke/stream)."
        )
    return task


def get_config() -> RunnableConfig:
    """The config of the run, from inside a node (with ``langgraph_node`` metadata)."""
    return current_task("get_config()").config()


def get_store() -> BaseStore:
    """The store passed to ``compile(store=...)`` or ``entrypoint(store=...)``."""
    task = current_task("get_store()")
    if task.run.store is None:
        raise RunContextError(
            "get_store() found no store: pass one with compile(store=InMemoryStore()) "
            "or entrypoint(store=...)."
        )
    return task.run.store


def get_stream_writer() -> Callable[[Any], None]:
    """A function that sends anything to ``stream_mode="custom"`` consumers."""
    task = current_task("get_stream_writer()")
    return _writer_for(task)


def _writer_for(task: TaskContext) -> Callable[[Any], None]:
    emit = task.run.emit
    if emit is None or "custom" not in task.run.modes:
        return _no_op_stream_writer

    def write(chunk: Any) -> None:
        report_progress()
        emit("custom", chunk)

    return write


def messages_streaming_active() -> bool:
    """True when the running graph streams ``"messages"``: chat models then stream tokens."""
    task = CURRENT_TASK.get()
    return task is not None and task.run.streams("messages")


def emit_message_chunk(chunk: Any, model_metadata: dict[str, Any] | None = None) -> None:
    """Send one token chunk to ``stream_mode="messages"`` as ``(chunk, metadata)``.

    ``model_metadata`` (the model's ``ls_*`` keys and ``tags``) is added to the task's
    metadata as a LangChain model's is (``model_chunk_metadata``).
    Its id counts as streamed: the finished message a node returns is not sent again.
    """
    task = CURRENT_TASK.get()
    if task is None or not task.run.streams("messages"):
        report_progress()
        return
    if model_metadata:
        tags = model_metadata.get("tags") or ()
        model_keys = {k: v for k, v in model_metadata.items() if k != "tags"}
        metadata = model_chunk_metadata(task, model_keys, tags)
    else:
        metadata = task.stream_metadata()
    emit_streamed_message(task, chunk, metadata)


def model_chunk_metadata(
    task: TaskContext, model_metadata: dict[str, Any], tags: Sequence[str]
) -> dict[str, Any]:
    """The metadata of a chat model's chunks streamed from ``task``, as LangGraph gives a
    LangChain model's: the task's, its namespace as ``checkpoint_ns``, the model's keys
    (``ls_*``, ...), and the run config's tags then the model's (LangChain's
    ``seq:step:*`` bookkeeping left out) as ``"tags"``."""
    metadata = task.stream_metadata()
    metadata.setdefault("checkpoint_ns", metadata.get("langgraph_checkpoint_ns", ""))
    metadata.update(model_metadata)
    shown = [*(task.run.config.get("tags") or ())]
    shown.extend(t for t in tags if t not in shown)
    shown = [t for t in shown if not t.startswith("seq:step")]
    if shown:
        metadata["tags"] = shown
    return metadata


def emit_streamed_message(task: TaskContext, message: Any, metadata: dict[str, Any]) -> None:
    """Send a chunk or message a chat model streams inside ``task`` to its
    ``messages`` stream; its id counts as streamed (the node's return of it is not
    sent again)."""
    report_progress()
    message_id = getattr(message, "id", None)
    if message_id is not None:
        task.run.scope.seen_messages.add(message_id)
    assert task.run.emit is not None
    task.run.emit("messages", (message, metadata))


def emit_messages(
    task: TaskContext, messages: list[Any], show: Callable[[Any], Any] | None = None
) -> None:
    """Stream whole messages (a node's output, a pushed message) not streamed before
    (``show``: how each is shown, once it has an id)."""
    seen = task.run.scope.seen_messages
    emit = task.run.emit
    assert emit is not None
    metadata: dict[str, Any] | None = None
    for message in messages:
        if message.id is None:
            message.id = str(uuid.uuid4())
        elif message.id in seen:
            continue
        seen.add(message.id)
        if metadata is None:
            metadata = task.stream_metadata()
        emit("messages", (message if show is None else show(message), metadata))


class ToolEvents:
    """``stream_mode="tools"`` events of one tool call: started, then finished or error;
    and its ``astream_events`` events (``on_tool_start/end/error``) when those stream.

    Made by ``tool_events``; a call outside a graph streaming either gets
    ``NO_TOOL_EVENTS``, whose methods do nothing.
    """

    __slots__ = ("call_id", "called", "langchain", "name", "run", "task")

    def __init__(
        self,
        task: TaskContext | None,
        call_id: str,
        run: Any = None,
        name: str = "",
        called: bool = False,
        langchain: bool = False,
    ) -> None:
        self.task = task
        self.call_id = call_id
        self.run = run
        """The call's ``graphkit.engine.run_events.ToolRun``, or None."""
        self.name = name
        self.called = called
        """Run for a model's tool call (``call_id`` is the call's): its output streams as
        the ``ToolMessage`` answering it, as LangGraph's does."""
        self.langchain = langchain
        """The tool is a LangChain tool: that message is LangChain's."""

    def _emit(self, payload: dict[str, Any]) -> None:
        if self.task is not None and self.task.run.emit is not None:
            self.task.run.emit("tools", payload)

    def finished(self, output: Any, response_format: str = "content") -> None:
        """The tool returned ``output`` (a ``(content, artifact)`` pair for a tool of
        ``response_format="content_and_artifact"``)."""
        if self.run is not None:
            self.run.finished(output, response_format)
        if self.task is None:
            return
        if self.called:
            from graphkit.engine.run_events import as_tool_message

            output = as_tool_message(output, self.name, self.call_id, response_format)
            if self.langchain:
                from graphkit._langchain import for_langchain

                output = for_langchain(output)
        self._emit({"event": "tool-finished", "tool_call_id": self.call_id, "output": output})

    def failed(self, error: BaseException) -> None:
        """The tool raised ``error`` (a pause for ``interrupt()`` is not a failure)."""
        from graphkit.errors import GraphDrained, GraphInterrupt

        if not isinstance(error, (GraphInterrupt, GraphDrained)):
            if self.run is not None:
                self.run.failed(error)
            self._emit({"event": "tool-error", "tool_call_id": self.call_id, "message": str(error)})


NO_TOOL_EVENTS = ToolEvents(None, "")


def tool_events(
    name: str,
    tool_call_id: str | None,
    args: Any,
    description: str = "",
    reported: bool = True,
    *,
    langchain: bool = False,
) -> ToolEvents:
    """Announce a tool call on ``stream_mode="tools"`` and ``astream_events`` (those
    that stream; not the latter when the tool reports its run itself: not ``reported``)
    and return its events (``langchain``: of a LangChain tool)."""
    task = CURRENT_TASK.get()
    if task is None or task.run.emit is None:
        return NO_TOOL_EVENTS
    streams = task.run.streams("tools")
    run = None
    if reported and "events" in task.run.modes:
        from graphkit.engine.run_events import tool_run

        run = tool_run(name, args, tool_call_id, description)
    if not streams and run is None:
        return NO_TOOL_EVENTS
    events = ToolEvents(
        task if streams else None,
        tool_call_id or str(uuid.uuid4()),
        run,
        name,
        called=tool_call_id is not None,
        langchain=langchain,
    )
    events._emit(
        {
            "event": "tool-started",
            "tool_call_id": events.call_id,
            "tool_name": name,
            "input": args,
        }
    )
    return events


def push_message(message: Any, *, state_key: str | None = "messages") -> Any:
    """Stream ``message`` now (``stream_mode="messages"``) and write it to ``state_key``.

    For a message a node makes before it returns (a partial answer, say). The message
    needs an ``id``; ``state_key=None`` only streams it. Returns the message (a
    LangChain message streams and returns as given; the state gets graphkit's).
    """
    from graphkit._langchain import is_langchain_message
    from graphkit.messages import convert_to_messages

    task = current_task("push_message()")
    (converted,) = convert_to_messages([message])
    if converted.id is None:
        raise InvalidMessageError(
            "Message ID is required: push_message() needs a message with an id (it "
            "identifies the message in the stream and the state), e.g. "
            "AIMessage('...', id='reply-1')."
        )
    shown = message if is_langchain_message(message) else converted  # (as it was given)
    if task.run.streams("messages"):
        task.run.scope.seen_messages.add(converted.id)
        assert task.run.emit is not None
        task.run.emit("messages", (shown, task.stream_metadata()))
    if state_key is not None:
        if task.run.channels and state_key not in task.run.channels:
            raise InvalidArgumentError(
                f"push_message(state_key={state_key!r}): the graph's state has no key "
                f"{state_key!r}. Pass the key of its message list, or state_key=None to "
                "only stream the message."
            )
        if task.pushed is None:
            task.pushed = []
        task.pushed.append((state_key, converted))
    return shown


def _callbacks_under(task: TaskContext, given: Any) -> Any:
    """The callbacks of a task's config: a LangChain ``CallbackManager`` under the task's
    run when the run reports to the handlers (so that a LangChain runnable the node
    calls with its config traces under the node, as in LangGraph), else as given."""
    from graphkit.engine.run_events import events_of

    events = events_of(task)
    if events is None or events.relay is None:
        return given
    manager = events.relay.child_manager(events.inside(task)[-1], events.step_tags(task))
    return manager if events.tap_callbacks is None else events.tap_callbacks(manager)
