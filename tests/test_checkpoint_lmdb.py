"""LMDBSaver under stress: crashes, several processes, a full map, corruption, long threads."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import lmdb
import pytest
from checkpoint_conformance import Conversation, cfg, ckpt

from graphkit.stores._lmdb import LMDBEnv, MapFullError
from graphkit.stores.checkpoint import CheckpointCorruptError, LMDBSaver
from graphkit.stores.checkpoint.lmdb import enc
from graphkit.stores.serde import default_serializer

ROOT = Path(__file__).resolve().parents[1]

# A writer process: appends to a conversation and prints each checkpoint id once put()
# has returned (so the id is committed).
WRITER = textwrap.dedent(
    """
    import json, os, sys
    from graphkit.stores.checkpoint import LMDBSaver, empty_checkpoint
    path, thread, channel, count, map_size = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
    offset = os.getpid() * 1_000_000  # versions unique per process when sharing a thread
    saver = LMDBSaver(path, map_size=map_size)
    config = {"configurable": {"thread_id": thread}}
    messages, version = [], 0
    for i in range(count):
        base = [offset + version, len(messages)] if version else None
        messages = messages + [{"role": "user", "text": f"{channel}-{i}-" + "x" * 100}]
        version += 1
        made = empty_checkpoint()
        made["channel_values"] = {channel: messages}
        made["channel_versions"] = {channel: offset + version}
        made["channel_appends"] = {channel: base} if base else {}
        config = saver.put(config, made, {"step": i, "channel": channel}, {channel: offset + version})
        print(json.dumps([made["id"], i]), flush=True)
    saver.close()
    """
)


def _writer(
    path: Path, thread: str, channel: str, count: int, map_size: int = 1 << 20
) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path), thread, channel, str(count), str(map_size)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _check_thread(saver: LMDBSaver, thread: str, channel: str, ids: list[str]) -> None:
    """Every id is stored and holds the messages of its step, in order."""
    for checkpoint_id, step in ids:
        found = saver.get_tuple(cfg(thread, checkpoint_id))
        assert found is not None, f"committed checkpoint {checkpoint_id} (step {step}) was lost"
        messages = found.checkpoint["channel_values"][channel]
        assert len(messages) == step + 1
        assert messages[-1]["text"].startswith(f"{channel}-{step}-")


@pytest.mark.slow
def test_sigkill_mid_write_loses_no_committed_checkpoint(tmp_path: Path) -> None:
    proc = _writer(tmp_path, "t", "messages", 100_000)
    assert proc.stdout is not None
    committed: list[Any] = []
    while len(committed) < 200:
        line = proc.stdout.readline()
        assert line, proc.stderr.read() if proc.stderr else "writer died"
        committed.append(json.loads(line))
    proc.send_signal(signal.SIGKILL)
    rest, _ = proc.communicate()
    committed += [json.loads(line) for line in rest.splitlines() if line.strip()]
    assert proc.returncode == -signal.SIGKILL

    with LMDBSaver(tmp_path) as saver:
        _check_thread(saver, "t", "messages", committed)
        latest = saver.get_tuple(cfg("t"))
        assert latest is not None
        # The put that was cut off either committed whole or not at all.
        assert latest.metadata["step"] in (committed[-1][1], committed[-1][1] + 1)


@pytest.mark.slow
def test_processes_writing_one_path_concurrently(tmp_path: Path) -> None:
    # A tiny map: the writers also grow it under each other (MapResized handling).
    jobs = [
        ("a", "messages"),
        ("b", "messages"),
        ("c", "messages"),
        ("shared", "left"),
        ("shared", "right"),
    ]
    procs = [
        _writer(tmp_path, thread, channel, 150, map_size=64 * 1024) for thread, channel in jobs
    ]
    outputs = [proc.communicate(timeout=300) for proc in procs]
    for proc, (_, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
    with LMDBSaver(tmp_path) as saver:
        for (thread, channel), (out, _) in zip(jobs, outputs, strict=True):
            ids = [json.loads(line) for line in out.splitlines()]
            assert len(ids) == 150
            _check_thread(saver, thread, channel, ids)
        assert len(list(saver.list(cfg("shared")))) == 300
        assert len(list(saver.list(cfg("a")))) == 150


def test_full_map_grows_then_fails_clearly_past_max(tmp_path: Path) -> None:
    with LMDBSaver(tmp_path / "grow", map_size=64 * 1024) as saver:
        talk = Conversation(saver)
        for turn in range(300):
            talk.step("x" * 500 + str(turn))
        assert saver.env.env.info()["map_size"] > 64 * 1024
        found = saver.get(cfg())
        assert found is not None and found["channel_values"]["messages"] == talk.messages

    with LMDBSaver(tmp_path / "cap", map_size=64 * 1024, max_map_size=256 * 1024) as saver:
        with pytest.raises(MapFullError, match="max_map_size"):
            for step in range(10_000):
                versions = {"big": step + 1}
                saver.put(cfg(), ckpt({"big": os.urandom(2000)}, versions), {}, versions)
        # What committed before the failure is intact.
        assert saver.get(cfg()) is not None


def _corrupt_blob(saver: LMDBSaver, thread: str, channel: str, version: int, data: bytes) -> None:
    """Store ``data`` as the blob, with a valid checksum: the decoder's own checks must catch it."""
    key = enc(thread) + enc("") + enc(channel) + version.to_bytes(8, "big")
    db = saver.env.db("ckpt_blobs")
    sealed = saver._seal(data)
    saver.env.write(lambda txn: txn.put(key, sealed, db=db))


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (b"F" + b"\x00\x01\x02", "not written by graphkit.stores.serde"),
        (b"F\xc1\x01\x92\x01", "corrupt data"),
        (b"??", "corrupt or foreign"),
    ],
)
def test_corrupt_blob_error_names_thread_and_checkpoint(
    tmp_path: Path, damage: bytes, message: str
) -> None:
    with LMDBSaver(tmp_path) as saver:
        config = saver.put(
            cfg("chat-7"), ckpt({"messages": ["hi"]}, {"messages": 1}), {}, {"messages": 1}
        )
        _corrupt_blob(saver, "chat-7", "messages", 1, damage)
        with pytest.raises(CheckpointCorruptError) as info:
            saver.get_tuple(cfg("chat-7"))
        text = str(info.value)
        checkpoint_id = config["configurable"]["checkpoint_id"]
        assert "'chat-7'" in text and checkpoint_id in text and "'messages'" in text
        assert message in text


