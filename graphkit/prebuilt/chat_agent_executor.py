"""``create_react_agent``: the standard tool-calling agent loop as a compiled graph.

    START -> [pre_model_hook] -> agent -> [post_model_hook] -> (tool calls?) -> tools -> ...

The model is called with the conversation (after ``prompt``); while it asks for
tools, ``tools`` runs them (``version="v1"``: one ``ToolNode`` task for all the
calls; ``"v2"``: one task per call, sent with ``Send``) and the model is called
again. With ``response_format``, the loop ends in a ``generate_structured_response``
node that asks the model once more for an answer in that schema and stores it
under ``structured_response``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel
from typing_extensions import NotRequired, TypedDict

from graphkit._hints import resolve_hints
from graphkit._langchain import (
    code_speaks_langchain,
    for_langchain_state,
    from_langchain_message,
    is_langchain_chat_model,
    is_langchain_message,
    is_langchain_runnable,
)
from graphkit.constants import END, START
from graphkit.errors import (
    GraphCompileError,
    InvalidArgumentError,
    InvalidMessageError,
)
from graphkit.managed import RemainingSteps, remaining_steps
from graphkit.messages import (
    AIMessage,
    AnyMessage,
    BaseMessage,
    SystemMessage,
    ToolMessage,
    add_messages,
)
from graphkit.models.base import BaseChatModel
from graphkit.models.langchain import as_chat_model
from graphkit.models.providers import init_chat_model
from graphkit.prebuilt.tool_node import ToolNode, _messages_of
from graphkit.tools import Tool, run_sync
from graphkit.types import Send

if TYPE_CHECKING:
    from graphkit.engine.compiled import CompiledStateGraph
    from graphkit.stores.checkpoint.base import BaseCheckpointSaver
    from graphkit.stores.store.base import BaseStore

__all__ = [
    "AgentState",
    "AgentStatePydantic",
    "AgentStateWithStructuredResponse",
    "AgentStateWithStructuredResponsePydantic",
    "StateSchemaType",
    "StructuredResponse",
    "StructuredResponseSchema",
    "create_react_agent",
    "create_tool_calling_executor",
]

StructuredResponse = dict[str, Any] | BaseModel
"""What ``structured_response`` holds: a dict (JSON schema / TypedDict) or a model."""

StructuredResponseSchema = dict[str, Any] | type[Any]
"""What ``response_format`` takes: a pydantic model, a TypedDict or a JSON schema."""

StateSchemaType = type
"""A state schema class (TypedDict or pydantic model)."""

Prompt = str | SystemMessage | Callable[[Any], Any] | Any | None
"""A system prompt (text or message) put before the history, a function
``state -> messages`` that builds the model's whole input, or an object with
``invoke(state)`` doing the same."""

NEED_MORE_STEPS = "Sorry, need more steps to process this request."
"""The agent's answer when ``recursion_limit`` would stop the loop mid-way."""


class AgentState(TypedDict):
    """The state of ``create_react_agent``: the conversation (and the steps left)."""

    messages: Annotated[Sequence[AnyMessage], add_messages]
    remaining_steps: NotRequired[RemainingSteps]


class AgentStatePydantic(BaseModel):
    """``AgentState`` as a pydantic model."""

    messages: Annotated[Sequence[AnyMessage], add_messages]
    remaining_steps: RemainingSteps = 25


class AgentStateWithStructuredResponse(AgentState):
    """``AgentState`` plus the final answer parsed into ``response_format``."""

    structured_response: StructuredResponse


class AgentStateWithStructuredResponsePydantic(AgentStatePydantic):
    """``AgentStatePydantic`` plus the final answer parsed into ``response_format``."""

    structured_response: StructuredResponse | None = None


