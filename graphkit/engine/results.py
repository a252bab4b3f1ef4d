"""Task results in history: what each task of a step wrote, kept by reference.

A snapshot's tasks show their ``result`` (their writes, as LangGraph's
``PregelTask.result``) once the step ran. LangGraph stores every task's writes a
second time for this; graphkit stores, in the checkpoint the step made, where each
write is found in that checkpoint's own values:

- ``"="``: the channel's value (the task was its only writer, and the value is the write);
- ``["+", start, end]``: ``value[start:end]`` of a list channel (the write was appended);
- ``["i", index]``: ``value[index]`` (one item was appended);
- ``["v", value]``: the write itself, for what a reducer merged beyond recognition
  (a counter's increment, a string's suffix): small values, as a rule.

So a step appending to a long conversation stores a few integers, not the messages
again. The record lives in the frontier record (``Frontier.wrote``) of the child
checkpoint; :func:`read_results` turns it back into results for the parent's tasks.

>>> reply = {"role": "ai"}
>>> before = {"messages": [{"role": "human"}]}
>>> after = {"messages": [*before["messages"], reply], "n": 3}
>>> wrote = record_writes([("1:agent", [("messages", [reply]), ("n", 1)])], after, before)
>>> wrote
{'1:agent': [['messages', ['+', 1, 2]], ['n', ['v', 1]]]}
>>> read_results(wrote, after)
{'1:agent': {'messages': [{'role': 'ai'}], 'n': 1}}
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Sequence
from typing import Any

from graphkit.constants import MISSING
from graphkit.stores._model_codec import copy_value

Write = tuple[str, Any]
WroteRecord = dict[str, list[list[Any]]]
"""Task id -> ``[[channel, ref], ...]`` in write order (see the module docstring)."""

_SAME = "="


def record_writes(
    tasks: Iterable[tuple[str, Sequence[Write]]],
    values: dict[str, Any],
    before: dict[str, Any],
    keys: Iterable[str] | None = None,
) -> WroteRecord:
    """The ``wrote`` record of a step: each task's writes as references into ``values``
    (the state after the step), in task order.

    ``before``: the state before the step (a list channel's writers are found at its
    end, newest last). ``keys``: the channels to keep (None: every written channel).
    Every task gets an entry, one that wrote nothing an empty one: it ran.
    """
    tasks = list(tasks)
    keep = keys if keys is None or isinstance(keys, frozenset) else frozenset(keys)
    if len(tasks) == 1 and len(tasks[0][1]) == 1:  # the common step: one task, one write
        task_id, ((channel, value),) = tasks[0]
        if keep is not None and channel not in keep:
            return {task_id: []}
        if values.get(channel, MISSING) is value:
            return {task_id: [[channel, _SAME]]}
    writers: dict[str, int] = {}
    for _, writes in tasks:
        for channel, _ in writes:
            writers[channel] = writers.get(channel, 0) + 1
    # A list channel's appended writes sit at its end in task order: walk back from it.
    cursor: dict[str, int | None] = {}
    refs: list[list[list[Any]]] = [[] for _ in tasks]
    for at in range(len(tasks) - 1, -1, -1):
        _, writes = tasks[at]
        out = refs[at]
        for channel, value in reversed(writes):
            if keep is not None and channel not in keep:
                continue
            out.append([channel, _ref(channel, value, values, before, writers, cursor)])
        out.reverse()
    return {task_id: out for (task_id, _), out in zip(tasks, refs, strict=True)}


def _ref(
    channel: str,
    value: Any,
    values: dict[str, Any],
    before: dict[str, Any],
    writers: dict[str, int],
    cursor: dict[str, int | None],
) -> list[Any] | str:
    now = values.get(channel, MISSING)
    if now is value and writers[channel] == 1:
        return _SAME
    if type(now) is list and now is not before.get(channel, MISSING):
        end = cursor.get(channel, len(now))
        if end is not None:
            if type(value) is list and value:
                start = end - len(value)
                if start >= 0 and all(map(operator.is_, now[start:end], value)):
                    cursor[channel] = start
                    return ["+", start, end]
            elif end > 0 and now[end - 1] is value:
                cursor[channel] = end - 1
                return ["i", end - 1]
        cursor[channel] = None  # not found where expected: earlier writes are copied
    return ["v", value]


def read_results(
    wrote: WroteRecord | None,
    values: dict[str, Any],
    root: str | None = None,
    *,
    copied: bool = False,
) -> dict[str, Any]:
    """Task id -> ``result`` from a checkpoint's ``wrote`` record and its ``values``.

    A result is ``{channel: write}`` (a channel written more than once:
    ``{channel: {"$writes": [...]}}``, as LangGraph shows it); with ``root`` (a graph
    whose state is one value), the write to that channel itself, or None. ``copied``:
    what is taken from ``values`` is copied (values that share a saver's messages).
    """
    if not wrote:
        return {}
    out: dict[str, Any] = {}
    for task_id, refs in wrote.items():
        by_channel: dict[str, list[Any]] = {}
        for channel, ref in refs:
            write = _resolve(ref, values.get(channel, MISSING))
            if copied and (ref == _SAME or ref[0] != "v"):  # (taken from values)
                write = copy_value(write)
            by_channel.setdefault(channel, []).append(write)
        result = {c: w[0] if len(w) == 1 else {"$writes": w} for c, w in by_channel.items()}
        out[task_id] = result.get(root) if root is not None else result
    return out


def _resolve(ref: Any, value: Any) -> Any:
    if ref == _SAME:
        return value
    kind = ref[0]
    if kind == "v":
        return ref[1]
    if value is MISSING:
        return None
    if kind == "+":
        return list(value[ref[1] : ref[2]])
    return value[ref[1]]
