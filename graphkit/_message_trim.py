"""``trim_messages`` and ``count_tokens_approximately``, as LangChain's: keep a chat
history within a model's context. Re-exported by ``graphkit.messages``.

    >>> from graphkit.messages import AIMessage, HumanMessage, SystemMessage, trim_messages
    >>> history = [SystemMessage("be brief"), HumanMessage("q1"), AIMessage("a1"),
    ...            HumanMessage("q2"), AIMessage("a2")]
    >>> kept = trim_messages(history, max_tokens=3, token_counter=len,
    ...                      include_system=True, start_on="human")
    >>> [m.text for m in kept]
    ['be brief', 'q2', 'a2']
"""

from __future__ import annotations

import inspect
import json
import math
import types
from collections.abc import Callable, Iterable, Sequence
from typing import Annotated, Any, Literal, Union, get_args, get_origin, overload

from graphkit._message_openai import openai_role
from graphkit._message_utils import MessagesTransform, MessageTypes, is_message_type
from graphkit.errors import InvalidArgumentError
from graphkit.messages import (
    AIMessage,
    BaseMessage,
    MessageLikeRepresentation,
    SystemMessage,
    ToolMessage,
    convert_to_messages,
)

TokenCounter = Any
"""A function of a list of messages, a function of one message (its first parameter
annotated as a message class), a chat model with ``get_num_tokens_from_messages``, or
the string ``"approximate"``."""

_PER_MESSAGE_ANNOTATIONS = frozenset(
    {"BaseMessage", "HumanMessage", "AIMessage", "SystemMessage", "ToolMessage", "AnyMessage"}
)


# -- count_tokens_approximately --------------------------------------------------


def count_tokens_approximately(
    messages: Iterable[MessageLikeRepresentation],
    *,
    chars_per_token: float = 4.0,
    extra_tokens_per_message: float = 3.0,
    count_name: bool = True,
    tokens_per_image: int = 85,
    use_usage_metadata_scaling: bool = False,
    tools: Sequence[Any] | None = None,
) -> int:
    """Roughly how many tokens ``messages`` are: their characters (content, OpenAI role,
    name, an AI message's tool calls, a tool message's call id) over
    ``chars_per_token``, rounded up per message, plus ``extra_tokens_per_message``
    each; an image block counts ``tokens_per_image``. ``tools`` (dicts or graphkit
    tools) add their JSON schemas' characters. ``use_usage_metadata_scaling`` scales
    the count up (at most 1.25x) to the provider's own total in the latest AI
    message's usage, when the AI messages (from the first that names its
    ``response_metadata["model_provider"]`` on) come from that one provider.

        >>> count_tokens_approximately([("user", "hello world!")])  # 12 + len("user") chars
        7
    """
    converted = convert_to_messages(messages)  # type: ignore[arg-type]
    count = float(math.ceil(_tools_chars(tools) / chars_per_token)) if tools else 0.0
    provider: Any = None
    mixed_providers = False
    scale_total: int | None = None
    count_at_total = 0.0
    for message in converted:
        chars, images = _message_chars(message, count_name)
        count += images * tokens_per_image
        count += math.ceil(chars / chars_per_token) + extra_tokens_per_message
        if use_usage_metadata_scaling and isinstance(message, AIMessage):
            this_provider = message.response_metadata.get("model_provider")
            if provider is None:
                provider = this_provider
            elif this_provider != provider:
                mixed_providers = True
            total = message.usage.get("total_tokens") if message.usage else None
            if isinstance(total, int):
                scale_total, count_at_total = total, count
    if (
        use_usage_metadata_scaling
        and len(converted) > 1
        and provider is not None
        and not mixed_providers
        and scale_total is not None
        and count_at_total > 0
    ):
        count *= min(1.25, max(1.0, scale_total / count_at_total))
    return math.ceil(count)