def test_missing_blob_is_reported_not_silently_dropped(tmp_path: Path) -> None:
    with LMDBSaver(tmp_path) as saver:
        # Claims channel "b" was stored earlier, but it never was.
        saver.put(cfg(), ckpt({"a": 1, "b": 2}, {"a": 1, "b": 1}), {}, {"a": 1})
        with pytest.raises(
            CheckpointCorruptError, match="'b' version 1: the value blob is missing"
        ):
            saver.get_tuple(cfg())


def _message(turn: int, role: str) -> dict[str, str]:
    text = f"{role} turn {turn}: " + "lorem ipsum dolor sit amet " * 6
    return {"role": role, "content": text[:180]}


def test_thousand_turn_thread_costs_bytes_written_not_quadratic(tmp_path: Path) -> None:
    turns = 1000
    with LMDBSaver(tmp_path, sync=False) as saver:
        talk = Conversation(saver)
        appended = 0
        full_copies = 0
        for turn in range(turns):
            new = [_message(turn, "user"), _message(turn, "assistant")]
            appended += len(default_serializer.dumps(new))
            talk.step(*new)
            full_copies += len(default_serializer.dumps(talk.messages))
        used = saver.disk_usage()
        found = saver.get(cfg())
        assert found is not None and found["channel_values"]["messages"] == talk.messages
    per_checkpoint = 400  # record + metadata + keys + B-tree slack, independent of history
    print(
        f"\n1000 turns: appended {appended} B, LMDB uses {used} B, full copies would be {full_copies} B"
    )
    assert used <= 5 * appended + per_checkpoint * turns
    assert used * 50 < full_copies


