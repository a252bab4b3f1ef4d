"""ToolNode as LangGraph users know it: runnable inputs and outputs, error handling,
interrupts and Commands from tools, injection, ToolRuntime and wrap_tool_call."""

from __future__ import annotations

import asyncio
import dataclasses
import warnings
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import pytest
from pydantic import BaseModel
from typing_extensions import NotRequired, TypedDict

from graphkit import END, START, StateGraph
from graphkit.messages import (
    REMOVE_ALL_MESSAGES,
    AIMessage,
    AnyMessage,
    HumanMessage,
    MessagesState,
    RemoveMessage,
    ToolMessage,
    add_messages,
    tool_call,
)
from graphkit.prebuilt import InjectedState, InjectedStore, ToolNode, ToolRuntime
from graphkit.prebuilt.tool_node import (
    TOOL_CALL_ERROR_TEMPLATE,
    ToolCallRequest,
    ToolInvocationError,
)
from graphkit.stores import InMemorySaver, InMemoryStore
from graphkit.tools import InjectedToolCallId, tool
from graphkit.types import Command, Send, interrupt


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@tool
def explode(reason: str) -> str:
    """Always fails."""
    raise RuntimeError(f"kaboom: {reason}")


def ai(*specs: tuple[str, dict[str, Any], str]) -> AIMessage:
    return AIMessage("", tool_calls=[tool_call(n, a, i) for n, a, i in specs])


def state_with(*specs: tuple[str, dict[str, Any], str]) -> dict[str, Any]:
    return {"messages": [ai(*specs)]}


def thread(tid: str = "t") -> dict[str, Any]:
    return {"configurable": {"thread_id": tid}}


# -- inputs and outputs ---------------------------------------------------------


def test_invoke_takes_a_state_and_returns_messages_under_the_key() -> None:
    out = ToolNode([add]).invoke(state_with(("add", {"a": 1, "b": 2}, "c1")))
    assert out == {"messages": [ToolMessage(content="3", name="add", tool_call_id="c1")]}


def test_invoke_takes_a_list_of_messages_and_returns_a_list() -> None:
    out = ToolNode([add]).invoke([HumanMessage("hi"), ai(("add", {"a": 2, "b": 2}, "c1"))])
    assert out == [ToolMessage(content="4", name="add", tool_call_id="c1")]


def test_invoke_takes_a_list_of_tool_calls_and_returns_messages_under_the_key() -> None:
    calls = [tool_call("add", {"a": 1, "b": 1}, "x"), tool_call("add", {"a": 2, "b": 2}, "y")]
    out = ToolNode([add]).invoke(calls)
    assert [m.content for m in out["messages"]] == ["2", "4"]


def test_messages_key_names_where_messages_are_read_and_written() -> None:
    node = ToolNode([add], messages_key="inner")
    out = node.invoke({"inner": [ai(("add", {"a": 1, "b": 2}, "c1"))]})
    assert out["inner"][0].content == "3"


def test_ainvoke_awaits_async_tools_on_the_callers_loop() -> None:
    loops: list[Any] = []

    @tool
    async def where(x: int) -> int:
        """Record the running loop."""
        loops.append(asyncio.get_running_loop())
        await asyncio.sleep(0)
        return x

    async def main() -> tuple[Any, Any]:
        out = await ToolNode([where]).ainvoke(state_with(("where", {"x": 5}, "c1")))
        return out, asyncio.get_running_loop()

    out, loop = asyncio.run(main())
    assert out["messages"][0].content == "5"
    assert loops == [loop]


def test_invoke_runs_async_tools_too() -> None:
    @tool
    async def slow_add(a: int, b: int) -> int:
        """Add, slowly."""
        await asyncio.sleep(0)
        return a + b

    out = ToolNode([slow_add]).invoke(state_with(("slow_add", {"a": 2, "b": 3}, "c1")))
    assert out["messages"][0].content == "5"


def test_non_string_results_are_json_keeping_unicode() -> None:
    @tool
    def days() -> list[str]:
        """Weekdays."""
        return ["星期一", "Friday"]

    out = ToolNode([days]).invoke([ai(("days", {}, "c1"))])
    assert out[0].content == '["星期一", "Friday"]'


# -- error handling -----------------------------------------------------------------


def test_by_default_invalid_arguments_become_a_message_naming_them() -> None:
    [msg] = ToolNode([add]).invoke(state_with(("add", {"a": "x"}, "c1")))["messages"]
    assert msg.status == "error"
    assert msg.content.startswith("Error invoking tool 'add' with kwargs {'a': 'x'} with error:")
    assert "a: Input should be a valid integer" in msg.content
    assert "b: Field required" in msg.content


