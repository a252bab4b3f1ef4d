"""CompiledStateGraph: the runnable graph ``StateGraph.compile()`` returns."""

from __future__ import annotations

import asyncio
import copy
import functools
import warnings
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import aclosing
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeAlias, TypeVar, cast, overload

from pydantic import BaseModel, ValidationError

from graphkit._deprecated import renamed_kwargs
from graphkit._langchain import langchain_loaded
from graphkit._langchain_runnable import RunnableMethods
from graphkit._langchain_runnable import register as register_runnable
from graphkit.config import merge_config, merge_configs
from graphkit.constants import INTERRUPT
from graphkit.context import CURRENT_TASK, RunScope
from graphkit.engine.async_saves import loop_saver
from graphkit.engine.callbacks import TracedRun, as_langchain, env_tracing, root_run_id
from graphkit.engine.events import Event, print_event, stream_part
from graphkit.engine.executor import Executor
from graphkit.engine.loop import Run
from graphkit.engine.merge import first_value
from graphkit.engine.nested import (
    joins_parent,
    nested_result,
    nested_run,
    split_checkpoint_map,
)
from graphkit.engine.output_keys import OutputKeys, final_output
from graphkit.engine.run_events import (
    EVENTS,
    ROOT_NAME,
    EventedRun,
    EventFilter,
    EventsExecutor,
    evented_tables,
    stream_event,
)
from graphkit.engine.tables import GraphTables
from graphkit.errors import (
    ConfigError,
    GraphCompileError,
    InvalidArgumentError,
    InvalidCallError,
    InvalidCheckpointerError,
    InvalidInputError,
    InvalidUpdateError,
    ParentCommand,
    PolicyError,
    revalidation_error,
)
from graphkit.runtime import coerce_context
from graphkit.schema import ROOT, state_fields, update_from_object
from graphkit.stores.checkpoint.base import BaseCheckpointSaver
from graphkit.stores.checkpoint.foreign import is_foreign_saver, wrap_foreign_saver
from graphkit.types import Command, RunnableConfig, StateSnapshot, StateUpdate, StreamMode
from graphkit.typing import ContextT, InputT, OutputT, StateLike, StateT
from graphkit.warnings import LangGraphDeprecatedSinceV10

if TYPE_CHECKING:
    import networkx as nx

    from graphkit.context import TaskContext
    from graphkit.draw import DrawableGraph
    from graphkit.graph.state import StateGraph
    from graphkit.stores.store.base import BaseStore
    from graphkit.types import GraphOutput

_StateLikeT = TypeVar("_StateLikeT", bound=StateLike)
_In = TypeVar("_In")
Input: TypeAlias = _In | dict[str, Any] | Command[Any] | None
"""What a run takes: the input schema, a partial dict of it, a ``Command`` or None."""

_LIVE_MODES = frozenset({"custom", "messages", "tools", EVENTS})
_ALL_MODES = frozenset(
    {"values", "updates", "custom", "debug", "messages", "checkpoints", "tasks", "tools"}
)

_current_task = CURRENT_TASK.get
"""Bound once (a method of an imported name is looked up anew per call)."""


