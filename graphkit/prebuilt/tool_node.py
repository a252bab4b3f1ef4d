"""``ToolNode`` runs the tool calls of the last ``AIMessage``; ``tools_condition`` routes to it.

>>> from graphkit.messages import AIMessage
>>> from graphkit.tools import tool
>>> @tool
... def double(x: int) -> int:
...     '''Double x.'''
...     return 2 * x
>>> call = {"name": "double", "args": {"x": 21}, "id": "c1"}
>>> out = ToolNode([double]).invoke({"messages": [AIMessage("", tool_calls=[call])]})
>>> out["messages"][0].content
'42'

``ToolNode`` is a graph node and a runnable: ``invoke``/``ainvoke`` take a state
(dict or object with the messages), a list of messages, or a list of tool calls.
A tool that returns a ``Command`` steers the graph (its update is applied, its
``goto`` followed); ``interrupt()`` inside a tool pauses the run.
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import inspect
import json
import warnings
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal, TypedDict, Union, get_args, get_origin

from graphkit._hints import resolve_hints
from graphkit._langchain import (
    for_langchain,
    from_langchain_message,
    is_langchain_message,
    is_langchain_tool,
)
from graphkit.constants import END
from graphkit.context import CURRENT_TASK
from graphkit.errors import (
    GraphInterrupt,
    InvalidToolError,
    ParentCommand,
    ResumeValidationError,
    ToolCallError,
)
from graphkit.messages import REMOVE_ALL_MESSAGES, AIMessage, BaseMessage, ToolCall, ToolMessage
from graphkit.tools import (
    InjectedState,
    InjectedStore,
    InjectedToolCallId,
    Tool,
    ToolInvocationError,
    ToolRuntime,
    convert_to_tool,
    run_sync,
)
from graphkit.types import Command, Send

__all__ = [
    "INVALID_TOOL_NAME_ERROR_TEMPLATE",
    "TOOL_CALL_ERROR_TEMPLATE",
    "TOOL_EXECUTION_ERROR_TEMPLATE",
    "TOOL_INVOCATION_ERROR_TEMPLATE",
    "TOOL_MESSAGE_BLOCK_TYPES",
    "InjectedState",
    "InjectedStore",
    "InjectedToolCallId",
    "ToolCallRequest",
    "ToolCallWithContext",
    "ToolInvocationError",
    "ToolNode",
    "ToolRuntime",
    "msg_content_output",
    "tools_condition",
]

TOOL_MESSAGE_BLOCK_TYPES = (
    "text",
    "image_url",
    "image",
    "json",
    "search_result",
    "custom_tool_call_output",
    "document",
    "file",
)
"""Content-block types a tool may return as a list to be sent as blocks, not as JSON."""

TOOL_CALL_ERROR_TEMPLATE = "Error: {error}\n Please fix your mistakes."
"""Content of the error ``ToolMessage`` when ``handle_tool_errors=True``."""

TOOL_INVOCATION_ERROR_TEMPLATE = (
    "Error invoking tool '{tool_name}' with kwargs {tool_kwargs} with error:\n"
    " {error}\n"
    " Please fix the error and try again."
)
"""How ``ToolInvocationError`` reads: the model's arguments did not fit the schema."""

TOOL_EXECUTION_ERROR_TEMPLATE = (
    "Error executing tool '{tool_name}' with kwargs {tool_kwargs} with error:\n"
    " {error}\n"
    " Please fix the error and try again."
)
"""LangGraph's text for an error while a tool ran (for handlers that format their own)."""

INVALID_TOOL_NAME_ERROR_TEMPLATE = (
    "Error: {requested_tool} is not a valid tool, try one of [{available_tools}]."
)
"""Content of the error ``ToolMessage`` for a call to a tool the node does not have."""

_MAX_WORKERS = 16

_NEVER_HANDLED = (GraphInterrupt, ParentCommand, ResumeValidationError)
"""Exceptions that steer the run, never turned into error messages."""

