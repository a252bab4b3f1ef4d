"""Shapes of a human-in-the-loop exchange (``langgraph.prebuilt.interrupt``).

A tool or node asks a person with ``interrupt(HumanInterrupt(...))`` and gets a
``HumanResponse`` back from ``Command(resume=...)``; UIs such as an agent inbox
read and write these shapes::

    >>> request: HumanInterrupt = {
    ...     "action_request": {"action": "send_email", "args": {"to": "a@b.c"}},
    ...     "config": {"allow_ignore": True, "allow_respond": True,
    ...                "allow_edit": True, "allow_accept": True},
    ...     "description": "Send this email?",
    ... }
    >>> request["action_request"]["action"]
    'send_email'
"""

from __future__ import annotations

from typing import Any, Literal

from typing_extensions import TypedDict

__all__ = ["ActionRequest", "HumanInterrupt", "HumanInterruptConfig", "HumanResponse"]


class HumanInterruptConfig(TypedDict):
    """What the person may do with the request."""

    allow_ignore: bool
    """Skip it."""
    allow_respond: bool
    """Answer in text."""
    allow_edit: bool
    """Change the action's arguments before it runs."""
    allow_accept: bool
    """Approve it as it is."""


class ActionRequest(TypedDict):
    """The action awaiting a decision."""

    action: str
    """Its name (e.g. a tool name)."""
    args: dict[str, Any]
    """Its arguments."""


class HumanInterrupt(TypedDict):
    """The value to pass to ``interrupt()``."""

    action_request: ActionRequest
    config: HumanInterruptConfig
    description: str | None
    """Extra text shown to the person."""


class HumanResponse(TypedDict):
    """The answer given back with ``Command(resume=...)``."""

    type: Literal["accept", "ignore", "response", "edit"]
    """What the person decided."""
    args: str | ActionRequest | None
    """``None`` (accept/ignore), a text (response) or the edited action (edit)."""
