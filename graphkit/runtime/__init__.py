"""The superstep runtime: compiled tables, tasks, the loop, checkpoint integration."""

from graphkit.runtime.compiled import CompiledStateGraph

__all__ = ["CompiledStateGraph"]
