"""Persistence of a run: load a thread's checkpoint, save each step, keep pending writes.

A checkpoint holds the channel values (stored by the saver once per version, and
for growing lists only the appended part), the channel versions, and the
frontier's record (see ``frontier.py``). Pending writes keep the results of tasks
that finished in a step that failed or paused, so resuming runs only what did not
finish.

The session never sees the run: it is handed what it saves as values and returns
what it restores as a ``Restored`` value, which the run applies. The state API
(``get_state``, history, ``update_state``) lives in ``state.py``.
"""

from __future__ import annotations

import asyncio
import operator
import time
from collections.abc import Container, Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

from graphkit import _message_index
from graphkit.constants import INTERRUPT, MISSING, START
from graphkit.engine.async_saves import AwaitedSaves, LoopSaver
from graphkit.engine.frontier import Frontier, next_names
from graphkit.engine.group_commit import GroupCommit, RunSaves, SaveItem, committer
from graphkit.engine.task import Task, Write, adopt_handler, handled_failure
from graphkit.errors import ConfigError, ResumeValidationError, UnknownInterruptError
from graphkit.stores._model_codec import IMMUTABLE
from graphkit.stores.checkpoint.base import (
    BaseCheckpointSaver,
    Checkpoint,
    CheckpointMetadata,
    CheckpointWriter,
    new_checkpoint_id,
    reads_converted,
    run_metadata,
    stands_for_put,
    thread_of,
    utc_timestamp,
)
from graphkit.types import Interrupt, RunnableConfig

ROUTES = "__routes__"
ERROR = "__error__"
RESUME = "__resume__"
CACHE = "__cache__"
SPECIAL = frozenset({ROUTES, ERROR, RESUME, INTERRUPT, CACHE})
"""Pending-write channels that are bookkeeping, not state writes."""
DURABILITY = ("sync", "async", "exit")
DEFAULT_DURABILITY = "async"
"""LangGraph's default: steps are saved by a background writer while the next one runs
(queued steps share one transaction); the run returns only when all are saved."""


@dataclass(slots=True)
class Restored:
    """What a checkpoint gives back to a run."""

    values: dict[str, Any]
    """Channel values (a private copy)."""
    step: int
    """The step the checkpoint was taken after."""
    frontier: Frontier
    """What runs next."""
    writes: dict[str, list[Write]]
    """Pending writes by task id: results of tasks that finished, errors, interrupts."""
    resumes: dict[str, list[Any]]
    """Resume values already given to each paused task, in order."""
    metadata: CheckpointMetadata
    """The checkpoint's metadata."""
    parent_id: str | None = None
    """The id of the checkpoint this one was saved after, if any."""
    saved: Saved | None = None
    """The checkpoint as ``checkpoints``/``debug`` streams report it (a resumed run
    reports where it starts from, as LangGraph)."""


class Stamp(NamedTuple):
    """The id and time a checkpoint held for ``durability="exit"`` was reported with."""

    id: str
    ts: str


@dataclass(slots=True)
class Saved:
    """A checkpoint just written: what ``checkpoints``/``debug`` streams report."""

    config: RunnableConfig
    parent_config: RunnableConfig
    metadata: CheckpointMetadata
    frontier: Any
    """The frontier's record, as saved."""
    ts: str

    @property
    def next(self) -> tuple[str, ...]:
        """The nodes of the next step (worked out only when a stream shows them)."""
        return next_names(self.frontier)


