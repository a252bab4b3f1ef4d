"""init_chat_model / init_embeddings: provider strings, inference, configurable models.

Models built by name talk to the real SDK clients over a mock transport
(``_http.FixtureServer``); no network, no key.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import pytest
from _http import FixtureServer

from graphkit._langchain import PROVIDER_CLASSES
from graphkit.chat_models import init_chat_model
from graphkit.embeddings import init_embeddings
from graphkit.errors import GraphkitError, MissingExtraError
from graphkit.graph import START, MessagesState, StateGraph
from graphkit.models import (
    ChatAnthropic,
    ChatOpenAI,
    ConfigurableChatModel,
    MissingProviderPackageError,
    ModelConfigError,
    OpenAIEmbeddings,
)
from graphkit.models.providers import infer_provider, parse_model
from graphkit.tools import tool


@pytest.fixture(autouse=True)
def keys(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-anthropic")
    monkeypatch.setenv("OPENAI_API_KEY", "test-openai")
    yield


@tool
def get_weather(location: str) -> str:
    """Get the current weather."""
    return f"sunny in {location}"


def test_provider_prefix_picks_the_class_and_keywords_pass_through() -> None:
    claude = init_chat_model("anthropic:claude-sonnet-4-6")
    assert type(claude) is ChatAnthropic and claude.model == "claude-sonnet-4-6"
    gpt = init_chat_model("openai:gpt-4.1", temperature=0, max_tokens=50)
    assert type(gpt) is ChatOpenAI
    assert (gpt.model, gpt.temperature, gpt.max_tokens) == ("gpt-4.1", 0, 50)


def test_provider_is_inferred_from_the_model_name_or_given() -> None:
    assert type(init_chat_model("claude-haiku-4-5")) is ChatAnthropic
    assert type(init_chat_model("gpt-4o-mini")) is ChatOpenAI
    assert type(init_chat_model("o3-mini")) is ChatOpenAI
    custom = init_chat_model("my-finetune", model_provider="openai")
    assert type(custom) is ChatOpenAI and custom.model == "my-finetune"
    assert type(init_chat_model("claude-x", model_provider="OpenAI")) is ChatOpenAI


def test_colons_inside_a_model_name_are_kept() -> None:
    assert parse_model("openai:ft:gpt-4o-mini:acme::abc") == ("ft:gpt-4o-mini:acme::abc", "openai")
    assert parse_model("ft:gpt-4o:acme", "openai") == ("ft:gpt-4o:acme", "openai")


@pytest.mark.parametrize(
    ("name", "provider"),
    [("gemini-2.5-flash", "google_vertexai"), ("mistral-large", "mistralai"), ("grok-4", "xai")],
)
def test_other_langchain_providers_are_recognised(
    name: str, provider: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """They are LangChain's model from its package (tests/test_langchain_interop.py);
    without the package installed the error names it."""
    assert infer_provider(name) == provider
    package = PROVIDER_CLASSES[provider][0].split(".")[0]
    monkeypatch.setitem(sys.modules, package, None)  # not installed
    with pytest.raises(
        MissingExtraError,
        match=f"'{provider}' has no graphkit adapter.*pip install {package.replace('_', '-')}",
    ):
        init_chat_model(name)


def test_unknown_provider_and_unknown_model_say_what_to_write() -> None:
    with pytest.raises(ModelConfigError, match=r"cannot tell the provider of model 'llama-9'"):
        init_chat_model("llama-9")
    with pytest.raises(
        ModelConfigError, match=r"unknown chat model provider 'acme'.*anthropic, openai"
    ):
        init_chat_model("x", model_provider="acme")
    with pytest.raises(GraphkitError):
        init_chat_model(ChatOpenAI)  # type: ignore[arg-type]
    assert issubclass(ModelConfigError, ValueError)


def test_missing_sdk_names_the_extra_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "anthropic", None)
    monkeypatch.delitem(sys.modules, "graphkit.models.anthropic", raising=False)
    with pytest.raises(MissingExtraError, match=r"pip install 'graphkit\[anthropic\]'"):
        init_chat_model("anthropic:claude-sonnet-4-6")
    with pytest.raises(MissingProviderPackageError):
        init_chat_model("anthropic:claude-sonnet-4-6")


def test_init_embeddings_by_provider_string() -> None:
    embeddings = init_embeddings("openai:text-embedding-3-small", dimensions=256)
    assert type(embeddings) is OpenAIEmbeddings
    assert (embeddings.model, embeddings.dimensions) == ("text-embedding-3-small", 256)
    assert embeddings.spec == "openai:text-embedding-3-small"
    assert init_embeddings("text-embedding-3-large", provider="openai").model == (
        "text-embedding-3-large"
    )
    with pytest.raises(ModelConfigError, match="'cohere' is a LangChain provider"):
        init_embeddings("cohere:embed-english-v3.0")
    with pytest.raises(ModelConfigError, match="embeddings need a provider"):
        init_embeddings("text-embedding-3-small")


# -- configurable models -------------------------------------------------------------


def test_model_chosen_per_call_from_config() -> None:
    server = FixtureServer((200, "anthropic_message_text.json"), (200, "openai_chat_text.json"))
    model = init_chat_model(temperature=0, **server.http_clients())
    assert isinstance(model, ConfigurableChatModel)
    claude = model.invoke("Hi", config={"configurable": {"model": "claude-haiku-4-5"}})
    gpt = model.invoke("Hi", config={"configurable": {"model": "openai:gpt-4.1"}})
    assert claude.response_metadata["model_provider"] == "anthropic"
    assert gpt.response_metadata["model_provider"] == "openai"
    assert [r["model"] for r in server.requests] == ["claude-haiku-4-5", "gpt-4.1"]
    assert all(r["temperature"] == 0 for r in server.requests)


def test_configurable_fields_and_prefix_limit_what_config_changes() -> None:
    model = init_chat_model(
        "openai:gpt-4.1",
        configurable_fields=("model", "temperature"),
        config_prefix="writer",
        temperature=0,
    )
    assert isinstance(model, ConfigurableChatModel)
    default = model.resolve({})
    assert (default.model, getattr(default, "temperature", None)) == ("gpt-4.1", 0)
    chosen = model.resolve(
        {
            "configurable": {
                "writer_model": "anthropic:claude-haiku-4-5",
                "writer_temperature": 0.7,
                "writer_api_key": "not-configurable",
                "temperature": 1.0,
            }
        }
    )
    assert type(chosen) is ChatAnthropic
    assert (chosen.model, chosen.temperature) == ("claude-haiku-4-5", 0.7)


def test_configurable_model_without_a_choice_says_how_to_choose() -> None:
    with pytest.raises(ModelConfigError, match=r"no model chosen.*'model'"):
        init_chat_model().invoke("Hi")


def test_configurable_model_replays_bind_tools_and_reads_the_run_config() -> None:
    server = FixtureServer((200, "anthropic_message_tool_use.json"))
    model = init_chat_model(**server.http_clients()).bind_tools([get_weather])

    def agent(state: MessagesState) -> dict[str, Any]:
        return {"messages": [model.invoke(state["messages"])]}

    builder = StateGraph(MessagesState)
    builder.add_node("agent", agent)
    builder.add_edge(START, "agent")
    out = builder.compile().invoke(
        {"messages": [("user", "Weather?")]},
        {"configurable": {"model": "anthropic:claude-sonnet-4-6"}},
    )
    assert server.requests[0]["model"] == "claude-sonnet-4-6"
    assert server.requests[0]["tools"][0]["name"] == "get_weather"
    assert out["messages"][-1].tool_calls[0]["name"] == "get_weather"


# -- streamed chunk metadata -----------------------------------------------------------


def test_streamed_chunks_carry_langgraph_and_model_metadata() -> None:
    server = FixtureServer((200, "anthropic_stream_tool_use.sse"))
    model = init_chat_model(
        "anthropic:claude-sonnet-4-6",
        temperature=0.5,
        tags=["meow"],
        metadata={"team": "docs"},
        **server.http_clients(),
    ).bind_tools([get_weather])

    def call_model(state: MessagesState) -> dict[str, Any]:
        return {"messages": [model.invoke(state["messages"])]}

    builder = StateGraph(MessagesState)
    builder.add_node("call_model", call_model)
    builder.add_edge(START, "call_model")
    graph = builder.compile()
    events = list(
        graph.stream(
            {"messages": [("user", "Weather?")]},
            {"configurable": {"thread_id": "t1"}},
            stream_mode="messages",
        )
    )
    chunk, metadata = events[1]
    assert chunk.text == "Okay, let me"
    assert {
        "langgraph_step",
        "langgraph_node",
        "langgraph_triggers",
        "langgraph_path",
        "langgraph_checkpoint_ns",
        "checkpoint_ns",
        "thread_id",
    } <= set(metadata)
    assert metadata["langgraph_node"] == "call_model"
    assert (metadata["tags"], metadata["team"]) == (["meow"], "docs")
    assert metadata["checkpoint_ns"] == metadata["langgraph_checkpoint_ns"]
    assert {k: v for k, v in metadata.items() if k.startswith("ls_")} == {
        "ls_provider": "anthropic",
        "ls_model_name": "claude-sonnet-4-6",
        "ls_model_type": "chat",
        "ls_temperature": 0.5,
        "ls_max_tokens": 1024,
        "ls_integration": "langchain_chat_model",
    }


def test_a_model_tagged_nostream_sends_no_tokens_only_its_whole_reply() -> None:
    from graphkit.constants import TAG_NOSTREAM

    server = FixtureServer((200, "anthropic_message_tool_use.json"))
    model = init_chat_model(
        "anthropic:claude-sonnet-4-6", tags=[TAG_NOSTREAM], **server.http_clients()
    ).bind_tools([get_weather])

    def call_model(state: MessagesState) -> dict[str, Any]:
        return {"messages": [model.invoke(state["messages"])]}

    graph = StateGraph(MessagesState).add_node("call_model", call_model)
    graph = graph.add_edge(START, "call_model").compile()
    events = list(graph.stream({"messages": [("user", "Weather?")]}, stream_mode="messages"))
    assert not server.requests[0].get("stream")  # asked once, whole
    assert [type(message).__name__ for message, _ in events] == ["AIMessage"]
    assert events[0][0].tool_calls[0]["name"] == "get_weather"


def test_configurable_model_replays_bind_with_its_keywords() -> None:
    model = init_chat_model().bind_tools([get_weather], parallel_tool_calls=False).bind(seed=1)
    built = model.resolve({"configurable": {"model": "openai:gpt-4.1"}})
    assert isinstance(built, ChatOpenAI)
    assert [t.name for t in built.tools] == ["get_weather"]
    assert built.bound_kwargs == {"parallel_tool_calls": False, "seed": 1}


def test_openai_embeddings_take_langchains_spellings() -> None:
    embeddings = init_embeddings(
        "openai:text-embedding-3-small",
        openai_api_key="alias-key",
        openai_api_base="https://proxy.example/v1",
        request_timeout=3.0,
    )
    assert embeddings.client.api_key == "alias-key"
    assert str(embeddings.client.base_url) == "https://proxy.example/v1/"
    assert embeddings.client.timeout == 3.0
    with pytest.raises(ModelConfigError, match=r"unknown keywords \['dimension'\]"):
        OpenAIEmbeddings(dimension=3)
