"""The state API of a thread: ``get_state``, its history, ``update_state`` (snapshots).

Reads go straight to the saver and turn checkpoints into ``StateSnapshot``s;
``update_state`` is a short run (``Run.update``) that takes the update as its
input, so it saves exactly as a run does. Persistence itself is ``checkpoints.py``.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any

from graphkit.constants import INTERRUPT, START
from graphkit.context import pregel_path
from graphkit.engine.checkpoints import ERROR, ROUTES, SPECIAL
from graphkit.engine.compiled import CompiledStateGraph
from graphkit.engine.frontier import (
    langchain_keys,
    planned,
    planned_tasks,
    pull_task_id,
    saved_input,
    shown_tasks,
)
from graphkit.engine.loop import Run
from graphkit.engine.merge import merge_writes
from graphkit.engine.nested import namespace_segment, with_checkpoint_map
from graphkit.engine.results import read_results
from graphkit.engine.tables import NodeTable
from graphkit.engine.task import Write
from graphkit.errors import ConfigError, InvalidUpdateError
from graphkit.schema import ROOT
from graphkit.stores.checkpoint.base import (
    BaseCheckpointSaver,
    CheckpointTuple,
    checkpoint_id_of,
    named_checkpoint,
    reads_converted,
    thread_of,
)
from graphkit.types import Interrupt, PregelTask, RunnableConfig, StateSnapshot


def _saver(graph: CompiledStateGraph[Any, Any, Any, Any]) -> BaseCheckpointSaver:
    saver: BaseCheckpointSaver | None = graph.saver
    if saver is None:
        raise ConfigError(
            "This graph has no checkpointer, so it keeps no thread state: "
            "compile(checkpointer=InMemorySaver()) (or LMDBSaver(path))."
        )
    return saver


def subgraphs(
    graph: CompiledStateGraph[Any, Any, Any, Any],
    namespace: str | None = None,
    *,
    recurse: bool = False,
) -> Iterator[tuple[str, CompiledStateGraph[Any, Any, Any, Any]]]:
    """``(namespace, subgraph)`` of the subgraph nodes, as ``get_subgraphs`` yields them.

    ``namespace`` (node names joined with ``|``) keeps only the subgraph at exactly
    that place; ``recurse`` goes into subgraphs of subgraphs.
    """
    for name, node in graph.tables.nodes.items():
        sub = subgraph_of(node)
        if sub is None:
            continue
        if namespace is not None:
            head, _, rest = namespace.partition("|")
            if head != name:
                continue
            if rest:
                if recurse:
                    for inner, found in subgraphs(sub, rest, recurse=True):
                        yield f"{name}|{inner}", found
                continue
        yield name, sub
        if recurse and namespace is None:
            for inner, found in subgraphs(sub, recurse=True):
                yield f"{name}|{inner}", found


def graph_at(
    graph: CompiledStateGraph[Any, Any, Any, Any], ns: str
) -> CompiledStateGraph[Any, Any, Any, Any] | None:
    """The declared subgraph a checkpoint namespace belongs to (task ids and call
    numbers left out); None when some part of it declares none."""
    target = graph
    for segment in ns.split("|") if ns else ():
        name = segment.split(":", 1)[0]
        if name.isdigit() and ":" not in segment:  # the n-th graph a task ran
            continue
        node = target.tables.nodes.get(name)
        sub = subgraph_of(node) if node is not None else None
        if sub is None:
            return None
        target = sub
    return target


def subgraph_of(node: NodeTable) -> CompiledStateGraph[Any, Any, Any, Any] | None:
    """The graph a node runs: a subgraph node's, or one its function refers to by name
    (a graph it invokes), as LangGraph finds them; None for other nodes."""
    if node.subgraph is not None:
        return node.subgraph
    try:
        refs = inspect.getclosurevars(inspect.unwrap(node.call.fn))
    except (TypeError, ValueError):
        return None
    for value in (*refs.nonlocals.values(), *refs.globals.values()):
        if isinstance(value, CompiledStateGraph):
            return value
    return None


def _namespace(config: RunnableConfig) -> str:
    configurable = config.get("configurable") or {}
    if not isinstance(configurable, dict):
        thread_of(config)  # raises, naming the malformed config
    return str(configurable.get("checkpoint_ns") or "")


def _reader(
    graph: CompiledStateGraph[Any, Any, Any, Any], config: RunnableConfig
) -> CompiledStateGraph[Any, Any, Any, Any]:
    """The graph whose channels read a namespace: its declared subgraph, else the
    nearest enclosing one that declares (a graph a node invoked is read with it)."""
    ns = _namespace(config)
    parts = ns.split("|") if ns else []
    while parts:
        found = graph_at(graph, "|".join(parts))
        if found is not None:
            return found
        parts.pop()
    return graph


def task_namespace(parent_ns: str, node: NodeTable, task_id: str) -> str:
    """The checkpoint namespace of the subgraph that ``node``'s task ``task_id`` runs."""
    sub = subgraph_of(node)
    segment = namespace_segment(node.name, task_id, sub.checkpointer if sub else None)
    return f"{parent_ns}|{segment}" if parent_ns else segment