class CompiledStateGraph(RunnableMethods, Generic[StateT, ContextT, InputT, OutputT]):
    """A validated graph, ready to run. Build it with ``StateGraph.compile()``.

    A LangChain runnable too, as LangGraph's graphs are, once LangChain is imported
    (``graphkit._langchain_runnable``: ``graph | chain``, ``with_retry``, ...).

    Generic as its builder: ``invoke`` returns the output schema's TypedDict (a plain
    dict for a pydantic or dataclass schema, as LangGraph's does).
    """

    def __init__(
        self,
        *,
        builder: StateGraph[StateT, ContextT, InputT, OutputT],
        tables: GraphTables,
        digraph: nx.DiGraph,
        checkpointer: BaseCheckpointSaver | bool | None = None,
        store: BaseStore | None = None,
        debug: bool = False,
        name: str = ROOT_NAME,
        executor: Executor | None = None,
    ) -> None:
        self.builder = builder
        self.tables = tables
        self.nx = digraph
        """The graph as a networkx DiGraph (nodes START/END/each node; edges with kinds)."""
        self.checkpointer = checkpointer
        self.store = store
        self.debug = debug
        self.name = name
        self.executor = executor
        """Where its tasks' functions run (None: in this process; see ``graphkit.executor``)."""
        self.config: RunnableConfig = {}
        """Config merged under each run's (see ``with_config``)."""
        self.env_traced = env_tracing()
        """LangSmith tracing was on in the environment at compile: every run reports to
        LangChain's tracer, as in LangGraph (``graphkit.engine.callbacks``)."""
        register_runnable()  # (a LangChain runnable, once LangChain is imported)
        if checkpointer not in (None, True, False) and not (
            isinstance(checkpointer, BaseCheckpointSaver) or is_foreign_saver(checkpointer)
        ):
            raise InvalidCheckpointerError(
                f"Invalid checkpointer provided: {checkpointer!r}. Pass a checkpoint saver "
                "(e.g. InMemorySaver() or LMDBSaver(path)), or for a subgraph True/False/None."
            )
        self._foreign: tuple[Any, BaseCheckpointSaver] | None = None
        """A saver written for LangGraph, and the ``ForeignSaver`` runs use it through."""
        if is_foreign_saver(checkpointer):
            self._foreign = (checkpointer, wrap_foreign_saver(checkpointer))
        if (tables.interrupt_before or tables.interrupt_after) and checkpointer is False:
            raise GraphCompileError(
                "interrupt_before/interrupt_after pause a thread to resume it later, which "
                "needs checkpoints, but this graph was compiled with checkpointer=False."
            )
        if checkpointer is not False:  # a subgraph saves into its parent's saver
            _register_state_types(builder)

    stream_mode: StreamMode = "updates"
    """What ``stream``/``astream`` yield when no ``stream_mode`` is given (settable, as in
    LangGraph: ``graph.stream_mode = "values"``)."""

    _step_timeout: float | None = None

    @property
    def step_timeout(self) -> float | None:
        """Seconds a step may take before the run stops with ``StepTimeoutError`` (a
        ``TimeoutError``); None (the default) waits without a limit. Settable, as in
        LangGraph: ``graph.step_timeout = 30``. A subgraph's own limit applies to its steps."""
        return self._step_timeout

    @step_timeout.setter
    def step_timeout(self, seconds: float | None) -> None:
        if seconds is not None and (
            isinstance(seconds, bool)
            or not isinstance(seconds, (int, float))
            or not 0 < seconds < float("inf")
        ):
            raise ConfigError(
                f"step_timeout must be a positive number of seconds or None, got {seconds!r}."
            )
        self._step_timeout = None if seconds is None else float(seconds)

    @property
    def saver(self) -> Any:
        """The checkpoint saver given to ``compile(checkpointer=...)``; None for
        ``True``/``False``/``None`` (a subgraph then uses its parent's, or none)."""
        checkpointer = self.checkpointer
        if checkpointer is None or isinstance(checkpointer, bool):
            return None
        foreign = self._foreign
        if (
            foreign is not None and foreign[0] is checkpointer
        ):  # (see ``stores.checkpoint.foreign``)
            return foreign[1]
        if is_foreign_saver(checkpointer):  # set after compile (``copy(update=...)``)
            self._foreign = foreign = (checkpointer, wrap_foreign_saver(checkpointer))
            return foreign[1]
        return checkpointer

    # ------------------------------------------------------------------ running
    @overload
    def invoke(
        self: CompiledStateGraph[Any, Any, Any, _StateLikeT],
        input: Input[InputT],
        config: RunnableConfig | None = None,
        *,
        stream_mode: Literal["values"] = "values",
        version: Literal["v1"] = "v1",
        **options: Any,
    ) -> dict[str, Any]: ...
    @overload
    def invoke(
        self,
        input: Input[InputT],
        config: RunnableConfig | None = None,
        *,
        stream_mode: Literal["values"] = "values",
        version: Literal["v1"] = "v1",
        **options: Any,
    ) -> OutputT: ...
    @overload
    def invoke(
        self,
        input: Input[InputT],
        config: RunnableConfig | None = None,
        *,
        stream_mode: Literal["values"] = "values",
        version: Literal["v2"],
        **options: Any,
    ) -> GraphOutput: ...
    @overload
    def invoke(
        self,
        input: Input[InputT],
        config: RunnableConfig | None = None,
        *,
        stream_mode: StreamMode | Sequence[StreamMode],
        version: Literal["v1", "v2"] = "v1",
        **options: Any,
    ) -> Any: ...
    def invoke(
        self,
        input: Input[InputT],
        config: RunnableConfig | None = None,
        *,
        stream_mode: StreamMode | Sequence[StreamMode] = "values",
        version: Literal["v1", "v2"] = "v1",
        **options: Any,
    ) -> Any:
        """Run the graph to the end (or an interrupt) and return its output state.

        Takes the keyword options of ``stream`` (``context``, ``durability``,
        ``control``, ``print_mode``, ``debug``, ...). With another ``stream_mode``
        than "values" it returns that stream's chunks as a list, as LangGraph's
        ``invoke`` does; ``version="v2"`` returns a ``GraphOutput``.

        LangChain callback handlers in ``config["callbacks"]`` (a list or a
        ``CallbackManager``: LangSmith's or Langfuse's tracers, your own) are called as
        LangGraph calls them, here and in ``stream``/``ainvoke``/``astream``
        (``graphkit.engine.callbacks``).
        """
        if stream_mode != "values":
            return list(
                self.stream(input, config, stream_mode=stream_mode, version=version, **options)
            )
        if self.tables.has_async:
            self._check_sync()
        if options and options.get("output_keys") is not None:  # the last ``values`` chunk
            run, call, resuming = self._prepare(config, "values", version, options)
            latest = None
            for event in run.iterate(input, resuming=resuming):
                latest = _latest_values(call, event, latest)
            return _final_picked(run, latest, version)
        run, call, resuming = self._prepare(config, (), version, options)
        for event in run.iterate(input, resuming=resuming):
            call.output(event)
        return _final(run, version)

    @overload
    async def ainvoke(
        self: CompiledStateGraph[Any, Any, Any, _StateLikeT],
        input: Input[InputT],
        config: RunnableConfig | None = None,
        *,
        stream_mode: Literal["values"] = "values",
        version: Literal["v1"] = "v1",
        **options: Any,
    ) -> dict[str, Any]: ...
    @overload
    async def ainvoke(
        self,
        input: Input[InputT],
        config: RunnableConfig | None = None,
        *,
        stream_mode: Literal["values"] = "values",
        version: Literal["v1"] = "v1",
        **options: Any,
    ) -> OutputT: ...
    @overload
    async def ainvoke(
        self,
        input: Input[InputT],
        config: RunnableConfig | None = None,
        *,
        stream_mode: Literal["values"] = "values",
        version: Literal["v2"],
        **options: Any,
    ) -> GraphOutput: ...
    @overload
    async def ainvoke(
        self,
        input: Input[InputT],
        config: RunnableConfig | None = None,
        *,
        stream_mode: StreamMode | Sequence[StreamMode],
        version: Literal["v1", "v2"] = "v1",
        **options: Any,
    ) -> Any: ...
    async def ainvoke(
        self,
        input: Input[InputT],
        config: RunnableConfig | None = None,
        *,
        stream_mode: StreamMode | Sequence[StreamMode] = "values",
        version: Literal["v1", "v2"] = "v1",
        **options: Any,
    ) -> Any:
        """Async ``invoke``: async nodes are awaited, parallel ones run concurrently."""
        if stream_mode != "values":
            return [
                c
                async for c in self.astream(
                    input, config, stream_mode=stream_mode, version=version, **options
                )
            ]
        if options and options.get("output_keys") is not None:
            run, call, resuming = self._prepare(config, "values", version, options)
            latest = None
            async for event in run.aiterate(input, resuming=resuming):
                latest = _latest_values(call, event, latest)
            return _final_picked(run, latest, version)
        run, call, resuming = self._prepare(config, (), version, options)
        async for event in run.aiterate(input, resuming=resuming):
            call.output(event)
        return _final(run, version)

    def stream(
        self,
        input: Any,
        config: RunnableConfig | None = None,
        *,
        stream_mode: StreamMode | Sequence[StreamMode] | None = None,
        version: Literal["v1", "v2"] = "v1",
        **options: Any,
    ) -> Iterator[Any]:
        """Run the graph, yielding chunks per ``stream_mode`` (default ``"updates"``).

        One mode yields its chunks; a list of modes yields ``(mode, chunk)`` tuples.
        With ``subgraphs=True`` subgraphs stream too, and each item is prefixed with
        its namespace: ``(namespace, chunk)`` or ``(namespace, mode, chunk)``.
        ``version="v2"`` yields ``{"type": mode, "ns": namespace, "data": chunk}``.

        Keyword options (as LangGraph's): ``context`` (the run's static context,
        coerced to ``context_schema``), ``durability``, ``control`` (a
        ``RunControl``), ``subgraphs``, ``print_mode`` (modes printed to stdout),
        ``debug`` (prints updates and values), ``interrupt_before``/``interrupt_after``
        (override compile's), ``output_keys``.
        """
        self._check_sync()
        if stream_mode is None:
            stream_mode = self.stream_mode
        run, call, resuming = self._prepare(config, stream_mode, version, options)
        events = run.iterate(input, resuming=resuming)
        if run.tapped_here:
            from graphkit.engine.langchain_tokens import tapped_events

            events = tapped_events(events)
        for event in events:
            item = call.output(event)
            if item is not _SKIP:
                yield item
        if run.ctx.parent_task is not None:
            nested_result(run)

    async def astream(
        self,
        input: Any,
        config: RunnableConfig | None = None,
        *,
        stream_mode: StreamMode | Sequence[StreamMode] | None = None,
        version: Literal["v1", "v2"] = "v1",
        **options: Any,
    ) -> AsyncIterator[Any]:
        """Async ``stream``."""
        if stream_mode is None:
            stream_mode = self.stream_mode
        run, call, resuming = self._prepare(config, stream_mode, version, options)
        events = run.aiterate(input, resuming=resuming)
        if run.tapped_here:
            from graphkit.engine.langchain_tokens import atapped_events

            events = atapped_events(events)
        # (closed with this stream: a consumer that stops early stops the run now, which
        # keeps what the step's finished tasks wrote, not whenever the loop finalizes it)
        async with aclosing(events):
            async for event in events:
                item = call.output(event)
                if item is not _SKIP:
                    yield item
        if run.ctx.parent_task is not None:
            nested_result(run)

    def _prepare(
        self,
        config: RunnableConfig | None,
        stream_mode: Any,
        version: str,
        options: dict[str, Any],
        shape: _Call | None = None,
    ) -> tuple[Run, _Call, bool]:
        """The run of one invoke/stream call, how its events reach the caller (``shape``:
        given rather than made from the options), and whether it resumes a saved run (a
        graph called inside a node: see ``nested_run``)."""
        if shape is not None:
            call = shape
            if options:
                options = {k: v for k, v in options.items() if k not in _SHAPE_OPTIONS}
        elif options:
            options = dict(options)
            if "checkpoint_during" in options:
                _checkpoint_during(options)
            call = _Call.of(
                stream_mode,
                options.pop("print_mode", ()),
                subgraphs=bool(options.pop("subgraphs", False)),
                debug=bool(options.pop("debug", None) or self.debug),
                version=version,
            )
        else:  # the common call: no keyword options
            call = _Call.of(
                stream_mode, (), subgraphs=False, debug=bool(self.debug), version=version
            )
        # (no config and no options, the common call: merge_config's fresh empty dict)
        if config is None and not options and not self.config:
            merged: RunnableConfig = {}
        else:
            merged = merge_config(
                merge_configs(self.config, config) if self.config else config, options
            )
        context = control = picked = None
        overrides: dict[str, Any] | None = None
        if options:
            context = coerce_context(self.builder.context_schema, options.pop("context", None))
            control = options.pop("control", None)
            if (keys := options.pop("output_keys", None)) is not None:
                picked = OutputKeys(keys, self.tables)
            overrides = {}
            for key in ("interrupt_before", "interrupt_after"):
                if (value := options.pop(key, None)) is not None:  # (None: compile's)
                    overrides[key] = value
            if options:
                raise InvalidCallError(
                    f"Unexpected keyword arguments: {sorted(options)}. invoke/stream take "
                    "context, stream_mode, print_mode, output_keys, interrupt_before, "
                    "interrupt_after, durability, control, subgraphs, debug and version."
                )
        parent = _current_task()
        resuming = False
        if parent is not None and joins_parent(config, parent):
            streaming = stream_mode != ()
            run, resuming = nested_run(
                self, parent, merged, forward=not streaming, modes=call.modes
            )
            if isinstance(run, EventedRun) and asyncio._get_running_loop() is None:
                run.streams_chunks = False  # (a sync ``invoke`` in a node: LangGraph runs
                # it unstreamed, so its nodes stream no chunk events; ``ainvoke`` streams)
            if langchain_loaded():
                _langchain_configs(run)
            if streaming and "messages" in call.modes and langchain_loaded():
                _tap_langchain_tokens(run)
        else:
            saver = self.saver
            targets = None
            if merged:  # (an empty config names no checkpoint map)
                merged, targets = split_checkpoint_map(merged)
            scope = RunScope.for_run(
                merged, context, control, saver is not None, call.subgraphs, targets
            )
            # subgraphs=True: a subgraph's events reach the caller while its node runs
            modes = call.modes
            live = bool(modes) and (bool(modes & self.live_modes) or call.subgraphs)
            if self.env_traced or (merged and merged.get("callbacks")):  # handlers to call
                run = _traced_run(self, merged, saver, call, live, scope)
            else:
                run = Run(self, merged, saver, modes, live, (), None, None, scope)  # positional
            if langchain_loaded():
                _langchain_configs(run)
            if live and "messages" in modes and langchain_loaded():
                _tap_langchain_tokens(run)
        if overrides:
            run.tables = self._overridden_tables(overrides)
        if picked is not None:
            run.picked = picked
        return run, call, resuming

    def _overridden_tables(self, overrides: dict[str, Any]) -> GraphTables:
        """The tables with a call's ``interrupt_before``/``interrupt_after`` in place."""
        from dataclasses import replace

        changes: dict[str, Any] = {}
        for key in ("interrupt_before", "interrupt_after"):
            if key in overrides:
                value = overrides[key]
                names = [value] if isinstance(value, str) else list(value)
                unknown = [n for n in names if n != "*" and n not in self.tables.nodes]
                if unknown:
                    raise GraphCompileError(
                        f"{key} names unknown node {unknown[0]!r}. Known nodes: "
                        f"{sorted(self.tables.nodes)}."
                    )
                if self.checkpointer is False:
                    raise GraphCompileError(
                        f"{key} pauses a thread to resume it later, which needs a "
                        "checkpointer: compile(checkpointer=InMemorySaver())."
                    )
                changes[key] = frozenset(names)
        return replace(self.tables, **changes)

    async def astream_events(
        self,
        input: Any,
        config: RunnableConfig | None = None,
        *,
        version: Literal["v1", "v2"] = "v2",
        **options: Any,
    ) -> AsyncIterator[dict[str, Any]]:
        """LangChain's event stream of a run, as LangGraph's (``version="v2"``).

        The graph is the root run (named ``self.name``: start with the input, one
        ``on_chain_stream`` per ``updates`` chunk, end with the output); each node
        attempt is a chain run under it (tagged ``graph:step:N``, with the
        ``langgraph_*`` metadata), and chat models (``on_chat_model_start/stream/end``),
        tools (``on_tool_start/end/error``) and graphs run inside a node report under
        that node. ``include_names``/``include_types``/``include_tags`` and their
        ``exclude_*`` twins filter the events; other options are ``astream``'s.
        ``version="v1"`` gives LangChain's older shape (no ``parent_ids``).
        """
        async with aclosing(graph_events(self, input, config, version, options)) as events:
            async for ev in events:
                yield ev

    def batch(
        self,
        inputs: Sequence[Any],
        config: RunnableConfig | Sequence[dict[str, Any]] | None = None,
        *,
        return_exceptions: bool = False,
        **kwargs: Any,
    ) -> list[Any]:
        """``invoke`` each input (in threads), outputs in input order."""
        configs = _configs(config, len(inputs))
        if len(inputs) <= 1:
            return [
                self._safe(self.invoke, i, c, return_exceptions, kwargs)
                for i, c in zip(inputs, configs, strict=False)
            ]
        with ThreadPoolExecutor(thread_name_prefix="graphkit-batch") as pool:
            futures = [
                pool.submit(self._safe, self.invoke, i, c, return_exceptions, kwargs)
                for i, c in zip(inputs, configs, strict=False)
            ]
            return [f.result() for f in futures]

    async def abatch(
        self,
        inputs: Sequence[Any],
        config: RunnableConfig | Sequence[dict[str, Any]] | None = None,
        *,
        return_exceptions: bool = False,
        **kwargs: Any,
    ) -> list[Any]:
        """``ainvoke`` each input concurrently, outputs in input order."""
        configs = _configs(config, len(inputs))
        return list(
            await asyncio.gather(
                *(self.ainvoke(i, c, **kwargs) for i, c in zip(inputs, configs, strict=False)),
                return_exceptions=return_exceptions,
            )
        )

    def batch_as_completed(
        self,
        inputs: Sequence[Any],
        config: RunnableConfig | Sequence[dict[str, Any]] | None = None,
        *,
        return_exceptions: bool = False,
        **kwargs: Any,
    ) -> Iterator[tuple[int, Any]]:
        """``invoke`` each input (in threads); yields ``(index, output)`` as each run
        finishes (LangChain's ``batch_as_completed``)."""
        configs = _configs(config, len(inputs))
        if not inputs:
            return
        with ThreadPoolExecutor(thread_name_prefix="graphkit-batch") as pool:
            futures = {
                pool.submit(self._safe, self.invoke, i, c, return_exceptions, kwargs): index
                for index, (i, c) in enumerate(zip(inputs, configs, strict=False))
            }
            for done in as_completed(futures):
                yield futures[done], done.result()

    async def abatch_as_completed(
        self,
        inputs: Sequence[Any],
        config: RunnableConfig | Sequence[dict[str, Any]] | None = None,
        *,
        return_exceptions: bool = False,
        **kwargs: Any,
    ) -> AsyncIterator[tuple[int, Any]]:
        """``ainvoke`` each input concurrently; yields ``(index, output)`` as each run
        finishes."""
        configs = _configs(config, len(inputs))

        async def run(index: int, item: Any, item_config: Any) -> tuple[int, Any]:
            try:
                return index, await self.ainvoke(item, item_config, **kwargs)
            except Exception as exc:
                if return_exceptions:
                    return index, exc
                raise

        runs = [
            asyncio.ensure_future(run(n, i, c))
            for n, (i, c) in enumerate(zip(inputs, configs, strict=False))
        ]
        try:
            for finished in asyncio.as_completed(runs):
                yield await finished
        finally:  # the consumer stopped, or a run failed: the others stop too
            for pending in runs:
                pending.cancel()

    @staticmethod
    def _safe(
        fn: Any, input: Any, config: Any, return_exceptions: bool, kwargs: dict[str, Any]
    ) -> Any:
        try:
            return fn(input, config, **kwargs)
        except Exception as exc:
            if return_exceptions:
                return exc
            raise

    def _check_sync(self) -> None:
        if self.tables.has_async:
            async_nodes = [n.name for n in self.tables.nodes.values() if n.call.is_async]
            raise InvalidCallError(
                f"Nodes {async_nodes or '(a branch)'} are async, so this graph can only run with "
                "ainvoke/astream/abatch. Use `await graph.ainvoke(...)`, or make them plain "
                "functions."
            )

    # ------------------------------------------------------------------ input
    def input_writes(self, input: Any) -> list[tuple[str, Any]]:
        """Validate a run's input against the input schema; return it as writes."""
        if self.tables.root:
            return [(ROOT, input)]
        schema = self.tables.input
        if isinstance(input, dict):
            items = input
        elif state_fields(input) is not None:
            # a state object's fields other than the input schema's are not typos: dropped
            items = update_from_object(input, "input")
            items = {k: v for k, v in items.items() if k in self.tables.input_keys}
        else:
            raise InvalidUpdateError(
                f"The graph's input must be a dict of state keys (or a {schema.name} "
                f"instance), got {type(input).__name__}: {input!r:.80}."
            )
        accepted = self.tables.input_keys
        if not items.keys() <= accepted:
            items = self._known_input(items)
        if schema.kind == "pydantic" and isinstance(input, dict):
            # A reducer key's input is an update (e.g. ("user", "hi") for add_messages):
            # what is validated is what the reducer makes of it.
            reducers, initial = self.tables.reducers, self.tables.initial
            # A reducer key left out starts from its initial value (e.g. [] for a list).
            probe = {k: make() for k, make in initial.items() if k in schema.channels}
            channels = self.tables.channels  # (a key absent until written starts here too)
            probe.update(
                (k, first_value(k, v, reducers[k], channels[k].initial) if k in reducers else v)
                for k, v in items.items()
            )
            try:
                schema.cls.model_validate(schema.model_values(probe))
            except ValidationError as exc:
                raise revalidation_error(InvalidInputError, schema.name, exc) from None
        # written as given (not coerced; defaults not written), as in LangGraph: each
        # reader validates the values when it builds its model
        return list(items.items())

    def _known_input(self, items: dict[str, Any]) -> dict[str, Any]:
        """The input's keys of the input schema. A key of the graph's state that the input
        schema lacks is dropped, as in LangGraph; a key no schema of the graph declares is
        most likely a typo, and raises (LangGraph drops it silently)."""
        tables = self.tables
        unknown = [k for k in items if k not in tables.channels and k not in tables.managed]
        if unknown:
            raise InvalidUpdateError(
                f"Input key {unknown[0]!r} is not a key of this graph's state (input schema "
                f"{tables.input.name} accepts {sorted(tables.input_keys)}). Fix the "
                f"key, or declare it in the state schema; to ignore it as LangGraph does, "
                "leave it out of the input."
            )
        return {k: v for k, v in items.items() if k in tables.input_keys}

    # ------------------------------------------------------------------ state
    def get_state(self, config: RunnableConfig, *, subgraphs: bool = False) -> StateSnapshot:
        """The thread's state at its latest checkpoint (or at ``checkpoint_id``).

        With ``checkpoint_ns`` in the config, a subgraph's state (its namespace as
        stream(subgraphs=True) and ``tasks[i].state`` show it); ``subgraphs=True``
        puts each running subgraph's own snapshot in its task's ``state``.
        """
        from graphkit.engine.state import get_state

        return get_state(self, config, subgraphs=subgraphs)

    async def aget_state(self, config: RunnableConfig, *, subgraphs: bool = False) -> StateSnapshot:
        """Async ``get_state`` (through the saver's async methods, if it has its own)."""
        from graphkit.engine.state import get_state

        saver = loop_saver(self.saver)
        return await asyncio.to_thread(get_state, self, config, subgraphs=subgraphs, saver=saver)

    def get_state_history(
        self,
        config: RunnableConfig,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> Iterator[StateSnapshot]:
        """The thread's checkpoints as snapshots, newest first."""
        from graphkit.engine.state import get_state_history

        return get_state_history(self, config, filter=filter, before=before, limit=limit)

    async def aget_state_history(
        self,
        config: RunnableConfig,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[StateSnapshot]:
        """Async ``get_state_history`` (through the saver's async methods, if it has its own)."""
        from graphkit.engine.state import get_state_history

        saver = loop_saver(self.saver)
        items = await asyncio.to_thread(
            lambda: list(
                get_state_history(
                    self, config, filter=filter, before=before, limit=limit, saver=saver
                )
            )
        )
        for item in items:
            yield item

    def update_state(
        self, config: RunnableConfig, values: Any, as_node: str | None = None
    ) -> RunnableConfig:
        """Write ``values`` as if ``as_node`` had returned them; the next run goes on from there.

        ``as_node="__copy__"`` saves a copy of the checkpoint beside it (same parent: a
        new branch); with ``values`` a list of ``StateUpdate``, they are then applied to
        the copy as one superstep.
        """
        from graphkit.engine.state import update_state

        return update_state(self, config, [[(values, as_node)]])

    def bulk_update_state(
        self, config: RunnableConfig, supersteps: Sequence[Sequence[StateUpdate]]
    ) -> RunnableConfig:
        """Apply several supersteps of updates, one checkpoint each; the last one's config.

        Each superstep is a list of ``StateUpdate(values, as_node)``, applied together.
        """
        from graphkit.engine.state import update_state

        return update_state(self, config, _update_steps(supersteps))

    async def abulk_update_state(
        self, config: RunnableConfig, supersteps: Sequence[Sequence[StateUpdate]]
    ) -> RunnableConfig:
        """Async ``bulk_update_state`` (through the saver's async methods, if it has its own)."""
        from graphkit.engine.state import update_state

        steps = _update_steps(supersteps)
        saver = loop_saver(self.saver)
        return await asyncio.to_thread(update_state, self, config, steps, saver)

    async def aupdate_state(
        self, config: RunnableConfig, values: Any, as_node: str | None = None
    ) -> RunnableConfig:
        """Async ``update_state`` (through the saver's async methods, if it has its own)."""
        from graphkit.engine.state import update_state

        saver = loop_saver(self.saver)
        return await asyncio.to_thread(update_state, self, config, [[(values, as_node)]], saver)

    def get_subgraphs(
        self, *, namespace: str | None = None, recurse: bool = False
    ) -> Iterator[tuple[str, CompiledStateGraph[Any, Any, Any, Any]]]:
        """``(name, subgraph)`` of each subgraph node; ``namespace`` (``"a|b"``) picks one,
        ``recurse`` includes subgraphs of subgraphs (named ``"a|b"``)."""
        from graphkit.engine.state import subgraphs

        return subgraphs(self, namespace, recurse=recurse)

    async def aget_subgraphs(
        self, *, namespace: str | None = None, recurse: bool = False
    ) -> AsyncIterator[tuple[str, CompiledStateGraph[Any, Any, Any, Any]]]:
        """Async ``get_subgraphs``."""
        for item in self.get_subgraphs(namespace=namespace, recurse=recurse):
            yield item

    def with_config(
        self, config: RunnableConfig | None = None, **kwargs: Any
    ) -> CompiledStateGraph[Any, Any, Any, Any]:
        """A copy of this graph whose runs use ``config`` (merged under each call's)."""
        bound = copy.copy(self)
        bound.config = merge_configs(self.config, config, kwargs)
        return bound

    def get_name(self, suffix: str | None = None, *, name: str | None = None) -> str:
        """The graph's name (``compile(name=...)``, else ``"LangGraph"``), as a LangChain
        runnable's ``get_name``: ``suffix`` is appended (``"LangGraphInput"``, ``"agent_input"``)."""
        return runnable_name(name or self.name, suffix)

    def copy(self, update: dict[str, Any] | None = None) -> CompiledStateGraph[Any, Any, Any, Any]:
        """A shallow copy, with attributes from ``update`` set on it."""
        duplicate = copy.copy(self)
        for key, value in (update or {}).items():
            setattr(duplicate, key, value)
        return duplicate

    # ------------------------------------------------------------------ graph
    def get_input_schema(self, config: RunnableConfig | None = None) -> type[BaseModel]:
        """The graph's input as a pydantic model (``LangGraphInput``; a pydantic input
        schema is returned as it is), for tools that validate or describe inputs."""
        from graphkit.schema import schema_model

        return schema_model(self.builder.input, "LangGraphInput")

    def get_output_schema(self, config: RunnableConfig | None = None) -> type[BaseModel]:
        """The graph's output as a pydantic model (``LangGraphOutput``; each key optional,
        as LangGraph's: a run may never write one)."""
        from graphkit.schema import schema_model

        return schema_model(self.builder.output, "LangGraphOutput", optional=True)

    @property
    def input_schema(self) -> type[BaseModel]:
        """``get_input_schema()``."""
        return self.get_input_schema()

    @property
    def output_schema(self) -> type[BaseModel]:
        """``get_output_schema()``."""
        return self.get_output_schema()

    def get_input_jsonschema(self, config: RunnableConfig | None = None) -> dict[str, Any]:
        """The JSON schema of the graph's input (its input schema)."""
        from graphkit.schema import json_schema

        return json_schema(self.builder.input, "LangGraphInput")

    def get_context_jsonschema(self, config: RunnableConfig | None = None) -> dict[str, Any] | None:
        """The JSON schema of the run context (``StateGraph(..., context_schema=...)``);
        None without one (as LangGraph's: LangGraph Server reads it so)."""
        from graphkit.schema import type_json_schema

        context = self.builder.context_schema
        if context is None:
            return None
        return type_json_schema(context, getattr(context, "__name__", "Context"))

    def get_output_jsonschema(self, config: RunnableConfig | None = None) -> dict[str, Any]:
        """The JSON schema of the graph's output (its output schema)."""
        from graphkit.schema import json_schema

        return json_schema(self.builder.output, "LangGraphOutput")

    def config_schema(self, *, include: Sequence[str] | None = None) -> type[BaseModel]:
        """The run config as a pydantic model (``LangGraphConfig``): ``configurable`` is the
        context schema, plus the config keys ``include`` names. Deprecated in LangGraph
        1.0 (warns, as there): use ``get_context_jsonschema``."""
        warnings.warn(
            LangGraphDeprecatedSinceV10(
                "`config_schema` is deprecated. Use `get_context_jsonschema` for the "
                "relevant schema instead."
            ),
            stacklevel=2,
        )
        return _config_model(self, include)

    def get_config_jsonschema(self, *, include: Sequence[str] | None = None) -> dict[str, Any]:
        """``config_schema``'s JSON schema. Deprecated in LangGraph 1.0 (warns, as there):
        use ``get_context_jsonschema``."""
        warnings.warn(
            LangGraphDeprecatedSinceV10(
                "`get_config_jsonschema` is deprecated. Use `get_context_jsonschema` instead."
            ),
            stacklevel=2,
        )
        return _config_model(self, include).model_json_schema()

    def get_graph(
        self, config: RunnableConfig | None = None, *, xray: bool | int = False
    ) -> DrawableGraph:
        """The graph's structure, drawable (``.to_dot()``, ...) and as ``.nx``."""
        from graphkit.draw import DrawableGraph

        return DrawableGraph.from_compiled(self, xray=xray)

    async def aget_graph(
        self, config: RunnableConfig | None = None, *, xray: bool | int = False
    ) -> DrawableGraph:
        """Async ``get_graph`` (it reads nothing that waits)."""
        return self.get_graph(config, xray=xray)

    @property
    def context_schema(self) -> Any:
        """The schema of a run's ``context`` (``StateGraph(..., context_schema=...)``)."""
        return self.builder.context_schema

    @property
    def nodes(self) -> dict[str, Any]:
        """Node name -> its table entry."""
        return dict(self.tables.nodes)

    # ------------------------------------------------------------------ cache
    def clear_cache(self, nodes: Sequence[str] | None = None) -> None:
        """Forget the cached results of ``nodes`` (default: every cached node)."""
        cache, namespaces = self._cache_namespaces(nodes)
        if namespaces:
            cache.clear(namespaces)

    async def aclear_cache(self, nodes: Sequence[str] | None = None) -> None:
        """Async ``clear_cache``."""
        cache, namespaces = self._cache_namespaces(nodes)
        if namespaces:
            await cache.aclear(namespaces)

    def _cache_namespaces(self, nodes: Sequence[str] | None) -> tuple[Any, list[tuple[str, ...]]]:
        cache = self.tables.cache
        if cache is None:
            raise PolicyError(
                "clear_cache(): this graph has no cache. Pass one to compile(cache=InMemoryCache())."
            )
        tables = self.tables.nodes
        for name in nodes or ():
            if name not in tables:
                raise PolicyError(f"clear_cache(): unknown node {name!r}. Known: {sorted(tables)}.")
        chosen = [tables[n] for n in nodes] if nodes is not None else list(tables.values())
        return cache, [t.cache_ns for t in chosen if t.cache_policy is not None]

    # ------------------------------------------------------------------ subgraphs
    def _run_as_node(self, state: Any, ctx: TaskContext) -> Any:
        """Run this graph as a node of a parent graph (see ``engine/nested.py``).

        Its output is the node's update. A ``Command(graph=Command.PARENT)`` raised
        inside becomes the node's own Command in the parent; an ``interrupt()`` inside
        pauses the parent's task, and the resume goes on inside the subgraph.
        """
        self._check_sync()
        run, resuming = nested_run(self, ctx)
        try:
            for _ in run.iterate(self._node_input(state), resuming=resuming):
                pass
        except ParentCommand as pc:
            return _for_parent(pc.command)
        return nested_result(run, ctx)

    def _node_input(self, state: Any) -> Any:
        """The parent's state as this subgraph's input: the keys its input schema has (of
        a state object, the fields an input of it writes: ``update_from_object``)."""
        values = state if state_fields(state) is None else update_from_object(state, "input")
        if isinstance(values, dict):
            keys = self.tables.input_keys
            return {k: v for k, v in values.items() if k in keys}
        return values

    async def _arun_as_node(self, state: Any, ctx: TaskContext) -> Any:
        run, resuming = nested_run(self, ctx)
        try:
            async for _ in run.aiterate(self._node_input(state), resuming=resuming):
                pass
        except ParentCommand as pc:
            return _for_parent(pc.command)
        return nested_result(run, ctx)

    live_modes: frozenset[str] = _LIVE_MODES
    """Stream modes whose events reach the consumer while nodes still run (a workflow
    adds ``updates``: its ``@task`` results stream as they finish)."""
    root_run_name: str | None = None
    """The name of its runs' root run for callbacks, when not ``name`` (a workflow's:
    ``"LangGraph"``, as LangGraph names it)."""
    trace_view: Callable[[str, Any], Any] | None = None
    """How callbacks see its runs: ``trace_view(kind, value)`` for the root's
    ``"input"`` and ``"output"`` and each ``"event"`` (a workflow's: its input and
    return value as passed); None: as they are."""

    def __repr__(self) -> str:
        return f"<CompiledStateGraph {self.name!r}: {len(self.tables.nodes)} nodes>"


_SKIP: Any = object()


@dataclass(slots=True, frozen=True)
class _Call:
    """How one invoke/stream call shapes its events (decided once, before it runs)."""

    modes: frozenset[str]
    """Modes the run produces: streamed ones plus printed ones."""
    stream_modes: frozenset[str]
    """Modes the caller receives."""
    print_modes: frozenset[str]
    """Modes printed to stdout (``print_mode``, or updates and values with ``debug``)."""
    single: bool
    """One mode given as a string: chunks come without their mode."""
    subgraphs: bool
    """Subgraphs' events come too, prefixed with their namespace."""
    version: str
    """"v1" (tuples) or "v2" (dicts with type, ns and data)."""

    @classmethod
    def of(
        cls, stream_mode: Any, print_mode: Any, *, subgraphs: bool, debug: bool, version: str
    ) -> _Call:
        """The call's shape; the same arguments (when hashable) give the same, shared one."""
        try:
            return _call_of(stream_mode, print_mode, subgraphs, debug, version)
        except TypeError:  # a list of modes: not hashable
            return cls.make(stream_mode, print_mode, subgraphs, debug, version)

    @classmethod
    def make(
        cls, stream_mode: Any, print_mode: Any, subgraphs: bool, debug: bool, version: str
    ) -> _Call:
        """``of`` without the cache."""
        if version not in ("v1", "v2"):
            raise InvalidArgumentError(f"version must be 'v1' or 'v2', got {version!r}.")
        if stream_mode == ():
            streamed, single = frozenset[str](), True
        else:
            streamed, single = _modes(stream_mode)
        printed = _modes(print_mode)[0] if print_mode else frozenset()
        if debug:
            printed = printed | {"updates", "values"}
        return cls(streamed | printed, streamed, printed, single, subgraphs, version)

    def output(self, event: Event) -> Any:
        """Print the event if asked; return what the caller receives (or ``_SKIP``)."""
        namespace, mode, _ = event
        if namespace and not self.subgraphs and mode not in _NESTED_MODES:
            return _SKIP
        if mode in self.print_modes:
            print_event(event, self.subgraphs)
        if mode not in self.stream_modes:
            return _SKIP
        return stream_part(event, self.version, self.single, self.subgraphs)


def _checkpoint_during(options: dict[str, Any]) -> None:
    """LangGraph's deprecated ``checkpoint_during=`` as ``durability`` (warns): True
    saves each step ("async"), False only at the end ("exit")."""
    during = renamed_kwargs(
        "invoke/stream", {"checkpoint_during": options.pop("checkpoint_during")},
        "checkpoint_during",
    )["durability"]  # fmt: skip
    if during is None:
        return
    if options.get("durability") is not None:
        raise InvalidCallError(
            "Cannot use both checkpoint_during= and durability=: use durability= "
            "('sync', 'async' or 'exit')."
        )
    options["durability"] = "async" if during else "exit"


_NESTED_MODES = frozenset({"messages", "tools", EVENTS})
"""Subgraph events of these modes reach a caller without ``subgraphs=True`` (they
are only produced then, or when the parent takes them; see ``RunContext.streams``)."""

_EVENT_MODES = frozenset({"updates", "values", EVENTS})
_EVENTS_CALL = _Call(_EVENT_MODES, _EVENT_MODES, frozenset(), False, False, "v1")
"""How ``astream_events`` takes its run's stream: ``(mode, chunk)`` of these modes."""
_CALLBACK_ONLY = frozenset({"on_chain_error", "on_chat_model_error"})
"""Events of the run that go to callbacks only: LangChain's stream has no such events."""
_SHAPE_OPTIONS = frozenset({"print_mode", "subgraphs", "debug", "stream_mode"})
"""Options that shape a stream, ignored by ``astream_events`` (which has its own)."""


async def graph_events(
    graph: CompiledStateGraph[Any, Any, Any, Any],
    input: Any,
    config: RunnableConfig | None,
    version: str,
    options: dict[str, Any],
    view: Callable[[str, Any], Any] | None = None,
    name: str | None = None,
) -> AsyncGenerator[dict[str, Any], None]:
    """``astream_events`` of a run of ``graph`` (see ``graphkit.engine.run_events``).

    ``view(kind, payload)`` shows the root's ``"updates"`` chunks and ``"output"``
    as the caller's API does (a workflow's); None shows them as they are. ``name``:
    the root run's (default: the graph's); a config's ``run_name`` names it, as in
    LangChain.
    """
    if version not in ("v1", "v2"):
        raise InvalidArgumentError(
            f"astream_events version must be 'v2' (or the older 'v1'), got {version!r}."
        )
    options = dict(options)
    keep = EventFilter.pop(options)
    run, call, resuming = graph._prepare(config, _EVENT_MODES, "v1", options, _EVENTS_CALL)
    tags = list(run.config.get("tags") or ())
    if isinstance(run, TracedRun):  # callbacks too: the events are the same runs'
        root_id = run.root_id
    else:
        root_id = root_run_id(run.config)
        inner = run.ctx.executor  # (a graph streamed in a node of an events run: its own)
        if isinstance(inner, EventsExecutor):
            inner = inner.inner
        run.ctx.executor = EventsExecutor(inner, root_id, tags)
        run.tables = evented_tables(run.tables)
    if run.ctx.parent_task is None and langchain_loaded():
        _tap_langchain_tokens(run)  # (LangChain models a node calls stream and report)
    metadata = {**run.ctx.scope.metadata, "ls_integration": "langgraph"}
    v1 = version == "v1"
    root_name = run.config.get("run_name") or (graph.name if name is None else name)

    def root(kind: str, data: dict[str, Any]) -> dict[str, Any]:
        return stream_event(kind, root_name, root_id, data, tags, {} if v1 else metadata, [])

    first = root("on_chain_start", {"input": input})
    if keep is None or keep(first):
        yield first
    final: Any = None
    async with aclosing(run.aiterate(input, resuming=resuming)) as events:  # (see astream)
        async for item in events:
            shown = call.output(item)
            if shown is _SKIP:
                continue
            mode, chunk = shown
            if mode == EVENTS:
                ev = chunk
                if ev["event"] in _CALLBACK_ONLY:
                    continue
                if ev["event"] == "on_tool_start":  # (its call id and description: for callbacks)
                    ev = {**ev, "data": {"input": ev["data"]["input"]}}
                if v1:
                    if ev["event"] == "on_custom_event":  # (v1 has no custom events)
                        continue
                    ev = {**ev, "parent_ids": []}
                if run.tables.langchain:  # (its readers see LangChain's messages: so here)
                    ev = {**ev, "data": {k: as_langchain(v) for k, v in ev["data"].items()}}
            elif mode == "updates":
                ev = root(
                    "on_chain_stream", {"chunk": chunk if view is None else view(mode, chunk)}
                )
            else:
                final = chunk
                continue
            if keep is None or keep(ev):
                yield ev
    if isinstance(final, dict) and INTERRUPT in final:
        final = {k: v for k, v in final.items() if k != INTERRUPT}
    last = root("on_chain_end", {"output": final if view is None else view("output", final)})
    if keep is None or keep(last):
        yield last


def _traced_run(
    graph: CompiledStateGraph[Any, Any, Any, Any],
    config: RunnableConfig,
    saver: Any,
    call: _Call,
    live: bool,
    scope: RunScope,
) -> Run:
    """A run whose events go to the config's LangChain callbacks (``engine.callbacks``)."""
    run = TracedRun(graph, config, saver, call.modes | {EVENTS}, live, (), None, None, scope)
    run.keep_events = EVENTS in call.stream_modes
    run.traced()
    return run


def _langchain_configs(run: Run) -> None:
    """Each task's config is LangChain's current config while it runs (as in LangGraph:
    ``graphkit.engine.langchain_config``; only once langchain_core is imported)."""
    global _configs_for
    if _configs_for is None:  # (imported once: the module imports langchain_core)
        from graphkit.engine.langchain_config import configs_for

        _configs_for = configs_for
    run.langchain_configs = _configs_for()


_configs_for: Callable[[], Any] | None = None


def _tap_langchain_tokens(run: Run) -> None:
    """A run streaming ``"messages"`` (or ``astream_events``): LangChain models its nodes
    call stream their tokens to it (``graphkit.engine.langchain_tokens``; only once
    langchain_core is imported)."""
    from graphkit.engine.langchain_tokens import tap_tokens

    tap_tokens(run)


@functools.lru_cache(maxsize=64)
def _call_of(
    stream_mode: Any, print_mode: Any, subgraphs: bool, debug: bool, version: str
) -> _Call:
    return _Call.make(stream_mode, print_mode, subgraphs, debug, version)


def _final(run: Run, version: str) -> Any:
    """What invoke returns: the output state, or a ``GraphOutput`` for ``version="v2"``
    (a graph invoked inside a node returns as a subgraph does: see ``nested_result``)."""
    if run.ctx.parent_task is not None:
        return run.tables.shown_output(nested_result(run))
    output = run.output()
    if run.in_place and run.tables.histories:
        run.hand_out(output)
    output = run.tables.shown_output(output)
    if version == "v2":
        from graphkit.types import GraphOutput

        interrupts = tuple(output.pop(INTERRUPT, ()))
        return GraphOutput(output, interrupts)
    return output


def _config_model(
    graph: CompiledStateGraph[Any, Any, Any, Any], include: Sequence[str] | None
) -> type[BaseModel]:
    """``config_schema``: the context schema as ``configurable`` (when there is one), and
    the ``RunnableConfig`` keys ``include`` names, each optional."""
    from typing import get_type_hints

    from pydantic import create_model

    fields: dict[str, Any] = {}
    context = graph.builder.context_schema
    if context is not None:
        fields["configurable"] = (context, None)
    hints = get_type_hints(RunnableConfig)
    for key in include or ():
        if key != "configurable" and key in hints:
            fields[key] = (hints[key], None)
    return create_model(graph.get_name("Config"), **fields)


def runnable_name(name: str, suffix: str | None) -> str:
    """A LangChain runnable's ``get_name``: ``name`` with ``suffix`` appended in its case
    style (``"LangGraphInput"``, ``"agent_input"``)."""
    if not suffix:
        return name
    return name + suffix.title() if name[:1].isupper() else f"{name}_{suffix.lower()}"


def _latest_values(call: _Call, event: Event, latest: Any) -> Any:
    """``invoke`` with ``output_keys``: the event goes to ``print_mode``; a root
    ``values`` chunk becomes the latest."""
    call.output(event)
    namespace, mode, chunk = event
    return chunk if mode == "values" and not namespace else latest


def _final_picked(run: Run, latest: Any, version: str) -> Any:
    """What ``invoke`` returns with ``output_keys``: the last ``values`` chunk (``None``
    when the run never wrote the keys) with the open interrupts, as LangGraph's."""
    picked = run.picked
    assert picked is not None
    if run.ctx.parent_task is not None:  # a graph invoked inside a node
        output = nested_result(run)
        return picked.values(output, run.tables) if type(output) is dict else output
    if run.in_place and run.tables.histories and latest is not None:
        run.hand_out(latest if type(latest) is dict else {picked.keys[0]: latest})
    interrupts = list(run.interrupts)
    if version == "v2":
        from graphkit.types import GraphOutput

        if type(latest) is dict and INTERRUPT in latest:
            latest = {k: v for k, v in latest.items() if k != INTERRUPT}
        return GraphOutput(latest, tuple(interrupts))
    return final_output(latest, interrupts)


def _update_steps(
    supersteps: Sequence[Sequence[StateUpdate]],
) -> list[list[tuple[Any, str | None]]]:
    """``bulk_update_state``'s supersteps as ``(values, as_node)`` pairs."""
    return [[(u[0], u[1] if len(u) > 1 else None) for u in step] for step in supersteps]


def _for_parent(command: Command[Any]) -> Command[Any]:
    return Command(update=command.update, goto=command.goto, resume=command.resume)


def _modes(stream_mode: Any) -> tuple[frozenset[str], bool]:
    if stream_mode is None:
        stream_mode = "updates"
    single = isinstance(stream_mode, str)
    modes = frozenset([stream_mode] if single else stream_mode)
    unknown = modes - _ALL_MODES
    if unknown:
        raise InvalidArgumentError(
            f"Unknown stream_mode {sorted(unknown)}; choose from {sorted(_ALL_MODES)}."
        )
    return modes, single


def _configs(config: Any, n: int) -> list[RunnableConfig | None]:
    if config is None or isinstance(config, dict):
        return [cast(RunnableConfig | None, config)] * n
    configs = list(config)
    if len(configs) != n:
        raise InvalidArgumentError(f"batch() got {n} inputs but {len(configs)} configs.")
    return configs


def _register_state_types(builder: StateGraph[Any, Any, Any, Any]) -> None:
    """Let the checkpoint serializer decode the user's own state types (no import by name)."""
    try:
        from graphkit.stores.serde import register
    except ImportError:  # pragma: no cover - stores ships with graphkit
        return
    from graphkit.schema import registrable_types

    for schema in builder._schemas:
        for tp in registrable_types(schema):
            register(tp)
