"""Where each message id sits in a history, kept across appends so a step costs O(new).

``add_messages`` needs "is this id already in the history?" for every new message.
Rebuilding that index (and re-coercing every message) on each step made a step on a
10,000-message history cost milliseconds. Lists that ``add_messages`` returned are
already coerced, so their index is remembered here and extended when the next step
only appends.

An index is shared by every list derived from one history by appends: ``h2 = h1 + new``
adds ``new``'s ids to ``h1``'s index in place. An entry, once written, never changes:
an append whose id is already mapped to another position (two branches appended
different messages to one list) copies the index instead. So every list sharing an
index finds its own messages at their positions, and a lookup that checks the
position is inside the list and holds that id never sees ids appended after it.

Two more uses share these indexes: ``extend`` grows a list in place for a run that
provably holds it alone (``graphkit.engine.in_place``), and ``given_index`` reuses the
index of a history a caller hands to runs again (or passes back from ``invoke``'s
output), checked by identity of its items against a copy kept when it was indexed.
"""

from __future__ import annotations

import itertools
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

_CACHE_SIZE = 256
"""Histories remembered at once (LRU); a miss costs one O(n) rebuild, never a wrong answer."""


class HistoryIndex:
    """Message id -> position, shared by the lists of one chain of appends."""

    __slots__ = ("positions",)

    def __init__(self, messages: list[Any]) -> None:
        self.positions: dict[Any, int] = {m.id: i for i, m in enumerate(messages)}

    @classmethod
    def of_ids(cls, ids: Iterable[Any], count: int) -> HistoryIndex:
        """The index of a list of ``count`` messages with these ids (built in C: the
        positions are shared int objects, not ``count`` new ones)."""
        index = cls.__new__(cls)
        index.positions = dict(zip(ids, _positions(count), strict=False))  # ids: count
        return index

    def position(self, messages: list[Any], message_id: Any) -> int | None:
        """Where ``message_id`` is in ``messages`` (a list of this chain), or None."""
        pos = self.positions.get(message_id)
        if pos is None or pos >= len(messages) or messages[pos].id != message_id:
            return None
        return pos


_POSITIONS: tuple[int, ...] = tuple(range(1024))


def _positions(count: int) -> tuple[int, ...]:
    """At least ``count`` positions 0, 1, ... (grown by doubling, kept)."""
    global _POSITIONS
    if len(_POSITIONS) < count:
        _POSITIONS = tuple(range(max(count, 2 * len(_POSITIONS))))
    return _POSITIONS


@dataclass(slots=True)
class _Entry:
    messages: list[Any]
    length: int
    index: HistoryIndex
    serial: int
    """Unique for the life of the process (ids of dead lists are reused; serials are not)."""
    ancestors: tuple[int, ...]
    """The serials of the lists this one was made from by appends, nearest first (at
    most ``_HOPS``): kept here, so that a forgotten list in between breaks no chain."""

    def intact(self) -> bool:
        return len(self.messages) == self.length


_HOPS = 16
"""How far back ``extends`` can tell."""

_lock = threading.RLock()
"""Guards ``_known``; re-entrant, so that ``graphkit.engine.in_place`` can hold it over
its proof that a list is the run's alone and the append that follows (``extend``)."""
_known: OrderedDict[int, _Entry] = OrderedDict()
_serials = itertools.count()


def _refs(entry: _Entry) -> int:
    return sys.getrefcount(entry.messages)


_ONLY_HERE = _refs(_Entry([], 0, HistoryIndex([]), -1, ()))
"""What ``_refs`` says of a list nothing but its entry holds (measured, not assumed)."""
_SWEEP = 4
"""Oldest entries looked at per ``remember``."""


def _entry(messages: list[Any]) -> _Entry | None:
    entry = _known.get(id(messages))
    if entry is None or entry.messages is not messages or not entry.intact():
        return None
    return entry


def lookup(messages: list[Any]) -> HistoryIndex | None:
    """The index of a list ``add_messages`` returned earlier, if it is still remembered.

    A list changed in place since (its length differs) is not trusted.
    """
    with _lock:
        entry = _entry(messages)
        if entry is None:
            return None
        _known.move_to_end(id(messages))
        return entry.index


def remember(messages: list[Any], index: HistoryIndex, parent: list[Any] | None = None) -> None:
    """Record ``messages`` (a coerced history) with its index, and the list it extends.

    An entry holds its list, so that its id stays its own; a list that only its entry
    holds any more can never be merged again, and is forgotten when the sweep reaches
    it (a few of the oldest entries per call): a long history's lists and the messages
    a saver copied for them do not outlive their users (the LRU bound alone kept up to
    ``_CACHE_SIZE`` of them, hundreds of MB at 10,000 messages).
    """
    with _lock:
        origin = _entry(parent) if parent is not None else None
        ancestors = (origin.serial, *origin.ancestors[: _HOPS - 1]) if origin else ()
        _sweep()
        _known.pop(id(messages), None)
        _known[id(messages)] = _Entry(messages, len(messages), index, next(_serials), ancestors)
        while len(_known) > _CACHE_SIZE:
            _known.popitem(last=False)


