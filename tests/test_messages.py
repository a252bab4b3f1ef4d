"""Messages, chunk merging, coercion and the add_messages reducer."""

from __future__ import annotations

from typing import Annotated, Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter

from graphkit.messages import (
    REMOVE_ALL_MESSAGES,
    AIMessage,
    AIMessageChunk,
    AnyMessage,
    BaseMessage,
    HumanMessage,
    RemoveMessage,
    SystemMessage,
    ToolMessage,
    add_messages,
    convert_to_messages,
    message_chunk_to_message,
)


def test_positional_content_like_langchain() -> None:
    assert HumanMessage("hi").content == "hi"
    assert SystemMessage("be brief", id="s").id == "s"


def test_text_joins_text_blocks_and_skips_others() -> None:
    msg = AIMessage(content=["a", {"type": "text", "text": "b"}, {"type": "image", "url": "x"}])
    assert msg.text == "ab"


def test_tool_calls_get_type_and_default_id() -> None:
    msg = AIMessage("", tool_calls=[{"name": "f", "args": {"x": 1}}])
    assert msg.tool_calls == [{"name": "f", "args": {"x": 1}, "id": None, "type": "tool_call"}]


def test_remove_message_requires_id() -> None:
    with pytest.raises(TypeError, match="RemoveMessage"):
        RemoveMessage()


def test_unknown_field_is_rejected() -> None:
    with pytest.raises(ValueError, match="tool_call"):
        AIMessage("x", tool_call=[])


def test_any_message_discriminates_on_type() -> None:
    adapter: TypeAdapter[list[Any]] = TypeAdapter(list[AnyMessage])
    parsed = adapter.validate_python(
        [
            {"type": "human", "content": "q"},
            {"type": "ai", "content": "a"},
            {"type": "tool", "content": "r", "tool_call_id": "c"},
        ]
    )
    assert [type(m) for m in parsed] == [HumanMessage, AIMessage, ToolMessage]


def test_pretty_print_shows_title_and_tool_calls(capsys: pytest.CaptureFixture[str]) -> None:
    AIMessage(
        "thinking", tool_calls=[{"name": "search", "args": {"q": "x"}, "id": "c1"}]
    ).pretty_print()
    out = capsys.readouterr().out
    assert "Ai Message" in out and "search (c1)" in out and "q: x" in out
    assert len(out.splitlines()[0]) == 80


def test_chunks_add_text_tool_call_args_and_usage() -> None:
    parts = [
        AIMessageChunk("Hel", id="m1", response_metadata={"model": "x"}),
        AIMessageChunk(
            "lo", tool_call_chunks=[{"name": "add", "args": '{"a": ', "id": "c1", "index": 1}]
        ),
        AIMessageChunk("", tool_call_chunks=[{"name": None, "args": "2}", "id": None, "index": 1}]),
        AIMessageChunk(
            "",
            usage={"input_tokens": 3, "output_tokens": 4, "total_tokens": 7},
            response_metadata={"stop_reason": "tool_use"},
        ),
    ]
    total = parts[0]
    for part in parts[1:]:
        total = total + part
    assert total.content == "Hello"
    assert total.id == "m1"
    assert total.tool_calls == [{"name": "add", "args": {"a": 2}, "id": "c1", "type": "tool_call"}]
    assert total.usage == {"input_tokens": 3, "output_tokens": 4, "total_tokens": 7}
    assert total.response_metadata == {"model": "x", "stop_reason": "tool_use"}
    final = message_chunk_to_message(total)
    assert type(final) is AIMessage and final.tool_calls == total.tool_calls


def test_chunk_with_bad_json_args_becomes_invalid_tool_call() -> None:
    chunk = AIMessageChunk(
        "", tool_call_chunks=[{"name": "f", "args": "{oops", "id": "c", "index": 0}]
    )
    assert chunk.tool_calls == []
    assert chunk.invalid_tool_calls[0]["name"] == "f"
    assert "not valid JSON" in (chunk.invalid_tool_calls[0]["error"] or "")


@pytest.mark.parametrize(
    ("value", "cls"),
    [
        ("hi", HumanMessage),
        (("user", "hi"), HumanMessage),
        (("assistant", "hi"), AIMessage),
        (("ai", "hi"), AIMessage),
        (("system", "hi"), SystemMessage),
        ({"role": "human", "content": "hi"}, HumanMessage),
        ({"type": "ai", "content": "hi"}, AIMessage),
        ({"role": "tool", "content": "42", "tool_call_id": "c"}, ToolMessage),
    ],
)
def test_convert_to_messages_coerces_message_likes(value: Any, cls: type[BaseMessage]) -> None:
    [msg] = convert_to_messages(value)
    assert type(msg) is cls


def test_convert_openai_style_assistant_tool_calls() -> None:
    [msg] = convert_to_messages(
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "c", "type": "function", "function": {"name": "f", "arguments": '{"x": 1}'}}
            ],
        }
    )
    assert isinstance(msg, AIMessage)
    assert msg.content == ""
    assert msg.tool_calls[0]["args"] == {"x": 1}


