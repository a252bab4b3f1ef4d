"""What runs next: the nodes, sends, deferred nodes and join progress of the next step.

It also keeps what a checkpoint must tell about the step it ends: which nodes ran
(``update_state`` without ``as_node`` writes as the only one), and, on an input
checkpoint, the input that runs next (checkpoint metadata holds neither, as in
LangGraph, so a step's writes are not stored twice).

The run owns one ``Frontier`` and changes it as steps finish; a checkpoint stores
it as a plain record (``to_record``) and a restore rebuilds it (``from_record``).
Nothing else knows the record's shape.

>>> f = Frontier.empty(joins=0)
>>> f.pending["b"] = None
>>> f.sends.append(Send("c", {"x": 1}))
>>> Frontier.from_record(f.to_record(), known={"b", "c"}, joins=0) == f
True
>>> next_names(f.to_record())
('c', 'b')
"""

from __future__ import annotations

from collections.abc import Container, Sequence
from dataclasses import dataclass
from typing import Any

from graphkit.types import Send

FrontierRecord = dict[str, Any]
"""``{"nodes": [...], "sends": [[node, arg], ...], "deferred": [...], "joins": [[...], ...]}``,
plus ``"ran": [...]``, ``"input": {...}``, ``"wrote": {...}`` and ``"langchain": [...]``
when they are set. Empty
parts are left out (older records hold them as empty lists): readers take a missing
part as empty."""


@dataclass(slots=True)
class Frontier:
    """The next step's work, as the run tracks it between steps."""

    pending: dict[str, None]
    """Nodes triggered by name (an ordered set)."""
    sends: list[Send]
    """``Send`` packets, in the order they were made."""
    deferred: dict[str, None]
    """Deferred nodes: they run only when nothing else is pending."""
    joins: list[set[str]]
    """Per join of the graph: the sources seen since it last fired."""
    ran: tuple[str, ...] = ()
    """The nodes whose writes made the checkpoint (the step's tasks, an update's
    ``as_node``); empty when none did."""
    input: dict[str, Any] | None = None
    """On an input checkpoint (``START`` pending): the input's writes by key."""
    wrote: dict[str, list[list[Any]]] | None = None
    """What each task of the step that made the checkpoint wrote, by reference into
    its values (``graphkit.engine.results``): the results of the parent's tasks."""
    langchain: tuple[str, ...] = ()
    """The keys whose readers get LangChain's messages (``GraphTables.langchain``): kept
    with the thread, so that a process that loads it shows them as the one that wrote
    it did."""

    @classmethod
    def empty(cls, *, joins: int) -> Frontier:
        """Nothing to run, no join progress (``joins``: how many joins the graph has)."""
        return cls({}, [], {}, [set() for _ in range(joins)] if joins else [])

    def clear_triggers(self) -> None:
        """Forget triggered nodes and sends (join progress and deferred nodes stay)."""
        self.pending = {}
        self.sends = []

    def to_record(self) -> FrontierRecord:
        """The frontier as a checkpoint stores it (plain lists, serializable)."""
        # (an empty part is left out: this runs, and is stored, once per step; every
        # reader takes a missing part as empty, as records written before did hold them)
        record: FrontierRecord = {"nodes": list(self.pending)}
        if self.sends:
            record["sends"] = [[s.node, s.arg] for s in self.sends]
        if self.deferred:
            record["deferred"] = list(self.deferred)
        if self.joins and any(self.joins):
            record["joins"] = [sorted(seen) for seen in self.joins]
        if self.ran:
            record["ran"] = list(self.ran)
        if self.input is not None:
            record["input"] = self.input
        if self.wrote:
            record["wrote"] = self.wrote
        if self.langchain:
            record["langchain"] = list(self.langchain)
        return record

    @classmethod
    def from_record(
        cls, record: FrontierRecord | None, *, known: Container[str], joins: int
    ) -> Frontier:
        """Rebuild a frontier from its record; nodes the graph no longer has are dropped."""
        record = record or {}
        saved = record.get("joins") or []
        return cls(
            pending={n: None for n in record.get("nodes") or [] if n in known},
            sends=[Send(n, arg) for n, arg in record.get("sends") or [] if n in known],
            deferred={n: None for n in record.get("deferred") or [] if n in known},
            joins=[set(saved[i]) if i < len(saved) else set() for i in range(joins)],
            ran=tuple(record.get("ran") or ()),
            input=saved_input(record),
            wrote=record.get("wrote"),
            langchain=langchain_keys(record),
        )


def planned(record: FrontierRecord | None) -> tuple[list[str], list[str]]:
    """(names triggered by name, in plan order; node of each send) of a stored frontier.

    Deferred nodes count only when nothing else is pending, as the loop plans them.
    """
    record = record or {}
    sends = [s[0] for s in record.get("sends") or []]
    names = sorted(record.get("nodes") or [])
    if not names and not sends:
        names = sorted(record.get("deferred") or [])
    return names, sends


