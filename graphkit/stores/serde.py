"""msgpack serialization with registered extension types.

Every value graphkit persists (channel values, pending writes, metadata) goes through
a :class:`Serializer`. Primitives (None, bool, int, float, str, bytes, list, dict) are
packed by msgpack's C packer; everything else (tuples, sets, big ints, datetimes, UUIDs,
Decimals, ``pathlib`` paths, compiled regular expressions, numpy arrays, deques,
``OrderedDict``/``Counter``/``defaultdict``, ``ipaddress`` values, ...) becomes a
msgpack extension whose payload is itself msgpack; other dict and list subclasses are
stored as plain dicts and lists (as LangGraph stores them). Classes (pydantic models,
``pydantic.v1`` models, dataclasses, Enums, named tuples and any ``register``-ed class)
are written with a type *name* (``"module:qualname"``) and, on load, looked up in the
registry only: a blob never makes us import a module it names.

>>> from dataclasses import dataclass
>>> @dataclass
... class Point:
...     x: int
...     y: int
>>> s = Serializer()
>>> s.loads(s.dumps({"p": Point(1, 2), "t": (1, 2), "s": {3}}))
{'p': Point(x=1, y=2), 't': (1, 2), 's': {3}}
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import datetime as dt
import decimal
import enum
import importlib
import pathlib
import pickle
import re
import sys
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Protocol

import msgpack

from graphkit.errors import GraphkitError, InvalidCallError
from graphkit.stores import _model_codec

__all__ = [
    "MAX_DEPTH",
    "Cipher",
    "SerdeError",
    "Serializer",
    "TypedSerializer",
    "UnserializableError",
    "as_serializer",
    "default_serializer",
    "register",
    "type_name",
]

_MAGIC = b"\xc1"  # a byte msgpack never emits: foreign bytes fail fast instead of decoding
PLAIN_HEADER = b"\xc1\x01"
"""What unencrypted :meth:`Serializer.dumps` output starts with (msgpack follows)."""
_ENCRYPTED = b"\xc1\x02"

# Extension codes. The payload of each is msgpack (decoded with the same hooks).
_TUPLE, _SET, _FROZENSET, _BIGINT = 1, 2, 3, 4
_DATETIME, _DATE, _TIME, _TIMEDELTA = 5, 6, 7, 8
_UUID, _DECIMAL, _ENUM, _NDARRAY, _NPSCALAR = 9, 10, 11, 12, 13
_PYDANTIC, _DATACLASS, _NAMEDTUPLE, _REGISTERED, _PICKLE = 14, 15, 16, 17, 18
_MODEL = 19  # a pydantic model's compact record (see _model_codec); 14 is the generic one
_PATH, _PATTERN = 20, 21
_PYDANTIC_V1 = 22  # a ``pydantic.v1`` model: [name, fields, fields_set]
_STDLIB = 23  # deque, OrderedDict, Counter, defaultdict, ipaddress, SecretStr: [kind, data, extra]
_RAW_PAYLOAD = frozenset({_BIGINT, _UUID, _DECIMAL, _PICKLE})


MAX_DEPTH = 128
"""How deeply objects stored as extension types (dataclasses, pydantic models, tuples,
sets, Enums, registered classes...) may nest inside one another.

