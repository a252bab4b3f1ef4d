"""``LangChainChatModel``: any LangChain chat model as a graphkit chat model.

graphkit ships adapters for Anthropic and OpenAI. For every other provider (Bedrock,
Gemini, Ollama, Mistral, ...) LangChain's ``langchain-*`` packages have a chat model;
wrapping one here lets graphkit's state, agents and stream modes use it::

    from langchain_ollama import ChatOllama
    from graphkit.models import LangChainChatModel

    model = LangChainChatModel(ChatOllama(model="llama3.2"))

The wrapper turns graphkit's messages into LangChain's on the way in and the reply
back on the way out, binds graphkit tools in the OpenAI function form every
LangChain model accepts, and streams through graphkit's ``stream_mode="messages"``.
``create_react_agent`` and ``init_chat_model("provider:model")`` wrap LangChain
models themselves; wrap one yourself when a node calls it on graphkit messages.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

from graphkit._langchain import (
    for_langchain,
    from_langchain_message,
    is_langchain_chat_model,
    openai_tool,
    to_langchain_messages,
    unbound,
    untraced,
)
from graphkit.errors import InvalidArgumentError
from graphkit.messages import AIMessage, AIMessageChunk, BaseMessage
from graphkit.models.base import BaseChatModel, _as_chunk, _messages_streaming_active
from graphkit.tools import convert_to_tool

__all__ = ["LangChainChatModel", "as_chat_model"]


class LangChainChatModel(BaseChatModel):
    """A LangChain chat model (``langchain_core.language_models.BaseChatModel``, bare or
    with tools bound) behind graphkit's chat model interface."""

    langchain_chunks = False
    """``stream_mode="messages"`` gets the LangChain model's own chunks and metadata (as
    LangGraph streams them) rather than graphkit's: set for the models of code written
    for LangGraph (``as_chat_model``)."""

    def __init__(self, model: Any) -> None:
        if not is_langchain_chat_model(model):
            raise InvalidArgumentError(
                f"LangChainChatModel wraps a LangChain chat model, got {type(model).__name__}; "
                "a graphkit chat model is used as it is"
            )
        self.langchain_model = model
        """The wrapped LangChain model (with the tools it was bound to, if any)."""
        inner = unbound(model)
        self.provider = str(_ls_params(inner).get("ls_provider") or type(inner).__name__)
        self.model = str(getattr(inner, "model_name", None) or getattr(inner, "model", None) or "")
        self.tags = list(inner.tags) if getattr(inner, "tags", None) else None
        self.metadata = dict(inner.metadata) if getattr(inner, "metadata", None) else None
        prebound = _prebound_tools(model)
        self.tools = tuple(convert_to_tool(s) for s in prebound if not _is_provider_tool(s))
        self.provider_tools: tuple[dict[str, Any], ...] = tuple(
            s for s in prebound if _is_provider_tool(s)
        )
        """Provider built-in tools (``{"type": "web_search_preview"}``, MCP servers, ...):
        passed to the LangChain model as they are."""
        self._rebind = False
        self._made: tuple[tuple[Any, ...], Any] | None = None

    def bind_tools(self, tools: Any, *, tool_choice: Any = None, **kwargs: Any) -> Any:
        """As :meth:`BaseChatModel.bind_tools`; these tools replace any bound before.
        Provider built-in tools (dicts without a name) go to the LangChain model as they are."""
        own = [t for t in tools if not _is_provider_tool(t)]
        bound = super().bind_tools(own, tool_choice=tool_choice, **kwargs)
        bound.provider_tools = tuple(t for t in tools if _is_provider_tool(t))
        bound._rebind = True
        return bound

    def with_structured_output(  # type: ignore[override]
        self, schema: Any, *, include_raw: bool = False, **kwargs: Any
    ) -> _LangChainStructured:
        """The wrapped model's own ``with_structured_output`` (its provider's method, as
        LangGraph's agents use it), taking and returning graphkit messages."""
        if include_raw:
            kwargs["include_raw"] = True
        runnable = unbound(self.langchain_model).with_structured_output(schema, **kwargs)
        return _LangChainStructured(runnable)

    def run_name(self) -> str:
        """The wrapped model's run name (LangChain's: its ``name``, else its class's)."""
        inner = unbound(self.langchain_model)
        return str(getattr(inner, "name", None) or type(inner).__name__)

    def ls_params(self) -> dict[str, Any]:
        """The wrapped model's own ``ls_*`` metadata (as LangGraph reports it)."""
        params = _ls_params(unbound(self.langchain_model))
        params.setdefault("ls_integration", "langchain_chat_model")
        return params

    def _runnable(self) -> Any:
        """The LangChain model with this wrapper's tools and request options bound; made
        once per binding (``bind``/``bind_tools`` copies replace what it is made from)."""
        made_from = (
            self.tools,
            self.tool_choice,
            self.bound_kwargs,
            self._rebind,
            self.provider_tools,
        )
        made = self._made
        if made is None or any(a is not b for a, b in zip(made[0], made_from, strict=True)):
            made = self._made = (made_from, self._bind())
        return made[1]

    def _bind(self) -> Any:
        runnable = self.langchain_model
        if self._rebind:
            choice = {"tool_choice": self.tool_choice} if self.tool_choice else {}
            specs = [*(openai_tool(t) for t in self.tools), *self.provider_tools]
            runnable = unbound(runnable).bind_tools(specs, **choice)
        if self.bound_kwargs:
            runnable = runnable.bind(**self.bound_kwargs)
        return runnable

    def _own_chunks(self) -> bool:
        """Whether the ``messages`` stream gets the LangChain model's own chunks now."""
        return self.langchain_chunks and _messages_streaming_active()

    def _chunk_metadata(self) -> dict[str, Any] | None:
        """None where the LangChain model streams its own chunks (``_call_config``)."""
        return None if self._own_chunks() else super()._chunk_metadata()

    def _call_config(self) -> dict[str, Any]:
        """The config the wrapped model is called with: ``untraced``, with the token tap
        where it streams its own chunks (``langchain_chunks``)."""
        return untraced(tap=self.langchain_chunks)

    def _generate(self, messages: list[BaseMessage]) -> AIMessage:
        lc_messages = to_langchain_messages(messages)
        return _reply(self._runnable().invoke(lc_messages, self._call_config()))

    def _stream(self, messages: list[BaseMessage]) -> Iterator[AIMessageChunk]:
        lc_messages = to_langchain_messages(messages)
        for chunk in self._runnable().stream(lc_messages, self._call_config()):
            yield _chunk(chunk)

    async def _agenerate(self, messages: list[BaseMessage]) -> AIMessage:
        lc_messages = to_langchain_messages(messages)
        return _reply(await self._runnable().ainvoke(lc_messages, self._call_config()))

    async def _astream(self, messages: list[BaseMessage]) -> AsyncIterator[AIMessageChunk]:
        lc_messages = to_langchain_messages(messages)
        async for chunk in self._runnable().astream(lc_messages, self._call_config()):
            yield _chunk(chunk)