def _message_chars(message: BaseMessage, count_name: bool) -> tuple[int, int]:
    """Characters counted for ``message``, and its number of image blocks."""
    chars = images = 0
    if isinstance(message.content, str):
        chars += len(message.content)
    else:
        for block in message.content:
            kind = block.get("type", "") if isinstance(block, dict) else None
            if isinstance(block, str):
                chars += len(block)
            elif kind in ("image", "image_url"):
                images += 1
            elif kind == "text":
                chars += len(block.get("text", ""))
            else:
                chars += len(repr(block))
    if isinstance(message, AIMessage) and isinstance(message.content, str) and message.tool_calls:
        chars += len(repr(message.tool_calls))
    if isinstance(message, ToolMessage):
        chars += len(message.tool_call_id)
    chars += len(openai_role(message))
    if message.name and count_name:
        chars += len(message.name)
    return chars, images


def _tools_chars(tools: Sequence[Any]) -> int:
    from graphkit.tools import Tool, tool  # graphkit.tools imports graphkit.messages

    total = 0
    for item in tools:
        if isinstance(item, dict):
            spec = item
        else:
            described = item if isinstance(item, Tool) else tool(item)
            parameters = dict(described.schema)
            parameters.pop("title", None)
            parameters.pop("description", None)
            spec = {
                "name": described.name,
                "description": described.description,
                "parameters": parameters,
            }
        total += len(json.dumps(spec))
    return total


# -- trim_messages -----------------------------------------------------------------


@overload
def trim_messages(
    messages: None = None,
    *,
    max_tokens: int,
    token_counter: TokenCounter,
    strategy: Literal["first", "last"] = "last",
    allow_partial: bool = False,
    end_on: MessageTypes | None = None,
    start_on: MessageTypes | None = None,
    include_system: bool = False,
    text_splitter: Callable[[str], list[str]] | Any | None = None,
) -> MessagesTransform: ...
@overload
def trim_messages(
    messages: Iterable[MessageLikeRepresentation],
    *,
    max_tokens: int,
    token_counter: TokenCounter,
    strategy: Literal["first", "last"] = "last",
    allow_partial: bool = False,
    end_on: MessageTypes | None = None,
    start_on: MessageTypes | None = None,
    include_system: bool = False,
    text_splitter: Callable[[str], list[str]] | Any | None = None,
) -> list[BaseMessage]: ...
def trim_messages(
    messages: Iterable[MessageLikeRepresentation] | None = None,
    *,
    max_tokens: int,
    token_counter: TokenCounter,
    strategy: Literal["first", "last"] = "last",
    allow_partial: bool = False,
    end_on: MessageTypes | None = None,
    start_on: MessageTypes | None = None,
    include_system: bool = False,
    text_splitter: Callable[[str], list[str]] | Any | None = None,
) -> list[BaseMessage] | MessagesTransform:
    """The longest run of ``messages`` that ``token_counter`` says fits ``max_tokens``.

    - ``strategy="last"`` keeps the end of the conversation (``"first"`` its start);
    - ``include_system`` (last only) always keeps a leading system message;
    - ``start_on`` (last only) drops kept messages until one of these types starts
      the result, ``end_on`` drops them from the end until one of these types ends it
      (types as "human", "ai", "system", "tool" or message classes; a list for several);
    - ``allow_partial`` keeps part of the message that does not fit whole: some of its
      content blocks, else part of its text split by ``text_splitter`` (a function
      ``str -> list[str]``, or an object with ``split_text``; by lines by default).

    ``token_counter`` is a function of a list of messages, a function of one message
    (its first parameter annotated with a message class), a chat model with
    ``get_num_tokens_from_messages``, or ``"approximate"``
    (``count_tokens_approximately``). Without ``messages``, returns a
    ``MessagesTransform`` that trims the messages it is called with.
    """
    options = dict(
        max_tokens=max_tokens,
        token_counter=token_counter,
        strategy=strategy,
        allow_partial=allow_partial,
        end_on=end_on,
        start_on=start_on,
        include_system=include_system,
        text_splitter=text_splitter,
    )
    _check_trim_options(max_tokens, strategy, start_on, include_system)
    count = _list_counter(token_counter)
    split = _splitter(text_splitter)
    if messages is None:
        return MessagesTransform(trim_messages, **options)
    converted: list[BaseMessage] = convert_to_messages(messages)  # type: ignore[arg-type]
    if strategy == "first":
        return _keep_first(
            converted, max_tokens, count, split, "first" if allow_partial else None, end_on
        )
    return _keep_last(
        converted, max_tokens, count, split, allow_partial, include_system, start_on, end_on
    )


