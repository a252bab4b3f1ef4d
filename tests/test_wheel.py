"""The built wheel is complete: installed into a fresh venv outside the checkout, the
command line, the demo, the benchmarks and an example run from it.

Offline and quick: the wheel is built from a copy of the sources with the dev venv's
setuptools (no build isolation, no download), installed with ``--no-deps`` into a venv
that borrows the dev venv's site-packages for the dependencies (numpy, lmdb, ...), so
only graphkit itself comes from the wheel. Every command runs with the temp dir as its
working directory, where the checkout cannot be imported.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Sequence
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OFFLINE = ("--no-deps", "--no-index")
"""pip options: nothing downloaded (the dependencies come from the dev venv)."""


def _setuptools_can_build() -> bool:
    try:
        import setuptools
    except ImportError:
        return False
    return int(setuptools.__version__.split(".")[0]) >= 77


pytestmark = [
    pytest.mark.skipif(
        not _setuptools_can_build(),
        reason="building the wheel offline needs setuptools>=77 (pip install -e '.[dev]')",
    ),
    # one xdist worker builds the wheel and the venv (a session fixture) for all these tests
    pytest.mark.xdist_group("wheel"),
]


def _run(args: Sequence[str | Path], cwd: Path, **kw: object) -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "ANTHROPIC_API_KEY", "OPENAI_API_KEY", "VIRTUAL_ENV")
    }
    return subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        **kw,  # type: ignore[call-overload]
    )


def _ok(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 0, f"{proc.args} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


@pytest.fixture(scope="session")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel installed; returns its bin directory."""
    work = tmp_path_factory.mktemp("wheel")
    src = work / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(
        ROOT / "graphkit", src / "graphkit", ignore=shutil.ignore_patterns("__pycache__")
    )
    dist = work / "dist"
    # what `pip wheel` does, without pip: the PEP 517 hook of our build backend
    build = f"from setuptools import build_meta; build_meta.build_wheel({str(dist)!r})"
    _ok(_run([sys.executable, "-c", build], cwd=src))
    (wheel,) = dist.glob("graphkit-*.whl")
    env_dir = work / "venv"
    _ok(_run([sys.executable, "-m", "venv", "--without-pip", env_dir], cwd=work))
    python = env_dir / "bin" / "python"
    site = _ok(_run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], work))
    # The dependencies come from the dev venv (appended to sys.path after the venv's own
    # site-packages, and without running its .pth files: the editable graphkit stays out).
    deps = sysconfig.get_path("purelib")
    Path(site.strip(), "_dev_dependencies.pth").write_text(deps + "\n")
    _ok(
        _run(
            [sys.executable, "-m", "pip", "--python", python, "install", "-q", *OFFLINE, wheel],
            cwd=work,
        )
    )
    return env_dir / "bin"


def test_version_from_the_script_and_the_module(venv: Path) -> None:
    script = _ok(_run([venv / "graphkit", "--version"], venv.parent))
    module = _ok(_run([venv / "python", "-m", "graphkit", "--version"], venv.parent))
    assert script.startswith("graphkit ")
    assert script == module
    assert "unknown" not in script


def test_demo_runs_from_the_wheel_and_names_its_data_dir(venv: Path) -> None:
    out = _ok(_run([venv / "graphkit", "demo", "--data-dir", "demo-data"], venv.parent))
    data = venv.parent / "demo-data"
    assert f"data dir: {data}" in out
    assert "assistant: Your name is Bob." in out
    assert (data / "data.mdb").is_file()


def test_an_example_runs_offline_against_the_installed_package(venv: Path) -> None:
    example = ROOT / "examples" / "react_agent.py"
    script = (
        "import runpy, graphkit; print(graphkit.__file__); "
        f"runpy.run_path({str(example)!r}, run_name='__main__')"
    )
    out = _ok(_run([venv / "python", "-c", script], venv.parent))
    location = out.splitlines()[0]
    assert location.startswith(str(venv.parent)) and not location.startswith(str(ROOT))
    assert "sunny in Paris" in out


def test_bench_lists_its_workloads_from_the_wheel(venv: Path) -> None:
    out = _ok(_run([venv / "graphkit", "bench", "--list"], venv.parent))
    for name in ("chain", "ckpt_chain", "store_search_memory_1k"):
        assert f"\n{name} " in out