def test_convert_rejects_unknown_role_and_type() -> None:
    with pytest.raises(ValueError, match="unknown message role 'robot'"):
        convert_to_messages(("robot", "x"))
    with pytest.raises(TypeError, match="cannot turn a int"):
        convert_to_messages([1])  # type: ignore[list-item]


def test_add_messages_appends_and_keeps_left_objects() -> None:
    left = [HumanMessage("a", id="1"), AIMessage("b", id="2")]
    result = add_messages(left, [HumanMessage("c", id="3")])
    assert [m.id for m in result] == ["1", "2", "3"]
    assert result[0] is left[0] and result[1] is left[1]
    assert len(left) == 2


def test_add_messages_accepts_single_messages_and_assigns_ids() -> None:
    msg = HumanMessage("x")
    result = add_messages([], msg)
    assert result[0] is msg and msg.id  # the message itself gets the id, as in LangGraph
    assert add_messages([], HumanMessage("x", id="kept"))[0].id == "kept"


def test_add_messages_replaces_by_id_in_place() -> None:
    left = [HumanMessage("a", id="1"), AIMessage("b", id="2")]
    result = add_messages(left, AIMessage("B", id="1"))
    assert [(m.id, m.text) for m in result] == [("1", "B"), ("2", "b")]
    assert left[0].text == "a"


def test_add_messages_removes_by_id() -> None:
    left = [HumanMessage("a", id="1"), AIMessage("b", id="2")]
    assert [m.id for m in add_messages(left, RemoveMessage(id="1"))] == ["2"]


def test_add_messages_unknown_remove_id_is_a_clear_error() -> None:
    with pytest.raises(
        ValueError, match="delete a message with an ID that doesn't exist \\('nope'\\)"
    ):
        add_messages([HumanMessage("a", id="1")], RemoveMessage(id="nope"))


def test_remove_all_messages_keeps_only_what_follows() -> None:
    left = [HumanMessage("a", id="1"), AIMessage("b", id="2")]
    result = add_messages(left, [RemoveMessage(id=REMOVE_ALL_MESSAGES), HumanMessage("c", id="3")])
    assert [m.id for m in result] == ["3"]


def test_add_messages_turns_chunks_into_messages() -> None:
    result = add_messages([], AIMessageChunk("x", id="1"))
    assert type(result[0]) is AIMessage


def test_messages_round_trip_through_serde() -> None:
    serde = pytest.importorskip("graphkit.stores.serde")
    serializer = serde.Serializer()
    messages: list[BaseMessage] = [
        HumanMessage("hi", id="1", name="bob"),
        SystemMessage(["a", {"type": "text", "text": "b"}]),
        AIMessage(
            "ok",
            id="2",
            tool_calls=[{"name": "f", "args": {"x": [1, 2]}, "id": "c"}],
            usage={"input_tokens": 1, "output_tokens": 2, "total_tokens": 3},
            response_metadata={"model": "m"},
        ),
        AIMessageChunk("pa", tool_call_chunks=[{"name": "f", "args": "{}", "id": "c", "index": 0}]),
        ToolMessage("42", tool_call_id="c", status="error"),
        RemoveMessage(id="2"),
    ]
    for msg in messages:
        back = serializer.loads(serializer.dumps(msg))
        assert type(back) is type(msg)
        assert back == msg


# -- properties ---------------------------------------------------------------

ids = st.text(alphabet="abcdef", min_size=1, max_size=3)
message_lists = st.lists(
    st.tuples(ids, st.sampled_from(["human", "ai"]), st.text(max_size=5)),
    max_size=8,
    unique_by=lambda t: t[0],
).map(
    lambda rows: [HumanMessage(c, id=i) if k == "human" else AIMessage(c, id=i) for i, k, c in rows]
)


@given(message_lists, message_lists)
def test_result_ids_are_unique_and_cover_both_sides(left: list[Any], right: list[Any]) -> None:
    result = add_messages(left, right)
    result_ids = [m.id for m in result]
    assert len(result_ids) == len(set(result_ids))
    assert set(result_ids) == {m.id for m in left} | {m.id for m in right}


@given(message_lists, message_lists)
def test_re_adding_the_same_messages_is_idempotent(left: list[Any], right: list[Any]) -> None:
    once = add_messages(left, right)
    assert add_messages(once, right) == once


@given(message_lists, message_lists)
def test_appending_then_removing_by_id_restores_left(left: list[Any], right: list[Any]) -> None:
    new = [m for m in right if m.id not in {x.id for x in left}]
    grown = add_messages(left, new)
    assert grown[: len(left)] == left
    assert add_messages(grown, [RemoveMessage(id=m.id) for m in new]) == left


@given(message_lists)
def test_inputs_are_never_mutated(left: list[Any]) -> None:
    before = [m.model_copy() for m in left]
    add_messages(left, [HumanMessage("x"), *[RemoveMessage(id=m.id) for m in left[:1]]])
    assert left == before


