"""LangGraph's channel classes as declarations of how a state key merges its writes.

In LangGraph a channel object holds a key's value and merges its writes. graphkit's
engine keeps the values itself (one dict, merged at each step's barrier), so here a
channel is a *declaration*: ``Annotated[T, Topic(str)]`` in a state schema tells the
builder which reducer the key gets and whether its value lasts past one step:

- ``LastValue(T)``: one write per step, the value stays (a plain key);
- ``BinaryOperatorAggregate(T, op)``: ``op(current, write)`` (= ``Annotated[T, op]``);
- ``DeltaChannel(reducer)``: ``reducer(current, [writes])``;
- ``Topic(T, accumulate=True)``: every write appended (a list written is flattened);
- ``AnyValue(T)``, ``EphemeralValue(T)``, ``Topic(T)``: the value lasts one step: a
  step that does not write the key clears it (``AnyValue`` keeps the last of several
  writes, ``Topic`` all of them, ``EphemeralValue`` allows one unless ``guard=False``);
- ``UntrackedValue(T)``: like ``LastValue``, but never saved in a checkpoint.

The channels LangGraph uses for its own edges (``NamedBarrierValue``,
``LastValueAfterFinish``, ``NamedBarrierValueAfterFinish``) and user subclasses of
``BaseChannel`` cannot declare a state key: the builder says what to use instead.

>>> import operator
>>> from typing import Annotated, TypedDict
>>> from graphkit.graph import START, StateGraph
>>> class State(TypedDict, total=False):
...     total: Annotated[int, BinaryOperatorAggregate(int, operator.add)]
...     events: Annotated[list[str], Topic(str)]
>>> builder = StateGraph(State)
>>> _ = builder.add_node("a", lambda s: {"total": 2, "events": ["a1", "a2"]})
>>> _ = builder.add_node("b", lambda s: {"total": len(s["events"])})
>>> _ = builder.add_edge(START, "a").add_edge("a", "b")
>>> builder.compile().invoke({"total": 1})
{'total': 5}
"""

from __future__ import annotations

import collections.abc
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from graphkit.errors import GraphCompileError

__all__ = [
    "AnyValue",
    "BaseChannel",
    "BinaryOperatorAggregate",
    "ChannelRule",
    "DeltaChannel",
    "EphemeralValue",
    "LastValue",
    "LastValueAfterFinish",
    "NamedBarrierValue",
    "NamedBarrierValueAfterFinish",
    "Topic",
    "UntrackedValue",
]

Value = TypeVar("Value")
Update = TypeVar("Update")
C = TypeVar("C")

Reducer = Callable[[Any, Any], Any]


@dataclass(frozen=True, slots=True)
class ChannelRule:
    """How a state key declared with a channel merges and keeps its value."""

    reducer: Reducer | None
    """Merges the current value with a write; None: one write per step, kept as is."""
    initial_type: Any = None
    """The type whose empty value a reducer starts from (None: the first write)."""
    one_step: bool = False
    """The value lasts one step: each step's writes start afresh, and a step that
    does not write the key clears it."""
    untracked: bool = False
    """Never saved in a checkpoint (the value lives as long as the run)."""
    absent_until_written: bool = False
    """The key holds no value (not even the empty one) until its first write."""


class BaseChannel(Generic[Value, Update, C]):
    """Base of the channel classes: ``typ`` is the type of the value, ``key`` the state
    key it declares (set by the builder). A subclass of your own cannot declare a key
    in graphkit (its engine does not call channel methods): use a reducer instead."""

    __slots__ = ("key", "typ")

    def __init__(self, typ: Any, key: str = "") -> None:
        self.typ = typ
        self.key = key

    @property
    def ValueType(self) -> Any:
        """The type of the value the key holds."""
        return self.typ

    @property
    def UpdateType(self) -> Any:
        """The type of one write to the key."""
        return self.typ

    def rule(self) -> ChannelRule:
        """How the key this channel declares merges its writes (the builder asks)."""
        raise GraphCompileError(
            f"{type(self).__name__} cannot declare a state key in graphkit: its engine merges "
            "writes with reducers, not channel objects. Declare the key with a reducer "
            "instead: `Annotated[T, reducer]` where `reducer(current, update)` returns the "
            "new value."
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}({getattr(self.typ, '__name__', self.typ)!s})"


class LastValue(BaseChannel[Value, Value, Value]):
    """The last value written; two writes in one step are an error (a plain key)."""

    __slots__ = ()

    def rule(self) -> ChannelRule:
        return ChannelRule(None)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LastValue)

    __hash__ = BaseChannel.__hash__


def _last(current: Any, update: Any) -> Any:
    """The reducer keeping the last write (of several in one step, the last task's)."""
    return update


class AnyValue(BaseChannel[Value, Value, Value]):
    """The last value written in the previous step (several writes allowed); a step
    that does not write the key clears it."""

    __slots__ = ()

    def rule(self) -> ChannelRule:
        return ChannelRule(_last, one_step=True)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AnyValue)

    __hash__ = BaseChannel.__hash__


class EphemeralValue(BaseChannel[Value, Value, Value]):
    """The value written in the previous step only; a step that does not write the key
    clears it. ``guard=True``: two writes in one step are an error."""

    __slots__ = ("guard",)

    def __init__(self, typ: Any, guard: bool = True) -> None:
        super().__init__(typ)
        self.guard = guard

    def rule(self) -> ChannelRule:
        return ChannelRule(None if self.guard else _last, one_step=True)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, EphemeralValue) and other.guard == self.guard

    __hash__ = BaseChannel.__hash__


