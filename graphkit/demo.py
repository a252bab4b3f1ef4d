"""The demo: a chatbot that remembers users across threads, checkpoints and memories in one LMDB dir.

Run it with ``graphkit demo [--data-dir DIR]`` (or ``python -m graphkit demo``); it ships in
the package, so it runs from any install. ``examples/memory_chatbot_graph.py`` runs it too.

* Each *thread* is one conversation; its messages are checkpointed by an
  ``LMDBSaver`` after every step, so a thread survives the process.
* Each *user* has memories in an ``LMDBStore`` under ``("memories", user_id)``,
  shared by all of that user's threads and found by semantic search (an hnswlib
  index over ``HashEmbeddings``: local, offline, no model download).
* Both live in one LMDB environment, in one data directory.

The scenario: in thread 1, user 1 says "Hi! Remember: my name is Bob" and the
graph stores "Username is Bob"; in thread 2, user 1 asks "what is my name?" and
the memory is found and handed to the model; in thread 3, user 2 asks the same
and finds nothing of user 1. Run it again: Bob is still found (and not stored twice).

With ``ANTHROPIC_API_KEY`` or ``OPENAI_API_KEY`` set, a real model answers;
without, :class:`OfflineModel` (clearly labelled) answers from the memories in its
system prompt.
"""

from __future__ import annotations

import os
import re
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict

from graphkit import END, START, CompiledStateGraph, StateGraph
from graphkit.checkpoint.lmdb import LMDBEnv, LMDBSaver
from graphkit.embeddings import HashEmbeddings
from graphkit.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    MessagesState,
    SystemMessage,
)
from graphkit.models import BaseChatModel
from graphkit.store.base import BaseStore
from graphkit.store.lmdb import LMDBStore
from graphkit.types import RunnableConfig

DEFAULT_DATA_DIR = Path(".graphkit-data")
"""Where ``graphkit demo`` keeps its data when no ``--data-dir`` is given (in .gitignore)."""

EMBEDDING_DIMS = 256
"""Size of the HashEmbeddings vectors of the memory index."""

SYSTEM_PROMPT = (
    "You are a helpful assistant talking to the user. Answer in one short sentence.\n"
    "What you remember about this user:\n{memories}"
)

_REMEMBER = re.compile(r"\bremember\b[:,]?\s*(.+)", re.IGNORECASE | re.DOTALL)
_NAME = re.compile(r"\bmy name is\s+([\w'-]+)", re.IGNORECASE)
_MEMORY_NAME = re.compile(r"\bUsername is\s+([\w'-]+)")


class ChatState(MessagesState):
    """The conversation, plus what memory search found on the last turn (for display)."""

    recalled: list[dict[str, Any]]


class Turn(TypedDict):
    """One scripted turn of the demo."""

    thread_id: str
    user_id: str
    text: str


SCENARIO: list[Turn] = [
    {"thread_id": "1", "user_id": "1", "text": "Hi! Remember: my name is Bob"},
    {"thread_id": "2", "user_id": "1", "text": "what is my name?"},
    {"thread_id": "3", "user_id": "2", "text": "what is my name?"},
]


# ------------------------------------------------------------------- memory
def memory_from(text: str) -> str | None:
    """What to remember from a user message that asks us to remember something.

    >>> memory_from("Hi! Remember: my name is Bob")
    'Username is Bob'
    >>> memory_from("remember that I like tea")
    'that I like tea'
    >>> memory_from("what is my name?") is None
    True
    """
    found = _REMEMBER.search(text)
    if found is None:
        return None
    name = _NAME.search(found.group(1))
    return f"Username is {name.group(1)}" if name else found.group(1).strip().rstrip(".!")


