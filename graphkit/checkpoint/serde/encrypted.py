"""``langgraph.checkpoint.serde.encrypted``: a serializer that encrypts what it writes."""

from __future__ import annotations

import os
from typing import Any

from graphkit.checkpoint.serde.base import CipherProtocol
from graphkit.errors import InvalidArgumentError, MissingExtraError
from graphkit.stores.serde import SerdeError, Serializer

__all__ = ["EncryptedSerializer"]


class _NamedCipher:
    """graphkit's cipher (bytes to bytes) over LangGraph's, which names itself: the
    name is kept in front of the ciphertext."""

    __slots__ = ("cipher",)

    def __init__(self, cipher: CipherProtocol) -> None:
        self.cipher = cipher

    def encrypt(self, data: bytes) -> bytes:
        name, ciphertext = self.cipher.encrypt(data)
        tag = name.encode()
        if len(tag) > 255:
            raise SerdeError(
                f"the cipher's name is {len(tag)} bytes (UTF-8) long; EncryptedSerializer "
                "keeps it in front of the ciphertext in at most 255: give the cipher a "
                "shorter name"
            )
        return len(tag).to_bytes(1, "big") + tag + ciphertext

    def decrypt(self, data: bytes) -> bytes:
        size = data[0]
        return self.cipher.decrypt(data[1 : 1 + size].decode(), data[1 + size :])


class EncryptedSerializer(Serializer):
    """A ``Serializer`` whose blobs ``cipher`` encrypts (LangGraph's ``CipherProtocol``:
    ``encrypt(bytes) -> (name, bytes)``, ``decrypt(name, bytes) -> bytes``); ``serde``
    gives the other settings (pickling, allowed modules).

    >>> class Reverse:
    ...     def encrypt(self, plaintext): return "rev", plaintext[::-1]
    ...     def decrypt(self, ciphername, ciphertext): return ciphertext[::-1]
    >>> serde = EncryptedSerializer(Reverse())
    >>> serde.loads(serde.dumps({"secret": 1}))
    {'secret': 1}
    """

    __slots__ = ()

    def __init__(self, cipher: CipherProtocol, serde: Serializer | None = None) -> None:
        inner = serde or Serializer()
        super().__init__(
            cipher=_NamedCipher(cipher),
            allow_pickle=inner.allow_pickle,
            allowed_modules=inner._allowed,
        )

    @classmethod
    def from_pycryptodome_aes(
        cls, serde: Serializer | None = None, **kwargs: Any
    ) -> EncryptedSerializer:
        """AES (EAX mode unless ``mode=`` says otherwise) with ``key=`` bytes, or the
        ``LANGGRAPH_AES_KEY`` environment variable (16, 24 or 32 bytes); needs the
        ``pycryptodome`` package."""
        try:
            from Crypto.Cipher import AES
        except ImportError:
            raise MissingExtraError(
                "EncryptedSerializer.from_pycryptodome_aes needs pycryptodome: "
                "pip install pycryptodome"
            ) from None
        key = kwargs.pop("key", None)
        if key is None:
            text = os.getenv("LANGGRAPH_AES_KEY")
            if text is None:
                raise InvalidArgumentError(
                    "No AES key: pass key=b'...' (16, 24 or 32 bytes) or set LANGGRAPH_AES_KEY."
                )
            key = text.encode()
        if len(key) not in (16, 24, 32):
            raise InvalidArgumentError(f"The AES key must be 16, 24 or 32 bytes, not {len(key)}.")
        kwargs.setdefault("mode", AES.MODE_EAX)
        return cls(_AesCipher(AES, key, kwargs), serde)


class _AesCipher:
    """pycryptodome's AES as LangGraph's ``CipherProtocol`` (nonce and tag kept in front)."""

    __slots__ = ("aes", "key", "options")

    def __init__(self, aes: Any, key: bytes, options: dict[str, Any]) -> None:
        self.aes, self.key, self.options = aes, key, options

    def encrypt(self, plaintext: bytes) -> tuple[str, bytes]:
        cipher = self.aes.new(self.key, **self.options)
        ciphertext, tag = cipher.encrypt_and_digest(plaintext)
        return "aes", cipher.nonce + tag + ciphertext

    def decrypt(self, ciphername: str, ciphertext: bytes) -> bytes:
        if ciphername != "aes":
            raise InvalidArgumentError(f"Data encrypted with {ciphername!r}, not AES.")
        nonce, tag, data = ciphertext[:16], ciphertext[16:32], ciphertext[32:]
        cipher = self.aes.new(self.key, nonce=nonce, **self.options)
        return bytes(cipher.decrypt_and_verify(data, tag))
