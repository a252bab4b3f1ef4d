"""State schemas (TypedDict, pydantic model or dataclass) turned into channel specs.

Each key of a schema is a channel. ``Annotated[T, reducer]`` makes the channel merge
writes with ``reducer(old, new)``; other keys keep the last value written. A type
without fields (``list[str]``, ``Annotated[list, operator.add]``) is a *root* state:
one channel, ``ROOT``, whose value nodes receive and return as is. All
introspection happens here, once, when the graph is built, so the runtime never
reflects on types.
"""

from __future__ import annotations

import dataclasses
import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, cast, get_args, get_origin

from pydantic import BaseModel, TypeAdapter, ValidationError

from graphkit._hints import hints_or_empty, resolve_hints
from graphkit._langchain import mentions_langchain_message
from graphkit._langchain_view import langchain_values
from graphkit.channels.base import CONCRETE_COLLECTIONS, BaseChannel
from graphkit.errors import (
    GraphCompileError,
    InvalidReducerError,
    InvalidStateError,
    InvalidUpdateError,
    revalidation_error,
)
from graphkit.managed import ManagedKind, managed_kind
from graphkit.messages import channel_reducer

Reducer = Callable[[Any, Any], Any]
SchemaKind = Literal["typeddict", "pydantic", "dataclass", "root"]

ROOT = "__root__"
"""The one channel of a root state (``StateGraph(Annotated[list, operator.add])``)."""


@dataclass(slots=True)
class ChannelSpec:
    """One state key: how writes to it merge and how it starts."""

    name: str
    """The key."""
    annotation: Any
    """Its declared type, without the reducer."""
    reducer: Reducer | None = None
    """Merges an old value with a new write; None keeps the last value."""
    initial: Callable[[], Any] | None = None
    """Makes the value a reducer starts from (``list`` for a list); None: first write wins."""
    one_step: bool = False
    """The value lasts one step (``graphkit.channels``: ``Topic``, ``EphemeralValue``,
    ``AnyValue``): each step's writes merge from ``initial``, not from the old value,
    and a step that does not write the key clears it."""
    untracked: bool = False
    """Never saved in a checkpoint (``graphkit.channels.UntrackedValue``)."""
    absent_until_written: bool = False
    """No value before the first write, which merges from ``initial`` (a ``Topic``)."""

    def __post_init__(self) -> None:
        self.reducer = channel_reducer(self.reducer)


@dataclass(slots=True)
class Schema:
    """A state schema, inspected once: its kind, keys and channels."""

    cls: Any
    """The class (or, for a root state, the type) the schema was read from."""
    kind: SchemaKind
    channels: dict[str, ChannelSpec]
    managed: dict[str, ManagedKind] = field(default_factory=dict)
    """Keys whose value the engine computes (``graphkit.managed``): not channels."""
    keys: tuple[str, ...] = field(init=False)
    langchain_keys: frozenset[str] = field(init=False)
    """Keys of a pydantic state declared with LangChain's message types (e.g.
    ``list[langchain_core.messages.AnyMessage]``): the model gets LangChain's messages
    there, as in LangGraph, while the channel holds graphkit's (the engine's readers
    hand ``make`` those keys as LangChain's: ``GraphTables.langchain``)."""

    def __post_init__(self) -> None:
        self.keys = tuple(self.channels)
        self.langchain_keys = frozenset(
            key
            for key, spec in self.channels.items()
            if self.kind == "pydantic" and mentions_langchain_message(spec.annotation)
        )

    def model_values(self, values: dict[str, Any]) -> dict[str, Any]:
        """``values`` as the pydantic model takes them (LangChain's messages in the keys
        that declare them)."""
        if not self.langchain_keys:
            return values
        return langchain_values(values, self.langchain_keys)

    @property
    def name(self) -> str:
        """The schema's name for messages."""
        return str(getattr(self.cls, "__name__", None) or self.cls)

    def make(self, values: dict[str, Any]) -> Any:
        """The object a node receives: a dict, an instance of the schema class, or (root
        state) the root value.

        Channels hold the values as written; a pydantic model is built from them with
        validation each time (its validators run for every reader, as in LangGraph), and
        a value it rejects raises ``InvalidStateError``. Keys that speak LangChain come
        in as LangChain's already (see ``langchain_keys``)."""
        if self.kind == "typeddict":
            return values
        if self.kind == "root":
            return values.get(ROOT)
        if self.kind == "pydantic":
            try:
                return self.cls(**values)
            except ValidationError as exc:
                raise revalidation_error(InvalidStateError, self.name, exc) from None
        return self.cls(**values)


