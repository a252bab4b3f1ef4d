"""Shared by the parity tests: the same history as graphkit and as LangChain messages,
and a field-by-field view of each to compare results."""

from __future__ import annotations

from typing import Any

from graphkit.messages import BaseMessage, message_to_dict

FIELDS = ("content", "name", "id", "tool_calls", "tool_call_id", "status", "additional_kwargs")


def to_langchain(messages: list[BaseMessage]) -> list[Any]:
    """LangChain messages equal to ``messages`` (through our ``message_to_dict``)."""
    from langchain_core.messages import messages_from_dict

    return list(messages_from_dict([message_to_dict(m) for m in messages]))


def view(message: Any) -> dict[str, Any]:
    """The fields both libraries share, for comparing a result message by message."""
    out: dict[str, Any] = {"type": message.type}
    for field in FIELDS:
        if hasattr(message, field):
            out[field] = getattr(message, field)
    usage = getattr(message, "usage_metadata", None)
    if usage is not None:
        out["usage"] = dict(usage)
    return out


def views(messages: list[Any]) -> list[dict[str, Any]]:
    return [view(m) for m in messages]


def text_len(messages: list[Any]) -> int:
    """A token counter both libraries can call: characters of text plus 3 per message
    plus 5 per content block (duck-typed: reads only ``content``)."""
    total = 0
    for m in messages:
        if isinstance(m.content, str):
            total += len(m.content) + 3
        else:
            for block in m.content:
                text = block if isinstance(block, str) else block.get("text", "")
                total += len(text) + 5
            total += 3
    return total
