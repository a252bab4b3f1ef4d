"""Checkpoint persistence: the saver interface and the whole contract it keeps.

A *checkpoint* records, after each superstep of a graph run, the version of every
channel, the value of every channel that has one, and what the runtime runs next.
Savers store checkpoints per *thread* (one conversation / run history) and
*namespace* (``""`` for the root graph, one per subgraph), plus the *pending writes*
that tasks produced before the next checkpoint was taken.

Storage model, shared by every saver here:

* Values live apart from checkpoints, one blob per (thread, ns, channel, version).
  ``put`` writes blobs only for the channels in ``new_versions``; a step that changes
  2 keys of a 500-key state writes 2 blobs.
* A channel whose value is a list that only grew (the runtime says so in
  ``checkpoint["channel_appends"]``) is stored as the appended suffix plus a reference
  to the base version; a full snapshot is taken when the deltas since the last one
  outweigh it (or there are ``snapshot_every`` of them), so disk stays O(bytes
  written) and reads stay bounded.
* Metadata is stored apart from the checkpoint, so ``list(filter=...)`` never decodes
  channel values.
* Reads of such a list decode only what was appended since the last read: each saver
  keeps the elements decoded (up to 100,000) and, by default, hands every reader fresh
  copies of them, so a caller may change what it gets. ``copy_on_read=False`` (a
  parameter of every saver) hands out the kept elements themselves instead, each read
  in a list of its own: a turn or a ``get_state`` of a 10,000-message thread then costs
  what one of 10 messages does. Those messages are shared with every later read in the
  process, so nothing may change them in place (return a new message with the same id
  to replace one, as ``add_messages`` expects anyway); a message changed in place
  would be seen by later reads but not stored. The engine's own reads for code that
  speaks LangChain skip the copy (:class:`reads_converted`): it shows readers fresh
  LangChain messages of those messages, never the messages themselves.

Three savers implement this: :class:`~graphkit.stores.checkpoint.memory.InMemorySaver`,
:class:`~graphkit.stores.checkpoint.lmdb.LMDBSaver` and
:class:`~graphkit.stores.checkpoint.postgres.PostgresSaver`. All pass
``tests/checkpoint_conformance.py``.

>>> from graphkit.checkpoint.memory import InMemorySaver
>>> from graphkit.checkpoint.base import empty_checkpoint
>>> saver = InMemorySaver()
>>> ckpt = empty_checkpoint()
>>> ckpt["channel_values"] = {"count": 1}
>>> ckpt["channel_versions"] = {"count": 1}
>>> cfg = saver.put({"configurable": {"thread_id": "t"}}, ckpt, {"step": 0}, {"count": 1})
>>> saver.get_tuple({"configurable": {"thread_id": "t"}}).checkpoint["channel_values"]
{'count': 1}
"""

from __future__ import annotations

