"""Every error graphkit raises is a ``GraphkitError`` that is also the builtin it replaces.

Callers can catch all of graphkit's errors with one ``except GraphkitError``, and code
written against LangGraph's ``ValueError``/``TypeError``/``RuntimeError`` still catches them.
"""

from __future__ import annotations

import ast
import builtins
from pathlib import Path
from typing import Any

import pytest
from typing_extensions import TypedDict

import graphkit
from graphkit.embeddings import HashEmbeddings
from graphkit.errors import (
    ConfigError,
    GraphkitError,
    InvalidArgumentError,
    InvalidCallError,
    InvalidMessageError,
    InvalidStoreConfigError,
    InvalidStoreQueryError,
    InvalidStoreRequestError,
    MissingStateKeyError,
    RunContextError,
    StoreClosedError,
    StoreError,
)
from graphkit.graph import START, StateGraph
from graphkit.messages import AIMessage, RemoveMessage, add_messages, convert_to_messages
from graphkit.store.base import InvalidNamespaceError
from graphkit.store.memory import InMemoryStore

PACKAGE = Path(graphkit.__file__).parent

ALLOWED_BUILTINS = {
    "NotImplementedError",  # abstract methods
    "AttributeError",  # a module's __getattr__ must raise it
    "StopIteration",
    "StopAsyncIteration",
    "SystemExit",  # the CLI's exit codes
    "KeyboardInterrupt",
}
"""Builtins graphkit may raise as they are: the protocol they belong to requires them."""


def _builtin_raises(path: Path, root: Path = PACKAGE.parent) -> list[str]:
    """``file:line name`` (relative to ``root``) of each ``raise <builtin exception>``
    in one source file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if not isinstance(node, ast.Raise) or node.exc is None:
            continue
        target = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
        if not isinstance(target, ast.Name):
            continue
        value = getattr(builtins, target.id, None)
        is_exception = isinstance(value, type) and issubclass(value, BaseException)
        if is_exception and target.id not in ALLOWED_BUILTINS:
            found.append(f"{path.relative_to(root)}:{node.lineno} {target.id}")
    return found


def test_no_module_raises_a_bare_builtin_exception() -> None:
    """A new ``raise ValueError(...)`` fails here: raise a GraphkitError subclass that
    also subclasses ValueError (see graphkit/errors.py) so callers can catch both."""
    offenders = [hit for path in sorted(PACKAGE.rglob("*.py")) for hit in _builtin_raises(path)]
    assert offenders == []


def test_the_scan_finds_a_bare_raise(tmp_path: Path) -> None:
    # in tmp_path, not the package: the package scan may run at the same time (pytest -n)
    source = tmp_path / "probe.py"
    source.write_text(
        "def f():\n    raise ValueError('x')\n\ndef g():\n    raise GraphkitError('y')\n"
    )
    assert _builtin_raises(source, tmp_path) == ["probe.py:2 ValueError"]


class State(TypedDict):
    n: int


def _graph() -> Any:
    builder = StateGraph(State)
    builder.add_node("a", lambda s: {"n": s["n"] + 1})
    builder.add_edge(START, "a")
    return builder.compile()


@pytest.mark.parametrize(
    ("call", "error", "builtin"),
    [
        (lambda: StateGraph(State, settings_schema=dict), InvalidCallError, TypeError),
        (lambda: _graph().invoke({"n": 1}, version="v3"), InvalidArgumentError, ValueError),
        (lambda: _graph().invoke({"n": 1}, stream_mode="nope"), InvalidArgumentError, ValueError),
        (lambda: _graph().invoke({"n": 1}, colour="red"), InvalidCallError, TypeError),
        (lambda: _graph().get_state({"configurable": {"thread_id": "t"}}), ConfigError, ValueError),
        (lambda: graphkit.get_store(), RunContextError, RuntimeError),
        (lambda: convert_to_messages([42]), InvalidMessageError, TypeError),
        (lambda: convert_to_messages([{"content": "hi"}]), InvalidMessageError, ValueError),
        (lambda: add_messages([], [RemoveMessage(id="gone")]), InvalidMessageError, ValueError),
        (lambda: add_messages([AIMessage("a")], None), InvalidArgumentError, ValueError),
    ],
)
def test_misuse_raises_a_graphkit_error_that_is_also_the_builtin(
    call: Any, error: type[GraphkitError], builtin: type[Exception]
) -> None:
    with pytest.raises(error) as caught:
        call()
    assert isinstance(caught.value, GraphkitError)
    assert isinstance(caught.value, builtin)


def test_a_missing_state_key_is_a_key_error_with_a_readable_message() -> None:
    error = MissingStateKeyError("Tool 'lookup' needs the state key 'user'")
    assert isinstance(error, KeyError)
    assert isinstance(error, ValueError)
    assert str(error) == "Tool 'lookup' needs the state key 'user'"


def _closed_lmdb_store(tmp_path: Path) -> Any:
    from graphkit.store.lmdb import LMDBStore

    store = LMDBStore(tmp_path / "closed")
    store.close()
    return store


@pytest.mark.parametrize(
    ("call", "error", "builtin"),
    [
        (lambda tmp: InMemoryStore().put(("a",), "k", "text"), InvalidStoreRequestError, TypeError),
        (
            lambda tmp: InMemoryStore().search(("a",), filter={"x": {"$near": 1}}),
            InvalidStoreQueryError,
            ValueError,
        ),
        (lambda tmp: InMemoryStore().put(("a", ""), "k", {}), InvalidNamespaceError, ValueError),
        (lambda tmp: HashEmbeddings(dims=0), InvalidStoreConfigError, ValueError),
        (lambda tmp: InMemoryStore(index={"embed": "hash"}), InvalidStoreConfigError, ValueError),
        (lambda tmp: _closed_lmdb_store(tmp).get(("a",), "k"), StoreClosedError, RuntimeError),
    ],
)
def test_store_errors_share_one_base_and_keep_their_builtin(
    tmp_path: Path, call: Any, error: type[StoreError], builtin: type[Exception]
) -> None:
    with pytest.raises(error) as caught:
        call(tmp_path)
    assert isinstance(caught.value, StoreError) and isinstance(caught.value, GraphkitError)
    assert isinstance(caught.value, builtin)


def test_opening_a_missing_lmdb_store_is_a_file_not_found_error(tmp_path: Path) -> None:
    from graphkit.store.lmdb import LMDBStore
    from graphkit.stores._lmdb import LMDBNotFoundError

    with pytest.raises(LMDBNotFoundError, match="no LMDB environment") as caught:
        LMDBStore.open_existing(tmp_path / "nothing")
    assert isinstance(caught.value, FileNotFoundError)
