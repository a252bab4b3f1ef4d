"""Tool schemas from functions, injection markers, validation and conversion."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import pytest
from pydantic import BaseModel, Field
from typing_extensions import TypedDict

from graphkit import START, Command, StateGraph, ToolMessage
from graphkit.tools import (
    InjectedState,
    InjectedStore,
    InjectedToolCallId,
    Tool,
    ToolArgumentsError,
    convert_to_tool,
    tool,
)


@tool
def search(query: str, limit: int = 3) -> list[str]:
    """Search the web for a query.

    Longer explanation that is not part of the description.

    Args:
        query: what to look for,
            continued on the next line
        limit (int): how many results

    Returns:
        the hits
    """
    return [query] * limit


def test_name_description_and_arg_docs_come_from_the_function() -> None:
    assert search.name == "search"
    assert search.description == "Search the web for a query."
    schema = search.schema
    assert schema["required"] == ["query"]
    assert schema["properties"]["query"] == {
        "type": "string",
        "description": "what to look for, continued on the next line",
    }
    assert schema["properties"]["limit"]["default"] == 3
    assert schema["properties"]["limit"]["description"] == "how many results"


def test_invoke_validates_and_coerces_arguments() -> None:
    assert search.invoke({"query": "x", "limit": "2"}) == ["x", "x"]


def test_invalid_arguments_name_the_tool_and_the_field() -> None:
    with pytest.raises(ToolArgumentsError, match="Error invoking tool 'search' .*\n limit:"):
        search.invoke({"query": "x", "limit": "many"})
    with pytest.raises(ToolArgumentsError, match="query: Field required"):
        search.invoke({})


def test_decorated_tool_still_calls_like_the_function() -> None:
    assert search("a", 1) == ["a"]


def test_decorator_with_name_and_description() -> None:
    @tool("lookup", description="Look a thing up.")
    def f(key: str) -> str:
        return key

    assert (f.name, f.description) == ("lookup", "Look a thing up.")


def test_injected_parameters_are_hidden_and_filled_in() -> None:
    @tool
    def remember(
        fact: str,
        state: dict[str, Any],
        tool_call_id: str,
        user: Annotated[str, InjectedState("user")],
        db: Annotated[Any, InjectedStore],
    ) -> str:
        """Remember a fact."""
        return f"{fact}/{len(state['messages'])}/{tool_call_id}/{user}/{db}"

    assert set(remember.schema["properties"]) == {"fact"}
    out = remember.invoke(
        {"fact": "f"},
        state={"messages": [1, 2], "user": "ann"},
        tool_call_id="c1",
        store="S",
        config={},
    )
    assert out == "f/2/c1/ann/S"


def test_async_tools_run_both_ways() -> None:
    @tool
    async def double(x: int) -> int:
        """Double x."""
        await asyncio.sleep(0)
        return 2 * x

    assert double.coroutine is not None and double.func is None
    assert double.invoke({"x": 2}) == 4
    assert asyncio.run(double.ainvoke({"x": 3})) == 6
    assert asyncio.run(search.ainvoke({"query": "q", "limit": 1})) == ["q"]


def test_args_schema_pydantic_model_replaces_the_signature() -> None:
    class Args(BaseModel):
        city: str = Field(description="a city name")

    @tool(args_schema=Args)
    def weather(city: str) -> str:
        """Weather in a city."""
        return f"sunny in {city}"

    assert weather.schema["properties"]["city"]["description"] == "a city name"
    assert weather.invoke({"city": "Oslo"}) == "sunny in Oslo"


class Person(BaseModel):
    """A person mentioned in the text."""

    name: str
    age: int


class Movie(TypedDict):
    """A movie."""

    title: str
    year: int


def test_convert_to_tool_accepts_models_typeddicts_and_dicts() -> None:
    person = convert_to_tool(Person)
    assert (person.name, person.description) == ("Person", "A person mentioned in the text.")
    assert person.schema["required"] == ["name", "age"]
    movie = convert_to_tool(Movie)
    assert movie.name == "Movie" and movie.schema["properties"]["year"]["type"] == "integer"
    assert movie.validate_args({"title": "x", "year": "1999"}) == {"title": "x", "year": 1999}
    openai_style = convert_to_tool(
        {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
    )
    assert openai_style.name == "f" and openai_style.schema == {"type": "object"}
    anthropic_style = convert_to_tool({"name": "g", "input_schema": {"type": "object"}})
    assert anthropic_style.schema == {"type": "object"}


def test_convert_to_tool_wraps_functions_and_rejects_junk() -> None:
    def ping() -> str:
        return "pong"

    converted = convert_to_tool(ping)
    assert isinstance(converted, Tool) and converted.invoke({}) == "pong"
    with pytest.raises(TypeError, match="cannot use a int as a tool"):
        convert_to_tool(3)


def test_schema_only_tool_cannot_be_invoked() -> None:
    with pytest.raises(TypeError, match="only describes a schema"):
        convert_to_tool(Person).invoke({"name": "a", "age": 1})


def test_a_tool_added_as_a_node_takes_its_arguments_from_the_state() -> None:
    class S(TypedDict, total=False):
        city: str
        units: str
        report: str
        user: str

    @tool
    def weather(city: str, units: str = "C") -> dict[str, str]:
        """Weather for a city."""
        return {"report": f"20{units} in {city}"}

    @tool
    def who() -> Command:
        """Names the user."""
        return Command(update={"user": "Meow"})

    graph = (
        StateGraph(S)
        .add_node(weather)  # named after the tool
        .add_node("who", who)
        .add_edge(START, "weather")
        .add_edge("weather", "who")
        .compile()
    )
    assert graph.invoke({"city": "Oslo", "units": "F"}) == {
        "city": "Oslo",
        "units": "F",
        "report": "20F in Oslo",
        "user": "Meow",
    }
    with pytest.raises(Exception, match="city"):  # a missing argument is the tool's error
        graph.invoke({"units": "F"})


def test_content_and_artifact_tool_returns_only_the_content_when_invoked() -> None:
    @tool(response_format="content_and_artifact")
    def fetch(n: int) -> tuple[str, list[int]]:
        """Fetch n numbers."""
        return f"{n} numbers", list(range(n))

    assert fetch.response_format == "content_and_artifact"
    assert fetch.invoke({"n": 3}) == "3 numbers"
    assert fetch.split_output(("c", [1])) == ("c", [1])
    with pytest.raises(ValueError, match="two-tuple"):
        fetch.split_output("only content")


def test_an_unknown_response_format_is_rejected() -> None:
    with pytest.raises(ValueError, match="content_and_artifact"):
        tool(response_format="artifact")  # type: ignore[call-overload]


def test_argument_errors_list_one_problem_per_line_as_langgraph_does() -> None:
    with pytest.raises(ToolArgumentsError) as info:
        search.validate_args({"limit": "many"})
    assert str(info.value) == (
        "Error invoking tool 'search' with kwargs {'limit': 'many'} with error:\n"
        " query: Field required\n"
        "limit: Input should be a valid integer, unable to parse string as an integer\n"
        " Please fix the error and try again."
    )


def test_a_plain_typed_parameter_named_state_or_store_is_the_models_argument() -> None:
    @tool
    def weather(city: str, state: str, store: str | None = None) -> str:
        """Weather in a US city."""
        return f"{city}, {state}, {store}"

    assert set(weather.schema["properties"]) == {"city", "state", "store"}
    assert weather.invoke({"city": "SF", "state": "CA"}, state={"messages": []}) == "SF, CA, None"


def test_a_runnable_config_annotation_gets_the_config_under_any_name() -> None:
    from graphkit.config import RunnableConfig

    @tool
    def who(x: int, settings: RunnableConfig) -> str:
        """Who is asking."""
        return str(settings["configurable"]["user"])

    assert set(who.schema["properties"]) == {"x"}
    assert who.invoke({"x": 1}, config={"configurable": {"user": "ann"}}) == "ann"


def test_invoked_with_a_whole_tool_call_a_tool_answers_with_a_tool_message() -> None:
    @tool
    def add(a: int, b: int) -> int:
        """Add two numbers."""
        return a + b

    call = {"name": "add", "args": {"a": 1, "b": 2}, "id": "c1", "type": "tool_call"}
    answer = add.invoke(call)
    assert isinstance(answer, ToolMessage)
    assert (answer.content, answer.tool_call_id, answer.name) == ("3", "c1", "add")
    assert asyncio.run(add.ainvoke(call)) == answer
    assert add.invoke({"a": 1, "b": 2}) == 3


def test_a_tool_call_answer_keeps_the_artifact_and_the_injected_id() -> None:
    @tool(response_format="content_and_artifact")
    def look(query: str, call_id: Annotated[str, InjectedToolCallId]) -> tuple[str, dict[str, str]]:
        """Look something up."""
        return f"found {query}", {"call": call_id}

    answer = look.invoke({"name": "look", "args": {"query": "x"}, "id": "c9", "type": "tool_call"})
    assert (answer.content, answer.artifact) == ("found x", {"call": "c9"})
