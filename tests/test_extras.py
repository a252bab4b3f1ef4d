"""Optional dependencies: a feature used without its extra fails with one line naming it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from graphkit._extras import import_extra, missing_extra
from graphkit.errors import GraphkitError, MissingExtraError


def test_a_missing_extra_names_the_pip_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)
    with pytest.raises(MissingExtraError) as info:
        import_extra("psycopg", "PostgresSaver")
    message = str(info.value)
    assert message == (
        "PostgresSaver needs the optional package 'psycopg': pip install 'graphkit[postgres]'"
    )
    assert "\n" not in message
    assert isinstance(info.value, ImportError) and isinstance(info.value, GraphkitError)


def test_an_unknown_optional_package_names_itself() -> None:
    assert str(missing_extra("Thing", "some_pkg.sub")) == (
        "Thing needs the optional package 'some_pkg': pip install some_pkg"
    )


def test_an_import_error_inside_an_installed_extra_is_not_disguised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "ray.py").write_text("import not_a_real_dependency_xyz\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "ray", raising=False)
    with pytest.raises(ModuleNotFoundError) as info:
        import_extra("ray", "RayExecutor")
    assert info.value.name == "not_a_real_dependency_xyz"
    assert not isinstance(info.value, MissingExtraError)


@pytest.mark.parametrize(
    ("name", "extra"), [("ChatAnthropic", "anthropic"), ("ChatOpenAI", "openai")]
)
def test_a_provider_model_without_its_sdk_names_its_extra(
    name: str, extra: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, extra, None)
    monkeypatch.delitem(sys.modules, f"graphkit.models.{extra}", raising=False)
    import graphkit.models

    with pytest.raises(MissingExtraError, match=rf"pip install 'graphkit\[{extra}\]'"):
        getattr(graphkit.models, name)


def test_the_cli_reports_a_missing_extra_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The demo with a key set but no SDK: exit 1 and one line naming the extra."""
    from graphkit.cli import main

    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test-not-used")
    monkeypatch.setitem(sys.modules, "anthropic", None)
    monkeypatch.delitem(sys.modules, "graphkit.models.anthropic", raising=False)
    assert main(["demo", "--data-dir", str(tmp_path / "d")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "pip install 'graphkit[anthropic]'" in err


def test_ray_executor_without_ray_names_the_ray_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib

    monkeypatch.setitem(sys.modules, "ray", None)
    monkeypatch.delitem(sys.modules, "graphkit.engine.ray_executor", raising=False)
    with pytest.raises(MissingExtraError, match=r"pip install 'graphkit\[ray\]'"):
        importlib.import_module("graphkit.engine.ray_executor")


def test_a_missing_provider_sdk_is_a_missing_extra() -> None:
    from graphkit.models import MissingProviderPackageError

    assert issubclass(MissingProviderPackageError, MissingExtraError)
