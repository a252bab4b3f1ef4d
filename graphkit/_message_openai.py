"""``convert_to_openai_messages``, as LangChain's: messages as OpenAI Chat Completions
dicts. The OpenAI adapter (``graphkit.models.openai``) builds its tool calls and roles
with the same functions. Re-exported by ``graphkit.messages``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, overload

from graphkit.errors import InvalidArgumentError, InvalidMessageError
from graphkit.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    MessageLikeRepresentation,
    SystemMessage,
    ToolCall,
    ToolMessage,
    convert_to_messages,
    image_source_url,
)

TextFormat = Literal["string", "block"]


def openai_role(message: BaseMessage) -> str:
    """The OpenAI chat role of ``message``."""
    if isinstance(message, HumanMessage):
        return "user"
    if isinstance(message, AIMessage):
        return "assistant"
    if isinstance(message, SystemMessage):
        return message.additional_kwargs.get("__openai_role__", "system")
    if isinstance(message, ToolMessage):
        return "tool"
    raise InvalidMessageError(
        f"a {type(message).__name__} has no OpenAI role: pass human, AI, system or tool messages"
    )


def openai_tool_calls(calls: Sequence[ToolCall]) -> list[dict[str, Any]]:
    """Tool calls in Chat Completions' ``tool_calls`` form."""
    return [
        {
            "type": "function",
            "id": c.get("id"),
            "function": {"name": c["name"], "arguments": json.dumps(c["args"], ensure_ascii=False)},
        }
        for c in calls
    ]


@overload
def convert_to_openai_messages(  # type: ignore[overload-overlap]
    messages: BaseMessage | dict[str, Any] | str,
    *,
    text_format: TextFormat = "string",
    include_id: bool = False,
    pass_through_unknown_blocks: bool = True,
) -> dict[str, Any]: ...
@overload
def convert_to_openai_messages(
    messages: Iterable[MessageLikeRepresentation],
    *,
    text_format: TextFormat = "string",
    include_id: bool = False,
    pass_through_unknown_blocks: bool = True,
) -> list[dict[str, Any]]: ...
def convert_to_openai_messages(
    messages: MessageLikeRepresentation | Iterable[MessageLikeRepresentation],
    *,
    text_format: TextFormat = "string",
    include_id: bool = False,
    pass_through_unknown_blocks: bool = True,
) -> dict[str, Any] | list[dict[str, Any]]:
    """Messages as OpenAI Chat Completions dicts (one dict for one message).

    ``text_format="string"`` makes text-only contents one string (blocks joined with
    newlines); ``"block"`` makes every content a list of blocks. Other providers'
    blocks are translated: Anthropic ``image`` to ``image_url``, ``tool_use`` to tool
    calls, ``tool_result`` to tool messages of their own, ``json`` to text; LangChain's
    standard ``image``/``file``/``audio`` data blocks to OpenAI's. Blocks of unknown
    kinds are kept as they are, or are an error with ``pass_through_unknown_blocks=False``.

        >>> convert_to_openai_messages([("user", "hi")])
        [{'role': 'user', 'content': 'hi'}]
    """
    if text_format not in ("string", "block"):
        raise InvalidArgumentError(
            f"Unrecognized text_format={text_format!r}: use 'string' or 'block'."
        )
    single = isinstance(messages, (BaseMessage, dict, str))
    out: list[dict[str, Any]] = []
    for i, message in enumerate(convert_to_messages(messages)):  # type: ignore[arg-type]
        wire = _OpenAIWire(message, text_format, pass_through_unknown_blocks)
        out.extend(wire.build(i, include_id))
    return out[0] if single else out


