"""``langgraph.checkpoint.serde.jsonplus``: ``JsonPlusSerializer`` under LangGraph's name
and arguments, as graphkit's ``Serializer``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from graphkit.errors import InvalidArgumentError
from graphkit.stores.serde import Serializer

__all__ = ["JsonPlusSerializer"]

_STRICT = (
    "graphkit's serializer decodes only the types registered with "
    "graphkit.checkpoint.serde.register (and, with allowed_msgpack_modules=[(module, ...), "
    "...], classes those modules define); it never imports a type named by the data. "
)


class JsonPlusSerializer(Serializer):
    """graphkit's ``Serializer`` built from LangGraph's arguments:
    ``pickle_fallback=True`` pickles what nothing else encodes (trusted data only);
    ``allowed_msgpack_modules=[("myapp.models", "Doc"), ...]`` lets loading resolve
    classes of those modules that this process has not registered.

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
        allowed_msgpack_modules: Iterable[tuple[str, ...]] | Literal[True] | None = None,
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
        modules = {entry[0] for entry in allowed_msgpack_modules or ()}
        super().__init__(allow_pickle=pickle_fallback, allowed_modules=sorted(modules), **kwargs)

    @property
    def pickle_fallback(self) -> bool:
        """Whether values nothing else encodes are pickled (LangGraph's name)."""
        return self.allow_pickle
