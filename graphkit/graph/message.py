"""``langgraph.graph.message``: the message-list reducer and the ready-made message state."""

from graphkit.context import push_message
from graphkit.messages import REMOVE_ALL_MESSAGES, MessagesState, add_messages

__all__ = ["REMOVE_ALL_MESSAGES", "MessagesState", "add_messages", "push_message"]
