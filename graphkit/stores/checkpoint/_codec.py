"""The byte formats every saver shares: checkpoint records, value blobs, append deltas.

A saver only decides where bytes live (dicts, LMDB). What the bytes are, when a list
channel is stored as a delta, and how a value is rebuilt from a delta chain is here,
so both savers behave identically.

Blob format (first byte says which):

* ``F`` + serde bytes: the full value.
* ``D`` + header + serde bytes of ``value[base_len:]``: an append delta on top of the
  blob at ``base_version`` (same thread, namespace and channel). The header carries the
  chain's length and bytes since the last full snapshot, so deciding whether the next
  write is a delta or a snapshot reads one header, not the chain.
* ``E``: the channel has a version but no value.
"""

from __future__ import annotations

import os
import struct
import threading
import zlib
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from graphkit import _gc, _message_index
from graphkit._message_index import HistoryIndex
from graphkit.constants import MISSING
from graphkit.errors import InvalidArgumentError, InvalidCheckpointError, SharedReadChangedError
from graphkit.stores._model_codec import Cloner, copier_of, shells
from graphkit.stores.checkpoint.base import (
    FORMAT_VERSION,
    Checkpoint,
    CheckpointCorruptError,
    CheckpointMetadata,
    CheckpointTuple,
    converted_reads,
    make_config,
)
from graphkit.stores.serde import PLAIN_HEADER, SerdeError, Serializer, register

FULL, DELTA, EMPTY = b"F", b"D", b"E"
_DELTA_HEAD = struct.Struct(">QQQQQ")  # base_version, base_len, chain_len, chain_bytes, snap_bytes
_DELTA_START = 1 + _DELTA_HEAD.size

DEFAULT_SNAPSHOT_EVERY = 256
"""Deltas an append chain may reach before a snapshot is considered on count alone.

The rule: a full snapshot replaces the next delta when the deltas since the last
snapshot hold more bytes than it does (snapshots then at least double, so together
they are under twice the final value), or when there are more than
``snapshot_every`` of them and they hold over half its bytes (snapshots then grow by
at least 1.5x: under 3x the final value). Either way disk stays O(bytes written), and
a read decodes at most twice the value's own size, in at most about
``max(snapshot_every, appends since the value was half its size)`` blobs."""

GetBlob = Callable[[str, int], "bytes | None"]
"""(channel, version) -> the stored blob, or None."""

ChainState = tuple[int, int, int]
"""What an append needs of the blob it extends: (deltas since the last full snapshot,
their payload bytes, the snapshot's payload bytes); see :func:`chain_state`."""

GetChain = Callable[[str, int], "ChainState | None"]
"""(channel, version) -> the :data:`ChainState` of that stored blob, or None."""


def no_blob(channel: str, version: int) -> None:
    """The ``GetBlob`` for a checkpoint without appends: no base blob is ever needed."""
    return None


@dataclass(frozen=True, slots=True)
class DeltaInfo:
    """What a blob's header says about the chain it ends."""

    base_version: int
    """Version of the blob this one extends (0 for a full blob)."""
    base_len: int
    """Length of the value at ``base_version``."""
    chain_len: int
    """Deltas since the last full snapshot, this one included (0 for a full blob)."""
    chain_bytes: int
    """Payload bytes of those deltas."""
    snap_bytes: int
    """Payload bytes of the full snapshot at the bottom of the chain."""


CRC = struct.Struct(">I")


def seal(data: bytes) -> bytes:
    """``data`` + its CRC-32 (4 bytes): what a saver on disk stores, so damage is detected."""
    return data + CRC.pack(zlib.crc32(data))


def unseal(data: bytes, where: Callable[[], str]) -> bytes:
    """The bytes :func:`seal` was given; CheckpointCorruptError (naming ``where()``) if the
    checksum does not match: damaged bytes are reported, never decoded into wrong data."""
    end = len(data) - 4
    if end < 0 or zlib.crc32(memoryview(data)[:end]) != CRC.unpack_from(data, end)[0]:
        raise CheckpointCorruptError(
            f"{where()}: checksum mismatch, the stored bytes are damaged (disk or copy "
            "corruption); restore the LMDB directory from a backup, or delete the thread"
        )
    return data[:end]


_REQUIRED = ("id", "ts", "channel_values", "channel_versions")
"""The keys a checkpoint given to a public ``put`` must have."""


def checked_checkpoint(checkpoint: Checkpoint, new_versions: Mapping[str, int]) -> Checkpoint:
    """The checkpoint a public ``put`` stores: ``checkpoint`` itself, or a copy with the
    keys graphkit adds to LangGraph's checkpoint filled in (``v``, and an empty
    ``frontier`` and ``channel_appends``: nothing runs next) when it lacks them, as a
    checkpoint built by hand for LangGraph's savers does. ValueError if it lacks one of
    :data:`_REQUIRED` or ``new_versions`` disagrees with it (see :func:`check_versions`)."""
    if "frontier" not in checkpoint or "channel_appends" not in checkpoint or "v" not in checkpoint:
        missing = [key for key in _REQUIRED if key not in checkpoint]
        if missing:
            raise InvalidCheckpointError(
                f"the checkpoint has no {', '.join(map(repr, missing))}: start from "
                "graphkit.checkpoint.base.empty_checkpoint() and set its channel_values "
                "and channel_versions (one version per channel with a value)"
            )
        checkpoint = cast(
            Checkpoint, {"v": FORMAT_VERSION, "frontier": {}, "channel_appends": {}, **checkpoint}
        )
    check_versions(checkpoint, new_versions)
    return checkpoint


