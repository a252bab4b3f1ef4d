"""LangChain callback handlers in ``config["callbacks"]``, called as LangGraph calls them.

A top-level run whose config carries callbacks is a ``TracedRun``: it runs with the
internal ``events`` live mode of ``astream_events`` (``graphkit.engine.run_events``:
the same run model, so a handler sees what LangGraph shows it: the root run, each node
attempt and ``@task`` call, routing functions, graphs run inside a node, chat models
and tools, with their run ids, tags and ``langgraph_*`` metadata), and hands each event
to a ``CallbackRelay``. The relay calls the handlers through langchain_core's own
``CallbackManager`` (sync runs) or ``AsyncCallbackManager`` (async runs, awaited), which
applies LangChain's rules: sync and async handlers, ``raise_error`` (else a handler's
error is logged), ``run_inline``, the ``ignore_*`` flags, inheritable handlers.

Handlers see LangChain's messages (``graphkit._langchain``), since they are LangChain
code. ``langchain_core`` is imported only when a config carries callbacks; a run
without them is a plain ``Run`` and does no extra work.

A sync run calls the handlers where each event happens (in the node's thread, as
LangGraph does). An async run awaits them on its event loop as the events come through
its live stream; a node waits until its start was handled before its body runs. Either
way, what a node calls (a LangChain runnable, given the node's config or not: it is
LangChain's current config while the node runs, ``engine.langchain_config``) reports
under the node's run.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import threading
import uuid
from collections.abc import AsyncGenerator, Callable, Iterator
from contextlib import aclosing
from typing import TYPE_CHECKING, Any

from graphkit.constants import INTERRUPT
from graphkit.engine.loop import Run
from graphkit.engine.run_events import EVENTS, ROOT_NAME, EventsExecutor, evented_tables

if TYPE_CHECKING:
    from graphkit.engine.events import Event

_START = frozenset({"on_chain_start", "on_chat_model_start", "on_tool_start"})

STARTED_TIMEOUT = 30.0
"""Seconds a sync node of an async run waits for the handlers to see its start."""


_TRACING_VARS = (
    "LANGSMITH_TRACING_V2",
    "LANGCHAIN_TRACING_V2",
    "LANGSMITH_TRACING",
    "LANGCHAIN_TRACING",
)


def env_tracing() -> bool:
    """Whether LangSmith tracing is switched on by the environment (``LANGSMITH_TRACING=
    true``, ...) and langchain_core is installed: LangChain then adds its tracer to every
    run's callbacks, as it does in LangGraph. Read when a graph is compiled."""
    if not any(os.environ.get(name, "").lower() == "true" for name in _TRACING_VARS):
        return False
    return importlib.util.find_spec("langchain_core") is not None


def root_run_id(config: Any) -> str:
    """The root run's id: the config's ``run_id`` (as LangChain takes it), else a new one."""
    given = config.get("run_id") if config else None
    return str(given) if given is not None else str(uuid.uuid4())


class TracedRun(Run):
    """A top-level run whose config carries LangChain callbacks (or whose graph was
    compiled with LangSmith tracing on: ``env_tracing``): its events go to them (and,
    for ``astream_events``, to the caller too)."""

    keep_events: bool = False
    """Also yield the ``events`` items (``astream_events`` takes them)."""

    def traced(self) -> None:
        """Set the run up to report its events (call once, after ``__init__``)."""
        self.root_id = root_run_id(self.config)
        events = EventsExecutor(
            self.ctx.executor, self.root_id, list(self.config.get("tags") or ())
        )
        events.to_stream = self.keep_events
        self.events = events
        self.ctx.executor = events
        self.tables = evented_tables(self.tables)

    def _relay(self, is_async: bool) -> CallbackRelay:
        config = self.config
        graph = self.graph
        name = config.get("run_name") or graph.root_run_name or graph.name or ROOT_NAME
        metadata = {**self.ctx.scope.metadata, "ls_integration": "langgraph"}
        relay = CallbackRelay(
            config.get("callbacks"), config.get("tags"), metadata, self.root_id, name, is_async
        )
        if graph.trace_view is not None:
            relay.view = graph.trace_view
        self.events.relay = relay
        return relay

    def iterate(self, input: Any, *, resuming: bool = False) -> Iterator[Event]:
        """``Run.iterate``, its events handed to the callbacks as they happen (in the
        thread they happen in, as LangGraph calls them)."""
        relay = self._relay(is_async=False)
        self.events.inline = relay
        relay.start(input)
        try:
            yield from super().iterate(input, resuming=resuming)
        except BaseException as exc:
            relay.error(exc)
            raise
        relay.end(self.root_output())

    async def aiterate(self, input: Any, *, resuming: bool = False) -> AsyncGenerator[Event, None]:
        """``Run.aiterate``, its events handed to the callbacks (their calls awaited)
        as they come through the run's stream: a node waits for its start's."""
        relay = self._relay(is_async=True)
        self.live = True  # (its events come through the stream while nodes run)
        await relay.astart(input)
        try:
            async with aclosing(super().aiterate(input, resuming=resuming)) as events:
                async for event in events:
                    if event[1] == EVENTS:
                        await relay.aevent(event[2])
                        if not self.keep_events:
                            continue
                    yield event
        except BaseException as exc:
            await relay.aerror(exc)
            raise
        await relay.aend(self.root_output())

    def root_output(self) -> Any:
        """The root run's output: the output state (the ``output_keys`` of it, when the
        call picks some), without a pause's interrupts."""
        output = self.output() if self.picked is None else self._values_chunk()
        if isinstance(output, dict) and INTERRUPT in output:
            return {k: v for k, v in output.items() if k != INTERRUPT}
        return output