class CheckpointSession:
    """Checkpointing for one run: what was loaded, what changed, when to save."""

    def __init__(self, saver: BaseCheckpointSaver, config: RunnableConfig) -> None:
        configurable = config.get("configurable") or {}
        if not isinstance(configurable, dict):
            thread_of(config)  # raises, naming the malformed config
        if configurable.get("thread_id") in (None, ""):  # 0 is a thread id
            raise ConfigError(
                "This graph has a checkpointer, so each run needs a thread: pass "
                "config={'configurable': {'thread_id': 'some-id'}}."
            )
        self.thread_id, self.ns, _ = thread_of(config)
        self.saver = saver
        self.config: RunnableConfig = {"configurable": {**configurable, "checkpoint_ns": self.ns}}
        """The config of the checkpoint the next save comes after."""
        self.durability = config.get("durability") or DEFAULT_DURABILITY
        if self.durability not in DURABILITY:
            raise ConfigError(f"durability must be one of {DURABILITY}, got {self.durability!r}.")
        self.in_background = self.durability == "async" and saver.waits_on_io
        """Saves go to the saver's background committer (else they are made inline)."""
        self.inline = not saver.waits_on_io
        """Saves call the saver's writer at once, whatever the durability."""
        self.reader = saver
        """What loads read through: the saver, or its async methods (``await_saver``)."""
        self.awaited: AwaitedSaves | None = None
        """Set by an async run on a saver awaited natively (``await_saver``): saves and
        pending writes queue there, and the run awaits them on the event loop."""
        self.user_metadata = run_metadata(config.get("metadata"), configurable)
        self.loaded = False
        self.versions: dict[str, int] = {}
        self.saved_values: dict[str, Any] = {}
        """Each channel's value as of the last save (to spot what changed and what grew)."""
        self.parents: dict[str, str] = {}
        """A subgraph's: the checkpoint each enclosing graph's step runs from, by its
        namespace (checkpoint metadata's ``parents``, as LangGraph's)."""
        self.changed: set[str] = set()
        """Channels written since the last save (see ``mark_changed``)."""
        self.untracked: frozenset[str] = frozenset()
        """Channels never saved (``GraphTables.untracked``), set by the run."""
        self.last_version = 0
        self.interrupted: dict[str, list[Interrupt]] = {}
        self._unsaved: tuple[str, dict[str, Any], int, Any, Stamp | None] | None = None
        self.report_held = False
        """Set when the run streams ``checkpoints``/``debug``: saves return what they
        wrote (otherwise nothing: no one looks), and under ``durability="exit"`` each
        step's checkpoint is reported (with the id it will have if it is the one saved
        at exit), as LangGraph streams them."""
        self.deferred: list[SaveItem] = []
        """``durability="sync"`` saves an async run commits off the event loop before
        it goes on (see ``defer_sync`` and ``commit_deferred``)."""
        self.defer_sync = False
        """Set by an async run: sync saves wait in ``deferred`` instead of committing
        on the caller's thread (the event loop's)."""
        self._background: RunSaves | None = None
        self._group: GroupCommit | None = None
        """The saver's commit queue, once a synchronous save has needed it."""
        self._writer: CheckpointWriter | None = None
        """What inline saves go through (made at the first)."""
        self._held: SaveItem | None = None
        """A ``durability="sync"`` input checkpoint, committed together with the step-0
        checkpoint saved right after it (no node runs between the two): one transaction
        and one disk sync instead of two (see ``save(hold=True)``)."""

    def await_saver(self, loop: asyncio.AbstractEventLoop) -> None:
        """This (async) run's saver is awaited natively (``awaits_natively``): saves and
        pending writes queue in ``awaited`` for the run to await, and loads read through
        the saver's async methods on ``loop`` (the run loads in a worker thread)."""
        self.awaited = AwaitedSaves(self.saver, background=self.durability == "async")
        self.reader = LoopSaver(self.saver, loop)
        self.inline = self.in_background = False
        self.defer_sync = True  # (saves get their own dicts and are never held)

    # ---------------------------------------------------------------- load
    def load(
        self,
        *,
        known: Container[str],
        joins: int,
        before: str | None = None,
        converted: frozenset[str] = frozenset(),
    ) -> Restored | None:
        """The thread's latest checkpoint (or the one ``checkpoint_id`` names), if any.

        ``known`` and ``joins`` describe the graph: frontier entries of nodes it no
        longer has are dropped. ``before``: the newest checkpoint older than that
        checkpoint id (ids are time-ordered across namespaces). ``converted``: channels
        read as objects of the run's own that share the saver's kept messages
        (``GraphTables.converted_reads``).
        """
        if before is not None:
            older = self.reader.list(
                self._namespace_config(),
                before={"configurable": {"checkpoint_id": before}},
                limit=1,
            )
            found = next(iter(older), None)
        elif converted:
            with reads_converted(converted, own=True):
                found = self.reader.get_tuple(self.config)
        else:
            found = self.reader.get_tuple(self.config)
        if found is None:
            if self.config["configurable"].get("checkpoint_id"):
                raise ConfigError(
                    f"Thread {self.thread_id!r} has no checkpoint "
                    f"{self.config['configurable']['checkpoint_id']!r}."
                )
            return None
        self.loaded = True
        checkpoint = found.checkpoint
        self.config = found.config
        self.versions = dict(checkpoint["channel_versions"])
        self.last_version = max(self.versions.values(), default=0)
        values = dict(checkpoint["channel_values"])
        self.saved_values = dict(values)
        writes: dict[str, list[Write]] = {}
        resumes: dict[str, list[Any]] = {}
        for task_id, channel, value in found.pending_writes or ():
            writes.setdefault(task_id, []).append((channel, value))
            if channel == RESUME:
                resumes[task_id] = list(value)
        for task_id, task_writes in writes.items():
            channels = {c for c, _ in task_writes}
            if INTERRUPT in channels and ROUTES not in channels:  # still open
                self.interrupted[task_id] = [i for c, v in task_writes if c == INTERRUPT for i in v]
        frontier = Frontier.from_record(checkpoint.get("frontier"), known=known, joins=joins)
        _legacy_writes(frontier, found.metadata)
        return Restored(
            values=values,
            step=int(found.metadata.get("step", -1)),
            frontier=frontier,
            writes=writes,
            resumes=resumes,
            metadata=found.metadata,
            parent_id=(found.parent_config or {}).get("configurable", {}).get("checkpoint_id"),
            saved=Saved(
                config=found.config,
                parent_config=found.parent_config or {},
                metadata=found.metadata,
                frontier=checkpoint.get("frontier"),
                ts=checkpoint.get("ts", ""),
            ),
        )

    def _namespace_config(self) -> RunnableConfig:
        """The run's config without its ``checkpoint_id``: it names the thread and
        namespace (``list`` of a config naming a checkpoint lists that one alone)."""
        configurable = dict(self.config["configurable"])
        configurable.pop("checkpoint_id", None)
        return {"configurable": configurable}

    def at_latest(self) -> bool:
        """True when the loaded checkpoint is the newest of its thread and namespace."""
        latest = self.reader.get_tuple(self._namespace_config())
        return latest is None or latest.config["configurable"].get("checkpoint_id") == self.config[
            "configurable"
        ].get("checkpoint_id")

    def answers(self, value: Any) -> dict[str, Any]:
        """``Command(resume=value)`` as answers by interrupt id.

        ``value`` is either the answer to the one open interrupt, or a dict
        ``{interrupt_id: answer}``. With no interrupt open (a thread stopped by
        ``interrupt_before``/``interrupt_after``) there is nothing to answer.
        """
        open_ids = sorted(i.id for items in self.interrupted.values() for i in items)
        if value == {} and open_ids:
            raise UnknownInterruptError(
                f"Command(resume={{}}) names no interrupt: thread {self.thread_id!r} has "
                f"{len(open_ids)} open; pass Command(resume={{interrupt_id: value, ...}}) "
                f"with ids from {open_ids}.",
                reason="empty_map",
                interrupt_ids=(),
                pending_ids=tuple(open_ids),
            )
        if isinstance(value, dict) and value and all(isinstance(k, str) for k in value):
            unknown = tuple(k for k in value if k not in open_ids)
            if not unknown:
                return dict(value)
            if len(unknown) < len(value) or all(map(_looks_like_id, unknown)):
                raise UnknownInterruptError(
                    f"Command(resume={{...}}) names no interrupt open in thread "
                    f"{self.thread_id!r}: Unknown or already-consumed interrupt: "
                    f"{', '.join(unknown)}. Open ones: {open_ids}; take the ids from "
                    "get_state(config).interrupts.",
                    reason="not_pending",
                    interrupt_ids=unknown,
                    pending_ids=tuple(open_ids),
                )
        if not open_ids:
            return {}
        if len(open_ids) > 1:
            raise UnknownInterruptError(
                f"When there are multiple pending interrupts, you must specify the interrupt "
                f"id when resuming: thread {self.thread_id!r} has {len(open_ids)} open; pass "
                f"Command(resume={{interrupt_id: value, ...}}) with ids {open_ids}.",
                reason="ambiguous",
                pending_ids=tuple(open_ids),
            )
        return {open_ids[0]: value}

    # ---------------------------------------------------------------- save
    def mark_changed(self, keys: Iterable[str]) -> None:
        """Channels written since the last save (only they get new versions)."""
        self.changed.update(keys)

    def forget(self, keys: Iterable[str]) -> None:
        """Channels cleared since the last save: the next checkpoint has no value and
        no version for them."""
        for key in keys:
            self.versions.pop(key, None)
            self.saved_values.pop(key, None)
            self.changed.discard(key)

    def save(
        self,
        source: str,
        values: dict[str, Any],
        step: int,
        frontier: Frontier,
        *,
        hold: bool = False,
    ) -> list[Saved]:
        """Save the run's state as a new checkpoint (now, in background, or at exit).

        The metadata is LangGraph's (source, step, parents and the run's own): what the
        step wrote is in the channel values, and who wrote it in the frontier's record.
        Returns what was written when ``report_held`` is set (nothing yet when
        ``durability="exit"`` holds it back).
        ``hold``: the next save follows at once, with no node run between: a
        ``durability="sync"`` save waits to be committed with it (or at ``flush``).
        """
        if self.durability == "exit":
            return self._hold_until_exit(source, values, step, frontier.to_record())
        return self._put(source, values, step, frontier.to_record(), hold)

    def _hold_until_exit(
        self, source: str, values: dict[str, Any], step: int, record: Any
    ) -> list[Saved]:
        """Keep the latest state for the save at exit; report it now if asked, with the
        id and time it gets if it is the one saved (its parent: the last saved one)."""
        if not self.report_held:
            self._unsaved = (source, values, step, record, None)
            return []
        now = time.time_ns() // 1000
        stamp = Stamp(new_checkpoint_id(now), utc_timestamp(now))
        self._unsaved = (source, values, step, record, stamp)
        return [
            Saved(
                self._config_of(stamp.id),
                self.config,
                self._metadata(source, step),
                record,
                stamp.ts,
            )
        ]

    def _config_of(self, checkpoint_id: str) -> RunnableConfig:
        """The config naming checkpoint ``checkpoint_id`` of this run's thread."""
        return {
            "configurable": {
                "thread_id": self.thread_id,
                "checkpoint_ns": self.ns,
                "checkpoint_id": checkpoint_id,
            }
        }

    def _metadata(self, source: str, step: int) -> CheckpointMetadata:
        user = self.user_metadata
        parents = {**self.parents} if self.parents else {}
        if not user:  # (the common case, without the unpacking)
            plain: Any = {"source": source, "step": step, "parents": parents}
            return plain
        # LangGraph's order: its own keys, then the config's (which cannot replace them)
        metadata: Any = {"source": source, "step": step, "parents": parents}
        for key, value in user.items():
            metadata.setdefault(key, value)
        return metadata

    def _put(
        self,
        source: str,
        values: dict[str, Any],
        step: int,
        frontier: Any,
        hold: bool = False,
        stamp: Stamp | None = None,
    ) -> list[Saved]:
        """Save a checkpoint of ``values``; what was written, if ``report_held``."""
        saver = self.saver
        if self.inline:  # nothing to wait for or share: save inline, whatever
            # the durability (the writer is done with these dicts before the run goes on)
            checkpoint, new_versions = self._checkpoint(values, frontier, False, stamp)
            metadata = self._metadata(source, step)
            parent = self.config
            new_config = self.config = self._config_of(checkpoint["id"])
            if self.interrupted:
                self.interrupted = {}
            writer = self._writer
            if writer is None:  # (a subclass's own put is called: see stands_for_put)
                fast = stands_for_put(saver, "writer")
                writer = self._writer = saver.writer(parent) if fast else CheckpointWriter(saver)
            writer.put(parent, checkpoint, metadata, new_versions)
            if not self.report_held:
                return []
            return [Saved(new_config, parent, metadata, frontier, checkpoint["ts"])]
        # A background or deferred save must not see later changes, nor a held one
        # (the run goes on before it is committed).
        hold = hold and not self.in_background and not self.defer_sync
        checkpoint, new_versions = self._checkpoint(
            values, frontier, hold or self.in_background or self.defer_sync, stamp
        )
        metadata = self._metadata(source, step)
        parent = self.config
        new_config = self.config = self._config_of(checkpoint["id"])
        if self.interrupted:
            self.interrupted = {}
        if self.in_background:
            if self._background is None:
                self._background = RunSaves(saver)
            self._background.submit((parent, checkpoint, metadata, new_versions))
        elif self.awaited is not None:
            self.awaited.put((parent, checkpoint, metadata, new_versions))
        else:
            # committed before the run goes on; concurrent runs share the disk sync
            item = (parent, checkpoint, metadata, new_versions)
            if self.defer_sync:
                self.deferred.append(item)
            elif hold:
                self._commit_held()
                self._held = item
            else:
                held, self._held = self._held, None
                self._committer().put(item, after=held)
        if not self.report_held:
            return []
        return [Saved(new_config, parent, metadata, frontier, checkpoint["ts"])]

    def _checkpoint(
        self, values: dict[str, Any], frontier: Any, copy: bool, stamp: Stamp | None = None
    ) -> tuple[Checkpoint, dict[str, int]]:
        """The checkpoint of ``values`` now (or with the id and time ``stamp`` gave it
        when it was reported); new versions only for changed channels. ``copy``: the
        checkpoint gets its own dicts (it is saved after the run has gone on)."""
        if self.untracked:
            values, frontier = self._tracked(values, frontier)
            copy = False
        now = time.time_ns() // 1000
        version = self.last_version + 1
        if now > version:
            version = now
        self.last_version = version
        new_versions: dict[str, int] = {}
        appends: dict[str, list[int]] = {}
        versions = self.versions
        changed = self.changed
        if changed:
            saved = self.saved_values
            for key in changed:
                value = values[key]
                old = saved.get(key, MISSING)
                if old is value and type(value) in IMMUTABLE:
                    continue  # written again as it was (a mutable one may have changed in place)
                if (
                    type(value) is list
                    and type(old) is list
                    and key in versions
                    and len(value) > len(old)
                    and (_message_index.extends(value, old) or all(map(operator.is_, old, value)))
                ):
                    appends[key] = [versions[key], len(old)]
                new_versions[key] = version
                saved[key] = value
            changed.clear()
            if new_versions:
                versions.update(new_versions)
        checkpoint: Checkpoint = {
            "v": 1,
            "id": new_checkpoint_id(now) if stamp is None else stamp.id,
            "ts": utc_timestamp(now) if stamp is None else stamp.ts,
            "channel_values": dict(values) if copy else values,
            "channel_versions": dict(versions) if copy else versions,
            "frontier": frontier,
            "channel_appends": appends,
        }
        return checkpoint, new_versions

    def _tracked(self, values: dict[str, Any], frontier: Any) -> tuple[dict[str, Any], Any]:
        """``values`` and the frontier record without the untracked channels (a ``Send``'s
        state loses them too), in new containers."""
        untracked = self.untracked
        self.changed -= untracked
        values = {k: v for k, v in values.items() if k not in untracked}
        sends = frontier.get("sends") if isinstance(frontier, dict) else None
        if sends:
            frontier = {
                **frontier,
                "sends": [
                    [node, {k: v for k, v in arg.items() if k not in untracked}]
                    if type(arg) is dict
                    else [node, arg]
                    for node, arg in sends
                ],
            }
        return values, frontier

    def save_pending(
        self, tasks: list[Task], asked: dict[str, list[Interrupt]] | None = None
    ) -> list[Saved]:
        """Keep the results of a failed or paused step so a resume skips what finished.

        ``asked``: the interrupts that tasks which finished now had raised before (the
        checkpoint keeps the record of every question asked in the step). Returns the
        checkpoint that ``durability="exit"`` held back, if it is written now.
        """
        saved = self.flush()
        for index, task in enumerate(tasks):
            writes = _pending_writes(task, asked)
            if writes is not None:
                self._put_writes(writes, task.id, index)
        return saved

    def save_stopped(
        self, tasks: list[Task], asked: dict[str, list[Interrupt]] | None = None
    ) -> list[Saved]:
        """Keep the results of the tasks that finished in a step stopped from outside
        (the others never ran to an end: a resume runs them). Returns what
        ``save_pending`` returns."""
        saved = self.flush()
        for index, task in enumerate(tasks):
            if task.done and task.error is None:
                writes = _pending_writes(task, asked)
                if writes is not None:
                    self._put_writes(writes, task.id, index)
        return saved

    def keep_finished(
        self, task: Task, index: int, asked: dict[str, list[Interrupt]] | None = None
    ) -> None:
        """Save what a task of a still running step wrote, now: a crash before the
        step's checkpoint then does not run it again (``index``: its place in the step)."""
        writes = _pending_writes(task, asked)
        if writes is not None:
            self._put_writes(writes, task.id, index)
            if self.awaited is not None:  # (called on the event loop)
                self.awaited.start()

    def _put_writes(self, writes: list[Write], task_id: str, index: int) -> None:
        """Keep one task's writes against the current checkpoint."""
        if self.awaited is not None:
            self.awaited.put_writes(self.config, writes, task_id, index)
        else:
            self.saver.put_writes(self.config, writes, task_id, index)

    def commit_deferred(self) -> None:
        """Commit the sync saves an async run deferred, in order (call it off the loop)."""
        group = self._committer()
        items, self.deferred = self.deferred, []
        for item in items:
            group.put(item)

    def _committer(self) -> GroupCommit:
        if self._group is None:
            self._group = committer(self.saver)
        return self._group

    def _commit_held(self) -> None:
        """Commit the held input checkpoint now, if any."""
        held, self._held = self._held, None
        if held is not None:
            self._committer().put(held)

    def flush(self) -> list[Saved]:
        """Make sure everything saved so far is on disk before going on."""
        self._commit_held()
        self.commit_deferred()
        saved: list[Saved] = []
        if self._unsaved is not None:
            (source, values, step, record, stamp), self._unsaved = self._unsaved, None
            put = self._put(source, values, step, record, stamp=stamp)
            if stamp is None:  # not reported yet
                saved += put
        if self._background is not None:
            self._background.wait()
        return saved

    def drop_held(self) -> None:
        """Forget the checkpoint ``exit`` durability held back, unsaved."""
        self._unsaved = None

    def close(self) -> list[Saved]:
        """End of run: save what ``exit`` durability held back, wait for background saves."""
        try:
            return self.flush()
        finally:
            self._background = None


