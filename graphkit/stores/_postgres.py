"""What PostgresSaver and PostgresStore share: connections, migrations, errors.

Both take a psycopg 3 ``Connection`` or a psycopg_pool ``ConnectionPool`` (or a
conninfo string / ``postgresql://`` URL, opened here), with any ``row_factory``
(LangGraph's docs make them with ``dict_row``: we read tuples while we use them). A single connection is
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
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from graphkit.errors import (
    GraphkitError,
    InvalidArgumentError,
    InvalidCallError,
    SaverClosedError,
    StoreClosedError,
)

try:
    import psycopg
    from psycopg.conninfo import make_conninfo
    from psycopg.rows import tuple_row
    from psycopg_pool import ConnectionPool
except ImportError as exc:  # pragma: no cover - depends on the install
    from graphkit._extras import missing_extra

    raise missing_extra("graphkit's PostgreSQL backends", exc.name or "psycopg") from exc

__all__ = [
    "Conn",
    "Connector",
    "PostgresConnectionError",
    "migrate",
]

Conn = Any
"""A psycopg ``Connection`` (typed loosely: psycopg's generics add nothing here)."""

T = TypeVar("T")

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


class PostgresClosedError(SaverClosedError, StoreClosedError):
    """A PostgreSQL saver or store was used after ``close()`` closed the connections it
    opened (a :class:`~graphkit.errors.SaverClosedError` and a
    :class:`~graphkit.errors.StoreClosedError`)."""


def lock_key(*parts: str) -> int:
    """A signed 64-bit advisory lock key for ``parts`` (stable across processes)."""
    raw = "\x00".join(parts).encode("utf-8", "surrogatepass")
    value = (zlib.crc32(raw) << 32) | zlib.adler32(raw)
    return value - (1 << 64) if value >= 1 << 63 else value


def _async_conninfo(conn: Any) -> Any:
    """An async psycopg connection or psycopg_pool ``AsyncConnectionPool`` (as LangGraph's
    async savers and stores take) stands for its conninfo: the backends, which run their
    work in threads, open a pool of their own to the same server and database (they never
    share the async one)."""
    conninfo = getattr(conn, "conninfo", None)
    if type(conn).__name__ == "AsyncConnectionPool" and isinstance(conninfo, str):
        return conninfo
    if isinstance(conn, psycopg.AsyncConnection):
        info = conn.info
        return make_conninfo(info.dsn, password=info.password) if info.password else info.dsn
    return conn


class Connector:
    """Runs operations on a pool or one shared connection, retrying once on a new
    connection when the old one broke (every operation the backends run is idempotent:
    upserts by id, delete-then-insert, reads)."""

    def __init__(self, conn: Any, *, pool_size: int = 8) -> None:
        self.conninfo: str | None = None
        """The URL we connect with, when we opened the connection (then it can reconnect)."""
        conn = _async_conninfo(conn)
        if isinstance(conn, str):
            self.conninfo = conn
            try:  # fail now, with the server's own words, if it cannot be reached
                psycopg.connect(conn, autocommit=True).close()
            except psycopg.OperationalError as exc:
                raise PostgresConnectionError(
                    f"cannot connect to PostgreSQL: {str(exc).strip()}"
                ) from exc
            except (
                psycopg.ProgrammingError
            ) as exc:  # (the URL is not echoed: it may hold a password)
                raise InvalidArgumentError(
                    f"the PostgreSQL connection string is malformed ({str(exc).strip()}): "
                    "write it like postgresql://user:password@host:5432/dbname"
                ) from None
            conn = ConnectionPool(
                conn,
                min_size=1,
                max_size=pool_size,
                kwargs={"autocommit": True, "prepare_threshold": 0},
                open=True,
            )
        if not isinstance(conn, (psycopg.Connection, ConnectionPool)):
            raise InvalidCallError(
                f"expected a psycopg Connection, a psycopg_pool ConnectionPool or a "
                f"postgresql:// URL, got {type(conn).__name__}: open async connections "
                "with the URL instead (AsyncPostgresSaver.from_conn_string(url))"
            )
        self.conn = conn
        """The connection or pool in use."""
        self._lock = threading.RLock()
        self.closed = False
        """Set by :meth:`close` (of connections we opened: they are not reopened then)."""

    @contextmanager
    def _checkout(self) -> Iterator[Conn]:
        if isinstance(self.conn, ConnectionPool):
            with self.conn.connection() as conn:
                if conn.row_factory is tuple_row:
                    yield conn
                else:
                    with _tuple_rows(conn):
                        yield conn
        else:
            with self._lock:
                if self.conn.row_factory is tuple_row:
                    yield self.conn
                else:
                    with _tuple_rows(self.conn):
                        yield self.conn

    def run(self, fn: Callable[[Conn], T], *, single: bool = False, pipeline: bool = False) -> T:
        """``fn(conn)`` in one transaction.

        ``single=True``: ``fn`` runs one statement, which is a transaction of its own on
        an autocommit connection: one round trip, no BEGIN and COMMIT around it (the
        savers' hot paths are single statements for this reason).
        ``pipeline=True``: the transaction runs in pipeline mode: statements go out
        without waiting for each other's results (BEGIN with the first, COMMIT with
        the last), and only reading a result waits for the server.
        A broken connection is replaced and ``fn`` run once more; a second failure
        raises :class:`PostgresConnectionError` (nothing of ``fn`` was committed then,
        or all of it was: PostgreSQL commits a transaction whole or not at all).
        """
        attempt = 0
        while True:
            try:
                with self._checkout() as conn:
                    if single and conn.autocommit:
                        return fn(conn)
                    if pipeline:
                        with conn.pipeline(), conn.transaction():
                            return fn(conn)
                    with conn.transaction():
                        return fn(conn)
            except psycopg.OperationalError as exc:
                if self.closed:
                    raise PostgresClosedError(
                        "this PostgreSQL saver or store was closed (its connections with "
                        "it): keep it open while it is used, or open a new one"
                    ) from None
                if attempt == 0 and self._recover():
                    attempt = 1
                    continue
                raise PostgresConnectionError(
                    f"PostgreSQL connection failed: {str(exc).strip() or type(exc).__name__}; "
                    "the operation was not completed and nothing after the last commit "
                    "was stored: retry it when the server is back (a run resumes from "
                    "its last checkpoint)"
                ) from exc

    def _recover(self) -> bool:
        """Replace broken connections; True if a retry may work."""
        conn = self.conn
        if isinstance(conn, ConnectionPool):
            conn.check()
            return True
        if not conn.broken and not conn.closed:
            return True  # the statement failed (e.g. cancelled), the connection is fine
        if self.conninfo is None:
            return False  # not ours to reopen: the caller's connection is gone
        try:
            self.conn = psycopg.connect(self.conninfo, autocommit=True, prepare_threshold=0)
        except psycopg.OperationalError:
            return False
        return True

    def close(self) -> None:
        """Close the connection or pool if we opened it (again: nothing more)."""
        if self.conninfo is not None:
            self.closed = True
            self.conn.close()


@contextmanager
def _tuple_rows(conn: Conn) -> Iterator[None]:
    """Rows come back as tuples while we use ``conn``, then as they did before: the
    connections LangGraph's docs tell users to make for its savers and stores read
    rows as dicts (``row_factory=dict_row``), and the caller may use them so again."""
    factory = conn.row_factory
    conn.row_factory = tuple_row
    try:
        yield
    finally:
        conn.row_factory = factory


def migrate(conn: Conn, component: str, migrations: Sequence[str | Sequence[str]]) -> int:
    """Apply ``migrations[i]`` (version i + 1) of ``component`` that have not run yet.

    A migration is SQL statements separated by ``;`` (none may contain one inside), or
    a list of statements (a function body holds semicolons).

    Safe from many processes at once: the whole check-and-apply runs in one
    transaction under an advisory lock. Returns the schema version now in place.
    """
    if _version(conn, component) == len(migrations):
        return len(migrations)  # up to date: no lock, no DDL
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (lock_key("graphkit-migrate"),))
        conn.execute(_MIGRATIONS_TABLE)
        row = conn.execute(
            "SELECT coalesce(max(version), 0) FROM graphkit_migrations WHERE component = %s",
            (component,),
        ).fetchone()
        done = int(row[0])
        for version in range(done + 1, len(migrations) + 1):
            step = migrations[version - 1]
            statements = step.split(";") if isinstance(step, str) else step
            for statement in statements:
                if statement.strip():
                    conn.execute(statement)
            conn.execute(
                "INSERT INTO graphkit_migrations (component, version) VALUES (%s, %s)",
                (component, version),
            )
    return len(migrations)


def _version(conn: Conn, component: str) -> int:
    """The schema version of ``component`` in place (0 if none; no lock taken)."""
    row = conn.execute(
        "SELECT CASE WHEN to_regclass('graphkit_migrations') IS NULL THEN NULL ELSE 1 END"
    ).fetchone()
    if row[0] is None:
        return 0
    found = conn.execute(
        "SELECT coalesce(max(version), 0) FROM graphkit_migrations WHERE component = %s",
        (component,),
    ).fetchone()
    return int(found[0])
