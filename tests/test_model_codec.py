"""The compact record of pydantic models (graphkit.stores._model_codec, via the Serializer).

Messages are stored as ``[tag, values that are set or not at their default]`` and decode
without re-validation; the records of older graphkit (all fields, ext code 14) still
load; a record graphkit cannot have written fails with a SerdeError, never a wrong object.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis_budget import examples
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from graphkit.messages import (
    AIMessage,
    AIMessageChunk,
    HumanMessage,
    RemoveMessage,
    SystemMessage,
    ToolMessage,
    tool_call,
)
from graphkit.stores import _model_codec
from graphkit.stores.serde import SerdeError, Serializer, register

_PLAIN = b"\xc1\x01"
_MODEL, _GENERIC = 19, 14


class Ticket(BaseModel):
    """A user model: a required field, immutable and factory defaults, a float."""

    title: str
    priority: int = 3
    score: float = 0.0
    labels: list[str] = Field(default_factory=list)
    meta: dict[str, Any] = Field(default_factory=dict)
    owner: str | None = None


class Quirky(BaseModel):
    """Defaults whose literals need escaping, and values of a look-alike type."""

    note: str = 'it\'s "q"\n\\'
    flag: bool = False
    count: int = -5
    raw: bytes = b"\x00'"
    maybe: str | None = None


class WithPrivate(BaseModel):
    name: str
    _cache: int = PrivateAttr(default=7)


class Loose(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: str


register(Ticket)
register(Quirky)
register(WithPrivate)
register(Loose)


def ext_codes(blob: bytes) -> list[int]:
    """The extension codes of the elements of a serialized top-level list."""
    found = msgpack.unpackb(blob[2:], ext_hook=lambda code, data: code)
    return list(found)


def same_model(got: Any, want: Any) -> None:
    """Equal, same class, same fields_set and the same field order."""
    assert type(got) is type(want)
    assert got == want
    assert got.model_fields_set == want.model_fields_set
    assert list(got.__dict__) == list(want.__dict__)


def crafted(payload: Any) -> bytes:
    """A blob holding one compact model record with ``payload``."""
    return _PLAIN + msgpack.packb(msgpack.ExtType(_MODEL, msgpack.packb(payload)))


# ------------------------------------------------------------------ round trips
def test_messages_use_the_compact_record_and_round_trip_exactly() -> None:
    s = Serializer()
    msgs = [
        HumanMessage("hi", id="h1"),
        AIMessage("", id="a1", tool_calls=[tool_call("add", {"a": 1}, "c1")]),
        ToolMessage("3", tool_call_id="c1", id="t1", status="error"),
        SystemMessage("be brief", name="sys", additional_kwargs={"k": [1, 2]}),
        AIMessageChunk("par", id="c"),
        RemoveMessage(id="h1"),
    ]
    blob = s.dumps(msgs)
    assert ext_codes(blob) == [_MODEL] * len(msgs)
    for got, want in zip(s.loads(blob), msgs, strict=True):
        same_model(got, want)


def test_the_compact_record_is_under_half_a_plain_dump() -> None:
    msgs = [HumanMessage(f"message {i}", id=f"h{i}") for i in range(100)]
    compact = len(Serializer().dumps(msgs))
    generic = sum(len(msgpack.packb(m.model_dump())) for m in msgs)
    assert compact * 2 < generic


def test_a_default_mutated_in_place_is_kept() -> None:
    s = Serializer()
    msg = HumanMessage("hi")
    msg.additional_kwargs["seen"] = True  # not in fields_set, but no longer the default
    got = s.loads(s.dumps(msg))
    assert got.additional_kwargs == {"seen": True}
    assert got.model_fields_set == {"content"}


def test_decoded_instances_do_not_share_mutable_defaults() -> None:
    s = Serializer()
    first, second = s.loads(s.dumps([HumanMessage("a"), HumanMessage("b")]))
    first.additional_kwargs["x"] = 1
    first.response_metadata["y"] = 2
    assert second.additional_kwargs == {} and second.response_metadata == {}
    again = s.loads(s.dumps(HumanMessage("c")))
    assert again.additional_kwargs == {}


def test_a_field_set_to_its_default_stays_in_fields_set() -> None:
    s = Serializer()
    msg = HumanMessage("hi", name=None, type="human")
    same_model(s.loads(s.dumps(msg)), msg)


def test_user_models_round_trip_with_required_and_float_fields() -> None:
    s = Serializer()
    tickets = [Ticket(title="a"), Ticket(title="b", score=-0.0, labels=["x"], owner="me")]
    got = s.loads(s.dumps(tickets))
    for one, want in zip(got, tickets, strict=True):
        same_model(one, want)
    assert str(got[1].score) == "-0.0"


def test_defaults_that_need_escaping_and_look_alike_values_round_trip() -> None:
    s = Serializer()
    plain = Quirky()
    record = msgpack.unpackb(s.dumps(plain)[2:], ext_hook=lambda c, d: msgpack.unpackb(d))
    assert record[0].endswith(":Quirky") and record[1] == {}  # every field at its default
    same_model(s.loads(s.dumps(plain)), plain)
    # model_construct skips validation: 0 where False is the default, True where -5 is
    odd = Quirky.model_construct(flag=0, count=True, note="x")
    odd.model_fields_set.clear()
    got = s.loads(s.dumps(odd))
    assert (got.flag, got.count, got.note) == (0, True, "x")
    assert type(got.flag) is int and type(got.count) is bool


def test_values_needing_an_extension_fall_back_to_the_generic_record() -> None:
    s = Serializer()
    when = dt.datetime(2026, 1, 2, 3, 4, tzinfo=dt.timezone.utc)
    msg = HumanMessage("hi", additional_kwargs={"at": when, "pair": (1, 2)})
    blob = s.dumps([msg])
    assert ext_codes(blob) == [_GENERIC]
    same_model(s.loads(blob)[0], msg)


def test_models_with_private_attributes_or_extra_fields_keep_their_behaviour() -> None:
    s = Serializer()
    private = s.loads(s.dumps(WithPrivate(name="p")))
    assert private.name == "p" and private._cache == 7
    loose = Loose(name="l", other=1)  # type: ignore[call-arg]
    again = s.loads(s.dumps(loose))
    assert again.model_extra == {"other": 1} and again == loose


_TEXT = st.text(max_size=20)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | _TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
    max_leaves=8,
)


@st.composite
def messages(draw: st.DrawFn) -> Any:
    kind = draw(st.sampled_from([HumanMessage, AIMessage, SystemMessage, ToolMessage]))
    kwargs: dict[str, Any] = {}
    for field, values in (
        ("content", _TEXT | st.lists(_TEXT | st.dictionaries(_TEXT, _TEXT, max_size=2))),
        ("id", st.none() | _TEXT),
        ("name", st.none() | _TEXT),
        ("additional_kwargs", st.dictionaries(_TEXT, _JSON, max_size=3)),
        ("response_metadata", st.dictionaries(_TEXT, _JSON, max_size=3)),
    ):
        if draw(st.booleans()):
            kwargs[field] = draw(values)
    if kind is ToolMessage:
        kwargs["tool_call_id"] = draw(_TEXT)
    if kind is AIMessage and draw(st.booleans()):
        kwargs["tool_calls"] = [
            tool_call(draw(_TEXT), draw(st.dictionaries(_TEXT, _JSON, max_size=2)), draw(_TEXT))
        ]
    return kind(**kwargs)


@settings(max_examples=examples(150))
@given(st.lists(messages(), max_size=6))
def test_any_message_list_round_trips_exactly(msgs: list[Any]) -> None:
    s = Serializer()
    got = s.loads(s.dumps(msgs))
    assert len(got) == len(msgs)
    for one, want in zip(got, msgs, strict=True):
        same_model(one, want)


def _mutable_parts(value: Any) -> list[Any]:
    """Every container and model inside ``value`` (itself included): what a copy must not share."""
    found: list[Any] = []
    todo = [value]
    while todo:
        item = todo.pop()
        if isinstance(item, dict):
            found.append(item)
            todo += item.values()
        elif isinstance(item, list):
            found.append(item)
            todo += item
        elif isinstance(item, BaseModel):
            found += [item, item.__dict__, item.__pydantic_fields_set__]
            todo += item.__dict__.values()
    return found


@settings(max_examples=examples(150))
@given(st.lists(messages(), max_size=6))
def test_a_copy_of_decoded_messages_equals_them_and_shares_nothing_mutable(
    msgs: list[Any],
) -> None:
    s = Serializer()
    decoded = s.loads(s.dumps(msgs))
    copiers = [_model_codec.copier_of(m) for m in decoded]
    copied = [copy(m) for copy, m in zip(copiers, decoded, strict=True)]
    for one, want in zip(copied, decoded, strict=True):
        same_model(one, want)
    shared = {id(x) for x in _mutable_parts(decoded)} & {id(x) for x in _mutable_parts(copied)}
    assert not shared


_plain_data = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=examples(200))
@given(st.lists(_plain_data, max_size=6))
def test_a_copy_of_plain_data_equals_it_and_shares_nothing_mutable(values: list[Any]) -> None:
    """Dicts and lists of immutable values copy in C (``dict.copy``); nested ones deeply."""
    copied = [_model_codec.copier_of(v)(v) for v in values] + [_model_codec.copy_value(values)]
    assert copied[:-1] == values and copied[-1] == values
    shared = {id(x) for x in _mutable_parts(values)} & {id(x) for x in _mutable_parts(copied)}
    assert not shared


class Labelled(BaseModel):
    """A model that keeps extra fields (as LangChain's messages do), with containers."""

    model_config = ConfigDict(extra="allow")
    title: str
    labels: list[str] = Field(default_factory=list)
    meta: dict[str, Any] = Field(default_factory=dict)


@settings(max_examples=examples(150))
@given(st.lists(messages(), max_size=6))
def test_a_copy_of_langchain_messages_equals_them_and_shares_nothing_mutable(
    msgs: list[Any],
) -> None:
    """``extra_model_copier``: generated cloners for classes that keep extra fields."""
    from graphkit._langchain import to_langchain_message

    shown = [to_langchain_message(m) for m in msgs]
    copied = [_model_codec.extra_model_copier(m)(m) for m in shown]
    for one, want in zip(copied, shown, strict=True):
        same_model(one, want)
        assert (
            one.__pydantic_extra__ == {} and one.__pydantic_extra__ is not want.__pydantic_extra__
        )
    shared = {id(x) for x in _mutable_parts(shown)} & {id(x) for x in _mutable_parts(copied)}
    assert not shared


def test_a_model_keeping_extra_fields_is_cloned_only_while_it_holds_none() -> None:
    plain = Labelled(title="t", labels=["x"])
    clone = _model_codec.extra_model_copier(plain)
    assert clone is not _model_codec.copy_value
    copied = clone(plain)
    same_model(copied, plain)
    copied.labels.append("y")
    copied.meta["k"] = 1
    assert plain.labels == ["x"] and plain.meta == {}
    extra = Labelled(title="t", note={"n": [1]})
    assert _model_codec.extra_model_copier(extra) is _model_codec.copy_value
    deep = _model_codec.copy_value(extra)
    assert deep == extra and deep.note is not extra.note  # type: ignore[attr-defined]
    assert _model_codec.extra_model_copier(Ticket(title="t")) is _model_codec.copy_value


def test_a_flat_dict_or_list_is_copied_by_its_c_level_copy() -> None:
    assert _model_codec.copier_of({"role": "user", "content": "hi"}) is dict.copy
    assert _model_codec.copier_of([1, "a", None]) is list.copy
    assert _model_codec.copier_of({"role": "user", "parts": ["hi"]}) is _model_codec.copy_value


def test_copies_of_models_outside_the_plain_shape_are_deep_copies() -> None:
    odd = [WithPrivate(name="a"), Ticket(title="t", labels=["x"]), {"k": [1, {"n": 2}]}, (1, [2])]
    for value in odd:
        copied = _model_codec.copier_of(value)(value)
        assert copied == value and copied is not value
    ticket = Ticket(title="t", labels=["x"])
    copied = _model_codec.copier_of(ticket)(ticket)
    copied.labels.append("y")
    copied.title = "changed"
    assert ticket.labels == ["x"] and ticket.title == "t"
    assert copied.model_fields_set == ticket.model_fields_set | {"title"}


@settings(max_examples=examples(100))
@given(
    st.text(max_size=10),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False),
    st.lists(_TEXT, max_size=3),
    st.none() | _TEXT,
)
def test_any_user_model_round_trips_exactly(
    title: str, priority: int, score: float, labels: list[str], owner: str | None
) -> None:
    s = Serializer()
    ticket = Ticket(title=title, priority=priority, score=score, labels=labels, owner=owner)
    same_model(s.loads(s.dumps(ticket)), ticket)