ToolCallWithContext = TypedDict(
    "ToolCallWithContext",
    {"__type": Literal["tool_call_with_context"], "tool_call": ToolCall, "state": Any},
)
"""What ``create_react_agent`` (``version="v2"``) sends ``ToolNode`` per tool call (the
functional form keeps the ``__type`` key unmangled)."""


InputType = Literal["dict", "list", "tool_calls"]
"""How the input came: a state (-> dict output), messages (-> list), tool calls (-> dict)."""


def _default_handle_tool_errors(error: ToolInvocationError) -> str:
    """Tell the model its arguments were wrong; let every other exception fail the run."""
    return str(error)


ErrorHandler = bool | str | Callable[..., str] | type[Exception] | tuple[type[Exception], ...]
"""How ``ToolNode`` treats exceptions from tools (see ``ToolNode``)."""


@dataclass
class ToolCallRequest:
    """One tool call as a ``wrap_tool_call`` interceptor sees it.

    Change it with ``request.override(tool_call=..., tool=..., state=..., runtime=...)``,
    which returns a new request; assigning attributes still works but is deprecated.
    """

    tool_call: ToolCall
    """The call the model made: ``name``, ``args``, ``id``."""
    tool: Any
    """The tool that will run it, or None when the node has no tool of that name."""
    state: Any
    """The graph state the call runs in."""
    runtime: Any
    """The ``ToolRuntime`` the tool gets (its ``state`` follows ``state``)."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name in self.__dict__:
            warnings.warn(
                f"Setting attribute {name!r} on ToolCallRequest is deprecated; use "
                f"request.override({name}=...) to get a changed copy.",
                DeprecationWarning,
                stacklevel=2,
            )
        object.__setattr__(self, name, value)

    def override(self, **changes: Any) -> ToolCallRequest:
        """A copy of this request with ``changes`` (any of its fields) applied."""
        return dataclasses.replace(self, **changes)


ToolCallWrapper = Callable[[ToolCallRequest, Callable[[ToolCallRequest], Any]], Any]
"""``wrap_tool_call(request, execute)``: call ``execute(request)`` (any number of
times, with an overridden request) or return a ``ToolMessage``/``Command`` instead."""

AsyncToolCallWrapper = Callable[
    [ToolCallRequest, Callable[[ToolCallRequest], Awaitable[Any]]], Awaitable[Any]
]
"""``awrap_tool_call``: the async form, used by ``ainvoke``."""


class ToolNode:
    """A graph node that executes the tool calls of the last ``AIMessage`` in the state.

    Several calls run in parallel (threads; ``ainvoke`` uses ``asyncio.gather``) and
    the results come back in the order of the calls: ``{messages_key: [...]}`` for a
    state or a list of tool calls, a plain list for a list of messages. When a tool
    returns a ``Command``, the output is a list of the ``Command``s (after a
    ``{messages_key: [...]}`` entry for the plain results), which the graph applies.

    ``handle_tool_errors`` decides what happens when a tool raises:

    - default: invalid arguments (``ToolInvocationError``) become an error
      ``ToolMessage`` naming the wrong arguments; other exceptions fail the run;
    - ``True``: every exception becomes ``"Error: <repr>\\n Please fix your mistakes."``;
    - a string: that string as the error message's content;
    - a callable ``exc -> str``: its result, for the exception types its first
      parameter is annotated with (all, when unannotated); others raise;
    - an exception class or tuple of classes: only those are caught;
    - ``False``: the exception propagates and the graph run fails.

    ``interrupt()`` and ``Command(graph=Command.PARENT)`` from a tool are never
    caught. A call to a tool that is not in ``tools`` always yields an error
    message that lists the available tools.

    ``wrap_tool_call(request, execute)`` / ``awrap_tool_call`` intercept each call
    (see ``ToolCallRequest``): retry, change arguments or tool, or answer directly.

    Tools that declare ``state``, ``store``, ``config``, ``tool_call_id`` (by name or
    with the ``Injected*`` markers), a ``RunnableConfig`` or a ``ToolRuntime`` parameter
    get them from the run; a parameter typed as a plain value (``state: str``) stays
    the model's argument.
    """

    def __init__(
        self,
        tools: Sequence[Tool | Callable[..., Any]],
        *,
        name: str = "tools",
        tags: list[str] | None = None,
        handle_tool_errors: ErrorHandler = _default_handle_tool_errors,
        messages_key: str = "messages",
        wrap_tool_call: ToolCallWrapper | None = None,
        awrap_tool_call: AsyncToolCallWrapper | None = None,
    ) -> None:
        self.tools_by_name: dict[str, Tool] = {}
        for item in tools:
            converted = convert_to_tool(item)
            if converted.func is None and converted.coroutine is None:
                raise InvalidToolError(
                    f"ToolNode cannot run {converted.name!r}: it is a schema without a function. "
                    "Pass functions or @tool-decorated functions."
                )
            self.tools_by_name[converted.name] = converted
        self.handle_tool_errors = handle_tool_errors
        self.messages_key = messages_key
        self.name = name
        self.__name__ = name
        self.tags = tags
        self.wrap_tool_call = wrap_tool_call
        self.awrap_tool_call = awrap_tool_call
        self._handled = _handled_types(handle_tool_errors)
        self._langchain_tools = any(map(is_langchain_tool, tools))
        """Some tool came from LangChain: bare tool calls are answered with LangChain's
        messages (see ``_answered``)."""

    # -- the node ---------------------------------------------------------------

    def __call__(self, input: Any, config: Any = None, runtime: Any = None) -> Any:
        """Run as a graph node (the engine passes ``config`` and ``runtime``).

        A tool's ``Command(goto=...)`` is followed, but the graph cannot see its
        targets: a node reached only that way must be declared with
        ``add_node(..., destinations=(...))`` (drawings then show the edge).
        """
        return self.invoke(input, config, runtime=runtime)

    def invoke(self, input: Any, config: Any = None, *, runtime: Any = None) -> Any:
        """Run the pending tool calls of ``input``; return their messages and ``Command``s."""
        if self.wrap_tool_call is None and self.awrap_tool_call is not None:
            return run_sync(lambda: self.ainvoke(input, config, runtime=runtime))
        calls, input_type, state = self._parse_input(input, config)
        base = self._runtime(state, config, runtime)
        if len(calls) <= 1:
            results = [self._run_one(call, input_type, state, base) for call in calls]
        else:
            with ThreadPoolExecutor(min(len(calls), _MAX_WORKERS)) as pool:
                futures = [
                    pool.submit(
                        contextvars.copy_context().run,
                        self._run_one,
                        call,
                        input_type,
                        state,
                        base,
                    )
                    for call in calls
                ]
                errors = [f.exception() for f in futures]
                results = _gather(
                    errors,
                    [None if e else f.result() for e, f in zip(errors, futures, strict=True)],
                )
        return self._answered(self._combine(results, input_type), input)

    async def ainvoke(self, input: Any, config: Any = None, *, runtime: Any = None) -> Any:
        """Async ``invoke``: awaits async tools together (sync ones run in threads)."""
        calls, input_type, state = self._parse_input(input, config)
        base = self._runtime(state, config, runtime)
        outcomes = await asyncio.gather(
            *(self._arun_one(call, input_type, state, base) for call in calls),
            return_exceptions=True,
        )
        errors = [o if isinstance(o, BaseException) else None for o in outcomes]
        return self._answered(self._combine(_gather(errors, outcomes), input_type), input)

    # -- input ------------------------------------------------------------------

    def _parse_input(self, input: Any, config: Any) -> tuple[list[ToolCall], InputType, Any]:
        """The calls to run, the input's shape, and the state the tools see."""
        if isinstance(input, list):
            if input and all(_is_tool_call(item) for item in input):
                return list(input), "tool_calls", self._graph_state(config)
            return self._calls_in(input), "list", input
        if isinstance(input, dict) and input.get("__type") == "tool_call_with_context":
            return [input["tool_call"]], "tool_calls", input.get("state", {})
        return self._calls_in(_messages_of(input, self.messages_key)), "dict", input

    def _calls_in(self, messages: Sequence[Any]) -> list[ToolCall]:
        for message in reversed(messages):
            message = _graphkit_message(message)
            if isinstance(message, AIMessage):
                return list(message.tool_calls)
        raise ToolCallError(
            f"ToolNode found no AIMessage in {self.messages_key!r}; it runs the tool calls "
            "of the last AIMessage, so route to it only after the model asked for tools"
        )

    def _graph_state(self, config: Any) -> Any:
        """For a bare list of tool calls: the graph's state, when it can be read."""
        read = ((config or {}).get("configurable") or {}).get("__pregel_read")
        channels = getattr(read, "args", (None, None))[1] if read is not None else None
        if callable(read) and isinstance(channels, dict):
            return read(list(channels), False)
        task = CURRENT_TASK.get()
        if task is not None and task.run.read_state is not None:
            return task.run.read_state()
        return {}

    def _runtime(self, state: Any, config: Any, runtime: Any) -> ToolRuntime[Any, Any]:
        """The ``ToolRuntime`` shared by this input's calls (``tool_call_id`` set per call)."""
        configurable = (config or {}).get("configurable") or {}
        source = configurable.get("__pregel_runtime") or runtime
        task = CURRENT_TASK.get()
        if source is None and task is not None:
            from graphkit.engine.task import kwargs_for

            source = kwargs_for(("runtime",), task)["runtime"]
        if config is None and task is not None:
            config = task.config()
        return ToolRuntime(
            state=state,
            context=getattr(source, "context", None),
            config=config or {},
            stream_writer=getattr(source, "stream_writer", None),
            tool_call_id=None,
            store=getattr(source, "store", None),
            tools=list(self.tools_by_name.values()),
            execution_info=getattr(source, "execution_info", None),
            server_info=getattr(source, "server_info", None),
        )

    def _request(self, call: ToolCall, state: Any, base: ToolRuntime[Any, Any]) -> ToolCallRequest:
        return ToolCallRequest(
            tool_call=call,
            tool=self.tools_by_name.get(call["name"]),
            state=state,
            runtime=dataclasses.replace(base, tool_call_id=call.get("id")),
        )

    # -- one call -----------------------------------------------------------------

    def _run_one(
        self, call: ToolCall, input_type: InputType, state: Any, base: ToolRuntime[Any, Any]
    ) -> Any:
        request = self._request(call, state, base)
        wrap = self.wrap_tool_call
        if wrap is None:
            return self._execute(request, input_type)
        try:
            return wrap(request, lambda r: self._execute(r, input_type))
        except _NEVER_HANDLED:
            raise
        except Exception as exc:
            return self._on_error(exc, call)

    async def _arun_one(
        self, call: ToolCall, input_type: InputType, state: Any, base: ToolRuntime[Any, Any]
    ) -> Any:
        awrap = self.awrap_tool_call
        if awrap is None and self.wrap_tool_call is not None:
            return await asyncio.to_thread(self._run_one, call, input_type, state, base)
        request = self._request(call, state, base)
        if awrap is None:
            return await self._aexecute(request, input_type)

        async def execute(r: ToolCallRequest) -> Any:
            return await self._aexecute(r, input_type)

        try:
            return await awrap(request, execute)
        except _NEVER_HANDLED:
            raise
        except Exception as exc:
            return self._on_error(exc, call)

    def _execute(self, request: ToolCallRequest, input_type: InputType) -> Any:
        prepared = self._prepare(request)
        if isinstance(prepared, ToolMessage):
            return prepared
        tool, args, injected = prepared
        try:  # a tool's malformed output is its error too, as in LangGraph
            result = _split(
                tool,
                tool.run(
                    {**tool.validate_args(args), **injected},
                    tool_call_id=request.tool_call.get("id"),
                    input=args,
                ),
            )
            return self._to_output(result, request.tool_call, input_type)
        except _NEVER_HANDLED:
            raise
        except Exception as exc:
            return self._on_error(exc, request.tool_call)

    async def _aexecute(self, request: ToolCallRequest, input_type: InputType) -> Any:
        prepared = self._prepare(request)
        if isinstance(prepared, ToolMessage):
            return prepared
        tool, args, injected = prepared
        try:
            result = _split(
                tool,
                await tool.arun(
                    {**tool.validate_args(args), **injected},
                    tool_call_id=request.tool_call.get("id"),
                    input=args,
                ),
            )
            return self._to_output(result, request.tool_call, input_type)
        except _NEVER_HANDLED:
            raise
        except Exception as exc:
            return self._on_error(exc, request.tool_call)

    def _prepare(
        self, request: ToolCallRequest
    ) -> ToolMessage | tuple[Tool, dict[str, Any], dict[str, Any]]:
        """The tool, its arguments and injected values, or the error for an unknown tool.

        A state key or store the tool needs and the run lacks raises here, outside
        ``handle_tool_errors``: that is a wiring mistake, not the model's.
        """
        call = request.tool_call
        if request.tool is None:
            return ToolMessage(
                content=INVALID_TOOL_NAME_ERROR_TEMPLATE.format(
                    requested_tool=call["name"], available_tools=", ".join(self.tools_by_name)
                ),
                name=call["name"],
                tool_call_id=call.get("id") or "",
                status="error",
            )
        tool = convert_to_tool(request.tool)
        state = self._injectable_state(tool, request.state)
        runtime = request.runtime
        if isinstance(runtime, ToolRuntime):
            runtime = dataclasses.replace(runtime, state=request.state)
        available = {
            "state": state,
            "store": getattr(runtime, "store", None),
            "config": getattr(runtime, "config", None),
            "tool_call_id": call.get("id"),
            "runtime": runtime,
        }
        return tool, call.get("args") or {}, tool.injected_values(available, strict=True)

    def _injectable_state(self, tool: Tool, state: Any) -> Any:
        """A list of messages stands for ``{messages_key: messages}``; other keys fail."""
        if not isinstance(state, list):
            return state
        wanted = {i.state_field for i in tool.injections.values() if i.kind == "state"}
        missing = sorted(f for f in wanted if f not in (None, self.messages_key))
        if missing:
            raise ToolCallError(
                f"Invalid input to ToolNode: tool {tool.name!r} needs the graph state "
                f"(keys {missing}), but got a list of messages. Run it on the state dict."
            )
        return {self.messages_key: state}

    def _on_error(self, exc: Exception, call: ToolCall) -> ToolMessage:
        """Turn ``exc`` into an error ``ToolMessage`` per ``handle_tool_errors``, or re-raise."""
        handler = self.handle_tool_errors
        if handler is False or not isinstance(exc, self._handled):
            raise exc
        if isinstance(handler, str):
            content = handler
        elif callable(handler) and not isinstance(handler, type):
            content = handler(exc)
        else:
            content = TOOL_CALL_ERROR_TEMPLATE.format(error=repr(exc))
        return ToolMessage(
            content=content, name=call["name"], tool_call_id=call.get("id") or "", status="error"
        )

    # -- output -------------------------------------------------------------------

    def _to_output(self, result: Any, call: ToolCall, input_type: InputType) -> Any:
        result = _graphkit_message(result)
        if isinstance(result, list) and any(map(is_langchain_message, result)):
            result = [_graphkit_message(item) for item in result]
        if isinstance(result, _Artifact):
            return ToolMessage(
                content=_content(result.content),
                name=call["name"],
                tool_call_id=call.get("id") or "",
                artifact=result.artifact,
            )
        if isinstance(result, Command):
            return self._checked_command(result, call, input_type)
        if isinstance(result, ToolMessage):
            changes = {"content": msg_content_output(result.content)}
            if result.name is None:
                changes["name"] = call["name"]
            return result.model_copy(update=changes)
        if _is_output_list(result):
            return self._checked_list(result, call, input_type)
        return ToolMessage(
            content=_content(result), name=call["name"], tool_call_id=call.get("id") or ""
        )

    def _checked_list(
        self, outputs: list[Command[Any] | ToolMessage], call: ToolCall, input_type: InputType
    ) -> list[Any]:
        """A tool's list of ``Command``s and ``ToolMessage``s: exactly one message in it
        (top level or in a ``Command``'s update) must answer the call."""
        answers = sum(
            _answer_count(
                [item]
                if isinstance(item, ToolMessage)
                else item.update.get(self.messages_key, [])
                if isinstance(item.update, dict)
                else item.update,
                call,
            )
            for item in outputs
        )
        if answers != 1:
            raise ToolCallError(
                f"Tool {call['name']!r} returned a list with {answers} messages bound to "
                f"tool_call_id {call.get('id')!r}; expected exactly one terminating ToolMessage "
                "(at the top level or in one Command's update)."
            )
        return [
            self._checked_command(item, call, input_type, must_answer=False)
            if isinstance(item, Command)
            else self._to_output(item, call, input_type)
            for item in outputs
        ]

    def _checked_command(
        self,
        command: Command[Any],
        call: ToolCall,
        input_type: InputType,
        *,
        must_answer: bool = True,
    ) -> Command[Any]:
        """Check a tool's ``Command`` answers its call, and name its ``ToolMessage``s."""
        update = command.update
        if update is None:
            return command
        to_current = command.graph is None
        if isinstance(update, dict):
            if to_current and input_type == "list":
                raise ToolCallError(
                    f"Tool {call['name']!r} returned Command(update=<dict>) but ToolNode got a "
                    "list of messages: return Command(update=[ToolMessage(...)]) for list input."
                )
            messages = update.get(self.messages_key, [])
            named = (
                {**update, self.messages_key: self._named(messages, call)}
                if self.messages_key in update
                else update
            )
        elif isinstance(update, list):
            if to_current and input_type != "list":
                raise ToolCallError(
                    f"Tool {call['name']!r} returned Command(update=<list>) but ToolNode got a "
                    f"state: return Command(update={{{self.messages_key!r}: [ToolMessage(...)]}})."
                )
            messages = update
            named = self._named(messages, call)
        else:
            return command
        if to_current and must_answer and not _answers(messages, call):
            raise ToolCallError(
                f"Tool {call['name']!r} returned a Command whose update has no ToolMessage with "
                f"tool_call_id={call.get('id')!r}. Add ToolMessage(content=..., "
                f"tool_call_id=tool_call_id) (inject it with InjectedToolCallId) to the update."
            )
        return dataclasses.replace(command, update=named)

    @staticmethod
    def _named(messages: Any, call: ToolCall) -> Any:
        if not isinstance(messages, list):
            return messages
        messages = [_graphkit_message(m) for m in messages]
        return [
            m.model_copy(update={"name": call["name"]})
            if isinstance(m, ToolMessage) and m.name is None and m.tool_call_id == call.get("id")
            else m
            for m in messages
        ]

    def _answered(self, output: Any, input: Any) -> Any:
        """``output`` in the kind of messages ``input`` holds: LangChain's ``ToolMessage``s
        for a LangChain ``AIMessage`` (code written for LangGraph reads them), else
        graphkit's."""
        messages = input if isinstance(input, list) else None
        if isinstance(input, dict):
            messages = input.get(self.messages_key)
        elif messages is None:
            messages = getattr(input, self.messages_key, None)
        if not messages or not isinstance(messages, list):
            return output
        last = messages[-1]
        if is_langchain_message(last) or (_is_tool_call(last) and self._langchain_tools):
            return _as_langchain(output, self.messages_key)
        return output

    def _combine(self, results: list[Any], input_type: InputType) -> Any:
        """The node's output: the messages alone, or, when some call returned a
        ``Command``, the messages and ``Command``s in the order of the calls (a
        tool's list of them in its own order), parent hand-offs merged at the end."""
        flat = [item for r in results for item in (r if isinstance(r, list) else [r])]
        if not any(isinstance(r, Command) for r in flat):
            return flat if input_type == "list" else {self.messages_key: flat}
        out: list[Any] = [
            r
            if isinstance(r, Command)
            else [r]
            if input_type == "list"
            else {self.messages_key: [r]}
            for r in flat
            if not _sends_to_parent(r)
        ]
        sends = [g for r in flat if _sends_to_parent(r) for g in r.goto_list()]
        if sends:
            out.append(Command(graph=Command.PARENT, goto=sends))
        return out


