"""How pydantic models (chat messages above all) are stored: the compact record.

A conversation is thousands of messages, and reading a thread decodes every one, so
the record of a model holds only what cannot be rebuilt from its class::

    [tag, {field: value, ...}]               # the fields set, or not at their default
    [tag, {field: value, ...}, fields_set]   # when fields_set is not those keys

``tag`` is a small int for graphkit's own message classes (:data:`TAGS`; the table is
part of the format: entries are only ever appended) or the registered class name.
Values are plain msgpack (no extension inside): a model holding anything else (a
datetime, a nested model, a tuple) keeps the generic record ``[name, all fields,
fields_set]`` (extension code 14), which is also how older graphkit wrote every model.

Decoding builds the instance the way ``model_construct`` would (no validation: we
wrote it), from a per-class dict display of the defaults, with the four instance slots
set through their descriptors. A record can only name a registered pydantic class,
only name fields that class has, and must give every field without a default;
anything else is reported as corrupt.
"""

from __future__ import annotations

import copy
import datetime
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from uuid import UUID

TAGS: tuple[str, ...] = (
    "graphkit.messages:HumanMessage",
    "graphkit.messages:AIMessage",
    "graphkit.messages:SystemMessage",
    "graphkit.messages:ToolMessage",
    "graphkit.messages:AIMessageChunk",
    "graphkit.messages:RemoveMessage",
)
"""Registered names written as their index (one byte instead of thirty). Append only."""

_TAG_OF = {name: index for index, name in enumerate(TAGS)}

_IMMUTABLE_DEFAULTS = (type(None), bool, int, str, bytes)
"""Default values shared by every instance (written as literals). Not
float: ``-0.0 == 0.0``, so a float field is always stored."""
_FACTORIES = (dict, list, set)
"""``default_factory`` values whose product is a fresh empty container."""

_REQUIRED = object()
"""Template placeholder of a field that every record must give."""


class BadModelRecord(ValueError):
    """A compact model record that graphkit cannot have written (corrupt or crafted)."""


@dataclass(slots=True, eq=False)
class ModelSpec:
    """What encoding and decoding need to know about one pydantic class."""

    cls: Any
    """The model class."""
    names: frozenset[str]
    """Its field names."""
    fields: tuple[tuple[str, Any, Any], ...]
    """(name, default or _REQUIRED, factory or None) per field, in declaration order."""
    required: tuple[str, ...]
    """Fields with no default this codec can rebuild: always stored."""
    set_dict: Callable[[Any, Any], None]
    """``__set__`` of the instance slot ``__dict__`` (and the three below of theirs)."""
    set_fields_set: Callable[[Any, Any], None]
    set_extra: Callable[[Any, Any], None]
    set_private: Callable[[Any, Any], None]
    fresh: Callable[[], dict[str, Any]]
    """A new ``__dict__`` of defaults in field order (fresh containers, placeholders)."""
    kept: Callable[[dict[str, Any], set[str]], dict[str, Any]]
    """(``__dict__``, fields_set) -> the fields a record stores."""


_specs: dict[type, ModelSpec | None] = {}
"""Per class: its spec, or None when it must use the generic record."""


def spec_of(cls: Any) -> ModelSpec | None:
    """The spec of a plain pydantic class (cached); None for any other class, and for
    pydantic classes that need ``model_construct`` (post-init hooks or private
    attributes, root models, extra fields kept) or whose slots are not pydantic's own."""
    try:
        return _specs[cls]
    except KeyError:
        pass
    found = _build_spec(cls)
    _specs[cls] = found
    return found


def _build_spec(cls: Any) -> ModelSpec | None:
    if not (
        isinstance(getattr(cls, "__pydantic_fields__", None), dict)
        and isinstance(getattr(cls, "model_config", None), dict)
    ):
        return None
    if (
        getattr(cls, "__pydantic_post_init__", None)
        or getattr(cls, "__pydantic_root_model__", False)
        or cls.model_config.get("extra") == "allow"
    ):
        return None
    setters = [_slot_setter(cls, slot) for slot in _SLOTS]
    if any(s is None for s in setters):
        return None
    fields: list[tuple[str, Any, Any]] = []
    required: list[str] = []
    for name, info in cls.__pydantic_fields__.items():
        factory = info.default_factory
        default = info.default
        if factory is not None:
            if factory not in _FACTORIES:
                factory, default = None, _REQUIRED
            else:
                default = _REQUIRED
        elif type(default) not in _IMMUTABLE_DEFAULTS:  # PydanticUndefined, mutable...
            default = _REQUIRED
        if default is _REQUIRED and factory is None:
            required.append(name)
        fields.append((name, default, factory))
    set_dict, set_fields_set, set_extra, set_private = setters
    assert set_dict and set_fields_set and set_extra and set_private
    fresh, kept = _generated(fields)
    return ModelSpec(
        cls=cls,
        names=frozenset(name for name, _, _ in fields),
        fields=tuple(fields),
        required=tuple(required),
        set_dict=set_dict,
        set_fields_set=set_fields_set,
        set_extra=set_extra,
        set_private=set_private,
        fresh=fresh,
        kept=kept,
    )