class CallbackRelay:
    """Calls a run's callback handlers for its events, through LangChain's callback
    managers: the root's from ``CallbackManager.configure`` (the config's callbacks,
    tags and metadata), each run's a child of its parent's, with the event's own tags
    and metadata."""

    def __init__(
        self,
        callbacks: Any,
        tags: list[str] | None,
        metadata: dict[str, Any],
        root_id: str,
        name: str,
        is_async: bool,
    ) -> None:
        from langchain_core.callbacks.manager import AsyncCallbackManager, CallbackManager

        manager_class = AsyncCallbackManager if is_async else CallbackManager
        self.manager: Any = manager_class.configure(
            inheritable_callbacks=callbacks, inheritable_tags=tags, inheritable_metadata=metadata
        )
        self.root_id = root_id
        self.name = name
        self.is_async = is_async
        self.runs: dict[str, Any] = {}
        """Run id -> its LangChain run manager, while it runs."""
        self.waiters: dict[str, asyncio.Event | threading.Event] = {}
        """Run id -> set once its start was handled (``reached``, ``wait_started``)."""
        self.thread = threading.get_ident()
        """The thread the relay dispatches on (an async run's: its event loop's)."""
        self.native: set[str] = set()
        """Run ids of LangChain runs a task ran under the handlers, which LangChain itself
        told them of (a chat model, a chain, a tool): streamed to ``astream_events``, not
        called again (their start is skipped, so nothing after it is called)."""
        self.hosts: dict[str, Any] = {}
        """Run id -> the parent, for what graphkit reports inside it, of a LangChain run
        that reports itself (a LangChain tool ``ToolNode`` runs: ``hosting``)."""
        self.view: Callable[[str, Any], Any] = _identity
        """How the root's input and output and each event are shown (the graph's
        ``trace_view``)."""

    # -- the root run
    def start(self, input: Any) -> None:
        """The root run started."""
        self.runs[self.root_id] = self.manager.on_chain_start(
            None,
            as_langchain(self.view("input", input)),
            run_id=uuid.UUID(self.root_id),
            name=self.name,
        )

    async def astart(self, input: Any) -> None:
        """Async ``start``."""
        self.runs[self.root_id] = await self.manager.on_chain_start(
            None,
            as_langchain(self.view("input", input)),
            run_id=uuid.UUID(self.root_id),
            name=self.name,
        )

    def end(self, output: Any) -> None:
        """The root run returned ``output``."""
        self.runs.pop(self.root_id).on_chain_end(as_langchain(self.view("output", output)))

    async def aend(self, output: Any) -> None:
        """Async ``end``."""
        await self.runs.pop(self.root_id).on_chain_end(as_langchain(self.view("output", output)))

    def error(self, exc: BaseException) -> None:
        """The root run raised ``exc``."""
        manager = self.runs.pop(self.root_id, None)
        if manager is not None:
            manager.on_chain_error(exc)

    async def aerror(self, exc: BaseException) -> None:
        """Async ``error``."""
        manager = self.runs.pop(self.root_id, None)
        if manager is not None:
            await manager.on_chain_error(exc)

    # -- the runs inside
    def event(self, ev: dict[str, Any]) -> None:
        """Call the handlers for one event of a run inside the root."""
        ev = self.view("event", ev)
        call = self.call_for(ev)
        self.started(ev, None if call is None else call[0](*call[1], **call[2]))

    async def aevent(self, ev: dict[str, Any]) -> None:
        """Async ``event``: the async managers' calls are awaited."""
        ev = self.view("event", ev)
        call = self.call_for(ev)
        self.started(ev, None if call is None else await call[0](*call[1], **call[2]))

    def started(self, ev: dict[str, Any], result: Any) -> None:
        """Keep the run manager a start call returned (a chat model's comes in a list)."""
        if ev["event"] in _START:
            if result is not None:
                self.runs[ev["run_id"]] = result[0] if isinstance(result, list) else result
            waiter = self.waiters.pop(ev["run_id"], None)
            if waiter is not None:
                waiter.set()

    async def reached(self, run_id: str) -> None:
        """Wait until the handlers saw the start of run ``run_id`` (an async run's node,
        before its body runs: what it calls reports under it)."""
        waiter = asyncio.Event()
        self.waiters[run_id] = waiter
        if run_id in self.runs:  # (after setting the waiter: see ``started``)
            self.waiters.pop(run_id, None)
            return
        await waiter.wait()

    def wait_started(self, run_id: str) -> None:
        """``reached`` for a sync node of an async run, in a worker thread (blocks up to
        ``STARTED_TIMEOUT`` seconds: a consumer that stops pulling must not hang it);
        on the loop's own thread it cannot wait, and does not."""
        if threading.get_ident() == self.thread:
            return
        waiter = threading.Event()
        self.waiters[run_id] = waiter
        if run_id in self.runs:
            self.waiters.pop(run_id, None)
            return
        waiter.wait(STARTED_TIMEOUT)

    def child_manager(self, run_id: str, tags: list[str]) -> Any:
        """A ``CallbackManager`` for LangChain runnables a task calls with its config:
        the handlers, under the task's (or tool call's) run ``run_id``, with ``tags``
        (as LangGraph's node config has)."""
        return manager_under(run_id, self.manager.inheritable_handlers, tags)

    def hosting(self, run_id: str) -> None:
        """LangChain tells the handlers of run ``run_id`` itself (a LangChain tool run with
        the task's config); until ``hosted``, what graphkit reports inside it (a graph the
        tool invokes) goes under it."""
        self.hosts[run_id] = _Host(run_id, self.manager.inheritable_handlers, self.is_async)

    def hosted(self, run_id: str) -> None:
        """The run ``run_id`` of ``hosting`` ended."""
        self.hosts.pop(run_id, None)

    def call_for(self, ev: dict[str, Any]) -> tuple[Any, tuple[Any, ...], dict[str, Any]] | None:
        """The manager method, arguments and keywords an event calls, or None."""
        kind = ev["event"]
        data = ev["data"]
        if kind in _START:
            if ev["run_id"] in self.native:
                self.native.discard(ev["run_id"])
                return None
            return self._start_call(ev, kind, data)
        run = self.runs.get(ev["run_id"])
        if run is None:
            return None
        if kind.endswith("_end"):
            self.runs.pop(ev["run_id"])
            return _end_call(run, kind, data, ev["name"])
        if kind.endswith("_error"):
            self.runs.pop(ev["run_id"])
            return _error_call(run, kind, data)
        if kind == "on_chat_model_stream":
            return _token_call(run, data["chunk"])
        return None  # a chain's stream chunk: not a callback

    def _start_call(
        self, ev: dict[str, Any], kind: str, data: dict[str, Any]
    ) -> tuple[Any, tuple[Any, ...], dict[str, Any]] | None:
        parents = ev["parent_ids"]
        parent = (self.runs.get(parents[-1]) or self.hosts.get(parents[-1])) if parents else None
        if parent is None:
            return None
        child = parent.get_child()
        child.tags = list(ev["tags"])
        child.metadata = dict(ev["metadata"])
        run_id = uuid.UUID(ev["run_id"])
        name = ev["name"]
        given: Any = data.get("input")
        if kind == "on_chain_start":
            if name == "Unnamed":  # a lambda routing function: LangGraph's names for it
                name = None if self.is_async else "RunnableCallable"
            return (
                child.on_chain_start,
                (None, as_langchain(given)),
                {"run_id": run_id, "name": name},
            )
        if kind == "on_chat_model_start":
            from graphkit._langchain import to_langchain_messages

            messages = [to_langchain_messages(m) for m in given["messages"]]
            serialized = {"lc": 1, "type": "not_implemented", "id": ["graphkit", name]}
            keywords = {
                "run_id": run_id,
                "name": None,
                "batch_size": 1,
                "invocation_params": _invocation_params(ev["metadata"]),
            }
            return child.on_chat_model_start, (serialized, messages), keywords
        tool_keywords = {"run_id": run_id, "name": None, "inputs": given, "color": _TOOL_COLOR}
        if data.get("tool_call_id") is not None:
            tool_keywords["tool_call_id"] = data["tool_call_id"]
        serialized = {"name": name, "description": data.get("description") or ""}
        return child.on_tool_start, (serialized, str(given)), tool_keywords


