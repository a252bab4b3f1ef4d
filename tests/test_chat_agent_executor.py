"""create_react_agent options as in LangGraph: versions, hooks, remaining steps,
dynamic models, prompts, structured responses, pydantic state, interrupts in tools."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import pytest
from pydantic import BaseModel

from graphkit.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage, tool_call
from graphkit.models import FakeChatModel
from graphkit.prebuilt import (
    AgentState,
    AgentStatePydantic,
    ToolNode,
    create_react_agent,
)
from graphkit.prebuilt.chat_agent_executor import NEED_MORE_STEPS
from graphkit.stores import InMemorySaver
from graphkit.tools import InjectedToolCallId, tool
from graphkit.types import Command, interrupt


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def asks(*specs: tuple[str, dict[str, Any], str]) -> AIMessage:
    return AIMessage("", tool_calls=[tool_call(n, a, i) for n, a, i in specs])


def user(text: str) -> dict[str, Any]:
    return {"messages": [HumanMessage(text)]}


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_both_versions_answer_parallel_calls_in_order(version: str) -> None:
    model = FakeChatModel(
        [asks(("add", {"a": 1, "b": 1}, "x"), ("add", {"a": 2, "b": 2}, "y")), "done"]
    )
    agent = create_react_agent(model, [add], version=version)  # type: ignore[arg-type]
    out = agent.invoke(user("q"))
    assert [m.content for m in out["messages"] if isinstance(m, ToolMessage)] == ["2", "4"]
    assert out["messages"][-1].content == "done"


def test_v2_runs_one_tools_task_per_call_v1_one_for_all() -> None:
    def tools_updates(version: str) -> int:
        model = FakeChatModel(
            [asks(("add", {"a": 1, "b": 1}, "x"), ("add", {"a": 2, "b": 2}, "y")), "ok"]
        )
        agent = create_react_agent(model, [add], version=version)  # type: ignore[arg-type]
        return sum("tools" in chunk for chunk in agent.stream(user("q"), stream_mode="updates"))

    assert tools_updates("v1") == 1
    assert tools_updates("v2") == 2


def test_bad_version_is_rejected() -> None:
    with pytest.raises(ValueError, match="version"):
        create_react_agent(FakeChatModel(["x"]), [add], version="v3")  # type: ignore[arg-type]


def test_pre_model_hook_can_change_what_the_model_sees_without_touching_state() -> None:
    model = FakeChatModel(["answer"])

    def trim(state: dict[str, Any]) -> dict[str, Any]:
        return {"llm_input_messages": [HumanMessage("only this")]}

    out = create_react_agent(model, [add], pre_model_hook=trim).invoke(user("long history"))
    assert [m.content for m in model.calls[0]] == ["only this"]
    assert [m.content for m in out["messages"]] == ["long history", "answer"]
    assert "llm_input_messages" not in out


def test_post_model_hook_runs_after_each_model_call() -> None:
    seen: list[str] = []

    def audit(state: dict[str, Any]) -> dict[str, Any]:
        seen.append(str(state["messages"][-1].content))
        return {}

    model = FakeChatModel([asks(("add", {"a": 1, "b": 2}, "c1")), "three"])
    out = create_react_agent(model, [add], post_model_hook=audit).invoke(user("q"))
    assert out["messages"][-1].content == "three"
    assert seen == ["", "three"]


def test_the_agent_stops_gracefully_when_steps_run_out() -> None:
    model = FakeChatModel([asks(("add", {"a": 1, "b": 2}, "c1"))], cycle=True)
    agent = create_react_agent(model, [add])
    out = agent.invoke(user("loop"), {"recursion_limit": 6})
    assert out["messages"][-1].content == NEED_MORE_STEPS
    assert not out["messages"][-1].tool_calls


def test_dynamic_model_is_chosen_per_step_with_state_and_runtime() -> None:
    seen: list[int] = []
    model = FakeChatModel(["dynamic"])

    def choose(state: dict[str, Any], runtime: Any) -> FakeChatModel:
        seen.append(len(state["messages"]))
        return model

    out = create_react_agent(choose, [add]).invoke(user("hi"))
    assert out["messages"][-1].content == "dynamic" and seen == [1]


def test_dynamic_model_may_take_only_the_state_and_be_async() -> None:
    async def choose(state: dict[str, Any]) -> FakeChatModel:
        return FakeChatModel(["async choice"])

    agent = create_react_agent(choose, [])
    assert agent.invoke(user("hi"))["messages"][-1].content == "async choice"
    out = asyncio.run(agent.ainvoke(user("hi")))
    assert out["messages"][-1].content == "async choice"


@pytest.mark.parametrize(
    ("prompt", "first"),
    [
        ("be brief", "be brief"),
        (SystemMessage("as message"), "as message"),
        (lambda state: [SystemMessage("built"), *state["messages"]], "built"),
    ],
)
def test_prompt_forms(prompt: Any, first: str) -> None:
    model = FakeChatModel(["ok"])
    create_react_agent(model, [], prompt=prompt).invoke(user("hi"))
    assert model.calls[0][0].content == first
    assert model.calls[0][-1].content == "hi"


def test_prompt_may_be_an_object_with_invoke() -> None:
    class Prompt:
        def invoke(self, state: Any) -> list[Any]:
            return [SystemMessage("runnable"), *state["messages"]]

    model = FakeChatModel(["ok"])
    create_react_agent(model, [], prompt=Prompt()).invoke(user("hi"))
    assert model.calls[0][0].content == "runnable"


class Weather(BaseModel):
    temperature: int


def test_structured_response_with_its_own_system_prompt() -> None:
    model = FakeChatModel(["it is warm", Weather(temperature=25)])
    agent = create_react_agent(model, [], response_format=("extract it", Weather))
    out = agent.invoke(user("weather?"))
    assert out["structured_response"] == Weather(temperature=25)
    assert model.calls[1][0].content == "extract it"


def test_pydantic_state_and_a_tool_command_with_interrupt() -> None:
    class State(AgentStatePydantic):
        user_name: str | None = None

    @tool
    def get_user_name(tool_call_id: Annotated[str, InjectedToolCallId]) -> Command[Any]:
        """Ask for the user's name."""
        name = interrupt("name?")
        return Command(
            update={
                "user_name": name,
                "messages": [ToolMessage("got it", tool_call_id=tool_call_id)],
            }
        )

    def prompt(state: State) -> list[Any]:
        extra = [SystemMessage(f"user is {state.user_name}")] if state.user_name else []
        return [*extra, *state.messages]

    model = FakeChatModel([asks(("get_user_name", {}, "1")), "hello"])
    agent = create_react_agent(
        model, [get_user_name], state_schema=State, prompt=prompt, checkpointer=InMemorySaver()
    )
    config = {"configurable": {"thread_id": "1"}}
    first = agent.invoke(user("who am I"), config)
    assert first["__interrupt__"][0].value == "name?"
    out = agent.invoke(Command(resume="Ada"), config)
    assert out["user_name"] == "Ada"
    assert out["messages"][-2].content == "got it" and out["messages"][-2].name == "get_user_name"
    assert model.calls[-1][0].content == "user is Ada"