def snapshot(
    graph: CompiledStateGraph[Any, Any, Any, Any],
    found: CheckpointTuple,
    *,
    live: bool = False,
    saver: BaseCheckpointSaver | None = None,
    recurse: bool = False,
    via: RunnableConfig | None = None,
    children: Sequence[CheckpointTuple] = (),
    kept: bool = False,
    shared_children: bool = False,
) -> StateSnapshot:
    """A saved checkpoint as a ``StateSnapshot``.

    ``kept``: ``found`` was read under ``reads_converted`` of the keys that speak
    LangChain, which may hold the saver's kept messages: they are shown as fresh
    LangChain messages (``langchain_copies``), never as they are. ``shared_children``:
    ``children`` were read so (as objects sharing the saver's messages): the results
    taken from their values are copied.

    ``children``: the checkpoints saved after this one (newest first): each keeps what
    the tasks it ran wrote, the ``result`` of this snapshot's tasks (the newest run of
    a task wins, as when LangGraph writes a re-run task's writes over the old ones).

    ``via``: the config it was read with; in a subgraph namespace, the snapshot's
    config gets the ``checkpoint_map`` that time-travels back to it (see
    ``split_checkpoint_map``).

    ``live`` (the thread's current state, as ``get_state`` without a checkpoint_id
    shows it): when the step did not end (it paused at an ``interrupt()``, failed, or
    was stopped from outside), the values include the writes of the step's tasks that
    already finished and ``next`` leaves those tasks out, as in LangGraph. Otherwise
    the snapshot is the record of the step's start.
    """
    values = found.checkpoint["channel_values"]
    state_keys = graph.tables.channels  # private keys too (those only nodes declare)
    frontier = found.checkpoint.get("frontier") or {}
    if "langchain" in frontier:  # the thread's messages were LangChain's
        graph.tables.inherit_langchain(langchain_keys(frontier))
    errors: dict[str, str] = {}
    interrupts: dict[str, list[Interrupt]] = {}
    results: dict[str, Any] = {}
    ran: dict[str, Any] = {}
    """Results from the children's records (pending writes, if any, come first)."""
    pending = found.pending_writes or ()
    done = {task_id for task_id, channel, _ in pending if channel == ROUTES}
    for task_id, channel, value in pending:
        if live and task_id in done and channel in (ERROR, INTERRUPT):
            continue  # answered since: the thread's current state no longer shows it
        if channel == ERROR:
            errors[task_id] = value
        elif channel == INTERRUPT:
            interrupts.setdefault(task_id, []).extend(value)
        elif channel not in SPECIAL:
            results.setdefault(task_id, {})[channel] = value
    for child in reversed(children):
        for task_id, result in read_results(
            (child.checkpoint.get("frontier") or {}).get("wrote"),
            child.checkpoint["channel_values"],
            ROOT if graph.tables.root else None,
            copied=shared_children,
        ).items():
            if task_id not in results:
                ran[task_id] = result
    step = int(found.metadata.get("step", -1)) + 1
    tasks: list[PregelTask] = []
    names = planned(frontier)[0]
    if START in names and pull_task_id(step, START) not in ran:  # an input checkpoint:
        legacy = (found.metadata.get("writes") or {}).get(START)  # older checkpoints
        results[pull_task_id(step, START)] = saved_input(frontier) or dict(legacy or {})
    if graph.tables.root:  # the state is one value: so is a result
        results = {t: r.get(ROOT) if type(r) is dict else r for t, r in results.items()}
    results = {**ran, **results}
    for task_id, name, path in _in_shown_order(shown_tasks(frontier, step), graph.tables.nodes):
        tasks.append(_snapshot_task(task_id, name, path, errors, interrupts, results))
    parents = (found.metadata or {}).get("parents")
    config = with_checkpoint_map(found.config, via, parents)
    parent_config = found.parent_config
    if parent_config is not None:
        parent_config = with_checkpoint_map(parent_config, via, parents)
    if saver is not None:
        tasks = [_with_state(graph, t, config, saver, recurse) for t in tasks]
    finished: set[str] = set()
    if live and done:
        finished = done
        done_writes: dict[str, list[Write]] = {}
        for task_id, channel, value in pending:
            if task_id in finished and channel not in SPECIAL:
                done_writes.setdefault(task_id, []).append((channel, value))
        writers = [  # merged in plan order, as the run merges them
            (name, done_writes[task_id])
            for task_id, name in planned_tasks(frontier, step)
            if task_id in done_writes
        ]
        if writers:
            try:
                values = {**values, **merge_writes(values, graph.tables, writers)}
            except InvalidUpdateError:  # the writes conflict: show the step's start
                finished = set()
    return StateSnapshot(
        values=graph.tables.shown_output(values.get(ROOT), fresh=kept)
        if graph.tables.root
        else graph.tables.shown({k: values[k] for k in state_keys if k in values}, fresh=kept),
        next=tuple(t.name for t in tasks if t.id not in finished),
        config=config,
        metadata=dict(found.metadata),
        created_at=found.checkpoint["ts"],
        parent_config=parent_config,
        tasks=tuple(tasks),
        interrupts=tuple(i for t in tasks for i in t.interrupts),
    )