def _pending_writes(task: Task, asked: dict[str, list[Interrupt]] | None) -> list[Write] | None:
    """What a checkpoint's pending writes keep of a task of its (unfinished) step, so a
    resume skips it if it finished (None: nothing to keep).

    ``asked``: the interrupts that tasks which finished now had raised before (the
    checkpoint keeps the record of every question asked in the step).
    """
    writes: list[Write]
    if isinstance(task.error, ResumeValidationError):
        return None  # a bad answer: the interrupt stays open, as saved before
    if task.error is not None:
        writes = [(ERROR, repr(task.error))]
        if asked and task.id in asked:  # failed after its answers: ask again
            writes.append((INTERRUPT, asked[task.id]))
    elif not task.done:  # paused (at an interrupt, or a subgraph's static stop)
        writes = [(INTERRUPT, list(task.interrupts))]
        if task.resume:  # (the answers it got so far; none: no write, as in LangGraph)
            writes.append((RESUME, list(task.resume)))
    elif not task.restored:
        writes = [*task.writes, (ROUTES, list(task.routes))]
        if asked and task.id in asked:
            writes.append((INTERRUPT, asked[task.id]))
            if task.resume:
                writes.append((RESUME, list(task.resume)))
    else:
        return None
    if task.cache and (not task.done or handled_failure(task)):
        writes.append((CACHE, task.cache))
    return writes


