"""InMemorySaver: checkpoints in process memory, for tests and short-lived runs.

Values are kept as serialized bytes (the same blobs and append deltas as LMDBSaver),
so a stored checkpoint never changes when the caller later mutates its values.
"""

from __future__ import annotations

import bisect
import builtins
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from graphkit.stores.checkpoint import _codec as codec
from graphkit.stores.checkpoint.base import (
    BaseCheckpointSaver,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    CheckpointWriter,
    RunnableConfig,
    ThreadSummary,
    checkpoint_id_bytes,
    checkpoint_id_of,
    checkpoint_of,
    make_config,
    named_checkpoint,
    names_namespace,
    summarize_threads,
    thread_of,
)
from graphkit.stores.serde import Serializer

__all__ = ["InMemorySaver", "MemorySaver"]


@dataclass(slots=True)
class _Namespace:
    """Everything stored for one (thread, namespace)."""

    ids: list[str] = field(default_factory=list)
    """Checkpoint ids, ascending."""
    checkpoints: dict[str, tuple[bytes, bytes]] = field(default_factory=dict)
    """id -> (record, metadata)."""
    blobs: dict[tuple[str, int], bytes] = field(default_factory=dict)
    """(channel, version) -> blob."""
    writes: dict[str, dict[str, tuple[int, list[bytes]]]] = field(default_factory=dict)
    """checkpoint id -> task_id -> (task_index, encoded writes)."""

    def copy(self) -> _Namespace:
        return _Namespace(
            list(self.ids),
            dict(self.checkpoints),
            dict(self.blobs),
            {cid: dict(tasks) for cid, tasks in self.writes.items()},
        )