@dataclass(slots=True)
class _Artifact:
    """What a ``content_and_artifact`` tool returned, split."""

    content: Any
    """What the model sees."""
    artifact: Any
    """What the ``ToolMessage`` keeps for the app."""


def _split(tool: Tool, result: Any) -> Any:
    """A ``content_and_artifact`` tool's pair as an ``_Artifact``; other results as they are."""
    if tool.response_format == "content" or isinstance(result, (Command, ToolMessage)):
        return result
    return _Artifact(*tool.split_output(result))


def _gather(errors: Sequence[BaseException | None], outcomes: Sequence[Any]) -> list[Any]:
    """Results of parallel calls; all interrupts raised together, else the first error."""
    interrupts = [i for e in errors if isinstance(e, GraphInterrupt) for i in e.interrupts]
    if interrupts:
        raise GraphInterrupt(tuple(interrupts))
    for error in errors:
        if error is not None:
            raise error
    return list(outcomes)


def _sends_to_parent(item: Any) -> bool:
    """A parent-graph ``Command`` that only sends: parallel hand-offs (one ``Send``
    each) travel together as one ``Command``, since a node hands its parent one."""
    return (
        isinstance(item, Command)
        and item.graph == Command.PARENT
        and item.update is None
        and bool(item.goto)
        and all(isinstance(g, Send) for g in item.goto_list())
    )


