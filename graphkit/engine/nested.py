"""Graphs that run inside a task of another graph: subgraph nodes, and graphs a node invokes.

Such a run keeps its checkpoints in the parent's saver, under its own namespace
``"node:task_id"`` (nested ones joined with ``|``, as LangGraph names them), so an
``interrupt()`` inside it resumes inside it: the nodes that finished do not run
again. Its ``compile(checkpointer=...)`` decides how:

- ``None`` (the default): it inherits the parent's saver for this invocation; a
  new invocation of the parent starts it afresh;
- ``True``: it keeps its own thread state across invocations (the namespace is the
  node's name, without the task id);
- ``False``: no checkpoints (an ``interrupt()`` inside pauses the parent's task,
  and on resume the subgraph runs again from its start).

Its stream events go to the parent's stream, prefixed with its namespace.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from graphkit.engine.loop import Run
from graphkit.engine.run_events import EVENTS, EventedRun
from graphkit.errors import GraphInterrupt

if TYPE_CHECKING:
    from graphkit.context import TaskContext
    from graphkit.engine.compiled import CompiledStateGraph
    from graphkit.types import RunnableConfig


def namespace_segment(node: str, task_id: str, checkpointer: Any) -> str:
    """The part of a checkpoint namespace a subgraph run adds under its parent: the
    node's name for a subgraph compiled with ``checkpointer=True`` (one namespace that
    outlives the task, as LangGraph), else ``"{node}:{task_id}"``."""
    return node if checkpointer is True else f"{node}:{task_id}"


def joins_parent(config: RunnableConfig | None, parent: TaskContext) -> bool:
    """True when a graph called inside ``parent`` with ``config`` runs as its subgraph.

    It does unless the config names a thread of its own (then it is a separate run
    of that thread, as a graph called from anywhere else).
    """
    thread = ((config or {}).get("configurable") or {}).get("thread_id")
    if thread is None:
        return True
    parent_thread = (parent.run.config.get("configurable") or {}).get("thread_id")
    return bool(thread == parent_thread)


_OWN = frozenset({"configurable", "run_name", "run_id"})
"""Keys of the outer run's config a graph run inside it does not take: its own
``configurable`` is made below, and the outer run's name and id are that run's."""


def nested_run(
    graph: CompiledStateGraph[Any, Any, Any, Any],
    parent: TaskContext,
    config: RunnableConfig | None = None,
    *,
    forward: bool = True,
    modes: frozenset[str] = frozenset(),
) -> tuple[Run, bool]:
    """A run of ``graph`` inside the task ``parent``, and whether it resumes a saved one.

    ``forward``: its events go to the parent's stream (a node calling ``invoke``);
    otherwise to this run's own consumer (a node calling ``stream`` with ``modes``).
    """
    outer = parent.run
    mode = graph.checkpointer
    saver = graph.saver if graph.saver is not None else (outer.saver if mode is not False else None)
    index = parent.subgraph_calls
    parent.subgraph_calls += 1
    segment = namespace_segment(parent.name, parent.id, mode)
    namespace = (*outer.namespace, segment, *((str(index),) if index else ()))
    merged: dict[str, Any] = {k: v for k, v in outer.config.items() if k not in _OWN}
    merged.update({k: v for k, v in (config or {}).items() if k != "configurable"})
    # the parent's configurable (a user id, ...) is the subgraph's too, as in LangGraph;
    # the parent's checkpoint is not the subgraph's
    outer_configurable = outer.config.get("configurable") or {}
    configurable = {**outer_configurable, **((config or {}).get("configurable") or {})}
    configurable.pop("checkpoint_id", None)
    configurable.pop("checkpoint_map", None)
    if saver is not None:
        ns = "|".join(namespace)
        configurable.update(thread_id=outer_configurable.get("thread_id"), checkpoint_ns=ns)
        target = outer.scope.replay_targets.pop(ns, None)
        if target is not None:  # time travel: start from this checkpoint of its own
            configurable["checkpoint_id"] = target
    merged["configurable"] = configurable
    streaming = forward and outer.emit is not None
    # (a run streaming astream_events reports the graph as a run under the task)
    kind = EventedRun if streaming and EVENTS in outer.modes else Run
    run = kind(
        graph,
        cast("RunnableConfig", merged),
        saver=saver,
        modes=outer.modes if streaming else modes,
        forward=outer.push if streaming else None,
        namespace=namespace,
        parent_task=parent,
    )
    resuming = parent.id in outer.rerun
    return run, resuming


def split_checkpoint_map(config: RunnableConfig) -> tuple[RunnableConfig, dict[str, str]]:
    """A top-level call's config, and where its subgraphs start from.

    A subgraph's snapshot config (``get_state(subgraphs=True)``, its history,
    ``update_state`` on it) names its namespace and carries ``checkpoint_map``: the
    checkpoint of every enclosing graph, ``""`` the top one. Invoking the top graph
    with it time-travels: the top graph goes on from ``checkpoint_map[""]`` and each
    subgraph on the way, when it runs, from its own entry.
    """
    configurable = config.get("configurable")
    if not isinstance(configurable, dict):
        return config, {}
    mapping = configurable.get("checkpoint_map")
    if not configurable.get("checkpoint_ns") or not isinstance(mapping, dict):
        return config, {}
    top = {k: v for k, v in configurable.items() if k != "checkpoint_map"}
    top["checkpoint_ns"] = ""
    if mapping.get(""):
        top["checkpoint_id"] = mapping[""]
    else:
        top.pop("checkpoint_id", None)
    targets = {str(ns): str(cid) for ns, cid in mapping.items() if ns and cid}
    return {**config, "configurable": top}, targets


def with_checkpoint_map(
    config: RunnableConfig, given: RunnableConfig | None, parents: Any = None
) -> RunnableConfig:
    """``config`` (a saved checkpoint's, in a subgraph namespace) with the
    ``checkpoint_map`` that leads back to it from the top graph, as LangGraph gives it:
    the map of the config it was reached with, ``given``, else the enclosing graphs'
    checkpoints its metadata names (``parents``), plus this namespace's entry (no map
    without either)."""
    configurable = config.get("configurable") or {}
    ns = configurable.get("checkpoint_ns") or ""
    given_map = ((given or {}).get("configurable") or {}).get("checkpoint_map")
    base = given_map if isinstance(given_map, dict) else parents
    if not ns or not isinstance(base, dict):
        return config
    mapping = {**base, ns: configurable.get("checkpoint_id")}
    return {**config, "configurable": {**configurable, "checkpoint_map": mapping}}


def nested_result(run: Run, parent: TaskContext | None = None) -> Any:
    """The output of a finished nested run; a pause inside pauses the parent's task.

    A subgraph node keeps only the keys of this output that the parent's state has:
    its node table says which (``NodeTable.output_keys``, decided at compile time).
    """
    if run.paused:
        raise GraphInterrupt(tuple(run.interrupts))
    return run.output()
