"""Fixtures shared by the checkpointing, interrupt and subgraph tests.

``saver`` runs a test on every checkpoint saver we ship, ``durability`` on every
durability mode: a test that takes both runs on each combination, so each
behaviour is checked wherever a thread's state can live.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from hypothesis import settings
from hypothesis_budget import examples
from pg_server import ENV_URL, PgServer, empty_graphkit_tables, start

from graphkit.stores import InMemorySaver, LMDBSaver
from graphkit.stores.checkpoint import BaseCheckpointSaver
from graphkit.types import Durability

# property tests: no per-example deadline (a loaded CI machine is not a failure), and the
# example budget of hypothesis_budget (a fifth in make test, full in make test-slow)
settings.register_profile("graphkit", max_examples=examples(100), deadline=None)
settings.load_profile("graphkit")


_SHARED_SERVER = pytest.StashKey[PgServer]()


def pytest_configure(config: pytest.Config) -> None:
    """Under pytest-xdist the controller starts one throwaway server for all workers (each
    worker then makes its own database on it) instead of every worker running initdb."""
    if os.environ.get(ENV_URL) or os.environ.get("PYTEST_XDIST_WORKER"):
        return
    if not getattr(config.option, "numprocesses", None):
        return
    try:
        server = start()
    except RuntimeError:
        return  # no PostgreSQL here: each worker's pg_url skips (or fails under CI)
    os.environ[ENV_URL] = server.url
    config.stash[_SHARED_SERVER] = server


def pytest_unconfigure(config: pytest.Config) -> None:
    server = config.stash.get(_SHARED_SERVER, None)
    if server is not None:
        os.environ.pop(ENV_URL, None)
        server.stop()


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A PostgreSQL server for the session, schemas set up: ``$GRAPHKIT_TEST_PG_URL``, or
    a throwaway cluster on a unix socket (stopped at the end). While it runs, the URL is
    in ``$GRAPHKIT_TEST_PG_URL`` (so worker processes a test starts find it too)."""
    try:
        server: PgServer = start()
    except RuntimeError as exc:
        if os.environ.get("CI"):
            raise  # CI installs PostgreSQL: a missing server is a failure there
        pytest.skip(f"no PostgreSQL server: {exc}")
    before = os.environ.get(ENV_URL)
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    # pytest -n: workers sharing a configured server each get a database of their own
    url = _worker_database(server.url, worker) if worker and before else server.url
    os.environ[ENV_URL] = url
    try:
        from graphkit.checkpoint.postgres import PostgresSaver

        with PostgresSaver.from_conn_string(url) as made:
            made.setup()
        yield url
    finally:
        if before is None:
            os.environ.pop(ENV_URL, None)
        else:
            os.environ[ENV_URL] = before
        if url != server.url:
            _drop_database(server.url, url)
        server.stop()


def _worker_database(url: str, worker: str) -> str:
    """A fresh database named for this pytest-xdist worker on the server of ``url``."""
    import psycopg

    name = f"graphkit_test_{worker}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def _drop_database(server_url: str, url: str) -> None:
    import psycopg

    name = urlsplit(url).path.lstrip("/")
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_clean(pg_url: str) -> str:
    """``pg_url`` with every graphkit table emptied first."""
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as conn:
        empty_graphkit_tables(conn, "public")
    return pg_url


@pytest.fixture(params=["memory", "lmdb", "postgres"])
def saver(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BaseCheckpointSaver]:
    """An empty ``InMemorySaver``, ``LMDBSaver`` or ``PostgresSaver``."""
    if request.param == "memory":
        yield InMemorySaver()
    elif request.param == "lmdb":
        with LMDBSaver(tmp_path / "ckpt") as lmdb_saver:
            yield lmdb_saver
    else:
        from graphkit.checkpoint.postgres import PostgresSaver

        with PostgresSaver.from_conn_string(request.getfixturevalue("pg_clean")) as pg_saver:
            yield pg_saver


@pytest.fixture(params=["sync", "async", "exit"])
def durability(request: pytest.FixtureRequest) -> Durability:
    """When a run's checkpoints are written: each step, in the background, or at exit."""
    mode: Durability = request.param
    return mode