# ------------------------------------------------------------------ old blobs
# Written by graphkit's previous codec (every model as [name, all fields, fields_set],
# ext code 14): HumanMessage, AIMessage with a tool call and usage, ToolMessage, and
# SystemMessage with a name and additional_kwargs.
_OLD_BLOB = bytes.fromhex(
    "c10194c7750e93be67726170686b69742e6d657373616765733a48756d616e4d657373616765"
    "86a7636f6e74656e74a26869a26964a26831a46e616d65c0b16164646974696f6e616c5f6b77"
    "6172677380b1726573706f6e73655f6d6574616461746180a474797065a568756d616e92a763"
    "6f6e74656e74a26964c7f80e93bb67726170686b69742e6d657373616765733a41494d657373"
    "61676589a7636f6e74656e74a0a26964a26131a46e616d65c0b16164646974696f6e616c5f6b"
    "776172677380b1726573706f6e73655f6d6574616461746180a474797065a26169aa746f6f6c"
    "5f63616c6c739184a46e616d65a3616464a46172677381a16101a26964a26331a474797065a9"
    "746f6f6c5f63616c6cb2696e76616c69645f746f6f6c5f63616c6c7390a5757361676583ac69"
    "6e7075745f746f6b656e7301ad6f75747075745f746f6b656e7302ac746f74616c5f746f6b65"
    "6e730394a7636f6e74656e74a26964aa746f6f6c5f63616c6c73a57573616765c7a80e93bd67"
    "726170686b69742e6d657373616765733a546f6f6c4d65737361676589a7636f6e74656e74a1"
    "33a26964a27431a46e616d65c0b16164646974696f6e616c5f6b776172677380b1726573706f"
    "6e73655f6d6574616461746180a474797065a4746f6f6cac746f6f6c5f63616c6c5f6964a263"
    "31a6737461747573a773756363657373a86172746966616374c093a7636f6e74656e74a26964"
    "ac746f6f6c5f63616c6c5f6964c79c0e93bf67726170686b69742e6d657373616765733a5379"
    "7374656d4d65737361676586a7636f6e74656e74a86265206272696566a26964a27331a46e61"
    "6d65a3737973b16164646974696f6e616c5f6b776172677381a16b920102b1726573706f6e73"
    "655f6d6574616461746180a474797065a673797374656d94b16164646974696f6e616c5f6b77"
    "61726773a7636f6e74656e74a26964a46e616d65"
)


