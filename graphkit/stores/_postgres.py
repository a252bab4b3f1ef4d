"""What PostgresSaver and PostgresStore share: connections, migrations, errors.

Both take a psycopg 3 ``Connection`` or a psycopg_pool ``ConnectionPool`` (or a
conninfo string / ``postgresql://`` URL, opened here). A single connection is
serialized by a lock (one transaction at a time); a pool hands each operation its
own. Transactions are explicit (``conn.transaction()``), so connections in autocommit
mode, as LangGraph's own examples make them, work as well as ones that are not.

The schema is created and moved forward by numbered migrations
(``graphkit_migrations`` records which ran). :func:`migrate` takes a transaction-level
advisory lock first, so many workers calling ``setup()`` at once apply each migration
exactly once and all return with the schema complete.
"""

from __future__ import annotations

import threading
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from graphkit.errors import GraphkitError

try:
    import psycopg
    from psycopg_pool import ConnectionPool
except ImportError as exc:  # pragma: no cover - depends on the install
    raise ImportError(
        "graphkit's PostgreSQL backends need psycopg 3 and psycopg-pool: "
        "pip install 'graphkit[postgres]'"
    ) from exc

__all__ = [
    "Conn",
    "PostgresConnectionError",
    "Connector",
    "migrate",
]

Conn = Any
"""A psycopg ``Connection`` (typed loosely: psycopg's generics add nothing here)."""

_MIGRATIONS_TABLE = """
CREATE TABLE IF NOT EXISTS graphkit_migrations (
    component text NOT NULL,
    version integer NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (component, version)
)"""


class PostgresConnectionError(GraphkitError, ConnectionError):
    """The database connection failed or dropped; what was committed before is intact.

    The operation that was running was rolled back (PostgreSQL never keeps half a
    transaction): retry it, or resume the run from its last checkpoint.
    """


def lock_key(*parts: str) -> int:
    """A signed 64-bit advisory lock key for ``parts`` (stable across processes)."""
    raw = "\x00".join(parts).encode("utf-8", "surrogatepass")
    value = (zlib.crc32(raw) << 32) | zlib.adler32(raw)
    return value - (1 << 64) if value >= 1 << 63 else value


class Connector:
    """Hands out a connection per operation, from a pool or one shared connection."""

    def __init__(self, conn: Any, *, owned: bool = False) -> None:
        if isinstance(conn, str):
            conn, owned = psycopg.connect(conn, autocommit=True, prepare_threshold=0), True
        if not isinstance(conn, (psycopg.Connection, ConnectionPool)):
            raise TypeError(
                f"expected a psycopg Connection, a psycopg_pool ConnectionPool or a "
                f"postgresql:// URL, got {type(conn).__name__}"
            )
        self.conn = conn
        """The connection or pool given."""
        self.owned = owned
        """Whether :meth:`close` closes it (we opened it)."""
        self._lock = threading.RLock()

    @contextmanager
    def connection(self) -> Iterator[Conn]:
        """A connection for one operation; connection failures become
        :class:`PostgresConnectionError`."""
        try:
            if isinstance(self.conn, ConnectionPool):
                with self.conn.connection() as conn:
                    yield conn
            else:
                with self._lock:
                    yield self.conn
        except psycopg.OperationalError as exc:
            raise PostgresConnectionError(
                f"PostgreSQL connection failed: {str(exc).strip()}; nothing after the "
                "last commit was stored: retry the operation (a run resumes from its "
                "last checkpoint)"
            ) from exc

    def close(self) -> None:
        """Close the connection or pool if we opened it."""
        if self.owned:
            self.conn.close()


def migrate(conn: Conn, component: str, migrations: Sequence[str]) -> int:
    """Apply ``migrations[i]`` (version i + 1) of ``component`` that have not run yet.

    A migration is SQL statements separated by ``;`` (none may contain one inside).

    Safe from many processes at once: the whole check-and-apply runs in one
    transaction under an advisory lock. Returns the schema version now in place.
    """
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (lock_key("graphkit-migrate"),))
        conn.execute(_MIGRATIONS_TABLE)
        row = conn.execute(
            "SELECT coalesce(max(version), 0) FROM graphkit_migrations WHERE component = %s",
            (component,),
        ).fetchone()
        done = int(row[0])
        for version in range(done + 1, len(migrations) + 1):
            for statement in migrations[version - 1].split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(
                "INSERT INTO graphkit_migrations (component, version) VALUES (%s, %s)",
                (component, version),
            )
    return len(migrations)
