"""graphkit.stores.serde: round trips keep value and type; failures say what and where."""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import enum
import ipaddress
import pathlib
import re
import zoneinfo
from typing import Any, NamedTuple

import msgpack
import numpy as np
import pydantic.v1 as pydantic_v1
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis_budget import examples
from pydantic import BaseModel

from graphkit.stores.serde import PLAIN_HEADER, SerdeError, Serializer, register, type_name


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Inner(BaseModel):
    text: str
    tags: tuple[str, ...] = ()


class Outer(BaseModel):
    inner: Inner
    items: list[Inner] = []
    extra: dict[str, Any] = {}


@dataclasses.dataclass(frozen=True, slots=True)
class Point:
    x: int
    y: Any = None


class Pair(NamedTuple):
    left: Any
    right: Any


class Opaque:
    """Not supported until registered."""

    def __init__(self, value: int) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Opaque) and other.value == self.value

    __hash__ = None  # type: ignore[assignment]


S = Serializer()


def same(a: Any, b: Any) -> bool:
    """Equal and of the same type, all the way down."""
    if type(a) is not type(b):
        return False
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
    if isinstance(a, float) and a != a:
        return b != b
    if isinstance(a, collections.deque):
        return a.maxlen == b.maxlen and same(list(a), list(b))
    if isinstance(a, collections.defaultdict) and a.default_factory is not b.default_factory:
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(v, b[k]) for k, v in a.items())
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, BaseModel):
        return a.model_fields_set == b.model_fields_set and same(dict(a), dict(b))
    if dataclasses.is_dataclass(a):
        return all(same(getattr(a, f.name), getattr(b, f.name)) for f in dataclasses.fields(a))
    return bool(a == b)


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(2**200), max_value=2**200),
    st.floats(allow_nan=False),
    st.text(),
    st.binary(),
    st.datetimes(timezones=st.one_of(st.none(), st.timezones())),
    st.dates(),
    st.times(),
    st.timedeltas(),
    st.uuids(),
    st.decimals(allow_nan=False),
    st.sampled_from(list(Color) + list(Level)),
    st.ip_addresses(),
    st.builds(pathlib.PurePosixPath, st.text(max_size=12)),
    st.builds(pathlib.PureWindowsPath, st.text(max_size=12)),
    st.builds(pathlib.Path, st.text(max_size=12)),
    st.builds(
        lambda text, flags: re.compile(re.escape(text), flags),
        st.text(max_size=8) | st.binary(max_size=8),
        st.sampled_from([0, re.IGNORECASE, re.MULTILINE | re.DOTALL]),
    ),
)
hashables = st.one_of(st.integers(), st.text(), st.tuples(st.integers(), st.text()))

values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.lists(inner, max_size=4).map(tuple),
        st.dictionaries(st.text(max_size=5), inner, max_size=4),
        st.dictionaries(hashables, inner, max_size=3),
        st.sets(hashables, max_size=4),
        st.frozensets(hashables, max_size=4),
        st.builds(collections.deque, st.lists(inner, max_size=3), st.none() | st.integers(3, 5)),
        st.dictionaries(hashables, inner, max_size=3).map(collections.OrderedDict),
        st.dictionaries(st.text(max_size=3), st.integers(), max_size=3).map(collections.Counter),
        st.dictionaries(st.text(max_size=3), inner, max_size=3).map(
            lambda d: collections.defaultdict(list, d)
        ),
        st.builds(Point, st.integers(), inner),
        st.builds(Pair, inner, inner),
        st.builds(Inner, text=st.text(), tags=st.lists(st.text(), max_size=3).map(tuple)),
        st.builds(
            Outer,
            inner=st.builds(Inner, text=st.text()),
            items=st.lists(st.builds(Inner, text=st.text()), max_size=3),
            extra=st.dictionaries(st.text(max_size=3), inner, max_size=2),
        ),
    ),
    max_leaves=20,
)


@settings(max_examples=examples(300))
@given(values)
def test_round_trip_keeps_value_and_type(value: Any) -> None:
    assert same(S.loads(S.dumps(value)), value)


@settings(max_examples=examples(50))
@given(st.lists(values, max_size=3))
def test_round_trip_through_a_cipher(value: Any) -> None:
    class Xor:
        def encrypt(self, data: bytes) -> bytes:
            return bytes(b ^ 0x5A for b in data)

        def decrypt(self, data: bytes) -> bytes:
            return self.encrypt(data)

    s = Serializer(cipher=Xor())
    blob = s.dumps(value)
    assert same(s.loads(blob), value)