def test_blobs_of_the_previous_codec_still_load() -> None:
    want = [
        HumanMessage("hi", id="h1"),
        AIMessage(
            "",
            id="a1",
            tool_calls=[tool_call("add", {"a": 1}, "c1")],
            usage={"input_tokens": 1, "output_tokens": 2, "total_tokens": 3},
        ),
        ToolMessage("3", tool_call_id="c1", id="t1"),
        SystemMessage("be brief", id="s1", name="sys", additional_kwargs={"k": [1, 2]}),
    ]
    assert ext_codes(_OLD_BLOB) == [_GENERIC] * 4
    for got, one in zip(Serializer().loads(_OLD_BLOB), want, strict=True):
        same_model(got, one)


def test_the_message_tag_table_is_append_only() -> None:
    assert _model_codec.TAGS[:6] == (
        "graphkit.messages:HumanMessage",
        "graphkit.messages:AIMessage",
        "graphkit.messages:SystemMessage",
        "graphkit.messages:ToolMessage",
        "graphkit.messages:AIMessageChunk",
        "graphkit.messages:RemoveMessage",
    )


# ------------------------------------------------------------------ bad records
@pytest.mark.parametrize(
    ("payload", "says"),
    [
        ([0], "not [tag, values"),
        ("text", "not [tag, values"),
        ([99, {}], "not a known class"),
        ([[1], {}], "not a class"),
        (["evil.module:Popen", {}], "is not registered"),
        ([0, ["content"]], "values are not a map"),
        ([0, {"content": "x", "shell": "rm"}], "has no field"),
        ([0, {"content": "x"}, "content"], "fields_set is not a list"),
        ([3, {"content": "x"}], "lacks field 'tool_call_id'"),
    ],
)
def test_a_malformed_record_is_a_clear_error(payload: Any, says: str) -> None:
    with pytest.raises(SerdeError, match="cannot deserialize") as info:
        Serializer().loads(crafted(payload))
    assert says in str(info.value)