class InMemorySaver(BaseCheckpointSaver):
    """A thread-safe saver that keeps everything in memory.

    ``copy_on_read=False`` makes reads of long message lists O(new messages) by sharing
    decoded messages between reads (see :mod:`graphkit.stores.checkpoint.base`: never change
    them in place then).

    >>> saver = InMemorySaver()
    >>> list(saver.list({"configurable": {"thread_id": "nothing yet"}}))
    []
    """

    waits_on_io = False

    def __init__(
        self,
        *,
        serde: Serializer | None = None,
        snapshot_every: int = codec.DEFAULT_SNAPSHOT_EVERY,
        copy_on_read: bool = True,
    ) -> None:
        super().__init__(serde=serde)
        self.snapshot_every = snapshot_every
        self._threads: dict[str, dict[str, _Namespace]] = {}
        self._lock = threading.RLock()
        self._lists = codec.ListCache(copy_on_read=copy_on_read)
        self.shares_reads = not copy_on_read

    def _ns(self, thread_id: str, checkpoint_ns: str) -> _Namespace | None:
        return self._threads.get(thread_id, {}).get(checkpoint_ns)

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: dict[str, int],
    ) -> RunnableConfig:
        thread_id, ns, parent_id = thread_of(config)
        checkpoint = codec.checked_checkpoint(checkpoint, new_versions)
        self._save(thread_id, ns, parent_id, checkpoint, metadata, new_versions)
        return make_config(thread_id, ns, checkpoint["id"])

    def writer(self, config: RunnableConfig) -> CheckpointWriter:
        if type(self).put is not InMemorySaver.put:  # a subclass's put must see every save
            return super().writer(config)
        thread_id, ns, _ = thread_of(config)
        return _Writer(self, thread_id, ns)

    def _save(
        self,
        thread_id: str,
        ns: str,
        parent_id: str | None,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: dict[str, int],
    ) -> None:
        """Store one checkpoint whose config was parsed and versions checked: ``put``'s
        work after its checks, and all a :class:`_Writer`'s ``put`` does."""
        record = codec.encode_record(self.serde, checkpoint, parent_id)
        meta = codec.encode_metadata(self.serde, metadata, checkpoint, new_versions)
        cid = checkpoint["id"]
        with self._lock:
            spaces = self._threads.get(thread_id)
            if spaces is None:
                spaces = self._threads[thread_id] = {}
            space = spaces.get(ns)
            if space is None:
                space = spaces[ns] = _Namespace()
            stored = space.blobs
            if parent_id is not None and parent_id not in space.checkpoints:
                # The parent is gone (the thread was deleted while a run on it went on):
                # store every value in full, so this checkpoint stands on its own.
                new_versions = checkpoint["channel_versions"]
                self._lists.drop_thread(thread_id)
            blobs = codec.encode_blobs(
                self.serde,
                checkpoint,
                new_versions,
                codec.no_blob
                if not checkpoint.get("channel_appends")
                else (lambda ch, v: stored.get((ch, v))),
                self.snapshot_every,
            )
            for channel, version, blob in blobs:
                stored[(channel, version)] = blob
                if blob[:1] == codec.DELTA:
                    self._lists.wrote(self.serde, (thread_id, ns, channel), version, blob)
            if cid not in space.checkpoints:
                if not space.ids or space.ids[-1] < cid:
                    space.ids.append(cid)
                else:
                    bisect.insort(space.ids, cid)
            space.checkpoints[cid] = (record, meta)

    def put_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str | int = "",
    ) -> None:
        thread_id, ns, cid = checkpoint_of(config)
        task_index = codec.task_index_of(task_path)
        encoded = [codec.encode_write(self.serde, task_id, ch, value) for ch, value in writes]
        with self._lock:
            space = self._threads.setdefault(thread_id, {}).setdefault(ns, _Namespace())
            space.writes.setdefault(cid, {})[task_id] = (task_index, encoded)

    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        thread_id, ns, cid = thread_of(config)
        with self._lock:
            space = self._ns(thread_id, ns)
            if space is None or not space.ids:
                return None
            if cid is None:
                cid = space.ids[-1]
            if cid not in space.checkpoints:
                return None
            return self._load(thread_id, ns, space, cid)

    def _load(
        self,
        thread_id: str,
        ns: str,
        space: _Namespace,
        cid: str,
        shared: codec.SharedReads | None = None,
    ) -> CheckpointTuple:
        """Decode one checkpoint (caller holds the lock)."""
        where = codec.describe(thread_id, ns, cid)
        record, meta = space.checkpoints[cid]
        record_fields = codec.decode_record(self.serde, record, where)
        versions = record_fields[2]
        blobs = space.blobs
        values = codec.read_values(
            self.serde,
            versions,
            lambda ch, ver: blobs.get((ch, ver)),
            where,
            self._lists,
            (thread_id, ns),
            shared,
        )
        pending: list[tuple[str, str, Any]] = []
        tasks = space.writes.get(cid, {})
        for task_id, (_, encoded) in sorted(tasks.items(), key=lambda kv: (kv[1][0], kv[0])):
            for data in encoded:
                channel, value = codec.decode_write(self.serde, data, where)
                pending.append((task_id, channel, value))
        metadata = codec.decode_metadata(self.serde, meta, where, values)
        return codec.checkpoint_tuple(
            thread_id, ns, cid, record_fields, versions, values, metadata, pending
        )

    def list(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        before_id = checkpoint_id_of(before)
        if config is not None and not names_namespace(config):
            thread_id, _, named = thread_of(config)
            with self._lock:
                spaces = sorted(self._threads.get(thread_id, {}))
            yield from self._every_namespace(thread_id, spaces, filter, before, limit, named)
            return
        if config is not None and checkpoint_id_of(config) is not None:
            yield from named_checkpoint(self, config, filter, before, limit)
            return
        with self._lock:
            if config is None:
                keys = sorted(
                    (
                        (cid, thread_id, ns)
                        for thread_id, spaces in self._threads.items()
                        for ns, space in spaces.items()
                        for cid in space.ids
                    ),
                    reverse=True,
                )
            else:
                thread_id, ns, _ = thread_of(config)
                space = self._ns(thread_id, ns)
                ids = space.ids if space else []
                end = bisect.bisect_left(ids, before_id) if before_id else len(ids)
                keys = [(cid, thread_id, ns) for cid in reversed(ids[:end])]
        remaining = limit
        shared = codec.SharedReads()  # older lists: slices of newer ones this listing read
        for cid, thread_id, ns in keys:
            if remaining is not None and remaining <= 0:
                return
            if before_id is not None and cid >= before_id:
                continue
            with self._lock:
                space = self._ns(thread_id, ns)
                if space is None or cid not in space.checkpoints:
                    continue
                if filter:
                    where = codec.describe(thread_id, ns, cid)
                    meta = codec.decode_metadata(self.serde, space.checkpoints[cid][1], where)
                    if not codec.matches(meta, filter):
                        continue
                item = self._load(thread_id, ns, space, cid, shared)
            if remaining is not None:
                remaining -= 1
            yield item

    def list_threads(self) -> builtins.list[ThreadSummary]:
        with self._lock:
            keys = [
                (thread_id, ns, checkpoint_id_bytes(cid))
                for thread_id, spaces in self._threads.items()
                for ns, space in spaces.items()
                for cid in space.ids
            ]
        return summarize_threads(keys)

    def delete_thread(self, thread_id: str) -> None:
        with self._lock:
            self._threads.pop(str(thread_id), None)
            self._lists.drop_thread(str(thread_id))

    def copy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        with self._lock:
            source = self._threads.get(str(source_thread_id), {})
            target = self._threads.setdefault(str(target_thread_id), {})
            self._lists.drop_thread(str(target_thread_id))
            for ns, space in source.items():
                if ns not in target:
                    target[ns] = space.copy()
                    continue
                merged = target[ns]
                merged.checkpoints.update(space.checkpoints)
                merged.blobs.update(space.blobs)
                for cid, tasks in space.writes.items():
                    merged.writes.setdefault(cid, {}).update(tasks)
                merged.ids = sorted(merged.checkpoints)

    def prune(
        self, thread_ids: Sequence[str], *, strategy: str = "keep_latest", keep_latest: int = 1
    ) -> None:
        keep_latest = codec.kept_by_prune(strategy, keep_latest)
        with self._lock:
            for thread_id in thread_ids:
                self._lists.drop_thread(str(thread_id))
                for ns, space in self._threads.get(str(thread_id), {}).items():
                    self._prune_space(str(thread_id), ns, space, keep_latest)

    def _prune_space(self, thread_id: str, ns: str, space: _Namespace, keep: int) -> None:
        cut = max(len(space.ids) - keep, 0)
        dropped, space.ids = space.ids[:cut], space.ids[cut:]
        for cid in dropped:
            space.checkpoints.pop(cid, None)
            space.writes.pop(cid, None)
        used: set[tuple[str, int]] = set()
        for cid in space.ids:
            where = codec.describe(thread_id, ns, cid)
            versions = codec.decode_record(self.serde, space.checkpoints[cid][0], where)[2]
            for channel, version in versions.items():
                for v in codec.chain_versions(
                    channel, version, lambda ch, ver: space.blobs.get((ch, ver)), where
                ):
                    used.add((channel, v))
        space.blobs = {key: blob for key, blob in space.blobs.items() if key in used}


MemorySaver = InMemorySaver
"""The name LangGraph uses."""


class _Writer(CheckpointWriter):
    """An :class:`InMemorySaver`'s writer: each ``put`` is ``put``'s work after its
    checks (the thread is parsed once; the runtime's versions are not checked)."""

    __slots__ = ("_memory", "_ns", "_thread_id")

    def __init__(self, saver: InMemorySaver, thread_id: str, ns: str) -> None:
        super().__init__(saver)
        self._memory = saver
        self._thread_id = thread_id
        self._ns = ns

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: dict[str, int],
    ) -> None:
        parent_id = config["configurable"].get("checkpoint_id")
        self._memory._save(self._thread_id, self._ns, parent_id, checkpoint, metadata, new_versions)
