"""Tools: plain typed Python functions described to a model by JSON schema.

``@tool`` reads the name, the docstring (first paragraph = description, Google
style ``Args:`` = parameter descriptions) and the signature (pydantic builds the
schema and validates calls)::

    >>> @tool
    ... def add(a: int, b: int) -> int:
    ...     '''Add two integers.
    ...
    ...     Args:
    ...         a: first addend
    ...         b: second addend
    ...     '''
    ...     return a + b
    >>> add.invoke({"a": 1, "b": "2"})
    3
    >>> add.schema["properties"]["a"]
    {'description': 'first addend', 'type': 'integer'}

Parameters named ``state``, ``store``, ``config`` or ``tool_call_id`` (or
annotated with ``InjectedState`` / ``InjectedStore`` / ``InjectedConfig`` /
``InjectedToolCallId``), and parameters annotated ``ToolRuntime``, are filled in
by ``ToolNode``; the model never sees them.
"""

from __future__ import annotations

import asyncio
import enum
import inspect
import re
import typing
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, cast, get_args, get_origin, overload

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, create_model
from typing_extensions import TypeVar, is_typeddict

from graphkit._hints import resolve_hints
from graphkit._langchain import (
    LangChainDirectlyInjectedArg,
    LangChainInjectedArg,
    adopt_langchain_injection,
    from_langchain_tool,
    is_langchain_call_id_marker,
    is_langchain_tool,
)
from graphkit.context import ToolEvents, tool_events
from graphkit.errors import GraphkitError, InvalidToolError, MissingStateKeyError, ToolCallError

__all__ = [
    "InjectedConfig",
    "InjectedState",
    "InjectedStore",
    "InjectedToolCallId",
    "Tool",
    "ToolArgumentsError",
    "ToolInvocationError",
    "ToolRuntime",
    "convert_to_tool",
    "tool",
]

InjectionKind = Literal["state", "store", "config", "tool_call_id", "runtime"]
ResponseFormat = Literal["content", "content_and_artifact"]
"""What a tool's function returns: the content, or ``(content, artifact)``."""

ContextT = TypeVar("ContextT", default=Any)
StateT = TypeVar("StateT", default=Any)


class _Injected(LangChainInjectedArg):
    """Base of the annotation markers that hide a parameter from the model (also
    from LangChain's schemas: ``LangChainInjectedArg``)."""

    kind: InjectionKind


class InjectedState(_Injected):
    """``Annotated[dict, InjectedState]`` gets the graph state;
    ``Annotated[list, InjectedState("messages")]`` gets one key of it."""

    kind: InjectionKind = "state"

    def __init__(self, field: str | None = None) -> None:
        self.field = field


class InjectedStore(_Injected):
    """``Annotated[BaseStore, InjectedStore]`` gets the graph's long-term store."""

    kind: InjectionKind = "store"


class InjectedConfig(_Injected):
    """``Annotated[dict, InjectedConfig]`` gets the run config."""

    kind: InjectionKind = "config"


class InjectedToolCallId(_Injected):
    """``Annotated[str, InjectedToolCallId]`` gets the id of the tool call being run."""

    kind: InjectionKind = "tool_call_id"


def _noop_writer(chunk: Any) -> None:
    """The stream writer of a run that streams nothing custom."""


@dataclass
class ToolRuntime(LangChainDirectlyInjectedArg, Generic[ContextT, StateT]):
    """What a tool parameter annotated ``ToolRuntime`` receives from ``ToolNode``.

    ``ToolRuntime[Ctx]`` types ``context``. A dataclass, so
    ``dataclasses.replace(runtime, state=...)`` makes a changed copy.
    """

    state: StateT
    """The graph state the tool call runs in."""
    context: ContextT
    """The run's ``context`` (``invoke(..., context=...)``)."""
    config: dict[str, Any]
    """The run config."""
    stream_writer: Callable[[Any], None] | None
    """Sends a chunk to ``stream_mode="custom"``."""
    tool_call_id: str | None
    """The id of the tool call being run."""
    store: Any
    """The graph's long-term memory store, if it has one."""
    tools: list[Any] = field(default_factory=list)
    """The tools of the ``ToolNode`` running the call."""
    execution_info: Any = None
    """Where the run is (thread, checkpoint, task), when the engine provides it."""
    server_info: Any = None
    """The server the graph runs on, when deployed."""


