"""LMDB faults a user meets in production: truncated files, fork, reader slots, full disks.

Anything that could crash the process runs in a child process, so a SIGBUS or SIGSEGV
is a failed assertion here, not a dead test run.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from graphkit.checkpoint.lmdb import LMDBSaver
from graphkit.errors import GraphkitError, InvalidArgumentError
from graphkit.stores import DiskFullError, ForkedEnvError, LMDBCorruptError, ReadersFullError
from graphkit.stores._lmdb import DEFAULT_MAX_READERS, LMDBEnv
from graphkit.stores.checkpoint.base import empty_checkpoint


def _put(saver: LMDBSaver, thread: str, value: Any, parent: dict[str, Any] | None = None) -> Any:
    ckpt = empty_checkpoint()
    ckpt["channel_values"] = {"x": value}
    version = int(uuid.uuid4().int % 1_000_000) + 1
    ckpt["channel_versions"] = {"x": version}
    config = parent or {"configurable": {"thread_id": thread}}
    return saver.put(config, ckpt, {"step": 0}, {"x": version})


def _run(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


# ------------------------------------------------------------ truncated file
@pytest.fixture
def filled(tmp_path: Path) -> Path:
    path = tmp_path / "db"
    with LMDBSaver(path) as saver:
        for i in range(40):
            _put(saver, f"t{i}", "x" * 20_000)
    return path


_READ_ALL = """
import sys
from graphkit.checkpoint.lmdb import LMDBSaver
from graphkit.stores import LMDBCorruptError
try:
    saver = LMDBSaver(sys.argv[1])
    for i in range(40):
        saver.get_tuple({"configurable": {"thread_id": f"t{i}"}})
except LMDBCorruptError as exc:
    print("refused:", exc)