def test_by_default_other_tool_exceptions_fail_the_run() -> None:
    with pytest.raises(RuntimeError, match="kaboom"):
        ToolNode([explode]).invoke(state_with(("explode", {"reason": "r"}, "c1")))


def test_handle_tool_errors_true_catches_everything_with_the_template() -> None:
    node = ToolNode([explode, add], handle_tool_errors=True)
    out = node.invoke(state_with(("explode", {"reason": "r"}, "c1"), ("add", {"a": 1}, "c2")))
    first, second = out["messages"]
    assert first.content == TOOL_CALL_ERROR_TEMPLATE.format(error=repr(RuntimeError("kaboom: r")))
    assert second.status == "error" and "b" in second.content


def test_handle_tool_errors_string_is_the_content() -> None:
    node = ToolNode([explode], handle_tool_errors="try again")
    [msg] = node.invoke(state_with(("explode", {"reason": "r"}, "c1")))["messages"]
    assert (msg.content, msg.status, msg.tool_call_id) == ("try again", "error", "c1")


def test_a_typed_handler_only_handles_the_types_it_names() -> None:
    def on_runtime_error(e: RuntimeError) -> str:
        return f"handled {e}"

    def on_key_error(e: KeyError) -> str:
        return "never"

    call = state_with(("explode", {"reason": "r"}, "c1"))
    out = ToolNode([explode], handle_tool_errors=on_runtime_error).invoke(call)
    assert out["messages"][0].content == "handled kaboom: r"
    with pytest.raises(RuntimeError):
        ToolNode([explode], handle_tool_errors=on_key_error).invoke(call)


def test_an_untyped_handler_handles_everything() -> None:
    out = ToolNode([explode], handle_tool_errors=lambda e: "caught").invoke(
        state_with(("explode", {"reason": "r"}, "c1"))
    )
    assert out["messages"][0].content == "caught"


def test_a_tuple_of_types_is_caught_and_others_raise() -> None:
    call = state_with(("explode", {"reason": "r"}, "c1"))
    out = ToolNode([explode], handle_tool_errors=(RuntimeError,)).invoke(call)
    assert out["messages"][0].status == "error"
    with pytest.raises(RuntimeError):
        ToolNode([explode], handle_tool_errors=(ValueError,)).invoke(call)


def test_handle_tool_errors_false_raises_even_invalid_arguments() -> None:
    with pytest.raises(ToolInvocationError) as info:
        ToolNode([add], handle_tool_errors=False).invoke(state_with(("add", {"a": 1}, "c1")))
    assert info.value.tool_name == "add"
    assert [e["loc"] for e in info.value.filtered_errors] == [("b",)]


def test_unknown_tool_is_an_error_message_even_with_errors_not_handled() -> None:
    node = ToolNode([add], handle_tool_errors=False)
    [msg] = node.invoke(state_with(("mul", {}, "c1")))["messages"]
    assert msg.content == "Error: mul is not a valid tool, try one of [add]."
    assert msg.status == "error" and msg.name == "mul"


def test_validation_errors_never_mention_injected_parameters() -> None:
    @tool
    def lookup(
        value: int,
        state: Annotated[dict[str, Any], InjectedState],
        store: Annotated[Any, InjectedStore()],
        runtime: ToolRuntime,
    ) -> str:
        """Look something up."""
        return "ok"

    out = ToolNode([lookup]).invoke(
        state_with(("lookup", {"value": "nan"}, "c1")),
        {"configurable": {"__pregel_runtime": _FakeRuntime(store=InMemoryStore())}},
    )
    content = out["messages"][0].content.lower()
    assert "value" in content
    assert "state" not in content and "store" not in content and "runtime" not in content


# -- interrupts and Commands in a graph ------------------------------------------


def test_interrupt_in_a_tool_pauses_the_graph_and_resume_answers_it() -> None:
    @tool
    def ask(question: str) -> str:
        """Ask a human."""
        return f"human said {interrupt(question)}"

    graph = (
        StateGraph(MessagesState)
        .add_node("tools", ToolNode([ask], handle_tool_errors=True))
        .add_edge(START, "tools")
        .compile(checkpointer=InMemorySaver())
    )
    first = graph.invoke(state_with(("ask", {"question": "ok?"}, "c1")), thread())
    [pending] = first["__interrupt__"]
    assert pending.value == "ok?"
    done = graph.invoke(Command(resume="yes"), thread())
    assert done["messages"][-1].content == "human said yes"


