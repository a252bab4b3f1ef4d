"""The behaviour every checkpoint saver must have: one suite, run against each saver.

A test module pulls it in with ``from checkpoint_conformance import *``; the ``saver``
fixture is parametrized over ``SAVER_FACTORIES`` (add a backend there). Savers are made
with a small ``snapshot_every`` so append chains and snapshots are both exercised, and
the ``-shared`` ones with ``copy_on_read=False``: sharing decoded lists changes nothing
else a saver does.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from graphkit.messages import AIMessage, HumanMessage
from graphkit.stores.checkpoint import (
    BaseCheckpointSaver,
    Checkpoint,
    InMemorySaver,
    LMDBSaver,
    RunnableConfig,
    empty_checkpoint,
)
from graphkit.stores.checkpoint._codec import ListCache
from graphkit.stores.serde import SerdeError

SAVER_FACTORIES: dict[str, Callable[[Path], BaseCheckpointSaver]] = {
    "memory": lambda path: InMemorySaver(snapshot_every=4),
    "lmdb": lambda path: LMDBSaver(path / "db", snapshot_every=4, sync=False),
    "memory-shared": lambda path: InMemorySaver(snapshot_every=4, copy_on_read=False),
    "lmdb-shared": lambda path: LMDBSaver(
        path / "db", snapshot_every=4, sync=False, copy_on_read=False
    ),
    "postgres": lambda path: _postgres_saver(),
}
NEEDS_SERVER = {"postgres": "pg_clean"}
"""Backends whose factory needs a fixture first (the server, emptied)."""


def _postgres_saver() -> BaseCheckpointSaver:
    from graphkit.checkpoint.postgres import PostgresSaver

    return PostgresSaver(os.environ["GRAPHKIT_TEST_PG_URL"], snapshot_every=4)


@pytest.fixture(params=sorted(SAVER_FACTORIES))
def saver(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BaseCheckpointSaver]:
    if request.param in NEEDS_SERVER:
        request.getfixturevalue(NEEDS_SERVER[request.param])
    with SAVER_FACTORIES[request.param](tmp_path) as made:
        yield made


def cfg(thread: str = "t", checkpoint_id: str | None = None, ns: str = "") -> RunnableConfig:
    configurable: dict[str, Any] = {"thread_id": thread, "checkpoint_ns": ns}
    if checkpoint_id is not None:
        configurable["checkpoint_id"] = checkpoint_id
    return {"configurable": configurable}


def ckpt(
    values: dict[str, Any],
    versions: dict[str, int],
    appends: dict[str, list[int]] | None = None,
) -> Checkpoint:
    made = empty_checkpoint()
    made["channel_values"] = values
    made["channel_versions"] = versions
    made["frontier"] = {"next": ["node"], "seen": {"node": versions}}
    made["channel_appends"] = appends or {}
    return made


class Conversation:
    """Drives a saver like the runtime does: one list channel that grows, one counter."""

    def __init__(self, saver: BaseCheckpointSaver, thread: str = "t") -> None:
        self.saver = saver
        self.config = cfg(thread)
        self.messages: list[Any] = []
        self.version = 0
        self.history: list[tuple[str, list[Any]]] = []

    def step(self, *new: Any, parent: tuple[RunnableConfig, list[Any], int] | None = None) -> str:
        config, messages, base_version = parent or (self.config, self.messages, self.version)
        self.version = max(self.version, base_version) + 1
        self.messages = [*messages, *new]
        appends = {"messages": [base_version, len(messages)]} if base_version else {}
        versions = {"messages": self.version, "turns": self.version}
        made = ckpt({"messages": self.messages, "turns": self.version}, versions, appends)
        self.config = self.saver.put(config, made, {"step": self.version}, dict(versions))
        self.history.append((made["id"], list(self.messages)))
        return made["id"]


# --------------------------------------------------------------- put / get
def test_get_latest_and_by_id(saver: BaseCheckpointSaver) -> None:
    first = ckpt({"a": 1}, {"a": 1})
    c1 = saver.put(cfg(), first, {"source": "input", "step": -1}, {"a": 1})
    second = ckpt({"a": 2, "b": "x"}, {"a": 2, "b": 1})
    c2 = saver.put(c1, second, {"source": "loop", "step": 0}, {"a": 2, "b": 1})
    assert c2["configurable"] == {
        "thread_id": "t",
        "checkpoint_ns": "",
        "checkpoint_id": second["id"],
    }

    latest = saver.get_tuple(cfg())
    assert latest is not None
    assert latest.checkpoint["id"] == second["id"]
    assert latest.checkpoint["channel_values"] == {"a": 2, "b": "x"}
    assert latest.checkpoint["channel_versions"] == {"a": 2, "b": 1}
    assert latest.checkpoint["frontier"] == second["frontier"]
    assert latest.checkpoint["ts"] == second["ts"]
    assert latest.metadata == {"source": "loop", "step": 0}
    assert latest.parent_config == c1
    assert latest.config == c2

    old = saver.get_tuple(c1)
    assert old is not None
    assert old.checkpoint["channel_values"] == {"a": 1}
    assert old.parent_config is None
    assert saver.get(c1) == old.checkpoint


def test_missing_thread_id_says_how_to_pass_it(saver: BaseCheckpointSaver) -> None:
    with pytest.raises(ValueError, match="thread_id"):
        saver.get_tuple({"configurable": {}})
    with pytest.raises(ValueError, match="thread_id"):
        saver.put({}, ckpt({}, {}), {}, {})


def test_unknown_thread_or_id_is_none(saver: BaseCheckpointSaver) -> None:
    assert saver.get_tuple(cfg("nobody")) is None
    saver.put(cfg(), ckpt({"a": 1}, {"a": 1}), {}, {"a": 1})
    assert saver.get_tuple(cfg(checkpoint_id=empty_checkpoint()["id"])) is None


def test_namespaces_are_separate(saver: BaseCheckpointSaver) -> None:
    saver.put(cfg(), ckpt({"a": "root"}, {"a": 1}), {}, {"a": 1})
    saver.put(cfg(ns="sub:1"), ckpt({"a": "sub"}, {"a": 1}), {}, {"a": 1})
    root, sub = saver.get_tuple(cfg()), saver.get_tuple(cfg(ns="sub:1"))
    assert root is not None and sub is not None
    assert root.checkpoint["channel_values"] == {"a": "root"}
    assert sub.checkpoint["channel_values"] == {"a": "sub"}
    assert sub.config["configurable"]["checkpoint_ns"] == "sub:1"
    assert [t.checkpoint["channel_values"]["a"] for t in saver.list(cfg())] == ["root"]


def test_threads_with_prefix_names_do_not_mix(saver: BaseCheckpointSaver) -> None:
    for thread in ["a", "ab", "a\x00b", "a\x00"]:
        saver.put(cfg(thread), ckpt({"x": thread}, {"x": 1}), {}, {"x": 1})
    for thread in ["a", "ab", "a\x00b", "a\x00"]:
        found = saver.get_tuple(cfg(thread))
        assert found is not None and found.checkpoint["channel_values"] == {"x": thread}
        assert len(list(saver.list(cfg(thread)))) == 1


def test_stored_values_do_not_change_when_caller_mutates(saver: BaseCheckpointSaver) -> None:
    value = {"items": [1, 2]}
    saver.put(cfg(), ckpt({"a": value}, {"a": 1}), {}, {"a": 1})
    value["items"].append(3)
    found = saver.get(cfg())
    assert found is not None and found["channel_values"] == {"a": {"items": [1, 2]}}


def test_channel_with_version_but_no_value_is_absent(saver: BaseCheckpointSaver) -> None:
    c1 = saver.put(cfg(), ckpt({"a": 1, "b": 2}, {"a": 1, "b": 1}), {}, {"a": 1, "b": 1})
    saver.put(c1, ckpt({"a": 1}, {"a": 1, "b": 2}), {}, {"b": 2})
    found = saver.get(cfg())
    assert found is not None
    assert found["channel_values"] == {"a": 1}
    assert found["channel_versions"] == {"a": 1, "b": 2}


def test_unserializable_value_names_the_channel(saver: BaseCheckpointSaver) -> None:
    class Opaque:
        pass

    bad = ckpt({"messages": [1, {"content": Opaque()}]}, {"messages": 1})
    with pytest.raises(SerdeError, match=r"channel 'messages'.*\[1\]\['content'\]"):
        saver.put(cfg(), bad, {}, {"messages": 1})


# ------------------------------------------------------------- incremental
def test_only_new_versions_are_serialized(saver: BaseCheckpointSaver) -> None:
    big = {f"k{i}": {"value": i} for i in range(500)}
    first = ckpt(dict(big), dict.fromkeys(big, 1))
    c1 = saver.put(cfg(), first, {}, dict.fromkeys(big, 1))

    class Unserializable:
        pass

    # k0..k497 are unchanged: the saver must not touch them (it would fail on these).
    values: dict[str, Any] = {k: Unserializable() for k in big}
    values["k498"], values["k499"] = "new-498", "new-499"
    versions = dict.fromkeys(big, 1) | {"k498": 2, "k499": 2}
    saver.put(c1, ckpt(values, versions), {}, {"k498": 2, "k499": 2})

    found = saver.get(cfg())
    assert found is not None
    expected = dict(big) | {"k498": "new-498", "k499": "new-499"}
    assert found["channel_values"] == expected


def test_appends_reassemble_across_many_steps_and_snapshots(saver: BaseCheckpointSaver) -> None:
    talk = Conversation(saver)
    for turn in range(60):
        talk.step({"role": "user", "text": f"q{turn}"}, f"a{turn}" * (turn % 7))
    latest = saver.get(cfg())
    assert latest is not None
    assert latest["channel_values"]["messages"] == talk.messages
    for checkpoint_id, messages in talk.history:
        found = saver.get(cfg(checkpoint_id=checkpoint_id))
        assert found is not None and found["channel_values"]["messages"] == messages


def test_append_hint_without_growth_and_after_truncation(saver: BaseCheckpointSaver) -> None:
    talk = Conversation(saver)
    talk.step("a", "b")
    talk.step()  # nothing appended: an empty delta
    first = talk.history[0]
    # A fork that replaces the list: no hint, full value.
    versions = {"messages": 10, "turns": 10}
    saver.put(
        cfg(checkpoint_id=first[0]), ckpt({"messages": ["z"], "turns": 0}, versions), {}, versions
    )
    found = saver.get(cfg())
    assert found is not None and found["channel_values"]["messages"] == ["z"]
    second = saver.get(cfg(checkpoint_id=talk.history[1][0]))
    assert second is not None and second["channel_values"]["messages"] == ["a", "b"]


def test_forks_keep_their_own_values(saver: BaseCheckpointSaver) -> None:
    talk = Conversation(saver)
    talk.step("m0")
    talk.step("m1")
    fork_point = (talk.config, list(talk.messages), talk.version)
    left_id = talk.step("left")
    right_id = talk.step("right", parent=fork_point)
    left, right = (
        saver.get_tuple(cfg(checkpoint_id=left_id)),
        saver.get_tuple(cfg(checkpoint_id=right_id)),
    )
    assert left is not None and right is not None
    assert left.checkpoint["channel_values"]["messages"] == ["m0", "m1", "left"]
    assert right.checkpoint["channel_values"]["messages"] == ["m0", "m1", "right"]
    assert left.parent_config == right.parent_config == fork_point[0]
    assert (
        left.checkpoint["channel_versions"]["messages"]
        != right.checkpoint["channel_versions"]["messages"]
    )


def test_reads_between_puts_and_across_branches_agree(saver: BaseCheckpointSaver) -> None:
    # Reading after every put, then hopping between two branches and back in history,
    # exercises every way a saver may reuse what it read before.
    talk = Conversation(saver)
    for turn in range(25):
        talk.step({"turn": turn}, ("a", turn))
        assert (found := saver.get(cfg())) is not None
        assert found["channel_values"]["messages"] == talk.messages
    fork_point = (talk.config, list(talk.messages), talk.version)
    left = [talk.step(f"left {i}") for i in range(6)]
    left_messages = list(talk.messages)
    right = [talk.step(f"right {i}", parent=fork_point if i == 0 else None) for i in range(6)]
    right_messages = list(talk.messages)
    for _ in range(2):
        for ids, messages in ((left, left_messages), (right, right_messages)):
            found = saver.get(cfg(checkpoint_id=ids[-1]))
            assert found is not None and found["channel_values"]["messages"] == messages
    for checkpoint_id, messages in reversed(talk.history):
        found = saver.get(cfg(checkpoint_id=checkpoint_id))
        assert found is not None and found["channel_values"]["messages"] == messages


def _shares_reads(saver: BaseCheckpointSaver) -> bool:
    lists: ListCache = saver._lists  # type: ignore[attr-defined]  (every saver here has one)
    return not lists.copy_on_read


def test_returned_values_are_the_callers_own(saver: BaseCheckpointSaver) -> None:
    """Each read gets its own list; its elements too, unless the saver shares them
    (``copy_on_read=False``): then a change in place reaches later reads of this
    process, never what is stored."""
    talk = Conversation(saver)
    for turn in range(5):
        talk.step({"turn": turn})
    saver.get(cfg())  # a second read: the saver now keeps the list decoded
    first = saver.get(cfg())
    assert first is not None
    first["channel_values"]["messages"].append("mutated")
    first["channel_values"]["messages"][0]["turn"] = "mutated"
    again = saver.get(cfg())
    assert again is not None
    expected = [dict(talk.messages[0], turn="mutated"), *talk.messages[1:]]
    shared = _shares_reads(saver)
    assert again["channel_values"]["messages"] == (expected if shared else talk.messages)
    assert (
        again["channel_values"]["messages"][0] is first["channel_values"]["messages"][0]
    ) is shared
    talk.step({"turn": 5})
    latest = saver.get(cfg())
    assert latest is not None
    if shared:  # the changed element is seen while the saver keeps it (not past a snapshot)
        assert latest["channel_values"]["messages"][1:] == talk.messages[1:]
    else:
        assert latest["channel_values"]["messages"] == talk.messages
    if isinstance(saver, LMDBSaver):  # what is stored never changed
        saver._lists.clear()
        stored = saver.get(cfg())
        assert stored is not None and stored["channel_values"]["messages"] == talk.messages


def test_messages_read_again_are_fresh_objects_whatever_a_caller_did_to_earlier_ones(
    saver: BaseCheckpointSaver,
) -> None:
    """A list read several times is kept decoded by some savers (reads get copies): a
    caller changing what it got, attributes and nested dicts included, changes no later
    read, of this version or of the next."""
    if _shares_reads(saver):
        pytest.skip("copy_on_read=False shares elements by design (checked above)")
    talk = Conversation(saver)
    for turn in range(4):
        talk.step(
            HumanMessage(content=f"turn {turn}", id=f"h{turn}", additional_kwargs={"n": [turn]})
        )
    pristine = [m.model_copy(deep=True) for m in talk.messages]
    for _ in range(4):
        found = saver.get(cfg())
        assert found is not None
        got = found["channel_values"]["messages"]
        assert got == pristine
        got[0].content = "changed"
        got[1].additional_kwargs["n"].append(99)
        got[2].response_metadata["x"] = 1
        got.append(HumanMessage(content="extra"))
    talk.step(AIMessage(content="reply", id="a"))
    found = saver.get(cfg())
    assert found is not None and found["channel_values"]["messages"] == [
        *pristine,
        AIMessage(content="reply", id="a"),
    ]


def test_a_thread_deleted_and_rewritten_with_the_same_versions_reads_new_values(
    saver: BaseCheckpointSaver,
) -> None:
    for word in ("old", "new"):
        talk = Conversation(saver)
        for turn in range(6):
            talk.step(f"{word} {turn}")
            assert (found := saver.get(cfg())) is not None
            assert found["channel_values"]["messages"] == talk.messages
        if word == "old":
            saver.delete_thread("t")
    saver.copy_thread("t", "u")
    other = Conversation(saver, "u")
    for turn in range(6):  # same versions as the copy, other values: replaces it
        other.step(f"other {turn}")
    assert (found := saver.get(cfg("u"))) is not None
    assert found["channel_values"]["messages"] == other.messages


# -------------------------------------------------------------------- list
def _steps(items: Iterator[Any]) -> list[int]:
    return [item.metadata["step"] for item in items]


def test_list_newest_first_with_filter_before_limit(saver: BaseCheckpointSaver) -> None:
    config = cfg()
    configs = []
    for step in range(10):
        meta = {"step": step, "source": "loop" if step % 2 else "input", "user": {"k": step % 3}}
        config = saver.put(config, ckpt({"a": step}, {"a": step + 1}), meta, {"a": step + 1})  # type: ignore[arg-type]
        configs.append(config)
    assert _steps(saver.list(cfg())) == list(range(9, -1, -1))
    assert _steps(saver.list(cfg(), limit=3)) == [9, 8, 7]
    assert _steps(saver.list(cfg(), before=configs[5])) == [4, 3, 2, 1, 0]
    assert _steps(saver.list(cfg(), before=configs[5], limit=2)) == [4, 3]
    assert _steps(saver.list(cfg(), filter={"source": "loop"})) == [9, 7, 5, 3, 1]
    assert _steps(saver.list(cfg(), filter={"source": "loop", "user": {"k": 0}})) == [9, 3]
    assert _steps(saver.list(cfg(), filter={"source": "loop"}, limit=2)) == [9, 7]
    assert _steps(saver.list(cfg(), filter={"missing": None})) == []
    listed = next(iter(saver.list(cfg(), limit=1)))
    assert listed.checkpoint["channel_values"] == {"a": 9}
    assert listed.parent_config == configs[8]


def test_list_many_pages(saver: BaseCheckpointSaver) -> None:
    config = cfg()
    for step in range(100):
        config = saver.put(
            config, ckpt({"a": step}, {"a": step + 1}), {"step": step}, {"a": step + 1}
        )
    assert _steps(saver.list(cfg())) == list(range(99, -1, -1))
    assert _steps(saver.list(cfg(), filter={"step": 3})) == [3]
    assert _steps(saver.list(cfg(), limit=70)) == list(range(99, 29, -1))


def test_list_without_config_spans_threads(saver: BaseCheckpointSaver) -> None:
    for step, thread in enumerate(["x", "y", "x", "z"]):
        saver.put(cfg(thread), ckpt({}, {}), {"step": step, "thread": thread}, {})
    assert _steps(saver.list(None)) == [3, 2, 1, 0]
    assert _steps(saver.list(None, filter={"thread": "x"})) == [2, 0]
    assert _steps(saver.list(None, limit=2)) == [3, 2]


def test_list_without_a_namespace_spans_the_threads_namespaces(
    saver: BaseCheckpointSaver,
) -> None:
    for step, ns in enumerate(["", "child:1", "", "child:1|inner:2", "other"]):
        saver.put(cfg("t", ns=ns), ckpt({}, {}), {"step": step, "ns": ns}, {})
    saver.put(cfg("t-other"), ckpt({}, {}), {"step": 9}, {})
    whole = {"configurable": {"thread_id": "t"}}
    assert _steps(saver.list(whole)) == [4, 3, 2, 1, 0]
    assert _steps(saver.list(whole, limit=2)) == [4, 3]
    assert _steps(saver.list(whole, filter={"ns": ""})) == [2, 0]
    assert _steps(saver.list(cfg("t"))) == [2, 0]  # checkpoint_ns "" names the root
    assert _steps(saver.list(cfg("t", ns="child:1"))) == [1]


def test_list_of_a_config_naming_a_checkpoint_lists_that_one(
    saver: BaseCheckpointSaver,
) -> None:
    configs = {}
    for step, ns in enumerate(["", "child:1", "", "", "child:1"]):
        made = saver.put(cfg("t", ns=ns), ckpt({}, {}), {"step": step, "ns": ns}, {})
        configs[step] = made["configurable"]["checkpoint_id"]
    saver.put(cfg("t-other"), ckpt({}, {}), {"step": 9}, {})

    def named(step: int, ns: str | None = "") -> list[int]:
        configurable = {"thread_id": "t", "checkpoint_id": configs[step]}
        if ns is not None:
            configurable["checkpoint_ns"] = ns
        return _steps(saver.list({"configurable": configurable}))

    assert named(2) == [2]
    assert named(1, ns="child:1") == [1]
    assert named(1, ns=None) == [1]  # no namespace named: the thread's, whichever has it
    assert named(1) == []  # not of the root namespace
    one = cfg("t", checkpoint_id=configs[2])
    assert _steps(saver.list(one, filter={"ns": ""})) == [2]
    assert _steps(saver.list(one, filter={"ns": "other"})) == []
    assert _steps(saver.list(one, before={"configurable": {"checkpoint_id": configs[3]}})) == [2]
    assert _steps(saver.list(one, before={"configurable": {"checkpoint_id": configs[2]}})) == []
    assert _steps(saver.list(one, limit=0)) == []
    assert _steps(saver.list(cfg("t-other", checkpoint_id=configs[2]))) == []


def test_list_threads_counts_checkpoints_and_namespaces(saver: BaseCheckpointSaver) -> None:
    assert saver.list_threads() == []
    saver.put(cfg("old"), ckpt({}, {}), {}, {})
    for ns in ("", "", "child:1"):
        saver.put(cfg("new", ns=ns), ckpt({}, {}), {}, {})
    latest = saver.put(cfg("new"), ckpt({}, {}), {}, {})
    rows = saver.list_threads()
    assert [(r.thread_id, r.checkpoints, r.namespaces) for r in rows] == [
        ("new", 4, 2),
        ("old", 1, 1),
    ]
    assert rows[0].latest_id == latest["configurable"]["checkpoint_id"]
    assert rows[0].latest_time[:4].isdigit() and rows[0].latest_time.endswith("+00:00")
    saver.delete_thread("new")
    assert [r.thread_id for r in saver.list_threads()] == ["old"]
    assert [r.thread_id for r in asyncio.run(saver.alist_threads())] == ["old"]


# ---------------------------------------------------------- pending writes
def test_pending_writes_come_back_in_task_order(saver: BaseCheckpointSaver) -> None:
    config = saver.put(cfg(), ckpt({"a": 1}, {"a": 1}), {}, {"a": 1})
    saver.put_writes(config, [("a", "ten-0"), ("b", "ten-1")], "task-10", 10)
    saver.put_writes(config, [("a", "nine")], "task-9", 9)
    saver.put_writes(config, [("a", "two")], "task-2", 2)
    found = saver.get_tuple(cfg())
    assert found is not None
    assert found.pending_writes == [
        ("task-2", "a", "two"),
        ("task-9", "a", "nine"),
        ("task-10", "a", "ten-0"),
        ("task-10", "b", "ten-1"),
    ]


def test_pending_writes_of_same_task_replace(saver: BaseCheckpointSaver) -> None:
    config = saver.put(cfg(), ckpt({"a": 1}, {"a": 1}), {}, {"a": 1})
    saver.put_writes(config, [("a", 1), ("b", 2), ("c", 3)], "task", 0)
    saver.put_writes(config, [("a", "again")], "task", 0)
    saver.put_writes(config, [("x", {"nested": (1, 2)})], "other", 1)
    found = saver.get_tuple(config)
    assert found is not None
    assert found.pending_writes == [("task", "a", "again"), ("other", "x", {"nested": (1, 2)})]


def test_pending_writes_belong_to_their_checkpoint(saver: BaseCheckpointSaver) -> None:
    c1 = saver.put(cfg(), ckpt({"a": 1}, {"a": 1}), {}, {"a": 1})
    saver.put_writes(c1, [("a", 2)], "t1", 0)
    c2 = saver.put(c1, ckpt({"a": 2}, {"a": 2}), {}, {"a": 2})
    assert (found := saver.get_tuple(c2)) is not None and found.pending_writes == []
    assert (old := saver.get_tuple(c1)) is not None and old.pending_writes == [("t1", "a", 2)]


# ------------------------------------------------------------- maintenance
def test_delete_thread_removes_only_that_thread(saver: BaseCheckpointSaver) -> None:
    for thread in ["keep", "drop"]:
        config = saver.put(cfg(thread), ckpt({"a": thread}, {"a": 1}), {}, {"a": 1})
        saver.put_writes(config, [("a", 1)], "task", 0)
        saver.put(cfg(thread, ns="sub"), ckpt({"a": thread}, {"a": 1}), {}, {"a": 1})
    saver.delete_thread("drop")
    assert saver.get_tuple(cfg("drop")) is None
    assert saver.get_tuple(cfg("drop", ns="sub")) is None
    assert list(saver.list(cfg("drop"))) == []
    kept = saver.get_tuple(cfg("keep"))
    assert kept is not None and kept.pending_writes == [("task", "a", 1)]


def test_copy_thread_copies_history_and_writes(saver: BaseCheckpointSaver) -> None:
    talk = Conversation(saver, "src")
    for turn in range(12):
        talk.step(f"m{turn}")
    saver.put_writes(talk.config, [("a", 1)], "task", 3)
    saver.copy_thread("src", "dst")
    copied = saver.get_tuple(cfg("dst"))
    assert copied is not None
    assert copied.checkpoint["channel_values"]["messages"] == talk.messages
    assert copied.pending_writes == [("task", "a", 1)]
    assert copied.config["configurable"]["thread_id"] == "dst"
    assert copied.parent_config is not None
    assert copied.parent_config["configurable"]["thread_id"] == "dst"
    assert len(list(saver.list(cfg("dst")))) == 12
    saver.delete_thread("src")
    assert (again := saver.get(cfg("dst"))) is not None
    assert again["channel_values"]["messages"] == talk.messages


def test_prune_keeps_latest_and_what_they_need(saver: BaseCheckpointSaver) -> None:
    talk = Conversation(saver)
    for turn in range(30):
        talk.step(f"m{turn}", "x" * turn)
    other = Conversation(saver, "other")
    other.step("untouched")
    saver.prune(["t"], keep_latest=2)
    kept = list(saver.list(cfg()))
    assert [k.checkpoint["id"] for k in kept] == [talk.history[-1][0], talk.history[-2][0]]
    for item, (_, messages) in zip(kept, reversed(talk.history), strict=False):
        assert item.checkpoint["channel_values"]["messages"] == messages
    assert saver.get_tuple(cfg(checkpoint_id=talk.history[0][0])) is None
    assert (untouched := saver.get(cfg("other"))) is not None
    assert untouched["channel_values"]["messages"] == ["untouched"]
    talk.step("after prune")  # appending on top of a pruned chain still works
    assert (latest := saver.get(cfg())) is not None
    assert latest["channel_values"]["messages"] == talk.messages


# ------------------------------------------------------------------- async
async def test_async_twins(saver: BaseCheckpointSaver) -> None:
    config = await saver.aput(cfg(), ckpt({"a": 1}, {"a": 1}), {"step": 0}, {"a": 1})
    await saver.aput_writes(config, [("a", 2)], "task", 1)
    found = await saver.aget_tuple(cfg())
    assert found is not None and found.pending_writes == [("task", "a", 2)]
    for step in range(1, 40):
        config = await saver.aput(
            config, ckpt({"a": step}, {"a": step + 1}), {"step": step}, {"a": step + 1}
        )
    assert [item.metadata["step"] async for item in saver.alist(cfg(), limit=20)] == list(
        range(39, 19, -1)
    )
    assert len([item async for item in saver.alist(cfg())]) == 40
    await saver.acopy_thread("t", "u")
    await saver.aprune(["u"], keep_latest=1)
    assert len([item async for item in saver.alist(cfg("u"))]) == 1
    await saver.adelete_thread("t")
    assert await saver.aget(cfg()) is None


async def test_async_calls_run_concurrently(saver: BaseCheckpointSaver) -> None:
    async def run(thread: str) -> None:
        config = cfg(thread)
        for step in range(10):
            config = await saver.aput(
                config, ckpt({"a": step}, {"a": step + 1}), {"step": step}, {"a": step + 1}
            )

    await asyncio.gather(*(run(f"t{i}") for i in range(8)))
    for i in range(8):
        found = await saver.aget(cfg(f"t{i}"))
        assert found is not None and found["channel_values"] == {"a": 9}


def test_a_listing_reads_each_checkpoints_own_list(saver: BaseCheckpointSaver) -> None:
    talk = Conversation(saver)
    for turn in range(12):  # past snapshot_every: chains, snapshots and their bases
        talk.step({"turn": turn}, {"turn": f"{turn} reply"})
    listed = list(saver.list(cfg()))
    expected = {cid: messages for cid, messages in talk.history}
    assert [t.checkpoint["id"] for t in listed] == [cid for cid, _ in reversed(talk.history)]
    for found in listed:
        assert found.checkpoint["channel_values"]["messages"] == expected[found.checkpoint["id"]]
    # each snapshot has its own list: changing one leaves the others (and the store) alone
    listed[1].checkpoint["channel_values"]["messages"].append("mutated")
    assert listed[2].checkpoint["channel_values"]["messages"] == talk.history[-3][1]
    again = list(saver.list(cfg(), limit=3))
    assert again[1].checkpoint["channel_values"]["messages"] == talk.history[-2][1]


def test_a_listing_decodes_an_appended_history_once(saver: BaseCheckpointSaver) -> None:
    talk = Conversation(saver)
    talk.step(*({"turn": turn} for turn in range(20)))  # a history, then small appends
    for turn in range(20, 23):
        talk.step({"turn": turn})
    lists = [t.checkpoint["channel_values"]["messages"] for t in saver.list(cfg(), limit=4)]
    assert lists == [messages for _, messages in reversed(talk.history)]
    # the older lists are slices of the newest one: the same element objects
    assert all(older[0] is lists[0][0] for older in lists[1:])
    assert len({id(found) for found in lists}) == 4  # each its own list


def test_a_listing_across_branches_reads_each_branch(saver: BaseCheckpointSaver) -> None:
    talk = Conversation(saver)
    for turn in range(3):
        talk.step(f"trunk {turn}")
    fork_point = (talk.config, list(talk.messages), talk.version)
    left = [talk.step(f"left {i}") for i in range(3)]
    right = [talk.step(f"right {i}", parent=fork_point if i == 0 else None) for i in range(3)]
    expected = dict(talk.history)
    listed = list(saver.list(cfg()))
    assert {t.checkpoint["id"] for t in listed} >= {*left, *right}
    for found in listed:
        assert found.checkpoint["channel_values"]["messages"] == expected[found.checkpoint["id"]]
