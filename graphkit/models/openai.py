"""``ChatOpenAI``: OpenAI models through the ``openai`` SDK (Chat Completions API).

Mapping to the wire format, both ways:

- ``SystemMessage`` -> ``role: system``; ``HumanMessage`` -> ``role: user``;
- ``AIMessage.tool_calls`` <-> assistant ``tool_calls`` (arguments as JSON text;
  arguments that are not valid JSON land in ``invalid_tool_calls``);
- ``ToolMessage`` -> ``role: tool`` with ``tool_call_id``;
- ``usage`` <- ``prompt_tokens`` / ``completion_tokens`` / ``total_tokens``;
- ``response_metadata`` <- ``id``, ``model``, ``finish_reason``, ``system_fingerprint``.

Streaming asks for ``stream_options.include_usage`` so the last chunk has usage.
Retries on 429/5xx are the SDK's (``max_retries``); errors are re-raised as
``graphkit.models.errors`` classes (``SDKChatModel`` in ``_sdk.py``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import openai

from graphkit._message_openai import openai_role, openai_tool_calls
from graphkit.errors import InvalidMessageError
from graphkit.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    InvalidToolCall,
    SystemMessage,
    ToolCall,
    ToolCallChunk,
    ToolMessage,
    UsageMetadata,
    image_source_url,
    tool_call,
)
from graphkit.models._sdk import (
    SDKChatModel,
    StreamDecode,
    request_extras,
    take_aliases,
    take_runtime_options,
)
from graphkit.tools import Tool

__all__ = ["ChatOpenAI"]

ENV_VAR = "OPENAI_API_KEY"

ALIASES = {
    "model_name": "model",
    "max_completion_tokens": "max_tokens",
    "openai_api_key": "api_key",
    "openai_api_base": "base_url",
    "openai_organization": "organization",
    "request_timeout": "timeout",
    "stop_sequences": "stop",
}
"""LangChain's other spellings of ``ChatOpenAI``'s parameters -> ours."""

REQUEST_FIELDS = frozenset(
    {
        "frequency_penalty",
        "logit_bias",
        "logprobs",
        "modalities",
        "n",
        "parallel_tool_calls",
        "prediction",
        "presence_penalty",
        "reasoning_effort",
        "response_format",
        "seed",
        "service_tier",
        "store",
        "top_logprobs",
        "user",
        "verbosity",
    }
)
"""Chat Completions fields accepted as constructor keywords and sent in every request."""


class ChatOpenAI(SDKChatModel):
    """An OpenAI chat model.

    ``api_key`` defaults to ``$OPENAI_API_KEY``; without either, construction fails
    with ``MissingAPIKeyError``. ``base_url`` points it at any compatible server.
    Pass ``client``/``async_client`` to reuse SDK clients, or
    ``http_client``/``http_async_client`` (``httpx2`` clients) to control transport.
    """

    provider = "openai"
    env_var = ENV_VAR
    api_key_name = "an OpenAI API key"
    sdk_client = openai.OpenAI
    sdk_async_client = openai.AsyncOpenAI
    sdk_error = openai.APIError

    def __init__(
        self,
        model: str | None = None,
        *,
        max_tokens: int | None = None,
        temperature: float | None = None,
        top_p: float | None = None,
        stop: list[str] | None = None,
        api_key: str | None = None,
        base_url: str | None = None,
        organization: str | None = None,
        max_retries: int = 2,
        timeout: float | None = None,
        default_headers: dict[str, str] | None = None,
        default_query: dict[str, object] | None = None,
        streaming: bool = False,
        stream_usage: bool = True,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        client: openai.OpenAI | None = None,
        async_client: openai.AsyncOpenAI | None = None,
        http_client: Any = None,
        http_async_client: Any = None,
        model_kwargs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        aliased = take_aliases("ChatOpenAI", kwargs, ALIASES)
        runtime = take_runtime_options(type(self), kwargs)
        super().__init__(
            aliased.get("model", model),
            max_tokens=aliased.get("max_tokens", max_tokens),
            temperature=temperature,
            top_p=top_p,
            stop=aliased.get("stop", stop),
            api_key=aliased.get("api_key", api_key),
            max_retries=max_retries,
            client=client,
            async_client=async_client,
            http_client=http_client,
            http_async_client=http_async_client,
            model_kwargs=request_extras(type(self), kwargs, REQUEST_FIELDS, model_kwargs),
            client_options={
                "base_url": aliased.get("base_url", base_url),
                "organization": aliased.get("organization", organization),
                "timeout": aliased.get("timeout", timeout),
                "default_headers": default_headers,
                "default_query": default_query,
            },
            streaming=streaming,
            stream_usage=stream_usage,
            tags=tags,
            metadata=metadata,
            **runtime,
        )

    def request_body(self, messages: list[BaseMessage], *, stream: bool = False) -> dict[str, Any]:
        """The Chat Completions request for ``messages`` with this model's settings and tools."""
        body: dict[str, Any] = {"model": self.model, "messages": to_openai_messages(messages)}
        bound = dict(self.bound_kwargs)
        parallel, strict = bound.pop("parallel_tool_calls", None), bound.pop("strict", None)
        optional = {
            "max_completion_tokens": self.max_tokens,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "stop": bound.pop("stop", None) or self.stop,
        }
        body.update({k: v for k, v in optional.items() if v is not None})
        if self.tools:
            body["tools"] = [_tool_spec(t, strict) for t in self.tools]
            if self.tool_choice is not None:
                body["tool_choice"] = _tool_choice(self.tool_choice)
            if parallel is not None:
                body["parallel_tool_calls"] = parallel
        if stream:
            body["stream"] = True
            if self.stream_usage:
                body["stream_options"] = {"include_usage": True}
        body.update(self.model_kwargs)
        body.update(bound)
        return body

    def _create_method(self, client: Any) -> Callable[..., Any]:
        return client.chat.completions.create

    def _parse_response(self, data: dict[str, Any]) -> AIMessage:
        return from_openai_response(data)

    def _stream_decoder(self) -> StreamDecode:
        return chunk_from_openai