def test_numpy_arrays_and_scalars() -> None:
    for array in [
        np.arange(12, dtype=np.float32).reshape(3, 4),
        np.array([[1, 2], [3, 4]], dtype=">i8").T,  # non-contiguous, big-endian
        np.array([], dtype=np.int16),
        np.array([(1, 2.0)], dtype=[("a", "<i4"), ("b", "<f8")]),
    ]:
        assert same(S.loads(S.dumps(array)), array)
    assert same(S.loads(S.dumps(np.float64(1.5))), np.float64(1.5))


def test_timezones_survive() -> None:
    for tz in [
        dt.timezone.utc,
        zoneinfo.ZoneInfo("America/New_York"),
        dt.timezone(dt.timedelta(hours=5, minutes=30), "IST"),
    ]:
        moment = dt.datetime(2024, 11, 3, 1, 30, tzinfo=tz, fold=1)
        back = S.loads(S.dumps(moment))
        assert back == moment and back.tzinfo == moment.tzinfo and back.fold == 1
        assert back.utcoffset() == moment.utcoffset()


def test_a_value_of_an_unsupported_type_is_a_type_error_as_in_langgraph() -> None:
    with pytest.raises(TypeError, match="complex is not a supported type"):
        S.dumps({"z": 1j})


def test_an_unnamed_fixed_offset_comes_back_unnamed() -> None:
    # timezone(offset) and timezone(offset, "UTC+05:30") are equal but print differently
    for tz in [dt.timezone(dt.timedelta(hours=5, minutes=30)), dt.timezone(-dt.timedelta(hours=3))]:
        moment = dt.datetime(2024, 1, 2, 3, 4, tzinfo=tz)
        assert repr(S.loads(S.dumps(moment))) == repr(moment)
        assert repr(S.loads(S.dumps(moment.timetz()))) == repr(moment.timetz())


def test_nested_pydantic_models_keep_their_types() -> None:
    value = Outer(inner=Inner(text="a", tags=("x",)), items=[Inner(text="b")])
    back = S.loads(S.dumps({"state": value}))["state"]
    assert type(back) is Outer and type(back.inner) is Inner and type(back.items[0]) is Inner
    assert back == value and back.model_fields_set == {"inner", "items"}
    assert type(back.inner.tags) is tuple


def test_unsupported_type_names_type_and_path() -> None:
    value = {"messages": [1, 2, 3, Point(1, {"content": Opaque(1)})]}
    with pytest.raises(SerdeError) as info:
        S.dumps(value, where="channel 'messages'")
    message = str(info.value)
    assert "Opaque" in message
    assert "channel 'messages'" in message
    assert "['messages'][3].y['content']" in message
    assert "graphkit.stores.serde.register(Opaque)" in message


def test_registered_plain_class_round_trips() -> None:
    class Local:
        def __init__(self, value: int) -> None:
            self.value = value

        def __eq__(self, other: object) -> bool:
            return isinstance(other, Local) and other.value == self.value

    register(Local)
    assert S.loads(S.dumps([Local(3)])) == [Local(3)]


def test_register_with_encode_and_decode() -> None:
    class Celsius:
        def __init__(self, degrees: float) -> None:
            self.degrees = degrees

    register(Celsius, "test:Celsius", encode=lambda c: c.degrees, decode=Celsius)
    assert S.loads(S.dumps(Celsius(21.5))).degrees == 21.5


def test_unregistered_name_on_load_is_refused_without_import() -> None:
    payload = msgpack.packb(["os:system", {}])
    blob = b"\xc1\x01" + msgpack.packb(msgpack.ExtType(15, payload))
    with pytest.raises(SerdeError, match=r"'os:system' is not registered.*stores\.serde\.register"):
        S.loads(blob, where="channel 'x'")


def test_allowed_modules_permit_importing_named_types() -> None:
    import fractions

    name = type_name(fractions.Fraction)  # a class nobody registered
    payload = msgpack.packb([name, {"_numerator": 1, "_denominator": 2}])
    blob = b"\xc1\x01" + msgpack.packb(msgpack.ExtType(17, payload))
    with pytest.raises(SerdeError, match="not registered"):
        Serializer(allowed_modules=["json"]).loads(blob)
    assert Serializer(allowed_modules=["fractions"]).loads(blob) == fractions.Fraction(1, 2)


def test_pickle_only_when_allowed() -> None:
    with pytest.raises(SerdeError, match="not a supported type"):
        S.dumps(Opaque(1))
    trusting = Serializer(allow_pickle=True)
    blob = trusting.dumps(Opaque(1))
    assert trusting.loads(blob) == Opaque(1)
    with pytest.raises(SerdeError, match="allow_pickle=True"):
        S.loads(blob)