def check_versions(checkpoint: Checkpoint, new_versions: Mapping[str, int]) -> None:
    """ValueError if ``new_versions`` disagrees with the checkpoint or is not int."""
    versions = checkpoint["channel_versions"]
    for channel, version in new_versions.items():
        if type(version) is not int or version < 0:
            raise InvalidCheckpointError(
                f"channel {channel!r} has version {version!r}; graphkit's savers need "
                "non-negative int channel versions (LangGraph's number them with strings): "
                "take them from this saver's get_next_version()"
            )
        if versions.get(channel) != version:
            raise InvalidCheckpointError(
                f"new_versions[{channel!r}] = {version} but checkpoint channel_versions "
                f"says {versions.get(channel)!r}; they must agree"
            )
    values = checkpoint["channel_values"]
    if not values.keys() <= versions.keys():
        for channel in values:
            if channel not in versions:
                raise InvalidCheckpointError(
                    f"channel {channel!r} has a value but no entry in channel_versions; "
                    "every channel with a value needs a version"
                )


def kept_by_prune(strategy: str, keep_latest: int) -> int:
    """How many checkpoints per namespace ``prune(strategy=, keep_latest=)`` keeps:
    LangGraph's ``strategy="delete"`` keeps none, ``"keep_latest"`` keeps ``keep_latest``
    (1 unless given). ValueError for another strategy or a negative count."""
    if strategy not in ("keep_latest", "delete"):
        raise InvalidArgumentError(
            f"prune(strategy={strategy!r}) is not a strategy: use 'keep_latest' (keep the "
            "newest checkpoint of each namespace, or keep_latest=N of them) or 'delete'."
        )
    if keep_latest < 0:
        raise InvalidArgumentError(f"keep_latest must be >= 0, got {keep_latest}")
    return 0 if strategy == "delete" else keep_latest


def task_index_of(task_path: str | int) -> int:
    """The position ``put_writes(..., task_path)`` files a task's writes under: graphkit's
    runtime passes the task's index in its step (an int); code written for LangGraph's
    savers passes its task path (a string), filed as 0 (such writes then order by task
    id). ValueError for anything else."""
    if type(task_path) is int:
        return task_path
    if isinstance(task_path, str):
        return 0
    raise InvalidArgumentError(
        f"put_writes() takes a task path (str) or a task index (int) after the task id, "
        f"got {type(task_path).__name__} {task_path!r}"
    )


def dumps(serde: Serializer, value: Any, where: Callable[[], str]) -> bytes:
    """``serde.dumps(value)``; ``where()`` is only built when it fails (to name the place)."""
    try:
        return serde.dumps(value)
    except SerdeError:
        return serde.dumps(value, where=where())


def encode_record(
    serde: Serializer,
    checkpoint: Checkpoint,
    parent_id: str | None,
    versions: Any = None,
    metadata: Mapping[str, Any] | None = None,
) -> bytes:
    """The checkpoint without its values: [v, ts, channel_versions, frontier, parent_id],
    plus ``metadata`` as a sixth field when given (a packed record: see
    :func:`record_metadata`; ``slim_metadata`` makes what to pass).

    ``versions`` replaces ``channel_versions`` when given: a saver may store them as a
    :class:`VersionsDelta` list instead of the full dict. A ``Send`` argument in the
    frontier that holds a value of one of the checkpoint's channels (the state a
    ``Send`` carries, say) holds a :class:`ChannelRef` to it instead, so a growing
    history is not stored again with every step; :func:`checkpoint_tuple` resolves it.
    """
    frontier = checkpoint["frontier"]
    if type(frontier) is not dict or "sends" in frontier:  # (else there is nothing to ref)
        frontier = _frontier_refs(frontier, checkpoint["channel_values"])
    if versions is None:
        versions = checkpoint["channel_versions"]
    if metadata is None:
        record = [checkpoint["v"], checkpoint["ts"], versions, frontier, parent_id]
    else:
        record = [checkpoint["v"], checkpoint["ts"], versions, frontier, parent_id, metadata]
    try:
        return serde.dumps(record)
    except SerdeError:
        if metadata is not None:  # name the part that cannot be stored
            dumps(serde, metadata, lambda: "checkpoint metadata")
        return serde.dumps(record, where=f"the frontier of checkpoint {checkpoint['id']}")


VERSIONS_DELTA_MAX_DEPTH = 16
"""A delta-encoded version map is based on at most this many earlier records."""

VERSIONS_DELTA_MIN = 8
"""Version maps with fewer channels are always stored in full."""


def versions_delta(
    versions: Mapping[str, int], base: Mapping[str, int] | None, base_depth: int
) -> dict[str, int] | None:
    """The entries of ``versions`` that differ from ``base``, when storing only those pays.

    None means "store the full map": no base, the chain is long enough, a channel was
    dropped (a delta cannot express that), or most channels changed anyway.
    """
    if base is None or base_depth >= VERSIONS_DELTA_MAX_DEPTH or len(versions) < VERSIONS_DELTA_MIN:
        return None
    changed = dict(versions.items() - base.items())
    added = sum(1 for key in changed if key not in base)
    if len(versions) != len(base) + added or len(changed) * 2 > len(versions):
        return None
    return changed


@dataclass(frozen=True, slots=True)
class ChannelRef:
    """Stands in metadata ``writes`` for a value stored as a channel blob of the same put."""

    channel: str
    """The channel whose value (in the same checkpoint) this is."""


register(ChannelRef, "graphkit.checkpoint:ChannelRef")


_REF_DEPTH = 3
"""How deep into a ``Send`` argument's dicts channel values are looked for."""


def _frontier_refs(frontier: Any, values: Mapping[str, Any]) -> Any:
    """``frontier`` with each channel value found in a ``Send`` argument as a ChannelRef."""
    sends = frontier.get("sends") if type(frontier) is dict else None
    if not sends:
        return frontier
    by_id = {id(v): ch for ch, v in values.items() if _worth_a_ref(v)}
    if not by_id:
        return frontier
    out = []
    for send in sends:
        if type(send) is list and len(send) == 2:
            send = [send[0], _refs(send[1], by_id, _REF_DEPTH)]
        out.append(send)
    return {**frontier, "sends": out}


def _refs(value: Any, by_id: dict[int, str], depth: int) -> Any:
    channel = by_id.get(id(value))
    if channel is not None:
        return ChannelRef(channel)
    if depth and type(value) is dict:
        return {k: _refs(v, by_id, depth - 1) for k, v in value.items()}
    return value


