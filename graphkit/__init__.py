"""graphkit: stateful LLM applications as graphs.

Explicit nodes, reducer-merged state, durable checkpoints and a long-term memory
store, with LangGraph's API: swap ``langgraph.graph`` for ``graphkit`` and go on.
"""

from graphkit.constants import END, START
from graphkit.context import get_config, get_store, get_stream_writer, push_message
from graphkit.engine import CompiledStateGraph
from graphkit.errors import (
    EmptyInputError,
    GraphCompileError,
    GraphDrained,
    GraphInterrupt,
    GraphRecursionError,
    InvalidUpdateError,
    NodeCancelledError,
    NodeConfigError,
    NodeError,
    NodeTimeoutError,
    PolicyError,
    StepTimeoutError,
)
from graphkit.func import entrypoint, task
from graphkit.graph.state import StateGraph
from graphkit.messages import (
    REMOVE_ALL_MESSAGES,
    AIMessage,
    AIMessageChunk,
    AnyMessage,
    BaseMessage,
    HumanMessage,
    MessagesState,
    RemoveMessage,
    SystemMessage,
    ToolCall,
    ToolMessage,
    add_messages,
    convert_to_messages,
)
from graphkit.runtime import RunControl, Runtime, get_runtime
from graphkit.tools import InjectedState, InjectedStore, InjectedToolCallId, Tool, tool
from graphkit.types import (
    CachePolicy,
    Command,
    GraphOutput,
    Interrupt,
    Overwrite,
    RetryPolicy,
    RunnableConfig,
    Send,
    StateSnapshot,
    TimeoutPolicy,
    interrupt,
)

__all__ = [
    "END",
    "REMOVE_ALL_MESSAGES",
    "START",
    "AIMessage",
    "AIMessageChunk",
    "AnyMessage",
    "BaseMessage",
    "CachePolicy",
    "Command",
    "CompiledStateGraph",
    "EmptyInputError",
    "GraphCompileError",
    "GraphDrained",
    "GraphInterrupt",
    "GraphOutput",
    "GraphRecursionError",
    "HumanMessage",
    "InjectedState",
    "InjectedStore",
    "InjectedToolCallId",
    "Interrupt",
    "InvalidUpdateError",
    "MessagesState",
    "NodeCancelledError",
    "NodeConfigError",
    "NodeError",
    "NodeTimeoutError",
    "Overwrite",
    "PolicyError",
    "RemoveMessage",
    "RetryPolicy",
    "RunControl",
    "RunnableConfig",
    "Runtime",
    "Send",
    "StateGraph",
    "StateSnapshot",
    "StepTimeoutError",
    "SystemMessage",
    "TimeoutPolicy",
    "Tool",
    "ToolCall",
    "ToolMessage",
    "add_messages",
    "convert_to_messages",
    "entrypoint",
    "get_config",
    "get_runtime",
    "get_store",
    "get_stream_writer",
    "interrupt",
    "push_message",
    "task",
    "tool",
]
