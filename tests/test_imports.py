"""LangGraph's import paths work with ``langgraph`` replaced by ``graphkit``."""

from __future__ import annotations

import importlib

import pytest

LANGGRAPH_IMPORTS = {
    "graphkit.graph": ["StateGraph", "START", "END", "MessagesState", "add_messages"],
    "graphkit.types": ["Send", "Command", "interrupt", "Interrupt", "RetryPolicy"],
    "graphkit.config": ["get_config", "get_store", "get_stream_writer"],
    "graphkit.func": ["entrypoint", "task"],
    "graphkit.prebuilt": ["ToolNode", "tools_condition", "create_react_agent"],
    "graphkit.errors": ["GraphRecursionError", "InvalidUpdateError"],
}


@pytest.mark.parametrize("module", sorted(LANGGRAPH_IMPORTS))
def test_langgraph_module_paths_exist(module: str) -> None:
    loaded = importlib.import_module(module)
    missing = [name for name in LANGGRAPH_IMPORTS[module] if not hasattr(loaded, name)]
    assert missing == []


def test_root_exports_are_the_same_objects() -> None:
    import graphkit
    import graphkit.graph

    assert graphkit.StateGraph is graphkit.graph.StateGraph
    assert graphkit.MessagesState is graphkit.graph.MessagesState
    assert all(hasattr(graphkit, name) for name in graphkit.__all__)
