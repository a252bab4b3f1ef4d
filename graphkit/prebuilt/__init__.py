"""Ready-made parts for tool-using agents: ``ToolNode``, ``tools_condition``,
``create_react_agent`` (the names and behaviour of ``langgraph.prebuilt``)."""

from graphkit.prebuilt.chat_agent_executor import (
    AgentState,
    AgentStateWithStructuredResponse,
    create_react_agent,
)
from graphkit.prebuilt.tool_node import ToolNode, tools_condition

__all__ = [
    "AgentState",
    "AgentStateWithStructuredResponse",
    "ToolNode",
    "create_react_agent",
    "tools_condition",
]