def create_react_agent(
    model: Any,
    tools: Sequence[Tool | Callable[..., Any] | dict[str, Any]] | ToolNode,
    *,
    prompt: Prompt = None,
    response_format: StructuredResponseSchema | tuple[str, StructuredResponseSchema] | None = None,
    pre_model_hook: Any = None,
    post_model_hook: Any = None,
    state_schema: StateSchemaType | None = None,
    context_schema: type[Any] | None = None,
    checkpointer: BaseCheckpointSaver | bool | None = None,
    store: BaseStore | None = None,
    interrupt_before: Sequence[str] | None = None,
    interrupt_after: Sequence[str] | None = None,
    debug: bool = False,
    version: Literal["v1", "v2"] = "v2",
    name: str | None = None,
) -> CompiledStateGraph[Any, Any, Any, Any]:
    """Build and compile a ReAct agent: the model calls tools until it answers.

    ``model`` is a chat model (graphkit's, or a LangChain one, which is wrapped in
    ``LangChainChatModel``), a ``"provider:model"`` name for ``init_chat_model``, or a function ``(state, runtime) -> model`` (also
    ``(state) -> model``, sync or async) choosing one per step; tools are bound
    to it unless it already has tools. ``tools`` is a list of tools (functions,
    ``@tool``s, dicts for provider built-in tools) or a ready ``ToolNode``.
    ``pre_model_hook`` runs before each model call (it may return
    ``llm_input_messages`` to change what the model sees without changing the
    state); ``post_model_hook`` runs after. ``response_format`` (a schema, or
    ``(system_prompt, schema)``) adds a last step storing the parsed answer in
    ``structured_response``. ``name`` names the compiled graph and the agent's
    ``AIMessage``s. Returns a ``CompiledStateGraph``.

        >>> from graphkit.models import FakeChatModel
        >>> agent = create_react_agent(FakeChatModel(responses=["Hi!"]), [])
        >>> agent.invoke({"messages": [("user", "hello")]})["messages"][-1].text
        'Hi!'
    """
    from graphkit.graph.state import StateGraph

    if version not in ("v1", "v2"):
        raise InvalidArgumentError(f"version must be 'v1' or 'v2', got {version!r}")
    tool_node = _tool_node(tools)
    runnable_tools = list(tool_node.tools_by_name.values()) if tool_node is not None else []
    bindable = [*runnable_tools, *_builtin_tools(tools)]
    key = tool_node.messages_key if tool_node is not None else "messages"
    schema = state_schema or (
        AgentStateWithStructuredResponse if response_format is not None else AgentState
    )
    _check_schema(schema, key, response_format is not None)
    model_prompt = _ModelPrompt(prompt, key)
    chooser = _ModelChooser(model, bindable)
    direct = {t.name for t in runnable_tools if t.return_direct}

    builder: StateGraph[Any, Any, Any, Any] = (
        StateGraph(schema, context_schema=context_schema)
        if context_schema is not None
        else StateGraph(schema)
    )
    agent_node = _agent_node(chooser, model_prompt, key, name, runnable_tools, direct)
    if pre_model_hook is not None:
        builder.add_node("pre_model_hook", pre_model_hook)
        builder.add_node("agent", agent_node, input_schema=_with_llm_input(schema))
        entry = "pre_model_hook"
        builder.add_edge("pre_model_hook", "agent")
    else:
        builder.add_node("agent", agent_node)
        entry = "agent"
    builder.add_edge(START, entry)

    after_agent = END
    if response_format is not None:
        builder.add_node(
            "generate_structured_response", _structured_node(chooser, response_format, key)
        )
        builder.add_edge("generate_structured_response", END)
        after_agent = "generate_structured_response"

    last = "agent"
    if post_model_hook is not None:
        builder.add_node("post_model_hook", post_model_hook)
        builder.add_edge("agent", "post_model_hook")
        last = "post_model_hook"

    if tool_node is None:
        builder.add_edge(last, after_agent)
    else:
        builder.add_node("tools", tool_node)
        route = _route_after_model(key, after_agent, version, entry, post_model_hook is not None)
        targets = ["tools", after_agent] + ([entry] if post_model_hook is not None else [])
        builder.add_conditional_edges(last, route, sorted(set(targets)))
        if direct:

            def after_tools(state: Any) -> str:
                return END if _ended_by_direct_tool(state, key, direct) else entry

            builder.add_conditional_edges("tools", after_tools, sorted({entry, END}))
        else:
            builder.add_edge("tools", entry)

    graph = builder.compile(
        checkpointer,
        store=store,
        interrupt_before=interrupt_before,
        interrupt_after=interrupt_after,
        debug=debug,
        name=name,
    )
    if is_langchain_chat_model(model) or model_prompt.langchain or model_prompt.speaks_langchain:
        graph.tables.inherit_langchain((key,))  # an agent of LangChain's: its messages too
    return graph