import asyncio
import builtins
import datetime as dt
import heapq
import itertools
import os
import random
import threading
import time
import uuid
import weakref
from collections.abc import (
    AsyncIterator,
    Callable,
    Collection,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Generic, NamedTuple, TypedDict, TypeVar

from graphkit.constants import MISSING
from graphkit.errors import ConfigError, EmptyChannelError, SaverNotImplementedError
from graphkit.stores.serde import SerdeError, Serializer, as_serializer, default_serializer

__all__ = [
    "ERROR",
    "EXCLUDED_METADATA_KEYS",
    "INTERRUPT",
    "LATEST_VERSION",
    "RESUME",
    "SCHEDULED",
    "WRITES_IDX_MAP",
    "BaseCheckpointSaver",
    "ChannelVersions",
    "Checkpoint",
    "CheckpointCorruptError",
    "CheckpointMetadata",
    "CheckpointTuple",
    "CheckpointWriter",
    "EmptyChannelError",
    "RunnableConfig",
    "ThreadSummary",
    "copy_checkpoint",
    "empty_checkpoint",
    "get_checkpoint_id",
    "get_checkpoint_metadata",
    "get_serializable_checkpoint_metadata",
    "new_checkpoint_id",
]

from graphkit.types import RunnableConfig

"""``{"configurable": {"thread_id": str, "checkpoint_ns": str = "", "checkpoint_id": str | None}, ...}``"""

FORMAT_VERSION = 1
"""The value of ``Checkpoint["v"]`` this code writes."""


ChannelVersions = dict[str, int]
"""A checkpoint's version of each channel (LangGraph's name; graphkit's versions are ints)."""

LATEST_VERSION = FORMAT_VERSION
"""LangGraph's name of ``FORMAT_VERSION``."""

ERROR = "__error__"
"""The channel of a pending write recording a task's error."""
SCHEDULED = "__scheduled__"
"""The channel of a pending write recording a scheduled task (LangGraph's)."""
INTERRUPT = "__interrupt__"
"""The channel of a pending write recording a task's interrupts."""
RESUME = "__resume__"
"""The channel of a pending write recording the values a task resumes with."""

WRITES_IDX_MAP = {ERROR: -1, SCHEDULED: -2, INTERRUPT: -3, RESUME: -4}
"""The ``task_index`` LangGraph's savers store a special write's channel under (a saver
written for LangGraph uses it to order pending writes)."""


_converted: ContextVar[tuple[frozenset[str], bool]] = ContextVar(
    "graphkit_converted_reads", default=(frozenset(), False)
)


class reads_converted:
    """Within it, this thread's (or task's) reads of ``channels`` from graphkit's
    savers hand out the elements the saver keeps decoded themselves, in a list of the
    caller's own, instead of copies of them: for a caller that shows them to no one as
    they are, converting each to a fresh LangChain message (``graphkit._langchain_view``),
    which would throw the copies away. ``own``: each element a new object sharing its
    fields with the kept one (``_model_codec.shells``): a run's own messages, which
    its views tell from another run's by identity. Other savers ignore it: their
    reads are the caller's own anyway. (A class: entered once per checkpoint a history
    lists, where a generator's context manager costs several times as much.)"""

    __slots__ = ("_setting", "_token")

    def __init__(self, channels: frozenset[str], *, own: bool = False) -> None:
        self._setting = (channels, own)

    def __enter__(self) -> None:
        self._token = _converted.set(self._setting)

    def __exit__(self, *exc: object) -> None:
        _converted.reset(self._token)


def converted_reads() -> tuple[frozenset[str], bool]:
    """The channels ``reads_converted`` names for the current read (empty: none), and
    whether each read gets objects of its own (``own``)."""
    return _converted.get()


class Checkpoint(TypedDict):
    """The state of one thread after one superstep."""

    v: int
    """Format version: 1."""
    id: str
    """From :func:`new_checkpoint_id`: time-ordered, sortable as a string."""
    ts: str
    """ISO-8601 UTC time the checkpoint was taken."""
    channel_values: dict[str, Any]
    """The full value of every channel that has one."""
    channel_versions: dict[str, int]
    """Version per channel; unique per (thread, ns, channel) across all branches."""
    frontier: dict[str, Any]
    """Opaque to savers: what the runtime runs next (serialized with serde)."""
    channel_appends: dict[str, list[int]]
    """Optional hint ``ch -> [base_version, base_len]``: the value is a list and
    ``value[:base_len]`` equals the value stored at ``base_version``. Savers may
    store only ``value[base_len:]``. Not returned by savers (always ``{}`` on read)."""


class CheckpointMetadata(TypedDict, total=False):
    """Metadata stored beside a checkpoint; ``list(filter=...)`` matches on it."""

    source: str
    """"input" | "loop" | "update" | "fork"."""
    step: int
    """The superstep number (-1 for the input checkpoint)."""
    writes: dict[str, Any] | None
    """What the step's nodes wrote, by node name: in checkpoints written by earlier
    graphkit versions only (LangGraph 1.x and graphkit no longer store it)."""
    parents: dict[str, str]
    """Checkpoint ids of the parent graphs, by namespace."""


class CheckpointTuple(NamedTuple):
    """A checkpoint as read back, with everything needed to resume from it.

    A named tuple, as LangGraph's: ``config, checkpoint, metadata, parent_config,
    pending_writes = saver.get_tuple(config)`` unpacks it, and ``_replace`` changes a copy.
    """

    config: RunnableConfig
    """``{"configurable": {"thread_id", "checkpoint_ns", "checkpoint_id"}}`` of this checkpoint."""
    checkpoint: Checkpoint
    """The checkpoint, ``channel_values`` full (append deltas reassembled)."""
    metadata: CheckpointMetadata
    """Exactly the metadata given to ``put``."""
    parent_config: RunnableConfig | None = None
    """Config of the checkpoint this one was put after, or None for the first."""
    pending_writes: list[tuple[str, str, Any]] | None = None
    """(task_id, channel, value), ordered by task_index, then task_id, then write order
    (our savers always give a list; a custom saver may leave it out, as with LangGraph's)."""


@dataclass(frozen=True, slots=True)
class ThreadSummary:
    """One thread as :meth:`BaseCheckpointSaver.list_threads` reports it."""

    thread_id: str
    """The thread's id."""
    checkpoints: int
    """How many checkpoints it has (all namespaces)."""
    namespaces: int
    """How many checkpoint namespaces (1 + subgraphs that checkpointed)."""
    latest_id: str
    """The newest checkpoint's id."""
    latest_time: str
    """When the newest checkpoint was taken (from its time-ordered id), ISO-8601 UTC."""


def summarize_threads(keys: Iterable[tuple[str, str, bytes]]) -> list[ThreadSummary]:
    """Summaries of the (thread_id, checkpoint_ns, 16-byte id) keys, newest activity first."""
    rows: dict[str, tuple[int, set[str], bytes]] = {}
    for thread_id, ns, id16 in keys:
        count, spaces, latest = rows.get(thread_id, (0, set(), b""))
        spaces.add(ns)
        rows[thread_id] = (count + 1, spaces, max(latest, id16))
    out = [
        ThreadSummary(t, count, len(spaces), checkpoint_id_str(latest), checkpoint_id_time(latest))
        for t, (count, spaces, latest) in rows.items()
    ]
    return sorted(out, key=lambda r: r.latest_id, reverse=True)


class CheckpointCorruptError(SerdeError):
    """Stored checkpoint data could not be read; the message names thread, checkpoint and part."""


_id_lock = threading.Lock()
_rng = random.Random()  # private: a user's random.seed() must not make ids collide
_last_high = 0
"""The id :func:`new_checkpoint_id` made last, less its last 32 bits (its process's
tag): 48 bits of milliseconds, then a 42-bit sequence."""
_tag = (0, "", b"")
"""This process's tag: the last 32 bits of every id it makes (int, 8 hex, 4 bytes)."""


def _new_tag() -> None:
    """A new random tag for this process (at import, and in a forked child)."""
    global _tag
    tag = _rng.getrandbits(32)
    _tag = (tag, f"{tag:08x}", tag.to_bytes(4, "big"))


def _after_fork() -> None:
    """In a forked child: its own random numbers and tag (so never the parent's ids)."""
    _rng.seed()
    _new_tag()


_new_tag()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)