def test_interrupts_of_parallel_tool_calls_are_raised_together() -> None:
    @tool
    def ask(question: str) -> str:
        """Ask a human."""
        return str(interrupt(question))

    graph = (
        StateGraph(MessagesState)
        .add_node("tools", ToolNode([ask]))
        .add_edge(START, "tools")
        .compile(checkpointer=InMemorySaver())
    )
    out = graph.invoke(
        state_with(("ask", {"question": "a"}, "1"), ("ask", {"question": "b"}, "2")), thread()
    )
    assert sorted(i.value for i in out["__interrupt__"]) == ["a", "b"]


class RoutedState(MessagesState):
    user: NotRequired[str]


def test_a_tool_command_updates_state_and_routes_the_graph() -> None:
    @tool
    def login(name: str, tool_call_id: Annotated[str, InjectedToolCallId]) -> Command[Any]:
        """Log the user in."""
        return Command(
            update={"user": name, "messages": [ToolMessage("done", tool_call_id=tool_call_id)]},
            goto="greet",
        )

    def greet(state: RoutedState) -> dict[str, Any]:
        return {"messages": [AIMessage(f"hello {state['user']}")]}

    graph = (
        StateGraph(RoutedState)
        .add_node("tools", ToolNode([login, add]), destinations=("greet",))
        .add_node("greet", greet)
        .add_edge(START, "tools")
        .add_edge("greet", END)
        .compile()
    )
    out = graph.invoke(
        state_with(("login", {"name": "ada"}, "c1"), ("add", {"a": 1, "b": 1}, "c2"))
    )
    assert out["user"] == "ada"
    contents = [m.content for m in out["messages"][1:]]
    assert contents == ["done", "2", "hello ada"]  # in the order of the calls
    tool_msg = out["messages"][1]
    assert tool_msg.name == "login"


def test_a_node_reached_only_by_a_tools_command_must_be_declared() -> None:
    from graphkit.errors import GraphCompileError

    builder = (
        StateGraph(RoutedState)
        .add_node("tools", ToolNode([add]))
        .add_node("greet", lambda s: {})
        .add_edge(START, "tools")
    )
    with pytest.raises(GraphCompileError, match="destinations"):
        builder.compile()


def test_node_output_keeps_the_order_of_the_calls_when_a_tool_returns_a_command() -> None:
    @tool
    def go(tool_call_id: Annotated[str, InjectedToolCallId]) -> Command[Any]:
        """Go."""
        return Command(
            goto="x", update={"messages": [ToolMessage("went", tool_call_id=tool_call_id)]}
        )

    out = ToolNode([add, go]).invoke(state_with(("go", {}, "1"), ("add", {"a": 1, "b": 2}, "2")))
    assert out == [
        Command(goto="x", update={"messages": [ToolMessage("went", tool_call_id="1", name="go")]}),
        {"messages": [ToolMessage(content="3", name="add", tool_call_id="2")]},
    ]


def test_command_update_must_answer_its_tool_call() -> None:
    @tool
    def silent() -> Command[Any]:
        """Says nothing."""
        return Command(update={"messages": []})

    with pytest.raises(ValueError, match="no ToolMessage with tool_call_id='c1'"):
        ToolNode([silent]).invoke(state_with(("silent", {}, "c1")))


def test_command_to_the_parent_graph_is_not_checked() -> None:
    @tool
    def handoff() -> Command[Any]:
        """Hand off."""
        return Command(graph=Command.PARENT, goto="other", update={"messages": []})

    out = ToolNode([handoff]).invoke(state_with(("handoff", {}, "c1")))
    assert out == [Command(graph=Command.PARENT, goto="other", update={"messages": []})]


def test_command_update_shape_must_match_the_input() -> None:
    @tool
    def as_list(tool_call_id: Annotated[str, InjectedToolCallId]) -> Command[Any]:
        """List update."""
        return Command(update=[ToolMessage("x", tool_call_id=tool_call_id)])

    with pytest.raises(ValueError, match="list"):
        ToolNode([as_list]).invoke(state_with(("as_list", {}, "c1")))
    out = ToolNode([as_list]).invoke([ai(("as_list", {}, "c1"))])
    assert out == [Command(update=[ToolMessage("x", tool_call_id="c1", name="as_list")])]


