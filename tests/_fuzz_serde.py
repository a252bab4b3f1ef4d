"""Mutation fuzzer for stored checkpoint bytes: every input decodes or raises SerdeError.

Run by tests/test_hardening_fuzz.py in a child process (so a segfault is a failed test,
not a dead pytest); also runnable by hand for longer::

    python tests/_fuzz_serde.py --seconds 600 --seed 7

The corpus is real checkpoints: a small graph with messages, dataclasses, pydantic
models, tuples, sets, datetimes, numpy arrays, big ints and append deltas is run
against an InMemorySaver, and every record, blob, metadata and pending write it
stored is mutated (bit flips, msgpack type bytes, splices, truncation, insertion,
extension codes, layers of nested extensions). Exit 0 when every input behaved;
1 with the offending input in hex otherwise.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import random
import sys
import time
import traceback
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Annotated, Any, TypedDict

import msgpack
import numpy as np
from pydantic import BaseModel

from graphkit.checkpoint.memory import InMemorySaver
from graphkit.graph import END, START, StateGraph
from graphkit.messages import AIMessage, HumanMessage, add_messages
from graphkit.stores.checkpoint import _codec as codec
from graphkit.stores.serde import SerdeError, Serializer


@dataclasses.dataclass
class Note:
    text: str
    tags: tuple[str, ...] = ()
    when: dt.datetime | None = None


class Profile(BaseModel):
    name: str
    scores: list[float] = []
    notes: list[Note] = []


class State(TypedDict, total=False):
    messages: Annotated[list[Any], add_messages]
    profile: Profile
    extra: dict[str, Any]


def _corpus() -> list[tuple[str, bytes]]:
    """(kind, bytes) of everything a short real run stores."""
    saver = InMemorySaver()

    def talk(state: State) -> State:
        n = len(state.get("messages", []))
        return {
            "messages": [AIMessage(content=f"reply {n}", id=f"a{n}")],
            "profile": Profile(
                name="ada",
                scores=[1.5, float("inf")],
                notes=[Note("x", ("a", "b"), dt.datetime(2024, 1, 2, tzinfo=dt.timezone.utc))],
            ),
            "extra": {
                "set": {1, 2, 3},
                "frozen": frozenset({"q"}),
                "big": 3**200,
                "uuid": uuid.UUID(int=7),
                "dec": Decimal("1.25"),
                "arr": np.arange(6, dtype=np.int32).reshape(2, 3),
                "td": dt.timedelta(seconds=5),
                "day": dt.date(2020, 5, 1),
                "tuple": (1, (2, (3,))),
                "bytes": b"\x00\xc1",
            },
        }

    builder = StateGraph(State)
    builder.add_node("talk", talk)
    builder.add_edge(START, "talk")
    builder.add_edge("talk", END)
    graph = builder.compile(checkpointer=saver)
    config = {"configurable": {"thread_id": "fuzz"}}
    for i in range(4):
        graph.invoke({"messages": [HumanMessage(content=f"hi {i}", id=f"h{i}")]}, config)
    out: list[tuple[str, bytes]] = []
    for spaces in saver._threads.values():
        for space in spaces.values():
            for record, meta in space.checkpoints.values():
                out += [("record", record), ("metadata", meta)]
            out += [("blob", blob) for blob in space.blobs.values()]
            for tasks in space.writes.values():
                for _, encoded in tasks.values():
                    out += [("write", data) for data in encoded]
    return out


_INTERESTING = [
    0x00, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xC0, 0xC1, 0xC2, 0xC4, 0xC5, 0xC6, 0xC7, 0xC8,
    0xC9, 0xCC, 0xCD, 0xCE, 0xCF, 0xD0, 0xD3, 0xD4, 0xD5, 0xD6, 0xD7, 0xD8, 0xD9, 0xDA,
    0xDB, 0xDC, 0xDD, 0xDE, 0xDF, 0xFF,
]  # fmt: skip


def _wrap(rng: random.Random, data: bytes) -> bytes:
    """Bury msgpack ``data`` under layers of extension types (deep nesting attacks)."""
    head, body = (data[:2], data[2:]) if data[:1] == b"\xc1" else (b"\xc1\x01", data)
    code = rng.choice([1, 2, 3, 14, 15, 16, 17, rng.randint(0, 127)])
    for _ in range(rng.choice([1, 5, 50, 127, 128, 129, 300])):
        body = msgpack.packb(msgpack.ExtType(code, body))
    return head + body


def mutate(rng: random.Random, data: bytes, corpus: list[tuple[str, bytes]]) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(9)
        at = rng.randrange(len(buf)) if buf else 0
        if op == 0 and buf:
            buf[at] ^= 1 << rng.randrange(8)
        elif op == 1 and buf:
            buf[at] = rng.choice(_INTERESTING)
        elif op == 2:
            buf[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        elif op == 3 and buf:
            del buf[at : at + rng.randint(1, 16)]
        elif op == 4:
            buf = buf[: rng.randrange(len(buf) + 1)]
        elif op == 5:
            other = rng.choice(corpus)[1]
            cut = rng.randrange(len(other) + 1)
            buf[at:] = other[cut:]
        elif op == 6 and buf:
            buf[at : at + 1] = bytes([0xD4 + rng.randrange(5), rng.randint(0, 20)])
        elif op == 7 and len(buf) > 4:
            n = rng.randint(1, 4)
            buf[at : at + n] = b"\xff" * n
        elif op == 8:
            buf = bytearray(_wrap(rng, bytes(buf)))
    return bytes(buf)


def _decoders(serde: Serializer) -> dict[str, Callable[[bytes], Any]]:
    where = "thread 'fuzz', checkpoint x"

    def blob(data: bytes) -> Any:
        store = {("c", 2): data, ("c", 1): codec.FULL + serde.dumps([1, 2])}
        return codec.read_values(serde, {"c": 2}, lambda ch, v: store.get((ch, v)), where)

    return {
        "record": lambda d: codec.decode_record(serde, d, where),
        "metadata": lambda d: codec.decode_metadata(serde, d, where),
        "write": lambda d: codec.decode_write(serde, d, where),
        "blob": blob,
        "raw": serde.loads,
    }


def run(seconds: float, seed: int) -> int:
    corpus = _corpus()
    serde = Serializer()
    decoders = _decoders(serde)
    rng = random.Random(seed)
    deadline = time.monotonic() + seconds
    count = 0
    while time.monotonic() < deadline:
        for _ in range(100):
            kind, original = rng.choice(corpus)
            data = mutate(rng, original, corpus)
            for name in (kind, "raw"):
                try:
                    decoders[name](data)
                except SerdeError:
                    pass
                except Exception:
                    print(f"FAIL seed={seed} after {count} inputs, decoder {name}", file=sys.stderr)
                    print(f"input: {data.hex()}", file=sys.stderr)
                    traceback.print_exc()
                    return 1
            count += 1
    print(f"ok: {count} mutated inputs from {len(corpus)} stored records, seed {seed}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    return run(args.seconds, args.seed)


if __name__ == "__main__":
    raise SystemExit(main())
