"""StateGraph: the builder. Add nodes and edges, then ``compile()`` into a runnable graph.

>>> import operator
>>> from typing import Annotated, TypedDict
>>> class State(TypedDict):
...     log: Annotated[list[str], operator.add]
>>> builder = (
...     StateGraph(State)
...     .add_node("a", lambda s: {"log": ["a"]})
...     .add_node("b", lambda s: {"log": ["b"]})
...     .add_edge(START, "a")
...     .add_edge("a", "b")
... )
>>> builder.compile().invoke({"log": []})
{'log': ['a', 'b']}
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Generic, cast

from typing_extensions import Self

from graphkit._deprecated import renamed_kwargs
from graphkit._langchain import LangChainNode, is_langchain_runnable
from graphkit.constants import END, RESERVED_CHARS, START
from graphkit.errors import GraphCompileError
from graphkit.node import (
    BranchDef,
    CallSpec,
    NodeDef,
    declared_destinations,
    function_name,
    inspect_callable,
    inspect_error_handler,
    may_route_dynamically,
    normalize_path_map,
)
from graphkit.schema import Schema, inspect_schema, is_typeddict
from graphkit.tools import Tool
from graphkit.types import CachePolicy, RetryPolicy, TimeoutPolicy
from graphkit.typing import ContextT, InputT, OutputT, StateT

if TYPE_CHECKING:
    import networkx as nx

    from graphkit.cache.base import BaseCache
    from graphkit.engine.executor import Executor
    from graphkit.stores.checkpoint.base import BaseCheckpointSaver
    from graphkit.stores.store.base import BaseStore

ERROR_HANDLER_PREFIX = "__error_handler__"
"""``add_node(name, fn, error_handler=h)`` adds ``h`` as node ``__error_handler__<name>``."""
DEFAULT_ERROR_HANDLER = "__default_error_handler__"
"""The node ``set_node_defaults(error_handler=h)`` adds at compile time."""


@dataclass(slots=True)
class NodeDefaults:
    """Policies for nodes that do not set their own (``StateGraph.set_node_defaults``)."""

    retry_policy: RetryPolicy | Sequence[RetryPolicy] | None = None
    """For every node, error handlers included."""
    cache_policy: CachePolicy[Any] | None = None
    """For every node except error handlers."""
    error_handler: Callable[..., Any] | None = None
    """Handles the failure of any node without its own handler (not of handlers)."""
    timeout: TimeoutPolicy | None = None
    """For every node, error handlers included."""


@dataclass(slots=True, frozen=True)
class Join:
    """``add_edge([a, b, c], d)``: d runs once all of a, b and c have run."""

    sources: tuple[str, ...]
    target: str


class StateGraph(Generic[StateT, ContextT, InputT, OutputT]):
    """A graph whose nodes read and update a shared state.

    The state schema (TypedDict, pydantic model or dataclass) declares the keys;
    ``Annotated[T, reducer]`` keys merge parallel writes with ``reducer(old, new)``.
    """

    def __init__(
        self,
        state_schema: type[StateT],
        context_schema: type[ContextT] | None = None,
        *,
        input_schema: type[InputT] | None = None,
        output_schema: type[OutputT] | None = None,
        **legacy: Any,
    ) -> None:
        if legacy:
            old = renamed_kwargs("StateGraph()", legacy, "input", "output", "config_schema")
            input_schema = input_schema or old.get("input_schema")
            output_schema = output_schema or old.get("output_schema")
            context_schema = context_schema or old.get("context_schema")
        self.state_schema = state_schema
        self.state = inspect_schema(state_schema)
        self.input = (
            inspect_schema(input_schema, role="input_schema") if input_schema else self.state
        )
        self.output = (
            inspect_schema(output_schema, role="output_schema") if output_schema else self.state
        )
        self.context_schema = context_schema
        self.nodes: dict[str, NodeDef] = {}
        self.edges: list[tuple[str, str]] = []
        self.joins: list[Join] = []
        self.branches: dict[str, dict[str, BranchDef]] = {}
        self._schemas: list[Schema] = [self.state, self.input, self.output]
        self.node_defaults = NodeDefaults()

    def set_node_defaults(
        self,
        *,
        retry_policy: RetryPolicy | Sequence[RetryPolicy] | None = None,
        cache_policy: CachePolicy[Any] | None = None,
        error_handler: Callable[..., Any] | None = None,
        timeout: float | timedelta | TimeoutPolicy | None = None,
    ) -> Self:
        """Policies for every node that does not set its own in ``add_node``.

        They apply at ``compile()``, so to nodes added before and after this call;
        subgraphs do not inherit them. ``retry_policy`` and ``timeout`` also apply to
        error handlers; ``cache_policy`` and ``error_handler`` only to regular nodes
        (a failing handler fails the run). Arguments left None keep earlier defaults.
        """
        defaults = self.node_defaults
        if retry_policy is not None:
            defaults.retry_policy = retry_policy
        if cache_policy is not None:
            defaults.cache_policy = cache_policy
        if error_handler is not None:
            defaults.error_handler = error_handler
        if timeout is not None:
            defaults.timeout = TimeoutPolicy.coerce(timeout)
        return self

    # ----------------------------------------------------------------- nodes
    def add_node(
        self,
        node: str | Callable[..., Any] | CompiledStateGraph[Any, Any, Any, Any],
        action: Callable[..., Any] | CompiledStateGraph[Any, Any, Any, Any] | None = None,
        *,
        retry_policy: RetryPolicy | Sequence[RetryPolicy] | None = None,
        input_schema: type[Any] | None = None,
        defer: bool = False,
        destinations: dict[str, str] | Sequence[str] | None = None,
        metadata: dict[str, Any] | None = None,
        cache_policy: CachePolicy[Any] | None = None,
        error_handler: Callable[..., Any] | None = None,
        timeout: float | timedelta | TimeoutPolicy | None = None,
        **legacy: Any,
    ) -> Self:
        """Add a node: ``add_node("name", fn)`` or ``add_node(fn)`` (named after ``fn``).

        ``fn(state)`` returns a partial update (dict or state object), a ``Command``
        or None. It may also take ``config``, ``store`` or ``writer`` by name. A
        LangChain runnable (a chain, a ``RunnableLambda``) is run as LangGraph runs
        one: ``invoke(state, config)``, seeing LangChain messages.

        Policies: ``retry_policy`` (one, or several: the first matching one applies),
        ``timeout`` (seconds, ``timedelta`` or ``TimeoutPolicy``; async nodes only),
        ``cache_policy`` (needs ``compile(cache=...)``) and ``error_handler``: a
        function run instead when the node fails after its retries. It gets the
        node's input and may ask for ``error: NodeError``; what it returns (an
        update or a ``Command``) takes the failed node's place.
        """
        if legacy:
            old = renamed_kwargs("add_node()", legacy, "retry", "input")
            retry_policy = retry_policy or old.get("retry_policy")
            input_schema = input_schema or old.get("input_schema")
        if isinstance(node, str):
            name = node
            if action is None:
                raise GraphCompileError(
                    f"add_node({name!r}) needs a function: add_node({name!r}, my_function)."
                )
        else:
            if action is not None:
                raise GraphCompileError(
                    "add_node(fn, fn2): pass a name and a function, or just a function."
                )
            action = node
            name = _default_node_name(node)
        self._check_new_node_name(name)
        if isinstance(action, Tool | Workflow):
            action = action.as_node()
        elif is_langchain_runnable(action):
            action = LangChainNode(action)
        timeout_policy = TimeoutPolicy.coerce(timeout)  # a bad timeout fails here, not at compile
        subgraph: CompiledStateGraph[Any, Any, Any, Any] | None = None
        if _is_compiled_graph(action):
            subgraph = cast("CompiledStateGraph", action)
            call = CallSpec(subgraph.invoke, False, True, ())
        else:
            call = inspect_callable(cast(Callable[..., Any], action), f"Node {name!r}")
        node_input = self._input_schema_of(
            f"node {name!r}", input_schema, call.first_param_annotation
        )
        self._add_output_schema(call.return_annotation)
        ends: dict[str, str] | None = None
        if destinations is not None:
            ends = (
                dict(destinations)
                if isinstance(destinations, dict)
                else {d: d for d in destinations}
            )
        elif subgraph is None and (declared := declared_destinations(call.fn)) is not None:
            ends = {d: d for d in declared}
        self.nodes[name] = NodeDef(
            name=name,
            call=call,
            retry_policy=retry_policy,
            input_schema=node_input,
            defer=defer,
            destinations=ends,
            metadata=dict(metadata or {}),
            subgraph=subgraph,
            cache_policy=cache_policy,
            timeout=timeout_policy,
        )
        if error_handler is not None:
            self._add_error_handler(self.nodes[name], error_handler)
        return self

    def _add_error_handler(self, node: NodeDef, handler: Callable[..., Any]) -> None:
        """Add ``handler`` as the node ``__error_handler__<node>``, fed the node's input."""
        name = ERROR_HANDLER_PREFIX + node.name
        if name in self.nodes:
            raise GraphCompileError(
                f"Node {name!r} already exists, but add_node({node.name!r}, ..., "
                "error_handler=...) names its handler so. Rename that node."
            )
        self.nodes[name] = self._error_handler_def(name, handler, node.input_schema)
        node.error_handler = name

    @staticmethod
    def _error_handler_def(name: str, handler: Callable[..., Any], schema: Any) -> NodeDef:
        call = inspect_error_handler(handler, f"The error handler {name!r}")
        return NodeDef(name=name, call=call, input_schema=schema, is_error_handler=True)

    def _check_new_node_name(self, name: str) -> None:
        if not isinstance(name, str) or not name:
            raise GraphCompileError(f"Node names must be non-empty strings, got {name!r}.")
        if name in (START, END):
            raise GraphCompileError(
                f"Node name {name!r} is reserved (START/END). Pick another name."
            )
        bad = [c for c in RESERVED_CHARS if c in name]
        if bad:
            raise GraphCompileError(
                f"Node name {name!r} contains {bad[0]!r}, which graphkit reserves for task "
                f"paths. Use a name without {' or '.join(map(repr, RESERVED_CHARS))}."
            )
        if name in self.nodes:
            raise GraphCompileError(
                f"Node {name!r} is already in the graph. Node names must be unique."
            )

    def _input_schema_of(self, what: str, explicit: type[Any] | None, hinted: Any) -> Schema | None:
        """The schema a node or path function reads: given, or its first parameter's type."""
        candidate = explicit
        if (
            candidate is None
            and hinted is not None
            and hinted is not self.state_schema
            and (is_typeddict(hinted) or _is_model_or_dataclass(hinted))
        ):
            candidate = hinted
        if candidate is None or candidate is self.state_schema:
            return None
        schema = inspect_schema(candidate, role=f"input_schema of {what}")
        self._schemas.append(schema)
        return schema

    def _add_output_schema(self, hinted: Any) -> None:
        """A node annotated ``-> PrivateState`` declares that schema's keys as channels."""
        if hinted is None or hinted is self.state_schema:
            return
        if is_typeddict(hinted) or _is_model_or_dataclass(hinted):
            self._schemas.append(inspect_schema(hinted, role="return type of a node"))

    def add_sequence(
        self, nodes: Sequence[Callable[..., Any] | tuple[str, Callable[..., Any]]]
    ) -> Self:
        """Add nodes that run one after the other (edges between consecutive ones)."""
        if not nodes:
            raise GraphCompileError("add_sequence() needs at least one node.")
        previous: str | None = None
        for item in nodes:
            if isinstance(item, tuple):
                name, fn = item
                self.add_node(name, fn)
            else:
                name = function_name(item)
                self.add_node(item)
            if previous is not None:
                self.add_edge(previous, name)
            previous = name
        return self

    # ----------------------------------------------------------------- edges
    def add_edge(self, start_key: str | Sequence[str], end_key: str) -> Self:
        """``add_edge(a, b)``: b runs after a. ``add_edge([a, b], c)``: c waits for both."""
        if end_key == START:
            raise GraphCompileError("START cannot be the end of an edge: START only starts runs.")
        if isinstance(start_key, str):
            if start_key == END:
                raise GraphCompileError("END cannot be the start of an edge: END finishes a run.")
            self.edges.append((start_key, end_key))
            return self
        sources = tuple(start_key)
        if not sources:
            raise GraphCompileError(f"add_edge([], {end_key!r}): a join needs source nodes.")
        for source in sources:
            if source in (START, END):
                raise GraphCompileError(
                    f"add_edge({list(sources)}, {end_key!r}): a join cannot wait for {source!r}."
                )
        if len(sources) == 1:
            self.edges.append((sources[0], end_key))
        else:
            self.joins.append(Join(sources, end_key))
        return self

    def add_conditional_edges(
        self,
        source: str,
        path: Callable[..., Any],
        path_map: dict[Hashable, str] | Sequence[str] | None = None,
    ) -> Self:
        """After ``source``, run what ``path(state)`` returns.

        ``path`` returns a node name, a list of names, ``END``, a ``Send`` or a list of
        ``Send``s; with ``path_map`` it returns labels that the map turns into nodes.
        """
        if source == END:
            raise GraphCompileError("END cannot have outgoing edges.")
        call = inspect_callable(path, f"The path function of the edge from {source!r}")
        name = function_name(path)
        existing = self.branches.setdefault(source, {})
        if name in existing:
            name = f"{name}_{len(existing)}"
        schema = self._input_schema_of(
            f"the path function {name!r} from {source!r}", None, call.first_param_annotation
        )
        existing[name] = BranchDef(source, name, call, normalize_path_map(path, path_map), schema)
        return self

    def set_entry_point(self, key: str) -> Self:
        """Start runs at ``key`` (same as ``add_edge(START, key)``)."""
        return self.add_edge(START, key)

    def set_conditional_entry_point(
        self,
        path: Callable[..., Any],
        path_map: dict[Hashable, str] | Sequence[str] | None = None,
    ) -> Self:
        """Start runs where ``path(input_state)`` says."""
        return self.add_conditional_edges(START, path, path_map)

    def set_finish_point(self, key: str) -> Self:
        """Finish runs after ``key`` (same as ``add_edge(key, END)``)."""
        return self.add_edge(key, END)

    # ----------------------------------------------------------------- compile
    def compile(
        self,
        checkpointer: BaseCheckpointSaver | bool | None = None,
        *,
        store: BaseStore | None = None,
        interrupt_before: Sequence[str] | str | None = None,
        interrupt_after: Sequence[str] | str | None = None,
        debug: bool = False,
        name: str | None = None,
        cache: BaseCache[Any] | None = None,
        executor: Executor | None = None,
        transformers: Sequence[Any] | None = None,
    ) -> CompiledStateGraph[StateT, ContextT, InputT, OutputT]:
        """Validate the graph and build the runnable form (raises on any mistake).

        ``cache`` (a ``graphkit.cache.BaseCache``) stores the results of nodes with
        a ``CachePolicy``. ``executor`` runs the nodes' functions elsewhere (e.g.
        ``graphkit.executor.RayExecutor()``); the default runs them in this process.
        ``name`` (default ``"LangGraph"``, as LangGraph's) names the graph's root run
        in ``astream_events``, its drawing and its repr. ``transformers`` (LangGraph's
        stream transformers for ``astream_events(version="v3")``) must be empty: that
        streaming protocol is not graphkit's.
        """
        from graphkit.engine.compiled import CompiledStateGraph
        from graphkit.engine.run_events import ROOT_NAME
        from graphkit.engine.tables import build_tables

        _check_cache(cache)
        if transformers:
            raise GraphCompileError(
                "compile(transformers=...) configures LangGraph's stream transformers, which "
                "feed its astream_events(version='v3') protocol; graphkit does not have it. "
                "Stream with graph.stream(..., stream_mode=[...]) (version='v2' gives typed "
                "parts), or graph.astream_events(..., version='v2')."
            )
        before = _as_names(interrupt_before)
        after = _as_names(interrupt_after)
        self.validate(before + after)
        digraph = self.to_networkx()
        self._check_reachable(digraph)
        tables = build_tables(self, frozenset(before), frozenset(after), cache=cache)
        return CompiledStateGraph(
            builder=self,
            tables=tables,
            digraph=digraph,
            checkpointer=checkpointer,
            store=store,
            debug=debug,
            name=name or ROOT_NAME,
            executor=_check_executor(executor),
        )

    def validate(self, interrupt_nodes: Sequence[str] = ()) -> None:
        """Raise ``GraphCompileError`` naming the first broken node, edge or setting."""
        known = set(self.nodes)
        if not self.nodes:
            raise GraphCompileError("The graph has no nodes: add one with add_node(name, fn).")
        sources, targets = known | {START}, known | {END}  # built once: compile stays linear
        for start, end in self.edges:
            self._check_endpoint(start, f"the edge {start!r} -> {end!r}", sources, "starting")
            self._check_endpoint(end, f"the edge {start!r} -> {end!r}", targets, "ending")
        for join in self.joins:
            for s in join.sources:
                self._check_endpoint(s, f"the join {list(join.sources)} -> {join.target!r}", known)
            self._check_endpoint(
                join.target, f"the join {list(join.sources)} -> {join.target!r}", targets
            )
        for source, branches in self.branches.items():
            for branch in branches.values():
                where = f"the conditional edge {branch.name!r} from {source!r}"
                self._check_endpoint(source, where, sources)
                for label, target in (branch.path_map or {}).items():
                    self._check_endpoint(target, f"{where} (label {label!r})", targets)
        for node in self.nodes.values():
            for target in (node.destinations or {}).values():
                self._check_endpoint(target, f"the destinations of node {node.name!r}", targets)
        for n in interrupt_nodes:
            if n not in known and n != "*":
                raise GraphCompileError(
                    f"interrupt_before/after names unknown node {n!r}. Known nodes: {sorted(known)}."
                )
        has_entry = any(s == START for s, _ in self.edges) or START in self.branches
        if not has_entry:
            raise GraphCompileError(
                "The graph has no entry point: add an edge from START, e.g. "
                f"add_edge(START, {next(iter(self.nodes))!r}) or set_entry_point(...)."
            )

    def _check_endpoint(self, name: str, where: str, allowed: set[str], end: str = "") -> None:
        if name in allowed:
            return
        if name in (START, END):
            raise GraphCompileError(f"{where}: {name!r} cannot be used there.")
        hint = (
            f" Add it with add_node({name!r}, fn) or fix the name." if isinstance(name, str) else ""
        )
        found = f"Found edge {end} at unknown node {name!r}: " if end else ""
        raise GraphCompileError(
            f"{found}{where} refers to unknown node {name!r}. Known nodes: {sorted(self.nodes)}."
            f"{hint}"
        )

    def to_networkx(self) -> nx.DiGraph:
        """The graph as a ``networkx.DiGraph`` (for validation, drawing, introspection).

        Node attributes: ``kind`` (start/end/node), ``function``, ``metadata``, ``defer``.
        Edge attributes: ``kind`` (edge/conditional/join/command), ``labels``,
        ``branch``, ``join`` (index of the join among ``builder.joins``).
        """
        import networkx as nx  # at compile: `import graphkit` (the CLI, stores) skips it

        g = nx.DiGraph(name="graph")
        g.add_node(START, kind="start", function=None, metadata={}, defer=False)
        for node in self.nodes.values():
            g.add_node(
                node.name,
                kind="subgraph" if node.subgraph is not None else "node",
                function=function_name(node.call.fn),
                metadata=node.metadata,
                defer=node.defer,
            )
        g.add_node(END, kind="end", function=None, metadata={}, defer=False)
        for start, end in self.edges:
            _add_edge(g, start, end, kind="edge")
        for index, join in enumerate(self.joins):
            for source in join.sources:
                _add_edge(g, source, join.target, kind="join", join=index)
        for source, branches in self.branches.items():
            for branch in branches.values():
                for label, target in (branch.path_map or {}).items():
                    _add_edge(
                        g, source, target, kind="conditional", branch=branch.name, label=str(label)
                    )
        for node in self.nodes.values():
            for label, target in (node.destinations or {}).items():
                _add_edge(g, node.name, target, kind="command", label=str(label))
        return g

    def _check_reachable(self, g: nx.DiGraph) -> None:
        from networkx import descendants

        reachable = descendants(g, START)
        unreachable = [
            n for n, d in self.nodes.items() if n not in reachable and not d.is_error_handler
        ]
        if not unreachable:
            return
        dynamic = (
            [
                source
                for source, branches in self.branches.items()
                if (source in reachable or source == START)
                and any(b.path_map is None for b in branches.values())
            ]
            + [
                n.name
                for n in self.nodes.values()
                if n.name in reachable
                and n.destinations is None
                and (n.subgraph is not None or may_route_dynamically(n.call.fn))
            ]
            + [  # an error handler can route anywhere with a Command
                n.name
                for n in self.nodes.values()
                if n.is_error_handler and may_route_dynamically(n.call.fn)
            ]
        )
        fallback = self.node_defaults.error_handler
        if fallback is not None and may_route_dynamically(fallback):
            dynamic.append(DEFAULT_ERROR_HANDLER)
        if dynamic:
            return
        raise GraphCompileError(
            f"Node {unreachable[0]!r} can never run: no edge from START leads to it. "
            f"Add an edge to it (e.g. add_edge('...', {unreachable[0]!r})), or, if a node routes "
            "there with Command(goto=...), declare it: add_node(..., destinations=("
            f"{unreachable[0]!r},)) or annotate the node's return type as "
            f"Command[Literal[{unreachable[0]!r}]]."
            + (f" Other unreachable nodes: {unreachable[1:]}." if len(unreachable) > 1 else "")
        )


