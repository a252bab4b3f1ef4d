"""``FakeChatModel``: a scripted chat model for tests (yours and ours).

    >>> from graphkit.models.fake import FakeChatModel
    >>> model = FakeChatModel(responses=["Hello there", "Bye"])
    >>> model.invoke("hi").text
    'Hello there'
    >>> [c.text for c in model.stream("again")]
    ['Bye']

Replies are served in order. When the script runs out, the model raises
``FakeModelExhaustedError`` (so a test that loops more than intended fails
loudly), unless ``cycle=True``, which starts over from the first reply.
Replies without an id get a fresh ``fake-<uuid>`` id, so replies of different
model instances never replace each other in a checkpointed history.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from graphkit.errors import InvalidCallError
from graphkit.messages import AIMessage, AIMessageChunk, BaseMessage, ToolCallChunk, tool_call
from graphkit.models.base import BaseChatModel
from graphkit.models.errors import ModelError

__all__ = ["FakeChatModel", "FakeModelExhaustedError"]

Reply = AIMessage | str | BaseModel | dict[str, Any] | BaseException
"""A scripted reply: a message, text, an exception to raise, or (for
``with_structured_output``) a pydantic instance / dict given as the forced tool's arguments."""

_TOKEN = re.compile(r"\s*\S+|\s+")


class FakeModelExhaustedError(ModelError):
    """The script has no replies left (and ``cycle`` is off)."""


@dataclass(slots=True)
class _Script:
    """Replies and a cursor shared by a model and its ``bind_tools`` copies."""

    replies: list[Reply]
    cycle: bool
    position: int = 0
    calls: list[list[BaseMessage]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next(self, messages: list[BaseMessage]) -> Reply:
        with self.lock:
            self.calls.append(list(messages))
            if self.position >= len(self.replies):
                if not self.cycle or not self.replies:
                    raise FakeModelExhaustedError(
                        f"FakeChatModel was called {len(self.calls)} times but scripts only "
                        f"{len(self.replies)} replies; add replies or pass cycle=True",
                        provider="fake",
                        model="fake",
                    )
                self.position = 0
            reply = self.replies[self.position]
            self.position += 1
            return reply


class FakeChatModel(BaseChatModel):
    """Replies from ``responses`` in order; records what it was sent in ``calls``.

    ``bind_tools`` copies share the script, so an agent that binds tools consumes
    the same replies. ``stream`` splits text into word-sized chunks and sends tool
    calls as one final chunk.
    """

    provider = "fake"

    def __init__(
        self, responses: Sequence[Reply], *, cycle: bool = False, model: str = "fake"
    ) -> None:
        self._script = _Script(list(responses), cycle)
        self.model = model

    @property
    def calls(self) -> list[list[BaseMessage]]:
        """The message lists of every call so far, in order."""
        return self._script.calls

    def _next_message(self, messages: list[BaseMessage]) -> AIMessage:
        reply = self._script.next(messages)
        number = uuid.uuid4().hex  # unique across instances: histories outlive models
        if isinstance(reply, BaseException):
            raise reply
        if isinstance(reply, str):
            return AIMessage(
                content=reply, id=f"fake-{number}", response_metadata={"model": self.model}
            )
        if isinstance(reply, (BaseModel, dict)) and not isinstance(reply, AIMessage):
            return self._forced_tool_call(reply, number)
        return reply if reply.id else reply.model_copy(update={"id": f"fake-{number}"})

    def _forced_tool_call(self, reply: BaseModel | dict[str, Any], number: str) -> AIMessage:
        if not self.tool_choice or self.tool_choice in ("auto", "any", "none"):
            raise InvalidCallError(
                "a dict or pydantic reply becomes the arguments of the forced tool call, "
                "so it needs bind_tools(..., tool_choice=<name>) or with_structured_output"
            )
        args = reply.model_dump() if isinstance(reply, BaseModel) else reply
        call = tool_call(self.tool_choice, args, f"call_{number[:24]}")
        return AIMessage(content="", id=f"fake-{number}", tool_calls=[call])

    def _generate(self, messages: list[BaseMessage]) -> AIMessage:
        return self._next_message(messages)

    def _stream(self, messages: list[BaseMessage]) -> Iterator[AIMessageChunk]:
        message = self._next_message(messages)
        pieces: list[Any] = (
            _TOKEN.findall(message.content)
            if isinstance(message.content, str)
            else [message.content]
        )
        for n, piece in enumerate(pieces or [""]):
            metadata = message.response_metadata if n == 0 else {}
            yield AIMessageChunk(content=piece, id=message.id, response_metadata=metadata)
        if message.tool_calls or message.usage:
            yield AIMessageChunk(
                content="",
                id=message.id,
                tool_call_chunks=[
                    ToolCallChunk(
                        name=c["name"], args=json.dumps(c["args"]), id=c.get("id"), index=i
                    )
                    for i, c in enumerate(message.tool_calls)
                ],
                usage=message.usage,
            )