def test_name_tags_the_agents_messages_and_the_graph() -> None:
    agent = create_react_agent(FakeChatModel(["hi"]), [], name="helper")
    assert agent.invoke(user("q"))["messages"][-1].name == "helper"
    assert agent.name == "helper"


def test_interrupt_before_tools_pauses_there() -> None:
    model = FakeChatModel([asks(("add", {"a": 1, "b": 2}, "c1")), "3"])
    agent = create_react_agent(
        model, [add], checkpointer=InMemorySaver(), interrupt_before=["tools"], version="v1"
    )
    config = {"configurable": {"thread_id": "t"}}
    agent.invoke(user("q"), config)
    assert agent.get_state(config).next == ("tools",)
    assert agent.invoke(None, config)["messages"][-1].content == "3"


def test_unanswered_tool_calls_in_the_history_are_reported() -> None:
    agent = create_react_agent(FakeChatModel(["x"]), [add])
    with pytest.raises(ValueError, match="do not have a corresponding ToolMessage"):
        agent.invoke({"messages": [HumanMessage("q"), asks(("add", {"a": 1, "b": 1}, "c1"))]})


def test_a_tool_node_with_error_handling_can_be_passed_in() -> None:
    @tool
    def broken() -> str:
        """Fails."""
        raise RuntimeError("nope")

    model = FakeChatModel([asks(("broken", {}, "c1")), "sorry"])
    out = create_react_agent(model, ToolNode([broken], handle_tool_errors=True)).invoke(user("q"))
    assert out["messages"][2].status == "error"


