"""LangChain's view of graphkit's message histories, built in O(new messages).

A graph whose messages came in as ``langchain_core`` messages keeps graphkit's in its
channels (``add_messages`` converts them where they enter), but the code reading its
state was written for LangGraph: ``isinstance(state["messages"][-1], AIMessage)``
with LangChain's ``AIMessage``. The engine hands such code ``langchain_view(value)``
of the keys that speak LangChain (``GraphTables.langchain``).

Converting a 10,000-message history on every read would cost what the step itself
does not (about 11 us a message: LangChain validates each). So views are remembered
per history list, and a history's view is built from the remembered one it shares the
most with:

- a message that is the very object a view showed (the steps of a run, and the reads
  of a saver made with ``copy_on_read=False``) is shown by the same LangChain message,
  as LangGraph shares its messages between the steps of a run: O(new messages), the
  shared messages found by identity in C;
- an equal copy of one (a saver's default read hands out fresh messages) gets a fresh
  LangChain message, copied from the one converted first, which no reader ever gets
  (``_View.sources``): what a reader changes in place never reaches another read;
- any other message is converted.

Every reader gets a list of its own, so a reader that adds, removes or replaces items
of its list changes nothing another reader sees.

``langchain_copies`` is the view for a history whose graphkit messages no reader sees
as they are (``get_state`` reads the saver's kept messages themselves, uncopied:
``stores.checkpoint.base.reads_converted``): every message it shows is fresh, copied
from the one converted first, whether the message was viewed before or not. Its
records (kept apart: they hold no message a reader got) serve the next such read in
O(new). A run's restore reads objects of the run's own sharing the saver's messages
(``_model_codec.shells``): by identity, its views never mix with another run's.
"""

from __future__ import annotations

import itertools
import operator
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from graphkit import _gc
from graphkit._langchain import to_langchain_message
from graphkit.stores._model_codec import copier_of, extra_model_copier

_SIZE = 32
"""Histories whose views are remembered at once (LRU)."""
_CANDIDATES = 8
"""Most recent views tried as the base of a history not seen before."""

_Copier = Callable[[Any], Any]


@dataclass(slots=True)
class _View:
    items: list[Any]
    """The items of the list viewed (a copy: the list is not held, so it may be freed,
    and its id reused by another list: the items tell)."""
    view: list[Any]
    """What readers get of each item (each reader in a list of its own): ``view[i]``
    is LangChain's message of ``items[i]``, or the item itself when it is no message."""
    sources: list[tuple[Any, _Copier] | None]
    """Per item: LangChain's message as converted, never handed out (what the view of
    an equal copy of the item is copied from), and what copies it; None for an item
    that is no message."""


_lock = threading.Lock()
_views: OrderedDict[int, _View] = OrderedDict()
_copied: OrderedDict[int, _View] = OrderedDict()
"""The records of ``langchain_copies`` (their ``view`` is left empty: each read copies
every message from ``sources``)."""


def langchain_values(values: dict[str, Any], keys: Any, *, fresh: bool = False) -> dict[str, Any]:
    """A copy of ``values`` whose ``keys`` (those in it) hold LangChain's view
    (``fresh``: ``langchain_copies``)."""
    shown = dict(values)
    show = langchain_copies if fresh else langchain_view
    for key in keys:
        if key in shown:
            shown[key] = show(shown[key])
    return shown


def langchain_view(value: Any) -> Any:
    """``value`` as code written for LangChain reads it: a graphkit message, or a list
    holding some, with LangChain's messages in their place; anything else as it is."""
    from graphkit.messages import BaseMessage

    if type(value) is list:
        return _history_view(value) if value else value
    if isinstance(value, BaseMessage):
        pristine = to_langchain_message(value)
        return _shown(value, extra_model_copier(pristine)(pristine), pristine)
    return value