"""


@pytest.mark.parametrize("keep", [0.5, 0.9])
def test_truncated_data_mdb_is_refused_on_open_not_a_sigbus(filled: Path, keep: float) -> None:
    data = filled / "data.mdb"
    os.truncate(data, int(data.stat().st_size * keep) // 4096 * 4096)
    proc = _run(_READ_ALL, str(filled))
    assert proc.returncode == 0, f"reader died with {proc.returncode}: {proc.stderr[-400:]}"
    assert "refused:" in proc.stdout and "truncated" in proc.stdout
    assert "Restore it from a backup" in proc.stdout


def test_data_mdb_cut_inside_its_header_is_refused(filled: Path) -> None:
    os.truncate(filled / "data.mdb", 100)
    proc = _run(_READ_ALL, str(filled))
    assert proc.returncode == 0, proc.stderr[-400:]
    assert "refused:" in proc.stdout


def test_cli_reports_a_truncated_store_instead_of_bus_error(filled: Path) -> None:
    data = filled / "data.mdb"
    os.truncate(data, data.stat().st_size // 2 // 4096 * 4096)
    for command in (["threads", str(filled)], ["state", str(filled), "t1"]):
        proc = subprocess.run(
            [sys.executable, "-m", "graphkit", *command], capture_output=True, text=True
        )
        assert proc.returncode == 1, (command, proc.returncode, proc.stderr)
        assert "truncated" in proc.stderr


def test_an_intact_store_opens_and_reads(filled: Path) -> None:
    proc = _run(_READ_ALL, str(filled))
    assert proc.returncode == 0 and proc.stdout == ""


def test_corrupt_error_is_a_graphkit_error() -> None:
    assert issubclass(LMDBCorruptError, GraphkitError)
    assert issubclass(DiskFullError, OSError)


# --------------------------------------------------------------------- fork
def _child_job(path: str, n: int) -> tuple[int, int, str]:
    """In a child: open the path afresh, write and read; report whose environment it got."""
    saver = LMDBSaver(path)
    try:
        config = _put(saver, f"child-{os.getpid()}-{n}", n)
        found = saver.get_tuple(config)
        assert found is not None and found.checkpoint["channel_values"]["x"] == n
        return os.getpid(), saver.env._pid, "ok"
    finally:
        saver.close()


@pytest.mark.parametrize("method", ["fork", pytest.param("spawn", marks=pytest.mark.slow)])
def test_children_open_their_own_environment_and_never_exhaust_readers(
    tmp_path: Path, method: str
) -> None:
    path = str(tmp_path / "db")
    parent = LMDBSaver(path)
    _put(parent, "parent", 0)
    with parent.env.read():  # the parent is mid-read while it forks
        ctx = multiprocessing.get_context(method)
        with ctx.Pool(2, maxtasksperchild=1 if method == "fork" else None) as pool:
            results = pool.starmap(_child_job, [(path, n) for n in range(60)])
    assert all(pid == opener for pid, opener, _ in results), "a child used its parent's env"
    assert parent.get_tuple({"configurable": {"thread_id": "parent"}}) is not None
    assert sum(1 for _ in parent.list(None)) == 61
    parent.close()


def _use_inherited(saver: LMDBSaver, queue: Any) -> None:
    try:
        saver.get_tuple({"configurable": {"thread_id": "parent"}})
        queue.put("no error")
    except ForkedEnvError as exc:
        queue.put(f"ForkedEnvError: {exc}")
    except BaseException as exc:  # pragma: no cover - reported to the parent
        queue.put(f"{type(exc).__name__}: {exc}")


def test_an_environment_inherited_across_fork_raises_a_clear_error(tmp_path: Path) -> None:
    saver = LMDBSaver(tmp_path / "db")
    _put(saver, "parent", 1)
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_use_inherited, args=(saver, queue))
    child.start()
    child.join(30)
    message = queue.get(timeout=5)
    assert message.startswith("ForkedEnvError") and "fork" in message, message
    assert child.exitcode == 0
    # The child exiting did not disturb the parent's environment.
    assert saver.get_tuple({"configurable": {"thread_id": "parent"}}) is not None
    saver.close()


# ------------------------------------------------------------------ readers
def test_default_reader_slots_are_sized_for_servers(tmp_path: Path) -> None:
    with LMDBSaver(tmp_path / "db") as saver:
        assert saver.env.env.max_readers() >= DEFAULT_MAX_READERS >= 1024


def test_readers_full_names_the_setting(tmp_path: Path) -> None:
    env = LMDBEnv(tmp_path / "db", max_readers=3)
    saver = LMDBSaver(env=env)
    _put(saver, "t", 1)
    reads = [env.read() for _ in range(3)]
    for read in reads:
        read.__enter__()
    try:
        with pytest.raises(ReadersFullError, match="max_readers"):
            saver.get_tuple({"configurable": {"thread_id": "t"}})
    finally:
        for read in reads:
            read.__exit__(None, None, None)
    assert saver.get_tuple({"configurable": {"thread_id": "t"}}) is not None
    saver.close()
    env.close()


def test_reader_slots_of_killed_processes_are_reclaimed(tmp_path: Path) -> None:
    path = tmp_path / "db"
    with LMDBSaver(path, max_readers=4) as saver:
        _put(saver, "t", 1)
        hold = """
        import os, sys
        from graphkit.stores._lmdb import LMDBEnv
        env = LMDBEnv(sys.argv[1], max_readers=4)
        reads = [env.read() for _ in range(3)]
        for r in reads:
            r.__enter__()
        os._exit(0)  # dies holding 3 reader slots
        """
        assert _run(hold, str(path)).returncode == 0
        for _ in range(3):
            assert saver.get_tuple({"configurable": {"thread_id": "t"}}) is not None


# ---------------------------------------------------------------- full disk
@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs (needs root); skipped where mounting is not allowed."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    if shutil.which("mount") is None or os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_full_disk_says_so_and_keeps_the_last_checkpoint(tiny_disk: Path) -> None:
    saver = LMDBSaver(tiny_disk / "db", map_size=64 << 20)
    config = _put(saver, "t", "first")
    written = 0
    with pytest.raises(DiskFullError) as info:
        for i in range(100):
            config = _put(saver, "t", os.urandom(150_000).hex()[: 150_000 + i], config)
            written += 1
    message = str(info.value)
    assert "disk" in message and "full" in message
    assert "nothing of this write" in message
    assert written < 100
    latest = saver.get_tuple({"configurable": {"thread_id": "t"}})
    assert latest is not None and latest.config == config  # the last good step is intact
    assert len(saver.list({"configurable": {"thread_id": "t"}}).__next__().checkpoint) > 0
    saver.close()


def test_file_size_limit_is_reported_as_nothing_written(tmp_path: Path) -> None:
    """The OS refuses to grow data.mdb past RLIMIT_FSIZE: the same failure as a full disk."""
    code = """
    import os, resource, signal, sys
    from graphkit.checkpoint.lmdb import LMDBSaver
    from graphkit.stores import DiskFullError
    from graphkit.stores.checkpoint.base import empty_checkpoint
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    saver = LMDBSaver(sys.argv[1])
    limit = os.path.getsize(os.path.join(sys.argv[1], "data.mdb")) + 400_000
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    config = {"configurable": {"thread_id": "t"}}
    for i in range(1, 50):
        ckpt = empty_checkpoint()
        ckpt["channel_values"] = {"x": os.urandom(100_000)}
        ckpt["channel_versions"] = {"x": i}
        try:
            config = saver.put(config, ckpt, {}, {"x": i})
        except DiskFullError as exc:
            got = saver.get_tuple({"configurable": {"thread_id": "t"}})
            print("full after", i - 1, "|", exc, "|", got.config == config)
            break
    """
    proc = _run(code, str(tmp_path / "db"))
    assert proc.returncode == 0, proc.stderr[-800:]
    assert "full after" in proc.stdout, proc.stdout
    assert "nothing of this write" in proc.stdout and "file size limit" in proc.stdout
    assert proc.stdout.strip().endswith("True")


def test_opening_a_database_while_another_thread_writes_does_not_deadlock(
    tmp_path: Path,
) -> None:
    """A deadlock here would hold the GIL: so it runs in a child, with a timeout."""
    code = """
    import sys, threading, time
    from graphkit.stores._lmdb import LMDBEnv
    env = LMDBEnv(sys.argv[1])
    data = env.db("data")
    holding = threading.Event()

    def slow_write(txn):
        holding.set()
        for i in range(20):
            time.sleep(0.01)  # lets go of the GIL while it holds the write lock
            txn.put(b"k%d" % i, b"v", db=data)

    writer = threading.Thread(target=lambda: env.write(slow_write))
    writer.start()
    holding.wait()
    env.db("opened_meanwhile")
    writer.join()
    print("ok")
    """
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), str(tmp_path / "db")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-500:]


# ----------------------------------------------------------- bad settings
@pytest.mark.parametrize(
    "settings,says",
    [
        ({"map_size": 1}, "map_size=1: .* at least 65536"),  # was MapFullError on open
        ({"map_size": -1}, "map_size=-1"),  # was OverflowError
        ({"map_size": 10**30}, "map_size="),  # was OverflowError
        ({"map_size": "big"}, "map_size='big'"),  # was TypeError
        ({"map_size": 1 << 20, "max_map_size": 1 << 19}, "at least map_size=1048576"),
        ({"max_readers": 0}, "max_readers=0"),
    ],
)
def test_bad_lmdb_settings_are_refused_by_name_before_anything_is_created(
    tmp_path: Path, settings: dict[str, Any], says: str
) -> None:
    with pytest.raises(InvalidArgumentError, match=says):
        LMDBSaver(tmp_path / "db", **settings)
    assert not (tmp_path / "db").exists()


def test_a_file_where_the_environment_goes_is_refused_by_name(tmp_path: Path) -> None:
    (tmp_path / "db").write_text("mine")
    with pytest.raises(InvalidArgumentError, match="is a file: an LMDB environment is a dir"):
        LMDBSaver(tmp_path / "db")  # was FileExistsError: [Errno 17] File exists
    assert (tmp_path / "db").read_text() == "mine"
    (tmp_path / "env").mkdir()
    (tmp_path / "env" / "data.mdb").mkdir()
    with pytest.raises(InvalidArgumentError, match="data.mdb is a directory"):
        LMDBSaver(tmp_path / "env")  # was lmdb.Error: Is a directory


# ------------------------------------------------------------ damaged pages
_READ_DAMAGED = """
import sys
from graphkit.checkpoint.lmdb import LMDBSaver
from graphkit.stores import LMDBCorruptError
try:
    saver = LMDBSaver(sys.argv[1])
    for i in range(40):
        list(saver.list({"configurable": {"thread_id": f"t{i}"}}))
    print("read all")
