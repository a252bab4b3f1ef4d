"""Node and branch functions, inspected once when they are added to a graph.

A node function takes the state first and may ask for more by parameter name:
``config`` (the run config), ``store`` (the memory store), ``writer`` (the custom
stream writer). Which of these it wants, and whether it is async, is decided here
so the runtime just calls it.
"""

from __future__ import annotations

import asyncio
import inspect
import typing
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any, get_args, get_origin

from graphkit._hints import hints_or_empty
from graphkit.errors import NodeConfigError
from graphkit.types import CachePolicy, Command, RetryPolicy, Send, TimeoutPolicy

INJECTABLE = ("config", "store", "writer", "runtime", "previous")
"""Parameter names the runtime fills in besides the state."""


@dataclass(slots=True, frozen=True)
class CallSpec:
    """How to call a user function: async or not, what to inject, if it takes the state."""

    fn: Callable[..., Any]
    is_async: bool
    takes_state: bool
    inject: tuple[str, ...]
    first_param_annotation: Any = None
    return_annotation: Any = None
    afn: Callable[..., Any] | None = None
    """An async twin the async runtime awaits instead of ``fn`` (a callable object's
    coroutine ``ainvoke`` taking the same arguments, e.g. ``ToolNode``)."""

    @property
    def func(self) -> Callable[..., Any]:
        """The user function (LangGraph's ``RunnableCallable.func``)."""
        return self.fn


def inspect_callable(fn: Callable[..., Any], what: str) -> CallSpec:
    """Inspect ``fn`` once: its async-ness, state parameter and injected parameters."""
    if not callable(fn):
        raise NodeConfigError(f"{what} must be callable, got {fn!r}.")
    target = fn
    if not (inspect.isfunction(fn) or inspect.ismethod(fn)) and hasattr(fn, "__call__"):  # noqa: B004
        call = type(fn).__call__
        if inspect.isfunction(call) or inspect.iscoroutinefunction(call):
            target = call.__get__(fn)
    is_async = inspect.iscoroutinefunction(target) or asyncio.iscoroutinefunction(fn)
    try:
        params = list(inspect.signature(target).parameters.values())
    except (TypeError, ValueError):
        return CallSpec(fn, is_async, True, ())
    positional = [
        p
        for p in params
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.name not in INJECTABLE
    ]
    takes_state = bool(positional) or any(p.kind == p.VAR_POSITIONAL for p in params)
    inject = tuple(p.name for p in params if p.name in INJECTABLE and p.kind != p.POSITIONAL_ONLY)
    hints = hints_or_empty(target) if params else {}
    annotation = hints.get(positional[0].name) if positional else None
    afn = None if is_async or target is fn else _async_twin(fn, inject)
    return CallSpec(fn, is_async, takes_state, inject, annotation, hints.get("return"), afn)


def _async_twin(obj: Any, inject: tuple[str, ...]) -> Callable[..., Any] | None:
    """``obj.ainvoke`` when it is a coroutine function accepting the injected names."""
    twin = getattr(type(obj), "ainvoke", None)
    if not inspect.iscoroutinefunction(twin):
        return None
    params = inspect.signature(twin).parameters
    if not all(name in params for name in inject):
        return None
    return obj.ainvoke


ERROR_PARAM = "error"
"""How an error handler's ``NodeError`` parameter is passed (by keyword)."""