def langchain_copies(value: Any) -> Any:
    """``langchain_view`` whose LangChain messages are all fresh, sharing nothing with
    those of another read: for a ``value`` whose graphkit messages are the ones a
    saver keeps (``reads_converted``), which the caller shows no one else."""
    if type(value) is list:
        return _fresh_history(value) if value else value
    return langchain_view(value)


def _shown(item: Any, shown: Any, pristine: Any) -> Any:
    """Record ``shown``, a LangChain message a reader gets (a copy of ``pristine``, a
    message no reader gets), as the view of ``item``."""
    if len(_sources) >= _SOURCES_SIZE:
        _sources.clear()  # (a miss costs one conversion, never a wrong answer)
    _sources[id(shown)] = (shown, item, pristine)
    return shown


_sources: dict[int, tuple[Any, ...]] = {}
"""LangChain message of a view -> (it, the graphkit message it shows, a LangChain
message equal to it as shown that no reader gets[, True: the graphkit message is
one a saver keeps, ``langchain_copies``]): a history handed back
(``invoke(output)`` of a run without a checkpointer, a node returning the whole list)
turns into graphkit's again without converting each one."""
_SOURCES_SIZE = 20_000
"""Entries kept (each holds a LangChain message, a graphkit one and the LangChain one
it was copied from, about 1-2 KB): enough for a 10,000-message history handed back, without holding
hundreds of MB of messages in a long-lived server."""


def graphkit_source(message: Any) -> Any:
    """The graphkit message a view's LangChain ``message`` shows (a copy, for one a
    saver keeps), if it is one and was not changed since (its fields compared with
    those of the message it was copied from, nested values included); else None."""
    found = _sources.get(id(message))
    if found is None or found[0] is not message or message.__dict__ != found[2].__dict__:
        return None
    item = found[1]
    return copier_of(item)(item) if len(found) == 4 else item  # (4: a kept message)


def _history_view(history: list[Any]) -> list[Any]:
    with _lock:  # (the work below is O(new) but for a copying read: see ``_add_copies``)
        found = _views.get(id(history))
        if found is not None and _identical(history, found.items):
            _views.move_to_end(id(history))
            return found.view[:]
        return _recorded(history, _views, True).view[:]


def _fresh_history(history: list[Any]) -> list[Any]:
    """``langchain_copies`` of a list: its record in ``_copied`` (O(new)), then a fresh
    copy of every message's source."""
    with _lock:
        record = _recorded(history, _copied, False)
        return _gc.call(len(history) >= _gc.PAUSE_AT, _fresh_copies, history, record.sources)


def _recorded(history: list[Any], views: OrderedDict[int, _View], show: bool) -> _View:
    """The record of ``history`` in ``views`` (``_views``, or ``_copied`` with ``show``
    False: records whose ``view`` is left empty), made from the one it shares the most
    with (of ``_copied``'s, the sources of ``_views``' too: no reader gets those). The
    caller holds ``_lock``."""
    base, same, aligned = _base(history, (views,) if show else (views, _views))
    large = len(history) - same >= _gc.PAUSE_AT
    record = _gc.call(large, _record, history, base, same, aligned, views, show)
    views[id(history)] = record
    views.move_to_end(id(history))
    while len(views) > _SIZE:
        views.popitem(last=False)
    return record


def _fresh_copies(history: list[Any], sources: list[tuple[Any, _Copier] | None]) -> list[Any]:
    """Fresh LangChain messages of ``history``'s items, copied from their ``sources``
    (an item that is no message as it is; such a list is not remembered for
    ``graphkit_source``: handed back, it is converted anew)."""
    if None in sources:
        return [item if s is None else s[1](s[0]) for item, s in zip(history, sources, strict=True)]
    pairs = cast(list[tuple[Any, _Copier]], sources)
    shown = [copy(pristine) for pristine, copy in pairs]
    _remember_sources(shown, history, pairs, kept=True)
    return shown


