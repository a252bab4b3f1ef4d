"""Chat messages, the ``add_messages`` reducer and ``MessagesState``.

Messages are pydantic models (users hand them to us, so we validate them) with
the same field names as langchain's, so code written for LangGraph reads the
same here::

    >>> from graphkit.messages import HumanMessage, AIMessage, add_messages
    >>> history = add_messages([HumanMessage("hi", id="1")], AIMessage("hello", id="2"))
    >>> [m.text for m in history]
    ['hi', 'hello']

``add_messages`` is the reducer behind ``MessagesState.messages``: it appends,
replaces messages that reuse an id, deletes on ``RemoveMessage`` and coerces
dicts, ``(role, content)`` tuples and strings into message objects.

LangChain's message helpers live here too: ``trim_messages`` and
``count_tokens_approximately`` (keep a history within a context window),
``filter_messages``, ``merge_message_runs``, ``get_buffer_string``,
``convert_to_openai_messages`` and ``messages_to_dict``/``messages_from_dict``.
"""

from __future__ import annotations

import functools
import json
import operator
import uuid
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Annotated, Any, Literal, cast

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    field_validator,
    model_validator,
)
from typing_extensions import NotRequired, TypedDict

from graphkit import _message_index
from graphkit._langchain import (
    as_langchain_messages,
    from_langchain_message,
    holds_langchain_message,
    is_langchain_message,
    langchain_loaded,
    langchain_message_class,
    to_langchain_message,
    to_langchain_messages,
)
from graphkit._langchain_view import graphkit_source
from graphkit.errors import InvalidArgumentError, InvalidMessageError

__all__ = [
    "REMOVE_ALL_MESSAGES",
    "AIMessage",
    "AIMessageChunk",
    "AnyMessage",
    "BaseMessage",
    "HumanMessage",
    "InvalidToolCall",
    "MessageLikeRepresentation",
    "MessagesState",
    "MessagesTransform",
    "RemoveMessage",
    "SystemMessage",
    "ToolCall",
    "ToolCallChunk",
    "ToolMessage",
    "UsageMetadata",
    "add_messages",
    "convert_to_messages",
    "convert_to_openai_messages",
    "count_tokens_approximately",
    "filter_messages",
    "get_buffer_string",
    "merge_message_runs",
    "message_chunk_to_message",
    "message_from_dict",
    "message_to_dict",
    "messages_from_dict",
    "messages_to_dict",
    "to_langchain_messages",
    "tool_call",
    "trim_messages",
]

REMOVE_ALL_MESSAGES = "__remove_all__"
"""Id for ``RemoveMessage`` that clears the whole history before the messages after it."""

ContentBlock = str | dict[str, Any]
Content = str | list[ContentBlock]


class ToolCall(TypedDict):
    """A request from the model to call one tool."""

    name: str
    args: dict[str, Any]
    id: NotRequired[str | None]
    type: NotRequired[Literal["tool_call"]]


class ToolCallChunk(TypedDict):
    """A piece of a tool call while streaming; pieces with the same ``index`` merge."""

    name: str | None
    args: str | None
    id: str | None
    index: int | None
    type: NotRequired[Literal["tool_call_chunk"]]


class InvalidToolCall(TypedDict):
    """A tool call whose arguments were not valid JSON; kept so nothing is lost."""

    name: str | None
    args: str | None
    id: str | None
    error: str | None
    type: NotRequired[Literal["invalid_tool_call"]]


class UsageMetadata(TypedDict):
    """Token counts of one model call."""

    input_tokens: int
    output_tokens: int
    total_tokens: int
    input_token_details: NotRequired[dict[str, int]]
    output_token_details: NotRequired[dict[str, int]]


def tool_call(name: str, args: dict[str, Any], id: str | None = None) -> ToolCall:
    """Build a ``ToolCall`` dict (handy in tests and scripted models)."""
    return ToolCall(name=name, args=args, id=id, type="tool_call")