_INJECTED_BY_NAME: dict[str, InjectionKind] = {
    "state": "state",
    "store": "store",
    "config": "config",
    "tool_call_id": "tool_call_id",
}


class ToolArgumentsError(GraphkitError, ValueError):
    """The arguments the model gave a tool do not match its schema.

    ``str(error)`` is what the model is shown: the tool, the arguments it sent
    and what is wrong with them (only arguments the model controls; injected
    ones never appear). ``filtered_errors`` holds pydantic's error dicts.
    """

    def __init__(
        self, tool_name: str, error: ValidationError, tool_kwargs: dict[str, Any] | None = None
    ) -> None:
        self.tool_name = tool_name
        self.tool_kwargs = dict(tool_kwargs or {})
        self.source = error
        self.validation_error = error
        self.filtered_errors: list[Any] = list(error.errors())
        problems = "\n".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(arguments)'}: {e['msg']}"
            for e in self.filtered_errors
        )
        super().__init__(
            f"Error invoking tool {tool_name!r} with kwargs {self.tool_kwargs} with error:\n"
            f" {problems}\n Please fix the error and try again."
        )


ToolInvocationError = ToolArgumentsError
"""LangGraph's name for ``ToolArgumentsError``."""


@dataclass(slots=True)
class Injection:
    """One parameter that ``ToolNode`` fills in instead of the model."""

    kind: InjectionKind
    """What is injected."""
    state_field: str | None = None
    """For ``InjectedState("key")``: inject only that key of the state."""
    optional: bool = False
    """The parameter has a default: a missing state key injects None instead of failing."""


