"""The type variables graphkit's generic classes take, at LangGraph's ``langgraph.typing``.

``StateGraph[StateT, ContextT, InputT, OutputT]`` and the ``CompiledStateGraph`` it
compiles to carry the state schema, the run context schema and the input and output
schemas, so a type checker knows what ``invoke`` takes and returns. The input and
output schemas default to the state schema, the context to ``None``.
"""

from __future__ import annotations

from typing import Any, ClassVar, Protocol

from pydantic import BaseModel
from typing_extensions import TypeVar

__all__ = [
    "ContextT",
    "InputT",
    "OutputT",
    "StateLike",
    "StateT",
    "StateT_co",
    "StateT_contra",
]

StateT = TypeVar("StateT")
"""The state schema: a TypedDict, a pydantic model or a dataclass."""
StateT_co = TypeVar("StateT_co", covariant=True)
"""A state schema read only (a covariant ``StateT``, for protocols)."""
StateT_contra = TypeVar("StateT_contra", contravariant=True)
"""A state schema taken only (a contravariant ``StateT``, for protocols)."""
ContextT = TypeVar("ContextT", default=None)
"""The schema of a run's static context (``context=`` of invoke/stream)."""
InputT = TypeVar("InputT", default=StateT)
"""The schema of a run's input (defaults to the state schema)."""
OutputT = TypeVar("OutputT", default=StateT)
"""The schema of a run's output (defaults to the state schema)."""


class _Dataclass(Protocol):
    __dataclass_fields__: ClassVar[dict[str, Any]]


StateLike = BaseModel | _Dataclass
"""Schemas whose runs still return plain dicts (as LangGraph's do): invoke's output
for a pydantic or dataclass state is ``dict[str, Any]``, for a TypedDict that TypedDict."""