class _Host:
    """A LangChain run graphkit did not start, as a parent of what graphkit reports in
    it: ``get_child`` as a run manager's (the handlers, under the run)."""

    def __init__(self, run_id: str, handlers: list[Any], is_async: bool) -> None:
        self.run_id = run_id
        self.handlers = handlers
        self.is_async = is_async

    def get_child(self) -> Any:
        if not self.is_async:
            return manager_under(self.run_id, self.handlers, [])
        from langchain_core.callbacks.manager import AsyncCallbackManager

        return AsyncCallbackManager(
            handlers=self.handlers,
            inheritable_handlers=self.handlers,
            parent_run_id=uuid.UUID(self.run_id),
        )


def manager_under(run_id: str | None, handlers: list[Any], tags: list[str] | None = None) -> Any:
    """A LangChain ``CallbackManager`` for what a task calls: ``handlers``, under the
    task's run ``run_id`` (a new id when the run reports to nothing: LangChain's
    ``dispatch_custom_event`` needs a parent run, as LangGraph's node config has), or
    under a tool call's run; ``tags``: the step's (``EventsExecutor.step_tags``)."""
    from langchain_core.callbacks.manager import CallbackManager

    return CallbackManager(
        handlers=handlers,
        inheritable_handlers=handlers,
        parent_run_id=_outer_run_id() if run_id is None else uuid.UUID(run_id),
        # (a LangGraph node runs its function as a sequence's step: ``seq:step:1``)
        tags=["seq:step:1"] if tags is None else tags,
        metadata={"ls_integration": "langgraph"},
        inheritable_metadata={"ls_integration": "langgraph"},
    )


