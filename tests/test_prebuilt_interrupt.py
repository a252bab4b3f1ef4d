"""The human-in-the-loop shapes of graphkit.prebuilt.interrupt, used through a tool."""

from __future__ import annotations

from typing import Any

from graphkit import START, StateGraph
from graphkit.messages import AIMessage, MessagesState, tool_call
from graphkit.prebuilt import ToolNode
from graphkit.prebuilt.interrupt import HumanInterrupt, HumanResponse
from graphkit.stores import InMemorySaver
from graphkit.tools import tool
from graphkit.types import Command, interrupt


@tool
def send_email(to: str) -> str:
    """Send an email after a person approves it."""
    request: HumanInterrupt = {
        "action_request": {"action": "send_email", "args": {"to": to}},
        "config": {
            "allow_ignore": True,
            "allow_respond": False,
            "allow_edit": True,
            "allow_accept": True,
        },
        "description": None,
    }
    response: HumanResponse = interrupt(request)
    if response["type"] == "ignore":
        return "not sent"
    if response["type"] == "edit" and isinstance(response["args"], dict):
        to = response["args"]["args"]["to"]
    return f"sent to {to}"


def test_edit_response_changes_the_action() -> None:
    graph = (
        StateGraph(MessagesState)
        .add_node("tools", ToolNode([send_email]))
        .add_edge(START, "tools")
        .compile(checkpointer=InMemorySaver())
    )
    config: dict[str, Any] = {"configurable": {"thread_id": "1"}}
    call = tool_call("send_email", {"to": "a@x.io"}, "c1")
    paused = graph.invoke({"messages": [AIMessage("", tool_calls=[call])]}, config)
    assert paused["__interrupt__"][0].value["action_request"]["args"] == {"to": "a@x.io"}
    edited: HumanResponse = {
        "type": "edit",
        "args": {"action": "send_email", "args": {"to": "b@x.io"}},
    }
    out = graph.invoke(Command(resume=edited), config)
    assert out["messages"][-1].content == "sent to b@x.io"