def _resolve_frontier(frontier: Any, values: Mapping[str, Any]) -> Any:
    """The frontier of a stored record with its ChannelRefs replaced by the values."""
    sends = frontier.get("sends") if type(frontier) is dict else None
    if not sends:
        return frontier
    for send in sends:
        if type(send) is list and len(send) == 2:
            send[1] = _resolve(send[1], values, _REF_DEPTH)
    return frontier


def _resolve(value: Any, values: Mapping[str, Any], depth: int) -> Any:
    if type(value) is ChannelRef:
        return values.get(value.channel)
    if depth and type(value) is dict:
        for key, item in value.items():
            if type(item) is ChannelRef or type(item) is dict:
                value[key] = _resolve(item, values, depth - 1)
    return value


def _worth_a_ref(value: Any) -> bool:
    """Large enough that storing it twice would matter (refs cost ~40 bytes)."""
    if isinstance(value, (str, bytes)):
        return len(value) >= 64
    return not isinstance(value, (int, float, bool, type(None)))


def encode_metadata(
    serde: Serializer,
    metadata: Mapping[str, Any],
    checkpoint: Checkpoint | None = None,
    new_versions: Mapping[str, int] | None = None,
) -> bytes:
    """Metadata as bytes (see :func:`slim_metadata`)."""
    if type(metadata) is not dict or "writes" in metadata:  # (else it is stored as it is)
        metadata = slim_metadata(metadata, checkpoint, new_versions)
    return dumps(serde, metadata, _metadata_place)


def _metadata_place() -> str:
    return "checkpoint metadata"


def slim_metadata(
    metadata: Mapping[str, Any],
    checkpoint: Checkpoint | None = None,
    new_versions: Mapping[str, int] | None = None,
) -> dict[str, Any]:
    """Metadata as stored (a plain dict is stored as is, any other mapping copied first).

    Given the ``checkpoint`` and ``new_versions`` of the same put, a value in
    ``metadata["writes"][node]`` that *is* the value of a channel stored by this put
    is written as a :class:`ChannelRef` (a large state value is stored once, not twice);
    :func:`decode_metadata` given the checkpoint's values puts it back.
    """
    data = metadata if type(metadata) is dict else dict(metadata)
    writes = data.get("writes")
    if checkpoint is not None and new_versions and type(writes) is dict:
        values = checkpoint["channel_values"]
        slim: dict[str, Any] = {}
        for node, update in writes.items():
            if type(update) is dict:
                refs = {
                    key: ChannelRef(key)
                    for key, value in update.items()
                    if key in new_versions and values.get(key) is value and _worth_a_ref(value)
                }
                if refs:
                    update = {**update, **refs}
            slim[node] = update
        data = {**data, "writes": slim}
    return data


def decode_record(serde: Serializer, data: bytes, where: str) -> list[Any]:
    """[v, ts, channel_versions, frontier, parent_id] from :func:`encode_record` bytes
    (and the metadata, sixth, in a packed record)."""
    try:
        record = serde.loads(data, where=where)
    except SerdeError as exc:
        raise CheckpointCorruptError(str(exc)) from None
    if not isinstance(record, list) or not 5 <= len(record) <= 6:
        raise CheckpointCorruptError(f"{where}: the checkpoint record is malformed")
    return record


def record_metadata(
    record: list[Any], where: str, values: Mapping[str, Any] | None = None
) -> dict[str, Any] | None:
    """The metadata a packed :func:`decode_record` record holds (None: a record written
    before records held it; its metadata is stored apart). With the checkpoint's
    ``values``, ChannelRefs resolved."""
    if len(record) < 6:
        return None
    return _resolved_metadata(record[5], where, values)


def checkpoint_tuple(
    thread_id: str,
    ns: str,
    checkpoint_id: str,
    record: list[Any],
    versions: dict[str, int],
    values: dict[str, Any],
    metadata: dict[str, Any],
    pending_writes: list[tuple[str, str, Any]],
) -> CheckpointTuple:
    """What ``get_tuple`` returns, from a :func:`decode_record` ``record`` and what was read
    beside it (``versions``: the record's full version map, delta bases resolved)."""
    v, ts, frontier, parent_id = record[0], record[1], record[3], record[4]
    return CheckpointTuple(
        config=make_config(thread_id, ns, checkpoint_id),
        checkpoint=Checkpoint(
            v=v,
            id=checkpoint_id,
            ts=ts,
            channel_values=values,
            channel_versions=versions,
            frontier=_resolve_frontier(frontier, values),
            channel_appends={},
        ),
        metadata=cast(CheckpointMetadata, metadata),
        parent_config=make_config(thread_id, ns, parent_id) if parent_id else None,
        pending_writes=pending_writes,
    )


def encode_blobs(
    serde: Serializer,
    checkpoint: Checkpoint,
    new_versions: Mapping[str, int],
    base_blob: GetBlob,
    snapshot_every: int,
    base_chain: GetChain | None = None,
) -> list[tuple[str, int, bytes]]:
    """(channel, version, blob) for each channel in ``new_versions``.

    ``base_blob`` reads an earlier blob of the same thread and namespace; only the first
    bytes (the header) of append bases are looked at. ``base_chain``, if given, answers
    with those headers instead (a saver that remembers what it wrote reads nothing).
    """
    values = checkpoint["channel_values"]
    appends = checkpoint.get("channel_appends")
    out: list[tuple[str, int, bytes]] = []
    for channel, version in new_versions.items():
        value = values.get(channel, MISSING)
        if value is MISSING:
            out.append((channel, version, EMPTY))
            continue
        blob = None
        if appends and type(value) is list:
            hint = appends.get(channel)
            if hint is not None:
                if base_chain is None:
                    base_chain = _chain_reader(base_blob)
                blob = _delta_blob(serde, channel, value, hint, base_chain, snapshot_every)
        if blob is None:
            try:
                blob = FULL + serde.dumps(value)
            except SerdeError:  # again, naming the channel
                blob = FULL + serde.dumps(value, where=f"channel {channel!r}")
        out.append((channel, version, blob))
    return out