def _generated(
    fields: list[tuple[str, Any, Any]],
) -> tuple[Callable[[], dict[str, Any]], Callable[[dict[str, Any], set[str]], dict[str, Any]]]:
    """``fresh`` and ``kept`` of a spec, written out per class as straight-line code
    (as dataclasses writes ``__init__``): a dict display of literals builds in one step
    where a loop over the fields costs a Python iteration each. The source holds only
    ``repr`` of field names (str) and of defaults of the types in _IMMUTABLE_DEFAULTS,
    whose reprs are literals."""
    items: list[str] = []
    lines = ["def kept(values, fields_set):", "    out = {}"]
    for name, default, factory in fields:
        key = repr(name)
        if factory is not None:
            items.append(f"{key}: {_EMPTY[factory]}")
            differs = f"type(v) is not {factory.__name__} or v"
        elif default is _REQUIRED:
            items.append(f"{key}: _REQUIRED")
            differs = "True"
        elif default is None or type(default) is bool:
            items.append(f"{key}: {default!r}")
            differs = f"v is not {default!r}"
        else:
            items.append(f"{key}: {default!r}")
            differs = f"type(v) is not {type(default).__name__} or v != {default!r}"
        lines += [
            f"    v = values[{key}]",
            f"    if {key} in fields_set or {differs}:",
            f"        out[{key}] = v",
        ]
    lines.append("    return out")
    source = "def fresh():\n    return {" + ", ".join(items) + "}\n" + "\n".join(lines) + "\n"
    namespace: dict[str, Any] = {"_REQUIRED": _REQUIRED}
    exec(compile(source, "<graphkit model codec>", "exec"), namespace)
    return namespace["fresh"], namespace["kept"]


_EMPTY: dict[Any, str] = {dict: "{}", list: "[]", set: "set()"}


_SLOTS = ("__dict__", "__pydantic_fields_set__", "__pydantic_extra__", "__pydantic_private__")


def _slot_setter(cls: type, slot: str) -> Callable[[Any, Any], None] | None:
    """The ``__set__`` of the descriptor behind ``slot`` (2.5x faster than setattr)."""
    for klass in cls.__mro__:
        found = vars(klass).get(slot)
        if found is not None:
            setter: Callable[[Any, Any], None] | None = getattr(found, "__set__", None)
            return setter
    return None


# ------------------------------------------------------------------ encoding
def record(spec: ModelSpec, obj: Any, name: str) -> list[Any] | None:
    """The compact record of ``obj`` (registered as ``name``); None when the instance
    does not fit it (fields missing from or added to ``__dict__``, extra values)."""
    values = obj.__dict__
    if values.keys() != spec.names or getattr(obj, "__pydantic_extra__", None):
        return None
    fields_set = obj.__pydantic_fields_set__
    out = spec.kept(values, fields_set)
    tag: int | str = _TAG_OF.get(name, name)
    if fields_set == out.keys():
        return [tag, out]
    return [tag, out, sorted(fields_set)]


# ------------------------------------------------------------------ decoding
def tag_name(tag: Any) -> str:
    """The registered name a record's tag stands for."""
    if type(tag) is int and 0 <= tag < len(TAGS):
        return TAGS[tag]
    if type(tag) is str:
        return tag
    raise BadModelRecord(f"a model record's tag is {tag!r}, not a known class")


Decoder = Callable[[list[Any]], Any]
"""Builds the instance a record ``[tag, values(, fields_set)]`` describes."""