def _median_seconds(fn: Any, runs: int = 200) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    times.sort()
    return times[len(times) // 2]


@pytest.mark.slow
def test_latest_and_recent_history_do_not_scale_with_history(tmp_path: Path) -> None:
    def build(path: Path, count: int) -> LMDBSaver:
        saver = LMDBSaver(path, sync=False)
        config = cfg()
        for step in range(count):
            versions = {"a": step + 1, "b": 1}
            values = {"a": step, "b": "constant"}
            new = versions if step == 0 else {"a": step + 1}
            config = saver.put(config, ckpt(values, versions), {"step": step}, new)
        return saver

    with build(tmp_path / "short", 100) as short, build(tmp_path / "long", 10_000) as long:
        for saver in (short, long):  # warm up
            _median_seconds(lambda s=saver: s.get_tuple(cfg()), 20)
        short_get = _median_seconds(lambda: short.get_tuple(cfg()))
        long_get = _median_seconds(lambda: long.get_tuple(cfg()))
        short_list = _median_seconds(lambda: list(short.list(cfg(), limit=10)))
        long_list = _median_seconds(lambda: list(long.list(cfg(), limit=10)))
        latest = long.get_tuple(cfg())
        assert latest is not None and latest.metadata["step"] == 9_999
    assert long_get < 3 * short_get + 20e-6, (short_get, long_get)
    assert long_list < 3 * short_list + 50e-6, (short_list, long_list)


def test_shares_an_env_with_other_users(tmp_path: Path) -> None:
    env = LMDBEnv(tmp_path)
    other = env.db("store_items")
    env.write(lambda txn: txn.put(b"k", b"v", db=other))
    with LMDBSaver(env=env) as saver:
        saver.put(cfg(), ckpt({"a": 1}, {"a": 1}), {}, {"a": 1})
        saver.delete_thread("t")
    # The saver released its reference; the environment and other databases remain.
    with env.read() as txn:
        assert txn.get(b"k", db=other) == b"v"
    env.close()
    with lmdb.open(str(tmp_path), max_dbs=16, readonly=True) as raw, raw.begin() as txn:
        names = {key for key, _ in txn.cursor()}
    assert {b"ckpt_checkpoints", b"ckpt_blobs", b"ckpt_writes", b"ckpt_metadata"} <= names


# ------------------------------------------- what a saver remembers between puts
def _stored(path: Path) -> dict[str, dict[bytes, bytes]]:
    """Every key and value of the saver's databases under ``path``."""
    env = lmdb.open(str(path), max_dbs=16, readonly=True, lock=False)
    try:
        found: dict[str, dict[bytes, bytes]] = {}
        for name in ("ckpt_checkpoints", "ckpt_blobs", "ckpt_metadata"):
            db = env.open_db(name.encode(), create=False)
            with env.begin(db=db) as txn:
                found[name] = {bytes(k): bytes(v) for k, v in txn.cursor()}
        return found
    finally:
        env.close()


def _chat_puts(open_saver: Any, steps: int) -> None:
    """``steps`` puts appending to a list channel beside 11 others (deltas of versions
    and of the list, snapshots every 3 deltas); ``open_saver()`` gives the saver of each."""
    values: dict[str, Any] = {f"k{i}": i for i in range(11)}
    values["messages"] = []
    versions = dict.fromkeys(values, 1)
    config = cfg("chat")
    for step in range(1, steps + 1):
        old = values["messages"]
        values = {**values, "messages": [*old, f"message {step}" * step], "k0": step}
        changed = {"messages": step + 1, "k0": step + 1}
        versions = {**versions, **changed}
        made = ckpt(dict(values), dict(versions), {"messages": [step, len(old)]} if old else {})
        made["id"] = f"01a21600-0000-7000-8000-{step:012x}"  # the same ids on both sides
        made["ts"] = "2026-11-26T00:00:00+00:00"
        saver = open_saver()
        config = saver.put(config, made, {"step": step}, changed)


def test_a_saver_stores_the_bytes_a_saver_remembering_nothing_stores(tmp_path: Path) -> None:
    """What a saver keeps between puts (the parent's version map, the append chain's
    headers) only spares it reads: the stored bytes are those of a fresh saver per put."""
    with LMDBSaver(tmp_path / "kept", snapshot_every=3) as saver:
        _chat_puts(lambda: saver, 40)
    fresh: list[LMDBSaver] = []

    def fresh_saver() -> LMDBSaver:
        for old in fresh:
            old.close()
        fresh[:] = [LMDBSaver(tmp_path / "fresh", snapshot_every=3)]
        fresh[0]._versions.clear()  # nothing remembered from anywhere
        return fresh[0]

    _chat_puts(fresh_saver, 40)
    fresh[0].close()
    kept, made = _stored(tmp_path / "kept"), _stored(tmp_path / "fresh")
    assert kept["ckpt_blobs"] == made["ckpt_blobs"]
    assert len(kept["ckpt_checkpoints"]) == len(made["ckpt_checkpoints"]) == 40
    assert not kept["ckpt_metadata"] and not made["ckpt_metadata"]  # packed in the records
    deltas = [blob for key, blob in kept["ckpt_blobs"].items() if blob[:1] == b"D"]
    assert len(deltas) >= 20  # the chain was continued, with snapshots between


def test_a_version_map_not_described_by_new_versions_is_stored_whole(tmp_path: Path) -> None:
    """A delta of the version map is stored only when the parent's map plus
    ``new_versions`` is the checkpoint's map; a dropped channel is not lost."""
    with LMDBSaver(tmp_path / "db") as saver:
        versions = {f"k{i}": 1 for i in range(10)}
        config = saver.put(cfg(), ckpt(dict.fromkeys(versions, 0), dict(versions)), {}, versions)
        changed = {"k0": 2}
        versions = {**versions, **changed}
        config = saver.put(config, ckpt(dict.fromkeys(versions, 0), dict(versions)), {}, changed)
        dropped = {k: v for k, v in versions.items() if k != "k9"}
        config = saver.put(config, ckpt(dict.fromkeys(dropped, 0), dict(dropped)), {}, {})
        assert saver.get_tuple(config).checkpoint["channel_versions"] == dropped
        saver._versions.clear()  # read back from LMDB alone
        assert saver.get_tuple(config).checkpoint["channel_versions"] == dropped
        history = [t.checkpoint["channel_versions"] for t in saver.list(cfg())]
        assert history[1] == versions and history[2] == {f"k{i}": 1 for i in range(10)}


# ---------------------------------- a put after another process changed the thread
DELETER = textwrap.dedent(
    """
    import sys
    from graphkit.stores.checkpoint import LMDBSaver
    with LMDBSaver(sys.argv[1]) as saver:
        saver.delete_thread(sys.argv[2])
    """
)


def test_a_put_after_another_process_deleted_the_thread_stores_every_value(
    tmp_path: Path,
) -> None:
    """The saver skips looking its parent up only when no other write of any process
    came between (LMDB's transaction ids): a delete by another process is seen."""
    with LMDBSaver(tmp_path, sync=False) as saver:
        talk = Conversation(saver)
        for turn in range(4):
            talk.step(f"turn {turn}")
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        subprocess.run([sys.executable, "-c", DELETER, str(tmp_path), "t"], check=True, env=env)
        assert saver.get_tuple(cfg()) is None
        talk.step("after the delete")  # its parent and append base are gone
        found = saver.get_tuple(cfg())
        assert found is not None
        assert found.checkpoint["channel_values"]["messages"] == talk.messages
        assert found.checkpoint["channel_values"]["turns"] == talk.version
        talk.step("and on")  # the chain goes on from the self-contained checkpoint
        found = saver.get_tuple(cfg())
        assert found is not None and found.checkpoint["channel_values"]["messages"] == talk.messages


def test_a_put_right_after_its_parent_reads_back_whole_across_other_writers(
    tmp_path: Path,
) -> None:
    """Puts of two threads interleaved (each parent is then one transaction back or
    more) and back to back (the parent is the previous transaction): all read back."""
    with LMDBSaver(tmp_path, sync=False) as saver:
        one, two = Conversation(saver, "one"), Conversation(saver, "two")
        for turn in range(6):
            one.step(f"one {turn}")
            if turn % 2:
                two.step(f"two {turn}")
        for talk, thread in ((one, "one"), (two, "two")):
            for checkpoint_id, messages in talk.history:
                found = saver.get_tuple(cfg(thread, checkpoint_id))
                assert found is not None
                assert found.checkpoint["channel_values"]["messages"] == messages
