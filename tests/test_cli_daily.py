"""The command line in daily use: drawing without Graphviz, forked histories, paused
threads, readable columns, and progress on one line."""

from __future__ import annotations

import io
import json
import operator
import os
import shutil
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, TypedDict

import pytest

from graphkit import END, START, StateGraph, interrupt
from graphkit.bench import harness
from graphkit.cli import ProgressLine, clip_names, main
from graphkit.stores.checkpoint import LMDBSaver


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# -------------------------------------------------------------------- draw
NOISY_APP = textwrap.dedent(
    """
    from typing import TypedDict
    from graphkit import StateGraph, START, END

    print("hello from the file")

    class S(TypedDict):
        x: int

    builder = StateGraph(S)
    builder.add_node("a", lambda s: s)
    builder.add_edge(START, "a")
    builder.add_edge("a", END)
    graph = builder.compile()
    print("graph built")
    """
)


@pytest.fixture
def noisy_app(tmp_path: Path) -> Path:
    path = tmp_path / "noisy.py"
    path.write_text(NOISY_APP)
    return path


@pytest.fixture
def no_graphviz(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)


def test_what_the_drawn_file_prints_goes_to_stderr_not_into_the_dot(
    noisy_app: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "draw", str(noisy_app))
    assert code == 0
    assert out.startswith('digraph "LangGraph" {') and out.rstrip().endswith("}")
    assert "hello from the file" not in out and "graph built" not in out
    assert "hello from the file" in err and "graph built" in err