def _answers(messages: Any, call: ToolCall) -> bool:
    if not isinstance(messages, list):
        return False
    messages = [_graphkit_message(m) for m in messages]
    if len(messages) == 1 and getattr(messages[0], "id", None) == REMOVE_ALL_MESSAGES:
        return True
    return any(isinstance(m, ToolMessage) and m.tool_call_id == call.get("id") for m in messages)


def _answer_count(messages: Any, call: ToolCall) -> int:
    if not isinstance(messages, list):
        return 0
    return sum(
        isinstance(m, ToolMessage) and m.tool_call_id == call.get("id")
        for m in map(_graphkit_message, messages)
    )


def _as_langchain(output: Any, key: str) -> Any:
    """A ``ToolNode`` output (messages, ``{key: messages}``, or a list of those and
    ``Command``s) with LangChain's messages in place of graphkit's."""
    if isinstance(output, dict):
        return {**output, key: for_langchain(output[key])} if key in output else output
    if isinstance(output, list):
        return [_as_langchain(item, key) for item in output]
    if isinstance(output, Command) and isinstance(output.update, dict) and key in output.update:
        return dataclasses.replace(output, update=_as_langchain(output.update, key))
    return for_langchain(output)


def _graphkit_message(item: Any) -> Any:
    """A LangChain message (from code written for LangGraph) as graphkit's; else ``item``."""
    return from_langchain_message(item) if is_langchain_message(item) else item