def _sweep() -> None:
    """Forget the oldest entries whose list nothing else holds; move live ones to the end."""
    for _ in range(min(_SWEEP, len(_known))):
        key, entry = next(iter(_known.items()))
        if _refs(entry) <= _ONLY_HERE + _held_as_given(entry.messages):
            del _known[key]
        else:
            _known.move_to_end(key)


def extends(value: list[Any], old: list[Any], hops: int = _HOPS) -> bool:
    """True when ``add_messages`` made ``value`` from ``old`` by appends only.

    O(hops), where a caller would otherwise compare every element; False means
    "not known", never "no".
    """
    with _lock:
        base = _entry(old)
        entry = _entry(value)
        return base is not None and entry is not None and base.serial in entry.ancestors[:hops]


def append(
    index: HistoryIndex, left: list[Any], appended: list[Any], ids: list[Any]
) -> list[Any] | None:
    """``left + appended``, remembered with an index, when the ``ids`` of ``appended``
    are distinct and none is that of a message in ``left`` (a list of ``index``'s
    chain); else None (the caller merges by id).

    The index is extended in place unless that would move an entry; then it is copied.
    Appending many messages to none (a history handed to ``invoke``) indexes them in C.
    """
    start = len(left)
    if not start:
        index = HistoryIndex.of_ids(ids, len(ids))
        if len(index.positions) != len(ids):
            return None
    elif len(ids) == 1:
        if index.position(left, ids[0]) is not None:
            return None
        if not _add(index, {ids[0]: start}):
            index = HistoryIndex.of_ids([*(m.id for m in left), *ids], start + len(ids))
    else:
        grown = _grown(index, left, ids)
        if grown is None:
            return None
        index = grown
    merged = left + appended
    remember(merged, index, left)
    return merged


def _grown(index: HistoryIndex, left: list[Any], ids: list[Any]) -> HistoryIndex | None:
    """The index of ``left`` (a list of ``index``'s chain) with messages of these ``ids``
    appended: ``index`` extended in place, or a new one where that would move an entry;
    None when an id repeats or is that of a message in ``left``."""
    start = len(left)
    fresh = dict(zip(ids, range(start, start + len(ids)), strict=True))
    if len(fresh) != len(ids) or not (
        index.positions.keys().isdisjoint(fresh)
        or all(index.position(left, i) is None for i in fresh)
    ):
        return None
    if _add(index, fresh):
        return index
    # an id is mapped elsewhere by another list of the chain, or a stale entry
    return HistoryIndex.of_ids([*(m.id for m in left), *ids], start + len(ids))


def remembered(messages: list[Any]) -> bool:
    """True when ``messages`` has an entry here and was not changed in place since
    (the caller holds ``_lock``: the answer stays true while it does)."""
    return _entry(messages) is not None


def extend(messages: list[Any], appended: list[Any], ids: list[Any]) -> bool:
    """Append ``appended`` (coerced messages with these ``ids``) to ``messages`` in
    place, its index and entry with it, when the ids are distinct and none is that of
    a message of ``messages``; else False, and nothing changed.

    Only for a list its caller has proven nobody else can see (see
    ``graphkit.engine.in_place``): ``add_messages`` itself never mutates ``left``.
    """
    with _lock:
        entry = _entry(messages)
        if entry is None:
            return False
        grown = _grown(entry.index, messages, ids)
        if grown is None:
            return False
        entry.index = grown
        messages.extend(appended)
        entry.length = len(messages)
        return True


@dataclass(slots=True)
class _Given:
    """A history handed to runs as their input (a list the caller owns), as indexed."""

    given: list[Any]
    """The caller's list (held so that its id stays its own while it is remembered)."""
    items: list[Any]
    """A copy of its items when it was indexed: the caller may change its list."""
    index: HistoryIndex


_given: OrderedDict[int, _Given] = OrderedDict()
_GIVEN_SIZE = 8
"""Input histories remembered at once (LRU)."""


def given_index(
    given: list[Any],
    build: Callable[[list[Any]], HistoryIndex | None],
    ids_of: Callable[[list[Any]], list[Any] | None],
) -> HistoryIndex | None:
    """The index of ``given``, a list of messages handed to a run as its history, or
    None when it is not indexed (``build(given)`` said so; ``ids_of(messages)``: their
    ids, or None when they are not all plain messages with ids).

    A caller often hands the same history again (a run without a checkpointer takes
    the whole history each time), and indexing 10,000 messages costs milliseconds.
    Lists handed in (and histories handed out: ``hand_out``) are remembered with a copy
    of their items: when ``given`` is such a list, or another list that starts with the
    same first message, and holds the very same items (compared in C, by identity
    first), maybe with more after them, that index is reused (and extended). The
    index is shared, as that of a chain of appends is: every list of the chain finds
    its own messages at their positions.
    """
    with _lock:
        _sweep_given()
        found = _given.get(id(given))
        if found is None or found.given is not given:
            found = _same_first(given)
        if found is not None and _same_items(found, given, ids_of):
            if found.given is given:
                _given.move_to_end(id(given))
            return found.index
    built = build(given)
    if built is not None:
        with _lock:
            _given[id(given)] = _Given(given, given.copy(), built)
            while len(_given) > _GIVEN_SIZE:
                _given.popitem(last=False)
    return built