def test_a_command_removing_all_messages_needs_no_tool_message() -> None:
    @tool
    def wipe() -> Command[Any]:
        """Clear the history."""
        return Command(update={"messages": [RemoveMessage(id=REMOVE_ALL_MESSAGES)]})

    [command] = ToolNode([wipe]).invoke(state_with(("wipe", {}, "c1")))
    assert command.update == {"messages": [RemoveMessage(id=REMOVE_ALL_MESSAGES)]}


# -- injection ---------------------------------------------------------------------


class Shared(TypedDict):
    messages: Annotated[list[AnyMessage], add_messages]
    city: NotRequired[str]


@tool
def weather(city: Annotated[str | None, InjectedState("city")] = None) -> str:
    """The weather."""
    return "no city" if city is None else f"sunny in {city}"


@tool
def strict_weather(city: Annotated[str, InjectedState("city")]) -> str:
    """The weather, city required."""
    return city


def test_injected_state_key_gets_the_value() -> None:
    out = ToolNode([weather]).invoke({**state_with(("weather", {}, "c1")), "city": "Oslo"})
    assert out["messages"][0].content == "sunny in Oslo"


def test_injected_state_key_with_default_gets_none_when_missing() -> None:
    out = ToolNode([weather]).invoke(state_with(("weather", {}, "c1")))
    assert out["messages"][0].content == "no city"


def test_required_injected_state_key_missing_raises_keyerror() -> None:
    with pytest.raises(KeyError, match="city"):
        ToolNode([strict_weather], handle_tool_errors=True).invoke(
            state_with(("strict_weather", {}, "c1"))
        )


def test_list_input_injects_the_messages_as_the_state() -> None:
    @tool
    def count(state: Annotated[dict[str, Any], InjectedState]) -> int:
        """Count messages."""
        return len(state["messages"])

    out = ToolNode([count]).invoke([HumanMessage("a"), ai(("count", {}, "c1"))])
    assert out[0].content == "2"
    with pytest.raises(ValueError, match="needs the graph state"):
        ToolNode([strict_weather]).invoke([ai(("strict_weather", {}, "c1"))])


def test_injected_state_can_be_a_pydantic_state_object() -> None:
    class State(BaseModel):
        messages: list[Any]
        city: str

    out = ToolNode([strict_weather]).invoke(
        State(messages=[ai(("strict_weather", {}, "c1"))], city="Rome")
    )
    assert out["messages"][0].content == "Rome"


def test_injected_store_comes_from_the_graph_and_is_required() -> None:
    @tool
    def recall(key: str, store: Annotated[Any, InjectedStore()]) -> str:
        """Read memory."""
        return str(store.get(("mem",), key).value["v"])

    store = InMemoryStore()
    store.put(("mem",), "k", {"v": "remembered"})
    builder = (
        StateGraph(MessagesState).add_node("tools", ToolNode([recall])).add_edge(START, "tools")
    )
    out = builder.compile(store=store).invoke(state_with(("recall", {"key": "k"}, "c1")))
    assert out["messages"][-1].content == "remembered"
    with pytest.raises(ValueError, match="needs a store"):
        builder.compile().invoke(state_with(("recall", {"key": "k"}, "c1")))


def test_injected_state_overrides_what_the_model_sent() -> None:
    out = ToolNode([weather]).invoke(
        {**state_with(("weather", {"city": "Fake"}, "c1")), "city": "Real"}
    )
    assert out["messages"][0].content == "sunny in Real"


@dataclasses.dataclass
class Ctx:
    user: str


def test_tool_runtime_carries_state_call_id_store_config_context_and_tools() -> None:
    seen: dict[str, Any] = {}

    @tool
    def inspect_it(x: int, rt: ToolRuntime[Ctx]) -> str:
        """Inspect the runtime."""
        seen.update(
            state=rt.state,
            call=rt.tool_call_id,
            store=rt.store,
            ctx=rt.context,
            tools=[t.name for t in rt.tools],
            config=rt.config,
        )
        return "ok"

    store = InMemoryStore()
    state = state_with(("inspect_it", {"x": 1}, "c9"))
    config = {"configurable": {"__pregel_runtime": _FakeRuntime(store=store, context=Ctx("u"))}}
    ToolNode([inspect_it, add]).invoke(state, config)
    assert seen["state"] is state and seen["call"] == "c9" and seen["store"] is store
    assert seen["ctx"] == Ctx("u") and seen["tools"] == ["inspect_it", "add"]
    assert seen["config"] is config
    assert "rt" not in inspect_it.schema["properties"]


