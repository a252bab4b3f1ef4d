"""Ready-made parts for tool-using agents: ``ToolNode``, ``tools_condition``,
``ValidationNode``, ``create_react_agent`` (the names and behaviour of ``langgraph.prebuilt``)."""

from graphkit.prebuilt.chat_agent_executor import (
    AgentState,
    AgentStatePydantic,
    AgentStateWithStructuredResponse,
    AgentStateWithStructuredResponsePydantic,
    create_react_agent,
)
from graphkit.prebuilt.tool_node import (
    InjectedState,
    InjectedStore,
    ToolCallRequest,
    ToolNode,
    ToolRuntime,
    tools_condition,
)
from graphkit.prebuilt.tool_validator import ValidationNode

__all__ = [
    "AgentState",
    "AgentStatePydantic",
    "AgentStateWithStructuredResponse",
    "AgentStateWithStructuredResponsePydantic",
    "InjectedState",
    "InjectedStore",
    "ToolCallRequest",
    "ToolNode",
    "ToolRuntime",
    "ValidationNode",
    "create_react_agent",
    "tools_condition",
]
