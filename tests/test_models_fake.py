"""BaseChatModel behaviour through FakeChatModel: scripting, tools, streaming hooks."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

import graphkit.context
from graphkit.messages import AIMessage, AIMessageChunk, HumanMessage
from graphkit.models import FakeChatModel, FakeModelExhaustedError, OutputParserError
from graphkit.tools import tool


@tool
def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


def test_replies_in_order_then_raises_when_exhausted() -> None:
    model = FakeChatModel(responses=["one", AIMessage("two", id="x")])
    assert model.invoke("a").text == "one"
    assert model.invoke("b").id == "x"
    with pytest.raises(FakeModelExhaustedError, match="called 3 times but scripts only 2"):
        model.invoke("c")


def test_cycle_starts_over() -> None:
    model = FakeChatModel(responses=["one", "two"], cycle=True)
    assert [model.invoke("q").text for _ in range(3)] == ["one", "two", "one"]


def test_scripted_exceptions_are_raised() -> None:
    model = FakeChatModel(responses=[RuntimeError("provider down")])
    with pytest.raises(RuntimeError, match="provider down"):
        model.invoke("q")


def test_calls_record_coerced_input() -> None:
    model = FakeChatModel(responses=["ok"])
    model.invoke([("system", "s"), {"role": "user", "content": "u"}])
    assert [m.type for m in model.calls[0]] == ["system", "human"]


def test_bind_tools_returns_a_copy_sharing_the_script() -> None:
    model = FakeChatModel(responses=["one", "two"])
    bound = model.bind_tools([add])
    assert model.tools == () and [t.name for t in bound.tools] == ["add"]
    assert bound.invoke("q").text == "one"
    assert model.invoke("q").text == "two"


def test_bind_tools_rejects_unknown_tool_choice() -> None:
    with pytest.raises(ValueError, match="tool_choice='nope' is not a bound tool"):
        FakeChatModel(responses=[]).bind_tools([add], tool_choice="nope")


def test_stream_splits_words_and_sends_tool_calls_last() -> None:
    reply = AIMessage(
        "let me add", tool_calls=[{"name": "add", "args": {"a": 1, "b": 2}, "id": "c"}]
    )
    chunks = list(FakeChatModel(responses=[reply]).stream("q"))
    assert [c.text for c in chunks] == ["let", " me", " add", ""]
    total = chunks[0]
    for chunk in chunks[1:]:
        total = total + chunk
    assert total.tool_calls == reply.tool_calls


async def test_async_paths() -> None:
    model = FakeChatModel(responses=["hello world", "x"])
    assert [c.text async for c in model.astream("q")] == ["hello", " world"]
    assert (await model.ainvoke("q")).text == "x"


class Answer(BaseModel):
    """The final answer."""

    value: int


def test_structured_output_from_scripted_object() -> None:
    model = FakeChatModel(responses=[Answer(value=4), {"value": "5"}])
    structured = model.with_structured_output(Answer)
    assert structured.invoke("2+2?") == Answer(value=4)
    assert structured.invoke("2+3?") == Answer(value=5)


def test_structured_output_without_tool_call_is_a_clear_error() -> None:
    structured = FakeChatModel(responses=["just text", "more text"]).with_structured_output(
        Answer, include_raw=True
    )
    result = structured.invoke("q")
    assert result["parsed"] is None and isinstance(result["parsing_error"], OutputParserError)
    with pytest.raises(OutputParserError, match="without calling 'Answer'"):
        FakeChatModel(responses=["x"]).with_structured_output(Answer).invoke("q")


def test_structured_output_with_json_schema_dict() -> None:
    schema = {"title": "Answer", "type": "object", "properties": {"value": {"type": "integer"}}}
    model = FakeChatModel(responses=[{"value": 1}])
    assert model.with_structured_output(schema).invoke("q") == {"value": 1}


def test_invoke_streams_into_the_messages_stream_when_active(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    emitted: list[Any] = []
    monkeypatch.setattr(graphkit.context, "messages_streaming_active", lambda: True)
    monkeypatch.setattr(
        graphkit.context, "emit_message_chunk", lambda chunk, metadata=None: emitted.append(chunk)
    )
    reply = FakeChatModel(responses=["a b c"]).invoke([HumanMessage("q")])
    assert [c.text for c in emitted] == ["a", " b", " c"]
    assert all(isinstance(c, AIMessageChunk) for c in emitted)
    assert type(reply) is AIMessage and reply.text == "a b c"


def test_invoke_does_not_emit_when_not_streaming(monkeypatch: pytest.MonkeyPatch) -> None:
    emitted: list[Any] = []
    monkeypatch.setattr(
        graphkit.context, "emit_message_chunk", lambda chunk, metadata=None: emitted.append(chunk)
    )
    FakeChatModel(responses=["a b"]).invoke("q")
    assert emitted == []
