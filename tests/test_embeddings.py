"""Embeddings: the local HashEmbeddings default, adapters, OpenAI (mocked HTTP), local model."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import openai
import pytest

from graphkit.embeddings import Embeddings
from graphkit.models.embeddings import OpenAIEmbeddings
from graphkit.stores import HashEmbeddings, InMemoryStore, ensure_embeddings

MEMORIES = [
    "I like pizza with extra cheese",
    "The weather in Paris is sunny today",
    "Username is Bob",
    "My favorite color is blue",
    "Meeting with Alice at 3pm on Tuesday",
    "I work as a software engineer",
    "The game starts at noon",
]


def test_hash_embeddings_rank_the_name_memory_first() -> None:
    emb = HashEmbeddings()
    docs = np.array(emb.embed_documents(MEMORIES))
    scores = docs @ np.array(emb.embed_query("what is my name?"))
    assert MEMORIES[int(np.argmax(scores))] == "Username is Bob"


def test_hash_embeddings_are_unit_length_and_deterministic_across_processes() -> None:
    vec = HashEmbeddings(64).embed_query("Deterministic text, please")
    assert np.linalg.norm(vec) == pytest.approx(1.0)
    code = "from graphkit.stores import HashEmbeddings; print(HashEmbeddings(64).embed_query('Deterministic text, please'))"
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=root,
        env={"PYTHONHASHSEED": "123", "PATH": ""},
    ).stdout
    assert json.loads(out) == pytest.approx(vec)
    assert HashEmbeddings(64).embed_query("") == [0.0] * 64


async def test_adapters_for_functions_and_sync_only_objects() -> None:
    def sync_fn(texts: list[str]) -> list[list[float]]:
        return [[float(len(t)), 1.0] for t in texts]

    async def async_fn(texts: list[str]) -> list[list[float]]:
        return [[float(len(t)), 2.0] for t in texts]

    class SyncOnly:
        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            return [[3.0, 0.0] for _ in texts]

        def embed_query(self, text: str) -> list[float]:
            return [0.0, 3.0]

    assert ensure_embeddings(sync_fn, dims=2).embed_query("abc") == [3.0, 1.0]
    assert await ensure_embeddings(sync_fn, dims=2).aembed_documents(["a"]) == [[1.0, 1.0]]
    assert await ensure_embeddings(async_fn, dims=2).aembed_query("ab") == [2.0, 2.0]
    assert await ensure_embeddings(SyncOnly(), dims=2).aembed_query("x") == [0.0, 3.0]
    with pytest.raises(RuntimeError, match="event loop is running"):
        ensure_embeddings(async_fn, dims=2).embed_documents(["x"])
    assert isinstance(ensure_embeddings(None, dims=8), HashEmbeddings)
    assert isinstance(ensure_embeddings("hash", dims=8), HashEmbeddings)
    with pytest.raises(TypeError, match="name a provider and model"):
        ensure_embeddings("text-embedding-3-small", dims=8)
    with pytest.raises(TypeError, match="must be an Embeddings object"):
        ensure_embeddings(42, dims=8)  # type: ignore[arg-type]


class FakeOpenAI:
    """Records /v1/embeddings requests and answers with vectors derived from the input."""

    def __init__(self, status: int = 200) -> None:
        self.requests: list[dict[str, Any]] = []
        self.status = status

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.requests.append(body)
        assert request.url.path.endswith("/embeddings")
        if self.status != 200:
            return httpx.Response(
                self.status, json={"error": {"message": "bad key", "type": "invalid_request_error"}}
            )
        dims = body.get("dimensions", 3)
        data = [
            {"object": "embedding", "index": i, "embedding": [float(len(t))] + [0.5] * (dims - 1)}
            for i, t in enumerate(body["input"])
        ]
        data.reverse()  # the API does not promise order: we sort by index
        return httpx.Response(
            200,
            json={
                "object": "list",
                "data": data,
                "model": body["model"],
                "usage": {"prompt_tokens": 1, "total_tokens": 1},
            },
        )


def test_openai_embeddings_over_a_mock_transport() -> None:
    fake = FakeOpenAI()
    client = openai.OpenAI(
        api_key="sk-test",
        http_client=httpx.Client(transport=httpx.MockTransport(fake)),
        max_retries=0,
    )
    emb = OpenAIEmbeddings(dimensions=4, client=client, chunk_size=2)
    vectors = emb.embed_documents(["a", "bb", "ccc"])
    assert [v[0] for v in vectors] == [1.0, 2.0, 3.0] and len(vectors[0]) == 4
    assert [r["input"] for r in fake.requests] == [["a", "bb"], ["ccc"]]
    assert (
        fake.requests[0]["model"] == "text-embedding-3-small"
        and fake.requests[0]["dimensions"] == 4
    )
    assert emb.embed_query("") == [1.0, 0.5, 0.5, 0.5]  # "" is sent as " "


async def test_openai_async_and_store_batch_makes_one_request() -> None:
    fake = FakeOpenAI()
    aclient = openai.AsyncOpenAI(
        api_key="sk-test",
        http_client=httpx.AsyncClient(transport=httpx.MockTransport(fake)),
        max_retries=0,
    )
    emb = OpenAIEmbeddings(async_client=aclient)
    store = InMemoryStore(index={"dims": 3, "embed": emb, "fields": ["text"]})
    from graphkit.stores import PutOp

    await store.abatch([PutOp(("m",), f"k{i}", {"text": "x" * (i + 1)}) for i in range(5)])
    assert len(fake.requests) == 1 and len(fake.requests[0]["input"]) == 5
    assert (await store.asearch(("m",), query="xx"))[0].score is not None


def test_openai_errors_are_translated_and_a_key_is_required(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from graphkit.models.errors import MissingAPIKeyError, ModelAuthenticationError

    client = openai.OpenAI(
        api_key="sk-bad",
        http_client=httpx.Client(transport=httpx.MockTransport(FakeOpenAI(401))),
        max_retries=0,
    )
    with pytest.raises(ModelAuthenticationError, match="401"):
        OpenAIEmbeddings(client=client).embed_query("x")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(MissingAPIKeyError, match="OPENAI_API_KEY"):
        OpenAIEmbeddings()


@pytest.mark.local
def test_sentence_transformer_ranks_the_name_memory_first() -> None:
    from graphkit.models.embeddings import SentenceTransformerEmbeddings

    emb = SentenceTransformerEmbeddings()
    assert emb.dims == 384
    docs = np.array(emb.embed_documents(MEMORIES))
    scores = docs @ np.array(emb.embed_query("what is my name?"))
    assert MEMORIES[int(np.argmax(scores))] == "Username is Bob"


def test_embedding_classes_are_exported_lazily_from_graphkit_models() -> None:
    code = (
        "import sys, graphkit.models as m\n"
        "assert 'graphkit.models.embeddings' not in sys.modules\n"
        "assert 'sentence_transformers' not in sys.modules\n"
        "from graphkit.models import SentenceTransformerEmbeddings, OpenAIEmbeddings\n"
        "from graphkit.models.embeddings import SentenceTransformerEmbeddings as S\n"
        "assert SentenceTransformerEmbeddings is S\n"
        "assert 'sentence_transformers' not in sys.modules\n"
        "assert 'SentenceTransformerEmbeddings' in m.__all__\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


class _SyncOnlySubclass(Embeddings):
    """Defines only the sync methods, as most hand-written LangChain embeddings do."""

    def __init__(self) -> None:
        self.threads: set[int] = set()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.threads.add(threading.get_ident())
        return HashEmbeddings(32).embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        self.threads.add(threading.get_ident())
        return HashEmbeddings(32).embed_query(text)


async def test_subclass_with_only_sync_methods_works_with_the_async_store_api() -> None:

    emb = _SyncOnlySubclass()
    assert isinstance(emb, Embeddings)
    store = InMemoryStore(index={"dims": 32, "embed": emb})
    await store.aput(("m",), "name", {"text": "user name is Bob"})
    await store.aput(("m",), "food", {"text": "likes pizza"})
    hits = await store.asearch(("m",), query="pizza", limit=1)
    assert [h.key for h in hits] == ["food"] and hits[0].score is not None
    # The inherited async twins ran the sync methods in a worker thread, not the loop's.
    assert emb.threads and threading.get_ident() not in emb.threads


def test_subclass_missing_a_sync_method_says_which() -> None:
    class Half(Embeddings):
        def embed_query(self, text: str) -> list[float]:
            return [1.0]

    with pytest.raises(NotImplementedError, match="Half must define embed_documents"):
        Half().embed_documents(["x"])


def _embed_fn(texts: list[str]) -> list[list[float]]:
    return [[1.0] for _ in texts]


def test_embeddings_name_says_how_to_embed_queries_alike() -> None:
    from graphkit.models import OpenAIEmbeddings
    from graphkit.stores.embeddings import embeddings_name

    assert embeddings_name(None) == embeddings_name("hash") == "hash"
    assert embeddings_name(HashEmbeddings(16)) == "hash"
    assert embeddings_name("openai:text-embedding-3-large") == "openai:text-embedding-3-large"
    openai_embeddings = OpenAIEmbeddings("text-embedding-3-small", api_key="k")
    assert embeddings_name(openai_embeddings) == "openai:text-embedding-3-small"
    assert embeddings_name(_embed_fn) == f"python:{__name__}._embed_fn"


def test_lmdb_store_records_its_embedder(tmp_path: Any) -> None:
    from graphkit.stores.store import LMDBStore

    with LMDBStore(tmp_path, index={"dims": 4, "embed": _embed_fn}) as store:
        assert LMDBStore.saved_index(store.env) == (4, f"python:{__name__}._embed_fn")
    with LMDBStore(tmp_path, index={"dims": 4, "embed": "hash"}) as store:
        assert LMDBStore.saved_index(store.env) == (4, "hash")
    with LMDBStore(tmp_path / "plain") as store:
        assert LMDBStore.saved_index(store.env) == (None, None)
