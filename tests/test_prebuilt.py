"""ToolNode, tools_condition and create_react_agent, driven by FakeChatModel."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Annotated, Any

import pytest
from pydantic import BaseModel

from graphkit import END, START, StateGraph
from graphkit.messages import (
    AIMessage,
    AIMessageChunk,
    HumanMessage,
    MessagesState,
    SystemMessage,
    ToolMessage,
    tool_call,
)
from graphkit.models import FakeChatModel
from graphkit.prebuilt import ToolNode, create_react_agent, tools_condition
from graphkit.stores import InMemorySaver, InMemoryStore
from graphkit.tools import InjectedState, tool


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@tool
def explode(reason: str) -> str:
    """Always fails."""
    raise RuntimeError(f"kaboom: {reason}")


def calls(*specs: tuple[str, dict[str, Any], str]) -> AIMessage:
    return AIMessage("", tool_calls=[tool_call(n, a, i) for n, a, i in specs])


# -- ToolNode ------------------------------------------------------------------


def test_tool_node_runs_calls_of_last_ai_message_in_order() -> None:
    node = ToolNode([add])
    out = node(
        {"messages": [calls(("add", {"a": 1, "b": 2}, "c1"), ("add", {"a": 3, "b": 4}, "c2"))]}
    )
    assert [(m.tool_call_id, m.content, m.name, m.status) for m in out["messages"]] == [
        ("c1", "3", "add", "success"),
        ("c2", "7", "add", "success"),
    ]


def test_tool_node_runs_parallel_calls_concurrently() -> None:
    barrier = threading.Barrier(3, timeout=5)

    @tool
    def meet(n: int) -> int:
        """Wait for the other calls."""
        barrier.wait()
        return n

    out = ToolNode([meet])({"messages": [calls(*[("meet", {"n": i}, f"c{i}") for i in range(3)])]})
    assert [m.content for m in out["messages"]] == ["0", "1", "2"]


def test_tool_error_fails_the_run_by_default() -> None:
    with pytest.raises(RuntimeError, match="kaboom: x"):
        ToolNode([explode]).invoke({"messages": [calls(("explode", {"reason": "x"}, "c1"))]})


def test_tool_error_becomes_error_message_with_handle_tool_errors_true() -> None:
    node = ToolNode([explode], handle_tool_errors=True)
    out = node({"messages": [calls(("explode", {"reason": "x"}, "c1"))]})
    [msg] = out["messages"]
    assert msg.status == "error"
    assert msg.content == "Error: RuntimeError('kaboom: x')\n Please fix your mistakes."


@pytest.mark.parametrize(
    ("handler", "expected"),
    [
        ("tool failed", "tool failed"),
        (lambda e: f"handled {type(e).__name__}", "handled RuntimeError"),
    ],
)
def test_custom_error_handlers(handler: Any, expected: str) -> None:
    out = ToolNode([explode], handle_tool_errors=handler)(
        {"messages": [calls(("explode", {"reason": "x"}, "c1"))]}
    )
    assert out["messages"][0].content == expected


def test_handle_tool_errors_false_reraises() -> None:
    with pytest.raises(RuntimeError, match="kaboom"):
        ToolNode([explode], handle_tool_errors=False)(
            {"messages": [calls(("explode", {"reason": "x"}, "c"))]}
        )


def test_handle_only_listed_exception_types() -> None:
    node = ToolNode([explode], handle_tool_errors=ValueError)
    with pytest.raises(RuntimeError):
        node({"messages": [calls(("explode", {"reason": "x"}, "c"))]})


def test_invalid_arguments_give_the_validation_message() -> None:
    out = ToolNode([add])({"messages": [calls(("add", {"a": "one"}, "c1"))]})
    [msg] = out["messages"]
    assert msg.status == "error"
    assert msg.text.startswith("Error invoking tool 'add' with kwargs {'a': 'one'} with error:\n")
    assert "a: Input should be a valid integer" in msg.text and "b: Field required" in msg.text


def test_unknown_tool_lists_available_tools() -> None:
    out = ToolNode([add, explode])({"messages": [calls(("mul", {}, "c1"))]})
    [msg] = out["messages"]
    assert msg.status == "error" and msg.tool_call_id == "c1"
    assert msg.content == "Error: mul is not a valid tool, try one of [add, explode]."


def test_list_input_gives_list_output_and_non_strings_are_json() -> None:
    @tool
    def info() -> dict[str, Any]:
        """Return a dict."""
        return {"k": [1, 2]}

    out = ToolNode([info])([calls(("info", {}, "c"))])
    assert isinstance(out, list) and out[0].content == '{"k": [1, 2]}'


def test_tool_node_without_ai_message_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="found no AIMessage"):
        ToolNode([add])({"messages": [HumanMessage("hi")]})


def test_async_tool_node_gathers() -> None:
    @tool
    async def slow(n: int) -> int:
        """Sleep then return n."""
        await asyncio.sleep(0.05)
        return n

    node = ToolNode([slow, add])
    message = calls(
        *[("slow", {"n": i}, f"c{i}") for i in range(5)], ("add", {"a": 1, "b": 1}, "s")
    )
    start = time.perf_counter()
    out = asyncio.run(node.ainvoke({"messages": [message]}))
    assert time.perf_counter() - start < 0.2
    assert [m.content for m in out["messages"]] == ["0", "1", "2", "3", "4", "2"]
    # the sync path runs async tools on worker threads
    assert [m.content for m in node({"messages": [message]})["messages"]][-1] == "2"


def test_tools_condition() -> None:
    assert tools_condition({"messages": [calls(("add", {}, "c"))]}) == "tools"
    assert tools_condition({"messages": [AIMessage("done")]}) == END
    assert tools_condition([HumanMessage("x")]) == END


def test_tool_node_in_a_hand_built_graph_gets_state_store_and_config() -> None:
    seen: dict[str, Any] = {}

    @tool
    def remember(
        fact: str,
        state: dict[str, Any],
        store: Any,
        config: dict[str, Any],
        tool_call_id: str,
        history: Annotated[list[Any], InjectedState("messages")],
    ) -> str:
        """Store a fact."""
        store.put(("facts",), tool_call_id, {"fact": fact})
        seen.update(
            n=len(state["messages"]), node=config["metadata"]["langgraph_node"], h=len(history)
        )
        return "stored"

    model = FakeChatModel(responses=[calls(("remember", {"fact": "sky is blue"}, "c9")), "ok"])
    store = InMemoryStore()

    def agent(state: MessagesState) -> dict[str, Any]:
        return {"messages": [model.invoke(state["messages"])]}

    builder = StateGraph(MessagesState)
    builder.add_node("agent", agent)
    builder.add_node("tools", ToolNode([remember]))
    builder.add_edge(START, "agent")
    builder.add_conditional_edges("agent", tools_condition)
    builder.add_edge("tools", "agent")
    graph = builder.compile(store=store)
    result = graph.invoke({"messages": [("user", "remember this")]})
    assert result["messages"][-1].text == "ok"
    assert seen == {"n": 2, "node": "tools", "h": 2}
    item = store.get(("facts",), "c9")
    assert item is not None and item.value == {"fact": "sky is blue"}


# -- create_react_agent -----------------------------------------------------------


def test_agent_calls_tool_twice_then_answers() -> None:
    model = FakeChatModel(
        responses=[
            calls(("add", {"a": 1, "b": 2}, "c1")),
            calls(("add", {"a": 3, "b": 3}, "c2")),
            "The answer is 6.",
        ]
    )
    agent = create_react_agent(model, [add], prompt="You add numbers.")
    result = agent.invoke({"messages": [("user", "add stuff")]})
    messages = result["messages"]
    assert [type(m).__name__ for m in messages] == [
        "HumanMessage",
        "AIMessage",
        "ToolMessage",
        "AIMessage",
        "ToolMessage",
        "AIMessage",
    ]
    assert [m.content for m in messages if isinstance(m, ToolMessage)] == ["3", "6"]
    assert messages[-1].text == "The answer is 6."
    # the model saw the prompt first and the tools it may call
    first_call = model.calls[0]
    assert isinstance(first_call[0], SystemMessage) and first_call[0].text == "You add numbers."
    assert len(model.calls) == 3 and len(model.calls[2]) == 6


def test_agent_recovers_from_tool_error() -> None:
    model = FakeChatModel(
        responses=[calls(("explode", {"reason": "r"}, "c1")), "Sorry, it failed."]
    )
    tools = ToolNode([explode], handle_tool_errors=True)
    result = create_react_agent(model, tools).invoke({"messages": [("user", "go")]})
    tool_msg = result["messages"][2]
    assert isinstance(tool_msg, ToolMessage) and tool_msg.status == "error"
    assert "kaboom: r" in tool_msg.text
    assert result["messages"][-1].text == "Sorry, it failed."


def test_agent_parallel_tool_calls() -> None:
    model = FakeChatModel(
        responses=[calls(("add", {"a": 1, "b": 1}, "x"), ("add", {"a": 2, "b": 2}, "y")), "2 and 4"]
    )
    result = create_react_agent(model, [add]).invoke({"messages": [("user", "q")]})
    tool_messages = [m for m in result["messages"] if isinstance(m, ToolMessage)]
    assert [(m.tool_call_id, m.content) for m in tool_messages] == [("x", "2"), ("y", "4")]


def test_agent_with_checkpointer_keeps_the_conversation() -> None:
    model = FakeChatModel(responses=["first", "second"])
    agent = create_react_agent(model, [add], checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "t1"}}
    agent.invoke({"messages": [("user", "one")]}, config)
    result = agent.invoke({"messages": [("user", "two")]}, config)
    assert [m.text for m in result["messages"]] == ["one", "first", "two", "second"]
    assert len(model.calls[1]) == 3


def test_agent_callable_prompt_and_name() -> None:
    model = FakeChatModel(responses=["hi"])

    def prompt(state: Any) -> list[Any]:
        return [SystemMessage("custom"), *state["messages"][-1:]]

    result = create_react_agent(model, [], prompt=prompt, name="helper").invoke(
        {"messages": [("user", "a"), ("user", "b")]}
    )
    assert [m.text for m in model.calls[0]] == ["custom", "b"]
    assert result["messages"][-1].name == "helper"


def test_agent_structured_response() -> None:
    class Sum(BaseModel):
        """The result."""

        total: int

    model = FakeChatModel(
        responses=[calls(("add", {"a": 2, "b": 3}, "c")), "It is 5.", Sum(total=5)]
    )
    result = create_react_agent(model, [add], response_format=Sum).invoke(
        {"messages": [("user", "2+3")]}
    )
    assert result["structured_response"] == Sum(total=5)
    assert result["messages"][-1].text == "It is 5."


def test_return_direct_tool_ends_the_run() -> None:
    @tool(return_direct=True)
    def final(answer: str) -> str:
        """Give the final answer."""
        return answer

    model = FakeChatModel(responses=[calls(("final", {"answer": "42"}, "c"))])
    result = create_react_agent(model, [final, add]).invoke({"messages": [("user", "q")]})
    assert result["messages"][-1].text == "42" and len(model.calls) == 1


def test_agent_streams_tokens_with_node_metadata() -> None:
    model = FakeChatModel(responses=[calls(("add", {"a": 1, "b": 1}, "c")), "all done now"])
    agent = create_react_agent(model, [add])
    parts = list(agent.stream({"messages": [("user", "q")]}, stream_mode="messages"))
    tokens = [
        (chunk.text, meta["langgraph_node"])
        for chunk, meta in parts
        if isinstance(chunk, AIMessageChunk) and chunk.text
    ]
    assert tokens == [("all", "agent"), (" done", "agent"), (" now", "agent")]


async def test_agent_runs_async() -> None:
    model = FakeChatModel(responses=[calls(("add", {"a": 1, "b": 2}, "c")), "3"])
    result = await create_react_agent(model, [add]).ainvoke({"messages": [("user", "q")]})
    assert result["messages"][-1].text == "3"


def test_agent_conversation_survives_a_durable_checkpointer(tmp_path: Any) -> None:
    from graphkit.stores import LMDBSaver

    config = {"configurable": {"thread_id": "durable"}}
    with LMDBSaver(tmp_path / "db") as saver:
        model = FakeChatModel(responses=[calls(("add", {"a": 2, "b": 2}, "c1")), "four"])
        create_react_agent(model, [add], checkpointer=saver).invoke(
            {"messages": [("user", "2+2")]}, config
        )
    with LMDBSaver(tmp_path / "db") as saver:
        model = FakeChatModel(responses=["still four"])
        agent = create_react_agent(model, [add], checkpointer=saver)
        result = agent.invoke({"messages": [("user", "again?")]}, config)
    messages = result["messages"]
    assert [type(m).__name__ for m in messages] == [
        "HumanMessage",
        "AIMessage",
        "ToolMessage",
        "AIMessage",
        "HumanMessage",
        "AIMessage",
    ]
    assert messages[1].tool_calls[0]["args"] == {"a": 2, "b": 2}
    assert messages[2].content == "4" and messages[-1].text == "still four"