def test_tool_runtime_in_a_graph_gets_the_graph_store_and_stream_writer() -> None:
    @tool
    def emit(x: int, runtime: ToolRuntime) -> str:
        """Stream something."""
        assert runtime.stream_writer is not None
        runtime.stream_writer({"x": x})
        return "ok" if runtime.store is not None else "no store"

    graph = (
        StateGraph(MessagesState)
        .add_node("tools", ToolNode([emit]))
        .add_edge(START, "tools")
        .compile(store=InMemoryStore())
    )
    chunks = list(
        graph.stream(state_with(("emit", {"x": 3}, "c1")), stream_mode=["custom", "values"])
    )
    assert ("custom", {"x": 3}) in chunks
    assert chunks[-1][1]["messages"][-1].content == "ok"


def test_tool_calls_sent_with_send_see_the_graph_state() -> None:
    seen: list[Any] = []

    @tool
    def record(runtime: ToolRuntime) -> str:
        """Record the state."""
        seen.append(runtime.state)
        return "ok"

    class State(TypedDict):
        messages: Annotated[list[AnyMessage], add_messages]
        note: str

    call = tool_call("record", {}, "c1")
    graph = (
        StateGraph(State)
        .add_node("tools", ToolNode([record]))
        .add_conditional_edges(START, lambda s: [Send("tools", [call])], ["tools"])
        .compile()
    )
    graph.invoke({"messages": [], "note": "hi"})
    assert seen == [{"messages": [], "note": "hi"}]


def test_tool_call_with_context_input_uses_the_given_state() -> None:
    seen: list[Any] = []

    def spy(request: ToolCallRequest, execute: Callable[[ToolCallRequest], Any]) -> Any:
        seen.append(request.state)
        return execute(request)

    payload = {
        "__type": "tool_call_with_context",
        "tool_call": tool_call("add", {"a": 1, "b": 2}, "c1"),
        "state": {"messages": [], "extra": 1},
    }
    out = ToolNode([add], wrap_tool_call=spy).invoke(payload)
    assert out["messages"][0].content == "3"
    assert seen == [{"messages": [], "extra": 1}]


# -- wrap_tool_call -------------------------------------------------------------------


def test_wrapper_can_change_arguments_with_override() -> None:
    def double(request: ToolCallRequest, execute: Callable[[ToolCallRequest], Any]) -> Any:
        args = {k: v * 2 for k, v in request.tool_call["args"].items()}
        return execute(request.override(tool_call={**request.tool_call, "args": args}))

    out = ToolNode([add], wrap_tool_call=double).invoke(state_with(("add", {"a": 1, "b": 2}, "c1")))
    assert out["messages"][0].content == "6"


def test_wrapper_can_answer_without_running_the_tool() -> None:
    ran: list[str] = []

    @tool
    def costly() -> str:
        """Expensive."""
        ran.append("x")
        return "fresh"

    def cached(request: ToolCallRequest, execute: Callable[[ToolCallRequest], Any]) -> Any:
        return ToolMessage("cached", tool_call_id=request.tool_call["id"], name="costly")

    out = ToolNode([costly], wrap_tool_call=cached).invoke(state_with(("costly", {}, "c1")))
    assert out["messages"][0].content == "cached" and ran == []


def test_wrapper_can_retry() -> None:
    attempts: list[int] = []

    @tool
    def flaky() -> str:
        """Fails once."""
        attempts.append(1)
        if len(attempts) == 1:
            raise ConnectionError("down")
        return "up"

    def retry(request: ToolCallRequest, execute: Callable[[ToolCallRequest], Any]) -> Any:
        for _ in range(3):
            try:
                return execute(request)
            except ConnectionError:
                continue
        raise RuntimeError("gave up")

    out = ToolNode([flaky], wrap_tool_call=retry).invoke(state_with(("flaky", {}, "c1")))
    assert out["messages"][0].content == "up" and len(attempts) == 2


def test_wrapper_exceptions_go_through_handle_tool_errors() -> None:
    def reject(request: ToolCallRequest, execute: Callable[[ToolCallRequest], Any]) -> Any:
        raise PermissionError("not allowed")

    call = state_with(("add", {"a": 1, "b": 2}, "c1"))
    out = ToolNode([add], wrap_tool_call=reject, handle_tool_errors=True).invoke(call)
    assert out["messages"][0].status == "error" and "not allowed" in out["messages"][0].content
    with pytest.raises(PermissionError):
        ToolNode([add], wrap_tool_call=reject, handle_tool_errors=False).invoke(call)


