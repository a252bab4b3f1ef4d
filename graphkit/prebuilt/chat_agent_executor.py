"""``create_react_agent``: the standard tool-calling agent loop as a compiled graph.

    START -> agent -> (tool calls?) -> tools -> agent -> ... -> END

With ``response_format``, the loop ends in a ``generate_structured_response`` node
that asks the model once more for an answer in that schema and stores it under
``structured_response``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, Any

from typing_extensions import TypedDict

from graphkit.constants import END, START
from graphkit.messages import AnyMessage, BaseMessage, SystemMessage, ToolMessage, add_messages
from graphkit.models.base import BaseChatModel
from graphkit.prebuilt.tool_node import ToolNode, _messages_of, tools_condition
from graphkit.tools import Tool

__all__ = ["AgentState", "AgentStateWithStructuredResponse", "create_react_agent"]

Prompt = str | SystemMessage | Callable[[Any], Sequence[BaseMessage]] | None
"""A system prompt (text or message) put before the history, or a function
``state -> messages`` that builds the model's whole input."""


class AgentState(TypedDict):
    """The state of ``create_react_agent``: the conversation."""

    messages: Annotated[list[AnyMessage], add_messages]


class AgentStateWithStructuredResponse(AgentState):
    """``AgentState`` plus the final answer parsed into ``response_format``."""

    structured_response: Any


def create_react_agent(
    model: BaseChatModel,
    tools: Sequence[Tool | Callable[..., Any]] | ToolNode,
    *,
    prompt: Prompt = None,
    checkpointer: Any = None,
    store: Any = None,
    response_format: Any = None,
    state_schema: type[Any] | None = None,
    name: str | None = None,
    interrupt_before: Sequence[str] | None = None,
    interrupt_after: Sequence[str] | None = None,
) -> Any:
    """Build and compile a ReAct agent: the model calls tools until it answers.

    ``tools`` is a list of tools (functions, ``@tool``s) or a ready ``ToolNode``.
    ``response_format`` (pydantic model, TypedDict or JSON schema) adds a last step
    that stores the parsed answer in ``structured_response``. ``name`` names the
    compiled graph and the agent's ``AIMessage``s. Returns a ``CompiledStateGraph``.

        >>> from graphkit.models import FakeChatModel
        >>> agent = create_react_agent(FakeChatModel(responses=["Hi!"]), [])
        >>> agent.invoke({"messages": [("user", "hello")]})["messages"][-1].text
        'Hi!'
    """
    from graphkit.graph.state import StateGraph

    tool_node = tools if isinstance(tools, ToolNode) else ToolNode(list(tools))
    tool_list = list(tool_node.tools_by_name.values())
    bound = model.bind_tools(tool_list) if tool_list else model
    schema = state_schema or (
        AgentStateWithStructuredResponse if response_format is not None else AgentState
    )
    key = tool_node.messages_key

    def agent(state: Any) -> dict[str, Any]:
        response = bound.invoke(_model_input(prompt, state, key))
        if name is not None:
            response = response.model_copy(update={"name": name})
        return {key: [response]}

    builder = StateGraph(schema)
    builder.add_node("agent", agent)
    builder.add_edge(START, "agent")
    after_agent = END
    if response_format is not None:
        structured = model.with_structured_output(response_format)

        def generate_structured_response(state: Any) -> dict[str, Any]:
            return {"structured_response": structured.invoke(_model_input(prompt, state, key))}

        builder.add_node("generate_structured_response", generate_structured_response)
        builder.add_edge("generate_structured_response", END)
        after_agent = "generate_structured_response"

    if tool_list:
        builder.add_node("tools", tool_node)

        def should_continue(state: Any) -> str:
            return "tools" if tools_condition(state, key) == "tools" else after_agent

        builder.add_conditional_edges("agent", should_continue, ["tools", after_agent])
        direct = {t.name for t in tool_list if t.return_direct}
        if direct:

            def after_tools(state: Any) -> str:
                return END if _ended_by_direct_tool(state, key, direct) else "agent"

            builder.add_conditional_edges("tools", after_tools, ["agent", END])
        else:
            builder.add_edge("tools", "agent")
    else:
        builder.add_edge("agent", after_agent)

    return builder.compile(
        checkpointer,
        store=store,
        interrupt_before=interrupt_before,
        interrupt_after=interrupt_after,
        name=name,
    )


def _model_input(prompt: Prompt, state: Any, key: str) -> list[BaseMessage]:
    if callable(prompt) and not isinstance(prompt, (str, SystemMessage)):
        return list(prompt(state))
    messages = _messages_of(state, key)
    if prompt is None:
        return messages
    system = prompt if isinstance(prompt, SystemMessage) else SystemMessage(content=prompt)
    return [system, *messages]


def _ended_by_direct_tool(state: Any, key: str, direct: set[str]) -> bool:
    for message in reversed(_messages_of(state, key)):
        if not isinstance(message, ToolMessage):
            return False
        if message.name in direct and message.status == "success":
            return True
    return False
