"""What compile() precomputes for the runtime: flat tables the superstep loop reads.

The loop never touches networkx, never inspects a signature and never looks at a
type: everything it needs per node (how to build its input, what to inject, where
its edges go, which joins it feeds) is decided here once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from graphkit._langchain import code_speaks_langchain, mentions_langchain_message
from graphkit._langchain_view import langchain_values, langchain_view
from graphkit.constants import END, START
from graphkit.engine import in_place
from graphkit.engine.retry import as_retry_policies
from graphkit.errors import GraphCompileError, PolicyError
from graphkit.managed import ManagedKind, managed_values
from graphkit.node import BranchDef, CallSpec, NodeDef
from graphkit.schema import ROOT, ChannelSpec, Reducer, Schema
from graphkit.types import CachePolicy, RetryPolicy, TimeoutPolicy

if TYPE_CHECKING:
    from graphkit.graph.state import NodeDefaults, StateGraph


@dataclass(slots=True, frozen=True)
class Reader:
    """A view of the state: the schema it is shaped as and the keys it reads."""

    schema: Schema
    keys: tuple[str, ...] | None
    """None: every channel."""
    managed: tuple[tuple[str, ManagedKind], ...] = ()
    """Its managed keys (``graphkit.managed``), filled in by ``make``."""
    langchain: set[str] | frozenset[str] = frozenset()
    """The graph's keys that speak LangChain (``GraphTables.langchain``, shared)."""

    def make(self, values: dict[str, Any], steps_left: int = 0) -> Any:
        """The view of ``values`` (a fresh dict or schema object; ``values`` is not kept),
        with its managed keys as of a step with ``steps_left`` steps left."""
        if self.langchain:
            values = langchain_values(values, self.langchain)
        if self.managed:
            return _view(self.schema, self.keys, self.managed, values, steps_left)
        keys = self.keys
        if keys is None:
            return self.schema.make(dict(values))
        return self.schema.make({k: values[k] for k in keys if k in values})


def in_channel_order(values: dict[str, Any], channels: dict[str, Any]) -> dict[str, Any] | None:
    """``values`` with its keys in the order of ``channels`` (the schemas' key order; any
    other key last), or None when they are in that order already.

    Nodes then see their state's keys in the order the schema declares them, as
    LangGraph's do, whatever order the input or the writes came in.
    """
    keys = [k for k in channels if k in values]
    if len(keys) == len(values):
        if keys == list(values):
            return None
        return {k: values[k] for k in keys}
    ordered = {k: values[k] for k in keys}
    ordered.update((k, v) for k, v in values.items() if k not in ordered)
    return ordered


def _view(
    schema: Schema,
    keys: tuple[str, ...] | None,
    managed: tuple[tuple[str, ManagedKind], ...],
    values: dict[str, Any],
    steps_left: int,
) -> Any:
    """``schema``'s object of the channels ``keys`` (None: all) of ``values``, and of
    its ``managed`` keys."""
    view = dict(values) if keys is None else {k: values[k] for k in keys if k in values}
    view.update(managed_values(managed, steps_left))
    return schema.make(view)


