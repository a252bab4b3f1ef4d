"""Type hints of user classes and functions, resolved the way users write them.

With ``from __future__ import annotations`` every annotation is a string, and one that
names something local to the function defining the class or function (a reducer, a
state class in a test) does not resolve from the module. ``resolve_hints`` retries
with the locals of each calling frame, so schemas, nodes, tools and handlers defined
inside a function work as they do without the future import.
"""

from __future__ import annotations

import inspect
import typing
from typing import Any


def resolve_hints(obj: Any, *, include_extras: bool = True) -> dict[str, Any]:
    """``typing.get_type_hints(obj)``, retried with each calling frame's locals.

    Raises the ``NameError`` of the first attempt when a name resolves nowhere, and
    what ``get_type_hints`` raises for an object it cannot read (callers decide
    whether that is an error or "no hints").

    >>> def f(x: int) -> str: ...
    >>> resolve_hints(f)
    {'x': <class 'int'>, 'return': <class 'str'>}
    """
    try:
        return typing.get_type_hints(obj, include_extras=include_extras)
    except NameError as first_error:
        frame = inspect.currentframe()
        while frame is not None:
            try:
                return typing.get_type_hints(
                    obj, localns=frame.f_locals, include_extras=include_extras
                )
            except NameError:
                frame = frame.f_back
        raise first_error from None


def hints_or_empty(obj: Any, *, include_extras: bool = False) -> dict[str, Any]:
    """``resolve_hints``, or ``{}`` when they cannot be resolved (a callable whose
    hints are optional, as a node's or an error handler's)."""
    try:
        return resolve_hints(obj, include_extras=include_extras)
    except Exception:
        return {}
