"""The functional API: a workflow of parallel tasks, checkpointed per thread.

Run: ``python examples/functional_api.py``.
"""

from __future__ import annotations

from graphkit.checkpoint.memory import InMemorySaver
from graphkit.func import entrypoint, task


@task
def word_count(text: str) -> int:
    return len(text.split())


@entrypoint(checkpointer=InMemorySaver())
def count_words(texts: list[str], *, previous: int | None = None) -> int:
    counts = [word_count(t) for t in texts]  # these run in parallel
    return (previous or 0) + sum(c.result() for c in counts)


def main() -> int:
    config = {"configurable": {"thread_id": "counter"}}
    count_words.invoke(["the quick brown fox", "jumps over"], config)
    total = count_words.invoke(["the lazy dog"], config)  # adds to the saved total
    print("words so far:", total)
    return int(total)


if __name__ == "__main__":
    main()