@dataclass(slots=True)
class Tool:
    """A callable the model may ask for: name, description, argument schema, function."""

    name: str
    """What the model calls it by."""
    description: str
    """What the tool does, from the docstring."""
    args_model: type[BaseModel]
    """Validates the model's arguments; its JSON schema is what the model sees."""
    func: Callable[..., Any] | None = None
    """The sync implementation (None for schema-only or async-only tools)."""
    coroutine: Callable[..., Awaitable[Any]] | None = None
    """The async implementation, if the function is ``async def``."""
    injections: dict[str, Injection] = field(default_factory=dict)
    """Parameters filled in by ``ToolNode`` (state, store, config, tool_call_id)."""
    return_direct: bool = False
    """Ask ``create_react_agent`` to end the run after this tool answers."""
    extras: dict[str, Any] = field(default_factory=dict)
    """Provider-specific keys added to the tool's definition, as LangChain's ``extras``,
    e.g. ``{"cache_control": {"type": "ephemeral"}}`` for Anthropic prompt caching."""
    response_format: ResponseFormat = "content"
    """``"content"``: the return value is what the model sees; ``"content_and_artifact"``:
    the function returns ``(content, artifact)``, the model sees ``content`` and the
    ``ToolMessage`` keeps ``artifact`` (raw data for the app, not sent to the model)."""
    reports_itself: bool = False
    """The function reports the tool's run to LangChain's callbacks itself (a LangChain
    tool run through its own ``invoke``): in a run that reports runs (callbacks,
    ``astream_events``) graphkit reports none for it, so the run shows once."""
    from_langchain: bool = False
    """Made from a LangChain tool: the ``ToolMessage`` its call streams (``"tools"``) is
    LangChain's, as the tool's own ``invoke`` makes it under LangGraph."""

    @property
    def schema(self) -> dict[str, Any]:
        """The JSON schema of the arguments (no title; descriptions kept)."""
        schema = self.args_model.model_json_schema()
        schema.pop("title", None)
        for prop in schema.get("properties", {}).values():
            prop.pop("title", None)
        return schema

    def validate_args(self, args: dict[str, Any]) -> dict[str, Any]:
        """Check ``args`` against the schema; return the validated keyword arguments."""
        try:
            model = self.args_model.model_validate(args)
        except ValidationError as exc:
            raise ToolArgumentsError(self.name, exc, args) from None
        values = {name: getattr(model, name) for name in type(model).model_fields}
        return {**(model.model_extra or {}), **values}

    def invoke(self, args: dict[str, Any], **injected: Any) -> Any:
        """Validate ``args``, add the injected values this tool asks for, call it.

        ``injected`` may hold ``state``, ``store``, ``config``, ``tool_call_id``
        and ``runtime``; only those the tool declares are passed on (None when
        not given).

        ``args`` may also be a whole ``ToolCall`` (``{"name", "args", "id", "type":
        "tool_call"}``): the tool then answers with a ``ToolMessage`` for it, as
        LangChain's tools do (a ``ToolMessage`` or ``Command`` the tool returns is kept).
        """
        call, args, injected = _unpacked(args, injected)
        kwargs = {**self.validate_args(args), **self.injected_values(injected)}
        output = self.run(kwargs, tool_call_id=injected.get("tool_call_id"), input=args)
        return self._content_only(output) if call is None else self._answer(call, output)

    async def ainvoke(self, args: dict[str, Any], **injected: Any) -> Any:
        """Async ``invoke``: awaits async tools, runs sync ones in a worker thread."""
        call, args, injected = _unpacked(args, injected)
        kwargs = {**self.validate_args(args), **self.injected_values(injected)}
        output = await self.arun(kwargs, tool_call_id=injected.get("tool_call_id"), input=args)
        return self._content_only(output) if call is None else self._answer(call, output)

    def _answer(self, call: dict[str, Any], output: Any) -> Any:
        """The ``ToolMessage`` answering ``call`` with ``output``."""
        from graphkit.messages import ToolMessage
        from graphkit.prebuilt.tool_node import msg_content_output
        from graphkit.types import Command

        if isinstance(output, (ToolMessage, Command)):
            return output
        content, artifact = self.split_output(output)
        return ToolMessage(
            content=msg_content_output(content),
            tool_call_id=call["id"],
            name=self.name,
            artifact=artifact,
        )

    def split_output(self, output: Any) -> tuple[Any, Any]:
        """``(content, artifact)`` of what the function returned (artifact None for
        ``response_format="content"``); a ``content_and_artifact`` tool must return a pair."""
        if self.response_format != "content_and_artifact":
            return output, None
        if not isinstance(output, tuple) or len(output) != 2:
            raise InvalidToolError(
                f"tool {self.name!r} has response_format='content_and_artifact', so it must "
                f"return a two-tuple (content, artifact); it returned {type(output).__name__}"
            )
        return output

    def _content_only(self, output: Any) -> Any:
        return self.split_output(output)[0] if self.response_format != "content" else output

    def run(
        self, kwargs: dict[str, Any], *, tool_call_id: str | None = None, input: Any = None
    ) -> Any:
        """Call the function with complete, validated keyword arguments.

        Inside a graph streaming ``"tools"`` the call reports ``tool-started`` (with
        ``input``, else ``kwargs``) and ``tool-finished``/``tool-error`` under
        ``tool_call_id`` (a fresh id when None).
        """
        if self.func is None and self.coroutine is None:
            raise InvalidToolError(
                f"tool {self.name!r} only describes a schema and has no function to run; "
                "build it from a function with @tool to make it callable"
            )
        events = self._events(kwargs, tool_call_id, input)
        inside = None if events.run is None else events.run.enter()
        try:
            if self.func is not None:
                output = self.func(**kwargs)
            else:
                output = run_sync(lambda: self.coroutine(**kwargs))  # type: ignore[misc]
        except BaseException as exc:
            events.failed(exc)
            raise
        finally:
            if inside is not None:
                events.run.leave(inside)
        events.finished(output, self.response_format)
        return output

    async def arun(
        self, kwargs: dict[str, Any], *, tool_call_id: str | None = None, input: Any = None
    ) -> Any:
        """Async ``run``: awaits async tools, runs sync ones in a worker thread."""
        if self.coroutine is None and self.func is None:
            return self.run(kwargs, tool_call_id=tool_call_id, input=input)
        events = self._events(kwargs, tool_call_id, input)
        inside = None if events.run is None else await events.run.aenter()
        try:
            if self.coroutine is not None:
                output = await self.coroutine(**kwargs)
            else:
                output = await asyncio.to_thread(self.func, **kwargs)  # type: ignore[arg-type]
        except BaseException as exc:
            events.failed(exc)
            raise
        finally:
            if inside is not None:
                events.run.leave(inside)
        events.finished(output, self.response_format)
        return output

    def _events(self, kwargs: dict[str, Any], tool_call_id: str | None, input: Any) -> ToolEvents:
        """Announce this call (``input``, else ``kwargs``) to the streams that take it."""
        return tool_events(
            self.name,
            tool_call_id,
            kwargs if input is None else input,
            self.description,
            not self.reports_itself,
            langchain=self.from_langchain,
        )

    def injected_values(self, available: dict[str, Any], *, strict: bool = False) -> dict[str, Any]:
        """The keyword arguments this tool's injected parameters get from ``available``.

        ``available`` maps injection kinds (``state``, ``store``, ``config``,
        ``tool_call_id``, ``runtime``) to values. With ``strict``, a missing state
        key raises ``KeyError`` (unless the parameter has a default) and a missing
        store raises ``ValueError``, as ``ToolNode`` wants.
        """
        kwargs: dict[str, Any] = {}
        for param, injection in self.injections.items():
            value = available.get(injection.kind)
            if injection.kind == "store" and value is None and strict:
                raise ToolCallError(
                    f"Tool {self.name!r} needs a store (parameter {param!r}) but the graph "
                    "has none: compile the graph with compile(store=InMemoryStore())."
                )
            if injection.state_field is not None:
                value = _state_field(value, injection, self.name, strict)
            kwargs[param] = value
        return kwargs

    def as_node(self) -> Callable[..., Any]:
        """This tool as a graph node (``add_node(tool)``): the state is its arguments,
        keys it does not take ignored, as LangGraph runs a LangChain tool added as a node.
        The state is also what ``InjectedState`` parameters get."""
        fields = set(self.args_model.model_fields)

        def arguments(state: Any) -> dict[str, Any]:
            if isinstance(state, Mapping):
                return {k: v for k, v in state.items() if k in fields}
            if isinstance(state, BaseModel):
                return {k: getattr(state, k) for k in fields if hasattr(state, k)}
            return {}

        if self.func is None and self.coroutine is not None:

            async def anode(state: Any) -> Any:
                return await self.ainvoke(arguments(state), state=state)

            node: Callable[..., Any] = anode
        else:

            def node(state: Any) -> Any:
                return self.invoke(arguments(state), state=state)

        node.__name__ = node.__qualname__ = self.name
        returns = getattr(self.func or self.coroutine, "__annotations__", {}).get("return")
        if returns is not None and not isinstance(returns, str):
            node.__annotations__["return"] = returns  # Command[Literal[...]] destinations
        return node

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the underlying function directly (no validation), like the undecorated one."""
        target = self.func or self.coroutine
        if target is None:
            raise InvalidToolError(f"tool {self.name!r} has no function to call")
        return target(*args, **kwargs)


def _unpacked(
    args: dict[str, Any], injected: dict[str, Any]
) -> tuple[dict[str, Any] | None, dict[str, Any], dict[str, Any]]:
    """``(tool call, its arguments, injected values with its id)`` when ``args`` is a
    whole ``ToolCall``; ``(None, args, injected)`` when it is the arguments."""
    if isinstance(args, dict) and args.get("type") == "tool_call" and "args" in args:
        return args, args["args"], {**injected, "tool_call_id": args["id"]}
    return None, args, injected


def _state_field(state: Any, injection: Injection, tool_name: str, strict: bool) -> Any:
    key = injection.state_field
    assert key is not None
    if isinstance(state, dict):
        if key in state:
            return state[key]
    elif state is not None and hasattr(state, key):
        return getattr(state, key)
    if not strict or injection.optional:
        return None
    if isinstance(state, dict):
        raise MissingStateKeyError(key)
    raise MissingStateKeyError(
        f"Tool {tool_name!r} needs the state key {key!r}, but the state it was given "
        f"({type(state).__name__}) has none. Give ToolNode the graph state (a dict or "
        "state object), not a list of messages."
    )


def run_sync(make: Callable[[], Awaitable[Any]]) -> Any:
    """Run the coroutine ``make()`` to completion from sync code.

    With no event loop running here, ``asyncio.run``; inside a running loop
    (a sync node of an async graph run), on a worker thread with its own loop,
    keeping the caller's context variables.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(_as_coroutine(make()))
    import contextvars
    from concurrent.futures import ThreadPoolExecutor

    ctx = contextvars.copy_context()
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(ctx.run, lambda: asyncio.run(_as_coroutine(make()))).result()


