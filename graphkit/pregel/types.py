"""``langgraph.pregel.types``: the public types of a run, as ``graphkit.types`` has them
(importing them from here is deprecated, as in LangGraph: import from graphkit.types)."""

import warnings

from graphkit.types import (
    All,
    CachePolicy,
    PregelTask,
    RetryPolicy,
    StateSnapshot,
    StateUpdate,
    StreamMode,
    StreamWriter,
    default_retry_on,
)
from graphkit.warnings import LangGraphDeprecatedSinceV10

__all__ = [
    "All",
    "CachePolicy",
    "PregelTask",
    "RetryPolicy",
    "StateSnapshot",
    "StateUpdate",
    "StreamMode",
    "StreamWriter",
    "default_retry_on",
]

warnings.warn(
    LangGraphDeprecatedSinceV10(
        "Importing from graphkit.pregel.types is deprecated (as from langgraph.pregel.types). "
        "Please use 'from graphkit.types import ...' instead."
    ),
    stacklevel=2,
)