def _check_trim_options(
    max_tokens: Any, strategy: str, start_on: Any, include_system: bool
) -> None:
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, (int, float)):
        raise InvalidArgumentError(
            f"max_tokens must be a number of tokens (an int), not {max_tokens!r}."
        )
    if strategy not in ("first", "last"):
        raise InvalidArgumentError(
            f"Unrecognized strategy={strategy!r}: trim_messages keeps the 'last' or the "
            "'first' messages."
        )
    if start_on and strategy == "first":
        raise InvalidArgumentError(
            "start_on parameter is only valid with strategy='last': with 'first' the "
            "result starts where the history does (use end_on to choose its last message)."
        )
    if include_system and strategy == "first":
        raise InvalidArgumentError(
            "include_system parameter is only valid with strategy='last': with 'first' a "
            "leading system message is kept anyway while it fits."
        )


Counter = Callable[[list[BaseMessage]], int]


def _list_counter(token_counter: TokenCounter) -> Counter:
    """``token_counter`` as a function of a list of messages."""
    if isinstance(token_counter, str):
        if token_counter == "approximate":
            return count_tokens_approximately
        raise InvalidArgumentError(
            f"Invalid token_counter shortcut {token_counter!r}. Available shortcuts: 'approximate'."
        )
    method = getattr(token_counter, "get_num_tokens_from_messages", None)
    if callable(method):
        return method
    if not callable(token_counter):
        raise InvalidArgumentError(
            "'token_counter' expected to be a model that implements "
            "'get_num_tokens_from_messages()' or a function (of a list of messages, or of "
            f"one message annotated as such), or 'approximate'. Received object of type "
            f"{type(token_counter).__name__}."
        )
    if _counts_one_message(token_counter):
        per_message: Callable[[BaseMessage], int] = token_counter
        return lambda msgs: sum(per_message(m) for m in msgs)
    list_counter: Counter = token_counter
    return list_counter


def _counts_one_message(func: Callable[..., Any]) -> bool:
    """Whether ``func``'s first parameter is annotated with a message class."""
    try:
        signature = inspect.signature(func, eval_str=True)
    except (NameError, TypeError, SyntaxError):
        signature = inspect.signature(func)
    except ValueError:  # a builtin without a signature: a function of the list
        return False
    params = list(signature.parameters.values())
    if not params:
        raise InvalidArgumentError(
            f"token_counter {func!r} takes no argument: it must take the list of messages "
            "(or one message, annotated as a message class)."
        )
    return _is_message_annotation(params[0].annotation)