# -- to the wire ---------------------------------------------------------------


def to_openai_messages(messages: list[BaseMessage]) -> list[dict[str, Any]]:
    """``messages`` -> Chat Completions ``messages``."""
    return [_to_openai(m) for m in messages]


def _to_openai(message: BaseMessage) -> dict[str, Any]:
    out: dict[str, Any]
    if isinstance(message, SystemMessage):
        out = {"role": openai_role(message), "content": _content(message.content)}
    elif isinstance(message, HumanMessage):
        out = {"role": "user", "content": _content(message.content)}
    elif isinstance(message, AIMessage):
        out = {"role": "assistant", "content": message.text or None}
        if message.tool_calls:
            out["tool_calls"] = openai_tool_calls(message.tool_calls)
    elif isinstance(message, ToolMessage):
        out = {"role": "tool", "tool_call_id": message.tool_call_id, "content": message.text}
    else:
        raise InvalidMessageError(
            f"ChatOpenAI cannot send a {type(message).__name__}; "
            "use HumanMessage, AIMessage, SystemMessage or ToolMessage"
        )
    if message.name and not isinstance(message, ToolMessage):
        out["name"] = message.name
    return out


def _content(content: str | list[Any]) -> str | list[dict[str, Any]]:
    if isinstance(content, str):
        return content
    parts: list[dict[str, Any]] = []
    for block in content:
        if isinstance(block, str):
            parts.append({"type": "text", "text": block})
        elif block.get("type") == "image" and isinstance(block.get("source"), dict):
            parts.append(
                {"type": "image_url", "image_url": {"url": image_source_url(block["source"])}}
            )
        else:
            parts.append(block)
    return parts


def _tool_spec(tool: Tool, strict: bool | None = None) -> dict[str, Any]:
    function: dict[str, Any] = {
        "name": tool.name,
        "description": tool.description,
        "parameters": tool.schema,
    }
    if strict is not None:
        function["strict"] = strict
    return {"type": "function", "function": function}


