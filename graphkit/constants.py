"""Reserved names shared by the builder and the runtime."""

from __future__ import annotations

from typing import Any, Final

START: Final = "__start__"
"""The virtual first node: edges from START say where a run begins."""

END: Final = "__end__"
"""The virtual last node: routing to END finishes that branch of the run."""

RESERVED_CHARS: Final = ("|", ":")
"""Characters a node name may not contain (used in task paths and namespaces)."""

INTERRUPT: Final = "__interrupt__"
"""Key under which interrupts appear in ``invoke`` output and ``updates`` streams."""

TAG_NOSTREAM: Final = "nostream"
"""A chat model given this tag (``ChatOpenAI(..., tags=[TAG_NOSTREAM])``) sends no token
chunks to ``stream_mode="messages"``, as in LangGraph; the message it returns still
streams once, whole, with the node's output."""

TAG_HIDDEN: Final = "langsmith:hidden"
"""A tag that hides a run from tracing views (LangSmith's, and LangGraph's own hidden
steps); graphkit passes tags through unchanged."""

CONF: Final = "configurable"
"""The key of a run config holding its configurable values (``config[CONF]["thread_id"]``)."""

CONFIG_KEY_NODE_FINISHED: Final = "__pregel_node_finished"
"""A callable in ``config["configurable"]`` under this key is called with each node's
name when the node finishes (in subgraphs too), as under LangGraph's key of that name."""


class _Missing:
    """The type of ``MISSING``: a single instance with a readable repr."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()
"""graphkit's one "no value here" marker (``None`` is a value): an unset channel, an
absent field or filter path, a value a blob read could not produce."""


def __getattr__(name: str) -> Any:
    """``Send`` and ``Interrupt`` from here, deprecated as in LangGraph (warns)."""
    if name in ("Send", "Interrupt"):
        import warnings

        from graphkit import types
        from graphkit.warnings import LangGraphDeprecatedSinceV10

        warnings.warn(
            LangGraphDeprecatedSinceV10(
                f"Importing {name} from graphkit.constants is deprecated (as from "
                f"langgraph.constants). Please use 'from graphkit.types import {name}' instead."
            ),
            stacklevel=2,
        )
        return getattr(types, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