def _same_first(given: list[Any]) -> _Given | None:
    """The newest record whose items start with ``given``'s first message (a new list
    of a remembered history's messages: ``history + [question]``, say)."""
    first = given[0]
    for found in reversed(_given.values()):
        if found.items and found.items[0] is first:
            return found
    return None


def hand_out(messages: list[Any]) -> None:
    """Remember ``messages``, a history a run hands its caller (``invoke``'s output),
    as a given one: a caller without a checkpointer passes it back, often with its
    next message appended, and its index is then reused (see ``given_index``)."""
    with _lock:
        entry = _entry(messages)
        if entry is not None:
            _given[id(messages)] = _Given(messages, messages.copy(), entry.index)
            _given.move_to_end(id(messages))
            while len(_given) > _GIVEN_SIZE:
                _given.popitem(last=False)


def _same_items(
    found: _Given, given: list[Any], ids_of: Callable[[list[Any]], list[Any] | None]
) -> bool:
    """``given`` holds ``found``'s items (compared in C: the last one by identity
    first, the common miss, then all, by identity before equality), maybe with more
    after them, which are then indexed too. False where the shared index grew past
    twice the history (ids that runs appended): it is then rebuilt."""
    items = found.items
    count = len(items)
    if (
        not count
        or len(given) < count
        or len(found.index.positions) > 2 * len(given) + 1024
        or given[count - 1] is not items[-1]
    ):
        return False
    if len(given) == count:
        return given == items
    return given[:count] == items and _given_tail(found, given, ids_of(given[count:]))


def _given_tail(found: _Given, given: list[Any], ids: list[Any] | None) -> bool:
    """Index the messages ``given`` has past ``found``'s items (True), or False when
    they are not plain, repeat an id, or one is already mapped elsewhere."""
    if ids is None:
        return False
    start = len(found.items)
    fresh = dict(zip(ids, range(start, start + len(ids)), strict=True))
    if len(fresh) != len(ids) or not _add(found.index, fresh):
        return False
    if found.given is given:  # another list's record keeps that list's items
        found.items = given.copy()
    return True


def _sweep_given() -> None:
    """Forget the input histories that nothing but their record holds any more."""
    gone = [
        key
        for key, found in _given.items()
        if _given_refs(found) <= _GIVEN_ONLY_HERE + _held_as_known(found.given)
    ]
    for key in gone:
        del _given[key]


def _held_as_given(messages: list[Any]) -> int:
    """1 when a record of ``_given`` holds ``messages`` (the two registries hold some
    lists both: a list only they hold is forgotten by both), else 0."""
    found = _given.get(id(messages))
    return 1 if found is not None and found.given is messages else 0


def _held_as_known(messages: list[Any]) -> int:
    """1 when an entry of ``_known`` holds ``messages``, else 0."""
    entry = _known.get(id(messages))
    return 1 if entry is not None and entry.messages is messages else 0


def _given_refs(found: _Given) -> int:
    return sys.getrefcount(found.given)


_GIVEN_ONLY_HERE = _given_refs(_Given([], [], HistoryIndex([])))
"""What ``_given_refs`` says of a given list nothing but its record holds."""


def grow(index: HistoryIndex | None, messages: list[Any], start: int) -> HistoryIndex | None:
    """The index of ``messages`` given ``index``, that of ``messages[:start]`` (None:
    start afresh when ``start`` is 0). None when some message is not one that
    ``add_messages`` keeps as it is, or an id repeats: such a list is not indexed.

    For a cache that decodes a stored history once and hands out copies (same ids at
    the same positions): it grows the index with each decoded append, in O(new), and
    registers each copy with it (``remember``), so that ``add_messages`` neither
    coerces nor indexes the history again.
    """
    from graphkit.messages import is_coerced

    if index is None and start:
        return None
    added = messages[start:]
    if not all(map(is_coerced, added)):
        return None
    ids = [m.id for m in added]
    if index is None:
        index = HistoryIndex.of_ids(ids, len(ids))
        return index if len(index.positions) == len(ids) else None
    fresh = dict(zip(ids, range(start, len(messages)), strict=True))
    if len(fresh) != len(ids):
        return None
    if _add(index, fresh):
        return index
    index = HistoryIndex.of_ids([m.id for m in messages], len(messages))
    return index if len(index.positions) == len(messages) else None


def _add(index: HistoryIndex, fresh: dict[Any, int]) -> bool:
    """Add ``fresh`` (id -> position) to ``index``; False if an id is already mapped to
    another position (the entries added before it stay: an entry is only trusted where
    its list holds that id). Entry by entry with ``setdefault``, so that two threads
    appending to lists that share the index never overwrite each other's entries."""
    setdefault = index.positions.setdefault
    return all(setdefault(i, pos) == pos for i, pos in fresh.items())
