"""A call's ``output_keys=``: the keys ``invoke`` returns and the ``values``/``updates``
streams show, as LangGraph's ``output_keys``.

A list of keys shows a dict of those keys; one key given as a string shows that key's
bare value. A ``values`` chunk comes only from a step that wrote one of the keys (or
where a run starts or pauses), so ``invoke`` returns the keys as last written, and
``None`` when the run never wrote them. A node's ``updates`` chunk shows only what it
wrote to the keys (``None`` when nothing).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from graphkit.constants import INTERRUPT
from graphkit.errors import InvalidArgumentError

if TYPE_CHECKING:
    from graphkit.engine.results import Write
    from graphkit.engine.tables import GraphTables


class OutputKeys:
    """The keys one call picks (validated against the graph's channels)."""

    __slots__ = ("key_set", "keys", "single")

    def __init__(self, given: str | Sequence[str], tables: GraphTables) -> None:
        self.single = isinstance(given, str)
        keys = (given,) if isinstance(given, str) else tuple(given)
        for key in keys:
            if not isinstance(key, str) or key not in tables.channel_set:
                raise InvalidArgumentError(
                    f"output_keys names {key!r}, which is not a key of this graph's state. "
                    f"Pick among {sorted(tables.channels)} (one key as a string returns "
                    "its bare value; a list returns a dict of those keys)."
                )
        self.keys = keys
        self.key_set = frozenset(keys)

    def wrote(self, writes: Iterable[Write]) -> bool:
        """True when ``writes`` touch a picked key: only then is a ``values`` chunk due."""
        key_set = self.key_set
        return any(key in key_set for key, _ in writes)

    def values(self, values: Mapping[str, Any], tables: GraphTables) -> Any:
        """The picked part of the state: the bare value for one key (``None`` while it
        has none), else a dict of the picked keys that have a value."""
        picked = tables.shown({key: values[key] for key in self.keys if key in values})
        return picked.get(self.keys[0]) if self.single else picked

    def paused(self, values: Mapping[str, Any], interrupts: Any, tables: GraphTables) -> Any:
        """The ``values`` chunk of a pause: the picked state with the interrupts (only
        the interrupts for a bare value, as LangGraph shows it)."""
        if self.single:
            return {INTERRUPT: interrupts}
        return {**self.values(values, tables), INTERRUPT: interrupts}

    def update(self, writes: Sequence[Write], tables: GraphTables) -> Any:
        """A node's ``updates`` chunk: its writes to the picked keys (a list when it wrote
        one more than once), or ``None`` when it wrote none."""
        picked = [(key, value) for key, value in writes if key in self.key_set]
        if not picked:
            return None
        if self.single:
            bare = [value for _, value in picked]
            shown = [tables.shown({self.keys[0]: value})[self.keys[0]] for value in bare]
            return shown[0] if len(shown) == 1 else shown
        if len({key for key, _ in picked}) < len(picked):
            return [tables.shown({key: value}) for key, value in picked]
        return tables.shown(dict(picked))


def final_output(latest: Any, interrupts: list[Any]) -> Any:
    """What ``invoke`` returns with ``output_keys``: the last ``values`` chunk, with the
    run's open interrupts (only the interrupts when that chunk is a bare value)."""
    if not interrupts:
        return latest
    return (
        {**latest, INTERRUPT: interrupts} if isinstance(latest, dict) else {INTERRUPT: interrupts}
    )
