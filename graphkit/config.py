"""``langgraph.config``'s functions under the same module name: what a node can reach.

Also ``merge_config``: the run config one invoke/stream call runs with, and
``merge_configs``: several configs layered (``with_config`` defaults under a call's).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from graphkit.context import get_config, get_store, get_stream_writer
from graphkit.errors import ConfigError
from graphkit.types import RunnableConfig

__all__ = [
    "RunnableConfig",
    "get_config",
    "get_store",
    "get_stream_writer",
    "merge_config",
    "merge_configs",
]

CONFIG_KEYS = frozenset(
    {
        "tags",
        "metadata",
        "callbacks",
        "run_name",
        "max_concurrency",
        "recursion_limit",
        "configurable",
        "run_id",
        "durability",
        "executor",
    }
)
"""Top-level keys of a run config; any other top-level key belongs in ``configurable``."""


def merge_config(config: Mapping[str, Any] | None, options: dict[str, Any]) -> RunnableConfig:
    """The config of one run: ``config`` plus the call's ``durability``/``recursion_limit``.

    A key LangGraph reads from ``configurable`` but given at the top level, such as
    ``{"thread_id": "1"}``, moves into ``configurable`` (LangGraph accepts it there
    too); ``configurable`` wins when both have it. Pops what it uses from ``options``.
    """
    if not config and not options:
        empty: RunnableConfig = {}  # (not cast(): a call per run)
        return empty
    merged: dict[str, Any] = dict(config or {})
    configurable = merged.get("configurable")
    if configurable is not None and not isinstance(configurable, Mapping):
        raise ConfigError(
            f"config['configurable'] must be a dict, got {type(configurable).__name__} "
            f"{configurable!r}: pass config={{'configurable': {{'thread_id': ...}}}}"
        )
    stray = [k for k in merged if k not in CONFIG_KEYS]
    if stray:
        configurable = {k: merged.pop(k) for k in stray}
        configurable.update(merged.get("configurable") or {})
        merged["configurable"] = configurable
    _check_max_concurrency(merged.get("max_concurrency"))
    durability = options.pop("durability", None)
    if durability is not None:
        merged["durability"] = durability
    if "recursion_limit" in options:
        merged["recursion_limit"] = options.pop("recursion_limit")
    return cast(RunnableConfig, merged)


def _check_max_concurrency(limit: object) -> None:
    if limit is None or (isinstance(limit, int) and not isinstance(limit, bool) and limit > 0):
        return
    raise ConfigError(
        f"config['max_concurrency'] must be a positive int (the most tasks of one step "
        f"running at once), got {limit!r}: pass e.g. {{'max_concurrency': 10}}, or leave it out"
    )


def merge_configs(*configs: Mapping[str, Any] | None) -> RunnableConfig:
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
                earlier = merged.get(key, [])
                if isinstance(earlier, list):
                    merged[key] = [*earlier, *value]
                else:
                    merged[key] = _merged_callbacks(earlier, value)
            elif key == "callbacks" and merged.get(key):
                merged[key] = _merged_callbacks(merged[key], value)
            else:
                merged[key] = value
    return cast(RunnableConfig, merged)


def _merged_callbacks(earlier: Any, later: Any) -> Any:
    """Callbacks of two configs where one is a LangChain ``CallbackManager``: merged as
    LangChain merges them (the handlers of both)."""
    from langchain_core.runnables.config import merge_configs as langchain_merge

    return langchain_merge({"callbacks": earlier}, {"callbacks": later}).get("callbacks")
