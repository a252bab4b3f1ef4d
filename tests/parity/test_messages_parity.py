"""graphkit's message helpers against langchain-core's, on the same histories.

Each history is built as graphkit messages and carried to LangChain through
``message_to_dict`` / langchain's ``messages_from_dict`` (which so also proves our dicts
are LangChain's); both libraries' results are compared field by field. langchain-core
is a dev dependency: without it these tests skip.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis_budget import examples

from graphkit import messages as gm

lc = pytest.importorskip("langchain_core.messages", reason="langchain-core is not installed")

FIELDS = ("content", "name", "id", "tool_calls", "tool_call_id", "status", "additional_kwargs")


def to_langchain(messages: list[gm.BaseMessage]) -> list[Any]:
    return list(lc.messages_from_dict(gm.messages_to_dict(messages)))


def view(message: Any, *, name: bool = True) -> dict[str, Any]:
    """The fields both libraries have, for comparing results message by message."""
    out: dict[str, Any] = {"type": message.type}
    for field in FIELDS:
        if hasattr(message, field) and (name or field != "name"):
            out[field] = getattr(message, field)
    usage = getattr(message, "usage_metadata", None)
    if usage is not None:
        out["usage"] = dict(usage)
    return out


def text_len(messages: list[Any]) -> int:
    """A counter both libraries can call: text characters, 5 per block, 3 per message."""
    total = 0
    for m in messages:
        blocks = [m.content] if isinstance(m.content, str) else m.content
        total += 3 + sum(
            len(b) if isinstance(b, str) else len(b.get("text", "")) + 5 for b in blocks
        )
    return total


# -- histories --------------------------------------------------------------------------

_LINE = st.sampled_from(["ab", "hello there", "x", "", "q w e", "é ü"])
_BLOCK = st.sampled_from(
    [
        "s",
        {"type": "text", "text": "t\nu"},
        {"type": "text", "text": "longer text"},
        {"type": "image_url", "image_url": {"url": "http://img/x.png"}},
    ]
)
_CONTENT = st.one_of(
    st.lists(_LINE, min_size=1, max_size=4).map("\n".join),
    st.lists(_BLOCK, min_size=1, max_size=3),
)


@st.composite
def histories(draw: st.DrawFn) -> list[gm.BaseMessage]:
    out: list[gm.BaseMessage] = []
    for i in range(draw(st.integers(0, 8))):
        kind = draw(st.sampled_from(["system", "human", "ai", "ai_calls", "ai_blocks", "tool"]))
        extra: dict[str, Any] = {}
        if draw(st.booleans()):
            extra["name"] = draw(st.sampled_from(["ann", "bob"]))
        if draw(st.integers(0, 3)):
            extra["id"] = f"m{i}"
        if kind == "system":
            out.append(gm.SystemMessage(draw(_CONTENT), **extra))
        elif kind == "human":
            out.append(gm.HumanMessage(draw(_CONTENT), **extra))
        elif kind == "ai":
            out.append(gm.AIMessage(draw(_CONTENT), **extra))
        elif kind == "ai_calls":
            call = {"name": "f", "args": {"a": i, "s": "é"}, "id": f"c{i}"}
            text = draw(st.sampled_from(["", "calling"]))
            out.append(gm.AIMessage(text, tool_calls=[call], **extra))
        elif kind == "ai_blocks":  # Anthropic style: the call is a content block too
            call = {"name": "g", "args": {"q": "x"}, "id": f"c{i}"}
            blocks: list[Any] = [
                {"type": "text", "text": "using g"},
                {"type": "tool_use", "id": f"c{i}", "name": "g", "input": {"q": "x"}},
            ]
            out.append(gm.AIMessage(blocks, tool_calls=[call], **extra))
        else:
            status = draw(st.sampled_from(["success", "error"]))
            content = draw(_CONTENT)
            out.append(gm.ToolMessage(content, tool_call_id=f"c{i - 1}", status=status, **extra))
        if draw(st.integers(0, 4)) == 0:  # distinct: LangChain doubles equal strings
            out[-1].additional_kwargs["k"] = f"v{i}"
    return out


def same(ours: Callable[[Any], Any], theirs: Callable[[Any], Any], history: Any) -> None:
    """Both libraries give the same result, or both raise."""
    try:
        expected: Any = theirs(to_langchain(history))
    except Exception as exc:
        with pytest.raises(Exception):  # noqa: B017
            ours(history)
        assert isinstance(
            exc, (ValueError, TypeError, KeyError)
        )  # KeyError: a text block without text
        return
    got = ours(history)
    if isinstance(expected, list) and expected and hasattr(expected[0], "type"):
        assert [view(m) for m in got] == [view(m) for m in expected]
    else:
        assert got == expected


_TYPES = st.sampled_from([None, "human", "ai", "tool", ["human", "ai"], ["tool", "system"]])


@settings(max_examples=examples(300), deadline=None)
@given(
    history=histories(),
    max_tokens=st.integers(0, 70),
    strategy=st.sampled_from(["first", "last"]),
    allow_partial=st.booleans(),
    start_on=_TYPES,
    end_on=_TYPES,
    include_system=st.booleans(),
    counter=st.sampled_from(["approximate", "text"]),
)
def test_trim_messages_matches_langchain(
    history: list[gm.BaseMessage],
    max_tokens: int,
    strategy: str,
    allow_partial: bool,
    start_on: Any,
    end_on: Any,
    include_system: bool,
    counter: str,
) -> None:
    options: dict[str, Any] = {
        "max_tokens": max_tokens,
        "strategy": strategy,
        "allow_partial": allow_partial,
        "end_on": end_on,
        "token_counter": text_len if counter == "text" else "approximate",
    }
    if strategy == "last":
        options.update(start_on=start_on, include_system=include_system)
    same(
        lambda ms: gm.trim_messages(ms, **options),
        lambda ms: lc.trim_messages(ms, **options),
        history,
    )


@settings(max_examples=examples(200), deadline=None)
@given(history=histories())
def test_other_helpers_match_langchain(history: list[gm.BaseMessage]) -> None:
    same(gm.count_tokens_approximately, lc.utils.count_tokens_approximately, history)
    same(gm.get_buffer_string, lc.get_buffer_string, history)
    same(
        lambda ms: gm.get_buffer_string(ms, "U", "B", format="xml"),
        lambda ms: lc.get_buffer_string(ms, "U", "B", format="xml"),
        history,
    )
    for text_format in ("string", "block"):
        same(
            lambda ms, f=text_format: gm.convert_to_openai_messages(ms, text_format=f),
            lambda ms, f=text_format: lc.convert_to_openai_messages(ms, text_format=f),
            history,
        )
    for options in (
        {"include_types": ["human", gm.AIMessage]},
        {"exclude_tool_calls": True, "exclude_names": ["bob"]},
        {"exclude_tool_calls": ["c1", "c2", "c3"], "include_ids": ["m1", "m2", "m3", "m4"]},
    ):
        lc_options = {
            k: [lc.AIMessage if t is gm.AIMessage else t for t in v] if k == "include_types" else v
            for k, v in options.items()
        }
        same(
            lambda ms, o=options: gm.filter_messages(ms, **o),  # type: ignore[misc]
            lambda ms, o=lc_options: lc.filter_messages(ms, **o),  # type: ignore[misc]
            history,
        )
    # a merged message keeps the name its run shares in graphkit (LangChain drops it)
    merged = gm.merge_message_runs(history)
    expected = lc.merge_message_runs(to_langchain(history))
    assert [view(m, name=False) for m in merged] == [view(m, name=False) for m in expected]


def test_merge_ai_runs_match_langchain_usage_ids_and_extras() -> None:
    usage = {"input_tokens": 1, "output_tokens": 2, "total_tokens": 3}
    history: list[gm.BaseMessage] = [
        gm.AIMessage("a", id="lc_1", usage=usage, additional_kwargs={"k": "x", "n": 1}),  # type: ignore[arg-type]
        gm.AIMessage("b", id="run-2", usage=usage, additional_kwargs={"k": "y", "n": 1}),  # type: ignore[arg-type]
        gm.AIMessage([{"type": "text", "text": "c", "index": 0}], id="z"),
        gm.AIMessage("", tool_calls=[{"name": "f", "args": {}, "id": "c1"}]),
    ]
    merged = gm.merge_message_runs(history)
    expected = lc.merge_message_runs(to_langchain(history))
    assert [view(m) for m in merged] == [view(m) for m in expected]


def test_per_message_and_model_token_counters_match_langchain() -> None:
    history = [gm.SystemMessage("s"), gm.HumanMessage("q"), gm.AIMessage("a"), gm.HumanMessage("r")]

    def ours(message: gm.BaseMessage) -> int:
        return len(message.text) + 1

    def theirs(message: lc.BaseMessage) -> int:
        return len(message.text) + 1

    # LangChain compares the annotation object itself (it does not resolve the string
    # that ``from __future__ import annotations`` leaves; graphkit does)
    theirs.__annotations__["message"] = lc.BaseMessage

    class Model:
        def get_num_tokens_from_messages(self, messages: list[Any]) -> int:
            return 2 * len(messages)

    for budget in range(6):
        same(
            lambda ms, b=budget: gm.trim_messages(ms, max_tokens=b, token_counter=ours),
            lambda ms, b=budget: lc.trim_messages(ms, max_tokens=b, token_counter=theirs),
            history,
        )
        same(
            lambda ms, b=budget: gm.trim_messages(ms, max_tokens=b, token_counter=Model()),
            lambda ms, b=budget: lc.trim_messages(ms, max_tokens=b, token_counter=Model()),
            history,
        )


def test_anthropic_blocks_convert_to_openai_as_langchain_does() -> None:
    source = {"type": "base64", "media_type": "image/png", "data": "AAA"}
    history: list[gm.BaseMessage] = [
        gm.HumanMessage(
            [
                {"type": "image", "source": source},
                {"type": "json", "json": {"a": [1]}},
                {"type": "tool_result", "tool_use_id": "c0", "content": "ok", "is_error": True},
            ]
        ),
        gm.AIMessage(
            [
                {"type": "text", "text": "let me"},
                {"type": "tool_use", "id": "c1", "name": "f", "input": {"x": "é"}},
            ]
        ),
        gm.HumanMessage([{"type": "tool_result", "tool_use_id": "c1", "content": "42"}]),
        gm.SystemMessage("dev", additional_kwargs={"__openai_role__": "developer"}),
        gm.HumanMessage(
            [
                {"type": "image", "url": "http://i/x.png"},
                {"type": "image", "base64": "AAA", "mime_type": "image/png"},
                {"type": "file", "file_id": "file-1"},
                {"type": "audio", "base64": "WAV", "mime_type": "audio/wav"},
                {"type": "file", "base64": "P", "mime_type": "application/pdf", "filename": "a"},
                {"type": "file", "file": {"file_data": "data:application/pdf;base64,X"}},
                {"type": "input_audio", "input_audio": {"data": "W", "format": "mp3"}},
                {"type": "refusal", "refusal": "no"},
                {"type": "refusal", "refusal": ""},
                {"type": "thinking", "thinking": "hmm"},
                {"type": "mystery", "x": 1},
            ]
        ),
        gm.AIMessage(
            [{"type": "function_call", "call_id": "c7", "name": "f", "arguments": "{}"}],
            additional_kwargs={"refusal": "nope"},
        ),
    ]
    for text_format in ("string", "block"):
        same(
            lambda ms, f=text_format: gm.convert_to_openai_messages(ms, text_format=f),
            lambda ms, f=text_format: lc.convert_to_openai_messages(ms, text_format=f),
            history,
        )


@pytest.mark.parametrize(
    "block",
    [
        {"type": "mystery"},
        {"type": "video", "url": "http://v"},
        {"type": "file", "url": "http://f"},
        {"type": "image", "base64": "AAA"},
        {"type": "tool_use", "id": "1", "name": "f"},
        {"type": "text"},
    ],
)
def test_bad_blocks_are_errors_in_both(block: dict[str, Any]) -> None:
    kind = gm.AIMessage if block["type"] == "tool_use" else gm.HumanMessage
    history: list[gm.BaseMessage] = [kind([block])]
    same(
        lambda ms: gm.convert_to_openai_messages(ms, pass_through_unknown_blocks=False),
        lambda ms: lc.convert_to_openai_messages(ms, pass_through_unknown_blocks=False),
        history,
    )


def test_langchain_dicts_load_into_graphkit() -> None:
    usage = {"input_tokens": 1, "output_tokens": 1, "total_tokens": 2}
    theirs = [
        lc.SystemMessage("s", id="0"),
        lc.HumanMessage("h", name="ann"),
        lc.AIMessage(
            "a", tool_calls=[{"name": "f", "args": {"x": 1}, "id": "c"}], usage_metadata=usage
        ),
        lc.ToolMessage("t", tool_call_id="c", status="error", artifact={"raw": 1}),
        lc.AIMessageChunk("chunk"),
    ]
    ours = gm.messages_from_dict(lc.messages_to_dict(theirs))
    assert [view(m) for m in ours] == [view(m) for m in theirs]
    assert ours[3].artifact == {"raw": 1}  # type: ignore[attr-defined]
    assert gm.messages_to_dict(ours) == [
        {**d, "data": {k: v for k, v in d["data"].items() if k != "chunk_position"}}
        for d in lc.messages_to_dict(theirs)
    ]


def test_count_options_match_langchain() -> None:
    def usage(total: int) -> Any:
        return {"input_tokens": 1, "output_tokens": 1, "total_tokens": total}

    meta = {"model_provider": "openai"}
    history: list[gm.BaseMessage] = [
        gm.HumanMessage("hello there", name="ann"),
        gm.AIMessage("hi", usage=usage(100), response_metadata=meta),
        gm.HumanMessage([{"type": "image", "url": "http://x"}, {"type": "other", "k": 1}]),
        gm.AIMessage("x", usage=usage(30), response_metadata=meta),
    ]
    unnamed = [gm.AIMessage("first", usage=usage(10)), *history]
    same(
        lambda ms: gm.count_tokens_approximately(ms, use_usage_metadata_scaling=True),
        lambda ms: lc.utils.count_tokens_approximately(ms, use_usage_metadata_scaling=True),
        unnamed,
    )
    mixed = [*history, gm.AIMessage("y", response_metadata={"model_provider": "anthropic"})]
    same(
        lambda ms: gm.count_tokens_approximately(ms, use_usage_metadata_scaling=True),
        lambda ms: lc.utils.count_tokens_approximately(ms, use_usage_metadata_scaling=True),
        mixed,
    )
    spec = {"name": "f", "description": "d", "parameters": {"type": "object"}}
    for options in (
        {},
        {"use_usage_metadata_scaling": True},
        {"tools": [spec]},
        {"chars_per_token": 3.3, "extra_tokens_per_message": 1.5, "count_name": False},
        {"tokens_per_image": 7},
    ):
        same(
            lambda ms, o=options: gm.count_tokens_approximately(ms, **o),  # type: ignore[misc]
            lambda ms, o=options: lc.utils.count_tokens_approximately(ms, **o),  # type: ignore[misc]
            history,
        )


@pytest.mark.parametrize(
    "content",
    [
        [{"type": "text", "text": "x"}],
        [{"type": "text", "text": "x"}, {"type": "text", "text": "y"}],
        [{"type": "text", "text": "x"}, {"type": "tool_use", "id": "c", "name": "f", "input": {}}],
        [{"type": "tool_use", "id": "c", "name": "f", "input": {}}],
        ["plain", {"type": "text", "text": "y"}],
        [
            {"type": "text", "text": "q"},
            {"type": "tool_result", "tool_use_id": "c", "content": "r"},
        ],
        [{"type": "tool_result", "tool_use_id": "c", "content": [{"type": "text", "text": "r"}]}],
        [],
        [{"type": "text", "text": "see"}, {"type": "image_url", "image_url": {"url": "http://a"}}],
        [{"type": "text", "text": "a"}, {"type": "thinking", "thinking": "hmm"}],
    ],
    ids=repr,
)
def test_add_messages_in_openai_format_shapes_content_as_langgraph(content: list[Any]) -> None:
    """``add_messages(format="langchain-openai")``: the same messages and contents (ids
    aside: LangGraph drops them there, graphkit keeps them)."""
    lg_message = pytest.importorskip("langgraph.graph.message")
    kind = "ai" if any(_is(b, "thinking") or _is(b, "tool_use") for b in content) else "human"
    ours = gm.add_messages([], [_message(gm, kind, content)], format="langchain-openai")
    theirs = lg_message.add_messages([], [_message(lc, kind, content)], format="langchain-openai")
    shown = [{k: v for k, v in view(m).items() if k != "id"} for m in ours]
    assert shown == [{k: v for k, v in view(m).items() if k != "id"} for m in theirs]
    if ours[0].type == kind:
        assert ours[0].id == "m1"


def _is(block: Any, kind: str) -> bool:
    return isinstance(block, dict) and block.get("type") == kind


def _message(module: Any, kind: str, content: list[Any]) -> Any:
    cls = module.AIMessage if kind == "ai" else module.HumanMessage
    return cls(content=list(content), id="m1")
