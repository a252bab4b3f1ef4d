"""trim_messages and count_tokens_approximately: LangChain's context-length helpers."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis_budget import examples

from graphkit.errors import GraphkitError, InvalidArgumentError
from graphkit.messages import (
    AIMessage,
    AnyMessage,
    BaseMessage,
    HumanMessage,
    MessagesTransform,
    SystemMessage,
    ToolMessage,
    count_tokens_approximately,
    trim_messages,
)


def per_message(message: BaseMessage) -> int:
    """One token per message: the counter is detected by its annotation."""
    return 1


def words(messages: list[BaseMessage]) -> int:
    """One token per word of each text block, plus one per message."""
    total = 0
    for m in messages:
        blocks = [m.content] if isinstance(m.content, str) else m.content
        texts = [b if isinstance(b, str) else b.get("text", "") for b in blocks]
        total += sum(len(t.split()) for t in texts) + 1
    return total


HISTORY = [
    SystemMessage("you are terse", id="s"),
    HumanMessage("q1", id="h1"),
    AIMessage("a1", id="a1"),
    HumanMessage("q2", id="h2"),
    AIMessage("", id="a2", tool_calls=[{"name": "f", "args": {}, "id": "c1"}]),
    ToolMessage("r1", tool_call_id="c1", id="t1"),
    AIMessage("a2", id="a3"),
]


def ids(messages: list[BaseMessage]) -> list[str | None]:
    return [m.id for m in messages]


def test_last_keeps_the_end_that_fits() -> None:
    assert ids(trim_messages(HISTORY, max_tokens=3, token_counter=len)) == ["a2", "t1", "a3"]


def test_first_keeps_the_start_that_fits() -> None:
    kept = trim_messages(HISTORY, max_tokens=3, token_counter=len, strategy="first")
    assert ids(kept) == ["s", "h1", "a1"]


def test_everything_fits_returns_everything() -> None:
    assert ids(trim_messages(HISTORY, max_tokens=100, token_counter=len)) == ids(HISTORY)


def test_empty_history_and_zero_budget() -> None:
    assert trim_messages([], max_tokens=5, token_counter=len) == []
    assert trim_messages(HISTORY, max_tokens=0, token_counter=len) == []
    assert trim_messages([], max_tokens=5, token_counter=len, strategy="first") == []


def test_include_system_keeps_the_leading_system_message() -> None:
    kept = trim_messages(HISTORY, max_tokens=3, token_counter=len, include_system=True)
    assert ids(kept) == ["s", "t1", "a3"]


def test_include_system_keeps_it_even_when_it_alone_is_over_budget() -> None:
    kept = trim_messages(HISTORY, max_tokens=0, token_counter=len, include_system=True)
    assert ids(kept) == ["s"]


def test_start_on_human_never_starts_with_a_tool_answer() -> None:
    kept = trim_messages(
        HISTORY, max_tokens=4, token_counter=len, start_on="human", include_system=True
    )
    assert ids(kept) == ["s"]  # 3 tokens left after it: a2, t1, a3, and none is human
    kept = trim_messages(HISTORY, max_tokens=4, token_counter=len, start_on="human")
    assert ids(kept) == ["h2", "a2", "t1", "a3"]
    assert kept[0].type == "human"


def test_start_on_accepts_classes_and_lists() -> None:
    by_class = trim_messages(HISTORY, max_tokens=3, token_counter=len, start_on=AIMessage)
    assert ids(by_class) == ["a2", "t1", "a3"]
    by_list = trim_messages(HISTORY, max_tokens=5, token_counter=len, start_on=["tool", "human"])
    assert ids(by_list) == ["h2", "a2", "t1", "a3"]


def test_end_on_cuts_back_to_the_last_message_of_that_type() -> None:
    kept = trim_messages(HISTORY, max_tokens=5, token_counter=len, strategy="first", end_on="human")
    assert ids(kept) == ["s", "h1", "a1", "h2"]
    kept = trim_messages(HISTORY, max_tokens=5, token_counter=len, end_on=HumanMessage)
    assert ids(kept) == ["s", "h1", "a1", "h2"]


def test_a_tool_call_pair_is_kept_whole_with_start_on_and_end_on() -> None:
    kept = trim_messages(HISTORY, max_tokens=2, token_counter=len, start_on=("ai", "human"))
    assert ids(kept) == ["a3"]
    kept = trim_messages(
        HISTORY[:-1], max_tokens=3, token_counter=len, end_on="tool", start_on="ai"
    )
    assert ids(kept) == ["a2", "t1"]


def test_per_message_counter_is_detected_by_annotation() -> None:
    assert ids(trim_messages(HISTORY, max_tokens=2, token_counter=per_message)) == ["t1", "a3"]


def test_string_annotations_are_detected_too() -> None:
    def counter(message: "HumanMessage") -> int:  # noqa: UP037 (testing the string form)
        return 1

    assert len(trim_messages(HISTORY, max_tokens=2, token_counter=counter)) == 2


def test_any_message_and_union_annotations_count_per_message() -> None:
    def any_message(message: AnyMessage) -> int:
        return 1

    def union(message: HumanMessage | AIMessage) -> int:
        return 1

    def optional(message: HumanMessage | None) -> int:
        return 1

    assert len(trim_messages(HISTORY, max_tokens=2, token_counter=any_message)) == 2
    assert len(trim_messages(HISTORY, max_tokens=2, token_counter=union)) == 2
    # not a message annotation: called once with the whole list, which so counts 1
    assert len(trim_messages(HISTORY, max_tokens=2, token_counter=optional)) == len(HISTORY)


def test_count_tokens_approximately_itself_is_a_list_counter() -> None:
    budget = count_tokens_approximately(HISTORY[-2:])
    kept = trim_messages(HISTORY, max_tokens=budget, token_counter=count_tokens_approximately)
    assert ids(kept) == ["t1", "a3"]


class CountingModel:
    """A chat model with LangChain's token-counting method."""

    def __init__(self) -> None:
        self.calls = 0

    def get_num_tokens_from_messages(self, messages: list[BaseMessage]) -> int:
        self.calls += 1
        return 10 * len(messages)