def _is_output_list(result: Any) -> bool:
    """A tool's list of ``Command``s and ``ToolMessage``s (applied in order)."""
    return (
        isinstance(result, list)
        and bool(result)
        and all(isinstance(r, (Command, ToolMessage)) for r in result)
    )


def _is_tool_call(item: Any) -> bool:
    return isinstance(item, dict) and "name" in item and "args" in item


def _handled_types(handler: Any) -> tuple[type[BaseException], ...]:
    """The exception types ``handle_tool_errors`` turns into messages."""
    if handler is True or isinstance(handler, str):
        return (Exception,)
    if handler is False:
        return ()
    if isinstance(handler, type):
        return (handler,)
    if isinstance(handler, tuple):
        return handler
    return _infer_handled_types(handler)


def _infer_handled_types(handler: Callable[..., Any]) -> tuple[type[BaseException], ...]:
    """From a handler's first parameter annotation: ``e: ValueError | KeyError`` -> both."""
    try:
        params = list(inspect.signature(handler).parameters.values())
        hints = resolve_hints(handler, include_extras=False)
    except (TypeError, ValueError, NameError):
        return (Exception,)
    if not params or params[0].name not in hints:
        return (Exception,)
    annotation = hints[params[0].name]
    types = get_args(annotation) if get_origin(annotation) in (Union, _UnionType) else (annotation,)
    found = tuple(t for t in types if isinstance(t, type) and issubclass(t, BaseException))
    if len(found) != len(types):
        raise InvalidToolError(
            f"handle_tool_errors={handler!r}: its first parameter must be annotated with "
            f"exception types (got {annotation!r}), or left unannotated to handle every error."
        )
    return found


