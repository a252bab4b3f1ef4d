"""``langgraph.config``'s functions under the same module name: what a node can reach."""

from __future__ import annotations

from typing import Any

from graphkit.context import get_config, get_store, get_stream_writer


def merge_configs(*configs: dict[str, Any] | None) -> dict[str, Any]:
    """Merge run configs, later ones winning: ``configurable`` and ``metadata`` merge
    key by key, ``tags`` and ``callbacks`` lists add up, other keys are replaced.

    >>> merge_configs({"configurable": {"a": 1}, "tags": ["x"]},
    ...               {"configurable": {"b": 2}, "tags": ["y"], "recursion_limit": 5})
    {'configurable': {'a': 1, 'b': 2}, 'tags': ['x', 'y'], 'recursion_limit': 5}
    """
    merged: dict[str, Any] = {}
    for config in configs:
        for key, value in (config or {}).items():
            if key in ("configurable", "metadata") and isinstance(value, dict):
                merged[key] = {**merged.get(key, {}), **value}
            elif key in ("tags", "callbacks") and isinstance(value, list):
                merged[key] = [*merged.get(key, []), *value]
            else:
                merged[key] = value
    return merged


__all__ = ["get_config", "get_store", "get_stream_writer", "merge_configs"]
