"""ChatOpenAI against recorded Chat Completions responses (no network, no key).

The real SDK client runs over a mock transport (``_http.FixtureServer``) that
serves files from tests/fixtures and records each request body.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from _http import FixtureServer
from typing_extensions import TypedDict

from graphkit.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from graphkit.models.errors import (
    MissingAPIKeyError,
    ModelAuthenticationError,
    ModelNotFoundError,
    ModelProviderError,
    ModelRateLimitError,
)
from graphkit.models.openai import ChatOpenAI
from graphkit.tools import tool


class Server(FixtureServer):
    def model(self, **kwargs: Any) -> ChatOpenAI:
        return ChatOpenAI("gpt-4o-mini", api_key="test-key", **self.http_clients(), **kwargs)


@pytest.fixture(autouse=True)
def no_env_key(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    yield


@tool
def get_weather(location: str) -> str:
    """Get the current weather."""
    return f"sunny in {location}"


def test_missing_key_names_provider_and_env_var() -> None:
    with pytest.raises(MissingAPIKeyError, match=r"OpenAI API key.*OPENAI_API_KEY"):
        ChatOpenAI("gpt-4o-mini")


def test_text_reply_usage_and_metadata() -> None:
    server = Server((200, "openai_chat_text.json"))
    reply = server.model(max_tokens=50, temperature=0).invoke(
        [("system", "Be nice."), ("user", "Hi")]
    )
    assert reply.content == "Hello! How can I assist you today?"
    assert reply.id == "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT"
    assert reply.usage == {"input_tokens": 19, "output_tokens": 10, "total_tokens": 29}
    assert reply.response_metadata["finish_reason"] == "stop"
    assert reply.response_metadata["system_fingerprint"] == "fp_44709d6fcb"
    assert server.requests == [
        {
            "model": "gpt-4o-mini",
            "messages": [
                {"role": "system", "content": "Be nice."},
                {"role": "user", "content": "Hi"},
            ],
            "max_completion_tokens": 50,
            "temperature": 0,
        }
    ]


def test_tool_calls_reply_is_parsed() -> None:
    server = Server((200, "openai_chat_tool_calls.json"))
    reply = server.model().bind_tools([get_weather], tool_choice="required").invoke("weather?")
    assert reply.content == ""
    assert [(c["name"], c["args"], c["id"]) for c in reply.tool_calls] == [
        ("get_weather", {"location": "Boston, MA"}, "call_abc123"),
        ("get_weather", {"location": "Paris"}, "call_def456"),
    ]
    assert reply.usage is not None and reply.usage.get("input_token_details") == {"cache_read": 64}
    request = server.requests[0]
    assert request["tool_choice"] == "required"
    assert request["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Get the current weather.",
                "parameters": {
                    "type": "object",
                    "properties": {"location": {"type": "string"}},
                    "required": ["location"],
                },
            },
        }
    ]


def test_history_maps_to_assistant_tool_calls_and_tool_role() -> None:
    server = Server((200, "openai_chat_text.json"))
    server.model().invoke(
        [
            SystemMessage("sys"),
            HumanMessage("weather?", name="ann"),
            AIMessage(
                "", tool_calls=[{"name": "get_weather", "args": {"location": "X"}, "id": "c1"}]
            ),
            ToolMessage("sunny", tool_call_id="c1"),
        ]
    )
    assert server.requests[0]["messages"] == [
        {"role": "system", "content": "sys"},
        {"role": "user", "content": "weather?", "name": "ann"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"location": "X"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
    ]


def test_a_system_message_marked_developer_is_sent_with_the_developer_role() -> None:
    server = Server((200, "openai_chat_text.json"))
    rules = SystemMessage("rules", additional_kwargs={"__openai_role__": "developer"})
    server.model().invoke([rules, HumanMessage("hi")])
    assert server.requests[0]["messages"][0] == {"role": "developer", "content": "rules"}


def test_stream_assembles_text_tool_call_and_usage() -> None:
    server = Server((200, "openai_chat_stream_tool_calls.sse"))
    chunks = list(server.model().bind_tools([get_weather]).stream("weather?"))
    assert server.requests[0]["stream"] is True
    assert server.requests[0]["stream_options"] == {"include_usage": True}
    total = chunks[0]
    for chunk in chunks[1:]:
        total = total + chunk
    assert total.id == "chatcmpl-123"
    assert total.content == "Let me check."
    assert total.tool_calls == [
        {
            "name": "get_weather",
            "args": {"location": "Paris"},
            "id": "call_DdmO9pD3xa9XTPNJ32zg2hcA",
            "type": "tool_call",
        }
    ]
    assert total.usage == {"input_tokens": 81, "output_tokens": 21, "total_tokens": 102}
    assert total.response_metadata["finish_reason"] == "tool_calls"


async def test_async_invoke_and_stream() -> None:
    server = Server((200, "openai_chat_text.json"), (200, "openai_chat_stream_tool_calls.sse"))
    model = server.model()
    assert (await model.ainvoke("hi")).text.startswith("Hello")
    texts = [c.text async for c in model.astream("hi")]
    assert "".join(texts) == "Let me check."


def test_structured_output_with_typeddict() -> None:
    class get_weather_args(TypedDict):
        location: str

    get_weather_args.__name__ = "get_weather"
    server = Server((200, "openai_chat_tool_calls.json"))
    parsed = server.model().with_structured_output(get_weather_args).invoke("weather?")
    assert parsed == {"location": "Boston, MA"}
    assert server.requests[0]["tool_choice"] == {
        "type": "function",
        "function": {"name": "get_weather"},
    }


@pytest.mark.parametrize(
    ("status", "fixture", "error", "text"),
    [
        (401, "openai_error_authentication.json", ModelAuthenticationError, "OPENAI_API_KEY"),
        (404, "openai_error_not_found.json", ModelNotFoundError, "does not exist"),
        (429, "openai_error_rate_limit.json", ModelRateLimitError, "Rate limit reached"),
        (500, "openai_error_server.json", ModelProviderError, "retry later"),
    ],
)
def test_provider_errors_become_model_errors(
    status: int, fixture: str, error: type[Exception], text: str
) -> None:
    server = Server((status, fixture))
    with pytest.raises(error, match=text) as info:
        server.model(max_retries=0).invoke("hi")
    assert f"openai returned HTTP {status} for model 'gpt-4o-mini'" in str(info.value)


def test_server_error_is_retried_then_succeeds() -> None:
    server = Server((429, "openai_error_rate_limit.json"), (200, "openai_chat_text.json"))
    assert server.model(max_retries=1).invoke("hi").text.startswith("Hello")
    assert len(server.requests) == 2


def test_no_retry_when_max_retries_is_zero() -> None:
    server = Server((429, "openai_error_rate_limit.json"), (200, "openai_chat_text.json"))
    with pytest.raises(ModelRateLimitError):
        server.model(max_retries=0).invoke("hi")
    assert len(server.requests) == 1


def test_langchain_constructor_aliases_reach_the_wire() -> None:
    server = Server((200, "openai_chat_text.json"))
    model = ChatOpenAI(
        model_name="gpt-4.1",
        openai_api_key="alias-key",
        openai_api_base="https://proxy.example/v1",
        openai_organization="org-1",
        max_completion_tokens=77,
        request_timeout=7.0,
        default_headers={"x-team": "docs"},
        default_query={"api-version": "1"},
        seed=3,
        **server.http_clients(),
    )
    model.invoke("Hi")
    body, headers = server.requests[0], server.headers[0]
    assert (body["model"], body["max_completion_tokens"], body["seed"]) == ("gpt-4.1", 77, 3)
    assert headers["authorization"] == "Bearer alias-key"
    assert headers["openai-organization"] == "org-1"
    assert headers["x-team"] == "docs"
    assert model._client.timeout == 7.0
    assert str(model._client.base_url) == "https://proxy.example/v1/"


def test_stream_usage_false_does_not_ask_for_usage() -> None:
    server = Server((200, "openai_chat_stream_tool_calls.sse"))
    list(server.model(stream_usage=False).bind_tools([get_weather]).stream("Weather?"))
    assert "stream_options" not in server.requests[0]


def test_unknown_keyword_warns_and_is_sent() -> None:
    server = Server((200, "openai_chat_text.json"))
    with pytest.warns(UserWarning, match=r"'presense_penalty'.*did you mean 'presence_penalty'"):
        model = server.model(presense_penalty=0.1)
    model.invoke("Hi")
    assert server.requests[0]["presense_penalty"] == 0.1


def test_bind_tools_keywords_parallel_tool_calls_and_strict() -> None:
    server = Server((200, "openai_chat_tool_calls.json"), (200, "openai_chat_text.json"))
    bound = server.model().bind_tools([get_weather], parallel_tool_calls=False, strict=True)
    bound.invoke("Hi")
    server.model().bind(parallel_tool_calls=False, stop=["x"]).invoke("Hi")
    first, second = server.requests
    assert first["parallel_tool_calls"] is False
    assert first["tools"][0]["function"]["strict"] is True
    assert "parallel_tool_calls" not in second  # the API refuses it without tools
    assert second["stop"] == ["x"]