def new_checkpoint_id(unix_us: int | None = None) -> str:
    """A new checkpoint id: a UUIDv7 string, strictly increasing within the process and
    never made by another process.

    The first 48 bits are the Unix time in milliseconds, so ids sort by time as strings
    and as 16-byte keys. A 42-bit sequence follows: it starts at 0 in each new
    millisecond and counts up within one (or while the clock steps back), so ids never
    repeat or go backwards in a process. The last 32 bits are the process's random tag
    (a forked child draws its own): two processes never make the same id, even when
    one adopted the other's last id (see :func:`observe_checkpoint_id`) and both make
    the next one in the same millisecond (unless their tags meet: one chance in 2**32).
    ``unix_us``: the time to use (microseconds since the epoch), when the caller has
    read the clock already (a checkpoint's ``ts`` and id then come from one reading).

    >>> a, b = new_checkpoint_id(), new_checkpoint_id()
    >>> a < b and uuid.UUID(a).version == 7
    True
    """
    global _last_high, _last_made
    ms = time.time_ns() // 1_000_000 if unix_us is None else unix_us // 1000
    _id_lock.acquire()  # (cheaper than ``with`` on this path)
    try:
        high = _last_high + 1
        if high >> 42 < ms:  # a new millisecond
            high = ms << 42
        _last_high = high
    finally:
        _id_lock.release()
    run = _run
    low = high - run[0]
    if not 0 <= low < 65536:  # more than the 16 bits before the tag differ from ``_run``'s
        run = _new_run(high)
        low = high & 0xFFFF
    tag = _tag
    made = f"{run[1]}{_HEX2[low >> 8]}{_HEX2[low & 255]}{tag[1]}"
    _last_made = (made, run[2] + low.to_bytes(2, "big") + tag[2])
    return made


def _new_run(high: int) -> tuple[int, str, bytes]:
    """``_run`` for the ids whose ``high`` (see ``_last_high``) differs from this one's
    only in its last 16 bits."""
    global _run
    # UUIDv7 layout: 48 ms | 4 version | 12 rand_a | 2 variant | 62 rand_b (order kept);
    # the sequence's top 12 bits are rand_a, its other 30 and the tag are rand_b.
    if not high & _SEQ_HIGH:  # the first 65536 ids of a millisecond (all but never)
        ms = (high >> 42).to_bytes(6, "big")
        text = ms.hex()
        head = f"{text[:8]}-{text[8:]}-7000-8000-"
        _run = (high & ~0xFFFF, head, ms + b"\x70\x00\x80\x00")
        return _run
    raw = (high >> 42) << 80 | _VERSION | ((high >> 30) & 0xFFF) << 64 | _VARIANT
    raw |= (high & 0x3FFFFFFF) << 32
    text = raw.to_bytes(16, "big").hex()  # (cheaper than formatting the int)
    head = f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-"
    _run = (high & ~0xFFFF, head, raw.to_bytes(16, "big")[:10])
    return _run


_VERSION = 0x7 << 76
_VARIANT = 0b10 << 62
_SEQ_HIGH = ((1 << 42) - 1) & ~0xFFFF
_HEX2 = [f"{i:02x}" for i in range(256)]
_run: tuple[int, str, bytes] = (-(1 << 20), "", b"")
"""Made by :func:`_new_run`: (a ``high`` with its last 16 bits zero, the text and the
bytes its ids share): ids are made from it by formatting two bytes and the tag."""


_last_made: tuple[str, bytes] = ("", b"")
"""The id :func:`new_checkpoint_id` made last and its bytes: the saver that stores it
asks for them next (:func:`checkpoint_id_bytes` then parses nothing)."""


_milli: tuple[int, str, str] = (-1, "", "")
"""The last millisecond :func:`utc_timestamp` formatted: (it, its text up to the
milliseconds, the whole text at its first microsecond)."""
_second: tuple[int, str] = (-1, "")
"""The last second :func:`utc_timestamp` formatted, and its text up to the seconds."""
_DIGITS3 = [f"{i:03d}" for i in range(1000)]


def utc_timestamp(unix_us: int) -> str:
    """``datetime.fromtimestamp(unix_us / 1e6, timezone.utc).isoformat()``, at a fifth of
    the cost (the date and time of day are formatted once per second, the milliseconds
    once per millisecond): a checkpoint's ``ts``.

    >>> utc_timestamp(1_700_000_000_123_456)
    '2023-11-14T22:13:20.123456+00:00'
    >>> utc_timestamp(1_700_000_000_000_000)
    '2023-11-14T22:13:20+00:00'
    """
    global _milli
    ms = unix_us // 1000
    milli = _milli
    if milli[0] != ms:
        milli = _milli = _format_milli(ms)
    micro = unix_us - ms * 1000
    return f"{milli[1]}{_DIGITS3[micro]}+00:00" if micro else milli[2]


def _format_milli(ms: int) -> tuple[int, str, str]:
    """``_milli`` for millisecond ``ms``."""
    global _second
    second, milli = divmod(ms, 1000)
    cached, head = _second
    if second != cached:
        head = dt.datetime.fromtimestamp(second, dt.timezone.utc).isoformat()[:19]
        _second = (second, head)
    text = f"{head}.{_DIGITS3[milli]}"
    return ms, text, f"{text}000+00:00" if milli else f"{head}+00:00"


def observe_checkpoint_id(checkpoint_id: str) -> None:
    """Make every id :func:`new_checkpoint_id` returns from now on sort after this one.

    Ids are strictly increasing within a process, but two processes can make ids in one
    millisecond whose sequences sort the other way. A saver shared by processes
    calls this with each checkpoint it reads, so a child made from what was read sorts
    after its parent even if another process made the parent a moment ago (a Lamport
    clock on top of wall time). Ids that are not UUIDv7 are ignored.

    >>> later = new_checkpoint_id()[:15] + "fff-bfff-ffffffffffff"
    >>> observe_checkpoint_id(later)
    >>> new_checkpoint_id() > later
    True
    """
    global _last_high
    try:
        raw = int.from_bytes(checkpoint_id_bytes(checkpoint_id), "big")
    except ValueError:
        return
    if (raw >> 76) & 0xF != 7:
        return
    high = ((raw >> 80) << 42) | (((raw >> 64) & 0xFFF) << 30) | ((raw >> 32) & 0x3FFFFFFF)
    with _id_lock:
        if high > _last_high:
            _last_high = high