@dataclass(slots=True)
class NodeTable:
    """One node, ready to run."""

    name: str
    """Node name."""
    call: CallSpec
    """The function and what to inject into it."""
    order: int
    """Position in definition order (plans are sorted by it)."""
    input_schema: Schema
    """What the node receives (the state schema unless it declared its own)."""
    input_keys: tuple[str, ...] | None
    """Keys to pass; None means every channel (a plain dict copy)."""
    managed: tuple[tuple[str, ManagedKind], ...] = ()
    """Managed keys of its input schema (``graphkit.managed``): filled in per step."""
    edges: tuple[str, ...] = ()
    """Nodes triggered after this one by plain edges (END left out)."""
    joins: tuple[int, ...] = ()
    """Joins this node is a source of."""
    branches: tuple[BranchDef, ...] = ()
    """Conditional edges evaluated after it runs."""
    branch_inputs: tuple[Reader, ...] = ()
    """What each branch's path function reads (same order as ``branches``)."""
    retry: tuple[RetryPolicy, ...] = ()
    """Retry policies, first match wins."""
    timeout: TimeoutPolicy | None = None
    """Limits of each attempt (async nodes and subgraphs only)."""
    cache_policy: CachePolicy[Any] | None = None
    """Replay cached writes for an equal input (when the run has a cache)."""
    cache_ns: tuple[str, ...] = ()
    """The cache namespace of this node's entries."""
    error_handler: NodeTable | None = None
    """Runs instead of this node when it fails after its retries."""
    runs_on_loop: bool = False
    """An async run awaits it on the event loop (it, a branch or its error handler is
    async, or it is a subgraph) instead of running it in a worker thread."""
    defer: bool = False
    """Run only when nothing else is pending."""
    metadata: dict[str, Any] = field(default_factory=dict)
    """User metadata given to add_node."""
    subgraph: Any = None
    """The compiled subgraph, when this node is one."""
    output_keys: frozenset[str] | None = None
    """For a subgraph node, the keys of its output the parent keeps (those the parent's
    state has); the subgraph's private keys are dropped. None for function nodes, whose
    unknown keys raise."""
    leads: bool = False
    """It has plain edges or feeds joins (what ``Run._advance`` looks at beside routes).
    Set by ``build_tables``."""
    plain: bool = False
    """No retry, timeout, cache policy, error handler or subgraph: a sync run calls it
    once, on the short path (``graphkit.engine.task.run_task``). Set by ``build_tables``."""
    direct: bool = False
    """Plain, without conditional edges, in a state of keys (not one root value): a dict
    it returns whose keys are all channels is its writes as they are, recorded inline by
    ``run_task``. Set by ``build_tables``."""
    langchain: set[str] | frozenset[str] = frozenset()
    """The graph's keys that speak LangChain (``GraphTables.langchain``, shared): its
    input holds LangChain's view of them."""
    shown_langchain: bool = True
    """Its input shows ``langchain`` keys as LangChain's: all but graphkit's own nodes
    (``reads_graphkit``; a pydantic schema's LangChain fields excepted) and a subgraph
    taking a dict (it gets graphkit's, and inherits the marks: ``inherit_langchain``)."""
    triggers: tuple[str, ...] | None = None
    """What its ``langgraph_triggers`` metadata shows when not its edge channel
    (``branch:to:<node>``): an entrypoint's function, started by the input itself,
    ``("__start__",)`` as in LangGraph."""

    def copy(self, update: dict[str, Any] | None = None) -> NodeTable:
        """A copy with the fields in ``update`` replaced."""
        return replace(self, **(update or {}))

    def make_input(self, values: dict[str, Any], steps_left: int = 0) -> Any:
        """The state object this node receives, built from the current channel values
        (and, when its schema has managed keys, a step with ``steps_left`` steps left)."""
        if self.langchain:  # (graphkit's own code: only what a pydantic schema declares)
            shown = self.langchain if self.shown_langchain else self.input_schema.langchain_keys
            values = langchain_values(values, shown)
        keys = self.input_keys
        if self.managed:
            return _view(self.input_schema, keys, self.managed, values, steps_left)
        if keys is None:
            return self.input_schema.make(dict(values))
        return self.input_schema.make({k: values[k] for k in keys if k in values})