@dataclass(slots=True)
class _OpenAIWire:
    """One message on its way to OpenAI dicts: the message's own, and the tool
    messages its ``tool_result`` blocks become."""

    message: BaseMessage
    text_format: TextFormat
    pass_through: bool
    wire: dict[str, Any] = field(default_factory=dict)
    content: list[dict[str, Any]] = field(default_factory=list)
    tool_messages: list[dict[str, Any]] = field(default_factory=list)

    def build(self, i: int, include_id: bool) -> list[dict[str, Any]]:
        message, wire = self.message, self.wire
        wire["role"] = openai_role(message)
        if message.name:
            wire["name"] = message.name
        if isinstance(message, AIMessage) and message.tool_calls:
            wire["tool_calls"] = openai_tool_calls(message.tool_calls)
        if message.additional_kwargs.get("refusal"):
            wire["refusal"] = message.additional_kwargs["refusal"]
        if isinstance(message, ToolMessage):
            wire["tool_call_id"] = message.tool_call_id
        if include_id and message.id:
            wire["id"] = message.id
        content: Any
        if not message.content:
            content = "" if self.text_format == "string" else []
        elif isinstance(message.content, str):
            text = message.content
            content = text if self.text_format == "string" else [{"type": "text", "text": text}]
        else:
            for j, block in enumerate(message.content):
                if isinstance(block, str):
                    self.content.append({"type": "text", "text": block})
                else:
                    self.add_block(block, f"messages[{i}].content[{j}]")
            content = self.content
            if self.text_format == "string" and all(b.get("type") == "text" for b in content):
                content = "\n".join(b["text"] for b in content)
        wire["content"] = content
        if message.content and not content and self.tool_messages:
            return self.tool_messages
        return [wire, *self.tool_messages]

    def add_block(self, block: dict[str, Any], where: str) -> None:
        kind = block.get("type")
        if kind == "text":
            self.content.append({"type": "text", "text": _need(block, where, "text")["text"]})
        elif kind == "image_url":
            url = _need(block, where, "image_url")["image_url"]
            self.content.append({"type": "image_url", "image_url": url})
        elif _is_data_block(block):
            converted = _openai_data_block(block, where)
            if converted["type"] == "file":
                converted["file"].setdefault("filename", _NO_FILENAME)
            self.content.append(converted)
        elif kind == "image":
            source = _need(block, where, "source")["source"]
            inline = source.get("type") == "base64"  # else a URL source (LangChain: an error)
            _need(source, f"{where}['source']", *(("media_type", "data") if inline else ("url",)))
            self.content.append(
                {"type": "image_url", "image_url": {"url": image_source_url(source)}}
            )
        elif (
            kind == "file"
            and isinstance(block.get("file"), dict)
            and isinstance(block["file"].get("file_data"), str)
        ):
            self.content.append({**block, "file": {"filename": _NO_FILENAME, **block["file"]}})
        elif kind in ("tool_use", "function_call"):
            self.add_call(block, where)
        elif kind == "tool_result":
            _need(block, where, "content", "tool_use_id")
            answer = ToolMessage(
                content=block["content"],
                tool_call_id=block["tool_use_id"],
                status="error" if block.get("is_error") else "success",
            )
            self.tool_messages.extend(
                convert_to_openai_messages([answer], text_format=self.text_format)
            )
        elif kind == "json" or "json" in block:
            text = json.dumps(_need(block, where, "json")["json"])
            self.content.append({"type": "text", "text": text})
        elif kind == "refusal":
            if block.get("refusal"):
                self.content.append({"type": "refusal", "refusal": block["refusal"]})
        elif kind in ("thinking", "reasoning", "input_audio") or self.pass_through:
            self.content.append(block)
        else:
            raise InvalidMessageError(
                f"Unrecognized content block at {where}: {block!r} is not an OpenAI, "
                "Anthropic or LangChain standard block; convert it, or pass "
                "pass_through_unknown_blocks=True to send it as it is"
            )

    def add_call(self, block: dict[str, Any], where: str) -> None:
        """An Anthropic ``tool_use`` or OpenAI Responses ``function_call`` block, as a
        tool call unless the message's ``tool_calls`` has it already."""
        anthropic = block.get("type") == "tool_use"
        keys = ("id", "name", "input") if anthropic else ("call_id", "name", "arguments")
        call_id = block.get("id" if anthropic else "call_id")
        calls = self.message.tool_calls if isinstance(self.message, AIMessage) else []
        if not any(c.get("id") == call_id for c in calls):
            _need(block, where, *keys)
            arguments = (
                json.dumps(block["input"], ensure_ascii=False) if anthropic else block["arguments"]
            )
            self.wire.setdefault("tool_calls", []).append(
                {
                    "type": "function",
                    "id": call_id,
                    "function": {"name": block["name"], "arguments": arguments},
                }
            )
        if not anthropic and self.pass_through:
            self.content.append(block)


_NO_FILENAME = "LC_AUTOGENERATED"
"""The filename LangChain gives a file block that has none (OpenAI wants one)."""
_DATA_BLOCK_KINDS = frozenset({"image", "video", "audio", "text-plain", "file"})


def _is_data_block(block: dict[str, Any]) -> bool:
    """A LangChain standard data block (v1: ``url``/``base64``/``file_id`` keys; v0:
    ``source_type``)."""
    kind = block.get("type")
    if kind not in _DATA_BLOCK_KINDS:
        return False
    if any(key in block for key in ("url", "base64", "file_id", "text")):
        return True
    source_type = block.get("source_type")
    return (
        (source_type == "url" and "url" in block)
        or (source_type == "base64" and "data" in block)
        or (source_type == "id" and "id" in block)
    )


def _openai_data_block(block: dict[str, Any], where: str) -> dict[str, Any]:
    kind = block["type"]
    v0 = "source_type" in block
    base64 = block.get("data") if v0 else block.get("base64")
    if kind == "image" and "url" in block:
        return {"type": "image_url", "image_url": {"url": block["url"]}}
    if kind == "image" and base64 is not None:
        mime = _need(block, where, "mime_type")["mime_type"]
        return {"type": "image_url", "image_url": {"url": f"data:{mime};base64,{base64}"}}
    if kind == "file" and base64 is not None:
        extras = block.get("extras") or block.get("metadata") or {}
        filename = block.get("filename") or extras.get("filename") or _NO_FILENAME
        mime = _need(block, where, "mime_type")["mime_type"]
        file = {"file_data": f"data:{mime};base64,{base64}", "filename": filename}
        return {"type": "file", "file": file}
    file_id = block.get("id") if v0 else block.get("file_id")
    if kind == "file" and file_id is not None:
        return {"type": "file", "file": {"file_id": file_id}}
    if kind == "audio" and base64 is not None:
        mime = _need(block, where, "mime_type")["mime_type"]
        return {
            "type": "input_audio",
            "input_audio": {"data": base64, "format": mime.split("/")[-1]},
        }
    raise InvalidMessageError(
        f"The {kind!r} block at {where} cannot go to OpenAI Chat Completions: it takes "
        "images by url or base64, files by base64 or file_id, and audio by base64."
    )


def _need(block: dict[str, Any], where: str, *keys: str) -> dict[str, Any]:
    missing = [k for k in keys if k not in block]
    if missing:
        raise InvalidMessageError(
            f"Unrecognized content block at {where} has 'type': {block.get('type')!r} but "
            f"is missing expected key(s) {missing}. Full content block: {block!r}"
        )
    return block
