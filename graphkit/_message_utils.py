"""LangChain's message helpers: filter, merge runs, render as text, to and from plain
dicts (OpenAI dicts are ``_message_openai``'s). Re-exported by ``graphkit.messages``
(import them from there).

Each helper accepts what ``convert_to_messages`` accepts (message objects, ``(role,
content)`` tuples, dicts, strings). ``filter_messages``, ``merge_message_runs`` and
``trim_messages`` called without messages return a ``MessagesTransform`` that applies
the same options later, as LangChain returns a runnable::

    >>> from graphkit.messages import AIMessage, HumanMessage, filter_messages
    >>> keep_human = filter_messages(include_types=["human"])
    >>> [m.text for m in keep_human([HumanMessage("hi"), AIMessage("yo")])]
    ['hi']
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Literal, overload
from xml.sax.saxutils import escape, quoteattr

from graphkit.errors import InvalidArgumentError, InvalidMessageError
from graphkit.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    MessageLikeRepresentation,
    RemoveMessage,
    SystemMessage,
    ToolMessage,
    _add_usage,
    _merge_content,
    convert_to_messages,
    message_chunk_to_message,
)

MessageTypes = str | type[BaseMessage] | Sequence[str | type[BaseMessage]]
"""Message types as LangChain names them ("human", "ai", "system", "tool") or classes."""


class MessagesTransform:
    """A message helper with its options bound: call it (or ``invoke``/``ainvoke`` it,
    as LangChain's runnable) with the messages. ``trim_messages(max_tokens=...)``
    without messages returns one."""

    def __init__(self, func: Callable[..., list[BaseMessage]], **options: Any) -> None:
        self.func = func
        """The helper applied."""
        self.options = options
        """The keyword options it is called with."""
        self.name = func.__name__
        """The helper's name (as LangChain names its runnable)."""

    def __call__(self, messages: Iterable[MessageLikeRepresentation]) -> list[BaseMessage]:
        return self.func(messages, **self.options)

    def invoke(
        self, messages: Iterable[MessageLikeRepresentation], config: Any = None
    ) -> list[BaseMessage]:
        """Apply the helper to ``messages`` (``config`` is accepted and ignored)."""
        return self(messages)

    async def ainvoke(
        self, messages: Iterable[MessageLikeRepresentation], config: Any = None
    ) -> list[BaseMessage]:
        """Apply the helper to ``messages``."""
        return self(messages)

    def __repr__(self) -> str:
        options = ", ".join(f"{k}={v!r}" for k, v in self.options.items())
        return f"{self.name}({options})"


def is_message_type(message: BaseMessage, types: MessageTypes) -> bool:
    """Whether ``message`` has one of ``types`` (type names or message classes)."""
    wanted = [types] if isinstance(types, (str, type)) else list(types)
    names = {t for t in wanted if isinstance(t, str)}
    classes = tuple(t for t in wanted if isinstance(t, type))
    return message.type in names or isinstance(message, classes)


# -- filter_messages ------------------------------------------------------------


@overload
def filter_messages(
    messages: None = None,
    *,
    include_names: Sequence[str] | None = None,
    exclude_names: Sequence[str] | None = None,
    include_types: MessageTypes | None = None,
    exclude_types: MessageTypes | None = None,
    include_ids: Sequence[str] | None = None,
    exclude_ids: Sequence[str] | None = None,
    exclude_tool_calls: Sequence[str] | bool | None = None,
) -> MessagesTransform: ...
@overload
def filter_messages(
    messages: Iterable[MessageLikeRepresentation],
    *,
    include_names: Sequence[str] | None = None,
    exclude_names: Sequence[str] | None = None,
    include_types: MessageTypes | None = None,
    exclude_types: MessageTypes | None = None,
    include_ids: Sequence[str] | None = None,
    exclude_ids: Sequence[str] | None = None,
    exclude_tool_calls: Sequence[str] | bool | None = None,
) -> list[BaseMessage]: ...
def filter_messages(
    messages: Iterable[MessageLikeRepresentation] | None = None,
    *,
    include_names: Sequence[str] | None = None,
    exclude_names: Sequence[str] | None = None,
    include_types: MessageTypes | None = None,
    exclude_types: MessageTypes | None = None,
    include_ids: Sequence[str] | None = None,
    exclude_ids: Sequence[str] | None = None,
    exclude_tool_calls: Sequence[str] | bool | None = None,
) -> list[BaseMessage] | MessagesTransform:
    """The messages that match an ``include_*`` option (any, when none is given) and
    no ``exclude_*`` option.

    ``exclude_tool_calls=True`` drops AI messages with tool calls and every tool
    message; a list of tool call ids drops those calls from AI messages (the message
    too when no call is left, and its Anthropic ``tool_use`` blocks) and the tool
    messages that answer them. Without ``messages``, returns a ``MessagesTransform``.

        >>> msgs = [HumanMessage("a", name="ann"), HumanMessage("b", name="bob")]
        >>> [m.text for m in filter_messages(msgs, exclude_names=["bob"])]
        ['a']
    """
    options = dict(
        include_names=include_names,
        exclude_names=exclude_names,
        include_types=include_types,
        exclude_types=exclude_types,
        include_ids=include_ids,
        exclude_ids=exclude_ids,
        exclude_tool_calls=exclude_tool_calls,
    )
    if messages is None:
        return MessagesTransform(filter_messages, **options)
    including = bool(include_types or include_ids or include_names)
    kept: list[BaseMessage] = []
    for message in convert_to_messages(messages):  # type: ignore[arg-type]
        if _excluded(message, exclude_names, exclude_types, exclude_ids):
            continue
        message = _without_tool_calls(message, exclude_tool_calls)
        if message is None:
            continue
        if not including or (
            (include_names and message.name in include_names)
            or (include_types and is_message_type(message, include_types))
            or (include_ids and message.id in include_ids)
        ):
            kept.append(message)
    return kept


def _excluded(
    message: BaseMessage,
    names: Sequence[str] | None,
    types: MessageTypes | None,
    ids: Sequence[str] | None,
) -> bool:
    return bool(
        (names and message.name in names)
        or (types and is_message_type(message, types))
        or (ids and message.id in ids)
    )


def _without_tool_calls(
    message: BaseMessage, exclude: Sequence[str] | bool | None
) -> BaseMessage | None:
    """``message`` without the excluded tool calls; None when nothing is left of it."""
    if exclude is True:
        answers_or_calls = isinstance(message, ToolMessage) or (
            isinstance(message, AIMessage) and message.tool_calls
        )
        return None if answers_or_calls else message
    if not isinstance(exclude, (list, tuple, set, frozenset)):
        return message
    if isinstance(message, ToolMessage):
        return None if message.tool_call_id in exclude else message
    if not isinstance(message, AIMessage) or not message.tool_calls:
        return message
    calls = [c for c in message.tool_calls if c.get("id") not in exclude]
    if not calls:
        return None
    content = message.content
    if isinstance(content, list):
        content = [
            b
            for b in content
            if not (isinstance(b, dict) and b.get("type") == "tool_use" and b.get("id") in exclude)
        ]
    return message.model_copy(update={"tool_calls": calls, "content": content})


# -- merge_message_runs ---------------------------------------------------------


@overload
def merge_message_runs(
    messages: None = None, *, chunk_separator: str = "\n"
) -> MessagesTransform: ...
@overload
def merge_message_runs(
    messages: Iterable[MessageLikeRepresentation], *, chunk_separator: str = "\n"
) -> list[BaseMessage]: ...
def merge_message_runs(
    messages: Iterable[MessageLikeRepresentation] | None = None, *, chunk_separator: str = "\n"
) -> list[BaseMessage] | MessagesTransform:
    """Merge each run of consecutive messages of the same class into one message.

    String contents are joined with ``chunk_separator``; list contents are
    concatenated (blocks with the same ``index`` merged); AI messages keep all their
    tool calls and add up their usage. Tool messages are never merged (each answers
    its own call). The merged message keeps the first message's ``response_metadata``,
    and the ``name`` the run's messages share (none when they differ: LangChain drops
    it always). Without ``messages``, returns a ``MessagesTransform``.

        >>> [m.text for m in merge_message_runs([HumanMessage("a"), HumanMessage("b")])]
        ['a\\nb']
    """
    if messages is None:
        return MessagesTransform(merge_message_runs, chunk_separator=chunk_separator)
    merged: list[BaseMessage] = []
    for message in convert_to_messages(messages):  # type: ignore[arg-type]
        last = merged[-1] if merged else None
        if last is None or isinstance(message, ToolMessage) or not isinstance(message, type(last)):
            merged.append(message)
        else:
            merged[-1] = _merge_two(last, message, chunk_separator)
    return merged


def _merge_two(first: BaseMessage, second: BaseMessage, separator: str) -> BaseMessage:
    left, right = first.content, second.content
    if isinstance(left, str) and isinstance(right, str) and left and right:
        left += separator
    update: dict[str, Any] = {
        "content": _merge_run_content(left, right),
        "additional_kwargs": merge_dicts(first.additional_kwargs, second.additional_kwargs),
        "name": first.name if first.name == second.name else None,
    }
    if isinstance(first, AIMessage) and isinstance(second, AIMessage):
        update["id"] = _ai_id(first.id, second.id)
        update["tool_calls"] = [*first.tool_calls, *second.tool_calls]
        update["invalid_tool_calls"] = [*first.invalid_tool_calls, *second.invalid_tool_calls]
        update["usage"] = _add_usage(first.usage, second.usage)
    return message_chunk_to_message(first).model_copy(update=update, deep=True)


def _merge_run_content(left: Any, right: Any) -> Any:
    if isinstance(left, str) and isinstance(right, str):
        return left + right
    if isinstance(left, str):
        return [left, *right]
    if isinstance(right, str):
        if not right:
            return left
        if left and isinstance(left[-1], str):
            return [*left[:-1], left[-1] + right]
        return [*left, right]
    return _merge_content(left, right)


def _ai_id(first: str | None, second: str | None) -> str | None:
    """The merged AI message's id: the first one given, preferring ids that are not
    LangChain's provisional ``lc_`` ones."""
    given = [i for i in (first, second) if i]
    return next((i for i in given if not i.startswith("lc_")), given[0] if given else None)


def merge_dicts(left: dict[str, Any], right: dict[str, Any]) -> dict[str, Any]:
    """``right`` merged into a copy of ``left`` as LangChain merges message extras:
    strings and lists concatenated, dicts merged, integers added (``index``,
    ``created`` and ``timestamp`` take the later value); ``None`` gives way to a value.
    Equal values are kept as they are (LangChain concatenates equal strings). The
    result shares nothing mutable with ``left`` or ``right``."""
    merged = copy.deepcopy(left)
    for key, value in right.items():
        mine = merged.get(key)
        if mine is None:
            merged[key] = copy.deepcopy(value)
        elif value is None or value == mine:
            continue
        elif type(mine) is not type(value):
            raise InvalidMessageError(
                f"cannot merge the messages' {key!r}: one is a {type(mine).__name__}, the "
                f"other a {type(value).__name__}; make them the same type or drop one"
            )
        elif isinstance(mine, dict):
            merged[key] = merge_dicts(mine, value)
        elif isinstance(mine, (str, list)):
            merged[key] = mine + copy.deepcopy(value)
        elif type(mine) is int:
            merged[key] = value if key in _LATEST_WINS else mine + value
        else:
            raise InvalidMessageError(
                f"cannot merge the messages' {key!r}: {type(mine).__name__} values "
                "that differ do not merge; make them equal or drop one"
            )
    return merged


_LATEST_WINS = frozenset({"index", "created", "timestamp"})
"""Integer extras that are positions or times, not counts: merging keeps the later one."""


# -- get_buffer_string ----------------------------------------------------------


def get_buffer_string(
    messages: Sequence[MessageLikeRepresentation],
    human_prefix: str = "Human",
    ai_prefix: str = "AI",
    *,
    system_prefix: str = "System",
    function_prefix: str = "Function",
    tool_prefix: str = "Tool",
    message_separator: str = "\n",
    format: Literal["prefix", "xml"] = "prefix",
) -> str:
    """The conversation as one string: ``"Human: hi\\nAI: hello"``.

    ``format="xml"`` writes ``<message type="human">hi</message>`` elements instead
    (escaped, with ``<tool_call>`` elements for an AI message's tool calls and
    ``<image url=... />`` for image blocks given by URL), which stays unambiguous
    when a message itself contains "Human:". ``function_prefix`` is accepted as
    LangChain's is (graphkit has no ``FunctionMessage`` to use it on).

        >>> get_buffer_string([HumanMessage("hi"), AIMessage("hello")])
        'Human: hi\\nAI: hello'
    """
    if format not in ("prefix", "xml"):
        raise InvalidArgumentError(
            f"Unrecognized format={format!r}: get_buffer_string supports 'prefix' and 'xml'."
        )
    prefixes: list[tuple[type[BaseMessage], str]] = [
        (HumanMessage, human_prefix),
        (AIMessage, ai_prefix),
        (SystemMessage, system_prefix),
        (ToolMessage, tool_prefix),
    ]
    parts: list[str] = []
    for message in convert_to_messages(list(messages)):
        role = next((p for cls, p in prefixes if isinstance(message, cls)), None)
        if role is None:
            raise InvalidMessageError(
                f"get_buffer_string cannot render a {type(message).__name__}: pass "
                "human, AI, system or tool messages"
            )
        parts.append(_xml(message, role.lower()) if format == "xml" else _prefixed(message, role))
    return message_separator.join(parts)


def _prefixed(message: BaseMessage, role: str) -> str:
    line = f"{role}: {message.text}"
    if isinstance(message, AIMessage):
        if message.tool_calls:
            line += str(message.tool_calls)
        elif "function_call" in message.additional_kwargs:
            line += str(message.additional_kwargs["function_call"])
    return line


def _xml(message: BaseMessage, role: str) -> str:
    blocks = [message.content] if isinstance(message.content, str) else message.content
    content = [
        part
        for block in blocks
        if (part := escape(block) if isinstance(block, str) else _xml_block(block))
    ]
    calls = message.tool_calls if isinstance(message, AIMessage) else []
    call = (
        message.additional_kwargs.get("function_call") if isinstance(message, AIMessage) else None
    )
    if not calls and not call:
        return f"<message type={quoteattr(role)}>{' '.join(content)}</message>"
    lines = [f"<message type={quoteattr(role)}>"]
    if content:
        lines.append(f"  <content>{' '.join(content)}</content>")
    for c in calls:
        call_id = c.get("id") or ""
        shown = call_id if len(call_id) <= 64 else call_id[:64] + "..."
        args = escape(json.dumps(c.get("args", {}), ensure_ascii=False))
        lines.append(
            f"  <tool_call id={quoteattr(shown)} name={quoteattr(str(c.get('name') or ''))}>"
            f"{args}</tool_call>"
        )
    if not calls and isinstance(call, dict):
        args = escape(str(call.get("arguments") or "{}"))
        lines.append(
            f"  <function_call name={quoteattr(str(call.get('name') or ''))}>{args}</function_call>"
        )
    lines.append("</message>")
    return "\n".join(lines)


_XML_TRUNCATE = 500


def _xml_block(block: dict[str, Any]) -> str | None:
    """One content block as XML, or None to skip it (inline base64 data, unknown kinds)."""
    kind = block.get("type", "")
    url = block.get("url")
    image_url = block.get("image_url")
    inline_url = isinstance(image_url, dict) and str(image_url.get("url", "")).startswith("data:")
    if block.get("base64") or (isinstance(url, str) and url.startswith("data:")) or inline_url:
        return None
    if kind == "text":
        return escape(block["text"]) if block.get("text") else None
    if kind == "text-plain":
        return escape(_truncate(block["text"])) if block.get("text") else None
    if kind == "reasoning":
        return (
            f"<reasoning>{escape(block['reasoning'])}</reasoning>"
            if block.get("reasoning")
            else None
        )
    if kind in ("image", "audio", "video"):
        if url:
            return f"<{kind} url={quoteattr(url)} />"
        file_id = block.get("file_id")
        return f"<{kind} file_id={quoteattr(file_id)} />" if file_id else None
    if kind == "image_url" and isinstance(image_url, dict) and image_url.get("url"):
        return f"<image url={quoteattr(image_url['url'])} />"
    if kind == "server_tool_call":
        args = escape(_truncate(json.dumps(block.get("args", {}), ensure_ascii=False)))
        return (
            f"<server_tool_call id={quoteattr(str(block.get('id') or ''))} "
            f"name={quoteattr(str(block.get('name') or ''))}>{args}</server_tool_call>"
        )
    if kind == "server_tool_result":
        output = block.get("output")
        text = escape(_truncate(json.dumps(output, ensure_ascii=False))) if output else ""
        return (
            f"<server_tool_result tool_call_id={quoteattr(str(block.get('tool_call_id') or ''))} "
            f"status={quoteattr(str(block.get('status') or ''))}>{text}</server_tool_result>"
        )
    return None


def _truncate(text: str) -> str:
    return text if len(text) <= _XML_TRUNCATE else text[:_XML_TRUNCATE] + "..."


# -- dicts ----------------------------------------------------------------------


def message_to_dict(message: BaseMessage) -> dict[str, Any]:
    """``{"type": ..., "data": {...}}`` as LangChain writes a message (its AI usage
    under ``usage_metadata``); ``messages_from_dict`` reads it back, LangChain's too.

        >>> message_to_dict(HumanMessage("hi"))["type"]
        'human'
    """
    data = message.model_dump()
    if isinstance(message, AIMessage):
        data["usage_metadata"] = data.pop("usage")
    return {"type": message.type, "data": data}


def messages_to_dict(messages: Sequence[BaseMessage]) -> list[dict[str, Any]]:
    """``message_to_dict`` of each message."""
    return [message_to_dict(m) for m in messages]


_DICT_TYPES: dict[str, type[BaseMessage]] = {
    "human": HumanMessage,
    "ai": AIMessage,
    "system": SystemMessage,
    "tool": ToolMessage,
    "remove": RemoveMessage,
    "AIMessageChunk": AIMessageChunk,
}
_LANGCHAIN_ONLY_FIELDS = ("example", "chunk_position")
"""Fields LangChain writes that graphkit's messages do not have (always default there)."""


def message_from_dict(message: dict[str, Any]) -> BaseMessage:
    """The message a ``message_to_dict`` dict describes."""
    kind = message.get("type") if isinstance(message, dict) else None
    cls = _DICT_TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None or not isinstance(message.get("data"), dict):
        raise InvalidMessageError(
            f"Got unexpected message type: {kind!r}. messages_from_dict reads "
            f"{{'type': one of {sorted(_DICT_TYPES)}, 'data': {{...}}}} "
            "as message_to_dict writes it"
        )
    data = dict(message["data"])
    data.pop("type", None)
    for name in _LANGCHAIN_ONLY_FIELDS:
        if not data.get(name):
            data.pop(name, None)
    if issubclass(cls, AIMessage) and "usage_metadata" in data:
        data["usage"] = data.pop("usage_metadata")
    return cls(**data)


def messages_from_dict(messages: Sequence[dict[str, Any]]) -> list[BaseMessage]:
    """``message_from_dict`` of each dict."""
    return [message_from_dict(m) for m in messages]