def _with_state(
    graph: CompiledStateGraph[Any, Any, Any, Any],
    task: PregelTask,
    config: RunnableConfig,
    saver: BaseCheckpointSaver,
    recurse: bool,
) -> PregelTask:
    """A subgraph node's task with its namespace's config (or snapshot, ``recurse``)."""
    node = graph.tables.nodes.get(task.name)
    sub = subgraph_of(node) if node is not None else None
    if node is None or sub is None:
        return task
    configurable = config["configurable"]
    ns = task_namespace(configurable.get("checkpoint_ns") or "", node, task.id)
    sub_config: RunnableConfig = {
        "configurable": {"thread_id": configurable["thread_id"], "checkpoint_ns": ns}
    }
    if not recurse:
        return replace(task, state=sub_config)
    mapping = configurable.get("checkpoint_map") or {
        configurable.get("checkpoint_ns") or "": configurable.get("checkpoint_id")
    }
    sub_config["configurable"]["checkpoint_map"] = mapping
    state = get_state(sub, sub_config, subgraphs=True, saver=saver)
    return replace(task, state=state)


def _in_shown_order(
    tasks: list[tuple[str, str, tuple[str, str | int]]], nodes: dict[str, NodeTable]
) -> list[tuple[str, str, tuple[str, str | int]]]:
    """A snapshot's tasks as LangGraph's ``get_state`` lists them: the ``Send``s first,
    then the nodes triggered by name in the order the graph declares them."""
    last = len(nodes)
    return sorted(
        tasks, key=lambda t: -1 if t[2][0] == "push" else getattr(nodes.get(t[1]), "order", last)
    )


def _snapshot_task(
    task_id: str,
    name: str,
    path: tuple[Any, ...],
    errors: dict[str, str],
    interrupts: dict[str, list[Interrupt]],
    results: dict[str, Any],
) -> PregelTask:
    error = errors.get(task_id)
    return PregelTask(
        id=task_id,
        name=name,
        path=pregel_path(path),
        error=error,
        interrupts=tuple(interrupts.get(task_id, ())),
        result=results.get(task_id),
    )


def get_state(
    graph: CompiledStateGraph[Any, Any, Any, Any],
    config: RunnableConfig,
    *,
    subgraphs: bool = False,
    saver: BaseCheckpointSaver | None = None,
) -> StateSnapshot:
    """The snapshot of a thread's latest (or named) checkpoint; empty for a new thread.

    A ``checkpoint_ns`` in the config reads a subgraph's own checkpoints;
    ``subgraphs=True`` puts each subgraph task's own snapshot in its ``state``.
    """
    saver = saver or _saver(graph)
    graph = _reader(graph, config)
    recurse = subgraphs
    shares = getattr(saver, "shares_reads", False)  # (then views share its messages)
    converted = frozenset() if shares else graph.tables.converted_reads(run=False)
    with reads_converted(converted):
        found = saver.get_tuple(config)
    if found is None:
        return StateSnapshot(
            values={}, next=(), config=config, metadata=None, created_at=None, parent_config=None
        )
    live = not (config.get("configurable") or {}).get("checkpoint_id")
    return snapshot(
        graph,
        found,
        live=live,
        saver=saver,
        recurse=recurse,
        via=config,
        children=() if live else _children(saver, found),
        kept=bool(converted),
    )


def _children(saver: BaseCheckpointSaver, found: CheckpointTuple) -> list[CheckpointTuple]:
    """The checkpoints saved right after ``found`` (they hold its tasks' results)."""
    if not planned_tasks(found.checkpoint.get("frontier"), 0):
        return []  # no tasks to show results for
    return saver.children(found.config)


