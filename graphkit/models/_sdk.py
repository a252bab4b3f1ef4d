"""Plumbing shared by the SDK-backed models."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any


@functools.cache
def _accepted(method: Callable[..., Any]) -> frozenset[str]:
    return frozenset(inspect.signature(method).parameters)


def sdk_kwargs(method: Callable[..., Any], body: dict[str, Any]) -> dict[str, Any]:
    """Pass ``body`` to an SDK ``create`` method whatever fields its version knows.

    SDK releases add and drop keyword arguments (anthropic 2.x has no ``temperature``
    keyword, though the API takes it); fields the method does not accept travel in
    ``extra_body`` so the request on the wire is ``body`` either way.
    """
    accepted = _accepted(getattr(method, "__func__", method))
    kwargs = {k: v for k, v in body.items() if k in accepted}
    extra = {k: v for k, v in body.items() if k not in accepted}
    if extra:
        kwargs["extra_body"] = extra
    return kwargs