async def _as_coroutine(awaitable: Awaitable[Any]) -> Any:
    return await awaitable


@overload
def tool(func: Callable[..., Any], /) -> Tool: ...


@overload
def tool(
    name: str | None = None,
    /,
    *,
    description: str | None = None,
    args_schema: type[BaseModel] | None = None,
    return_direct: bool = False,
    extras: dict[str, Any] | None = None,
    response_format: ResponseFormat = "content",
) -> Callable[[Callable[..., Any]], Tool]: ...


def tool(
    func_or_name: Callable[..., Any] | str | None = None,
    /,
    *,
    description: str | None = None,
    args_schema: type[BaseModel] | None = None,
    return_direct: bool = False,
    extras: dict[str, Any] | None = None,
    response_format: ResponseFormat = "content",
) -> Tool | Callable[[Callable[..., Any]], Tool]:
    """Make a ``Tool`` from a function: ``@tool``, ``@tool("name")`` or ``@tool(description=...)``.

    ``args_schema`` (a pydantic model) replaces the schema read from the signature;
    its fields are passed to the function as keyword arguments. ``extras`` are
    provider keys for the tool's definition (see ``Tool.extras``).
    ``response_format="content_and_artifact"``: the function returns
    ``(content, artifact)`` (see ``Tool.response_format``).
    """
    if response_format not in ("content", "content_and_artifact"):
        raise InvalidToolError(
            f"response_format must be 'content' or 'content_and_artifact', got {response_format!r}"
        )

    def build(func: Callable[..., Any]) -> Tool:
        return _tool_from_function(
            func,
            name=func_or_name if isinstance(func_or_name, str) else None,
            description=description,
            args_schema=args_schema,
            return_direct=return_direct,
            extras=extras,
            response_format=response_format,
        )

    if callable(func_or_name) and not isinstance(func_or_name, str):
        return build(func_or_name)
    return build