def test_agent_state_declares_remaining_steps() -> None:
    assert "remaining_steps" in AgentState.__annotations__
    assert AgentStatePydantic(messages=[]).remaining_steps == 25


def test_v2_pauses_before_each_sent_tool_call_and_resumes() -> None:
    model = FakeChatModel(
        [asks(("add", {"a": 1, "b": 2}, "x"), ("add", {"a": 3, "b": 4}, "y")), "ok"]
    )
    agent = create_react_agent(
        model, [add], checkpointer=InMemorySaver(), interrupt_before=["tools"]
    )
    config = {"configurable": {"thread_id": "v2"}}
    agent.invoke(user("q"), config)
    assert agent.get_state(config).next == ("tools", "tools")
    out = agent.invoke(None, config)
    assert [m.content for m in out["messages"]] == ["q", "", "3", "7", "ok"]


def test_ainvoke_runs_the_whole_loop_with_async_tools() -> None:
    @tool
    async def mul(a: int, b: int) -> int:
        """Multiply."""
        await asyncio.sleep(0)
        return a * b

    model = FakeChatModel([asks(("mul", {"a": 6, "b": 7}, "c1")), "42 it is"])
    out = asyncio.run(create_react_agent(model, [mul]).ainvoke(user("q")))
    assert [m.content for m in out["messages"]] == ["q", "", "42", "42 it is"]


def test_structured_response_uses_the_dynamic_model() -> None:
    chosen = FakeChatModel(["warm", Weather(temperature=30)])
    agent = create_react_agent(lambda state: chosen, [], response_format=Weather)
    assert agent.invoke(user("w?"))["structured_response"] == Weather(temperature=30)


def test_a_state_schema_without_the_keys_the_agent_writes_is_rejected() -> None:
    from typing_extensions import TypedDict

    class NoMessages(TypedDict):
        other: str

    with pytest.raises(ValueError, match=r"lacks the key\(s\) \['messages'\]"):
        create_react_agent(FakeChatModel(["x"]), [], state_schema=NoMessages)
    with pytest.raises(ValueError, match="structured_response"):
        create_react_agent(
            FakeChatModel(["x"]), [], state_schema=AgentState, response_format=Weather
        )


# -- parity with LangGraph found by running both side by side ---------------------


@tool(return_direct=True)
def finish(answer: str) -> str:
    """Give the final answer."""
    return answer


@tool(return_direct=True)
def failing_finish(answer: str) -> str:
    """Fails while giving the final answer."""
    raise RuntimeError("cannot finish")


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_a_return_direct_call_among_parallel_calls_ends_the_run(version: str) -> None:
    model = FakeChatModel(
        [asks(("finish", {"answer": "42"}, "f"), ("add", {"a": 1, "b": 1}, "a")), "unused"]
    )
    agent = create_react_agent(model, [finish, add], version=version)  # type: ignore[arg-type]
    out = agent.invoke(user("q"))
    assert [type(m).__name__ for m in out["messages"]][-2:] == ["ToolMessage", "ToolMessage"]
    assert len(model.calls) == 1


def test_a_return_direct_tool_ends_the_run_even_when_its_error_was_handled() -> None:
    model = FakeChatModel([asks(("failing_finish", {"answer": "x"}, "f")), "unused"])
    tools = ToolNode([failing_finish], handle_tool_errors=True)
    out = create_react_agent(model, tools).invoke(user("q"))
    assert out["messages"][-1].status == "error" and len(model.calls) == 1


