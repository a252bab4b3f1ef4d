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

import warnings
from collections.abc import Callable
from typing import Any

import anthropic
from pydantic import BaseModel

from graphkit.errors import InvalidMessageError
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
from graphkit.models._sdk import (
    SDKChatModel,
    StreamDecode,
    request_extras,
    take_aliases,
    take_runtime_options,
)
from graphkit.models.base import StructuredOutputModel
from graphkit.models.errors import ModelConfigError
from graphkit.tools import Tool

__all__ = ["ChatAnthropic"]

ENV_VAR = "ANTHROPIC_API_KEY"

ALIASES = {
    "model_name": "model",
    "max_tokens_to_sample": "max_tokens",
    "anthropic_api_key": "api_key",
    "anthropic_api_url": "base_url",
    "default_request_timeout": "timeout",
    "stop_sequences": "stop",
}
"""LangChain's other spellings of ``ChatAnthropic``'s parameters -> ours."""

REQUEST_FIELDS = frozenset(
    {
        "cache_control",
        "container",
        "context_management",
        "mcp_servers",
        "output_config",
        "service_tier",
    }
)
"""Messages API fields accepted as constructor keywords and sent in every request."""


def _check_thinking(thinking: dict[str, Any] | None, max_tokens: int) -> None:
    budget = (thinking or {}).get("budget_tokens")
    if isinstance(budget, int) and budget >= max_tokens:
        raise ModelConfigError(
            f"thinking budget_tokens={budget} must be below max_tokens={max_tokens} "
            "(the budget is part of the reply's tokens): raise max_tokens, e.g. "
            f"max_tokens={budget + 1024}"
        )


