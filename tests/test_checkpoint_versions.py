"""LMDBSaver stores each checkpoint's channel versions as a delta of its parent's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from graphkit.stores import LMDBSaver
from graphkit.stores.checkpoint import empty_checkpoint
from graphkit.stores.checkpoint._codec import VERSIONS_DELTA_MAX_DEPTH

KEYS = [f"k{i}" for i in range(300)]


def put_steps(
    saver: LMDBSaver, steps: int, thread: str = "t"
) -> list[tuple[dict[str, Any], dict[str, int]]]:
    """A wide state where each step changes two keys; returns what each checkpoint held."""
    values = dict.fromkeys(KEYS, 0)
    versions = dict.fromkeys(KEYS, 1)
    config: dict[str, Any] = {"configurable": {"thread_id": thread}}
    ckpt = empty_checkpoint()
    ckpt["channel_values"], ckpt["channel_versions"] = dict(values), dict(versions)
    config = saver.put(config, ckpt, {"step": 0}, dict(versions))
    history = [(dict(values), dict(versions))]
    for step in range(1, steps):
        changed = {KEYS[step % len(KEYS)]: step, KEYS[(step * 7) % len(KEYS)]: -step}
        values.update(changed)
        new_versions = dict.fromkeys(changed, step + 1)
        versions.update(new_versions)
        ckpt = empty_checkpoint()
        ckpt["channel_values"], ckpt["channel_versions"] = dict(values), dict(versions)
        config = saver.put(config, ckpt, {"step": step}, new_versions)
        history.append((dict(values), dict(versions)))
    return history


def test_history_reads_back_exact_versions_and_values(tmp_path: Path) -> None:
    with LMDBSaver(tmp_path / "db") as saver:
        expected = put_steps(saver, 3 * VERSIONS_DELTA_MAX_DEPTH + 5)
    with LMDBSaver(tmp_path / "db") as fresh:  # a new process would start with no cache
        got = list(fresh.list({"configurable": {"thread_id": "t"}}))
    assert [
        (t.checkpoint["channel_values"], t.checkpoint["channel_versions"]) for t in reversed(got)
    ] == expected


def test_records_stay_small_when_few_keys_change(tmp_path: Path) -> None:
    with LMDBSaver(tmp_path / "db") as saver:
        put_steps(saver, 60)
        with saver.env.read() as txn:
            sizes = [len(v) for _, v in txn.cursor(db=saver._checkpoints)]
    full = max(sizes)
    assert full > 300 * 4  # a full map names all 300 channels
    small = sorted(sizes)[: len(sizes) // 2]
    assert max(small) * 10 < full


def test_prune_keeps_delta_records_readable(tmp_path: Path) -> None:
    with LMDBSaver(tmp_path / "db") as saver:
        expected = put_steps(saver, 40)
        saver.prune(["t"], keep_latest=3)
        kept = list(saver.list({"configurable": {"thread_id": "t"}}))
        assert [t.checkpoint["channel_versions"] for t in reversed(kept)] == [
            v for _, v in expected[-3:]
        ]
        put_steps(saver, 5, thread="t2")
    with LMDBSaver(tmp_path / "db") as fresh:
        assert len(list(fresh.list({"configurable": {"thread_id": "t"}}))) == 3


def test_base_deleted_elsewhere_falls_back_to_a_full_record(tmp_path: Path) -> None:
    with LMDBSaver(tmp_path / "db") as writer, LMDBSaver(env=writer.env) as other:
        put_steps(writer, 5)
        latest = writer.get_tuple({"configurable": {"thread_id": "t"}})
        assert latest is not None
        other.delete_thread("t")  # writer still remembers the deleted checkpoint
        ckpt = empty_checkpoint()
        versions = dict(latest.checkpoint["channel_versions"]) | {"k0": 99}
        ckpt["channel_values"] = dict(latest.checkpoint["channel_values"]) | {"k0": "x"}
        ckpt["channel_versions"] = versions
        config = writer.put(latest.config, ckpt, {}, dict(versions))
        back = other.get_tuple(config)
        assert back is not None and back.checkpoint["channel_versions"] == versions


def test_put_batch_chains_appends_and_versions_within_one_transaction(tmp_path: Path) -> None:
    with LMDBSaver(tmp_path / "db") as saver:
        items = []
        parent: dict[str, Any] = {"configurable": {"thread_id": "b"}}
        messages: list[str] = []
        versions = dict.fromkeys(KEYS, 1)
        for step in range(1, 30):
            old_len = len(messages)
            messages = [*messages, f"m{step}" * 20]
            ckpt = empty_checkpoint()
            ckpt["channel_values"] = dict.fromkeys(KEYS, 0) | {"messages": messages}
            new = {"messages": step} if step > 1 else dict.fromkeys(KEYS, 1) | {"messages": 1}
            versions = versions | {"messages": step}
            ckpt["channel_versions"] = dict(versions)
            if step > 1:
                ckpt["channel_appends"] = {"messages": [step - 1, old_len]}
            items.append((parent, ckpt, {"step": step}, new))
            parent = {"configurable": {"thread_id": "b", "checkpoint_id": ckpt["id"]}}
        configs = saver.put_batch(items)
        assert [c["configurable"]["checkpoint_id"] for c in configs] == [i[1]["id"] for i in items]
        history = list(saver.list({"configurable": {"thread_id": "b"}}))
        assert [len(t.checkpoint["channel_values"]["messages"]) for t in history] == list(
            range(29, 0, -1)
        )
        with saver.env.read() as txn:
            blob_sizes = [len(v) for _, v in txn.cursor(db=saver._blobs)]
        full_copies = sum(len(saver.serde.dumps(i[1]["channel_values"]["messages"])) for i in items)
        assert sum(blob_sizes) * 3 < full_copies  # suffixes, not 29 growing copies


def test_list_filter_does_not_decode_the_state_of_checkpoints_it_skips(tmp_path: Path) -> None:
    with LMDBSaver(tmp_path / "db") as saver:
        config: dict[str, Any] = {"configurable": {"thread_id": "f"}}
        for step, tag in enumerate(["keep", "skip"]):
            ckpt = empty_checkpoint()
            ckpt["channel_values"] = {f"c{step}": step}
            ckpt["channel_versions"] = {f"c{step}": 1}
            config = saver.put(config, ckpt, {"tag": tag}, {f"c{step}": 1})
        with saver.env.read() as txn:  # find the blob of channel c1 ("skip" only)
            key = next(k for k, _ in txn.cursor(db=saver._blobs) if b"c1" in k)
        saver.env.write(lambda txn: txn.put(key, b"\xff not a blob", db=saver._blobs))
        found = list(saver.list({"configurable": {"thread_id": "f"}}, filter={"tag": "keep"}))
        assert [t.checkpoint["channel_values"] for t in found] == [{"c0": 0}]