class BaseMessage(BaseModel):
    """Fields every message has. ``HumanMessage("hi")`` sets ``content`` positionally."""

    model_config = ConfigDict(extra="forbid")

    content: Content = ""
    """Text, or a list of content blocks (strings or provider-style dicts)."""
    id: str | None = None
    """Unique id; ``add_messages`` assigns a uuid4 string when missing."""
    name: str | None = None
    """Optional name of the speaker."""
    additional_kwargs: dict[str, Any] = Field(default_factory=dict)
    """Provider-specific extras that have no field of their own."""
    response_metadata: dict[str, Any] = Field(default_factory=dict)
    """What the provider said about the response (model, stop reason, id)."""
    type: str

    def __init__(self, content: Content | None = None, /, **kwargs: Any) -> None:
        if content is not None:
            kwargs["content"] = content
        super().__init__(**kwargs)

    @property
    def text(self) -> str:
        """The text of the message: ``content`` itself, or its text blocks joined."""
        if isinstance(self.content, str):
            return self.content
        parts: list[str] = []
        for block in self.content:
            if isinstance(block, str):
                parts.append(block)
            elif block.get("type") == "text" and isinstance(block.get("text"), str):
                parts.append(block["text"])
        return "".join(parts)

    def pretty_repr(self) -> str:
        """A human-readable rendering: a title bar, the name, then the content."""
        title = f" {_TITLES.get(self.type, self.type.title() + ' Message')} "
        side = "=" * ((80 - len(title)) // 2)
        lines = [f"{side}{title}{side}{'=' if len(title) % 2 else ''}"]
        if self.name:
            lines.append(f"Name: {self.name}")
        lines.extend(
            ["", self.text if isinstance(self.content, str) else _blocks_repr(self.content)]
        )
        return "\n".join(lines)

    def pretty_print(self) -> None:
        """Print ``pretty_repr()``."""
        print(self.pretty_repr())


_TITLES = {"ai": "Ai Message", "AIMessageChunk": "Ai Message Chunk"}


def _blocks_repr(blocks: list[ContentBlock]) -> str:
    return "\n".join(b if isinstance(b, str) else json.dumps(b, default=str) for b in blocks)


class HumanMessage(BaseMessage):
    """A message from the user."""

    type: Literal["human"] = "human"

    if TYPE_CHECKING:  # pydantic's synthesized __init__ hides the positional content

        def __init__(self, content: Content | None = None, /, **kwargs: Any) -> None: ...


class SystemMessage(BaseMessage):
    """Instructions for the model."""

    type: Literal["system"] = "system"

    if TYPE_CHECKING:  # pydantic's synthesized __init__ hides the positional content

        def __init__(self, content: Content | None = None, /, **kwargs: Any) -> None: ...


class AIMessage(BaseMessage):
    """A reply from the model, possibly asking for tool calls."""

    type: Literal["ai"] = "ai"
    tool_calls: list[ToolCall] = Field(default_factory=list)
    """Tools the model wants called, with parsed arguments."""
    invalid_tool_calls: list[InvalidToolCall] = Field(default_factory=list)
    """Tool calls whose arguments could not be parsed."""
    usage: UsageMetadata | None = Field(
        default=None, validation_alias=AliasChoices("usage", "usage_metadata")
    )
    """Token counts reported by the provider (also given as ``usage_metadata=``, LangChain's
    name)."""

    if TYPE_CHECKING:  # pydantic's synthesized __init__ hides the positional content

        def __init__(self, content: Content | None = None, /, **kwargs: Any) -> None: ...

    @field_validator("tool_calls", mode="before")
    @classmethod
    def _normalize_tool_call_type(cls, calls: Any) -> Any:
        """Any ``type`` given is replaced by "tool_call", as langchain rebuilds calls."""
        if isinstance(calls, list):
            return [{**c, "type": "tool_call"} if isinstance(c, dict) else c for c in calls]
        return calls

    @field_validator("tool_calls", mode="after")
    @classmethod
    def _complete_tool_calls(cls, calls: list[ToolCall]) -> list[ToolCall]:
        for call in calls:
            call.setdefault("id", None)
            call["type"] = "tool_call"
        return calls

    @property
    def usage_metadata(self) -> UsageMetadata | None:
        """Alias of ``usage`` under langchain's name."""
        return self.usage

    def pretty_repr(self) -> str:
        """Like ``BaseMessage.pretty_repr`` plus the tool calls."""
        out = super().pretty_repr()
        if self.tool_calls:
            lines = [out, "Tool Calls:"]
            for call in self.tool_calls:
                lines.append(f"  {call['name']} ({call.get('id')})")
                lines.append(f" Call ID: {call.get('id')}")
                lines.append("  Args:")
                lines.extend(f"    {k}: {v}" for k, v in call["args"].items())
            out = "\n".join(lines)
        return out


class AIMessageChunk(AIMessage):
    """A streamed piece of an ``AIMessage``; ``chunk_a + chunk_b`` merges pieces."""

    type: Literal["AIMessageChunk"] = "AIMessageChunk"  # type: ignore[assignment]
    tool_call_chunks: list[ToolCallChunk] = Field(default_factory=list)
    """Partial tool calls; ``tool_calls`` is parsed from them."""

    if TYPE_CHECKING:  # pydantic's synthesized __init__ hides the positional content

        def __init__(self, content: Content | None = None, /, **kwargs: Any) -> None: ...

    @model_validator(mode="after")
    def _parse_tool_call_chunks(self) -> AIMessageChunk:
        if self.tool_call_chunks and not self.tool_calls and not self.invalid_tool_calls:
            calls, invalid = _parse_tool_call_chunks(self.tool_call_chunks)
            self.tool_calls = calls
            self.invalid_tool_calls = invalid
        return self

    def __add__(self, other: AIMessageChunk) -> AIMessageChunk:
        if not isinstance(other, AIMessageChunk):
            return NotImplemented
        return AIMessageChunk(
            content=_merge_content(self.content, other.content),
            id=self.id or other.id,
            name=self.name or other.name,
            additional_kwargs=_merge_dicts(self.additional_kwargs, other.additional_kwargs),
            response_metadata=_merge_dicts(self.response_metadata, other.response_metadata),
            tool_call_chunks=_merge_tool_call_chunks(self.tool_call_chunks, other.tool_call_chunks),
            usage=_add_usage(self.usage, other.usage),
        )


def _parse_tool_call_chunks(
    chunks: list[ToolCallChunk],
) -> tuple[list[ToolCall], list[InvalidToolCall]]:
    calls: list[ToolCall] = []
    invalid: list[InvalidToolCall] = []
    for chunk in chunks:
        raw = chunk.get("args") or ""
        error: str | None
        try:
            args = json.loads(raw) if raw.strip() else {}
        except json.JSONDecodeError as exc:
            args, error = None, f"arguments are not valid JSON: {exc}"
        else:
            error = None if isinstance(args, dict) else "arguments are not a JSON object"
        if error is None and chunk.get("name"):
            calls.append(
                tool_call(chunk["name"] or "", cast(dict[str, Any], args), chunk.get("id"))
            )
        else:
            invalid.append(
                InvalidToolCall(
                    name=chunk.get("name"),
                    args=raw,
                    id=chunk.get("id"),
                    error=error or "missing tool name",
                    type="invalid_tool_call",
                )
            )
    return calls, invalid


def _merge_content(left: Content, right: Content) -> Content:
    if isinstance(left, str) and isinstance(right, str):
        return left + right
    left_list: list[ContentBlock] = [left] if isinstance(left, str) and left else []
    right_list: list[ContentBlock] = [right] if isinstance(right, str) and right else []
    merged = list(left if isinstance(left, list) else left_list)
    for block in right if isinstance(right, list) else right_list:
        target = _block_with_index(merged, block)
        if target is None or isinstance(block, str):
            merged.append(block)
        else:
            pos, existing = target
            merged[pos] = {
                **existing,
                **{k: v for k, v in block.items() if k not in _CONCATENATED},
                **{
                    k: existing.get(k, "") + block[k]
                    for k in _CONCATENATED
                    if isinstance(block.get(k), str)
                },
            }
    return merged


_CONCATENATED = ("text", "partial_json", "thinking", "signature")
"""Content-block keys whose streamed pieces are joined (same ``index``); others are replaced."""


def _block_with_index(
    blocks: list[ContentBlock], block: ContentBlock
) -> tuple[int, dict[str, Any]] | None:
    if isinstance(block, str) or block.get("index") is None:
        return None
    for pos, existing in enumerate(blocks):
        if isinstance(existing, dict) and existing.get("index") == block["index"]:
            return pos, existing
    return None


def _merge_dicts(left: dict[str, Any], right: dict[str, Any]) -> dict[str, Any]:
    merged = dict(left)
    for key, value in right.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge_dicts(merged[key], value)
        elif value is not None or key not in merged:
            merged[key] = value
    return merged


def _merge_tool_call_chunks(
    left: list[ToolCallChunk], right: list[ToolCallChunk]
) -> list[ToolCallChunk]:
    merged = [cast(ToolCallChunk, dict(c)) for c in left]
    for chunk in right:
        match = next(
            (
                m
                for m in merged
                if chunk.get("index") is not None and m.get("index") == chunk.get("index")
            ),
            None,
        )
        if match is None:
            merged.append(cast(ToolCallChunk, dict(chunk)))
            continue
        match["name"] = (match.get("name") or "") + (chunk.get("name") or "") or None
        match["args"] = (match.get("args") or "") + (chunk.get("args") or "")
        match["id"] = match.get("id") or chunk.get("id")
    return merged


def _add_usage(left: UsageMetadata | None, right: UsageMetadata | None) -> UsageMetadata | None:
    if left is None or right is None:
        return left or right
    total = UsageMetadata(
        input_tokens=left["input_tokens"] + right["input_tokens"],
        output_tokens=left["output_tokens"] + right["output_tokens"],
        total_tokens=left["total_tokens"] + right["total_tokens"],
    )
    if "input_token_details" in left or "input_token_details" in right:
        total["input_token_details"] = _add_counts(
            left.get("input_token_details", {}), right.get("input_token_details", {})
        )
    if "output_token_details" in left or "output_token_details" in right:
        total["output_token_details"] = _add_counts(
            left.get("output_token_details", {}), right.get("output_token_details", {})
        )
    return total


def _add_counts(left: dict[str, int], right: dict[str, int]) -> dict[str, int]:
    return {k: left.get(k, 0) + right.get(k, 0) for k in {**left, **right}}


class ToolMessage(BaseMessage):
    """The result of one tool call, sent back to the model."""

    type: Literal["tool"] = "tool"
    tool_call_id: str
    """Id of the ``ToolCall`` this answers."""
    status: Literal["success", "error"] = "success"
    """``"error"`` when the tool failed; the content then says why."""
    artifact: Any = None
    """Output kept for the application but not sent to the model."""

    if TYPE_CHECKING:  # pydantic's synthesized __init__ hides the positional content

        def __init__(self, content: Content | None = None, /, **kwargs: Any) -> None: ...


class RemoveMessage(BaseMessage):
    """Written to a messages channel, deletes the message with ``id``.

    ``RemoveMessage(id=REMOVE_ALL_MESSAGES)`` deletes every earlier message.
    """

    type: Literal["remove"] = "remove"
    id: str

    def __init__(self, content: Content | None = None, /, **kwargs: Any) -> None:
        if "id" not in kwargs:
            raise InvalidMessageError(
                "RemoveMessage needs the id of the message to delete: RemoveMessage(id=...)"
            )
        super().__init__(content, **kwargs)


_MESSAGE_CLASSES = frozenset(
    (HumanMessage, AIMessage, SystemMessage, ToolMessage, AIMessageChunk, RemoveMessage)
)


def _known_message(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    """An instance of one of ``AnyMessage``'s classes as it is (what pydantic returns
    too, after a tag look-up that costs 2-3x more: a pydantic state validates its whole
    history for each reader); anything else (a dict, a subclass) validated."""
    return value if type(value) in _MESSAGE_CLASSES else handler(value)


AnyMessage = Annotated[
    HumanMessage | AIMessage | SystemMessage | ToolMessage | AIMessageChunk | RemoveMessage,
    Field(discriminator="type"),
    WrapValidator(_known_message),
]
"""Any message class, discriminated on its ``type`` field."""

MessageLikeRepresentation = BaseMessage | str | tuple[str, Any] | list[str] | dict[str, Any]
"""What ``add_messages`` and the chat models accept in place of a message object."""

Messages = list[MessageLikeRepresentation] | MessageLikeRepresentation

_ROLE_TO_CLASS: dict[str, type[BaseMessage]] = {
    "human": HumanMessage,
    "user": HumanMessage,
    "ai": AIMessage,
    "assistant": AIMessage,
    "system": SystemMessage,
    "developer": SystemMessage,
    "tool": ToolMessage,
    "remove": RemoveMessage,
    "AIMessageChunk": AIMessageChunk,
}


def convert_to_messages(messages: Messages | Sequence[MessageLikeRepresentation]) -> list[Any]:
    """Coerce one message-like value, or a list of them, into message objects.

    Accepts message objects (returned as is), strings (human), ``(role, content)``
    tuples, dicts with ``role`` (OpenAI style) or ``type`` (langchain style), and
    ``langchain_core`` message objects (turned into graphkit's equal ones).
    """
    if isinstance(messages, (str, dict, BaseMessage, tuple)) or is_langchain_message(messages):
        return [_convert_one(messages)]
    return [_convert_one(m) for m in messages]


def _convert_one(value: Any) -> BaseMessage:
    if isinstance(value, BaseMessage):
        return value
    if isinstance(value, str):
        return HumanMessage(content=value)
    if isinstance(value, (tuple, list)) and len(value) == 2 and isinstance(value[0], str):
        return _from_role(value[0], {"content": value[1]})
    if isinstance(value, dict):
        data = dict(value)
        role = data.pop("role", None) or data.pop("type", None)
        if not isinstance(role, str):
            raise InvalidMessageError(
                f"cannot turn {value!r} into a message: the dict needs a 'role' "
                "('user', 'assistant', 'system', 'tool') or a 'type' ('human', 'ai', ...)"
            )
        return _from_role(role, data)
    if is_langchain_message(value):
        known = graphkit_source(value)  # (one of a view's: the message it shows)
        return cast(BaseMessage, known if known is not None else from_langchain_message(value))
    raise InvalidMessageError(
        f"cannot turn a {type(value).__name__} into a message: pass a message object, "
        "a string, a (role, content) tuple or a dict with 'role' and 'content'"
    )


def _from_role(role: str, data: dict[str, Any]) -> BaseMessage:
    cls = _ROLE_TO_CLASS.get(role)
    if cls is None:
        raise InvalidMessageError(
            f"unknown message role {role!r}: use one of {sorted(_ROLE_TO_CLASS)}"
        )
    if role == "developer":  # as LangChain marks it, so it goes back out as "developer"
        data["additional_kwargs"] = {**data.get("additional_kwargs", {}), "__openai_role__": role}
    if cls is AIMessage and data.get("tool_calls"):
        data["tool_calls"] = [_tool_call_from_dict(c) for c in data["tool_calls"]]
    if data.get("content") is None:
        data["content"] = ""
    return cls(**data)


def _tool_call_from_dict(call: dict[str, Any]) -> ToolCall:
    function = call.get("function")
    if isinstance(function, dict):  # OpenAI wire format
        raw = function.get("arguments") or "{}"
        args = json.loads(raw) if isinstance(raw, str) else raw
        return tool_call(function["name"], args, call.get("id"))
    return tool_call(call["name"], call.get("args", {}), call.get("id"))


def message_chunk_to_message(message: BaseMessage) -> BaseMessage:
    """Turn an ``AIMessageChunk`` into the ``AIMessage`` it adds up to; others pass through."""
    if not isinstance(message, AIMessageChunk):
        return message
    return AIMessage(
        content=message.content,
        id=message.id,
        name=message.name,
        additional_kwargs=message.additional_kwargs,
        response_metadata=message.response_metadata,
        tool_calls=message.tool_calls,
        invalid_tool_calls=message.invalid_tool_calls,
        usage=message.usage,
    )


def _with_id(message: BaseMessage) -> BaseMessage:
    """The message, given a fresh uuid4 id if it has none (in place, as LangGraph does:
    the message a node returned is the one in the state, id included)."""
    if message.id is None:
        message.id = str(uuid.uuid4())
    return message


def _coerce(value: Messages | Iterable[Any]) -> list[BaseMessage]:
    _langchain_ids(value)
    return [_with_id(message_chunk_to_message(m)) for m in convert_to_messages(value)]  # type: ignore[arg-type]


def _langchain_ids(value: Any) -> None:
    """LangChain messages (not chunks) without an id get one, in place, before they are
    converted: as LangGraph's ``add_messages`` names them, the object a node returned
    (what its ``updates`` chunk shows) has the id its message has in the state."""
    for message in value if type(value) is list else (value,):
        if (
            is_langchain_message(message)
            and message.id is None
            and message.type != "AIMessageChunk"
        ):
            message.id = str(uuid.uuid4())


def _coerced_with_ids(
    value: Messages | Iterable[Any],
) -> tuple[list[BaseMessage], list[Any], bool]:
    """``_coerce(value)``, the messages' ids, and whether all are of the plain kinds (no
    ``RemoveMessage``). A list of plain messages that all have ids is coerced already:
    that is checked with C-level passes (a history handed to ``invoke`` is thousands of
    messages), not message by message; the list itself is returned (not to be changed)."""
    if type(value) is list and _PLAIN_KINDS.issuperset(map(type, value)):
        ids = list(map(_ID, value))
        if None not in ids:
            return cast(list[BaseMessage], value), ids, True
    messages = _coerce(value)
    return messages, list(map(_ID, messages)), _PLAIN_KINDS.issuperset(map(type, messages))


def _plain_index(value: Any) -> _message_index.HistoryIndex | None:
    """The index of ``value`` when it is a list of plain messages (coerced already) with
    distinct ids, else None. C-level passes only: a history handed to ``invoke`` is
    thousands of messages (its ids are checked in the index built, not in a scan)."""
    if type(value) is not list or not _PLAIN_KINDS.issuperset(map(type, value)):
        return None
    index = _message_index.HistoryIndex.of_ids(map(_ID, value), len(value))
    positions = index.positions
    return index if len(positions) == len(value) and None not in positions else None


def _plain_ids(messages: list[Any]) -> list[Any] | None:
    """The ids of ``messages`` when all are plain messages with ids, else None."""
    if not _PLAIN_KINDS.issuperset(map(type, messages)):
        return None
    ids = list(map(_ID, messages))
    return None if None in ids else ids


def is_coerced(message: Any) -> bool:
    """True when ``add_messages`` keeps ``message`` as it is (a message object, not a
    chunk, with an id)."""
    return (
        isinstance(message, BaseMessage)
        and not isinstance(message, AIMessageChunk)
        and message.id is not None
    )


_PLAIN_KINDS = frozenset({HumanMessage, AIMessage, SystemMessage, ToolMessage})
"""Message classes that coerce to themselves (given an id); their subclasses take the
general path."""
_ID = operator.attrgetter("id")


MESSAGE_FORMATS = ("langchain-openai",)
"""What ``add_messages(format=...)`` can convert merged messages to."""


def add_messages(
    left: Messages | None = None, right: Messages | None = None, *, format: str | None = None
) -> Any:
    """Merge ``right`` into ``left`` (see ``merge_messages``); without ``left`` and
    ``right``, the reducer that merges with the given ``format``:
    ``Annotated[list[AnyMessage], add_messages(format="langchain-openai")]`` keeps
    every message with OpenAI-style content blocks (images as ``image_url``,
    ``tool_use`` blocks as tool calls, ``tool_result`` blocks as ``ToolMessage``).

    Called with LangChain's messages (code written for LangGraph, e.g. a reducer that
    keeps the last ten), it returns LangChain's messages, the given ones as they are,
    as LangGraph's does. As a state key's reducer the engine merges with
    ``history_reducer`` instead and shows such code LangChain's view of the key.
    """
    if left is None and right is None:
        _check_format(format)
        return functools.partial(add_messages, format=format)
    if _speaks_langchain(left, right):
        _check_format(format)
        return _merged_as_langchain(left, right, format)
    return history_reducer(left, right, format=format)


def history_reducer(
    left: Messages | None, right: Messages | None, *, format: str | None = None
) -> list[Any]:
    """``add_messages`` as a state key merges with it: graphkit's messages always, so
    histories and checkpoints hold one kind (``channel_reducer``)."""
    _check_format(format)
    _check_sides(left, right)
    merged = merge_messages(cast(Messages, left), cast(Messages, right))
    return merged if format is None else [m for msg in merged for m in _to_openai(msg)]


def channel_reducer(reducer: Any) -> Any:
    """What a state key merges with for the reducer declared: ``history_reducer`` for
    ``add_messages`` (and ``add_messages(format=...)``), else the reducer itself."""
    if reducer is add_messages:
        return history_reducer
    if type(reducer) is functools.partial and reducer.func is add_messages:
        return functools.partial(history_reducer, *reducer.args, **reducer.keywords)
    return reducer


def _check_sides(left: Any, right: Any) -> None:
    if left is None or right is None:
        raise InvalidArgumentError(
            "add_messages needs both 'left' and 'right' (or neither, to make a reducer "
            "with options such as format=...)."
        )


def _check_format(format: str | None) -> None:
    if format is not None and format not in MESSAGE_FORMATS:
        raise InvalidArgumentError(
            f"Unrecognized format={format!r}: add_messages supports {list(MESSAGE_FORMATS)} "
            "or no format."
        )


def _speaks_langchain(left: Any, right: Any) -> bool:
    """Whether a direct caller of ``add_messages`` handed it a LangChain message."""
    return langchain_loaded() and (holds_langchain_message(right) or holds_langchain_message(left))


def _merged_as_langchain(left: Messages | None, right: Messages | None, format: str | None) -> Any:
    """``add_messages`` for code that speaks LangChain: LangChain's messages in and out;
    those given are kept as they are (an id is given in place to one without)."""
    _check_sides(left, right)
    left_msgs = as_langchain_messages(left if isinstance(left, list) else [left])
    right_msgs = as_langchain_messages(right if isinstance(right, list) else [right])
    for message in (*left_msgs, *right_msgs):
        if message.id is None:
            message.id = str(uuid.uuid4())
    removal = langchain_message_class("remove")
    merged = _after_remove_all(right_msgs, removal)
    if merged is None:
        merged = _merge_by_id(left_msgs, right_msgs, removal)
    if format is None:
        return merged
    return [
        to_langchain_message(m)
        for msg in merged
        for m in (_to_openai(from_langchain_message(msg)) if type(msg.content) is list else [msg])
    ]


def merge_messages(left: Messages, right: Messages) -> list[Any]:
    """Merge ``right`` into ``left`` and return a new list; neither list is mutated.

    - a message whose id is new is appended;
    - a message whose id is already in ``left`` replaces it in place;
    - ``RemoveMessage(id=...)`` deletes that message (an unknown id is an error);
    - ``RemoveMessage(id=REMOVE_ALL_MESSAGES)`` drops everything before it;
    - messages without an id are given a uuid4 string, in place (as LangGraph does).

    When ``right`` only appends, the result is ``left + new``: its first ``len(left)``
    items are the very objects of ``left`` (savers rely on this to store the suffix).

        >>> msgs = merge_messages([HumanMessage("hi", id="1")], [AIMessage("yo", id="2")])
        >>> [m.id for m in merge_messages(msgs, RemoveMessage(id="1"))]
        ['2']
    """
    if type(left) is list and not left and type(right) is list and right:  # invoke's history
        index = _message_index.lookup(right) or _message_index.given_index(
            right, _plain_index, _plain_ids
        )
        if index is not None:
            history = cast(list[Any], right).copy()
            _message_index.remember(history, index)
            return history
    right_msgs, right_ids, plain = _coerced_with_ids(right)
    removes = False
    if not plain:
        after = _after_remove_all(right_msgs, RemoveMessage)
        if after is not None:
            return after
        removes = any(isinstance(m, RemoveMessage) for m in right_msgs)
    index = _message_index.lookup(left) if isinstance(left, list) else None
    if index is None:
        index = _plain_index(left)
    if index is None:
        left_msgs, left_ids, _ = _coerced_with_ids(left)
        index = _message_index.HistoryIndex.of_ids(left_ids, len(left_ids))
    else:
        left_msgs = cast(list[BaseMessage], left)  # coerced already
    if not removes:
        merged = _message_index.append(index, left_msgs, right_msgs, right_ids)
        if merged is not None:
            return merged
    result = _merge_by_id(left_msgs, right_msgs)
    _message_index.remember(result, _message_index.HistoryIndex(result))
    return result


def appended_messages(writes: list[Any]) -> tuple[list[Any], list[Any]] | None:
    """The messages ``writes`` (several ``add_messages`` right-hand sides, in order) add,
    coerced, with their ids, when each is a message or a list of plain messages (no
    ``RemoveMessage``, no ``Overwrite``); else None. Whether they only append is for
    the history's index to tell (``_message_index.extend``)."""
    messages: list[Any] = []
    ids: list[Any] = []
    for value in writes:
        if type(value) is not list and not isinstance(value, BaseMessage):
            return None
        value_msgs, value_ids, plain = _coerced_with_ids(value)
        if not plain:
            return None
        messages += value_msgs
        ids += value_ids
    return messages, ids


def _after_remove_all(right_msgs: list[Any], removal: type[Any]) -> list[Any] | None:
    """The messages after the last ``RemoveMessage(id=REMOVE_ALL_MESSAGES)`` of
    ``right_msgs`` (the whole history then), or None when there is none."""
    for pos in range(len(right_msgs) - 1, -1, -1):
        message = right_msgs[pos]
        if isinstance(message, removal) and message.id == REMOVE_ALL_MESSAGES:
            return right_msgs[pos + 1 :]
    return None


def _merge_by_id(
    left_msgs: list[Any], right_msgs: list[Any], removal: type[Any] = RemoveMessage
) -> list[Any]:
    """The general merge: replacements in place, removals (``removal`` messages: graphkit's
    or LangChain's ``RemoveMessage``), appends (O(len(left)))."""
    index = {m.id: i for i, m in enumerate(left_msgs)}
    merged = list(left_msgs)
    removed: set[str] = set()
    for message in right_msgs:
        assert message.id is not None
        pos_or_none = index.get(message.id)
        if isinstance(message, removal):
            if pos_or_none is None:
                raise InvalidMessageError(
                    f"Attempting to delete a message with an ID that doesn't exist "
                    f"({message.id!r}): RemoveMessage needs the id of a message in the "
                    "history (or REMOVE_ALL_MESSAGES to clear it)"
                )
            removed.add(message.id)
        elif pos_or_none is None:
            index[message.id] = len(merged)
            merged.append(message)
        else:
            merged[pos_or_none] = message
            removed.discard(message.id)
    return [m for m in merged if m.id not in removed]


def _to_openai(message: BaseMessage) -> list[BaseMessage]:
    """One message with OpenAI-style content: Anthropic-style ``image`` blocks become
    ``image_url`` data URLs, ``tool_use`` blocks tool calls, and ``tool_result`` blocks
    of a human message ``ToolMessage`` s of their own, after it. Content that is only
    text becomes one string (its blocks joined by newlines), as LangChain's
    ``convert_to_openai_messages`` gives it."""
    if not isinstance(message.content, list):
        return [message]
    content: list[Any] = list(message.content)
    if isinstance(message, AIMessage) and any(_kind(b) == "tool_use" for b in content):
        calls = [
            tool_call(b["name"], b.get("input") or {}, b.get("id"))
            for b in content
            if _kind(b) == "tool_use"
        ]
        kept = _openai_content([b for b in content if _kind(b) != "tool_use"])
        return [
            message.model_copy(
                update={"content": kept, "tool_calls": [*message.tool_calls, *calls]}
            )
        ]
    if any(_kind(b) == "tool_result" for b in content):
        out: list[BaseMessage] = []
        rest = [b for b in content if _kind(b) != "tool_result"]
        if rest:
            out.append(message.model_copy(update={"content": _openai_content(rest)}))
        for block in content:
            if _kind(block) == "tool_result":
                inner = block.get("content", "")
                out.append(
                    ToolMessage(
                        content=_openai_content(inner) if isinstance(inner, list) else inner,
                        tool_call_id=block.get("tool_use_id", ""),
                        status="error" if block.get("is_error") else "success",
                    )
                )
        return out
    return [message.model_copy(update={"content": _openai_content(content)})]


def _openai_content(blocks: list[Any]) -> str | list[Any]:
    """Content blocks in OpenAI's style; only text (or nothing): one string."""
    if all(isinstance(b, str) or _kind(b) == "text" for b in blocks):
        return "\n".join(b if isinstance(b, str) else b.get("text", "") for b in blocks)
    return [_openai_block(b) for b in blocks]


def _kind(block: Any) -> Any:
    return block.get("type") if isinstance(block, dict) else None


def _openai_block(block: Any) -> Any:
    if not isinstance(block, dict):
        return block
    if block.get("type") == "text":
        return {"type": "text", "text": block.get("text", "")}
    source = block.get("source")
    if block.get("type") == "image" and isinstance(source, dict):
        return {"type": "image_url", "image_url": {"url": image_source_url(source)}}
    return block


def image_source_url(source: dict[str, Any]) -> str:
    """The URL of an Anthropic-style image ``source``: a ``data:`` URL for base64 data."""
    if source.get("type") == "base64":
        return f"data:{source.get('media_type')};base64,{source.get('data')}"
    return str(source.get("url", ""))


class MessagesState(TypedDict):
    """State with a single ``messages`` key merged by ``add_messages``."""

    messages: Annotated[list[AnyMessage], add_messages]


def _register_with_serde() -> None:
    """Make messages checkpointable: register each class with the msgpack serializer."""
    try:
        from graphkit.stores.serde import register
    except ImportError:  # graphkit.stores.serde not available yet
        return
    for cls in (HumanMessage, AIMessage, AIMessageChunk, SystemMessage, ToolMessage, RemoveMessage):
        register(cls)


_register_with_serde()


# LangChain's message helpers (trim, count, filter, merge runs, convert); they build on
# the classes above, so they are imported last.
from graphkit._message_openai import convert_to_openai_messages  # noqa: E402
from graphkit._message_trim import count_tokens_approximately, trim_messages  # noqa: E402
from graphkit._message_utils import (  # noqa: E402
    MessagesTransform,
    filter_messages,
    get_buffer_string,
    merge_message_runs,
    message_from_dict,
    message_to_dict,
    messages_from_dict,
    messages_to_dict,
)
