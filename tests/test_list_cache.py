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