def inspect_error_handler(fn: Callable[..., Any], what: str) -> CallSpec:
    """``inspect_callable`` for an error handler: its ``NodeError`` parameter is injected.

    That parameter is the one annotated ``NodeError``, else the one named ``error``;
    it is passed as ``error=`` (through a small adapter when it has another name).
    """
    from graphkit.errors import NodeError

    spec = inspect_callable(fn, what)
    target = fn if inspect.isfunction(fn) or inspect.ismethod(fn) else getattr(fn, "__call__", fn)  # noqa: B004
    try:
        params = list(inspect.signature(target).parameters.values())
    except (TypeError, ValueError):
        return spec
    hints = hints_or_empty(target)
    wanted = [p for p in params if hints.get(p.name) is NodeError] or [
        p for p in params if p.name == ERROR_PARAM
    ]
    if not wanted:
        return spec
    param = wanted[0]
    others = [
        p
        for p in params
        if p is not param
        and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        and p.name not in INJECTABLE
    ]
    takes_state = bool(others) or any(p.kind == p.VAR_POSITIONAL for p in params)
    call = fn if param.name == ERROR_PARAM else _renamed_error(fn, param.name)
    annotation = hints.get(others[0].name) if others else None
    return CallSpec(
        call,
        spec.is_async,
        takes_state,
        (*spec.inject, ERROR_PARAM),
        annotation,
        spec.return_annotation,
    )


def _renamed_error(fn: Callable[..., Any], name: str) -> Callable[..., Any]:
    def call(*args: Any, error: Any, **kwargs: Any) -> Any:
        return fn(*args, **{name: error}, **kwargs)

    return call


def function_name(fn: Any) -> str:
    """A readable name for a function, method or callable object."""
    return str(getattr(fn, "__name__", None) or type(fn).__name__)


def declared_destinations(fn: Callable[..., Any]) -> tuple[str, ...] | None:
    """Targets named by a ``-> Command[Literal["a", "b"]]`` return annotation, if any
    (also inside a union). A plain ``-> Literal[...]`` names values a node returns, not
    where it goes, so it declares nothing (as in LangGraph)."""
    ret = _return_hint(fn)
    commands = [t for t in _walk_types(ret) if get_origin(t) is Command]
    return _literal_values([arg for c in commands for arg in _walk_types(c)[1:]])


def returned_literals(fn: Callable[..., Any]) -> tuple[str, ...] | None:
    """The values a ``-> Literal["a", "b"]`` return annotation names (a routing
    function's targets), if any."""
    return _literal_values(_walk_types(_return_hint(fn)))


def _return_hint(fn: Callable[..., Any]) -> Any:
    target = fn if inspect.isfunction(fn) or inspect.ismethod(fn) else getattr(fn, "__call__", fn)  # noqa: B004
    return hints_or_empty(target).get("return")


def _literal_values(types: list[Any]) -> tuple[str, ...] | None:
    found = [str(a) for t in types if get_origin(t) is typing.Literal for a in get_args(t)]
    return tuple(found) if found else None


def may_route_dynamically(fn: Callable[..., Any]) -> bool:
    """True when a node may return a ``Command``/``Send`` to targets we cannot see.

    Judged from the return annotation, else from the names its code refers to.
    """
    target = fn if inspect.isfunction(fn) or inspect.ismethod(fn) else getattr(fn, "__call__", fn)  # noqa: B004
    function = getattr(target, "__func__", target)
    code = getattr(function, "__code__", None)
    if code is not None and _calls_a_graph(function, code):
        return True
    ret = hints_or_empty(target).get("return")
    if ret is not None:
        return any(t is Command or get_origin(t) is Command or t is Send for t in _walk_types(ret))
    if code is None:
        return True
    return bool({"Command", "Send"} & set(_code_names(code)))


def _calls_a_graph(function: Any, code: Any) -> bool:
    """True when the function refers to a compiled graph (a global or closure variable):
    a graph invoked inside a node may route its parent with ``Command.PARENT``."""
    from graphkit.engine.compiled import CompiledStateGraph

    module_globals = getattr(function, "__globals__", {})
    referred = [module_globals.get(n) for n in _code_names(code)]
    cells = getattr(function, "__closure__", None) or ()
    referred += [cell.cell_contents for cell in cells if _cell_filled(cell)]
    return any(isinstance(obj, CompiledStateGraph) for obj in referred)


def _cell_filled(cell: Any) -> bool:
    try:
        cell.cell_contents  # noqa: B018
    except ValueError:
        return False
    return True