def get_state_history(
    graph: CompiledStateGraph[Any, Any, Any, Any],
    config: RunnableConfig,
    *,
    filter: dict[str, Any] | None,
    before: RunnableConfig | None,
    limit: int | None,
    saver: BaseCheckpointSaver | None = None,
) -> Iterator[StateSnapshot]:
    """Snapshots of a thread, newest first (of one namespace: ``checkpoint_ns``); of a
    config that names a checkpoint, that one only (as LangGraph's savers list it)."""
    saver = saver or _saver(graph)
    graph = _reader(graph, config)
    config = {**config, "configurable": {"checkpoint_ns": "", **(config.get("configurable") or {})}}
    if checkpoint_id_of(config) is not None:
        yield from _named_checkpoint(graph, saver, config, filter, before, limit)
        return
    children: dict[str | None, list[CheckpointTuple]] = {}
    shares = getattr(saver, "shares_reads", False)
    converted = frozenset() if shares else graph.tables.converted_reads(run=False)
    listing = iter(saver.list(config, filter=filter, before=before, limit=limit))
    while (found := _next_read(listing, converted)) is not None:
        mine = children.pop(checkpoint_id_of(found.config), None)
        if mine is None and before is not None:
            mine = _children(saver, found)  # saved after ``before``: not listed here
        yield snapshot(
            graph,
            found,
            saver=saver,
            via=config,
            children=mine or (),
            shared_children=bool(converted),
        )
        children.setdefault(checkpoint_id_of(found.parent_config), []).append(found)


def _next_read(
    listing: Iterator[CheckpointTuple], converted: frozenset[str]
) -> CheckpointTuple | None:
    """The next checkpoint of a history's ``listing``, the ``converted`` channels read as
    objects of the listing's own sharing the saver's messages (``reads_converted``: the
    snapshots show only LangChain's view of them, shared by the listing's snapshots as
    their graphkit messages are; the results taken from them are copied)."""
    if not converted:
        return next(listing, None)
    with reads_converted(converted, own=True):
        return next(listing, None)


def _named_checkpoint(
    graph: CompiledStateGraph[Any, Any, Any, Any],
    saver: BaseCheckpointSaver,
    config: RunnableConfig,
    filter: dict[str, Any] | None,
    before: RunnableConfig | None,
    limit: int | None,
) -> Iterator[StateSnapshot]:
    """The history of a config naming a checkpoint: that checkpoint (``named_checkpoint``,
    whatever the saver's ``list`` does with such a config), with its children's results."""
    for found in named_checkpoint(saver, config, filter, before, limit):
        yield snapshot(graph, found, saver=saver, via=config, children=_children(saver, found))


def update_state(
    graph: CompiledStateGraph[Any, Any, Any, Any],
    config: RunnableConfig,
    supersteps: Sequence[Sequence[tuple[Any, str | None]]],
    saver: BaseCheckpointSaver | None = None,
) -> RunnableConfig:
    """Apply each superstep's ``(values, as_node)`` updates through the reducers as if
    those nodes wrote them; one checkpoint per superstep.

    A ``checkpoint_ns`` in the config updates that subgraph's own state. ``saver``:
    the graph's, or what stands for it (``loop_saver``).
    """
    saver = saver or _saver(graph)
    ns = _namespace(config)
    target = graph_at(graph, ns)
    if target is None:
        path = "|".join(s.split(":", 1)[0] for s in ns.split("|"))
        raise InvalidUpdateError(
            f"Subgraph {path} not found: checkpoint_ns {ns!r} names no subgraph node of this "
            "graph (a graph a node invokes is not declared). Update it with that graph: "
            "subgraph.update_state(config, ...)."
        )
    run = Run(target, {**config, "durability": "sync"}, saver=saver)
    return with_checkpoint_map(run.update(supersteps), config)


def pending_interrupts(found: CheckpointTuple) -> list[tuple[str, str, Interrupt]]:
    """(node, task id, interrupt) of every ``interrupt()`` a saved checkpoint still waits
    on (asked in the step it starts and not answered since), in plan order. Needs no
    graph: what ``graphkit state`` shows for a paused thread."""
    from graphkit.engine.frontier import planned_tasks

    pending = found.pending_writes or ()
    answered = {task_id for task_id, channel, _ in pending if channel == ROUTES}
    asked: dict[str, list[Interrupt]] = {}
    for task_id, channel, value in pending:
        if channel == INTERRUPT and task_id not in answered:
            asked.setdefault(task_id, []).extend(value)
    step = int((found.metadata or {}).get("step", -1)) + 1
    frontier = found.checkpoint.get("frontier") or {}
    return [
        (node, task_id, interrupt)
        for task_id, node in planned_tasks(frontier, step)
        for interrupt in asked.get(task_id, ())
    ]