def test_a_record_naming_a_registered_class_of_another_kind_is_refused() -> None:
    with pytest.raises(SerdeError, match="not of the kind"):
        Serializer().loads(crafted(["graphkit.checkpoint:ChannelRef", {}]))


def test_an_extension_inside_a_record_is_refused() -> None:
    inner = msgpack.packb([0, {"content": msgpack.ExtType(18, b"pickled")}])
    blob = _PLAIN + msgpack.packb(msgpack.ExtType(_MODEL, inner))
    with pytest.raises(SerdeError, match="holds an extension"):
        Serializer(allow_pickle=True).loads(blob)


@settings(max_examples=examples(100))
@given(st.lists(messages() | _plain_data, max_size=6))
def test_shells_are_new_objects_sharing_the_fields_of_plain_models(values: list[Any]) -> None:
    """``shells``: a model of the plain shape gets a new instance with the very same
    ``__dict__`` (no copy: for readers that change neither); anything else a deep copy."""
    made = _model_codec.shells(values)
    assert made == values
    for one, value in zip(made, values, strict=True):
        if isinstance(value, BaseModel):
            assert one is not value and type(one) is type(value)
            assert one.__dict__ is value.__dict__
        else:
            mutable = {id(x) for x in _mutable_parts(value)}
            assert not mutable & {id(x) for x in _mutable_parts(one)}
    labelled = Labelled(title="t", labels=["a"])  # (keeps extra fields: copied deeply)
    (copy,) = _model_codec.shells([labelled])
    assert copy == labelled and copy.labels is not labelled.labels


def test_copies_of_flat_containers_and_tool_calls_are_made_in_c() -> None:
    """A message's flat dicts and lists, content blocks and tool calls with flat
    arguments are copied without ``copy_value`` (which walks them value by value)."""
    message = AIMessage(
        content=[{"type": "text", "text": "hi"}],
        tool_calls=[tool_call("weather", {"city": "Paris"}, "c1")],
        response_metadata={"model_name": "m", "finish_reason": "stop"},
    )
    nested = AIMessage(content="", tool_calls=[tool_call("f", {"where": {"city": "P"}}, "c2")])
    marks = {name: mark for name, mark in _model_codec._shape(message.__dict__)}
    assert (marks["content"], marks["response_metadata"]) == ("flat items", "flat")
    assert marks["tool_calls"] == "nearly flat items"
    assert dict(_model_codec._shape(nested.__dict__))["tool_calls"] == ""  # (copy_value)
    copy = _model_codec.copier_of(message)(message)
    assert copy == message and copy.tool_calls[0]["args"] is not message.tool_calls[0]["args"]
    assert copy.content[0] is not message.content[0]
