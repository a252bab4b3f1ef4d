"""``langgraph.runtime``: what a node receives as its ``runtime`` argument."""

from graphkit.context import Runtime

__all__ = ["Runtime"]