@dataclass(slots=True)
class GraphTables:
    """Everything the runtime needs, precomputed from the builder."""

    nodes: dict[str, NodeTable]
    start: NodeTable
    """The virtual START node: its edges and branches begin a run."""
    joins: tuple[tuple[frozenset[str], str], ...]
    """(sources, target) per join."""
    channels: dict[str, ChannelSpec]
    channel_set: frozenset[str]
    """The channels' names as a set (a node's update is checked against it)."""
    reducers: dict[str, Reducer]
    """Only the channels that have a reducer."""
    initial: dict[str, Callable[[], Any]]
    """Start values of reducer channels (e.g. ``[]``)."""
    state: Schema
    input: Schema
    output_keys: tuple[str, ...]
    output_key_set: frozenset[str]
    """``output_keys`` as a set (a step's task results keep only these channels)."""
    input_keys: frozenset[str]
    interrupt_before: frozenset[str]
    interrupt_after: frozenset[str]
    has_async: bool
    """Some node or branch is ``async``: only ainvoke/astream can run the graph."""
    root: bool = False
    """The state is one value (channel ``ROOT``), not a dict of keys: input, node
    updates, output and snapshots are that value itself."""
    cache: Any = None
    """``compile(cache=...)``: where nodes with a ``CachePolicy`` keep their writes."""
    histories: bool = False
    """Some channel merges with ``in_place.REDUCER`` (a message history): only then has
    ``Run.hand_out`` anything to do."""
    managed: frozenset[str] = frozenset()
    """Managed keys of the graph's schemas: an input or a write to one is ignored."""
    one_step: dict[str, Callable[[], Any] | None] = field(default_factory=dict)
    """Keys whose value lasts one step (``ChannelSpec.one_step``), with what a step's
    writes merge from (None: the first write); empty for most graphs."""
    untracked: frozenset[str] = frozenset()
    """Keys never saved in a checkpoint (``ChannelSpec.untracked``)."""
    absent_until_written: dict[str, Callable[[], Any]] = field(default_factory=dict)
    """Reducer keys with no value until written, with what the first write merges
    from (``ChannelSpec.absent_until_written``); empty for most graphs."""
    start_awaits: bool = False
    """A conditional edge from START is async: an async run awaits it on its loop
    (its start runs in a worker thread; see ``Run._aiterate``)."""
    direct_input: bool = False
    """The input checkpoint holds the input already applied, and what follows START
    runs at step 0 (no step of its own for START): the functional API's layout, as
    LangGraph's entrypoint has it."""
    langchain: set[str] = field(default_factory=set)
    """Keys that speak LangChain: their readers (nodes, branches, outputs, snapshots)
    get LangChain's view of the graphkit messages they hold (``_langchain_view``).
    Those whose type names a ``langchain_core`` message class from the start; others
    once a LangChain message is written to them (``note_langchain``): sticky, shared by
    every node table and reader of the graph."""
    langchain_candidates: frozenset[str] = frozenset()
    """Keys that may start speaking LangChain when one is written (not those a pydantic
    schema declares with graphkit's types: it validates them as such)."""
    nested_view: Callable[[str, Any], Any] | None = None
    """How a run of this graph inside another graph's node shows its ``updates`` and
    ``values`` chunks, ``nested_view(mode, chunk)`` (an entrypoint's graph: its return
    value, as LangGraph's entrypoint streams); None: as they are."""

    def note_langchain(self, key: str, pending: list[Any]) -> None:
        """Mark ``key`` as speaking LangChain when a write in ``pending`` holds a
        LangChain message (called only after one was converted in this process)."""
        if key in self.langchain or key not in self.langchain_candidates:
            return
        if any(map(_holds_langchain, pending)):
            self.langchain.add(key)

    def shown(self, values: dict[str, Any]) -> dict[str, Any]:
        """``values`` (channel values by key) as user code reads them: the keys that speak
        LangChain hold LangChain's messages (``values`` itself when none does)."""
        marks = self.langchain
        return langchain_values(values, marks) if marks else values

    def shown_output(self, output: Any) -> Any:
        """A run's output (``Run.output``) as its caller reads it (see ``shown``)."""
        if not self.langchain:
            return output
        if self.root:
            return langchain_view(output) if ROOT in self.langchain else output
        return self.shown(output) if type(output) is dict else output

    def inherit_langchain(self, keys: Iterable[str]) -> None:
        """A parent graph's keys that speak LangChain, given to this (sub)graph."""
        for key in keys:
            if key in self.langchain_candidates:
                self.langchain.add(key)


def _holds_langchain(value: Any) -> bool:
    from graphkit._langchain import is_langchain_message

    if type(value) is list:
        return any(map(is_langchain_message, value))
    return is_langchain_message(value)


