"""``langgraph.graph.ui``: UI messages (generative UI). A node pushes a component to
render with ``push_ui_message``: it streams on ``stream_mode="custom"`` and is written
to the state's ``ui`` key, whose reducer ``ui_message_reducer`` merges and removes them.

>>> from typing import Annotated, TypedDict
>>> from graphkit.graph import START, StateGraph
>>> class State(TypedDict, total=False):
...     ui: Annotated[list[AnyUIMessage], ui_message_reducer]
>>> def node(state: State) -> dict:
...     push_ui_message("weather", {"city": "Paris"}, id="w1")
...     return {}
>>> graph = StateGraph(State).add_node("n", node).add_edge(START, "n").compile()
>>> [(m["id"], m["name"], m["props"]) for m in graph.invoke({})["ui"]]
[('w1', 'weather', {'city': 'Paris'})]
"""

from __future__ import annotations

from typing import Any, Literal, cast
from uuid import uuid4

from typing_extensions import TypedDict

from graphkit.context import current_task, get_config, get_stream_writer
from graphkit.errors import InvalidUpdateError

__all__ = [
    "AnyUIMessage",
    "RemoveUIMessage",
    "UIMessage",
    "delete_ui_message",
    "push_ui_message",
    "ui_message_reducer",
]


class UIMessage(TypedDict):
    """A UI component to render: its ``name`` and ``props``."""

    type: Literal["ui"]
    id: str
    """Identifies the component: a later message with this id replaces (or merges into) it."""
    name: str
    """The component's name."""
    props: dict[str, Any]
    """What the component is given."""
    metadata: dict[str, Any]
    """``merge`` (merge props into the earlier message's), the run's ``run_id``, ``tags``,
    ``name``, and ``message_id`` (the chat message it belongs to), plus your own."""


class RemoveUIMessage(TypedDict):
    """Removes the UI message with ``id``."""

    type: Literal["remove-ui"]
    id: str


AnyUIMessage = UIMessage | RemoveUIMessage


def _send(state_key: str | None, event: AnyUIMessage) -> None:
    """Stream ``event`` (``custom`` mode) and write it to ``state_key`` with the task's
    own writes."""
    get_stream_writer()(event)
    if state_key:
        task = current_task("push_ui_message()")
        if task.pushed is None:
            task.pushed = []
        task.pushed.append((state_key, event))


def push_ui_message(
    name: str,
    props: dict[str, Any],
    *,
    id: str | None = None,
    metadata: dict[str, Any] | None = None,
    message: Any = None,
    state_key: str | None = "ui",
    merge: bool = False,
) -> UIMessage:
    """Render component ``name`` with ``props``: streams the UI message and writes it to
    ``state_key`` (None: only streams). ``message``: the chat message it belongs to;
    ``merge=True``: merge ``props`` into those of the earlier message with this ``id``."""
    config = get_config()
    message_id = message.get("id") if isinstance(message, dict) else getattr(message, "id", None)
    event: UIMessage = {
        "type": "ui",
        "id": id or str(uuid4()),
        "name": name,
        "props": props,
        "metadata": {
            "merge": merge,
            "run_id": config.get("run_id"),
            "tags": config.get("tags"),
            "name": config.get("run_name"),
            **(metadata or {}),
            **({"message_id": message_id} if message_id else {}),
        },
    }
    _send(state_key, event)
    return event


def delete_ui_message(id: str, *, state_key: str = "ui") -> RemoveUIMessage:
    """Remove the UI message ``id``: streams the removal and writes it to ``state_key``."""
    event: RemoveUIMessage = {"type": "remove-ui", "id": id}
    _send(state_key, event)
    return event


def ui_message_reducer(
    left: list[AnyUIMessage] | AnyUIMessage, right: list[AnyUIMessage] | AnyUIMessage
) -> list[AnyUIMessage]:
    """``left`` updated by ``right``: a message replaces the one with its id (merging
    props when its metadata says ``merge``), a ``remove-ui`` removes it, others append.

    >>> ui_message_reducer([{"type": "ui", "id": "1", "name": "Chat", "props": {}, "metadata": {}}],
    ...                    {"type": "remove-ui", "id": "1"})
    []
    """
    merged: list[AnyUIMessage] = list(left) if isinstance(left, list) else [left]
    at = {m.get("id"): i for i, m in enumerate(merged)}
    removed: set[Any] = set()
    for msg in right if isinstance(right, list) else [right]:
        msg_id = msg.get("id")
        index = at.get(msg_id)
        if index is None:
            if msg.get("type") == "remove-ui":
                raise InvalidUpdateError(
                    f"Cannot remove the UI message {msg_id!r}: there is none with that id."
                )
            at[msg_id] = len(merged)
            merged.append(msg)
        elif msg.get("type") == "remove-ui":
            removed.add(msg_id)
        else:
            removed.discard(msg_id)
            shown = cast(UIMessage, msg)
            if shown.get("metadata", {}).get("merge", False):
                previous = cast(UIMessage, merged[index])
                shown = {**shown, "props": {**previous["props"], **shown["props"]}}
            merged[index] = shown
    return [m for m in merged if m.get("id") not in removed]
