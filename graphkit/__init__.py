"""graphkit: stateful LLM applications as graphs.

Explicit nodes, reducer-merged state, durable checkpoints and a long-term memory
store, with LangGraph's API: swap ``langgraph.graph`` for ``graphkit`` and go on.
"""

from graphkit.constants import END, START
from graphkit.context import get_config, get_store, get_stream_writer
from graphkit.errors import (
    EmptyInputError,
    GraphCompileError,
    GraphInterrupt,
    GraphRecursionError,
    InvalidUpdateError,
    NodeConfigError,
)
from graphkit.graph import StateGraph
from graphkit.runtime import CompiledStateGraph
from graphkit.types import (
    Command,
    Interrupt,
    Overwrite,
    RetryPolicy,
    Send,
    StateSnapshot,
    interrupt,
)

__all__ = [
    "END",
    "START",
    "Command",
    "CompiledStateGraph",
    "EmptyInputError",
    "GraphCompileError",
    "GraphInterrupt",
    "GraphRecursionError",
    "Interrupt",
    "InvalidUpdateError",
    "NodeConfigError",
    "Overwrite",
    "RetryPolicy",
    "Send",
    "StateGraph",
    "StateSnapshot",
    "get_config",
    "get_store",
    "get_stream_writer",
    "interrupt",
]