def checkpoint_id_bytes(checkpoint_id: str) -> bytes:
    """The 16 bytes of a checkpoint id (its UUID), used as a sortable key."""
    made = _last_made
    if made[0] is checkpoint_id:
        return made[1]
    # Fast path for the canonical form new_checkpoint_id() makes (what savers see).
    if (
        type(checkpoint_id) is str
        and len(checkpoint_id) == 36
        and checkpoint_id[8] == checkpoint_id[13] == checkpoint_id[18] == checkpoint_id[23] == "-"
    ):
        try:
            found = bytes.fromhex(checkpoint_id.replace("-", ""))
        except ValueError:
            found = b""
        if len(found) == 16:
            return found
    try:
        return uuid.UUID(checkpoint_id).bytes
    except (ValueError, TypeError, AttributeError):
        raise ConfigError(
            f"checkpoint_id {checkpoint_id!r} is not a UUID; "
            "make ids with graphkit.stores.checkpoint.new_checkpoint_id()"
        ) from None


def checkpoint_id_str(id16: bytes) -> str:
    """The canonical id string of 16 key bytes (inverse of :func:`checkpoint_id_bytes`)."""
    h = id16.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def checkpoint_id_time(id16: bytes) -> str:
    """The time in a UUIDv7 checkpoint id (its first 48 bits are Unix ms), ISO-8601 UTC."""
    ms = int.from_bytes(id16[:6], "big")
    return dt.datetime.fromtimestamp(ms / 1000, dt.timezone.utc).isoformat(timespec="seconds")


def empty_checkpoint() -> Checkpoint:
    """A checkpoint with no channels and a fresh id and timestamp."""
    return Checkpoint(
        v=FORMAT_VERSION,
        id=new_checkpoint_id(),
        ts=dt.datetime.now(dt.timezone.utc).isoformat(),
        channel_values={},
        channel_versions={},
        frontier={},
        channel_appends={},
    )


def copy_checkpoint(checkpoint: Checkpoint) -> Checkpoint:
    """A copy of ``checkpoint`` with dicts of its own (the values themselves are shared).

    >>> first = empty_checkpoint()
    >>> second = copy_checkpoint(first)
    >>> second["channel_values"]["x"] = 1
    >>> first["channel_values"]
    {}
    """
    copied = Checkpoint(**checkpoint)
    for part in ("channel_values", "channel_versions", "frontier", "channel_appends"):
        if isinstance(checkpoint.get(part), dict):
            copied[part] = dict(checkpoint[part])
    return copied


EXCLUDED_METADATA_KEYS = frozenset(
    {"thread_id", "checkpoint_id", "checkpoint_ns", "checkpoint_map"}
    | {"langgraph_step", "langgraph_node", "langgraph_triggers", "langgraph_path"}
    | {"langgraph_checkpoint_ns"}
)
"""Keys of a run's ``metadata`` or ``configurable`` never copied into checkpoint metadata
(as LangGraph's)."""


def run_metadata(
    given: Mapping[str, Any] | None, configurable: Mapping[str, Any]
) -> dict[str, Any]:
    """What a run adds to each checkpoint's metadata, as LangGraph's savers do: each
    entry of the config's ``metadata``, then of its ``configurable``, whose value is a
    string, number or bool (``user_id``, ...; not :data:`EXCLUDED_METADATA_KEYS` nor
    ``__``-prefixed ones; the first of a key wins), so ``list(filter={"user_id": ...})``
    finds a user's checkpoints. Other values (an object a caller put in the run's
    metadata, a list, None) are left out, as LangGraph leaves them out, rather than
    failing the save. NUL characters are dropped from the strings (PostgreSQL cannot
    store them).

    >>> run_metadata({"tag": "a", "obj": object()}, {"thread_id": "t", "user_id": "u"})
    {'tag': 'a', 'user_id': 'u'}
    """
    metadata: dict[str, Any] = {}
    for source in (given, configurable):
        if not source:
            continue
        for key, value in source.items():
            if (
                type(key) is not str
                or key in metadata
                or key in EXCLUDED_METADATA_KEYS
                or key[:2] == "__"
            ):
                continue
            if isinstance(value, str):
                metadata[key] = value.replace("\x00", "")
            elif isinstance(value, int | float):  # (bool is an int)
                metadata[key] = value
    return metadata


def get_checkpoint_metadata(
    config: RunnableConfig, metadata: CheckpointMetadata
) -> CheckpointMetadata:
    """``metadata`` (NULs dropped from its strings) with what the run's ``config`` adds
    to it (:func:`run_metadata`; ``metadata``'s own keys win), as LangGraph's function
    of this name, which savers written for LangGraph call in ``put``. graphkit's
    runtime has added it already when it calls ``put``: calling this again changes
    nothing."""
    merged: dict[str, Any] = {
        key: value.replace("\x00", "") if isinstance(value, str) else value
        for key, value in metadata.items()
    }
    for key, value in run_metadata(config.get("metadata"), configurable_of(config)).items():
        merged.setdefault(key, value)
    return merged  # type: ignore[return-value]


def get_serializable_checkpoint_metadata(
    config: RunnableConfig, metadata: CheckpointMetadata
) -> CheckpointMetadata:
    """:func:`get_checkpoint_metadata` without the legacy ``writes`` key, as LangGraph's
    savers store it."""
    merged = get_checkpoint_metadata(config, metadata)
    merged.pop("writes", None)
    return merged