def is_typeddict(cls: Any) -> bool:
    """True for TypedDict classes (``typing`` or ``typing_extensions``)."""
    return isinstance(cls, type) and issubclass(cls, dict) and hasattr(cls, "__total__")


def inspect_schema(cls: Any, *, role: str = "state_schema") -> Schema:
    """Read the channels of a TypedDict, pydantic model, dataclass or annotated class;
    any other type is a root state (one channel, ``ROOT``)."""
    if is_typeddict(cls):
        kind: SchemaKind = "typeddict"
        hints = type_hints(cls)
    elif isinstance(cls, type) and issubclass(cls, BaseModel):
        kind = "pydantic"
        hints = _pydantic_hints(cls)
    elif isinstance(cls, type) and dataclasses.is_dataclass(cls):
        kind = "dataclass"
        hints = type_hints(cls)
        names = {f.name for f in dataclasses.fields(cls)}
        hints = {k: v for k, v in hints.items() if k in names}
    elif _has_fields(cls):  # a plain class with annotations: its fields, as a dict
        kind = "typeddict"
        hints = type_hints(cls)
    elif role != "state_schema":
        raise GraphCompileError(
            f"{role} must be a TypedDict, a pydantic BaseModel or a dataclass, got "
            f"{cls!r}. Declare it as e.g. `class Input(TypedDict): x: int`."
        )
    else:
        return Schema(cls=cls, kind="root", channels={ROOT: _channel(ROOT, cls, cls)})
    managed = _managed_keys(cls, kind, hints)
    channels = {
        name: _channel(name, hint, cls) for name, hint in hints.items() if name not in managed
    }
    return Schema(cls=cls, kind=kind, channels=channels, managed=managed)


def _managed_keys(cls: Any, kind: SchemaKind, hints: dict[str, Any]) -> dict[str, ManagedKind]:
    """The keys declared ``RemainingSteps`` / ``IsLastStep`` (a pydantic field keeps
    the marker in its metadata)."""
    managed: dict[str, ManagedKind] = {}
    for name, hint in hints.items():
        metadata = cls.model_fields[name].metadata if kind == "pydantic" else ()
        found = managed_kind(hint, metadata)
        if found is not None:
            managed[name] = found
    return managed


def _has_fields(cls: Any) -> bool:
    """A user class (not a builtin such as ``list``) that annotates fields."""
    if not isinstance(cls, type) or cls.__module__ == "builtins":
        return False
    return bool(type_hints(cls))


def type_hints(cls: Any) -> dict[str, Any]:
    """``get_type_hints`` that also resolves names local to the function defining ``cls``.

    With ``from __future__ import annotations`` a schema defined inside a function may
    name a reducer local to it; the caller frames' locals are tried before giving up.
    """
    try:
        return resolve_hints(cls)
    except NameError as first_error:
        raise GraphCompileError(
            f"Cannot resolve the annotations of {cls.__name__}: {first_error}. Define the "
            "names it uses (reducers, types) at module level."
        ) from first_error


def _pydantic_hints(cls: type[BaseModel]) -> dict[str, Any]:
    hints: dict[str, Any] = {}
    for name, info in cls.model_fields.items():
        reducers = [m for m in info.metadata if _looks_like_reducer(m) or _is_channel(m)]
        hints[name] = (
            typing.Annotated[info.annotation, reducers[-1]] if reducers else info.annotation
        )
    return hints


def _is_channel(meta: Any) -> bool:
    """A channel object or class (``Topic(str)``, ``LastValue``) in ``Annotated`` metadata."""
    return isinstance(meta, BaseChannel) or (
        isinstance(meta, type) and issubclass(meta, BaseChannel)
    )


def _declared(name: str, base: Any, channel: Any) -> ChannelSpec:
    """The spec of a key declared with a channel (a class gets the key's type)."""
    if isinstance(channel, type):
        channel = channel(base)
    rule = channel.rule()
    channel.key = name
    initial = _initial_factory(rule.initial_type) if rule.initial_type is not None else None
    return ChannelSpec(
        name, base, rule.reducer, initial, rule.one_step, rule.untracked, rule.absent_until_written
    )