Each such level costs the decoder a C-level recursion, so it is bounded on both
sides: ``dumps`` rejects a deeper value (naming where it is and how deep), and
``loads`` reports deeper data as corrupt instead of exhausting the C stack. Plain
lists and dicts nest up to msgpack's own limit (1024 levels per object) on top.
"""

_SHALLOW = 4
"""Extension levels decoded with ``msgpack.unpackb`` (fast, but it keeps a 40 KiB
parse stack on the C stack); deeper levels use an ``Unpacker`` (its stack on the heap)."""


class SerdeError(GraphkitError, ValueError):
    """A value could not be serialized, or bytes could not be deserialized.

    The message names the type, where it sits, and what to do about it.
    """


class UnserializableError(SerdeError, TypeError):
    """A value cannot be serialized: its type is not supported, or it nests too deep.

    Also a ``TypeError``, the error LangGraph's serializer raises for such a value, so
    ``except TypeError`` around a run keeps working.
    """


class Cipher(Protocol):
    """Encrypts whole blobs (after packing) and decrypts them (before unpacking)."""

    def encrypt(self, data: bytes) -> bytes: ...

    def decrypt(self, data: bytes) -> bytes: ...


@dataclasses.dataclass(slots=True)
class _Custom:
    """A registered class with its own encode/decode functions."""

    encode: Callable[[Any], Any]
    """Turns an instance into serializable data."""
    decode: Callable[[Any], Any]
    """Turns that data back into an instance."""


_registry_lock = threading.Lock()
_by_name: dict[str, type] = {}
_checked: dict[tuple[str, Any], type] = {}
"""(name, kind check) -> the registered class that passed it (cleared by ``register``)."""
_by_type: dict[type, str] = {}
_custom: dict[type, _Custom] = {}
_tagged: dict[int | str, _model_codec.Decoder] = {}
"""Compact model record tag -> the decoder of its registered class (cleared by ``register``)."""
_unpack_record = msgpack.unpackb


def type_name(cls: type) -> str:
    """The name a class is written under: ``"module:qualname"``."""
    return f"{cls.__module__}:{cls.__qualname__}"


def register(
    cls: type,
    name: str | None = None,
    *,
    encode: Callable[[Any], Any] | None = None,
    decode: Callable[[Any], Any] | None = None,
) -> type:
    """Allow ``cls`` to be loaded from stored data (and return it, so it works as a decorator).

    Pydantic models, dataclasses, Enums and named tuples need nothing else. Any other
    class is stored as its instance attributes and rebuilt without calling
    ``__init__``, unless ``encode``/``decode`` are given (``decode(encode(obj))`` must
    return an equal object). ``name`` defaults to ``"module:qualname"``; pass one to keep
    old data loadable after moving a class.
    """
    if (encode is None) != (decode is None):
        raise InvalidCallError("register(): pass both encode= and decode=, or neither")
    key = name or type_name(cls)
    with _registry_lock:
        _checked.clear()
        _tagged.clear()
        _by_name[key] = cls
        _by_type[cls] = key
        if encode is not None and decode is not None:
            _custom[cls] = _Custom(encode, decode)
    return cls


def _name_for(cls: type) -> str:
    """The registered name of ``cls``, registering it on first use."""
    found = _by_type.get(cls)
    if found is None:
        register(cls)
        found = _by_type[cls]
    return found


class _Unencodable(Exception):
    """Raised inside the packer hook; ``dumps`` turns it into a located SerdeError."""

    def __init__(self, obj: object, reason: str) -> None:
        super().__init__(reason)
        self.obj = obj
        self.reason = reason


class _Undecodable(Exception):
    """Raised inside the unpacker hook; ``loads`` adds where it happened."""


class Serializer:
    """Turns values into bytes and back.

    ``cipher`` (``encrypt``/``decrypt`` over bytes) is applied to whole blobs.
    ``allow_pickle`` lets values that nothing else can encode fall back to pickle, and
    lets pickled data load: only enable it for data you trust. ``allowed_modules`` lets
    loading import the listed modules (and their submodules) to resolve type names
    that were never registered in this process, but only to classes those modules
    *define* (``cls.__module__`` is the module, found in its own namespace, never
    through an attribute path such as ``myapp:subprocess.Popen``; nested classes as
    ``myapp:Outer.Inner``); ``allowed_classes`` does so for those classes only
    (``"myapp.models:Doc"``). Values nest at most :data:`MAX_DEPTH` extension levels.
    """

    __slots__ = (
        "_allowed",
        "_allowed_classes",
        "_default",
        "_ext_hook",
        "_local",
        "_packers",
        "allow_pickle",
        "cipher",
    )

    def __init__(
        self,
        *,
        cipher: Cipher | None = None,
        allow_pickle: bool = False,
        allowed_modules: Iterable[str] = (),
        allowed_classes: Iterable[str] = (),
    ) -> None:
        self.cipher = cipher
        self.allow_pickle = allow_pickle
        self._allowed = tuple(allowed_modules)
        self._allowed_classes = frozenset(allowed_classes)
        self._default = self._encode_ext
        self._ext_hook = self._decode_ext
        self._local = threading.local()  # extension nesting depths, per thread
        self._packers: list[msgpack.Packer] = []
        """Idle reusable Packers (taken and put back whole: one step each under the GIL)."""

    # ----------------------------------------------------------------- encoding
    def dumps(self, obj: Any, *, where: str = "") -> bytes:
        """Serialize ``obj``; ``where`` (e.g. ``"channel 'messages'"``) goes in errors.

        Packs with a reused Packer (building one per call costs more than packing a
        small value): each call takes an idle one, or builds one when none is idle (in
        another thread, or a re-entrant call from an encode hook), and puts it back.
        """
        packers = self._packers
        try:
            packer = packers.pop()
        except IndexError:  # none idle (checked by pop alone: another thread may take it)
            packer = self._new_packer()
        try:
            try:
                data: bytes = packer.pack(obj)
            except _Unencodable:
                raise
            except UnicodeEncodeError:  # a str with a lone surrogate: name it and where
                raise _surrogate_text(obj) from None
            except (TypeError, ValueError, OverflowError) as exc:  # msgpack's own limits
                raise _Unencodable(obj, _packer_reason(exc)) from None
            finally:
                packers.append(packer)  # a failed pack leaves it empty (msgpack resets it)
        except _Unencodable as exc:
            path = _clip(_find_path(obj, exc.obj), 120)
            at = f" at {path}" if path else ""
            place = f" in {where}" if where else ""
            raise UnserializableError(
                f"cannot serialize {type(exc.obj).__qualname__!s} object{place}{at}: {exc.reason}"
            ) from None
        except RecursionError:
            place = f" in {where}" if where else ""
            raise UnserializableError(
                f"cannot serialize {type(obj).__qualname__} object{place}: {_too_deep_to_write()}"
            ) from None
        if self.cipher is not None:
            return _ENCRYPTED + self.cipher.encrypt(data)
        return PLAIN_HEADER + data

    def _new_packer(self) -> msgpack.Packer:
        return msgpack.Packer(default=self._default, use_bin_type=True, strict_types=True)

    def _pack(self, obj: Any) -> bytes:
        try:
            return msgpack.packb(obj, default=self._default, use_bin_type=True, strict_types=True)
        except _Unencodable:
            raise
        except UnicodeEncodeError:
            raise _surrogate_text(obj) from None
        except (TypeError, ValueError, OverflowError) as exc:
            # msgpack's own limits (e.g. lists nested deeper than 1024, str > 4 GiB).
            raise _Unencodable(obj, _packer_reason(exc)) from None

    def _encode_ext(self, obj: Any) -> msgpack.ExtType | str:
        """The extension for ``obj``, counting how deeply extensions nest (see MAX_DEPTH)."""
        local = self._local
        depth = getattr(local, "wdepth", 0)
        if depth >= MAX_DEPTH:
            raise _Unencodable(obj, _too_deep_to_write())
        local.wdepth = depth + 1
        try:
            return self._encode_one(obj)
        finally:
            local.wdepth = depth

    def _encode_one(self, obj: Any) -> msgpack.ExtType | str:
        cls = type(obj)
        pack = self._pack
        custom = _custom.get(cls)
        if custom is not None:
            return msgpack.ExtType(_REGISTERED, pack([_by_type[cls], custom.encode(obj)]))
        if _model_codec.spec_of(cls) is not None:  # a plain pydantic model (a message)
            compact = _compact_model(obj)
            if compact is not None:
                return msgpack.ExtType(_MODEL, compact)
        if cls is tuple:
            return msgpack.ExtType(_TUPLE, pack(list(obj)))
        if cls is set:
            return msgpack.ExtType(_SET, pack(_sorted_if_possible(obj)))
        if cls is frozenset:
            return msgpack.ExtType(_FROZENSET, pack(_sorted_if_possible(obj)))
        if cls is int:
            return msgpack.ExtType(_BIGINT, _int_to_bytes(obj))
        if cls is dt.datetime:
            return msgpack.ExtType(_DATETIME, pack(_encode_datetime(obj)))
        if cls is dt.date:
            return msgpack.ExtType(_DATE, pack(obj.toordinal()))
        if cls is dt.time:
            naive = obj.replace(tzinfo=None).isoformat()
            return msgpack.ExtType(_TIME, pack([naive, _encode_tz(obj.tzinfo, None), obj.fold]))
        if cls is dt.timedelta:
            return msgpack.ExtType(_TIMEDELTA, pack([obj.days, obj.seconds, obj.microseconds]))
        if cls is uuid.UUID:
            return msgpack.ExtType(_UUID, obj.bytes)
        if cls is decimal.Decimal:
            return msgpack.ExtType(_DECIMAL, str(obj).encode())
        if isinstance(obj, pathlib.PurePath) and cls.__name__ in _PATH_FLAVOURS:
            return msgpack.ExtType(_PATH, pack([cls.__name__, str(obj)]))
        if cls is re.Pattern:
            return msgpack.ExtType(_PATTERN, pack([obj.pattern, obj.flags]))
        if isinstance(obj, enum.Enum):
            return msgpack.ExtType(_ENUM, pack([_name_for(cls), obj.value]))
        if _is_pydantic(obj):  # the compact record did not fit (tried above)
            return msgpack.ExtType(_PYDANTIC, pack(_encode_pydantic(obj)))
        if is_pydantic_v1_class(cls):
            fields_set = sorted(obj.__fields_set__)
            return msgpack.ExtType(_PYDANTIC_V1, pack([_name_for(cls), obj.__dict__, fields_set]))
        if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            values = {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
            return msgpack.ExtType(_DATACLASS, pack([_name_for(cls), values]))
        if isinstance(obj, tuple) and hasattr(cls, "_fields"):
            return msgpack.ExtType(_NAMEDTUPLE, pack([_name_for(cls), list(obj)]))
        if "numpy" in sys.modules:
            found = _encode_numpy(obj, pack)
            if found is not None:
                return found
        if cls in _by_type:
            return msgpack.ExtType(_REGISTERED, pack([_by_type[cls], _instance_state(obj)]))
        stdlib = _encode_stdlib(obj)
        if stdlib is not None:
            return msgpack.ExtType(_STDLIB, pack(stdlib))
        if isinstance(obj, str):  # a str subclass (LangChain's message.text): a plain str,
            return str(obj)  # as LangGraph stores one (msgpack packs what this returns)
        if isinstance(obj, dict):  # another dict or list subclass: plain, as LangGraph
            return msgpack.ExtType(_STDLIB, pack(["dict", dict(obj), None]))
        if isinstance(obj, list):
            return msgpack.ExtType(_STDLIB, pack(["list", list(obj), None]))
        if self.allow_pickle:
            try:
                return msgpack.ExtType(_PICKLE, pickle.dumps(obj, protocol=5))
            except Exception as exc:
                raise _Unencodable(obj, f"pickle failed too ({exc})") from None
        raise _Unencodable(
            obj,
            f"{type_name(cls)} is not a supported type. Make it a dataclass or pydantic "
            f"model, or call graphkit.stores.serde.register({cls.__qualname__}) (optionally with "
            "encode=/decode=), or convert it to plain data before storing it.",
        )

    # ----------------------------------------------------------------- decoding
    def loads(self, data: bytes | memoryview, *, where: str = "") -> Any:
        """Deserialize bytes from :meth:`dumps`; ``where`` goes in errors."""
        body = self.plain_body(data)
        if body is None:
            head = bytes(data[:2])
            place = f" in {where}" if where else ""
            if head != _ENCRYPTED:
                raise SerdeError(
                    f"cannot deserialize{place}: the bytes were not written by "
                    f"graphkit.stores.serde (they start with {head!r}); the data is corrupt or foreign"
                )
            if self.cipher is None:
                raise SerdeError(
                    f"cannot deserialize{place}: the data is encrypted; "
                    "pass the same cipher= to the Serializer that wrote it"
                )
            try:
                body = memoryview(self.cipher.decrypt(bytes(data[2:])))
            except Exception as exc:
                raise SerdeError(f"cannot decrypt data{place}: {exc}") from None
        return self.loads_body(body, where=where)

    def plain_body(self, data: bytes | memoryview) -> memoryview | None:
        """The msgpack bytes inside unencrypted :meth:`dumps` output; None for anything else.

        Savers use it to join the msgpack of several blobs and decode them at once.
        """
        if data[:2] == PLAIN_HEADER:
            return memoryview(data)[2:]
        return None

    def loads_body(self, body: bytes | bytearray | memoryview, *, where: str = "") -> Any:
        """Decode msgpack bytes (a :meth:`plain_body`, or several joined); errors name ``where``."""
        try:
            return self._unpack(body)
        except _Undecodable as exc:
            place = f" in {where}" if where else ""
            raise SerdeError(f"cannot deserialize{place}: {exc}") from None
        except SerdeError:
            raise
        except Exception as exc:
            place = f" in {where}" if where else ""
            raise SerdeError(
                f"cannot deserialize{place}: corrupt data ({type(exc).__name__}: {exc})"
            ) from None

    # ----------------------------------------------------------------- LangGraph's names
    def dumps_typed(self, obj: Any) -> tuple[str, bytes]:
        """``(type, bytes)`` of ``obj``, as LangGraph's serializers return them (what a
        saver written for LangGraph stores): ``"null"`` for None, ``"bytes"`` and
        ``"bytearray"`` as they are, anything else ``"msgpack"`` (:meth:`dumps`).

        >>> default_serializer.loads_typed(default_serializer.dumps_typed({"a": [1]}))
        {'a': [1]}
        """
        if obj is None:
            return "null", b""
        if type(obj) is bytes:
            return "bytes", obj
        if type(obj) is bytearray:
            return "bytearray", bytes(obj)
        return "msgpack", self.dumps(obj)

    def loads_typed(self, data: tuple[str, bytes]) -> Any:
        """The value :meth:`dumps_typed` made ``data`` from."""
        if not (isinstance(data, tuple | list) and len(data) == 2) or not isinstance(
            data[1], bytes | bytearray | memoryview
        ):
            raise SerdeError(
                f"loads_typed takes the (type, bytes) pair dumps_typed returns, not {_clip(repr(data), 80)}"
            )
        kind, body = data
        if kind == "null":
            return None
        if kind == "bytes":
            return bytes(body)
        if kind == "bytearray":
            return bytearray(body)
        if kind == "msgpack":
            return self.loads(body)
        raise SerdeError(
            f"cannot deserialize a value of type {kind!r}: graphkit's serializer reads the "
            "'null', 'bytes', 'bytearray' and 'msgpack' values its dumps_typed writes"
        )

    def _unpack(self, data: bytes | bytearray | memoryview) -> Any:
        return msgpack.unpackb(
            data, ext_hook=self._ext_hook, raw=False, strict_map_key=False, use_list=True
        )

    def _decode_ext(self, code: int, data: bytes) -> Any:
        if code == _MODEL:  # the most common extension (messages): first, inline
            # Plain msgpack (no extension inside): it never nests further, so one
            # ``unpackb`` at any depth is safe.
            payload = _unpack_record(data, ext_hook=_no_extension, strict_map_key=False)
            if type(payload) is not list or not 2 <= len(payload) <= 3:
                raise _Undecodable("a model record is not [tag, values(, fields_set)]")
            try:
                decode = _tagged.get(payload[0])
            except TypeError:  # an unhashable tag: _model_decoder says so
                decode = None
            if decode is None:
                decode = self._model_decoder(payload[0])
            try:
                return decode(payload)
            except _model_codec.BadModelRecord as exc:
                raise _Undecodable(str(exc)) from None
        if code in _RAW_PAYLOAD:
            return self._decode_raw(code, data)
        local = self._local
        depth = getattr(local, "rdepth", 0)
        if depth >= MAX_DEPTH:
            raise _Undecodable(_TOO_DEEP_TO_READ)
        local.rdepth = depth + 1
        try:
            payload = self._unpack(data) if depth < _SHALLOW else self._unpack_deep(data)
            if code == _PYDANTIC:
                cls = self._lookup(payload[0], _is_pydantic_class)
                return _model_codec.decode_generic(cls, payload[1], payload[2])
            return self._decode_payload(code, payload)
        finally:
            local.rdepth = depth

    def _model_decoder(self, tag: Any) -> _model_codec.Decoder:
        """The decoder of the registered pydantic class a record's tag names."""
        if type(tag) is not int and type(tag) is not str:
            raise _Undecodable(f"a model record's tag is {tag!r}, not a class")
        try:
            name = _model_codec.tag_name(tag)
        except _model_codec.BadModelRecord as exc:
            raise _Undecodable(str(exc)) from None
        cls = self._lookup(name, _is_pydantic_class)
        decode = _model_codec.decoder(_model_codec.spec_of(cls), cls)
        if _by_name.get(name) is cls:
            _tagged[tag] = decode
        return decode

    def _decode_raw(self, code: int, data: bytes) -> Any:
        """Extensions whose payload is raw bytes, not msgpack."""
        if code == _BIGINT:
            return int.from_bytes(data, "big", signed=True)
        if code == _UUID:
            return uuid.UUID(bytes=data)
        if code == _DECIMAL:
            return decimal.Decimal(data.decode())
        if not self.allow_pickle:
            raise _Undecodable(
                "the data holds a pickled object; pass allow_pickle=True to the "
                "Serializer only if you trust where the data came from"
            )
        return pickle.loads(data)

    def _unpack_deep(self, data: bytes) -> Any:
        """``_unpack`` with the parse stack on the heap (deep levels stay off the C stack)."""
        unpacker = msgpack.Unpacker(
            ext_hook=self._ext_hook, raw=False, strict_map_key=False, use_list=True
        )
        unpacker.feed(data)
        value = unpacker.unpack()
        if unpacker.tell() != len(data):
            raise _Undecodable("extra bytes after an extension's payload")
        return value

    def _decode_payload(self, code: int, payload: Any) -> Any:
        if code == _TUPLE:
            return tuple(payload)
        if code == _SET:
            return set(payload)
        if code == _FROZENSET:
            return frozenset(payload)
        if code == _DATETIME:
            return _decode_datetime(payload)
        if code == _DATE:
            return dt.date.fromordinal(payload)
        if code == _TIME:
            naive, tz, fold = payload
            return dt.time.fromisoformat(naive).replace(tzinfo=_decode_tz(tz), fold=fold)
        if code == _TIMEDELTA:
            return dt.timedelta(days=payload[0], seconds=payload[1], microseconds=payload[2])
        if code in (_NDARRAY, _NPSCALAR):
            return _decode_numpy(code, payload)
        if code == _PATH:
            return _decode_path(payload)
        if code == _PATTERN:
            return _decode_pattern(payload)
        if code == _STDLIB:
            return _decode_stdlib(payload)
        if code == _PYDANTIC_V1:  # as stored, not validated again (as pydantic v2 models)
            cls = self._lookup(payload[0], is_pydantic_v1_class)
            return cls.construct(_fields_set=set(payload[2]), **payload[1])  # type: ignore[attr-defined]
        if code == _ENUM:
            return self._lookup(payload[0], _is_enum_class)(payload[1])
        if code == _DATACLASS:
            return _build(self._lookup(payload[0], dataclasses.is_dataclass), payload[1])
        if code == _NAMEDTUPLE:
            return self._lookup(payload[0], is_namedtuple_class)(*payload[1])
        if code == _REGISTERED:
            cls = self._lookup(payload[0])
            custom = _custom.get(cls)
            if custom is not None:
                return custom.decode(payload[1])
            return _build(cls, payload[1])
        raise _Undecodable(f"unknown extension type code {code}")

    def _lookup(self, name: str, kind: Callable[[type], bool] | None = None) -> type:
        """Find a class by stored name: the registry, or a class an allowed module defines.

        ``kind`` checks the class is of the sort the extension code says (an Enum for an
        enum, a dataclass for a dataclass...): a blob cannot make a registered class of
        another sort be called with its data.
        """
        checked = _checked.get((name, kind))
        if checked is not None:
            return checked
        found = _by_name.get(name)
        if found is None:
            found = self._from_allowed_module(name)
        if found is None:
            raise _Undecodable(
                f"type {name!r} is not registered. Call graphkit.stores.serde.register(cls) "
                "for it before loading (graphkit registers its own types at import, and the "
                "classes a graph's state schema and node inputs name when it compiles: not "
                "those of values under an `Any` key or of untyped `Send` arguments), or pass "
                "allowed_modules=[...] to the Serializer to permit importing its module"
            )
        if kind is not None and not kind(found):
            raise _Undecodable(f"type {name!r} is not of the kind the data says it is")
        if _by_name.get(name) is found:
            _checked[(name, kind)] = found
        return found

    def _from_allowed_module(self, name: str) -> type | None:
        """The class ``module:qualname`` if the module is allowed and *defines* it (or it
        is one of ``allowed_classes`` or ``_TRUSTED_CLASSES``).

        The rule: the module must be one of ``allowed_modules`` or a submodule of one;
        ``qualname`` is looked up in the module's own namespace (and, for a nested class,
        in the class bodies: ``Outer.Inner``) without calling any ``__getattr__``; and
        the class found must say it was defined there (``cls.__module__ == module``
        and ``cls.__qualname__ == qualname``). So ``myapp:subprocess.Popen`` (a module
        that myapp imported) and ``myapp:Popen`` (after ``from subprocess import
        Popen``) are both refused.
        """
        module, sep, qualname = name.partition(":")
        trusted = name in _TRUSTED_CLASSES or name in self._allowed_classes
        if not (sep and module and qualname) or not (trusted or self._allowed):
            return None
        if not trusted and not any(
            module == m or module.startswith(m + ".") for m in self._allowed
        ):
            return None
        try:
            obj: Any = importlib.import_module(module)
        except ImportError:
            return None
        for part in qualname.split("."):
            namespace = getattr(obj, "__dict__", None)
            if not isinstance(namespace, Mapping) or part not in namespace:
                return None
            obj = namespace[part]
            if not isinstance(obj, type):
                return None
        if obj.__module__ != module or obj.__qualname__ != qualname:
            return None
        register(obj, name)
        result: type = obj
        return result