def _check_schema(schema: type[Any], key: str, structured: bool) -> None:
    """The state must hold the conversation (and the structured answer, if asked for)."""
    fields = getattr(schema, "model_fields", None)
    keys = set(fields) if isinstance(fields, dict) else set(_hints(schema))
    missing = [
        k for k in (key, "structured_response" if structured else None) if k and k not in keys
    ]
    if missing:
        raise GraphCompileError(
            f"state_schema {schema.__name__} lacks the key(s) {missing} the agent writes. "
            "Subclass AgentState (or AgentStateWithStructuredResponse / AgentStatePydantic)."
        )


# -- the model ------------------------------------------------------------------


class _ModelChooser:
    """The model for this step: the static one, or what the dynamic function returns,
    with the agent's tools bound unless it already has tools."""

    def __init__(self, model: Any, tools: list[Any]) -> None:
        self.tools = tools
        if isinstance(model, str):
            model = init_chat_model(model)
        self.dynamic = not isinstance(model, BaseChatModel) and _is_model_function(model)
        self.model = model if self.dynamic else as_chat_model(model)
        self._static: Any = None
        self.wants_runtime = self.dynamic and _positional_count(model) >= 2
        if not self.dynamic:
            _check_bound_tools(self.model, tools)

    @property
    def static(self) -> Any:
        """The static model with the tools bound (bound on first use)."""
        if self._static is None:
            self._static = self._bound(self.model)
        return self._static

    def _bound(self, model: Any) -> Any:
        if not self.tools or getattr(model, "tools", None) or not hasattr(model, "bind_tools"):
            return model
        return model.bind_tools(self.tools)

    def _call(self, state: Any, runtime: Any) -> Any:
        return self.model(state, runtime) if self.wants_runtime else self.model(state)

    def raw(self, state: Any, runtime: Any) -> Any:
        """The model before tools are bound (for structured output)."""
        if not self.dynamic:
            return self.model
        found = self._call(state, runtime)
        if inspect.isawaitable(found):
            found = run_sync(lambda: found)
        return as_chat_model(found)

    async def araw(self, state: Any, runtime: Any) -> Any:
        if not self.dynamic:
            return self.model
        found = self._call(state, runtime)
        return as_chat_model(await found if inspect.isawaitable(found) else found)

    def pick(self, state: Any, runtime: Any) -> Any:
        return self.static if not self.dynamic else self._bound(self.raw(state, runtime))

    async def apick(self, state: Any, runtime: Any) -> Any:
        return self.static if not self.dynamic else self._bound(await self.araw(state, runtime))


def _check_bound_tools(model: Any, tools: list[Any]) -> None:
    """A model passed with tools already bound must have bound exactly the agent's tools."""
    if not isinstance(model, BaseChatModel):
        return  # an object of the user's own with bind_tools: bound when first called
    bound = tuple(model.tools)
    if not bound or not tools:
        return
    bound_names = {getattr(t, "name", None) for t in bound}
    wanted = {getattr(t, "name", None) or _builtin_name(t) for t in tools}
    missing = sorted(n for n in wanted - bound_names if n is not None)
    count = len(bound) + len(getattr(model, "provider_tools", ()) or ())
    if count != len(tools) or missing:
        raise InvalidArgumentError(
            f"the model has tools bound ({sorted(n for n in bound_names if n)}) that differ "
            f"from the agent's tools ({sorted(n for n in wanted if n)})"
            + (f": missing {missing}" if missing else "")
            + ". Pass the model without bind_tools (the agent binds its tools), or bind the "
            "same tools you pass to create_react_agent."
        )