def _looks_like_reducer(meta: Any) -> bool:
    """Callables in ``Annotated`` metadata are reducers; pydantic/annotated_types markers are not."""
    if isinstance(meta, type) or not callable(meta):
        return False
    return type(meta).__module__.split(".")[0] not in (
        "annotated_types",
        "pydantic",
        "pydantic_core",
    )


def _channel(name: str, hint: Any, owner: Any) -> ChannelSpec:
    if get_origin(hint) is typing.Annotated:
        base, *metadata = get_args(hint)
        channels = [m for m in metadata if _is_channel(m)]
        if channels:
            return _declared(name, base, channels[-1])
        reducers = [m for m in metadata if _looks_like_reducer(m)]
        if reducers:
            reducer = reducers[-1]
            check_reducer(reducer, name, owner)
            return ChannelSpec(name, base, reducer, _initial_factory(base))
        return ChannelSpec(name, base)
    return ChannelSpec(name, hint)


def check_reducer(reducer: Any, key: str, owner: Any) -> None:
    """Raise unless ``reducer`` can be called with two positional arguments."""
    where = f"key {key!r} of {getattr(owner, '__name__', owner)}"
    if not callable(reducer):
        raise InvalidReducerError(f"Invalid reducer of {where}: not callable: {reducer!r}.")
    try:
        sig = inspect.signature(reducer)
    except (TypeError, ValueError):
        return  # some builtins hide their signature; trust them
    try:
        sig.bind(None, None)
    except TypeError:
        raise InvalidReducerError(
            f"Invalid reducer of {where} ({getattr(reducer, '__name__', reducer)!r}): it must accept "
            f"two arguments (current value, update), but its signature is {sig}. "
            "Write it as `def reducer(left, right): ...`."
        ) from None


def _initial_factory(annotation: Any) -> Callable[[], Any] | None:
    """What a reducer key starts at (``list`` for ``list[str]`` or ``Sequence[str]``),
    so the reducer sees the first write too: ``add_messages`` turns an input of
    ``"hi"`` into ``[HumanMessage("hi")]``. None when the type has no empty value."""
    origin = get_origin(annotation) or annotation
    origin = CONCRETE_COLLECTIONS.get(origin, origin)
    if origin is typing.Union or not isinstance(origin, type):
        return None
    try:
        origin()
    except Exception:
        return None
    return origin


def state_fields(obj: Any) -> dict[str, Any] | None:
    """Every field of a state object (a pydantic model or dataclass instance) by name;
    None for anything else. The one place that reads a state object as a mapping.

    >>> @dataclasses.dataclass
    ... class S:
    ...     a: int = 1
    ...     b: str | None = None
    >>> state_fields(S()), state_fields({"a": 1})
    ({'a': 1, 'b': None}, None)
    """
    if isinstance(obj, BaseModel):
        return {k: getattr(obj, k) for k in type(obj).model_fields}
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
    return None


def update_from_object(obj: Any, node: str) -> dict[str, Any]:
    """A node's return value as ``{key: value}``: dicts as is, a state object by its
    fields, as LangGraph takes them: a dataclass's all; a pydantic model's but those
    that are None by default and were not set (``model_fields_set``)."""
    if isinstance(obj, dict):
        return obj
    fields = state_fields(obj)
    if fields is not None:
        if not isinstance(obj, BaseModel):
            return fields
        given = obj.model_fields_set
        declared = type(obj).model_fields
        return {
            k: v
            for k, v in fields.items()
            if v is not None or k in given or declared[k].default is not None
        }
    raise InvalidUpdateError(
        f"Node {node!r} returned {type(obj).__name__} ({obj!r:.80}); a node must return a "
        "dict of state keys to update (or a pydantic/dataclass state object, a Command, or None)."
    )


def registrable_types(schema: Schema) -> list[type[Any]]:
    """Classes named in a schema (models, dataclasses, named tuples, enums), also through
    the fields of those classes and of TypedDicts, that the serializer must know."""
    import enum

    from graphkit.stores.serde import is_namedtuple_class, is_pydantic_v1_class

    found: list[type[Any]] = []
    seen: set[int] = set()

    def visit(tp: Any) -> None:
        if id(tp) in seen:
            return
        seen.add(id(tp))
        for arg in get_args(tp):
            visit(arg)
        if not isinstance(tp, type):
            return
        if issubclass(tp, BaseModel):
            found.append(tp)
            for info in tp.model_fields.values():
                visit(info.annotation)
        elif dataclasses.is_dataclass(tp) or is_namedtuple_class(tp) or is_pydantic_v1_class(tp):
            found.append(tp)
            _visit_fields(tp)
        elif issubclass(tp, enum.Enum):
            found.append(tp)
        elif is_typeddict(tp):
            _visit_fields(tp)

    def _visit_fields(tp: type[Any]) -> None:
        # resolved hints: a field may name its type as a string (a forward reference,
        # or any field under ``from __future__ import annotations``)
        for hint in hints_or_empty(tp, include_extras=True).values():
            visit(hint)

    if schema.kind in ("pydantic", "dataclass"):
        found.append(schema.cls)
    for spec in schema.channels.values():
        visit(spec.annotation)
    return found