def test_wrapper_sees_no_tool_for_unknown_names_and_can_supply_one() -> None:
    @tool
    def secret() -> str:
        """Not registered."""
        return "from secret"

    def supply(request: ToolCallRequest, execute: Callable[[ToolCallRequest], Any]) -> Any:
        assert request.tool is None
        return execute(request.override(tool=secret))

    out = ToolNode([add], wrap_tool_call=supply).invoke(state_with(("secret", {}, "c1")))
    assert out["messages"][0].content == "from secret"


def test_wrapper_can_rewrite_a_command() -> None:
    @tool
    def jump(to: str) -> Command[Any]:
        """Jump."""
        return Command(goto=to)

    def redirect(request: ToolCallRequest, execute: Callable[[ToolCallRequest], Any]) -> Any:
        result = execute(request)
        return Command(goto=f"checked_{result.goto}")

    out = ToolNode([jump], wrap_tool_call=redirect).invoke(state_with(("jump", {"to": "a"}, "c1")))
    assert out == [Command(goto="checked_a")]


def test_state_override_reaches_injected_state_and_runtime() -> None:
    @tool
    def note(n: Annotated[str, InjectedState("note")], runtime: ToolRuntime) -> str:
        """Read the note twice."""
        return f"{n}/{runtime.state['note']}"

    def change(request: ToolCallRequest, execute: Callable[[ToolCallRequest], Any]) -> Any:
        return execute(request.override(state={**request.state, "note": "new"}))

    state = {**state_with(("note", {}, "c1")), "note": "old"}
    out = ToolNode([note], wrap_tool_call=change).invoke(state)
    assert out["messages"][0].content == "new/new"


def test_async_wrapper_runs_in_ainvoke() -> None:
    async def awrap(
        request: ToolCallRequest, execute: Callable[[ToolCallRequest], Awaitable[Any]]
    ) -> Any:
        result = await execute(request)
        return result.model_copy(update={"content": f"wrapped {result.content}"})

    node = ToolNode([add], awrap_tool_call=awrap)
    call = state_with(("add", {"a": 1, "b": 2}, "c1"))
    assert asyncio.run(node.ainvoke(call))["messages"][0].content == "wrapped 3"
    assert node.invoke(call)["messages"][0].content == "wrapped 3"


def test_sync_wrapper_also_serves_ainvoke() -> None:
    seen: list[str] = []

    def spy(request: ToolCallRequest, execute: Callable[[ToolCallRequest], Any]) -> Any:
        seen.append(request.tool_call["id"] or "")
        return execute(request)

    node = ToolNode([add], wrap_tool_call=spy)
    out = asyncio.run(node.ainvoke(state_with(("add", {"a": 1, "b": 2}, "c1"))))
    assert out["messages"][0].content == "3" and seen == ["c1"]


def test_tool_call_request_override_copies_and_assignment_warns() -> None:
    request = ToolCallRequest(tool_call=tool_call("a", {}, "1"), tool=None, state={}, runtime=None)
    changed = request.override(state={"k": 1})
    assert changed.state == {"k": 1} and request.state == {}
    with pytest.warns(DeprecationWarning, match="Setting attribute 'state' on ToolCallRequest"):
        request.state = {"x": 1}
    assert request.state == {"x": 1}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ToolCallRequest(tool_call=tool_call("a", {}, "1"), tool=None, state={}, runtime=None)


@dataclasses.dataclass
class _FakeRuntime:
    store: Any = None
    context: Any = None
    stream_writer: Any = None


def test_in_an_async_graph_run_async_tools_run_on_the_runs_loop() -> None:
    loops: list[Any] = []

    @tool
    async def where() -> str:
        """Record the loop."""
        loops.append(asyncio.get_running_loop())
        return "here"

    graph = (
        StateGraph(MessagesState)
        .add_node("tools", ToolNode([where]))
        .add_edge(START, "tools")
        .compile()
    )

    async def main() -> Any:
        out = await graph.ainvoke(state_with(("where", {}, "c1")))
        return out, asyncio.get_running_loop()

    out, loop = asyncio.run(main())
    assert out["messages"][-1].content == "here"
    assert loops == [loop]
    assert graph.invoke(state_with(("where", {}, "c2")))["messages"][-1].content == "here"


