"""Every public name of LangGraph's modules exists at the same path in graphkit.

Users move by replacing ``langgraph`` with ``graphkit`` in their imports; a public
name we lack is an ImportError on their first line. For each module below, LangGraph's
public names (its ``__all__``, else the classes and functions it defines) must be
importable from the ``graphkit`` module at the same path, or raise graphkit's
``ReplacedModuleError`` naming what to use instead (e.g. ``SqliteSaver``), or be in
``NOT_PROVIDED`` below with the reason. Skipped when LangGraph is not installed.
"""

from __future__ import annotations

import importlib
import inspect
import types
import warnings

import pytest

from graphkit.errors import ReplacedModuleError

pytest.importorskip("langgraph.graph")

MODULES = [
    "graph", "graph.state", "graph.message", "graph.ui",
    "types", "func", "config", "runtime", "errors", "constants", "typing", "warnings",
    "version", "managed",
    "channels", "channels.base", "channels.last_value", "channels.any_value",
    "channels.ephemeral_value", "channels.untracked_value", "channels.binop",
    "channels.delta", "channels.topic", "channels.named_barrier_value",
    "prebuilt", "prebuilt.tool_node", "prebuilt.chat_agent_executor", "prebuilt.interrupt",
    "prebuilt.tool_validator",
    "checkpoint.base", "checkpoint.memory", "checkpoint.serde.base",
    "checkpoint.serde.jsonplus", "checkpoint.serde.encrypted",
    "checkpoint.sqlite", "checkpoint.sqlite.aio", "checkpoint.postgres", "checkpoint.postgres.aio",
    "store.base", "store.base.batch", "store.base.embed", "store.memory",
    "store.postgres", "store.postgres.aio", "store.sqlite", "store.sqlite.aio",
    "cache.base", "cache.memory", "cache.sqlite", "cache.redis",
    "pregel", "pregel.main", "pregel.types", "pregel.remote",
]  # fmt: skip
"""LangGraph's modules a program imports from (``langgraph.`` left out)."""

NOT_PROVIDED: dict[str, dict[str, str]] = {
    # LangGraph's engine internals, re-exported where its own modules need them.
    "checkpoint.base": {
        "create_checkpoint": "builds a checkpoint from LangGraph's channel objects",
        "writes_sort_key": "internal ordering of LangGraph's pending writes",
        "DeltaChannelHistory": "LangGraph's beta DeltaChannel storage; graphkit stores "
        "appends itself (DeltaChannel is a reducer here)",
    },
    "checkpoint.memory": {"PersistentDict": "InMemorySaver's internal file-backed dict"},
    "checkpoint.serde.base": {
        "UntypedSerializerProtocol": "LangGraph's pre-1.0 serializer shape",
        "SerializerCompat": "adapter for that shape",
        "maybe_add_typed_methods": "adapter for that shape",
    },
    "checkpoint.serde.jsonplus": {
        "InvalidModuleError": "graphkit's serializer raises SerdeError (never imports by name)",
    },
    "checkpoint.postgres": {
        "BasePostgresSaver": "the SQL of LangGraph's saver; PostgresSaver is graphkit's own",
        "ShallowPostgresSaver": "deprecated in LangGraph; PostgresSaver + prune(keep_latest=1)",
        "Conn": "a psycopg type alias of LangGraph's saver",
    },
    "checkpoint.postgres.aio": {
        "AsyncShallowPostgresSaver": "deprecated in LangGraph; AsyncPostgresSaver + aprune",
        "Conn": "a psycopg type alias of LangGraph's saver",
    },
    "constants": {
        "TASKS": "LangGraph's channel of pending Sends (graphkit keeps them in its frontier)",
        "CONFIG_KEY_CHECKPOINTER": "LangGraph's internal config key",
    },
    "types": {
        "PregelExecutableTask": "LangGraph's internal task record",
        "ensure_valid_checkpointer": "internal check of compile(checkpointer=...)",
        "TracePolicy": "LangSmith tracing policy of add_node(trace_policy=): graphkit does "
        "not trace to LangSmith",
        "omit_payload": "helper of TracePolicy",
    },
    "pregel.types": {"PregelExecutableTask": "LangGraph's internal task record"},
    "prebuilt": {
        "ToolCallTransformer": "a stream transformer of astream_events(version='v3'), "
        "LangGraph's streaming protocol that graphkit does not have",
    },
    "runtime": {"BaseUser": "LangGraph Server's authenticated user (langgraph_sdk)"},
    "store.base": {
        "tokenize_path": "the path parser of LangGraph's index; graphkit's get_text_at_path "
        "reads the same paths",
    },
}
"""Names graphkit deliberately does not provide, by module, with the reason."""

NOT_PROVIDED_MODULES = {
    "callbacks": "LangGraph's graph lifecycle callbacks (GraphCallbackHandler); graphkit's "
    "run events and callbacks live in graphkit.config / run_events",
    "stream": "LangGraph 1.2's run-stream protocol (astream_events version='v3', stream "
    "transformers); graphkit streams with stream_mode and astream_events v2",
}
"""LangGraph modules graphkit has nothing at (checked: they are not importable)."""


def public_names(module: types.ModuleType) -> list[str]:
    """``__all__``, else the classes and functions the module itself defines."""
    names = getattr(module, "__all__", None)
    if names is not None:
        return list(names)
    return [
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and (inspect.isclass(value) or inspect.isfunction(value))
        and value.__module__ == module.__name__
    ]


def provides(module: types.ModuleType, name: str) -> bool:
    """The name imports, or says what to use instead (``ReplacedModuleError``)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # deprecated names warn, as LangGraph's do
            getattr(module, name)
    except ReplacedModuleError:
        return True
    except AttributeError:
        return False
    return True


@pytest.mark.parametrize("path", MODULES)
def test_langgraphs_public_names_exist_at_the_same_path(path: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # both warn on importing a deprecated module
        try:
            theirs = importlib.import_module(f"langgraph.{path}")
        except ImportError:
            pytest.skip(f"langgraph.{path} is not installed")
        ours = importlib.import_module(f"graphkit.{path}")
    skipped = NOT_PROVIDED.get(path, {})
    missing = [n for n in public_names(theirs) if n not in skipped and not provides(ours, n)]
    assert not missing, f"graphkit.{path} lacks LangGraph's {missing}"


@pytest.mark.parametrize(("path", "name"), [(p, n) for p, ns in NOT_PROVIDED.items() for n in ns])
def test_the_allowlist_names_only_what_langgraph_has_and_graphkit_lacks(
    path: str, name: str
) -> None:
    """An entry goes when graphkit gains the name, or LangGraph drops it."""
    theirs = importlib.import_module(f"langgraph.{path}")
    assert name in public_names(theirs), f"langgraph.{path} no longer has {name}: drop it"
    assert not provides(importlib.import_module(f"graphkit.{path}"), name), (
        f"graphkit.{path} has {name} now: drop it from NOT_PROVIDED"
    )


@pytest.mark.parametrize("path", sorted(NOT_PROVIDED_MODULES))
def test_the_modules_not_provided_are_absent(path: str) -> None:
    importlib.import_module(f"langgraph.{path}")
    with pytest.raises(ImportError):
        importlib.import_module(f"graphkit.{path}")


def test_every_listed_module_is_one_langgraph_has() -> None:
    for path in MODULES:
        importlib.import_module(f"langgraph.{path}")