def _identical(history: list[Any], items: list[Any]) -> bool:
    """``history`` holds the items of ``items`` (see ``_same_start``)."""
    return len(history) == len(items) and _same_start(history, items) == len(items)


_TAIL = 16
"""Last items looked at for one both lists share (see ``_same_start``)."""


def _same_start(some: list[Any], others: list[Any]) -> int:
    """How many first items the lists share: the same objects, compared in C.

    Lists are compared with ``==`` (by identity first, in C) up to the last shared
    object among their last few items: an item in between that is an equal copy counts
    as shared (a history whose first and last messages are the very ones viewed holds
    what the view showed: a copying read copies every message). Where the lists share
    none of their last few items, item by item by identity."""
    count = min(len(some), len(others))
    for end in range(count, max(count - _TAIL, 0), -1):
        if some[end - 1] is others[end - 1]:
            if some[0] is others[0] and _prefix(some, end) == _prefix(others, end):
                return end
            break
    differ = map(operator.is_not, some, others)
    return next(itertools.compress(itertools.count(), differ), count)


def _prefix(items: list[Any], count: int) -> list[Any]:
    return items if len(items) == count else items[:count]


def _base(
    history: list[Any], stores: tuple[OrderedDict[int, _View], ...]
) -> tuple[_View | None, int, bool]:
    """The remembered view (of ``stores``) to build ``history``'s from, how many first
    items they share by identity, and whether the items after those may be equal copies
    at the same positions (the first items are the same objects or equal). The caller
    holds ``_lock``.

    Tried: the newest few views whose first item is ``history``'s (the one sharing the
    most wins), else the newest whose first item is an equal copy of it (a saver's
    copying read), else the newest (a history that lost its first messages, say: its
    items are found by identity)."""
    first = history[0]
    best: _View | None = None
    best_same = 0
    equal_start: _View | None = None
    newest = (itertools.islice(reversed(views.values()), _CANDIDATES) for views in stores)
    for found in itertools.chain.from_iterable(newest):
        items = found.items
        if items[0] is first:
            same = _same_start(history, items)
            if same > best_same:
                best, best_same = found, same
            if same == len(items):
                break
        elif equal_start is None and _equal(items[0], first):
            equal_start = found
    if best is not None:
        return best, best_same, True
    if equal_start is not None:
        return equal_start, 0, True
    last = next((next(reversed(views.values())) for views in stores if views), None)
    return last, 0, False


def _equal(one: Any, other: Any) -> bool:
    """Equal messages: of one type, with equal fields (compared in C, not through
    pydantic's ``__eq__``, a Python call)."""
    fields = getattr(one, "__dict__", None)
    return type(one) is type(other) and fields is not None and fields == other.__dict__


_FIELDS = operator.attrgetter("__dict__")


def _record(
    history: list[Any],
    base: _View | None,
    same: int,
    aligned: bool,
    views: OrderedDict[int, _View],
    show: bool,
) -> _View:
    """The view of ``history`` (see ``_base`` for ``base``, ``same`` and ``aligned``;
    not ``show``: its sources alone). The caller holds ``_lock``. When ``history``
    starts with all of ``base``'s items or equal copies of them (a step's history,
    appended to since; the next read of a thread), ``base``'s record (in ``views``)
    grows into ``history``'s in place: O(new), and one record per conversation."""
    if base is None:
        record = _View(history.copy(), [], [])
        _add_rest(record, history, 0, None, show)
        return record
    tail = _View([], [], [])  # the views of history[same:]
    start = _add_copies(tail, history, base, same, show) if aligned else same
    if not show and start < len(history):
        start = _add_copies_viewed(tail, history, start)
    _add_rest(tail, history, start, base, show)
    if start >= len(base.items) and _forget(base, views):
        base.items[same:] = history[same:]
        base.view[same:] = tail.view
        base.sources[same:] = tail.sources
        return base
    view = base.view[:same] + tail.view if show else []
    return _View(history.copy(), view, base.sources[:same] + tail.sources)


