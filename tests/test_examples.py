"""The examples in examples/ run offline and do what their docstrings say."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_react_agent_calls_the_tool_then_answers(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    assert load("react_agent").main() == ["human", "ai", "tool", "ai"]
    assert "sunny in Paris" in capsys.readouterr().out


def test_human_in_the_loop_pauses_then_resumes() -> None:
    assert load("human_in_the_loop").main()["verdict"] == "approved"


def test_functional_api_keeps_a_running_total() -> None:
    assert load("functional_api").main() == 9


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("react_agent", ["human", "ai", "tool", "ai"]),
        ("functional_api", 9),
    ],
)
def test_examples_run_from_a_base_install_without_provider_sdks(
    name: str, expected: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No key and no anthropic/openai package (a base install): the examples still run."""
    for key in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY"):
        monkeypatch.delenv(key, raising=False)
    for module in ("anthropic", "openai", "graphkit.models.anthropic", "graphkit.models.openai"):
        monkeypatch.setitem(sys.modules, module, None)  # importing it raises ImportError
    assert load(name).main() == expected


def test_human_in_the_loop_runs_without_provider_sdks(monkeypatch: pytest.MonkeyPatch) -> None:
    for module in ("anthropic", "openai"):
        monkeypatch.setitem(sys.modules, module, None)
    assert load("human_in_the_loop").main()["verdict"] == "approved"