def _chain_reader(base_blob: GetBlob) -> GetChain:
    return lambda channel, version: chain_state(base_blob(channel, version))


def chain_state(blob: bytes | None) -> ChainState | None:
    """The :data:`ChainState` a blob ends (None: no blob, an empty one, or not a blob)."""
    if blob is None:
        return None
    kind = blob[:1]
    if kind == FULL:
        return 0, 0, len(blob) - 1
    if kind == DELTA and len(blob) >= _DELTA_START:
        _, _, chain_len, chain_bytes, snap_bytes = _DELTA_HEAD.unpack_from(blob, 1)
        return chain_len, chain_bytes, snap_bytes
    return None


def _delta_blob(
    serde: Serializer,
    channel: str,
    value: list[Any],
    hint: list[int],
    base_chain: GetChain,
    snapshot_every: int,
) -> bytes | None:
    """A delta blob for an append, or None when a full snapshot is due (or no base)."""
    base_version, base_len = int(hint[0]), int(hint[1])
    if base_len > len(value) or base_len < 0:
        return None
    found = base_chain(channel, base_version)
    if found is None:  # no base, an empty one, or a corrupt one: start a fresh chain
        return None
    chain_len, chain_bytes, snap_bytes = found
    payload = dumps(serde, value[base_len:], lambda: f"channel {channel!r}")
    chain_len += 1
    chain_bytes += len(payload)
    if chain_bytes > snap_bytes or (chain_len > snapshot_every and 2 * chain_bytes > snap_bytes):
        return None
    head = _DELTA_HEAD.pack(base_version, base_len, chain_len, chain_bytes, snap_bytes)
    return DELTA + head + payload


def blob_info(blob: bytes) -> DeltaInfo | None:
    """The header of a blob (zeros for a full one); None if it is not a blob at all."""
    kind = blob[:1]
    if kind == DELTA and len(blob) >= _DELTA_START:
        return DeltaInfo(*_DELTA_HEAD.unpack_from(blob, 1))
    if kind in (FULL, EMPTY):
        return DeltaInfo(0, 0, 0, 0, 0)
    return None


def read_values(
    serde: Serializer,
    versions: Mapping[str, int],
    get_blob: GetBlob,
    where: str,
    lists: ListCache | None = None,
    scope: tuple[str, str] = ("", ""),
    shared: SharedReads | None = None,
) -> dict[str, Any]:
    """The value of every channel in ``versions`` that has one, deltas reassembled.

    With ``lists`` (the saver's :class:`ListCache`, ``scope`` = (thread, namespace)),
    an append chain is joined as msgpack bytes and decoded once, and the joined bytes
    are kept so that the next read of the channel decodes its newest delta's bytes
    onto them instead of walking the chain again. With ``shared`` (one per listing),
    an older version of a list read in the same listing is a slice of the newer one.
    """
    values: dict[str, Any] = {}
    atomic = _atomic_values
    for channel, version in versions.items():
        blob = get_blob(channel, version)
        if blob is None:
            raise _corrupt(where, channel, version, _MISSING_BLOB)
        if len(blob) <= _SMALL_BLOB and type(blob) is bytes:
            value = atomic.get(blob, MISSING)  # one atomic value read before (a full blob)
            if value is not MISSING:
                values[channel] = value
                continue
        kind = blob[:1]
        if kind == FULL:
            if len(blob) <= _SMALL_BLOB:
                values[channel] = _small_value(serde, blob, where, channel, version)
                continue
            value = MISSING
            if lists is not None and shared is not None:
                value = lists.read_earlier(serde, (*scope, channel), version, blob, shared)
            if value is MISSING:
                value = _load(serde, blob, 1, where, channel, version)
            values[channel] = value
        elif kind == DELTA:
            value = MISSING
            if lists is not None:
                value = lists.read(serde, (*scope, channel), version, blob, get_blob, where, shared)
            if value is MISSING:
                value = read_channel(serde, channel, version, get_blob, where, blob)
            values[channel] = value
        elif kind != EMPTY:
            raise _corrupt(where, channel, version, "the value blob is corrupt or foreign")
    return values


_SMALL_BLOB = 64
"""Full blobs up to this size may hold one atomic value: see :func:`_small_value`."""
_ATOMIC_LEADS = frozenset(
    (
        *range(0x00, 0x80),  # positive fixint
        *range(0xA0, 0xC1),  # fixstr, nil
        *(0xC2, 0xC3),  # false, true
        *range(0xCA, 0xD4),  # float 32/64, uint and int 8-64
        *(0xD9, 0xDA, 0xDB),  # str 8/16/32
        *range(0xE0, 0x100),  # negative fixint
    )
)
"""First bytes of a msgpack value that is nil, a bool, an int, a float or a str: one
atomic value, with no extension that a serializer's registry could decode otherwise."""
_atomic_values: dict[bytes, Any] = {}
"""Small full blobs (one atomic value, unencrypted) -> their value, shared by every read."""
_ATOMIC_VALUES_MAX = 4096


def _small_value(serde: Serializer, blob: bytes, where: str, channel: str, version: int) -> Any:
    """The value of a small full blob that ``read_values`` has not met as one atomic
    value, remembered when it is one: a wide state (hundreds of counters and flags) is
    then read as dict lookups, where each channel was a decode of its own. Equal bytes
    are the same value under any serializer (the blob holds no extension and no
    cipher), so sharing is safe across threads, savers and deletes, and an immutable
    value is never mutated by a caller."""
    value = _load(serde, blob, 1, where, channel, version)
    if type(blob) is bytes and blob[1:3] == PLAIN_HEADER and blob[3] in _ATOMIC_LEADS:
        if len(_atomic_values) >= _ATOMIC_VALUES_MAX:
            _atomic_values.clear()
        _atomic_values[blob] = value
    return value