def _builtin_name(tool: Any) -> str | None:
    return tool.get("name") if isinstance(tool, dict) else None


def _is_model_function(model: Any) -> bool:
    return callable(model) and not hasattr(model, "invoke")


def _positional_count(fn: Any) -> int:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return 1
    return sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params)


def _agent_node(
    chooser: _ModelChooser,
    prompt: _ModelPrompt,
    key: str,
    name: str | None,
    tools: list[Tool],
    direct: set[str],
) -> Callable[..., Any]:
    """The node that calls the model (sync in ``invoke``, async in ``ainvoke``)."""

    def finish(state: Any, response: Any) -> dict[str, Any]:
        if isinstance(response, AIMessage) and response.name != name:
            response = response.model_copy(update={"name": name})  # None too, as LangGraph
        if _needs_more_steps(response, tools, direct):
            response = AIMessage(id=getattr(response, "id", None), content=NEED_MORE_STEPS)
        return {key: [response]}

    class AgentNode:
        __name__ = "agent"

        def __call__(self, state: Any, runtime: Any = None, config: Any = None) -> dict[str, Any]:
            _check_history(state, key)
            model = chooser.pick(state, runtime)
            found = prompt.messages(state, runtime, config, use_async=False)
            if inspect.isawaitable(found):
                found = run_sync(lambda: found)
            return finish(state, model.invoke(_prompt_value(found)))

        async def ainvoke(
            self, state: Any, runtime: Any = None, config: Any = None
        ) -> dict[str, Any]:
            _check_history(state, key)
            model = await chooser.apick(state, runtime)
            found = prompt.messages(state, runtime, config, use_async=True)
            if inspect.isawaitable(found):
                found = await found
            return finish(state, await model.ainvoke(_prompt_value(found)))

    return AgentNode()


def _needs_more_steps(response: Any, tools: list[Tool], direct: set[str]) -> bool:
    """Would the next step (running the tools, or ending) exceed ``recursion_limit``?"""
    calls = getattr(response, "tool_calls", None) or []
    if not calls:
        return False
    try:
        left = remaining_steps()
    except RuntimeError:
        return False
    all_direct = all(call["name"] in direct for call in calls)
    return left < 1 if all_direct else left < 2


def _check_history(state: Any, key: str) -> None:
    """Every tool call in what the model will see must have its ``ToolMessage`` answer."""
    messages = _llm_input(state, key)
    answered = {m.tool_call_id for m in messages if isinstance(m, ToolMessage)}
    open_calls = [
        call
        for m in messages
        if isinstance(m, AIMessage)
        for call in m.tool_calls
        if call.get("id") not in answered
    ]
    if open_calls:
        raise InvalidMessageError(
            "Found AIMessages with tool_calls that do not have a corresponding ToolMessage "
            f"(calls {[c.get('id') for c in open_calls]}). Every tool call must be answered by "
            "a ToolMessage with its tool_call_id before the model is called again."
        )


