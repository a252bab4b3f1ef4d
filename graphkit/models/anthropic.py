"""``ChatAnthropic``: Claude models through the ``anthropic`` SDK (Messages API).

Mapping to the wire format, both ways:

- system messages -> the top-level ``system`` field (several are joined);
- ``AIMessage.tool_calls`` <-> ``tool_use`` content blocks;
- ``ToolMessage`` -> a ``tool_result`` block in a user turn (consecutive user
  turns, e.g. the results of parallel tool calls, are merged into one);
- ``usage`` <- ``input_tokens`` (+ cache reads/writes) and ``output_tokens``;
- ``response_metadata`` <- ``id``, ``model``, ``stop_reason``, ``stop_sequence``.

Retries on 429/5xx are the SDK's (``max_retries``); errors are re-raised as
``graphkit.models.errors`` classes (``SDKChatModel`` in ``_sdk.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anthropic

from graphkit.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolCallChunk,
    ToolMessage,
    UsageMetadata,
    tool_call,
)
from graphkit.models._sdk import SDKChatModel, StreamDecode
from graphkit.tools import Tool

__all__ = ["ChatAnthropic"]

ENV_VAR = "ANTHROPIC_API_KEY"


class ChatAnthropic(SDKChatModel):
    """A Claude model.

    ``api_key`` defaults to ``$ANTHROPIC_API_KEY``; without either, construction
    fails with ``MissingAPIKeyError``. Pass ``client``/``async_client`` to reuse SDK
    clients, or ``http_client``/``http_async_client`` (``httpx2`` clients, as the
    SDK requires) to control transport, e.g. in tests.
    """

    provider = "anthropic"
    env_var = ENV_VAR
    api_key_name = "an Anthropic API key"
    sdk_client = anthropic.Anthropic
    sdk_async_client = anthropic.AsyncAnthropic
    sdk_error = anthropic.APIError

    def __init__(
        self,
        model: str,
        *,
        max_tokens: int = 1024,
        temperature: float | None = None,
        top_p: float | None = None,
        stop: list[str] | None = None,
        api_key: str | None = None,
        base_url: str | None = None,
        max_retries: int = 2,
        timeout: float | None = None,
        client: anthropic.Anthropic | None = None,
        async_client: anthropic.AsyncAnthropic | None = None,
        http_client: Any = None,
        http_async_client: Any = None,
        model_kwargs: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(
            model,
            max_tokens=max_tokens,
            temperature=temperature,
            top_p=top_p,
            stop=stop,
            api_key=api_key,
            max_retries=max_retries,
            client=client,
            async_client=async_client,
            http_client=http_client,
            http_async_client=http_async_client,
            model_kwargs=model_kwargs,
            client_options={"base_url": base_url, "timeout": timeout},
        )

    def request_body(self, messages: list[BaseMessage], *, stream: bool = False) -> dict[str, Any]:
        """The Messages API request for ``messages`` with this model's settings and tools."""
        system, turns = to_anthropic_messages(messages)
        body: dict[str, Any] = {
            "model": self.model,
            "max_tokens": self.max_tokens,
            "messages": turns,
        }
        if system:
            body["system"] = system
        optional = {
            "temperature": self.temperature,
            "top_p": self.top_p,
            "stop_sequences": self.stop,
        }
        body.update({k: v for k, v in optional.items() if v is not None})
        if self.tools:
            body["tools"] = [_tool_spec(t) for t in self.tools]
            if self.tool_choice is not None:
                body["tool_choice"] = _tool_choice(self.tool_choice)
        body.update(self.model_kwargs)
        if stream:
            body["stream"] = True
        return body

    def _create_method(self, client: Any) -> Callable[..., Any]:
        return client.messages.create

    def _parse_response(self, data: dict[str, Any]) -> AIMessage:
        return from_anthropic_response(data)

    def _stream_decoder(self) -> StreamDecode:
        return StreamDecoder().chunk


# -- to the wire ---------------------------------------------------------------


def to_anthropic_messages(
    messages: list[BaseMessage],
) -> tuple[str | list[dict[str, Any]], list[dict[str, Any]]]:
    """Split ``messages`` into Anthropic's ``system`` and alternating ``messages``."""
    system_blocks: list[dict[str, Any]] = []
    turns: list[dict[str, Any]] = []
    for message in messages:
        if isinstance(message, SystemMessage):
            system_blocks.extend(_content_blocks(message.content))
            continue
        role, content = _turn(message)
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"] = _as_blocks(turns[-1]["content"]) + _as_blocks(content)
        else:
            turns.append({"role": role, "content": content})
    system: str | list[dict[str, Any]] = system_blocks
    if all(b.get("type") == "text" and len(b) == 2 for b in system_blocks):
        system = "\n\n".join(b["text"] for b in system_blocks)
    return system, turns


def _turn(message: BaseMessage) -> tuple[str, str | list[dict[str, Any]]]:
    if isinstance(message, ToolMessage):
        result: dict[str, Any] = {
            "type": "tool_result",
            "tool_use_id": message.tool_call_id,
            "content": message.content
            if isinstance(message.content, str)
            else _content_blocks(message.content),
        }
        if message.status == "error":
            result["is_error"] = True
        return "user", [result]
    if isinstance(message, AIMessage):
        if not message.tool_calls and isinstance(message.content, str):
            return "assistant", message.content
        blocks = [
            b
            for b in _content_blocks(message.content)
            if b.get("type") != "tool_use" and not (b.get("type") == "text" and not b.get("text"))
        ]
        blocks += [
            {"type": "tool_use", "id": c.get("id"), "name": c["name"], "input": c["args"]}
            for c in message.tool_calls
        ]
        return "assistant", blocks
    if isinstance(message, HumanMessage):
        return "user", message.content if isinstance(message.content, str) else _content_blocks(
            message.content
        )
    raise TypeError(
        f"ChatAnthropic cannot send a {type(message).__name__}; "
        "use HumanMessage, AIMessage, SystemMessage or ToolMessage"
    )


