"""``langgraph.graph.message``: the message-list reducer, the ready-made message state
and LangGraph's deprecated ``MessageGraph``."""

from __future__ import annotations

import warnings
from typing import Annotated, Any

from graphkit.context import push_message
from graphkit.graph.state import StateGraph
from graphkit.messages import REMOVE_ALL_MESSAGES, AnyMessage, MessagesState, add_messages
from graphkit.warnings import LangGraphDeprecatedSinceV10

__all__ = ["REMOVE_ALL_MESSAGES", "MessageGraph", "MessagesState", "add_messages", "push_message"]


class MessageGraph(StateGraph[Any, Any, Any, Any]):
    """A graph whose whole state is one message list (deprecated, as in LangGraph: use
    ``StateGraph(MessagesState)``). Nodes get the list and return messages to add;
    ``add_messages`` merges them.

    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     builder = MessageGraph()
    >>> _ = builder.add_node("bot", lambda messages: [("assistant", "Hello!")])
    >>> _ = builder.set_entry_point("bot").set_finish_point("bot")
    >>> [m.content for m in builder.compile().invoke([("user", "Hi")])]
    ['Hi', 'Hello!']
    """

    def __init__(self) -> None:
        warnings.warn(
            LangGraphDeprecatedSinceV10(
                "MessageGraph is deprecated in LangGraph v1.0.0, to be removed in v2.0.0. "
                "Please use StateGraph with a `messages` key instead."
            ),
            stacklevel=2,
        )
        super().__init__(Annotated[list[AnyMessage], add_messages])  # type: ignore[arg-type]