@pytest.mark.usefixtures("no_graphviz")
def test_svg_is_drawn_without_graphviz(
    noisy_app: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "g.svg"
    code, out, err = run(capsys, "draw", str(noisy_app), "-o", str(target))
    assert code == 0, err
    assert out == ""
    assert "wrote svg to" in err and "graphkit's own layout" in err
    root = ET.fromstring(target.read_bytes())
    assert {"START", "a", "END"} <= {t.text for t in root.iter() if t.text}


@pytest.mark.usefixtures("no_graphviz")
def test_png_without_graphviz_says_how_to_get_it_in_one_line(
    noisy_app: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "draw", str(noisy_app), "-o", str(tmp_path / "g.png"))
    assert code == 1
    last = err.strip().splitlines()[-1]  # the lines before it are the file's own prints
    assert "apt install graphviz" in last and "-o FILE.svg" in last
    assert not (tmp_path / "g.png").exists()


def test_the_builtin_renderer_is_chosen_by_flag(
    noisy_app: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "g.svg"
    code, _, err = run(capsys, "draw", str(noisy_app), "-o", str(target), "--renderer", "builtin")
    assert code == 0 and "graphkit's own layout" in err
    assert target.read_text().startswith("<?xml")


# ----------------------------------------------------------------- history
class Doc(TypedDict, total=False):
    draft: str
    verdict: str
    done: Annotated[list[str], operator.add]


def _paused_and_forked(path: Path) -> list[str]:
    """A thread that wrote, paused at two reviewers' interrupt(), then was forked from
    its step-0 checkpoint by update_state. Returns its checkpoint ids, newest first."""

    def write(state: Doc) -> dict[str, Any]:
        return {"draft": "hello world"}

    def review(state: Doc) -> dict[str, Any]:
        return {"verdict": interrupt({"question": "approve?", "draft": state["draft"]})}

    def second(state: Doc) -> dict[str, Any]:
        return {"verdict": interrupt("second opinion?")}

    builder = StateGraph(Doc)
    builder.add_node("write", write)
    builder.add_node("review", review)
    builder.add_node("second", second)
    builder.add_edge(START, "write")
    builder.add_edge("write", "review")
    builder.add_edge("write", "second")
    builder.add_edge("review", END)
    with LMDBSaver(path) as saver:
        graph = builder.compile(checkpointer=saver)
        config = {"configurable": {"thread_id": "t"}}
        graph.invoke({}, config)
        history = list(graph.get_state_history(config))
        graph.update_state(history[-2].config, {"draft": "forked"})
        return [s.config["configurable"]["checkpoint_id"] for s in graph.get_state_history(config)]


@pytest.fixture
def forked(tmp_path: Path) -> tuple[Path, list[str]]:
    ids = _paused_and_forked(tmp_path / "db")
    return tmp_path / "db", ids


def test_history_shows_parents_and_marks_the_fork(
    forked: tuple[Path, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    path, ids = forked
    code, out, _ = run(capsys, "history", str(path), "t")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["checkpoint", "id", "parent"]
    rows = {line.split()[0]: line for line in lines[2:] if line[:1].isalnum()}
    newest, paused, step0 = ids[0], ids[1], ids[2]
    assert f"…{step0[-12:]} fork" in rows[newest]  # forked from step 0, not the paused one
    assert rows[paused].split()[1] == "↓"
    assert "fork:" in lines[-1]


def test_history_json_has_parent_ids_and_fork_flags(
    forked: tuple[Path, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    path, ids = forked
    code, out, _ = run(capsys, "history", str(path), "t", "--json")
    assert code == 0
    rows = json.loads(out)
    assert [r["checkpoint_id"] for r in rows] == ids
    assert rows[0]["parent_id"] == ids[2] and rows[0]["fork"] is True
    assert rows[1]["parent_id"] == ids[2] and rows[1]["fork"] is False
    assert rows[-1]["parent_id"] is None


def test_long_next_columns_are_clipped_with_a_count(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    class S(TypedDict, total=False):
        x: Annotated[list[int], operator.add]

    builder = StateGraph(S)
    names = [f"worker_number_{i}" for i in range(12)]
    builder.add_node("plan", lambda s: {})
    builder.add_edge(START, "plan")
    for name in names:
        builder.add_node(name, lambda s: {"x": [1]})
        builder.add_edge("plan", name)
    with LMDBSaver(tmp_path / "db") as saver:
        builder.compile(checkpointer=saver).invoke({}, {"configurable": {"thread_id": "w"}})
    code, out, _ = run(capsys, "history", str(tmp_path / "db"), "w")
    assert code == 0
    assert "… +" in out and "more" in out
    assert max(len(line) for line in out.splitlines()) < 150
    _, out, _ = run(capsys, "history", str(tmp_path / "db"), "w", "--json")
    assert any(sorted(r["next"]) == sorted(names) for r in json.loads(out))


def test_clip_names_keeps_short_lists_and_counts_the_rest() -> None:
    assert clip_names([]) == "-"
    assert clip_names(["a", "b", "c"]) == "a, b, c"
    clipped = clip_names([f"node_{i}" for i in range(20)], width=32)
    assert len(clipped) <= 32 and clipped.endswith("more")
    assert clip_names(["x" * 50, "y"], width=32).endswith("… +1 more")


# ------------------------------------------------------------------- state
def test_state_of_a_paused_thread_shows_who_waits_and_for_what(
    forked: tuple[Path, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    path, ids = forked
    code, out, _ = run(capsys, "state", str(path), "t", "--checkpoint", ids[1])
    assert code == 0
    assert "waiting:       review, second paused at interrupt()" in out
    assert 'review [2:review#0]: {"question": "approve?", "draft": "hello world"}' in out
    assert 'second [2:second#0]: "second opinion?"' in out
    code, out, _ = run(capsys, "state", str(path), "t", "--checkpoint", ids[1], "--json")
    found = json.loads(out)["interrupts"]
    assert [(i["node"], i["value"]) for i in found] == [
        ("review", {"question": "approve?", "draft": "hello world"}),
        ("second", "second opinion?"),
    ]


def test_state_of_a_thread_that_waits_on_nothing_shows_no_interrupts(
    forked: tuple[Path, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    path, _ = forked
    code, out, _ = run(capsys, "state", str(path), "t")
    assert code == 0 and "waiting:" not in out and "interrupts:" not in out
    _, out, _ = run(capsys, "state", str(path), "t", "--json")
    assert json.loads(out)["interrupts"] == []


# -------------------------------------------------------------- progress
class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_on_a_terminal_is_one_line_redrawn() -> None:
    stream = _Terminal()
    progress = ProgressLine(stream)
    progress(0, 3, "chain", "graphkit setup")
    progress(0, 3, "chain", "sample 1/3")
    progress(1, 3, "loop", "sample 2/3")
    assert "\n" not in stream.getvalue()
    assert stream.getvalue().count("\r") == 3
    assert "1/3" in stream.getvalue() and "loop: sample 2/3" in stream.getvalue()
    progress(3, 3, "", "done")
    assert stream.getvalue().endswith("3/3 done in 0:00\x1b[K\n")


def test_progress_in_a_log_is_one_line_per_item() -> None:
    stream = io.StringIO()
    progress = ProgressLine(stream)
    progress(0, 2, "chain", "graphkit setup")
    progress(0, 2, "chain", "sample 1/3")
    progress(1, 2, "loop", "graphkit setup")
    progress(2, 2, "", "done")
    assert stream.getvalue().splitlines() == [
        "[1/2] 0:00 chain",
        "[2/2] 0:00 loop",
        "2/2 done in 0:00",
    ]


# ------------------------------------------------------------------- bench
@pytest.fixture
def heavy_workload(monkeypatch: pytest.MonkeyPatch) -> Iterator[harness.Workload]:
    from graphkit.bench import bench_engine

    heavy = harness.Workload("heavy_thing", "a heavy one", lambda: lambda: None)
    monkeypatch.setattr(bench_engine, "WORKLOADS", [*bench_engine.WORKLOADS, heavy])
    yield heavy


def test_a_bench_run_leaves_no_files_behind(tmp_path: Path) -> None:
    """Savers and stores that workloads open live in one scratch root, gone at exit."""
    script = textwrap.dedent(
        """
        from graphkit.bench.bench_checkpoint_graph import chain
        from graphkit.bench.harness import scratch_dir

        chain("graphkit")()  # opens a durable LMDBSaver and checkpoints a run into it
        print(scratch_dir("probe-"))
        """
    )
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    probe = Path(done.stdout.strip())
    assert probe.parent.name.startswith("graphkit-bench-")
    assert probe.parent.parent == tmp_path
    assert list(tmp_path.iterdir()) == []


def test_the_quick_suite_names_real_workloads() -> None:
    assert {w.name for w in harness.discover()} >= harness.QUICK
    assert {w.name for w in harness.discover(quick=True)} == harness.QUICK


def test_quick_leaves_out_heavy_workloads_unless_named(heavy_workload: harness.Workload) -> None:
    assert heavy_workload in harness.discover(["engine"])
    assert heavy_workload not in harness.discover(["engine"], quick=True)
    assert heavy_workload not in harness.discover(quick=True)
    assert harness.discover(["heavy_thing"], quick=True) == [heavy_workload]


def test_bench_list_says_which_workloads_are_quick(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "bench", "--list")
    assert code == 0
    assert out.splitlines()[0].split()[:2] == ["workload", "quick"]
    assert any(line.split()[:2] == ["chain", "yes"] for line in out.splitlines())


def test_what_the_stores_log_during_long_steps_reaches_stderr(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import logging

    stores = logging.getLogger("stores")
    monkeypatch.setattr(logging.getLogger(), "handlers", [])
    monkeypatch.setattr(stores, "handlers", [])
    monkeypatch.setattr(stores, "level", logging.NOTSET)
    assert main(["bench", "--list"]) == 0
    stores.info("stores: rebuilding the vector index (50000 rows) from LMDB")
    err = capsys.readouterr().err
    assert "graphkit: stores: rebuilding the vector index (50000 rows)" in err


def test_a_bench_sample_pauses_the_collector_unless_told_to_keep_it_on() -> None:
    import gc

    seen: list[bool] = []

    def probe() -> None:
        seen.append(gc.isenabled())

    assert harness._time_sample(probe, 2) >= 0
    assert harness._time_sample(probe, 2, collect=True) >= 0
    assert seen == [False, False, True, True] and gc.isenabled()
