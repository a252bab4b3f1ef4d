"""Typed usages of graphkit's public API, checked by mypy in ``make test``.

``assert_type`` lines state what a checker must infer; a line ending in
``# type: ignore[code]`` must be an error with that code (mypy runs with
``warn_unused_ignores``, so an ignore that stops being needed fails the check).
Nothing here runs: the functions are only type-checked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from typing_extensions import TypedDict, assert_type

from graphkit import Command, RunnableConfig, StateSnapshot, get_config, get_store
from graphkit.checkpoint.memory import InMemorySaver
from graphkit.graph import START, CompiledStateGraph, StateGraph
from graphkit.store.base import BaseStore
from graphkit.store.memory import InMemoryStore
from graphkit.types import GraphOutput, Interrupt


class State(TypedDict):
    topic: str
    count: int


class Output(TypedDict):
    count: int


class Model(BaseModel):
    topic: str = ""


@dataclass
class Data:
    topic: str = ""


def step(state: State) -> dict[str, Any]:
    return {"count": state["count"] + 1}


def typed_dict_state() -> None:
    builder = StateGraph(State)
    builder.add_node("step", step)
    builder.add_edge(START, "step")
    graph = builder.compile(checkpointer=InMemorySaver(), store=InMemoryStore())
    assert_type(graph, CompiledStateGraph[State, None, State, State])
    result = graph.invoke({"topic": "x", "count": 0})
    assert_type(result, State)
    assert_type(result["count"], int)
    result["missing"]  # type: ignore[typeddict-item]
    config: RunnableConfig = {"configurable": {"thread_id": "1"}, "recursion_limit": 5}
    assert_type(graph.invoke(Command(resume="yes"), config), State)
    assert_type(graph.invoke(None, config, version="v2"), GraphOutput)
    assert_type(graph.get_state(config), StateSnapshot)
    assert_type(graph.update_state(config, {"count": 2}), RunnableConfig)
    graph.invoke({"topic": "x"}, {"recursion_limt": 5})  # type: ignore[call-overload]


def output_schema() -> None:
    builder = StateGraph(State, output_schema=Output)
    assert_type(builder.compile().invoke({"topic": "x", "count": 0}), Output)


async def pydantic_and_dataclass_states_return_dicts() -> None:
    model_graph = StateGraph(Model).compile()
    assert_type(model_graph.invoke({"topic": "x"}), dict[str, Any])
    assert_type(await model_graph.ainvoke(Model(topic="x")), dict[str, Any])
    data_graph = StateGraph(Data).compile()
    assert_type(data_graph.invoke(Data()), dict[str, Any])


def compile_takes_our_types() -> None:
    builder = StateGraph(State)
    builder.compile(checkpointer=True)
    builder.compile(checkpointer="memory")  # type: ignore[arg-type]
    builder.compile(store=InMemorySaver())  # type: ignore[arg-type]


def inside_a_node() -> None:
    assert_type(get_store(), BaseStore)
    assert_type(get_config(), RunnableConfig)


@dataclass
class Context:
    user_id: str


def context_schema_is_the_second_argument() -> None:
    graph = StateGraph(State, Context).compile()
    assert_type(graph, CompiledStateGraph[State, Context, State, State])


def prebuilt_agent_is_a_compiled_graph() -> None:
    from graphkit.models.fake import FakeChatModel
    from graphkit.prebuilt import create_react_agent

    agent = create_react_agent(FakeChatModel(responses=[]), [])
    assert_type(agent, CompiledStateGraph[Any, Any, Any, Any])


def message_helpers_return_messages_or_a_transform() -> None:
    from graphkit.messages import (
        BaseMessage,
        HumanMessage,
        MessageLikeRepresentation,
        MessagesTransform,
        convert_to_openai_messages,
        count_tokens_approximately,
        filter_messages,
        merge_message_runs,
        trim_messages,
    )

    history: list[MessageLikeRepresentation] = [HumanMessage("hi"), ("ai", "hello")]
    assert_type(trim_messages(history, max_tokens=5, token_counter=len), list[BaseMessage])
    assert_type(trim_messages(max_tokens=5, token_counter="approximate"), MessagesTransform)
    assert_type(filter_messages(history, include_types=["human"]), list[BaseMessage])
    assert_type(filter_messages(exclude_tool_calls=True), MessagesTransform)
    assert_type(merge_message_runs(history), list[BaseMessage])
    assert_type(merge_message_runs(chunk_separator=""), MessagesTransform)
    assert_type(count_tokens_approximately(history), int)
    assert_type(convert_to_openai_messages(HumanMessage("hi")), dict[str, Any])
    assert_type(convert_to_openai_messages(history), list[dict[str, Any]])
    trim_messages(history, max_tokens=5, token_counter=len, strategy="middle")  # type: ignore[call-overload]


def v2_stream_parts_narrow_on_their_type(part: Any) -> None:
    from graphkit.types import StreamPart, TaskPayload, TaskResultPayload

    typed: StreamPart[dict[str, Any], dict[str, Any]] = part
    if typed["type"] == "values":
        assert_type(typed["data"], dict[str, Any])
        assert_type(typed["interrupts"], tuple[Interrupt, ...])
    elif typed["type"] == "tasks":
        assert_type(typed["data"], TaskPayload | TaskResultPayload)