class UntrackedValue(BaseChannel[Value, Value, Value]):
    """The last value written, never saved in a checkpoint (a resource, a client): a
    run resumed from a checkpoint starts without it. ``guard=True``: two writes in one
    step are an error."""

    __slots__ = ("guard",)

    def __init__(self, typ: Any, guard: bool = True) -> None:
        super().__init__(typ)
        self.guard = guard

    def rule(self) -> ChannelRule:
        return ChannelRule(None if self.guard else _last, untracked=True)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, UntrackedValue) and other.guard == self.guard

    __hash__ = BaseChannel.__hash__


def _concrete(typ: Any) -> Any:
    """A type whose empty value can be made (``list`` for ``Sequence``)."""
    origin = getattr(typ, "__origin__", None) or typ
    return CONCRETE_COLLECTIONS.get(origin, origin)


CONCRETE_COLLECTIONS: dict[Any, type] = {
    collections.abc.Sequence: list,
    collections.abc.MutableSequence: list,
    collections.abc.Set: set,
    collections.abc.MutableSet: set,
    collections.abc.Mapping: dict,
    collections.abc.MutableMapping: dict,
}
"""The type an abstract collection annotation starts as (its empty value)."""


class BinaryOperatorAggregate(BaseChannel[Value, Value, Value]):
    """``operator(current, write)`` for each write, from the type's empty value
    (``BinaryOperatorAggregate(int, operator.add)`` sums from 0)."""

    __slots__ = ("operator",)

    def __init__(self, typ: Any, operator: Callable[[Value, Value], Value]) -> None:
        super().__init__(_concrete(typ))
        self.operator = operator

    def rule(self) -> ChannelRule:
        return ChannelRule(self.operator, initial_type=self.typ)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, BinaryOperatorAggregate) and other.operator is self.operator

    __hash__ = BaseChannel.__hash__


class DeltaChannel(BaseChannel[Any, Any, Any]):
    """A reducer given the writes in a batch: ``reducer(current, [write, ...])``.

    LangGraph stores such a key as its writes and replays them; graphkit stores every
    growing list as its appended part anyway, so ``snapshot_frequency`` is accepted
    and has no other effect."""

    __slots__ = ("reducer", "snapshot_frequency")

    def __init__(
        self,
        reducer: Callable[[Any, Sequence[Any]], Any],
        typ: Any = None,
        *,
        snapshot_frequency: int = 100,
    ) -> None:
        if snapshot_frequency <= 0:
            raise GraphCompileError(
                f"DeltaChannel(snapshot_frequency=...) must be a positive int, got "
                f"{snapshot_frequency!r}."
            )
        super().__init__(_concrete(list if typ is None else typ))
        self.reducer = reducer
        self.snapshot_frequency = snapshot_frequency

    def rule(self) -> ChannelRule:
        batch = self.reducer

        def one_by_one(current: Any, update: Any) -> Any:
            return batch(current, [update])

        one_by_one.__name__ = getattr(batch, "__name__", "reducer")
        return ChannelRule(one_by_one, initial_type=self.typ)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, DeltaChannel)
            and other.reducer is self.reducer
            and other.snapshot_frequency == self.snapshot_frequency
        )

    __hash__ = BaseChannel.__hash__


def _append(current: list[Any], update: Any) -> list[Any]:
    """A topic's reducer: a list written adds its items, anything else adds itself."""
    return [*current, *update] if isinstance(update, list) else [*current, update]


class Topic(BaseChannel[Sequence[Value], Value | list[Value], list[Value]]):
    """Every value written (a list written adds its items). ``accumulate=False``: only
    the previous step's writes, and a step that writes none clears the key;
    ``accumulate=True``: all writes so far."""

    __slots__ = ("accumulate",)

    def __init__(self, typ: Any, accumulate: bool = False) -> None:
        super().__init__(typ)
        self.accumulate = accumulate

    @property
    def ValueType(self) -> Any:
        return Sequence[self.typ]  # type: ignore[name-defined]

    @property
    def UpdateType(self) -> Any:
        return self.typ | list[self.typ]  # type: ignore[name-defined]

    def rule(self) -> ChannelRule:
        return ChannelRule(
            _append, initial_type=list, one_step=not self.accumulate, absent_until_written=True
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Topic) and other.accumulate == self.accumulate

    __hash__ = BaseChannel.__hash__


class _EdgeChannel(BaseChannel[Any, Any, Any]):
    """A channel LangGraph's own edges use: graphkit's engine has its own joins and
    deferred nodes, so it cannot declare a state key."""

    __slots__ = ("names",)
    instead = ""

    def __init__(self, typ: Any, names: set[Any] | None = None) -> None:
        super().__init__(typ)
        self.names = names or set()

    def rule(self) -> ChannelRule:
        raise GraphCompileError(
            f"{type(self).__name__} is the channel LangGraph's engine uses for {self.instead}; "
            "it cannot declare a state key. Use the builder instead: "
            "`add_edge(['a', 'b'], 'c')` waits for both a and b; "
            "`add_node('c', fn, defer=True)` runs c once the other nodes finished."
        )


class NamedBarrierValue(_EdgeChannel):
    """LangGraph's join (``add_edge([a, b], c)``); not a state key in graphkit."""

    __slots__ = ()
    instead = "joins (add_edge([a, b], c))"


class NamedBarrierValueAfterFinish(_EdgeChannel):
    """LangGraph's deferred join; not a state key in graphkit."""

    __slots__ = ()
    instead = "deferred joins"


class LastValueAfterFinish(_EdgeChannel):
    """LangGraph's deferred-node trigger (``defer=True``); not a state key in graphkit."""

    __slots__ = ()
    instead = "deferred nodes (add_node(..., defer=True))"

    def __init__(self, typ: Any, key: str = "") -> None:
        super().__init__(typ)
        self.key = key