def _is_message_annotation(annotation: Any) -> bool:
    """A message class, a union of them (``AnyMessage``), or such a name left unresolved."""
    if isinstance(annotation, str):
        return annotation in _PER_MESSAGE_ANNOTATIONS
    if isinstance(annotation, type):
        return issubclass(annotation, BaseMessage) or annotation.__name__ == "BaseMessage"
    origin = get_origin(annotation)
    if origin is Annotated:
        return _is_message_annotation(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        return all(_is_message_annotation(arg) for arg in get_args(annotation))
    return False


def _splitter(text_splitter: Any) -> Callable[[str], list[str]]:
    if text_splitter is None:
        return _split_lines
    split_text = getattr(text_splitter, "split_text", None)
    if callable(split_text):
        return split_text
    if callable(text_splitter):
        splitter: Callable[[str], list[str]] = text_splitter
        return splitter
    raise InvalidArgumentError(
        f"text_splitter must be a function str -> list[str] (or have split_text); got a "
        f"{type(text_splitter).__name__}."
    )


def _split_lines(text: str) -> list[str]:
    """Lines of ``text``, each with its newline (so that joining gives ``text``)."""
    lines = text.split("\n")
    return [line + "\n" for line in lines[:-1]] + lines[-1:]


def _keep_last(
    messages: list[BaseMessage],
    max_tokens: int,
    count: Counter,
    split: Callable[[str], list[str]],
    allow_partial: bool,
    include_system: bool,
    start_on: MessageTypes | None,
    end_on: MessageTypes | None,
) -> list[BaseMessage]:
    if end_on:
        messages = _drop_tail_until(messages, end_on)
    system: BaseMessage | None = None
    if include_system and messages and isinstance(messages[0], SystemMessage):
        system, messages = messages[0], messages[1:]
    budget = max_tokens if system is None else max(0, max_tokens - count([system]))
    kept = _keep_first(
        messages[::-1], budget, count, split, "last" if allow_partial else None, start_on
    )[::-1]
    return kept if system is None else [system, *kept]


def _drop_tail_until(messages: list[BaseMessage], types: MessageTypes) -> list[BaseMessage]:
    end = len(messages)
    while end > 0 and not is_message_type(messages[end - 1], types):
        end -= 1
    return messages[:end]


def _keep_first(
    messages: list[BaseMessage],
    max_tokens: int,
    count: Counter,
    split: Callable[[str], list[str]],
    partial: Literal["first", "last"] | None,
    end_on: MessageTypes | None,
) -> list[BaseMessage]:
    """The longest prefix within ``max_tokens`` (found by bisection: counts grow with
    the messages), plus part of the next message when ``partial``, cut back to end on
    ``end_on``. With ``partial="last"`` the messages come reversed: a part is taken
    from the end of a message's content."""
    if not messages:
        return []
    if count(messages) <= max_tokens:
        return _drop_tail_until(messages, end_on) if end_on else messages
    low, high = 0, len(messages)
    while low < high:
        mid = (low + high + 1) // 2
        if count(messages[:mid]) <= max_tokens:
            low = mid
        else:
            high = mid - 1
    kept = messages[:low]
    if partial and low < len(messages):
        piece = _partial(kept, messages[low], max_tokens, count, split, partial)
        if piece is not None:
            kept = [*kept, piece]
    return _drop_tail_until(kept, end_on) if end_on else kept


def _partial(
    kept: list[BaseMessage],
    message: BaseMessage,
    max_tokens: int,
    count: Counter,
    split: Callable[[str], list[str]],
    side: Literal["first", "last"],
) -> BaseMessage | None:
    """The largest part of ``message`` that fits after ``kept``: its first (or last)
    content blocks, else the first (last) pieces of its text (then string content)."""
    piece = message.model_copy(deep=True)
    text: str | None = piece.content if isinstance(piece.content, str) else None
    if isinstance(piece.content, list):
        blocks = piece.content if side == "first" else piece.content[::-1]
        for size in range(len(blocks) - 1, 0, -1):
            piece.content = blocks[:size] if side == "first" else blocks[:size][::-1]
            if count([*kept, piece]) <= max_tokens:
                return piece
        text = _block_text(blocks[0]) if blocks else None
    if not text:
        return None
    parts = split(text) if side == "first" else split(text)[::-1]
    base = count(kept)
    low, high = 0, len(parts)
    while low < high:
        mid = (low + high + 1) // 2
        piece.content = _joined(parts[:mid], side)
        if base + count([piece]) <= max_tokens:
            low = mid
        else:
            high = mid - 1
    if low == 0:
        return None
    piece.content = _joined(parts[:low], side)
    return piece


def _block_text(block: Any) -> str | None:
    if isinstance(block, str):
        return block
    if isinstance(block, dict) and block.get("type") == "text":
        text = block.get("text")
        return text if isinstance(text, str) else None
    return None


def _joined(parts: list[str], side: str) -> str:
    return "".join(parts if side == "first" else parts[::-1])
