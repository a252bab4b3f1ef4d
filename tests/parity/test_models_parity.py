"""Streamed model chunks carry the metadata LangGraph gives them (graph node and @task).

LangGraph's side uses langchain-core's ``GenericFakeChatModel``, ours ``FakeChatModel``;
token boundaries differ, so only the metadata of the first chunk is compared.
"""

from __future__ import annotations

from typing import Any

from tests.parity.conftest import Lib

NOT_COMPARED = {"lc_versions", "ls_model_name", "ls_provider"}
"""langchain-core's version stamp, and the fake models' own names (they differ by design)."""


def _model(lib: Lib) -> Any:
    if lib.name == "langgraph":
        from langchain_core.language_models.fake_chat_models import GenericFakeChatModel

        return GenericFakeChatModel(messages=iter(["hello there"]), tags=["meow"])
    from graphkit.models import FakeChatModel

    model = FakeChatModel(responses=["hello there"])
    model.tags = ["meow"]
    return model


def _first_chunk_metadata(
    lib: Lib, graph: Any, given: Any, tags: list[str] | None = None
) -> dict[str, Any]:
    config: dict[str, Any] = {"configurable": {"thread_id": "t", "user_id": "u1"}}
    if tags:
        config["tags"] = tags
    for _chunk, metadata in graph.stream(given, config, stream_mode="messages"):
        shown = {k: v for k, v in metadata.items() if k not in NOT_COMPARED}
        for key in ("checkpoint_ns", "langgraph_checkpoint_ns"):
            shown[key] = shown[key].split(":")[0]  # task ids differ by design
        return shown
    raise AssertionError("no messages streamed")


def node_calling_a_model(lib: Lib, tags: list[str] | None = None) -> dict[str, Any]:
    model = _model(lib)
    builder = lib.StateGraph(lib.MessagesState)
    builder.add_node("call_model", lambda s: {"messages": [model.invoke(s["messages"])]})
    builder.add_edge(lib.START, "call_model")
    graph = builder.compile(checkpointer=lib.InMemorySaver())
    return _first_chunk_metadata(lib, graph, {"messages": [("user", "hi")]}, tags)


def task_calling_a_model(lib: Lib) -> dict[str, Any]:
    model = _model(lib)

    @lib.task
    def call_model(text: str) -> Any:
        return model.invoke(text)

    @lib.entrypoint(checkpointer=lib.InMemorySaver())
    def workflow(text: str) -> Any:
        return call_model(text).result()

    return _first_chunk_metadata(lib, workflow, "hi")


def test_model_chunks_streamed_from_a_node_carry_langgraphs_metadata(gk: Lib, lg: Lib) -> None:
    assert node_calling_a_model(gk) == node_calling_a_model(lg)


def test_model_chunks_carry_the_run_configs_tags_then_the_models(gk: Lib, lg: Lib) -> None:
    ours = node_calling_a_model(gk, ["run-tag"])
    assert ours == node_calling_a_model(lg, ["run-tag"])
    assert ours["tags"] == ["run-tag", "meow"]


def test_model_chunks_streamed_from_a_task_carry_langgraphs_keys(gk: Lib, lg: Lib) -> None:
    ours, theirs = task_calling_a_model(gk), task_calling_a_model(lg)
    assert set(ours) == set(theirs)
    assert {k: v for k, v in ours.items() if k not in ("langgraph_step", "langgraph_path")} == {
        k: v for k, v in theirs.items() if k not in ("langgraph_step", "langgraph_path")
    }


def test_model_chunks_streamed_from_a_task_carry_langgraphs_step_and_path(gk: Lib, lg: Lib) -> None:
    assert task_calling_a_model(gk) == task_calling_a_model(lg)
