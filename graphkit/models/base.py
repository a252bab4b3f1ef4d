"""``BaseChatModel``: the one small interface every chat model implements.

A provider writes four methods — ``_generate``, ``_stream`` and their async
twins — that take a list of message objects. The public methods coerce the
input (strings, ``(role, content)`` tuples, dicts, like ``add_messages``), route
streamed chunks to ``stream_mode="messages"`` when a graph is streaming, and
offer ``bind_tools`` and ``with_structured_output`` on top.
"""

from __future__ import annotations

import asyncio
import copy
import functools
import json
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any, Literal, TypeVar, cast

from pydantic import BaseModel, TypeAdapter
from typing_extensions import is_typeddict

from graphkit.constants import TAG_NOSTREAM
from graphkit.errors import InvalidArgumentError
from graphkit.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    MessageLikeRepresentation,
    convert_to_messages,
    count_tokens_approximately,
    message_chunk_to_message,
)
from graphkit.models.errors import OutputParserError
from graphkit.tools import Tool, convert_to_tool

__all__ = ["BaseChatModel", "LanguageModelInput", "StructuredOutputModel", "ToolChoice"]

LanguageModelInput = str | BaseMessage | Sequence[MessageLikeRepresentation]
"""A string (one human message), one message, or a list of message-likes."""

ToolChoice = Literal["auto", "any", "none"] | str | None
"""``None``/``"auto"``: the model decides; ``"any"`` (or ``"required"``): it must call
some tool; ``"none"``: no tool; any other string: it must call that tool."""

ModelT = TypeVar("ModelT", bound="BaseChatModel")


def _messages_streaming_active() -> bool:
    try:
        from graphkit.context import messages_streaming_active
    except ImportError:  # pragma: no cover - engine not installed
        return False
    return messages_streaming_active()


@functools.cache
def _run_events() -> Any:
    """``graphkit.engine.run_events``, imported once (None without the engine)."""
    try:
        from graphkit.engine import run_events
    except ImportError:  # pragma: no cover - engine not installed
        return None
    return run_events


def _model_run(model: BaseChatModel, messages: list[BaseMessage]) -> Any:
    """The reported run of this call (``astream_events``, callbacks), or None when the
    run it is in reports none."""
    run_events = _run_events()
    if run_events is None or not run_events.reporting():  # (the common case)
        return None
    extra = {**(model.metadata or {}), **model.ls_params()}
    return run_events.model_run(model.run_name(), messages, model.tags or (), extra)


def _events_active() -> bool:
    run_events = _run_events()
    return run_events is not None and bool(run_events.events_active())


def _emit(chunk: AIMessageChunk, metadata: dict[str, Any] | None) -> None:
    if metadata is None:  # a model tagged TAG_NOSTREAM
        return
    try:
        from graphkit.context import emit_message_chunk
    except ImportError:  # pragma: no cover - engine not installed
        return
    emit_message_chunk(chunk, metadata)


