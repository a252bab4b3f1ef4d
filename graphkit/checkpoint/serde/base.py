"""``langgraph.checkpoint.serde.base``: the serializer and cipher interfaces."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

__all__ = ["CipherProtocol", "SerializerProtocol"]


@runtime_checkable
class SerializerProtocol(Protocol):
    """What a checkpoint saver's ``serde`` does: a value to ``(type tag, bytes)`` and
    back. graphkit's ``Serializer`` is one; ``isinstance(serde, SerializerProtocol)``
    checks an object has both methods, as with LangGraph's."""

    def dumps_typed(self, obj: Any) -> tuple[str, bytes]:
        """``obj`` as a type tag and bytes."""
        ...

    def loads_typed(self, data: tuple[str, bytes]) -> Any:
        """The value ``dumps_typed`` was given."""
        ...


class CipherProtocol(Protocol):
    """LangGraph's cipher: ``encrypt`` returns the cipher's name with the ciphertext,
    ``decrypt`` gets them back (see ``EncryptedSerializer``)."""

    def encrypt(self, plaintext: bytes) -> tuple[str, bytes]:
        """``plaintext`` encrypted, with the name of the cipher that did it."""
        ...

    def decrypt(self, ciphername: str, ciphertext: bytes) -> bytes:
        """``ciphertext`` (encrypted by the cipher named ``ciphername``) decrypted."""
        ...
