"""Applying writes to state: one function for the step's barrier and for branch states.

Writes to a key are merged in the order given (task order at the barrier, never
finish order) through the key's reducer; a key without one takes a single write.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from graphkit import _langchain
from graphkit.constants import MISSING
from graphkit.engine import in_place
from graphkit.errors import ErrorCode, InvalidUpdateError, add_context, create_error_message
from graphkit.types import Overwrite

if TYPE_CHECKING:
    from graphkit.engine.tables import GraphTables
    from graphkit.engine.task import Task, Write


def merge_writes(
    values: dict[str, Any],
    tables: GraphTables,
    writers: list[tuple[str, list[Write]]],
    tasks: Sequence[Task] | None = None,
) -> dict[str, Any]:
    """The keys that ``writers``' writes change, merged through the reducers, in order.

    Raises ``InvalidUpdateError`` when a key without a reducer gets two writes. Values
    are kept as written (a pydantic state validates them where they are read).
    ``values`` itself is not changed, except with ``tasks`` (the step's, of a run
    without a checkpointer): a history only they and ``values`` hold may be appended
    to in place (``graphkit.engine.in_place``). A write of LangChain messages to a
    reducer key makes it speak LangChain (``GraphTables.note_langchain``).
    """
    if len(writers) == 1 and len(writers[0][1]) == 1:
        key, value = writers[0][1][0]  # one write (a chain's step): in short
        if key not in tables.reducers and type(value) is not Overwrite and type(value) is not dict:
            return {key: value}
    grouped: dict[str, list[Any]] = {}
    for _, writes in writers:
        for key, value in writes:
            found = grouped.get(key)
            if found is None:
                grouped[key] = [value]
            else:
                found.append(value)
    if not grouped:
        return {}
    reducers = tables.reducers
    one_step = tables.one_step
    new: dict[str, Any] = {}
    for key, pending in grouped.items():
        reducer = reducers.get(key)
        try:
            if reducer is None:
                if len(pending) > 1:
                    raise _conflict(key, writers)
                value = pending[0]
                plain = type(value) is not Overwrite and type(value) is not dict
                new[key] = value if plain or not _is_overwrite(value) else _overwritten(value)
            elif tasks is not None and reducer is in_place.REDUCER and in_place.ENABLED:
                grown = in_place.append(values, key, pending, tasks)
                new[key] = (
                    grown
                    if grown is not None
                    else _reduce(values.get(key, MISSING), pending, reducer, key)
                )
            elif key in one_step:  # a value lasting one step: merged from its start
                start = one_step[key]
                new[key] = _reduce(MISSING if start is None else start(), pending, reducer, key)
            else:
                current = values.get(key, MISSING)
                if current is MISSING and key in tables.absent_until_written:
                    current = tables.absent_until_written[key]()
                new[key] = _reduce(current, pending, reducer, key)
            if reducer is not None and _langchain.SEEN:  # (the reducer converted them)
                tables.note_langchain(key, pending)
        except InvalidUpdateError:
            raise
        except Exception as exc:
            names = [n for n, w in writers if any(k == key for k, _ in w)]
            add_context(exc, f"While merging writes of {names} into key {key!r}")
            raise
    return new


def cleared_keys(values: dict[str, Any], tables: GraphTables, new: dict[str, Any]) -> list[str]:
    """The keys lasting one step (``GraphTables.one_step``) that hold a value but get no
    write in ``new``, the step's merged writes: the step clears them."""
    return [key for key in tables.one_step if key in values and key not in new]


def first_value(key: str, value: Any, reducer: Any, initial: Any) -> Any:
    """What a reducer key holds after its first write ``value`` (an ``Overwrite``
    included), starting from ``initial()`` (None: the write itself, as LangGraph's
    channel without an empty value)."""
    return _reduce(MISSING if initial is None else initial(), [value], reducer, key)


def _reduce(current: Any, pending: list[Any], reducer: Any, key: str) -> Any:
    """A reducer key's value after a step's writes. An ``Overwrite`` (or its JSON form
    ``{"__overwrite__": value}``) sets the value: the step's other writes to the key
    are dropped, as in LangGraph, and a second ``Overwrite`` in one step is an error."""
    if reducer is operator.add and type(current) is list and len(pending) > 1:
        joined = _joined(current, pending)  # only lists: no Overwrite among them
        if joined is not None:
            return joined
    overwrites = [v for v in pending if _is_overwrite(v)]
    if len(overwrites) > 1:
        raise InvalidUpdateError(
            f"At key {key!r}: Can receive only one Overwrite value per super-step; "
            f"{len(overwrites)} nodes overwrote it. Let one node overwrite, the others add."
        )
    if overwrites:
        return _overwritten(overwrites[0])
    for value in pending:
        current = value if current is MISSING else reducer(current, value)
    return current


def _joined(current: list[Any], pending: list[Any]) -> list[Any] | None:
    """``operator.add`` over lists, in one new list (not one per write, as reducing pair
    by pair makes); None when a write is not a list (the reducer then decides)."""
    joined = current.copy()
    for value in pending:
        if type(value) is not list:
            return None
        joined += value
    return joined


def _is_overwrite(value: Any) -> bool:
    return type(value) is Overwrite or (
        type(value) is dict and len(value) == 1 and OVERWRITE_KEY in value
    )


def _overwritten(value: Any) -> Any:
    return value.value if type(value) is Overwrite else value[OVERWRITE_KEY]


OVERWRITE_KEY = "__overwrite__"
"""The JSON form of ``Overwrite(value)``: ``{"__overwrite__": value}``."""


def _conflict(key: str, writers: list[tuple[str, list[Write]]]) -> InvalidUpdateError:
    names = [n for n, w in writers if any(k == key for k, _ in w)]
    return InvalidUpdateError(
        create_error_message(
            message=f"At key {key!r}: written by {names} in the same step, but it keeps only "
            "one value. Give it a reducer to merge parallel writes, e.g. "
            f"`{key}: Annotated[list, operator.add]`, or write it from one node per step.",
            error_code=ErrorCode.INVALID_CONCURRENT_GRAPH_UPDATE,
        )
    )
