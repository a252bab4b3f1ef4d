"""Fixtures shared by the checkpointing, interrupt and subgraph tests.

``saver`` runs a test on every checkpoint saver we ship, ``durability`` on every
durability mode: a test that takes both runs on each combination, so each
behaviour is checked wherever a thread's state can live.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from graphkit.stores import InMemorySaver, LMDBSaver
from graphkit.stores.checkpoint import BaseCheckpointSaver
from graphkit.types import Durability


@pytest.fixture(params=["memory", "lmdb"])
def saver(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BaseCheckpointSaver]:
    """An empty ``InMemorySaver`` or ``LMDBSaver``."""
    if request.param == "memory":
        yield InMemorySaver()
    else:
        with LMDBSaver(tmp_path / "ckpt") as lmdb_saver:
            yield lmdb_saver


@pytest.fixture(params=["sync", "async", "exit"])
def durability(request: pytest.FixtureRequest) -> Durability:
    """When a run's checkpoints are written: each step, in the background, or at exit."""
    mode: Durability = request.param
    return mode
