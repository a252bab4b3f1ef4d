"""``graphkit studio``: the command serves the page for a graph file, on LMDB paths too."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import studio_graph

from graphkit.checkpoint.lmdb import LMDBSaver
from graphkit.cli import main

GRAPH = str(Path(__file__).with_name("studio_graph.py")) + ":graph"


def test_studio_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["studio", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "--checkpointer" in out and "--allow-remote" in out and "token" in out


def test_a_non_loopback_host_needs_allow_remote(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["studio", "--graph", GRAPH, "--host", "0.0.0.0"]) == 2
    err = capsys.readouterr().err
    assert "not a loopback address" in err and "--allow-remote" in err


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["studio", "--graph", "no/such/file.py:graph"]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["studio", "--graph", GRAPH, "--checkpointer", "postgres://x/y"]) == 2
    assert "only LMDB directories" in capsys.readouterr().err
    (tmp_path / "f").write_text("x")
    assert main(["studio", "--graph", GRAPH, "--checkpointer", str(tmp_path / "f")]) == 2
    assert "not a directory" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["studio", "--graph", GRAPH, "--port", "70000"])
    assert exc.value.code == 2


def _call(url: str, path: str, token: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    headers = {"X-Graphkit-Token": token, "Content-Type": "application/json"}
    with urllib.request.urlopen(urllib.request.Request(url + path, data, headers), timeout=30) as r:
        return json.load(r)


@pytest.mark.parametrize(
    "shared", [False, pytest.param(True, marks=pytest.mark.slow)], ids=["two_dirs", "one_dir"]
)
def test_the_command_serves_a_graph_on_lmdb_and_runs_persist(tmp_path: Path, shared: bool) -> None:
    ckpt, store = tmp_path / "ckpt", tmp_path / ("ckpt" if shared else "store")
    if shared:  # a directory that already holds both, with a vector index
        from graphkit.store.lmdb import LMDBStore
        from graphkit.stores.embeddings import HashEmbeddings

        with LMDBStore(store, index={"dims": 64, "embed": HashEmbeddings(64)}) as seeded:
            seeded.put(("notes",), "a", {"text": "pizza night"})
        with LMDBSaver(ckpt):
            pass
    proc = subprocess.Popen(
        [sys.executable, "-m", "graphkit", "studio", "--graph", GRAPH,
         "--checkpointer", str(ckpt), "--store", str(store)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ | {"PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("graphkit studio: http://127.0.0.1:"), line
        url = line.split(": ", 1)[1].strip()
        base, token = url.split("/?token=")
        info = _call(base, "/api/info", token)
        assert info["saver"] == "LMDBSaver" and info["store"] == "LMDBStore"
        if shared:
            found = _call(base, "/api/store/items?ns=%5B%5D&query=pizza", token)["items"]
            assert found[0]["key"] == "a" and found[0]["score"] > 0
        run = _call(base, "/api/runs", token, {"thread_id": "kept", "input": {"topic": "t"}})
        with urllib.request.urlopen(
            urllib.request.Request(
                f"{base}/api/runs/{run['run_id']}/events", headers={"X-Graphkit-Token": token}
            ),
            timeout=30,
        ) as events:
            assert b"event: end" in events.read()
    finally:
        proc.send_signal(signal.SIGINT)  # Ctrl-C: the normal way to stop it
        proc.wait(30)
    assert proc.returncode == 0
    assert proc.stderr is not None and "stopped" in proc.stderr.read()
    with LMDBSaver(ckpt) as saver:
        assert [t.thread_id for t in saver.list_threads()] == ["kept"]


def test_a_store_is_opened_at_its_own_dims_and_embedder(tmp_path: Path) -> None:
    from graphkit.store.lmdb import LMDBStore
    from graphkit.stores.embeddings import HashEmbeddings
    from graphkit.studio.command import open_store

    graph = studio_graph.build()  # its own store embeds at 64 dims
    with LMDBStore(tmp_path / "s32", index={"dims": 32, "embed": HashEmbeddings(32)}) as seeded:
        seeded.put(("notes",), "a", {"text": "pizza night"})
        seeded.put(("notes",), "b", {"text": "a quiet walk"})
    store = open_store(str(tmp_path / "s32"), graph.store)
    try:
        assert store.index_config["dims"] == 32
        found = store.search(("notes",), query="pizza")
        assert [i.key for i in found] == ["a", "b"] and found[0].score > found[1].score
    finally:
        store.close()
    fresh = open_store(str(tmp_path / "new"), graph.store)  # a new store: the graph's index
    try:
        assert fresh.index_config["dims"] == 64
    finally:
        fresh.close()
