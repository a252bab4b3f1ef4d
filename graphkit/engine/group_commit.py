"""One commit queue per saver: concurrent runs share transactions and disk syncs.

A disk sync costs far more than the write it makes durable. Every run saving to one
saver puts its checkpoints on that saver's queue, and whoever commits takes the whole
queue as one ``put_batch`` (for LMDB: one transaction, one sync):

- ``durability="sync"``: :meth:`GroupCommit.put` returns once its own checkpoint is
  committed. The caller commits the queue itself when no commit is in flight (one run
  alone pays only a lock); otherwise the checkpoint rides the next commit.
- ``durability="async"``: :meth:`GroupCommit.submit` queues and returns at once; a
  background thread of the saver commits, and the run waits for its own checkpoints
  (:class:`RunSaves`) only when it ends.

Checkpoints of one run are committed in the order they were queued. If a shared
batch fails, its checkpoints are saved one by one, so a checkpoint that cannot be
stored fails its own run alone.

Nothing queued is lost: a saver's ``close()`` commits what is queued first
(:func:`settle`), and so does the interpreter's exit (the committer is a daemon
thread, stopped without warning at exit).
"""

from __future__ import annotations

import atexit
import os
import threading
import weakref

from graphkit.errors import RunContextError
from graphkit.stores.checkpoint.base import (
    BaseCheckpointSaver,
    Checkpoint,
    CheckpointMetadata,
    RunnableConfig,
    before_close,
    stands_for_put,
)

SaveItem = tuple[RunnableConfig, Checkpoint, CheckpointMetadata, dict[str, int]]
"""``(parent config, checkpoint, metadata, new versions)``: the arguments of ``put``."""


IDLE_SECONDS = 1.0
"""How long a saver's background committer waits for work before its thread ends."""


class Slot:
    """One queued checkpoint and, once committed, its outcome."""

    __slots__ = ("done", "error", "item")

    def __init__(self, item: SaveItem) -> None:
        self.item = item
        self.done = False
        self.error: BaseException | None = None


class GroupCommit:
    """The commit queue of one saver (see the module docstring)."""

    def __init__(self, saver: BaseCheckpointSaver) -> None:
        self._saver = weakref.ref(saver)
        """Weak: the registry of queues is keyed weakly by saver, so a queue holding its
        saver would keep it (and its files) alive for the life of the process."""
        self.cond = threading.Condition()
        self.queue: list[Slot] = []
        self.in_flight = False
        self._committer: threading.Thread | None = None
        self._retire = False
        """Set by :meth:`settle`: the background committer ends once idle, not after
        ``IDLE_SECONDS`` (its saver is closing; a later submit starts another)."""
        self._owner = 0
        """The thread committing the batch in flight (its ``get_ident``)."""

    def put(self, item: SaveItem, *, after: SaveItem | None = None) -> None:
        """Save one checkpoint; return once it is committed (raise its error if not).

        ``after``: a checkpoint of the same run to save first, in the same batch when
        no commit is in flight (then one transaction for both).
        """
        first = None if after is None else Slot(after)
        slot = Slot(item)
        with self.cond:
            if first is not None:
                self.queue.append(first)
            self.queue.append(slot)
            while not slot.done and self.in_flight:
                self.cond.wait()
            batch = [] if slot.done else self._take()
        if batch:
            self._commit(batch)
        if first is not None:
            raise_error(first)
        return raise_error(slot)

    def submit(self, item: SaveItem) -> Slot:
        """Queue one checkpoint for the background committer; see :meth:`wait`."""
        slot = Slot(item)
        with self.cond:
            self.queue.append(slot)
            self._retire = False
            if self._committer is None:
                self._committer = threading.Thread(
                    target=self._commit_in_background, name="graphkit-commit", daemon=True
                )
                self._committer.start()
            self.cond.notify_all()
        return slot

    def wait(self, slot: Slot) -> None:
        """Block until ``slot`` is committed (or failed)."""
        with self.cond:
            while not slot.done:
                self.cond.wait()

    def settle(self) -> None:
        """Commit what is queued now and wait for the commit in flight (a saver closing,
        the interpreter exiting): on return nothing queued so far is uncommitted."""
        while True:
            with self.cond:
                while self.in_flight:
                    if self._owner == threading.get_ident():
                        return  # called by the commit in flight (its saver's put closes it)
                    self.cond.wait()
                if not self.queue:
                    self._retire = True
                    self.cond.notify_all()  # (an idle committer ends now)
                    return
                batch = self._take()
            self._commit(batch)

    def _take(self) -> list[Slot]:
        """The whole queue, marked in flight (call with the lock held)."""
        batch, self.queue, self.in_flight = self.queue, [], True
        self._owner = threading.get_ident()
        return batch

    @property
    def saver(self) -> BaseCheckpointSaver:
        """The saver this queue commits to (alive while anyone queues for it)."""
        saver = self._saver()
        if saver is None:  # pragma: no cover - a caller queuing holds the saver
            raise RunContextError(
                "the checkpointer of this run was garbage-collected before its checkpoints "
                "were committed: keep a reference to the saver while graphs run on it"
            )
        return saver

    def _commit(self, batch: list[Slot]) -> None:
        try:
            try:
                saver = self.saver
                if len(batch) == 1:
                    saver.put(*batch[0].item)
                elif stands_for_put(saver, "put_batch"):
                    saver.put_batch([s.item for s in batch])
                else:  # a subclass's own put: called for each
                    BaseCheckpointSaver.put_batch(saver, [s.item for s in batch])
            except BaseException as exc:
                if len(batch) == 1:
                    batch[0].error = exc
                else:
                    for slot in batch:  # find whose checkpoint failed; the others are saved
                        try:
                            self.saver.put(*slot.item)
                        except BaseException as one:
                            slot.error = one
        finally:
            with self.cond:
                for slot in batch:
                    slot.done = True
                self.in_flight = False
                self.cond.notify_all()

    def _commit_in_background(self) -> None:
        """Commit queued checkpoints; the thread ends after ``IDLE_SECONDS`` with none
        (at once once :meth:`settle` retired it)."""
        while True:
            with self.cond:
                while not self.queue or self.in_flight:
                    if self.queue:
                        self.cond.wait()  # the commit in flight ends first
                    elif self._retire or (not self.cond.wait(IDLE_SECONDS) and not self.queue):
                        self._committer = None
                        return
                batch = self._take()
            self._commit(batch)


