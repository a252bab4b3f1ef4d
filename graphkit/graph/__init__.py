"""``langgraph.graph`` under graphkit: the builder, its constants and the message state.

>>> from graphkit.graph import END, START, MessagesState, StateGraph, add_messages
"""

from graphkit.constants import END, START
from graphkit.engine.compiled import CompiledStateGraph
from graphkit.graph.message import MessageGraph, MessagesState, add_messages
from graphkit.graph.state import StateGraph

__all__ = [
    "END",
    "START",
    "CompiledStateGraph",
    "MessageGraph",
    "MessagesState",
    "StateGraph",
    "add_messages",
]
