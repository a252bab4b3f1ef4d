"""Appending a step's messages to the history in place, where the run alone holds it.

``add_messages`` returns a new list (``left + new``): a caller may hold ``left``. A
step on a 10,000-message history then spends most of its time copying 10,000
pointers and freeing the previous list. Inside a run without a checkpointer, the
history in the run's values is often held by nothing but the engine: then appending
to it in place is seen by nobody, and a step costs O(new).

"Nobody else" is proven, never assumed, by counting references (with the GIL, and
under the message index's lock, so that no entry comes or goes meanwhile): the list
must be held by exactly the run's values, the index entry that vouches it unchanged
since ``add_messages`` made it, and the step's task inputs that hold it, each of those
a dict held by its task alone. Any other holder (a node or a stream consumer that kept
the state or the list, a ``Send`` argument, a saver, the caller's input) is one
reference more: the step then merges as ``add_messages`` does, into a new list.

The run's values dict itself is private: nodes, branches, ``read_state`` and stream
chunks get copies of it (a dict holding it would hold the list: counted). A task's
input dict is counted only while its task alone holds it: a node, a ``debug``/``tasks``
consumer or a retry that kept the state makes it one holder more.

Where: ``Run`` allows it only in runs without a checkpointer anywhere up the call
chain (a saver keeps the lists it stored and compares them by identity), at the
step's barrier (all tasks done), and, for the step's only task, in the merge its
conditional edges see (``with_own_writes``): the values then change before the
barrier, so a step that does not apply that merge as it is (a pause, an error, a
``push_message`` from a branch) takes it back (``Run._take_back``); and not while the
``messages`` stream reads the task's input after that merge.
"""

from __future__ import annotations

import sys
import sysconfig
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from graphkit import _message_index
from graphkit.messages import appended_messages, history_reducer

if TYPE_CHECKING:
    from graphkit.engine.task import Task


def _refs(value: object) -> int:
    return sys.getrefcount(value)


def _one_local() -> int:
    value: list[Any] = []
    return _refs(value)


_LOCAL = _one_local()
"""What ``_refs`` says of an object one local variable alone holds (measured, not
assumed: interpreters count arguments differently)."""


def _private(values: dict[str, Any], key: str, tasks: Sequence[Any]) -> list[Any] | None:
    """``values[key]`` when it is a list held by exactly ``values``, its index entry and
    the input dicts of ``tasks`` that hold it, each held by its task alone; else None.
    The caller holds ``_message_index._lock`` and no reference to the list."""
    current = values.get(key)
    if type(current) is not list or not _message_index.remembered(current):
        return None
    expected = _LOCAL + 2  # values' slot and the index entry
    for task in tasks:
        held = task.input
        if type(held) is dict and held.get(key) is current:
            if _refs(held) != _LOCAL + 1:  # its task's slot: the dict is private
                return None
            expected += 1
    if _refs(current) != expected:
        return None
    return current


def _gil() -> bool:
    """True on a CPython build with the GIL (a free-threaded one counts references per
    thread; other interpreters count them otherwise, or not at all)."""
    if sys.implementation.name != "cpython" or sysconfig.get_config_var("Py_GIL_DISABLED"):
        return False
    is_gil_enabled = getattr(sys, "_is_gil_enabled", None)
    return True if is_gil_enabled is None else bool(is_gil_enabled())


def append(
    values: dict[str, Any], key: str, writes: list[Any], tasks: Sequence[Task]
) -> list[Any] | None:
    """Apply ``writes`` (``add_messages`` right-hand sides) to ``values[key]`` in place,
    when they only append and the list is the run's alone (see the module docstring);
    return the list, or None (nothing changed: merge as usual)."""
    found = appended_messages(writes)
    if found is None:
        return None
    with _message_index._lock:
        current = _private(values, key, tasks)
        if current is None or not _message_index.extend(current, *found):
            return None
        return current


def _self_test() -> bool:
    """The proof, tried on lists whose holders are known: private, or one holder more."""

    class _Probe:
        __slots__ = ("input",)

        def __init__(self, input: Any) -> None:
            self.input = input

    def case(extra: str) -> bool:
        history: list[Any] = []
        _message_index.remember(history, _message_index.HistoryIndex([]))
        values = {"k": history}
        probe = _Probe({"k": history})
        kept = history if extra == "list" else probe.input if extra == "dict" else None
        if extra == "entry":  # one expected holder missing, one unexpected there
            with _message_index._lock:
                _message_index._known.pop(id(history), None)
            kept = history
        del history
        with _message_index._lock:
            found = _private(values, "k", [probe]) is not None
        del kept
        return found

    return case("") and not any(map(case, ("list", "dict", "entry")))


ENABLED = _gil() and _self_test()
"""Whether in-place appends are used at all: never on a free-threaded build (reference
counts there are not exact), nor where the proof fails its self-test."""

REDUCER = history_reducer
"""The reducer whose merges may happen in place (the plain one, no ``format``)."""
