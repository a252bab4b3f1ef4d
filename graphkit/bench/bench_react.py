"""ReAct agent workload: create_react_agent with a scripted model, 20 tool rounds a run.

Both sides run the same conversation: the model asks for one ``add`` call per
round for ``ROUNDS`` rounds, then answers; an in-memory checkpointer saves every
step; each run is a fresh thread. No network: the models are scripted fakes
(graphkit's ``FakeChatModel``; for LangGraph a langchain-core chat model that
replays the same replies and accepts ``bind_tools``).
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Callable, Iterator
from typing import Any

from graphkit.bench.harness import Workload

ROUNDS = 20


def _script(ai_message: Callable[..., Any]) -> list[Any]:
    """ROUNDS tool-calling replies and a final answer, with ids unique in a conversation."""
    replies = [
        ai_message(
            content="",
            id=f"ai-{i}",
            tool_calls=[
                {"name": "add", "args": {"a": i, "b": 1}, "id": f"call-{i}", "type": "tool_call"}
            ],
        )
        for i in range(ROUNDS)
    ]
    replies.append(ai_message(content=f"Counted to {ROUNDS}.", id=f"ai-{ROUNDS}"))
    return replies


def add(a: int, b: int) -> int:
    """Add two integers.

    Args:
        a: first addend
        b: second addend
    """
    return a + b


def _check(result: dict[str, Any]) -> None:
    messages = result["messages"]
    assert len(messages) == 2 + 2 * ROUNDS, len(messages)
    assert messages[-1].content == f"Counted to {ROUNDS}."


def _conversations(agent: Any) -> Callable[[], object]:
    """A timed run: the whole conversation on a fresh thread, its result checked."""
    threads = itertools.count()

    def run() -> object:
        config = {"configurable": {"thread_id": f"t{next(threads)}"}, "recursion_limit": 100}
        result = agent.invoke({"messages": [("user", "count")]}, config)
        _check(result)
        return result

    return run


def graphkit_agent() -> Callable[[], object]:
    """graphkit's create_react_agent over FakeChatModel, with InMemorySaver."""
    from graphkit.checkpoint.memory import InMemorySaver
    from graphkit.messages import AIMessage
    from graphkit.models import FakeChatModel
    from graphkit.prebuilt import create_react_agent
    from graphkit.tools import tool

    model = FakeChatModel(responses=_script(AIMessage), cycle=True)
    agent = create_react_agent(model, [tool(add)], checkpointer=InMemorySaver())
    return _conversations(agent)


def langgraph_agent() -> Callable[[], object]:
    """LangGraph's create_react_agent over a scripted langchain-core model, with InMemorySaver."""
    from langchain_core.language_models.chat_models import BaseChatModel
    from langchain_core.messages import AIMessage
    from langchain_core.outputs import ChatGeneration, ChatResult
    from langchain_core.tools import tool
    from langgraph.checkpoint.memory import InMemorySaver
    from pydantic import PrivateAttr

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from langgraph.prebuilt import create_react_agent

    class ScriptedChatModel(BaseChatModel):
        """Replays ``replies`` in a cycle; ``bind_tools`` returns the model itself."""

        replies: list[Any]
        _cursor: Iterator[Any] = PrivateAttr()

        def model_post_init(self, context: Any) -> None:
            self._cursor = itertools.cycle(self.replies)

        @property
        def _llm_type(self) -> str:
            return "scripted"

        def _generate(
            self, messages: Any, stop: Any = None, run_manager: Any = None, **kwargs: Any
        ) -> ChatResult:
            return ChatResult(generations=[ChatGeneration(message=next(self._cursor))])

        def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
            return self

    model = ScriptedChatModel(replies=_script(AIMessage))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        agent = create_react_agent(model, [tool(add)], checkpointer=InMemorySaver())
    return _conversations(agent)


WORKLOADS = [
    Workload(
        name="react_agent",
        description=f"create_react_agent, scripted model, {ROUNDS} tool rounds + answer, InMemorySaver",
        graphkit=graphkit_agent,
        langgraph=langgraph_agent,
        units=ROUNDS,
        unit="tool round",
    )
]