def langchain_keys(record: FrontierRecord | None) -> tuple[str, ...]:
    """The keys a stored frontier says speak LangChain (none in older records)."""
    return tuple((record or {}).get("langchain") or ())


def saved_input(record: FrontierRecord | None) -> dict[str, Any] | None:
    """The input an input checkpoint holds (its ``START`` task's writes), or None."""
    found = (record or {}).get("input")
    return dict(found) if isinstance(found, dict) else None


def ran_names(record: FrontierRecord | None, metadata: Any = None) -> list[str]:
    """The nodes whose writes made a checkpoint (``metadata``: read ``writes`` there
    for checkpoints written by earlier versions)."""
    found = (record or {}).get("ran")
    if found:
        return list(found)
    legacy = (metadata or {}).get("writes")
    return list(legacy) if isinstance(legacy, dict) else []


def next_names(record: FrontierRecord | None) -> tuple[str, ...]:
    """Node names of the next step, in the order LangGraph shows them (see
    ``shown_tasks``)."""
    return tuple(node for _, node, _ in shown_tasks(record, 0))


def pull_task_id(step: int, node: str) -> str:
    """The id of the task that runs ``node`` in ``step`` because it was triggered by
    name: ``"{step}:{node}"``. The only place that spells a task id."""
    return f"{step}:{node}"


def push_task_id(step: int, index: int) -> str:
    """The id of the task of the ``index``-th ``Send`` of ``step``: ``"{step}:~{index}"``."""
    return f"{step}:~{index}"


def push_task_ids(step: int, count: int) -> Sequence[str]:
    """``push_task_id(step, i)`` for each of a step's ``count`` sends, in order (at
    least ``count`` of them; shared, so never changed by the caller).

    Formatting two numbers per task was 7% of a fan-out of quick tasks: the ids of
    the first ``KEPT_STEPS`` steps' first ``KEPT_SENDS`` sends are made once per
    process and shared (strings are immutable).
    """
    if step >= KEPT_STEPS or count > KEPT_SENDS:
        return [push_task_id(step, i) for i in range(count)]
    kept = _push_ids[step]
    if len(kept) < count:  # a new list, swapped in whole: threads may plan at once
        kept = [push_task_id(step, i) for i in range(count)]
        _push_ids[step] = kept
    return kept


def push_paths(count: int) -> Sequence[tuple[str, int]]:
    """The paths ``("push", i)`` of a step's ``count`` sends (at least ``count``; shared
    tuples for the first ``KEPT_SENDS``)."""
    if count <= KEPT_SENDS:
        return _PUSH_PATHS
    return [("push", i) for i in range(count)]


KEPT_STEPS = 64
"""Steps whose ``Send`` task ids ``push_task_ids`` keeps."""
KEPT_SENDS = 1024
"""Sends per step whose task ids ``push_task_ids`` keeps (at most 64 x 1024 strings)."""
_push_ids: list[list[str]] = [[] for _ in range(KEPT_STEPS)]
_PUSH_PATHS = tuple(("push", i) for i in range(KEPT_SENDS))


def shown_tasks(
    record: FrontierRecord | None, step: int
) -> list[tuple[str, str, tuple[str, str | int]]]:
    """(task id, node, path) of each task a stored frontier plans for ``step``, in the
    order LangGraph shows a step's tasks (``next``, ``tasks``): the ``Send``s first, in
    order, then the nodes triggered by name, sorted. Writes merge in plan order
    (``planned_tasks``), which differs only in where the sends go.

    >>> shown_tasks({"nodes": ["b", "a"], "sends": [["c", 1]]}, 3)
    [('3:~0', 'c', ('push', 0)), ('3:a', 'a', ('pull', 'a')), ('3:b', 'b', ('pull', 'b'))]
    """
    names, sends = planned(record)
    return [(push_task_id(step, i), node, ("push", i)) for i, node in enumerate(sends)] + [
        (pull_task_id(step, n), n, ("pull", n)) for n in names
    ]


def planned_tasks(record: FrontierRecord | None, step: int) -> list[tuple[str, str]]:
    """(task id, node) of each task a stored frontier plans for ``step``, with the ids
    the loop gives them (``pull_task_id``, ``push_task_id``).

    >>> planned_tasks({"nodes": ["b", "a"], "sends": [["c", 1]]}, 3)
    [('3:a', 'a'), ('3:b', 'b'), ('3:~0', 'c')]
    """
    names, sends = planned(record)
    return [(pull_task_id(step, n), n) for n in names] + [
        (push_task_id(step, i), node) for i, node in enumerate(sends)
    ]