@pytest.mark.parametrize(
    "blob",
    [
        b"",
        b"\x05",
        b"garbage",
        b"\xc1\x01\x92\x01",
        b"\xc1\x01\x91\x01\x02",
        b"\xc1\x01\xc7\x01\x63\x00",
    ],
)
def test_corrupt_or_foreign_bytes_raise_serde_error(blob: bytes) -> None:
    with pytest.raises(SerdeError, match="channel 'c'"):
        S.loads(blob, where="channel 'c'")


def test_encrypted_data_needs_the_cipher() -> None:
    class Identity:
        def encrypt(self, data: bytes) -> bytes:
            return data

        def decrypt(self, data: bytes) -> bytes:
            raise ValueError("wrong key")

    blob = Serializer(cipher=Identity()).dumps(1)
    with pytest.raises(SerdeError, match="cipher"):
        S.loads(blob)
    with pytest.raises(SerdeError, match="wrong key"):
        Serializer(cipher=Identity()).loads(blob)


def test_primitives_stay_on_the_fast_path() -> None:
    value = {"messages": [{"role": "user", "content": "hi" * 10, "n": i} for i in range(100)]}
    assert S.dumps(value) == b"\xc1\x01" + msgpack.packb(value, use_bin_type=True)


# ---------------------------------------------------- pydantic decoding paths
from graphkit.messages import AIMessage, HumanMessage, ToolMessage  # noqa: E402


def _message_strategy() -> st.SearchStrategy[Any]:
    text = st.text(max_size=20)
    extras = st.dictionaries(st.text(max_size=5), st.integers() | text, max_size=3)
    human = st.builds(HumanMessage, content=text, id=st.none() | text, additional_kwargs=extras)
    ai = st.builds(
        AIMessage,
        content=text | st.lists(st.fixed_dictionaries({"type": st.just("text"), "text": text})),
        id=st.none() | text,
        response_metadata=extras,
        tool_calls=st.lists(
            st.fixed_dictionaries(
                {"name": text, "args": extras, "id": text, "type": st.just("tool_call")}
            ),
            max_size=2,
        ),
    )
    tool = st.builds(ToolMessage, content=text, tool_call_id=text, name=st.none() | text)
    return human | ai | tool


@settings(max_examples=examples(150))
@given(st.lists(_message_strategy(), max_size=5))
def test_messages_round_trip_with_their_set_fields(messages: list[Any]) -> None:
    s = Serializer()
    back = s.loads(s.dumps(messages))
    assert back == messages
    assert [type(m) for m in back] == [type(m) for m in messages]
    assert [m.model_fields_set for m in back] == [m.model_fields_set for m in messages]
    assert [m.model_dump() for m in back] == [m.model_dump() for m in messages]
    again = s.loads(s.dumps(messages))  # each load builds its own objects
    assert all(
        a is not b and a.__dict__ is not b.__dict__ for a, b in zip(back, again, strict=True)
    )


class WithDefaults(BaseModel):
    a: int
    b: list[int] = []


def test_stored_model_data_missing_a_field_gets_the_default() -> None:
    s = Serializer()
    register(WithDefaults)
    blob = s.dumps(WithDefaults(a=1, b=[2]))
    # rewrite the stored fields as an older version of the class would have them: no "b"
    name = type_name(WithDefaults)
    payload = msgpack.packb([name, {"a": 1}, ["a"]], use_bin_type=True)
    older = blob[:2] + msgpack.packb(msgpack.ExtType(14, payload), use_bin_type=True)
    found = s.loads(older)
    assert found == WithDefaults(a=1) and found.b == []


class Hooked(BaseModel):
    a: int

    def model_post_init(self, context: Any) -> None:
        object.__setattr__(self, "seen", True)


def test_a_model_with_a_post_init_hook_is_built_by_model_construct() -> None:
    s = Serializer()
    found = s.loads(s.dumps(Hooked(a=3)))
    assert found == Hooked(a=3) and found.__dict__.get("seen") is True


