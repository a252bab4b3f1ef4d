"""The serializer fuzz target (tests/_fuzz_serde.py), bounded in time, in a child process.

A crash (SIGSEGV, SIGBUS, abort) of the decoder is a non-zero return code here, so it
fails this test instead of killing the test run. GRAPHKIT_FUZZ_SECONDS runs it longer.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

FUZZER = Path(__file__).with_name("_fuzz_serde.py")


@pytest.mark.slow  # fuzzes for GRAPHKIT_FUZZ_SECONDS (3 s) per seed
@pytest.mark.parametrize("seed", [1, 2])
def test_mutated_real_checkpoints_decode_or_raise_serde_error_never_crash(seed: int) -> None:
    seconds = os.environ.get("GRAPHKIT_FUZZ_SECONDS", "3")
    proc = subprocess.run(
        [sys.executable, str(FUZZER), "--seconds", seconds, "--seed", str(seed)],
        capture_output=True,
        text=True,
        timeout=float(seconds) + 120,
    )
    assert proc.returncode == 0, (
        f"fuzzer exited with {proc.returncode} (negative: killed by signal {-proc.returncode})\n"
        f"{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
    )
    assert proc.stdout.startswith("ok: ")