def decoder(spec: ModelSpec | None, cls: Any) -> Decoder:
    """The record decoder of ``cls`` (``spec`` None: through ``model_construct``).

    Everything it reads per call is a local of the closure: a conversation is decoded
    message by message, so each attribute lookup saved counts ten thousand times."""
    if spec is None:

        def construct(payload: list[Any]) -> Any:
            values = payload[1]
            if type(values) is not dict:
                raise BadModelRecord("a model record's values are not a map")
            fields_set = set(values) if len(payload) == 2 else _names(payload[2])
            return cls.model_construct(_fields_set=fields_set, **values)

        return construct

    fresh = spec.fresh
    count = len(spec.fields)
    required = spec.required
    make = cls.__new__
    set_dict, set_fields_set = spec.set_dict, spec.set_fields_set
    set_extra, set_private = spec.set_extra, spec.set_private

    def decode(payload: list[Any]) -> Any:
        values = payload[1]
        if type(values) is not dict:
            raise BadModelRecord("a model record's values are not a map")
        fields_set = set(values) if len(payload) == 2 else _names(payload[2])
        data = fresh()
        data.update(values)
        if len(data) != count:
            raise BadModelRecord(f"{cls.__qualname__} has no field(s) {_unknown(spec, values)}")
        for field in required:
            if data[field] is _REQUIRED:
                raise BadModelRecord(f"a {cls.__qualname__} record lacks field {field!r}")
        obj = make(cls)
        set_dict(obj, data)
        set_fields_set(obj, fields_set)
        set_extra(obj, None)
        set_private(obj, None)
        return obj

    return decode


def _names(names: Any) -> set[str]:
    if type(names) is not list or not all(type(n) is str for n in names):
        raise BadModelRecord("a model record's fields_set is not a list of names")
    return set(names)


def _unknown(spec: ModelSpec, values: dict[Any, Any]) -> list[str]:
    return sorted(map(repr, values.keys() - spec.names))[:3]


def new(spec: ModelSpec, data: dict[str, Any], fields_set: set[str]) -> Any:
    """An instance of ``spec.cls`` with exactly this ``__dict__`` (no validation)."""
    obj = spec.cls.__new__(spec.cls)
    spec.set_dict(obj, data)
    spec.set_fields_set(obj, fields_set)
    spec.set_extra(obj, None)
    spec.set_private(obj, None)
    return obj


def decode_generic(cls: Any, values: Any, fields_set: Any) -> Any:
    """The instance of a generic record ``[name, all fields, fields_set]`` (code 14)."""
    spec = spec_of(cls)
    if spec is not None and type(values) is dict and values.keys() == spec.names:
        return new(spec, values, set(fields_set))
    return cls.model_construct(_fields_set=set(fields_set), **values)


# ------------------------------------------------------------------ copying
IMMUTABLE: frozenset[type] = frozenset(
    {str, int, float, bool, type(None), bytes, complex, range, frozenset, type(Ellipsis)}
    | {datetime.datetime, datetime.date, datetime.time, datetime.timedelta, UUID, Decimal}
)
"""Types whose values are immutable: a copy may share them."""

Cloner = Callable[[Any], Any]
"""A fresh value equal to its argument, sharing nothing mutable with it."""

_cloners: dict[tuple[type, tuple[tuple[str, str], ...]], Cloner] = {}
"""Generated cloners by (class, shape) (see ``copier_of``)."""


def copy_value(value: Any) -> Any:
    """A deep copy of a decoded value: what decoding its bytes again would give (fresh
    containers and models, immutable values shared), faster than ``copy.deepcopy`` for
    the plain data and messages a conversation is made of."""
    kind = type(value)
    if kind in IMMUTABLE:
        return value
    if kind is dict:
        fresh = value.copy()  # in C; then only the mutable values are copied again
        for key, item in value.items():
            if type(item) not in IMMUTABLE:
                fresh[key] = copy_value(item)
        return fresh
    if kind is list:
        items = value.copy()
        for at, item in enumerate(value):
            if type(item) not in IMMUTABLE:
                items[at] = copy_value(item)
        return items
    clone = copier_of(value)
    if clone is not copy_value:
        return clone(value)
    return copy.deepcopy(value)


def shells(values: list[Any]) -> list[Any]:
    """New instances of the classes of ``values`` sharing their fields (``__dict__`` and
    the other instance slots, not copies of them): distinct objects for a fraction of
    a copy's cost, for a caller that changes neither in place. For plain pydantic
    models (``spec_of``); anything else is copied (``copy_value``). One loop, no call
    per value: a history is thousands of messages."""
    plain = _plain_models
    out: list[Any] = []
    add = out.append
    for obj in values:
        kind = type(obj)
        if kind not in plain and not _plain_model(kind):
            add(copy_value(obj))
            continue
        made = _new(kind)
        _set_dict(made, obj.__dict__)
        _set_fields_set(made, obj.__pydantic_fields_set__)
        _set_extra(made, obj.__pydantic_extra__)
        _set_private(made, obj.__pydantic_private__)
        add(made)
    return out


