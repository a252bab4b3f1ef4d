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
``InjectedToolCallId``) are filled in by ``ToolNode``; the model never sees them.
"""

from __future__ import annotations

import asyncio
import inspect
import re
import typing
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal, cast, get_args, get_origin, overload

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, create_model
from typing_extensions import is_typeddict

from graphkit.context import tool_events

__all__ = [
    "InjectedConfig",
    "InjectedState",
    "InjectedStore",
    "InjectedToolCallId",
    "Tool",
    "ToolArgumentsError",
    "convert_to_tool",
    "tool",
]

InjectionKind = Literal["state", "store", "config", "tool_call_id"]


class _Injected:
    """Base of the annotation markers that hide a parameter from the model."""

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


_INJECTED_BY_NAME: dict[str, InjectionKind] = {
    "state": "state",
    "store": "store",
    "config": "config",
    "tool_call_id": "tool_call_id",
}


class ToolArgumentsError(ValueError):
    """The arguments given to a tool do not match its schema."""

    def __init__(self, tool_name: str, error: ValidationError) -> None:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(arguments)'}: {e['msg']}"
            for e in error.errors()
        )
        super().__init__(
            f"invalid arguments for tool {tool_name!r}: {problems}. "
            "Call it again with arguments that match its schema."
        )
        self.tool_name = tool_name
        self.validation_error = error


@dataclass(slots=True)
class Injection:
    """One parameter that ``ToolNode`` fills in instead of the model."""

    kind: InjectionKind
    """What is injected."""
    state_field: str | None = None
    """For ``InjectedState("key")``: inject only that key of the state."""


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
            raise ToolArgumentsError(self.name, exc) from None
        values = {name: getattr(model, name) for name in type(model).model_fields}
        return {**(model.model_extra or {}), **values}

    def invoke(self, args: dict[str, Any], **injected: Any) -> Any:
        """Validate ``args``, add the injected values this tool asks for, call it.

        ``injected`` may hold ``state``, ``store``, ``config`` and ``tool_call_id``;
        only those the tool declares are passed on.
        """
        kwargs = {**self.validate_args(args), **self._injected_kwargs(injected)}
        if self.func is None and self.coroutine is None:
            raise TypeError(
                f"tool {self.name!r} only describes a schema and has no function to run; "
                "build it from a function with @tool to make it callable"
            )
        events = tool_events(self.name, injected.get("tool_call_id"), args)
        try:
            if self.func is not None:
                output = self.func(**kwargs)
            else:
                assert self.coroutine is not None
                output = _run_coroutine_sync(self.coroutine(**kwargs), self.name)
        except BaseException as exc:
            events.failed(exc)
            raise
        events.finished(output)
        return output

    async def ainvoke(self, args: dict[str, Any], **injected: Any) -> Any:
        """Async ``invoke``: awaits async tools, runs sync ones in a worker thread."""
        if self.coroutine is None and self.func is None:
            return self.invoke(args, **injected)
        kwargs = {**self.validate_args(args), **self._injected_kwargs(injected)}
        events = tool_events(self.name, injected.get("tool_call_id"), args)
        try:
            if self.coroutine is not None:
                output = await self.coroutine(**kwargs)
            else:
                output = await asyncio.to_thread(self.func, **kwargs)  # type: ignore[arg-type]
        except BaseException as exc:
            events.failed(exc)
            raise
        events.finished(output)
        return output

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the underlying function directly (no validation), like the undecorated one."""
        target = self.func or self.coroutine
        if target is None:
            raise TypeError(f"tool {self.name!r} has no function to call")
        return target(*args, **kwargs)

    def _injected_kwargs(self, available: dict[str, Any]) -> dict[str, Any]:
        kwargs: dict[str, Any] = {}
        for param, injection in self.injections.items():
            value = available.get(injection.kind)
            if injection.state_field is not None and value is not None:
                value = (
                    value.get(injection.state_field)
                    if isinstance(value, dict)
                    else getattr(value, injection.state_field, None)
                )
            kwargs[param] = value
        return kwargs


def _run_coroutine_sync(coro: Awaitable[Any], name: str) -> Any:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(cast(typing.Coroutine[Any, Any, Any], coro))
    cast(typing.Coroutine[Any, Any, Any], coro).close()
    raise RuntimeError(
        f"tool {name!r} is async and an event loop is running here; use `await tool.ainvoke(...)`"
    )


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
) -> Callable[[Callable[..., Any]], Tool]: ...


def tool(
    func_or_name: Callable[..., Any] | str | None = None,
    /,
    *,
    description: str | None = None,
    args_schema: type[BaseModel] | None = None,
    return_direct: bool = False,
) -> Tool | Callable[[Callable[..., Any]], Tool]:
    """Make a ``Tool`` from a function: ``@tool``, ``@tool("name")`` or ``@tool(description=...)``.

    ``args_schema`` (a pydantic model) replaces the schema read from the signature;
    its fields are passed to the function as keyword arguments.
    """

    def build(func: Callable[..., Any]) -> Tool:
        return _tool_from_function(
            func,
            name=func_or_name if isinstance(func_or_name, str) else None,
            description=description,
            args_schema=args_schema,
            return_direct=return_direct,
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
) -> Tool:
    tool_name = name or func.__name__
    summary, arg_docs = _parse_docstring(inspect.getdoc(func) or "")
    if not (description or summary or (args_schema and args_schema.__doc__)):
        description = f"Call {tool_name}."
    signature = inspect.signature(func)
    hints = typing.get_type_hints(func, include_extras=True)
    injections: dict[str, Injection] = {}
    fields: dict[str, Any] = {}
    for param in signature.parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD) or param.name in ("self", "cls"):
            continue
        annotation = hints.get(param.name, Any)
        injection = _injection_for(param.name, annotation)
        if injection is not None:
            injections[param.name] = injection
            continue
        default = ... if param.default is inspect.Parameter.empty else param.default
        fields[param.name] = (annotation, Field(default, description=arg_docs.get(param.name)))
    model = args_schema or create_model(
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
    )


def _injection_for(name: str, annotation: Any) -> Injection | None:
    if get_origin(annotation) is typing.Annotated:
        for marker in get_args(annotation)[1:]:
            if isinstance(marker, _Injected):
                return Injection(marker.kind, getattr(marker, "field", None))
            if isinstance(marker, type) and issubclass(marker, _Injected):
                return Injection(marker.kind)
    kind = _INJECTED_BY_NAME.get(name)
    return Injection(kind) if kind else None


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
    ``{"type": "function", "function": {...}}``.
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
    if callable(obj):
        return tool(obj)
    raise TypeError(
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
        raise ValueError(f"a tool dict needs a 'name'; got keys {sorted(spec)}")
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