def _add_copies(record: _View, history: list[Any], base: _View, start: int, show: bool) -> int:
    """Add fresh views (``show``; else their sources alone) of the items of ``history``
    from ``start`` that are equal copies of ``base``'s items at the same positions (a
    copying read of a history ``base`` viewed: O(history), about 2 us a message), as
    long as they all are; return where they stop."""
    end = min(len(history), len(base.items))
    while end > start:  # the common cases: all of them, or none
        sources = base.sources[start:end]
        if None not in sources and _all_equal(history[start:end], base.items[start:end]):
            if show:
                pairs = cast(list[tuple[Any, _Copier]], sources)
                shown = [copy(pristine) for pristine, copy in pairs]
                _remember_sources(shown, history[start:end], pairs)
                record.view += shown
            record.sources += sources
            return end
        end = start + (end - start) // 2 if end - start > 1 else start
    return start


def _add_copies_viewed(tail: _View, history: list[Any], start: int) -> int:
    """``_add_copies`` (sources alone) from the newest of ``_views``' records that has
    equal copies of ``history``'s items from ``start``: the messages of a turn, viewed
    by its run, need no conversion when ``langchain_copies`` reads them next."""
    for _, found in zip(range(_CANDIDATES), reversed(_views.values()), strict=False):
        if len(found.items) > start:
            end = _add_copies(tail, history, found, start, False)
            if end > start:
                return end
    return start


def _all_equal(some: list[Any], others: list[Any]) -> bool:
    """The lists (of one length) hold equal messages (see ``_equal``), compared in C."""
    try:
        return list(map(type, some)) == list(map(type, others)) and list(
            map(_FIELDS, some)
        ) == list(map(_FIELDS, others))
    except AttributeError:  # not messages
        return False


def _remember_sources(
    shown: list[Any], items: list[Any], sources: list[tuple[Any, _Copier]], kept: bool = False
) -> None:
    """``_shown`` for many at once (in C); ``kept``: ``items`` are messages a saver
    keeps, which ``graphkit_source`` copies."""
    if len(_sources) + len(shown) > _SOURCES_SIZE:
        _sources.clear()
    pristine = map(operator.itemgetter(0), sources)
    marks = (itertools.repeat(True, len(shown)),) if kept else ()
    _sources.update(
        zip(map(id, shown), zip(shown, items, pristine, *marks, strict=True), strict=True)
    )


def _add_rest(
    record: _View, history: list[Any], start: int, base: _View | None, show: bool
) -> None:
    """Add the views (``show``; else their sources alone) of ``history``'s items from
    ``start``: ``base``'s for an item it viewed (by identity, wherever it is now), a
    new one for the others."""
    from graphkit.messages import BaseMessage

    if start == len(history):
        return
    known: dict[int, int] = {}
    if base is not None and start < len(base.items):  # (else: all of base's are before)
        known = {id(m): i for i, m in enumerate(base.items)}  # (base.items holds them)
    for item in history[start:]:
        at = known.get(id(item))
        if at is not None and base is not None:
            if show:
                record.view.append(base.view[at])
            record.sources.append(base.sources[at])
        elif isinstance(item, BaseMessage):
            pristine = to_langchain_message(item)
            copy = extra_model_copier(pristine)
            if show:
                record.view.append(_shown(item, copy(pristine), pristine))
            record.sources.append((pristine, copy))
        else:
            if show:
                record.view.append(item)
            record.sources.append(None)


def _forget(base: _View, views: OrderedDict[int, _View]) -> bool:
    """Drop the record ``base`` from ``views`` (a longer view of its history covers
    it: one record per conversation, not one per step); False if it is not one of
    them. The caller holds ``_lock``."""
    for key, found in views.items():
        if found is base:
            del views[key]
            return True
    return False
