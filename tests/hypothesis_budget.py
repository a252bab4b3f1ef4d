"""How many examples a property test tries.

``make test`` runs a fifth of each test's full count (at least 10) to stay quick;
``make test-slow`` (and so CI) runs every property test again at its full count with
``GRAPHKIT_THOROUGH=1``. A test passes its full count: ``@settings(max_examples=examples(300))``.
Tests without their own count get the profile conftest.py loads: ``examples(100)``.
"""

from __future__ import annotations

import os

THOROUGH = os.environ.get("GRAPHKIT_THOROUGH") == "1"


def examples(full: int) -> int:
    """``full`` when thorough, else a fifth of it, never below 10."""
    return full if THOROUGH else max(10, full // 5)