class _Wrapped:
    """Encoded by a hook that itself calls ``dumps`` on the same serializer."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Wrapped) and other.inner == self.inner


def test_dumps_called_from_an_encode_hook_and_from_threads_packs_each_value_whole() -> None:
    import threading

    serde = Serializer()
    register(
        _Wrapped,
        "tests.serde:_Wrapped",
        encode=lambda w: serde.dumps(w.inner),  # re-entrant: the outer pack is under way
        decode=lambda data: _Wrapped(serde.loads(data)),
    )
    value = {"a": [_Wrapped({"b": [1, 2, _Wrapped("deep")]}), "tail"], "n": 3}
    assert serde.loads(serde.dumps(value)) == value
    with pytest.raises(SerdeError):
        serde.dumps({"bad": object()})
    assert serde.loads(serde.dumps([1, "after a failure"])) == [1, "after a failure"]
    errors: list[BaseException] = []

    def pack_many(tag: int) -> None:
        try:
            for i in range(300):
                item = {"tag": tag, "i": i, "w": _Wrapped([tag, i])}
                assert serde.loads(serde.dumps(item)) == item
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=pack_many, args=(t,)) for t in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors[0]


def test_typed_values_as_langgraph_savers_store_them() -> None:
    from graphkit.stores.serde import default_serializer as serde

    assert serde.dumps_typed(None) == ("null", b"")
    assert serde.dumps_typed(b"raw") == ("bytes", b"raw")
    assert serde.loads_typed(serde.dumps_typed(bytearray(b"x"))) == bytearray(b"x")
    kind, body = serde.dumps_typed({"n": 1})
    assert kind == "msgpack" and serde.loads(body) == {"n": 1}
    assert serde.loads_typed(("null", b"")) is None
    with pytest.raises(SerdeError, match="'pickle'"):
        serde.loads_typed(("pickle", b"..."))


def test_a_str_subclass_is_stored_as_its_text() -> None:
    """LangChain's ``message.text`` is a ``str`` subclass: a node writing it to the
    state stores the text (as LangGraph does), which reads back as a plain ``str``."""
    from langchain_core.messages import AIMessage as LangChainAIMessage

    class Tag(str):
        pass

    serializer = Serializer()
    text = LangChainAIMessage("hello").text
    assert type(text) is not str
    back = serializer.loads(serializer.dumps({"result": text, "tag": Tag("t")}))
    assert back == {"result": "hello", "tag": "t"}
    assert type(back["result"]) is str and type(back["tag"]) is str


class V1Point(pydantic_v1.BaseModel):
    x: int
    label: str = "p"


def test_pydantic_v1_models_round_trip_as_stored() -> None:
    point = V1Point(x=1)
    back = S.loads(S.dumps({"p": point, "ps": [V1Point(x=2, label="q")]}))
    assert type(back["p"]) is V1Point and back["p"] == point
    assert back["p"].__fields_set__ == {"x"}
    assert back["ps"] == [V1Point(x=2, label="q")]


def test_standard_library_containers_and_addresses_keep_their_type() -> None:
    # LangGraph stores these too (it returns the dict subclasses as dicts)
    value = {
        "window": collections.deque([1, 2], maxlen=3),
        "ordered": collections.OrderedDict([("b", 1), ("a", 2)]),
        "counts": collections.Counter("aab"),
        "groups": collections.defaultdict(list, {"k": [1]}),
        "scores": collections.defaultdict(lambda: 0, {"k": 1}),
        "host": ipaddress.ip_address("10.0.0.1"),
        "net": ipaddress.ip_network("::/64"),
    }
    back = S.loads(S.dumps(value))
    for key in ["window", "ordered", "counts", "groups", "host", "net"]:
        assert same(back[key], value[key]), key
    assert list(back["ordered"]) == ["b", "a"]
    assert back["window"].maxlen == 3 and back["groups"].default_factory is list
    # a factory that is not a builtin type cannot be stored: its items come back
    assert back["scores"] == {"k": 1} and back["scores"].default_factory is None


def test_other_dict_and_list_subclasses_come_back_plain_as_in_langgraph() -> None:
    class Tags(list[str]):
        pass

    class Meta(dict[str, int]):
        pass

    back = S.loads(S.dumps({"tags": Tags(["a"]), "meta": Meta(x=1)}))
    assert same(back, {"tags": ["a"], "meta": {"x": 1}})


@pytest.mark.parametrize(
    "record",
    [
        ["deque", [1], -1],
        ["defaultdict", {}, "os.system"],
        ["ip", "999.1.1.1", "IPv4Address"],
        ["ip", "1.1.1.1", "Popen"],
        ["nope", [], None],
        ["deque", {}, None],
        "x",
    ],
)
def test_a_malformed_standard_library_record_is_refused(record: Any) -> None:
    blob = PLAIN_HEADER + msgpack.packb(msgpack.ExtType(23, msgpack.packb(record)))
    with pytest.raises(SerdeError, match="standard library|IP address"):
        S.loads(blob)


def test_pydantic_secrets_round_trip_as_in_langgraph() -> None:
    from pydantic import SecretBytes, SecretStr

    class Creds(BaseModel):
        key: SecretStr
        raw: SecretBytes

    back = S.loads(S.dumps(Creds(key=SecretStr("k"), raw=SecretBytes(b"r"))))
    assert type(back.key) is SecretStr and back.key.get_secret_value() == "k"
    assert type(back.raw) is SecretBytes and back.raw.get_secret_value() == b"r"