def test_add_messages_with_format_makes_a_reducer_and_rejects_unknown_formats() -> None:
    import functools

    reducer = add_messages(format="langchain-openai")
    assert isinstance(reducer, functools.partial)
    with pytest.raises(ValueError, match="Unrecognized format='xml'"):
        add_messages([], [], format="xml")
    with pytest.raises(ValueError, match="needs both 'left' and 'right'"):
        add_messages([], None)


def test_openai_format_converts_images_tool_use_and_tool_results() -> None:
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AA"}}
    right = [
        HumanMessage([{"type": "text", "text": "look", "cache_control": {"type": "x"}}, image]),
        AIMessage([{"type": "tool_use", "name": "zoom", "input": {"k": 2}, "id": "t1"}]),
        HumanMessage([{"type": "tool_result", "tool_use_id": "t1", "content": [image]}]),
    ]
    human, ai, tool = add_messages([], right, format="langchain-openai")
    url = {"type": "image_url", "image_url": {"url": "data:image/png;base64,AA"}}
    assert human.content == [{"type": "text", "text": "look"}, url]
    assert ai.content == "" and ai.tool_calls[0]["name"] == "zoom"
    assert ai.tool_calls[0]["args"] == {"k": 2}
    assert isinstance(tool, ToolMessage) and tool.tool_call_id == "t1"
    assert tool.content == [url]


def test_openai_format_makes_text_only_content_one_string() -> None:
    # As LangChain's convert_to_openai_messages: code then reads message.content as text.
    text = {"type": "text", "text": "a"}
    right = [
        HumanMessage([text, {"type": "text", "text": "b"}]),
        AIMessage([text, "plain"]),
        ToolMessage([text], tool_call_id="t"),
        HumanMessage([text, {"type": "image_url", "image_url": {"url": "u"}}]),
        AIMessage([text, {"type": "tool_use", "name": "f", "input": {}, "id": "c"}]),
    ]
    merged = add_messages([], right, format="langchain-openai")
    assert [m.content for m in merged[:3]] == ["a\nb", "a\nplain", "a"]
    assert isinstance(merged[3].content, list)
    assert (merged[4].content, merged[4].tool_calls[0]["name"]) == ("a", "f")


def test_tool_call_type_is_normalized_as_langchain_does() -> None:
    message = AIMessage("", tool_calls=[{"name": "f", "args": {}, "id": "1", "type": "tool_calls"}])
    assert message.tool_calls[0]["type"] == "tool_call"


def test_pydantic_messages_state_takes_message_likes_as_input() -> None:
    from pydantic import BaseModel

    from graphkit import START, StateGraph

    class PState(BaseModel):
        messages: Annotated[list[AnyMessage], add_messages]

    builder = StateGraph(PState)
    builder.add_node("reply", lambda s: {"messages": [HumanMessage("pong")]})
    builder.add_edge(START, "reply")
    out = builder.compile().invoke({"messages": [("user", "ping")]})
    assert [m.content for m in out["messages"]] == ["ping", "pong"]


@pytest.mark.parametrize("container", [list, "sequence"])
def test_the_first_input_of_a_message_key_goes_through_its_reducer(container: Any) -> None:
    """A reducer key starts at its type's empty value (a ``Sequence`` starts as a list),
    so ``add_messages`` turns an input string into a message before any node runs."""
    from collections.abc import Sequence

    from typing_extensions import TypedDict

    from graphkit import START, StateGraph
    from graphkit.messages import HumanMessage, add_messages

    kind = list[Any] if container is list else Sequence[Any]
    State = TypedDict("State", {"messages": Annotated[kind, add_messages]})  # type: ignore[misc]  # noqa: UP013
    seen: list[Any] = []
    builder = StateGraph(State)
    builder.add_node("a", lambda s: seen.append(s["messages"]) or {})
    builder.add_edge(START, "a")
    out = builder.compile().invoke({"messages": "hello"})
    assert [type(m) for m in seen[0]] == [HumanMessage]
    assert out["messages"][0].content == "hello"


def test_ai_message_takes_usage_under_langchain_name_too() -> None:
    usage = {"input_tokens": 1, "output_tokens": 2, "total_tokens": 3}
    assert AIMessage("x", usage_metadata=usage).usage == usage
    assert AIMessage("x", usage=usage).usage_metadata == usage
    with pytest.raises(ValueError, match="usage_metadatum"):
        AIMessage("x", usage_metadatum=usage)


def test_any_message_keeps_instances_and_validates_everything_else() -> None:
    """Its fast path for instances of its own classes changes nothing pydantic does."""

    class Custom(HumanMessage):
        pass

    adapter: TypeAdapter[list[Any]] = TypeAdapter(list[AnyMessage])
    human, custom = HumanMessage("hi"), Custom("yo")
    got = adapter.validate_python([human, {"type": "ai", "content": "x"}, custom])
    assert got[0] is human and got[2] is custom
    assert type(got[1]) is AIMessage and got[1].content == "x"
    with pytest.raises(ValueError, match="type"):
        adapter.validate_python([{"type": "nope", "content": "x"}])
    assert adapter.json_schema()["items"]["discriminator"]["propertyName"] == "type"