_UnionType = type(int | str)


def _messages_of(state: Any, key: str) -> list[BaseMessage]:
    if isinstance(state, list):
        return state
    messages = state.get(key) if isinstance(state, dict) else getattr(state, key, None)
    if messages is None:
        raise ToolCallError(
            f"no {key!r} key in the state given to the node: {type(state).__name__}"
        )
    return list(messages)


def msg_content_output(output: Any) -> str | list[Any]:
    """A tool's return value as ``ToolMessage`` content, as LangGraph makes it.

    Strings and lists of content blocks (dicts whose ``type`` is one of
    ``TOOL_MESSAGE_BLOCK_TYPES``) stay as they are; anything else becomes JSON,
    or ``str(output)`` when it is not JSON-serializable (a pydantic model gives
    ``"temp=3"``: return ``model.model_dump_json()`` to send JSON).

        >>> msg_content_output({"a": [1, None]})
        '{"a": [1, null]}'
        >>> msg_content_output([{"type": "text", "text": "hi"}])
        [{'type': 'text', 'text': 'hi'}]
    """
    if isinstance(output, str) or (isinstance(output, list) and all(map(_is_block, output))):
        return output
    try:
        return json.dumps(output, ensure_ascii=False)
    except (TypeError, ValueError):
        return str(output)


def _is_block(item: Any) -> bool:
    return isinstance(item, dict) and item.get("type") in TOOL_MESSAGE_BLOCK_TYPES


def _content(result: Any) -> str | list[Any]:
    """Content for a tool's return value: a tuple of blocks counts as a list of them."""
    if isinstance(result, tuple) and result and all(map(_is_block, result)):
        return list(result)
    return msg_content_output(result)


def tools_condition(state: Any, messages_key: str = "messages") -> Literal["tools", "__end__"]:
    """``"tools"`` if the last message is an ``AIMessage`` with tool calls, else ``END``.

    Use as ``builder.add_conditional_edges("agent", tools_condition)`` (its return type
    names both targets, so the drawn graph shows both conditional edges).
    """
    messages = _messages_of(state, messages_key)
    if not messages:
        raise ToolCallError(
            f"tools_condition found no messages in {messages_key!r}: route with it only "
            "after a node that adds the model's reply"
        )
    last = messages[-1]  # graphkit's AIMessage, or LangChain's (code written for it)
    if getattr(last, "type", None) in ("ai", "AIMessageChunk") and getattr(
        last, "tool_calls", None
    ):
        return "tools"
    return END