_TRUSTED_CLASSES = frozenset(
    f"langchain_core.messages.{module}:{cls}{chunk}"
    for module, cls in [
        ("base", "BaseMessage"),
        ("human", "HumanMessage"),
        ("ai", "AIMessage"),
        ("system", "SystemMessage"),
        ("chat", "ChatMessage"),
        ("tool", "ToolMessage"),
        ("function", "FunctionMessage"),
    ]
    for chunk in ("", "Chunk")
) | {"langchain_core.messages.modifier:RemoveMessage", "langchain_core.documents.base:Document"}
"""LangChain's messages and ``Document``, which any process may load (importing
``langchain_core`` for them) without registering them first: values kept under an
``Any`` key are often these, and LangGraph's serializer allows them as safe too."""

default_serializer = Serializer()
"""The serializer savers and stores use unless given another."""

_TYPED = b"\xc1\x03"  # then msgpack [type tag, bytes] from a LangGraph-style serializer


class TypedSerializer(Serializer):
    """A serializer written for LangGraph (``dumps_typed(obj) -> (tag, bytes)`` and
    ``loads_typed((tag, bytes))``) as graphkit's savers call one: each value is stored
    as its tag and bytes. Made by :func:`as_serializer`; a saver then stores whole
    values (no appended parts: the bytes are the wrapped serializer's own)."""

    __slots__ = ("typed",)

    def __init__(self, typed: Any) -> None:
        super().__init__()
        self.typed = typed
        """The wrapped serializer."""

    def dumps(self, obj: Any, *, where: str = "") -> bytes:
        tag, data = self.typed.dumps_typed(obj)
        return _TYPED + msgpack.packb([tag, bytes(data)], use_bin_type=True)

    def loads(self, data: bytes | memoryview, *, where: str = "") -> Any:
        if bytes(data[:2]) != _TYPED:
            return super().loads(data, where=where)  # written before, by graphkit's own
        try:
            tag, body = msgpack.unpackb(memoryview(data)[2:], raw=False)
        except Exception as exc:
            place = f" in {where}" if where else ""
            raise SerdeError(f"cannot deserialize{place}: corrupt data ({exc})") from None
        return self.typed.loads_typed((tag, body))

    def plain_body(self, data: bytes | memoryview) -> memoryview | None:
        return None  # never msgpack of graphkit's: savers decode each value with loads

    def dumps_typed(self, obj: Any) -> tuple[str, bytes]:
        result: tuple[str, bytes] = self.typed.dumps_typed(obj)
        return result

    def loads_typed(self, data: tuple[str, bytes]) -> Any:
        return self.typed.loads_typed(data)


