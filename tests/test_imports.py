"""LangGraph's import paths work with ``langgraph`` replaced by ``graphkit``."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

LANGGRAPH_IMPORTS = {
    "graphkit.graph": [
        "StateGraph",
        "START",
        "END",
        "MessagesState",
        "add_messages",
        "MessageGraph",
    ],
    "graphkit.types": [
        "Send",
        "Command",
        "interrupt",
        "Interrupt",
        "RetryPolicy",
        "StreamWriter",
        "Checkpointer",
        "All",
        "Durability",
        "StreamMode",
    ],
    "graphkit.managed": ["RemainingSteps", "IsLastStep"],
    "graphkit.config": ["get_config", "get_store", "get_stream_writer"],
    "graphkit.func": ["entrypoint", "task"],
    "graphkit.prebuilt": ["ToolNode", "tools_condition", "create_react_agent"],
    "graphkit.errors": ["GraphRecursionError", "InvalidUpdateError", "ErrorCode"],
    "graphkit.graph.message": ["add_messages", "MessagesState"],
    "graphkit.graph.state": ["StateGraph"],
    "graphkit.runtime": ["Runtime"],
    "graphkit.checkpoint.base": ["BaseCheckpointSaver", "Checkpoint", "CheckpointTuple"],
    "graphkit.checkpoint.memory": ["InMemorySaver", "MemorySaver"],
    "graphkit.checkpoint.lmdb": ["LMDBSaver", "LMDBEnv"],
    "graphkit.store.base": ["BaseStore", "Item", "SearchItem", "PutOp", "GetOp"],
    "graphkit.store.memory": ["InMemoryStore"],
    "graphkit.store.lmdb": ["LMDBStore", "LMDBEnv"],
    "graphkit.prebuilt.tool_node": ["ToolNode", "tools_condition"],
    "graphkit.prebuilt.chat_agent_executor": ["create_react_agent", "AgentState"],
    "graphkit.channels": ["LastValue", "Topic", "BinaryOperatorAggregate", "EphemeralValue"],
    "graphkit.graph.ui": ["push_ui_message", "ui_message_reducer", "AnyUIMessage"],
    "graphkit.checkpoint.serde.jsonplus": ["JsonPlusSerializer"],
    "graphkit.checkpoint.serde.encrypted": ["EncryptedSerializer"],
    "graphkit.warnings": ["LangGraphDeprecationWarning", "LangGraphDeprecatedSinceV10"],
    "graphkit.utils.config": ["get_config", "get_store"],
    "graphkit.managed.is_last_step": ["IsLastStep", "RemainingSteps"],
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


def test_nothing_but_graphkit_is_a_top_level_package() -> None:
    """A generic top-level name (``stores``) would collide with users' own modules."""
    from pathlib import Path

    import tomllib

    config = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    assert config["tool"]["setuptools"]["packages"]["find"]["include"] == ["graphkit*"]
    with pytest.raises(ImportError):
        importlib.import_module("stores")


def test_public_paths_reexport_the_implementation_objects() -> None:
    from graphkit.checkpoint.memory import InMemorySaver
    from graphkit.store.base import BaseStore
    from graphkit.stores.checkpoint.memory import InMemorySaver as impl_saver
    from graphkit.stores.store.base import BaseStore as impl_store

    assert InMemorySaver is impl_saver
    assert BaseStore is impl_store