def configurable_of(config: RunnableConfig | None) -> Mapping[str, Any]:
    """``config["configurable"]`` ({} if absent); ConfigError if it is not a mapping."""
    configurable = (config or {}).get("configurable") or {}
    if type(configurable) is not dict and not isinstance(configurable, Mapping):
        raise ConfigError(
            f"config['configurable'] must be a dict, got {type(configurable).__name__} "
            f"{configurable!r}: pass config={{'configurable': {{'thread_id': ...}}}}"
        )
    return configurable


def names_namespace(config: RunnableConfig) -> bool:
    """Whether ``config`` names a checkpoint namespace (else ``list`` spans them all)."""
    return "checkpoint_ns" in configurable_of(config)


def thread_of(config: RunnableConfig | None) -> tuple[str, str, str | None]:
    """(thread_id, checkpoint_ns, checkpoint_id) from a config; ValueError without a thread."""
    plain = config.get("configurable") if type(config) is dict else None
    if type(plain) is dict:  # what the runtime passes: skip the checks' calls
        thread_id = plain.get("thread_id")
        ns = plain.get("checkpoint_ns")
        if type(thread_id) is str and thread_id and type(ns) is str:
            return thread_id, ns, plain.get("checkpoint_id")
    configurable = configurable_of(config)
    thread_id = configurable.get("thread_id")
    if thread_id is None or thread_id == "":
        raise ConfigError(
            "a checkpointer needs a thread: pass config={'configurable': {'thread_id': ...}}"
        )
    return (
        str(thread_id),
        str(configurable.get("checkpoint_ns") or ""),
        configurable.get("checkpoint_id"),
    )


def checkpoint_of(config: RunnableConfig) -> tuple[str, str, str]:
    """(thread_id, checkpoint_ns, checkpoint_id) of a config that must name a checkpoint.

    ValueError without a thread or without a checkpoint id (what ``put_writes`` needs).
    """
    thread_id, ns, checkpoint_id = thread_of(config)
    if checkpoint_id is None:
        raise ConfigError("put_writes needs config['configurable']['checkpoint_id']")
    return thread_id, ns, checkpoint_id


def checkpoint_id_of(config: RunnableConfig | None) -> str | None:
    """The ``checkpoint_id`` a config names, if any (no thread needed: ``list(before=...)``)."""
    return ((config or {}).get("configurable") or {}).get("checkpoint_id")


get_checkpoint_id = checkpoint_id_of
"""LangGraph's name of :func:`checkpoint_id_of` (savers written for LangGraph call it)."""


def make_config(thread_id: str, checkpoint_ns: str, checkpoint_id: str) -> RunnableConfig:
    """The config that names one checkpoint."""
    return {
        "configurable": {
            "thread_id": thread_id,
            "checkpoint_ns": checkpoint_ns,
            "checkpoint_id": checkpoint_id,
        }
    }


class CheckpointWriter:
    """How the runtime saves the checkpoints of one run: made once per run by
    :meth:`BaseCheckpointSaver.writer`, for the run's thread and namespace.

    ``put`` stores a checkpoint as :meth:`BaseCheckpointSaver.put` does, except that it
    returns nothing and a saver's writer may take as given what cannot change within
    a run: the thread and namespace (parsed once, here), and channel versions the
    runtime made (not checked again). This default calls ``put``; a saver whose puts
    pay for those checks on every call returns its own.
    """

    __slots__ = ("saver",)

    def __init__(self, saver: BaseCheckpointSaver) -> None:
        self.saver = saver

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: dict[str, int],
    ) -> None:
        """Store ``checkpoint`` after the one ``config`` names (of the writer's thread
        and namespace): :meth:`BaseCheckpointSaver.put`'s contract, minus its return."""
        self.saver.put(config, checkpoint, metadata, new_versions)


V = TypeVar("V", int, float, str)
"""The type of a saver's channel versions, as LangGraph names it (ours are ints)."""


