"""What a read of a saved history costs per message, for code speaking LangChain.

A read of a thread whose readers get LangChain's view (``graphkit._langchain_view``)
pays per message, by the shape of the message: the saver's graphkit copy (skipped
where no code sees graphkit's messages), a run's shell of the saver's message (an object
of its own sharing its fields: ``_model_codec.shells``), the fresh LangChain copy every
read gets (``extra_model_copier``), and, for a message no view showed yet, the
conversion (``to_langchain_message``, LangChain's validation). Process CPU per message,
best of 7 rounds of 10,000 messages, collector paused:

    python benchmarks/langchain_copies.py
    PYTHONPATH=/path/to/other/checkout python benchmarks/langchain_copies.py   # (no shells before session 13)
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from typing import Any

from graphkit import AIMessage, HumanMessage, ToolMessage
from graphkit._langchain import to_langchain_message
from graphkit.stores import _model_codec
from graphkit.stores._model_codec import copier_of, extra_model_copier

COUNT = 10_000
ROUNDS = 7

SHAPES: dict[str, Any] = {
    "short text": HumanMessage(content="what is the weather in Paris?", id="h1"),
    "AI with a tool call": AIMessage(
        content="",
        id="a1",
        tool_calls=[{"name": "weather", "args": {"city": "Paris"}, "id": "call_1"}],
        usage={"input_tokens": 12, "output_tokens": 7, "total_tokens": 19},
    ),
    "tool result": ToolMessage(content="18 C, clear", tool_call_id="call_1", id="t1"),
}


def _per_message(work: Callable[[list[Any]], object], items: list[Any]) -> float:
    """Best CPU time of ``work(items)`` over ``ROUNDS``, in microseconds per item."""
    best = float("inf")
    for _ in range(ROUNDS):
        start = time.process_time()
        work(items)
        best = min(best, time.process_time() - start)
    return best / len(items) * 1e6


def main() -> None:
    gc.disable()
    shells = getattr(_model_codec, "shells", None)
    print(f"{'message':22} {'saver copy':>11} {'shell':>7} {'LC copy':>8} {'convert':>8}  (us)")
    for name, message in SHAPES.items():
        items = [message] * COUNT
        copy = copier_of(message)
        pristine = to_langchain_message(message)
        lc_copy = extra_model_copier(pristine)
        lc_items = [pristine] * COUNT
        figures = (
            _per_message(lambda xs, c=copy: [c(x) for x in xs], items),  # type: ignore[misc]
            _per_message(shells, items) if shells else float("nan"),
            _per_message(lambda xs, c=lc_copy: [c(x) for x in xs], lc_items),  # type: ignore[misc]
            _per_message(lambda xs: [to_langchain_message(x) for x in xs], items[:1000]),
        )
        print(
            f"{name:22} "
            + " ".join(f"{f:>{w}.2f}" for f, w in zip(figures, (11, 7, 8, 8), strict=True))
        )


if __name__ == "__main__":
    main()