_plain_models: set[type] = set()
"""Classes ``shells`` makes instances of: those with a spec, whose instance slots are
pydantic ``BaseModel``'s (the setters below)."""
_new = object.__new__
_set_dict: Callable[[Any, Any], None]
_set_fields_set: Callable[[Any, Any], None]
_set_extra: Callable[[Any, Any], None]
_set_private: Callable[[Any, Any], None]


def _plain_model(kind: type) -> bool:
    """Whether ``shells`` makes instances of ``kind`` (remembered in ``_plain_models``)."""
    global _set_dict, _set_fields_set, _set_extra, _set_private
    spec = spec_of(kind)
    if spec is None or kind.__new__ is not _new:
        return False
    setters = (spec.set_dict, spec.set_fields_set, spec.set_extra, spec.set_private)
    if not _plain_models:
        _set_dict, _set_fields_set, _set_extra, _set_private = setters
    if setters != (_set_dict, _set_fields_set, _set_extra, _set_private):
        return False
    _plain_models.add(kind)
    return True


def copier_of(obj: Any) -> Cloner:
    """What copies ``obj``: a generated cloner of its class and shape when it is a
    pydantic model of the plain shape cloners copy (its fields exactly, no extra or
    private values), ``dict.copy`` / ``list.copy`` for a dict or list of immutable
    values only, else ``copy_value``. Decide once per element, then copy many
    times: the cloner is only right for values that keep the shape they had here
    (a cache's private elements, or a value copied at once).

    The shape names the fields whose values are not immutable: empty ``dict``,
    ``list`` and ``set`` values are built anew, any other mutable value is copied
    with ``copy_value``, and everything else is shared by a C-level copy of
    ``__dict__`` (a short message's shape is its two empty dicts)."""
    kind = type(obj)
    if kind is dict or kind is list:
        # plain data (a chat message as a dict): a C-level copy when nothing in it is mutable
        values = obj.values() if kind is dict else obj
        if all(type(v) in IMMUTABLE for v in values):
            return dict.copy if kind is dict else list.copy
        return copy_value
    spec = _specs.get(kind, _UNSEEN)
    if spec is _UNSEEN:
        spec = spec_of(kind)
    if spec is None:
        return copy_value
    values = obj.__dict__
    if (
        values.keys() != spec.names
        or obj.__pydantic_extra__ is not None
        or obj.__pydantic_private__ is not None
        or type(obj.__pydantic_fields_set__) is not set
    ):
        return copy_value
    setters = (spec.set_dict, spec.set_fields_set, spec.set_extra, spec.set_private)
    return _cloner(kind, setters, _shape(values), "None")


def extra_model_copier(obj: Any) -> Cloner:
    """``copier_of`` for an instance of a pydantic class that keeps extra fields
    (``extra="allow"``, as LangChain's messages do; the stored record does not cover
    such classes) holding none: a generated cloner of its class and shape (the copy gets
    a fresh empty ``__pydantic_extra__``), else ``copy_value``. As ``copier_of``: right
    only for values of the shape they had when it was chosen."""
    kind = type(obj)
    setters = _extra_setters.get(kind, _UNSEEN)
    if setters is _UNSEEN:
        setters = _extra_setters[kind] = _setters_of_extra_model(kind)
    values = getattr(obj, "__dict__", None)
    if (
        setters is None
        or type(values) is not dict
        or values.keys() != kind.__pydantic_fields__.keys()
        or obj.__pydantic_extra__ != {}
        or obj.__pydantic_private__ is not None
        or type(obj.__pydantic_fields_set__) is not set
    ):
        return copy_value
    return _cloner(kind, setters, _shape(values), "{}")


_Setters = tuple[Callable[[Any, Any], None], ...]

_extra_setters: dict[type, _Setters | None] = {}
"""Per class that keeps extra fields: its slot setters, or None when it is not one
``extra_model_copier`` can copy."""


def _setters_of_extra_model(cls: Any) -> _Setters | None:
    config = getattr(cls, "model_config", None)
    if (
        not isinstance(getattr(cls, "__pydantic_fields__", None), dict)
        or not isinstance(config, dict)
        or config.get("extra") != "allow"
        or getattr(cls, "__pydantic_post_init__", None)
        or getattr(cls, "__pydantic_root_model__", False)
    ):
        return None
    setters = [_slot_setter(cls, slot) for slot in _SLOTS]
    return None if any(s is None for s in setters) else tuple(s for s in setters if s)


