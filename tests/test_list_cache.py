"""The savers' ListCache keeps a list read more than once decoded, within a budget, and
hands out copies: reads stay exact and the caller's own whatever the budget."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from checkpoint_conformance import Conversation, cfg

from graphkit.messages import HumanMessage
from graphkit.stores.checkpoint import InMemorySaver
from graphkit.stores.checkpoint._codec import ListCache


def _saver(max_decoded: int) -> InMemorySaver:
    saver = InMemorySaver()
    saver._lists = ListCache(max_decoded=max_decoded)
    return saver


def _talk(saver: InMemorySaver, thread: str, turns: int) -> Conversation:
    """A thread whose list is a full blob of ``turns`` messages plus one appended (a
    delta: what the cache joins)."""
    talk = Conversation(saver, thread)
    talk.step(*(HumanMessage(content=f"{thread} {i}", id=f"{thread}{i}") for i in range(turns)))
    talk.step(HumanMessage(content=f"{thread} last", id=f"{thread}last"))
    return talk


def _read(saver: InMemorySaver, thread: str) -> list[HumanMessage]:
    found = saver.get(cfg(thread))
    assert found is not None
    messages: list[HumanMessage] = found["channel_values"]["messages"]
    return messages


@pytest.mark.parametrize("budget", [0, 3, 8, 100])
def test_reads_are_exact_and_fresh_whatever_the_decoded_budget(budget: int) -> None:
    saver = _saver(budget)
    talks = {thread: _talk(saver, thread, 6) for thread in ("a", "b")}
    for _ in range(3):
        for thread, talk in talks.items():
            got = _read(saver, thread)
            assert got == talk.messages
            got[0].content = "changed"  # never reaches a later read
        talks["a"].step(HumanMessage(content="more", id=f"more{len(talks['a'].messages)}"))
    for thread, talk in talks.items():
        assert _read(saver, thread) == talk.messages
    kept = saver._lists._decoded
    assert kept <= budget
    assert kept == sum(len(e.decoded) for e in saver._lists._entries.values())


def test_the_least_recently_read_list_gives_up_its_decoded_elements_first() -> None:
    saver = _saver(12)
    for thread in ("a", "b"):
        _talk(saver, thread, 6)
        for _ in range(2):
            _read(saver, thread)
    entries = {key[0]: entry for key, entry in saver._lists._entries.items()}
    assert len(entries["a"].decoded) == 0  # read first: dropped to make room for b's
    assert len(entries["b"].decoded) == 7
    assert _read(saver, "a") == [
        *(HumanMessage(content=f"a {i}", id=f"a{i}") for i in range(6)),
        HumanMessage(content="a last", id="alast"),
    ]


def test_a_deleted_thread_frees_its_decoded_elements() -> None:
    saver = _saver(100)
    _talk(saver, "a", 5)
    for _ in range(2):
        _read(saver, "a")
    assert saver._lists._decoded == 6
    saver.delete_thread("a")
    assert saver._lists._decoded == 0


def _collections_during(read: Callable[[], object]) -> int:
    import gc

    starts: list[int] = []

    def count(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            starts.append(info["generation"])

    gc.callbacks.append(count)
    try:
        read()
    finally:
        gc.callbacks.remove(count)
    assert gc.isenabled()
    return len(starts)


def test_reading_a_long_list_again_starts_no_collection_per_few_hundred_copies() -> None:
    """Copies of a long list are made with the collector paused: a read of 3,000
    messages starts a few collections, not one per 700 new objects (20 or more), and
    the collector is on again after it."""
    saver = _saver(100_000)
    _talk(saver, "long", 3_000)
    first = _read(saver, "long")
    again: list[list[HumanMessage]] = []
    assert _collections_during(lambda: again.append(_read(saver, "long"))) <= 6
    assert again[0] == first and not any(a is b for a, b in zip(again[0], first, strict=True))


def test_decoding_a_long_stored_list_starts_few_collections() -> None:
    """The same for decoding: a full blob (read blob by blob) and a cached chain read
    for the first time."""
    saver = _saver(0)
    talk = Conversation(saver, "full")
    talk.step(*(HumanMessage(content=f"m {i}", id=f"m{i}") for i in range(3_000)))
    assert _collections_during(lambda: _read(saver, "full")) <= 6
    _talk(saver, "chain", 3_000)
    assert _collections_during(lambda: _read(saver, "chain")) <= 6
    assert _read(saver, "full") == talk.messages


def _at(saver: InMemorySaver, thread: str, checkpoint_id: str) -> list[HumanMessage]:
    found = saver.get(cfg(thread, checkpoint_id))
    assert found is not None
    messages: list[HumanMessage] = found["channel_values"]["messages"]
    return messages


@pytest.mark.parametrize("reads_before", [1, 2])
def test_an_earlier_checkpoint_of_the_cached_chain_reads_as_its_prefix(
    reads_before: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fork or replay from the middle of a thread reads an earlier version of the list
    the cache holds: it is served from the cache (decoded elements or the joined bytes),
    exact and the caller's own, and the entry keeps its newest version."""
    saver = _saver(100)
    talk = _talk(saver, "a", 40)  # long enough that the next deltas stay deltas
    for turn in range(3):
        talk.step(HumanMessage(content=f"turn {turn}", id=f"turn{turn}"))
    for _ in range(reads_before):  # the second read keeps the elements decoded
        assert _read(saver, "a") == talk.messages
    entry = next(iter(saver._lists._entries.values()))
    newest = entry.version

    def no_join(*args: object, **kwargs: object) -> None:
        raise AssertionError("an earlier version of the cached chain was read blob by blob")

    monkeypatch.setattr(ListCache, "_join", no_join)
    for checkpoint_id, expected in talk.history[1:-1]:  # each earlier version a delta
        got = _at(saver, "a", checkpoint_id)
        assert got == expected
        got[0].content = "changed"  # the caller's own copy
    assert _read_via_history(saver, talk) == [m for _, m in talk.history[1:-1]]
    assert next(iter(saver._lists._entries.values())) is entry and entry.version == newest
    monkeypatch.undo()
    assert _read(saver, "a") == talk.messages


def _read_via_history(saver: InMemorySaver, talk: Conversation) -> list[list[HumanMessage]]:
    return [_at(saver, "a", checkpoint_id) for checkpoint_id, _ in talk.history[1:-1]]


def test_a_fork_from_an_earlier_checkpoint_does_not_move_the_cached_chain() -> None:
    """Writes that continue an earlier version (a fork) leave the cached chain alone, and
    the fork's own list reads right."""
    saver = _saver(100)
    talk = _talk(saver, "a", 4)
    talk.step(HumanMessage(content="main", id="main"))
    for _ in range(2):
        _read(saver, "a")
    fork_from, fork_messages = talk.history[1]
    fork_version = 2  # the version of the list at history[1] (the delta of _talk)
    fork = Conversation(saver, "a")
    fork.version = talk.version
    entry = next(iter(saver._lists._entries.values()))
    fork_id = fork.step(
        HumanMessage(content="fork", id="fork"),
        parent=(cfg("a", fork_from), fork_messages, fork_version),
    )
    assert next(iter(saver._lists._entries.values())) is entry
    assert entry.version == talk.version and entry.count == len(talk.messages)
    assert _at(saver, "a", fork_id) == [*fork_messages, HumanMessage(content="fork", id="fork")]
    assert _at(saver, "a", fork_from) == fork_messages
    assert _at(saver, "a", talk.history[-1][0]) == talk.messages