class BaseCheckpointSaver(Generic[V]):
    """Stores checkpoints and pending writes per thread and namespace.

    A subclass implements any subset of the methods, as with LangGraph's base class
    (generic in its version type as LangGraph's: ``class MySaver(BaseCheckpointSaver[str])``);
    one it lacks raises :class:`~graphkit.errors.SaverNotImplementedError` when called.
    Runs need ``get_tuple``, ``put`` and ``put_writes`` (``list`` for history and time
    travel). The async twins run the sync methods in a worker thread unless overridden;
    a saver that overrides them (see :func:`awaits_natively`) is awaited on the event
    loop by async runs, and a saver with only async methods serves only async calls
    (``ainvoke``, ``astream``, ``aget_state``...). Our savers' methods are safe to call
    from several threads.
    """

    serde: Serializer
    waits_on_io: bool = True
    """Whether ``put`` waits on I/O (a disk sync, the network). The runtime saves such
    savers' checkpoints in a background thread for ``durability="async"`` and shares
    disk syncs between concurrent runs; for a saver that sets False
    (``InMemorySaver``, ``LMDBSaver(sync=False)``) it calls ``put`` inline, as the
    hand-off would cost more. A class attribute, or set per instance."""
    shares_reads: bool = False
    """Whether reads hand out the elements the saver keeps decoded, shared with later
    reads (``copy_on_read=False``), rather than the caller's own copies."""

    def __init__(self, *, serde: Serializer | None = None) -> None:
        self.serde = default_serializer if serde is None else as_serializer(serde)

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: dict[str, int],
    ) -> RunnableConfig:
        """Store ``checkpoint`` (after the one ``config`` names) and return its config.

        ``config["configurable"]["checkpoint_id"]``, if set, is the *parent*. A blob is
        written only for the channels in ``new_versions`` (a channel there without a
        value in ``channel_values`` is stored as "no value"); every other channel in
        ``channel_versions`` must already have been stored by an earlier ``put`` in the
        same thread and namespace, and is not re-serialized. The checkpoint, its
        metadata and its blobs are written atomically. Returns
        ``{"configurable": {"thread_id", "checkpoint_ns", "checkpoint_id": checkpoint["id"]}}``.
        Raises ValueError without a thread_id, SerdeError for a value that cannot be
        serialized (naming the channel and the path inside it).
        """
        raise not_implemented(self, "put")

    def writer(self, config: RunnableConfig) -> CheckpointWriter:
        """The :class:`CheckpointWriter` the runtime saves one run's checkpoints with
        (``config`` names the run's thread and namespace). This default's ``put`` calls
        :meth:`put`."""
        return CheckpointWriter(self)

    def put_batch(
        self,
        items: Sequence[tuple[RunnableConfig, Checkpoint, CheckpointMetadata, dict[str, int]]],
    ) -> builtins.list[RunnableConfig]:
        """``put`` each ``(config, checkpoint, metadata, new_versions)`` in order.

        A saver may store them all in one transaction (one disk sync): the runtime's
        ``durability="async"`` hands over every checkpoint queued while the previous
        batch was being written. Each item may name the one before it as its parent.
        """
        return [self.put(*item) for item in items]

    def put_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str | int = "",
    ) -> None:
        """Store the (channel, value) writes of one task against the checkpoint in ``config``.

        Putting the same ``task_id`` again replaces its earlier writes. Atomic.
        ``task_path``: the task's index in its step (an int: graphkit's runtime passes
        one), or LangGraph's task path (a string, which our savers accept and do not
        store). ``get_tuple`` returns the writes ordered by that index, then task id,
        then write order.
        """
        raise not_implemented(self, "put_writes")

    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        """The checkpoint ``config`` names, or the latest of its thread and namespace.

        None if there is none. Raises ValueError without a thread_id and
        CheckpointCorruptError (naming thread, checkpoint and channel) for unreadable data.
        """
        raise not_implemented(self, "get_tuple")

    def list(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        """Checkpoints newest first.

        ``config`` None lists every thread; otherwise its thread: the namespace its
        ``checkpoint_ns`` names, or every namespace of the thread (root graph and
        subgraphs, merged newest first) when the key is absent, as LangGraph's savers
        do. A ``checkpoint_id`` in it lists that checkpoint alone (of the namespace
        named, else of any namespace of the thread), as LangGraph's savers do.
        ``filter`` keeps checkpoints whose metadata has exactly these key/value pairs
        (decided without decoding channel values); ``before`` keeps only checkpoints
        older than the one it names; ``limit`` caps the count.
        """
        raise not_implemented(self, "list")

    def children(self, config: RunnableConfig) -> builtins.list[CheckpointTuple]:
        """The checkpoints whose parent is the one ``config`` names (same thread and
        namespace), newest first: the steps taken from it, forks included.

        This default lists the namespace newest first down to that checkpoint (children
        are always newer than their parent); a saver with a parent index does better.
        """
        thread_id, ns, cid = checkpoint_of(config)
        found: builtins.list[CheckpointTuple] = []
        scope: RunnableConfig = {"configurable": {"thread_id": thread_id, "checkpoint_ns": ns}}
        for newer in self.list(scope):
            if checkpoint_id_of(newer.config) == cid:
                break
            if checkpoint_id_of(newer.parent_config) == cid:
                found.append(newer)
        return found

    def delete_thread(self, thread_id: str) -> None:
        """Delete every checkpoint, blob and pending write of a thread (all namespaces)."""
        raise not_implemented(self, "delete_thread")

    def delete_for_runs(self, run_ids: Sequence[str]) -> None:
        """Delete the checkpoints and writes the runs ``run_ids`` made (LangGraph's
        server API). None of graphkit's savers implements it: delete whole threads with
        :meth:`delete_thread`, or thin them out with :meth:`prune`."""
        raise not_implemented(self, "delete_for_runs")

    @property
    def config_specs(self) -> builtins.list[Any]:
        """The configuration fields this saver reads (LangChain's); none by default."""
        return []

    def get_next_version(self, current: Any, channel: None = None) -> Any:
        """The version after ``current`` (None: the first) for a channel, as LangGraph's
        savers number them: ints count up, strings keep a zero-padded counter first.
        (graphkit's engine numbers versions itself: this serves code written for
        LangGraph's savers.)

        >>> BaseCheckpointSaver().get_next_version(None), BaseCheckpointSaver().get_next_version(4)
        (1, 5)
        >>> BaseCheckpointSaver().get_next_version("00000000000000000000000000000002.5")[:33]
        '00000000000000000000000000000003.'
        """
        if isinstance(current, str):
            return f"{int(current.split('.')[0]) + 1:032}.{random.random():016}"
        return 1 if current is None else current + 1

    def with_allowlist(self, extra_allowlist: Collection[tuple[str, ...]]) -> BaseCheckpointSaver:
        """This saver: LangGraph widens its serializer's list of types it may decode;
        graphkit's decodes only the types registered with
        ``graphkit.checkpoint.serde.register`` already (never one named by the data), so
        there is nothing to widen: register a type to store it."""
        return self

    def copy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        """Copy every checkpoint, blob and write of one thread to another (same ids).

        Entries the target already has under the same keys are overwritten.
        """
        raise not_implemented(self, "copy_thread")

    def prune(
        self, thread_ids: Sequence[str], *, strategy: str = "keep_latest", keep_latest: int = 1
    ) -> None:
        """Keep only the ``keep_latest`` newest checkpoints per thread and namespace
        (LangGraph's ``strategy="keep_latest"``); ``strategy="delete"`` keeps none.

        Blobs are kept only if a kept checkpoint still needs them (directly or as the
        base of an append delta); pending writes of dropped checkpoints go too. A kept
        checkpoint's ``parent_config`` may then name a checkpoint that no longer exists.
        """
        raise not_implemented(self, "prune")

    def _every_namespace(
        self,
        thread_id: str,
        namespaces: Iterable[str],
        filter: dict[str, Any] | None,
        before: RunnableConfig | None,
        limit: int | None,
        checkpoint_id: str | None = None,
    ) -> Iterator[CheckpointTuple]:
        """``list`` of a thread's namespaces, merged newest first (ids sort by time);
        of the one checkpoint ``checkpoint_id`` names, if given, in each namespace."""
        named = {} if checkpoint_id is None else {"checkpoint_id": checkpoint_id}
        streams = [
            self.list(
                {"configurable": {"thread_id": thread_id, "checkpoint_ns": ns, **named}},
                filter=filter,
                before=before,
                limit=limit,
            )
            for ns in namespaces
        ]
        merged = heapq.merge(
            *streams, key=lambda t: t.config["configurable"]["checkpoint_id"], reverse=True
        )
        return itertools.islice(merged, limit)

    def list_threads(self) -> builtins.list[ThreadSummary]:
        """Every thread this saver holds, newest activity first.

        This default decodes every checkpoint through :meth:`list`; savers override it
        with a scan of their keys.
        """
        return summarize_threads(
            (
                item.config["configurable"]["thread_id"],
                item.config["configurable"].get("checkpoint_ns", ""),
                checkpoint_id_bytes(item.config["configurable"]["checkpoint_id"]),
            )
            for item in self.list(None)
        )

    def get(self, config: RunnableConfig) -> Checkpoint | None:
        """Just the checkpoint of :meth:`get_tuple`."""
        found = self.get_tuple(config)
        return found.checkpoint if found is not None else None

    def close(self) -> None:
        """Release resources. This default commits the checkpoints runs have queued for
        the saver's background committer (``durability="async"``) and waits for the
        commit in flight (see :func:`before_close`); a saver's own ``close`` calls it
        before closing its database."""
        for hook in _before_close:
            hook(self)

    def __enter__(self) -> BaseCheckpointSaver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> BaseCheckpointSaver:
        """``async with saver``, as LangGraph's savers (and ``AsyncSqliteSaver``, which
        ``LMDBSaver.from_conn_string`` stands for) allow."""
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ async twins
    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: dict[str, int],
    ) -> RunnableConfig:
        """Async :meth:`put` (runs it in a worker thread)."""
        if not implements(self, "put"):
            raise not_implemented(self, "aput")
        return await asyncio.to_thread(self.put, config, checkpoint, metadata, new_versions)

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str | int = "",
    ) -> None:
        """Async :meth:`put_writes`."""
        if not implements(self, "put_writes"):
            raise not_implemented(self, "aput_writes")
        await asyncio.to_thread(self.put_writes, config, writes, task_id, task_path)

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        """Async :meth:`get_tuple`."""
        if not implements(self, "get_tuple"):
            raise not_implemented(self, "aget_tuple")
        return await asyncio.to_thread(self.get_tuple, config)

    async def aget(self, config: RunnableConfig) -> Checkpoint | None:
        """Async :meth:`get`."""
        found = await self.aget_tuple(config)
        return found.checkpoint if found is not None else None

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        """Async :meth:`list`: pulls results in batches from a worker thread."""
        if not implements(self, "list"):
            raise not_implemented(self, "alist")
        items = self.list(config, filter=filter, before=before, limit=limit)
        while True:
            batch = await asyncio.to_thread(_take, items, 16)
            for item in batch:
                yield item
            if len(batch) < 16:
                return

    async def alist_threads(self) -> builtins.list[ThreadSummary]:
        """Async :meth:`list_threads`."""
        return await asyncio.to_thread(self.list_threads)

    async def adelete_thread(self, thread_id: str) -> None:
        """Async :meth:`delete_thread`."""
        if not implements(self, "delete_thread"):
            raise not_implemented(self, "adelete_thread")
        await asyncio.to_thread(self.delete_thread, thread_id)

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        """Async :meth:`copy_thread`."""
        if not implements(self, "copy_thread"):
            raise not_implemented(self, "acopy_thread")
        await asyncio.to_thread(self.copy_thread, source_thread_id, target_thread_id)

    async def adelete_for_runs(self, run_ids: Sequence[str]) -> None:
        """Async :meth:`delete_for_runs`."""
        if not implements(self, "delete_for_runs"):
            raise not_implemented(self, "adelete_for_runs")
        await asyncio.to_thread(self.delete_for_runs, run_ids)

    async def aprune(
        self, thread_ids: Sequence[str], *, strategy: str = "keep_latest", keep_latest: int = 1
    ) -> None:
        """Async :meth:`prune`."""
        if not implements(self, "prune"):
            raise not_implemented(self, "aprune")
        await asyncio.to_thread(self.prune, thread_ids, strategy=strategy, keep_latest=keep_latest)