except LMDBCorruptError as exc:
    print("refused:", exc)
"""


def _retype_pages(data: Path, old: int, new: int) -> int:
    """Give every page (past the two meta pages) of type ``old`` the type ``new``
    (LMDB's page header: flags are 2 bytes at offset 10); how many were changed."""
    raw = bytearray(data.read_bytes())
    changed = 0
    for at in range(2 * 4096, len(raw), 4096):
        flags = int.from_bytes(raw[at + 10 : at + 12], "little")
        if flags & old:
            raw[at + 10 : at + 12] = ((flags & ~old) | new).to_bytes(2, "little")
            changed += 1
    data.write_bytes(bytes(raw))
    return changed


def test_pages_of_the_wrong_type_are_an_lmdb_corrupt_error(filled: Path) -> None:
    """LMDB says MDB_CORRUPTED (a raw lmdb.CorruptedError, before) when a page is not
    what the tree says: it now names the file and the fix."""
    assert _retype_pages(filled / "data.mdb", 0x02, 0x01) > 0  # leaf pages said branch
    proc = _run(_READ_DAMAGED, str(filled))
    assert proc.returncode == 0, f"reader died ({proc.returncode}): {proc.stderr[-600:]}"
    assert "refused:" in proc.stdout and "data.mdb is damaged" in proc.stdout, proc.stdout
    assert "restore it from a backup" in proc.stdout


def test_a_data_format_this_lmdb_cannot_read_is_an_lmdb_corrupt_error(filled: Path) -> None:
    data = filled / "data.mdb"
    raw = bytearray(data.read_bytes())
    for meta in (0, 4096):  # each meta page's format version (4 bytes at offset 20)
        raw[meta + 23] ^= 0x40
    data.write_bytes(bytes(raw))
    proc = _run(_READ_DAMAGED, str(filled))
    assert proc.returncode == 0, proc.stderr[-600:]
    assert "refused:" in proc.stdout and "not supported" in proc.stdout, proc.stdout


# --------------------------------------------------------- read-only media
def test_a_writable_open_on_a_read_only_filesystem_says_how_to_read_it(tiny_disk: Path) -> None:
    from graphkit.stores import LMDBAccessError
    from graphkit.stores.store.lmdb_store import LMDBStore

    saver = LMDBSaver(tiny_disk / "db")
    _put(saver, "t", "kept")
    saver.close()
    with LMDBStore(tiny_disk / "st") as store:
        store.put(("a",), "k", {"v": 1})
    done = subprocess.run(["mount", "-o", "remount,ro", str(tiny_disk)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot remount read-only: {done.stderr.decode().strip()}")
    for open_it in (lambda: LMDBSaver(tiny_disk / "db"), lambda: LMDBStore(tiny_disk / "st")):
        with pytest.raises(LMDBAccessError, match="for writing .* readonly=True"):
            open_it()  # was lmdb.Error: Read-only file system
    reader = LMDBSaver(env=LMDBEnv(tiny_disk / "db", readonly=True))
    found = reader.get_tuple({"configurable": {"thread_id": "t"}})
    assert found is not None and found.checkpoint["channel_values"] == {"x": "kept"}
    with LMDBStore.open_existing(tiny_disk / "st") as store:
        assert store.get(("a",), "k") is not None
