"""Savers written for LangGraph (``langgraph-checkpoint-sqlite``'s ``SqliteSaver``,
``langgraph-checkpoint-postgres``'s ``PostgresSaver``, LangGraph's own ``InMemorySaver``,
any object with their methods) as graphkit checkpointers.

``compile(checkpointer=saver)`` wraps such a saver (one with LangGraph's methods but not a
graphkit :class:`BaseCheckpointSaver`) in a :class:`ForeignSaver`, so a program can keep
the saver package it used with LangGraph. The foreign saver stores what it always
stores; graphkit encodes every channel value, pending write and its own run record with
graphkit's serializer first, so what that saver's serializer sees is bytes: nothing a
stored row holds can make graphkit import a module or run code, and graphkit's types
need no allowlist there. Checkpoints that LangGraph itself wrote into the same database
are recognized and refused with an error (graphkit cannot resume LangGraph's threads).
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

from graphkit.errors import InvalidCheckpointerError
from graphkit.stores.checkpoint.base import (
    BaseCheckpointSaver,
    Checkpoint,
    CheckpointCorruptError,
    CheckpointMetadata,
    CheckpointTuple,
    RunnableConfig,
)

__all__ = ["ForeignSaver", "is_foreign_saver", "wrap_foreign_saver"]

_MARK = "graphkit"
"""Key of a checkpoint written through a ``ForeignSaver``: the encoded run record."""

_SYNC = ("get_tuple", "list", "put", "put_writes")
_ASYNC = ("aget_tuple", "alist", "aput", "aput_writes")


def is_foreign_saver(saver: Any) -> bool:
    """True for an object with a saver's methods that is not a graphkit saver."""
    return not isinstance(saver, BaseCheckpointSaver) and (
        hasattr(saver, "get_tuple") or hasattr(saver, "aget_tuple")
    )


def wrap_foreign_saver(saver: Any) -> BaseCheckpointSaver:
    """``saver`` as a graphkit checkpointer: sync, async or both, as it implements."""
    sync = all(_implements(saver, name) for name in _SYNC)
    native = all(_implements(saver, name) for name in _ASYNC)
    if not sync and not native:
        raise InvalidCheckpointerError(
            f"{type(saver).__name__} lacks the methods a checkpointer needs (get_tuple, "
            "list, put and put_writes, or their async twins aget_tuple, alist, aput, "
            "aput_writes). Pass a checkpoint saver, e.g. InMemorySaver() or LMDBSaver(path)."
        )
    cls = ForeignSaver if sync and native else _SyncForeignSaver if sync else _AsyncForeignSaver
    return cls(saver)


def _implements(saver: Any, name: str) -> bool:
    """Whether ``saver``'s class implements ``name`` (LangGraph's base class only raises
    ``NotImplementedError`` for the methods a saver leaves out)."""
    for cls in type(saver).__mro__:
        if name in cls.__dict__:
            return not (
                cls.__name__ == "BaseCheckpointSaver"
                and cls.__module__.startswith("langgraph.checkpoint")
            )
    return False