def memory_key(memory: str) -> str:
    """A key derived from the memory's text: storing the same fact twice overwrites it."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "graphkit-demo-memory:" + memory.lower()))


# -------------------------------------------------------------------- model
class OfflineModel(BaseChatModel):
    """OFFLINE DEMO MODEL, not an LLM: answers only from the memories in its system prompt.

    Deterministic, so the demo and its test run without a key or a network:
    "Your name is Bob." when the prompt holds "Username is Bob", otherwise it
    says it does not know; when told to remember something, it acknowledges.
    """

    provider = "offline"
    model = "offline-demo-model"

    def _generate(self, messages: list[BaseMessage]) -> AIMessage:
        system = " ".join(m.text for m in messages if isinstance(m, SystemMessage))
        last = next((m.text for m in reversed(messages) if isinstance(m, HumanMessage)), "")
        known = _MEMORY_NAME.search(system)
        told = _NAME.search(last)
        if told:
            reply = f"Nice to meet you, {told.group(1)}! I'll remember your name."
        elif known:
            reply = f"Your name is {known.group(1)}."
        elif "name" in last.lower():
            reply = "I don't know your name yet: tell me and I'll remember it."
        else:
            reply = "I only know what I remember about you, and that is nothing yet."
        return AIMessage(
            content=reply, id=f"offline-{uuid.uuid4()}", response_metadata={"model": self.model}
        )

    def _stream(self, messages: list[BaseMessage]) -> Iterator[AIMessageChunk]:
        message = self._generate(messages)
        yield AIMessageChunk(
            content=message.content, id=message.id, response_metadata=message.response_metadata
        )


def choose_model() -> tuple[BaseChatModel, str]:
    """A real model when an API key is set (Anthropic first), else the offline one; and its label.

    ``GRAPHKIT_DEMO_MODEL`` picks the model as ``init_chat_model`` reads it, e.g.
    ``anthropic:claude-haiku-4-5`` or ``openai:gpt-4.1-mini``.
    """
    from graphkit.chat_models import init_chat_model

    if os.environ.get("ANTHROPIC_API_KEY"):
        name = os.environ.get("GRAPHKIT_DEMO_MODEL", "anthropic:claude-3-5-haiku-latest")
        return init_chat_model(name, max_tokens=200), f"Anthropic {name} (ANTHROPIC_API_KEY is set)"
    if os.environ.get("OPENAI_API_KEY"):
        name = os.environ.get("GRAPHKIT_DEMO_MODEL", "openai:gpt-4o-mini")
        return init_chat_model(name, max_tokens=200), f"OpenAI {name} (OPENAI_API_KEY is set)"
    return OfflineModel(), (
        "OFFLINE demo model: no API key set, answers come from the memories it is given "
        "(set ANTHROPIC_API_KEY or OPENAI_API_KEY for a real model)"
    )


# -------------------------------------------------------------------- graph
def build_graph(
    checkpointer: Any, store: BaseStore, model: BaseChatModel
) -> CompiledStateGraph[Any, Any, Any, Any]:
    """The chatbot: one node that recalls memories, saves new ones, and calls the model."""

    def call_model(state: ChatState, config: dict[str, Any], store: BaseStore) -> dict[str, Any]:
        user_id = str(config["configurable"]["user_id"])
        namespace = ("memories", user_id)
        last = state["messages"][-1].text
        found = store.search(namespace, query=last, limit=3)
        recalled = [{"memory": item.value["data"], "score": item.score} for item in found]
        memories = "\n".join(f"- {r['memory']}" for r in recalled) or "(nothing yet)"
        new_memory = memory_from(last)
        if new_memory is not None:
            store.put(namespace, memory_key(new_memory), {"data": new_memory})
        prompt = SystemMessage(content=SYSTEM_PROMPT.format(memories=memories))
        reply = model.invoke([prompt, *state["messages"]])
        return {"messages": [reply], "recalled": recalled}

    builder = StateGraph(ChatState)
    builder.add_node("call_model", call_model)
    builder.add_edge(START, "call_model")
    builder.add_edge("call_model", END)
    return builder.compile(checkpointer=checkpointer, store=store)


@dataclass(slots=True)
class Demo:
    """The open data directory: saver and store sharing one LMDB environment."""

    data_dir: Path
    env: LMDBEnv
    saver: LMDBSaver
    store: LMDBStore

    @classmethod
    def open(cls, data_dir: str | os.PathLike[str]) -> Demo:
        """Open (or create) the data directory."""
        path = Path(data_dir)
        env = LMDBEnv(path)
        saver = LMDBSaver(env=env)
        # exact_threshold=1: use the hnswlib graph from the first memory on (the store
        # otherwise scans exactly below 20k rows, which is faster at this size).
        store = LMDBStore(
            env=env,
            index={
                "dims": EMBEDDING_DIMS,
                "embed": HashEmbeddings(EMBEDDING_DIMS),
                "ann": {"exact_threshold": 1},
            },
        )
        return cls(path, env, saver, store)

    def close(self) -> None:
        """Save the vector index and close everything (the environment goes with the last)."""
        self.store.close()
        self.saver.close()
        self.env.close()


def run_turn(graph: CompiledStateGraph[Any, Any, Any, Any], turn: Turn) -> dict[str, Any]:
    """Send one user message on its thread; return the new state."""
    config: RunnableConfig = {
        "configurable": {"thread_id": turn["thread_id"], "user_id": turn["user_id"]}
    }
    result: dict[str, Any] = graph.invoke(
        {"messages": [HumanMessage(content=turn["text"])]}, config
    )
    return result


def main(data_dir: str | os.PathLike[str] = DEFAULT_DATA_DIR, *, out: Any = None) -> int:
    """Run the scenario and print each turn, what memory search found, the graph and the data dir."""
    out = out or sys.stdout
    model, label = choose_model()
    demo = Demo.open(data_dir)
    try:
        graph = build_graph(demo.saver, demo.store, model)
        print(f"model: {label}", file=out)
        print(f"data dir: {Path(data_dir).resolve()} (change it with --data-dir)", file=out)
        for turn in SCENARIO:
            state = run_turn(graph, turn)
            print(
                f"\n── thread {turn['thread_id']} · user {turn['user_id']} "
                f"({len(state['messages'])} messages in this thread so far)",
                file=out,
            )
            print(f"user:      {turn['text']}", file=out)
            if state["recalled"]:
                for found in state["recalled"]:
                    print(f"memory:    {found['memory']!r} (score {found['score']:.3f})", file=out)
            else:
                print(f"memory:    none found under ('memories', '{turn['user_id']}')", file=out)
            print(f"assistant: {state['messages'][-1].text}", file=out)
        stored = demo.store.search(("memories",), limit=100)
        print("\nmemories stored:", file=out)
        for item in stored:
            print(f"  {item.namespace} {item.value['data']!r}", file=out)
        print(
            "\nthe graph (Graphviz DOT; draw it with "
            "`graphkit draw graphkit.demo:demo_graph -o chat.svg`, no Graphviz needed):",
            file=out,
        )
        print(graph.get_graph().to_dot(), file=out)
        print(
            f"data lives in {Path(data_dir).resolve()} (checkpoints and memories in one "
            f"LMDB environment; the hnswlib index saved beside it as {demo.store.index_path.name}).",
            file=out,
        )
        print(
            "run it again: thread 2 still finds Bob, from disk. Inspect it with "
            f"`graphkit threads {data_dir}` or `graphkit store {data_dir} search memories/1`.",
            file=out,
        )
    finally:
        demo.close()
    return 0


def demo_graph() -> CompiledStateGraph[Any, Any, Any, Any]:
    """The graph with in-memory persistence, for ``graphkit draw graphkit.demo:demo_graph``."""
    from graphkit.checkpoint.memory import InMemorySaver
    from graphkit.store.memory import InMemoryStore

    return build_graph(InMemorySaver(), InMemoryStore(), OfflineModel())


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1] if len(sys.argv) > 1 else DEFAULT_DATA_DIR))
