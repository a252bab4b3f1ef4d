"""Plumbing shared by the SDK-backed models: API key, clients, calls, error translation.

``SDKChatModel`` does what ``ChatAnthropic`` and ``ChatOpenAI`` do alike: find the
API key, build the (sync and lazy async) SDK clients, send ``request_body``
through the SDK's ``create``, and re-raise SDK errors as ``graphkit.models.errors``
classes. A provider supplies only the wire-format mapping (see the hooks below).
"""

from __future__ import annotations

import asyncio
import difflib
import functools
import inspect
import os
import warnings
from abc import abstractmethod
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from typing import Any, ClassVar

from graphkit.messages import AIMessage, AIMessageChunk, BaseMessage
from graphkit.models.base import BaseChatModel
from graphkit.models.errors import MissingAPIKeyError, ModelConfigError, translate_provider_error

__all__ = ["SDKChatModel", "request_extras", "sdk_kwargs", "take_aliases", "take_runtime_options"]


@functools.cache
def _accepted(method: Callable[..., Any]) -> frozenset[str]:
    return frozenset(inspect.signature(method).parameters)


def sdk_kwargs(method: Callable[..., Any], body: dict[str, Any]) -> dict[str, Any]:
    """Pass ``body`` to an SDK ``create`` method whatever fields its version knows.

    SDK releases add and drop keyword arguments (anthropic 2.x has no ``temperature``
    keyword, though the API takes it); fields the method does not accept travel in
    ``extra_body`` so the request on the wire is ``body`` either way.
    """
    accepted = _accepted(getattr(method, "__func__", method))
    kwargs = {k: v for k, v in body.items() if k in accepted}
    extra = {k: v for k, v in body.items() if k not in accepted}
    if extra:
        kwargs["extra_body"] = extra
    return kwargs


def take_aliases(owner: str, kwargs: dict[str, Any], aliases: Mapping[str, str]) -> dict[str, Any]:
    """Pop LangChain's alternative spellings (``model_name``, ``anthropic_api_key``, ...)
    out of ``kwargs``; return them under their canonical names.

    >>> take_aliases("ChatX", {"model_name": "m", "seed": 1}, {"model_name": "model"})
    {'model': 'm'}
    """
    found: dict[str, Any] = {}
    for alias, name in aliases.items():
        if alias in kwargs:
            if name in found:
                raise ModelConfigError(
                    f"{owner} got {name!r} twice (as {alias!r} and another spelling)"
                )
            found[name] = kwargs.pop(alias)
    return found


_NOT_HERE = ("callbacks", "callback_manager", "cache", "custom_get_token_ids", "verbose")
"""LangChain machinery graphkit models do not have: refused by name, never sent to the API."""


def take_runtime_options(owner: type, kwargs: dict[str, Any]) -> dict[str, Any]:
    """Pop LangChain's non-request options: ``rate_limiter`` and ``disable_streaming`` are
    returned (the model applies them); callbacks, cache and the like are refused."""
    for name in _NOT_HERE:
        if name in kwargs:
            raise ModelConfigError(
                f"{owner.__name__}({name}=...) is LangChain callback/caching machinery that "
                "graphkit models do not have: remove it (stream tokens with "
                "stream_mode='messages'; cache nodes with CachePolicy)"
            )
    return {k: kwargs.pop(k) for k in ("rate_limiter", "disable_streaming") if k in kwargs}


