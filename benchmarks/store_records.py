"""What encoding and decoding an LMDBStore item record costs, sealed (store format 3:
msgpack + CRC-32) against plain (format 2, and PostgreSQL's). Best of 7 rounds:

    python benchmarks/store_records.py
"""

from __future__ import annotations

import timeit

from graphkit.stores.store._core import Record
from graphkit.stores.store.lmdb_store import _record_bytes, _record_from, _records_from

RECORD = Record(
    ("memories", "user-1"),
    "food",
    {"text": "the user likes hiking in the alps and eats no meat", "tags": ["a", "b"]},
    1.5,
    2.5,
    None,
    None,
    [1],
)


def _best_us(fn: object, number: int) -> float:
    return min(timeit.repeat(fn, number=number, repeat=7)) / number * 1e6  # type: ignore[arg-type]


def _measure(sealed: bool) -> None:
    raw = _record_bytes(RECORD, sealed=sealed)
    ten = [raw] * 10
    encode = _best_us(lambda: _record_bytes(RECORD, sealed=sealed), 5000)
    one = _best_us(lambda: _record_from(raw), 5000)
    many = _best_us(lambda: _records_from(ten), 1000)
    print(
        f"{'sealed' if sealed else 'plain '}  {len(raw)} bytes  encode {encode:.2f} us  "
        f"decode {one:.2f} us  decode 10 (a search page) {many:.2f} us"
    )


def main() -> None:
    for sealed in (False, True):
        _measure(sealed)


if __name__ == "__main__":
    main()
