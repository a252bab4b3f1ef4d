"""The graphkit command line: every command, its JSON output, and its exit codes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any, TypedDict

import pytest

from graphkit import END, START, StateGraph
from graphkit.cli import build_parser, main, parse_namespace
from graphkit.stores.checkpoint import LMDBSaver
from graphkit.stores.store import LMDBStore

ROOT = Path(__file__).resolve().parent.parent
HAS_DOT = shutil.which("dot") is not None

GRAPH_FILE = textwrap.dedent(
    """
    from typing import TypedDict
    from graphkit import StateGraph, START, END

    class S(TypedDict):
        x: int

    def bump(s: S) -> dict:
        return {"x": s["x"] + 1}

    builder = StateGraph(S)
    builder.add_node("bump", bump)
    builder.add_node("done", bump)
    builder.add_edge(START, "bump")
    builder.add_conditional_edges("bump", lambda s: "yes", {"yes": "done", "no": END})
    builder.add_edge("done", END)
    graph = builder.compile()

    def make_graph():
        return builder.compile()

    def needs_args(x):
        return graph

    not_a_graph = 42
    """
)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def app(tmp_path: Path) -> Path:
    path = tmp_path / "app.py"
    path.write_text(GRAPH_FILE)
    return path


# -------------------------------------------------------------------- help
@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["draw"],
        ["threads"],
        ["history"],
        ["state"],
        ["store"],
        ["store", "x", "search"],
        ["store", "x", "namespaces"],
        ["bench"],
        ["demo"],
    ],
)
def test_every_command_has_help(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args([*argv, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: graphkit")
    assert len(out.splitlines()) > 5


def test_usage_errors_are_one_line_with_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["draw", "x.py", "--format", "jpeg"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "invalid choice: 'jpeg'" in err and "--help" in err


def test_python_dash_m_runs_the_cli() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "graphkit", "--help"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0
    assert "threads" in proc.stdout and "demo" in proc.stdout


# -------------------------------------------------------------------- draw
def test_draw_file_by_name(app: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "draw", f"{app}:graph")
    assert code == 0
    assert out.startswith('digraph "LangGraph" {')
    assert '"bump" -> "done" [style=dashed, label="yes"];' in out


def test_draw_finds_the_only_compiled_graph(app: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "draw", str(app), "--format", "ascii")
    assert code == 0
    assert "[bump]" in out and "[done]" in out


@pytest.mark.parametrize("name", ["builder", "make_graph"])
def test_draw_compiles_builders_and_calls_factories(
    app: Path, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "draw", f"{app}:{name}", "-f", "mermaid")
    assert code == 0
    assert "graph TD;" in out and "bump -. &nbsp;yes&nbsp; .-> done;" in out


def test_draw_a_module_by_dotted_name(
    app: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(app.parent)
    monkeypatch.syspath_prepend(str(app.parent))
    code, out, _ = run(capsys, "draw", "app:graph")
    assert code == 0 and "digraph" in out


def test_draw_writes_files_in_the_format_of_their_extension(
    app: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "out.mmd"
    code, out, err = run(capsys, "draw", f"{app}:graph", "-o", str(target))
    assert code == 0 and out == ""
    assert "wrote mermaid" in err
    assert target.read_text().count("graph TD;") == 1


@pytest.mark.skipif(not HAS_DOT, reason="Graphviz `dot` not installed (apt install graphviz)")
def test_draw_svg_and_png(app: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "draw", f"{app}:graph", "--format", "svg", "--xray")
    assert code == 0 and "<svg" in out
    png = tmp_path / "g.png"
    code, _, _ = run(capsys, "draw", f"{app}:graph", "-o", str(png))
    assert code == 0 and png.read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("missing.py:graph", "no such file: missing.py"),
        ("{app}:nope", "has no attribute 'nope' (graphs in it: builder, graph)"),
        ("{app}:not_a_graph", "is a int, not a graph"),
        ("{app}:needs_args", "needs arguments (x)"),
        ("no_such_module_xyz", "no module named 'no_such_module_xyz'"),
    ],
)
def test_draw_usage_errors_exit_2(
    app: Path, target: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "draw", target.format(app=app))
    assert code == 2, err
    assert message in err
    assert err.count("\n") == 1 and out == ""


def test_draw_with_two_graphs_asks_for_a_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "two.py"
    path.write_text(GRAPH_FILE + "\nother = builder.compile()\n")
    code, _, err = run(capsys, "draw", str(path))
    assert code == 2
    assert "several graphs (graph, other)" in err


def test_draw_a_module_that_fails_to_import_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "broken.py"
    path.write_text("raise RuntimeError('boom at import')\n")
    code, _, err = run(capsys, "draw", str(path))
    assert code == 1
    assert err == "graphkit draw: RuntimeError: boom at import\n"


# ------------------------------------------------------------- checkpoints
class Counter(TypedDict):
    x: int


def _checkpointed(path: Path) -> None:
    """Two threads in an LMDB saver: 'a' run twice, 'b' once."""
    builder = StateGraph(Counter)
    builder.add_node("inc", lambda s: {"x": s["x"] + 1})
    builder.add_edge(START, "inc")
    builder.add_edge("inc", END)
    with LMDBSaver(path) as saver:
        graph = builder.compile(checkpointer=saver)
        graph.invoke({"x": 1}, {"configurable": {"thread_id": "a"}})
        graph.invoke({"x": 10}, {"configurable": {"thread_id": "a"}})
        graph.invoke({"x": 5}, {"configurable": {"thread_id": "b"}})


@pytest.fixture
def ckpt_dir(tmp_path: Path) -> Path:
    path = tmp_path / "ckpt"
    _checkpointed(path)
    return path


def test_threads_table_and_json(ckpt_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "threads", str(ckpt_dir))
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["thread", "checkpoints", "namespaces"]
    assert [line.split()[:2] for line in lines[2:]] == [["b", "3"], ["a", "6"]]
    code, out, _ = run(capsys, "threads", str(ckpt_dir), "--json")
    rows = json.loads(out)
    assert {r["thread_id"]: r["checkpoints"] for r in rows} == {"a": 6, "b": 3}
    assert all(r["latest_time"].endswith("+00:00") for r in rows)


def test_history_newest_first(ckpt_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "history", str(ckpt_dir), "a", "--json")
    assert code == 0
    rows = json.loads(out)
    assert [r["step"] for r in rows] == [4, 3, 2, 1, 0, -1]
    assert [r["source"] for r in rows] == ["loop", "loop", "input", "loop", "loop", "input"]
    assert rows[0]["writes"] == ["inc"] and rows[1]["next"] == ["inc"]
    code, out, _ = run(capsys, "history", str(ckpt_dir), "a", "--limit", "2")
    lines = out.splitlines()
    assert len(lines) == 4
    assert lines[2].split()[4:7] == ["4", "loop", "inc"]  # after id, parent, date, time


def test_state_prints_values(ckpt_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "state", str(ckpt_dir), "a")
    assert code == 0
    assert "step:          4" in out
    assert "  x: 11" in out
    code, out, _ = run(capsys, "history", str(ckpt_dir), "a", "--json")
    oldest_loop = json.loads(out)[3]["checkpoint_id"]
    code, out, _ = run(capsys, "state", str(ckpt_dir), "a", "--checkpoint", oldest_loop, "--json")
    data = json.loads(out)
    assert data["values"] == {"x": 2} and data["step"] == 1


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["history", "{d}", "zzz"], "no checkpoints for thread 'zzz'"),
        (["state", "{d}", "zzz"], "no checkpoints for thread 'zzz'"),
        (["state", "{d}", "a", "--checkpoint", "nope"], "is not a checkpoint id"),
        (
            ["state", "{d}", "a", "--checkpoint", "01a21286-4ee7-74ba-978d-8110597ab5f7"],
            "has no checkpoint",
        ),
        (["threads", "{d}/missing"], "no such directory"),
        (["threads", "{t}"], "is not an LMDB store (no data.mdb in it)"),
        (["history", "{d}", "a", "--limit", "0"], "expected a positive integer"),
    ],
)
def test_checkpoint_usage_errors_exit_2(
    ckpt_dir: Path,
    tmp_path: Path,
    argv: list[str],
    message: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    args = [a.format(d=ckpt_dir, t=empty) for a in argv]
    try:
        code = main(args)
    except SystemExit as exc:  # argparse-level errors
        code = int(exc.code or 0)
    err = capsys.readouterr().err
    assert code == 2, err
    assert message in err
    assert err.count("\n") == 1
    assert not (tmp_path / "missing").exists() and not (empty / "data.mdb").exists()


# ------------------------------------------------------------------- store
@pytest.fixture
def store_dir(tmp_path: Path) -> Path:
    path = tmp_path / "store"
    with LMDBStore(path, index={"dims": 64}) as store:
        store.put(("memories", "1"), "name", {"data": "Username is Bob"})
        store.put(("memories", "1"), "food", {"data": "Likes pizza with olives"})
        store.put(("memories", "2"), "name", {"data": "Username is Alice"})
        store.put(("docs",), "readme", {"data": "graphkit draws graphs"})
    return path


def test_store_namespaces(store_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "store", str(store_dir), "namespaces")
    assert code == 0
    assert [line.split() for line in out.splitlines()[2:]] == [
        ["docs", "1"],
        ["memories/1", "2"],
        ["memories/2", "1"],
    ]
    code, out, _ = run(
        capsys, "store", str(store_dir), "namespaces", "--prefix", "memories", "--json"
    )
    assert [r["namespace"] for r in json.loads(out)] == [["memories", "1"], ["memories", "2"]]


def test_store_search_ranks_by_query(store_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys,
        "store",
        str(store_dir),
        "search",
        "memories/1",
        "--query",
        "what is my name",
        "--json",
    )
    assert code == 0
    items = json.loads(out)
    assert items[0]["value"] == {"data": "Username is Bob"}
    assert items[0]["score"] > items[1]["score"]
    assert all(i["namespace"][:2] == ["memories", "1"] for i in items)
    code, out, _ = run(capsys, "store", str(store_dir), "search", "memories", "--limit", "2")
    assert len(out.splitlines()) == 4
    assert out.splitlines()[0].split() == ["namespace", "key", "score", "value", "updated", "(UTC)"]


def test_store_search_empty_namespace(store_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "store", str(store_dir), "search", "memories/3")
    assert code == 0 and out == f"no items under memories/3 in {store_dir}\n"


def test_parse_namespace() -> None:
    assert parse_namespace("memories/1") == ("memories", "1")
    assert parse_namespace("/memories/1/") == ("memories", "1")
    assert parse_namespace("") == ()
    from graphkit.cli import UsageError

    with pytest.raises(UsageError, match="empty label"):
        parse_namespace("memories//1")


# ------------------------------------------------------------------- bench
def test_bench_lists_and_rejects_unknown_workloads(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "bench", "--list")
    assert code == 0 and "chain" in out
    code, _, err = run(capsys, "bench", "--only", "no_such_workload")
    assert code == 2
    assert "no workload named no_such_workload (workloads: " in err


@pytest.mark.slow  # runs a benchmark
def test_bench_runs_a_workload_with_progress_and_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "bench.json"
    code, out, err = run(capsys, "bench", "--quick", "--only", "chain", "--json", str(target))
    assert code == 0, err
    assert "[" in err and "1/1" in err  # the progress bar
    assert out.startswith("# ") and "CPUs" in out.splitlines()[0]
    assert out.splitlines()[1].split()[:4] == ["workload", "graphkit", "LangGraph", "ratio"]
    assert any(line.startswith("chain ") for line in out.splitlines())
    payload: dict[str, Any] = json.loads(target.read_text())
    assert payload["machine"]["cpus"] and payload["results"][0]["name"] == "chain"


@pytest.mark.slow  # runs a benchmark
def test_bench_cpu_times_process_cpu_and_says_so_in_the_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "bench.json"
    code, _, err = run(
        capsys, "bench", "--quick", "--cpu", "--only", "chain", "--json", str(target)
    )
    assert code == 0, err
    payload: dict[str, Any] = json.loads(target.read_text())
    assert payload["timer"] == "process CPU" and payload["results"][0]["graphkit_median"] > 0


@pytest.mark.slow  # runs a benchmark
def test_bench_gc_keeps_the_collector_on_and_says_so_in_the_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "bench.json"
    code, _, err = run(capsys, "bench", "--quick", "--gc", "--only", "chain", "--json", str(target))
    assert code == 0, err
    payload: dict[str, Any] = json.loads(target.read_text())
    assert payload["gc"] == "on" and payload["results"][0]["graphkit_median"] > 0


def test_version_prints_the_installed_distribution_version() -> None:
    import subprocess
    import sys
    from importlib.metadata import version

    out = subprocess.run(
        [sys.executable, "-m", "graphkit", "--version"], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"graphkit {version('graphkit')}"


def _ones(texts: list[str]) -> list[list[float]]:
    return [[1.0] + [0.0] * 7 for _ in texts]


def test_store_search_refuses_a_custom_embedder_and_names_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with LMDBStore(tmp_path / "s", index={"dims": 8, "embed": _ones}) as store:
        store.put(("docs",), "a", {"text": "hello"})
    code, _, err = run(capsys, "store", str(tmp_path / "s"), "search", "docs", "--query", "hi")
    assert code == 2
    assert f"indexed with {__name__}._ones (8 dims)" in err
    assert "--embed PROVIDER:MODEL" in err
    code, out, _ = run(
        capsys, "store", str(tmp_path / "s"), "search", "docs", "--query", "hi", "--embed", "hash"
    )
    assert code == 0 and "hello" in out


def test_store_search_without_query_needs_no_embedder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with LMDBStore(tmp_path / "s", index={"dims": 8, "embed": _ones}) as store:
        store.put(("docs",), "a", {"text": "hello"})
    code, out, _ = run(capsys, "store", str(tmp_path / "s"), "search", "docs")
    assert code == 0 and "hello" in out
