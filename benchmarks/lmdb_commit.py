"""The floor under "checkpoint CPU without fsync": one bare LMDB write transaction.

A checkpointed step of the ``ckpt_loop_nosync`` workload commits one LMDB transaction
(``LMDBSaver(sync=False)``). Without fsync, LMDB still ``pwrite``s every page the
transaction dirtied (one per database it touched, plus the meta page) into the file:
kernel time that process CPU counts. This times transactions of the same shape (a
checkpoint's record and one changed channel's blob: two small values in two databases),
process CPU, best of 5 rounds of 2,000 commits, for the environment flags graphkit uses
(``sync=False``) and for ``writemap=True``, which writes into the map instead (fewer
syscalls, but a write into a sparse file on a full disk is a SIGBUS that kills the
process, which graphkit does not accept):

    python benchmarks/lmdb_commit.py
"""

from __future__ import annotations

import tempfile
import time
from typing import Any

import lmdb

COMMITS = 2_000
ROUNDS = 5
DATABASES = (b"ckpt_checkpoints", b"ckpt_blobs")
SIZES = (200, 16)
"""Bytes per value, about those of the loop graph's checkpoint record and blob."""


def per_commit(**flags: Any) -> float:
    """Best seconds of CPU per commit over ``ROUNDS`` rounds."""
    with tempfile.TemporaryDirectory() as path:
        env = lmdb.open(path, map_size=1 << 30, max_dbs=len(DATABASES), **flags)
        dbs = [env.open_db(name) for name in DATABASES]
        best = float("inf")
        key = 0
        for _ in range(ROUNDS):
            start = time.process_time()
            for _ in range(COMMITS):
                key += 1
                with env.begin(write=True) as txn:
                    for db, size in zip(dbs, SIZES, strict=True):
                        txn.put(key.to_bytes(8, "big"), b"v" * size, db=db)
            best = min(best, (time.process_time() - start) / COMMITS)
        env.close()
    return best


def main() -> None:
    for label, flags in (
        ("sync=False (graphkit's nosync)", {"sync": False}),
        ("sync=False, metasync=False", {"sync": False, "metasync": False}),
        ("sync=False, writemap=True", {"sync": False, "writemap": True}),
    ):
        print(f"{label:32} {per_commit(**flags) * 1e6:6.1f} us CPU per commit")


if __name__ == "__main__":
    main()