def as_serializer(serde: Any) -> Serializer:
    """What a saver stores with, given ``serde=``: graphkit's ``Serializer`` as it is; a
    serializer written for LangGraph (only ``dumps_typed``/``loads_typed``, or a
    ``Serializer`` subclass that overrides them) through :class:`TypedSerializer`, so
    its methods are the ones called. Anything else raises ``InvalidCallError``.

    >>> class Tagged:
    ...     def dumps_typed(self, obj): return "repr", repr(obj).encode()
    ...     def loads_typed(self, data): return eval(data[1])
    >>> serde = as_serializer(Tagged())
    >>> serde.loads(serde.dumps({"a": (1, 2)}))
    {'a': (1, 2)}
    """
    if isinstance(serde, Serializer):
        cls = type(serde)
        overridden = any(
            getattr(cls, name) is not getattr(Serializer, name)
            for name in ("dumps_typed", "loads_typed")
        )
        if not overridden or isinstance(serde, TypedSerializer):
            return serde
        if cls.dumps is not Serializer.dumps:
            return serde  # it overrides dumps too: its own graphkit serializer
        return TypedSerializer(serde)
    if callable(getattr(serde, "dumps_typed", None)) and callable(
        getattr(serde, "loads_typed", None)
    ):
        return TypedSerializer(serde)
    raise InvalidCallError(
        f"serde= must be a graphkit.checkpoint.serde.Serializer or an object with "
        f"dumps_typed(obj) -> (str, bytes) and loads_typed((str, bytes)), got "
        f"{type(serde).__name__}."
    )


