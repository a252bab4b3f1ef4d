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

import struct
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from stores.checkpoint import Checkpoint, CheckpointCorruptError
from stores.serde import SerdeError, Serializer

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


def check_versions(checkpoint: Checkpoint, new_versions: Mapping[str, int]) -> None:
    """ValueError if ``new_versions`` disagrees with the checkpoint or is not int."""
    versions = checkpoint["channel_versions"]
    for channel, version in new_versions.items():
        if type(version) is not int or version < 0:
            raise ValueError(
                f"channel {channel!r} has version {version!r}; checkpoint savers need "
                "non-negative int channel versions"
            )
        if versions.get(channel) != version:
            raise ValueError(
                f"new_versions[{channel!r}] = {version} but checkpoint channel_versions "
                f"says {versions.get(channel)!r}; they must agree"
            )
    for channel in checkpoint["channel_values"]:
        if channel not in versions:
            raise ValueError(
                f"channel {channel!r} has a value but no entry in channel_versions; "
                "every channel with a value needs a version"
            )


def encode_record(serde: Serializer, checkpoint: Checkpoint, parent_id: str | None) -> bytes:
    """The checkpoint without its values: [v, ts, channel_versions, frontier, parent_id]."""
    return serde.dumps(
        [
            checkpoint["v"],
            checkpoint["ts"],
            checkpoint["channel_versions"],
            checkpoint["frontier"],
            parent_id,
        ],
        where=f"the frontier of checkpoint {checkpoint['id']}",
    )


def decode_record(serde: Serializer, data: bytes, where: str) -> list[Any]:
    """[v, ts, channel_versions, frontier, parent_id] from :func:`encode_record` bytes."""
    try:
        record = serde.loads(data, where=where)
    except SerdeError as exc:
        raise CheckpointCorruptError(str(exc)) from None
    if not isinstance(record, list) or len(record) != 5:
        raise CheckpointCorruptError(f"{where}: the checkpoint record is malformed")
    return record


def encode_blobs(
    serde: Serializer,
    checkpoint: Checkpoint,
    new_versions: Mapping[str, int],
    base_blob: GetBlob,
    snapshot_every: int,
) -> list[tuple[str, int, bytes]]:
    """(channel, version, blob) for each channel in ``new_versions``.

    ``base_blob`` reads an earlier blob of the same thread and namespace; only the first
    bytes (the header) of append bases are looked at.
    """
    values = checkpoint["channel_values"]
    appends = checkpoint.get("channel_appends") or {}
    out: list[tuple[str, int, bytes]] = []
    for channel, version in new_versions.items():
        if channel not in values:
            out.append((channel, version, EMPTY))
            continue
        value = values[channel]
        hint = appends.get(channel)
        blob = None
        if hint is not None and type(value) is list:
            blob = _delta_blob(serde, channel, value, hint, base_blob, snapshot_every)
        if blob is None:
            blob = FULL + serde.dumps(value, where=f"channel {channel!r}")
        out.append((channel, version, blob))
    return out


def _delta_blob(
    serde: Serializer,
    channel: str,
    value: list[Any],
    hint: list[int],
    base_blob: GetBlob,
    snapshot_every: int,
) -> bytes | None:
    """A delta blob for an append, or None when a full snapshot is due (or no base)."""
    base_version, base_len = int(hint[0]), int(hint[1])
    if base_len > len(value) or base_len < 0:
        return None
    base = base_blob(channel, base_version)
    if base is None or base[:1] == EMPTY:
        return None
    info = blob_info(base)
    if info is None:  # corrupt base: start a fresh chain rather than extend it
        return None
    if base[:1] == FULL:
        chain_len, chain_bytes, snap_bytes = 0, 0, len(base) - 1
    else:
        chain_len, chain_bytes, snap_bytes = info.chain_len, info.chain_bytes, info.snap_bytes
    payload = serde.dumps(value[base_len:], where=f"channel {channel!r}")
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


_MISSING = object()


def read_values(
    serde: Serializer, versions: Mapping[str, int], get_blob: GetBlob, where: str
) -> dict[str, Any]:
    """The value of every channel in ``versions`` that has one, deltas reassembled."""
    values: dict[str, Any] = {}
    for channel, version in versions.items():
        value = read_channel(serde, channel, version, get_blob, where)
        if value is not _MISSING:
            values[channel] = value
    return values


def read_channel(
    serde: Serializer, channel: str, version: int, get_blob: GetBlob, where: str
) -> Any:
    """One channel's value at ``version`` (``_MISSING`` if it has none).

    Hot path of every read: a full blob is one decode; a delta chain is walked with
    bare header unpacking, then decoded base first and extended suffix by suffix.
    """
    blob = get_blob(channel, version)
    if blob is None:
        raise _corrupt(where, channel, version, _MISSING_BLOB)
    kind = blob[:1]
    if kind == FULL:
        return _load(serde, blob, 1, where, channel, version)
    if kind == EMPTY:
        return _MISSING
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
        what = "a delta extends a blob with no value" if kind == EMPTY else "the value blob is corrupt or foreign"
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
        return serde.loads(memoryview(blob)[start:])
    except SerdeError as exc:
        raise CheckpointCorruptError(
            f"{where}, channel {channel!r} version {version}: {exc}"
        ) from None


def _corrupt(where: str, channel: str, version: int, what: str) -> CheckpointCorruptError:
    return CheckpointCorruptError(f"{where}, channel {channel!r} version {version}: {what}")


def encode_write(serde: Serializer, task_id: str, channel: str, value: Any) -> bytes:
    """One pending write as bytes."""
    return serde.dumps(
        [channel, value], where=f"write to channel {channel!r} by task {task_id!r}"
    )


def decode_write(serde: Serializer, data: bytes, where: str) -> tuple[str, Any]:
    """(channel, value) of one pending write."""
    try:
        channel, value = serde.loads(data, where=f"{where}, pending write")
    except (SerdeError, ValueError, TypeError) as exc:
        raise CheckpointCorruptError(str(exc)) from None
    return channel, value


def decode_metadata(serde: Serializer, data: bytes, where: str) -> dict[str, Any]:
    """Metadata bytes back to a dict."""
    try:
        found = serde.loads(data, where=f"{where}, metadata")
    except SerdeError as exc:
        raise CheckpointCorruptError(str(exc)) from None
    if not isinstance(found, dict):
        raise CheckpointCorruptError(f"{where}: the metadata is not a dict")
    return found


def matches(metadata: Mapping[str, Any], filter: Mapping[str, Any] | None) -> bool:
    """True when ``metadata`` has exactly each key/value of ``filter``."""
    if not filter:
        return True
    return all(metadata.get(k, _MISSING) == v for k, v in filter.items())


def describe(thread_id: str, checkpoint_ns: str, checkpoint_id: str) -> str:
    """"thread 't', checkpoint <id>" (with the namespace when there is one), for errors."""
    ns = f", namespace {checkpoint_ns!r}" if checkpoint_ns else ""
    return f"thread {thread_id!r}{ns}, checkpoint {checkpoint_id}"
