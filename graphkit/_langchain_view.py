"""LangChain's view of graphkit's message histories, built in O(new messages).

A graph whose messages came in as ``langchain_core`` messages keeps graphkit's in its
channels (``add_messages`` converts them where they enter), but the code reading its
state was written for LangGraph: ``isinstance(state["messages"][-1], AIMessage)``
with LangChain's ``AIMessage``. The engine hands such code ``langchain_view(value)``
of the keys that speak LangChain (``GraphTables.langchain``).

Converting a 10,000-message history on every read would cost what the step itself
does not. So views are remembered per history list: a history that holds the
messages of one remembered (the same objects at the same positions, maybe with more
after them: a step's appends) reuses that view's LangChain messages and converts only
the rest; one that replaced a message by id reuses every message still the same.
Like LangGraph's, the LangChain messages are shared by the steps of a run and by the
readers of a step (all get the same list): a reader that changes the list in place
changes only its view (the next reader gets a fresh one), never the state.
"""

from __future__ import annotations

import operator
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from graphkit._langchain import to_langchain_message

_SIZE = 32
"""Histories whose views are remembered at once (LRU)."""
_CANDIDATES = 8
"""Most recent views tried as the base of a history not seen before."""


@dataclass(slots=True)
class _View:
    items: list[Any]
    """The messages of the list viewed (a copy: the list is not held, so it may be
    freed, and its id reused by another list: the items tell)."""
    view: list[Any]
    """LangChain's messages, ``view[i]`` that of ``items[i]``."""


_lock = threading.Lock()
_views: OrderedDict[int, _View] = OrderedDict()


def langchain_values(values: dict[str, Any], keys: Any) -> dict[str, Any]:
    """A copy of ``values`` whose ``keys`` (those in it) hold LangChain's view."""
    shown = dict(values)
    for key in keys:
        if key in shown:
            shown[key] = langchain_view(shown[key])
    return shown


def langchain_view(value: Any) -> Any:
    """``value`` as code written for LangChain reads it: a graphkit message, or a list
    holding some, with LangChain's messages in their place; anything else as it is."""
    from graphkit.messages import BaseMessage

    if type(value) is list:
        return _history_view(value) if value else value
    if isinstance(value, BaseMessage):
        return to_langchain_message(value)
    return value


def _converted(item: Any) -> Any:
    from graphkit.messages import BaseMessage

    if not isinstance(item, BaseMessage):
        return item
    shown = to_langchain_message(item)
    if len(_sources) >= _SOURCES_SIZE:
        _sources.clear()  # (a miss costs one conversion, never a wrong answer)
    _sources[id(shown)] = (shown, item, dict(shown.__dict__))
    return shown


_sources: dict[int, tuple[Any, Any, dict[str, Any]]] = {}
"""LangChain message of a view -> (it, the graphkit message it shows, its fields then):
a history handed back (``invoke(output)`` of a run without a checkpointer, a node
returning the whole list) turns into graphkit's again without converting each one."""
_SOURCES_SIZE = 20_000
"""Entries kept (each holds a LangChain message, a graphkit one and a dict of fields,
about 1-2 KB): enough for a 10,000-message history handed back, without holding
hundreds of MB of messages in a long-lived server."""


def graphkit_source(message: Any) -> Any:
    """The graphkit message a view's LangChain ``message`` shows, if it is one and was
    not changed since (its fields compared, by identity first); else None."""
    found = _sources.get(id(message))
    if found is None or found[0] is not message or message.__dict__ != found[2]:
        return None
    return found[1]


def _history_view(history: list[Any]) -> list[Any]:
    with _lock:
        found = _views.get(id(history))
        if found is not None and _unchanged(found, history):
            _views.move_to_end(id(history))
            return found.view
        base, appended = _base(history)
    view = [_converted(m) for m in history] if base is None else _reused(base, history, appended)
    items = history.copy()
    with _lock:
        if (
            base is not None
            and len(base.items) < len(items)
            and items[len(base.items) - 1] is base.items[-1]
        ):
            _forget(base)  # this view covers it (a step's history, appended to since)
        _views[id(history)] = _View(items, view)
        _views.move_to_end(id(history))
        while len(_views) > _SIZE:
            _views.popitem(last=False)
    return view


def _unchanged(found: _View, history: list[Any]) -> bool:
    """The history holds the very messages viewed (compared in C, by identity first)
    and the view was not changed in length."""
    items = found.items
    return (
        len(history) == len(items)
        and len(found.view) == len(items)
        and history[-1] is items[-1]
        and history == items
    )


def _base(history: list[Any]) -> tuple[_View | None, bool]:
    """The remembered view to build ``history``'s from: the newest whose messages
    ``history`` starts with, else the newest of the same conversation (same first
    message), else the newest (None when there is none); and whether ``history``
    starts with its messages. The caller holds ``_lock``.

    Messages are the same when they are one object, or equal copies (a saver's read
    hands out copies): their fields are compared, not their pydantic ``__eq__`` (a
    Python call per message)."""
    first = history[0]
    same_start: _View | None = None
    for _, found in zip(range(_CANDIDATES), reversed(_views.values()), strict=False):
        items = found.items
        if not items or not _same(items[0], first):
            continue
        count = len(items)
        if (
            count <= len(history)
            and _same(history[count - 1], items[-1])
            and _prefix(found, history)
        ):
            return found, True
        if same_start is None:
            same_start = found
    if same_start is None and _views:  # a history that lost its first messages, say
        same_start = next(reversed(_views.values()))
    return same_start, False


def _prefix(found: _View, history: list[Any]) -> bool:
    count = len(found.items)
    return len(found.view) >= count and _same_items(history[:count], found.items)


def _same(one: Any, other: Any) -> bool:
    if one is other:
        return True
    fields = getattr(one, "__dict__", None)
    return type(one) is type(other) and fields is not None and fields == other.__dict__


_FIELDS = operator.attrgetter("__dict__")


def _same_items(some: list[Any], others: list[Any]) -> bool:
    """The lists (of one length) hold the same messages (see ``_base``), compared in
    C: by identity, else by type and fields."""
    if all(map(operator.is_, some, others)):
        return True
    try:
        return list(map(type, some)) == list(map(type, others)) and list(
            map(_FIELDS, some)
        ) == list(map(_FIELDS, others))
    except AttributeError:  # not messages
        return False


def _reused(base: _View, history: list[Any], appended: bool) -> list[Any]:
    """``history``'s view: ``base``'s LangChain message for each message ``base``
    viewed (by identity, wherever it is now), a new one for the others."""
    items, old = base.items, base.view
    count = min(len(items), len(old), len(history))
    if appended:  # (``history`` starts with ``base``'s messages): O(new)
        return old[:count] + [_converted(m) for m in history[count:]]
    known = {id(m): v for m, v in zip(items, old, strict=False)}  # (items holds them)
    return [known[id(m)] if id(m) in known else _converted(m) for m in history]


def _forget(base: _View) -> None:
    """Drop the record ``base`` (a longer view of its history covers it: one record
    per conversation, not one per step). The caller holds ``_lock``."""
    for key, found in _views.items():
        if found is base:
            del _views[key]
            return