# ------------------------------------------------------------------- helpers
def _too_deep_to_write() -> str:
    return (
        f"objects (dataclasses, models, tuples, sets...) nest more than MAX_DEPTH={MAX_DEPTH} "
        "levels deep here, deeper than graphkit reads back, so nothing was stored; store "
        "the structure flatter (e.g. a list of nodes that refer to each other by id)"
    )


def _packer_reason(exc: Exception) -> str:
    """msgpack's error, made to say what the limit is."""
    text = str(exc)
    if "recursion limit" in text:
        return (
            "lists/dicts nest more than 1024 levels deep (msgpack's limit), so nothing was "
            "stored; store the structure flatter"
        )
    return text


def _surrogate_text(root: Any) -> _Unencodable:
    """The error for the first str under ``root`` that UTF-8 cannot encode."""
    stack, seen = [root], set()
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            try:
                node.encode("utf-8")
            except UnicodeEncodeError as exc:
                return _Unencodable(
                    node,
                    f"the text holds a lone surrogate ({node[exc.start]!r} at {exc.start}), "
                    "which has no UTF-8 form: decode the text properly (e.g. "
                    "bytes.decode(errors='replace')) before it goes into the state",
                )
        elif id(node) not in seen:
            seen.add(id(node))
            stack.extend(child for _, child in reversed(list(_children(node))))
    return _Unencodable(root, "a str in it has no UTF-8 form (a lone surrogate)")


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def _is_enum_class(cls: type) -> bool:
    return issubclass(cls, enum.Enum)