class RunSaves:
    """The checkpoints one ``durability="async"`` run queued, to wait for at its end."""

    def __init__(self, saver: BaseCheckpointSaver) -> None:
        self.group = committer(saver)
        self.slots: list[Slot] = []

    def submit(self, item: SaveItem) -> None:
        """Queue one checkpoint (raises the error of an earlier failed one, if any)."""
        self._raise_failed()
        self.slots.append(self.group.submit(item))

    def wait(self) -> None:
        """Block until every queued checkpoint is committed; raise the first failure."""
        for slot in self.slots:
            self.group.wait(slot)
        self._raise_failed()
        self.slots = []

    def _raise_failed(self) -> None:
        """Raise the error of a committed slot that failed; forget the committed ones
        (so each submit looks only at what is still queued, not at the whole run)."""
        queued = []
        for slot in self.slots:
            if not slot.done:
                queued.append(slot)
            elif slot.error is not None:
                self.slots = []
                raise slot.error
        self.slots = queued


def raise_error(slot: Slot) -> None:
    """Raise the error a committed slot's checkpoint failed with, if any."""
    if slot.error is not None:
        raise slot.error


_lock = threading.Lock()
_committers: weakref.WeakKeyDictionary[BaseCheckpointSaver, GroupCommit] = (
    weakref.WeakKeyDictionary()
)


def committer(saver: BaseCheckpointSaver) -> GroupCommit:
    """The one commit queue of ``saver`` (made on first use)."""
    with _lock:
        found = _committers.get(saver)
        if found is None:
            found = _committers[saver] = GroupCommit(saver)
        return found


def settle(saver: BaseCheckpointSaver) -> None:
    """Commit the checkpoints queued for ``saver`` (see :meth:`GroupCommit.settle`)."""
    with _lock:
        found = _committers.get(saver)
    if found is not None:
        found.settle()


before_close(settle)


@atexit.register
def _settle_all() -> None:
    """At exit: commit every saver's queued checkpoints (the committer threads are
    daemons, stopped mid-commit once the interpreter finalizes)."""
    with _lock:
        groups = list(_committers.values())
    for group in groups:
        group.settle()


def _forget_after_fork() -> None:
    """A forked child has none of its parent's threads: it starts with fresh queues."""
    global _lock
    _lock = threading.Lock()
    _committers.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)
