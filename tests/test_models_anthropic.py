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
