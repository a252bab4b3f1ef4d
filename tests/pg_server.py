"""A throwaway PostgreSQL server for tests and benchmarks.

``GRAPHKIT_TEST_PG_URL`` points everything at an existing server instead. Otherwise
:func:`start` runs ``initdb`` into a fresh temp directory and starts ``postgres``
listening only on a unix socket in that directory (no TCP port to collide on);
:meth:`PgServer.stop` stops it and removes the directory. PostgreSQL refuses to run as
root, so as root the server runs as the ``postgres`` user (Debian's packages create
it) or, failing that, a ``graphkit-pg`` user made for it.

Also a script, for ``.ci/run`` and benchmarks::

    python tests/pg_server.py start   # prints the URL and the data dir
    python tests/pg_server.py stop DIR
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ENV_URL = "GRAPHKIT_TEST_PG_URL"


def bin_dir() -> Path | None:
    """Where PostgreSQL's server binaries are (newest version), or None."""
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda d: int(d.split("/")[-2]))
    return Path(dirs[-1]) if dirs else None


def _server_user() -> pwd.struct_passwd | None:
    """The user to run the server as (None: the current one)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "graphkit-pg"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    subprocess.run(["useradd", "--system", "--no-create-home", "graphkit-pg"], check=True)
    return pwd.getpwnam("graphkit-pg")


@dataclass
class PgServer:
    """A running throwaway server (or an existing one, with ``home`` None)."""

    url: str
    """A conninfo URL for the ``postgres`` database, as superuser ``graphkit``."""
    home: Path | None = None
    """The temp directory holding the data dir and the socket (None: not ours)."""

    def stop(self) -> None:
        """Stop the server and remove its directory (no-op for a server we did not start)."""
        if self.home is not None:
            stop(self.home)
            self.home = None


def _run(args: list[str], user: pwd.struct_passwd | None) -> None:
    kwargs = {} if user is None else {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
    done = subprocess.run(args, capture_output=True, text=True, check=False, **kwargs)  # type: ignore[arg-type]
    if done.returncode != 0:
        raise RuntimeError(
            f"{' '.join(args)} failed ({done.returncode}):\n{done.stdout}{done.stderr}"
        )


def start() -> PgServer:
    """The server ``$GRAPHKIT_TEST_PG_URL`` names, else a new throwaway one."""
    url = os.environ.get(ENV_URL)
    if url:
        return PgServer(url)
    where = bin_dir()
    if where is None:
        raise RuntimeError(
            "PostgreSQL is not installed (no pg_ctl): apt-get install postgresql, "
            f"or set {ENV_URL} to a server's URL"
        )
    home = Path(tempfile.mkdtemp(prefix="gk-pg-"))
    user = _server_user()
    if user is not None:
        os.chown(home, user.pw_uid, user.pw_gid)
    data = home / "data"
    _run(
        [
            str(where / "initdb"),
            "-D",
            str(data),
            "-U",
            "graphkit",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        ],
        user,
    )
    options = (
        f"-k {home} -c listen_addresses='' -c fsync=off -c full_page_writes=off "
        "-c max_connections=200 -c shared_buffers=64MB"
    )
    _run(
        [
            str(where / "pg_ctl"),
            "-D",
            str(data),
            "-o",
            options,
            "-l",
            str(home / "log"),
            "-w",
            "start",
        ],
        user,
    )
    return PgServer(f"postgresql://graphkit@/postgres?host={home}", home)


def fresh_schema(url: str, name: str) -> str:
    """``url`` with ``search_path`` set to schema ``name``, holding no graphkit data.

    The schema is created once; later calls empty its tables (faster than dropping
    and migrating again) and reset the store's counters, keeping the migrations.
    """
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{name}"')
        if "graphkit_store_meta" in empty_graphkit_tables(conn, name):
            conn.execute(f"INSERT INTO {name}.graphkit_store_meta VALUES (1, 0, 0, NULL)")
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3D{name}"


def empty_graphkit_tables(conn: Any, schema: str) -> list[str]:
    """Delete every row of schema ``schema``'s graphkit tables but the migrations; returns
    their names. DELETE: ~10 ms faster than TRUNCATE on a few small tables (no FKs)."""
    tables = [
        row[0]
        for row in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s "
            "AND tablename LIKE 'graphkit%%' AND tablename <> 'graphkit_migrations'",
            (schema,),
        )
    ]
    if tables:
        conn.execute("; ".join(f"DELETE FROM {schema}.{t}" for t in tables))
    return tables


def stop(home: Path) -> None:
    """Stop the server whose temp directory is ``home`` and remove it."""
    where = bin_dir()
    data = home / "data"
    if where is not None and (data / "postmaster.pid").exists():
        user = _server_user()
        with contextlib.suppress(RuntimeError):
            _run([str(where / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"], user)
    shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["start"]:
        server = start()
        print(server.url)
        print(server.home or "")
    elif sys.argv[1:2] == ["stop"] and len(sys.argv) == 3:
        stop(Path(sys.argv[2]))
    else:
        sys.exit("usage: pg_server.py start | stop DIR")
