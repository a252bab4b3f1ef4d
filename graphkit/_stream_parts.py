"""The types of ``version="v2"`` stream items, under LangGraph's names.

``graph.stream(..., version="v2")`` yields dicts ``{"type", "ns", "data"}`` (values
also ``"interrupts"``); these TypedDicts describe them, so code that annotates a v2
stream (``part: StreamPart``) and narrows on ``part["type"]`` type-checks here too.
They are re-exported from ``graphkit.types``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

from typing_extensions import NotRequired, TypeAliasType, TypedDict

if TYPE_CHECKING:
    from graphkit.messages import BaseMessage
    from graphkit.types import Interrupt, RunnableConfig, StateSnapshot

StateT = TypeVar("StateT")
OutputT = TypeVar("OutputT")


class TaskPayload(TypedDict):
    """A task starting (``"tasks"`` and ``"debug"`` modes)."""

    id: str
    name: str
    input: Any
    triggers: list[str]
    metadata: NotRequired[dict[str, Any]]


class TaskResultPayload(TypedDict):
    """A task finished: its writes, error text and interrupts."""

    id: str
    name: str
    error: str | None
    interrupts: list[dict[str, Any]]
    result: dict[str, Any]


class CheckpointTask(TypedDict):
    """One task of a checkpoint payload."""

    id: str
    name: str
    error: NotRequired[str]
    result: NotRequired[Any]
    interrupts: NotRequired[list[dict[str, Any]]]
    state: StateSnapshot | RunnableConfig | None


class CheckpointPayload(TypedDict, Generic[StateT]):
    """A checkpoint saved (``"checkpoints"`` and ``"debug"`` modes)."""

    config: RunnableConfig | None
    metadata: dict[str, Any]
    values: StateT
    next: list[str]
    parent_config: RunnableConfig | None
    tasks: list[CheckpointTask]


class _DebugCheckpoint(TypedDict, Generic[StateT]):
    step: int
    timestamp: str
    type: Literal["checkpoint"]
    payload: CheckpointPayload[StateT]


class _DebugTask(TypedDict):
    step: int
    timestamp: str
    type: Literal["task"]
    payload: TaskPayload


class _DebugTaskResult(TypedDict):
    step: int
    timestamp: str
    type: Literal["task_result"]
    payload: TaskResultPayload


DebugPayload = TypeAliasType(
    "DebugPayload",
    "_DebugCheckpoint[StateT] | _DebugTask | _DebugTaskResult",
    type_params=(StateT,),
)
"""A ``"debug"`` item's data; narrow on its ``type``."""


class ValuesStreamPart(TypedDict, Generic[OutputT]):
    """``stream_mode="values"``: the state after a step, with the interrupts open."""

    type: Literal["values"]
    ns: tuple[str, ...]
    data: OutputT
    interrupts: tuple[Interrupt, ...]


class UpdatesStreamPart(TypedDict):
    """``stream_mode="updates"``: what each node wrote."""

    type: Literal["updates"]
    ns: tuple[str, ...]
    data: dict[str, Any]


class MessagesStreamPart(TypedDict):
    """``stream_mode="messages"``: a message chunk and its metadata."""

    type: Literal["messages"]
    ns: tuple[str, ...]
    data: tuple[BaseMessage, dict[str, Any]]


class CustomStreamPart(TypedDict):
    """``stream_mode="custom"``: what a node gave its stream writer."""

    type: Literal["custom"]
    ns: tuple[str, ...]
    data: Any


class CheckpointStreamPart(TypedDict, Generic[StateT]):
    """``stream_mode="checkpoints"``."""

    type: Literal["checkpoints"]
    ns: tuple[str, ...]
    data: CheckpointPayload[StateT]


class TasksStreamPart(TypedDict):
    """``stream_mode="tasks"``: a task's start or its result."""

    type: Literal["tasks"]
    ns: tuple[str, ...]
    data: TaskPayload | TaskResultPayload


class DebugStreamPart(TypedDict, Generic[StateT]):
    """``stream_mode="debug"``."""

    type: Literal["debug"]
    ns: tuple[str, ...]
    data: DebugPayload[StateT]


StreamPart = TypeAliasType(
    "StreamPart",
    "ValuesStreamPart[OutputT] | UpdatesStreamPart | MessagesStreamPart | CustomStreamPart"
    " | CheckpointStreamPart[StateT] | TasksStreamPart | DebugStreamPart[StateT]",
    type_params=(StateT, OutputT),
)
"""Any ``version="v2"`` stream item; narrow on ``part["type"]``."""