ASYNC_TWINS = {
    "aput": "put",
    "aput_writes": "put_writes",
    "aget_tuple": "get_tuple",
    "alist": "list",
    "adelete_thread": "delete_thread",
    "acopy_thread": "copy_thread",
    "aprune": "prune",
    "adelete_for_runs": "delete_for_runs",
}
"""The async methods a saver may implement, and the sync method each is the twin of."""

RUN_METHODS = ("get_tuple", "put", "put_writes")
"""What a run (or ``update_state``) calls on its saver: a run on a saver that lacks the
sync ones must be an async run (see :func:`missing_for_sync_runs`)."""

_kinds: weakref.WeakKeyDictionary[type, tuple[bool, tuple[str, ...]]] = weakref.WeakKeyDictionary()
"""Per saver class: (:func:`awaits_natively`, :func:`missing_for_sync_runs`)."""


def named_checkpoint(
    saver: BaseCheckpointSaver,
    config: RunnableConfig,
    filter: dict[str, Any] | None,
    before: RunnableConfig | None,
    limit: int | None,
) -> Iterator[CheckpointTuple]:
    """``list`` of a config naming a namespace and a checkpoint (as LangGraph's savers
    list it): that checkpoint, if it exists, has the ``filter``'s metadata, is older than
    ``before`` and ``limit`` allows one."""
    before_id = checkpoint_id_of(before)
    if limit is not None and limit <= 0:
        return
    if before_id is not None and configurable_of(config)["checkpoint_id"] >= before_id:
        return
    found = saver.get_tuple(config)
    if found is not None and all(
        found.metadata.get(key, MISSING) == value for key, value in (filter or {}).items()
    ):
        yield found


