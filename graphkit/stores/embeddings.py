"""Text embeddings for the memory store: the protocol, adapters, and a local default.

A store's ``index={"embed": ...}`` accepts any of:

- an object with ``embed_documents`` / ``embed_query`` (the :class:`Embeddings`
  protocol; LangChain embeddings satisfy it),
- a plain sync function ``list[str] -> list[list[float]]``,
- an async function ``async (list[str]) -> list[list[float]]``,
- the string ``"hash"`` or nothing at all: :class:`HashEmbeddings`, a local,
  dependency-free embedding that needs no network and no model download,
- a ``"provider:model"`` string such as ``"openai:text-embedding-3-small"``
  (built by :func:`graphkit.embeddings.init_embeddings`, as in LangGraph's docs).

:func:`embeddings_name` says which embedder a config names, so a persistent
store can record it and a later reader can embed queries the same way.

:func:`ensure_embeddings` turns any of these into an :class:`Embeddings`.
"""

from __future__ import annotations

import asyncio
import inspect
import math
import re
import struct
from collections.abc import Awaitable, Callable, Sequence
from functools import lru_cache
from hashlib import blake2b
from typing import Any, Protocol, Union, runtime_checkable

from graphkit.errors import InvalidStoreConfigError, RunContextError

EmbedFunc = Callable[[Sequence[str]], list[list[float]]]
"""A sync embedding function: texts in, one vector per text out."""

AEmbedFunc = Callable[[Sequence[str]], Awaitable[list[list[float]]]]
"""An async embedding function: texts in, one vector per text out."""


@runtime_checkable
class Embeddings(Protocol):
    """What the store needs from an embedding model.

    ``embed_documents`` embeds stored texts (one batched call per store batch);
    ``embed_query`` embeds a search query. The async twins are used by
    ``abatch``/``aput``/``asearch``. Any object with the two sync methods works (duck
    typing, e.g. LangChain embeddings); a class that subclasses ``Embeddings`` and
    defines only the sync methods inherits async twins that run them in a worker
    thread, as LangChain's ``Embeddings`` base class does.

    >>> import asyncio
    >>> class Ones(Embeddings):
    ...     def embed_documents(self, texts): return [[1.0] for _ in texts]
    ...     def embed_query(self, text): return [1.0]
    >>> asyncio.run(Ones().aembed_query("hi"))
    [1.0]
    """

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """One vector per text, in order."""
        raise NotImplementedError(f"{type(self).__name__} must define embed_documents().")

    def embed_query(self, text: str) -> list[float]:
        """The vector of a search query."""
        raise NotImplementedError(f"{type(self).__name__} must define embed_query().")

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        """Async :meth:`embed_documents` (default: it, in a worker thread)."""
        return await asyncio.to_thread(self.embed_documents, texts)

    async def aembed_query(self, text: str) -> list[float]:
        """Async :meth:`embed_query` (default: it, in a worker thread)."""
        return await asyncio.to_thread(self.embed_query, text)


EmbeddingsFunc = EmbedFunc
"""LangGraph's name of :data:`EmbedFunc`."""
AEmbeddingsFunc = AEmbedFunc
"""LangGraph's name of :data:`AEmbedFunc`."""

EmbeddingsLike = Union[Embeddings, EmbedFunc, AEmbedFunc, str, None]  # noqa: UP007 - runtime alias on 3.10
"""Anything :func:`ensure_embeddings` accepts."""


_STOPWORDS = frozenset(
    " ".join(
        [
            "a an the is am are was were be been being do does did have has had i me my",
            "mine we our you your he him his she her it its they them their what which who",
            "whom this that these those of in on at to for with from by about as and or but",
            "if so not no can could would should will shall may might must there here when",
            "where why how all any some just very too also than then into out up down",
        ]
    ).split(" ")
)
_WORD_RE = re.compile(r"[^\W_]+", re.UNICODE)


