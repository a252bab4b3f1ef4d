"""The inspecting CLI on hostile or unusual data: read-only, exact, valid JSON, clear errors."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypedDict

import lmdb
import pytest

from graphkit.checkpoint.lmdb import LMDBSaver
from graphkit.checkpoint.memory import InMemorySaver
from graphkit.cli import main
from graphkit.graph import END, START, StateGraph
from graphkit.store.lmdb import LMDBStore
from graphkit.stores.checkpoint.base import ConfigError, empty_checkpoint


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _put(path: Path, thread: str, values: dict[str, Any]) -> None:
    with LMDBSaver(path) as saver:
        ckpt = empty_checkpoint()
        ckpt["channel_values"] = values
        ckpt["channel_versions"] = dict.fromkeys(values, 1)
        saver.put(
            {"configurable": {"thread_id": thread}}, ckpt, {"step": 0}, dict.fromkeys(values, 1)
        )


def _named_databases(path: Path) -> set[bytes]:
    env = lmdb.open(str(path), readonly=True, lock=False, max_dbs=0)
    try:
        with env.begin() as txn:
            return {key for key, _ in txn.cursor()}
    finally:
        env.close()


@pytest.fixture
def store_dir(tmp_path: Path) -> Path:
    path = tmp_path / "mem"
    store = LMDBStore(path)
    store.put(("a",), "k1", {"v": 1})
    store.put(("a",), "k2", {"v": 2})
    for i in range(3):
        store.put(("a", "b"), f"k{i}", {"v": i})
    store.put(("c",), "k", {"v": 0})
    store.close()
    return path


# --------------------------------------------------------------- read-only
def test_threads_on_a_store_only_directory_creates_nothing(
    store_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _named_databases(store_dir)
    code, _, err = run(capsys, "threads", str(store_dir))
    assert code == 2 and "holds no checkpoints" in err
    code, _, err = run(capsys, "history", str(store_dir), "t")
    assert code == 2 and "holds no checkpoints" in err
    assert _named_databases(store_dir) == before


def test_store_on_a_checkpoint_only_directory_creates_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _put(tmp_path / "ck", "t", {"x": 1})
    before = _named_databases(tmp_path / "ck")
    code, _, err = run(capsys, "store", str(tmp_path / "ck"), "namespaces")
    assert code == 2 and "holds no memory store" in err
    assert _named_databases(tmp_path / "ck") == before


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[Path]:
    """A directory on a read-only bind mount holding checkpoints and a memory store."""
    data = tmp_path / "data"
    _put(data, "t", {"x": 1})
    store = LMDBStore(data)
    store.put(("n",), "k", {"v": 1})
    store.close()
    view = tmp_path / "ro"
    view.mkdir()
    if os.geteuid() != 0:
        os.chmod(data, 0o555)
        os.chmod(data / "lock.mdb", 0o444)
        os.chmod(data / "data.mdb", 0o444)
        yield data
        os.chmod(data, 0o755)
        return
    bound = subprocess.run(["mount", "--bind", str(data), str(view)], capture_output=True)
    if bound.returncode != 0:
        pytest.skip(f"cannot bind-mount here: {bound.stderr.decode().strip()}")
    try:
        ro = subprocess.run(["mount", "-o", "remount,ro,bind", str(view)], capture_output=True)
        if ro.returncode != 0:
            pytest.skip(f"cannot remount read-only: {ro.stderr.decode().strip()}")
        yield view
    finally:
        subprocess.run(["umount", "-l", str(view)], check=False)


def test_inspecting_commands_work_on_a_read_only_directory(
    read_only: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(OSError):
        (read_only / "probe").write_text("x")  # really read-only
    code, out, err = run(capsys, "threads", str(read_only))
    assert code == 0, err
    assert out.splitlines()[2].split()[0] == "t"
    assert run(capsys, "history", str(read_only), "t")[0] == 0
    code, out, _ = run(capsys, "state", str(read_only), "t", "--json")
    assert code == 0 and json.loads(out)["values"] == {"x": 1}
    code, out, err = run(capsys, "store", str(read_only), "namespaces")
    assert code == 0, err
    assert "n" in out.split()
    code, out, err = run(capsys, "store", str(read_only), "search", "n")
    assert code == 0, err


# ------------------------------------------------------------ exact output
def test_state_prints_huge_ints_and_json_is_valid_with_nan(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    huge = 7**9000  # ~7,600 digits: past Python's default str() limit
    values = {"huge": huge, "nan": math.nan, "inf": -math.inf, "nested": {"n": [math.inf]}}
    _put(tmp_path / "db", "t", values)
    code, out, err = run(capsys, "state", str(tmp_path / "db"), "t")
    assert code == 0, err
    limit = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)  # for this test's own str() and json.loads
    try:
        _check_huge_output(capsys, tmp_path, huge, out)
    finally:
        sys.set_int_max_str_digits(limit)


def _check_huge_output(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, huge: int, out: str
) -> None:
    assert str(huge) in out
    code, out, err = run(capsys, "state", str(tmp_path / "db"), "t", "--json")
    assert code == 0, err

    def refuse(name: str) -> Any:
        raise AssertionError(f"invalid JSON constant {name}")

    found = json.loads(out, parse_constant=refuse)["values"]
    assert found["huge"] == huge
    assert found["nan"] == "NaN" and found["inf"] == "-Infinity"
    assert found["nested"] == {"n": ["Infinity"]}


def test_state_of_a_value_nested_as_deep_as_graphkit_stores_it_is_shown_not_a_recursion_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    deep: Any = 1
    for _ in range(1000):  # the serializer stores up to ~1021 levels of lists
        deep = [deep]
    _put(tmp_path / "db", "t", {"deep": deep, "flat": 1})
    for flags in ((), ("--json",)):
        code, out, err = run(capsys, "state", str(tmp_path / "db"), "t", *flags)
        assert code == 0, err  # was 1: RecursionError: maximum recursion depth exceeded
        assert "list nested deeper than 100 levels: not shown" in out
    assert json.loads(out)["values"]["flat"] == 1


def test_store_namespaces_counts_each_namespace_exactly(
    store_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "store", str(store_dir), "namespaces", "--json")
    assert code == 0, err
    counts = {"/".join(row["namespace"]): row["items"] for row in json.loads(out)}
    assert counts == {"a": 2, "a/b": 3, "c": 1}


def test_thread_ids_with_lone_surrogates_and_long_ids_are_listed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _put(tmp_path / "db", "\ud800odd", {"x": 1})
    _put(tmp_path / "db", "L" * 5000, {"x": 2})
    code, out, err = run(capsys, "threads", str(tmp_path / "db"), "--json")
    assert code == 0, err
    ids = {row["thread_id"] for row in json.loads(out)}
    assert ids == {"\ud800odd", "L" * 5000}
    code, out, err = run(capsys, "state", str(tmp_path / "db"), "L" * 5000, "--json")
    assert code == 0 and json.loads(out)["values"] == {"x": 2}


# ---------------------------------------------------------- clear messages
def test_malformed_checkpoint_key_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _put(tmp_path / "db", "t", {"x": 1})
    with LMDBSaver(tmp_path / "db") as saver:
        db = saver.env.db("ckpt_checkpoints")
        saver.env.write(lambda txn: txn.put(b"no terminator here", b"x", db=db))
    code, _, err = run(capsys, "threads", str(tmp_path / "db"))
    assert code == 1
    assert "malformed checkpoint key" in err and "subsection" not in err


def test_draw_a_directory_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for target in (".", str(tmp_path), "..", ".hidden"):
        code, _, err = run(capsys, "draw", target)
        assert code == 2, (target, err)
        assert "TypeError" not in err


def test_draw_to_an_unknown_extension_refuses_instead_of_writing_dot(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = tmp_path / "app.py"
    app.write_text(
        "from typing import TypedDict\n"
        "from graphkit.graph import StateGraph, START, END\n"
        "class S(TypedDict):\n    x: int\n"
        "b = StateGraph(S)\nb.add_node('a', lambda s: s)\n"
        "b.add_edge(START, 'a')\nb.add_edge('a', END)\ngraph = b.compile()\n"
    )
    out_pdf = tmp_path / "out.pdf"
    code, _, err = run(capsys, "draw", str(app), "-o", str(out_pdf))
    assert code == 2 and "cannot tell the format" in err and "--format" in err
    assert not out_pdf.exists()
    code, _, err = run(capsys, "draw", str(app), "-o", str(tmp_path / "g.txt"))
    assert code == 0, err


# --------------------------------------------------------- config mistakes
class Counter(TypedDict):
    x: int


def _graph() -> Any:
    builder = StateGraph(Counter)
    builder.add_node("inc", lambda s: {"x": s["x"] + 1})
    builder.add_edge(START, "inc")
    builder.add_edge("inc", END)
    return builder.compile(checkpointer=InMemorySaver())


def test_configurable_that_is_not_a_dict_gets_a_clear_error() -> None:
    graph = _graph()
    with pytest.raises(ConfigError, match=r"config\['configurable'\] must be a dict, got str"):
        graph.invoke({"x": 1}, {"configurable": "t"})
    with pytest.raises(ConfigError, match="must be a dict"):
        graph.get_state({"configurable": "t"})


def test_thread_id_zero_is_a_thread() -> None:
    graph = _graph()
    assert graph.invoke({"x": 1}, {"configurable": {"thread_id": 0}}) == {"x": 2}
    assert graph.get_state({"configurable": {"thread_id": 0}}).values == {"x": 2}
