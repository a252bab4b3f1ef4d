"""The checkpoint serializer: msgpack with registered types, never an import by name."""

from graphkit.stores.serde import (
    SerdeError,
    Serializer,
    UnserializableError,
    default_serializer,
    register,
)

__all__ = [
    "SerdeError",
    "Serializer",
    "UnserializableError",
    "default_serializer",
    "register",
]