def _as_blocks(content: str | list[dict[str, Any]]) -> list[dict[str, Any]]:
    return _content_blocks(content) if isinstance(content, str) else content


def _content_blocks(content: str | list[Any]) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    blocks: list[dict[str, Any]] = []
    for block in content:
        if isinstance(block, str):
            blocks.append({"type": "text", "text": block})
        elif block.get("type") == "image_url":
            blocks.append(_image_block(block))
        else:
            blocks.append({k: v for k, v in block.items() if k != "index"})
    return blocks


def _image_block(block: dict[str, Any]) -> dict[str, Any]:
    """OpenAI-style ``image_url`` (URL or data URL) -> Anthropic ``image`` block."""
    image = block["image_url"]
    url = image["url"] if isinstance(image, dict) else image
    if url.startswith("data:"):
        header, data = url.split(",", 1)
        media_type = header[5:].split(";")[0]
        return {
            "type": "image",
            "source": {"type": "base64", "media_type": media_type, "data": data},
        }
    return {"type": "image", "source": {"type": "url", "url": url}}


def _tool_spec(tool: Tool) -> dict[str, Any]:
    return {"name": tool.name, "description": tool.description, "input_schema": tool.schema}


def _tool_choice(choice: str) -> dict[str, Any]:
    if choice in ("auto", "any", "none"):
        return {"type": choice}
    return {"type": "tool", "name": choice}


# -- from the wire -------------------------------------------------------------


def from_anthropic_response(data: dict[str, Any]) -> AIMessage:
    """A Messages API response (as a dict) -> ``AIMessage``."""
    blocks = data.get("content", [])
    calls = [
        tool_call(b["name"], b.get("input") or {}, b["id"])
        for b in blocks
        if b["type"] == "tool_use"
    ]
    kept = [b for b in blocks if b["type"] != "tool_use"]
    content: str | list[Any]
    content = "".join(b["text"] for b in kept) if all(b["type"] == "text" for b in kept) else kept
    return AIMessage(
        content=content,
        id=data.get("id"),
        tool_calls=calls,
        usage=_usage(data.get("usage") or {}),
        response_metadata=_metadata(data),
    )


def _metadata(data: dict[str, Any]) -> dict[str, Any]:
    keys = ("id", "model", "stop_reason", "stop_sequence")
    return {"model_provider": "anthropic", **{k: data[k] for k in keys if data.get(k) is not None}}


def _usage(
    raw: dict[str, Any], *, count_output: bool = True, count_input: bool = True
) -> UsageMetadata:
    cache_read = raw.get("cache_read_input_tokens") or 0
    cache_write = raw.get("cache_creation_input_tokens") or 0
    input_tokens = (raw.get("input_tokens") or 0) + cache_read + cache_write if count_input else 0
    output_tokens = (raw.get("output_tokens") or 0) if count_output else 0
    usage = UsageMetadata(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        total_tokens=input_tokens + output_tokens,
    )
    if count_input and (cache_read or cache_write):
        usage["input_token_details"] = {"cache_read": cache_read, "cache_creation": cache_write}
    return usage


class StreamDecoder:
    """Turns Messages API stream events (dicts) into ``AIMessageChunk``s.

    All chunks carry the message id from ``message_start``. Input tokens come
    from ``message_start``, output tokens from ``message_delta`` (which reports
    the running total), so adding all chunks gives the right usage.
    """

    __slots__ = ("message_id",)

    def __init__(self) -> None:
        self.message_id: str | None = None

    def chunk(self, event: dict[str, Any]) -> AIMessageChunk | None:
        """The chunk for one event, or None for events that carry nothing for us."""
        kind = event.get("type")
        if kind == "message_start":
            message = event["message"]
            self.message_id = message.get("id")
            return AIMessageChunk(
                content="",
                id=self.message_id,
                usage=_usage(message.get("usage") or {}, count_output=False),
                response_metadata=_metadata(message),
            )
        if kind == "content_block_start":
            block, index = event["content_block"], event["index"]
            if block["type"] == "tool_use":
                return self._tool_chunk(
                    ToolCallChunk(name=block["name"], args="", id=block["id"], index=index)
                )
            if block["type"] == "text" and block.get("text"):
                return AIMessageChunk(content=block["text"], id=self.message_id)
            return None
        if kind == "content_block_delta":
            delta, index = event["delta"], event["index"]
            if delta["type"] == "text_delta":
                return AIMessageChunk(content=delta["text"], id=self.message_id)
            if delta["type"] == "input_json_delta":
                return self._tool_chunk(
                    ToolCallChunk(
                        name=None, args=delta.get("partial_json", ""), id=None, index=index
                    )
                )
            return None
        if kind == "message_delta":
            delta = event.get("delta") or {}
            return AIMessageChunk(
                content="",
                id=self.message_id,
                usage=_usage(event.get("usage") or {}, count_input=False),
                response_metadata={k: v for k, v in delta.items() if v is not None},
            )
        return None

    def _tool_chunk(self, piece: ToolCallChunk) -> AIMessageChunk:
        return AIMessageChunk(content="", id=self.message_id, tool_call_chunks=[piece])
