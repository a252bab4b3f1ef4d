"""Checkpoint ids and timestamps (graphkit.stores.checkpoint.base)."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from graphkit.stores.checkpoint.base import utc_timestamp


@given(st.integers(0, 4_000_000_000_000_000), st.booleans())
def test_utc_timestamp_is_the_isoformat_of_that_instant(unix_us: int, whole: bool) -> None:
    if whole:
        unix_us -= unix_us % 1_000_000
    second, micro = divmod(unix_us, 1_000_000)
    want = dt.datetime.fromtimestamp(second, dt.timezone.utc).replace(microsecond=micro)
    assert utc_timestamp(unix_us) == want.isoformat()
    assert dt.datetime.fromisoformat(utc_timestamp(unix_us)) == want


def test_a_checkpoint_ts_is_utc_now() -> None:
    from typing_extensions import TypedDict

    from graphkit import END, START, StateGraph
    from graphkit.checkpoint.memory import InMemorySaver

    class S(TypedDict):
        x: int

    builder = StateGraph(S)
    builder.add_node("a", lambda s: {"x": 1})
    builder.add_edge(START, "a")
    builder.add_edge("a", END)
    graph = builder.compile(checkpointer=InMemorySaver())
    before = dt.datetime.now(dt.timezone.utc)
    config = {"configurable": {"thread_id": "t"}}
    graph.invoke({"x": 0}, config)
    ts = dt.datetime.fromisoformat(graph.get_state(config).created_at)
    assert before - dt.timedelta(seconds=1) <= ts <= dt.datetime.now(dt.timezone.utc)


def test_ids_are_uuid7_increasing_and_carry_the_time_given() -> None:
    import threading
    import time
    import uuid

    from graphkit.stores.checkpoint.base import checkpoint_id_bytes, new_checkpoint_id

    now_us = time.time_ns() // 1000
    made = new_checkpoint_id(now_us + 5_000_000)  # 5 s ahead: its millisecond is that one
    parsed = uuid.UUID(made)
    assert parsed.version == 7 and parsed.variant == uuid.RFC_4122 and str(parsed) == made
    assert int.from_bytes(parsed.bytes[:6], "big") == (now_us + 5_000_000) // 1000
    assert checkpoint_id_bytes(made) == parsed.bytes
    later = new_checkpoint_id(now_us)  # the clock "went back": still after the last one
    assert later > made and checkpoint_id_bytes(later) == uuid.UUID(later).bytes
    found: list[list[str]] = [[] for _ in range(4)]

    def make(out: list[str]) -> None:
        out.extend(new_checkpoint_id() for _ in range(3000))

    threads = [threading.Thread(target=make, args=(out,)) for out in found]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = [i for out in found for i in out]
    assert len(set(every)) == len(every)  # unique across threads
    for out in found:
        assert out == sorted(out) and out[0] > later  # increasing in each thread
        assert all(uuid.UUID(i).version == 7 for i in out[::97])


def test_ids_stay_valid_and_increasing_where_their_formatted_part_rolls_over() -> None:
    """Most ids are made by formatting only the two bytes before the process's tag:
    across the point where those roll over every id is still a UUIDv7, with the bytes
    the savers key it by."""
    import uuid

    from graphkit.stores.checkpoint import base

    first = base.new_checkpoint_id()
    base._last_high = (base._last_high | 0xFFFF) - 5  # 5 ids before the two bytes roll over
    same_ms = (base._last_high >> 42) * 1000  # the clock in the last id's millisecond
    made = []
    for _ in range(12):
        text = base.new_checkpoint_id(same_ms)
        parsed = uuid.UUID(text)
        assert parsed.version == 7 and parsed.variant == uuid.RFC_4122 and str(parsed) == text
        assert base._last_made == (text, parsed.bytes)  # what savers key it by
        made.append(text)
    assert [first, *made] == sorted({first, *made})  # increasing, none repeated
    rolled = [(uuid.UUID(text).int >> 32) & 0xFFFF for text in made]
    assert rolled[0] > 0xFF00 and rolled[-1] < 0x100  # the rollover was crossed
    tags = {uuid.UUID(text).int & 0xFFFFFFFF for text in [first, *made]}
    assert tags == {base._tag[0]}  # the last 32 bits: this process's tag


def test_ids_of_a_new_millisecond_and_after_an_observed_id_are_valid() -> None:
    import time
    import uuid

    from graphkit.stores.checkpoint import base

    now_us = time.time_ns() // 1000
    made = [base.new_checkpoint_id(now_us + 10_000_000 + 1000 * i) for i in range(3)]
    observed = made[-1][:15] + "abc-9def-0123" + made[-1][-8:]  # a sequence further on
    base.observe_checkpoint_id(observed)
    made += [base.new_checkpoint_id(now_us) for _ in range(3)]
    for text in made:
        parsed = uuid.UUID(text)
        assert parsed.version == 7 and parsed.variant == uuid.RFC_4122 and str(parsed) == text
        assert base.checkpoint_id_bytes(text) == parsed.bytes
    assert made == sorted(set(made)) and made[3] > observed


def test_ids_after_an_observed_id_early_in_its_millisecond_count_on_from_it() -> None:
    """An adopted id a few into its millisecond (or ids made out of order by threads):
    the ids made from it carry the sequence on, not a count restarted at its own."""
    import time
    import uuid

    from graphkit.stores.checkpoint import base

    ms = time.time_ns() // 1_000_000 + 20_000  # 20 s ahead: nothing made there yet
    hexms = f"{ms:012x}"
    observed = f"{hexms[:8]}-{hexms[8:]}-7000-8000-0005{base._tag[1]}"
    base.observe_checkpoint_id(observed)
    made = [base.new_checkpoint_id(ms * 1000) for _ in range(4)]
    assert [(uuid.UUID(i).int >> 32) & 0xFFFF for i in made] == [6, 7, 8, 9]
    assert all(base.checkpoint_id_bytes(i) == uuid.UUID(i).bytes for i in made)


_MAKE_IDS = """
import sys
from graphkit.stores.checkpoint.base import new_checkpoint_id, observe_checkpoint_id
observe_checkpoint_id(sys.argv[1])
sys.stdin.readline()  # start together
print(" ".join(new_checkpoint_id() for _ in range(2000)))
"""


def test_processes_that_adopted_one_id_make_different_ids_after_it() -> None:
    """Processes sharing a thread adopt each other's ids (observe_checkpoint_id) and then
    make the next ones in the same millisecond: their ids still never meet. The adopted
    id is a minute ahead of the clock (a loaded machine can take seconds to start the
    processes), so every id made is in its millisecond."""
    import subprocess
    import sys
    import time
    import uuid

    from graphkit.stores.checkpoint.base import new_checkpoint_id

    ahead = new_checkpoint_id(time.time_ns() // 1000 + 60_000_000)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _MAKE_IDS, ahead],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    outs = [p.communicate("go\n", timeout=60)[0].split() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    every = [i for out in outs for i in out]
    assert len(every) == 4 * 2000 and len(set(every)) == len(every)  # none made twice
    for out in outs:
        assert out == sorted(out) and out[0] > ahead  # each after the adopted id, increasing
        assert len({uuid.UUID(i).int & 0xFFFFFFFF for i in out}) == 1  # one tag a process
        assert uuid.UUID(out[0]).bytes[:6] == uuid.UUID(ahead).bytes[:6]  # its millisecond


def test_a_forked_child_makes_other_ids_than_its_parent() -> None:
    import os
    import sys

    import pytest

    from graphkit.stores.checkpoint.base import new_checkpoint_id

    if sys.platform == "win32" or not hasattr(os, "fork"):
        pytest.skip("needs fork()")
    new_checkpoint_id()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: three ids, to the parent
        os.write(write, " ".join(new_checkpoint_id() for _ in range(3)).encode())
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    child = os.read(read, 4096).decode().split()
    os.close(read)
    parent = [new_checkpoint_id() for _ in range(3)]
    assert len(child) == 3 and not set(child) & set(parent)
