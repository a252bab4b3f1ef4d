"""The superstep runtime: compiled tables, tasks, the loop, checkpoint integration."""

from graphkit.engine.compiled import CompiledStateGraph

__all__ = ["CompiledStateGraph"]
