"""Where a graph's tasks run: ``compile(executor=...)`` or ``config={"executor": ...}``.

``LocalExecutor`` (the default) runs them in this process. ``RayExecutor`` runs them
as Ray tasks (``pip install 'graphkit[ray]'``), for steps whose tasks do real CPU
work: threads share one GIL, Ray workers do not, and a cluster has more cores::

    from graphkit.executor import RayExecutor

    graph = builder.compile(executor=RayExecutor())              # every function node
    graph = builder.compile(executor=RayExecutor(nodes={"score"}))  # only the heavy one
    graph.invoke(state, {"executor": RayExecutor()})             # this call only

Results are the same as locally: writes come back and are applied at the barrier
in task order. ``Executor`` is the protocol both implement.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from graphkit.engine.executor import LOCAL, Executor, LocalExecutor

if TYPE_CHECKING:
    from graphkit.engine.ray_executor import RayExecutor

__all__ = ["LOCAL", "Executor", "LocalExecutor", "RayExecutor"]


def __getattr__(name: str) -> Any:
    if name == "RayExecutor":  # imported on use: Ray is an optional dependency
        from graphkit.engine.ray_executor import RayExecutor

        return RayExecutor
    raise AttributeError(f"module 'graphkit.executor' has no attribute {name!r}")
