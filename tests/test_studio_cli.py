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


def test_the_command_serves_a_graph_on_lmdb_and_runs_persist(tmp_path: Path) -> None:
    ckpt, store = tmp_path / "ckpt", tmp_path / "store"
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