def _legacy_writes(frontier: Frontier, metadata: CheckpointMetadata) -> None:
    """Checkpoints written before the frontier kept ``ran`` and ``input`` had them as
    the metadata's ``writes`` (``{node: update}``): take them from there."""
    writes = metadata.get("writes")
    if type(writes) is not dict or frontier.ran or frontier.input is not None:
        return
    frontier.ran = tuple(writes)
    if START in frontier.pending and type(writes.get(START)) is dict:
        frontier.input = dict(writes[START])


def _looks_like_id(key: str) -> bool:
    """An interrupt id as we make them (``"ns|task#i"``) or as LangGraph does (32 hex)."""
    return "#" in key or (len(key) == 32 and all(c in "0123456789abcdef" for c in key))


def restore_task(task: Task, writes: list[Write], resumes: list[Any]) -> None:
    """Give a planned task the results saved for it; it runs again only if it did not finish.

    ``resumes`` are the answers its ``interrupt()`` calls get when it runs again.
    """
    channels = {c for c, _ in writes}
    if ROUTES not in channels:  # it failed or paused: it runs again
        task.resume = list(resumes)
        for channel, value in writes:
            if channel == CACHE:
                task.cache = dict(value)
        return
    task.writes = [(c, v) for c, v in writes if c not in SPECIAL]
    for channel, value in writes:
        if channel == ROUTES:
            task.routes = list(value)
        elif channel == CACHE:  # a handled failure: the writes are its error handler's
            task.cache = dict(value)
            adopt_handler(task)
    task.update = dict(task.writes)
    task.done = True
    task.restored = True