def _tool_from_function(
    func: Callable[..., Any],
    *,
    name: str | None,
    description: str | None,
    args_schema: type[BaseModel] | None,
    return_direct: bool,
    extras: dict[str, Any] | None = None,
    response_format: ResponseFormat = "content",
) -> Tool:
    tool_name = name or func.__name__
    summary, arg_docs = _parse_docstring(inspect.getdoc(func) or "")
    if not (description or summary or (args_schema and args_schema.__doc__)):
        description = f"Call {tool_name}."
    signature = inspect.signature(func)
    hints = resolve_hints(func)
    injections: dict[str, Injection] = {}
    fields: dict[str, Any] = {}
    for param in signature.parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD) or param.name in ("self", "cls"):
            continue
        annotation = hints.get(param.name, Any)
        has_default = param.default is not inspect.Parameter.empty
        injection = _injection_for(param.name, annotation, optional=has_default)
        if injection is not None:
            injections[param.name] = injection
            continue
        default = param.default if has_default else ...
        fields[param.name] = (annotation, Field(default, description=arg_docs.get(param.name)))
    if args_schema is not None:
        model, schema_injections = _without_injected_fields(args_schema)
        injections = {**schema_injections, **injections}
    else:
        model = create_model(
            f"{_camel(tool_name)}Args",
            __config__=ConfigDict(arbitrary_types_allowed=True),
            **fields,
        )
    is_async = inspect.iscoroutinefunction(func)
    return Tool(
        name=tool_name,
        description=description or summary or (args_schema.__doc__ or "" if args_schema else ""),
        args_model=model,
        func=None if is_async else func,
        coroutine=func if is_async else None,
        injections=injections,
        return_direct=return_direct,
        extras=dict(extras or {}),
        response_format=response_format,
    )


def _injection_for(name: str, annotation: Any, *, optional: bool = False) -> Injection | None:
    """What a parameter gets injected, judged from its annotation, else its name.

    A ``RunnableConfig`` annotation gets the config whatever the name (as in
    LangChain). By name, ``state``/``store``/``config`` are injected unless annotated
    with a plain value type (``state: str`` is the model's argument, e.g. a US state,
    as LangGraph treats it); ``tool_call_id`` by name always is.
    """
    found = _marker_in(annotation, optional)
    if found is not None:
        return found
    if _is_runnable_config(annotation):
        return Injection("config", optional=optional)
    kind = _INJECTED_BY_NAME.get(name)
    if kind is None or (kind != "tool_call_id" and _is_plain_value(annotation)):
        return None
    return Injection(kind, optional=optional)


