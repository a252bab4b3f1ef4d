"""``astream_events``: LangChain's event stream of a run, as LangGraph's shows it.

A call to ``astream_events`` runs the graph with the internal ``events`` stream
mode and an ``EventsExecutor`` wrapped around the run's executor; a run that is
not asked for events has neither, and does no extra work:

- the graph itself is the root run: ``on_chain_start`` with the input, one
  ``on_chain_stream`` per ``updates`` chunk, ``on_chain_end`` with the output;
- each node attempt and each functional ``@task`` call is a chain run under it
  (``EventsExecutor``, tagged ``graph:step:N`` / ``seq:step:1``): start with its
  input, stream and end with what it returned (a node that raises or pauses ends
  without an event, as in LangGraph);
- a graph running inside a node (a subgraph node, or one a node invokes) is a
  chain run under that node (``EventedRun``), its nodes under it;
- a node's routing functions are chain runs under it, before its own end: the
  run uses the graph's tables with reporting branches (``evented_tables``);
- chat models (``on_chat_model_*``) and tools (``on_tool_*``) report under the
  node (or ``@task``) they run in (``model_run``, ``ToolRun``).

Events travel as ``(namespace, "events", event)`` on the run's live stream, so
they arrive in the order they happen, interleaved with the root's ``updates``.
A run whose config carries LangChain callbacks reports the same runs to them
(``graphkit.engine.callbacks``; a sync run hands each event to them where it
happens, and its chat models need not stream: ``EventsExecutor.inline``/``to_stream``).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import inspect
import uuid
from collections.abc import AsyncGenerator, Callable, Iterator, Sequence
from contextlib import aclosing
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from graphkit.context import CURRENT_CALL, CURRENT_TASK, TaskContext
from graphkit.engine.loop import Run
from graphkit.engine.task import Task
from graphkit.errors import InvalidArgumentError

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

    from graphkit.engine.executor import Executor
    from graphkit.engine.tables import GraphTables
    from graphkit.node import BranchDef, CallSpec

EVENTS = "events"
"""The internal stream mode that carries ``astream_events`` events."""

ROOT_NAME = "LangGraph"
"""LangGraph's default name of a compiled graph (and its root run's)."""

INSIDE_TOOL: ContextVar[tuple[Any, Any, list[str]] | None] = ContextVar(
    "graphkit_inside_tool", default=None
)
"""(Task, ``@task`` call, run ids down to the tool's) of the tool call whose body runs
here, in a run that reports runs: what the body runs (a chain, a model, a custom event)
reports under the tool's run, as LangChain nests a tool's runs (``ToolRun.enter``)."""

_inside_tool = INSIDE_TOOL.get

_FILTERS = (
    "include_names",
    "include_types",
    "include_tags",
    "exclude_names",
    "exclude_types",
    "exclude_tags",
)


def stream_event(
    kind: str,
    name: str,
    run_id: str,
    data: dict[str, Any],
    tags: list[str],
    metadata: dict[str, Any],
    parent_ids: list[str],
) -> dict[str, Any]:
    """One event in LangChain's ``StreamEvent`` shape."""
    return {
        "event": kind,
        "name": name,
        "run_id": run_id,
        "data": data,
        "tags": tags,
        "metadata": metadata,
        "parent_ids": parent_ids,
    }


class EventFilter:
    """``astream_events``' ``include_*``/``exclude_*`` options, as LangChain applies them:
    an event passes when no ``include_*`` is given or one matches, and no
    ``exclude_*`` matches (its type is the middle of ``on_<type>_<phase>``)."""

    __slots__ = _FILTERS

    def __init__(self, options: dict[str, Any]) -> None:
        self.include_names = _names(options, "include_names")
        self.include_types = _names(options, "include_types")
        self.include_tags = _names(options, "include_tags")
        self.exclude_names = _names(options, "exclude_names")
        self.exclude_types = _names(options, "exclude_types")
        self.exclude_tags = _names(options, "exclude_tags")

    @classmethod
    def pop(cls, options: dict[str, Any]) -> EventFilter | None:
        """The filter the options ask for (taken out of them), or None for none."""
        chosen = cls(options)
        return None if all(getattr(chosen, key) is None for key in _FILTERS) else chosen

    def __call__(self, ev: dict[str, Any]) -> bool:
        """True when ``ev`` passes."""
        name, tags = ev["name"], ev["tags"]
        kind = ev["event"][3:].rpartition("_")[0]  # on_chat_model_stream -> chat_model
        if kind == "custom":  # (a custom event's type is its name, as LangChain filters it)
            kind = name
        if self.include_names is None and self.include_types is None and self.include_tags is None:
            include = True
        else:
            include = (
                (self.include_names is not None and name in self.include_names)
                or (self.include_types is not None and kind in self.include_types)
                or (self.include_tags is not None and not self.include_tags.isdisjoint(tags))
            )
        return (
            include
            and (self.exclude_names is None or name not in self.exclude_names)
            and (self.exclude_types is None or kind not in self.exclude_types)
            and (self.exclude_tags is None or self.exclude_tags.isdisjoint(tags))
        )


def _names(options: dict[str, Any], key: str) -> frozenset[str] | None:
    """One filter option, taken out of ``options``."""
    value = options.pop(key, None)
    if value is None:
        return None
    if isinstance(value, str):
        raise InvalidArgumentError(
            f"astream_events({key}={value!r}) takes a list of strings, e.g. {key}=[{value!r}]."
        )
    return frozenset(value)


class EventsExecutor:
    """The executor of a run streaming events: the run's own, with each node attempt
    and ``@task`` call reported as a chain run. Also where the run's lineage lives:
    which run id each running task (and each nested graph run) has, so that what
    runs inside reports under it."""

    def __init__(self, inner: Executor, root_id: str, tags: list[str]) -> None:
        self.inner = inner
        self.root_id = root_id
        self.tags = tags
        """The config's tags: every event of the run carries them."""
        self.workers = inner.workers
        self.inline: Any = None
        """A sync run's ``CallbackRelay``: its events go to the callbacks as they happen
        (an async run's go through its stream, their calls awaited by the consumer)."""
        self.relay: Any = None
        """The run's ``CallbackRelay`` (sync or async), when its config has callbacks."""
        self.to_stream = True
        """The run's events go to its stream (``astream_events``; chat models stream
        their replies to report them). False for a sync run whose events only go to
        callbacks (a model's ``invoke`` is not streamed there, as LangChain's is not)."""
        self.tap_callbacks: Callable[[Any], Any] | None = None
        """Adds ``langchain_tokens.TOKEN_TAP`` to the callbacks of a task's config (a run
        streaming ``"messages"``), else None."""
        self.pending: dict[int, tuple[RunEvents, Any]] = {}
        """Id of a task context -> its node's run and output, until its branches ran."""
        self.quiet: set[int] = set()
        """Ids of the contexts of nested graph runs whose nodes stream no chunk events
        (``EventedRun.streams_chunks``)."""
        self.run_tags: dict[int, list[str]] = {}
        """Id of a nested graph run's context -> the tags its config adds to the run's
        (its nodes carry them)."""
        self.lineage: dict[Any, list[str]] = {}
        """(id of a task context, ``@task`` call or None) or id of a nested run's
        context -> its run id, after those of its ancestors (the root's first)."""

    def pool(self) -> ThreadPoolExecutor:
        """The wrapped executor's threads."""
        return self.inner.pool()

    def call(self, name: str, spec: CallSpec, state: Any, ctx: TaskContext | None) -> Any:
        """The wrapped ``call``, between its run's start and end events."""
        if ctx is None:
            return self.inner.call(name, spec, state, ctx)
        chain = self.task_run(ctx, name, spec, state)
        relay = self.relay
        if relay is not None and self.inline is None:  # (the handlers see its start first)
            relay.wait_started(chain.run_id)
        try:
            output = self.inner.call(name, spec, state, ctx)
        except BaseException as exc:
            chain.failed(exc)
            raise
        self.returned(chain, output)
        return output

    async def acall(self, name: str, spec: CallSpec, state: Any, ctx: TaskContext | None) -> Any:
        """The wrapped ``acall``, between its run's start and end events."""
        if ctx is None:
            return await self.inner.acall(name, spec, state, ctx)
        chain = self.task_run(ctx, name, spec, state)
        relay = self.relay
        if relay is not None and self.inline is None:  # (the handlers see its start first)
            await relay.reached(chain.run_id)
        try:
            output = await self.inner.acall(name, spec, state, ctx)
        except BaseException as exc:
            chain.failed(exc)
            raise
        if not self.after_branches(chain, output):
            if id(ctx.run) not in self.quiet:
                chain.emit("stream", {"chunk": output})
            await asyncio.sleep(0)  # (see ``later``)
            chain.end(output)
        return output

    def returned(self, chain: RunEvents, output: Any) -> None:
        """A node or ``@task`` call returned ``output``: its stream and end events, now
        or (for a node with conditional edges) once its branches ran."""
        if not self.after_branches(chain, output):
            chain.returned(output, id(chain.ctx.run) not in self.quiet)

    def after_branches(self, chain: RunEvents, output: Any) -> bool:
        """For a node with conditional edges: keep its stream and end events for
        ``node_done`` (its routing functions report first, as in LangGraph). False
        for anything else (a ``@task`` call, a node without branches)."""
        ctx = chain.ctx
        if not isinstance(ctx, Task) or not ctx.node.branches or CURRENT_CALL.get() is not None:
            return False
        self.pending[id(ctx)] = (chain, output)
        return True

    def node_done(self, ctx: TaskContext) -> None:
        """The node ``ctx`` runs finished (its branches ran): its kept events go out."""
        kept = self.pending.pop(id(ctx), None)
        if kept is not None:
            kept[0].returned(kept[1], id(ctx.run) not in self.quiet)

    def node_failed(self, ctx: TaskContext, error: BaseException) -> None:
        """The node ``ctx`` runs failed after it returned (a routing function raised)."""
        kept = self.pending.pop(id(ctx), None)
        if kept is not None:
            kept[0].failed(error)

    def task_run(self, ctx: TaskContext, name: str, spec: CallSpec | None, state: Any) -> RunEvents:
        """Start the chain run of a node attempt (or of the ``@task`` call running here)."""
        call = CURRENT_CALL.get()
        if call is None:
            tags = [f"graph:step:{ctx.step}", *self.tags, *self.run_tags.get(id(ctx.run), ())]
            given = state
            parents = self.graph_lineage(ctx)
        else:  # under the task it is called in
            tags = ["seq:step:1", *self.tags]
            given = _call_input(spec) if spec is not None else state
            parents = self.lineage.get((id(ctx), None)) or self.graph_lineage(ctx)
        chain = RunEvents(ctx, "chain", name, tags, ctx.stream_metadata(), parents)
        self.lineage[(id(ctx), call)] = [*parents, chain.run_id]
        return chain.start(given)

    def graph_lineage(self, ctx: TaskContext) -> list[str]:
        """Run ids down to the graph run ``ctx``'s task belongs to (the root's first)."""
        return self.lineage.get(id(ctx.run)) or [self.root_id]

    def inside(self, ctx: TaskContext) -> list[str]:
        """Run ids down to the task (or ``@task`` call, or tool call) running here: the
        parents of what it runs (a model, a tool, a graph)."""
        tool = self.tool_here(ctx)
        if tool is not None:
            return tool
        found = self.lineage.get((id(ctx), CURRENT_CALL.get()))
        return found if found is not None else self.graph_lineage(ctx)

    def tool_here(self, ctx: TaskContext) -> list[str] | None:
        """Run ids down to the tool call whose body runs here in ``ctx``, or None."""
        here = _inside_tool()
        if here is None or here[0] is not ctx or here[1] != CURRENT_CALL.get():
            return None
        return here[2]

    def step_tags(self, ctx: TaskContext) -> list[str]:
        """The tag LangChain gives what runs here, before the config's: a node's (or
        ``@task`` call's) step, ``seq:step:1``; none in a tool call's body (a LangChain
        tool's child runs inherit only the config's tags)."""
        return [] if self.tool_here(ctx) is not None else ["seq:step:1"]


def _call_input(spec: CallSpec) -> Any:
    """A ``@task`` call's arguments by parameter name (its chain run's input)."""
    fn = spec.fn
    if not isinstance(fn, functools.partial):
        return None
    try:
        bound = inspect.signature(fn.func).bind_partial(*fn.args, **fn.keywords)
    except (TypeError, ValueError):
        return {"args": fn.args, "kwargs": fn.keywords}
    return dict(bound.arguments)


def later(emit: Callable[[str, Any], None], mode: str, chunk: Any) -> None:
    """Emit a chunk two turns of the event loop from now: an async ``@task`` call's
    ``updates`` chunk (the root's ``on_chain_stream``) while events stream.

    LangGraph's root stream events come through its output stream, a turn or two
    behind the callback events of the runs inside; a consumer sees a call's end,
    then its caller's stream event, and only then the call's update at the root
    (before its caller's end: an async run's stream and end events are a turn
    apart, ``EventsExecutor.acall``). This keeps that order.
    """
    loop = asyncio.get_running_loop()
    loop.call_soon(loop.call_soon, emit, mode, chunk)


def events_of(ctx: TaskContext | None) -> EventsExecutor | None:
    """The events executor of ``ctx``'s run when it streams events, else None."""
    if ctx is None or ctx.run.emit is None or EVENTS not in ctx.run.modes:
        return None
    executor = ctx.run.executor
    return executor if isinstance(executor, EventsExecutor) else None


def reporting() -> bool:
    """True inside a task of a run that reports its runs (``astream_events`` or callbacks)."""
    return events_of(CURRENT_TASK.get()) is not None


def events_active() -> bool:
    """True inside a task of a run that streams ``astream_events`` (whose chat models
    report their calls as streamed; for callbacks alone they need not stream)."""
    events = events_of(CURRENT_TASK.get())
    return events is not None and events.to_stream


def inner_metadata(ctx: TaskContext) -> dict[str, Any]:
    """The metadata of what runs inside a task (a model, a tool, a graph): the task's,
    plus its ``checkpoint_ns``, as LangChain runnables inside LangGraph report it."""
    metadata = ctx.stream_metadata()
    metadata.setdefault("checkpoint_ns", metadata.get("langgraph_checkpoint_ns", ""))
    return metadata


def inner_run(
    kind: str,
    name: str,
    extra_tags: Sequence[str] = (),
    extra: dict[str, Any] | None = None,
    parents: list[str] | None = None,
    run_id: str | None = None,
) -> RunEvents | None:
    """The run of a model or tool called in the current task, when it streams events:
    under the task (or under ``parents``, the run ids of a LangChain run it is inside).
    A LangChain run (``run_id``: LangChain's id for it) has the tags LangChain gives it
    (its place in a sequence first); when the run's callbacks were given it, LangChain
    told them of it already (``CallbackRelay.native``)."""
    ctx = CURRENT_TASK.get()
    events = events_of(ctx)
    if events is None:
        return None
    assert ctx is not None
    metadata = inner_metadata(ctx)
    if extra:
        metadata.update(extra)
    if run_id is not None:  # (a LangChain run: the tags LangChain gives it)
        tags = [*extra_tags, *(t for t in events.tags if t not in extra_tags)]
    else:
        tags = [
            *events.step_tags(ctx),
            *events.tags,
            *(t for t in extra_tags if t not in events.tags),
        ]
    inside = list(events.inside(ctx)) if parents is None else parents
    run = RunEvents(ctx, kind, name, tags, metadata, inside)
    if run_id is not None:
        run.run_id = run_id
        if events.relay is not None:
            events.relay.native.add(run_id)
    return run


def langchain_run(
    kind: str, name: str, tags: list[str], parent_id: str, parents: list[str] | None, run_id: str
) -> RunEvents | None:
    """The run ``run_id`` of a LangChain runnable or tool the current task runs, when the
    task's run streams events (callbacks alone: LangChain calls them itself): under the
    LangChain run ``parents`` ends with, else under the task when ``parent_id`` is the
    task's run."""
    ctx = CURRENT_TASK.get()
    events = events_of(ctx)
    if events is None or not events.to_stream:
        return None
    assert ctx is not None
    if parents is None:
        parents = events.inside(ctx)
        if parents[-1] == run_id:  # (a LangChain tool's own run: ``inside_langchain_tool``)
            parents = parents[:-1]
        if parents[-1] != parent_id:  # (not under the task: not a run of this one)
            return None
    return inner_run(kind, name, tags, None, list(parents), run_id)


@contextlib.contextmanager
def inside_langchain_tool(config: dict[str, Any]) -> Iterator[None]:
    """While a LangChain tool given ``config`` (the task's, with its ``run_id``) reports
    its own run: what graphkit reports in its body (a graph it invokes, graphkit's
    models) goes under that run, to ``astream_events`` and to the handlers, as in
    LangGraph."""
    run_id = str(config["run_id"])
    ctx = CURRENT_TASK.get()
    events = events_of(ctx)
    if events is None:
        yield
        return
    assert ctx is not None
    token = INSIDE_TOOL.set((ctx, CURRENT_CALL.get(), [*events.inside(ctx), run_id]))
    relay = events.relay
    if relay is not None:
        relay.hosting(run_id)
    try:
        yield
    finally:
        INSIDE_TOOL.reset(token)
        if relay is not None:
            relay.hosted(run_id)


def custom_event(
    name: str, data: Any, parent: RunEvents | None = None, tags: list[str] | None = None
) -> None:
    """A custom event the current task sent (LangChain's ``dispatch_custom_event``): on
    the ``astream_events`` stream, reported by the run it was sent in (``parent``, a
    LangChain run the task runs, else the task's or tool call's), with the ``tags``
    LangChain gives it, as LangGraph streams it (the run's callback handlers get it from
    LangChain itself)."""
    ctx = CURRENT_TASK.get()
    events = events_of(ctx)
    if events is None or not events.to_stream:
        return
    assert ctx is not None
    lineage = events.inside(ctx) if parent is None else [*parent.parent_ids, parent.run_id]
    if tags is None:
        tags = [*events.step_tags(ctx), *events.tags]
    ev = stream_event(
        "on_custom_event", name, lineage[-1], data, tags, inner_metadata(ctx), lineage[:-1]
    )
    ctx.run.emit(EVENTS, ev)  # type: ignore[misc]  # (events_of: the run emits)


class RunEvents:
    """The events of one run: a node attempt, a ``@task`` call or a nested graph
    (``kind`` "chain"), a chat model call ("chat_model") or a tool call ("tool"):
    ``on_<kind>_start``, then stream events, then ``on_<kind>_end`` (or an error)."""

    __slots__ = ("ctx", "input", "kind", "metadata", "name", "parent_ids", "run_id", "tags")

    def __init__(
        self,
        ctx: TaskContext,
        kind: str,
        name: str,
        tags: list[str],
        metadata: dict[str, Any],
        parent_ids: list[str],
    ) -> None:
        self.ctx = ctx
        """The task it runs in (whose run's stream carries its events)."""
        self.kind = kind
        self.name = name
        self.tags = tags
        self.metadata = metadata
        self.parent_ids = parent_ids
        """Run ids of the runs it is inside, the root's first."""
        self.run_id = str(uuid.uuid4())
        self.input: Any = None

    def emit(self, phase: str, data: dict[str, Any]) -> None:
        """Send ``on_<kind>_<phase>`` on the stream of the task's run."""
        emit = self.ctx.run.emit
        if emit is not None:
            ev = stream_event(
                f"on_{self.kind}_{phase}",
                self.name,
                self.run_id,
                data,
                self.tags,
                self.metadata,
                self.parent_ids,
            )
            events = events_of(self.ctx)
            if events is not None and events.inline is not None:  # a sync run's callbacks
                events.inline.event(ev)
                if not events.to_stream:  # (only callbacks take the run's events)
                    return
            emit(EVENTS, ev)

    def start(self, given: Any) -> RunEvents:
        """The run started with ``given``."""
        self.input = given
        self.emit("start", {"input": given})
        return self

    def end(self, output: Any) -> None:
        """The run returned ``output``."""
        self.emit("end", {"output": output, "input": self.input})

    def failed(self, error: BaseException) -> None:
        """The run raised ``error`` (or paused: a ``GraphInterrupt``), as callbacks see
        it (``astream_events`` streams no chain errors)."""
        self.emit("error", {"error": error, "input": self.input})

    def returned(self, output: Any, stream: bool = True) -> None:
        """A chain run returned ``output``: its one stream chunk (unless not ``stream``),
        then its end."""
        if stream:
            self.emit("stream", {"chunk": output})
        self.end(output)


class ModelRun:
    """A chat model call's events: start with the messages, one stream event per chunk,
    end with the whole reply."""

    __slots__ = ("merged", "run")

    def __init__(self, run: RunEvents, messages: list[Any]) -> None:
        self.run = run
        self.merged: Any = None
        run.start({"messages": [messages]})

    def chunk(self, chunk: Any) -> None:
        """One streamed chunk."""
        self.merged = chunk if self.merged is None else self.merged + chunk
        self.run.emit("stream", {"chunk": chunk})

    def replied(self, message: Any) -> Any:
        """The model returned ``message`` without streaming; returns it."""
        self.run.end(message)
        return message

    def failed(self, error: BaseException) -> None:
        """The model call raised ``error``."""
        self.run.failed(error)

    def end(self) -> None:
        """The reply is complete."""
        from graphkit.messages import AIMessage, message_chunk_to_message

        output = (
            AIMessage(content="") if self.merged is None else message_chunk_to_message(self.merged)
        )
        self.run.end(output)


def model_run(
    name: str,
    messages: list[Any],
    tags: Sequence[str],
    metadata: dict[str, Any],
    parents: list[str] | None = None,
    run_id: str | None = None,
) -> ModelRun | None:
    """The events of a chat model call in the current task (None when not streamed;
    ``run_id``: LangChain's, for a LangChain model)."""
    run = inner_run("chat_model", name, tags, metadata, parents, run_id)
    return None if run is None else ModelRun(run, messages)


class ToolRun:
    """A tool call's events: ``on_tool_start``, then ``on_tool_end`` or ``on_tool_error``."""

    __slots__ = ("call_id", "run")

    def __init__(self, run: RunEvents, args: Any, call_id: str | None, description: str) -> None:
        self.run = run
        self.call_id = call_id
        run.input = args
        # (the call id and description: for callbacks; astream_events streams the input)
        run.emit("start", {"input": args, "tool_call_id": call_id, "description": description})

    def enter(self) -> Any:
        """The tool's body runs here from now: what it runs reports under the tool's run
        (LangChain's current config too: ``langchain_config``), once an async run's
        handlers saw its start (as a node's: ``EventsExecutor.call``). Returns the token
        ``leave`` takes."""
        relay = self._awaited_relay()
        if relay is not None:
            relay.wait_started(self.run.run_id)
        return self._inside()

    async def aenter(self) -> Any:
        """Async ``enter``."""
        relay = self._awaited_relay()
        if relay is not None:
            await relay.reached(self.run.run_id)
        return self._inside()

    def _awaited_relay(self) -> Any:
        """The ``CallbackRelay`` of an async run with callbacks (which sees the tool's
        start as the run's stream is consumed), else None."""
        events = events_of(self.run.ctx)
        if events is None or events.relay is None or events.inline is not None:
            return None
        return events.relay

    def _inside(self) -> Any:
        run = self.run
        return INSIDE_TOOL.set((run.ctx, CURRENT_CALL.get(), [*run.parent_ids, run.run_id]))

    @staticmethod
    def leave(token: Any) -> None:
        """The tool's body returned (or raised): put back what ``enter`` replaced."""
        INSIDE_TOOL.reset(token)

    def finished(self, output: Any, response_format: str = "content") -> None:
        """The tool returned ``output``: called for a tool call (with its id), the
        ``ToolMessage`` it answers with, as a LangChain tool invoked with a call shows
        (with its artifact, for a ``content_and_artifact`` tool)."""
        if self.call_id is not None:
            output = as_tool_message(output, self.run.name, self.call_id, response_format)
        self.run.end(output)

    def failed(self, error: BaseException) -> None:
        """The tool raised ``error``."""
        self.run.emit(
            "error", {"error": error, "input": self.run.input, "tool_call_id": self.call_id}
        )


def as_tool_message(output: Any, name: str, call_id: str, response_format: str) -> Any:
    """What a tool call answers with: ``output`` as ``ToolNode`` words it in a
    ``ToolMessage`` (with its artifact, for a ``content_and_artifact`` tool), or as it is
    when it is one already or a ``Command``: what LangGraph shows as a tool run's output,
    since its ``ToolNode`` invokes each tool with the whole call."""
    from graphkit.messages import ToolMessage
    from graphkit.prebuilt.tool_node import _content  # (how ToolNode words a result)
    from graphkit.types import Command

    if isinstance(output, (ToolMessage, Command)):
        return output
    artifact = None
    pair = response_format == "content_and_artifact"
    if pair and isinstance(output, tuple) and len(output) == 2:
        output, artifact = output
    return ToolMessage(content=_content(output), name=name, tool_call_id=call_id, artifact=artifact)


def tool_run(name: str, args: Any, call_id: str | None, description: str = "") -> ToolRun | None:
    """The events of a tool call in the current task (None when not streamed)."""
    run = inner_run("tool", name)
    return None if run is None else ToolRun(run, args, call_id, description)


_EVENTED: dict[int, tuple[GraphTables, GraphTables]] = {}
"""``evented_tables`` answers, by the id of the tables they were made from."""


def evented_tables(tables: GraphTables) -> GraphTables:
    """``tables`` whose nodes' conditional edges report their runs (a routing function
    is a chain run under its node, tagged ``seq:step:3`` and on, as in LangGraph): what
    a run streaming events runs, so that others pay nothing for it."""
    found = _EVENTED.get(id(tables))
    if found is not None and found[0] is tables:
        return found[1]
    nodes = {
        name: node.copy({"branches": tuple(_evented(b, i) for i, b in enumerate(node.branches))})
        if node.branches
        else node
        for name, node in tables.nodes.items()
    }
    evented = dataclasses.replace(tables, nodes=nodes)
    if len(_EVENTED) > 256:  # graphs made at run time must not pile up here
        _EVENTED.clear()
    _EVENTED[id(tables)] = (tables, evented)
    return evented


def _evented(branch: BranchDef, index: int) -> BranchDef:
    """``branch`` whose path function reports a chain run when it is called in a task
    of a run streaming events."""
    spec = branch.call
    fn = spec.fn
    name = "Unnamed" if branch.name == "<lambda>" else branch.name
    tag = f"seq:step:{3 + index}"

    def reported(*args: Any, **kwargs: Any) -> Any:
        ctx = CURRENT_TASK.get()
        events = events_of(ctx)
        if events is None:
            return fn(*args, **kwargs)
        assert ctx is not None
        given = args[0] if args else None
        parents = list(events.inside(ctx))
        run = RunEvents(ctx, "chain", name, [tag, *events.tags], ctx.stream_metadata(), parents)
        run.start(given)
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:
            _route_failed(events, run, exc)
            raise
        if inspect.isawaitable(result):
            return _ended(result, run, events)
        run.end(result)
        return result

    return dataclasses.replace(branch, call=dataclasses.replace(spec, fn=reported))


async def _ended(result: Any, run: RunEvents, events: EventsExecutor) -> Any:
    try:
        value = await result
    except BaseException as exc:
        _route_failed(events, run, exc)
        raise
    run.end(value)
    return value


def _route_failed(events: EventsExecutor, run: RunEvents, error: BaseException) -> None:
    """A routing function raised: its run and its node's fail (as in LangGraph)."""
    run.failed(error)
    events.node_failed(run.ctx, error)


class EventedRun(Run):
    """A graph run inside a task of a run that streams events: a chain run named after
    the graph, under the task, with the graph's nodes under it."""

    _chain: RunEvents | None = None
    streams_chunks: bool = True
    """Its nodes' runs stream their output (``on_chain_stream``): False for a graph a
    sync node invokes (LangGraph runs those without streaming), True for a subgraph
    node or a graph an async node awaits."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tables = evented_tables(self.tables)

    def _begin(self, input: Any) -> None:
        parent = self.ctx.parent_task
        assert parent is not None
        events = events_of(parent)
        if events is None:
            return
        if self.streams_chunks:
            events.quiet.discard(id(self.ctx))
        else:
            events.quiet.add(id(self.ctx))
        own = [t for t in self.config.get("tags") or () if t not in events.tags]
        if own:  # (``with_config(tags=)``: its run and nodes carry them, as in LangGraph)
            events.run_tags[id(self.ctx)] = own
        else:  # (an earlier context's, at the same address)
            events.run_tags.pop(id(self.ctx), None)
        tags = [*events.step_tags(parent), *events.tags, *own]
        parents = list(events.inside(parent))
        name = self.config.get("run_name") or self.graph.name  # (``with_config(run_name=)``)
        chain = RunEvents(parent, "chain", name, tags, inner_metadata(parent), parents)
        events.lineage[id(self.ctx)] = [*parents, chain.run_id]
        self._chain = chain.start(input)

    def _end(self) -> None:
        if self._chain is None:
            return
        if self.paused:  # (as its node will: a pause is an error to callbacks)
            from graphkit.errors import GraphInterrupt

            self._chain.failed(GraphInterrupt(tuple(self.interrupts)))
        else:
            self._chain.end(self.output())  # (a graph run as a whole streams no chunk)

    def _failed(self, error: BaseException) -> None:
        if self._chain is not None:
            self._chain.failed(error)

    def iterate(self, input: Any, *, resuming: bool = False) -> Any:
        """``Run.iterate`` between the graph run's start and end (or error) events."""
        self._begin(input)
        try:
            yield from super().iterate(input, resuming=resuming)
        except BaseException as exc:
            self._failed(exc)
            raise
        self._end()

    async def aiterate(self, input: Any, *, resuming: bool = False) -> AsyncGenerator[Any, None]:
        """``Run.aiterate`` between the graph run's start and end (or error) events."""
        self._begin(input)
        try:
            async with aclosing(super().aiterate(input, resuming=resuming)) as items:
                async for item in items:
                    yield item
        except BaseException as exc:
            self._failed(exc)
            raise
        self._end()
