"""Parity tests: one builder function, run on graphkit and on LangGraph, same answers.

Each test builds its graph from a :class:`Lib` (the names a LangGraph program imports,
taken from one framework) and compares what both frameworks return. LangGraph is a
dev dependency used only here and in benchmarks; without it these tests skip.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

_NAMES = {
    "graph": ["StateGraph", "START", "END", "MessagesState", "add_messages"],
    "types": ["Send", "Command", "interrupt", "RetryPolicy", "Overwrite", "StreamWriter"],
    "func": ["entrypoint", "task"],
    "config": ["get_stream_writer", "get_config"],
    "checkpoint.memory": ["InMemorySaver"],
    "errors": ["GraphRecursionError", "InvalidUpdateError"],
    "managed": ["RemainingSteps", "IsLastStep"],
}


@dataclass(frozen=True)
class Lib:
    """A framework's public names, reached by LangGraph's module paths."""

    name: str
    ns: SimpleNamespace

    def __getattr__(self, item: str) -> Any:
        return getattr(self.ns, item)


def _load(root: str) -> Lib:
    names: dict[str, Any] = {}
    for module, wanted in _NAMES.items():
        loaded = importlib.import_module(f"{root}.{module}")
        names.update({n: getattr(loaded, n) for n in wanted})
    if root == "langgraph":
        messages = importlib.import_module("langchain_core.messages")
    else:
        messages = importlib.import_module("graphkit.messages")
    for n in ("HumanMessage", "AIMessage", "ToolMessage", "SystemMessage", "RemoveMessage"):
        names[n] = getattr(messages, n)
    return Lib(root, SimpleNamespace(**names))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every parity test on one pytest-xdist worker: only that worker imports LangGraph
    (about 2 s of CPU per process)."""
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.xdist_group("langgraph"))


@pytest.fixture(scope="session")
def gk() -> Lib:
    return _load("graphkit")


@pytest.fixture(scope="session")
def lg() -> Lib:
    pytest.importorskip("langgraph", reason="LangGraph (a dev dependency) is not installed")
    return _load("langgraph")


def plain(value: Any) -> Any:
    """A framework-neutral form: messages become (class name, content), containers recurse."""
    if hasattr(value, "content") and hasattr(value, "type") and not isinstance(value, dict):
        return (type(value).__name__, value.content)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(plain(v) for v in value)
    if type(value).__name__ == "Interrupt":
        return ("Interrupt", plain(value.value))
    return value