def test_a_model_with_get_num_tokens_from_messages_counts() -> None:
    model = CountingModel()
    assert ids(trim_messages(HISTORY, max_tokens=25, token_counter=model)) == ["t1", "a3"]
    assert model.calls > 0


def test_a_graphkit_chat_model_counts_approximately() -> None:
    from graphkit.models import FakeChatModel

    model = FakeChatModel(responses=["ok"])
    assert model.get_num_tokens_from_messages(HISTORY) == count_tokens_approximately(HISTORY)
    assert model.get_num_tokens("abcde") == 2
    budget = count_tokens_approximately(HISTORY[-2:])
    assert ids(trim_messages(HISTORY, max_tokens=budget, token_counter=model)) == ["t1", "a3"]


def test_approximate_shortcut_uses_count_tokens_approximately() -> None:
    budget = count_tokens_approximately(HISTORY[-2:])
    kept = trim_messages(HISTORY, max_tokens=budget, token_counter="approximate")
    assert ids(kept) == ["t1", "a3"]


def test_allow_partial_keeps_the_last_lines_of_a_string() -> None:
    history = [HumanMessage("one two\nthree four\nfive six", id="h"), AIMessage("ok", id="a")]
    kept = trim_messages(history, max_tokens=7, token_counter=words, allow_partial=True)
    assert [m.content for m in kept] == ["three four\nfive six", "ok"]
    assert history[0].content == "one two\nthree four\nfive six"  # the input is not changed


def test_allow_partial_first_keeps_the_first_lines() -> None:
    history = [HumanMessage("one two\nthree four\nfive six", id="h"), AIMessage("ok", id="a")]
    kept = trim_messages(
        history, max_tokens=6, token_counter=words, strategy="first", allow_partial=True
    )
    assert [m.content for m in kept] == ["one two\nthree four\n"]


def test_allow_partial_on_list_content_keeps_whole_blocks() -> None:
    blocks: list[Any] = [
        {"type": "text", "text": "alpha beta"},
        {"type": "text", "text": "gamma"},
        {"type": "text", "text": "delta"},
    ]
    history = [AIMessage(blocks, id="a"), HumanMessage("hi", id="h")]
    kept = trim_messages(history, max_tokens=6, token_counter=words, allow_partial=True)
    assert kept[0].content == blocks[1:]
    first = trim_messages(
        history, max_tokens=3, token_counter=words, strategy="first", allow_partial=True
    )
    assert first[0].content == blocks[:1]


def test_allow_partial_splits_a_single_block_by_the_text_splitter() -> None:
    history = [HumanMessage([{"type": "text", "text": "a b c d"}], id="h")]
    kept = trim_messages(
        history,
        max_tokens=3,
        token_counter=words,
        strategy="first",
        allow_partial=True,
        text_splitter=lambda text: [w + " " for w in text.split()],
    )
    assert kept[0].content == "a b "  # string content, as LangChain makes it


class Splitter:
    def split_text(self, text: str) -> list[str]:
        return list(text)


def test_text_splitter_object_with_split_text() -> None:
    kept = trim_messages(
        [HumanMessage("abcdef")],
        max_tokens=3,
        token_counter=lambda ms: sum(len(m.text) for m in ms),
        allow_partial=True,
        text_splitter=Splitter(),
    )
    assert kept[0].content == "def"