def named_targets(fn: Callable[..., Any], known: set[str]) -> tuple[str, ...]:
    """Node names (of ``known``) that ``fn``'s code spells out as string constants.

    A hint for drawing dynamic routes: ``lambda s: [Send("worker", x) ...]`` can only
    reach "worker". Empty when the code names none (targets then come from data).
    """
    target = fn if inspect.isfunction(fn) or inspect.ismethod(fn) else getattr(fn, "__call__", fn)  # noqa: B004
    function = getattr(target, "__func__", target)
    code = getattr(function, "__code__", None)
    if code is None:
        return ()
    module_globals = getattr(function, "__globals__", {})
    named = [g for g in map(module_globals.get, _code_names(code)) if isinstance(g, str)]
    return tuple(dict.fromkeys(s for s in [*_code_strings(code), *named] if s in known))


def _code_strings(code: Any) -> list[str]:
    found: list[str] = []
    for const in code.co_consts:
        if isinstance(const, str):
            found.append(const)
        elif isinstance(const, (tuple, frozenset)):
            found.extend(c for c in const if isinstance(c, str))
        elif inspect.iscode(const):
            found.extend(_code_strings(const))
    return found


def _code_names(code: Any) -> list[str]:
    names = list(code.co_names)
    for const in code.co_consts:
        if inspect.iscode(const):
            names.extend(_code_names(const))
    return names


def _walk_types(tp: Any) -> list[Any]:
    """``tp`` and everything nested in it; a ``Literal[...]`` is kept whole."""
    if get_origin(tp) is typing.Literal:
        return [tp]
    out = [tp]
    for arg in get_args(tp):
        out.extend(_walk_types(arg))
    return out


@dataclass(slots=True)
class NodeDef:
    """A node as the builder holds it (before compile)."""

    name: str
    call: CallSpec
    retry_policy: RetryPolicy | Sequence[RetryPolicy] | None = None
    input_schema: Any = None
    defer: bool = False
    destinations: dict[str, str] | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    subgraph: Any = None
    """The compiled graph, when the node is a subgraph."""
    cache_policy: CachePolicy[Any] | None = None
    """Cache this node's writes by its input (needs ``compile(cache=...)``)."""
    timeout: TimeoutPolicy | None = None
    """Limits of each attempt (async nodes only)."""
    error_handler: str | None = None
    """Name of the node that handles this one's failure (``__error_handler__<name>``)."""
    is_error_handler: bool = False
    """This node only runs when the node it handles fails."""

    @property
    def runnable(self) -> CallSpec:
        """How the node is called, by LangGraph's name (``StateNodeSpec.runnable``):
        ``builder.nodes[name].runnable.func`` is the function given to ``add_node``."""
        return self.call


@dataclass(slots=True)
class BranchDef:
    """A conditional edge: ``path(state)`` picks the next node(s)."""

    source: str
    name: str
    call: CallSpec
    path_map: dict[Hashable, str] | None
    input_schema: Any = None
    """The state schema its path function is annotated with, when not the graph's."""

    def targets(self) -> list[str]:
        """The nodes this branch can route to (known only with a path_map)."""
        return list(dict.fromkeys(self.path_map.values())) if self.path_map else []


def normalize_path_map(
    path: Callable[..., Any], path_map: dict[Hashable, str] | Sequence[str] | None
) -> dict[Hashable, str] | None:
    """A dict path_map; a list maps each name to itself; a Literal return type infers one."""
    if path_map is None:
        declared = returned_literals(path)
        if declared is None:
            return None
        return {name: name for name in declared}
    if isinstance(path_map, dict):
        return dict(path_map)
    if isinstance(path_map, (list, tuple, set, frozenset)):
        return {name: name for name in path_map}
    raise NodeConfigError(
        f"path_map must be a dict of label -> node or a list of node names, got {path_map!r}."
    )