def json_schema(schema: Schema, title: str) -> dict[str, Any]:
    """The JSON schema of a state schema, as LangGraph's ``get_input_jsonschema`` gives it.

    A pydantic model or TypedDict gives its own; a dataclass gives its fields (a field
    without default is optional when its type allows None); a root state, its type.
    """
    cls = schema.cls
    if schema.kind == "pydantic":
        return dict(cls.model_json_schema())
    if schema.kind == "root":
        return type_json_schema(schema.channels[ROOT].annotation, title)
    if is_typeddict(cls):
        try:
            return dict(TypeAdapter(cls).json_schema())
        except Exception:  # types pydantic cannot describe: fall back to the fields
            pass
    fields: dict[str, Any] = {
        key: (spec.annotation, _field_default(cls, key, spec.annotation))
        for key, spec in schema.channels.items()
    }
    return _model_schema(title, fields)


def type_json_schema(annotation: Any, title: str) -> dict[str, Any]:
    """The JSON schema of one type (a root state, an entrypoint's input or output, a
    context schema)."""
    if is_typeddict(annotation) or _has_fields(annotation):
        return json_schema(inspect_schema(annotation), title)
    try:
        found = dict(TypeAdapter(annotation).json_schema())
    except Exception:
        found = {}
    return {**found, "title": title}


def schema_model(schema: Schema, title: str, *, optional: bool = False) -> type[BaseModel]:
    """A state schema as a pydantic model named ``title`` (a pydantic schema is its own
    model; a root state, a ``RootModel`` of its type; other kinds, a model of their keys,
    each typed as declared or ``Any`` where pydantic cannot build it). ``optional``: every
    key defaults to None (an output, whose keys a run may never write, as LangGraph's)."""
    from pydantic import ConfigDict, RootModel, create_model

    if schema.kind == "pydantic":
        return cast(type[BaseModel], schema.cls)
    if schema.kind == "root":
        return cast(type[BaseModel], RootModel[schema.channels[ROOT].annotation])  # type: ignore[misc]
    config = ConfigDict(arbitrary_types_allowed=True)
    fields: dict[str, Any] = {
        key: (
            spec.annotation,
            None if optional else _field_default(schema.cls, key, spec.annotation),
        )
        for key, spec in schema.channels.items()
    }
    try:
        return create_model(title, __config__=config, **fields)
    except Exception:  # types pydantic cannot build: the keys, untyped
        untyped: dict[str, Any] = dict.fromkeys(fields, (Any, None))
        return create_model(title, __config__=config, **untyped)


def _model_schema(title: str, fields: dict[str, Any]) -> dict[str, Any]:
    from pydantic import ConfigDict, create_model

    try:
        model = create_model(title, __config__=ConfigDict(arbitrary_types_allowed=True), **fields)
        return dict(model.model_json_schema())
    except Exception:
        return {"title": title, "type": "object", "properties": {k: {} for k in fields}}


def _field_default(cls: Any, key: str, annotation: Any) -> Any:
    """A field's default for the schema: its own, None when its type allows None, else
    required (``...``)."""
    if dataclasses.is_dataclass(cls):
        for f in dataclasses.fields(cls):
            if f.name == key:
                if f.default is not dataclasses.MISSING:
                    return f.default
                if f.default_factory is not dataclasses.MISSING:
                    return f.default_factory()
    elif is_typeddict(cls):
        return ... if key in getattr(cls, "__required_keys__", (key,)) else None
    elif isinstance(cls, type) and key in cls.__dict__:
        return cls.__dict__[key]
    return None if _allows_none(annotation) else ...


def _allows_none(annotation: Any) -> bool:
    if get_origin(annotation) is typing.Annotated:
        annotation = get_args(annotation)[0]
    return annotation is None or type(None) in get_args(annotation)