def test_accepts_tuples_and_dicts() -> None:
    kept = trim_messages(
        [("system", "s"), {"role": "user", "content": "q"}, ("ai", "a")],
        max_tokens=2,
        token_counter=len,
    )
    assert [type(m).__name__ for m in kept] == ["HumanMessage", "AIMessage"]


def test_without_messages_returns_a_reusable_transform() -> None:
    trimmer = trim_messages(max_tokens=2, token_counter=len, strategy="last")
    assert isinstance(trimmer, MessagesTransform)
    assert ids(trimmer(HISTORY)) == ["t1", "a3"]
    assert ids(trimmer.invoke(HISTORY)) == ["t1", "a3"]
    assert "max_tokens=2" in repr(trimmer)


async def test_transform_ainvoke() -> None:
    trimmer = trim_messages(max_tokens=1, token_counter=len)
    assert ids(await trimmer.ainvoke(HISTORY)) == ["a3"]


@pytest.mark.parametrize(
    ("options", "fix"),
    [
        ({"strategy": "first", "start_on": "human"}, "only valid with strategy='last'"),
        ({"strategy": "first", "include_system": True}, "only valid with strategy='last'"),
        ({"strategy": "middle"}, "'last' or the 'first'"),
        ({"token_counter": "exact"}, "Available shortcuts: 'approximate'"),
        ({"token_counter": 42}, "get_num_tokens_from_messages"),
        ({"token_counter": lambda: 1}, "takes no argument"),
        ({"text_splitter": 3}, "text_splitter must be a function"),
        ({"max_tokens": None}, "max_tokens must be a number of tokens"),
    ],
)
def test_bad_arguments_say_what_to_fix(options: dict[str, Any], fix: str) -> None:
    kwargs: dict[str, Any] = {"max_tokens": 5, "token_counter": len, **options}
    with pytest.raises(InvalidArgumentError, match=fix) as raised:
        trim_messages(HISTORY, **kwargs)
    assert isinstance(raised.value, GraphkitError)
    assert isinstance(raised.value, ValueError)
    with pytest.raises(InvalidArgumentError):  # the transform checks them at once too
        trim_messages(**kwargs)


# -- count_tokens_approximately -------------------------------------------------------


def test_count_is_chars_over_four_rounded_up_per_message_plus_three() -> None:
    # "hello world!" + "user" = 16 chars -> 4, + 3
    assert count_tokens_approximately([HumanMessage("hello world!")]) == 7
    # "hi" + "assistant" + "bob" = 14 chars -> 4, + 3
    assert count_tokens_approximately([AIMessage("hi", name="bob")]) == 7
    assert count_tokens_approximately([AIMessage("hi", name="bob")], count_name=False) == 6
    assert count_tokens_approximately([]) == 0


def test_count_includes_tool_calls_and_tool_call_ids() -> None:
    call = AIMessage("", tool_calls=[{"name": "f", "args": {"x": 1}, "id": "c1"}])
    chars = len(repr(call.tool_calls)) + len("assistant")
    assert count_tokens_approximately([call]) == math.ceil(chars / 4) + 3
    answer = ToolMessage("ok", tool_call_id="call_123")
    assert count_tokens_approximately([answer]) == math.ceil((2 + 8 + 4) / 4) + 3


def test_count_options_and_images() -> None:
    image = HumanMessage([{"type": "image_url", "image_url": {"url": "http://x/y.png"}}, "ab"])
    assert count_tokens_approximately([image]) == 85 + math.ceil(6 / 4) + 3
    assert count_tokens_approximately([image], tokens_per_image=10) == 10 + 2 + 3
    assert count_tokens_approximately([HumanMessage("abcd")], chars_per_token=8.0) == 1 + 3
    assert count_tokens_approximately([HumanMessage("abcd")], extra_tokens_per_message=0.5) == 3


def test_count_tools_adds_their_schemas() -> None:
    spec = {"name": "f", "description": "d", "parameters": {"type": "object"}}
    plain = count_tokens_approximately([HumanMessage("x")])
    assert count_tokens_approximately([HumanMessage("x")], tools=[spec]) > plain

    def lookup(city: str) -> str:
        """Find a city."""
        return city

    assert count_tokens_approximately([HumanMessage("x")], tools=[lookup]) > plain


def test_usage_metadata_scaling_uses_the_provider_total() -> None:
    usage = {"input_tokens": 90, "output_tokens": 10, "total_tokens": 100}
    history = [
        HumanMessage("hello there"),
        AIMessage("hi", usage=usage, response_metadata={"model_provider": "openai"}),
        HumanMessage("more"),
    ]
    plain = count_tokens_approximately(history)
    scaled = count_tokens_approximately(history, use_usage_metadata_scaling=True)
    assert plain < scaled <= math.ceil(plain * 1.25)