class _ForeignBase(BaseCheckpointSaver):
    """What the sync and async adapters share: encoding on the way in, decoding and
    checking on the way out."""

    def __init__(self, inner: Any) -> None:
        super().__init__()
        self.inner = inner
        """The saver written for LangGraph."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.inner!r})"

    # -- the way in
    def _checkpoint_in(self, checkpoint: Checkpoint, new_versions: dict[str, int]) -> Any:
        dumps = self.serde.dumps
        values = checkpoint["channel_values"]
        stored = {k: dumps(values[k]) for k in new_versions if k in values}
        record = dumps({"frontier": checkpoint.get("frontier") or {}})
        return {
            "v": checkpoint["v"],
            "id": checkpoint["id"],
            "ts": checkpoint["ts"],
            "channel_values": stored,
            "channel_versions": dict(checkpoint["channel_versions"]),
            "versions_seen": {},
            "updated_channels": sorted(new_versions),
            _MARK: base64.b64encode(record).decode("ascii"),  # (JSON-safe for any saver)
        }

    def _writes_in(self, writes: Sequence[tuple[str, Any]]) -> list[tuple[str, bytes]]:
        return [(channel, self.serde.dumps(value)) for channel, value in writes]

    # -- the way out
    def _tuple_out(self, found: Any) -> CheckpointTuple | None:
        if found is None:
            return None
        stored = found.checkpoint
        mark = stored.get(_MARK) if isinstance(stored, dict) else None
        if not isinstance(mark, str):
            configurable = (found.config or {}).get("configurable", {})
            raise InvalidCheckpointerError(
                f"Thread {configurable.get('thread_id')!r} holds checkpoints that LangGraph "
                f"wrote into {type(self.inner).__name__}: graphkit reads only checkpoints it "
                "wrote. Start a new thread (or a new database) for graphkit's runs."
            )
        try:
            checkpoint, pending = self._decoded(stored, mark, found.pending_writes or ())
        except Exception as exc:  # whatever a damaged row holds: never a crash
            configurable = (found.config or {}).get("configurable", {})
            raise CheckpointCorruptError(
                f"Checkpoint {configurable.get('checkpoint_id')!r} of thread "
                f"{configurable.get('thread_id')!r} in {type(self.inner).__name__} cannot be "
                f"read ({type(exc).__name__}: {exc}). Time-travel to an earlier checkpoint, "
                "or delete the thread."
            ) from None
        metadata: CheckpointMetadata = dict(found.metadata or {})  # type: ignore[assignment]
        return CheckpointTuple(found.config, checkpoint, metadata, found.parent_config, pending)

    def _decoded(
        self, stored: dict[str, Any], mark: str, writes: Any
    ) -> tuple[Checkpoint, list[tuple[str, str, Any]]]:
        loads = self.serde.loads
        record = loads(base64.b64decode(mark, validate=True))
        checkpoint: Checkpoint = {
            "v": stored.get("v", 1),
            "id": str(stored["id"]),
            "ts": str(stored["ts"]),
            "channel_values": {str(k): loads(v) for k, v in stored["channel_values"].items()},
            "channel_versions": dict(stored["channel_versions"]),
            "frontier": dict(record["frontier"]),
            "channel_appends": {},
        }
        pending = [(str(task), str(ch), loads(v)) for task, ch, v in writes]
        return checkpoint, pending


class _SyncForeignSaver(_ForeignBase):
    """A LangGraph saver with sync methods (async runs call them in worker threads)."""

    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        """The foreign saver's checkpoint, decoded."""
        return self._tuple_out(self.inner.get_tuple(config))

    def list(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        """The foreign saver's checkpoints, decoded."""
        for found in self.inner.list(config, filter=filter, before=before, limit=limit):
            decoded = self._tuple_out(found)
            assert decoded is not None
            yield decoded

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: dict[str, int],
    ) -> RunnableConfig:
        """Store the encoded checkpoint through the foreign saver."""
        stored = self._checkpoint_in(checkpoint, new_versions)
        found: RunnableConfig = self.inner.put(config, stored, metadata, new_versions)
        return found

    def put_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str | int = "",
    ) -> None:
        """Store the encoded writes through the foreign saver."""
        self.inner.put_writes(config, self._writes_in(writes), task_id)

    def delete_thread(self, thread_id: str) -> None:
        """The foreign saver's ``delete_thread``."""
        self.inner.delete_thread(thread_id)


class _AsyncForeignSaver(_ForeignBase):
    """A LangGraph saver with only async methods (``AsyncSqliteSaver``...): it serves
    async runs (``ainvoke``, ``astream``, ``aget_state``...), awaited on the event loop."""

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        """The foreign saver's checkpoint, decoded."""
        return self._tuple_out(await self.inner.aget_tuple(config))

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        """The foreign saver's checkpoints, decoded."""
        async for found in self.inner.alist(config, filter=filter, before=before, limit=limit):
            decoded = self._tuple_out(found)
            assert decoded is not None
            yield decoded

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: dict[str, int],
    ) -> RunnableConfig:
        """Store the encoded checkpoint through the foreign saver."""
        stored = self._checkpoint_in(checkpoint, new_versions)
        found: RunnableConfig = await self.inner.aput(config, stored, metadata, new_versions)
        return found

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str | int = "",
    ) -> None:
        """Store the encoded writes through the foreign saver."""
        await self.inner.aput_writes(config, self._writes_in(writes), task_id)

    async def adelete_thread(self, thread_id: str) -> None:
        """The foreign saver's ``adelete_thread``."""
        await self.inner.adelete_thread(thread_id)


class ForeignSaver(_SyncForeignSaver, _AsyncForeignSaver):
    """A saver written for LangGraph, as a graphkit checkpointer (see the module).

    ``ForeignSaver(saver)`` serves sync and async runs; ``compile`` wraps a foreign
    saver by itself (with only the sync or only the async side when that is all the
    saver implements).
    """