class _ModelPrompt:
    """What the model is sent, from ``prompt`` and the state (``llm_input_messages``
    from a ``pre_model_hook`` standing for the history when it gave some)."""

    _EXTRAS = ("config", "store", "runtime", "writer")
    """What a ``prompt`` function may also take, by parameter name (as LangGraph passes)."""

    def __init__(self, prompt: Prompt, key: str) -> None:
        if is_langchain_message(prompt):
            prompt = from_langchain_message(prompt)
        if not (
            prompt is None
            or isinstance(prompt, (str, SystemMessage))
            or hasattr(prompt, "invoke")
            or callable(prompt)
        ):
            raise InvalidArgumentError(
                "prompt must be a string, a SystemMessage, a function state -> messages "
                "(sync or async) or an object with invoke(state); "
                f"got {type(prompt).__name__}"
            )
        self.prompt = prompt
        self.key = key
        self.extras = _parameters_among(prompt, self._EXTRAS) if _is_function(prompt) else ()
        self.langchain = is_langchain_runnable(prompt)
        self.speaks_langchain = _is_function(prompt) and code_speaks_langchain(prompt)
        """A prompt function written for LangChain's messages (see
        ``code_speaks_langchain``): it reads the state's as LangChain's."""

    def messages(self, state: Any, runtime: Any, config: Any, *, use_async: bool) -> Any:
        """The model's input (awaitable for an async ``prompt``, or its ``ainvoke`` when
        ``use_async``)."""
        prompt = self.prompt
        if prompt is None:
            return _llm_input(state, self.key)
        if isinstance(prompt, (str, SystemMessage)):
            system = prompt if isinstance(prompt, SystemMessage) else SystemMessage(content=prompt)
            return [system, *_llm_input(state, self.key)]
        shown = _with_messages(state, self.key)
        if self.langchain:  # a LangChain prompt reads LangChain messages
            runnable: Any = prompt
            shown = for_langchain_state(shown)
            return runnable.ainvoke(shown, config) if use_async else runnable.invoke(shown, config)
        if self.speaks_langchain:
            shown = for_langchain_state(shown)
        if use_async and hasattr(prompt, "ainvoke"):
            return prompt.ainvoke(shown)
        if hasattr(prompt, "invoke"):
            return prompt.invoke(shown)
        if not self.extras:
            return prompt(shown)
        available = {
            "config": config,
            "store": getattr(runtime, "store", None),
            "runtime": runtime,
            "writer": getattr(runtime, "stream_writer", None),
        }
        return prompt(shown, **{name: available[name] for name in self.extras})


def _is_function(prompt: Any) -> bool:
    return callable(prompt) and not hasattr(prompt, "invoke")


def _parameters_among(fn: Any, names: tuple[str, ...]) -> tuple[str, ...]:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return ()
    return tuple(name for name in names if name in params)


def _prompt_value(found: Any) -> Any:
    """A LangChain prompt value becomes its messages, and so does a template without
    variables (``SystemMessage("...") + state["messages"]`` makes one)."""
    to_messages = getattr(found, "to_messages", None)
    if callable(to_messages):
        return to_messages()
    format_messages = getattr(found, "format_messages", None)
    if is_langchain_runnable(found) and callable(format_messages):
        return format_messages()
    return found


def _with_messages(state: Any, key: str) -> Any:
    """The state a ``prompt`` function sees: ``key`` holds what the model will see
    (a ``pre_model_hook``'s ``llm_input_messages`` when it gave some)."""
    override = _llm_override(state)
    if not override:
        return state
    if isinstance(state, dict):
        return {**state, key: list(override)}
    if isinstance(state, BaseModel):
        return state.model_copy(update={key: list(override)})
    return state


def _llm_input(state: Any, key: str) -> list[BaseMessage]:
    """``llm_input_messages`` from a ``pre_model_hook`` if it gave any, else the history."""
    override = _llm_override(state)
    return list(override) if override else _messages_of(state, key)


def _llm_override(state: Any) -> Any:
    if isinstance(state, dict):
        return state.get("llm_input_messages")
    return getattr(state, "llm_input_messages", None)


