"""LangGraph names graphkit does not have because something else does their job: the
module stays importable, and asking it for such a name raises ``ReplacedModuleError``
(an ``ImportError``) saying what to use instead."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphkit.errors import ReplacedModuleError


def replaced_names(module: str, names: tuple[str, ...], message: str) -> Callable[[str], Any]:
    """A module ``__getattr__``: each of ``names`` raises with ``message`` (``{name}`` in
    it is the name asked for); any other name is missing as usual."""

    def __getattr__(name: str) -> Any:
        if name in names:
            raise ReplacedModuleError(message.format(name=name))
        raise AttributeError(f"module {module!r} has no attribute {name!r}")

    return __getattr__
