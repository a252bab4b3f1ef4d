"""``langgraph.checkpoint.serde.jsonplus``: ``JsonPlusSerializer`` under LangGraph's name
and arguments, as graphkit's ``Serializer``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from graphkit.errors import InvalidArgumentError
from graphkit.stores.serde import Serializer, register

__all__ = ["JsonPlusSerializer"]

_STRICT = (
    "graphkit's serializer decodes only the types registered with "
    "graphkit.checkpoint.serde.register (and, with allowed_msgpack_modules=[(module, name), "
    "...], those classes); it never imports a type named by the data. "
)


class JsonPlusSerializer(Serializer):
    """graphkit's ``Serializer`` built from LangGraph's arguments:
    ``pickle_fallback=True`` pickles what nothing else encodes (trusted data only);
    ``allowed_msgpack_modules=[("myapp.models", "Doc"), Other, ...]`` lets loading resolve
    those classes when this process has not registered them.

    >>> serde = JsonPlusSerializer(pickle_fallback=True)
    >>> serde.loads_typed(serde.dumps_typed({"a": [1, 2]}))
    {'a': [1, 2]}
    """

    __slots__ = ()

    def __init__(
        self,
        *,
        pickle_fallback: bool = False,
        allowed_json_modules: Iterable[tuple[str, ...]] | Literal[True] | None = None,
        allowed_msgpack_modules: Iterable[tuple[str, ...] | type] | Literal[True] | None = None,
        **kwargs: Any,
    ) -> None:
        if allowed_json_modules is not None:
            raise InvalidArgumentError(
                _STRICT + "It writes no JSON: drop allowed_json_modules=, and register "
                "the types your state holds."
            )
        if allowed_msgpack_modules is True:
            raise InvalidArgumentError(
                _STRICT + "allowed_msgpack_modules=True (any module) is not offered: "
                "list the modules, [(module, class), ...], or register the types."
            )
        modules, classes = _allowances(allowed_msgpack_modules or ())
        super().__init__(
            allow_pickle=pickle_fallback, allowed_modules=modules, allowed_classes=classes, **kwargs
        )

    @property
    def pickle_fallback(self) -> bool:
        """Whether values nothing else encodes are pickled (LangGraph's name)."""
        return self.allow_pickle


def _allowances(entries: Iterable[tuple[str, ...] | type]) -> tuple[list[str], list[str]]:
    """LangGraph's ``allowed_msgpack_modules`` as graphkit's allowances: a class is
    registered (it loads anywhere), ``(module, name)`` allows that class alone and
    ``(module,)`` the classes the module defines."""
    modules: list[str] = []
    classes: list[str] = []
    for entry in entries:
        if isinstance(entry, type):
            register(entry)
        elif len(entry) == 1:
            modules.append(entry[0])
        elif len(entry) >= 2:
            classes.append(f"{entry[0]}:{'.'.join(entry[1:])}")
    return modules, classes