def read_channel(
    serde: Serializer,
    channel: str,
    version: int,
    get_blob: GetBlob,
    where: str,
    blob: bytes | None = None,
) -> Any:
    """One channel's value at ``version`` (``MISSING`` if it has none), blob by blob.

    A full blob is one decode; a delta chain is walked with bare header unpacking,
    then decoded base first and extended suffix by suffix. ``blob`` is the one at
    ``version`` when the caller has already read it.
    """
    if blob is None:
        blob = get_blob(channel, version)
    if blob is None:
        raise _corrupt(where, channel, version, _MISSING_BLOB)
    kind = blob[:1]
    if kind == FULL:
        return _load(serde, blob, 1, where, channel, version)
    if kind == EMPTY:
        return MISSING
    deltas: list[tuple[int, bytes]] = []  # (base_len, delta blob), newest first
    current = version
    while kind == DELTA:
        if len(blob) < _DELTA_START:
            raise _corrupt(where, channel, current, "the value blob is corrupt or foreign")
        base_version, base_len = _BASE.unpack_from(blob, 1)
        if base_version >= current:
            raise _corrupt(where, channel, current, "the delta chain does not go back in time")
        deltas.append((base_len, blob))
        current = base_version
        blob = get_blob(channel, current)
        if blob is None:
            raise _corrupt(where, channel, current, _MISSING_BLOB)
        kind = blob[:1]
    if kind != FULL:
        what = (
            "a delta extends a blob with no value"
            if kind == EMPTY
            else "the value blob is corrupt or foreign"
        )
        raise _corrupt(where, channel, current, what)
    value = _load(serde, blob, 1, where, channel, current)
    if type(value) is not list:
        raise _corrupt(where, channel, current, "a delta extends a value that is not a list")
    for base_len, delta in reversed(deltas):
        del value[base_len:]
        value.extend(_load(serde, delta, _DELTA_START, where, channel, version))
    return value


_MISSING_BLOB = "the value blob is missing (it was never stored by put(), or was deleted)"
_BASE = struct.Struct(">QQ")
_CHAIN = struct.Struct(">QQQ")  # chain_len, chain_bytes, snap_bytes (after base_version, base_len)
_ARRAY32 = struct.Struct(">BI")
_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")

Chain = tuple[int, int, int]
"""(chain_len, chain_bytes, snap_bytes) of a blob, as in its header; (0, 0, len - 1) for a full one."""


def _elements(serde: Serializer, data: memoryview) -> tuple[int, memoryview] | None:
    """(count, element bytes) of serde bytes holding a plain msgpack list; else None."""
    body = serde.plain_body(data)
    if body is None or not body:
        return None
    head = body[0]
    if 0x90 <= head <= 0x9F:
        return head & 0x0F, body[1:]
    if head == 0xDC and len(body) >= 3:
        return _U16.unpack_from(body, 1)[0], body[3:]
    if head == 0xDD and len(body) >= 5:
        return _U32.unpack_from(body, 1)[0], body[5:]
    return None


_Step = tuple[int, int, Chain, int, memoryview, int]
"""A delta blob read: base_version, base_len, chain, count added, element bytes, payload size."""


class SharedReads:
    """The list values one listing (``list()``, a history) has decoded, by cache key.

    A listing reads a thread's checkpoints newest first; where an older checkpoint's
    list is one the newer only appended to (:class:`ListCache` knows which), it is a
    slice of the decoded newer list, so each element is decoded once per listing. The
    snapshots of one listing then share element objects; each gets its own list.
    """

    __slots__ = ("lists",)

    def __init__(self) -> None:
        self.lists: dict[tuple[str, str, str], tuple[_Joined, list[Any]]] = {}
        """Cache key -> (the cached chain, its list as decoded in this listing: a
        private copy). A chain only grows at its end, so its prefixes stay valid."""


@dataclass(slots=True)
class _Mark:
    """A version of a list that a joined chain passes through."""

    count: int
    """Elements of the list at this version."""
    end: int
    """Where its elements end in the joined ``buf``."""
    head: tuple[int, int, Chain] | None
    """(base_version, base_len, chain) of its delta blob; None for the full base blob."""


@dataclass(slots=True)
class _Joined:
    """A list value as one msgpack array: ``buf`` = array32 header + element bytes."""

    version: int
    """The channel version this value is."""
    count: int
    """Elements in the list."""
    buf: bytearray
    """``dd`` + u32 count + the elements' msgpack bytes: decodable as is."""
    chain: Chain
    """The header numbers of the blob at ``version`` (to recognise the chain it ends)."""
    marks: dict[int, _Mark]
    """Every version the chain passes through, from its full base blob to ``version``:
    each is a prefix of the newest (deltas that do not start at the end are refused)."""
    reads: int = 0
    """Reads served from this entry (the first decodes for its caller only)."""
    decoded: list[Any] = field(default_factory=list)
    """The first elements, decoded once and never handed out: reads get copies."""
    copiers: list[Cloner] = field(default_factory=list)
    """What copies each element of ``decoded`` (``_model_codec.copier_of``)."""
    decoded_end: int = _ARRAY32.size
    """Where the elements of ``decoded`` end in ``buf``."""
    index: HistoryIndex | None = None
    """When ``decoded`` is a history of messages ``add_messages`` keeps as they are, its
    id index (``_message_index.grow``), handed out with each copy."""


CHECK_SHARED_ENV = "GRAPHKIT_CHECK_SHARED_READS"
"""Set to ``1`` to check shared reads (``copy_on_read=False``) for changes in place."""


def _copies(copiers: list[Cloner], elements: list[Any]) -> list[Any]:
    """Fresh copies of ``elements`` (a long list with the collector paused: see
    ``graphkit._gc``)."""
    return _gc.call(len(elements) >= _gc.PAUSE_AT, _copy_each, copiers, elements)


def _copy_each(copiers: list[Cloner], elements: list[Any]) -> list[Any]:
    return [copy(x) for copy, x in zip(copiers, elements, strict=True)]