def test_an_async_prompt_function_is_awaited_in_both_invoke_and_ainvoke() -> None:
    async def prompt(state: dict[str, Any]) -> list[Any]:
        return [SystemMessage("async prompt"), *state["messages"]]

    model = FakeChatModel(["a", "b"])
    agent = create_react_agent(model, [], prompt=prompt)
    asyncio.run(agent.ainvoke(user("hi")))
    agent.invoke(user("hi"))
    assert [call[0].content for call in model.calls] == ["async prompt", "async prompt"]


def test_an_object_prompt_is_awaited_with_ainvoke_in_async_runs() -> None:
    class Prompt:
        def invoke(self, state: Any) -> list[Any]:
            return [SystemMessage("sync"), *state["messages"]]

        async def ainvoke(self, state: Any) -> list[Any]:
            return [SystemMessage("async"), *state["messages"]]

    model = FakeChatModel(["a", "b"])
    agent = create_react_agent(model, [], prompt=Prompt())
    agent.invoke(user("hi"))
    asyncio.run(agent.ainvoke(user("hi")))
    assert [call[0].content for call in model.calls] == ["sync", "async"]


def test_a_prompt_function_sees_the_pre_model_hooks_messages_and_remaining_steps() -> None:
    seen: list[Any] = []

    def trim(state: dict[str, Any]) -> dict[str, Any]:
        seen.append(state["remaining_steps"])
        return {"llm_input_messages": [HumanMessage("trimmed")]}

    def prompt(state: dict[str, Any]) -> list[Any]:
        seen.append([m.content for m in state["messages"]])
        seen.append(state["remaining_steps"])
        return state["messages"]

    model = FakeChatModel(["ok"])
    agent = create_react_agent(model, [add], prompt=prompt, pre_model_hook=trim)
    out = agent.invoke(user("full history"), {"recursion_limit": 10})
    assert seen == [9, ["trimmed"], 8]
    assert [m.content for m in out["messages"]] == ["full history", "ok"]


def test_a_pre_model_hook_may_leave_unanswered_calls_out_of_the_model_input() -> None:
    def drop_open_calls(state: dict[str, Any]) -> dict[str, Any]:
        return {"llm_input_messages": [HumanMessage("fresh start")]}

    model = FakeChatModel(["ok"])
    history = [HumanMessage("q"), asks(("add", {"a": 1, "b": 1}, "open")), HumanMessage("again")]
    agent = create_react_agent(model, [add], pre_model_hook=drop_open_calls)
    assert agent.invoke({"messages": history})["messages"][-1].content == "ok"


def test_a_prompt_of_the_wrong_type_is_rejected_when_the_agent_is_built() -> None:
    with pytest.raises(ValueError, match="prompt must be"):
        create_react_agent(FakeChatModel(["x"]), [add], prompt=42)


def test_a_model_bound_to_other_tools_is_rejected() -> None:
    @tool
    def other(x: int) -> int:
        """Another tool."""
        return x

    with pytest.raises(ValueError, match=r"missing \['add'\]"):
        create_react_agent(FakeChatModel(["x"]).bind_tools([other]), [add])
    with pytest.raises(ValueError, match="differ"):
        create_react_agent(FakeChatModel(["x"]).bind_tools([add, other]), [add])
    bound = FakeChatModel(["fine"]).bind_tools([add])
    assert create_react_agent(bound, [add]).invoke(user("q"))["messages"][-1].content == "fine"


def test_a_content_and_artifact_tool_keeps_its_artifact_in_the_history() -> None:
    @tool(response_format="content_and_artifact")
    def rows(n: int) -> tuple[str, list[int]]:
        """Fetch rows."""
        return f"{n} rows", list(range(n))

    model = FakeChatModel([asks(("rows", {"n": 2}, "r")), "done"])
    out = create_react_agent(model, [rows]).invoke(user("q"))
    answer = out["messages"][2]
    assert (answer.content, answer.artifact) == ("2 rows", [0, 1])


def test_the_agent_names_every_reply_after_itself_even_when_unnamed() -> None:
    named_reply = AIMessage("hi", name="model-name")
    out = create_react_agent(FakeChatModel([named_reply]), []).invoke(user("q"))
    assert out["messages"][-1].name is None
    out = create_react_agent(FakeChatModel([named_reply]), [], name="bot").invoke(user("q"))
    assert out["messages"][-1].name == "bot"