def _is_runnable_config(annotation: Any) -> bool:
    """``RunnableConfig`` (graphkit's or LangChain's), possibly ``Optional``."""
    return any(
        getattr(arg, "__name__", None) == "RunnableConfig"
        and getattr(arg, "__module__", "").startswith(("graphkit", "langchain_core"))
        for arg in _without_none(annotation)
    )


def _is_plain_value(annotation: Any) -> bool:
    """A JSON-like scalar type (``str``, ``int``, ``Literal[...]``, an ``Enum``...):
    what a model supplies, never a state, store or config."""
    for arg in _without_none(annotation):
        if get_origin(arg) is Literal or arg in (str, int, float, bool, bytes):
            return True
        if isinstance(arg, type) and issubclass(arg, enum.Enum):
            return True
    return False


def _without_none(annotation: Any) -> tuple[Any, ...]:
    if get_origin(annotation) is typing.Union or type(annotation).__name__ == "UnionType":
        return tuple(a for a in get_args(annotation) if a is not type(None))
    return (annotation,)


def _marker_in(annotation: Any, optional: bool) -> Injection | None:
    if _is_tool_runtime(annotation):
        return Injection("runtime", optional=optional)
    origin = get_origin(annotation)
    if origin is typing.Annotated:
        return _marker_of(get_args(annotation)[1:], optional) or _marker_in(
            get_args(annotation)[0], optional
        )
    if origin is typing.Union or type(annotation).__name__ == "UnionType":
        for arg in get_args(annotation):
            found = _marker_in(arg, optional)
            if found is not None:
                return found
    return None


def _marker_of(metadata: Sequence[Any], optional: bool) -> Injection | None:
    for marker in metadata:
        if isinstance(marker, _Injected):
            return Injection(marker.kind, getattr(marker, "field", None), optional)
        if isinstance(marker, type) and issubclass(marker, _Injected):
            return Injection(marker.kind, optional=optional)
        if is_langchain_call_id_marker(marker):
            return Injection("tool_call_id", optional=optional)
    return None


def declares_graph_injections(func: Callable[..., Any]) -> bool:
    """Whether ``func`` marks a parameter for ``ToolNode`` to fill from the run
    (``InjectedState``, ``InjectedStore``, ``InjectedConfig``, a ``ToolRuntime``)."""
    try:
        hints = resolve_hints(func)
    except (TypeError, NameError):
        return False
    return any(
        (found := _marker_in(hint, False)) is not None and found.kind != "tool_call_id"
        for name, hint in hints.items()
        if name != "return"
    )


def _is_tool_runtime(annotation: Any) -> bool:
    target = get_origin(annotation) or annotation
    return isinstance(target, type) and issubclass(target, ToolRuntime)


def _without_injected_fields(
    schema: type[BaseModel],
) -> tuple[type[BaseModel], dict[str, Injection]]:
    """``schema`` minus its injected fields (the model never fills them), and those fields."""
    fields = getattr(schema, "model_fields", None)
    if not isinstance(fields, dict):
        return schema, {}
    injections: dict[str, Injection] = {}
    for name, info in fields.items():
        optional = not info.is_required()
        found = _marker_of(info.metadata, optional) or _marker_in(info.annotation, optional)
        if found is not None:
            injections[name] = found
    if not injections:
        return schema, {}
    kept = {
        name: (info.annotation, info) for name, info in fields.items() if name not in injections
    }
    stripped = create_model(  # type: ignore[call-overload]
        schema.__name__,
        __config__=ConfigDict(arbitrary_types_allowed=True),
        __doc__=schema.__doc__,
        **kept,
    )
    return stripped, injections


_ARG_LINE = re.compile(r"^(\*{0,2}\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")