class ListCache:
    """Append chains joined as msgpack bytes: the newest read version per channel.

    Keyed by (thread, namespace, channel); least recently used entries are dropped past
    ``max_bytes``. A channel read again (the next turn of a conversation, repeated
    ``get_state``) also keeps its elements decoded, privately, up to ``max_decoded``
    elements in all: a read decodes only the elements appended since and hands out a
    deep copy of the list (``_model_codec.copy_value``: fresh messages and containers,
    about half the cost of decoding). Callers own what they get either way: mutating
    it never reaches the cache or a later read. With ``copy_on_read=False`` a read hands
    out the kept elements themselves in a list of its own (O(appended) at any length):
    callers then share them with later reads and must not change them in place
    (``GRAPHKIT_CHECK_SHARED_READS=1`` makes each read compare the kept elements with
    their stored bytes and raise :class:`SharedReadChangedError`: O(history), for tests).
    An entry is used only when the blob just read continues it exactly: its base version, base length and chain numbers
    agree, and a hit on the same version must end with the same bytes. A version the
    chain passed through (a fork or replay from the middle of a thread) is read as a
    prefix of the entry when its blob's bytes are the ones the chain holds there; the
    entry keeps its newest version. Savers drop a thread's entries when they delete,
    copy over or prune it.

    Thread-safe (one lock; decoding happens under it, as the GIL would serialize it anyway).
    """

    def __init__(
        self, max_bytes: int = 64 << 20, max_decoded: int = 100_000, *, copy_on_read: bool = True
    ) -> None:
        self.max_bytes = max_bytes
        self.max_decoded = max_decoded
        """Decoded elements kept in all entries together (a 10k-message thread: 10k; a
        short chat message takes about 1 KB decoded); 0 keeps none."""
        self.copy_on_read = copy_on_read
        """False: reads share the kept elements instead of copying them (see the class)."""
        self.check_shared = not copy_on_read and os.environ.get(CHECK_SHARED_ENV, "") == "1"
        """Reads check that shared elements still equal what is stored (slow: for tests)."""
        self._entries: OrderedDict[tuple[str, str, str], _Joined] = OrderedDict()
        self._size = 0
        self._decoded = 0
        self._lock = threading.RLock()

    def read(
        self,
        serde: Serializer,
        key: tuple[str, str, str],
        version: int,
        blob: bytes,
        get_blob: GetBlob,
        where: str,
        shared: SharedReads | None = None,
    ) -> Any:
        """The list at ``version`` (``blob``: its delta), or ``MISSING`` to read blob by blob.

        ``shared``: the listing this read is part of (see :class:`SharedReads`).
        """
        with self._lock:
            if shared is not None:
                value = self._earlier(serde, key, version, blob, shared)
                if value is not MISSING:
                    return value
            value = self._passed_through(serde, key, version, blob)
            if value is not MISSING:
                return value
            joined = self._join(serde, key, version, blob, get_blob, where)
            if joined is None:
                return MISSING
            joined.reads += 1
            if self.max_decoded and (joined.reads > 1 or not self.copy_on_read):
                value = self._copy(serde, key, joined)
            else:  # read once so far: decoded for the caller alone
                value = self._decode(serde, key, joined.buf, 0, joined.count)
            if value is MISSING:
                return MISSING  # the caller's blob-by-blob read names the bad blob
            if shared is not None:
                shared.lists[key] = (joined, list(value))
            return value

    def read_earlier(
        self,
        serde: Serializer,
        key: tuple[str, str, str],
        version: int,
        blob: bytes,
        shared: SharedReads,
    ) -> Any:
        """The list at ``version`` (``blob``: a full blob) as a slice of one that the
        listing ``shared`` decoded already, or ``MISSING``."""
        with self._lock:
            return self._earlier(serde, key, version, blob, shared)

    def _earlier(
        self,
        serde: Serializer,
        key: tuple[str, str, str],
        version: int,
        blob: bytes,
        shared: SharedReads,
    ) -> Any:
        """``version``'s list as a slice of the listing's decoded list of the same chain,
        when the cached chain passes through ``version`` with exactly these bytes."""
        found = shared.lists.get(key)
        entry = self._entries.get(key)
        if found is None or entry is None or found[0] is not entry:
            return MISSING
        decoded = found[1]
        mark = self._passed(serde, entry, version, blob)
        if mark is None or mark.count > len(decoded):
            return MISSING
        return decoded[: mark.count]

    def _passed(self, serde: Serializer, entry: _Joined, version: int, blob: bytes) -> _Mark | None:
        """The mark of ``version`` when the cached chain passes through it with exactly
        the bytes of ``blob`` (its blob), else None."""
        mark = entry.marks.get(version)
        if mark is None:
            return None
        if mark.head is None:  # the full base blob: the same elements, byte for byte
            full = _elements(serde, memoryview(blob)[1:])
            start = _ARRAY32.size  # after the array32 header of buf
            if full is None or full[0] != mark.count or entry.buf[start : mark.end] != full[1]:
                return None
        else:
            step = self._delta(serde, blob)
            if step is None or (step[0], step[1], step[2]) != mark.head:
                return None
            elements = step[4]
            if entry.buf[mark.end - len(elements) : mark.end] != elements:
                return None
        return mark

    def _passed_through(
        self, serde: Serializer, key: tuple[str, str, str], version: int, blob: bytes
    ) -> Any:
        """The list at an earlier ``version`` of the cached chain (a fork or a replay
        from a checkpoint in the middle of the thread: each run forked from it reads
        it again), as a prefix of the entry's elements, or ``MISSING``. The entry is
        left as it is, newest version and all."""
        entry = self._entries.get(key)
        if entry is None or entry.version == version:
            return MISSING
        mark = self._passed(serde, entry, version, blob)
        if mark is None:
            return MISSING
        self._entries.move_to_end(key)
        entry.reads += 1
        if entry.reads > 1 and self.max_decoded:
            return self._copy(serde, key, entry, mark.count)
        return self._decode(serde, key, entry.buf[: mark.end], _ARRAY32.size, mark.count)

    def wrote(
        self, serde: Serializer, key: tuple[str, str, str], version: int, blob: bytes
    ) -> None:
        """A put stored ``blob`` at ``version``: extend the cached chain if it continues it."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return
            if blob[:1] == DELTA:
                step = self._delta(serde, blob)
                if step is not None and self._continues(entry, step):
                    self._extend(key, entry, version, step)
                    return
            if entry.version == version:
                self._discard(key)

    def drop_thread(self, thread_id: str) -> None:
        """Forget every entry of one thread."""
        with self._lock:
            for key in [k for k in self._entries if k[0] == thread_id]:
                self._discard(key)

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._entries.clear()
            self._size = 0
            self._decoded = 0

    # ------------------------------------------------------------ internals
    def _decode(
        self, serde: Serializer, key: tuple[str, str, str], buf: bytearray, start: int, count: int
    ) -> Any:
        """The ``count`` elements in ``buf`` from ``start`` (0: ``buf`` is the whole array
        with its header) as a list; ``MISSING`` (and the entry dropped) if they do not decode."""
        body = buf if start == 0 else _ARRAY32.pack(0xDD, count) + buf[start:]
        try:
            value = _gc.call(count >= _gc.PAUSE_AT, serde.loads_body, body)
        except SerdeError:
            value = None
        if type(value) is not list or len(value) != count:
            self._discard(key)
            return MISSING
        return value

    def _copy(
        self, serde: Serializer, key: tuple[str, str, str], joined: _Joined, count: int = -1
    ) -> Any:
        """A copy of the entry's list (or of its first ``count`` elements: an earlier
        version): its decoded elements caught up with what was appended since (decoded
        once, kept), copied element by element."""
        decoded = joined.decoded
        if self.check_shared and decoded:
            self._check_unchanged(serde, key, joined)
        missing = joined.count - len(decoded)
        if missing:
            added = self._decode(serde, key, joined.buf, joined.decoded_end, missing)
            if added is MISSING:
                return MISSING
            if len(decoded) + missing > self.max_decoded:  # too long to keep: hand it over
                if decoded:
                    added = [*self._handed_out(key, joined.copiers, decoded), *added]
                    self._forget_decoded(joined)
                return added if count < 0 else added[:count]
            start = len(decoded)
            decoded += added
            joined.copiers += map(copier_of, added)
            joined.decoded_end = len(joined.buf)
            joined.index = _message_index.grow(joined.index, decoded, start)
            self._decoded += missing
            self._evict_decoded(joined)
        if count < 0:
            value = self._handed_out(key, joined.copiers, decoded)
        else:
            value = self._handed_out(key, joined.copiers[:count], decoded[:count])
        if joined.index is not None:
            _message_index.remember(value, joined.index)
        return value

    def _check_unchanged(
        self, serde: Serializer, key: tuple[str, str, str], joined: _Joined
    ) -> None:
        """Raise if a kept element no longer equals its stored bytes (changed in place),
        and forget the entry."""
        kept_bytes = joined.buf[: joined.decoded_end]
        stored = self._decode(serde, key, kept_bytes, _ARRAY32.size, len(joined.decoded))
        if stored is MISSING:
            return
        for position, (kept, fresh) in enumerate(zip(joined.decoded, stored, strict=True)):
            if kept != fresh:  # dropped: the next read decodes what is stored
                self._discard(key)
                thread, ns, channel = key
                raise SharedReadChangedError(
                    f"element {position} of {channel!r} in thread {thread!r}"
                    f"{f' (namespace {ns!r})' if ns else ''} was changed in place after a read "
                    f"(id {getattr(kept, 'id', None)!r}): this saver shares what it reads "
                    "(copy_on_read=False). Return a new message with the same id to replace "
                    "one, or make the saver with copy_on_read=True."
                )

    def _handed_out(
        self, key: tuple[str, str, str], copiers: list[Cloner], elements: list[Any]
    ) -> list[Any]:
        """What a read gets of kept ``elements``: copies, or the elements themselves in a
        new list (``copy_on_read=False``, or a read ``reads_converted`` names the channel
        of; with ``own``, objects sharing their fields: ``_model_codec.shells``)."""
        if not self.copy_on_read:
            return elements[:]
        channels, own = converted_reads()
        if key[2] not in channels:
            return _copies(copiers, elements)
        return _gc.call(len(elements) >= _gc.PAUSE_AT, shells, elements) if own else elements[:]

    def _forget_decoded(self, entry: _Joined) -> None:
        self._decoded -= len(entry.decoded)
        entry.decoded = []
        entry.copiers = []
        entry.index = None
        entry.decoded_end = _ARRAY32.size

    def _evict_decoded(self, keep: _Joined) -> None:
        """Drop the decoded elements of least recently used entries past ``max_decoded``."""
        for entry in self._entries.values():
            if self._decoded <= self.max_decoded:
                return
            if entry is not keep and entry.decoded:
                self._forget_decoded(entry)

    @staticmethod
    def _delta(serde: Serializer, blob: bytes) -> _Step | None:
        """What a delta blob holds, or None if it is not a plain delta of a list."""
        if len(blob) < _DELTA_START:
            return None
        base_version, base_len = _BASE.unpack_from(blob, 1)
        chain = _CHAIN.unpack_from(blob, 1 + _BASE.size)
        found = _elements(serde, memoryview(blob)[_DELTA_START:])
        if found is None:
            return None
        return base_version, base_len, chain, found[0], found[1], len(blob) - _DELTA_START

    @staticmethod
    def _continues(entry: _Joined, step: _Step) -> bool:
        """True if the delta ``step`` was written on top of exactly ``entry``."""
        base_version, base_len, (chain_len, chain_bytes, snap_bytes), _, _, payload = step
        return (
            entry.version == base_version
            and entry.count == base_len
            and entry.chain == (chain_len - 1, chain_bytes - payload, snap_bytes)
        )

    def _join(
        self,
        serde: Serializer,
        key: tuple[str, str, str],
        version: int,
        blob: bytes,
        get_blob: GetBlob,
        where: str,
    ) -> _Joined | None:
        """The joined value at ``version``, from the cache and the chain's newest blobs."""
        entry = self._entries.get(key)
        step = self._delta(serde, blob)
        if step is None:
            return None
        if entry is not None:
            self._entries.move_to_end(key)
            if entry.version == version:
                elements = step[4]
                if entry.chain == step[2] and entry.buf.endswith(elements.tobytes()):
                    return entry
                entry = None
        steps = [(version, step)]  # newest first
        base: _Joined | None = None
        while True:
            base_version = step[0]
            if base_version >= steps[-1][0]:
                return None  # corrupt: let the blob-by-blob read say so
            if entry is not None and self._continues(entry, step):
                base = entry
                break
            older = get_blob(key[2], base_version)
            if older is None:
                return None
            if older[:1] == FULL:
                found = _elements(serde, memoryview(older)[1:])
                if found is None:
                    return None
                count, elements = found
                buf = bytearray(_ARRAY32.pack(0xDD, count))
                buf += elements
                base = _Joined(
                    base_version,
                    count,
                    buf,
                    (0, 0, len(older) - 1),
                    {base_version: _Mark(count, len(buf), None)},
                )
                if base.count != step[1]:
                    return None
                break
            older_step = self._delta(serde, older)
            if older_step is None:
                return None
            step = older_step
            steps.append((base_version, step))
        # Every delta must start where the previous one ended (no truncating deltas).
        count = base.count
        for _, (_, base_len, _, added, _, _) in reversed(steps):
            if base_len != count:
                return None
            count += added
        if base is not entry:
            self._store(key, base)
        for at, delta in reversed(steps):
            self._extend(key, base, at, delta)
        return base

    def _extend(
        self,
        key: tuple[str, str, str],
        entry: _Joined,
        version: int,
        step: _Step,
    ) -> None:
        entry.buf += step[4]
        entry.count += step[3]
        _ARRAY32.pack_into(entry.buf, 0, 0xDD, entry.count)
        entry.version = version
        entry.chain = step[2]
        entry.marks[version] = _Mark(entry.count, len(entry.buf), (step[0], step[1], step[2]))
        self._size += len(step[4])
        self._evict()

    def _store(self, key: tuple[str, str, str], entry: _Joined) -> None:
        self._discard(key)
        self._entries[key] = entry
        self._size += len(entry.buf)
        self._evict()

    def _discard(self, key: tuple[str, str, str]) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._size -= len(entry.buf)
            self._forget_decoded(entry)

    def _evict(self) -> None:
        while self._size > self.max_bytes and len(self._entries) > 1:
            _, entry = self._entries.popitem(last=False)
            self._size -= len(entry.buf)
            self._forget_decoded(entry)