class _LangChainStructured:
    """A LangChain structured-output runnable behind graphkit messages."""

    def __init__(self, runnable: Any) -> None:
        self.runnable = runnable

    def invoke(self, input: Any, config: Any = None) -> Any:
        return _structured_result(self.runnable.invoke(for_langchain(input)))

    async def ainvoke(self, input: Any, config: Any = None) -> Any:
        return _structured_result(await self.runnable.ainvoke(for_langchain(input)))


def _structured_result(result: Any) -> Any:
    """``include_raw`` results carry LangChain's raw message: make it graphkit's."""
    if isinstance(result, dict) and "raw" in result and "parsed" in result:
        return {**result, "raw": _reply(result["raw"])}
    return result


def as_chat_model(model: Any) -> Any:
    """``model`` wrapped in :class:`LangChainChatModel` if it is a LangChain chat model,
    else ``model`` itself. For code written for LangGraph (an agent given a LangChain
    model): the ``messages`` stream gets the model's own chunks (``langchain_chunks``)."""
    if not is_langchain_chat_model(model):
        return model
    wrapped = LangChainChatModel(model)
    wrapped.langchain_chunks = True
    return wrapped


def _ls_params(model: Any) -> dict[str, Any]:
    get = getattr(model, "_get_ls_params", None)
    if get is None:
        return {}
    try:
        return dict(get())
    except Exception:  # metadata only: a provider's bug must not stop a call
        return {}


def _prebound_tools(model: Any) -> list[Any]:
    """The tool definitions a LangChain binding already carries (``bind_tools`` done
    before wrapping), so agents do not bind theirs over them."""
    kwargs = getattr(model, "kwargs", None)
    tools = kwargs.get("tools") if isinstance(kwargs, dict) else None
    return [t for t in tools or () if isinstance(t, dict)]


def _is_provider_tool(spec: Any) -> bool:
    """A provider's built-in tool: a dict with neither a name nor a function."""
    return isinstance(spec, dict) and "name" not in spec and "function" not in spec


def _reply(message: Any) -> AIMessage:
    reply = from_langchain_message(message)
    if not isinstance(reply, AIMessage):
        raise InvalidArgumentError(
            f"the LangChain model answered with a {type(message).__name__}, not an AIMessage"
        )
    return reply


def _chunk(chunk: Any) -> AIMessageChunk:
    if not hasattr(chunk, "tool_call_chunks"):  # a model without streaming yields its reply
        return _as_chunk(_reply(chunk))
    data = chunk.model_dump(exclude={"type", "tool_calls", "invalid_tool_calls", "chunk_position"})
    data["usage"] = data.pop("usage_metadata", None)
    fields = AIMessageChunk.model_fields
    return AIMessageChunk(**{key: value for key, value in data.items() if key in fields})
