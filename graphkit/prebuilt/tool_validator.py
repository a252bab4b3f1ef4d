"""``ValidationNode``: check a model's tool calls against schemas without running anything.

Useful to extract structured output (the model "calls" a schema) and to let the
model retry when its arguments are wrong::

    >>> from pydantic import BaseModel
    >>> from graphkit.messages import AIMessage
    >>> class Point(BaseModel):
    ...     x: int
    ...     y: int
    >>> calls = [{"name": "Point", "args": {"x": 1, "y": "two"}, "id": "c1"}]
    >>> [msg] = ValidationNode([Point]).invoke([AIMessage("", tool_calls=calls)])
    >>> msg.additional_kwargs["is_error"]
    True
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import BaseModel, ValidationError

from graphkit.errors import ToolCallError
from graphkit.messages import AIMessage, ToolCall, ToolMessage
from graphkit.prebuilt.tool_node import _graphkit_message, _messages_of
from graphkit.tools import Tool, ToolArgumentsError, convert_to_tool

__all__ = ["ValidationNode"]

ErrorFormatter = Callable[[BaseException, ToolCall, Any], str]
"""``format_error(error, call, schema) -> str``: the content of an error message."""


def _default_format_error(error: BaseException, call: ToolCall, schema: Any) -> str:
    return f"{error!r}\n\nRespond after fixing all validation errors."


class ValidationNode:
    """A node that validates each tool call of the last ``AIMessage`` against its schema.

    ``schemas`` are pydantic models (v2 or v1), functions or tools; a call is
    matched by name. Each call yields a ``ToolMessage``: on success its content is
    the validated arguments as JSON; on failure ``format_error(...)`` and
    ``additional_kwargs["is_error"] = True``. Calls to unknown schemas are errors too.
    Output: ``{"messages": [...]}`` for a state, a list for a list of messages.
    """

    def __init__(
        self,
        schemas: Sequence[Any],
        *,
        format_error: ErrorFormatter | None = None,
        name: str = "validation",
        tags: list[str] | None = None,
        messages_key: str = "messages",
    ) -> None:
        self.schemas_by_name: dict[str, Any] = {}
        for schema in schemas:
            self.schemas_by_name[_schema_name(schema)] = schema
        self.format_error = format_error or _default_format_error
        self.name = name
        self.__name__ = name
        self.tags = tags
        self.messages_key = messages_key

    def __call__(self, input: Any) -> Any:
        """Run as a graph node."""
        return self.invoke(input)

    def invoke(self, input: Any, config: Any = None) -> Any:
        """Validate the pending tool calls of ``input``; one ``ToolMessage`` per call."""
        messages = _messages_of(input, self.messages_key)
        last = next(
            (m for m in map(_graphkit_message, reversed(messages)) if isinstance(m, AIMessage)),
            None,
        )
        if last is None:
            raise ToolCallError(
                "ValidationNode found no AIMessage in the input: it validates the tool "
                "calls of the last AIMessage."
            )
        out = [self._validate(call) for call in last.tool_calls]
        return out if isinstance(input, list) else {self.messages_key: out}

    async def ainvoke(self, input: Any, config: Any = None) -> Any:
        """Async ``invoke`` (validation is CPU work; it runs in a worker thread)."""
        return await asyncio.to_thread(self.invoke, input, config)

    def _validate(self, call: ToolCall) -> ToolMessage:
        schema = self.schemas_by_name.get(call["name"])
        try:
            if schema is None:
                raise ToolCallError(
                    f"Unrecognized tool name {call['name']!r}: expected one of "
                    f"{sorted(self.schemas_by_name)}."
                )
            content = _validated_json(schema, call.get("args") or {})
        except (ValidationError, ToolArgumentsError, ValueError, TypeError) as exc:
            return ToolMessage(
                content=self.format_error(exc, call, schema),
                name=call["name"],
                tool_call_id=call.get("id") or "",
                additional_kwargs={"is_error": True},
            )
        return ToolMessage(content=content, name=call["name"], tool_call_id=call.get("id") or "")


def _schema_name(schema: Any) -> str:
    if isinstance(schema, Tool):
        return schema.name
    if _is_pydantic_v1(schema) or isinstance(schema, type):
        return str(schema.__name__)
    return convert_to_tool(schema).name


def _is_pydantic_v1(schema: Any) -> bool:
    return (
        isinstance(schema, type)
        and not issubclass(schema, BaseModel)
        and hasattr(schema, "parse_obj")
        and hasattr(schema, "__fields__")
    )


def _validated_json(schema: Any, args: dict[str, Any]) -> str:
    if _is_pydantic_v1(schema):
        return str(schema.parse_obj(args).json())
    if isinstance(schema, type) and issubclass(schema, BaseModel):
        return schema.model_validate(args).model_dump_json()
    tool = convert_to_tool(schema)
    return tool.args_model.model_validate(args).model_dump_json()