# -- properties -----------------------------------------------------------------------

_TEXT = st.text(alphabet="ab \n", max_size=12)
_MESSAGE = st.builds(
    lambda kind, text, n: {"human": HumanMessage, "ai": AIMessage, "system": SystemMessage}[kind](
        text, id=f"m{n}"
    ),
    st.sampled_from(["human", "ai", "system"]),
    _TEXT,
    st.integers(0, 10**6),
)
_HISTORY = st.lists(_MESSAGE, max_size=12).map(
    lambda ms: [m.model_copy(update={"id": f"{i}"}) for i, m in enumerate(ms)]
)
_TYPES = st.sampled_from([None, "human", "ai", ["human", "system"]])


def _is_subsequence(kept: list[BaseMessage], history: list[BaseMessage]) -> bool:
    positions = [int(m.id or -1) for m in kept]
    return positions == sorted(set(positions)) and all(
        history[p].content == m.content for p, m in zip(positions, kept, strict=True)
    )


@settings(max_examples=examples(300))
@given(
    history=_HISTORY,
    max_tokens=st.integers(0, 40),
    strategy=st.sampled_from(["first", "last"]),
    end_on=_TYPES,
    start_on=_TYPES,
    include_system=st.booleans(),
)
def test_whole_trim_fits_and_is_a_subsequence(
    history: list[BaseMessage],
    max_tokens: int,
    strategy: str,
    end_on: Any,
    start_on: Any,
    include_system: bool,
) -> None:
    last = strategy == "last"
    kept = trim_messages(
        history,
        max_tokens=max_tokens,
        token_counter="approximate",
        strategy=strategy,
        end_on=end_on,
        start_on=start_on if last else None,
        include_system=include_system and last,
    )
    assert _is_subsequence(kept, history)
    pinned = include_system and last and bool(kept) and kept[0] is history[0]
    pinned = pinned and isinstance(history[0], SystemMessage)
    rest = kept[1:] if pinned else kept
    budget = max(0, max_tokens - count_tokens_approximately(kept[:1])) if pinned else max_tokens
    assert count_tokens_approximately(rest) <= budget
    if rest and end_on:
        assert rest[-1].type in ([end_on] if isinstance(end_on, str) else end_on)
    if rest and start_on and last:
        assert rest[0].type in ([start_on] if isinstance(start_on, str) else start_on)
    if last and not end_on and not start_on:  # a suffix of the history
        assert rest == history[len(history) - len(rest) :]
    if not last and not end_on:  # a prefix of the history
        assert kept == history[: len(kept)]


@settings(max_examples=examples(200))
@given(history=_HISTORY, max_tokens=st.integers(0, 40), strategy=st.sampled_from(["first", "last"]))
def test_partial_trim_never_exceeds_the_budget(
    history: list[BaseMessage], max_tokens: int, strategy: str
) -> None:
    kept = trim_messages(
        history,
        max_tokens=max_tokens,
        token_counter="approximate",
        strategy=strategy,
        allow_partial=True,
    )
    assert count_tokens_approximately(kept) <= max_tokens or not kept
    whole = trim_messages(
        history, max_tokens=max_tokens, token_counter="approximate", strategy=strategy
    )
    assert len(kept) - len(whole) in (0, 1)  # at most one message is cut


# -- in a graph -----------------------------------------------------------------------


def test_trim_in_a_pre_model_hook_limits_what_the_agent_model_sees() -> None:
    """LangGraph's documented pattern: trim the history for the model, keep it whole."""
    from graphkit.checkpoint.memory import InMemorySaver
    from graphkit.models import FakeChatModel
    from graphkit.prebuilt import create_react_agent

    def pre_model_hook(state: dict[str, Any]) -> dict[str, Any]:
        trimmed = trim_messages(
            state["messages"],
            strategy="last",
            token_counter=count_tokens_approximately,
            max_tokens=30,
            start_on="human",
            end_on=("human", "tool"),
        )
        return {"llm_input_messages": trimmed}

    model = FakeChatModel(responses=["first answer", "second answer"])
    agent = create_react_agent(
        model, [], pre_model_hook=pre_model_hook, checkpointer=InMemorySaver()
    )
    config = {"configurable": {"thread_id": "t"}}
    agent.invoke({"messages": [("user", "a fairly long first question " * 3)]}, config)
    out = agent.invoke({"messages": [("user", "short one")]}, config)
    assert [m.text for m in out["messages"]][-2:] == ["short one", "second answer"]
    assert len(out["messages"]) == 4  # the state keeps everything
    assert [m.text for m in model.calls[-1]] == ["short one"]  # the model saw the last turn