def test_parallel_hand_offs_to_the_parent_travel_as_one_command() -> None:
    def transfer(to: str) -> Any:
        @tool(f"transfer_to_{to}")
        def hand_off(tool_call_id: Annotated[str, InjectedToolCallId]) -> Command[Any]:
            """Hand off."""
            message = ToolMessage(f"to {to}", tool_call_id=tool_call_id)
            return Command(graph=Command.PARENT, goto=[Send(to, {"messages": [message]})])

        return hand_off

    out = ToolNode([transfer("alice"), transfer("bob")]).invoke(
        state_with(("transfer_to_alice", {}, "1"), ("transfer_to_bob", {}, "2"))
    )
    [command] = out
    assert command.graph == Command.PARENT
    assert [s.node for s in command.goto] == ["alice", "bob"]


class Approval(BaseModel):
    approved: bool


@pytest.mark.parametrize("handler", [True, (ValueError,), lambda e: "handled"])
def test_a_bad_resume_answer_fails_the_run_and_keeps_the_interrupt_open(handler: Any) -> None:
    from pydantic import ValidationError

    @tool
    def approve() -> str:
        """Ask for approval."""
        answer = interrupt("approve?", response_schema=Approval)
        return f"approved={answer.approved}"

    graph = (
        StateGraph(MessagesState)
        .add_node("tools", ToolNode([approve], handle_tool_errors=handler))
        .add_edge(START, "tools")
        .compile(checkpointer=InMemorySaver())
    )
    [pending] = graph.invoke(state_with(("approve", {}, "c1")), thread())["__interrupt__"]
    with pytest.raises(ValidationError, match="approved"):
        graph.invoke(Command(resume={pending.id: {"approved": "maybe"}}), thread())
    assert [i.id for i in graph.get_state(thread()).interrupts] == [pending.id]
    out = graph.invoke(Command(resume={pending.id: {"approved": True}}), thread())
    assert out["messages"][-1].content == "approved=True"


# -- content and artifact, tools_condition on an empty history ------------------------


@tool(response_format="content_and_artifact")
def numbers(n: int) -> tuple[str, list[int]]:
    """Give n numbers."""
    return f"{n} numbers", list(range(n))


@tool(response_format="content_and_artifact")
def unpaired(n: int) -> str:
    """Forgets the artifact."""
    return "just text"


def test_a_content_and_artifact_tool_answers_with_content_and_keeps_the_artifact() -> None:
    out = ToolNode([numbers]).invoke(state_with(("numbers", {"n": 3}, "c1")))
    assert out == {
        "messages": [
            ToolMessage(content="3 numbers", name="numbers", tool_call_id="c1", artifact=[0, 1, 2])
        ]
    }


async def test_a_content_and_artifact_tool_keeps_the_artifact_in_ainvoke() -> None:
    out = await ToolNode([numbers]).ainvoke(state_with(("numbers", {"n": 2}, "c1")))
    assert out["messages"][0].artifact == [0, 1] and out["messages"][0].content == "2 numbers"


def test_a_content_and_artifact_tool_without_a_pair_is_a_tool_error() -> None:
    call = ("unpaired", {"n": 1}, "c1")
    with pytest.raises(ValueError, match="two-tuple"):
        ToolNode([unpaired]).invoke(state_with(call))
    out = ToolNode([unpaired], handle_tool_errors=True).invoke(state_with(call))
    assert out["messages"][0].status == "error" and "two-tuple" in out["messages"][0].content


def test_tools_condition_rejects_an_empty_history() -> None:
    from graphkit.prebuilt import tools_condition

    with pytest.raises(ValueError, match="no messages in 'messages'"):
        tools_condition({"messages": []})


# -- a tool's list of Commands and ToolMessages; content as LangGraph makes it ----------


class CountedState(MessagesState):
    a: NotRequired[int]
    b: NotRequired[int]


def test_a_tool_may_return_a_list_of_commands_with_one_answer() -> None:
    @tool
    def both(tool_call_id: Annotated[str, InjectedToolCallId]) -> list[Command[Any]]:
        """Sets two keys."""
        answer = ToolMessage("set", tool_call_id=tool_call_id)
        return [Command(update={"a": 1}), Command(update={"b": 2, "messages": [answer]})]

    graph = StateGraph(CountedState).add_node("tools", ToolNode([both])).add_edge(START, "tools")
    out = graph.compile().invoke(state_with(("both", {}, "c1")))
    assert (out["a"], out["b"]) == (1, 2)
    answer = out["messages"][-1]
    assert (answer.content, answer.tool_call_id, answer.name) == ("set", "c1", "both")