class BaseChatModel(ABC):
    """A chat model: messages in, one ``AIMessage`` (or a stream of chunks) out.

    Instances are cheap to copy: ``bind_tools`` returns a shallow copy that
    shares the underlying HTTP client.
    """

    provider: str = "unknown"
    """Provider name used in errors and metadata."""
    model: str = ""
    """The provider's model name."""
    tools: tuple[Tool, ...] = ()
    """Tools bound with ``bind_tools``."""
    tool_choice: ToolChoice = None
    """How the model must use ``tools`` (see ``ToolChoice``)."""
    streaming: bool = False
    """``invoke`` streams the reply internally (LangChain's ``streaming=True``)."""
    tags: list[str] | None = None
    """Tags added to the metadata of this model's streamed chunks (as LangChain's)."""
    metadata: dict[str, Any] | None = None
    """Keys added to the metadata of this model's streamed chunks (as LangChain's)."""
    disable_streaming: bool | str = False
    """``True``: never stream (``stream`` yields the whole reply as one chunk);
    ``"tool_calling"``: not while tools are bound (LangChain's option)."""
    bound_kwargs: dict[str, Any] = {}  # noqa: RUF012 - replaced, never mutated
    """Request options from ``bind``/``bind_tools`` (``stop``, ``parallel_tool_calls``,
    ``strict``, or any request field), applied by providers that support them."""

    # -- what providers implement ---------------------------------------------

    @abstractmethod
    def _generate(self, messages: list[BaseMessage]) -> AIMessage:
        """One request, one complete reply."""

    @abstractmethod
    def _stream(self, messages: list[BaseMessage]) -> Iterator[AIMessageChunk]:
        """One streaming request; chunks of one reply share its id."""

    async def _agenerate(self, messages: list[BaseMessage]) -> AIMessage:
        """Async ``_generate``; the default runs the sync one in a worker thread."""
        return await asyncio.to_thread(self._generate, messages)

    async def _astream(self, messages: list[BaseMessage]) -> AsyncIterator[AIMessageChunk]:
        """Async ``_stream``; the default collects the sync stream in a worker thread."""
        for chunk in await asyncio.to_thread(lambda: list(self._stream(messages))):
            yield chunk

    # -- public API ------------------------------------------------------------

    def invoke(self, input: LanguageModelInput, config: Any = None, **kwargs: Any) -> AIMessage:
        """Send ``input`` and return the reply.

        Inside a graph streamed with ``stream_mode="messages"`` this streams
        internally, so tokens reach the stream as they arrive. ``kwargs`` apply to
        this call only, as with ``bind`` (e.g. ``stop=[...]``).
        """
        if kwargs:
            return self.bind(**kwargs).invoke(input, config)
        messages = _to_messages(input)
        if self._streams():
            merged: AIMessageChunk | None = None
            for chunk in self.stream(messages):
                merged = chunk if merged is None else merged + chunk
            return _final_message(merged)
        events = _model_run(self, messages)  # (a run calling callbacks only: not streamed)
        if events is None:
            return self._generate(messages)
        try:
            reply = self._generate(messages)
        except BaseException as exc:
            events.failed(exc)
            raise
        return events.replied(reply)

    async def ainvoke(
        self, input: LanguageModelInput, config: Any = None, **kwargs: Any
    ) -> AIMessage:
        """Async ``invoke``."""
        if kwargs:
            return await self.bind(**kwargs).ainvoke(input, config)
        messages = _to_messages(input)
        if self._streams():
            merged: AIMessageChunk | None = None
            async for chunk in self.astream(messages):
                merged = chunk if merged is None else merged + chunk
            return _final_message(merged)
        events = _model_run(self, messages)  # (a run calling callbacks only: not streamed)
        if events is None:
            return await self._agenerate(messages)
        try:
            reply = await self._agenerate(messages)
        except BaseException as exc:
            events.failed(exc)
            raise
        return events.replied(reply)

    def stream(
        self, input: LanguageModelInput, config: Any = None, **kwargs: Any
    ) -> Iterator[AIMessageChunk]:
        """Yield the reply as ``AIMessageChunk``s; ``sum`` them with ``+``."""
        if kwargs:
            yield from self.bind(**kwargs).stream(input, config)
            return
        metadata = self._chunk_metadata()
        messages = _to_messages(input)
        events = _model_run(self, messages)
        try:
            chunks = [_as_chunk(self._generate(messages))] if self._no_streaming() else None
            for chunk in chunks or self._stream(messages):
                _emit(chunk, metadata)
                if events is not None:
                    events.chunk(chunk)
                yield chunk
        except Exception as exc:
            if events is not None:
                events.failed(exc)
            raise
        if events is not None:
            events.end()

    async def astream(
        self, input: LanguageModelInput, config: Any = None, **kwargs: Any
    ) -> AsyncIterator[AIMessageChunk]:
        """Async ``stream``."""
        if kwargs:
            async for chunk in self.bind(**kwargs).astream(input, config):
                yield chunk
            return
        metadata = self._chunk_metadata()
        messages = _to_messages(input)
        events = _model_run(self, messages)
        try:
            if self._no_streaming():
                reply = _as_chunk(await self._agenerate(messages))
                chunks: AsyncIterator[AIMessageChunk] = _one(reply)
            else:
                chunks = self._astream(messages)
            async for chunk in chunks:
                _emit(chunk, metadata)
                if events is not None:
                    events.chunk(chunk)
                yield chunk
        except Exception as exc:
            if events is not None:
                events.failed(exc)
            raise
        if events is not None:
            events.end()

    def _no_streaming(self) -> bool:
        disabled = self.disable_streaming
        return disabled is True or (disabled == "tool_calling" and bool(self.tools))

    def _streams(self) -> bool:
        """Whether ``invoke`` goes through ``stream``: asked to, or tokens are being
        streamed (unless it is tagged ``TAG_NOSTREAM``), unless disabled; or the run
        streams ``astream_events`` (``stream`` reports the call; a model that does not
        stream sends its reply as one chunk)."""
        asked = self.streaming or (_messages_streaming_active() and not self._nostream())
        if asked and not self._no_streaming():
            return True
        # astream_events reports the call as streamed (stream() does); callbacks alone
        # see it as LangChain's invoke shows them: not streamed (invoke reports it)
        return _events_active()

    def _nostream(self) -> bool:
        """Tagged ``TAG_NOSTREAM``: its chunks stay out of ``stream_mode="messages"``."""
        return self.tags is not None and TAG_NOSTREAM in self.tags

    def _chunk_metadata(self) -> dict[str, Any] | None:
        """What its streamed chunks carry, or None when they are not to be streamed."""
        if self._nostream():
            return None
        extra = {**(self.metadata or {}), **self.ls_params()}
        if self.tags:
            extra["tags"] = list(self.tags)
        return extra

    def run_name(self) -> str:
        """Its runs' name in ``astream_events`` (``on_chat_model_*``): its class's, as a
        LangChain model's."""
        return type(self).__name__

    def ls_params(self) -> dict[str, Any]:
        """What LangGraph adds to the metadata of this model's streamed chunks.

        ``ls_provider``, ``ls_model_name``, ``ls_model_type``, ``ls_integration``;
        providers add ``ls_temperature``, ``ls_max_tokens`` and ``ls_stop`` where set.
        """
        return {
            "ls_provider": self.provider,
            "ls_model_name": self.model,
            "ls_model_type": "chat",
            "ls_integration": "langchain_chat_model",
        }

    def get_num_tokens_from_messages(
        self, messages: Sequence[MessageLikeRepresentation], tools: Sequence[Any] | None = None
    ) -> int:
        """About how many tokens ``messages`` (and ``tools``' schemas) are for this model:
        ``count_tokens_approximately`` unless a provider counts exactly. This is what
        ``trim_messages(..., token_counter=model)`` calls."""
        return count_tokens_approximately(messages, tools=tools)

    def get_num_tokens(self, text: str) -> int:
        """About how many tokens ``text`` is (4 characters a token, rounded up)."""
        return -(-len(text) // 4)

    def bind_tools(
        self: ModelT, tools: Sequence[Any], *, tool_choice: ToolChoice | bool = None, **kwargs: Any
    ) -> ModelT:
        """A copy of this model that offers ``tools`` on every call.

        ``tools`` may hold ``@tool``s, plain functions, pydantic models, TypedDicts
        or JSON-schema dicts. ``tool_choice``: ``"auto"``, ``"any"``/``"required"``,
        ``"none"``, a tool name, or ``True`` (the single bound tool). Other keywords
        are bound as with ``bind``, e.g. ``parallel_tool_calls=False``, ``strict=True``.
        """
        converted = tuple(convert_to_tool(t) for t in tools)
        bound = self.bind(**kwargs)
        bound.tools = converted
        bound.tool_choice = _normalize_tool_choice(tool_choice, converted)
        return bound

    def bind(self: ModelT, **kwargs: Any) -> ModelT:
        """A copy of this model that sends ``kwargs`` with every request (LangChain's ``bind``).

        ``stop`` sets stop sequences, ``parallel_tool_calls=False`` asks for one tool
        call at a time, ``strict=True`` asks for schema-exact tool arguments; other
        keywords are request fields sent as they are.
        """
        bound = copy.copy(self)
        bound.bound_kwargs = {**self.bound_kwargs, **kwargs}
        return bound

    def with_structured_output(
        self, schema: type[BaseModel] | type | dict[str, Any], *, include_raw: bool = False
    ) -> StructuredOutputModel:
        """A model whose ``invoke`` returns an instance of ``schema``.

        ``schema`` is a pydantic model (returns an instance), a TypedDict or a
        JSON-schema dict (returns a dict). Works by forcing a call to a tool with
        that schema and validating its arguments.
        """
        return StructuredOutputModel(self, schema, include_raw=include_raw)


async def _one(chunk: AIMessageChunk) -> AsyncIterator[AIMessageChunk]:
    yield chunk


def _to_messages(input: LanguageModelInput) -> list[BaseMessage]:
    return [message_chunk_to_message(m) for m in convert_to_messages(input)]


def _as_chunk(message: AIMessage) -> AIMessageChunk:
    """A whole reply as one chunk (its tool calls as complete chunks)."""
    data = message.model_dump(exclude={"type", "tool_calls", "invalid_tool_calls"})
    data["tool_call_chunks"] = [
        {"name": c["name"], "args": json.dumps(c["args"]), "id": c.get("id"), "index": i}
        for i, c in enumerate(message.tool_calls)
    ]
    return AIMessageChunk(**data)


def _final_message(merged: AIMessageChunk | None) -> AIMessage:
    if merged is None:
        return AIMessage(content="")
    message = message_chunk_to_message(merged)
    assert isinstance(message, AIMessage)
    return message


def _normalize_tool_choice(choice: ToolChoice | bool, tools: tuple[Tool, ...]) -> ToolChoice:
    if choice is None or choice is False:
        return None
    names = [t.name for t in tools]
    if choice is True:
        if len(tools) != 1:
            raise InvalidArgumentError(
                f"tool_choice=True needs exactly one bound tool, got {len(tools)} ({names}); "
                "pass the tool's name instead"
            )
        return tools[0].name
    if choice == "required":
        return "any"
    if choice in ("auto", "any", "none") or choice in names:
        return choice
    raise InvalidArgumentError(
        f"tool_choice={choice!r} is not a bound tool; use 'auto', 'any', 'none' or one of {names}"
    )


class StructuredOutputModel:
    """What ``with_structured_output`` returns: ``invoke`` yields parsed objects."""

    def __init__(
        self,
        model: BaseChatModel,
        schema: type[BaseModel] | type | dict[str, Any],
        *,
        include_raw: bool,
    ) -> None:
        self.schema = schema
        self.tool = convert_to_tool(_schema_as_tool_spec(schema))
        self.model = model.bind_tools([self.tool], tool_choice=self.tool.name)
        self.include_raw = include_raw

    def invoke(self, input: LanguageModelInput, config: Any = None) -> Any:
        """Call the model and return the parsed object (or ``{raw, parsed, parsing_error}``)."""
        return self._parse(self.model.invoke(input))

    async def ainvoke(self, input: LanguageModelInput, config: Any = None) -> Any:
        """Async ``invoke``."""
        return self._parse(await self.model.ainvoke(input))

    def _parse(self, raw: AIMessage) -> Any:
        try:
            parsed = self._parse_or_raise(raw)
        except OutputParserError as exc:
            if self.include_raw:
                return {"raw": raw, "parsed": None, "parsing_error": exc}
            raise
        return {"raw": raw, "parsed": parsed, "parsing_error": None} if self.include_raw else parsed

    def _parse_or_raise(self, raw: AIMessage) -> Any:
        call = next((c for c in raw.tool_calls if c["name"] == self.tool.name), None)
        if call is None:
            raise OutputParserError(
                f"the model answered without calling {self.tool.name!r}, so there is no "
                f"structured output to parse (reply: {raw.text[:200]!r})",
                provider=self.model.provider,
                model=self.model.model,
            )
        try:
            if isinstance(self.schema, type) and issubclass(self.schema, BaseModel):
                return self.schema.model_validate(call["args"])
            if is_typeddict(self.schema):
                adapter: TypeAdapter[Any] = TypeAdapter(cast(Any, self.schema))
                return adapter.validate_python(call["args"])
        except ValueError as exc:
            raise OutputParserError(
                f"the model's {self.tool.name!r} arguments do not fit the schema: {exc}",
                provider=self.model.provider,
                model=self.model.model,
            ) from exc
        return call["args"]


def _schema_as_tool_spec(schema: Any) -> Any:
    """A JSON schema with a ``title`` becomes ``{"name": title, "parameters": schema}``."""
    if isinstance(schema, dict) and "name" not in schema and "function" not in schema:
        if "title" not in schema:
            raise InvalidArgumentError(
                "a JSON-schema dict for with_structured_output needs a 'title' (used as the tool name)"
            )
        return {
            "name": schema["title"],
            "description": schema.get("description", ""),
            "parameters": schema,
        }
    return schema
