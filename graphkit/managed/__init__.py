"""Managed values: state keys the engine computes rather than stores (``langgraph.managed``).

``RemainingSteps`` annotates a state key that holds how many steps the run may
still take before it hits ``recursion_limit`` (counting the running one);
``IsLastStep`` one that is True in the last step the limit allows. As in LangGraph,
nodes and conditional edges find the computed value under that key; it is not a
channel: an input or a node's write to it is ignored, and checkpoints, snapshots and
the run's output leave it out. ``remaining_steps()`` reads the same number from
inside a node.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any, Literal, get_args, get_origin

from typing_extensions import NotRequired, ReadOnly, Required

from graphkit.errors import RunContextError

__all__ = ["IsLastStep", "RemainingSteps", "remaining_steps"]

ManagedKind = Literal["remaining_steps", "is_last_step"]


class _Managed:
    """Marks a state key whose value the engine computes (its ``kind``)."""

    __slots__ = ("kind",)

    def __init__(self, kind: ManagedKind) -> None:
        self.kind: ManagedKind = kind

    def __repr__(self) -> str:
        return "RemainingSteps" if self.kind == "remaining_steps" else "IsLastStep"


RemainingSteps = Annotated[int, _Managed("remaining_steps")]
"""The type of a state key holding the steps left before ``recursion_limit``."""
IsLastStep = Annotated[bool, _Managed("is_last_step")]
"""The type of a state key that is True in the last step ``recursion_limit`` allows."""


def managed_kind(hint: Any, metadata: Iterable[Any] = ()) -> ManagedKind | None:
    """The kind of managed value a state key's annotation (or a pydantic field's
    ``metadata``) declares, if any. ``NotRequired[RemainingSteps]`` (as in
    ``AgentState``) counts: the TypedDict qualifier wraps the managed type."""
    while get_origin(hint) in _QUALIFIERS:
        hint = get_args(hint)[0]
    if get_origin(hint) is Annotated:
        metadata = (*get_args(hint)[1:], *metadata)
    for item in metadata:
        if isinstance(item, _Managed):
            return item.kind
    return None


_QUALIFIERS = (NotRequired, Required, ReadOnly)
"""TypedDict key qualifiers that may wrap a managed type."""


def managed_values(keys: tuple[tuple[str, ManagedKind], ...], steps_left: int) -> dict[str, Any]:
    """The values of managed ``keys`` (key, kind) in a step with ``steps_left`` steps
    left, counting it."""
    return {key: steps_left if kind == "remaining_steps" else steps_left <= 1 for key, kind in keys}


def remaining_steps() -> int:
    """Steps the running graph may still take, counting the current one.

    With ``recursion_limit=5`` the first node sees 4 (taking the input is a step).
    """
    from graphkit.context import current_task

    task = current_task("remaining_steps()")
    steps_left = task.run.steps_left
    if steps_left is None:
        raise RunContextError("remaining_steps(): this run does not count its steps")
    return steps_left()