def _with_llm_input(schema: type[Any]) -> type[Any]:
    """The agent's input: the state plus ``llm_input_messages`` a ``pre_model_hook`` may set."""
    if isinstance(schema, type) and issubclass(schema, BaseModel):
        from pydantic import create_model

        return create_model(
            f"{schema.__name__}WithLLMInput",
            __base__=schema,
            llm_input_messages=(Annotated[list[AnyMessage], add_messages], []),
        )
    return TypedDict(  # type: ignore[operator]
        f"{schema.__name__}WithLLMInput",
        {
            **_hints(schema),
            "llm_input_messages": NotRequired[Annotated[list[AnyMessage], add_messages]],
        },
    )


def _hints(schema: type[Any]) -> dict[str, Any]:
    return resolve_hints(schema)


def _structured_node(chooser: _ModelChooser, response_format: Any, key: str) -> Callable[..., Any]:
    system, schema = (
        response_format if isinstance(response_format, tuple) else (None, response_format)
    )

    def messages_for(state: Any) -> list[BaseMessage]:
        messages = _messages_of(state, key)
        return [SystemMessage(content=system), *messages] if system else messages

    class GenerateStructuredResponse:
        __name__ = "generate_structured_response"

        def __call__(self, state: Any, runtime: Any = None) -> dict[str, Any]:
            model = chooser.raw(state, runtime).with_structured_output(schema)
            return {"structured_response": model.invoke(messages_for(state))}

        async def ainvoke(self, state: Any, runtime: Any = None) -> dict[str, Any]:
            model = (await chooser.araw(state, runtime)).with_structured_output(schema)
            return {"structured_response": await model.ainvoke(messages_for(state))}

    return GenerateStructuredResponse()


# -- routing --------------------------------------------------------------------


def _route_after_model(
    key: str, after_agent: str, version: str, entry: str, post_hook: bool
) -> Callable[[Any], Any]:
    """Where to go after the model (or ``post_model_hook``): tools, back, or on."""

    def should_continue(state: Any) -> Any:  # (LangGraph's name: astream_events shows it)
        messages = _messages_of(state, key)
        last = messages[-1] if messages else None
        if post_hook and isinstance(last, ToolMessage):
            return entry
        if not isinstance(last, AIMessage) or not last.tool_calls:
            return after_agent
        calls = _unanswered(messages, last) if post_hook else list(last.tool_calls)
        if not calls:
            return after_agent
        if version == "v1":
            return "tools"
        return [
            Send("tools", {"__type": "tool_call_with_context", "tool_call": call, "state": state})
            for call in calls
        ]

    return should_continue


def _unanswered(messages: list[BaseMessage], last: AIMessage) -> list[Any]:
    answered = {m.tool_call_id for m in messages if isinstance(m, ToolMessage)}
    return [call for call in last.tool_calls if call.get("id") not in answered]


def _ended_by_direct_tool(state: Any, key: str, direct: set[str]) -> bool:
    """Did this round of tool calls include a ``return_direct`` tool?

    Its answer ends the run (as in LangGraph, also when the tool failed and
    ``handle_tool_errors`` turned the error into its answer). With ``version="v2"``
    each call is its own task and sees only its own answer, so the calls of the
    ``AIMessage`` before the answers count too.
    """
    for message in reversed(_messages_of(state, key)):
        if isinstance(message, ToolMessage):
            if message.name in direct:
                return True
            continue
        return isinstance(message, AIMessage) and any(
            call["name"] in direct for call in message.tool_calls
        )
    return False


def _tool_node(tools: Any) -> ToolNode | None:
    if isinstance(tools, ToolNode):
        return tools
    runnable = [t for t in tools if not _is_builtin_tool(t)]
    if not runnable:
        return None
    return ToolNode(runnable)


def _builtin_tools(tools: Any) -> list[dict[str, Any]]:
    """Provider built-in tools (dicts without a function): bound to the model, not run."""
    if isinstance(tools, ToolNode):
        return []
    return [t for t in tools if _is_builtin_tool(t)]


def _is_builtin_tool(tool: Any) -> bool:
    return isinstance(tool, dict)


create_tool_calling_executor = create_react_agent
"""LangGraph's older name for ``create_react_agent``."""