def test_a_tool_may_return_a_command_and_its_tool_message() -> None:
    @tool
    def pair(tool_call_id: Annotated[str, InjectedToolCallId]) -> list[Any]:
        """Sets a key, answers apart."""
        return [Command(update={"a": 5}), ToolMessage("done", tool_call_id=tool_call_id)]

    graph = StateGraph(CountedState).add_node("tools", ToolNode([pair])).add_edge(START, "tools")
    out = graph.compile().invoke(state_with(("pair", {}, "c1")))
    assert out["a"] == 5 and out["messages"][-1].content == "done"


@pytest.mark.parametrize("answers", [0, 2])
def test_a_tool_list_must_answer_its_call_exactly_once(answers: int) -> None:
    @tool
    def bad(tool_call_id: Annotated[str, InjectedToolCallId]) -> list[Any]:
        """Answers the wrong number of times."""
        return [Command(update={"a": 1})] + [
            ToolMessage("x", tool_call_id=tool_call_id) for _ in range(answers)
        ]

    with pytest.raises(ValueError, match=f"list with {answers} messages bound to tool_call_id"):
        ToolNode([bad]).invoke(state_with(("bad", {}, "c1")))


def test_tool_results_become_content_as_langgraph_makes_it() -> None:
    from graphkit.prebuilt.tool_node import msg_content_output

    class Temp(BaseModel):
        degrees: int

    assert msg_content_output(Temp(degrees=3)) == "degrees=3"
    assert msg_content_output({"ok": {1}}) == "{'ok': {1}}"
    assert msg_content_output(["a", "b"]) == '["a", "b"]'
    assert msg_content_output([{"type": "unknown"}]) == '[{"type": "unknown"}]'
    assert msg_content_output([]) == []
    assert msg_content_output([{"type": "image_url", "image_url": {"url": "u"}}]) == [
        {"type": "image_url", "image_url": {"url": "u"}}
    ]


def test_a_returned_tool_message_gets_its_content_normalized() -> None:
    @tool
    def listed(tool_call_id: Annotated[str, InjectedToolCallId]) -> ToolMessage:
        """Answers with a list of strings."""
        return ToolMessage(["x", "y"], tool_call_id=tool_call_id)

    out = ToolNode([listed]).invoke(state_with(("listed", {}, "c1")))
    assert out["messages"][0].content == '["x", "y"]'


def test_a_malformed_tool_output_is_a_tool_error_for_handle_tool_errors() -> None:
    @tool
    def unanswered() -> Command[Any]:
        """Forgets to answer."""
        return Command(update={"messages": []})

    call = ("unanswered", {}, "c1")
    with pytest.raises(ValueError, match="no ToolMessage"):
        ToolNode([unanswered]).invoke(state_with(call))
    out = ToolNode([unanswered], handle_tool_errors=True).invoke(state_with(call))
    assert out["messages"][0].status == "error" and "no ToolMessage" in out["messages"][0].content


def test_langgraphs_names_of_the_tool_node_module_are_there() -> None:
    from pydantic import ValidationError

    from graphkit.prebuilt import chat_agent_executor, tool_node

    assert (
        chat_agent_executor.create_tool_calling_executor is chat_agent_executor.create_react_agent
    )
    assert set(tool_node.ToolCallWithContext.__annotations__) == {"__type", "tool_call", "state"}
    with pytest.raises(ValidationError) as info:
        add.args_model.model_validate({"a": "x", "b": 1})
    problem = "a: Input should be a valid integer, unable to parse string as an integer"
    assert str(ToolInvocationError("add", info.value, {"a": "x", "b": 1})) == (
        tool_node.TOOL_INVOCATION_ERROR_TEMPLATE.format(
            tool_name="add", tool_kwargs={"a": "x", "b": 1}, error=problem
        )
    )


def test_tools_condition_edges_are_drawn_as_conditional_to_tools_and_end() -> None:
    from graphkit.prebuilt import tools_condition

    builder = StateGraph(MessagesState)
    builder.add_node("agent", lambda state: {"messages": []})
    builder.add_node("tools", ToolNode([add]))
    builder.add_edge(START, "agent")
    builder.add_conditional_edges("agent", tools_condition)
    builder.add_edge("tools", "agent")
    edges = builder.compile().get_graph().to_json()["edges"]
    from_agent = {
        (e["target"], e.get("conditional", False)) for e in edges if e["source"] == "agent"
    }
    assert from_agent == {("tools", True), (END, True)}
