"""ValidationNode checks tool calls against schemas and never runs anything."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from pydantic import BaseModel

from graphkit import START, StateGraph
from graphkit.messages import AIMessage, MessagesState, tool_call
from graphkit.prebuilt import ValidationNode
from graphkit.tools import tool


class Point(BaseModel):
    x: int
    y: int


def point(x: int, y: int) -> str:
    """A point as a function."""
    return f"{x},{y}"


@tool
def point_tool(x: int, y: int) -> str:
    """A point as a tool."""
    raise AssertionError("ValidationNode must not run tools")


def calls(name: str) -> list[Any]:
    return [
        AIMessage(
            "",
            tool_calls=[
                tool_call(name, {"x": 1, "y": 2}, "ok"),
                tool_call(name, {"x": "one", "y": 2}, "bad"),
            ],
        )
    ]


@pytest.mark.parametrize(
    ("schema", "name"), [(Point, "Point"), (point, "point"), (point_tool, "point_tool")]
)
def test_valid_calls_give_their_arguments_and_invalid_ones_are_flagged(
    schema: Any, name: str
) -> None:
    good, bad = ValidationNode([schema]).invoke(calls(name))
    assert json.loads(good.content) == {"x": 1, "y": 2}
    assert not good.additional_kwargs.get("is_error")
    assert bad.additional_kwargs["is_error"] is True and bad.tool_call_id == "bad"
    assert "x" in bad.content and bad.content.endswith(
        "Respond after fixing all validation errors."
    )


def test_state_input_gives_state_output_and_ainvoke_matches() -> None:
    node = ValidationNode([Point])
    out = node.invoke({"messages": calls("Point")})
    assert [m.tool_call_id for m in out["messages"]] == ["ok", "bad"]
    assert asyncio.run(node.ainvoke({"messages": calls("Point")})) == out


def test_unknown_schema_is_an_error_and_format_error_is_used() -> None:
    node = ValidationNode([Point], format_error=lambda e, call, schema: f"bad {call['name']}")
    [msg] = node.invoke([AIMessage("", tool_calls=[tool_call("Nope", {}, "c1")])])
    assert msg.content == "bad Nope" and msg.additional_kwargs["is_error"] is True


def test_validation_node_runs_in_a_graph() -> None:
    graph = (
        StateGraph(MessagesState)
        .add_node("validate", ValidationNode([Point]))
        .add_edge(START, "validate")
        .compile()
    )
    out = graph.invoke({"messages": calls("Point")})
    assert [m.tool_call_id for m in out["messages"][1:]] == ["ok", "bad"]