class ChatAnthropic(SDKChatModel):
    """A Claude model.

    ``api_key`` defaults to ``$ANTHROPIC_API_KEY``; without either, construction
    fails with ``MissingAPIKeyError``. Pass ``client``/``async_client`` to reuse SDK
    clients, or ``http_client``/``http_async_client`` (``httpx2`` clients, as the
    SDK requires) to control transport, e.g. in tests.

    LangChain's spellings work too (``model_name``, ``max_tokens_to_sample``,
    ``anthropic_api_key``, ``anthropic_api_url``, ``default_request_timeout``,
    ``stop_sequences``). ``thinking={"type": "enabled", "budget_tokens": N}`` turns
    on extended thinking: its blocks stay in the reply's ``content`` (streamed too)
    and are sent back on the next turn. Prompt caching: ``cache_control`` on system
    or message content blocks, on tools (``@tool(extras={"cache_control": ...})`` or
    a tool dict), or ``cache_control=...`` here for the whole request. ``tags`` and
    ``metadata`` label streamed chunks; the API's own ``metadata`` goes in ``model_kwargs``.
    """

    provider = "anthropic"
    env_var = ENV_VAR
    api_key_name = "an Anthropic API key"
    sdk_client = anthropic.Anthropic
    sdk_async_client = anthropic.AsyncAnthropic
    sdk_error = anthropic.APIError

    def __init__(
        self,
        model: str | None = None,
        *,
        max_tokens: int = 1024,
        temperature: float | None = None,
        top_p: float | None = None,
        top_k: int | None = None,
        stop: list[str] | None = None,
        thinking: dict[str, Any] | None = None,
        api_key: str | None = None,
        base_url: str | None = None,
        max_retries: int = 2,
        timeout: float | None = None,
        default_headers: dict[str, str] | None = None,
        betas: list[str] | None = None,
        streaming: bool = False,
        stream_usage: bool = True,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        client: anthropic.Anthropic | None = None,
        async_client: anthropic.AsyncAnthropic | None = None,
        http_client: Any = None,
        http_async_client: Any = None,
        model_kwargs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        aliased = take_aliases("ChatAnthropic", kwargs, ALIASES)
        runtime = take_runtime_options(type(self), kwargs)
        max_tokens = aliased.get("max_tokens", max_tokens)
        self.thinking = thinking
        """Extended thinking, e.g. ``{"type": "enabled", "budget_tokens": 2000}``."""
        _check_thinking(thinking, max_tokens)
        self.top_k = top_k
        headers = dict(default_headers or {})
        if betas:
            headers["anthropic-beta"] = ",".join(betas)
        super().__init__(
            aliased.get("model", model),
            max_tokens=max_tokens,
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
                "timeout": aliased.get("timeout", timeout),
                "default_headers": headers or None,
            },
            streaming=streaming,
            stream_usage=stream_usage,
            tags=tags,
            metadata=metadata,
            **runtime,
        )

    def request_body(self, messages: list[BaseMessage], *, stream: bool = False) -> dict[str, Any]:
        """The Messages API request for ``messages`` with this model's settings and tools."""
        system, turns = to_anthropic_messages(messages)
        bound = dict(self.bound_kwargs)
        parallel, strict = bound.pop("parallel_tool_calls", None), bound.pop("strict", None)
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
            "top_k": self.top_k,
            "stop_sequences": bound.pop("stop", None) or self.stop,
            "thinking": self.thinking,
        }
        body.update({k: v for k, v in optional.items() if v is not None})
        if self.tools:
            body["tools"] = [_tool_spec(t, strict) for t in self.tools]
            choice = None if self.tool_choice is None else _tool_choice(self.tool_choice)
            if parallel is False:
                choice = {**(choice or {"type": "auto"}), "disable_parallel_tool_use": True}
            if choice is not None:
                body["tool_choice"] = choice
        body.update(self.model_kwargs)
        body.update(bound)
        if stream:
            body["stream"] = True
        return body

    def with_structured_output(
        self, schema: type[BaseModel] | type | dict[str, Any], *, include_raw: bool = False
    ) -> StructuredOutputModel:
        """As ``BaseChatModel.with_structured_output``; with thinking on, the tool is offered,
        not forced (the API refuses forced tool use with thinking), and a warning says so."""
        structured = super().with_structured_output(schema, include_raw=include_raw)
        if (self.thinking or self.model_kwargs.get("thinking") or {}).get("type") == "enabled":
            warnings.warn(
                "ChatAnthropic: with thinking enabled the structured-output tool cannot be "
                "forced, so the model may answer without it (OutputParserError then).",
                UserWarning,
                stacklevel=2,
            )
            structured.model = self.bind_tools([structured.tool])
        return structured

    def _create_method(self, client: Any) -> Callable[..., Any]:
        return client.messages.create

    def _parse_response(self, data: dict[str, Any]) -> AIMessage:
        return from_anthropic_response(data)

    def _stream_decoder(self) -> StreamDecode:
        blocks = bool(self.thinking or self.model_kwargs.get("thinking"))
        return StreamDecoder(content_blocks=blocks, usage=self.stream_usage).chunk


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
    raise InvalidMessageError(
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


def _tool_spec(tool: Tool, strict: bool | None = None) -> dict[str, Any]:
    """The tool's definition; ``cache_control`` (and other Anthropic keys) from its ``extras``."""
    spec = {
        "name": tool.name,
        "description": tool.description,
        "input_schema": tool.schema,
        **{k: v for k, v in tool.extras.items() if k in TOOL_EXTRAS},
    }
    if strict is not None:
        spec["strict"] = strict
    return spec


TOOL_EXTRAS = frozenset({"cache_control", "defer_loading", "input_examples", "strict"})
"""Keys of ``Tool.extras`` copied into an Anthropic tool definition."""


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
        details = {"cache_read": cache_read, "cache_creation": cache_write}
        by_ttl = raw.get("cache_creation") or {}
        for key in ("ephemeral_5m_input_tokens", "ephemeral_1h_input_tokens"):
            if by_ttl.get(key):
                details[key] = by_ttl[key]
        usage["input_token_details"] = details
    return usage


class StreamDecoder:
    """Turns Messages API stream events (dicts) into ``AIMessageChunk``s.

    All chunks carry the message id from ``message_start``. Input tokens come
    from ``message_start``, output tokens from ``message_delta`` (which reports
    the running total), so adding all chunks gives the right usage.

    With ``content_blocks`` (thinking requested)
    text arrives as ``{"type": "text", "text": ..., "index": i}`` blocks, so that
    it keeps its place beside ``thinking``/``redacted_thinking`` blocks; the blocks
    merge by ``index`` when chunks are added. Tool calls travel as
    ``tool_call_chunks``.
    """

    __slots__ = ("content_blocks", "message_id", "usage")

    def __init__(self, *, content_blocks: bool = False, usage: bool = True) -> None:
        self.message_id: str | None = None
        self.content_blocks = content_blocks
        self.usage = usage

    def chunk(self, event: dict[str, Any]) -> AIMessageChunk | None:
        """The chunk for one event, or None for events that carry nothing for us."""
        kind = event.get("type")
        if kind == "message_start":
            message = event["message"]
            self.message_id = message.get("id")
            return AIMessageChunk(
                content="",
                id=self.message_id,
                usage=self._usage(message.get("usage") or {}, count_output=False),
                response_metadata=_metadata(message),
            )
        if kind == "content_block_start":
            return self._block_start(event["content_block"], event["index"])
        if kind == "content_block_delta":
            return self._delta(event["delta"], event["index"])
        if kind == "message_delta":
            delta = event.get("delta") or {}
            return AIMessageChunk(
                content="",
                id=self.message_id,
                usage=self._usage(event.get("usage") or {}, count_input=False),
                response_metadata={k: v for k, v in delta.items() if v is not None},
            )
        return None

    def _block_start(self, block: dict[str, Any], index: int) -> AIMessageChunk | None:
        kind = block["type"]
        if kind == "tool_use":
            return self._tool_chunk(
                ToolCallChunk(name=block["name"], args="", id=block["id"], index=index)
            )
        if kind == "text":
            return self._text(block.get("text") or "", index) if block.get("text") else None
        if kind in ("thinking", "redacted_thinking"):
            return self._block({**block, "index": index})
        return None

    def _delta(self, delta: dict[str, Any], index: int) -> AIMessageChunk | None:
        kind = delta["type"]
        if kind == "text_delta":
            return self._text(delta["text"], index)
        if kind == "input_json_delta":
            return self._tool_chunk(
                ToolCallChunk(name=None, args=delta.get("partial_json", ""), id=None, index=index)
            )
        if kind == "thinking_delta":
            return self._block({"type": "thinking", "thinking": delta["thinking"], "index": index})
        if kind == "signature_delta":
            return self._block(
                {"type": "thinking", "signature": delta["signature"], "index": index}
            )
        return None

    def _text(self, text: str, index: int) -> AIMessageChunk:
        if self.content_blocks:
            return self._block({"type": "text", "text": text, "index": index})
        return AIMessageChunk(content=text, id=self.message_id)

    def _block(self, block: dict[str, Any]) -> AIMessageChunk:
        return AIMessageChunk(content=[block], id=self.message_id)

    def _usage(
        self, raw: dict[str, Any], *, count_output: bool = True, count_input: bool = True
    ) -> UsageMetadata | None:
        if not self.usage:
            return None
        return _usage(raw, count_output=count_output, count_input=count_input)

    def _tool_chunk(self, piece: ToolCallChunk) -> AIMessageChunk:
        return AIMessageChunk(content="", id=self.message_id, tool_call_chunks=[piece])