def _shape(values: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    """The fields of ``values`` (a model's ``__dict__``) a cloner replaces: empty
    containers (built anew), dicts and lists of immutable values (copied in C), lists
    of such dicts (content blocks: each copied in C) and other mutable values (copied
    with ``copy_value``)."""
    return tuple(
        (name, _mark(v, t))
        for name, v in values.items()
        if (t := type(v)) not in IMMUTABLE and not (t is tuple and _atomic_tuple(v))
    )


def _mark(value: Any, kind: type) -> str:
    """The shape mark of a field's mutable ``value`` (of type ``kind``)."""
    empty = _EMPTY.get(kind)
    if empty is not None and not value:
        return empty
    if kind is dict or kind is list:
        items = value.values() if kind is dict else value
        if all(type(v) in IMMUTABLE for v in items):
            return _FLAT
        if kind is list and all(type(v) is dict and _flat(v) for v in value):
            return _FLAT_ITEMS
        if kind is list and all(type(v) is dict and _nearly_flat(v) for v in value):
            return _NEARLY_FLAT_ITEMS
    return _MUTABLE


def _flat(value: dict[Any, Any] | list[Any]) -> bool:
    """All the values of a dict (items of a list) are immutable."""
    return all(type(v) in IMMUTABLE for v in (value.values() if type(value) is dict else value))


def _nearly_flat(value: dict[Any, Any]) -> bool:
    """All the values of a dict are immutable, or flat dicts or lists (a tool call)."""
    return all(
        type(v) in IMMUTABLE or (type(v) in (dict, list) and _flat(v)) for v in value.values()
    )


def _cloner(
    kind: type, setters: _Setters, shape: tuple[tuple[str, str], ...], extra: str
) -> Cloner:
    key = (kind, shape)
    clone = _cloners.get(key)
    if clone is None:
        clone = _cloners[key] = _generated_cloner(kind, setters, shape, extra)
    return clone


_UNSEEN: Any = object()
_MUTABLE = ""
"""Shape mark of a field whose value is copied with ``copy_value`` (else: its empty
literal, or one of the two below)."""
_FLAT = "flat"
"""Shape mark of a dict or list of immutable values: ``value.copy()``."""
_FLAT_ITEMS = "flat items"
"""Shape mark of a list of dicts of immutable values: ``[item.copy() for item in value]``."""
_NEARLY_FLAT_ITEMS = "nearly flat items"
"""Shape mark of a list of dicts whose values are immutable or flat (tool calls)."""
_COPIES = {
    _MUTABLE: "copy_value(d[{key}])",
    _FLAT: "d[{key}].copy()",
    _FLAT_ITEMS: "[item.copy() for item in d[{key}]]",
    _NEARLY_FLAT_ITEMS: (
        "[{{k: v.copy() if type(v) is dict or type(v) is list else v for k, v in item.items()}}"
        " for item in d[{key}]]"
    ),
}


def _atomic_tuple(value: tuple[Any, ...]) -> bool:
    return all(type(v) in IMMUTABLE for v in value)


def _generated_cloner(
    cls: type, setters: _Setters, shape: tuple[tuple[str, str], ...], extra: str
) -> Cloner:
    """A straight-line copier of one class and shape (as ``fresh``): ``__dict__`` is
    copied in C, then the fields of ``shape`` are replaced (fresh empty containers,
    copies of other mutable values: see ``_shape``); the instance slots are set as
    ``decoder`` sets them, ``__pydantic_extra__`` to ``extra`` (``"None"`` or ``"{}"``).
    The source holds only ``repr`` of field names, the literals of _EMPTY and _COPIES."""
    lines = ["def clone(obj):", "    d = obj.__dict__.copy()"]
    for name, mark in shape:
        key = repr(name)
        value = _COPIES[mark].format(key=key) if mark in _COPIES else mark
        lines.append(f"    d[{key}] = {value}")
    lines += [
        "    new = make(cls)",
        "    set_dict(new, d)",
        "    set_fields_set(new, obj.__pydantic_fields_set__.copy())",
        f"    set_extra(new, {extra})",
        "    set_private(new, None)",
        "    return new",
    ]
    set_dict, set_fields_set, set_extra, set_private = setters
    namespace: dict[str, Any] = {
        "make": cls.__new__,
        "cls": cls,
        "set_dict": set_dict,
        "set_fields_set": set_fields_set,
        "set_extra": set_extra,
        "set_private": set_private,
        "copy_value": copy_value,
    }
    exec(compile("\n".join(lines) + "\n", "<graphkit model cloner>", "exec"), namespace)
    clone: Cloner = namespace["clone"]
    return clone
