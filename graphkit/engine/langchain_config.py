"""A task's config as LangChain's current config while it runs (as in LangGraph).

LangChain runnables called without a config read LangChain's current one
(``var_child_runnable_config``, through ``ensure_config``). LangGraph sets it to each
node's config, so a ``RunnableLambda``, a ``configurable_alternatives`` model or a tool
that a node calls inherits its ``configurable``, ``tags``, ``metadata``, callbacks and
``recursion_limit``. graphkit does the same at the cost of one context variable write
per run, and only in a process that imported langchain_core (no LangChain runnable can
exist otherwise): a top-level run puts one ``TaskConfigs`` there while it iterates
(``Run.iterate``), which every task, ``@task`` call, tool and graph run inside a node
inherits through its context. It reads as the config of the task running where it is
read (``CURRENT_TASK``), worked out only when LangChain reads it; outside a task (the
stream's consumer, between steps) it reads as the config that was current before. Its
callbacks are a manager under the task's run, as LangGraph's are, also in a run that
reports to no handler: ``dispatch_custom_event`` in a node needs that parent run.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from langchain_core.runnables.config import var_child_runnable_config

from graphkit.context import CURRENT_CALL, CURRENT_TASK
from graphkit.engine.callbacks import manager_under
from graphkit.engine.run_events import events_of

_get_task = CURRENT_TASK.get
_get_call = CURRENT_CALL.get
_set_config = var_child_runnable_config.set
_reset_config = var_child_runnable_config.reset


class TaskConfigs(Mapping[str, Any]):
    """LangChain's current config during a run: the running task's config (with the
    token tap among its callbacks when ``tap``), else ``outer``."""

    __slots__ = ("last", "outer", "tap")

    def __init__(self, outer: Mapping[str, Any] | None, tap: bool = False) -> None:
        self.outer: Mapping[str, Any] = outer or {}
        """LangChain's current config when the run started (read outside a task)."""
        self.tap = tap
        """Whether a task's config carries the token tap (a run streaming messages)."""
        self.last: tuple[Any, Any, Any] = (None, None, None)
        """(Run scope, task and call, callbacks) of the last read of a run reporting to
        nothing that made a manager (``_manager``)."""

    def tapped(self) -> TaskConfigs:
        """These configs, with the token tap in a task's callbacks."""
        return self if self.tap else TaskConfigs(self.outer, tap=True)

    def current(self) -> Mapping[str, Any]:
        """The config this reads as here and now."""
        task = _get_task()
        if task is None:
            return self.outer
        config: dict[str, Any] = task.config()  # type: ignore[assignment]
        callbacks = config.get("callbacks")
        if callbacks is None:  # (LangGraph's has a manager under the node's run)
            callbacks = self._manager(task)
        elif self.tap:
            callbacks = _with_tap(callbacks)
        config["callbacks"] = callbacks
        return config

    def _manager(self, task: Any) -> Any:
        """The callbacks of ``task``'s config when the run has none: a manager of no
        handler under the task's run, as LangGraph's node config has
        (``dispatch_custom_event`` needs that parent run), with the tap when ``tap``.
        The same for each read in one task (and ``@task`` call) of a run that reports
        to nothing: its parent run is no one's, and a config read twice reads the same."""
        events = events_of(task)
        if events is not None:  # (under the task's own run: made for each read)
            manager = manager_under(events.inside(task)[-1], [], events.step_tags(task))
            return _with_tap(manager) if self.tap else manager
        scope, where = task.run.scope, (id(task), _get_call())
        last = self.last
        if last[0] is scope and last[1] == where:  # (the scope held: its id is not reused)
            return last[2]
        manager = manager_under(None, [])
        if self.tap:
            manager = _with_tap(manager)
        self.last = (scope, where, manager)
        return manager

    def enter(self) -> Any:
        """Make these LangChain's current config; returns the token ``leave`` takes."""
        return _set_config(self)  # type: ignore[arg-type]

    @staticmethod
    def leave(token: Any) -> None:
        """Put back what ``enter`` replaced."""
        try:  # noqa: SIM105 (contextlib.suppress builds an object per run)
            _reset_config(token)
        except ValueError:  # closed from another context (by the GC, say)
            pass

    def __getitem__(self, key: str) -> Any:
        return self.current()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.current())

    def __len__(self) -> int:
        return len(self.current())

    def items(self) -> Any:
        """(One lookup of the task's config: ``ensure_config`` reads it this way.)"""
        return self.current().items()

    def copy(self) -> dict[str, Any]:
        """The config this reads as, as a dict of its own (``dict.copy``'s spelling)."""
        return dict(self.current())

    def __repr__(self) -> str:
        return f"TaskConfigs({dict(self.current())!r})"


_get_config = var_child_runnable_config.get


def _with_tap(callbacks: Any) -> Any:
    from graphkit.engine.langchain_tokens import with_tap

    return with_tap(callbacks)


def configs_for() -> TaskConfigs | None:
    """What a run puts in LangChain's current config while it iterates, or None when
    that already is one (a graph run inside a node: its tasks read through the same)."""
    current = _get_config()
    if current is None:  # (the common case: one shared, it holds nothing of a run's)
        return _AT_TOP
    return None if isinstance(current, TaskConfigs) else TaskConfigs(current)


_AT_TOP = TaskConfigs(None)
"""The configs of a run started where LangChain had no current config."""
