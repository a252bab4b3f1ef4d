"""LangChain's message helpers in graphkit.messages: filter, merge runs, buffer string,
OpenAI dicts, and message dicts."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis_budget import examples

import graphkit
from graphkit.errors import GraphkitError, InvalidArgumentError, InvalidMessageError
from graphkit.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    MessagesTransform,
    RemoveMessage,
    SystemMessage,
    ToolMessage,
    convert_to_messages,
    convert_to_openai_messages,
    filter_messages,
    get_buffer_string,
    merge_message_runs,
    message_from_dict,
    message_to_dict,
    messages_from_dict,
    messages_to_dict,
)

CALLS = [{"name": "f", "args": {"x": 1}, "id": "c1"}, {"name": "g", "args": {}, "id": "c2"}]
HISTORY: list[BaseMessage] = [
    SystemMessage("be kind", id="s"),
    HumanMessage("hi", id="h1", name="ann"),
    AIMessage("", id="a1", name="bot", tool_calls=CALLS),
    ToolMessage("one", tool_call_id="c1", id="t1"),
    ToolMessage("two", tool_call_id="c2", id="t2"),
    AIMessage("done", id="a2"),
]


def ids(messages: list[BaseMessage]) -> list[str | None]:
    return [m.id for m in messages]


# -- filter_messages ------------------------------------------------------------------


def test_filter_by_types_names_and_ids() -> None:
    assert ids(filter_messages(HISTORY, include_types=["system", "human"])) == ["s", "h1"]
    assert ids(filter_messages(HISTORY, include_types=[AIMessage])) == ["a1", "a2"]
    assert ids(filter_messages(HISTORY, include_names=["ann", "bot"])) == ["h1", "a1"]
    assert ids(filter_messages(HISTORY, exclude_types="tool")) == ["s", "h1", "a1", "a2"]
    assert ids(filter_messages(HISTORY, include_ids=["a2"], include_names=["ann"])) == [
        "h1",
        "a2",
    ]


def test_exclusions_win_over_inclusions() -> None:
    kept = filter_messages(HISTORY, include_types=["ai"], exclude_ids=["a1"])
    assert ids(kept) == ["a2"]
    assert ids(filter_messages(HISTORY, exclude_names=["ann"])) == ["s", "a1", "t1", "t2", "a2"]


def test_no_options_keeps_everything_and_empty_stays_empty() -> None:
    assert ids(filter_messages(HISTORY)) == ids(HISTORY)
    assert filter_messages([]) == []


def test_exclude_tool_calls_true_drops_calls_and_answers() -> None:
    assert ids(filter_messages(HISTORY, exclude_tool_calls=True)) == ["s", "h1", "a2"]


def test_exclude_some_tool_calls_keeps_the_rest_of_the_message() -> None:
    kept = filter_messages(HISTORY, exclude_tool_calls=["c1"])
    assert ids(kept) == ["s", "h1", "a1", "t2", "a2"]
    assert [c["id"] for c in kept[2].tool_calls] == ["c2"]  # type: ignore[attr-defined]
    assert len(HISTORY[2].tool_calls) == 2  # type: ignore[attr-defined]  # input untouched
    assert ids(filter_messages(HISTORY, exclude_tool_calls=["c1", "c2"])) == ["s", "h1", "a2"]


def test_exclude_tool_calls_also_drops_anthropic_tool_use_blocks() -> None:
    blocks: list[Any] = [
        {"type": "text", "text": "calling"},
        {"type": "tool_use", "id": "c1", "name": "f", "input": {"x": 1}},
        {"type": "tool_use", "id": "c2", "name": "g", "input": {}},
    ]
    message = AIMessage(blocks, tool_calls=CALLS)
    (kept,) = filter_messages([message], exclude_tool_calls=["c1"])
    assert kept.content == [blocks[0], blocks[2]]


def test_filter_without_messages_is_a_transform() -> None:
    only_ai = filter_messages(include_types="ai")
    assert isinstance(only_ai, MessagesTransform)
    assert ids(only_ai(HISTORY)) == ["a1", "a2"]
    assert ids(only_ai.invoke(HISTORY)) == ["a1", "a2"]


def test_filter_accepts_tuples_and_dicts() -> None:
    kept = filter_messages(
        [("user", "q"), {"role": "assistant", "content": "a"}], include_types="ai"
    )
    assert [m.text for m in kept] == ["a"]


# -- merge_message_runs ---------------------------------------------------------------


def test_merge_joins_string_runs_with_the_separator() -> None:
    merged = merge_message_runs(
        [HumanMessage("a", id="1"), HumanMessage("b", id="2"), AIMessage("c"), AIMessage("d")]
    )
    assert [(m.type, m.content) for m in merged] == [("human", "a\nb"), ("ai", "c\nd")]
    assert merged[0].id == "1"
    joined = merge_message_runs([HumanMessage("a"), HumanMessage("b")], chunk_separator=" | ")
    assert joined[0].content == "a | b"


def test_merge_skips_the_separator_next_to_empty_content() -> None:
    merged = merge_message_runs([HumanMessage(""), HumanMessage("b"), HumanMessage("")])
    assert merged[0].content == "b"


def test_merge_list_and_string_contents() -> None:
    text = {"type": "text", "text": "a"}
    assert merge_message_runs([HumanMessage("a"), HumanMessage([text])])[0].content == ["a", text]
    assert merge_message_runs([HumanMessage([text]), HumanMessage("b")])[0].content == [text, "b"]
    assert merge_message_runs([HumanMessage(["a"]), HumanMessage("b")])[0].content == ["ab"]


def test_merge_ai_messages_keeps_all_tool_calls_and_adds_usage() -> None:
    usage = {"input_tokens": 1, "output_tokens": 2, "total_tokens": 3}
    merged = merge_message_runs(
        [
            AIMessage("a", id="lc_tmp", tool_calls=CALLS[:1], usage=usage),  # type: ignore[arg-type]
            AIMessage("b", id="real", tool_calls=CALLS[1:], usage=usage),  # type: ignore[arg-type]
        ]
    )
    (message,) = merged
    assert isinstance(message, AIMessage)
    assert [c["id"] for c in message.tool_calls] == ["c1", "c2"]
    assert message.usage == {"input_tokens": 2, "output_tokens": 4, "total_tokens": 6}
    assert message.id == "real"  # a provisional lc_ id gives way


def test_merge_never_merges_tool_messages_or_different_types() -> None:
    merged = merge_message_runs(HISTORY)
    assert ids(merged) == ids(HISTORY)


def test_merge_extras_as_langchain_does() -> None:
    merged = merge_message_runs(
        [
            HumanMessage("a", additional_kwargs={"s": "x", "d": {"p": 1}, "n": 1, "l": [1]}),
            HumanMessage("b", additional_kwargs={"s": "y", "d": {"q": 2}, "n": 2, "l": [2]}),
        ]
    )
    assert merged[0].additional_kwargs == {"s": "xy", "d": {"p": 1, "q": 2}, "n": 3, "l": [1, 2]}
    equal = merge_message_runs(
        [
            HumanMessage("a", additional_kwargs={"lang": "en", "index": 1, "flag": True}),
            HumanMessage("b", additional_kwargs={"lang": "en", "index": 2, "flag": True}),
        ]
    )
    assert equal[0].additional_kwargs == {"lang": "en", "index": 2, "flag": True}
    with pytest.raises(InvalidMessageError, match="bool values that differ"):
        merge_message_runs(
            [
                HumanMessage("a", additional_kwargs={"flag": True}),
                HumanMessage("b", additional_kwargs={"flag": False}),
            ]
        )
    with pytest.raises(InvalidMessageError, match="one is a str, the other a int"):
        merge_message_runs(
            [
                HumanMessage("a", additional_kwargs={"k": "x"}),
                HumanMessage("b", additional_kwargs={"k": 1}),
            ]
        )


def test_merge_keeps_a_shared_name_and_the_first_response_metadata() -> None:
    merged = merge_message_runs(
        [
            AIMessage("a", name="bot", response_metadata={"model": "m1"}),
            AIMessageChunk("b", name="bot", response_metadata={"model": "m2"}),
        ]
    )
    assert [type(m) for m in merged] == [AIMessage]
    assert merged[0].name == "bot"
    assert merged[0].response_metadata == {"model": "m1"}
    mixed = merge_message_runs([HumanMessage("a", name="ann"), HumanMessage("b", name="bob")])
    assert mixed[0].name is None  # neither speaker said all of it
    one_named = merge_message_runs([HumanMessage("a", name="ann"), HumanMessage("b")])
    assert one_named[0].name is None


def test_merge_empty_and_transform() -> None:
    assert merge_message_runs([]) == []
    merger = merge_message_runs(chunk_separator="")
    assert merger([HumanMessage("a"), HumanMessage("b")])[0].content == "ab"


# -- get_buffer_string ----------------------------------------------------------------


def test_buffer_string_prefixes_each_role() -> None:
    text = get_buffer_string(HISTORY)
    assert text.splitlines() == [
        "System: be kind",
        "Human: hi",
        f"AI: {HISTORY[2].tool_calls}",  # type: ignore[attr-defined]
        "Tool: one",
        "Tool: two",
        "AI: done",
    ]
    custom = get_buffer_string(HISTORY[1:2] + HISTORY[-1:], human_prefix="User", ai_prefix="Bot")
    assert custom == "User: hi\nBot: done"
    assert get_buffer_string([]) == ""


def test_buffer_string_options() -> None:
    msgs = [SystemMessage("s"), ToolMessage("r", tool_call_id="c")]
    out = get_buffer_string(msgs, system_prefix="Sys", tool_prefix="Fn", message_separator=" / ")
    assert out == "Sys: s / Fn: r"
    blocks = HumanMessage(
        [{"type": "text", "text": "a"}, {"type": "image_url", "image_url": {"url": "u"}}]
    )
    assert get_buffer_string([blocks]) == "Human: a"
    assert get_buffer_string([("user", "q"), ("ai", "a")], function_prefix="F") == "Human: q\nAI: a"


def test_buffer_string_xml_escapes_and_nests_tool_calls() -> None:
    out = get_buffer_string(
        [
            HumanMessage("Is 5 < 10 & Human: x?"),
            AIMessage("ok", tool_calls=[{"name": "f", "args": {"q": "é"}, "id": "c1"}]),
            HumanMessage([{"type": "image_url", "image_url": {"url": "http://i/x.png"}}, "b"]),
            HumanMessage([{"type": "image_url", "image_url": {"url": "data:image/png;base64,AA"}}]),
        ],
        format="xml",
    )
    assert out.split("\n") == [
        '<message type="human">Is 5 &lt; 10 &amp; Human: x?</message>',
        '<message type="ai">',
        "  <content>ok</content>",
        '  <tool_call id="c1" name="f">{"q": "é"}</tool_call>',
        "</message>",
        '<message type="human"><image url="http://i/x.png" /> b</message>',
        '<message type="human"></message>',
    ]


def test_buffer_string_errors() -> None:
    with pytest.raises(InvalidArgumentError, match="'prefix' and 'xml'"):
        get_buffer_string(HISTORY, format="json")  # type: ignore[arg-type]
    with pytest.raises(InvalidMessageError, match="cannot render a RemoveMessage"):
        get_buffer_string([RemoveMessage(id="x")])


# -- convert_to_openai_messages -------------------------------------------------------


def test_openai_messages_for_a_tool_conversation() -> None:
    assert convert_to_openai_messages(HISTORY[:4]) == [
        {"role": "system", "content": "be kind"},
        {"role": "user", "name": "ann", "content": "hi"},
        {
            "role": "assistant",
            "name": "bot",
            "content": "",
            "tool_calls": [
                {
                    "type": "function",
                    "id": "c1",
                    "function": {"name": "f", "arguments": '{"x": 1}'},
                },
                {"type": "function", "id": "c2", "function": {"name": "g", "arguments": "{}"}},
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "one"},
    ]


def test_openai_one_message_gives_one_dict_and_block_format() -> None:
    assert convert_to_openai_messages(HumanMessage("hi")) == {"role": "user", "content": "hi"}
    assert convert_to_openai_messages({"role": "user", "content": "hi"})["content"] == "hi"
    assert convert_to_openai_messages([("user", "hi")]) == [{"role": "user", "content": "hi"}]
    assert convert_to_openai_messages(HumanMessage("hi"), text_format="block") == {
        "role": "user",
        "content": [{"type": "text", "text": "hi"}],
    }
    assert convert_to_openai_messages([AIMessage("")], text_format="block") == [
        {"role": "assistant", "content": []}
    ]
    assert convert_to_openai_messages(HumanMessage("x", id="9"), include_id=True)["id"] == "9"


def test_openai_text_blocks_join_with_newlines_in_string_format() -> None:
    message = ToolMessage([{"type": "text", "text": "a"}, "b"], tool_call_id="c")
    assert convert_to_openai_messages(message)["content"] == "a\nb"


def test_openai_translates_anthropic_blocks() -> None:
    source = {"type": "base64", "media_type": "image/png", "data": "AAA"}
    human = HumanMessage(
        [
            {"type": "image", "source": source},
            {"type": "tool_result", "tool_use_id": "c9", "content": "42", "is_error": True},
            {"type": "json", "json": {"a": 1}},
        ]
    )
    assert convert_to_openai_messages([human]) == [
        {
            "role": "user",
            "content": [
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAA"}},
                {"type": "text", "text": '{"a": 1}'},
            ],
        },
        {"role": "tool", "tool_call_id": "c9", "content": "42"},
    ]
    only_result = HumanMessage([{"type": "tool_result", "tool_use_id": "c9", "content": "42"}])
    assert convert_to_openai_messages([only_result]) == [
        {"role": "tool", "tool_call_id": "c9", "content": "42"}
    ]
    ai = AIMessage([{"type": "tool_use", "id": "c3", "name": "f", "input": {"x": 2}}])
    assert convert_to_openai_messages(ai)["tool_calls"] == [
        {"type": "function", "id": "c3", "function": {"name": "f", "arguments": '{"x": 2}'}}
    ]


def test_openai_errors_name_the_block() -> None:
    mystery = HumanMessage(["a", {"type": "mystery"}])
    assert convert_to_openai_messages(mystery)["content"][1] == {"type": "mystery"}
    with pytest.raises(InvalidMessageError, match=r"messages\[0\].content\[1\]"):
        convert_to_openai_messages([mystery], pass_through_unknown_blocks=False)
    with pytest.raises(InvalidMessageError, match="takes images by url or base64"):
        convert_to_openai_messages(HumanMessage([{"type": "video", "url": "http://v"}]))
    with pytest.raises(InvalidMessageError, match=r"missing expected key\(s\) \['input'\]"):
        convert_to_openai_messages([AIMessage([{"type": "tool_use", "id": "1", "name": "f"}])])
    with pytest.raises(InvalidArgumentError, match="'string' or 'block'"):
        convert_to_openai_messages(HISTORY, text_format="json")  # type: ignore[arg-type]
    with pytest.raises(InvalidMessageError, match="no OpenAI role"):
        convert_to_openai_messages([RemoveMessage(id="x")])


def test_openai_standard_data_blocks() -> None:
    blocks: list[Any] = [
        {"type": "image", "url": "http://i/x.png"},
        {"type": "image", "base64": "AAA", "mime_type": "image/png"},
        {"type": "file", "base64": "PDF", "mime_type": "application/pdf", "filename": "a.pdf"},
        {"type": "file", "file_id": "file-1"},
        {"type": "audio", "base64": "WAV", "mime_type": "audio/wav"},
        {"type": "file", "file": {"file_data": "data:application/pdf;base64,X"}},
    ]
    assert convert_to_openai_messages(HumanMessage(blocks))["content"] == [
        {"type": "image_url", "image_url": {"url": "http://i/x.png"}},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAA"}},
        {
            "type": "file",
            "file": {"file_data": "data:application/pdf;base64,PDF", "filename": "a.pdf"},
        },
        {"type": "file", "file": {"file_id": "file-1", "filename": "LC_AUTOGENERATED"}},
        {"type": "input_audio", "input_audio": {"data": "WAV", "format": "wav"}},
        {
            "type": "file",
            "file": {"filename": "LC_AUTOGENERATED", "file_data": "data:application/pdf;base64,X"},
        },
    ]


def test_openai_responses_function_call_blocks_become_tool_calls() -> None:
    block = {"type": "function_call", "call_id": "c5", "name": "f", "arguments": '{"a": 1}'}
    wire = convert_to_openai_messages(AIMessage([block]))
    assert wire["tool_calls"] == [
        {"type": "function", "id": "c5", "function": {"name": "f", "arguments": '{"a": 1}'}}
    ]
    assert wire["content"] == [block]  # kept too (pass_through_unknown_blocks)


def test_developer_role_round_trips() -> None:
    system = SystemMessage("rules", additional_kwargs={"__openai_role__": "developer"})
    assert convert_to_openai_messages(system)["role"] == "developer"
    wire = {"role": "developer", "content": "rules"}
    assert convert_to_openai_messages(convert_to_messages([wire])) == [wire]
    assert convert_to_messages([("developer", "rules")]) == [system]


# -- message dicts --------------------------------------------------------------------


def test_message_to_dict_has_langchain_shape() -> None:
    usage = {"input_tokens": 1, "output_tokens": 1, "total_tokens": 2}
    data = message_to_dict(AIMessage("x", id="1", usage=usage))  # type: ignore[arg-type]
    assert data["type"] == "ai"
    assert data["data"]["usage_metadata"] == usage
    assert "usage" not in data["data"]
    assert data["data"]["content"] == "x"


@pytest.mark.parametrize("message", [*HISTORY, AIMessageChunk("c"), RemoveMessage(id="r")])
def test_dicts_round_trip(message: BaseMessage) -> None:
    assert message_from_dict(message_to_dict(message)) == message
    assert messages_from_dict(messages_to_dict([message, message])) == [message, message]


def test_reads_dicts_with_langchain_only_fields() -> None:
    data = {"type": "human", "data": {"content": "hi", "example": False}}
    assert message_from_dict(data) == HumanMessage("hi")
    chunk = {"type": "AIMessageChunk", "data": {"content": "c", "chunk_position": None}}
    assert message_from_dict(chunk) == AIMessageChunk("c")


@pytest.mark.parametrize("bad", [{"type": "chat", "data": {}}, {"type": "human"}, {"data": {}}])
def test_bad_dicts_say_what_is_expected(bad: dict[str, Any]) -> None:
    with pytest.raises(InvalidMessageError, match="unexpected message type") as raised:
        message_from_dict(bad)
    assert isinstance(raised.value, GraphkitError)
    assert isinstance(raised.value, ValueError)


_TEXT = st.text(max_size=20)
_MESSAGES = st.one_of(
    st.builds(HumanMessage, _TEXT, name=st.none() | _TEXT, id=st.none() | _TEXT),
    st.builds(SystemMessage, _TEXT),
    st.builds(
        AIMessage,
        st.one_of(_TEXT, st.lists(st.builds(lambda t: {"type": "text", "text": t}, _TEXT))),
        tool_calls=st.lists(
            st.builds(lambda n, i: {"name": n, "args": {"k": i}, "id": i}, _TEXT, _TEXT),
            max_size=2,
        ),
    ),
    st.builds(ToolMessage, _TEXT, tool_call_id=_TEXT, status=st.sampled_from(["success", "error"])),
)


@settings(max_examples=examples(200))
@given(st.lists(_MESSAGES, max_size=6))
def test_property_dicts_round_trip_and_filter_keeps_order(messages: list[BaseMessage]) -> None:
    assert messages_from_dict(messages_to_dict(messages)) == messages
    kept = filter_messages(messages, include_types=["human", "tool"])
    assert kept == [m for m in messages if m.type in ("human", "tool")]
    merged = merge_message_runs(messages)
    assert len(merged) <= len(messages)
    assert all(
        type(a) is not type(b) or isinstance(a, ToolMessage) for a, b in itertools.pairwise(merged)
    )


def test_top_package_exports_the_common_helpers() -> None:
    for name in ("trim_messages", "filter_messages", "merge_message_runs"):
        assert getattr(graphkit, name) is getattr(graphkit.messages, name)


def test_merged_messages_share_nothing_mutable_with_the_input() -> None:
    first = HumanMessage("a", response_metadata={"seen": [1]}, additional_kwargs={"d": {"x": 1}})
    (merged,) = merge_message_runs([first, HumanMessage("b")])
    merged.response_metadata["seen"].append(2)
    merged.additional_kwargs["d"]["x"] = 9
    assert first.response_metadata == {"seen": [1]}
    assert first.additional_kwargs == {"d": {"x": 1}}
    assert first.content == "a"
