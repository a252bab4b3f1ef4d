"""LangGraph's renamed keyword arguments: the old name still works and warns as
LangGraph warns (``StateGraph(input=...)`` is ``input_schema=``)."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from typing import Any

from graphkit.errors import InvalidCallError
from graphkit.warnings import (
    LangGraphDeprecatedSinceV05,
    LangGraphDeprecatedSinceV10,
    LangGraphDeprecationWarning,
)

Since = Callable[[str], LangGraphDeprecationWarning]
"""A warning class of the version that deprecated a name (it takes the message)."""

RENAMED: Mapping[str, tuple[str, Since]] = {
    "input": ("input_schema", LangGraphDeprecatedSinceV05),
    "output": ("output_schema", LangGraphDeprecatedSinceV05),
    "retry": ("retry_policy", LangGraphDeprecatedSinceV05),
    "config_schema": ("context_schema", LangGraphDeprecatedSinceV10),
    "checkpoint_during": ("durability", LangGraphDeprecatedSinceV10),
}
"""Old keyword -> (its new name, the warning LangGraph raises for it)."""


def renamed_kwargs(call: str, legacy: dict[str, Any], *allowed: str) -> dict[str, Any]:
    """``legacy`` (the keywords ``call`` got beyond its own) under their new names,
    warning for each; ``allowed`` are the old names ``call`` takes. Raises
    ``InvalidCallError`` for any other keyword.

    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     renamed_kwargs("StateGraph()", {"input": dict}, "input", "output")
    {'input_schema': <class 'dict'>}
    >>> str(caught[0].message).split(".")[0]
    '`input` is deprecated and will be removed'
    """
    unknown = sorted(k for k in legacy if k not in allowed)
    if unknown:
        raise InvalidCallError(f"{call} got unexpected keyword arguments {unknown}")
    new: dict[str, Any] = {}
    for old, value in legacy.items():
        name, category = RENAMED[old]
        warnings.warn(
            category(f"`{old}` is deprecated and will be removed. Please use `{name}` instead."),
            stacklevel=3,
        )
        new[name] = value
    return new