def implements(saver: BaseCheckpointSaver, method: str) -> bool:
    """Whether ``saver``'s class implements ``method`` (overrides the base class's).

    >>> from graphkit.checkpoint.memory import InMemorySaver
    >>> implements(InMemorySaver(), "put"), implements(InMemorySaver(), "aput")
    (True, False)
    """
    return getattr(type(saver), method, None) is not getattr(BaseCheckpointSaver, method)


def _kind(saver: BaseCheckpointSaver) -> tuple[bool, tuple[str, ...]]:
    cls = type(saver)
    found = _kinds.get(cls)
    if found is None:
        native = any(
            implements(saver, name) for name in ("aput", "aput_writes", "aget_tuple", "alist")
        )
        found = _kinds[cls] = (native, tuple(m for m in RUN_METHODS if not implements(saver, m)))
    return found


def awaits_natively(saver: BaseCheckpointSaver) -> bool:
    """Whether async runs await ``saver``'s async methods on the event loop: its class
    overrides ``aput``, ``aput_writes``, ``aget_tuple`` or ``alist`` (an async driver, or
    a saver that wraps ours), as LangGraph's async runs do. Otherwise they call its sync
    methods in worker threads (our savers: their group commit shares disk syncs).

    >>> from graphkit.checkpoint.memory import InMemorySaver
    >>> class Logged(InMemorySaver):
    ...     async def aput(self, config, checkpoint, metadata, new_versions):
    ...         return await super().aput(config, checkpoint, metadata, new_versions)
    >>> awaits_natively(InMemorySaver()), awaits_natively(Logged())
    (False, True)
    """
    return _kind(saver)[0]


def missing_for_sync_runs(saver: BaseCheckpointSaver) -> tuple[str, ...]:
    """The sync methods a run needs that ``saver``'s class lacks (a saver written for
    async use only): a sync run (``invoke``/``stream``) on it cannot save."""
    return _kind(saver)[1]


_fast: weakref.WeakKeyDictionary[type, dict[str, bool]] = weakref.WeakKeyDictionary()
"""Per saver class: :func:`stands_for_put` by method."""


_before_close: list[Callable[[BaseCheckpointSaver], None]] = []


def before_close(hook: Callable[[BaseCheckpointSaver], None]) -> None:
    """Have ``hook(saver)`` run first whenever a saver closes (:meth:`BaseCheckpointSaver.close`).

    The runtime's commit queue registers one that commits what its runs queued for the
    saver: the stores never import the engine, and without it nothing is queued.
    """
    _before_close.append(hook)


def stands_for_put(saver: BaseCheckpointSaver, method: str) -> bool:
    """Whether ``saver``'s ``method`` (``writer`` or ``put_batch``: they store as ``put``
    does, without calling it) may be used for its checkpoints. Not when a subclass
    overrides ``put`` below the class that defines ``method`` (a saver written for
    LangGraph that wraps or watches ``put``): its ``put`` is then called for each.

    >>> from graphkit.checkpoint.memory import InMemorySaver
    >>> class Watched(InMemorySaver):
    ...     def put(self, config, checkpoint, metadata, new_versions):
    ...         return super().put(config, checkpoint, metadata, new_versions)
    >>> stands_for_put(InMemorySaver(), "writer"), stands_for_put(Watched(), "writer")
    (True, False)
    """
    cls = type(saver)
    known = _fast.get(cls)
    if known is None:
        known = _fast[cls] = {}
    found = known.get(method)
    if found is None:
        owner = next((k for k in cls.__mro__ if method in k.__dict__), BaseCheckpointSaver)
        found = known[method] = getattr(cls, "put", None) is getattr(owner, "put", None)
    return found


def not_implemented(saver: BaseCheckpointSaver, method: str) -> SaverNotImplementedError:
    """The error for a call of ``method`` on a saver whose class does not implement it,
    naming what to implement or call instead."""
    name = type(saver).__name__
    sync = ASYNC_TWINS.get(method)
    if sync is not None:
        return SaverNotImplementedError(
            f"{name} implements neither {method}() nor {sync}(): implement {method}() (or "
            f"{sync}(), which the async API then runs in a worker thread)."
        )
    twin = f"a{method}"
    if implements(saver, twin):
        return SaverNotImplementedError(
            f"{name} does not implement {method}(), only its async twin {twin}(): use the "
            f"async API (ainvoke, astream, aget_state, aupdate_state, ...) from an event "
            f"loop, or implement {method}() for synchronous calls (invoke, stream, get_state, ...)."
        )
    return SaverNotImplementedError(
        f"{name} does not implement {method}(): a checkpoint saver implements get_tuple, "
        f"list, put and put_writes (or their async twins aget_tuple, alist, aput and "
        f"aput_writes); implement {method}() to use this call."
    )


def _take(items: Iterator[CheckpointTuple], n: int) -> list[CheckpointTuple]:
    out: list[CheckpointTuple] = []
    for item in items:
        out.append(item)
        if len(out) == n:
            break
    return out
