"""Pause a run for a human decision with ``interrupt()``, then resume it.

Run: ``python examples/human_in_the_loop.py``.
"""

from __future__ import annotations

from typing import TypedDict

from graphkit import START, Command, StateGraph, interrupt
from graphkit.checkpoint.memory import InMemorySaver


class State(TypedDict, total=False):
    draft: str
    verdict: str


def write(state: State) -> State:
    return {"draft": "Dear team, the release moves to Friday."}


def review(state: State) -> State:
    verdict = interrupt({"question": "Send this email?", "draft": state["draft"]})
    return {"verdict": verdict}


builder = StateGraph(State)
builder.add_node(write)
builder.add_node(review)
builder.add_edge(START, "write")
builder.add_edge("write", "review")
graph = builder.compile(checkpointer=InMemorySaver())


def main() -> State:
    config = {"configurable": {"thread_id": "email"}}
    paused = graph.invoke({}, config)
    print("paused:", paused["__interrupt__"][0].value)
    print("next:", graph.get_state(config).next)
    final = graph.invoke(Command(resume="approved"), config)
    print("final:", final)
    return final


if __name__ == "__main__":
    main()