def _add_edge(g: nx.DiGraph, start: str, end: str, *, kind: str, **attrs: Any) -> None:
    label = attrs.pop("label", None)
    if g.has_edge(start, end):
        data = g.edges[start, end]
        if label is not None:
            data.setdefault("labels", []).append(label)
        data.setdefault("kinds", [data["kind"]]).append(kind)
        data.update(attrs)
        return
    g.add_edge(start, end, kind=kind, labels=[label] if label is not None else [], **attrs)


def _as_names(value: Sequence[str] | str | None) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return list(value)


def _is_model_or_dataclass(tp: Any) -> bool:
    import dataclasses

    from pydantic import BaseModel

    return isinstance(tp, type) and (issubclass(tp, BaseModel) or dataclasses.is_dataclass(tp))


def _check_cache(cache: Any) -> None:
    from graphkit.cache.base import BaseCache

    if cache is not None and not isinstance(cache, BaseCache):
        raise GraphCompileError(
            f"compile(cache=...) takes a cache such as graphkit.cache.memory.InMemoryCache(), "
            f"got {cache!r}."
        )


def _check_executor(executor: Any) -> Any:
    from graphkit.engine.executor import Executor

    if executor is not None and not isinstance(executor, Executor):
        raise GraphCompileError(
            "compile(executor=...) takes an executor such as "
            f"graphkit.executor.RayExecutor() (or LocalExecutor()), got {executor!r}."
        )
    return executor


def _default_node_name(action: Any) -> str:
    """The name ``add_node(action)`` gives a node: a tool's, an entrypoint's or a compiled graph's
    ``name`` (``compile(name=...)``, ``create_react_agent(name=...)``: how agents of a
    multi-agent graph are added), a runnable's, or the function's."""
    if isinstance(action, Tool | Workflow) or _is_compiled_graph(action):
        return str(action.name)
    if is_langchain_runnable(action):
        return LangChainNode(action).__name__
    return function_name(action)


def _is_compiled_graph(obj: Any) -> bool:
    from graphkit.engine.compiled import CompiledStateGraph

    return isinstance(obj, CompiledStateGraph)


# ``langgraph.graph.state`` exports the compiled graph's class beside its builder.
from graphkit.engine.compiled import CompiledStateGraph  # noqa: E402
from graphkit.func import Workflow  # noqa: E402

__all__ = ["CompiledStateGraph", "StateGraph"]