def chain_versions(channel: str, version: int, get_blob: GetBlob, where: str) -> list[int]:
    """Every version a read of ``version`` touches (itself and its delta bases)."""
    found = [version]
    for blob in _chain(channel, version, get_blob, where):
        if blob[:1] == DELTA:
            info = blob_info(blob)
            assert info is not None
            found.append(info.base_version)
    return found


def _chain(channel: str, version: int, get_blob: GetBlob, where: str) -> Iterator[bytes]:
    """The blob at ``version``, then the bases it extends, down to a full one."""
    current = version
    while True:
        blob = get_blob(channel, current)
        if blob is None:
            raise _corrupt(where, channel, current, _MISSING_BLOB)
        info = blob_info(blob)
        if info is None:
            raise _corrupt(where, channel, current, "the value blob is corrupt or foreign")
        yield blob
        if blob[:1] != DELTA:
            return
        if info.base_version >= current:
            raise _corrupt(where, channel, current, "the delta chain does not go back in time")
        current = info.base_version


def _load(
    serde: Serializer, blob: bytes, start: int, where: str, channel: str, version: int
) -> Any:
    try:
        # (a blob this large is a long list, most likely: see graphkit._gc)
        return _gc.call(len(blob) >= _gc.PAUSE_BYTES, serde.loads, memoryview(blob)[start:])
    except SerdeError as exc:
        raise CheckpointCorruptError(
            f"{where}, channel {channel!r} version {version}: {exc}"
        ) from None


