"""LangGraph's memory tutorial, ported by changing imports only, against a loopback server.

``init_chat_model("anthropic:...")`` and a store index configured with
``"embed": "openai:text-embedding-3-small"`` reach a real HTTP server on
127.0.0.1 (found through ``ANTHROPIC_BASE_URL`` / ``OPENAI_BASE_URL``, as the
SDKs read them), which answers like the two APIs: embeddings are 1536-d hash
vectors, and the "model" repeats the memories it was given in its system prompt.
Then ``graphkit store ... search --query`` reuses the embedder the store recorded.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from graphkit.chat_models import init_chat_model
from graphkit.cli import main
from graphkit.embeddings import HashEmbeddings
from graphkit.graph import START, MessagesState, StateGraph
from graphkit.store.base import BaseStore
from graphkit.store.lmdb import LMDBStore
from graphkit.store.memory import InMemoryStore

DIMS = 1536


class FakeAPIs(BaseHTTPRequestHandler):
    """Answers ``POST /v1/messages`` (Anthropic) and ``POST /v1/embeddings`` (OpenAI)."""

    received: list[tuple[str, dict[str, Any]]]

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        self.received.append((self.path, body))
        if self.path.endswith("/embeddings"):
            reply = _embeddings(body)
        elif self.path.endswith("/messages"):
            reply = _message(body)
        else:
            self.send_error(404)
            return
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _embeddings(body: dict[str, Any]) -> dict[str, Any]:
    vectors = HashEmbeddings(DIMS).embed_documents(body["input"])
    return {
        "object": "list",
        "model": body["model"],
        "data": [
            {"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vectors)
        ],
        "usage": {"prompt_tokens": 1, "total_tokens": 1},
    }


def _message(body: dict[str, Any]) -> dict[str, Any]:
    system = body.get("system") or ""
    remembered = system.split("User info:", 1)[-1].strip() if "User info:" in system else ""
    return {
        "id": f"msg_loopback_{len(body['messages'])}",
        "type": "message",
        "role": "assistant",
        "model": body["model"],
        "content": [{"type": "text", "text": f"I remember: {remembered or 'nothing'}"}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 20, "output_tokens": 5},
    }


@pytest.fixture
def apis(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, dict[str, Any]]]]:
    received: list[tuple[str, dict[str, Any]]] = []
    handler = type("Handler", (FakeAPIs,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    monkeypatch.setenv("ANTHROPIC_API_KEY", "loopback")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", base)
    monkeypatch.setenv("OPENAI_API_KEY", "loopback")
    monkeypatch.setenv("OPENAI_BASE_URL", f"{base}/v1")
    try:
        yield received
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def memory_graph(store: BaseStore) -> Any:
    """The tutorial's chatbot: recall the user's memories, store new ones, answer."""
    model = init_chat_model("anthropic:claude-haiku-4-5")

    def call_model(state: MessagesState, config: dict[str, Any], *, store: BaseStore) -> Any:
        namespace = ("memories", config["configurable"]["user_id"])
        last = state["messages"][-1].text
        memories = store.search(namespace, query=last)
        info = "\n".join(d.value["data"] for d in memories)
        system = f"You are a helpful assistant talking to the user. User info: {info}"
        if "remember" in last.lower():
            store.put(namespace, "name", {"data": "User name is Bob"})
        reply = model.invoke([{"role": "system", "content": system}, *state["messages"]])
        return {"messages": [reply]}

    builder = StateGraph(MessagesState)
    builder.add_node("call_model", call_model)
    builder.add_edge(START, "call_model")
    return builder.compile(store=store)


def test_tutorial_with_provider_strings_runs_against_the_loopback_apis(
    apis: list[tuple[str, dict[str, Any]]],
) -> None:
    store = InMemoryStore(index={"embed": "openai:text-embedding-3-small", "dims": DIMS})
    graph = memory_graph(store)
    user = {"configurable": {"user_id": "1"}}
    graph.invoke({"messages": [("user", "Hi! Remember: my name is Bob")]}, user)
    out = graph.invoke({"messages": [("user", "what is my name?")]}, user)
    assert out["messages"][-1].text == "I remember: User name is Bob"
    paths = [path for path, _ in apis]
    assert paths.count("/v1/messages") == 2 and "/v1/embeddings" in paths
    embed_request = next(body for path, body in apis if path == "/v1/embeddings")
    assert embed_request["model"] == "text-embedding-3-small"
    assert store.embeddings_name == "openai:text-embedding-3-small"


def test_cli_searches_with_the_embedder_the_store_recorded(
    apis: list[tuple[str, dict[str, Any]]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with LMDBStore(tmp_path, index={"embed": "openai:text-embedding-3-small", "dims": DIMS}) as s:
        s.put(("memories", "1"), "name", {"data": "User name is Bob"})
        s.put(("memories", "1"), "food", {"data": "Likes pizza and pasta"})
    apis.clear()
    code = main(["store", str(tmp_path), "search", "memories/1", "--query", "name", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert out[0]["key"] == "name" and out[0]["score"] > out[1]["score"] > -1
    assert [body["model"] for _, body in apis] == ["text-embedding-3-small"]
