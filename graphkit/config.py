"""``langgraph.config``'s functions under the same module name: what a node can reach."""

from graphkit.context import get_config, get_store, get_stream_writer

__all__ = ["get_config", "get_store", "get_stream_writer"]
