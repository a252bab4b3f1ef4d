"""Managed values: state keys the engine computes rather than stores (``langgraph.managed``).

``RemainingSteps`` annotates a state key that holds how many steps the run may
still take before it hits ``recursion_limit`` (counting the running one).
graphkit does not fill such keys into node input; read the number with
``remaining_steps()`` from inside a node (``create_react_agent`` does, to stop
with "Sorry, need more steps to process this request." instead of failing).
"""

from __future__ import annotations

from typing import Annotated

from graphkit.context import current_task
from graphkit.errors import RunContextError

__all__ = ["RemainingSteps", "remaining_steps"]


class _RemainingStepsMarker:
    """Marks a state key as ``RemainingSteps``."""

    def __repr__(self) -> str:
        return "RemainingSteps"


RemainingSteps = Annotated[int, _RemainingStepsMarker()]
"""The type of a state key holding the steps left before ``recursion_limit``."""


def remaining_steps() -> int:
    """Steps the running graph may still take, counting the current one.

    With ``recursion_limit=5`` the first node sees 4 (taking the input is a step).
    """
    task = current_task("remaining_steps()")
    steps_left = task.run.steps_left
    if steps_left is None:
        raise RunContextError("remaining_steps(): this run does not count its steps")
    return steps_left()