def _corrupt(where: str, channel: str, version: int, what: str) -> CheckpointCorruptError:
    return CheckpointCorruptError(f"{where}, channel {channel!r} version {version}: {what}")


def encode_write(serde: Serializer, task_id: str, channel: str, value: Any) -> bytes:
    """One pending write as bytes."""
    return dumps(
        serde, [channel, value], lambda: f"write to channel {channel!r} by task {task_id!r}"
    )


def decode_write(serde: Serializer, data: bytes, where: str) -> tuple[str, Any]:
    """(channel, value) of one pending write."""
    try:
        channel, value = serde.loads(data, where=f"{where}, pending write")
    except (SerdeError, ValueError, TypeError) as exc:
        raise CheckpointCorruptError(str(exc)) from None
    return channel, value


def decode_metadata(
    serde: Serializer, data: bytes, where: str, values: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Metadata bytes back to a dict; with the checkpoint's ``values``, ChannelRefs resolved."""
    try:
        found = serde.loads(data, where=f"{where}, metadata")
    except SerdeError as exc:
        raise CheckpointCorruptError(str(exc)) from None
    return _resolved_metadata(found, where, values)


def _resolved_metadata(found: Any, where: str, values: Mapping[str, Any] | None) -> dict[str, Any]:
    if not isinstance(found, dict):
        raise CheckpointCorruptError(f"{where}: the metadata is not a dict")
    writes = found.get("writes")
    if values is not None and type(writes) is dict:
        for update in writes.values():
            if type(update) is dict:
                for key, value in update.items():
                    if type(value) is ChannelRef:
                        update[key] = values.get(value.channel)
    return found


def matches(metadata: Mapping[str, Any], filter: Mapping[str, Any] | None) -> bool:
    """True when ``metadata`` has exactly each key/value of ``filter``."""
    if not filter:
        return True
    return all(metadata.get(k, MISSING) == v for k, v in filter.items())


def describe(thread_id: str, checkpoint_ns: str, checkpoint_id: str) -> str:
    """ "thread 't', checkpoint <id>" (with the namespace when there is one), for errors."""
    ns = f", namespace {checkpoint_ns!r}" if checkpoint_ns else ""
    return f"thread {thread_id!r}{ns}, checkpoint {checkpoint_id}"
