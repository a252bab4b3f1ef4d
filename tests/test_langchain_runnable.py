"""A compiled graph is a LangChain runnable once LangChain is imported
(``graphkit._langchain_runnable``), whichever was imported first."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("langchain_core")


def run(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


GRAPH = """
    from typing import TypedDict
    from graphkit import START, StateGraph

    class S(TypedDict):
        x: int

    builder = StateGraph(S)
    builder.add_node("a", lambda s: {"x": s["x"] + 1})
    builder.add_edge(START, "a")
    graph = builder.compile()
"""


def test_a_graph_compiled_before_langchain_is_imported_is_a_runnable_after() -> None:
    out = run(
        GRAPH
        + """
    from graphkit._langchain import langchain_loaded
    assert not langchain_loaded()
    from langchain_core.runnables import RunnableParallel, RunnablePassthrough
    print(RunnablePassthrough.assign(out=graph).invoke({"x": 1}))
    print(RunnableParallel(a=graph).invoke({"x": 2}))
    """
    )
    assert out.splitlines() == ["{'x': 1, 'out': {'x': 2}}", "{'a': {'x': 3}}"]


def test_a_graph_without_langchain_installed_says_what_a_runnable_method_needs() -> None:
    out = run(
        GRAPH
        + """
    import sys
    sys.modules["langchain_core"] = None  # (as if it were not installed)
    try:
        graph.with_retry()
    except AttributeError as exc:
        print(exc)
    """
    )
    assert "pip install langchain-core" in out