def test_import_graphkit_loads_no_storage_or_vector_libraries() -> None:
    """numpy, hnswlib and lmdb cost ~120 ms at import; only the store and LMDB saver need
    them. networkx (~250 ms) loads at the first compile(): the CLI reading a store and
    code that only opens savers never pay for it."""
    import subprocess
    import sys

    libraries = ("numpy", "hnswlib", "lmdb", "networkx")
    code = (
        "import sys, graphkit, graphkit.graph, graphkit.checkpoint.memory, graphkit.cli;"
        f"print(sorted(m for m in {libraries!r} if m in sys.modules));"
        "b = graphkit.StateGraph(dict); b.add_node('a', lambda s: {}); b.add_edge('__start__', 'a');"
        "b.compile(); print('networkx' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["[]", "True"]


LANGGRAPH_PROGRAM = """
from typing import Annotated, TypedDict
import operator

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, interrupt
import langgraph.func


class State(TypedDict):
    log: Annotated[list[str], operator.add]


def ask(state: State) -> dict:
    return {"log": [f"hello {interrupt('name?')}"]}


builder = StateGraph(State)
builder.add_node("ask", ask)
builder.add_edge(START, "ask")
builder.add_edge("ask", END)
graph = builder.compile(checkpointer=InMemorySaver())
config = {"configurable": {"thread_id": "1"}}
graph.invoke({"log": []}, config)
print(graph.invoke(Command(resume="Ada"), config)["log"], langgraph.func.entrypoint.__module__)
"""


def test_the_readme_import_swap_turns_a_langgraph_program_into_a_graphkit_one(
    tmp_path: Path,
) -> None:
    """The sed line README prints, applied to a LangGraph program, is all it takes."""
    import re
    import shutil
    import subprocess
    import sys

    if shutil.which("sed") is None:
        pytest.skip("no sed on this machine")
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    command = re.search(r"^sed -i '([^']+)' my_agent\.py$", readme, flags=re.M)
    assert command is not None, "README shows no sed import swap"
    program = tmp_path / "my_agent.py"
    program.write_text(LANGGRAPH_PROGRAM)
    subprocess.run(["sed", "-i", command.group(1), str(program)], check=True)
    assert "langgraph" not in program.read_text()
    out = subprocess.run([sys.executable, str(program)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "['hello Ada'] graphkit.func"


def test_a_node_annotated_with_langgraphs_stream_writer_type_streams() -> None:
    from typing import TypedDict

    from graphkit.graph import START, StateGraph
    from graphkit.types import StreamWriter

    class State(TypedDict):
        x: int

    def node(state: State, writer: StreamWriter) -> State:
        writer({"progress": state["x"]})
        return {"x": state["x"] + 1}

    graph = StateGraph(State).add_node("node", node).add_edge(START, "node").compile()
    assert list(graph.stream({"x": 1}, stream_mode="custom")) == [{"progress": 1}]


@pytest.mark.parametrize(
    ("module", "name"),
    [
        ("graphkit.checkpoint.sqlite", "SqliteSaver"),
        ("graphkit.checkpoint.sqlite.aio", "AsyncSqliteSaver"),
    ],
)
def test_langgraphs_sqlite_saver_import_says_how_to_switch(module: str, name: str) -> None:
    from graphkit.errors import ReplacedModuleError

    loaded = importlib.import_module(module)  # tools that walk the package can import it
    with pytest.raises(ImportError, match="LMDBSaver.from_conn_string") as caught:
        exec(f"from {module} import {name}", {})
    assert isinstance(caught.value, ReplacedModuleError)
    with pytest.raises(AttributeError):
        loaded.SomethingElse  # noqa: B018


def test_lmdb_saver_opens_as_langgraphs_savers_do(tmp_path: Path) -> None:
    from typing import Any, TypedDict

    from graphkit.checkpoint.lmdb import LMDBSaver
    from graphkit.graph import START, StateGraph

    class State(TypedDict):
        x: int

    builder = StateGraph(State).add_node("n", lambda s: {"x": s["x"] + 1}).add_edge(START, "n")
    cfg: Any = {"configurable": {"thread_id": "t"}}
    with LMDBSaver.from_conn_string(tmp_path / "checkpoints") as saver:
        assert builder.compile(checkpointer=saver).invoke({"x": 1}, cfg) == {"x": 2}
    with LMDBSaver.from_conn_string(str(tmp_path / "checkpoints")) as saver:
        assert builder.compile(checkpointer=saver).get_state(cfg).values == {"x": 2}