def build_tables(
    builder: StateGraph[Any, Any, Any, Any],
    interrupt_before: frozenset[str],
    interrupt_after: frozenset[str],
    *,
    cache: Any = None,
) -> GraphTables:
    """Flatten the builder into runtime tables (called by ``compile()``)."""
    channels: dict[str, ChannelSpec] = {}
    for schema in builder._schemas:
        for key, spec in schema.channels.items():
            known = channels.get(key)
            if known is None or (known.reducer is None and spec.reducer is not None):
                channels[key] = spec
    all_keys = tuple(channels)
    speaks, candidates = _langchain_keys(builder._schemas, channels)
    nodes: dict[str, NodeTable] = {}
    defaults = builder.node_defaults
    node_defs = _with_default_handler(builder)
    for order, node in enumerate(node_defs.values()):
        schema = node.input_schema or builder.state
        keys = schema.keys if schema.keys != all_keys else None
        table = NodeTable(
            name=node.name,
            call=node.call,
            order=order,
            input_schema=schema,
            input_keys=keys,
            managed=tuple(schema.managed.items()),
            defer=node.defer,
            metadata=node.metadata,
            subgraph=node.subgraph,
            langchain=speaks,
        )
        if node.subgraph is not None:
            _subgraph_io(table, node.subgraph.tables, channels)
            table.shown_langchain = table.input_schema.kind != "typeddict"
        elif reads_graphkit(node.call.fn):
            table.shown_langchain = False
        nodes[node.name] = table
        _apply_policies(table, node, defaults)
    _link_error_handlers(node_defs, nodes, defaults)
    if _code_speaks_langchain(builder):
        speaks.update(
            k for k, c in channels.items() if is_message_reducer(c.reducer) and k in candidates
        )
    start_keys = builder.state.keys if builder.state.keys != all_keys else None
    start = NodeTable(
        START,
        CallSpec(lambda s: None, False, True, ()),
        -1,
        builder.state,
        start_keys,
        tuple(builder.state.managed.items()),
        langchain=speaks,
    )
    _wire(builder, nodes, start, channels, speaks)
    root = builder.state.kind == "root"
    for table in nodes.values():
        table.runs_on_loop = _runs_on_loop(table)
        table.plain = _plain(table)
        table.direct = table.plain and not table.branches and not root
    for table in (start, *nodes.values()):
        table.leads = bool(table.edges or table.joins)
    has_async = any(n.call.is_async for n in nodes.values()) or any(
        b.call.is_async for bs in builder.branches.values() for b in bs.values()
    )
    reducers = {k: c.reducer for k, c in channels.items() if c.reducer is not None}
    return GraphTables(
        nodes=nodes,
        start=start,
        joins=tuple((frozenset(j.sources), j.target) for j in builder.joins),
        channels=channels,
        channel_set=frozenset(channels),
        reducers=reducers,
        initial={
            k: c.initial
            for k, c in channels.items()
            if c.initial is not None and not (c.one_step or c.absent_until_written)
        },
        state=builder.state,
        input=builder.input,
        output_keys=builder.output.keys,
        output_key_set=frozenset(builder.output.keys),
        input_keys=frozenset(builder.input.keys),
        interrupt_before=interrupt_before,
        interrupt_after=interrupt_after,
        has_async=has_async,
        start_awaits=any(b.call.is_async for b in start.branches),
        root=root,
        cache=cache,
        histories=any(r is in_place.REDUCER for r in reducers.values()),
        managed=frozenset(k for schema in builder._schemas for k in schema.managed),
        langchain=speaks,
        langchain_candidates=candidates,
        one_step={k: c.initial for k, c in channels.items() if c.one_step},
        untracked=frozenset(k for k, c in channels.items() if c.untracked),
        absent_until_written={
            k: c.initial
            for k, c in channels.items()
            if c.absent_until_written and c.initial is not None and not c.one_step
        },
    )


def _code_speaks_langchain(builder: StateGraph[Any, Any, Any, Any]) -> bool:
    """Whether a node or conditional edge of ``builder`` was written for LangChain's
    messages (``_langchain.code_speaks_langchain``; graphkit's own never are)."""
    functions = [n.call.fn for n in builder.nodes.values() if n.subgraph is None]
    functions += [b.call.fn for bs in builder.branches.values() for b in bs.values()]
    return any(code_speaks_langchain(f) for f in functions if not reads_graphkit(f))


def is_message_reducer(reducer: Any) -> bool:
    """``add_messages``, or it with options (``add_messages(format=...)``)."""
    return reducer is in_place.REDUCER or getattr(reducer, "func", None) is in_place.REDUCER


def _langchain_keys(
    schemas: list[Schema], channels: dict[str, ChannelSpec]
) -> tuple[set[str], frozenset[str]]:
    """The keys that speak LangChain from the start (a schema's type for them names a
    ``langchain_core`` message class), and those that may start to (see
    ``GraphTables.langchain_candidates``)."""
    speaks = {
        key
        for schema in schemas
        for key, spec in schema.channels.items()
        if mentions_langchain_message(spec.annotation)
    }
    validated = {key for schema in schemas if schema.kind == "pydantic" for key in schema.keys}
    return speaks, frozenset(k for k in channels if k not in validated or k in speaks)


def _subgraph_io(table: NodeTable, inner: GraphTables, channels: dict[str, ChannelSpec]) -> None:
    """A subgraph node reads the parent keys its input schema shares (a pydantic or
    dataclass input schema: the whole object, whose fields the subgraph picks) and
    hands back only the keys of its output the parent has: everything else is the
    subgraph's own state. A root-state subgraph takes and returns one value."""
    if inner.root:
        return
    table.output_keys = frozenset(k for k in inner.output_keys if k in channels)
    if table.input_schema.kind in ("pydantic", "dataclass"):
        return  # it gets the state object, as LangGraph's; the subgraph takes its fields
    offered = table.input_schema.keys
    keys = tuple(k for k in offered if k in inner.input_keys)
    table.input_schema = Schema(
        cls=dict, kind="typeddict", channels={k: channels[k] for k in keys if k in channels}
    )
    table.input_keys = keys
    table.managed = ()  # a subgraph counts its own steps


