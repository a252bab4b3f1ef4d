"""``ToolNode`` runs the tool calls of the last ``AIMessage``; ``tools_condition`` routes to it.

>>> from graphkit.messages import AIMessage
>>> from graphkit.tools import tool
>>> @tool
... def double(x: int) -> int:
...     '''Double x.'''
...     return 2 * x
>>> call = {"name": "double", "args": {"x": 21}, "id": "c1"}
>>> out = ToolNode([double])({"messages": [AIMessage("", tool_calls=[call])]})
>>> out["messages"][0].content
'42'
"""

from __future__ import annotations

import asyncio
import contextvars
import json
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from pydantic import BaseModel

from graphkit.constants import END
from graphkit.messages import AIMessage, BaseMessage, ToolCall, ToolMessage
from graphkit.tools import Tool, ToolArgumentsError, convert_to_tool

__all__ = ["ToolNode", "tools_condition"]

ErrorHandler = (
    bool | str | Callable[[Exception], str] | type[Exception] | tuple[type[Exception], ...]
)
"""How ``ToolNode`` treats exceptions from tools (see ``ToolNode``)."""

ERROR_TEMPLATE = "Error: {error!r}\n Please fix your mistakes."

_MAX_WORKERS = 16


class ToolNode:
    """A graph node that executes the tool calls of the last ``AIMessage`` in the state.

    Several calls run in parallel (threads; ``ainvoke`` uses ``asyncio.gather``) and
    the ``ToolMessage``s come back in the order of the calls, as
    ``{messages_key: [...]}`` (or a plain list when the input was a list).

    ``handle_tool_errors`` decides what happens when a tool raises or gets
    arguments that fail validation:

    - ``True`` (default): an error ``ToolMessage`` (``status="error"``) with
      ``"Error: <exception>\\n Please fix your mistakes."`` so the model can retry;
    - a string: that string as the error message's content;
    - a callable ``exc -> str``: its result as the content;
    - an exception class or tuple of classes: only those are caught, others raise;
    - ``False``: the exception propagates and the graph run fails.

    A call to a tool that is not in ``tools`` always yields an error message that
    lists the available tools.

    Tools that declare ``state``, ``store``, ``config`` or ``tool_call_id`` (by name
    or with the ``Injected*`` markers) get them from the graph run.

    The node is synchronous, so a graph using it runs with both ``invoke`` and
    ``ainvoke``; async tools are run on worker threads. ``await node.ainvoke(...)``
    runs them on the caller's loop instead.
    """

    def __init__(
        self,
        tools: Sequence[Tool | Callable[..., Any]],
        *,
        handle_tool_errors: ErrorHandler = True,
        messages_key: str = "messages",
        name: str = "tools",
    ) -> None:
        self.tools_by_name: dict[str, Tool] = {}
        for item in tools:
            converted = convert_to_tool(item)
            if converted.func is None and converted.coroutine is None:
                raise TypeError(
                    f"ToolNode cannot run {converted.name!r}: it is a schema without a function. "
                    "Pass functions or @tool-decorated functions."
                )
            self.tools_by_name[converted.name] = converted
        self.handle_tool_errors = handle_tool_errors
        self.messages_key = messages_key
        self.name = name
        self.__name__ = name

    # -- the node ---------------------------------------------------------------

    def __call__(self, state: Any, config: Any = None, store: Any = None) -> Any:
        """Run the pending tool calls of ``state`` and return their ``ToolMessage``s."""
        calls = self._pending_calls(state)
        injected = {"state": state, "config": config, "store": store}
        if len(calls) == 1 and not _loop_running():
            messages = [self._run_one(calls[0], injected)]
        else:
            with ThreadPoolExecutor(min(len(calls), _MAX_WORKERS) or 1) as pool:
                futures = [
                    pool.submit(contextvars.copy_context().run, self._run_one, call, injected)
                    for call in calls
                ]
                messages = [f.result() for f in futures]
        return self._output(state, messages)

    async def ainvoke(self, state: Any, config: Any = None, store: Any = None) -> Any:
        """Async ``__call__``: awaits async tools together, sync ones in threads."""
        calls = self._pending_calls(state)
        injected = {"state": state, "config": config, "store": store}
        messages = await asyncio.gather(*(self._arun_one(call, injected) for call in calls))
        return self._output(state, list(messages))

    # -- internals --------------------------------------------------------------

    def _pending_calls(self, state: Any) -> list[ToolCall]:
        messages = _messages_of(state, self.messages_key)
        for message in reversed(messages):
            if isinstance(message, AIMessage):
                return list(message.tool_calls)
        raise ValueError(
            f"ToolNode found no AIMessage in {self.messages_key!r}; it runs the tool calls "
            "of the last AIMessage, so route to it only after the model asked for tools"
        )

    def _output(self, state: Any, messages: list[ToolMessage]) -> Any:
        return messages if isinstance(state, list) else {self.messages_key: messages}

    def _lookup(self, call: ToolCall) -> Tool | ToolMessage:
        found = self.tools_by_name.get(call["name"])
        if found is not None:
            return found
        return ToolMessage(
            content=(
                f"Error: {call['name']!r} is not a valid tool, try one of "
                f"[{', '.join(self.tools_by_name)}]."
            ),
            name=call["name"],
            tool_call_id=call.get("id") or "",
            status="error",
        )

    def _run_one(self, call: ToolCall, injected: dict[str, Any]) -> ToolMessage:
        found = self._lookup(call)
        if isinstance(found, ToolMessage):
            return found
        try:
            result = found.invoke(call["args"], **injected, tool_call_id=call.get("id"))
        except Exception as exc:
            return self._error_message(call, exc)
        return _as_tool_message(result, call)

    async def _arun_one(self, call: ToolCall, injected: dict[str, Any]) -> ToolMessage:
        found = self._lookup(call)
        if isinstance(found, ToolMessage):
            return found
        try:
            result = await found.ainvoke(call["args"], **injected, tool_call_id=call.get("id"))
        except Exception as exc:
            return self._error_message(call, exc)
        return _as_tool_message(result, call)

    def _error_message(self, call: ToolCall, exc: Exception) -> ToolMessage:
        handler = self.handle_tool_errors
        if handler is False:
            raise exc
        if isinstance(handler, (type, tuple)) and not isinstance(exc, handler):
            raise exc
        if isinstance(handler, str):
            content = handler
        elif callable(handler) and not isinstance(handler, type):
            content = handler(exc)
        elif isinstance(exc, ToolArgumentsError):
            content = f"Error: {exc}\n Please fix your mistakes."
        else:
            content = ERROR_TEMPLATE.format(error=exc)
        return ToolMessage(
            content=content, name=call["name"], tool_call_id=call.get("id") or "", status="error"
        )


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _messages_of(state: Any, key: str) -> list[BaseMessage]:
    if isinstance(state, list):
        return state
    messages = state.get(key) if isinstance(state, dict) else getattr(state, key, None)
    if messages is None:
        raise ValueError(f"no {key!r} key in the state given to the node: {type(state).__name__}")
    return list(messages)


def _as_tool_message(result: Any, call: ToolCall) -> ToolMessage:
    if isinstance(result, ToolMessage):
        return result
    return ToolMessage(
        content=_content(result), name=call["name"], tool_call_id=call.get("id") or ""
    )


def _content(result: Any) -> str | list[Any]:
    """Text for the model: strings as is, content-block lists as is, the rest as JSON."""
    if isinstance(result, str):
        return result
    if (
        isinstance(result, list)
        and all(isinstance(b, dict) and isinstance(b.get("type"), str) for b in result)
        and result
    ):
        return result
    if isinstance(result, BaseModel):
        return result.model_dump_json()
    try:
        return json.dumps(result, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return str(result)


def tools_condition(state: Any, messages_key: str = "messages") -> str:
    """``"tools"`` if the last message is an ``AIMessage`` with tool calls, else ``END``.

    Use as ``builder.add_conditional_edges("agent", tools_condition)``.
    """
    messages = _messages_of(state, messages_key)
    last = messages[-1] if messages else None
    if isinstance(last, AIMessage) and last.tool_calls:
        return "tools"
    return END