def _is_pydantic_class(cls: type) -> bool:
    return hasattr(cls, "__pydantic_fields__") and hasattr(cls, "model_construct")


def is_pydantic_v1_class(cls: type) -> bool:
    """A ``pydantic.v1`` model class (LangGraph stores those too)."""
    return "pydantic.v1" in sys.modules and issubclass(cls, sys.modules["pydantic.v1"].BaseModel)


def is_namedtuple_class(cls: type) -> bool:
    """A named tuple class (``typing.NamedTuple`` or ``collections.namedtuple``)."""
    return issubclass(cls, tuple) and hasattr(cls, "_fields")


def _sorted_if_possible(items: Iterable[Any]) -> list[Any]:
    """Set members in a stable order when they are orderable (stable bytes), else as-is."""
    values = list(items)
    with contextlib.suppress(TypeError):
        values.sort()
    return values


def _int_to_bytes(n: int) -> bytes:
    return n.to_bytes((n.bit_length() + 8) // 8, "big", signed=True)


def _encode_tz(tz: dt.tzinfo | None, when: dt.datetime | None) -> Any:
    """A tzinfo as data: None, a zoneinfo key, or [offset seconds, name]."""
    if tz is None:
        return None
    key = getattr(tz, "key", None)
    if isinstance(key, str) and type(tz).__module__ == "zoneinfo":
        return key
    offset = tz.utcoffset(when)
    if offset is None:
        return None
    name = tz.tzname(when) if type(tz) is dt.timezone and tz is not dt.timezone.utc else None
    if name is not None and name == dt.timezone(offset).tzname(None):
        name = None  # the default name: decode as timezone(offset), unnamed, as written
    return [offset.days * 86400 + offset.seconds, offset.microseconds, name]


def _decode_tz(data: Any) -> dt.tzinfo | None:
    if data is None:
        return None
    if isinstance(data, str):
        import zoneinfo

        return zoneinfo.ZoneInfo(data)
    seconds, micros, name = data
    offset = dt.timedelta(seconds=seconds, microseconds=micros)
    if not offset and name is None:
        return dt.timezone.utc
    return dt.timezone(offset, name) if name is not None else dt.timezone(offset)


def _encode_datetime(value: dt.datetime) -> list[Any]:
    naive = value.replace(tzinfo=None)
    return [
        [naive.toordinal(), naive.hour, naive.minute, naive.second, naive.microsecond],
        _encode_tz(value.tzinfo, value),
        value.fold,
    ]


def _decode_datetime(payload: list[Any]) -> dt.datetime:
    (ordinal, hour, minute, second, micro), tz, fold = payload
    day = dt.date.fromordinal(ordinal)
    return dt.datetime(
        day.year, day.month, day.day, hour, minute, second, micro,
        tzinfo=_decode_tz(tz), fold=fold,
    )  # fmt: skip


def _is_pydantic(obj: object) -> bool:
    return hasattr(type(obj), "__pydantic_fields__") and hasattr(obj, "__pydantic_fields_set__")


def _encode_pydantic(obj: Any) -> list[Any]:
    """[name, fields, fields_set]: field values shallowly, so nested models keep their type."""
    values = dict(obj.__dict__)
    extra = getattr(obj, "__pydantic_extra__", None)
    if extra:
        values.update(extra)
    return [_name_for(type(obj)), values, sorted(obj.__pydantic_fields_set__)]


def _compact_model(obj: Any) -> bytes | None:
    """The compact record of a pydantic model, packed; None when it needs the generic one
    (its class or instance does not fit the record, or a value needs an extension)."""
    cls = type(obj)
    spec = _model_codec.spec_of(cls)
    if spec is None:
        return None
    found = _model_codec.record(spec, obj, _name_for(cls))
    if found is None:
        return None
    packer = getattr(_record_packers, "packer", None)
    if packer is None:  # no default hook: anything that is not plain msgpack raises
        packer = _record_packers.packer = msgpack.Packer(use_bin_type=True, strict_types=True)
    try:
        data: bytes = packer.pack(found)
    except (TypeError, ValueError, OverflowError):
        _record_packers.packer = None  # do not reuse a buffer a failed pack may have left
        return None
    return data


_record_packers = threading.local()
"""One Packer per thread for model records (building one per message costs more than
packing it). Records never nest, so it is never re-entered."""


def _no_extension(code: int, data: bytes) -> Any:
    raise _Undecodable(
        f"a model record holds an extension (code {code}), which graphkit never writes "
        "there: the data is corrupt or was crafted"
    )


_TOO_DEEP_TO_READ = (
    f"objects nest more than MAX_DEPTH={MAX_DEPTH} levels deep, which graphkit "
    "never writes: the data is corrupt or was crafted"
)


def _instance_state(obj: Any) -> dict[str, Any]:
    """Instance attributes of a plain registered class (``__dict__`` and ``__slots__``)."""
    state: dict[str, Any] = dict(getattr(obj, "__dict__", {}))
    for klass in type(obj).__mro__:
        slots = klass.__dict__.get("__slots__", ())
        for slot in (slots,) if isinstance(slots, str) else slots:
            if slot not in ("__dict__", "__weakref__") and hasattr(obj, slot):
                state[slot] = getattr(obj, slot)
    return state


def _build(cls: Any, state: dict[str, Any]) -> Any:
    """Rebuild an instance without calling ``__init__`` (restores exactly what was saved)."""
    obj = cls.__new__(cls)
    for key, value in state.items():
        object.__setattr__(obj, key, value)
    return obj


def _encode_numpy(obj: Any, pack: Callable[[Any], bytes]) -> msgpack.ExtType | None:
    import numpy as np

    if isinstance(obj, np.ndarray):
        if obj.dtype.hasobject:
            raise _Unencodable(obj, "numpy arrays of dtype=object cannot be stored")
        descr = np.lib.format.dtype_to_descr(obj.dtype)
        return msgpack.ExtType(
            _NDARRAY, pack([descr, list(obj.shape), np.ascontiguousarray(obj).tobytes()])
        )
    if isinstance(obj, np.generic) and not obj.dtype.hasobject:
        descr = np.lib.format.dtype_to_descr(obj.dtype)
        return msgpack.ExtType(_NPSCALAR, pack([descr, obj.tobytes()]))
    return None


_PATH_FLAVOURS = {
    "PosixPath": "PurePosixPath",
    "WindowsPath": "PureWindowsPath",
    "PurePosixPath": "PurePosixPath",
    "PureWindowsPath": "PureWindowsPath",
}
"""The ``pathlib`` classes stored as paths, and the pure class each falls back to on a
system that cannot make it (a ``WindowsPath`` read on Linux)."""


def _decode_path(payload: Any) -> pathlib.PurePath:
    """A stored ``pathlib`` path: ``[class name, text]``."""
    if type(payload) is not list or len(payload) != 2 or type(payload[1]) is not str:
        raise _Undecodable("a path record is not [class name, text]")
    name, text = payload
    if name not in _PATH_FLAVOURS:
        raise _Undecodable(f"a path record names {name!r}, not a pathlib path class")
    native = pathlib.Path().__class__.__name__
    cls = getattr(
        pathlib, name if name.startswith("Pure") or name == native else _PATH_FLAVOURS[name]
    )
    path: pathlib.PurePath = cls(text)
    return path


_FACTORIES: dict[str, type] = {
    t.__name__: t for t in (list, dict, set, frozenset, tuple, int, float, str, bytes)
}
"""The ``default_factory`` a ``defaultdict`` keeps through a round trip (another comes
back as None: the dict's items survive, not the function)."""
_IP_CLASSES = frozenset(
    {"IPv4Address", "IPv6Address", "IPv4Network", "IPv6Network", "IPv4Interface", "IPv6Interface"}
)


def _encode_stdlib(obj: Any) -> list[Any] | None:
    """``[kind, data, extra]`` for the standard library's containers and addresses, and
    pydantic's secrets, that LangGraph stores too (it returns its dict subclasses as
    dicts; these keep their type)."""
    cls = type(obj)
    if cls is collections.deque:
        return ["deque", list(obj), obj.maxlen]
    if cls is collections.OrderedDict or cls is collections.Counter:
        return [cls.__name__, dict(obj), None]
    if cls is collections.defaultdict:
        factory = obj.default_factory
        name = factory.__name__ if factory in _FACTORIES.values() else None
        return ["defaultdict", dict(obj), name]
    if cls.__module__ == "ipaddress" and cls.__name__ in _IP_CLASSES:
        return ["ip", str(obj), cls.__name__]
    if cls.__module__ == "pydantic.types" and cls.__name__ in ("SecretStr", "SecretBytes"):
        return [cls.__name__, obj.get_secret_value(), None]  # (as LangGraph stores them)
    return None


def _decode_stdlib(payload: Any) -> Any:
    if type(payload) is not list or len(payload) != 3 or type(payload[0]) is not str:
        raise _Undecodable("a standard library value's record is not [kind, data, extra]")
    kind, data, extra = payload
    if kind in ("list", "deque") and type(data) is list:
        if kind == "list":
            return data
        if extra is None or (type(extra) is int and extra >= 0):
            return collections.deque(data, extra)
    elif kind in ("dict", "OrderedDict", "Counter", "defaultdict") and type(data) is dict:
        if kind == "dict":
            return data
        if kind == "OrderedDict":
            return collections.OrderedDict(data)
        if kind == "Counter":
            return collections.Counter(data)
        if extra is None or extra in _FACTORIES:
            return collections.defaultdict(_FACTORIES.get(extra), data)
    elif (kind, type(data)) in (("SecretStr", str), ("SecretBytes", bytes)):
        import pydantic

        return getattr(pydantic, kind)(data)
    elif kind == "ip" and type(data) is str and extra in _IP_CLASSES:
        import ipaddress

        try:
            return getattr(ipaddress, extra)(data)
        except ValueError as exc:
            raise _Undecodable(f"a stored IP address is malformed ({exc})") from None
    raise _Undecodable(f"a standard library value's record is malformed (kind {kind!r})")


def _decode_pattern(payload: Any) -> re.Pattern[Any]:
    """A stored compiled regular expression: ``[pattern, flags]``."""
    if (
        type(payload) is not list
        or len(payload) != 2
        or type(payload[0]) not in (str, bytes)
        or type(payload[1]) is not int
    ):
        raise _Undecodable("a regular expression record is not [pattern, flags]")
    try:
        return re.compile(payload[0], payload[1])
    except (re.error, ValueError) as exc:
        raise _Undecodable(f"a stored regular expression does not compile ({exc})") from None


def _decode_numpy(code: int, payload: list[Any]) -> Any:
    import numpy as np

    def dtype(descr: Any) -> Any:
        if isinstance(descr, list):  # structured dtype: fields come back as lists
            descr = [tuple(field) for field in descr]
        found = np.lib.format.descr_to_dtype(descr)
        if found.hasobject or found.itemsize == 0:
            raise _Undecodable(f"numpy dtype {descr!r} cannot be stored (object or empty)")
        return found

    if code == _NDARRAY:
        descr, shape, raw = payload
        return np.frombuffer(raw, dtype=dtype(descr)).reshape(shape).copy()
    descr, raw = payload
    return np.frombuffer(raw, dtype=dtype(descr))[0]


# ------------------------------------------------------- locating a bad value
def _children(obj: Any) -> Iterator[tuple[str, Any]]:
    """(path step, child) pairs of a container, in the order the encoder visits them."""
    if isinstance(obj, dict):
        for key, value in obj.items():
            yield f"[{key!r}]", key
            yield f"[{key!r}]", value
    elif isinstance(obj, (list, tuple, set, frozenset)):
        for i, value in enumerate(obj):
            yield f"[{i}]", value
    elif _is_pydantic(obj):
        for key, value in obj.__dict__.items():
            yield f".{key}", value
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        for f in dataclasses.fields(obj):
            yield f".{f.name}", getattr(obj, f.name)


def _find_path(root: Any, target: Any) -> str:
    """The path (e.g. ``[3].content``) from ``root`` to ``target``; "" if it is the root."""
    stack: list[tuple[Any, str]] = [(root, "")]
    seen: set[int] = set()
    while stack:
        node, path = stack.pop()
        if node is target:
            return path
        if id(node) in seen:
            continue
        seen.add(id(node))
        children = list(_children(node))
        for step, child in reversed(children):
            stack.append((child, path + step))
    return ""