def _reader(
    schema: Schema, channels: dict[str, ChannelSpec], speaks: set[str], branch: BranchDef
) -> Reader:
    keys = None if schema.keys == tuple(channels) else schema.keys
    shown: set[str] | frozenset[str] = (
        schema.langchain_keys if reads_graphkit(branch.call.fn) else speaks
    )
    return Reader(schema, keys, tuple(schema.managed.items()), shown)


def reads_graphkit(fn: Any) -> bool:
    """Whether ``fn`` is graphkit's own (``tools_condition``, a prebuilt agent's nodes):
    it reads graphkit's messages, never LangChain's view of them. A LangChain runnable
    run as a node (``LangChainNode``) reads LangChain's, and a ``ToolNode`` answers in
    the kind of messages it reads (its tools' ``InjectedState`` sees LangChain's)."""
    from graphkit._langchain import LangChainNode
    from graphkit.prebuilt.tool_node import ToolNode

    module = getattr(fn, "__module__", None) or type(fn).__module__
    return str(module).startswith("graphkit.") and not isinstance(fn, (LangChainNode, ToolNode))


def _with_default_handler(builder: StateGraph[Any, Any, Any, Any]) -> dict[str, NodeDef]:
    """The builder's nodes plus the node of ``set_node_defaults(error_handler=...)``."""
    from graphkit.graph.state import DEFAULT_ERROR_HANDLER

    handler = builder.node_defaults.error_handler
    if handler is None:
        return builder.nodes
    if DEFAULT_ERROR_HANDLER in builder.nodes:
        raise GraphCompileError(
            f"set_node_defaults(error_handler=...) adds a node named {DEFAULT_ERROR_HANDLER!r}, "
            "but the graph already has one. Rename that node."
        )
    return {
        **builder.nodes,
        DEFAULT_ERROR_HANDLER: builder._error_handler_def(DEFAULT_ERROR_HANDLER, handler, None),
    }


def _apply_policies(table: NodeTable, node: NodeDef, defaults: NodeDefaults) -> None:
    """A node's own retry/timeout/cache policies, else the builder's defaults."""
    from graphkit.cache.base import cache_namespace

    retry = node.retry_policy if node.retry_policy is not None else defaults.retry_policy
    table.retry = as_retry_policies(retry)
    table.timeout = node.timeout if node.timeout is not None else defaults.timeout
    if table.timeout is not None and not (node.call.is_async or node.subgraph is not None):
        raise PolicyError(
            f"Node {node.name!r} has a timeout, but timeouts are only supported for async "
            "nodes: they cancel the attempt on the event loop. Make it `async def` (and run "
            "the graph with ainvoke/astream), or remove its timeout."
        )
    if not node.is_error_handler:
        table.cache_policy = node.cache_policy or defaults.cache_policy
    if table.cache_policy is not None:
        table.cache_ns = cache_namespace("__writes__", node.call.fn, node.name)


def _runs_on_loop(table: NodeTable) -> bool:
    handler = table.error_handler
    return (
        table.call.is_async
        or table.call.afn is not None
        or table.subgraph is not None
        or any(b.call.is_async for b in table.branches)
        or (handler is not None and handler.call.is_async)
    )


def _plain(table: NodeTable) -> bool:
    return not (
        table.retry
        or table.timeout is not None
        or table.cache_policy is not None
        or table.error_handler is not None
        or table.subgraph is not None
    )


def _link_error_handlers(
    defs: dict[str, NodeDef], nodes: dict[str, NodeTable], defaults: NodeDefaults
) -> None:
    from graphkit.graph.state import DEFAULT_ERROR_HANDLER

    fallback = nodes.get(DEFAULT_ERROR_HANDLER) if defaults.error_handler is not None else None
    for name, node in defs.items():
        if node.is_error_handler:
            continue
        own = nodes[node.error_handler] if node.error_handler is not None else None
        nodes[name].error_handler = own or fallback


def _wire(
    builder: StateGraph[Any, Any, Any, Any],
    nodes: dict[str, NodeTable],
    start: NodeTable,
    channels: dict[str, ChannelSpec],
    speaks: set[str],
) -> None:
    def table(name: str) -> NodeTable:
        return start if name == START else nodes[name]

    for source, target in builder.edges:
        if target != END:
            t = table(source)
            if target not in t.edges:
                t.edges = (*t.edges, target)
    for index, join in enumerate(builder.joins):
        for source in join.sources:
            nodes[source].joins = (*nodes[source].joins, index)
    for source, branches in builder.branches.items():
        t = table(source)
        t.branches = tuple(branches.values())
        default = builder.nodes[source].input_schema if source in builder.nodes else None
        t.branch_inputs = tuple(
            _reader(b.input_schema or default or builder.state, channels, speaks, b)
            for b in t.branches
        )
