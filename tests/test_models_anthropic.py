"""ChatAnthropic against recorded Messages API responses (no network, no key).

The real SDK client runs over a mock transport (``_http.FixtureServer``) that
serves files from tests/fixtures and records each request body.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
from _http import FixtureServer
from pydantic import BaseModel

from graphkit.messages import AIMessage, AIMessageChunk, HumanMessage, SystemMessage, ToolMessage
from graphkit.models.anthropic import ChatAnthropic
from graphkit.models.errors import (
    MissingAPIKeyError,
    ModelAuthenticationError,
    ModelNotFoundError,
    ModelProviderError,
    ModelRateLimitError,
)
from graphkit.tools import tool


class Server(FixtureServer):
    extra_headers: ClassVar[dict[str, str]] = {"request-id": "req_test"}

    def model(self, **kwargs: Any) -> ChatAnthropic:
        return ChatAnthropic(
            "claude-sonnet-4-6", api_key="test-key", **self.http_clients(), **kwargs
        )


@pytest.fixture(autouse=True)
def no_env_key(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    yield


@tool
def get_weather(location: str) -> str:
    """Get the current weather.

    Args:
        location: city and state
    """
    return f"sunny in {location}"


def test_missing_key_names_provider_and_env_var() -> None:
    with pytest.raises(MissingAPIKeyError, match=r"Anthropic API key.*ANTHROPIC_API_KEY"):
        ChatAnthropic("claude-sonnet-4-6")


def test_key_from_environment_is_enough(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "from-env")
    assert ChatAnthropic("claude-sonnet-4-6").model == "claude-sonnet-4-6"


def test_text_reply_usage_and_metadata() -> None:
    server = Server((200, "anthropic_message_text.json"))
    reply = server.model(temperature=0.2).invoke([("system", "Be nice."), ("user", "Hi")])
    assert reply.content == "Hello! How can I help you today?"
    assert reply.id == "msg_01XFDUDYJgAACzvnptvVoYEL"
    assert reply.usage == {"input_tokens": 12, "output_tokens": 10, "total_tokens": 22}
    assert reply.response_metadata["stop_reason"] == "end_turn"
    assert reply.response_metadata["model"] == "claude-sonnet-4-6"
    assert server.requests == [
        {
            "model": "claude-sonnet-4-6",
            "max_tokens": 1024,
            "temperature": 0.2,
            "system": "Be nice.",
            "messages": [{"role": "user", "content": "Hi"}],
        }
    ]


def test_tool_use_reply_becomes_tool_calls() -> None:
    server = Server((200, "anthropic_message_tool_use.json"))
    model = server.model().bind_tools([get_weather], tool_choice="any")
    reply = model.invoke("Weather in SF and Paris?")
    assert reply.text == "I'll check the weather in both cities."
    assert [(c["name"], c["args"], c["id"]) for c in reply.tool_calls] == [
        ("get_weather", {"location": "San Francisco, CA"}, "toolu_01A09q90qw90lq917835lq9"),
        ("get_weather", {"location": "Paris"}, "toolu_01B19q90qw90lq917835lq0"),
    ]
    assert reply.usage is not None and reply.usage["input_tokens"] == 572
    assert reply.usage.get("input_token_details") == {"cache_read": 100, "cache_creation": 0}
    request = server.requests[0]
    assert request["tools"] == [
        {
            "name": "get_weather",
            "description": "Get the current weather.",
            "input_schema": {
                "type": "object",
                "properties": {"location": {"type": "string", "description": "city and state"}},
                "required": ["location"],
            },
        }
    ]
    assert request["tool_choice"] == {"type": "any"}


def test_tool_calls_and_results_map_to_tool_use_and_tool_result_blocks() -> None:
    server = Server((200, "anthropic_message_text.json"))
    history = [
        SystemMessage("sys one"),
        SystemMessage("sys two"),
        HumanMessage("Weather?"),
        AIMessage(
            "Checking.",
            tool_calls=[
                {"name": "get_weather", "args": {"location": "SF"}, "id": "t1"},
                {"name": "get_weather", "args": {"location": "Paris"}, "id": "t2"},
            ],
        ),
        ToolMessage("sunny", tool_call_id="t1"),
        ToolMessage("boom", tool_call_id="t2", status="error"),
        HumanMessage("thanks"),
    ]
    server.model().invoke(history)
    request = server.requests[0]
    assert request["system"] == "sys one\n\nsys two"
    assert request["messages"] == [
        {"role": "user", "content": "Weather?"},
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Checking."},
                {
                    "type": "tool_use",
                    "id": "t1",
                    "name": "get_weather",
                    "input": {"location": "SF"},
                },
                {
                    "type": "tool_use",
                    "id": "t2",
                    "name": "get_weather",
                    "input": {"location": "Paris"},
                },
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "t1", "content": "sunny"},
                {"type": "tool_result", "tool_use_id": "t2", "content": "boom", "is_error": True},
                {"type": "text", "text": "thanks"},
            ],
        },
    ]


def test_round_trip_of_a_reply_into_the_next_request() -> None:
    server = Server((200, "anthropic_message_tool_use.json"), (200, "anthropic_message_text.json"))
    model = server.model().bind_tools([get_weather])
    first = model.invoke("weather?")
    model.invoke([HumanMessage("weather?"), first])
    assistant = server.requests[1]["messages"][1]
    assert [b["type"] for b in assistant["content"]] == ["text", "tool_use", "tool_use"]


def test_stream_assembles_text_and_tool_call_arguments() -> None:
    server = Server((200, "anthropic_stream_tool_use.sse"))
    chunks = list(server.model().bind_tools([get_weather]).stream("weather in SF?"))
    assert server.requests[0]["stream"] is True
    assert all(isinstance(c, AIMessageChunk) for c in chunks)
    assert {c.id for c in chunks} == {"msg_014p7gG3wDgGV9EUtLvnow3U"}
    total = chunks[0]
    for chunk in chunks[1:]:
        total = total + chunk
    assert total.content == "Okay, let me check the weather."
    assert total.tool_calls == [
        {
            "name": "get_weather",
            "args": {"location": "San Francisco, CA"},
            "id": "toolu_01T1x1fJ34qAmk2tNTrN7Up6",
            "type": "tool_call",
        }
    ]
    assert total.usage == {"input_tokens": 472, "output_tokens": 89, "total_tokens": 561}
    assert total.response_metadata["stop_reason"] == "tool_use"


async def test_async_invoke_and_stream() -> None:
    server = Server((200, "anthropic_message_text.json"), (200, "anthropic_stream_tool_use.sse"))
    model = server.model()
    reply = await model.ainvoke("hi")
    assert reply.text.startswith("Hello")
    texts = [c.text async for c in model.astream("hi")]
    assert "".join(texts) == "Okay, let me check the weather."


def test_structured_output_forces_a_tool_call() -> None:
    class Weather(BaseModel):
        """Weather at a location."""

        location: str

    server = Server((200, "anthropic_message_tool_use.json"))
    # the fixture calls get_weather, so name the schema to match it
    Weather.__name__ = "get_weather"
    parsed = server.model().with_structured_output(Weather).invoke("weather?")
    assert isinstance(parsed, Weather) and parsed.location == "San Francisco, CA"
    assert server.requests[0]["tool_choice"] == {"type": "tool", "name": "get_weather"}


@pytest.mark.parametrize(
    ("status", "fixture", "error", "text"),
    [
        (401, "anthropic_error_authentication.json", ModelAuthenticationError, "ANTHROPIC_API_KEY"),
        (
            404,
            "anthropic_error_not_found.json",
            ModelNotFoundError,
            "model name 'claude-sonnet-4-6'",
        ),
        (429, "anthropic_error_rate_limit.json", ModelRateLimitError, "max_retries"),
        (529, "anthropic_error_overloaded.json", ModelProviderError, "HTTP 529"),
    ],
)
def test_provider_errors_become_model_errors(
    status: int, fixture: str, error: type[Exception], text: str
) -> None:
    server = Server((status, fixture))
    with pytest.raises(error, match=text) as info:
        server.model(max_retries=0).invoke("hi")
    assert f"anthropic returned HTTP {status}" in str(info.value)
    assert getattr(info.value, "status_code", None) == status


def test_rate_limit_is_retried_by_the_sdk() -> None:
    server = Server((429, "anthropic_error_rate_limit.json"), (200, "anthropic_message_text.json"))
    assert server.model(max_retries=1).invoke("hi").text.startswith("Hello")
    assert len(server.requests) == 2


def test_no_retry_when_max_retries_is_zero() -> None:
    server = Server((429, "anthropic_error_rate_limit.json"), (200, "anthropic_message_text.json"))
    with pytest.raises(ModelRateLimitError):
        server.model(max_retries=0).invoke("hi")
    assert len(server.requests) == 1


def test_stream_errors_are_translated_too() -> None:
    server = Server((500, "anthropic_error_overloaded.json"))
    with pytest.raises(ModelProviderError, match="HTTP 500"):
        list(server.model(max_retries=0).stream("hi"))


# -- LangChain spellings -------------------------------------------------------------


def test_langchain_constructor_aliases_reach_the_wire() -> None:
    server = Server((200, "anthropic_message_text.json"))
    model = ChatAnthropic(
        model_name="claude-haiku-4-5",
        max_tokens_to_sample=300,
        anthropic_api_key="alias-key",
        stop_sequences=["END"],
        default_request_timeout=5.0,
        default_headers={"x-team": "docs"},
        betas=["extended-cache-ttl-2025-04-11"],
        top_k=5,
        **server.http_clients(),
    )
    model.invoke("Hi")
    body, headers = server.requests[0], server.headers[0]
    assert (body["model"], body["max_tokens"], body["stop_sequences"], body["top_k"]) == (
        "claude-haiku-4-5",
        300,
        ["END"],
        5,
    )
    assert "alias-key" in (headers.get("x-api-key"), headers.get("authorization", "")[7:])
    assert model._client.timeout == 5.0
    assert headers["x-team"] == "docs"
    assert headers["anthropic-beta"] == "extended-cache-ttl-2025-04-11"


def test_model_is_required_under_either_name() -> None:
    from graphkit.errors import GraphkitError

    with pytest.raises(GraphkitError, match=r"needs a model name.*model_name"):
        ChatAnthropic(api_key="k")


def test_unknown_keyword_is_sent_with_a_warning_and_known_fields_without() -> None:
    server = Server((200, "anthropic_message_text.json"), (200, "anthropic_message_text.json"))
    with pytest.warns(UserWarning, match=r"'temprature' is not a known parameter.*temperature"):
        server.model(temprature=0.5).invoke("Hi")
    assert server.requests[0]["temprature"] == 0.5
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        server.model(service_tier="auto", model_kwargs={"metadata": {"user_id": "u1"}}).invoke("Hi")
    assert server.requests[1]["service_tier"] == "auto"
    assert server.requests[1]["metadata"] == {"user_id": "u1"}


def test_streaming_true_makes_invoke_stream() -> None:
    server = Server((200, "anthropic_stream_tool_use.sse"))
    reply = server.model(streaming=True).bind_tools([get_weather]).invoke("Weather in SF?")
    assert server.requests[0]["stream"] is True
    assert reply.tool_calls[0]["args"] == {"location": "San Francisco, CA"}


# -- extended thinking ---------------------------------------------------------------

THINKING = {"type": "enabled", "budget_tokens": 2000}


def test_thinking_is_requested_and_its_blocks_kept_in_the_reply() -> None:
    server = Server((200, "anthropic_message_thinking.json"))
    model = server.model(max_tokens=5000, thinking=THINKING).bind_tools([get_weather])
    reply = model.invoke("Weather in Paris?")
    assert server.requests[0]["thinking"] == THINKING
    assert [b["type"] for b in reply.content] == ["thinking", "redacted_thinking", "text"]
    assert reply.content[0]["signature"] == "EqQBCkgIARABGAIiQL1sig=="
    assert reply.text == "Let me look that up."
    assert reply.tool_calls[0]["args"] == {"location": "Paris"}


def test_thinking_budget_must_leave_room_for_the_answer() -> None:
    from graphkit.errors import GraphkitError

    with pytest.raises(GraphkitError, match=r"budget_tokens=2000 must be below max_tokens=1024"):
        ChatAnthropic("claude-sonnet-4-5", api_key="k", thinking=THINKING)


def test_streamed_thinking_and_tool_call_assemble_into_one_message() -> None:
    server = Server((200, "anthropic_stream_thinking_tool_use.sse"))
    model = server.model(max_tokens=5000, thinking=THINKING).bind_tools([get_weather])
    chunks = list(model.stream("Weather in Paris?"))
    thinking_pieces = [
        b["thinking"]
        for c in chunks
        if isinstance(c.content, list)
        for b in c.content
        if b.get("type") == "thinking" and b.get("thinking")
    ]
    assert thinking_pieces == ["The user asks about Paris. ", "I will call get_weather."]
    merged = chunks[0]
    for chunk in chunks[1:]:
        merged = merged + chunk
    assert isinstance(merged.content, list)
    thinking, redacted, text = merged.content
    assert thinking == {
        "type": "thinking",
        "thinking": "The user asks about Paris. I will call get_weather.",
        "signature": "EqQBCkgIARABGAIiQL1sig==",
        "index": 0,
    }
    assert redacted["type"] == "redacted_thinking" and redacted["data"].startswith("EmwK")
    assert text == {"type": "text", "text": "Checking Paris.", "index": 2}
    assert merged.tool_calls == [
        {
            "name": "get_weather",
            "args": {"location": "Paris"},
            "id": "toolu_01ThinkSSETool00000001",
            "type": "tool_call",
        }
    ]
    assert merged.usage == {
        "input_tokens": 1809,
        "output_tokens": 120,
        "total_tokens": 1929,
        "input_token_details": {"cache_read": 1800, "cache_creation": 0},
    }


def test_thinking_blocks_are_sent_back_before_the_tool_use_on_the_next_turn() -> None:
    server = Server(
        (200, "anthropic_stream_thinking_tool_use.sse"), (200, "anthropic_message_text.json")
    )
    model = server.model(max_tokens=5000, thinking=THINKING, streaming=True)
    model = model.bind_tools([get_weather])
    first = model.invoke("Weather in Paris?")  # streamed (streaming=True), then merged
    assert type(first) is AIMessage
    result = ToolMessage("sunny", tool_call_id=first.tool_calls[0]["id"])
    model.invoke([HumanMessage("Weather in Paris?"), first, result])
    assistant = server.requests[1]["messages"][1]
    assert assistant["role"] == "assistant"
    assert [b["type"] for b in assistant["content"]] == [
        "thinking",
        "redacted_thinking",
        "text",
        "tool_use",
    ]
    assert assistant["content"][0] == {
        "type": "thinking",
        "thinking": "The user asks about Paris. I will call get_weather.",
        "signature": "EqQBCkgIARABGAIiQL1sig==",
    }
    assert server.requests[1]["messages"][2]["content"][0]["type"] == "tool_result"


# -- prompt caching ------------------------------------------------------------------

EPHEMERAL = {"type": "ephemeral"}


def test_cache_control_on_system_prompt_messages_and_tools_reaches_the_wire() -> None:
    from graphkit.tools import tool as make_tool

    @make_tool(extras={"cache_control": EPHEMERAL})
    def lookup(query: str) -> str:
        """Look something up."""
        return query

    server = Server((200, "anthropic_message_tool_use.json"))
    dict_tool = {
        "name": "get_time",
        "description": "The time.",
        "input_schema": {"type": "object", "properties": {}},
        "cache_control": {"type": "ephemeral", "ttl": "1h"},
    }
    model = server.model().bind_tools([get_weather, lookup, dict_tool])
    reply = model.invoke(
        [
            SystemMessage([{"type": "text", "text": "Long rules...", "cache_control": EPHEMERAL}]),
            HumanMessage([{"type": "text", "text": "A long document", "cache_control": EPHEMERAL}]),
        ]
    )
    body = server.requests[0]
    assert body["system"] == [{"type": "text", "text": "Long rules...", "cache_control": EPHEMERAL}]
    assert body["messages"][0]["content"][0]["cache_control"] == EPHEMERAL
    assert "cache_control" not in body["tools"][0]
    assert body["tools"][1]["cache_control"] == EPHEMERAL
    assert body["tools"][2]["cache_control"] == {"type": "ephemeral", "ttl": "1h"}
    assert reply.usage is not None
    assert reply.usage["input_token_details"] == {"cache_read": 100, "cache_creation": 0}


def test_automatic_cache_control_is_a_request_field() -> None:
    server = Server((200, "anthropic_message_text.json"))
    server.model(cache_control=EPHEMERAL).invoke("Hi")
    assert server.requests[0]["cache_control"] == EPHEMERAL


def test_usage_counts_cache_writes_as_input() -> None:
    server = Server((200, "anthropic_message_thinking.json"))
    reply = server.model(max_tokens=5000, thinking=THINKING).invoke("Hi")
    assert reply.usage == {
        "input_tokens": 12 + 2048,
        "output_tokens": 140,
        "total_tokens": 12 + 2048 + 140,
        "input_token_details": {
            "cache_read": 0,
            "cache_creation": 2048,
            "ephemeral_1h_input_tokens": 2048,
        },
    }


def test_structured_output_with_thinking_offers_the_tool_without_forcing_it() -> None:
    class Weather(BaseModel):
        location: str

    server = Server((200, "anthropic_message_thinking.json"))
    model = server.model(max_tokens=5000, thinking=THINKING)
    with pytest.warns(UserWarning, match="cannot be forced"):
        structured = model.with_structured_output(Weather)
    from graphkit.models.errors import OutputParserError

    with pytest.raises(OutputParserError, match="without calling 'Weather'"):
        structured.invoke("Weather in Paris?")
    body = server.requests[0]
    assert "tool_choice" not in body and body["tools"][0]["name"] == "Weather"


def test_bind_tools_keywords_parallel_tool_calls_and_strict() -> None:
    server = Server(
        (200, "anthropic_message_tool_use.json"), (200, "anthropic_message_tool_use.json")
    )
    server.model().bind_tools([get_weather], parallel_tool_calls=False, strict=True).invoke("Hi")
    server.model().bind_tools([get_weather], tool_choice="any", parallel_tool_calls=False).invoke(
        "Hi"
    )
    first, second = server.requests
    assert first["tool_choice"] == {"type": "auto", "disable_parallel_tool_use": True}
    assert first["tools"][0]["strict"] is True
    assert second["tool_choice"] == {"type": "any", "disable_parallel_tool_use": True}


def test_bind_sets_stop_and_request_fields_on_a_copy() -> None:
    server = Server((200, "anthropic_message_text.json"), (200, "anthropic_message_text.json"))
    model = server.model(stop=["A"])
    model.bind(stop=["B"], service_tier="auto").invoke("Hi")
    model.invoke("Hi")
    assert (server.requests[0]["stop_sequences"], server.requests[0]["service_tier"]) == (
        ["B"],
        "auto",
    )
    assert (
        server.requests[1]["stop_sequences"] == ["A"] and "service_tier" not in server.requests[1]
    )


def test_per_call_keywords_apply_to_that_call_only() -> None:
    server = Server((200, "anthropic_message_text.json"), (200, "anthropic_message_text.json"))
    model = server.model()
    model.invoke("Hi", cache_control=EPHEMERAL, stop=["Z"])
    model.invoke("Hi")
    assert server.requests[0]["cache_control"] == EPHEMERAL
    assert server.requests[0]["stop_sequences"] == ["Z"]
    assert "cache_control" not in server.requests[1] and "stop_sequences" not in server.requests[1]


class CountingLimiter:
    """Shaped like LangChain's InMemoryRateLimiter: acquire(blocking=True)."""

    def __init__(self) -> None:
        self.calls = 0

    def acquire(self, *, blocking: bool = True) -> bool:
        self.calls += 1
        return True


async def test_rate_limiter_is_acquired_before_each_request() -> None:
    server = Server((200, "anthropic_message_text.json"), (200, "anthropic_message_text.json"))
    limiter = CountingLimiter()
    model = server.model(rate_limiter=limiter)
    model.invoke("Hi")
    await model.ainvoke("Hi")
    assert limiter.calls == 2


def test_disable_streaming_answers_stream_with_one_whole_chunk() -> None:
    server = Server((200, "anthropic_message_tool_use.json"))
    model = server.model(disable_streaming="tool_calling").bind_tools([get_weather])
    chunks = list(model.stream("Weather?"))
    assert "stream" not in server.requests[0]
    assert len(chunks) == 1 and [c["args"] for c in chunks[0].tool_calls] == [
        {"location": "San Francisco, CA"},
        {"location": "Paris"},
    ]


def test_langchain_callbacks_are_refused_by_name() -> None:
    from graphkit.errors import GraphkitError

    with pytest.raises(GraphkitError, match=r"ChatAnthropic\(callbacks=\.\.\.\).*remove it"):
        ChatAnthropic("claude-haiku-4-5", api_key="k", callbacks=[])
