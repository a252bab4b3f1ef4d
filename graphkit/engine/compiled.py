"""CompiledStateGraph: the runnable graph ``StateGraph.compile()`` returns."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import networkx as nx
from pydantic import BaseModel, ValidationError

from graphkit.context import CURRENT_TASK
from graphkit.engine.events import Event
from graphkit.engine.loop import Run
from graphkit.engine.nested import joins_parent, nested_result, nested_run
from graphkit.engine.tables import GraphTables
from graphkit.errors import GraphCompileError, InvalidUpdateError, ParentCommand
from graphkit.schema import update_from_object, validation_message
from graphkit.types import Command, Durability, StateSnapshot, StateUpdate, StreamMode

if TYPE_CHECKING:
    from graphkit.context import TaskContext
    from graphkit.draw import DrawableGraph
    from graphkit.graph.state import StateGraph

_LIVE_MODES = frozenset({"custom", "messages"})
_DEBUG = frozenset({"debug"})
_ALL_MODES = frozenset({"values", "updates", "custom", "debug", "messages", "checkpoints", "tasks"})


class CompiledStateGraph:
    """A validated graph, ready to run. Build it with ``StateGraph.compile()``."""

    def __init__(
        self,
        *,
        builder: StateGraph[Any],
        tables: GraphTables,
        digraph: nx.DiGraph,
        checkpointer: Any = None,
        store: Any = None,
        debug: bool = False,
        name: str = "graph",
    ) -> None:
        self.builder = builder
        self.tables = tables
        self.nx = digraph
        """The graph as a networkx DiGraph (nodes START/END/each node; edges with kinds)."""
        self.checkpointer = checkpointer
        self.store = store
        self.debug = debug
        self.name = name
        if checkpointer not in (None, True, False) and not hasattr(checkpointer, "get_tuple"):
            raise GraphCompileError(
                "checkpointer must be a checkpoint saver (e.g. InMemorySaver()), or for a "
                f"subgraph True/False/None, got {checkpointer!r}."
            )
        if (tables.interrupt_before or tables.interrupt_after) and checkpointer is False:
            raise GraphCompileError(
                "interrupt_before/interrupt_after pause a thread to resume it later, which "
                "needs checkpoints, but this graph was compiled with checkpointer=False."
            )
        if checkpointer is not False:  # a subgraph saves into its parent's saver
            _register_state_types(builder)

    @property
    def saver(self) -> Any:
        """The checkpoint saver given to ``compile(checkpointer=...)``; None for
        ``True``/``False``/``None`` (a subgraph then uses its parent's, or none)."""
        checkpointer = self.checkpointer
        return None if checkpointer is None or isinstance(checkpointer, bool) else checkpointer

    # ------------------------------------------------------------------ running
    def invoke(
        self,
        input: Any,
        config: dict[str, Any] | None = None,
        *,
        stream_mode: StreamMode = "values",
        durability: Durability | None = None,
        **kwargs: Any,
    ) -> Any:
        """Run the graph to the end (or an interrupt) and return its output state.

        With another ``stream_mode`` than "values" it returns that stream's chunks as a
        list, as LangGraph's ``invoke`` does.
        """
        if stream_mode != "values":
            return list(
                self.stream(input, config, stream_mode=stream_mode, durability=durability, **kwargs)
            )
        self._check_sync()
        parent = CURRENT_TASK.get()
        if parent is not None and joins_parent(config, parent):
            run, resuming = nested_run(self, parent, self._config(config, durability, kwargs))
            for _ in run.iterate(input, resuming=resuming):
                pass
            return nested_result(run)
        run = Run(
            self,
            self._config(config, durability, kwargs),
            saver=self.saver,
            modes=self._debug_modes,
        )
        for namespace, _, chunk in run.iterate(input):
            if not namespace:
                print_debug(chunk)
        return run.output()

    async def ainvoke(
        self,
        input: Any,
        config: dict[str, Any] | None = None,
        *,
        stream_mode: StreamMode = "values",
        durability: Durability | None = None,
        **kwargs: Any,
    ) -> Any:
        """Async ``invoke``: async nodes are awaited, parallel ones run concurrently."""
        if stream_mode != "values":
            return [
                c
                async for c in self.astream(
                    input, config, stream_mode=stream_mode, durability=durability, **kwargs
                )
            ]
        parent = CURRENT_TASK.get()
        if parent is not None and joins_parent(config, parent):
            run, resuming = nested_run(self, parent, self._config(config, durability, kwargs))
            async for _ in run.aiterate(input, resuming=resuming):
                pass
            return nested_result(run)
        run = Run(
            self,
            self._config(config, durability, kwargs),
            saver=self.saver,
            modes=self._debug_modes,
        )
        async for namespace, _, chunk in run.aiterate(input):
            if not namespace:
                print_debug(chunk)
        return run.output()

    def stream(
        self,
        input: Any,
        config: dict[str, Any] | None = None,
        *,
        stream_mode: StreamMode | Sequence[StreamMode] | None = None,
        durability: Durability | None = None,
        subgraphs: bool = False,
        **kwargs: Any,
    ) -> Iterator[Any]:
        """Run the graph, yielding chunks per ``stream_mode`` (default ``"updates"``).

        One mode yields its chunks; a list of modes yields ``(mode, chunk)`` tuples.
        With ``subgraphs=True`` subgraphs stream too, and each item is prefixed with
        its namespace: ``(namespace, chunk)`` or ``(namespace, mode, chunk)``.
        """
        modes, single = _modes(stream_mode)
        self._check_sync()
        run, resuming = self._stream_run(config, durability, kwargs, modes)
        for event in run.iterate(input, resuming=resuming):
            item = _stream_item(event, single, subgraphs)
            if item is not _SKIP:
                yield item
        if run.ctx.parent_task is not None:
            nested_result(run)

    async def astream(
        self,
        input: Any,
        config: dict[str, Any] | None = None,
        *,
        stream_mode: StreamMode | Sequence[StreamMode] | None = None,
        durability: Durability | None = None,
        subgraphs: bool = False,
        **kwargs: Any,
    ) -> AsyncIterator[Any]:
        """Async ``stream``."""
        modes, single = _modes(stream_mode)
        run, resuming = self._stream_run(config, durability, kwargs, modes)
        async for event in run.aiterate(input, resuming=resuming):
            item = _stream_item(event, single, subgraphs)
            if item is not _SKIP:
                yield item
        if run.ctx.parent_task is not None:
            nested_result(run)

    def _stream_run(
        self,
        config: dict[str, Any] | None,
        durability: Durability | None,
        kwargs: dict[str, Any],
        modes: frozenset[str],
    ) -> tuple[Run, bool]:
        """The run of a ``stream`` call (a subgraph's, when called inside a node)."""
        merged = self._config(config, durability, kwargs)
        parent = CURRENT_TASK.get()
        if parent is not None and joins_parent(config, parent):
            run, resuming = nested_run(self, parent, merged, forward=False, modes=modes)
            return run, resuming
        live = bool(modes & _LIVE_MODES)
        return Run(self, merged, saver=self.saver, modes=modes, live=live), False

    def batch(
        self,
        inputs: Sequence[Any],
        config: dict[str, Any] | Sequence[dict[str, Any]] | None = None,
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
        config: dict[str, Any] | Sequence[dict[str, Any]] | None = None,
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

    @property
    def _debug_modes(self) -> frozenset[str]:
        """``compile(debug=True)`` prints each task and checkpoint of invoke to stderr."""
        return _DEBUG if self.debug else frozenset()

    def _check_sync(self) -> None:
        if self.tables.has_async:
            async_nodes = [n.name for n in self.tables.nodes.values() if n.call.is_async]
            raise TypeError(
                f"Nodes {async_nodes or '(a branch)'} are async, so this graph can only run with "
                "ainvoke/astream/abatch. Use `await graph.ainvoke(...)`, or make them plain "
                "functions."
            )

    def _config(
        self, config: dict[str, Any] | None, durability: Durability | None, extra: dict[str, Any]
    ) -> dict[str, Any]:
        merged = dict(config or {})
        if durability is not None:
            merged["durability"] = durability
        for key in ("recursion_limit", "context"):
            if key in extra:
                merged[key] = extra.pop(key)
        if extra:
            raise TypeError(f"Unexpected keyword arguments: {sorted(extra)}")
        return merged

    # ------------------------------------------------------------------ input
    def input_writes(self, input: Any) -> list[tuple[str, Any]]:
        """Validate a run's input against the input schema; return it as writes."""
        schema = self.tables.input
        if isinstance(input, BaseModel) or (
            not isinstance(input, dict) and hasattr(input, "__dataclass_fields__")
        ):
            items = update_from_object(input, "input")
        elif isinstance(input, dict):
            items = input
        else:
            raise InvalidUpdateError(
                f"The graph's input must be a dict of state keys (or a {schema.cls.__name__} "
                f"instance), got {type(input).__name__}: {input!r:.80}."
            )
        unknown = [k for k in items if k not in self.tables.input_keys]
        if unknown:
            raise InvalidUpdateError(
                f"Input key {unknown[0]!r} is not in the input schema {schema.cls.__name__}. "
                f"Accepted keys: {sorted(self.tables.input_keys)}."
            )
        if schema.kind == "pydantic" and isinstance(input, dict):
            try:
                model = schema.cls.model_validate(input)
            except ValidationError as exc:
                raise InvalidUpdateError(
                    f"Invalid input for {schema.cls.__name__}: {validation_message(exc)}."
                ) from exc
            # only what the caller gave (validated): defaults are not written, as in LangGraph
            items = {k: getattr(model, k) for k in input}
        return list(items.items())

    # ------------------------------------------------------------------ state
    def get_state(self, config: dict[str, Any], *, subgraphs: bool = False) -> StateSnapshot:
        """The thread's state at its latest checkpoint (or at ``checkpoint_id``).

        With ``checkpoint_ns`` in the config, a subgraph's state (its namespace as
        stream(subgraphs=True) and ``tasks[i].state`` show it); ``subgraphs=True``
        puts each running subgraph's own snapshot in its task's ``state``.
        """
        from graphkit.engine.state import get_state

        return get_state(self, config, subgraphs=subgraphs)

    async def aget_state(self, config: dict[str, Any], *, subgraphs: bool = False) -> StateSnapshot:
        """Async ``get_state``."""
        return await asyncio.to_thread(self.get_state, config, subgraphs=subgraphs)

    def get_state_history(
        self,
        config: dict[str, Any],
        *,
        filter: dict[str, Any] | None = None,
        before: dict[str, Any] | None = None,
        limit: int | None = None,
    ) -> Iterator[StateSnapshot]:
        """The thread's checkpoints as snapshots, newest first."""
        from graphkit.engine.state import get_state_history

        return get_state_history(self, config, filter=filter, before=before, limit=limit)

    async def aget_state_history(
        self,
        config: dict[str, Any],
        *,
        filter: dict[str, Any] | None = None,
        before: dict[str, Any] | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[StateSnapshot]:
        """Async ``get_state_history``."""
        items = await asyncio.to_thread(
            lambda: list(self.get_state_history(config, filter=filter, before=before, limit=limit))
        )
        for item in items:
            yield item

    def update_state(
        self, config: dict[str, Any], values: Any, as_node: str | None = None
    ) -> dict[str, Any]:
        """Write ``values`` as if ``as_node`` had returned them; the next run goes on from there.

        ``as_node="__copy__"`` (with ``values=None``) saves a copy of the checkpoint.
        """
        from graphkit.engine.state import update_state

        return update_state(self, config, [[(values, as_node)]])

    def bulk_update_state(
        self, config: dict[str, Any], supersteps: Sequence[Sequence[StateUpdate]]
    ) -> dict[str, Any]:
        """Apply several supersteps of updates, one checkpoint each; the last one's config.

        Each superstep is a list of ``StateUpdate(values, as_node)``, applied together.
        """
        from graphkit.engine.state import update_state

        steps = [[(u[0], u[1] if len(u) > 1 else None) for u in step] for step in supersteps]
        return update_state(self, config, steps)

    async def abulk_update_state(
        self, config: dict[str, Any], supersteps: Sequence[Sequence[StateUpdate]]
    ) -> dict[str, Any]:
        """Async ``bulk_update_state``."""
        return await asyncio.to_thread(self.bulk_update_state, config, supersteps)

    async def aupdate_state(
        self, config: dict[str, Any], values: Any, as_node: str | None = None
    ) -> dict[str, Any]:
        """Async ``update_state``."""
        return await asyncio.to_thread(self.update_state, config, values, as_node)

    def get_subgraphs(
        self, *, namespace: str | None = None, recurse: bool = False
    ) -> Iterator[tuple[str, CompiledStateGraph]]:
        """``(name, subgraph)`` of each subgraph node; ``namespace`` (``"a|b"``) picks one,
        ``recurse`` includes subgraphs of subgraphs (named ``"a|b"``)."""
        from graphkit.engine.state import subgraphs

        return subgraphs(self, namespace, recurse=recurse)

    async def aget_subgraphs(
        self, *, namespace: str | None = None, recurse: bool = False
    ) -> AsyncIterator[tuple[str, CompiledStateGraph]]:
        """Async ``get_subgraphs``."""
        for item in self.get_subgraphs(namespace=namespace, recurse=recurse):
            yield item

    # ------------------------------------------------------------------ graph
    def get_graph(
        self, config: dict[str, Any] | None = None, *, xray: bool | int = False
    ) -> DrawableGraph:
        """The graph's structure, drawable (``.to_dot()``, ...) and as ``.nx``."""
        from graphkit.draw import DrawableGraph

        return DrawableGraph.from_compiled(self, xray=xray)

    @property
    def nodes(self) -> dict[str, Any]:
        """Node name -> its table entry."""
        return dict(self.tables.nodes)

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
        """The parent's state as this subgraph's input: the keys its input schema has."""
        values = _as_dict(state)
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

    def __repr__(self) -> str:
        return f"<CompiledStateGraph {self.name!r}: {len(self.tables.nodes)} nodes>"


def print_debug(event: dict[str, Any]) -> None:
    """One line per debug event, for ``compile(debug=True)``."""
    payload = event.get("payload") or {}
    kind = event.get("type")
    if kind == "task":
        line = f"[step {event['step']}] run {payload['name']}"
    elif kind == "task_result":
        outcome = payload["error"] or payload["interrupts"] or payload["result"]
        line = f"[step {event['step']}] {payload['name']} -> {outcome!r:.200}"
    else:
        line = f"[step {event['step']}] checkpoint, next: {list(payload.get('next', ()))}"
    print(line, file=sys.stderr)


_SKIP: Any = object()


def _stream_item(event: Event, single: bool, subgraphs: bool) -> Any:
    """Shape one event as stream() yields it; subgraph events only with ``subgraphs=True``
    (token chunks of ``messages`` always come through, as in LangGraph)."""
    namespace, mode, chunk = event
    if namespace and not subgraphs and mode != "messages":
        return _SKIP
    if subgraphs:
        return (namespace, chunk) if single else (namespace, mode, chunk)
    return chunk if single else (mode, chunk)


def _for_parent(command: Command[Any]) -> Command[Any]:
    return Command(update=command.update, goto=command.goto, resume=command.resume)


def _as_dict(state: Any) -> Any:
    if isinstance(state, BaseModel):
        return {k: getattr(state, k) for k in type(state).model_fields}
    if hasattr(state, "__dataclass_fields__"):
        return {k: getattr(state, k) for k in state.__dataclass_fields__}
    return state


def _modes(stream_mode: Any) -> tuple[frozenset[str], bool]:
    if stream_mode is None:
        stream_mode = "updates"
    single = isinstance(stream_mode, str)
    modes = frozenset([stream_mode] if single else stream_mode)
    unknown = modes - _ALL_MODES
    if unknown:
        raise ValueError(
            f"Unknown stream_mode {sorted(unknown)}; choose from {sorted(_ALL_MODES)}."
        )
    return modes, single


def _configs(config: Any, n: int) -> list[dict[str, Any] | None]:
    if config is None or isinstance(config, dict):
        return [config] * n
    configs = list(config)
    if len(configs) != n:
        raise ValueError(f"batch() got {n} inputs but {len(configs)} configs.")
    return configs


def _register_state_types(builder: StateGraph[Any]) -> None:
    """Let the checkpoint serializer decode the user's own state types (no import by name)."""
    try:
        from graphkit.stores.serde import register
    except ImportError:  # pragma: no cover - stores ships with graphkit
        return
    from graphkit.schema import registrable_types

    for schema in builder._schemas:
        for tp in registrable_types(schema):
            register(tp)