def _outer_run_id() -> uuid.UUID:
    """The id of the LangSmith run the caller is inside (a ``@traceable`` function,
    ``tracing_context(parent=...)``), else a new one: what a run reporting to nothing
    puts its tasks' LangChain calls under, so that LangChain nests what it traces under
    that run as it would without graphkit's manager."""
    try:
        from langsmith.run_helpers import get_tracing_context
    except ImportError:  # (langsmith is LangChain's dependency: here, only a stand-in)
        return uuid.uuid4()
    parent = get_tracing_context().get("parent")
    return parent.id if parent is not None else uuid.uuid4()


def _invocation_params(metadata: dict[str, Any]) -> dict[str, Any]:
    """A chat model call's ``invocation_params`` (where tracers read the model's name),
    from the ``ls_*`` metadata it reports."""
    params = {"model": metadata.get("ls_model_name"), "_type": metadata.get("ls_provider")}
    if "ls_temperature" in metadata:
        params["temperature"] = metadata["ls_temperature"]
    return {k: v for k, v in params.items() if v is not None}


def _identity(kind: str, value: Any) -> Any:
    return value


_TOOL_COLOR = "green"
"""The ``color`` a LangChain tool's run reports at its start and end (its default)."""


def _end_call(
    run: Any, kind: str, data: dict[str, Any], name: str
) -> tuple[Any, tuple[Any, ...], dict[str, Any]]:
    """The ``on_*_end`` call of a chain, tool or chat model run (a tool's names it, as
    LangChain's ``BaseTool.run`` does)."""
    output = data.get("output")
    if kind == "on_chat_model_end":
        from langchain_core.outputs import ChatGeneration, LLMResult

        result = LLMResult(generations=[[ChatGeneration(message=as_langchain(output))]])
        return run.on_llm_end, (result,), {}
    if kind == "on_tool_end":
        return run.on_tool_end, (as_langchain(output),), {"name": name, "color": _TOOL_COLOR}
    return run.on_chain_end, (as_langchain(output),), {}


def _error_call(
    run: Any, kind: str, data: dict[str, Any]
) -> tuple[Any, tuple[Any, ...], dict[str, Any]]:
    """The ``on_*_error`` call of a chain, tool or chat model run."""
    if kind == "on_tool_error":
        keywords = {"tool_call_id": data.get("tool_call_id")}
        return run.on_tool_error, (data["error"],), keywords
    if kind == "on_chat_model_error":
        return run.on_llm_error, (data["error"],), {}
    return run.on_chain_error, (data["error"],), {}


def _token_call(run: Any, chunk: Any) -> tuple[Any, tuple[Any, ...], dict[str, Any]]:
    """``on_llm_new_token`` for one streamed chunk of a chat model."""
    from langchain_core.outputs import ChatGenerationChunk

    message = as_langchain(chunk)
    content = getattr(message, "content", "")
    token = content if isinstance(content, str) else ""
    return run.on_llm_new_token, (token,), {"chunk": ChatGenerationChunk(message=message)}


def as_langchain(value: Any) -> Any:
    """``value`` as LangChain code reads it (a handler; an event of a graph whose keys
    speak LangChain): graphkit messages (alone, in a list or as a
    dict's values) as LangChain's."""
    from graphkit._langchain import for_langchain, for_langchain_state
    from graphkit.messages import BaseMessage

    if isinstance(value, dict):
        return for_langchain_state(value)
    if isinstance(value, BaseMessage | list):
        return for_langchain(value)
    return value