def request_extras(
    owner: type, kwargs: dict[str, Any], known: frozenset[str], model_kwargs: dict[str, Any] | None
) -> dict[str, Any]:
    """``model_kwargs`` plus the remaining constructor keywords, all sent in each request.

    Keywords in ``known`` (documented request fields such as ``top_k`` or ``seed``)
    go as they are; any other one goes too, with a warning naming it (as LangChain
    moves unknown constructor fields to ``model_kwargs``), so a typo is visible.
    """
    extras = dict(model_kwargs or {})
    for name, value in kwargs.items():
        if name not in known:
            names = sorted(known | _accepted(owner))
            close = difflib.get_close_matches(name, names, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            warnings.warn(
                f"{owner.__name__}: {name!r} is not a known parameter{hint}; it is sent in every "
                f"request as is. Pass it in model_kwargs={{{name!r}: ...}} to silence this.",
                UserWarning,
                stacklevel=3,
            )
        extras[name] = value
    return extras


StreamDecode = Callable[[dict[str, Any]], AIMessageChunk | None]
"""Turns one streamed event (as a dict) into a chunk, or None when it carries nothing."""


class SDKChatModel(BaseChatModel):
    """A chat model reached through a provider SDK (``anthropic``, ``openai``).

    Retries on 429/5xx are the SDK's (``max_retries``); SDK errors are re-raised
    as ``graphkit.models.errors`` classes with the SDK exception as ``__cause__``.
    """

    env_var: ClassVar[str]
    """The environment variable holding the API key, e.g. ``"OPENAI_API_KEY"``."""
    api_key_name: ClassVar[str]
    """How the missing-key error names the key, e.g. ``"an OpenAI API key"``."""
    sdk_client: ClassVar[Callable[..., Any]]
    """The SDK's sync client class."""
    sdk_async_client: ClassVar[Callable[..., Any]]
    """The SDK's async client class."""
    sdk_error: ClassVar[type[Exception]]
    """The base class of the SDK's API errors (the ones translated)."""

    stream_usage: bool = True
    """Streamed replies report token usage."""

    def __init__(
        self,
        model: str | None,
        *,
        max_tokens: int | None,
        temperature: float | None,
        top_p: float | None,
        stop: list[str] | None,
        api_key: str | None,
        max_retries: int,
        client: Any,
        async_client: Any,
        http_client: Any,
        http_async_client: Any,
        model_kwargs: dict[str, Any] | None,
        client_options: dict[str, Any],
        streaming: bool = False,
        stream_usage: bool = True,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        rate_limiter: Any = None,
        disable_streaming: bool | str = False,
    ) -> None:
        if not model:
            raise ModelConfigError(
                f"{type(self).__name__} needs a model name: {type(self).__name__}(model=...) "
                f"(or model_name=...), e.g. init_chat_model('{self.provider}:<model>')"
            )
        self.model = model
        self.streaming = streaming
        self.stream_usage = stream_usage
        self.tags = tags
        self.metadata = metadata
        self.rate_limiter = rate_limiter
        """An object with ``acquire(blocking=True)`` (and ``aacquire``), e.g. LangChain's
        ``InMemoryRateLimiter``, called before each request."""
        self.disable_streaming = disable_streaming
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.top_p = top_p
        self.stop = stop
        self.model_kwargs = dict(model_kwargs or {})
        """Extra request fields sent as is (e.g. ``{"thinking": {...}}``, ``{"seed": 1}``)."""
        key = api_key or os.environ.get(self.env_var)
        if client is None and not key:
            raise MissingAPIKeyError(
                f"{type(self).__name__} needs {self.api_key_name}: set the {self.env_var} "
                "environment variable or pass api_key=...",
                provider=self.provider,
                model=model,
            )
        options: dict[str, Any] = {"api_key": key, "max_retries": max_retries}
        options.update({k: v for k, v in client_options.items() if v is not None})
        self._client = client or self.sdk_client(**options, http_client=http_client)
        self._async_options = options
        self._http_async_client = http_async_client
        self._async_client = async_client

    def ls_params(self) -> dict[str, Any]:
        """``BaseChatModel.ls_params`` plus temperature, max tokens and stop sequences."""
        params = super().ls_params()
        params["ls_temperature"] = self.temperature
        if self.max_tokens:
            params["ls_max_tokens"] = self.max_tokens
        if self.stop:
            params["ls_stop"] = self.stop
        return params

    @property
    def async_client(self) -> Any:
        """The async SDK client, created on first use."""
        if self._async_client is None:
            self._async_client = self.sdk_async_client(
                **self._async_options, http_client=self._http_async_client
            )
        return self._async_client

    # -- what providers implement ---------------------------------------------

    @abstractmethod
    def request_body(self, messages: list[BaseMessage], *, stream: bool = False) -> dict[str, Any]:
        """The API request for ``messages`` with this model's settings and tools."""

    @abstractmethod
    def _create_method(self, client: Any) -> Callable[..., Any]:
        """The SDK method that sends a request, e.g. ``client.messages.create``."""

    @abstractmethod
    def _parse_response(self, data: dict[str, Any]) -> AIMessage:
        """A complete response (as a dict) -> ``AIMessage``."""

    @abstractmethod
    def _stream_decoder(self) -> StreamDecode:
        """A fresh decoder for the events of one streamed reply."""

    # -- calls -------------------------------------------------------------------

    def _error(self, exc: Exception) -> Exception:
        return translate_provider_error(
            exc, provider=self.provider, model=self.model, env_var=self.env_var
        )

    def _create(self, messages: list[BaseMessage], *, stream: bool = False) -> Any:
        create = self._create_method(self._client)
        if self.rate_limiter is not None:
            self.rate_limiter.acquire(blocking=True)
        return create(**sdk_kwargs(create, self.request_body(messages, stream=stream)))

    async def _acreate(self, messages: list[BaseMessage], *, stream: bool = False) -> Any:
        create = self._create_method(self.async_client)
        if self.rate_limiter is not None:
            if hasattr(self.rate_limiter, "aacquire"):
                await self.rate_limiter.aacquire(blocking=True)
            else:
                await asyncio.to_thread(self.rate_limiter.acquire, blocking=True)
        return await create(**sdk_kwargs(create, self.request_body(messages, stream=stream)))

    def _generate(self, messages: list[BaseMessage]) -> AIMessage:
        try:
            response = self._create(messages)
        except self.sdk_error as exc:
            raise self._error(exc) from exc
        return self._parse_response(response.model_dump(exclude_none=True))

    async def _agenerate(self, messages: list[BaseMessage]) -> AIMessage:
        try:
            response = await self._acreate(messages)
        except self.sdk_error as exc:
            raise self._error(exc) from exc
        return self._parse_response(response.model_dump(exclude_none=True))

    def _stream(self, messages: list[BaseMessage]) -> Iterator[AIMessageChunk]:
        decode = self._stream_decoder()
        try:
            for event in self._create(messages, stream=True):
                chunk = decode(event.model_dump(exclude_none=True))
                if chunk is not None:
                    yield chunk
        except self.sdk_error as exc:
            raise self._error(exc) from exc

    async def _astream(self, messages: list[BaseMessage]) -> AsyncIterator[AIMessageChunk]:
        decode = self._stream_decoder()
        try:
            stream = await self._acreate(messages, stream=True)
            async for event in stream:
                chunk = decode(event.model_dump(exclude_none=True))
                if chunk is not None:
                    yield chunk
        except self.sdk_error as exc:
            raise self._error(exc) from exc
