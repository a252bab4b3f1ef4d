"""A tool-calling agent in a dozen lines, runnable offline with a scripted model.

Run: ``python examples/react_agent.py``. Set ANTHROPIC_API_KEY to use Claude instead
(that needs ``pip install 'graphkit[anthropic]'``); without a key a scripted model
answers, offline, from a base install.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from graphkit import AIMessage, tool
from graphkit.checkpoint.memory import InMemorySaver
from graphkit.models import FakeChatModel
from graphkit.prebuilt import create_react_agent


@tool
def get_weather(city: str) -> str:
    """Current weather of a city.

    Args:
        city: The city's name.
    """
    return f"It is sunny in {city}, 21 degrees."


def make_model() -> Any:
    if os.environ.get("ANTHROPIC_API_KEY"):
        from graphkit.models import ChatAnthropic  # needs graphkit[anthropic]

        return ChatAnthropic(model="claude-sonnet-4-5")
    print("(no ANTHROPIC_API_KEY: a scripted offline model answers)", file=sys.stderr)
    call = {"name": "get_weather", "args": {"city": "Paris"}, "id": "call_1"}
    return FakeChatModel(
        [AIMessage(content="", tool_calls=[call]), "It's sunny in Paris (21 degrees)."]
    )


def main() -> list[str]:
    agent = create_react_agent(
        make_model(),
        [get_weather],
        checkpointer=InMemorySaver(),
        prompt="You are a concise assistant.",
    )
    config = {"configurable": {"thread_id": "weather"}}
    result = agent.invoke({"messages": [("user", "What's the weather in Paris?")]}, config)
    for message in result["messages"]:
        message.pretty_print()
    return [m.type for m in result["messages"]]


if __name__ == "__main__":
    main()