def _tool_choice(choice: str) -> str | dict[str, Any]:
    if choice == "any":
        return "required"
    if choice in ("auto", "none"):
        return choice
    return {"type": "function", "function": {"name": choice}}


# -- from the wire -------------------------------------------------------------


def from_openai_response(data: dict[str, Any]) -> AIMessage:
    """A Chat Completions response (as a dict) -> ``AIMessage`` (first choice)."""
    choice = data["choices"][0]
    message = choice.get("message") or {}
    calls, invalid = _parse_tool_calls(message.get("tool_calls") or [])
    additional: dict[str, Any] = {}
    if message.get("refusal"):
        additional["refusal"] = message["refusal"]
    return AIMessage(
        content=message.get("content") or "",
        id=data.get("id"),
        tool_calls=calls,
        invalid_tool_calls=invalid,
        usage=_usage(data["usage"]) if data.get("usage") else None,
        additional_kwargs=additional,
        response_metadata=_metadata(data, choice),
    )


def _parse_tool_calls(
    raw_calls: list[dict[str, Any]],
) -> tuple[list[ToolCall], list[InvalidToolCall]]:
    calls: list[ToolCall] = []
    invalid: list[InvalidToolCall] = []
    for raw in raw_calls:
        function = raw.get("function") or {}
        arguments = function.get("arguments") or ""
        args, error = _json_object(arguments)
        if error is None:
            calls.append(tool_call(function.get("name", ""), args, raw.get("id")))
        else:
            invalid.append(
                InvalidToolCall(
                    name=function.get("name"),
                    args=arguments,
                    id=raw.get("id"),
                    error=error,
                    type="invalid_tool_call",
                )
            )
    return calls, invalid


def _json_object(text: str) -> tuple[dict[str, Any], str | None]:
    """The JSON object a tool call's ``arguments`` string holds (empty: ``{}``), or
    why it holds none."""
    if not text.strip():
        return {}, None
    try:
        value = json.loads(text)
    except ValueError as exc:
        return {}, str(exc)
    if not isinstance(value, dict):
        return {}, "arguments are not a JSON object"
    return value, None


def _metadata(data: dict[str, Any], choice: dict[str, Any] | None) -> dict[str, Any]:
    metadata: dict[str, Any] = {"model_provider": "openai"}
    for key in ("id", "model", "system_fingerprint"):
        if data.get(key) is not None:
            metadata[key] = data[key]
    if choice and choice.get("finish_reason") is not None:
        metadata["finish_reason"] = choice["finish_reason"]
    return metadata


def _usage(raw: dict[str, Any]) -> UsageMetadata:
    prompt = raw.get("prompt_tokens") or 0
    completion = raw.get("completion_tokens") or 0
    usage = UsageMetadata(
        input_tokens=prompt,
        output_tokens=completion,
        total_tokens=raw.get("total_tokens") or prompt + completion,
    )
    cached = (raw.get("prompt_tokens_details") or {}).get("cached_tokens")
    if cached:
        usage["input_token_details"] = {"cache_read": cached}
    reasoning = (raw.get("completion_tokens_details") or {}).get("reasoning_tokens")
    if reasoning:
        usage["output_token_details"] = {"reasoning": reasoning}
    return usage


def chunk_from_openai(data: dict[str, Any]) -> AIMessageChunk:
    """One streamed ``chat.completion.chunk`` (as a dict) -> ``AIMessageChunk``."""
    choices = data.get("choices") or []
    choice = choices[0] if choices else {}
    delta = choice.get("delta") or {}
    pieces = [
        ToolCallChunk(
            name=(c.get("function") or {}).get("name"),
            args=(c.get("function") or {}).get("arguments"),
            id=c.get("id"),
            index=c.get("index"),
        )
        for c in delta.get("tool_calls") or []
    ]
    return AIMessageChunk(
        content=delta.get("content") or "",
        id=data.get("id"),
        tool_call_chunks=pieces,
        usage=_usage(data["usage"]) if data.get("usage") else None,
        response_metadata=_metadata(data, choice),
    )