class HashEmbeddings:
    """Local default embeddings: signed feature hashing of words and character n-grams.

    Each text is lowercased and split into words; stopwords ("is", "my", "what",
    ...) are dropped unless nothing else is left. Features are the words (weight
    1.0) and the character trigrams of each word with boundary markers (weight
    ``ngram_weight``) and 4-grams, so "name" and "Username" share "nam", "name",
    "ame#". Each
    feature is hashed with blake2b (never Python's randomised ``hash()``) to a
    bucket and a sign, so vectors are identical across processes and machines.
    Vectors are L2-normalised.

    It captures lexical overlap, not meaning: good enough for offline demos and
    tests, replace it with a real model (``OpenAIEmbeddings``,
    ``SentenceTransformerEmbeddings``) for semantic recall.

    >>> emb = HashEmbeddings(dims=64)
    >>> len(emb.embed_query("hello world"))
    64
    >>> emb.embed_query("Hello") == emb.embed_documents(["hello"])[0]
    True
    """

    __slots__ = ("dims", "ngram", "ngram_weight")

    def __init__(self, dims: int = 384, *, ngram: int = 3, ngram_weight: float = 0.5) -> None:
        if dims < 1:
            raise InvalidStoreConfigError(f"HashEmbeddings needs dims >= 1, got {dims}.")
        self.dims = dims
        """Vector length."""
        self.ngram = ngram
        """Shortest character n-gram (n-grams of this length and one longer are used)."""
        self.ngram_weight = ngram_weight
        """Weight of each n-gram feature relative to a whole word."""

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed each text."""
        return [self._embed(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        """Embed a query (same function as documents)."""
        return self._embed(text)

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        """Async :meth:`embed_documents` (runs inline: it is CPU-cheap)."""
        return self.embed_documents(texts)

    async def aembed_query(self, text: str) -> list[float]:
        """Async :meth:`embed_query`."""
        return self._embed(text)

    def _embed(self, text: str) -> list[float]:
        vec = [0.0] * self.dims
        for feature, weight in self._features(text):
            bucket, sign = _hash_feature(feature, self.dims)
            vec[bucket] += sign * weight
        norm = math.sqrt(sum(v * v for v in vec))
        if norm == 0.0:
            return vec
        return [v / norm for v in vec]

    def _features(self, text: str) -> list[tuple[str, float]]:
        words = _WORD_RE.findall(text.lower())
        content = [w for w in words if w not in _STOPWORDS] or words
        features: list[tuple[str, float]] = []
        n = self.ngram
        for word in content:
            features.append(("w:" + word, 1.0))
            padded = f"#{word}#"
            grams = [
                padded[i : i + size]
                for size in (n, n + 1)
                for i in range(max(1, len(padded) - size + 1))
            ]
            per = self.ngram_weight / math.sqrt(len(grams))
            features.extend(("c:" + g, per) for g in grams)
        return features


@lru_cache(maxsize=65536)
def _hash_feature(feature: str, dims: int) -> tuple[int, float]:
    digest = blake2b(feature.encode("utf-8"), digest_size=8).digest()
    (number,) = struct.unpack("<Q", digest)
    return (number >> 1) % dims, 1.0 if number & 1 else -1.0


class _FuncEmbeddings:
    """Adapts a plain sync or async function to :class:`Embeddings`."""

    __slots__ = ("func", "is_async")

    def __init__(self, func: Callable[..., Any]) -> None:
        self.func = func
        self.is_async = _is_async_callable(func)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not self.is_async:
            out = self.func(texts)
            return out if type(out) is list else list(out)
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return list(asyncio.run(self.func(texts)))
        raise RunContextError(
            f"The embed function {self.func!r} is async and an event loop is running: "
            "use the store's async methods (aput, asearch, abatch), or pass a sync function."
        )

    def embed_query(self, text: str) -> list[float]:
        return list(self.embed_documents([text])[0])

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        if self.is_async:
            return list(await self.func(texts))
        return await asyncio.to_thread(self.embed_documents, texts)

    async def aembed_query(self, text: str) -> list[float]:
        return list((await self.aembed_documents([text]))[0])


class _SyncOnlyEmbeddings:
    """Adds async twins (run in a thread) to an object that only has the sync methods."""

    __slots__ = ("inner",)

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return list(self.inner.embed_documents(texts))

    def embed_query(self, text: str) -> list[float]:
        return list(self.inner.embed_query(text))

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        return await asyncio.to_thread(self.embed_documents, texts)

    async def aembed_query(self, text: str) -> list[float]:
        return await asyncio.to_thread(self.embed_query, text)


def _is_async_callable(func: Any) -> bool:
    return inspect.iscoroutinefunction(func) or inspect.iscoroutinefunction(
        getattr(func, "__call__", None)  # noqa: B004 - callable objects with async __call__
    )


def ensure_embeddings(embed: EmbeddingsLike, *, dims: int | None = None) -> Embeddings:
    """Turn whatever was passed as ``index["embed"]`` into an :class:`Embeddings`.

    ``None`` or ``"hash"`` gives ``HashEmbeddings(dims)``; an object with
    ``embed_documents`` is used as is (async twins added if missing); a callable is
    wrapped. Anything else raises ``TypeError`` saying what is accepted.

    >>> ensure_embeddings(lambda texts: [[1.0, 0.0] for _ in texts], dims=2).embed_query("x")
    [1.0, 0.0]
    """
    if embed is None or embed == "hash":
        if dims is None:
            raise InvalidStoreConfigError(
                "ensure_embeddings(None) needs dims=N for the local HashEmbeddings; or pass "
                "an Embeddings object, a function list[str] -> vectors, or 'provider:model'."
            )
        return HashEmbeddings(dims)
    if isinstance(embed, str):
        if ":" not in embed:
            raise InvalidStoreConfigError(
                f"Unknown embed={embed!r}: name a provider and model, e.g. "
                "'openai:text-embedding-3-small', or 'hash' for the local HashEmbeddings; "
                "or pass an Embeddings object."
            )
        from graphkit.models.providers import init_embeddings

        return ensure_embeddings(init_embeddings(embed), dims=dims)
    if hasattr(embed, "embed_documents") and hasattr(embed, "embed_query"):
        if hasattr(embed, "aembed_documents") and hasattr(embed, "aembed_query"):
            return embed
        return _SyncOnlyEmbeddings(embed)
    if callable(embed):
        return _FuncEmbeddings(embed)
    raise InvalidStoreConfigError(
        f"index['embed'] must be an Embeddings object, a function list[str] -> vectors "
        f"(sync or async), 'hash' or None; got {type(embed).__name__}."
    )


def embeddings_name(embed: EmbeddingsLike | Embeddings) -> str:
    """A name for the embedder ``embed`` gives: what to pass to embed queries the same way.

    ``"hash"`` for the local default; ``"provider:model"`` for a string config or a
    model object that knows its provider (``spec``, or an OpenAI class with ``model``);
    otherwise the class or function's dotted name, prefixed ``"python:"``.

    >>> embeddings_name(None), embeddings_name("openai:text-embedding-3-small")
    ('hash', 'openai:text-embedding-3-small')
    >>> embeddings_name(HashEmbeddings(8))
    'hash'
    """
    if embed is None or isinstance(embed, (str, HashEmbeddings)):
        return "hash" if not isinstance(embed, str) else embed
    spec = getattr(embed, "spec", None)
    if isinstance(spec, str):
        return spec
    cls = embed if inspect.isfunction(embed) else type(embed)
    model = getattr(embed, "model", None)
    if isinstance(model, str) and "openai" in cls.__module__.lower():
        return f"openai:{model}"
    return f"python:{cls.__module__}.{cls.__qualname__}"


__all__ = [
    "AEmbedFunc",
    "AEmbeddingsFunc",
    "EmbedFunc",
    "Embeddings",
    "EmbeddingsFunc",
    "EmbeddingsLike",
    "HashEmbeddings",
    "embeddings_name",
    "ensure_embeddings",
]