def _parse_docstring(doc: str) -> tuple[str, dict[str, str]]:
    """Split a Google-style docstring into (first paragraph, {arg: description})."""
    paragraphs = doc.strip().split("\n\n")
    summary = " ".join(paragraphs[0].split()) if paragraphs and paragraphs[0] else ""
    if summary.startswith(("Args:", "Arguments:")):
        summary = ""
    args: dict[str, str] = {}
    in_args, current, args_indent = False, None, 0
    for line in doc.splitlines():
        stripped = line.strip()
        if stripped in ("Args:", "Arguments:", "Parameters:"):
            in_args, current = True, None
            continue
        if not in_args:
            continue
        if stripped.endswith(":") and not line.startswith((" ", "\t")):
            break  # next section (Returns:, Raises:)
        match = _ARG_LINE.match(stripped)
        if match and (current is None or _indent(line) <= args_indent):
            current, args_indent = match.group(1).lstrip("*"), _indent(line)
            args[current] = match.group(2).strip()
        elif current and stripped:
            args[current] = f"{args[current]} {stripped}".strip()
    return summary, args


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^0-9a-zA-Z]", name))


def convert_to_tool(obj: Any) -> Tool:
    """Turn what users pass to ``bind_tools`` into a ``Tool``.

    Accepts a ``Tool``; a function (as ``@tool`` would); a pydantic model or a
    TypedDict class (a schema-only tool named after the class, its docstring the
    description); or a dict: ``{"name", "description", "parameters"}``, the
    Anthropic form with ``input_schema``, or the OpenAI form
    ``{"type": "function", "function": {...}}``; or a LangChain tool (run through its
    own ``invoke``).
    """
    if isinstance(obj, Tool):
        return obj
    if isinstance(obj, type) and issubclass(obj, BaseModel):
        return Tool(name=obj.__name__, description=_class_doc(obj), args_model=obj)
    if is_typeddict(obj):
        return Tool(
            name=obj.__name__,
            description=_class_doc(obj),
            args_model=_model_from_typeddict(obj),
        )
    if isinstance(obj, dict):
        return _tool_from_dict(obj)
    if is_langchain_tool(obj):
        return cast(Tool, from_langchain_tool(obj))
    if callable(obj):
        return tool(obj)
    raise InvalidToolError(
        f"cannot use a {type(obj).__name__} as a tool: pass a function, a @tool, "
        "a pydantic model, a TypedDict or a JSON-schema dict with a 'name'"
    )


def _class_doc(cls: type) -> str:
    doc = inspect.getdoc(cls) or ""
    if cls.__doc__ is None or doc.startswith(("A base class", "Usage docs:")):
        return ""
    return _parse_docstring(doc)[0]


def _model_from_typeddict(td: type) -> type[BaseModel]:
    adapter: TypeAdapter[Any] = TypeAdapter(td)
    schema = adapter.json_schema()

    class _TypedDictArgs(BaseModel):
        model_config = ConfigDict(extra="allow")

        @classmethod
        def model_json_schema(cls, *args: Any, **kwargs: Any) -> dict[str, Any]:
            return dict(schema)

        @classmethod
        def model_validate(cls, obj: Any, *args: Any, **kwargs: Any) -> _TypedDictArgs:
            return cls(**adapter.validate_python(obj))

    _TypedDictArgs.__name__ = td.__name__
    return _TypedDictArgs


def _tool_from_dict(spec: dict[str, Any]) -> Tool:
    if spec.get("type") == "function" and isinstance(spec.get("function"), dict):
        spec = spec["function"]
    if "name" not in spec:
        raise InvalidToolError(f"a tool dict needs a 'name'; got keys {sorted(spec)}")
    parameters = (
        spec.get("parameters")
        or spec.get("input_schema")
        or {
            "type": "object",
            "properties": {},
        }
    )
    return Tool(
        name=spec["name"],
        description=spec.get("description", ""),
        args_model=_model_from_json_schema(spec["name"], parameters),
        extras={k: spec[k] for k in ("cache_control", "defer_loading", "strict") if k in spec},
    )


def _model_from_json_schema(name: str, schema: dict[str, Any]) -> type[BaseModel]:
    """A permissive model that reports ``schema`` verbatim and accepts any object."""

    class _SchemaArgs(BaseModel):
        model_config = ConfigDict(extra="allow")

        @classmethod
        def model_json_schema(cls, *args: Any, **kwargs: Any) -> dict[str, Any]:
            return dict(schema)

    _SchemaArgs.__name__ = _camel(name)
    return _SchemaArgs


adopt_langchain_injection()
